import { realClock, type Clock, type Timer } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import { TokenBucket } from './token-bucket.ts'

/** How long to wait before an item is retried (client-go's workqueue.RateLimiter). */
export interface RateLimiter<K> {
  /** The delay before the item's next try; counts a failure. */
  when(item: K): number
  /** The item succeeded: its failures are forgotten. */
  forget(item: K): void
  numRequeues(item: K): number
}

/** base·2^failures, at most max: 5 ms, 10 ms, 20 ms, ... 1000 s by default. */
export class ExponentialFailureRateLimiter<K> implements RateLimiter<K> {
  readonly #failures = new Map<K, number>()
  readonly #baseMs: number
  readonly #maxMs: number

  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.#baseMs = baseMs
    this.#maxMs = maxMs
  }

  when(item: K): number {
    const n = this.#failures.get(item) ?? 0
    this.#failures.set(item, n + 1)
    return Math.min(this.#maxMs, this.#baseMs * 2 ** n)
  }

  forget(item: K): void {
    this.#failures.delete(item)
  }

  numRequeues(item: K): number {
    return this.#failures.get(item) ?? 0
  }
}

/** An overall limit on retries of all items: a token bucket of `qps`, `burst`. */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  readonly #bucket: TokenBucket

  constructor(qps: number, burst: number, clock: Clock) {
    this.#bucket = new TokenBucket(qps, burst, clock)
  }

  when(): number {
    return this.#bucket.reserve()
  }

  forget(): void {}

  numRequeues(): number {
    return 0
  }
}

/** The longest delay of several limiters. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  readonly #limiters: readonly RateLimiter<K>[]

  constructor(...limiters: RateLimiter<K>[]) {
    this.#limiters = limiters
  }

  when(item: K): number {
    return Math.max(0, ...this.#limiters.map((l) => l.when(item)))
  }

  forget(item: K): void {
    for (const l of this.#limiters) l.forget(item)
  }

  numRequeues(item: K): number {
    return Math.max(0, ...this.#limiters.map((l) => l.numRequeues(item)))
  }
}

/** client-go's DefaultControllerRateLimiter: per item 5 ms doubling to 1000 s, overall 10/s with bursts of 100. */
export function defaultControllerRateLimiter<K>(clock: Clock = realClock): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ExponentialFailureRateLimiter<K>(5, 1_000_000),
    new BucketRateLimiter<K>(10, 100, clock),
  )
}

export interface WorkQueueOptions<K> {
  clock?: Clock
  rateLimiter?: RateLimiter<K>
}

/**
 * The controllers' work queue (client-go's rate-limiting, delaying work queue), with its
 * guarantees:
 * - an item is handed to at most one worker at a time;
 * - adding an item that is waiting does nothing (duplicates collapse);
 * - adding an item that a worker holds means "once more after this": it is queued again when
 *   the worker calls done();
 * - items come out in the order they were first added;
 * - addAfter keeps, for each item, only the earliest of its pending delays.
 *
 *   add ──▶ queue ──get()──▶ processing ──done()──▶ (added meanwhile? back to queue)
 */
export class WorkQueue<K = string> {
  readonly #clock: Clock
  readonly #limiter: RateLimiter<K>
  readonly #queue: K[] = []
  #head = 0
  /** Items that need processing: waiting in #queue, or to be requeued when done. */
  readonly #dirty = new Set<K>()
  readonly #processing = new Set<K>()
  readonly #waiting = new Map<K, { at: number; timer: Timer }>()
  readonly #getters: ((item: K | undefined) => void)[] = []
  #shuttingDown = false

  constructor(o: WorkQueueOptions<K> = {}) {
    this.#clock = o.clock ?? realClock
    this.#limiter = o.rateLimiter ?? defaultControllerRateLimiter<K>(this.#clock)
  }

  get length(): number {
    return this.#queue.length - this.#head
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown
  }

