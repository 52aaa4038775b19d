import type { Pod } from '../../api/generated/types/core-v1.ts'
import { podCondition } from '../pod-state.ts'
import { milliValue, type MetricsClient, type PodMetricsInfo } from './metrics-client.ts'

/**
 * How far the usage ratio may stray from 1 before the autoscaler acts, per direction (upstream's
 * --horizontal-pod-autoscaler-tolerance, 0.1, or a ScalingRules' tolerance).
 */
export interface Tolerances {
  scaleUp: number
  scaleDown: number
}

export const defaultTolerance = 0.1

export interface ReplicaCalculatorOptions {
  metrics: MetricsClient
  /** The pods of a namespace that a selector matches (a lister). */
  pods(namespace: string, selector: string): readonly Readonly<Pod>[]
  now(): number
  /**
   * --horizontal-pod-autoscaler-cpu-initialization-period (5 min): a pod started less than this
   * long ago gives a cpu sample only once it is ready and a whole window has passed since.
   */
  cpuInitializationPeriodMs?: number
  /**
   * --horizontal-pod-autoscaler-initial-readiness-delay (30 s): after this long from its start, a
   * pod that is not ready is taken to have been ready before (its sample counts).
   */
  delayOfInitialReadinessStatusMs?: number
}

export interface ResourceQuery {
  currentReplicas: number
  resource: string
  namespace: string
  selector: string
  container?: string
  tolerances: Tolerances
}

export interface UtilizationProposal {
  replicas: number
  /** Usage as a percentage of the requests, over the pods that were measured. */
  utilization: number
  /** The average usage per measured pod, in milli-units. */
  rawUtilization: number
  timestamp: number
}

/** The pods of a target, sorted by how their samples count (upstream's groupPods). */
export interface PodGroups {
  readyPodCount: number
  /** Pending pods, and cpu samples of pods still starting: left out, or counted as 0 on scale up. */
  unready: Set<string>
  /** Running pods without a sample: assumed at the target's far side of the decision. */
  missing: Set<string>
  /** Deleted and failed pods: left out. */
  ignored: Set<string>
}

export function groupPods(
  pods: readonly Readonly<Pod>[],
  metrics: PodMetricsInfo,
  o: {
    resource: string
    now: number
    cpuInitializationPeriodMs: number
    delayOfInitialReadinessStatusMs: number
  },
): PodGroups {
  const g: PodGroups = { readyPodCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() }
  for (const pod of pods) {
    const name = pod.metadata?.name ?? ''
    if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Failed') {
      g.ignored.add(name)
      continue
    }
    if (pod.status?.phase === 'Pending') {
      g.unready.add(name)
      continue
    }
    const metric = metrics.get(name)
    if (!metric) {
      g.missing.add(name)
      continue
    }
    if (o.resource === 'cpu') {
      const ready = podCondition(pod, 'Ready')
      const started = Date.parse(pod.status?.startTime ?? '')
      let unready: boolean
      if (!ready || !Number.isFinite(started)) {
        unready = true
      } else {
        const transition = Date.parse(ready.lastTransitionTime ?? '') || 0
        if (started + o.cpuInitializationPeriodMs > o.now) {
          // Still starting: the sample counts once the pod is ready and a whole window of it
          // was measured after it became so.
          unready = ready.status === 'False' || metric.timestamp < transition + metric.windowMs
        } else {
          // Past the start: only a pod that has never been ready is left out.
          unready = ready.status === 'False' && started + o.delayOfInitialReadinessStatusMs > transition
        }
      }
      if (unready) {
        g.unready.add(name)
        continue
      }
    }
    g.readyPodCount++
  }
  return g
}

/**
 * Each pod's request of the resource in milli-units, summed over its containers and sidecars
 * (init containers that restart Always), or the one named; a container without a request makes
 * utilization undefined, so it is an error.
 */
