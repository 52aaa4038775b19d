import type { ControllerRevision, StatefulSet, StatefulSetStatus } from '../../api/generated/types/apps-v1.ts'
import type { PersistentVolumeClaim, Pod } from '../../api/generated/types/core-v1.ts'
import { labelSelectorFromObject, type LabelSelector } from '../../api/selectors/label-selector.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  builtin,
  isAlreadyExists,
  isConflict,
  isNotFound,
  objectKey,
  runWorkers,
  splitKey,
  TerminalError,
  WorkQueue,
  type EventHandler,
  type Lister,
  type Reconciler,
  type Requeue,
  type ResourceClient,
} from '../../client/index.ts'
import type { ControllerDefinition, Recorder } from '../controller.ts'
import {
  ControllerHistory,
  equalRevision,
  findEqualRevisions,
  nextRevision,
  sortRevisions,
} from '../history/history.ts'
import { adoptPatch, claim, controllerRef, controllerRefTo, releasePatch } from '../owner-refs.ts'
import { podCondition } from '../pod-state.ts'
import {
  applyRevision,
  claimOwnersMatch,
  claimsFor,
  identityMatches,
  inOrdinalRange,
  isCreated,
  isMemberOf,
  isOnDelete,
  isRunningAndAvailable,
  isRunningAndReady,
  isTerminating,
  isUnavailable,
  maxUnavailableOf,
  newRevision,
  newVersionedPod,
  ordinalOf,
  partitionOf,
  podManagementPolicy,
  replicasOf,
  revisionOfPod,
  startOrdinal,
  statefulSetKind,
  withClaimOwners,
  withIdentity,
} from './identity.ts'

/**
 * The StatefulSet controller, as Kubernetes' (pkg/controller/statefulset): pods with stable names
 * and storage, made and removed in order.
 *
 *   sync(key)
 *     ├─ claim pods named <set>-<n> (adopt orphans, release the ones the selector lost)
 *     ├─ revisions: the set's template as a ControllerRevision (new, re-used, or renumbered on a
 *     │  rollback); currentRevision from status, updateRevision from the spec
 *     ├─ each wanted ordinal, lowest first: recreate failed pods, create missing ones (claims
 *     │  first); OrderedReady stops at the first pod not yet Running, Ready and available
 *     ├─ each unwanted ordinal, highest first: delete (OrderedReady: one at a time, once the
 *     │  others are healthy); claims get the owners persistentVolumeClaimRetentionPolicy asks for
 *     ├─ RollingUpdate: delete the highest pods at or above the partition that are not at the
 *     │  update revision, keeping at most maxUnavailable unavailable (OnDelete: leave them)
 *     └─ status, then old revisions beyond revisionHistoryLimit go
 *
 * There are no expectations as in the ReplicaSet controller: a pod's name is its identity, so a
 * create the cache has not seen yet answers AlreadyExists, and deletes carry the pod's uid as a
 * precondition, so a stale cache can never delete a newer pod of the same name.
 */

/** The writes of the controller: the apiserver in production, a recording fake in tests. */
export interface StatefulSetControl {
  createPod(pod: Pod): Promise<Pod>
  updatePod(pod: Pod): Promise<Pod>
  /** Deletes the pod with this uid; NotFound or Conflict means it is gone already. */
  deletePod(namespace: string, name: string, uid: string): Promise<void>
  patchPod(namespace: string, name: string, patch: unknown): Promise<void>
  createClaim(claim: PersistentVolumeClaim): Promise<PersistentVolumeClaim>
  updateClaim(claim: PersistentVolumeClaim): Promise<PersistentVolumeClaim>
  getStatefulSet(namespace: string, name: string): Promise<StatefulSet>
  updateStatus(set: StatefulSet): Promise<StatefulSet>
}

