import type { ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from '../../api/generated/types/apps-v1.ts'
import type { Pod, PodTemplateSpec, ReplicationController } from '../../api/generated/types/core-v1.ts'
import { copyJson, deepEqual } from '../../api/object.ts'
import {
  labelSelectorFromObject,
  LabelSelector,
  type Requirement,
} from '../../api/selectors/label-selector.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  builtin,
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
  type ResourceRef,
} from '../../client/index.ts'
import type { ControllerContext, ControllerDefinition, Recorder } from '../controller.ts'
import { Expectations, ownedPodHandler, ownerHandler } from '../expectations.ts'
import {
  adoptPatch,
  claim,
  controllerRef,
  controllerRefTo,
  indexByController,
  ownedOrOrphaned,
  releasePatch,
} from '../owner-refs.ts'
import { compareForDeletion, isPodActive, isPodAvailable, isPodReady } from '../pod-state.ts'

/**
 * The ReplicaSet controller (and, with another kind, the ReplicationController manager):
 * keeps `spec.replicas` pods of the template running, as Kubernetes' replica_set.go does.
 *
 * - Pods are the owner's when their controller ownerReference names its uid; orphans its selector
 *   matches are adopted, owned pods it no longer matches are released.
 * - Missing pods are created in slow-start batches (1, 2, 4, ...), at most 500 per sync; surplus
 *   pods are deleted in compareForDeletion's order (unscheduled, pending, not ready, newest first).
 * - Expectations: after creating or deleting, the controller does not act on the owner again
 *   until its informer has seen those changes, so a stale cache never doubles them.
 * - Status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (ready for
 *   minReadySeconds), observedGeneration, and the ReplicaFailure condition while creating or
 *   deleting fails.
 */

/** Both kinds the controller manages, as far as it needs to know them. */
type ReplicaOwner = ReplicaSet | ReplicationController

export interface ReplicaOwnerKind {
  readonly ref: ResourceRef
  readonly apiVersion: string
  /** The selector, which for a ReplicationController is a plain map. */
  selector(owner: Readonly<ReplicaOwner>): LabelSelector
}

export const replicaSetKind: ReplicaOwnerKind = {
  ref: builtin('apps', 'v1', 'replicasets'),
  apiVersion: 'apps/v1',
  selector: (o) => labelSelectorFromObject((o as ReplicaSet).spec?.selector),
}

export const replicationControllerKind: ReplicaOwnerKind = {
  ref: builtin('', 'v1', 'replicationcontrollers'),
  apiVersion: 'v1',
  selector: (o) => {
    const m = (o as ReplicationController).spec?.selector ?? {}
    const reqs: Requirement[] = Object.entries(m).map(([key, v]) => ({ key, operator: '=', values: [v] }))
    // An empty map selects nothing here (the apiserver defaults it from the template's labels).
    return reqs.length === 0
      ? new LabelSelector([{ key: '', operator: 'in', values: [] }])
      : new LabelSelector(reqs)
  },
}

/** The writes of the controller: the apiserver in production, a recording fake in tests. */
export interface ReplicaControl {
  createPod(namespace: string, pod: Pod): Promise<Pod>
  deletePod(namespace: string, name: string): Promise<void>
  patchPod(namespace: string, name: string, patch: unknown): Promise<void>
  /** A fresh read of the owner (adoption must not trust a cache). */
  getOwner(namespace: string, name: string): Promise<ReplicaOwner>
  updateStatus(owner: ReplicaOwner): Promise<ReplicaOwner>
}

export interface ReplicaSetControllerOptions {
  kind: ReplicaOwnerKind
  owners: Lister<ReplicaOwner>
  pods: Lister<Pod>
  control: ReplicaControl
  recorder: Recorder
  clock: Clock
  log?: Logger
  /** Most pods created or deleted in one sync (kube-controller-manager's burstReplicas). */
  burstReplicas?: number
}

export class ReplicaSetController implements Reconciler {
  readonly queue: WorkQueue
  readonly expectations: Expectations
  readonly #o: ReplicaSetControllerOptions
  readonly #burst: number

