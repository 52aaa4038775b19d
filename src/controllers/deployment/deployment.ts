import type { Deployment, DeploymentStatus, ReplicaSet } from '../../api/generated/types/apps-v1.ts'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { copyJson, deepEqual } from '../../api/object.ts'
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
import { adoptPatch, claim, controllerRef, controllerRefTo, releasePatch } from '../owner-refs.ts'
import {
  calculateStatus,
  cleanupUnhealthy,
  condition,
  conditionProgressing,
  conditionReplicaFailure,
  copiedAnnotations,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  findNewReplicaSet,
  hasTimedOut,
  isComplete,
  isProgressing,
  isRollingUpdate,
  makeCondition,
  maxReplicasAnnotation,
  maxRevision,
  maxScaledDown,
  maxSurge,
  newRSNewReplicas,
  podTemplateHashLabel,
  proportionalScale,
  reasonDeploymentPaused,
  reasonDeploymentResumed,
  reasonFoundNewReplicaSet,
  reasonNewReplicaSetAvailable,
  reasonNewReplicaSetCreated,
  reasonProgressDeadlineExceeded,
  reasonReplicaSetUpdated,
  removeCondition,
  replicasOf,
  revisionAnnotation,
  revisionHistoryAnnotation,
  revisionOf,
  rsReplicas,
  scaleDownOld,
  setCondition,
  sortByCreation,
  templateHash,
} from './rollout.ts'

/**
 * The Deployment controller, as Kubernetes' (pkg/controller/deployment): a Deployment owns
 * ReplicaSets, one per distinct pod template, and moves pods from the old ones to the new one.
 *
 *   sync(key)
 *     ├─ claim ReplicaSets (adopt orphans the selector matches, release the ones it no longer does)
 *     ├─ being deleted, or paused ─▶ scale only (proportionally), clean up, status
 *     ├─ replicas changed mid-rollout ─▶ proportional scaling, status
 *     ├─ Recreate ─▶ old to 0, wait for their pods to go, new to replicas
 *     └─ RollingUpdate ─▶ new up to replicas+maxSurge, old down to keep replicas−maxUnavailable
 *                         available; complete ─▶ delete old ReplicaSets beyond revisionHistoryLimit
 *
 * The new ReplicaSet is named `<deployment>-<pod-template-hash>` and carries the revision in
 * `deployment.kubernetes.io/revision` (the highest so far plus one; a rollback to an old template
 * re-uses its ReplicaSet with a new revision and records the old ones in revision-history), so
 * that `kubectl rollout history|undo|status` work. Status counts come from the ReplicaSets; the
 * Available and Progressing conditions (with progressDeadlineSeconds) say how the rollout goes.
 */

/** The writes of the controller: the apiserver in production, a recording fake in tests. */
export interface DeploymentControl {
  createReplicaSet(rs: ReplicaSet): Promise<ReplicaSet>
  /** PUT of a ReplicaSet (replicas, annotations, minReadySeconds). */
  updateReplicaSet(rs: ReplicaSet): Promise<ReplicaSet>
  deleteReplicaSet(namespace: string, name: string): Promise<void>
  patchReplicaSet(namespace: string, name: string, patch: unknown): Promise<void>
  getReplicaSet(namespace: string, name: string): Promise<ReplicaSet>
  getDeployment(namespace: string, name: string): Promise<Deployment>
  updateDeployment(d: Deployment): Promise<Deployment>
  updateDeploymentStatus(d: Deployment): Promise<Deployment>
}

export interface DeploymentControllerOptions {
  deployments: Lister<Deployment>
  replicaSets: Lister<ReplicaSet>
  pods: Lister<Pod>
  control: DeploymentControl
  recorder: Recorder
  clock: Clock
  log?: Logger
}