export interface StatefulSetControllerOptions {
  sets: Lister<StatefulSet>
  pods: Lister<Pod>
  claims: Lister<PersistentVolumeClaim>
  history: ControllerHistory
  control: StatefulSetControl
  recorder: Recorder
  clock: Clock
  log?: Logger
}

/** Event reasons (upstream's stateful_pod_control.go). */
export const reasonSuccessfulCreate = 'SuccessfulCreate'
export const reasonFailedCreate = 'FailedCreate'
export const reasonSuccessfulDelete = 'SuccessfulDelete'
export const reasonFailedDelete = 'FailedDelete'
export const reasonSuccessfulUpdate = 'SuccessfulUpdate'
export const reasonFailedUpdate = 'FailedUpdate'

/** Most pods created or deleted at once under Parallel (upstream's MaxBatchSize). */
const maxBatchSize = 500

/** One wanted ordinal: a pod of the cache, or one to be made (`exists` false). */
interface Replica {
  pod: Pod
  exists: boolean
}

/** What one sync found and did, for the status. */
interface SyncState {
  set: StatefulSet
  currentSet: StatefulSet
  updateSet: StatefulSet
  current: ControllerRevision
  update: ControllerRevision
  monotonic: boolean
  minReadySeconds: number
  now: number
}

export class StatefulSetController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: StatefulSetControllerOptions

  constructor(o: StatefulSetControllerOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  // --- events to keys --------------------------------------------------------------------------

  setHandler(): EventHandler<StatefulSet> {
    const add = (s: Readonly<StatefulSet>) => this.queue.add(objectKey(s))
    return { add, update: (_old, s) => add(s), delete: add }
  }

  podHandler(): EventHandler<Pod> {
    const owners = (pod: Readonly<Pod>): string[] => {
      const owner = this.#ownerOf(pod)
      if (owner) return [owner]
      if (controllerRef(pod)) return []
      // An orphan: the sets whose selector matches and whose name it bears look again.
      const labels = pod.metadata?.labels ?? {}
      return this.#o.sets
        .list(pod.metadata?.namespace ?? '')
        .filter((s) => isMemberOf(s, pod) && selectorOf(s)?.matches(labels))
        .map((s) => objectKey(s))
    }
    return {
      add: (pod) => owners(pod).forEach((k) => this.queue.add(k)),
      update: (old, pod) => {
        if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return
        const keys = new Set([...owners(old), ...owners(pod)])
        for (const k of keys) this.queue.add(k)
        // A pod that became ready becomes available minReadySeconds later: look again then.
        const owner = this.#ownerOf(pod)
        if (!owner || podCondition(old, 'Ready')?.status === 'True' || !isRunningAndReady(pod)) return
        const set = this.#o.sets.get(splitKey(owner).namespace, splitKey(owner).name)
        const minReady = set?.spec?.minReadySeconds ?? 0
        if (minReady > 0) this.queue.addAfter(owner, minReady * 1000 + 1000)
      },
      delete: (pod) => owners(pod).forEach((k) => this.queue.add(k)),
    }
  }

  /**
   * A claim going away may unblock the pod that waits for it (a claim still owned by an earlier
   * pod of the same name is stale until the garbage collector removes it): its set looks again.
   */
  claimHandler(): EventHandler<PersistentVolumeClaim> {
    return {
      delete: (c) => {
        const name = c.metadata?.name ?? ''
        for (const set of this.#o.sets.list(c.metadata?.namespace ?? '')) {
          const ordinals = [...(set.spec?.volumeClaimTemplates ?? [])].map((t) =>
            claimOrdinal(name, t.metadata?.name ?? '', set.metadata?.name ?? ''),
          )
          if (ordinals.some((o) => o >= 0)) this.queue.add(objectKey(set))
        }
      },
    }
  }

  #ownerOf(pod: Readonly<Pod>): string | undefined {
    const ref = controllerRef(pod)
    if (ref?.kind !== statefulSetKind.kind) return undefined
    const set = this.#o.sets.get(pod.metadata?.namespace ?? '', ref.name)
    return set?.metadata?.uid === ref.uid ? objectKey(set) : undefined
  }

  // --- reconcile -------------------------------------------------------------------------------

  async reconcile(key: string): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const cached = this.#o.sets.get(namespace, name)
    if (!cached) return undefined
    const set = structuredClone(cached) as StatefulSet
    const selector = selectorOf(set)
    if (!selector) throw new TerminalError(`${key} has an invalid selector`)
    if (selector.empty) {
      this.#o.recorder.event(
        set,
        'Warning',
        'SelectingAll',
        'This statefulset is selecting all pods. A non-empty selector is required.',
      )
      return undefined
    }
    const pods = await this.#claimPods(set, selector)
    const revisions = await this.#claimRevisions(set, selector)
    const { current, update, collisionCount } = await this.#revisions(set, revisions)

    let status: StatefulSetStatus | undefined
    let failure: Error | undefined
    let requeue: Requeue | undefined
    try {
      ;({ status, requeue } = await this.#update(set, current, update, collisionCount, pods))
    } catch (err) {
      // The status is written even when an action failed, then the sync is retried.
      failure = err instanceof Error ? err : new Error(String(err))
    }
    if (status) await this.#writeStatus(set, status)
    await this.#truncateHistory(set, pods, revisions, current, update)
    if (failure) throw failure
    return requeue
  }

  async #claimPods(set: StatefulSet, selector: LabelSelector): Promise<Pod[]> {
    const candidates = this.#o.pods.list(set.metadata?.namespace ?? '').filter((p) => isMemberOf(set, p))
    const ref = controllerRefTo(set, statefulSetKind.apiVersion, statefulSetKind.kind)
    const claimed = await claim<Pod>(set, selector, candidates, {
      adopt: async (pod) => {
        const fresh = await this.#o.control.getStatefulSet(
          set.metadata?.namespace ?? '',
          set.metadata?.name ?? '',
        )
        if (fresh.metadata?.uid !== set.metadata?.uid || fresh.metadata?.deletionTimestamp) return false
        return this.#patchPodIgnoringGone(pod, adoptPatch(pod, ref))
      },
      release: (pod) => this.#patchPodIgnoringGone(pod, releasePatch(pod, set.metadata?.uid ?? '')),
    })
    return claimed.map((p) => structuredClone(p) as Pod)
  }

  async #patchPodIgnoringGone(pod: Readonly<Pod>, patch: unknown): Promise<boolean> {
    try {
      await this.#o.control.patchPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', patch)
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  /** The set's revisions, orphans its selector matches adopted, oldest first. */
  async #claimRevisions(set: StatefulSet, selector: LabelSelector): Promise<ControllerRevision[]> {
    const found = this.#o.history.listRevisions(set, selector)
    const owned: ControllerRevision[] = []
    for (const r of found) {
      if (controllerRef(r)) owned.push(structuredClone(r))
      else if (!set.metadata?.deletionTimestamp && (await this.#o.history.adopt(set, statefulSetKind, r)))
        owned.push(structuredClone(r))
    }
    return sortRevisions(owned)
  }

  /**
   * The current and update revisions (getStatefulSetRevisions): the set's template is the update
   * revision, the latest if unchanged, an older one renumbered if the template went back to it,
   * else a new one; the current revision is the one status names (the update one at first).
   */
  async #revisions(
    set: StatefulSet,
    revisions: ControllerRevision[],
  ): Promise<{ current: ControllerRevision; update: ControllerRevision; collisionCount: number }> {
    let collisionCount = set.status?.collisionCount ?? 0
    const candidate = newRevision(set, nextRevision(revisions), collisionCount)
    const equal = findEqualRevisions(revisions, candidate)
    const latest = revisions.at(-1)
    const lastEqual = equal.at(-1)
    let update: ControllerRevision
    if (lastEqual && latest && equalRevision(latest, lastEqual)) {
      update = latest
    } else if (lastEqual) {
      update = await this.#o.history.updateRevision(lastEqual, candidate.revision)
      revisions.splice(revisions.indexOf(lastEqual), 1, update)
    } else {
      ;({ revision: update, collisionCount } = await this.#o.history.create(set, candidate, collisionCount))
      revisions.push(update)
    }
    const current = revisions.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update
    return { current, update, collisionCount }
  }

  /** The pods brought towards the spec (updateStatefulSet); resolves to the status to write. */
  async #update(
    set: StatefulSet,
    current: ControllerRevision,
    update: ControllerRevision,
    collisionCount: number,
    pods: Pod[],
  ): Promise<{ status: StatefulSetStatus; requeue?: Requeue }> {
    const s: SyncState = {
      set,
      currentSet: applyRevision(set, current),
      updateSet: applyRevision(set, update),
      current,
      update,
      monotonic: podManagementPolicy(set) === 'OrderedReady',
      minReadySeconds: set.spec?.minReadySeconds ?? 0,
      now: this.#o.clock.now(),
    }
    const base: StatefulSetStatus = {
      replicas: 0,
      observedGeneration: set.metadata?.generation ?? 0,
      currentRevision: current.metadata?.name ?? '',
      updateRevision: update.metadata?.name ?? '',
      collisionCount,
    }
    const status = (adjust = 0): { status: StatefulSetStatus; requeue?: Requeue } => {
      const counts = computeStatus(pods, s)
      const st = { ...base, ...counts, currentReplicas: counts.currentReplicas + adjust }
      const wait = availabilityWait(pods, s)
      return { status: st, ...(wait !== undefined ? { requeue: { afterMs: wait } } : {}) }
    }

    // Wanted ordinals hold their pod, or a new one at the right revision; others are condemned.
    const start = startOrdinal(set)
    const replicas: Replica[] = []
    const condemned: Pod[] = []
    for (const pod of pods) {
      const o = ordinalOf(pod)
      if (inOrdinalRange(set, pod)) replicas[o - start] = { pod, exists: true }
      else if (o >= 0) condemned.push(pod)
    }
    for (let i = 0; i < replicasOf(set); i++) {
      replicas[i] ??= {
        pod: newVersionedPod({
          currentSet: s.currentSet,
          updateSet: s.updateSet,
          currentRevision: current.metadata?.name ?? '',
          updateRevision: update.metadata?.name ?? '',
          ordinal: start + i,
        }),
        exists: false,
      }
    }
    condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a))
    const firstUnavailable =
      replicas.find((r) => isUnavailable(r.pod, s.minReadySeconds, s.now))?.pod ??
      [...condemned].reverse().find((p) => isUnavailable(p, s.minReadySeconds, s.now))

    if (set.metadata?.deletionTimestamp) return status()

    if (await runForAll(replicas, (r) => this.#processReplica(s, r), s.monotonic)) return status()
    const fixClaims = async (pod: Pod) => {
      await this.#fixClaimOwners(s.updateSet, pod)
      return false
    }
    if (await runForAll(condemned, fixClaims, s.monotonic)) return status()
    const condemn = (pod: Pod) => this.#processCondemned(s, pod, firstUnavailable)
    if (await runForAll(condemned, condemn, s.monotonic)) return status()

    if (isOnDelete(set)) return status()
    return status(-(await this.#rollingUpdate(s, replicas)))
  }

  /** One wanted ordinal; resolves to true when OrderedReady must wait (processReplica). */
  async #processReplica(s: SyncState, r: Replica): Promise<boolean> {
    const pod = r.pod
    const phase = pod.status?.phase
    if (r.exists && (phase === 'Failed' || phase === 'Succeeded')) {
      // Replaced on a later sync, once it is gone.
      if (!isTerminating(pod)) await this.#deletePod(s.set, pod)
      return true
    }
    if (!r.exists) {
      if (this.#claimsAreStale(s.set, pod)) return true
      await this.#createClaims(s.set, pod)
      await this.#createPod(s.set, pod)
      return s.monotonic
    }
    if (phase === 'Pending') await this.#createClaims(s.set, pod)
    if (isTerminating(pod) && s.monotonic) return true
    if (!isRunningAndReady(pod) && s.monotonic) return true
    if (!isRunningAndAvailable(pod, s.minReadySeconds, s.now) && s.monotonic) return true

    if (!identityMatches(s.set, pod)) await this.#updatePod(s.set, withIdentity(s.set, pod))
    await this.#createClaims(s.set, pod)
    await this.#fixClaimOwners(s.updateSet, pod)
    return false
  }

  /** One unwanted ordinal, highest first; resolves to true when OrderedReady must wait. */
  async #processCondemned(s: SyncState, pod: Pod, firstUnavailable: Pod | undefined): Promise<boolean> {
    if (isTerminating(pod)) return s.monotonic
    // OrderedReady removes pods only while all others are healthy, except the one that is not.
    if (s.monotonic && pod !== firstUnavailable && !isRunningAndAvailable(pod, s.minReadySeconds, s.now))
      return true
    await this.#deletePod(s.set, pod)
    return true
  }

  /**
   * A rolling update step (updateStatefulSetAfterInvariantEstablished): with at most
   * maxUnavailable of the wanted pods unavailable, delete the highest pods at or above the
   * partition that are not at the update revision (they come back at it). Resolves to how many
   * were deleted.
   */
  async #rollingUpdate(s: SyncState, replicas: Replica[]): Promise<number> {
    const maxUnavailable = maxUnavailableOf(s.set)
    const unavailable = replicas.filter((r) => isUnavailable(r.pod, s.minReadySeconds, s.now)).length
    if (unavailable > maxUnavailable) return 0
    const updateName = s.update.metadata?.name ?? ''
    const toDelete = maxUnavailable - unavailable
    const updateMin = partitionOf(s.set)
    let deleted = 0
    for (let i = replicas.length - 1; i >= updateMin && deleted < toDelete; i--) {
      const r = replicas[i]
      if (!r?.exists || revisionOfPod(r.pod) === updateName || isTerminating(r.pod)) continue
      await this.#deletePod(s.set, r.pod)
      deleted++
    }
    return deleted
  }

  // --- pods and claims ---------------------------------------------------------------------------

  async #createPod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.#o.control.createPod(pod)
    } catch (err) {
      // Made already; the cache has not seen it yet.
      if (isAlreadyExists(err)) return
      this.#podEvent(set, pod, 'create', err)
      throw err
    }
    this.#podEvent(set, pod, 'create')
  }

  async #updatePod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.#o.control.updatePod(pod)
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return // changed meanwhile: the next sync sees it
      this.#podEvent(set, pod, 'update', err)
      throw err
    }
    this.#podEvent(set, pod, 'update')
  }

  async #deletePod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.#o.control.deletePod(
        pod.metadata?.namespace ?? '',
        pod.metadata?.name ?? '',
        pod.metadata?.uid ?? '',
      )
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return // gone, or a newer pod has the name
      this.#podEvent(set, pod, 'delete', err)
      throw err
    }
    this.#podEvent(set, pod, 'delete')
  }

  /** "create Pod web-0 in StatefulSet web successful", as upstream's recordPodEvent words it. */
  #podEvent(set: StatefulSet, pod: Pod, verb: 'create' | 'update' | 'delete', err?: unknown): void {
    const what = `${verb} Pod ${pod.metadata?.name ?? ''} in StatefulSet ${set.metadata?.name ?? ''}`
    const Verb = `${verb[0]?.toUpperCase() ?? ''}${verb.slice(1)}`
    if (err === undefined) this.#o.recorder.event(set, 'Normal', `Successful${Verb}`, `${what} successful`)
    else this.#o.recorder.event(set, 'Warning', `Failed${Verb}`, `${what} failed error: ${errorText(err)}`)
  }

  /** A claim the pod would use is being deleted, or still owned by an earlier pod of its name. */
  #claimsAreStale(set: StatefulSet, pod: Pod): boolean {
    for (const c of claimsFor(set, ordinalOf(pod)).values()) {
      const existing = this.#o.claims.get(c.metadata?.namespace ?? '', c.metadata?.name ?? '')
      if (!existing) continue
      if (existing.metadata?.deletionTimestamp) return true
      const podRef = existing.metadata?.ownerReferences?.find(
        (r) => r.kind === 'Pod' && r.name === pod.metadata?.name,
      )
      if (podRef) return true
    }
    return false
  }

  /** Creates the pod's claims that do not exist (createPersistentVolumeClaims). */
  async #createClaims(set: StatefulSet, pod: Pod): Promise<void> {
    for (const c of claimsFor(set, ordinalOf(pod)).values()) {
      const name = c.metadata?.name ?? ''
      if (this.#o.claims.get(c.metadata?.namespace ?? '', name)) continue
      const made = withClaimOwners(c, set, pod)
      try {
        await this.#o.control.createClaim(made)
      } catch (err) {
        if (isAlreadyExists(err)) continue
        this.#claimEvent(set, pod, name, err)
        throw err
      }
      this.#claimEvent(set, pod, name)
    }
  }

  /** "create Claim data-web-0 Pod web-0 in StatefulSet web success", as upstream's recordClaimEvent. */
  #claimEvent(set: StatefulSet, pod: Pod, claim: string, err?: unknown): void {
    const podName = pod.metadata?.name ?? ''
    const setName = set.metadata?.name ?? ''
    if (err === undefined) {
      this.#o.recorder.event(
        set,
        'Normal',
        reasonSuccessfulCreate,
        `create Claim ${claim} Pod ${podName} in StatefulSet ${setName} success`,
      )
    } else {
      this.#o.recorder.event(
        set,
        'Warning',
        reasonFailedCreate,
        `create Claim ${claim} for Pod ${podName} in StatefulSet ${setName} failed error: ${errorText(err)}`,
      )
    }
  }

  /** The pod's claims get the owners the retention policy asks for (UpdatePodClaimForRetentionPolicy). */
  async #fixClaimOwners(set: StatefulSet, pod: Pod): Promise<void> {
    if (!pod.metadata?.uid) return
    for (const c of claimsFor(set, ordinalOf(pod)).values()) {
      const existing = this.#o.claims.get(c.metadata?.namespace ?? '', c.metadata?.name ?? '')
      if (!existing || claimOwnersMatch(existing, set, pod)) continue
      try {
        await this.#o.control.updateClaim(withClaimOwners(existing, set, pod))
      } catch (err) {
        if (isNotFound(err) || isConflict(err)) continue // the next sync sees it afresh
        throw err
      }
    }
  }

  // --- status and history ------------------------------------------------------------------------

  /** Writes the status when it says something new; a finished rolling update makes the update revision current. */
  async #writeStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    const next = completeRollingUpdate(set, status)
    if (!inconsistentStatus(set, next)) return
    const write = async (base: StatefulSet) => {
      const updated = await this.#o.control.updateStatus({
        ...base,
        status: { ...base.status, ...next },
      })
      set.status = updated.status ?? next
    }
    try {
      await write(set)
    } catch (err) {
      if (isNotFound(err)) return
      if (!isConflict(err)) throw err
      await write(
        await this.#o.control.getStatefulSet(set.metadata?.namespace ?? '', set.metadata?.name ?? ''),
      )
    }
  }

  /**
   * Deletes the oldest revisions beyond revisionHistoryLimit that no pod, nor the current or
   * update revision, uses (truncateHistory).
   */
  async #truncateHistory(
    set: StatefulSet,
    pods: readonly Pod[],
    revisions: readonly ControllerRevision[],
    current: ControllerRevision,
    update: ControllerRevision,
  ): Promise<void> {
    const live = new Set([current.metadata?.name, update.metadata?.name, ...pods.map(revisionOfPod)])
    const old = sortRevisions(revisions).filter((r) => !live.has(r.metadata?.name))
    const limit = set.spec?.revisionHistoryLimit ?? 10
    if (limit < 0 || old.length <= limit) return
    for (const r of old.slice(0, old.length - limit)) await this.#o.history.delete(r)
  }
}

