import type { AffinityTerm } from './affinity-terms.ts'
import type { NodeInfo, PodInfo } from './node-info.ts'

type Labels = Readonly<Record<string, string>>

/** The node's value of a topology label; undefined when it has none (inherited keys don't count). */
export function topologyValue(labels: Labels, key: string): string | undefined {
  const v: unknown = labels[key]
  return typeof v === 'string' ? v : undefined
}

/**
 * A number per node for some pods (how many there are, or the sum of their terms' weights), and,
 * asked for a topology key, the same summed per value of that label over the nodes: built the
 * first time a key is asked for, then kept current as pods come and go.
 */
export class NodeSums {
  readonly #byNode = new Map<string, number>()
  readonly #byTopology = new Map<string, Map<string, number>>()
  readonly #labels: (node: string) => Labels | undefined

  constructor(labels: (node: string) => Labels | undefined) {
    this.#labels = labels
  }

  get empty(): boolean {
    return this.#byNode.size === 0
  }

  add(node: string, n: number): void {
    const next = (this.#byNode.get(node) ?? 0) + n
    if (next === 0) this.#byNode.delete(node)
    else this.#byNode.set(node, next)
    if (this.#byTopology.size === 0) return
    const labels = this.#labels(node)
    if (!labels) return
    for (const [key, sums] of this.#byTopology) {
      const v = topologyValue(labels, key)
      if (v === undefined) continue
      const s = (sums.get(v) ?? 0) + n
      if (s === 0) sums.delete(v)
      else sums.set(v, s)
    }
  }

  /** Per value of the topology label, the sum over the nodes that have it (none: not listed). */
  byTopology(key: string): ReadonlyMap<string, number> {
    let sums = this.#byTopology.get(key)
    if (!sums) {
      sums = new Map()
      for (const [node, n] of this.#byNode) {
        const labels = this.#labels(node)
        const v = labels && topologyValue(labels, key)
        if (v !== undefined) sums.set(v, (sums.get(v) ?? 0) + n)
      }
      for (const [v, s] of sums) if (s === 0) sums.delete(v)
      this.#byTopology.set(key, sums)
    }
    return sums
  }

  nodes(): ReadonlyMap<string, number> {
    return this.#byNode
  }

  /** Node labels changed: the sums per topology value are worked out again when next asked. */
  relabel(): void {
    this.#byTopology.clear()
  }
}

/** The existing pods whose namespace and labels are the same: whatever matches one matches all. */
export interface LabelGroup {
  /** One of them, to ask terms about. */
  readonly sample: PodInfo
  /** How many per node. */
  readonly nodes: NodeSums
}

/** The existing pods' copies of one term: how many per node, or the sum of their weights. */
export interface TermGroup {
  readonly term: AffinityTerm
  readonly nodes: NodeSums
}

/** The kinds of existing pods' terms InterPodAffinity counts. */
export type TermKind =
  'requiredAffinity' | 'requiredAntiAffinity' | 'preferredAffinity' | 'preferredAntiAffinity'

const termKinds: readonly TermKind[] = [
  'requiredAffinity',
  'requiredAntiAffinity',
  'preferredAffinity',
  'preferredAntiAffinity',
]

/**
 * The pods on the nodes, grouped for InterPodAffinity: by namespace and labels (what the incoming
 * pod's terms match), and by each distinct term they carry (what matches the incoming pod), each
 * group with its numbers per node and per topology value. A cycle then asks each group once and
 * adds its sums, instead of visiting every pod: pods made from one template share one group.
 * Kubernetes walks the pods on every node each cycle; the answers are the same.
 *
 * The scheduler cache keeps one current as pods come and go; a plugin without one builds it from
 * the nodes.
 */
export class AffinityIndex {
  readonly #labels: (node: string) => Labels | undefined
  readonly #byLabels = new Map<string, LabelGroup>()
  readonly #terms: Record<TermKind, Map<string, TermGroup>> = {
    requiredAffinity: new Map(),
    requiredAntiAffinity: new Map(),
    preferredAffinity: new Map(),
    preferredAntiAffinity: new Map(),
  }

  constructor(labels: (node: string) => Labels | undefined) {
    this.#labels = labels
  }

  /** An index of the pods on these nodes. */
  static of(nodes: readonly NodeInfo[]): AffinityIndex {
    const byName = new Map(nodes.map((n) => [n.name, n]))
    const index = new AffinityIndex((name) => byName.get(name)?.node.metadata?.labels ?? undefined)
    for (const n of nodes) for (const p of n.pods) index.add(p, n.name, 1)
    return index
  }

  /** Pods by namespace and labels. */
  labelGroups(): Iterable<LabelGroup> {
    return this.#byLabels.values()
  }

  /** Existing pods' terms of a kind, one group per distinct term. */
  terms(kind: TermKind): Iterable<TermGroup> {
    return this.#terms[kind].values()
  }

  /** The pod is on the node (n = 1), or no longer (n = −1). */
  add(p: PodInfo, node: string, n: 1 | -1): void {
    let g = this.#byLabels.get(p.labelsKey)
    if (!g) {
      if (n < 0) return
      g = { sample: p, nodes: new NodeSums(this.#labels) }
      this.#byLabels.set(p.labelsKey, g)
    }
    g.nodes.add(node, n)
    if (g.nodes.empty) this.#byLabels.delete(p.labelsKey)
    for (const kind of termKinds) {
      const terms = p.affinity[kind]
      if (terms.length === 0) continue
      const groups = this.#terms[kind]
      for (const t of terms) {
        let tg = groups.get(t.key)
        if (!tg) {
          if (n < 0) continue
          tg = { term: t, nodes: new NodeSums(this.#labels) }
          groups.set(t.key, tg)
        }
        tg.nodes.add(node, 'weight' in t && typeof t.weight === 'number' ? n * t.weight : n)
        if (tg.nodes.empty) groups.delete(t.key)
      }
    }
  }

  /**
   * Every group's numbers, per node and per value of the topology keys given, as one plain object
   * (tests compare a kept index with one built afresh).
   */
  describe(topologyKeys: readonly string[]): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {}
    const put = (name: string, sums: NodeSums) => {
      const o: Record<string, number> = {}
      for (const [node, n] of sums.nodes()) o[`node:${node}`] = n
      for (const key of topologyKeys) for (const [v, n] of sums.byTopology(key)) o[`${key}=${v}`] = n
      out[name] = o
    }
    for (const [key, g] of this.#byLabels) put(`labels ${key}`, g.nodes)
    for (const kind of termKinds) for (const [key, g] of this.#terms[kind]) put(`${kind} ${key}`, g.nodes)
    return out
  }

  /** Some node's labels changed. */
  relabel(): void {
    for (const g of this.#byLabels.values()) g.nodes.relabel()
    for (const kind of termKinds) for (const g of this.#terms[kind].values()) g.nodes.relabel()
  }
}
