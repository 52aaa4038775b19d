import type { Deployment, ReplicaSet, StatefulSet } from '../../api/generated/types/apps-v1.ts'
import type { Pod, ReplicationController } from '../../api/generated/types/core-v1.ts'
import type { Condition, OwnerReference } from '../../api/generated/types/meta-v1.ts'
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from '../../api/generated/types/policy-v1.ts'
import type { IntOrString } from '../../api/generated/types/intstr.ts'
import { deepEqual } from '../../api/object.ts'
import { resourceForKind } from '../../api/resources.ts'
import { labelSelectorFromObject, type LabelSelector } from '../../api/selectors/label-selector.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  builtin,
  isConflict,
  isNotFound,
  objectKey,
  runWorkers,
  splitKey,
  WorkQueue,
  type EventHandler,
  type Lister,
  type Reconciler,
  type Requeue,
  type RestClient,
} from '../../client/index.ts'
import type { ControllerDefinition, Recorder } from '../controller.ts'
import { controllerRef } from '../owner-refs.ts'
import { isPodReady, podCondition } from '../pod-state.ts'

/**
 * The disruption controller: keeps the status of every PodDisruptionBudget, which the eviction
 * subresource reads to decide whether a pod may go (upstream's pkg/controller/disruption).
 *
 * For each budget, over the pods its selector matches:
 * - expectedPods: with an integer minAvailable, the number of matching pods; otherwise the sum of
 *   the scales of the pods' controllers (Deployment, ReplicaSet, ReplicationController,
 *   StatefulSet through their spec.replicas, anything else through its /scale subresource).
 * - desiredHealthy: minAvailable (a percentage of expectedPods rounded up), or expectedPods less
 *   maxUnavailable (a percentage rounded up), never below 0.
 * - currentHealthy: Ready pods, not being deleted, not in disruptedPods.
 * - disruptionsAllowed: currentHealthy - desiredHealthy, 0 when negative or when no pods are
 *   expected (so a budget whose pods just appeared is safe before its first sync).
 * - disruptedPods: the pods the eviction subresource let go, each dropped once the pod is being
 *   deleted or gone, or 2 minutes after the eviction if it never was (NotDeleted on the pod).
 * - the DisruptionAllowed condition: True/SufficientPods or False/InsufficientPods; a sync that
 *   fails sets disruptionsAllowed to 0 and False/SyncFailed with the error ("fail safe").
 *
 * unhealthyPodEvictionPolicy does not change the status: it is the eviction subresource's rule
 * for unready pods. Separately, a pod left with DisruptionTarget=True for 2 minutes without being
 * deleted (an eviction or preemption that did not go through) gets the condition set to False.
 */

/** How long an entry of disruptedPods waits for its pod to be deleted (upstream's DeletionTimeout). */
export const deletionTimeoutMs = 2 * 60_000
/** How long a DisruptionTarget condition may stand on a pod that is not being deleted. */
export const stalePodDisruptionTimeoutMs = 2 * 60_000

export const DisruptionAllowedCondition = 'DisruptionAllowed'
export const SufficientPodsReason = 'SufficientPods'
export const InsufficientPodsReason = 'InsufficientPods'
export const SyncFailedReason = 'SyncFailed'
/** The DisruptionTarget reason the kubelet sets; never stale, the kubelet finishes it. */
const TerminationByKubelet = 'TerminationByKubelet'

/** Event reasons, as upstream's. */
export const NoPodsReason = 'NoPods'
export const CalculateExpectedPodCountFailedReason = 'CalculateExpectedPodCountFailed'
export const UnmanagedPodsReason = 'UnmanagedPods'
export const NotDeletedReason = 'NotDeleted'
export const MultiplePodDisruptionBudgetsReason = 'MultiplePodDisruptionBudgets'

/** A controller's identity and scale, as the finders resolve a pod's controllerRef. */
export interface ControllerScale {
  uid: string
  replicas: number
}

