/**
 * Per-key exponential back-off as client-go's flowcontrol.Backoff, which the kubelet uses for
 * CrashLoopBackOff (keyed by pod and container) and ImagePullBackOff (keyed by pod and image):
 * the first failure waits `initialMs`, each next one twice as long up to `maxMs`, and an entry
 * untouched for twice `maxMs` (10 minutes with the kubelet's 5) starts over.
 */
import type { Clock } from '../../base/clock.ts'

export const crashLoopInitialMs = 10_000
export const crashLoopMaxMs = 300_000

interface Entry {
  backoffMs: number
  lastUpdateMs: number
}

export class Backoff {
  readonly #entries = new Map<string, Entry>()
  readonly #clock: Clock
  readonly #initialMs: number
  readonly #maxMs: number

  constructor(o: { clock: Clock; initialMs?: number; maxMs?: number }) {
    this.#clock = o.clock
    this.#initialMs = o.initialMs ?? crashLoopInitialMs
    this.#maxMs = o.maxMs ?? crashLoopMaxMs
  }

  /** The current back-off of `key` (0 when none). */
  get(key: string): number {
    return this.#entries.get(key)?.backoffMs ?? 0
  }

  /** Records a failure at `atMs`: starts at initialMs, or doubles up to maxMs. */
  next(key: string, atMs: number): void {
    const e = this.#entries.get(key)
    if (e === undefined || this.#expired(e, atMs)) {
      this.#entries.set(key, { backoffMs: this.#initialMs, lastUpdateMs: atMs })
      return
    }
    e.backoffMs = Math.min(e.backoffMs * 2, this.#maxMs)
    e.lastUpdateMs = atMs
  }

  /** Whether `key` is still backing off from an event at `eventMs` (a container's finishedAt). */
  isInBackOffSince(key: string, eventMs: number): boolean {
    const e = this.#entries.get(key)
    if (e === undefined || this.#expired(e, this.#clock.now())) return false
    return this.#clock.now() - eventMs < e.backoffMs
  }

  /** Whether `key` is still backing off from its last failure. */
  isInBackOffSinceUpdate(key: string): boolean {
    const e = this.#entries.get(key)
    if (e === undefined || this.#expired(e, this.#clock.now())) return false
    return this.#clock.now() - e.lastUpdateMs < e.backoffMs
  }

  /** When the back-off from `eventMs` ends (for a timer to sync again then). */
  endsAt(key: string, eventMs: number): number {
    return eventMs + this.get(key)
  }

  /** When the back-off from the last failure ends. */
  endsAtSinceUpdate(key: string): number {
    const e = this.#entries.get(key)
    return e === undefined ? this.#clock.now() : e.lastUpdateMs + e.backoffMs
  }

  /** Forgets keys starting with `prefix` (a pod that is gone). */
  forget(prefix: string): void {
    for (const k of this.#entries.keys()) if (k.startsWith(prefix)) this.#entries.delete(k)
  }

  #expired(e: Entry, nowMs: number): boolean {
    return nowMs - e.lastUpdateMs > 2 * this.#maxMs
  }
}
