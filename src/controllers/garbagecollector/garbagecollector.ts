import type { OwnerReference } from '../../api/generated/types/meta-v1.ts'
import { deepEqual, parseApiVersion } from '../../api/object.ts'
import { builtinResources, resourceForKind, type ResourceInfo } from '../../api/resources.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  isConflict,
  isNotFound,
  runWorkers,
  WorkQueue,
  type EventHandler,
  type ObjectLike,
  type Reconciler,
  type Requeue,
  type ResourceClient,
  type ResourceRef,
} from '../../client/index.ts'
import type { ControllerContext, ControllerDefinition, Recorder } from '../controller.ts'
import {
  foregroundDeletionFinalizer,
  orphanFinalizer,
  OwnershipGraph,
  type GraphNode,
  type ObjectIdentity,
} from './graph.ts'

/**
 * The garbage collector (Kubernetes' pkg/controller/garbagecollector): deletes objects whose
 * owners are gone, and carries out the foreground and orphan deletion an owner's finalizers ask
 * for.
 *
 * It watches every built-in resource it can list, watch and delete, and keeps an
 * {@link OwnershipGraph} of them. The apiserver marks the deletion mode on the owner:
 *
 *   DELETE ?propagationPolicy=   the apiserver                 then the garbage collector
 *   Background (kubectl default) deletes the owner at once     deletes the dependents
 *   Foreground                   deletionTimestamp +           deletes the dependents; once none with
 *                                foregroundDeletion finalizer  blockOwnerDeletion is left, removes the
 *                                                              finalizer, and the owner goes
 *   Orphan                       deletionTimestamp +           removes the owner's ownerReference from
 *                                orphan finalizer              every dependent, then the finalizer
 *
 * Judgements are made on live reads, never on the informers' caches alone: an owner counts as gone
 * only when a GET by the reference's name finds nothing or another uid, and an object is deleted
 * with its uid and resourceVersion as preconditions, so it is never deleted for a state it has
 * left.
 *
 * Kubernetes runs two queues (attemptToDelete, attemptToOrphan); here one queue of uids does both:
 * what to do with an object follows from its node's state.
 */

/**
 * Resources the collector never watches (Kubernetes' DefaultIgnoredResources): events are many,
 * short-lived, and own nothing.
 */
export const ignoredResources: readonly { group: string; resource: string }[] = [
  { group: '', resource: 'events' },
  { group: 'events.k8s.io', resource: 'events' },
]

/** The Warning a cluster-scoped object gets for naming a namespaced owner (which it cannot have). */
export const ownerRefInvalidNamespace = 'OwnerRefInvalidNamespace'

/**
 * The resources the collector watches: every one that can be listed, watched and deleted, except
 * the ignored ones, and one per storage (autoscaling/v1 and v2 HorizontalPodAutoscalers are the same
 * objects), in the storage version.
 */
export function monitoredResources(resources: readonly ResourceInfo[] = builtinResources): ResourceRef[] {
  const byStorage = new Map<string, ResourceInfo>()
  for (const r of resources) {
    if (!['list', 'watch', 'delete'].every((v) => r.verbs.includes(v))) continue
    const s = r.storage
    if (ignoredResources.some((i) => i.group === s.group && i.resource === s.resource)) continue
    const key = `${s.group}/${s.resource}`
    const seen = byStorage.get(key)
    if (!seen || (r.group === s.group && r.version === s.version)) byStorage.set(key, r)
  }
  return [...byStorage.values()].map(refOf)
}

/** The resource whose objects an ownerReference's apiVersion and kind name, if it is built in. */
export function resourceFor(apiVersion: string, kind: string): ResourceRef | undefined {
  const { group, version } = parseApiVersion(apiVersion)
  const r = resourceForKind(group, version, kind)
  return r && r.verbs.includes('get') ? refOf(r) : undefined
}

function refOf(r: ResourceInfo): ResourceRef {
  return { group: r.group, version: r.version, resource: r.resource, kind: r.kind, namespaced: r.namespaced }
}

export type DeletionPropagation = 'Orphan' | 'Background' | 'Foreground'

