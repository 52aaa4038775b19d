import { eventRevision, revision, type Revision, type WatchEvent } from '../interface.ts'

/**
 * The watchers of one store, fed right after each commit.
 *
 * A watcher is either caught up (every change it wants up to the store's revision is in its
 * queue or already taken) or lagging (it must read history from the database before it can
 * take live events again). Live events are queued only for caught-up watchers. A watcher whose
 * queue grows past `maxQueued` (a consumer that stopped reading) drops what it has not taken and
 * becomes lagging: it re-reads that part of history later, as etcd does with slow watchers, so a
 * stuck consumer costs disk reads rather than unbounded memory.
 *
 *   lagging ──history read up to the store's revision──▶ caught up
 *      ▲                                                    │
 *      └──────────── queue overflow ────────────────────────┘
 */
export class Watcher {
  readonly prefix: string
  readonly progressNotify: boolean
  #caughtUp: boolean
  /** The newest revision queued or taken: history is read after it, live events must be newer. */
  #queuedUpTo: number
  #queue: WatchEvent[] = []
  #head = 0
  #waiting: (() => void) | undefined
  #lastActivity: number
  #closed = false
  /** A progress notification was asked for while lagging: send it on catching up. */
  #progressRequested = false

  constructor(spec: {
    prefix: string
    after: Revision
    progressNotify: boolean
    now: number
    caughtUp: boolean
  }) {
    this.prefix = spec.prefix
    this.progressNotify = spec.progressNotify
    this.#caughtUp = spec.caughtUp
    this.#queuedUpTo = spec.after
    this.#lastActivity = spec.now
  }

  get caughtUp(): boolean {
    return this.#caughtUp
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Where reading history resumes: everything up to here has been queued or taken. */
  get queuedUpTo(): Revision {
    return revision(this.#queuedUpTo)
  }

  get pending(): number {
    return this.#queue.length - this.#head
  }

  /** Queues events read from history (in revision order), whether or not the watcher is caught up. */
  pushHistory(events: readonly WatchEvent[]): void {
    for (const e of events) this.#push(e)
  }

  /** The history read reached `upTo`, the store's revision: from now on live events are queued. */
  markCaughtUp(upTo: number): void {
    this.#caughtUp = true
    if (upTo > this.#queuedUpTo) this.#queuedUpTo = upTo
    if (this.#progressRequested) {
      this.#progressRequested = false
      this.#push({ type: 'progress', revision: revision(upTo) })
    }
  }

  /**
   * An explicit progress request at the store's revision `rev`: queued behind every pending event
   * when caught up (all events up to `rev` are already queued), otherwise sent on catching up.
   */
  requestProgress(rev: Revision, now: number): void {
    if (!this.progressNotify) return
    if (!this.#caughtUp) {
      this.#progressRequested = true
      return
    }
    if (rev < this.#queuedUpTo) return
    this.#push({ type: 'progress', revision: rev })
    this.#lastActivity = now
  }

  /** Offers a live event; taken only when caught up and newer than what was queued. */
  offer(e: WatchEvent, now: number, maxQueued: number): void {
    if (!this.#caughtUp || eventRevision(e) <= this.#queuedUpTo) return
    if (this.pending >= maxQueued) {
      this.#dropQueued()
      return
    }
    this.#push(e)
    this.#lastActivity = now
  }

  offerProgress(rev: Revision, now: number, intervalMs: number): void {
    if (!this.progressNotify || !this.#caughtUp || this.pending > 0) return
    if (now - this.#lastActivity < intervalMs || rev < this.#queuedUpTo) return
    this.#push({ type: 'progress', revision: rev })
    this.#lastActivity = now
  }

  /** The next event, or undefined when none is queued. */
  take(): WatchEvent | undefined {
    if (this.#head >= this.#queue.length) return undefined
    const e = this.#queue[this.#head]
    this.#queue[this.#head++] = undefined as unknown as WatchEvent
    if (this.#head === this.#queue.length) {
      this.#queue = []
      this.#head = 0
    } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
    return e
  }

  /** Resolves when an event is queued, the watcher is closed, or wake() is called. */
  wait(): Promise<void> {
    if (this.pending > 0 || this.#closed) return Promise.resolve()
    return new Promise((resolve) => (this.#waiting = resolve))
  }

  wake(): void {
    const w = this.#waiting
    this.#waiting = undefined
    w?.()
  }

  close(): void {
    this.#closed = true
    this.wake()
  }

  #push(e: WatchEvent): void {
    this.#queue.push(e)
    const rev = eventRevision(e)
    if (rev > this.#queuedUpTo) this.#queuedUpTo = rev
    this.wake()
  }

  /** Forgets what was queued but not taken; it will be read again from history. */
  #dropQueued(): void {
    let taken = this.#queuedUpTo
    const first = this.#queue[this.#head]
    if (first !== undefined) taken = eventRevision(first) - 1
    this.#queue = []
    this.#head = 0
    this.#queuedUpTo = taken
    this.#caughtUp = false
    this.wake()
  }
}

/** Watchers grouped by prefix, so a commit checks each distinct prefix once. */
export class WatcherSet {
  readonly #byPrefix = new Map<string, Set<Watcher>>()
  /** The same groups as a list, for publish: every write goes past each of them. */
  #groups: { prefix: string; set: Set<Watcher> }[] = []
  readonly #maxQueued: number

  constructor(maxQueued = 10_000) {
    this.#maxQueued = maxQueued
  }

  add(spec: ConstructorParameters<typeof Watcher>[0]): Watcher {
    const w = new Watcher(spec)
    let set = this.#byPrefix.get(w.prefix)
    if (!set) {
      this.#byPrefix.set(w.prefix, (set = new Set()))
      this.#groups = [...this.#groups, { prefix: w.prefix, set }]
    }
    set.add(w)
    return w
  }

  remove(w: Watcher): void {
    const set = this.#byPrefix.get(w.prefix)
    set?.delete(w)
    if (set?.size === 0) {
      this.#byPrefix.delete(w.prefix)
      this.#groups = this.#groups.filter((g) => g.set !== set)
    }
  }

  get size(): number {
    let n = 0
    for (const set of this.#byPrefix.values()) n += set.size
    return n
  }

  publish(events: readonly WatchEvent[], now: number): void {
    // A list made anew on every change (watchers come and go rarely), walked by index: an
    // offer may end a watcher, which then leaves a later list, not this one.
    const groups = this.#groups
    if (groups.length === 0) return
    for (const e of events) {
      const key = e.type === 'put' ? e.kv.key : e.type === 'delete' ? e.key : undefined
      if (key === undefined) continue
      for (let i = 0; i < groups.length; i++) {
        const g = groups[i] as { prefix: string; set: Set<Watcher> }
        if (!key.startsWith(g.prefix)) continue
        for (const w of g.set) w.offer(e, now, this.#maxQueued)
      }
    }
  }

  requestProgress(rev: Revision, now: number): void {
    for (const set of this.#byPrefix.values()) for (const w of set) w.requestProgress(rev, now)
  }

  notifyProgress(rev: Revision, now: number, intervalMs: number): void {
    for (const set of this.#byPrefix.values()) for (const w of set) w.offerProgress(rev, now, intervalMs)
  }

  closeAll(): void {
    for (const set of this.#byPrefix.values()) for (const w of set) w.close()
    this.#byPrefix.clear()
    this.#groups = []
  }
}
