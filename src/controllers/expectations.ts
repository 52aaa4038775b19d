import type { Clock } from '../base/clock.ts'

/**
 * What a controller is waiting to see (Kubernetes' ControllerExpectations). After it asks for N
 * creations or deletions, its informer's cache still shows the old world until the watch delivers
 * them; acting on that stale cache would create or delete twice. So the controller records what
 * it expects, the informer's handlers count off what they observe, and the controller acts on a
 * key again only once its expectations are met, or have waited so long (5 minutes) that
 * something must have gone wrong (a lost watch event) and the cache is trusted again.
 */
export class Expectations {
  readonly #clock: Clock
  readonly #records = new Map<string, { adds: number; dels: Set<string>; at: number }>()
  readonly #ttlMs: number

  constructor(clock: Clock, ttlMs = 5 * 60 * 1000) {
    this.#clock = clock
    this.#ttlMs = ttlMs
  }

  /** Nothing pending for the key (or its expectations expired): the controller may act on it. */
  satisfied(key: string): boolean {
    const r = this.#records.get(key)
    if (!r) return true
    if (r.adds <= 0 && r.dels.size === 0) return true
    return this.#clock.now() - r.at > this.#ttlMs
  }

  /** Sets what the key waits for: `adds` creations and the deletion of the pods keyed `dels`. */
  expect(key: string, adds: number, dels: readonly string[] = []): void {
    this.#records.set(key, { adds, dels: new Set(dels), at: this.#clock.now() })
  }

  /** A creation was seen (or failed, and will never be seen). */
  creationObserved(key: string): void {
    const r = this.#records.get(key)
    if (r) r.adds--
  }

  /** The deletion of `podKey` was seen (or failed). */
  deletionObserved(key: string, podKey: string): void {
    this.#records.get(key)?.dels.delete(podKey)
  }

  /** Forgets the key (its owner is gone). */
  delete(key: string): void {
    this.#records.delete(key)
  }
}
