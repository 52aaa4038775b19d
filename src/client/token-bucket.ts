import type { Clock } from '../base/clock.ts'

/**
 * A token bucket (golang.org/x/time/rate's shape, as client-go uses it): `burst` tokens at most,
 * refilled at `qps` per second. `reserve()` takes a token now, going into debt when there is
 * none, and says how long the caller must wait before using it; reservations are served in
 * order, so waiting callers never starve each other.
 */
export class TokenBucket {
  readonly #qps: number
  readonly #burst: number
  readonly #clock: Clock
  #tokens: number
  #at: number

  constructor(qps: number, burst: number, clock: Clock) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`a token bucket needs qps > 0 and burst >= 1`)
    this.#qps = qps
    this.#burst = burst
    this.#clock = clock
    this.#tokens = burst
    this.#at = clock.now()
  }

  /** Takes one token; resolves to the milliseconds to wait before it may be used (0: now). */
  reserve(): number {
    const now = this.#clock.now()
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#qps)
    this.#at = now
    this.#tokens -= 1
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.#qps) * 1000)
  }

  /** Waits for a token. */
  async take(signal?: AbortSignal): Promise<void> {
    const wait = this.reserve()
    if (wait > 0) await this.#clock.sleep(wait, signal)
  }
}