/** One object, as the apiserver's URLs name it. */
export interface ObjectTarget {
  readonly resource: ResourceRef
  /** '' for cluster-scoped objects. */
  readonly namespace: string
  readonly name: string
}

/**
 * The collector's reads and writes: the apiserver in production, a recording fake in tests.
 * Failures are thrown as the apiserver's Status errors (isNotFound, isConflict, ...).
 */
export interface GarbageCollectorControl {
  /** A live read (never a cache); undefined when there is no such object. */
  get(target: ObjectTarget): Promise<ObjectLike | undefined>
  delete(
    target: ObjectTarget,
    options: {
      preconditions: { uid: string; resourceVersion?: string }
      propagationPolicy: DeletionPropagation
    },
  ): Promise<void>
  patch(target: ObjectTarget, type: 'strategic' | 'merge', patch: unknown): Promise<void>
}

export interface GarbageCollectorOptions {
  control: GarbageCollectorControl
  recorder: Recorder
  clock: Clock
  log?: Logger
}

export class GarbageCollector implements Reconciler {
  readonly graph: OwnershipGraph
  readonly queue: WorkQueue
  readonly #o: GarbageCollectorOptions
  readonly #absent = new AbsentOwners(absentOwnerCacheSize)
  /** How often each virtual node was found to exist without an informer showing it. */
  readonly #virtualPolls = new Map<string, number>()

  constructor(o: GarbageCollectorOptions, queue?: WorkQueue) {
    this.#o = o
    this.queue = queue ?? new WorkQueue({ clock: o.clock })
    this.graph = new OwnershipGraph({ isNamespaced: (v, k) => resourceFor(v, k)?.namespaced })
  }

  // --- events to keys --------------------------------------------------------------------------

  /** Handlers for the informer of every monitored resource: the graph changes, uids are queued. */
  handler(): EventHandler<ObjectLike> {
    return {
      add: (obj) => this.#enqueue(this.graph.observe(obj)),
      update: (old, obj) => {
        if (old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return
        this.#enqueue(this.graph.observe(obj))
      },
      delete: (obj) => {
        const node = this.graph.get(obj.metadata?.uid ?? '')
        // Its dependents will ask after it by name: spare them the reads.
        if (node && node.dependents.size > 0) this.#absent.add(node.identity)
        this.#enqueue(this.graph.observeDeletion(obj))
      },
    }
  }

  #enqueue(uids: readonly string[]): void {
    for (const uid of uids) this.queue.add(uid)
  }

  // --- reconcile -------------------------------------------------------------------------------

  /** Looks at one object of the graph, by uid. */
  async reconcile(uid: string): Promise<Requeue | undefined> {
    const node = this.graph.get(uid)
    if (!node) {
      this.#virtualPolls.delete(uid)
      return undefined
    }
    if (node.orphaningDependents) {
      await this.#orphanDependents(node)
      return undefined
    }
    // Being deleted is a one-way trip: its dependents are looked at when it is gone.
    if (node.beingDeleted && !node.deletingDependents) return undefined
    const target = targetOf(node.identity)
    // An owner of a kind we cannot read: its dependents keep their references to it.
    if (!target) return undefined
    const latest = await this.#o.control.get(target)
    if (!latest || latest.metadata?.uid !== uid) {
      this.#absent.add(node.identity)
      this.#virtualPolls.delete(uid)
      this.#enqueue(this.graph.verifiedAbsent(node.identity))
      return undefined
    }
    if (node.deletingDependents) {
      await this.#deleteDependents(node, target)
    } else if (!isBeingDeleted(latest)) {
      await this.#collectIfOrphaned(node, target, latest)
    }
    return this.#pollVirtual(uid)
  }

