/**
 * Keeps the metrics store filled while someone reads the metrics API, as metrics-server does all
 * the time: every node's kubelet is scraped every `resolutionMs` (15 s, metrics-server's
 * --metric-resolution), and usage is computed over the last two scrapes. Scraping starts with the
 * first read and stops when nobody has read for `idleMs` (10 minutes), so a cluster of simulated
 * nodes that nobody asks about costs nothing. The first read waits for a first pair of scrapes,
 * `pairGapMs` (1 s) apart, so that `kubectl top` answers at once instead of "metrics not
 * available yet"; later reads answer from the store (at most one resolution old).
 */
import type { Node } from '../../api/generated/types/core-v1.ts'
import type { Clock, Timer } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import type { NodeScrape } from './scrape.ts'
import { MetricsStore } from './store.ts'

export interface MetricsSourceOptions {
  /** The nodes to scrape now. */
  nodes: () => readonly Readonly<Node>[]
  scrape: (node: Readonly<Node>, signal: AbortSignal) => Promise<NodeScrape>
  clock: Clock
  log: Logger
  resolutionMs?: number
  idleMs?: number
  pairGapMs?: number
  /** Scrapes at once, at most (default 64). */
  concurrency?: number
}

export class MetricsSource {
  readonly store = new MetricsStore()
  readonly #o: MetricsSourceOptions
  #lastReadAt = 0
  #timer: Timer | undefined
  #first: Promise<void> | undefined
  #abort = new AbortController()
  #rounds = 0

  constructor(o: MetricsSourceOptions) {
    this.#o = o
  }

  /** Scrape rounds done so far (tests). */
  get rounds(): number {
    return this.#rounds
  }

  /** The store, once it holds a first pair of scrapes; keeps scraping going. */
  async read(): Promise<MetricsStore> {
    this.#lastReadAt = this.#o.clock.now()
    if (!this.#first) {
      this.#first = this.#firstPair().finally(() => this.#schedule())
    }
    await this.#first
    return this.store
  }

  stop(): void {
    this.#abort.abort()
    this.#timer?.cancel()
    this.#timer = undefined
  }

  async #firstPair(): Promise<void> {
    await this.#round()
    await new Promise<void>((resolve) => this.#o.clock.setTimer(this.#o.pairGapMs ?? 1000, resolve))
    await this.#round()
  }

  #schedule(): void {
    if (this.#abort.signal.aborted) return
    this.#timer = this.#o.clock.setTimer(this.#o.resolutionMs ?? 15_000, () => {
      this.#timer = undefined
      if (this.#o.clock.now() - this.#lastReadAt > (this.#o.idleMs ?? 600_000)) {
        // Nobody reads: stop, and start over (with a fresh pair) on the next read.
        this.#first = undefined
        return
      }
      void this.#round().finally(() => this.#schedule())
    })
  }

  /** Scrapes every node once; failures are logged and the node left out until it answers. */
  async #round(): Promise<void> {
    const nodes = this.#o.nodes()
    const names = new Set(nodes.map((n) => n.metadata?.name ?? ''))
    const queue = [...nodes]
    const worker = async () => {
      for (let n = queue.shift(); n; n = queue.shift()) {
        const name = n.metadata?.name ?? ''
        try {
          this.store.store(name, await this.#o.scrape(n, this.#abort.signal))
        } catch (err) {
          if (this.#abort.signal.aborted) return
          this.#o.log.debug({ node: name, err: (err as Error).message }, 'cannot scrape the kubelet')
          this.store.store(name, { node: undefined, pods: new Map() })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.#o.concurrency ?? 64, queue.length) }, worker))
    this.store.retain(names)
    this.#rounds++
  }
}
