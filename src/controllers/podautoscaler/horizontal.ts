import type {
  CrossVersionObjectReference,
  HorizontalPodAutoscaler,
  HorizontalPodAutoscalerCondition,
  HorizontalPodAutoscalerStatus,
  MetricSpec,
  MetricStatus,
} from '../../api/generated/types/autoscaling-v2.ts'
import type { Scale } from '../../api/generated/types/autoscaling-v1.ts'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { deepEqual } from '../../api/object.ts'
import { formatQuantity } from '../../api/quantity.ts'
import { parseLabelSelector, type LabelSelector } from '../../api/selectors/label-selector.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import { splitKey, WorkQueue, type Lister, type Reconciler, type Requeue } from '../../client/index.ts'
import type { Recorder } from '../controller.ts'
import { ScaleMemory, type Normalized } from './behavior.ts'
import { milliValue, type MetricsClient } from './metrics-client.ts'
import { defaultTolerance, ReplicaCalculator, type Tolerances } from './replica-calculator.ts'

/** The /scale subresource of whatever an HPA targets. */
export interface ScaleClient {
  /** Rejects with the mapping error when the kind has no scale, or with the API's error. */
  get(namespace: string, target: Readonly<CrossVersionObjectReference>, signal?: AbortSignal): Promise<Scale>
  update(
    namespace: string,
    target: Readonly<CrossVersionObjectReference>,
    scale: Scale,
    signal?: AbortSignal,
  ): Promise<Scale>
}

export interface HorizontalControllerOptions {
  hpas: Lister<HorizontalPodAutoscaler>
  pods: Lister<Pod>
  scales: ScaleClient
  metrics: MetricsClient
  /** PUT of horizontalpodautoscalers/status. */
  updateStatus(hpa: HorizontalPodAutoscaler): Promise<void>
  recorder: Recorder
  clock: Clock
  log?: Logger
  /** --horizontal-pod-autoscaler-sync-period (15 s): how often each HPA is looked at. */
  syncPeriodMs?: number
  /** --horizontal-pod-autoscaler-downscale-stabilization (5 min). */
  downscaleStabilizationMs?: number
  /** --horizontal-pod-autoscaler-tolerance (0.1), unless a behavior's rules name their own. */
  tolerance?: number
  /** --horizontal-pod-autoscaler-cpu-initialization-period (5 min). */
  cpuInitializationPeriodMs?: number
  /** --horizontal-pod-autoscaler-initial-readiness-delay (30 s). */
  delayOfInitialReadinessStatusMs?: number
}

export const defaultSyncPeriodMs = 15_000

// Condition types and the event reasons `kubectl describe hpa` shows.
export const AbleToScale = 'AbleToScale'
export const ScalingActive = 'ScalingActive'
export const ScalingLimited = 'ScalingLimited'
export const SuccessfulRescale = 'SuccessfulRescale'
export const FailedRescale = 'FailedRescale'
export const FailedGetScale = 'FailedGetScale'
export const FailedGetResourceMetric = 'FailedGetResourceMetric'
export const FailedComputeMetricsReplicas = 'FailedComputeMetricsReplicas'

/** What one metric of the spec proposes, or why it could not. */
type MetricOutcome =
  | { ok: true; replicas: number; name: string; status: MetricStatus }
  | { ok: false; error: Error; condition: { reason: string; message: string } }

/**
 * The horizontal pod autoscaler (autoscaling/v2). Every sync period each HPA is reconciled:
 *
 *   get /scale ─▶ out of [min, max]? clamp ─▶ else each metric proposes replicas (the highest
 *   wins) ─▶ stabilize and rate-limit ─▶ PUT /scale if it changed ─▶ write status if it changed
 *
 * Failures are recorded on the HPA (conditions, events) and the HPA is simply looked at again
 * after the sync period, as upstream's controller does; reconcile itself never throws for them.
 */
