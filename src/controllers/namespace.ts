import type { Namespace, NamespaceCondition, Pod } from '../api/generated/types/core-v1.ts'
import { builtinResources, type ResourceInfo } from '../api/resources.ts'
import type { Clock } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import {
  ApiStatusError,
  builtin,
  isConflict,
  isNotFound,
  ResourceClient,
  runWorkers,
  WorkQueue,
  type Lister,
  type ObjectLike,
  type Reconciler,
  type Requeue,
  type ResourceRef,
  type RestClient,
} from '../client/index.ts'
import type { ControllerDefinition } from './controller.ts'

/**
 * The namespace controller: empties namespaces being deleted, then lets them go, as Kubernetes'
 * namespace controller and its NamespacedResourcesDeleter do.
 *
 *   kubectl delete ns X ──▶ apiserver: deletionTimestamp set, phase Terminating, held by the
 *                           `kubernetes` entry of spec.finalizers
 *        ──▶ (5 s later) for every namespaced resource: DELETE the collection, list what is left
 *        ──▶ something left? status conditions say what, look again later (the longest pod grace
 *            period, or 15 s for finalizers) ───────────────────────────────────────────┐
 *        ──▶ nothing left: PUT namespaces/X/finalize without `kubernetes`               │
 *        ──▶ apiserver: no finalizers remain, the namespace is deleted     ◀── again ───┘
 *
 * While content remains the five conditions the controller owns (NamespaceDeletionDiscoveryFailure,
 * NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure,
 * NamespaceContentRemaining, NamespaceFinalizersRemaining) tell `kubectl get ns -o yaml` readers
 * why the namespace is still Terminating.
 */

/** The spec.finalizers entry this controller owns (the apiserver adds it to every namespace). */
export const kubernetesFinalizer = 'kubernetes'

/**
 * Kubernetes waits this long after seeing a namespace's deletion before emptying it, so that every
 * apiserver has seen the namespace Terminating (and refuses new content in it) and creates that
 * raced with the delete have landed.
 */
export const namespaceDeletionGracePeriodMs = 5_000

/** The wait assumed for objects held by finalizers (Kubernetes' finalizerEstimateSeconds). */
export const finalizerEstimateSeconds = 15

/** The namespace condition types the controller maintains, in the order Kubernetes writes them. */
export const NamespaceDeletionDiscoveryFailure = 'NamespaceDeletionDiscoveryFailure'
export const NamespaceDeletionGroupVersionParsingFailure = 'NamespaceDeletionGroupVersionParsingFailure'
export const NamespaceDeletionContentFailure = 'NamespaceDeletionContentFailure'
export const NamespaceContentRemaining = 'NamespaceContentRemaining'
export const NamespaceFinalizersRemaining = 'NamespaceFinalizersRemaining'

const conditionTypes = [
  NamespaceDeletionDiscoveryFailure,
  NamespaceDeletionGroupVersionParsingFailure,
  NamespaceDeletionContentFailure,
  NamespaceContentRemaining,
  NamespaceFinalizersRemaining,
] as const
type ConditionType = (typeof conditionTypes)[number]

/** Each condition when all is well: status False, with these reasons and messages (as upstream). */
const okConditions: Record<ConditionType, { reason: string; message: string }> = {
  NamespaceDeletionDiscoveryFailure: {
    reason: 'ResourcesDiscovered',
    message: 'All resources successfully discovered',
  },
  NamespaceDeletionGroupVersionParsingFailure: {
    reason: 'ParsedGroupVersions',
    message: 'All legacy kube types successfully parsed',
  },
  NamespaceDeletionContentFailure: {
    reason: 'ContentDeleted',
    message: 'All content successfully deleted, may be waiting on finalization',
  },
  NamespaceContentRemaining: { reason: 'ContentRemoved', message: 'All content successfully removed' },
  NamespaceFinalizersRemaining: {
    reason: 'ContentHasNoFinalizers',
    message: 'All content-preserving finalizers finished',
  },
}

/** A resource whose objects make up a namespace's content. */
export interface ContentResource {
  readonly ref: ResourceRef
  /** Whether DELETE on the collection is served; otherwise each object is deleted by name. */
  readonly deleteCollection: boolean
}