export class DeploymentController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: DeploymentControllerOptions

  constructor(o: DeploymentControllerOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  // --- events to keys --------------------------------------------------------------------------

  deploymentHandler(): EventHandler<Deployment> {
    const add = (d: Readonly<Deployment>) => this.queue.add(objectKey(d))
    return { add, update: (_old, d) => add(d), delete: add }
  }

  replicaSetHandler(): EventHandler<ReplicaSet> {
    const owners = (rs: Readonly<ReplicaSet>): string[] => {
      const owner = this.#ownerOf(rs)
      if (owner) return [owner]
      if (controllerRef(rs)) return []
      // An orphan: every Deployment that might adopt it looks again.
      const labels = rs.metadata?.labels ?? {}
      return this.#o.deployments
        .list(rs.metadata?.namespace ?? '')
        .filter((d) => selectorOf(d)?.matches(labels))
        .map((d) => objectKey(d))
    }
    return {
      add: (rs) => owners(rs).forEach((k) => this.queue.add(k)),
      update: (old, rs) => {
        if (old.metadata?.resourceVersion === rs.metadata?.resourceVersion) return
        for (const k of new Set([...owners(old), ...owners(rs)])) this.queue.add(k)
      },
      delete: (rs) => owners(rs).forEach((k) => this.queue.add(k)),
    }
  }

  /** Recreate waits for old pods to be gone: their deletions wake the Deployment. */
  podHandler(): EventHandler<Pod> {
    return {
      delete: (pod) => {
        const ref = controllerRef(pod)
        if (ref?.kind !== 'ReplicaSet') return
        const rs = this.#o.replicaSets.get(pod.metadata?.namespace ?? '', ref.name)
        const owner = rs && this.#ownerOf(rs)
        if (!owner) return
        const d = this.#o.deployments.get(splitKey(owner).namespace, splitKey(owner).name)
        if (d && !isRollingUpdate(d)) this.queue.add(owner)
      },
    }
  }

  #ownerOf(rs: Readonly<ReplicaSet>): string | undefined {
    const ref = controllerRef(rs)
    if (ref?.kind !== 'Deployment') return undefined
    const d = this.#o.deployments.get(rs.metadata?.namespace ?? '', ref.name)
    return d?.metadata?.uid === ref.uid ? objectKey(d) : undefined
  }

  // --- reconcile -------------------------------------------------------------------------------

  async reconcile(key: string): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const cached = this.#o.deployments.get(namespace, name)
    if (!cached) return undefined
    const d = copyJson(cached) as Deployment
    const selector = selectorOf(d)
    if (!selector) throw new TerminalError(`${key} has an invalid selector`)
    if (selector.empty) {
      this.#o.recorder.event(
        d,
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      )
      if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
        await this.#o.control.updateDeploymentStatus({
          ...d,
          status: { ...d.status, observedGeneration: d.metadata?.generation ?? 0 },
        })
      }
      return undefined
    }
    const rss = await this.#claimReplicaSets(d, selector)

    if (d.metadata?.deletionTimestamp) return this.#syncStatusOnly(d, rss)
    await this.#checkPaused(d)
    if (d.spec?.paused) return this.#sync(d, rss)
    if (this.#isScalingEvent(d, rss)) return this.#sync(d, rss)
    return isRollingUpdate(d) ? this.#rolloutRolling(d, rss) : this.#rolloutRecreate(d, rss)
  }

  async #claimReplicaSets(d: Readonly<Deployment>, selector: LabelSelector): Promise<ReplicaSet[]> {
    const candidates = this.#o.replicaSets.list(d.metadata?.namespace ?? '')
    const ref = controllerRefTo(d, 'apps/v1', 'Deployment')
    const claimed = await claim<ReplicaSet>(d, selector, candidates, {
      adopt: async (rs) => {
        const fresh = await this.#o.control.getDeployment(d.metadata?.namespace ?? '', d.metadata?.name ?? '')
        if (fresh.metadata?.uid !== d.metadata?.uid || fresh.metadata?.deletionTimestamp) return false
        return this.#patchIgnoringGone(rs, adoptPatch(rs, ref))
      },
      release: (rs) => this.#patchIgnoringGone(rs, releasePatch(rs, d.metadata?.uid ?? '')),
    })
    return claimed.map((rs) => copyJson(rs) as ReplicaSet)
  }

  async #patchIgnoringGone(rs: Readonly<ReplicaSet>, patch: unknown): Promise<boolean> {
    try {
      await this.#o.control.patchReplicaSet(rs.metadata?.namespace ?? '', rs.metadata?.name ?? '', patch)
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  /** Progressing says Paused while paused, and Resumed once it is not (checkPausedConditions). */
  async #checkPaused(d: Deployment): Promise<void> {
    if (!hasProgressDeadline(d)) return
    const c = condition(d.status, conditionProgressing)
    if (c?.reason === reasonProgressDeadlineExceeded) return
    const paused = Boolean(d.spec?.paused)
    const status: DeploymentStatus = copyJson(d.status ?? {})
    if (paused && c?.reason !== reasonDeploymentPaused) {
      setCondition(
        status,
        makeCondition(
          conditionProgressing,
          'Unknown',
          reasonDeploymentPaused,
          'Deployment is paused',
          this.#now(),
        ),
      )
    } else if (!paused && c?.reason === reasonDeploymentPaused) {
      setCondition(
        status,
        makeCondition(
          conditionProgressing,
          'Unknown',
          reasonDeploymentResumed,
          'Deployment is resumed',
          this.#now(),
        ),
      )
    } else {
      return
    }
    const updated = await this.#o.control.updateDeploymentStatus({ ...d, status })
    d.status = updated.status ?? status
    d.metadata = {
      ...d.metadata,
      resourceVersion: updated.metadata?.resourceVersion ?? d.metadata?.resourceVersion ?? '',
    }
  }

  /** The ReplicaSets' desired-replicas annotation lags the Deployment's replicas: it was resized. */
  #isScalingEvent(d: Readonly<Deployment>, rss: readonly ReplicaSet[]): boolean {
    const { newRS, oldRSs } = this.#split(d, rss)
    for (const rs of [...(newRS ? [newRS] : []), ...oldRSs]) {
      if (rsReplicas(rs) === 0) continue
      const desired = rs.metadata?.annotations?.[desiredReplicasAnnotation]
      if (desired !== undefined && Number(desired) !== replicasOf(d)) return true
    }
    return false
  }

  #split(
    d: Readonly<Deployment>,
    rss: readonly ReplicaSet[],
  ): { newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] } {
    const found = findNewReplicaSet(d, rss)
    const newRS = rss.find((rs) => rs === found)
    return { newRS, oldRSs: rss.filter((rs) => rs !== newRS) }
  }

  // --- strategies --------------------------------------------------------------------------------

  async #rolloutRolling(d: Deployment, rss: ReplicaSet[]): Promise<Requeue | undefined> {
    const { newRS, oldRSs } = await this.#newAndOld(d, rss, true)
    const all = newRS ? [...oldRSs, newRS] : oldRSs
    if (newRS) {
      // Scale the new ReplicaSet up (or down, if the Deployment shrank) within the surge.
      const target = rsReplicas(newRS) > replicasOf(d) ? replicasOf(d) : newRSNewReplicas(d, all, newRS)
      if (target !== rsReplicas(newRS)) {
        await this.#scale(d, newRS, target)
        return this.#syncRolloutStatus(d, all, newRS)
      }
    }
    const active = oldRSs.filter((rs) => rsReplicas(rs) > 0)
    if (active.length > 0) {
      const limit = maxScaledDown(d, all, newRS)
      if (limit > 0) {
        const cleanups = cleanupUnhealthy(active, limit)
        for (const s of cleanups) await this.#scale(d, s.rs, s.to)
        const downs = scaleDownOld(d, all, active)
        for (const s of downs) await this.#scale(d, s.rs, s.to)
        if (cleanups.length + downs.length > 0) return this.#syncRolloutStatus(d, all, newRS)
      }
    }
    if (isComplete(d, calculateStatus(d, all, newRS, this.#now()))) await this.#cleanup(d, oldRSs)
    return this.#syncRolloutStatus(d, all, newRS)
  }

  async #rolloutRecreate(d: Deployment, rss: ReplicaSet[]): Promise<Requeue | undefined> {
    let { newRS, oldRSs } = await this.#newAndOld(d, rss, false)
    let all = newRS ? [...oldRSs, newRS] : oldRSs
    const activeOld = oldRSs.filter((rs) => rsReplicas(rs) > 0)
    if (activeOld.length > 0) {
      for (const rs of activeOld) await this.#scale(d, rs, 0)
      return this.#syncRolloutStatus(d, all, newRS)
    }
    // Wait until no pod of an old ReplicaSet runs (Recreate guarantees no overlap).
    const oldUids = new Set(oldRSs.map((rs) => rs.metadata?.uid))
    const running = this.#o.pods.list(d.metadata?.namespace ?? '').some((p) => {
      const ref = controllerRef(p)
      return (
        ref !== undefined &&
        oldUids.has(ref.uid) &&
        p.status?.phase !== 'Succeeded' &&
        p.status?.phase !== 'Failed'
      )
    })
    if (running) return this.#syncRolloutStatus(d, all, newRS)
    if (!newRS) {
      ;({ newRS, oldRSs } = await this.#newAndOld(d, rss, true))
      all = newRS ? [...oldRSs, newRS] : oldRSs
    }
    if (newRS && rsReplicas(newRS) !== replicasOf(d)) {
      await this.#scale(d, newRS, replicasOf(d))
      return this.#syncRolloutStatus(d, all, newRS)
    }
    if (isComplete(d, calculateStatus(d, all, newRS, this.#now()))) await this.#cleanup(d, oldRSs)
    return this.#syncRolloutStatus(d, all, newRS)
  }

  /** Paused, or resized: scale what exists, proportionally; no new ReplicaSet. */
  async #sync(d: Deployment, rss: ReplicaSet[]): Promise<Requeue | undefined> {
    const { newRS, oldRSs } = await this.#newAndOld(d, rss, false)
    const all = newRS ? [...oldRSs, newRS] : oldRSs
    await this.#scaleAll(d, newRS, oldRSs)
    if (d.spec?.paused) await this.#cleanup(d, oldRSs)
    await this.#writeStatus(d, calculateStatus(d, all, newRS, this.#now()))
    return undefined
  }

  async #syncStatusOnly(d: Deployment, rss: ReplicaSet[]): Promise<Requeue | undefined> {
    const { newRS, oldRSs } = await this.#newAndOld(d, rss, false)
    const all = newRS ? [...oldRSs, newRS] : oldRSs
    await this.#writeStatus(d, calculateStatus(d, all, newRS, this.#now()))
    return undefined
  }

  async #scaleAll(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const all = newRS ? [newRS, ...oldRSs] : oldRSs
    const active = all.filter((rs) => rsReplicas(rs) > 0)
    // One active ReplicaSet (or none): it (or the newest) takes all the replicas.
    if (active.length <= 1) {
      const target = active[0] ?? newRS ?? sortByCreation(oldRSs).at(-1)
      if (target && rsReplicas(target) !== replicasOf(d)) await this.#scale(d, target, replicasOf(d))
      return
    }
    // The new ReplicaSet is saturated: the old ones can go.
    if (
      newRS &&
      rsReplicas(newRS) === replicasOf(d) &&
      (newRS.status?.availableReplicas ?? 0) === replicasOf(d)
    ) {
      for (const rs of oldRSs) if (rsReplicas(rs) > 0) await this.#scale(d, rs, 0)
      return
    }
    if (!isRollingUpdate(d)) return
    for (const s of proportionalScale(d, active)) await this.#scale(d, s.rs, s.to)
  }

  // --- ReplicaSets -------------------------------------------------------------------------------

  /**
   * The new ReplicaSet (its revision and annotations brought up to date, or made when `create`
   * and there is none) and the old ones (getAllReplicaSetsAndSyncRevision).
   */
  async #newAndOld(
    d: Deployment,
    rss: ReplicaSet[],
    create: boolean,
  ): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const { newRS: existing, oldRSs } = this.#split(d, rss)
    const revision = maxRevision(oldRSs) + 1
    let newRS = existing
    if (existing) newRS = await this.#syncNewReplicaSet(d, existing, revision)
    else if (create) newRS = await this.#createNewReplicaSet(d, oldRSs, revision)
    if (newRS) await this.#syncDeploymentRevision(d, revisionOf(newRS))
    return { newRS, oldRSs }
  }

  async #syncNewReplicaSet(d: Deployment, rs: ReplicaSet, revision: number): Promise<ReplicaSet> {
    const next = copyJson(rs)
    const annotations = { ...next.metadata?.annotations, ...copiedAnnotations(d) }
    const current = revisionOf(rs)
    if (current < revision) {
      annotations[revisionAnnotation] = String(revision)
      // A template used before (a rollback) keeps a record of the revisions it had.
      if (current > 0) {
        const history = annotations[revisionHistoryAnnotation]
        annotations[revisionHistoryAnnotation] = history ? `${history},${current}` : String(current)
      }
    }
    annotations[desiredReplicasAnnotation] = String(replicasOf(d))
    annotations[maxReplicasAnnotation] = String(replicasOf(d) + maxSurge(d))
    next.metadata = { ...next.metadata, annotations }
    const minReady = d.spec?.minReadySeconds ?? 0
    if ((next.spec?.minReadySeconds ?? 0) !== minReady && next.spec) next.spec.minReadySeconds = minReady
    if (deepEqual(next, rs)) return rs
    const updated = await this.#o.control.updateReplicaSet(next)
    if (current < revision) {
      await this.#markProgressing(
        d,
        reasonFoundNewReplicaSet,
        `Found new replica set "${rs.metadata?.name ?? ''}"`,
      )
    }
    return updated
  }

  async #createNewReplicaSet(
    d: Deployment,
    oldRSs: ReplicaSet[],
    revision: number,
  ): Promise<ReplicaSet | undefined> {
    const collisions = d.status?.collisionCount ?? 0
    const hash = templateHash(d.spec?.template, collisions)
    const template = copyJson(d.spec?.template ?? {})
    template.metadata = {
      ...template.metadata,
      labels: { ...template.metadata?.labels, [podTemplateHashLabel]: hash },
    }
    const selector = copyJson(d.spec?.selector ?? {})
    selector.matchLabels = { ...selector.matchLabels, [podTemplateHashLabel]: hash }
    const name = `${d.metadata?.name ?? ''}-${hash}`
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: d.metadata?.namespace ?? '',
        labels: template.metadata.labels ?? {},
        annotations: {
          ...copiedAnnotations(d),
          [revisionAnnotation]: String(revision),
          [desiredReplicasAnnotation]: String(replicasOf(d)),
          [maxReplicasAnnotation]: String(replicasOf(d) + maxSurge(d)),
        },
        ownerReferences: [controllerRefTo(d, 'apps/v1', 'Deployment')],
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    }
    if (rs.spec) rs.spec.replicas = newRSNewReplicas(d, oldRSs, rs)
    let created: ReplicaSet
    try {
      created = await this.#o.control.createReplicaSet(rs)
    } catch (err) {
      if (!isAlreadyExists(err)) throw err
      // The name is taken: by our own ReplicaSet of this template (the cache lagged), or by another
      // template whose hash collides, and then the next collision count makes another name.
      const taken = await this.#o.control.getReplicaSet(rs.metadata?.namespace ?? '', name)
      if (
        controllerRef(taken)?.uid === d.metadata?.uid &&
        equalIgnoreHash(taken.spec?.template, d.spec?.template)
      )
        return taken
      await this.#writeStatus(d, { ...copyJson(d.status ?? {}), collisionCount: collisions + 1 })
      throw new Error(
        `replica set name ${name} is taken by another template; retrying with collision count ${collisions + 1}`,
      )
    }
    if (rsReplicas(created) > 0) {
      this.#o.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${name} from 0 to ${rsReplicas(created)}`,
      )
    }
    await this.#markProgressing(d, reasonNewReplicaSetCreated, `Created new replica set "${name}"`)
    return created
  }

  /** Progressing True with this reason, for Deployments that have a progress deadline. */
  async #markProgressing(d: Deployment, reason: string, message: string): Promise<void> {
    if (!hasProgressDeadline(d)) return
    const status = copyJson(d.status ?? {})
    setCondition(status, makeCondition(conditionProgressing, 'True', reason, message, this.#now()))
    await this.#writeStatus(d, status)
  }

  /** The Deployment's revision annotation follows its new ReplicaSet's. */
  async #syncDeploymentRevision(d: Deployment, revision: number): Promise<void> {
    if (d.metadata?.annotations?.[revisionAnnotation] === String(revision)) return
    const next = copyJson(d)
    next.metadata = {
      ...next.metadata,
      annotations: { ...next.metadata?.annotations, [revisionAnnotation]: String(revision) },
    }
    const updated = await this.#o.control.updateDeployment(next)
    d.metadata = updated.metadata ?? next.metadata
  }

  /** Sets a ReplicaSet's replicas (and the annotations that say for which Deployment size). */
  async #scale(d: Readonly<Deployment>, rs: ReplicaSet, to: number): Promise<void> {
    const from = rsReplicas(rs)
    const next = copyJson(rs)
    next.spec = { ...(next.spec ?? { selector: {} }), replicas: to }
    next.metadata = {
      ...next.metadata,
      annotations: {
        ...next.metadata?.annotations,
        [desiredReplicasAnnotation]: String(replicasOf(d)),
        [maxReplicasAnnotation]: String(replicasOf(d) + maxSurge(d)),
      },
    }
    const updated = await this.#o.control.updateReplicaSet(next)
    Object.assign(rs, updated)
    if (from !== to) {
      this.#o.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata?.name ?? ''} from ${from} to ${to}`,
      )
    }
  }

  /** Old ReplicaSets with no pods left beyond revisionHistoryLimit go, oldest revision first. */
  async #cleanup(d: Readonly<Deployment>, oldRSs: readonly ReplicaSet[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10
    const empty = oldRSs
      .filter(
        (rs) => rsReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata?.deletionTimestamp,
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b) || (sortByCreation([a, b])[0] === a ? -1 : 1))
    for (const rs of empty.slice(0, Math.max(0, empty.length - limit))) {
      try {
        await this.#o.control.deleteReplicaSet(rs.metadata?.namespace ?? '', rs.metadata?.name ?? '')
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
    }
  }

  // --- status ----------------------------------------------------------------------------------

  /** Status with the Progressing condition (syncRolloutStatus); requeues for the progress deadline. */
  async #syncRolloutStatus(
    d: Deployment,
    all: readonly ReplicaSet[],
    newRS: ReplicaSet | undefined,
  ): Promise<Requeue | undefined> {
    const now = this.#o.clock.now()
    const stamp = this.#now()
    const status = calculateStatus(d, all, newRS, stamp)
    if (!hasProgressDeadline(d)) {
      removeCondition(status, conditionProgressing)
    } else {
      const current = condition(status, conditionProgressing)
      const done =
        status.replicas === status.updatedReplicas && current?.reason === reasonNewReplicaSetAvailable
      const pausedUnknown = current?.status === 'Unknown' && current.reason === reasonDeploymentPaused
      if (!done && !pausedUnknown) {
        const rsName = newRS?.metadata?.name ?? ''
        if (isComplete(d, status)) {
          setCondition(
            status,
            makeCondition(
              conditionProgressing,
              'True',
              reasonNewReplicaSetAvailable,
              `ReplicaSet "${rsName}" has successfully progressed.`,
              stamp,
            ),
          )
        } else if (isProgressing(d, status)) {
          // Still progressing: the condition's update time moves, its transition time stays.
          setCondition(
            status,
            makeCondition(
              conditionProgressing,
              'True',
              reasonReplicaSetUpdated,
              `ReplicaSet "${rsName}" is progressing.`,
              stamp,
            ),
            true,
          )
        } else if (hasTimedOut(d, status, now)) {
          setCondition(
            status,
            makeCondition(
              conditionProgressing,
              'False',
              reasonProgressDeadlineExceeded,
              `ReplicaSet "${rsName}" has timed out progressing.`,
              stamp,
            ),
          )
        }
      }
    }
    // A ReplicaSet that cannot create or delete pods makes the Deployment's ReplicaFailure.
    const failure = all
      .map((rs) => rs.status?.conditions?.find((c) => c.type === conditionReplicaFailure))
      .find(Boolean)
    if (failure)
      setCondition(
        status,
        makeCondition(
          conditionReplicaFailure,
          failure.status,
          failure.reason ?? '',
          failure.message ?? '',
          stamp,
        ),
      )
    else removeCondition(status, conditionReplicaFailure)
    await this.#writeStatus(d, status)
    // Look again when the progress deadline would pass, if the rollout is still under way.
    const deadline = d.spec?.progressDeadlineSeconds
    const c = condition(status, conditionProgressing)
    if (
      deadline !== undefined &&
      c?.status === 'True' &&
      c.reason !== reasonNewReplicaSetAvailable &&
      !isComplete(d, status)
    ) {
      const since = Date.parse(c.lastUpdateTime ?? '') || now
      return { afterMs: Math.max(1000, since + deadline * 1000 - now + 1000) }
    }
    return undefined
  }

  async #writeStatus(d: Deployment, status: DeploymentStatus): Promise<void> {
    if (deepEqual(status, d.status ?? {})) return
    try {
      const updated = await this.#o.control.updateDeploymentStatus({ ...d, status })
      d.status = updated.status ?? status
      d.metadata = updated.metadata ?? d.metadata
    } catch (err) {
      if (!isConflict(err)) throw err
      const fresh = await this.#o.control.getDeployment(d.metadata?.namespace ?? '', d.metadata?.name ?? '')
      const updated = await this.#o.control.updateDeploymentStatus({ ...fresh, status })
      d.status = updated.status ?? status
      d.metadata = updated.metadata ?? d.metadata
    }
  }

  #now(): string {
    return new Date(this.#o.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z')
  }
}