export function podRequests(
  pods: readonly Readonly<Pod>[],
  resource: string,
  container?: string,
): Map<string, number> {
  const out = new Map<string, number>()
  for (const pod of pods) {
    let sum = 0
    const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')
    for (const c of [...(pod.spec?.containers ?? []), ...sidecars]) {
      if (container !== undefined && c.name !== container) continue
      const request = milliValue(c.resources?.requests?.[resource])
      if (request === undefined) {
        throw new Error(
          `missing request for ${resource} in container ${c.name} of Pod ${pod.metadata?.name ?? ''}`,
        )
      }
      sum += request
    }
    out.set(pod.metadata?.name ?? '', sum)
  }
  return out
}

/** Usage over requests, compared with the target percentage (metricsclient.GetResourceUtilizationRatio). */
export function resourceUtilizationRatio(
  metrics: PodMetricsInfo,
  requests: ReadonlyMap<string, number>,
  targetUtilization: number,
): { ratio: number; utilization: number; rawUtilization: number } {
  let metricsTotal = 0
  let requestsTotal = 0
  let entries = 0
  for (const [pod, m] of metrics) {
    const request = requests.get(pod)
    if (request === undefined) continue
    metricsTotal += m.value
    requestsTotal += request
    entries++
  }
  if (requestsTotal === 0) throw new Error('no metrics returned matched known pods')
  const utilization = Math.trunc((metricsTotal * 100) / requestsTotal)
  return {
    ratio: utilization / targetUtilization,
    utilization,
    rawUtilization: Math.trunc(metricsTotal / entries),
  }
}

/** Average usage over the target value (metricsclient.GetMetricUsageRatio). */
export function metricUsageRatio(
  metrics: PodMetricsInfo,
  targetUsage: number,
): { ratio: number; usage: number } {
  let total = 0
  for (const m of metrics.values()) total += m.value
  const usage = Math.trunc(total / metrics.size)
  return { ratio: usage / targetUsage, usage }
}

function withinTolerance(ratio: number, t: Tolerances): boolean {
  return 1 - t.scaleDown <= ratio && ratio <= 1 + t.scaleUp
}

/**
 * Upstream's replica calculator for resource metrics. The usage ratio of the ready pods decides,
 * unless pods are missing samples or unready pods would change a scale up: then missing pods are
 * assumed at 100 % of their request (or the target, if higher) when scaling down and at 0 % when
 * scaling up, unready pods at 0 % when scaling up, and the ratio is taken again. If that second
 * ratio is within tolerance or points the other way, nothing changes.
 */
export class ReplicaCalculator {
  readonly #o: Required<ReplicaCalculatorOptions>