  constructor(o: ReplicaSetControllerOptions, queue?: WorkQueue) {
    this.#o = o
    this.#burst = o.burstReplicas ?? 500
    this.queue = queue ?? new WorkQueue({ clock: o.clock })
    this.expectations = new Expectations(o.clock)
  }

  // --- events to keys --------------------------------------------------------------------------

  /** Handlers for the owners' informer. */
  ownerHandler(): EventHandler<ReplicaOwner> {
    return ownerHandler(this.queue, this.expectations)
  }

  /** Handlers for the pods' informer. */
  podHandler(): EventHandler<Pod> {
    return ownedPodHandler({
      queue: this.queue,
      expectations: this.expectations,
      ownerOf: (pod) => this.#ownerOf(pod),
      matchingOwners: (pod) => this.#matchingOwners(pod),
      minReadySeconds: (key) => {
        const { namespace, name } = splitKey(key)
        return this.#o.owners.get(namespace, name)?.spec?.minReadySeconds ?? 0
      },
    })
  }

  /** The key of the owner of our kind that controls the pod, if it is in the cache. */
  #ownerOf(pod: Readonly<Pod>): string | undefined {
    const ref = controllerRef(pod)
    if (!ref || ref.kind !== this.#o.kind.ref.kind) return undefined
    const ns = pod.metadata?.namespace ?? ''
    const owner = this.#o.owners.get(ns, ref.name)
    return owner?.metadata?.uid === ref.uid ? objectKey(owner) : undefined
  }

