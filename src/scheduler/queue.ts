import type { Pod } from '../api/generated/types/core-v1.ts'
import { deepEqual } from '../api/object.ts'
import type { Clock } from '../base/clock.ts'
import { Heap } from '../base/heap.ts'
import { Nominator } from './nominator.ts'

/** A pod waiting to be scheduled, with what the queue knows of its history. */
export interface QueuedPod {
  pod: Readonly<Pod>
  /** How many scheduling attempts it has had. */
  attempts: number
  /** When it first entered the queue (for the e2e scheduling latency). */
  readonly initialAt: number
  /** When it last entered the active queue (the tie-breaker among equal priorities). */
  enqueuedAt: number
  /**
   * The plugins that found it unschedulable in its last attempt (upstream's
   * UnschedulablePlugins); empty when unknown (an error), and then any cluster event moves it.
   */
  unschedulablePlugins?: ReadonlySet<string>
}

export interface SchedulingQueueOptions {
  clock: Clock
  /** Back-off after the first failure, doubling per attempt (1 s). */
  initialBackoffMs?: number
  /** The longest back-off (10 s). */
  maxBackoffMs?: number
  /** Longest a pod stays unschedulable before it is tried again anyway (5 min). */
  maxUnschedulableMs?: number
  /**
   * PreEnqueue beside scheduling gates: false holds the pod back (with the gated ones) until
   * activate() is called for it; DefaultPreemption holds a pod whose preemption is under way.
   */
  preEnqueue?: (pod: Readonly<Pod>) => boolean
}

/**
 * kube-scheduler's scheduling queue, three parts:
 *
 *   add ──▶ active (by priority, then by time) ──pop──▶ scheduling cycle
 *              ▲                                  │ fails
 *              │ back-off over (1 s doubling      ▼
 *              │ to 10 s per attempt)      unschedulable ── a cluster event that may help,
 *              └────────── backoff ◀─────────────────────── or 5 minutes ──┘
 *
 * A pod whose attempt failed goes to unschedulable, unless a cluster event arrived while it was
 * being scheduled (that event might have helped: it goes to backoff and is retried). Cluster
 * events (a node added, a pod deleted) move every unschedulable pod back: to backoff if its
 * back-off is not over, else to active; so does a change to the pod itself, but not a change of
 * its status alone (the scheduler's own status writes would otherwise requeue it).
 *
 * A pod with spec.schedulingGates never enters active (upstream's SchedulingGates PreEnqueue
 * plugin): it waits as gated, untouched by cluster events, until an update removes its last gate.
 * Each pod is in at most one part at a time.
 *
 * The queue also keeps the nominator: which pods are nominated to which node after preemption.
 */
export class SchedulingQueue {
  readonly #o: Required<SchedulingQueueOptions>
  /** The active queue: a heap by priority and time; entries whose pod left are skipped on pop. */
  readonly #active = new Heap<QueuedPod>(before)
  readonly #activeByKey = new Map<string, QueuedPod>()
  readonly #backoff = new Map<string, QueuedPod>()
  readonly #unschedulable = new Map<string, { q: QueuedPod; since: number }>()
  /** Pods held back by their scheduling gates. */
  readonly #gated = new Map<string, QueuedPod>()
  /** Pods popped and being scheduled. */
  readonly #inFlight = new Map<string, QueuedPod>()
  #moveRequestCycle = -1
  #cycle = 0
  readonly #waiters: ((q: QueuedPod | undefined) => void)[] = []
  #closed = false
  /** Pods nominated to nodes; kept up to date by add, update and delete. */
  readonly nominator = new Nominator()