  add(item: K): void {
    if (this.#shuttingDown || this.#dirty.has(item)) return
    this.#dirty.add(item)
    if (this.#processing.has(item)) return
    this.#push(item)
  }

  /** Adds the item after `ms` (at once when ms <= 0). */
  addAfter(item: K, ms: number): void {
    if (this.#shuttingDown) return
    if (ms <= 0) return this.add(item)
    const at = this.#clock.now() + ms
    const pending = this.#waiting.get(item)
    if (pending && pending.at <= at) return
    pending?.timer.cancel()
    const timer = this.#clock.setTimer(ms, () => {
      this.#waiting.delete(item)
      this.add(item)
    })
    this.#waiting.set(item, { at, timer })
  }

  /** Adds the item after the rate limiter's delay for it (a retry after a failure). */
  addRateLimited(item: K): void {
    this.addAfter(item, this.#limiter.when(item))
  }

  /** The item succeeded: its retry back-off starts over. */
  forget(item: K): void {
    this.#limiter.forget(item)
  }

  numRequeues(item: K): number {
    return this.#limiter.numRequeues(item)
  }

  /**
   * The next item, which the caller now holds until done(); waits while the queue is empty.
   * Resolves to undefined once the queue shuts down.
   */
  get(): Promise<K | undefined> {
    if (this.length > 0) return Promise.resolve(this.#take())
    if (this.#shuttingDown) return Promise.resolve(undefined)
    return new Promise((resolve) => this.#getters.push(resolve))
  }

  /** The caller is finished with the item; if it was added meanwhile, it is queued again. */
  done(item: K): void {
    this.#processing.delete(item)
    if (this.#dirty.has(item) && !this.#shuttingDown) this.#push(item)
  }

  /** No more items are taken; waiting getters get undefined. */
  shutDown(): void {
    this.#shuttingDown = true
    for (const w of this.#waiting.values()) w.timer.cancel()
    this.#waiting.clear()
    for (const g of this.#getters.splice(0)) g(undefined)
  }

  #push(item: K): void {
    const getter = this.#getters.shift()
    if (getter) {
      this.#dirty.delete(item)
      this.#processing.add(item)
      getter(item)
      return
    }
    this.#queue.push(item)
  }

  #take(): K {
    const item = this.#queue[this.#head] as K
    this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head)
      this.#head = 0
    }
    this.#dirty.delete(item)
    this.#processing.add(item)
    return item
  }
}

/** What a reconcile asks for next: nothing (undefined), or another look after a while. */
export interface Requeue {
  afterMs: number
}

/** The controller side of the pattern: make the world match one key's desired state. */
export interface Reconciler {
  /** Throws to retry with back-off; throws a TerminalError to give up on the key until it changes. */
  reconcile(key: string, signal: AbortSignal): Promise<Requeue | undefined>
}

/** A failure that retrying cannot fix (the object is malformed): logged, not retried. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError'
}

export interface RunWorkersOptions {
  workers: number
  signal: AbortSignal
  /** The controller's logger, which names it (the controller-manager's child per controller). */
  log?: Logger
}

/**
 * Runs `workers` loops that take keys from the queue and reconcile them, until the signal aborts
 * (the queue is then shut down). A worker never dies on an error: it logs and requeues the key
 * with back-off.
 */
export async function runWorkers(
  queue: WorkQueue,
  reconciler: Reconciler,
  o: RunWorkersOptions,
): Promise<void> {
  const stop = () => queue.shutDown()
  if (o.signal.aborted) stop()
  o.signal.addEventListener('abort', stop, { once: true })
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get()
      if (key === undefined) return
      try {
        const next = await reconciler.reconcile(key, o.signal)
        queue.forget(key)
        if (next) queue.addAfter(key, next.afterMs)
      } catch (err) {
        if (o.signal.aborted) {
          // stopping: the error is the abort's
        } else if (err instanceof TerminalError) {
          queue.forget(key)
          o.log?.error({ key, err: err.message }, 'giving up on key')
        } else {
          o.log?.warn({ key, err: (err as Error).message ?? String(err) }, 'reconcile failed; retrying')
          queue.addRateLimited(key)
        }
      } finally {
        queue.done(key)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.max(1, o.workers) }, worker))
  } finally {
    o.signal.removeEventListener('abort', stop)
  }
}
