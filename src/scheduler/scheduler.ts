import type { Node, PersistentVolumeClaim, Pod } from '../api/generated/types/core-v1.ts'
import { deepEqual } from '../api/object.ts'
import type { LabelSelector } from '../api/selectors/label-selector.ts'
import type { PodDisruptionBudget } from '../api/generated/types/policy-v1.ts'
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
import { CycleState } from './framework/cycle-state.ts'
import { FitError, Framework } from './framework/framework.ts'
import type { Handle, PluginWrites } from './framework/interfaces.ts'
import type { Status } from './framework/status.ts'
import { interPodAffinityName } from './plugins/inter-pod-affinity.ts'
import { podTopologySpreadName } from './plugins/pod-topology-spread.ts'
import { buildProfile, defaultPlugins, type ProfileConfig } from './plugins/registry.ts'
import { SchedulingQueue, type QueuedPod } from './queue.ts'

export const defaultSchedulerName = 'default-scheduler'

/** How long the scheduling loop runs before it lets I/O in. */
const yieldEveryMs = 5

/** kube-scheduler's default profile: every default plugin, upstream's weights. */
export const defaultProfile: ProfileConfig = { schedulerName: defaultSchedulerName, plugins: defaultPlugins }

/** The scheduler's writes: the apiserver in production, a recording fake in tests. */
export interface SchedulerControl extends PluginWrites {
  /** Sets the PodScheduled condition to False with the reason why the pod fits nowhere. */
  markUnschedulable(pod: Readonly<Pod>, message: string): Promise<void>
}

/** What the scheduler reports to its metrics, as kube-scheduler's scheduler_* series. */
export interface SchedulerObserver {
  /** One scheduling attempt ended: its result and how long the attempt took, in seconds. */
  attempt(result: 'scheduled' | 'unschedulable' | 'error', profile: string, seconds: number): void
  /** A pod was bound: after how many attempts, and seconds since it first entered the queue. */
  scheduled(attempts: number, e2eSeconds: number): void
  preemption?(victims: number): void
}

export interface SchedulerOptions {
  profiles?: readonly ProfileConfig[]
  control: SchedulerControl
  recorder: { event(obj: ObjectLike, type: EventType, reason: string, message: string): void }
  clock: Clock
  log?: Logger
  /** Informer-backed reads that some plugins need; without them, nothing is known. */
  namespaceLabels?: (namespace: string) => Readonly<Record<string, string>> | undefined
  pdbs?: (namespace: string) => readonly Readonly<PodDisruptionBudget>[]
  defaultSelector?: (pod: Readonly<Pod>) => LabelSelector | undefined
  persistentVolumeClaim?: (namespace: string, name: string) => Readonly<PersistentVolumeClaim> | undefined
  observer?: SchedulerObserver
  /** The queue's back-off (KubeSchedulerConfiguration podInitialBackoffSeconds, podMaxBackoffSeconds). */
  initialBackoffMs?: number
  maxBackoffMs?: number
}

/**
 * kube-scheduler's loop: pods without a node, of one of its profiles, wait in the queue; each in
 * turn goes through its profile's scheduling cycle over the cache's nodes, is assumed on the
 * chosen node (so the next pod sees it there) and reserved, and goes through Permit and the
 * binding cycle in the background, so throughput is not bound by the round trip to the
 * apiserver. A pod that fits nowhere gets its profile's PostFilter (preemption), a
 * FailedScheduling event and PodScheduled=False, and waits for a cluster event that might help.
 *
 * Preemption nominates the pod to a node (the queue's nominator, and status.nominatedNodeName):
 * other pods of lower priority do not take the room made there, and the pod, retried once its
 * victims are gone, tries that node first. Pods with scheduling gates wait in the queue, gated.
 */
export class Scheduler {
  readonly queue: SchedulingQueue
  readonly cache = new SchedulerCache()
  readonly handle: Handle
  readonly #frameworks: Map<string, Framework>
  readonly #o: SchedulerOptions
  readonly #binding = new Set<Promise<void>>()