/** The writes and live reads of the controller: the apiserver in production, a fake in tests. */
export interface DisruptionControl {
  /**
   * The scale of the object `ref` names, through its /scale subresource: undefined when it does
   * not exist; throws when its resource has no scale subresource or cannot be found.
   */
  getScale(namespace: string, ref: Readonly<OwnerReference>): Promise<ControllerScale | undefined>
  updateStatus(pdb: PodDisruptionBudget): Promise<void>
  updatePodStatus(pod: Pod): Promise<void>
}

export interface DisruptionControllerOptions {
  pdbs: Lister<PodDisruptionBudget>
  pods: Lister<Pod>
  replicationControllers: Lister<ReplicationController>
  replicaSets: Lister<ReplicaSet>
  deployments: Lister<Deployment>
  statefulSets: Lister<StatefulSet>
  control: DisruptionControl
  recorder: Recorder
  clock: Clock
  log?: Logger
}

export class DisruptionController implements Reconciler {
  /** PodDisruptionBudget keys. */
  readonly queue: WorkQueue
  /** Pod keys whose DisruptionTarget condition may be stale. */
  readonly stalePodQueue: WorkQueue
  readonly #o: DisruptionControllerOptions

  constructor(o: DisruptionControllerOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
    this.stalePodQueue = new WorkQueue({ clock: o.clock })
  }

  // --- events to keys --------------------------------------------------------------------------

  pdbHandler(): EventHandler<PodDisruptionBudget> {
    const enqueue = (pdb: Readonly<PodDisruptionBudget>) => this.queue.add(objectKey(pdb))
    return { add: enqueue, update: (_old, pdb) => enqueue(pdb), delete: enqueue }
  }

  podHandler(): EventHandler<Pod> {
    const changed = (pod: Readonly<Pod>) => {
      this.#enqueueBudgetsOf(pod)
      const wait = this.staleDisruptionWait(pod)
      if (wait !== undefined) this.stalePodQueue.addAfter(objectKey(pod), wait)
    }
    return { add: changed, update: (_old, pod) => changed(pod), delete: (pod) => this.#enqueueBudgetsOf(pod) }
  }

  /**
   * Every budget whose selector matches the pod looks again. Upstream picks one of several
   * "arbitrarily" and says so in its MultiplePodDisruptionBudgets warning; syncing them all keeps
   * each status right, and the warning names them all.
   */
  #enqueueBudgetsOf(pod: Readonly<Pod>): void {
    const budgets = budgetsOf(pod, this.#o.pdbs.list(pod.metadata?.namespace ?? ''))
    if (budgets.length > 1) {
      const names = budgets.map((b) => b.metadata?.name ?? '').sort()
      this.#o.recorder.event(
        pod,
        'Warning',
        MultiplePodDisruptionBudgetsReason,
        `Pod "${pod.metadata?.namespace ?? ''}"/"${pod.metadata?.name ?? ''}" matches multiple PodDisruptionBudgets: ${names.map((n) => `"${n}"`).join(', ')}.`,
      )
    }
    for (const b of budgets) this.queue.add(objectKey(b))
  }

  // --- reconcile -------------------------------------------------------------------------------