  /**
   * A virtual node whose object exists: the informer will show it soon (or, for a resource no
   * informer watches, never); look again with growing pauses until it does.
   */
  #pollVirtual(uid: string): Requeue | undefined {
    if (!this.graph.get(uid)?.virtual) {
      this.#virtualPolls.delete(uid)
      return undefined
    }
    const n = this.#virtualPolls.get(uid) ?? 0
    this.#virtualPolls.set(uid, n + 1)
    return { afterMs: Math.min(virtualPollMaxMs, virtualPollBaseMs * 2 ** n) }
  }

  /**
   * Kubernetes' attemptToDeleteItem for an object not being deleted: with a solid owner it stays
   * (losing its references to gone owners, and to owners waiting for it in foreground deletion);
   * without one it is deleted, in the foreground when an owner waits for it and it has dependents
   * of its own.
   */
  async #collectIfOrphaned(node: GraphNode, target: ObjectTarget, latest: ObjectLike): Promise<void> {
    const refs = latest.metadata?.ownerReferences ?? []
    if (refs.length === 0) return
    const owners = await this.#classifyOwners(node, refs)
    if (!owners) return
    const { solid, dangling, waiting } = owners
    if (solid.length > 0) {
      const drop = [...dangling, ...waiting]
      if (drop.length === 0) return
      this.#o.log?.debug(
        { object: describe(node.identity), owners: drop.map((r) => r.uid) },
        'removing owner references',
      )
      await this.#o.control.patch(target, 'strategic', removeOwnerReferencesPatch(node.identity.uid, drop))
      return
    }
    if (waiting.length > 0 && node.dependents.size > 0) {
      // An owner and a dependent both waiting in foreground deletion may wait for each other:
      // this object stops blocking its owners, and then goes in the foreground.
      if ([...node.dependents].some((d) => d.deletingDependents)) {
        await this.#o.control.patch(target, 'strategic', unblockOwnerReferencesPatch(node.identity.uid, refs))
      }
      await this.#deleteObject(node, target, latest, 'Foreground')
      return
    }
    const finalizers = latest.metadata?.finalizers ?? []
    // A deletion mode the object already asks for is kept.
    const policy: DeletionPropagation = finalizers.includes(orphanFinalizer)
      ? 'Orphan'
      : finalizers.includes(foregroundDeletionFinalizer)
        ? 'Foreground'
        : 'Background'
    await this.#deleteObject(node, target, latest, policy)
  }

  /**
   * Sorts an object's owners by a live read of each (Kubernetes' classifyReferences): dangling
   * (gone, or another uid under that name), waiting (being deleted in the foreground), or solid.
   * Undefined when a reference can never be valid: a cluster-scoped object with a namespaced owner.
   */
  async #classifyOwners(
    node: GraphNode,
    refs: readonly Readonly<OwnerReference>[],
  ): Promise<{ solid: OwnerReference[]; dangling: OwnerReference[]; waiting: OwnerReference[] } | undefined> {
    const solid: OwnerReference[] = []
    const dangling: OwnerReference[] = []
    const waiting: OwnerReference[] = []
    for (const ref of refs) {
      const resource = resourceFor(ref.apiVersion, ref.kind)
      if (!resource) {
        // A kind we cannot read: never judged gone.
        solid.push(ref)
        continue
      }
      if (resource.namespaced && node.identity.namespace === '') {
        this.#o.recorder.event(
          objectOf(node.identity),
          'Warning',
          ownerRefInvalidNamespace,
          `ownerRef [${ref.apiVersion}/${ref.kind}, namespace: , name: ${ref.name}, uid: ${ref.uid}] does not exist in namespace ""`,
        )
        return undefined
      }
      const identity: ObjectIdentity = {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        namespace: resource.namespaced ? node.identity.namespace : '',
        name: ref.name,
        uid: ref.uid,
      }
      if (this.#absent.has(identity)) {
        dangling.push(ref)
        continue
      }
      const owner = await this.#o.control.get({ resource, namespace: identity.namespace, name: ref.name })
      if (!owner || owner.metadata?.uid !== ref.uid) {
        this.#absent.add(identity)
        dangling.push(ref)
      } else if (isBeingDeleted(owner) && owner.metadata?.finalizers?.includes(foregroundDeletionFinalizer)) {
        waiting.push(ref)
      } else {
        solid.push(ref)
      }
    }
    return { solid, dangling, waiting }
  }

  /**
   * DELETE with the uid and resourceVersion the decision was made on. When the resourceVersion
   * moved on but the ownerReferences did not, the decision stands and the delete is repeated
   * with the uid alone; otherwise the object is looked at again.
   */
  async #deleteObject(
    node: GraphNode,
    target: ObjectTarget,
    latest: ObjectLike,
    propagationPolicy: DeletionPropagation,
  ): Promise<void> {
    const uid = node.identity.uid
    this.#o.log?.debug({ object: describe(node.identity), propagationPolicy }, 'deleting')
    const rv = latest.metadata?.resourceVersion
    try {
      await this.#o.control.delete(target, {
        preconditions: { uid, ...(rv ? { resourceVersion: rv } : {}) },
        propagationPolicy,
      })
      return
    } catch (err) {
      if (isNotFound(err)) return
      if (!isConflict(err)) throw err
    }
    const now = await this.#o.control.get(target)
    if (!now || now.metadata?.uid !== uid) return
    if (!deepEqual(now.metadata.ownerReferences ?? [], latest.metadata?.ownerReferences ?? [])) {
      this.queue.add(uid)
      return
    }
    try {
      await this.#o.control.delete(target, { preconditions: { uid }, propagationPolicy })
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
  }

  /**
   * An owner in foreground deletion (Kubernetes' processDeletingDependentsItem): once no dependent
   * blocks it, its foregroundDeletion finalizer goes; until then the blocking dependents are
   * looked at (they are deleted, or lose their reference to it when another owner keeps them).
   */
  async #deleteDependents(node: GraphNode, target: ObjectTarget): Promise<void> {
    const blocking = this.graph.blockingDependents(node)
    if (blocking.length === 0) {
      await this.#removeFinalizer(node, target, foregroundDeletionFinalizer)
      return
    }
    for (const d of blocking) if (!d.deletingDependents) this.queue.add(d.identity.uid)
  }

  /** An owner deleted with the orphan finalizer: its dependents lose their references to it, then the finalizer goes. */
  async #orphanDependents(node: GraphNode): Promise<void> {
    const target = targetOf(node.identity)
    if (!target) return
    const owner = node.identity.uid
    const failures: unknown[] = []
    await Promise.all(
      [...node.dependents].map(async (d) => {
        const t = targetOf(d.identity)
        if (!t) return
        try {
          await this.#o.control.patch(
            t,
            'strategic',
            removeOwnerReferencesPatch(d.identity.uid, [{ uid: owner }]),
          )
        } catch (err) {
          // Gone, or a namesake with another uid (the patch's uid refused it): nothing to orphan.
          if (!(await this.#isGone(t, d.identity.uid))) failures.push(err)
        }
      }),
    )
    if (failures.length > 0) throw failures[0]
    await this.#removeFinalizer(node, target, orphanFinalizer)
  }

  /** Whether a live read finds no object, or one with another uid; a failed read says no. */
  async #isGone(target: ObjectTarget, uid: string): Promise<boolean> {
    try {
      return (await this.#o.control.get(target))?.metadata?.uid !== uid
    } catch {
      return false
    }
  }

  /** Removes a finalizer from a fresh copy, again on a newer one after a conflict. */
  async #removeFinalizer(node: GraphNode, target: ObjectTarget, finalizer: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const obj = await this.#o.control.get(target)
      if (!obj || obj.metadata?.uid !== node.identity.uid) return
      const finalizers = obj.metadata.finalizers ?? []
      if (!finalizers.includes(finalizer)) return
      this.#o.log?.debug({ object: describe(node.identity), finalizer }, 'removing finalizer')
      try {
        await this.#o.control.patch(target, 'merge', {
          metadata: {
            finalizers: finalizers.filter((f) => f !== finalizer),
            resourceVersion: obj.metadata.resourceVersion,
          },
        })
        return
      } catch (err) {
        if (isNotFound(err)) return
        if (!isConflict(err) || attempt >= 4) throw err
      }
    }
  }
}

