/**
 * CPU usage rates from cumulative counters, as cAdvisor derives them: a container's (or pod's, or
 * the node's) usageCoreNanoSeconds only ever grows, and its rate is the growth between two samples
 * divided by the time between them. The runtime's own usageNanoCores is used only until a second
 * sample exists (containerd computes it the same way; a runtime that leaves it out gets no rate on
 * the first sample, as upstream's CRI stats provider reports none then).
 */

/** One reading of a cumulative CPU counter. */
export interface CpuSample {
  /** When it was read, in nanoseconds since the epoch. */
  timestampNs: number
  usageCoreNanoSeconds: number
}

/**
 * Usage in nanocores between two samples of one counter; undefined when the second is not later
 * or the counter went backwards (a restarted container: its counter started again).
 */
export function usageNanoCores(previous: CpuSample, current: CpuSample): number | undefined {
  const elapsedNs = current.timestampNs - previous.timestampNs
  const used = current.usageCoreNanoSeconds - previous.usageCoreNanoSeconds
  if (elapsedNs <= 0 || used < 0) return undefined
  return Math.round((used / elapsedNs) * 1e9)
}

/**
 * The last sample of each counter, by key (container id, pod uid, 'node'), and the rate computed
 * when it came. Asking again with a sample of the same time answers the rate computed before, so
 * two readers close together (kubectl, the metrics scraper) see the same figure instead of a
 * rate over no time.
 */
export class CpuUsageTracker {
  readonly #last = new Map<string, { sample: CpuSample; rate: number | undefined; seen: number }>()
  #round = 0

  /** Starts a round of observations; keys not observed in it are forgotten by prune(). */
  beginRound(): void {
    this.#round++
  }

  /** The rate of `key` given its current sample; `reported` is the runtime's own rate, if any. */
  observe(key: string, sample: CpuSample, reported?: number): number | undefined {
    const last = this.#last.get(key)
    if (last && sample.timestampNs <= last.sample.timestampNs) {
      // The same reading again (or one older than the last): the rate computed then stands.
      last.seen = this.#round
      return last.rate
    }
    const rate = last ? usageNanoCores(last.sample, sample) : undefined
    // A counter that went backwards started over: the runtime's figure stands in until the next sample.
    const value = rate ?? reported
    this.#last.set(key, { sample, rate: value, seen: this.#round })
    return value
  }

  /** Forgets the counters not observed in the current round (containers and pods that are gone). */
  prune(): void {
    for (const [key, v] of this.#last) if (v.seen !== this.#round) this.#last.delete(key)
  }

  get size(): number {
    return this.#last.size
  }
}

/**
 * A node-wide cumulative counter made of the counters of whatever runs on it: each counter's
 * growth since it was last seen is added, a new counter adds all it has, and a counter that
 * disappears keeps what it added. So the node's usageCoreNanoSeconds never goes back when a
 * container exits, as the root cgroup's counter does not.
 */
export class CumulativeCounter {
  readonly #last = new Map<string, number>()
  #total = 0

  /** Adds the counters' growth; `counters` holds every counter that exists now, by key. */
  update(counters: ReadonlyMap<string, number>): number {
    for (const [key, value] of counters) {
      const before = this.#last.get(key) ?? 0
      // A counter that went backwards was restarted: all it has now is new.
      this.#total += value >= before ? value - before : value
      this.#last.set(key, value)
    }
    for (const key of this.#last.keys()) if (!counters.has(key)) this.#last.delete(key)
    return this.#total
  }

  get total(): number {
    return this.#total
  }
}
