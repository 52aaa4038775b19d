import type { Pod } from '../api/generated/types/core-v1.ts'
import type { Clock } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import {
  isConflict,
  isNotFound,
  type EventHandler,
  type EventType,
  type ObjectLike,
} from '../client/index.ts'
import { SchedulerCache } from './cache.ts'
import { FitError, Framework, type Profile } from './framework/framework.ts'
import { balancedAllocation } from './plugins/balanced-allocation.ts'
import { nodeAffinity } from './plugins/node-affinity.ts'
import { nodeName } from './plugins/node-name.ts'
import { nodePorts } from './plugins/node-ports.ts'
import { nodeResourcesFit } from './plugins/node-resources-fit.ts'
import { nodeUnschedulable } from './plugins/node-unschedulable.ts'
import { taintToleration } from './plugins/taint-toleration.ts'
import { SchedulingQueue, type QueuedPod } from './queue.ts'
import type { Node } from '../api/generated/types/core-v1.ts'

export const defaultSchedulerName = 'default-scheduler'

/** kube-scheduler's default profile, as far as its plugins exist here, with upstream's score weights. */
export const defaultProfile: Profile = {
  schedulerName: defaultSchedulerName,
  preFilter: [nodeResourcesFit, nodeAffinity],
  filter: [nodeUnschedulable, nodeName, taintToleration, nodeAffinity, nodePorts, nodeResourcesFit],
  preScore: [taintToleration, balancedAllocation],
  score: [
    { plugin: taintToleration, weight: 3 },
    { plugin: nodeAffinity, weight: 2 },
    { plugin: nodeResourcesFit, weight: 1 },
    { plugin: balancedAllocation, weight: 1 },
  ],
}

/** The scheduler's writes: the apiserver in production, a recording fake in tests. */
export interface SchedulerControl {
  bind(pod: Readonly<Pod>, nodeName: string): Promise<void>
  /** Sets the PodScheduled condition to False with the reason why the pod fits nowhere. */
  markUnschedulable(pod: Readonly<Pod>, message: string): Promise<void>
}

export interface SchedulerOptions {
  profiles?: readonly Profile[]
  control: SchedulerControl
  recorder: { event(obj: ObjectLike, type: EventType, reason: string, message: string): void }
  clock: Clock
  log?: Logger
}

/**
 * kube-scheduler's loop: pods without a node, of one of its profiles, wait in the queue; each in
 * turn goes through its profile's scheduling cycle over the cache's nodes, is assumed on the
 * chosen node (so the next pod sees it there), and is bound in the background, so throughput is
 * not bound by the round trip to the apiserver. A pod that fits nowhere gets a FailedScheduling
 * event and PodScheduled=False, and waits for a cluster event that might help.
 */
export class Scheduler {
  readonly queue: SchedulingQueue
  readonly cache = new SchedulerCache()
  readonly #frameworks: Map<string, Framework>
  readonly #o: SchedulerOptions
  readonly #binding = new Set<Promise<void>>()

  constructor(o: SchedulerOptions) {
    this.#o = o
    this.queue = new SchedulingQueue({ clock: o.clock })
    this.#frameworks = new Map(
      (o.profiles ?? [defaultProfile]).map((p) => [p.schedulerName, new Framework(p)]),
    )
  }

  /** Pods: unassigned ones of our profiles are queued; assigned ones are in the cache. */
  podHandler(): EventHandler<Pod> {
    const ours = (p: Readonly<Pod>) =>
      !p.spec?.nodeName &&
      !p.metadata?.deletionTimestamp &&
      p.status?.phase !== 'Succeeded' &&
      p.status?.phase !== 'Failed' &&
      this.#frameworks.has(p.spec?.schedulerName ?? defaultSchedulerName)
    return {
      add: (p) => {
        if (p.spec?.nodeName) this.cache.addPod(p)
        else if (ours(p)) this.queue.add(p)
      },
      update: (old, p) => {
        if (p.spec?.nodeName) {
          if (!old.spec?.nodeName) this.queue.delete(p)
          this.cache.addPod(p)
        } else if (ours(p)) this.queue.update(p)
        else this.queue.delete(p)
      },
      delete: (p) => {
        this.queue.delete(p)
        if (p.spec?.nodeName) {
          this.cache.removePod(p)
          // Room freed: pods that did not fit may now.
          this.queue.moveAllToActiveOrBackoff()
        }
      },
    }
  }

  nodeHandler(): EventHandler<Node> {
    return {
      add: (n) => {
        this.cache.setNode(n)
        this.queue.moveAllToActiveOrBackoff()
      },
      update: (_old, n) => {
        this.cache.setNode(n)
        this.queue.moveAllToActiveOrBackoff()
      },
      delete: (n) => this.cache.removeNode(n.metadata?.name ?? ''),
    }
  }

  /** Schedules until the signal aborts; in-flight bindings are awaited before it resolves. */
  async run(signal: AbortSignal): Promise<void> {
    const close = () => this.queue.close()
    signal.addEventListener('abort', close, { once: true })
    const flusher = setInterval(() => this.queue.flush(), 1000)
    try {
      for (;;) {
        const q = await this.queue.pop()
        if (!q) break
        this.scheduleOne(q)
      }
    } finally {
      clearInterval(flusher)
      signal.removeEventListener('abort', close)
      await Promise.allSettled(this.#binding)
    }
  }

  /** One pod's scheduling cycle; its binding continues in the background. */
  scheduleOne(q: QueuedPod): void {
    const pod = q.pod
    const cycle = this.queue.cycle
    const framework = this.#frameworks.get(pod.spec?.schedulerName ?? defaultSchedulerName)
    if (!framework) return this.queue.done(q)
    let node: string
    try {
      node = framework.schedule(pod, this.cache.nodeList()).nodeName
    } catch (err) {
      this.queue.failed(q, cycle)
      const message = err instanceof FitError ? err.message : `scheduling failed: ${(err as Error).message}`
      this.#o.recorder.event(pod, 'Warning', 'FailedScheduling', message)
      this.#track(
        this.#o.control.markUnschedulable(pod, message).catch((e: unknown) => {
          if (!isNotFound(e) && !isConflict(e))
            this.#o.log?.warn({ err: (e as Error).message }, 'cannot set PodScheduled')
        }),
      )
      return
    }
    const assumed: Pod = { ...pod, spec: { ...(pod.spec ?? { containers: [] }), nodeName: node } }
    this.cache.assume(assumed, node)
    this.queue.done(q)
    this.#track(
      this.#o.control.bind(pod, node).then(
        () => {
          const ref = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`
          this.#o.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ref} to ${node}`)
        },
        (err: unknown) => {
          // The room is free again; the pod (unless it is gone) is tried anew.
          this.cache.forget(assumed)
          if (isNotFound(err)) return
          this.#o.log?.warn({ pod: pod.metadata?.name, node, err: (err as Error).message }, 'binding failed')
          this.queue.add(pod)
        },
      ),
    )
  }

  #track(p: Promise<void>): void {
    this.#binding.add(p)
    void p.finally(() => this.#binding.delete(p))
  }
}