function isBeingDeleted(obj: ObjectLike): boolean {
  return obj.metadata?.deletionTimestamp !== undefined
}

/** The URL coordinates of an identity, for a kind we know. */
function targetOf(identity: ObjectIdentity): ObjectTarget | undefined {
  const resource = resourceFor(identity.apiVersion, identity.kind)
  if (!resource) return undefined
  return { resource, namespace: resource.namespaced ? identity.namespace : '', name: identity.name }
}

function objectOf(identity: ObjectIdentity): ObjectLike {
  return {
    apiVersion: identity.apiVersion,
    kind: identity.kind,
    metadata: {
      name: identity.name,
      uid: identity.uid,
      ...(identity.namespace ? { namespace: identity.namespace } : {}),
    },
  }
}

function describe(identity: ObjectIdentity): string {
  const where = identity.namespace ? `${identity.namespace}/${identity.name}` : identity.name
  return `${identity.kind} ${where} (${identity.uid})`
}

/**
 * A strategic merge patch that removes the ownerReferences to the given owners (ownerReferences
 * merge by uid); the object's uid makes it fail on a namesake.
 */
export function removeOwnerReferencesPatch(uid: string, owners: readonly { uid: string }[]): unknown {
  return { metadata: { ownerReferences: owners.map((o) => ({ $patch: 'delete', uid: o.uid })), uid } }
}