// --- pure helpers ----------------------------------------------------------------------------------

/**
 * Runs `fn` over the items: in order, stopping at the first that says to wait (OrderedReady), or
 * all of them in slow-start batches of 1, 2, 4, ... (Parallel), where waiting means nothing.
 * Resolves to true when the sync should stop here.
 */
export async function runForAll<T>(
  items: readonly T[],
  fn: (item: T) => Promise<boolean>,
  monotonic: boolean,
): Promise<boolean> {
  if (monotonic) {
    for (const item of items) if (await fn(item)) return true
    return false
  }
  let next = 0
  for (let batch = Math.min(1, items.length); batch > 0;) {
    const results = await Promise.allSettled(items.slice(next, next + batch).map(fn))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
    next += batch
    batch = Math.min(2 * batch, items.length - next, maxBatchSize)
  }
  return false
}

/** The counts of the status (computeReplicaStatus) over the set's pods as the cache showed them. */
export function computeStatus(
  pods: readonly Readonly<Pod>[],
  s: Pick<SyncState, 'current' | 'update' | 'minReadySeconds' | 'now'>,
): Required<
  Pick<
    StatefulSetStatus,
    'replicas' | 'readyReplicas' | 'availableReplicas' | 'currentReplicas' | 'updatedReplicas'
  >