  constructor(o: SchedulingQueueOptions) {
    this.#o = {
      initialBackoffMs: 1000,
      maxBackoffMs: 10_000,
      maxUnschedulableMs: 5 * 60_000,
      preEnqueue: () => true,
      ...o,
    }
  }

  /** The scheduling cycle counter: incremented by every pop. */
  get cycle(): number {
    return this.#cycle
  }

  get sizes(): { active: number; backoff: number; unschedulable: number; gated: number } {
    return {
      active: this.#activeByKey.size,
      backoff: this.#backoff.size,
      unschedulable: this.#unschedulable.size,
      gated: this.#gated.size,
    }
  }

  /** A new pod to schedule. */
  add(pod: Readonly<Pod>): void {
    const key = keyOf(pod)
    if (
      this.#inFlight.has(key) ||
      this.#backoff.has(key) ||
      this.#unschedulable.has(key) ||
      this.#activeByKey.has(key) ||
      this.#gated.has(key)
    ) {
      this.update(pod)
      return
    }
    this.nominator.update(pod)
    const now = this.#o.clock.now()
    this.#push({ pod, attempts: 0, initialAt: now, enqueuedAt: now })
  }

  /**
   * The pod changed: its newest version is what gets scheduled; an unschedulable pod whose
   * metadata or spec changed gets another try, and a gated pod whose last gate went is queued.
   */
  update(pod: Readonly<Pod>): void {
    const key = keyOf(pod)
    this.nominator.update(pod)
    const g = this.#gated.get(key)
    if (g) {
      g.pod = pod
      if (!this.#held(pod)) {
        this.#gated.delete(key)
        this.#requeue(g)
      }
      return
    }
    const a = this.#activeByKey.get(key)
    if (a) {
      a.pod = pod
      return
    }
    const b = this.#backoff.get(key)
    if (b) {
      b.pod = pod
      return
    }
    const u = this.#unschedulable.get(key)
    if (u) {
      const changed = changedForScheduling(u.q.pod, pod)
      u.q.pod = pod
      if (!changed) return
      this.#unschedulable.delete(key)
      this.#requeue(u.q)
      return
    }
    const f = this.#inFlight.get(key)
    if (f) f.pod = pod
  }

  /** The pod is gone (deleted, or bound by someone else). */
  delete(pod: Readonly<Pod>): void {
    const key = keyOf(pod)
    this.#activeByKey.delete(key)
    this.#backoff.delete(key)
    this.#unschedulable.delete(key)
    this.#gated.delete(key)
    this.nominator.delete(pod)
  }

  /** The next pod to schedule, waiting while there is none; undefined once closed. */
  pop(): Promise<QueuedPod | undefined> {
    const q = this.#shift()
    if (q) return Promise.resolve(q)
    if (this.#closed) return Promise.resolve(undefined)
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** The attempt that popped this pod failed: it waits for a cluster event (or back-off, see above). */
  failed(q: QueuedPod, cycle: number, unschedulablePlugins: ReadonlySet<string> = new Set()): void {
    const key = keyOf(q.pod)
    if (!this.#inFlight.delete(key)) return // deleted meanwhile
    q.unschedulablePlugins = unschedulablePlugins
    if (this.#moveRequestCycle >= cycle) this.#backoff.set(key, q)
    else this.#unschedulable.set(key, { q, since: this.#o.clock.now() })
  }

  /** The attempt succeeded (the pod is bound or assumed): it leaves the queue. */
  done(q: QueuedPod): void {
    this.#inFlight.delete(keyOf(q.pod))
  }

  /** A cluster event that may make unschedulable pods fit: they all get another try. */
  moveAllToActiveOrBackoff(): void {
    for (const [key, { q }] of this.#unschedulable) {
      this.#unschedulable.delete(key)
      this.#requeue(q)
    }
    this.#moveRequestCycle = this.#cycle
  }

  /**
   * A cluster event that can help only pods some plugins rejected (a pod bound somewhere helps
   * those that pod affinity or topology spread rejected, not those short of cpu): the
   * unschedulable pods `helps` says yes to, and those rejected for no known plugin, get another
   * try (upstream's EventsToRegister).
   */
  moveToActiveOrBackoffIf(helps: (unschedulablePlugins: ReadonlySet<string>) => boolean): void {
    for (const [key, { q }] of this.#unschedulable) {
      const plugins = q.unschedulablePlugins
      if (plugins && plugins.size > 0 && !helps(plugins)) continue
      this.#unschedulable.delete(key)
      this.#requeue(q)
    }
  }

  /** Moves what is due: back-offs that are over, and pods unschedulable for too long. Called every second. */
  flush(): void {
    const now = this.#o.clock.now()
    for (const [key, q] of this.#backoff) {
      if (this.#backoffUntil(q) <= now) {
        this.#backoff.delete(key)
        this.#push(q)
      }
    }
    for (const [key, u] of this.#unschedulable) {
      if (now - u.since >= this.#o.maxUnschedulableMs) {
        this.#unschedulable.delete(key)
        this.#requeue(u.q)
      }
    }
  }

  close(): void {
    this.#closed = true
    for (const w of this.#waiters.splice(0)) w(undefined)
  }

  #requeue(q: QueuedPod): void {
    if (this.#backoffUntil(q) > this.#o.clock.now()) this.#backoff.set(keyOf(q.pod), q)
    else this.#push(q)
  }

  /** When the pod's back-off ends: 1 s, 2 s, 4 s ... up to 10 s after its last attempt. */
  #backoffUntil(q: QueuedPod): number {
    if (q.attempts === 0) return 0
    const ms = Math.min(this.#o.maxBackoffMs, this.#o.initialBackoffMs * 2 ** (q.attempts - 1))
    return q.enqueuedAt + ms
  }

  /**
   * Something that held the pod back, or kept it unschedulable, has changed (its preemption is
   * over): it is tried again, after its back-off (upstream's Activate).
   */
  activate(pod: Readonly<Pod>): void {
    const key = keyOf(pod)
    const g = this.#gated.get(key)
    if (g && !this.#held(g.pod)) {
      this.#gated.delete(key)
      this.#requeue(g)
      return
    }
    const u = this.#unschedulable.get(key)
    if (u) {
      this.#unschedulable.delete(key)
      this.#requeue(u.q)
    }
  }

  #held(pod: Readonly<Pod>): boolean {
    return isGated(pod) || !this.#o.preEnqueue(pod)
  }

  /** The way into active; a gated pod is held back instead (PreEnqueue). */
  #push(q: QueuedPod): void {
    if (this.#held(q.pod)) {
      this.#gated.set(keyOf(q.pod), q)
      return
    }
    q.enqueuedAt = this.#o.clock.now()
    const waiter = this.#waiters.shift()
    if (waiter) {
      this.#begin(q)
      waiter(q)
      return
    }
    this.#activeByKey.set(keyOf(q.pod), q)
    this.#active.push(q)
  }

  #shift(): QueuedPod | undefined {
    for (;;) {
      const q = this.#active.pop()
      if (!q) return undefined
      const key = keyOf(q.pod)
      // Deleted, or moved on and queued again as another entry: this one is stale.
      if (this.#activeByKey.get(key) !== q) continue
      this.#activeByKey.delete(key)
      this.#begin(q)
      return q
    }
  }

  #begin(q: QueuedPod): void {
    q.attempts++
    this.#cycle++
    this.#inFlight.set(keyOf(q.pod), q)
  }
}

/** Higher priority first; among equals, the one queued earlier. */
function before(a: QueuedPod, b: QueuedPod): boolean {
  const pa = a.pod.spec?.priority ?? 0
  const pb = b.pod.spec?.priority ?? 0
  return pa !== pb ? pa > pb : a.enqueuedAt < b.enqueuedAt
}

/** The pod has scheduling gates left: it may not be scheduled yet. */
export function isGated(pod: Readonly<Pod>): boolean {
  return (pod.spec?.schedulingGates?.length ?? 0) > 0
}

/**
 * Whether an update may change where the pod fits: anything in its metadata or spec, but not its
 * status, resourceVersion, generation, managedFields or finalizers (upstream's isPodUpdated).
 */
function changedForScheduling(old: Readonly<Pod>, pod: Readonly<Pod>): boolean {
  if (!deepEqual(old.spec, pod.spec)) return true
  const strip = (p: Readonly<Pod>) => ({
    ...p.metadata,
    resourceVersion: undefined,
    generation: undefined,
    managedFields: undefined,
    finalizers: undefined,
  })
  return !deepEqual(strip(old), strip(pod))
}

function keyOf(pod: Readonly<Pod>): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`
}