/** A strategic merge patch that sets blockOwnerDeletion false on every reference that has it true. */
export function unblockOwnerReferencesPatch(uid: string, refs: readonly Readonly<OwnerReference>[]): unknown {
  return {
    metadata: {
      ownerReferences: refs
        .filter((r) => r.blockOwnerDeletion === true)
        .map((r) => ({ uid: r.uid, blockOwnerDeletion: false })),
      uid,
    },
  }
}

/**
 * Owners a live read found absent, so that their other dependents need not read them again
 * (Kubernetes' absentOwnerCache); the oldest are forgotten first. uids are never reused, so an
 * entry never turns wrong.
 */
class AbsentOwners {
  readonly #keys = new Set<string>()
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  add(identity: ObjectIdentity): void {
    const key = absentKey(identity)
    this.#keys.delete(key)
    this.#keys.add(key)
    if (this.#keys.size > this.#max) {
      const oldest = this.#keys.values().next()
      if (!oldest.done) this.#keys.delete(oldest.value)
    }
  }

  has(identity: ObjectIdentity): boolean {
    return this.#keys.has(absentKey(identity))
  }
}

function absentKey(i: ObjectIdentity): string {
  return [parseApiVersion(i.apiVersion).group, i.kind, i.namespace, i.name, i.uid].join('\0')
}

/** Kubernetes' absentOwnerCache holds 500 owners. */
const absentOwnerCacheSize = 500
const virtualPollBaseMs = 1000
const virtualPollMaxMs = 5 * 60_000

/** The reads and writes, through the apiserver. */
export function apiGarbageCollectorControl(
  client: (ref: ResourceRef) => ResourceClient<ObjectLike>,
): GarbageCollectorControl {
  return {
    get: async (t) => {
      try {
        return await client(t.resource).get(t.namespace, t.name)
      } catch (err) {
        if (isNotFound(err)) return undefined
        throw err
      }
    },
    delete: async (t, o) => {
      await client(t.resource).delete(t.namespace, t.name, o)
    },
    patch: async (t, type, patch) => {
      await client(t.resource).patch(t.namespace, t.name, type, patch)
    },
  }
}

/** kube-controller-manager's --concurrent-gc-syncs defaults to 20. */
const workers = 20

export const garbageCollectorController: ControllerDefinition = {
  name: 'garbagecollector',
  eventSource: 'garbage-collector-controller',
  serviceAccount: 'generic-garbage-collector',
  setup(ctx: ControllerContext) {
    const collector = new GarbageCollector({
      control: apiGarbageCollectorControl((ref) => ctx.client<ObjectLike>(ref)),
      recorder: ctx.recorder,
      clock: ctx.clock,
      log: ctx.log,
    })
    for (const ref of monitoredResources()) {
      ctx.informers.informer<ObjectLike>(ref).addHandler(collector.handler())
    }
    return (signal) => runWorkers(collector.queue, collector, { workers, signal, log: ctx.log })
  },
}