  #matchingOwners(pod: Readonly<Pod>): string[] {
    const labels = pod.metadata?.labels ?? {}
    return this.#o.owners
      .list(pod.metadata?.namespace ?? '')
      .filter((o) => safeSelector(this.#o.kind, o)?.matches(labels))
      .map((o) => objectKey(o))
  }

  // --- reconcile -------------------------------------------------------------------------------

  async reconcile(key: string): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const owner = this.#o.owners.get(namespace, name)
    if (!owner) {
      this.expectations.delete(key)
      return undefined
    }
    const selector = safeSelector(this.#o.kind, owner)
    if (!selector) throw new TerminalError(`${key} has an invalid selector`)
    const needsSync = this.expectations.satisfied(key)
    const active = ownedOrOrphaned(this.#o.pods, owner).filter(isPodActive)
    const pods = await claim<Pod>(owner, selector, active, {
      adopt: (pod) => this.#adopt(owner, pod),
      release: (pod) => this.#patchIgnoringGone(pod, releasePatch(pod, owner.metadata?.uid ?? '')),
    })
    let failure: { reason: 'FailedCreate' | 'FailedDelete'; error: Error } | undefined
    if (needsSync && !owner.metadata?.deletionTimestamp) failure = await this.#manage(key, owner, pods)
    const now = this.#o.clock.now()
    const status = computeStatus(owner, pods, failure, now)
    let updated = owner
    if (!deepEqual(status, owner.status ?? {})) {
      try {
        updated = await this.#updateStatus(owner, status)
      } catch (err) {
        // Deleted meanwhile: its informer's delete event ends the story.
        if (isNotFound(err)) return undefined
        throw err
      }
    }
    if (failure) throw failure.error
    // Pods ready but not yet available: look again when they will be.
    const minReady = owner.spec?.minReadySeconds ?? 0
    const s = updated.status
    if (minReady > 0 && (s?.readyReplicas ?? 0) > (s?.availableReplicas ?? 0))
      return { afterMs: minReady * 1000 }
    return undefined
  }

  /** Creates or deletes pods to meet spec.replicas; returns what failed, if anything did. */
  async #manage(
    key: string,
    owner: Readonly<ReplicaOwner>,
    pods: readonly Readonly<Pod>[],
  ): Promise<{ reason: 'FailedCreate' | 'FailedDelete'; error: Error } | undefined> {
    const want = owner.spec?.replicas ?? 1
    const diff = pods.length - want
    if (diff < 0) {
      const n = Math.min(-diff, this.#burst)
      this.expectations.expect(key, n)
      const template = owner.spec?.template
      let error: Error | undefined
      let made = 0
      // Slow start: batches of 1, 2, 4, ... so that a failing create (a quota, a webhook) fails
      // once rather than five hundred times.
      for (let batch = 1; made < n && !error; batch *= 2) {
        const size = Math.min(batch, n - made)
        const results = await Promise.allSettled(
          Array.from({ length: size }, () => this.#createPod(owner, template)),
        )
        made += size
        for (const r of results) {
          if (r.status === 'fulfilled') continue
          this.expectations.creationObserved(key)
          error ??= r.reason as Error
        }
      }
      // Creations never attempted will never be observed.
      for (let i = made; i < n; i++) this.expectations.creationObserved(key)
      return error ? { reason: 'FailedCreate', error } : undefined
    }
    if (diff > 0) {
      const victims = [...pods].sort(compareForDeletion).slice(0, Math.min(diff, this.#burst))
      this.expectations.expect(
        key,
        0,
        victims.map((p) => objectKey(p)),
      )
      let error: Error | undefined
      await Promise.all(
        victims.map(async (pod) => {
          const podName = pod.metadata?.name ?? ''
          try {
            await this.#o.control.deletePod(pod.metadata?.namespace ?? '', podName)
            this.#o.recorder.event(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${podName}`)
          } catch (err) {
            this.expectations.deletionObserved(key, objectKey(pod))
            if (isNotFound(err)) return
            error ??= err as Error
            this.#o.recorder.event(
              owner,
              'Warning',
              'FailedDelete',
              `Error deleting: ${(err as Error).message}`,
            )
          }
        }),
      )
      return error ? { reason: 'FailedDelete', error } : undefined
    }
    return undefined
  }

  async #createPod(owner: Readonly<ReplicaOwner>, template: PodTemplateSpec | undefined): Promise<void> {
    const namespace = owner.metadata?.namespace ?? ''
    const pod = podFromTemplate(
      owner,
      template,
      controllerRefTo(owner, this.#o.kind.apiVersion, this.#o.kind.ref.kind),
    )
    try {
      const created = await this.#o.control.createPod(namespace, pod)
      this.#o.recorder.event(
        owner,
        'Normal',
        'SuccessfulCreate',
        `Created pod: ${created.metadata?.name ?? ''}`,
      )
    } catch (err) {
      this.#o.recorder.event(owner, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`)
      throw err
    }
  }

  async #adopt(owner: Readonly<ReplicaOwner>, pod: Readonly<Pod>): Promise<boolean> {
    // Adopt only for an owner that is really there and not being deleted (a fresh read).
    const fresh = await this.#o.control.getOwner(owner.metadata?.namespace ?? '', owner.metadata?.name ?? '')
    if (fresh.metadata?.uid !== owner.metadata?.uid || fresh.metadata?.deletionTimestamp) return false
    return this.#patchIgnoringGone(
      pod,
      adoptPatch(pod, controllerRefTo(owner, this.#o.kind.apiVersion, this.#o.kind.ref.kind)),
    )
  }

  async #patchIgnoringGone(pod: Readonly<Pod>, patch: unknown): Promise<boolean> {
    try {
      await this.#o.control.patchPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', patch)
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  /** Writes the status, trying once more on a newer copy when the cached one was stale. */
  async #updateStatus(owner: Readonly<ReplicaOwner>, status: ReplicaSetStatus): Promise<ReplicaOwner> {
    try {
      return await this.#o.control.updateStatus({ ...owner, status })
    } catch (err) {
      if (!isConflict(err)) throw err
      const fresh = await this.#o.control.getOwner(
        owner.metadata?.namespace ?? '',
        owner.metadata?.name ?? '',
      )
      return await this.#o.control.updateStatus({ ...fresh, status })
    }
  }
}

function safeSelector(kind: ReplicaOwnerKind, owner: Readonly<ReplicaOwner>): LabelSelector | undefined {
  try {
    return kind.selector(owner)
  } catch {
    return undefined
  }
}

/** A pod of the owner's template (Kubernetes' GetPodFromTemplate). */
export function podFromTemplate(
  owner: Readonly<ReplicaOwner>,
  template: PodTemplateSpec | undefined,
  ref: ReturnType<typeof controllerRefTo>,
): Pod {
  const t = copyJson(template ?? {})
  const m = t.metadata ?? {}
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${owner.metadata?.name ?? ''}-`,
      namespace: owner.metadata?.namespace ?? '',
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
      ...(m.finalizers ? { finalizers: m.finalizers } : {}),
      ownerReferences: [ref],
    },
    spec: t.spec ?? { containers: [] },
  }
}

/** The status the owner's pods give it now (Kubernetes' calculateStatus). */
export function computeStatus(
  owner: Readonly<ReplicaOwner>,
  pods: readonly Readonly<Pod>[],
  failure: { reason: string; error: Error } | undefined,
  now: number,
): ReplicaSetStatus {
  const templateLabels = owner.spec?.template?.metadata?.labels ?? {}
  const minReady = owner.spec?.minReadySeconds ?? 0
  const fullyLabeled = pods.filter((p) =>
    Object.entries(templateLabels).every(([k, v]) => p.metadata?.labels?.[k] === v),
  ).length
  const conditions = (owner.status?.conditions ?? []).filter((c) => c.type !== 'ReplicaFailure')
  const existing = owner.status?.conditions?.find((c) => c.type === 'ReplicaFailure')
  if (failure) {
    const message = failure.error.message
    conditions.push(
      existing && existing.reason === failure.reason && existing.message === message
        ? existing
        : ({
            type: 'ReplicaFailure',
            status: 'True',
            reason: failure.reason,
            message,
            lastTransitionTime: new Date(now).toISOString().replace(/\.\d+Z$/, 'Z'),
          } satisfies ReplicaSetCondition),
    )
  }
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: pods.filter(isPodReady).length,
    availableReplicas: pods.filter((p) => isPodAvailable(p, minReady, now)).length,
  }
  const generation = owner.metadata?.generation
  if (generation !== undefined) status.observedGeneration = generation
  if (conditions.length > 0) status.conditions = conditions
  return status
}

/** The writes, through the apiserver. */
export function apiReplicaControl(
  pods: ResourceClient<Pod>,
  owners: ResourceClient<ReplicaOwner>,
): ReplicaControl {
  return {
    createPod: (_ns, pod) => pods.create(pod),
    deletePod: async (ns, name) => {
      await pods.delete(ns, name)
    },
    patchPod: async (ns, name, patch) => {
      await pods.patch(ns, name, 'strategic', patch)
    },
    getOwner: (ns, name) => owners.get(ns, name),
    updateStatus: (owner) => owners.updateStatus(owner),
  }
}

/** The controller as the controller-manager runs it, for either kind. */
function definition(
  name: string,
  eventSource: string,
  kind: ReplicaOwnerKind,
  workers: number,
): ControllerDefinition {
  return {
    name,
    eventSource,
    // Upstream names both the events' source and the service account replicaset-controller
    // (replication-controller).
    serviceAccount: eventSource,
    setup(ctx: ControllerContext) {
      const owners = ctx.informers.informer<ReplicaOwner>(kind.ref)
      const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
      indexByController(pods)
      const controller = new ReplicaSetController({
        kind,
        owners: owners.lister,
        pods: pods.lister,
        control: apiReplicaControl(ctx.client<Pod>(pods.resource), ctx.client<ReplicaOwner>(kind.ref)),
        recorder: ctx.recorder,
        clock: ctx.clock,
        log: ctx.log,
      })
      owners.addHandler(controller.ownerHandler())
      pods.addHandler(controller.podHandler())
      return (signal) => runWorkers(controller.queue, controller, { workers, signal, log: ctx.log })
    },
  }
}

/** kube-controller-manager's --concurrent-replicaset-syncs and --concurrent-rc-syncs default to 5. */
export const replicaSetController = definition('replicaset', 'replicaset-controller', replicaSetKind, 5)
export const replicationController = definition(
  'replicationcontroller',
  'replication-controller',
  replicationControllerKind,
  5,
)
