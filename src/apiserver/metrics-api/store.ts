/**
 * The last two points of every node and container, and the usage they give, as metrics-server's
 * storage keeps them: CPU is the growth of the cumulative counter between the two points divided by
 * the time between them (in nanocores), memory the last working set; the window is that time.
 *
 * - A node needs two points.
 * - A container that started after its previous point (or has none) counts from its start with
 *   nothing used, so a new container has a figure after one scrape, as in metrics-server.
 * - A counter that went back, or a container whose start time changed (restarted), starts over.
 * - A pod has metrics when each of its containers in the last scrape has; its window and
 *   timestamp are those of its first container.
 */
import type { MetricsPoint, NodeScrape } from './scrape.ts'

export interface Usage {
  /** End of the interval, in ms. */
  timestampMs: number
  windowMs: number
  cpuNanoCores: number
  memoryBytes: number
}

interface Pair {
  prev: MetricsPoint | undefined
  last: MetricsPoint
}

export class MetricsStore {
  readonly #nodes = new Map<string, Pair>()
  /** node → `namespace/pod` → container → pair. */
  readonly #pods = new Map<string, Map<string, Map<string, Pair>>>()

  /** Records a node's scrape; the node's previous pods are replaced by what it reports now. */
  store(nodeName: string, scrape: NodeScrape): void {
    if (scrape.node) this.#nodes.set(nodeName, advance(this.#nodes.get(nodeName), scrape.node))
    else this.#nodes.delete(nodeName)
    const before = this.#pods.get(nodeName)
    const pods = new Map<string, Map<string, Pair>>()
    for (const [podKey, containers] of scrape.pods) {
      const old = before?.get(podKey)
      const pairs = new Map<string, Pair>()
      for (const [name, point] of containers) pairs.set(name, advance(old?.get(name), point))
      pods.set(podKey, pairs)
    }
    this.#pods.set(nodeName, pods)
  }

  /** Forgets nodes that are no longer there. */
  retain(nodeNames: ReadonlySet<string>): void {
    for (const n of this.#nodes.keys()) if (!nodeNames.has(n)) this.#nodes.delete(n)
    for (const n of this.#pods.keys()) if (!nodeNames.has(n)) this.#pods.delete(n)
  }

  /** The time of the node's previous point, if it has one (how old the pair's start is). */
  previousPointMs(nodeName: string): number | undefined {
    return this.#nodes.get(nodeName)?.prev?.timestampMs
  }

  nodeUsage(nodeName: string): Usage | undefined {
    const pair = this.#nodes.get(nodeName)
    return pair?.prev ? usageBetween(pair.prev, pair.last) : undefined
  }

  /** The pod's containers' usage by name, or undefined when one of them has none yet. */
  podUsage(namespace: string, name: string): Map<string, Usage> | undefined {
    const key = `${namespace}/${name}`
    for (const pods of this.#pods.values()) {
      const containers = pods.get(key)
      if (!containers) continue
      const out = new Map<string, Usage>()
      for (const [c, pair] of containers) {
        const u = containerUsage(pair)
        if (!u) return undefined
        out.set(c, u)
      }
      return out.size > 0 ? out : undefined
    }
    return undefined
  }
}

/** The pair after a new point: a point no later than the last changes nothing. */
function advance(pair: Pair | undefined, point: MetricsPoint): Pair {
  if (!pair) return { prev: undefined, last: point }
  if (point.timestampMs <= pair.last.timestampMs) return pair
  const restarted =
    point.startTimeMs !== pair.last.startTimeMs || point.cumulativeCpuNs < pair.last.cumulativeCpuNs
  return { prev: restarted ? undefined : pair.last, last: point }
}

function containerUsage(pair: Pair): Usage | undefined {
  const { last } = pair
  // Started after the previous point (or no previous point): from its start, with nothing used.
  const fromStart = last.startTimeMs > 0 && (!pair.prev || last.startTimeMs > pair.prev.timestampMs)
  const prev: MetricsPoint | undefined = fromStart
    ? { timestampMs: last.startTimeMs, startTimeMs: last.startTimeMs, cumulativeCpuNs: 0, memoryBytes: 0 }
    : pair.prev
  return prev ? usageBetween(prev, last) : undefined
}

export function usageBetween(prev: MetricsPoint, last: MetricsPoint): Usage | undefined {
  const windowMs = last.timestampMs - prev.timestampMs
  const used = last.cumulativeCpuNs - prev.cumulativeCpuNs
  if (windowMs <= 0 || used < 0) return undefined
  return {
    timestampMs: last.timestampMs,
    windowMs,
    cpuNanoCores: Math.round((used * 1000) / windowMs),
    memoryBytes: last.memoryBytes,
  }
}