export class HorizontalController implements Reconciler {
  readonly queue: WorkQueue
  readonly syncPeriodMs: number
  readonly #o: HorizontalControllerOptions
  readonly #memory: ScaleMemory
  readonly #calculator: ReplicaCalculator
  readonly #tolerance: number
  /** The selector each HPA's target had at its last sync, to find pods claimed by several. */
  readonly #selectors = new Map<string, LabelSelector>()

  constructor(o: HorizontalControllerOptions) {
    this.#o = o
    this.syncPeriodMs = o.syncPeriodMs ?? defaultSyncPeriodMs
    this.#tolerance = o.tolerance ?? defaultTolerance
    this.queue = new WorkQueue({ clock: o.clock })
    this.#memory = new ScaleMemory({
      clock: o.clock,
      ...(o.downscaleStabilizationMs !== undefined
        ? { downscaleStabilizationMs: o.downscaleStabilizationMs }
        : {}),
    })
    this.#calculator = new ReplicaCalculator({
      metrics: o.metrics,
      pods: (namespace, selector) => o.pods.list(namespace, parseLabelSelector(selector)),
      now: () => o.clock.now(),
      ...(o.cpuInitializationPeriodMs !== undefined
        ? { cpuInitializationPeriodMs: o.cpuInitializationPeriodMs }
        : {}),
      ...(o.delayOfInitialReadinessStatusMs !== undefined
        ? { delayOfInitialReadinessStatusMs: o.delayOfInitialReadinessStatusMs }
        : {}),
    })
  }

  /**
   * An HPA appeared or changed: it is looked at one sync period later (as upstream's queue with
   * its fixed-interval rate limiter), or sooner if already due.
   */
  enqueue(key: string): void {
    this.queue.addAfter(key, this.syncPeriodMs)
  }

  /** An HPA was deleted: forget what was remembered of it. */
  forget(key: string): void {
    this.#memory.forget(key)
    this.#selectors.delete(key)
  }

  async reconcile(key: string, signal?: AbortSignal): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const cached = this.#o.hpas.get(namespace, name)
    if (!cached) {
      this.forget(key)
      return undefined
    }
    try {
      await this.reconcileAutoscaler(key, structuredClone(cached), signal)
    } catch (err) {
      if (signal?.aborted) throw err
      this.#o.log?.warn({ hpa: key, err: (err as Error).message }, 'autoscaler sync failed')
    }
    return { afterMs: this.syncPeriodMs }
  }

  /** One sync of one HPA (upstream's reconcileAutoscaler); throws what it could not do. */
  async reconcileAutoscaler(key: string, hpa: HorizontalPodAutoscaler, signal?: AbortSignal): Promise<void> {
    const original = structuredClone(hpa.status)
    const namespace = hpa.metadata?.namespace ?? ''
    const ref = hpa.spec.scaleTargetRef
    const reference = `${ref.kind}/${namespace}/${ref.name}`
    let scale: Scale
    try {
      scale = await this.#o.scales.get(namespace, ref, signal)
    } catch (err) {
      const message = (err as Error).message
      this.#o.recorder.event(hpa, 'Warning', FailedGetScale, message)
      this.#setCondition(
        hpa,
        AbleToScale,
        'False',
        FailedGetScale,
        `the HPA controller was unable to get the target's current scale: ${message}`,
      )
      await this.#updateStatusIfNeeded(original, hpa)
      throw new Error(`failed to query scale subresource for ${reference}: ${message}`, { cause: err })
    }
    this.#setCondition(
      hpa,
      AbleToScale,
      'True',
      'SucceededGetScale',
      "the HPA controller was able to get the target's current scale",
    )
    const currentReplicas = scale.spec?.replicas ?? 0
    this.#memory.recordInitial(key, currentReplicas)
    const minReplicas = hpa.spec.minReplicas ?? 1
    let desiredReplicas = 0
    let rescaleReason = ''
    let rescale = true
    // Left empty when the metrics are not looked at (out of range, scaling off): the status then
    // shows no current metrics, as upstream's.
    let metricStatuses: MetricStatus[] = []
    if (currentReplicas === 0 && minReplicas !== 0) {
      // Scaled to zero by hand: autoscaling stays off until someone scales it up again.
      desiredReplicas = 0
      rescale = false
      this.#setCondition(
        hpa,
        ScalingActive,
        'False',
        'ScalingDisabled',
        'scaling is disabled since the replica count of the target is zero',
      )
    } else if (currentReplicas > hpa.spec.maxReplicas) {
      rescaleReason = 'Current number of replicas above Spec.MaxReplicas'
      desiredReplicas = hpa.spec.maxReplicas
    } else if (currentReplicas < minReplicas) {
      rescaleReason = 'Current number of replicas below Spec.MinReplicas'
      desiredReplicas = minReplicas
    } else {
      const computed = await this.computeReplicasForMetrics(key, hpa, scale, signal)
      metricStatuses = computed.statuses
      if (computed.replicas === -1) {
        this.#setStatus(hpa, {
          currentReplicas,
          desiredReplicas: hpa.status?.desiredReplicas ?? 0,
          metricStatuses,
        })
        await this.#updateStatusIfNeeded(original, hpa)
        const message = computed.error?.message ?? ''
        this.#o.recorder.event(hpa, 'Warning', FailedComputeMetricsReplicas, message)
        throw new Error(
          `failed to compute desired number of replicas based on listed metrics for ${reference}: ${message}`,
          { cause: computed.error },
        )
      }
      let rescaleMetric = ''
      if (computed.replicas > desiredReplicas) {
        desiredReplicas = computed.replicas
        rescaleMetric = computed.metric
      }
      if (desiredReplicas > currentReplicas) rescaleReason = `${rescaleMetric} above target`
      if (desiredReplicas < currentReplicas) rescaleReason = 'All metrics below target'
      const args = {
        key,
        currentReplicas,
        proposed: desiredReplicas,
        minReplicas,
        maxReplicas: hpa.spec.maxReplicas,
      }
      const normalized: Normalized = hpa.spec.behavior
        ? this.#memory.normalizeWithBehavior(args, hpa.spec.behavior)
        : this.#memory.normalize(args)
      this.#setCondition(
        hpa,
        AbleToScale,
        'True',
        normalized.ableToScale.reason,
        normalized.ableToScale.message,
      )
      const l = normalized.scalingLimited
      this.#setCondition(hpa, ScalingLimited, l.status, l.reason, l.message)
      desiredReplicas = normalized.desired
      rescale = desiredReplicas !== currentReplicas
    }

    if (rescale) {
      try {
        await this.#o.scales.update(
          namespace,
          ref,
          { ...scale, spec: { ...scale.spec, replicas: desiredReplicas } },
          signal,
        )
      } catch (err) {
        const message = (err as Error).message
        this.#o.recorder.event(
          hpa,
          'Warning',
          FailedRescale,
          `New size: ${desiredReplicas}; reason: ${rescaleReason}; error: ${message}`,
        )
        this.#setCondition(
          hpa,
          AbleToScale,
          'False',
          'FailedUpdateScale',
          `the HPA controller was unable to update the target scale: ${message}`,
        )
        this.#setStatus(hpa, {
          currentReplicas,
          desiredReplicas: hpa.status?.desiredReplicas ?? 0,
          metricStatuses,
        })
        await this.#updateStatusIfNeeded(original, hpa)
        throw new Error(`failed to rescale ${reference}: ${message}`, { cause: err })
      }
      this.#setCondition(
        hpa,
        AbleToScale,
        'True',
        'SucceededRescale',
        `the HPA controller was able to update the target scale to ${desiredReplicas}`,
      )
      this.#o.recorder.event(
        hpa,
        'Normal',
        SuccessfulRescale,
        `New size: ${desiredReplicas}; reason: ${rescaleReason}`,
      )
      this.#memory.recordScale(key, hpa.spec.behavior, currentReplicas, desiredReplicas)
      this.#o.log?.info(
        { hpa: key, from: currentReplicas, to: desiredReplicas, reason: rescaleReason },
        'successful rescale',
      )
    } else {
      desiredReplicas = currentReplicas
    }
    this.#setStatus(hpa, { currentReplicas, desiredReplicas, metricStatuses, rescaled: rescale })
    await this.#updateStatusIfNeeded(original, hpa)
  }

  /**
   * The highest proposal over the HPA's metrics. `replicas` is -1 when nothing can be decided:
   * the target has no usable selector, every metric failed, or some failed and the rest would
   * scale down (a failing metric might have wanted more).
   */
  async computeReplicasForMetrics(
    key: string,
    hpa: HorizontalPodAutoscaler,
    scale: Readonly<Scale>,
    signal?: AbortSignal,
  ): Promise<{ replicas: number; metric: string; statuses: MetricStatus[]; error?: Error }> {
    const selector = this.#validateSelector(key, hpa, scale.status?.selector ?? '')
    if (selector instanceof Error) return { replicas: -1, metric: '', statuses: [], error: selector }
    const specs = hpa.spec.metrics ?? []
    const statuses: MetricStatus[] = specs.map(() => ({ type: '' }))
    const specReplicas = scale.spec?.replicas ?? 0
    let replicas = 0
    let metric = ''
    let invalid = 0
    let firstInvalid: Extract<MetricOutcome, { ok: false }> | undefined
    for (const [i, spec] of specs.entries()) {
      const outcome = await this.#computeReplicasForMetric(hpa, spec, {
        specReplicas,
        selector: scale.status?.selector ?? '',
        ...(signal ? { signal } : {}),
      })
      if (!outcome.ok) {
        firstInvalid ??= outcome
        invalid++
        continue
      }
      statuses[i] = outcome.status
      if (replicas === 0 || outcome.replicas > replicas) {
        replicas = outcome.replicas
        metric = outcome.name
      }
    }
    const error = firstInvalid
      ? new Error(
          `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${firstInvalid.error.message}`,
          { cause: firstInvalid.error },
        )
      : undefined
    if (invalid >= specs.length || (invalid > 0 && replicas < specReplicas)) {
      if (firstInvalid) {
        this.#setCondition(
          hpa,
          ScalingActive,
          'False',
          firstInvalid.condition.reason,
          firstInvalid.condition.message,
        )
      }
      return { replicas: -1, metric: '', statuses, error: error ?? new Error('no metrics to scale on') }
    }
    this.#setCondition(
      hpa,
      ScalingActive,
      'True',
      'ValidMetricFound',
      `the HPA was able to successfully calculate a replica count from ${metric}`,
    )
    return { replicas, metric, statuses, ...(error ? { error } : {}) }
  }

  /** The target's selector, parsed; or the error, recorded on the HPA. */
  #validateSelector(key: string, hpa: HorizontalPodAutoscaler, selector: string): LabelSelector | Error {
    if (selector === '') {
      const message = 'selector is required'
      this.#o.recorder.event(hpa, 'Warning', 'SelectorRequired', message)
      this.#setCondition(
        hpa,
        ScalingActive,
        'False',
        'InvalidSelector',
        "the HPA target's scale is missing a selector",
      )
      return new Error(message)
    }
    let parsed: LabelSelector
    try {
      parsed = parseLabelSelector(selector)
    } catch (err) {
      const message = `couldn't convert selector into a corresponding internal selector object: ${(err as Error).message}`
      this.#o.recorder.event(hpa, 'Warning', 'InvalidSelector', message)
      this.#setCondition(hpa, ScalingActive, 'False', 'InvalidSelector', message)
      return new Error(message)
    }
    this.#selectors.set(key, parsed)
    // Two HPAs scaling the same pods would fight; both stop until one goes.
    const namespace = hpa.metadata?.namespace ?? ''
    const pods = this.#o.pods.list(namespace, parsed)
    const selecting = [...this.#selectors]
      .filter(
        ([k, s]) =>
          splitKey(k).namespace === namespace && pods.some((p) => s.matches(p.metadata?.labels ?? {})),
      )
      .map(([k]) => k)
      .sort()
    if (selecting.length > 1) {
      const message = `pods by selector ${selector} are controlled by multiple HPAs: [${selecting.join(' ')}]`
      this.#o.recorder.event(hpa, 'Warning', 'AmbiguousSelector', message)
      this.#setCondition(hpa, ScalingActive, 'False', 'AmbiguousSelector', message)
      return new Error(message)
    }
    return parsed
  }

  async #computeReplicasForMetric(
    hpa: HorizontalPodAutoscaler,
    spec: Readonly<MetricSpec>,
    o: { specReplicas: number; selector: string; signal?: AbortSignal },
  ): Promise<MetricOutcome> {
    const unable = (reason: string, error: Error): MetricOutcome => {
      this.#o.recorder.event(hpa, 'Warning', reason, error.message)
      return {
        ok: false,
        error,
        condition: { reason, message: `the HPA was unable to compute the replica count: ${error.message}` },
      }
    }
    switch (spec.type) {
      case 'Resource':
      case 'ContainerResource': {
        const source = spec.type === 'Resource' ? spec.resource : spec.containerResource
        const resource = source?.name ?? ''
        const container =
          spec.type === 'ContainerResource' ? (spec.containerResource?.container ?? '') : undefined
        const reason = spec.type === 'Resource' ? FailedGetResourceMetric : 'FailedGetContainerResourceMetric'
        const prefix =
          spec.type === 'Resource'
            ? `failed to get ${resource} resource metric value`
            : `failed to get ${container ?? ''} container metric value`
        try {
          return await this.#resourceMetric(hpa, spec, {
            ...o,
            resource,
            ...(container !== undefined ? { container } : {}),
          })
        } catch (err) {
          // The event and condition say what failed; the error adds which metric.
          const e = err as Error
          const outcome = unable(reason, e)
          return outcome.ok
            ? outcome
            : { ...outcome, error: new Error(`${prefix}: ${e.message}`, { cause: err }) }
        }
      }
      case 'Pods':
        return unable(
          'FailedGetPodsMetric',
          new Error(
            `unable to get metric ${spec.pods?.metric.name ?? ''}: the custom metrics API (custom.metrics.k8s.io) is not served`,
          ),
        )
      case 'Object':
        return unable(
          'FailedGetObjectMetric',
          new Error(
            `unable to get metric ${spec.object?.metric.name ?? ''}: the custom metrics API (custom.metrics.k8s.io) is not served`,
          ),
        )
      case 'External':
        return unable(
          'FailedGetExternalMetric',
          new Error(
            `unable to get external metric ${spec.external?.metric.name ?? ''}: the external metrics API (external.metrics.k8s.io) is not served`,
          ),
        )
      default:
        return unable('InvalidMetricSourceType', new Error(`unknown metric source type "${spec.type}"`))
    }
  }

  /** A Resource or ContainerResource metric: by utilization of the requests, or by average value. */
  async #resourceMetric(
    hpa: HorizontalPodAutoscaler,
    spec: Readonly<MetricSpec>,
    o: { specReplicas: number; selector: string; resource: string; container?: string; signal?: AbortSignal },
  ): Promise<MetricOutcome> {
    const target = (spec.type === 'Resource' ? spec.resource?.target : spec.containerResource?.target) ?? {
      type: '',
    }
    const kind = o.container !== undefined ? 'container resource' : 'resource'
    const query = {
      currentReplicas: o.specReplicas,
      resource: o.resource,
      namespace: hpa.metadata?.namespace ?? '',
      selector: o.selector,
      ...(o.container !== undefined ? { container: o.container } : {}),
      tolerances: this.#tolerances(hpa),
    }
    const status = (current: { averageValue: string; averageUtilization?: number }): MetricStatus =>
      spec.type === 'Resource'
        ? { type: 'Resource', resource: { name: o.resource, current } }
        : {
            type: 'ContainerResource',
            containerResource: { name: o.resource, container: o.container ?? '', current },
          }
    const milli = (m: number) => formatQuantity({ nanos: BigInt(m) * 1_000_000n, format: 'DecimalSI' })
    if (target.averageValue !== undefined) {
      const targetUsage = milliValue(target.averageValue) ?? 0
      let r
      try {
        r = await this.#calculator.rawResourceReplicas({ ...query, targetUsage }, o.signal)
      } catch (err) {
        throw new Error(`failed to get ${o.resource} usage: ${(err as Error).message}`, { cause: err })
      }
      return {
        ok: true,
        replicas: r.replicas,
        name: `${o.resource} resource`,
        status: status({ averageValue: milli(r.usage) }),
      }
    }
    if (target.averageUtilization === undefined) {
      throw new Error(
        'invalid resource metric source: neither an average utilization target nor an average value (usage) target was set',
      )
    }
    let r
    try {
      r = await this.#calculator.resourceReplicas(
        { ...query, targetUtilization: target.averageUtilization },
        o.signal,
      )
    } catch (err) {
      throw new Error(`failed to get ${o.resource} utilization: ${(err as Error).message}`, { cause: err })
    }
    return {
      ok: true,
      replicas: r.replicas,
      name: `${o.resource} ${kind} utilization (percentage of request)`,
      status: status({ averageValue: milli(r.rawUtilization), averageUtilization: r.utilization }),
    }
  }

  /** The tolerances: the behavior's own (HPAConfigurableTolerance), else the controller's. */
  #tolerances(hpa: Readonly<HorizontalPodAutoscaler>): Tolerances {
    const of = (q: unknown) => {
      const m = milliValue(q)
      return m === undefined ? this.#tolerance : m / 1000
    }
    return {
      scaleUp: of(hpa.spec.behavior?.scaleUp?.tolerance),
      scaleDown: of(hpa.spec.behavior?.scaleDown?.tolerance),
    }
  }

  #setStatus(
    hpa: HorizontalPodAutoscaler,
    s: {
      currentReplicas: number
      desiredReplicas: number
      metricStatuses: MetricStatus[]
      rescaled?: boolean
    },
  ): void {
    const previous = hpa.status
    const status: HorizontalPodAutoscalerStatus = {
      currentReplicas: s.currentReplicas,
      desiredReplicas: s.desiredReplicas,
    }
    if (hpa.metadata?.generation !== undefined) status.observedGeneration = hpa.metadata.generation
    if (s.metricStatuses.length > 0) status.currentMetrics = s.metricStatuses
    const lastScaleTime = s.rescaled ? this.#time() : previous?.lastScaleTime
    if (lastScaleTime !== undefined) status.lastScaleTime = lastScaleTime
    if (previous?.conditions) status.conditions = previous.conditions
    hpa.status = status
  }

  /** Sets a condition; its transition time moves only when its status changes. */
  #setCondition(
    hpa: HorizontalPodAutoscaler,
    type: string,
    status: string,
    reason: string,
    message: string,
  ): void {
    hpa.status ??= { desiredReplicas: 0 }
    const conditions = (hpa.status.conditions ??= [])
    let c: HorizontalPodAutoscalerCondition | undefined = conditions.find((x) => x.type === type)
    if (!c) {
      c = { type, status, lastTransitionTime: this.#time() }
      conditions.push(c)
    } else if (c.status !== status) {
      c.lastTransitionTime = this.#time()
    }
    c.status = status
    c.reason = reason
    c.message = message
  }

  async #updateStatusIfNeeded(
    original: HorizontalPodAutoscalerStatus | undefined,
    hpa: HorizontalPodAutoscaler,
  ): Promise<void> {
    if (deepEqual(original, hpa.status)) return
    try {
      await this.#o.updateStatus(hpa)
    } catch (err) {
      this.#o.recorder.event(hpa, 'Warning', 'FailedUpdateStatus', (err as Error).message)
      throw new Error(`failed to update status for ${hpa.metadata?.name ?? ''}: ${(err as Error).message}`, {
        cause: err,
      })
    }
  }

  #time(): string {
    return new Date(this.#o.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z')
  }
}