/** The resources that may hold content, as discovery found them. */
export interface Discovery {
  readonly resources: readonly ContentResource[]
  /** Why some group-versions could not be discovered (the rest are still emptied). */
  readonly failure?: Error
}

/**
 * The reads and writes of the controller: the apiserver in production, a recording fake in tests.
 * Each call may reject with an ApiStatusError; NotFound and MethodNotAllowed on the content calls
 * mean "this resource is not served" and are handled by the controller.
 */
export interface NamespaceControl {
  /** A fresh read: the controller never finalizes a namespace from its cache. */
  getNamespace(name: string): Promise<Namespace>
  updateStatus(ns: Namespace): Promise<Namespace>
  /** PUT namespaces/{name}/finalize: replaces spec.finalizers. */
  finalize(ns: Namespace): Promise<Namespace>
  discover(): Promise<Discovery>
  /** DELETE of the collection, background propagation. */
  deleteCollection(ref: ResourceRef, namespace: string): Promise<void>
  list(ref: ResourceRef, namespace: string): Promise<readonly ObjectLike[]>
  /** DELETE of one object, background propagation. */
  delete(ref: ResourceRef, namespace: string, name: string): Promise<void>
}

export interface NamespaceControllerOptions {
  namespaces: Lister<Namespace>
  control: NamespaceControl
  clock: Clock
  log?: Logger
  /** How long after a namespace's deletion is seen its content is deleted (default 5 s). */
  deletionGracePeriodMs?: number
}

/** What was left of one resource's content after deleting it. */
interface ResourceOutcome {
  /** Seconds until what is left may be gone (0: it should be gone already). */
  estimateSeconds: number
  remaining: number
  finalizers: ReadonlyMap<string, number>
  error?: Error
}

/** What deleting all of a namespace's content left, for its conditions. */
export interface ContentSummary {
  discoveryFailure?: string
  /** Objects left per `resource.group` (pods. for core pods). */
  remaining: ReadonlyMap<string, number>
  /** Objects left per finalizer they carry. */
  finalizers: ReadonlyMap<string, number>
  /** Why deleting some resources failed. */
  errors: readonly string[]
}