  constructor(o: ReplicaCalculatorOptions) {
    this.#o = {
      cpuInitializationPeriodMs: 5 * 60_000,
      delayOfInitialReadinessStatusMs: 30_000,
      ...o,
    }
  }

  /** Replicas for a target utilization (percent of the pods' requests). */
  async resourceReplicas(
    q: ResourceQuery & { targetUtilization: number },
    signal?: AbortSignal,
  ): Promise<UtilizationProposal> {
    const { metrics, timestamp, pods } = await this.#read(q, signal)
    const groups = this.#group(pods, metrics, q.resource)
    const requests = podRequests(pods, q.resource, q.container)
    const first = resourceUtilizationRatio(metrics, requests, q.targetUtilization)
    const proposal = (replicas: number): UtilizationProposal => ({
      replicas,
      utilization: first.utilization,
      rawUtilization: first.rawUtilization,
      timestamp,
    })
    const scaleUpWithUnready = groups.unready.size > 0 && first.ratio > 1
    if (!scaleUpWithUnready && groups.missing.size === 0) {
      if (withinTolerance(first.ratio, q.tolerances)) return proposal(q.currentReplicas)
      return proposal(Math.ceil(first.ratio * groups.readyPodCount))
    }
    if (groups.missing.size > 0) {
      if (first.ratio < 1) {
        const fallback = Math.max(100, q.targetUtilization)
        for (const pod of groups.missing) {
          metrics.set(pod, {
            timestamp,
            windowMs: 0,
            value: Math.trunc(((requests.get(pod) ?? 0) * fallback) / 100),
          })
        }
      } else if (first.ratio > 1) {
        for (const pod of groups.missing) metrics.set(pod, { timestamp, windowMs: 0, value: 0 })
      }
    }
    if (scaleUpWithUnready)
      for (const pod of groups.unready) metrics.set(pod, { timestamp, windowMs: 0, value: 0 })
    const second = resourceUtilizationRatio(metrics, requests, q.targetUtilization).ratio
    return proposal(this.#rebalanced(q, first.ratio, second, metrics.size))
  }

  /** Replicas for a target average usage per pod (milli-units). */
  async rawResourceReplicas(
    q: ResourceQuery & { targetUsage: number },
    signal?: AbortSignal,
  ): Promise<{ replicas: number; usage: number; timestamp: number }> {
    const { metrics, timestamp, pods } = await this.#read(q, signal)
    const groups = this.#group(pods, metrics, q.resource)
    const first = metricUsageRatio(metrics, q.targetUsage)
    const scaleUpWithUnready = groups.unready.size > 0 && first.ratio > 1
    const proposal = (replicas: number) => ({ replicas, usage: first.usage, timestamp })
    if (!scaleUpWithUnready && groups.missing.size === 0) {
      if (withinTolerance(first.ratio, q.tolerances)) return proposal(q.currentReplicas)
      return proposal(Math.ceil(first.ratio * groups.readyPodCount))
    }
    if (groups.missing.size > 0) {
      const assumed = first.ratio < 1 ? q.targetUsage : 0
      for (const pod of groups.missing) metrics.set(pod, { timestamp, windowMs: 0, value: assumed })
    }
    if (scaleUpWithUnready)
      for (const pod of groups.unready) metrics.set(pod, { timestamp, windowMs: 0, value: 0 })
    const second = metricUsageRatio(metrics, q.targetUsage).ratio
    return proposal(this.#rebalanced(q, first.ratio, second, metrics.size))
  }

  /** The second pass: no change when it is within tolerance or turns the decision around. */
  #rebalanced(q: ResourceQuery, first: number, second: number, measured: number): number {
    if (withinTolerance(second, q.tolerances) || (first < 1 && second > 1) || (first > 1 && second < 1)) {
      return q.currentReplicas
    }
    const replicas = Math.ceil(second * measured)
    if ((second < 1 && replicas > q.currentReplicas) || (second > 1 && replicas < q.currentReplicas)) {
      return q.currentReplicas
    }
    return replicas
  }

  async #read(
    q: ResourceQuery,
    signal?: AbortSignal,
  ): Promise<{ metrics: PodMetricsInfo; timestamp: number; pods: readonly Readonly<Pod>[] }> {
    let got
    try {
      got = await this.#o.metrics.getResourceMetric(
        {
          resource: q.resource,
          namespace: q.namespace,
          selector: q.selector,
          ...(q.container !== undefined ? { container: q.container } : {}),
        },
        signal,
      )
    } catch (err) {
      throw new Error(`unable to get metrics for resource ${q.resource}: ${(err as Error).message}`, {
        cause: err,
      })
    }
    const pods = this.#o.pods(q.namespace, q.selector)
    if (pods.length === 0) throw new Error('no pods returned by selector while calculating replica count')
    // The metrics API answers for the same selector; a sample of a pod the lister does not
    // know (not yet seen, or gone) cannot be matched with a request and is left out.
    const known = new Set(pods.map((p) => p.metadata?.name ?? ''))
    const metrics: PodMetricsInfo = new Map([...got.metrics].filter(([name]) => known.has(name)))
    return { metrics, timestamp: got.timestamp, pods }
  }

  #group(pods: readonly Readonly<Pod>[], metrics: PodMetricsInfo, resource: string): PodGroups {
    const groups = groupPods(pods, metrics, {
      resource,
      now: this.#o.now(),
      cpuInitializationPeriodMs: this.#o.cpuInitializationPeriodMs,
      delayOfInitialReadinessStatusMs: this.#o.delayOfInitialReadinessStatusMs,
    })
    for (const pod of [...groups.ignored, ...groups.unready]) metrics.delete(pod)
    if (metrics.size === 0)
      throw new Error('did not receive metrics for targeted pods (pods might be unready)')
    return groups
  }
}
