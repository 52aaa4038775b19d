/**
 * Time, injected. Long-lived code takes a Clock instead of calling Date.now() and setTimeout
 * directly, so tests can drive time with a FakeClock instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** Calls `fn` after `ms` unless the returned timer is cancelled first. */
  setTimer(ms: number, fn: () => void): Timer
}

export interface Timer {
  cancel(): void
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error)
      const onAbort = () => {
        clearTimeout(handle)
        reject(signal?.reason as Error)
      }
      const handle = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal?.addEventListener('abort', onAbort, { once: true })
    }),
  setTimer: (ms, fn) => {
    const handle = setTimeout(fn, ms)
    handle.unref()
    return { cancel: () => clearTimeout(handle) }
  },
}

/**
 * A clock that moves only when told to. Timers and sleeps fire, in due order, from advance().
 */
export class FakeClock implements Clock {
  #now: number
  #timers: { at: number; seq: number; fn: () => void }[] = []
  #seq = 0

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimer(ms: number, fn: () => void): Timer {
    const entry = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn }
    this.#timers.push(entry)
    return { cancel: () => void (this.#timers = this.#timers.filter((t) => t !== entry)) }
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error)
      const timer = this.setTimer(ms, () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      })
      const onAbort = () => {
        timer.cancel()
        reject(signal?.reason as Error)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Moves time forward by `ms`, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    const until = this.#now + ms
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0]
      if (!due) break
      this.#timers = this.#timers.filter((t) => t !== due)
      this.#now = due.at
      due.fn()
    }
    this.#now = until
  }

  /** How many timers are waiting: lets a test see that code has gone to sleep. */
  pendingTimers(): number {
    return this.#timers.length
  }
}