  constructor(o: SchedulerOptions) {
    this.#o = o
    this.queue = new SchedulingQueue({
      clock: o.clock,
      preEnqueue: (pod) => {
        const f = this.#frameworks.get(pod.spec?.schedulerName ?? defaultSchedulerName)
        return (f?.profile.postFilter ?? []).every((p) => p.preEnqueue?.(pod) ?? true)
      },
      ...(o.initialBackoffMs !== undefined ? { initialBackoffMs: o.initialBackoffMs } : {}),
      ...(o.maxBackoffMs !== undefined ? { maxBackoffMs: o.maxBackoffMs } : {}),
    })
    this.handle = {
      snapshot: this.cache,
      namespaceLabels: o.namespaceLabels ?? (() => undefined),
      pdbs: o.pdbs ?? (() => []),
      defaultSelector: o.defaultSelector ?? (() => undefined),
      persistentVolumeClaim: o.persistentVolumeClaim ?? (() => undefined),
      nominatedPods: (node) => this.queue.nominator.nominatedPods(node),
      writes: o.control,
      clock: o.clock,
      activate: (pod) => this.queue.activate(pod),
      ...(o.log ? { log: o.log } : {}),
    }
    this.#frameworks = new Map(
      (o.profiles ?? [defaultProfile]).map((p) => [
        p.schedulerName,
        new Framework(buildProfile(p, this.handle), {
          nominatedPods: (node) => this.queue.nominator.nominatedPods(node),
        }),
      ]),
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
        if (p.spec?.nodeName) {
          this.cache.addPod(p)
          this.#assignedPodAdded()
        } else if (ours(p)) this.queue.add(p)
      },
      update: (old, p) => {
        if (p.spec?.nodeName) {
          if (!old.spec?.nodeName) this.queue.delete(p)
          this.cache.addPod(p)
          if (!old.spec?.nodeName) this.#assignedPodAdded()
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

  /** A pod now on a node may be what pod affinity or topology spread waited for. */
  #assignedPodAdded(): void {
    this.queue.moveToActiveOrBackoffIf(
      (rejectedBy) => rejectedBy.has(interPodAffinityName) || rejectedBy.has(podTopologySpreadName),
    )
  }

  nodeHandler(): EventHandler<Node> {
    return {
      add: (n) => {
        this.cache.setNode(n)
        this.queue.moveAllToActiveOrBackoff()
      },
      update: (old, n) => {
        this.cache.setNode(n)
        // A status report that changes nothing the plugins look at (a heartbeat) moves no pod.
        if (schedulingPropertiesChanged(old, n)) this.queue.moveAllToActiveOrBackoff()
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
      let since = performance.now()
      for (;;) {
        const q = await this.queue.pop()
        if (!q) break
        await this.scheduleOne(q)
        // Pods waiting in the queue are handed out at once, and a cycle awaits only work done in
        // memory, so without this the loop would hold the thread while the queue lasts: watch
        // events, binding answers and the lease renewal get their turn every few milliseconds.
        if (performance.now() - since >= yieldEveryMs) {
          await new Promise<void>((resolve) => setImmediate(resolve))
          since = performance.now()
        }
      }
    } finally {
      clearInterval(flusher)
      signal.removeEventListener('abort', close)
      await Promise.allSettled(this.#binding)
      for (const f of this.#frameworks.values())
        for (const p of f.profile.postFilter ?? []) await p.settled?.()
    }
  }

  /** One pod's scheduling cycle; its binding cycle continues in the background. */
  async scheduleOne(q: QueuedPod): Promise<void> {
    const pod = q.pod
    const cycle = this.queue.cycle
    const profile = pod.spec?.schedulerName ?? defaultSchedulerName
    const framework = this.#frameworks.get(profile)
    if (!framework) return this.queue.done(q)
    const started = performance.now()
    const elapsed = () => (performance.now() - started) / 1000
    const state = new CycleState()
    let node: string
    try {
      node = framework.schedule(pod, this.cache.nodeList(), state).nodeName
    } catch (err) {
      if (!(err instanceof FitError)) {
        this.#o.observer?.attempt('error', profile, elapsed())
        return this.#failed(q, cycle, `scheduling failed: ${(err as Error).message}`)
      }
      let message = err.message
      // Without nodes there is nothing to preempt on (kube-scheduler's ErrNoNodesAvailable).
      if ((framework.profile.postFilter?.length ?? 0) > 0 && err.allNodes > 0) {
        try {
          const r = await framework.runPostFilter(state, q.pod, err.statuses)
          // The nomination counts at once, before the status write comes back through the informer.
          if (r.nominatedNodeName !== undefined) this.queue.nominator.nominate(q.pod, r.nominatedNodeName)
          if (r.victims !== undefined) this.#o.observer?.preemption?.(r.victims)
          if (r.status.code === 'Error')
            this.#o.log?.warn({ pod: pod.metadata?.name, err: reasonOf(r.status) }, 'preemption failed')
          // Kubernetes' FitError wording: the PostFilter message follows, after a space.
          if (r.status.reasons.length > 0) message = `${message} ${r.status.reasons.join(', ')}`
        } catch (e) {
          this.#o.log?.warn({ pod: pod.metadata?.name, err: (e as Error).message }, 'preemption failed')
        }
      }
      this.#o.observer?.attempt('unschedulable', profile, elapsed())
      const rejectedBy = new Set<string>()
      for (const st of err.statuses.values()) if (st.plugin) rejectedBy.add(st.plugin)
      return this.#failed(q, cycle, message, rejectedBy)
    }
    const assumed: Pod = { ...pod, spec: { ...(pod.spec ?? { containers: [] }), nodeName: node } }
    this.cache.assume(assumed, node)
    // Placed: it no longer waits for room anywhere (a failed binding queues it anew).
    this.queue.nominator.delete(pod)
    const reserved = await framework.runReserve(state, pod, node)
    if (!reserved.ok) {
      this.cache.forget(assumed)
      this.#o.observer?.attempt(reserved.code === 'Error' ? 'error' : 'unschedulable', profile, elapsed())
      return this.#failed(q, cycle, reasonOf(reserved))
    }
    const permitted = framework.runPermit(state, pod, node)
    this.queue.done(q)
    this.#o.observer?.attempt('scheduled', profile, elapsed())
    this.#track(this.#bindingCycle(framework, state, q, assumed, node, permitted))
  }

  /** Permit's answer, then PreBind, Bind, PostBind; on failure the room is freed and the pod retried. */
  async #bindingCycle(
    framework: Framework,
    state: CycleState,
    q: QueuedPod,
    assumed: Readonly<Pod>,
    node: string,
    permitted: Promise<Status>,
  ): Promise<void> {
    const pod = q.pod
    let result: Status | Error
    try {
      result = await permitted
      if (result.ok) result = await framework.runBindingCycle(state, pod, node)
    } catch (err) {
      result = err as Error
    }
    if (!(result instanceof Error) && result.ok) {
      const ref = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`
      this.#o.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ref} to ${node}`)
      this.#o.observer?.scheduled(q.attempts, (this.#o.clock.now() - q.initialAt) / 1000)
      return
    }
    // The room is free again; the pod (unless it is gone) is tried anew.
    framework.runUnreserve(state, pod, node)
    this.cache.forget(assumed)
    if (isNotFound(result)) return
    const message = result instanceof Error ? result.message : reasonOf(result)
    this.#o.log?.warn({ pod: pod.metadata?.name, node, err: message }, 'binding failed')
    // Its nomination (if preemption made one) no longer holds: kube-scheduler clears it.
    if (pod.status?.nominatedNodeName) {
      this.#track(
        this.#o.control.setNominatedNodeName(pod, undefined).catch((e: unknown) => {
          if (!isNotFound(e) && !isConflict(e))
            this.#o.log?.warn({ err: (e as Error).message }, 'cannot clear nominatedNodeName')
        }),
      )
    }
    this.queue.add(pod)
  }

  /** The attempt failed: the pod waits in the queue, with an event and PodScheduled=False saying why. */
  #failed(q: QueuedPod, cycle: number, message: string, rejectedBy?: ReadonlySet<string>): void {
    const pod = q.pod
    this.queue.failed(q, cycle, rejectedBy)
    this.#o.recorder.event(pod, 'Warning', 'FailedScheduling', message)
    this.#track(
      this.#o.control.markUnschedulable(pod, message).catch((e: unknown) => {
        if (!isNotFound(e) && !isConflict(e))
          this.#o.log?.warn({ err: (e as Error).message }, 'cannot set PodScheduled')
      }),
    )
  }

  #track(p: Promise<void>): void {
    this.#binding.add(p)
    void p.finally(() => this.#binding.delete(p))
  }
}

/**
 * Upstream's nodeSchedulingPropertiesChange: whether the node changed in a way a plugin could
 * see: spec.unschedulable, allocatable, labels, taints, annotations, or its conditions (their
 * heartbeat times aside).
 */
function schedulingPropertiesChanged(old: Readonly<Node>, n: Readonly<Node>): boolean {
  const conditions = (x: Readonly<Node>) =>
    (x.status?.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: undefined }))
  return (
    (old.spec?.unschedulable ?? false) !== (n.spec?.unschedulable ?? false) ||
    !deepEqual(old.status?.allocatable, n.status?.allocatable) ||
    !deepEqual(old.metadata?.labels, n.metadata?.labels) ||
    !deepEqual(old.spec?.taints, n.spec?.taints) ||
    !deepEqual(old.metadata?.annotations, n.metadata?.annotations) ||
    !deepEqual(conditions(old), conditions(n))
  )
}

function reasonOf(s: Status): string {
  return `${s.plugin ? `${s.plugin}: ` : ''}${s.reasons.join(', ')}`
}