> {
  const counts = {
    replicas: 0,
    readyReplicas: 0,
    availableReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
  }
  for (const pod of pods) {
    if (isCreated(pod)) counts.replicas++
    if (isRunningAndReady(pod)) {
      counts.readyReplicas++
      if (isRunningAndAvailable(pod, s.minReadySeconds, s.now)) counts.availableReplicas++
    }
    if (isCreated(pod) && !isTerminating(pod)) {
      const revision = revisionOfPod(pod)
      if (revision === s.current.metadata?.name) counts.currentReplicas++
      if (revision === s.update.metadata?.name) counts.updatedReplicas++
    }
  }
  return counts
}

/** Milliseconds until the next ready pod becomes available (minReadySeconds), if one will. */
function availabilityWait(pods: readonly Readonly<Pod>[], s: SyncState): number | undefined {
  if (s.minReadySeconds <= 0) return undefined
  let soonest: number | undefined
  for (const pod of pods) {
    if (!isRunningAndReady(pod) || isRunningAndAvailable(pod, s.minReadySeconds, s.now)) continue
    const since = Date.parse(podCondition(pod, 'Ready')?.lastTransitionTime ?? '')
    const wait = Number.isFinite(since) ? since + s.minReadySeconds * 1000 - s.now + 1000 : 1000
    soonest = Math.min(soonest ?? wait, Math.max(1000, wait))
  }
  return soonest
}

