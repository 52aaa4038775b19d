/**
 * Where the pod workers learn about their pods: the pods bound to this node, as the kubelet's
 * apiserver config source watches them (fieldSelector spec.nodeName=<node>), feeding updatePod and
 * removePod; and the housekeeping pass every two seconds that removes what the runtime still holds
 * of pods the API no longer has (HandlePodCleanups).
 *
 * A kubelet watches its own pods. Simulated kubelets by the thousand in one process share one
 * watch instead (NodePodDemux): one informer on every bound pod, handing each node its own.
 */
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { deepEqual } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  builtin,
  Informer,
  ResourceClient,
  withoutManagedFields,
  type EventHandler,
  type RestClient,
} from '../../client/index.ts'
import type { PodWorkers } from './pod-workers.ts'

export const housekeepingPeriodMs = 2000

/** The pods bound to one node: what the kubelet's pod side reads (an Informer is one). */
export interface PodSource {
  /** Handlers added after the first list hear of the pods already there as adds. */
  addHandler(h: EventHandler<Pod>): void
  waitForSync(signal?: AbortSignal): Promise<void>
  readonly lister: { list(): readonly Readonly<Pod>[] }
}

/** An informer on the pods bound to `nodeName`, not yet running. */
export function nodePodInformer(o: {
  rest: RestClient
  nodeName: string
  clock: Clock
  log?: Logger
}): Informer<Pod> {
  return new Informer<Pod>(new ResourceClient<Pod>(o.rest, builtin('', 'v1', 'pods')), {
    fieldSelector: `spec.nodeName=${o.nodeName}`,
    // Nothing in the kubelet reads managedFields, and it never writes a pod back whole.
    transform: withoutManagedFields,
    clock: o.clock,
    ...(o.log ? { log: o.log } : {}),
  })
}

export interface PodSourceOptions {
  rest: RestClient
  nodeName: string
  workers: PodWorkers
  clock: Clock
  log?: Logger
}

/** Watches the node's pods and feeds the workers until the signal aborts; resolves then. */
export async function runPodSource(o: PodSourceOptions, signal: AbortSignal): Promise<void> {
  const informer = nodePodInformer(o)
  await Promise.all([informer.run(signal), feedPodWorkers(informer, o, signal)])
}

/**
 * Whether a pod changed in what the kubelet acts on (spec, labels, annotations, deletion), as
 * upstream's pod config decides between UPDATE and RECONCILE; a status-only change is not one.
 */
export function podsDifferSemantically(a: Pod, b: Pod): boolean {
  const am = a.metadata ?? {}
  const bm = b.metadata ?? {}
  return !(
    deepEqual(a.spec, b.spec) &&
    deepEqual(am.labels ?? {}, bm.labels ?? {}) &&
    deepEqual(am.annotations ?? {}, bm.annotations ?? {}) &&
    am.deletionTimestamp === bm.deletionTimestamp &&
    am.deletionGracePeriodSeconds === bm.deletionGracePeriodSeconds
  )
}

/**
 * Hands the source's pods to the workers, and runs housekeeping once the source has synced, until
 * the signal aborts. The workers keep the informer's own objects, which nothing changes (their
 * tests hand them frozen pods): no copy per event.
 */
export async function feedPodWorkers(
  source: PodSource,
  o: { workers: PodWorkers; clock: Clock; log?: Logger },
  signal: AbortSignal,
): Promise<void> {
  source.addHandler({
    add: (pod) => o.workers.updatePod(pod),
    update: (old, pod) =>
      podsDifferSemantically(old, pod) ? o.workers.updatePod(pod) : o.workers.reconcilePod(pod),
    delete: (pod) => o.workers.removePod(pod),
  })
  try {
    await source.waitForSync(signal)
    while (!signal.aborted) {
      const known = new Set(source.lister.list().map((p) => p.metadata?.uid ?? ''))
      try {
        await o.workers.removeOrphanedPods(known)
      } catch (err) {
        o.log?.warn({ err }, 'Failed cleaning up orphaned pods')
      }
      await o.clock.sleep(housekeepingPeriodMs, signal)
    }
  } catch (err) {
    if (!signal.aborted) throw err
  }
}

/**
 * One watch of every bound pod (fieldSelector spec.nodeName!=), split by node: `forNode(name)` is
 * that node's PodSource. For simulated nodes, where a watch per node would cost thousands of
 * connections.
 */
export class NodePodDemux {
  readonly #informer: Informer<Pod>
  readonly #handlers = new Map<string, EventHandler<Pod>[]>()

  constructor(o: { rest: RestClient; clock: Clock; log?: Logger }) {
    this.#informer = new Informer<Pod>(new ResourceClient<Pod>(o.rest, builtin('', 'v1', 'pods')), {
      fieldSelector: 'spec.nodeName!=',
      transform: withoutManagedFields,
      clock: o.clock,
      ...(o.log ? { log: o.log } : {}),
    })
    this.#informer.addIndex(nodeIndex, (p) => [p.spec?.nodeName ?? ''])
    const to = (pod: Readonly<Pod>) => this.#handlers.get(pod.spec?.nodeName ?? '') ?? []
    this.#informer.addHandler({
      add: (pod, initial) => to(pod).forEach((h) => h.add?.(pod, initial)),
      update: (old, pod) => to(pod).forEach((h) => h.update?.(old, pod)),
      delete: (pod, stale) => to(pod).forEach((h) => h.delete?.(pod, stale)),
    })
  }

  run(signal: AbortSignal): Promise<void> {
    return this.#informer.run(signal)
  }

  forNode(nodeName: string): PodSource {
    const informer = this.#informer
    return {
      addHandler: (h) => {
        const list = this.#handlers.get(nodeName) ?? []
        list.push(h)
        this.#handlers.set(nodeName, list)
        if (informer.hasSynced) for (const p of informer.lister.byIndex(nodeIndex, nodeName)) h.add?.(p, true)
      },
      waitForSync: (signal) => informer.waitForSync(signal),
      lister: { list: () => informer.lister.byIndex(nodeIndex, nodeName) },
    }
  }
}

const nodeIndex = 'spec.nodeName'