export class NamespaceController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: NamespaceControllerOptions
  readonly #delayMs: number

  constructor(o: NamespaceControllerOptions) {
    this.#o = o
    this.#delayMs = o.deletionGracePeriodMs ?? namespaceDeletionGracePeriodMs
    this.queue = new WorkQueue({ clock: o.clock })
  }

  // --- events to keys --------------------------------------------------------------------------

  /** Namespaces being deleted are queued, a little later (see namespaceDeletionGracePeriodMs). */
  enqueue(ns: Readonly<Namespace>): void {
    const name = ns.metadata?.name
    if (!name || !ns.metadata?.deletionTimestamp) return
    this.queue.addAfter(name, this.#delayMs)
  }

  // --- reconcile -------------------------------------------------------------------------------

  async reconcile(name: string): Promise<Requeue | undefined> {
    if (!this.#o.namespaces.get('', name)) return undefined
    let ns: Namespace
    try {
      ns = await this.#o.control.getNamespace(name)
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
    if (!ns.metadata?.deletionTimestamp) return undefined
    if (ns.status?.phase !== 'Terminating') {
      ns = await this.#retryOnConflict(ns, (latest) =>
        this.#o.control.updateStatus({ ...latest, status: { ...latest.status, phase: 'Terminating' } }),
      )
    }
    // Someone else's finalizers may still hold it: our part is done.
    if (!(ns.spec?.finalizers ?? []).includes(kubernetesFinalizer)) return undefined

    const { estimateSeconds, summary } = await this.#deleteAllContent(ns)
    await this.#writeConditions(ns, summary)
    if (summary.errors.length > 0 || summary.discoveryFailure !== undefined) {
      const all = [...(summary.discoveryFailure ? [summary.discoveryFailure] : []), ...summary.errors]
      throw new Error(`deleting the content of namespace ${name} failed: ${all.join('; ')}`)
    }
    // Kubernetes looks again halfway through the estimate: most content goes sooner than that.
    if (estimateSeconds > 0) return { afterMs: (Math.floor(estimateSeconds / 2) + 1) * 1000 }

    try {
      await this.#retryOnConflict(ns, (latest) => this.#o.control.finalize(withoutOurFinalizer(latest)))
    } catch (err) {
      if (!isNotFound(err)) throw err // gone already: what we wanted
    }
    return undefined
  }

  /** Deletes every resource's content in the namespace and sums up what is left. */
  async #deleteAllContent(
    ns: Readonly<Namespace>,
  ): Promise<{ estimateSeconds: number; summary: ContentSummary }> {
    const namespace = ns.metadata?.name ?? ''
    const deletedAt = Date.parse(ns.metadata?.deletionTimestamp ?? '')
    let discovery: Discovery
    try {
      discovery = await this.#o.control.discover()
    } catch (err) {
      discovery = { resources: [], failure: err as Error }
    }
    const outcomes = await Promise.all(
      discovery.resources.map(async (r) => ({
        r,
        out: await this.#deleteContentOf(r, namespace, deletedAt),
      })),
    )
    let estimateSeconds = 0
    const remaining = new Map<string, number>()
    const finalizers = new Map<string, number>()
    const errors: string[] = []
    for (const { r, out } of outcomes) {
      estimateSeconds = Math.max(estimateSeconds, out.estimateSeconds)
      if (out.error) errors.push(out.error.message)
      if (out.remaining === 0) continue
      remaining.set(`${r.ref.resource}.${r.ref.group}`, out.remaining)
      for (const [f, n] of out.finalizers) finalizers.set(f, (finalizers.get(f) ?? 0) + n)
    }
    return {
      estimateSeconds,
      summary: {
        ...(discovery.failure ? { discoveryFailure: discovery.failure.message } : {}),
        remaining,
        finalizers,
        errors,
      },
    }
  }

  /**
   * One resource: its collection deleted (or each object, where deletecollection is not served),
   * then listed again. Objects left are expected while pods have grace time left or finalizers
   * hold them; otherwise they are an error (something refused to go).
   */
  async #deleteContentOf(r: ContentResource, namespace: string, deletedAt: number): Promise<ResourceOutcome> {
    const c = this.#o.control
    const none = new Map<string, number>()
    try {
      const collected =
        r.deleteCollection &&
        (await servedOrUndefined(async () => {
          await c.deleteCollection(r.ref, namespace)
          return true
        })) === true
      if (!collected) {
        for (const item of (await servedOrUndefined(() => c.list(r.ref, namespace))) ?? []) {
          await servedOrUndefined(() => c.delete(r.ref, namespace, item.metadata?.name ?? ''))
        }
      }
      const left = await servedOrUndefined(() => c.list(r.ref, namespace))
      if (!left || left.length === 0) return { estimateSeconds: 0, remaining: 0, finalizers: none }
      const estimateSeconds = isPods(r.ref) ? podsGraceEstimate(left, deletedAt, this.#o.clock.now()) : 0
      const finalizers = new Map<string, number>()
      for (const item of left)
        for (const f of item.metadata?.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1)
      const remaining = left.length
      if (estimateSeconds > 0) return { estimateSeconds, remaining, finalizers }
      if (finalizers.size > 0) return { estimateSeconds: finalizerEstimateSeconds, remaining, finalizers }
      return {
        estimateSeconds,
        remaining,
        finalizers,
        error: new Error(
          `unexpected items still remain in namespace: ${namespace} for gvr: ${groupVersionResource(r.ref)}`,
        ),
      }
    } catch (err) {
      return { estimateSeconds: 0, remaining: 0, finalizers: none, error: err as Error }
    }
  }

  /** Writes the conditions when they changed; a failure here only costs the explanation. */
  async #writeConditions(ns: Readonly<Namespace>, summary: ContentSummary): Promise<void> {
    const now = this.#o.clock.now()
    const { conditions, changed } = mergeConditions(
      ns.status?.conditions,
      namespaceConditions(summary, now),
      now,
    )
    if (!changed) return
    try {
      await this.#o.control.updateStatus({ ...ns, status: { ...ns.status, conditions } })
    } catch (err) {
      this.#o.log?.warn(
        { namespace: ns.metadata?.name, err: (err as Error).message },
        'could not update the namespace conditions',
      )
    }
  }

  /** Runs a write, again on a fresh read when the copy it used was stale (the same namespace only). */
  async #retryOnConflict(
    ns: Namespace,
    write: (latest: Namespace) => Promise<Namespace>,
  ): Promise<Namespace> {
    let latest = ns
    for (let attempt = 1; ; attempt++) {
      try {
        return await write(latest)
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err
      }
      const fresh = await this.#o.control.getNamespace(latest.metadata?.name ?? '')
      if (fresh.metadata?.uid !== latest.metadata?.uid) {
        throw new Error(
          `namespace ${latest.metadata?.name ?? ''} was replaced (its uid changed) while being deleted`,
        )
      }
      latest = fresh
    }
  }
}