/**
 * A rolling update whose wanted pods are all there, updated and ready (no more, no fewer than
 * spec.replicas) is complete: the update revision becomes the current one (completeRollingUpdate).
 */
export function completeRollingUpdate(
  set: Readonly<StatefulSet>,
  status: StatefulSetStatus,
): StatefulSetStatus {
  if (
    !isOnDelete(set) &&
    status.updatedReplicas === replicasOf(set) &&
    status.readyReplicas === replicasOf(set) &&
    status.replicas === replicasOf(set)
  ) {
    return {
      ...status,
      currentReplicas: status.updatedReplicas ?? 0,
      currentRevision: status.updateRevision ?? '',
    }
  }
  return status
}

/** The status differs from what the set has (inconsistentStatus). */
export function inconsistentStatus(set: Readonly<StatefulSet>, status: StatefulSetStatus): boolean {
  const old = set.status
  return (
    (status.observedGeneration ?? 0) > (old?.observedGeneration ?? 0) ||
    status.replicas !== (old?.replicas ?? 0) ||
    (status.currentReplicas ?? 0) !== (old?.currentReplicas ?? 0) ||
    (status.readyReplicas ?? 0) !== (old?.readyReplicas ?? 0) ||
    (status.updatedReplicas ?? 0) !== (old?.updatedReplicas ?? 0) ||
    (status.availableReplicas ?? 0) !== (old?.availableReplicas ?? 0) ||
    (status.currentRevision ?? '') !== (old?.currentRevision ?? '') ||
    (status.updateRevision ?? '') !== (old?.updateRevision ?? '') ||
    (status.collisionCount ?? 0) !== (old?.collisionCount ?? 0)
  )
}

