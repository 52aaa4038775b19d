import type { PersistentVolumeClaim, ResourceQuota, Service } from '../api/generated/types/core-v1.ts'
import type { KubeObject } from '../api/object.ts'
import { calculateUsage, evaluatorFor, podCountsForQuota, scopeSelectorsOf } from '../api/quota/evaluators.ts'
import { equalLists, mask, resourceListOf, toWire } from '../api/quota/resource-list.ts'
import { builtinGroups, findResource } from '../api/resources.ts'
import type { Clock } from '../base/clock.ts'
import {
  builtin,
  objectKey,
  runWorkers,
  splitKey,
  WorkQueue,
  type Informer,
  type Lister,
  type ObjectLike,
  type Reconciler,
  type Requeue,
} from '../client/index.ts'
import type { ControllerDefinition } from './controller.ts'

/** kube-controller-manager's --resource-quota-sync-period: every quota is recounted this often. */
export const defaultQuotaResyncPeriodMs = 5 * 60_000

export interface ResourceQuotaControllerOptions {
  quotas: Lister<ResourceQuota>
  /** The objects of one resource in a namespace (informer caches, or a live list for the rest). */
  objects(namespace: string, group: string, resource: string): Promise<readonly Readonly<KubeObject>[]>
  /** Writes a quota's status, conditional on the resourceVersion it carries. */
  updateStatus(q: ResourceQuota): Promise<void>
  clock: Clock
}

/**
 * The resourcequota controller: keeps each ResourceQuota's status.hard equal to spec.hard and its
 * status.used equal to what the namespace uses of those resources, counted from scratch with the
 * same evaluators the ResourceQuota admission plugin charges with. The plugin adds usage as
 * objects are written; this controller is what gives usage back, when objects are deleted, pods
 * finish or Services change type (replenishment), and what corrects any drift, by recounting
 * every quota once per resync period (5 minutes by default).
 *
 * The status is written with the quota's resourceVersion, so a count that raced with the plugin's
 * charge fails with a conflict and is retried on the newer quota.
 */
export class ResourceQuotaController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: ResourceQuotaControllerOptions

  constructor(o: ResourceQuotaControllerOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  enqueue(q: Readonly<ResourceQuota>): void {
    this.queue.add(objectKey(q))
  }

  enqueueAll(): void {
    for (const q of this.#o.quotas.list()) this.enqueue(q)
  }

  /**
   * Something of a resource changed in a namespace in a way that gives usage back: the quotas
   * there that limit what that resource is charged for are recounted.
   */
  replenish(namespace: string, group: string, resource: string): void {
    const e = evaluatorFor(group, resource)
    for (const q of this.#o.quotas.list(namespace)) {
      if (e.matchingResources(Object.keys(q.status?.hard ?? {})).length > 0) this.enqueue(q)
    }
  }

  async reconcile(key: string): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const q = this.#o.quotas.get(namespace, name)
    if (!q) return undefined
    const next = await this.desiredStatus(q)
    if (next) await this.#o.updateStatus({ ...structuredClone(q), status: next })
    return undefined
  }

  /** The status the quota should have, or undefined when it has it already (syncResourceQuota). */
  async desiredStatus(q: Readonly<ResourceQuota>): Promise<ResourceQuota['status'] | undefined> {
    const specHard = resourceListOf(q.spec?.hard)
    const statusHard = q.status?.hard
    const statusUsed = q.status?.used
    let dirty =
      statusHard === undefined ||
      statusUsed === undefined ||
      !equalLists(specHard, resourceListOf(statusHard))
    const namespace = q.metadata?.namespace ?? ''
    const measured = await calculateUsage({
      hard: [...specHard.keys()],
      scopes: scopeSelectorsOf(q),
      objects: (group, resource) => this.#o.objects(namespace, group, resource),
      now: this.#o.clock.now(),
    })
    // What was measured before stays for what cannot be measured now; then only the limited names.
    const previous = resourceListOf(statusUsed)
    const used = mask(new Map([...previous, ...measured]), specHard.keys())
    dirty ||= !equalLists(used, previous)
    return dirty ? { hard: toWire(specHard), used: toWire(used) } : undefined
  }
}