function hasProgressDeadline(d: Readonly<Deployment>): boolean {
  const s = d.spec?.progressDeadlineSeconds
  return s !== undefined && s < 2147483647
}

function selectorOf(d: Readonly<Deployment>): LabelSelector | undefined {
  try {
    return labelSelectorFromObject(d.spec?.selector)
  } catch {
    return undefined
  }
}

/** The writes, through the apiserver. */
export function apiDeploymentControl(
  deployments: ResourceClient<Deployment>,
  replicaSets: ResourceClient<ReplicaSet>,
): DeploymentControl {
  return {
    createReplicaSet: (rs) => replicaSets.create(rs),
    updateReplicaSet: (rs) => replicaSets.update(rs),
    deleteReplicaSet: async (ns, name) => {
      await replicaSets.delete(ns, name)
    },
    patchReplicaSet: async (ns, name, patch) => {
      await replicaSets.patch(ns, name, 'strategic', patch)
    },
    getReplicaSet: (ns, name) => replicaSets.get(ns, name),
    getDeployment: (ns, name) => deployments.get(ns, name),
    updateDeployment: (d) => deployments.update(d),
    updateDeploymentStatus: (d) => deployments.updateStatus(d),
  }
}

/** kube-controller-manager's --concurrent-deployment-syncs defaults to 5. */
export const deploymentController: ControllerDefinition = {
  name: 'deployment',
  eventSource: 'deployment-controller',
  serviceAccount: 'deployment-controller',
  setup(ctx) {
    const deployments = ctx.informers.informer<Deployment>(builtin('apps', 'v1', 'deployments'))
    const replicaSets = ctx.informers.informer<ReplicaSet>(builtin('apps', 'v1', 'replicasets'))
    const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
    const controller = new DeploymentController({
      deployments: deployments.lister,
      replicaSets: replicaSets.lister,
      pods: pods.lister,
      control: apiDeploymentControl(
        ctx.client<Deployment>(deployments.resource),
        ctx.client<ReplicaSet>(replicaSets.resource),
      ),
      recorder: ctx.recorder,
      clock: ctx.clock,
      log: ctx.log,
    })
    deployments.addHandler(controller.deploymentHandler())
    replicaSets.addHandler(controller.replicaSetHandler())
    pods.addHandler(controller.podHandler())
    return (signal) => runWorkers(controller.queue, controller, { workers: 5, signal, log: ctx.log })
  },
}