  async reconcile(key: string): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const pdb = this.#o.pdbs.get(namespace, name)
    if (!pdb) return undefined
    try {
      return await this.#trySync(pdb)
    } catch (err) {
      // A conflict only means the cache is behind: the update event brings the budget back.
      if (isConflict(err)) throw err
      this.#o.log?.error({ err, pdb: key }, 'failed to sync PodDisruptionBudget')
      await this.#o.control.updateStatus(failSafe(pdb, errorMessage(err), this.#o.clock.now()))
      return undefined
    }
  }

  async #trySync(pdb: Readonly<PodDisruptionBudget>): Promise<Requeue | undefined> {
    const { recorder } = this.#o
    let pods: Readonly<Pod>[]
    try {
      pods = this.podsOf(pdb)
    } catch (err) {
      recorder.event(pdb, 'Warning', NoPodsReason, `Failed to get pods: ${errorMessage(err)}`)
      throw err
    }
    if (pods.length === 0) recorder.event(pdb, 'Normal', NoPodsReason, 'No matching pods found')

    let counts: ExpectedCounts
    try {
      counts = await expectedPodCount(pdb, pods, (ref, ns) => this.controllerScale(ref, ns))
    } catch (err) {
      recorder.event(
        pdb,
        'Warning',
        CalculateExpectedPodCountFailedReason,
        `Failed to calculate the number of expected pods: ${errorMessage(err)}`,
      )
      throw err
    }
    if (counts.unmanagedPods.length > 0) {
      recorder.event(
        pdb,
        'Warning',
        UnmanagedPodsReason,
        `Pods selected by this PodDisruptionBudget (selector: ${selectorText(pdb)}) were found to be unmanaged. ` +
          'As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. ' +
          'To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
      )
    }

    const now = this.#o.clock.now()
    const disrupted = liveDisruptedPods(pdb, pods, now)
    for (const pod of disrupted.expired) {
      recorder.event(
        pod,
        'Warning',
        NotDeletedReason,
        `Pod was expected by PDB ${pdb.metadata?.namespace ?? ''}/${pdb.metadata?.name ?? ''} to be deleted but it wasn't`,
      )
    }
    const next = nextStatus(pdb, {
      currentHealthy: countHealthyPods(pods, disrupted.disruptedPods, now),
      desiredHealthy: counts.desiredHealthy,
      expectedPods: counts.expectedPods,
      disruptedPods: disrupted.disruptedPods,
      now,
    })
    if (next) await this.#o.control.updateStatus({ ...structuredClone(pdb), status: next })
    return disrupted.recheckAt !== undefined ? { afterMs: Math.max(0, disrupted.recheckAt - now) } : undefined
  }

  /** The pods a budget's selector matches (none without a selector); throws for a bad selector. */
  podsOf(pdb: Readonly<PodDisruptionBudget>): Readonly<Pod>[] {
    const selector = selectorOf(pdb)
    if (!selector) return []
    return this.#o.pods.list(pdb.metadata?.namespace ?? '', selector)
  }

  /**
   * The controller of a pod and its scale, by the kinds upstream knows and then any kind with a
   * /scale subresource (upstream's finders, in their order).
   */
  async controllerScale(
    ref: Readonly<OwnerReference>,
    namespace: string,
  ): Promise<ControllerScale | undefined> {
    const group = groupOf(ref.apiVersion)
    const same = (o: Readonly<{ metadata?: { uid?: string } }> | undefined) =>
      o !== undefined && o.metadata?.uid === ref.uid
    if (ref.kind === 'ReplicationController' && group === '') {
      const rc = this.#o.replicationControllers.get(namespace, ref.name)
      return same(rc) ? { uid: ref.uid, replicas: rc?.spec?.replicas ?? 1 } : undefined
    }
    if (ref.kind === 'ReplicaSet' && (group === 'apps' || group === 'extensions')) {
      const rs = this.#o.replicaSets.get(namespace, ref.name)
      if (!rs || !same(rs)) return undefined
      const owner = controllerRef(rs)
      if (owner?.kind === 'Deployment') {
        // A Deployment's ReplicaSets count as the Deployment: its scale, once.
        const og = groupOf(owner.apiVersion)
        if (og !== 'apps' && og !== 'extensions') return undefined
        const d = this.#o.deployments.get(namespace, owner.name)
        return d?.metadata?.uid === owner.uid
          ? { uid: owner.uid, replicas: d.spec?.replicas ?? 1 }
          : undefined
      }
      return { uid: ref.uid, replicas: rs.spec?.replicas ?? 1 }
    }
    if (ref.kind === 'StatefulSet' && group === 'apps') {
      const ss = this.#o.statefulSets.get(namespace, ref.name)
      return same(ss) ? { uid: ref.uid, replicas: ss?.spec?.replicas ?? 1 } : undefined
    }
    const scale = await this.#o.control.getScale(namespace, ref)
    return scale && scale.uid === ref.uid ? scale : undefined
  }

  // --- stale DisruptionTarget conditions -------------------------------------------------------

  /**
   * How long until a pod's DisruptionTarget=True condition counts as stale (0: already), or
   * undefined when it has none that can be: the pod is being deleted, is finished, or the
   * kubelet set it.
   */
  staleDisruptionWait(pod: Readonly<Pod>): number | undefined {
    if (pod.metadata?.deletionTimestamp) return undefined
    const c = podCondition(pod, 'DisruptionTarget')
    const phase = pod.status?.phase
    if (!c || c.status !== 'True' || c.reason === TerminationByKubelet) return undefined
    if (phase === 'Succeeded' || phase === 'Failed') return undefined
    const since = Date.parse(c.lastTransitionTime ?? '') || 0
    return Math.max(0, since + stalePodDisruptionTimeoutMs - this.#o.clock.now())
  }

  /** The reconciler of stalePodQueue: sets a stale DisruptionTarget condition to False. */
  readonly stalePods: Reconciler = {
    reconcile: async (key) => {
      const { namespace, name } = splitKey(key)
      const pod = this.#o.pods.get(namespace, name)
      if (!pod) return undefined
      const wait = this.staleDisruptionWait(pod)
      if (wait === undefined) return undefined
      if (wait > 0) return { afterMs: wait }
      const next = structuredClone(pod) as Pod
      const now = rfc3339(this.#o.clock.now())
      next.status = {
        ...next.status,
        conditions: (next.status?.conditions ?? []).map((c) =>
          c.type === 'DisruptionTarget' ? { type: c.type, status: 'False', lastTransitionTime: now } : c,
        ),
      }
      try {
        await this.#o.control.updatePodStatus(next)
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
      return undefined
    },
  }
}

// --- pure helpers --------------------------------------------------------------------------------

/** A budget's selector; undefined (no pods) when it has none. Throws for one that does not parse. */
export function selectorOf(pdb: Readonly<PodDisruptionBudget>): LabelSelector | undefined {
  const sel = pdb.spec?.selector
  return sel ? labelSelectorFromObject(sel) : undefined
}

/** The budgets of a pod's namespace whose selectors match it; bad selectors match nothing. */
export function budgetsOf(
  pod: Readonly<Pod>,
  budgets: readonly Readonly<PodDisruptionBudget>[],
): Readonly<PodDisruptionBudget>[] {
  const labels = pod.metadata?.labels ?? {}
  return budgets.filter((b) => {
    try {
      return selectorOf(b)?.matches(labels) ?? false
    } catch {
      return false
    }
  })
}

/**
 * An int, or a percentage of `total` rounded up or down (upstream's
 * intstr.GetScaledValueFromIntOrPercent): a string that is not a percentage is an error.
 */
export function scaledIntOrPercent(v: IntOrString, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v
  if (!v.endsWith('%'))
    throw new Error('invalid value for IntOrString: invalid type: string is not a percentage')
  const s = v.slice(0, -1)
  const percent = /^-?\d+$/.test(s) ? Number(s) : NaN
  if (!Number.isFinite(percent)) throw new Error(`invalid value "${v}": not a percentage`)
  const exact = (percent * total) / 100
  return roundUp ? Math.ceil(exact) : Math.floor(exact)
}

export interface ExpectedCounts {
  expectedPods: number
  desiredHealthy: number
  /** Names of matching pods without a controller (they add nothing to expectedPods). */
  unmanagedPods: string[]
}

/**
 * expectedPods and desiredHealthy of a budget over its pods (upstream's getExpectedPodCount).
 * `scaleOf` resolves a pod's controllerRef to its controller's identity and scale; a pod whose
 * controller it cannot find is an error.
 */
export async function expectedPodCount(
  pdb: Readonly<PodDisruptionBudget>,
  pods: readonly Readonly<Pod>[],
  scaleOf: (ref: Readonly<OwnerReference>, namespace: string) => Promise<ControllerScale | undefined>,
): Promise<ExpectedCounts> {
  const spec = pdb.spec ?? {}
  const fromScale = async () => {
    const scales = new Map<string, number>()
    const seen = new Set<string>()
    const unmanagedPods: string[] = []
    for (const pod of pods) {
      const ref = controllerRef(pod)
      if (!ref) {
        unmanagedPods.push(pod.metadata?.name ?? '')
        continue
      }
      if (seen.has(ref.uid)) continue
      const found = await scaleOf(ref, pod.metadata?.namespace ?? '')
      if (!found) throw new Error(`found no controllers for pod "${pod.metadata?.name ?? ''}"`)
      seen.add(ref.uid)
      scales.set(found.uid, found.replicas)
    }
    return { expected: [...scales.values()].reduce((a, b) => a + b, 0), unmanagedPods }
  }
  if (spec.maxUnavailable !== undefined) {
    const { expected, unmanagedPods } = await fromScale()
    const maxUnavailable = scaledIntOrPercent(spec.maxUnavailable, expected, true)
    return { expectedPods: expected, desiredHealthy: Math.max(0, expected - maxUnavailable), unmanagedPods }
  }
  if (spec.minAvailable !== undefined) {
    if (typeof spec.minAvailable === 'number')
      return { expectedPods: pods.length, desiredHealthy: spec.minAvailable, unmanagedPods: [] }
    const { expected, unmanagedPods } = await fromScale()
    return {
      expectedPods: expected,
      desiredHealthy: scaledIntOrPercent(spec.minAvailable, expected, true),
      unmanagedPods,
    }
  }
  return { expectedPods: 0, desiredHealthy: 0, unmanagedPods: [] }
}

/**
 * The entries of disruptedPods still waiting for their pod's deletion, the pods whose entries
 * expired (never deleted), and when the earliest remaining entry expires.
 */
export function liveDisruptedPods(
  pdb: Readonly<PodDisruptionBudget>,
  pods: readonly Readonly<Pod>[],
  now: number,
): { disruptedPods: Record<string, string>; expired: Readonly<Pod>[]; recheckAt?: number } {
  const recorded = pdb.status?.disruptedPods ?? {}
  const disruptedPods: Record<string, string> = {}
  const expired: Readonly<Pod>[] = []
  let recheckAt: number | undefined
  for (const pod of pods) {
    const name = pod.metadata?.name ?? ''
    if (pod.metadata?.deletionTimestamp || !Object.hasOwn(recorded, name)) continue
    const at = recorded[name] ?? ''
    const deadline = (Date.parse(at) || 0) + deletionTimeoutMs
    if (deadline < now) {
      expired.push(pod)
      continue
    }
    disruptedPods[name] = at
    if (recheckAt === undefined || deadline < recheckAt) recheckAt = deadline
  }
  return { disruptedPods, expired, ...(recheckAt !== undefined ? { recheckAt } : {}) }
}

/** Ready pods that are neither being deleted nor about to be (an eviction's entry in disruptedPods). */
export function countHealthyPods(
  pods: readonly Readonly<Pod>[],
  disruptedPods: Readonly<Record<string, string>>,
  now: number,
): number {
  let healthy = 0
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue
    const at = disruptedPods[pod.metadata?.name ?? '']
    if (at !== undefined && (Date.parse(at) || 0) + deletionTimeoutMs > now) continue
    if (isPodReady(pod)) healthy++
  }
  return healthy
}

/**
 * The status a budget should have, or undefined when it has it already (no write). The
 * DisruptionAllowed condition follows disruptionsAllowed.
 */
export function nextStatus(
  pdb: Readonly<PodDisruptionBudget>,
  o: {
    currentHealthy: number
    desiredHealthy: number
    expectedPods: number
    disruptedPods: Readonly<Record<string, string>>
    now: number
  },
): PodDisruptionBudgetStatus | undefined {
  let disruptionsAllowed = o.currentHealthy - o.desiredHealthy
  if (o.expectedPods <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0
  const current = pdb.status ?? {}
  const generation = pdb.metadata?.generation ?? 0
  if (
    (current.currentHealthy ?? 0) === o.currentHealthy &&
    (current.desiredHealthy ?? 0) === o.desiredHealthy &&
    (current.expectedPods ?? 0) === o.expectedPods &&
    (current.disruptionsAllowed ?? 0) === disruptionsAllowed &&
    deepEqual(current.disruptedPods ?? {}, o.disruptedPods) &&
    (current.observedGeneration ?? 0) === generation &&
    conditionUpToDate(current, generation)
  ) {
    return undefined
  }
  const next: PodDisruptionBudgetStatus = {
    currentHealthy: o.currentHealthy,
    desiredHealthy: o.desiredHealthy,
    expectedPods: o.expectedPods,
    disruptionsAllowed,
    ...(Object.keys(o.disruptedPods).length > 0 ? { disruptedPods: { ...o.disruptedPods } } : {}),
    observedGeneration: generation,
  }
  next.conditions = withDisruptionAllowed(structuredClone(current.conditions ?? []), next, o.now)
  return next
}

/** The DisruptionAllowed condition as disruptionsAllowed says (upstream's UpdateDisruptionAllowedCondition). */
export function withDisruptionAllowed(
  conditions: Condition[],
  status: Readonly<PodDisruptionBudgetStatus>,
  now: number,
): Condition[] {
  const allowed = (status.disruptionsAllowed ?? 0) > 0
  return setCondition(conditions, {
    type: DisruptionAllowedCondition,
    status: allowed ? 'True' : 'False',
    reason: allowed ? SufficientPodsReason : InsufficientPodsReason,
    message: '',
    observedGeneration: status.observedGeneration ?? 0,
    lastTransitionTime: rfc3339(now),
  })
}

function conditionUpToDate(status: Readonly<PodDisruptionBudgetStatus>, generation: number): boolean {
  const c = status.conditions?.find((x) => x.type === DisruptionAllowedCondition)
  if (!c || (status.observedGeneration ?? 0) !== generation) return false
  return (status.disruptionsAllowed ?? 0) > 0
    ? c.status === 'True' && c.reason === SufficientPodsReason
    : c.status === 'False' && c.reason === InsufficientPodsReason
}

/**
 * The budget with disruptionsAllowed 0 and DisruptionAllowed False/SyncFailed: when its status
 * cannot be computed, no eviction may go through on an old one.
 */
export function failSafe(
  pdb: Readonly<PodDisruptionBudget>,
  message: string,
  now: number,
): PodDisruptionBudget {
  const next = structuredClone(pdb) as PodDisruptionBudget
  const status: PodDisruptionBudgetStatus = { ...next.status, disruptionsAllowed: 0 }
  status.conditions = setCondition(status.conditions ?? [], {
    type: DisruptionAllowedCondition,
    status: 'False',
    reason: SyncFailedReason,
    message,
    observedGeneration: status.observedGeneration ?? 0,
    lastTransitionTime: rfc3339(now),
  })
  next.status = status
  return next
}

/**
 * Adds or replaces a condition by type (apimachinery's SetStatusCondition): the transition time
 * changes only when the status does.
 */
function setCondition(conditions: Condition[], c: Condition): Condition[] {
  const i = conditions.findIndex((x) => x.type === c.type)
  const old = conditions[i]
  if (i < 0 || !old) return [...conditions, c]
  const next = [...conditions]
  next[i] = {
    ...c,
    lastTransitionTime: old.status === c.status ? old.lastTransitionTime : c.lastTransitionTime,
  }
  return next
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? '' : apiVersion.slice(0, slash)
}

function selectorText(pdb: Readonly<PodDisruptionBudget>): string {
  try {
    return selectorOf(pdb)?.toString() ?? '<none>'
  } catch {
    return JSON.stringify(pdb.spec?.selector)
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
}

// --- running it ----------------------------------------------------------------------------------

interface Scale {
  metadata?: { uid?: string }
  spec?: { replicas?: number }
}

interface APIResourceList {
  resources?: { name: string; kind: string }[]
}

/** getScale through the apiserver: the resource from the built-in table or discovery, then GET .../scale. */
export function apiScales(rest: RestClient): DisruptionControl['getScale'] {
  return async (namespace, ref) => {
    const group = groupOf(ref.apiVersion)
    const version = ref.apiVersion.slice(ref.apiVersion.indexOf('/') + 1)
    const gvPath = group === '' ? `/api/${version}` : `/apis/${group}/${version}`
    const discovery = async () => (await rest.request<APIResourceList>('GET', gvPath)).resources ?? []
    let resource = resourceForKind(group, version, ref.kind)?.resource
    if (resource === undefined) {
      const found = (await discovery()).find((r) => r.kind === ref.kind && !r.name.includes('/'))
      if (!found) throw new Error(`no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`)
      resource = found.name
    }
    const path = `${gvPath}/namespaces/${encodeURIComponent(namespace)}/${resource}/${encodeURIComponent(ref.name)}/scale`
    try {
      const scale = await rest.request<Scale>('GET', path)
      return { uid: scale.metadata?.uid ?? '', replicas: scale.spec?.replicas ?? 0 }
    } catch (err) {
      if (!isNotFound(err)) throw err
      // Not found: either no such object, or a resource without a scale subresource.
      const hasScale = (await discovery()).some((r) => r.name === `${resource}/scale` && r.kind === 'Scale')
      if (!hasScale)
        throw new Error(
          `${group === '' ? resource : `${resource}.${group}`} does not implement the scale subresource`,
        )
      return undefined
    }
  }
}

/** kube-controller-manager's "disruption" controller. */
export const disruptionController: ControllerDefinition = {
  name: 'disruption',
  // Upstream's disruption controller records its events as the controller manager.
  eventSource: 'controllermanager',
  serviceAccount: 'disruption-controller',
  setup(ctx) {
    const pdbs = ctx.informers.informer<PodDisruptionBudget>(builtin('policy', 'v1', 'poddisruptionbudgets'))
    const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
    const rcs = ctx.informers.informer<ReplicationController>(builtin('', 'v1', 'replicationcontrollers'))
    const rss = ctx.informers.informer<ReplicaSet>(builtin('apps', 'v1', 'replicasets'))
    const deployments = ctx.informers.informer<Deployment>(builtin('apps', 'v1', 'deployments'))
    const statefulSets = ctx.informers.informer<StatefulSet>(builtin('apps', 'v1', 'statefulsets'))
    const pdbClient = ctx.client<PodDisruptionBudget>(pdbs.resource)
    const podClient = ctx.client<Pod>(pods.resource)
    const controller = new DisruptionController({
      pdbs: pdbs.lister,
      pods: pods.lister,
      replicationControllers: rcs.lister,
      replicaSets: rss.lister,
      deployments: deployments.lister,
      statefulSets: statefulSets.lister,
      control: {
        getScale: apiScales(ctx.rest),
        updateStatus: async (pdb) => {
          await pdbClient.updateStatus(pdb)
        },
        updatePodStatus: async (pod) => {
          await podClient.updateStatus(pod)
        },
      },
      recorder: ctx.recorder,
      clock: ctx.clock,
      log: ctx.log,
    })
    pdbs.addHandler(controller.pdbHandler())
    pods.addHandler(controller.podHandler())
    return async (signal) => {
      await Promise.all([
        runWorkers(controller.queue, controller, { workers: 1, signal, log: ctx.log }),
        runWorkers(controller.stalePodQueue, controller.stalePods, {
          workers: 1,
          signal,
          log: ctx.log,
        }),
      ])
    }
  },
}