/** The ordinal of a claim named `<template>-<set>-<n>`, or -1 when it is not such a claim. */
export function claimOrdinal(claim: string, template: string, set: string): number {
  const prefix = `${template}-${set}-`
  if (!claim.startsWith(prefix)) return -1
  const rest = claim.slice(prefix.length)
  return /^\d+$/.test(rest) ? Number(rest) : -1
}

function selectorOf(s: Readonly<StatefulSet>): LabelSelector | undefined {
  try {
    return labelSelectorFromObject(s.spec?.selector)
  } catch {
    return undefined
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The writes, through the apiserver. */
export function apiStatefulSetControl(
  sets: ResourceClient<StatefulSet>,
  pods: ResourceClient<Pod>,
  claims: ResourceClient<PersistentVolumeClaim>,
): StatefulSetControl {
  return {
    createPod: (pod) => pods.create(pod),
    updatePod: (pod) => pods.update(pod),
    deletePod: async (ns, name, uid) => {
      await pods.delete(ns, name, { preconditions: { uid } })
    },
    patchPod: async (ns, name, patch) => {
      await pods.patch(ns, name, 'strategic', patch)
    },
    createClaim: (c) => claims.create(c),
    updateClaim: (c) => claims.update(c),
    getStatefulSet: (ns, name) => sets.get(ns, name),
    updateStatus: (s) => sets.updateStatus(s),
  }
}

/** kube-controller-manager's --concurrent-statefulset-syncs defaults to 5. */
export const statefulSetController: ControllerDefinition = {
  name: 'statefulset',
  eventSource: 'statefulset-controller',
  serviceAccount: 'statefulset-controller',
  setup(ctx) {
    const sets = ctx.informers.informer<StatefulSet>(builtin('apps', 'v1', 'statefulsets'))
    const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
    const claims = ctx.informers.informer<PersistentVolumeClaim>(builtin('', 'v1', 'persistentvolumeclaims'))
    const revisions = ctx.informers.informer<ControllerRevision>(builtin('apps', 'v1', 'controllerrevisions'))
    const controller = new StatefulSetController({
      sets: sets.lister,
      pods: pods.lister,
      claims: claims.lister,
      history: new ControllerHistory({
        client: ctx.client<ControllerRevision>(revisions.resource),
        lister: revisions.lister,
      }),
      control: apiStatefulSetControl(
        ctx.client<StatefulSet>(sets.resource),
        ctx.client<Pod>(pods.resource),
        ctx.client<PersistentVolumeClaim>(claims.resource),
      ),
      recorder: ctx.recorder,
      clock: ctx.clock,
      log: ctx.log,
    })
    sets.addHandler(controller.setHandler())
    pods.addHandler(controller.podHandler())
    claims.addHandler(controller.claimHandler())
    return (signal) => runWorkers(controller.queue, controller, { workers: 5, signal, log: ctx.log })
  },
}