// --- pure helpers ---------------------------------------------------------------------------------

/**
 * The resources a namespace's content is made of: namespaced, listable, deletable, and one per
 * storage (events.k8s.io events are core events; autoscaling v1 and v2 share their objects), the
 * preferred version first as discovery orders them.
 */
export function contentResources(resources: readonly ResourceInfo[] = builtinResources): ContentResource[] {
  const seen = new Set<string>()
  const out: ContentResource[] = []
  for (const r of resources) {
    if (!r.namespaced || !r.verbs.includes('list')) continue
    const deleteCollection = r.verbs.includes('deletecollection')
    if (!deleteCollection && !r.verbs.includes('delete')) continue
    const storage = `${r.storage.group}/${r.storage.resource}`
    if (seen.has(storage)) continue
    seen.add(storage)
    out.push({
      ref: { group: r.group, version: r.version, resource: r.resource, kind: r.kind, namespaced: true },
      deleteCollection,
    })
  }
  return out
}

/**
 * How long the pods left in the namespace may still take: the longest grace period among those
 * not finished, unless that much time has passed since the namespace's deletion (then 0: they
 * should be gone, and what is left is an error).
 *
 * Kubernetes estimates from the pods listed before the delete, so a namespace whose pods all went
 * at once (unscheduled ones have no grace period) still waits out their grace periods; we look at
 * the pods that are really left, which changes when the namespace goes, not what happens to it.
 */
export function podsGraceEstimate(pods: readonly ObjectLike[], deletedAt: number, now: number): number {
  let estimate = 0
  for (const item of pods) {
    const pod = item as Pod
    const phase = pod.status?.phase
    if (phase === 'Succeeded' || phase === 'Failed') continue
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 0
    estimate = Math.max(estimate, grace)
  }
  return Number.isNaN(deletedAt) || now - deletedAt >= estimate * 1000 ? 0 : estimate
}

/** The five conditions for a summary of what is left, each True with the problem or False. */
export function namespaceConditions(s: ContentSummary, now: number): NamespaceCondition[] {
  const at = rfc3339(now)
  const problem: Partial<Record<ConditionType, { reason: string; message: string }>> = {}
  if (s.discoveryFailure !== undefined) {
    problem.NamespaceDeletionDiscoveryFailure = { reason: 'DiscoveryFailed', message: s.discoveryFailure }
  }
  if (s.errors.length > 0) {
    problem.NamespaceDeletionContentFailure = {
      reason: 'ContentDeletionFailed',
      message: `Failed to delete all resource types, ${s.errors.length} remaining: ${[...s.errors].sort().join(', ')}`,
    }
  }
  if (s.remaining.size > 0) {
    const each = [...s.remaining].map(([r, n]) => `${r} has ${n} resource instances`).sort()
    problem.NamespaceContentRemaining = {
      reason: 'SomeResourcesRemain',
      message: `Some resources are remaining: ${each.join(', ')}`,
    }
  }
  if (s.finalizers.size > 0) {
    const each = [...s.finalizers].map(([f, n]) => `${f} in ${n} resource instances`).sort()
    problem.NamespaceFinalizersRemaining = {
      reason: 'SomeFinalizersRemain',
      message: `Some content in the namespace has finalizers remaining: ${each.join(', ')}`,
    }
  }
  return conditionTypes.map((type) => {
    const p = problem[type]
    return { type, status: p ? 'True' : 'False', lastTransitionTime: at, ...(p ?? okConditions[type]) }
  })
}

/**
 * The namespace's conditions with the controller's replaced: a condition keeps its place, and its
 * lastTransitionTime unless its status changed; other writers' conditions are left as they are.
 */