/** The resources the controller watches to give usage back (the evaluators with listers upstream). */
const watched = [
  ['', 'pods'],
  ['', 'services'],
  ['', 'persistentvolumeclaims'],
  ['', 'configmaps'],
  ['', 'secrets'],
  ['', 'replicationcontrollers'],
  ['', 'resourcequotas'],
] as const

/** A Service's type as quota sees it: NodePort, LoadBalancer, or neither. */
const quotaServiceType = (s: Readonly<Service>) =>
  s.spec?.type === 'NodePort' || s.spec?.type === 'LoadBalancer' ? s.spec.type : ''

/** Whether an update gives usage back, as upstream's quota monitor decides for each resource. */
function givesBack(
  resource: string,
  old: Readonly<KubeObject>,
  cur: Readonly<KubeObject>,
  now: number,
): boolean {
  switch (resource) {
    case 'pods':
      return podCountsForQuota(old, now) && !podCountsForQuota(cur, now)
    case 'services':
      return quotaServiceType(old) !== quotaServiceType(cur)
    case 'persistentvolumeclaims':
      return (
        (old as PersistentVolumeClaim).status?.allocatedResources?.storage !==
        (cur as PersistentVolumeClaim).status?.allocatedResources?.storage
      )
    default:
      return false
  }
}

export interface ResourceQuotaControllerSettings {
  /** --resource-quota-sync-period (default 5 minutes). */
  resyncPeriodMs?: number
  /** --concurrent-resource-quota-syncs (default 5). */
  workers?: number
}

export function resourceQuotaController(s: ResourceQuotaControllerSettings = {}): ControllerDefinition {
  return {
    name: 'resourcequota',
    eventSource: 'resource-quota-controller',
    serviceAccount: 'resourcequota-controller',
    setup(ctx) {
      const informers = new Map<string, Informer<ObjectLike>>()
      for (const [group, resource] of watched) {
        informers.set(
          `${group}/${resource}`,
          ctx.informers.informer<ObjectLike>(builtin(group, 'v1', resource)),
        )
      }
      const quotaInformer = informers.get('/resourcequotas') as unknown as Informer<ResourceQuota>
      const quotaClient = ctx.client<ResourceQuota>(quotaInformer.resource)
      const controller = new ResourceQuotaController({
        quotas: quotaInformer.lister,
        clock: ctx.clock,
        objects: async (namespace, group, resource) => {
          const informer = informers.get(`${group}/${resource}`)
          if (informer) return informer.lister.list(namespace)
          // Other counted resources are listed when a quota counts them.
          const version = builtinGroups.find((g) => g.group === group)?.preferredVersion
          const info = version ? findResource(group, version, resource) : undefined
          if (!info?.namespaced || !info.verbs.includes('list')) return []
          const list = await ctx.client<ObjectLike>(builtin(group, info.version, resource)).list(namespace)
          return list.items as Readonly<KubeObject>[]
        },
        updateStatus: async (q) => {
          await quotaClient.updateStatus(q)
        },
      })
      quotaInformer.addHandler({
        add: (q) => controller.enqueue(q),
        update: (old, q) => {
          // The status writes of this controller and the admission plugin come back here: only a
          // change of the limits needs a recount (resyncs come from the resync loop).
          if (!equalLists(resourceListOf(old.spec?.hard), resourceListOf(q.spec?.hard))) controller.enqueue(q)
          else if (q.status?.used === undefined) controller.enqueue(q)
        },
      })
      for (const [group, resource] of watched) {
        if (resource === 'resourcequotas') continue
        informers.get(`${group}/${resource}`)?.addHandler({
          update: (old, cur) => {
            if (old === cur) return
            if (givesBack(resource, old, cur, ctx.clock.now()))
              controller.replenish(cur.metadata?.namespace ?? '', group, resource)
          },
          delete: (obj) => controller.replenish(obj.metadata?.namespace ?? '', group, resource),
        })
      }
      const resyncMs = s.resyncPeriodMs ?? defaultQuotaResyncPeriodMs
      return async (signal) => {
        const resync = (async () => {
          while (!signal.aborted) {
            await ctx.clock.sleep(resyncMs, signal).catch(() => undefined)
            if (!signal.aborted) controller.enqueueAll()
          }
        })()
        await runWorkers(controller.queue, controller, {
          workers: s.workers ?? 5,
          signal,
          log: ctx.log,
        })
        await resync
      }
    },
  }
}