export function mergeConditions(
  current: readonly NamespaceCondition[] | undefined,
  desired: readonly NamespaceCondition[],
  now: number,
): { conditions: NamespaceCondition[]; changed: boolean } {
  const conditions = (current ?? []).map((c) => ({ ...c }))
  let changed = false
  for (const want of desired) {
    const have = conditions.find((c) => c.type === want.type)
    if (!have) {
      conditions.push({ ...want })
      changed = true
    } else if (have.status !== want.status || have.reason !== want.reason || have.message !== want.message) {
      if (have.status !== want.status) have.lastTransitionTime = rfc3339(now)
      have.status = want.status
      if (want.reason !== undefined) have.reason = want.reason
      if (want.message !== undefined) have.message = want.message
      changed = true
    }
  }
  return { conditions, changed }
}

/** The namespace as PUT to /finalize: its spec.finalizers without ours, sorted as Kubernetes sends them. */
export function withoutOurFinalizer(ns: Readonly<Namespace>): Namespace {
  const rest = [...new Set(ns.spec?.finalizers ?? [])].filter((f) => f !== kubernetesFinalizer).sort()
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: structuredClone(ns.metadata ?? {}),
    spec: { ...ns.spec, finalizers: rest },
  }
}

/** How Go prints a GroupVersionResource (`/v1, Resource=pods`), as the upstream messages show it. */
function groupVersionResource(r: ResourceRef): string {
  return `${r.group}/${r.version}, Resource=${r.resource}`
}

function isPods(r: ResourceRef): boolean {
  return r.group === '' && r.resource === 'pods'
}

/**
 * The call's result, or undefined when the apiserver does not serve it (404 NotFound for a
 * resource that is gone, 405 for a verb it lacks): such a resource is skipped, as upstream does.
 */
async function servedOrUndefined<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof ApiStatusError && (err.code === 404 || err.code === 405)) return undefined
    throw err
  }
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
}

// --- wiring ---------------------------------------------------------------------------------------

/** The reads and writes through the apiserver; content resources come from the built-in table. */
export function apiNamespaceControl(
  rest: RestClient,
  namespaces: ResourceClient<Namespace>,
): NamespaceControl {
  const resources = contentResources()
  const client = (ref: ResourceRef) => new ResourceClient<ObjectLike>(rest, ref)
  const background = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' }
  return {
    getNamespace: (name) => namespaces.get('', name),
    updateStatus: (ns) => namespaces.updateStatus(ns),
    finalize: (ns) =>
      namespaces.subresource<Namespace>(
        'PUT',
        { namespace: '', name: ns.metadata?.name ?? '', subresource: 'finalize' },
        { body: ns },
      ),
    // The apiserver serves only the built-in resources; once it serves custom resources or
    // aggregated APIs, this becomes discovery through /api and /apis (which can fail in part).
    discover: () => Promise.resolve({ resources }),
    deleteCollection: async (ref, namespace) => {
      await rest.request('DELETE', client(ref).path(namespace), { body: background })
    },
    list: async (ref, namespace) => (await client(ref).list(namespace)).items,
    delete: async (ref, namespace, name) => {
      await client(ref).delete(namespace, name, { propagationPolicy: 'Background' })
    },
  }
}

/** kube-controller-manager's --concurrent-namespace-syncs default. */
const namespaceWorkers = 10

export const namespaceController: ControllerDefinition = {
  name: 'namespace',
  eventSource: 'namespace-controller',
  serviceAccount: 'namespace-controller',
  setup(ctx) {
    const namespaces = ctx.informers.informer<Namespace>(builtin('', 'v1', 'namespaces'))
    const controller = new NamespaceController({
      namespaces: namespaces.lister,
      control: apiNamespaceControl(ctx.rest, ctx.client<Namespace>(namespaces.resource)),
      clock: ctx.clock,
      log: ctx.log,
    })
    namespaces.addHandler({
      add: (ns) => controller.enqueue(ns),
      update: (_old, ns) => controller.enqueue(ns),
    })
    return (signal) =>
      runWorkers(controller.queue, controller, {
        workers: namespaceWorkers,
        signal,
        log: ctx.log,
      })
  },
}
