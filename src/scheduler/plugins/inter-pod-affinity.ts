import type { Pod } from '../../api/generated/types/core-v1.ts'
import { AffinityIndex, topologyValue, type LabelGroup, type TermKind } from '../framework/affinity-index.ts'
import {
  podAffinityTerms,
  type AffinityTerm,
  type WeightedAffinityTerm,
} from '../framework/affinity-terms.ts'
import { stateKey, type CycleState } from '../framework/cycle-state.ts'
import {
  maxNodeScore,
  type FilterPlugin,
  type Handle,
  type NodeScore,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type ScorePlugin,
} from '../framework/interfaces.ts'
import type { NodeInfo, PodInfo } from '../framework/node-info.ts'
import { error, skip, success, unresolvable, unschedulable, type Status } from '../framework/status.ts'

export const interPodAffinityName = 'InterPodAffinity'

/** The Filter reasons, worded as kube-scheduler words them. */
export const reasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules"
export const reasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules"
export const reasonExistingAntiAffinityRulesNotMatch =
  "node(s) didn't satisfy existing pods anti-affinity rules"

/** InterPodAffinityArgs of the scheduler configuration. */
export interface InterPodAffinityArgs {
  /**
   * What an existing pod's required affinity term adds to the score of the nodes in its
   * topology when the incoming pod matches it (0 to 100; 0 turns this off).
   */
  readonly hardPodAffinityWeight: number
  /** Skip PreScore for pods without preferred terms of their own, ignoring existing pods' preferences. */
  readonly ignorePreferredTermsOfExistingPods: boolean
}

export const defaultInterPodAffinityArgs: InterPodAffinityArgs = {
  hardPodAffinityWeight: 1,
  ignorePreferredTermsOfExistingPods: false,
}

const maxHardPodAffinityWeight = 100

/** The plugin's args with defaults filled in; throws on values kube-scheduler's validation rejects. */
export function interPodAffinityArgs(
  args: Readonly<Record<string, unknown>> | undefined,
): InterPodAffinityArgs {
  const weight = args?.hardPodAffinityWeight ?? defaultInterPodAffinityArgs.hardPodAffinityWeight
  if (
    typeof weight !== 'number' ||
    !Number.isInteger(weight) ||
    weight < 0 ||
    weight > maxHardPodAffinityWeight
  ) {
    throw new Error(
      `InterPodAffinityArgs: hardPodAffinityWeight: Invalid value: ${JSON.stringify(weight)}: not in valid range [0, ${maxHardPodAffinityWeight}]`,
    )
  }
  const ignore =
    args?.ignorePreferredTermsOfExistingPods ?? defaultInterPodAffinityArgs.ignorePreferredTermsOfExistingPods
  if (typeof ignore !== 'boolean') {
    throw new Error(
      `InterPodAffinityArgs: ignorePreferredTermsOfExistingPods: Invalid value: ${JSON.stringify(ignore)}: must be a boolean`,
    )
  }
  return { hardPodAffinityWeight: weight, ignorePreferredTermsOfExistingPods: ignore }
}

/**
 * The pod being scheduled as existing pods' terms see it: its namespace, labels and namespace
 * labels, worked out once per cycle.
 */
class IncomingPod {
  readonly pod: Readonly<Pod>
  readonly #namespace: string
  readonly #labels: Readonly<Record<string, string>>
  readonly #namespaceLabels: Readonly<Record<string, string>>
  /** Answers by term key: existing pods made from one template carry equal terms. */
  readonly #matched = new Map<string, boolean>()

  constructor(pod: Readonly<Pod>, handle: Handle) {
    this.pod = pod
    this.#namespace = pod.metadata?.namespace ?? ''
    this.#labels = pod.metadata?.labels ?? noLabels
    // Kubernetes reads an unknown namespace as one without labels.
    this.#namespaceLabels = handle.namespaceLabels(this.#namespace) ?? noLabels
  }

  /**
   * An existing pod's term matches this pod: its namespace is one of the term's, or its
   * namespace's labels match the term's namespaceSelector; and its labels match the selector.
   */
  matchedBy(term: AffinityTerm): boolean {
    let m = this.#matched.get(term.key)
    if (m === undefined) {
      m = this.#match(term)
      this.#matched.set(term.key, m)
    }
    return m
  }

  #match(term: AffinityTerm): boolean {
    if (!term.selector) return false
    if (
      !term.namespaces.has(this.#namespace) &&
      !(term.namespaceSelector?.matches(this.#namespaceLabels) ?? false)
    )
      return false
    return term.selector.matches(this.#labels)
  }
}

/**
 * A term of the pod being scheduled, for one cycle. Kubernetes resolves its namespaceSelector to
 * the namespaces that exist and match it, once per cycle; we ask the same of each namespace the
 * first time we meet it (an unknown namespace matches only an empty selector).
 */
class CycleTerm {
  readonly term: AffinityTerm
  readonly #handle: Handle
  readonly #namespaces = new Map<string, boolean>()
  readonly #byLabels = new Map<string, boolean>()

  constructor(term: AffinityTerm, handle: Handle) {
    this.term = term
    this.#handle = handle
  }

  get topologyKey(): string {
    return this.term.topologyKey
  }

  /** An existing pod matches the term: asked once per distinct namespace and labels. */
  matchesInfo(p: PodInfo): boolean {
    let m = this.#byLabels.get(p.labelsKey)
    if (m === undefined) {
      m = this.matches(p.pod)
      this.#byLabels.set(p.labelsKey, m)
    }
    return m
  }

  matches(pod: Readonly<Pod>): boolean {
    const { selector } = this.term
    return (
      !!selector &&
      this.#inNamespace(pod.metadata?.namespace ?? '') &&
      selector.matches(pod.metadata?.labels ?? noLabels)
    )
  }

  #inNamespace(ns: string): boolean {
    const { namespaces, namespaceSelector } = this.term
    if (namespaces.has(ns)) return true
    if (!namespaceSelector) return false
    if (namespaceSelector.empty) return true
    let m = this.#namespaces.get(ns)
    if (m === undefined) {
      const labels = this.#handle.namespaceLabels(ns)
      m = labels !== undefined && namespaceSelector.matches(labels)
      this.#namespaces.set(ns, m)
    }
    return m
  }
}

class WeightedCycleTerm extends CycleTerm {
  readonly weight: number

  constructor(term: WeightedAffinityTerm, handle: Handle) {
    super(term, handle)
    this.weight = term.weight
  }
}

/** The pod matches every term (and there is at least one). */
function matchesAll(terms: readonly CycleTerm[], pod: Readonly<Pod>): boolean {
  if (terms.length === 0) return false
  for (const t of terms) if (!t.matches(pod)) return false
  return true
}

function infoMatchesAll(terms: readonly CycleTerm[], p: PodInfo): boolean {
  if (terms.length === 0) return false
  for (const t of terms) if (!t.matchesInfo(p)) return false
  return true
}

const noLabels: Readonly<Record<string, string>> = Object.freeze({})

function nodeLabels(node: NodeInfo): Readonly<Record<string, string>> {
  return node.node.metadata?.labels ?? noLabels
}

// --- numbers per topology pair ------------------------------------------------------------------

/**
 * A number per topology pair (a node label key and value), as nested maps so that a lookup is two
 * Map reads and allocates nothing.
 */
export class TopologyValues {
  readonly #byKey = new Map<string, Map<string, number>>()
  /** The keys of #byKey, for iterating without an iterator object. */
  readonly #keys: string[] = []
  #pairs = 0

  /** How many pairs have an entry. */
  get size(): number {
    return this.#pairs
  }

  get keys(): readonly string[] {
    return this.#keys
  }

  get(key: string, value: string): number {
    return this.#byKey.get(key)?.get(value) ?? 0
  }

  /** Adds n to the pair; with `dropZero`, a pair that comes to 0 loses its entry (counts). */
  add(key: string, value: string, n: number, dropZero = false): void {
    let values = this.#byKey.get(key)
    if (!values) {
      values = new Map()
      this.#byKey.set(key, values)
      this.#keys.push(key)
    }
    const had = values.has(value)
    const next = (values.get(value) ?? 0) + n
    if (dropZero && next === 0) {
      if (had) {
        values.delete(value)
        this.#pairs--
      }
      if (values.size === 0) {
        this.#byKey.delete(key)
        this.#keys.splice(this.#keys.indexOf(key), 1)
      }
      return
    }
    values.set(value, next)
    if (!had) this.#pairs++
  }

  /** The sum over the node's labels (Score). */
  sumFor(labels: Readonly<Record<string, string>>): number {
    let sum = 0
    for (const key of this.#keys) {
      const v = topologyValue(labels, key)
      if (v !== undefined) sum += this.#byKey.get(key)?.get(v) ?? 0
    }
    return sum
  }

  clone(): TopologyValues {
    const c = new TopologyValues()
    for (const key of this.#keys) {
      c.#byKey.set(key, new Map(this.#byKey.get(key)))
      c.#keys.push(key)
    }
    c.#pairs = this.#pairs
    return c
  }

  /** As a plain object keyed "key=value" (tests, debugging). */
  toObject(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const key of this.#keys) for (const [v, n] of this.#byKey.get(key) ?? []) out[`${key}=${v}`] = n
    return out
  }
}

// --- PreFilter and Filter -----------------------------------------------------------------------

/**
 * What PreFilter works out once per cycle, so that Filter is a few map reads per node: per
 * topology pair, how many existing pods (a) have a required anti-affinity term the pod matches,
 * (b) match all the pod's required affinity terms (counted once per term), (c) match one of the
 * pod's required anti-affinity terms (counted per term). addPod and removePod keep them current
 * for preemption's "what if" questions.
 */
class PreFilterState {
  readonly incoming: IncomingPod
  readonly affinityTerms: readonly CycleTerm[]
  readonly antiAffinityTerms: readonly CycleTerm[]
  /** The pod matches all its own required affinity terms (so it may be the first of a group). */
  readonly matchesOwnAffinity: boolean
  readonly existingAntiAffinity: TopologyValues
  readonly affinity: TopologyValues
  readonly antiAffinity: TopologyValues

  constructor(o: {
    incoming: IncomingPod
    affinityTerms: readonly CycleTerm[]
    antiAffinityTerms: readonly CycleTerm[]
    counts?: Pick<PreFilterState, 'existingAntiAffinity' | 'affinity' | 'antiAffinity'>
  }) {
    this.incoming = o.incoming
    this.affinityTerms = o.affinityTerms
    this.antiAffinityTerms = o.antiAffinityTerms
    this.matchesOwnAffinity = matchesAll(o.affinityTerms, o.incoming.pod)
    this.existingAntiAffinity = o.counts?.existingAntiAffinity ?? new TopologyValues()
    this.affinity = o.counts?.affinity ?? new TopologyValues()
    this.antiAffinity = o.counts?.antiAffinity ?? new TopologyValues()
  }

  get hasTerms(): boolean {
    return this.affinityTerms.length > 0 || this.antiAffinityTerms.length > 0
  }

  /*
   * The two count methods run once per existing pod in PreFilter, so they take positional
   * arguments and allocate nothing. n is 1 for a pod that is there, −1 for one that is gone.
   */

  /** Counts the existing pod's required anti-affinity terms that the pod matches. */
  countExistingAntiAffinity(existing: PodInfo, labels: Readonly<Record<string, string>>, n: number): void {
    for (const t of existing.affinity.requiredAntiAffinity) {
      const v = topologyValue(labels, t.topologyKey)
      if (v !== undefined && this.incoming.matchedBy(t))
        this.existingAntiAffinity.add(t.topologyKey, v, n, true)
    }
  }

  /** Counts the existing pod against the pod's own required terms. */
  countForOwnTerms(existing: PodInfo, labels: Readonly<Record<string, string>>, n: number): void {
    if (infoMatchesAll(this.affinityTerms, existing)) {
      for (const t of this.affinityTerms) {
        const v = topologyValue(labels, t.topologyKey)
        if (v !== undefined) this.affinity.add(t.topologyKey, v, n, true)
      }
    }
    for (const t of this.antiAffinityTerms) {
      const v = topologyValue(labels, t.topologyKey)
      if (v !== undefined && t.matchesInfo(existing)) this.antiAffinity.add(t.topologyKey, v, n, true)
    }
  }

  /** countForOwnTerms for a group of pods alike, on whichever nodes they are. */
  countGroupForOwnTerms(g: LabelGroup): void {
    if (infoMatchesAll(this.affinityTerms, g.sample)) {
      for (const t of this.affinityTerms)
        for (const [v, n] of g.nodes.byTopology(t.topologyKey)) this.affinity.add(t.topologyKey, v, n, true)
    }
    for (const t of this.antiAffinityTerms) {
      if (!t.matchesInfo(g.sample)) continue
      for (const [v, n] of g.nodes.byTopology(t.topologyKey)) this.antiAffinity.add(t.topologyKey, v, n, true)
    }
  }

  clone(): PreFilterState {
    return new PreFilterState({
      incoming: this.incoming,
      affinityTerms: this.affinityTerms,
      antiAffinityTerms: this.antiAffinityTerms,
      counts: {
        existingAntiAffinity: this.existingAntiAffinity.clone(),
        affinity: this.affinity.clone(),
        antiAffinity: this.antiAffinity.clone(),
      },
    })
  }
}

/** Null: PreFilter skipped (nothing to check for this pod). */
const preFilterKey = stateKey<PreFilterState | null>('PreFilterInterPodAffinity', (s) => s && s.clone())

/** The counts PreFilter wrote (and addPod/removePod changed), for tests; undefined when it skipped. */
export function preFilterCounts(state: CycleState):
  | {
      existingAntiAffinity: Record<string, number>
      affinity: Record<string, number>
      antiAffinity: Record<string, number>
    }
  | undefined {
  const s = state.read(preFilterKey)
  if (!s) return undefined
  return {
    existingAntiAffinity: s.existingAntiAffinity.toObject(),
    affinity: s.affinity.toObject(),
    antiAffinity: s.antiAffinity.toObject(),
  }
}

const affinityRejection = unresolvable(reasonAffinityRulesNotMatch)
const antiAffinityRejection = unschedulable(reasonAntiAffinityRulesNotMatch)
const existingAntiAffinityRejection = unschedulable(reasonExistingAntiAffinityRulesNotMatch)
const noPreFilterState = error(
  `reading "${preFilterKey.name}" from the cycle state: not found (PreFilter did not run)`,
)

// --- PreScore and Score -------------------------------------------------------------------------

/** Per topology pair, the sum of weights (positive: affinity, negative: anti-affinity). */
const preScoreKey = stateKey<TopologyValues>('PreScoreInterPodAffinity')

/**
 * InterPodAffinity (Kubernetes' plugin of that name):
 *
 * - Filter: a node fits when, in its topology domain (the nodes sharing its value of the term's
 *   topologyKey), there is a pod matching all the pod's required affinity terms (or no such pod
 *   exists anywhere and the pod matches them itself: the first of a group), no pod matching one
 *   of its required anti-affinity terms, and no existing pod whose required anti-affinity the pod
 *   matches. A node without a term's topology key is in no domain.
 * - Score: preferred terms add (affinity) or subtract (anti-affinity) their weight for each
 *   matching pod in the domain, both the incoming pod's terms and existing pods' terms matching
 *   it (existing pods' required affinity counts hardPodAffinityWeight); scaled min..max to 0..100.
 *
 * PreFilter counts matches per topology pair once per cycle from the cache's AffinityIndex:
 * existing pods' required anti-affinity terms, and the groups of pods alike only when the pod has
 * required terms. Pods with neither get Skip, and Filter does nothing for them.
 */
export function interPodAffinity(
  handle: Handle,
  args?: Readonly<Record<string, unknown>>,
): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin {
  const { hardPodAffinityWeight, ignorePreferredTermsOfExistingPods } = interPodAffinityArgs(args)

  return {
    name: interPodAffinityName,

    preFilter(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): PreFilterResult {
      const terms = podAffinityTerms(pod)
      if (terms.error) return { status: unresolvable(`parsing pod: ${terms.error}`) }
      const s = new PreFilterState({
        incoming: new IncomingPod(pod, handle),
        affinityTerms: terms.requiredAffinity.map((t) => new CycleTerm(t, handle)),
        antiAffinityTerms: terms.requiredAntiAffinity.map((t) => new CycleTerm(t, handle)),
      })
      const index = handle.snapshot.affinityIndex?.() ?? AffinityIndex.of(nodes)
      for (const { term, nodes: sums } of index.terms('requiredAntiAffinity')) {
        if (!s.incoming.matchedBy(term)) continue
        for (const [v, n] of sums.byTopology(term.topologyKey))
          s.existingAntiAffinity.add(term.topologyKey, v, n, true)
      }
      if (s.hasTerms) {
        for (const g of index.labelGroups()) s.countGroupForOwnTerms(g)
      } else if (s.existingAntiAffinity.size === 0) {
        state.write(preFilterKey, null)
        return { status: skip }
      }
      state.write(preFilterKey, s)
      return { status: success }
    },

    addPod(state: CycleState, _pod: Readonly<Pod>, toAdd: PodInfo, node: NodeInfo): Status {
      return updateWithPod(state, toAdd, node, 1)
    },

    removePod(state: CycleState, _pod: Readonly<Pod>, toRemove: PodInfo, node: NodeInfo): Status {
      return updateWithPod(state, toRemove, node, -1)
    },

    filter(state: CycleState, _pod: Readonly<Pod>, node: NodeInfo): Status {
      if (!state.has(preFilterKey)) return noPreFilterState
      const s = state.read(preFilterKey)
      if (!s) return success
      const labels = nodeLabels(node)

      // Affinity: every term's topology label on the node, and in each such domain a pod that
      // matches all the terms, unless no pod anywhere does and the pod matches them itself.
      let podsExist = true
      for (const t of s.affinityTerms) {
        const v = topologyValue(labels, t.topologyKey)
        if (v === undefined) return affinityRejection
        if (s.affinity.get(t.topologyKey, v) <= 0) podsExist = false
      }
      if (!podsExist && !(s.affinity.size === 0 && s.matchesOwnAffinity)) return affinityRejection

      if (s.antiAffinity.size > 0) {
        for (const t of s.antiAffinityTerms) {
          const v = topologyValue(labels, t.topologyKey)
          if (v !== undefined && s.antiAffinity.get(t.topologyKey, v) > 0) return antiAffinityRejection
        }
      }

      if (s.existingAntiAffinity.size > 0) {
        for (const key of s.existingAntiAffinity.keys) {
          const v = topologyValue(labels, key)
          if (v !== undefined && s.existingAntiAffinity.get(key, v) > 0) return existingAntiAffinityRejection
        }
      }
      return success
    },

    preScore(state: CycleState, pod: Readonly<Pod>): Status {
      const scores = new TopologyValues()
      // Score and NormalizeScore read this even when PreScore skips.
      state.write(preScoreKey, scores)
      const a = pod.spec?.affinity
      const hasPreferred =
        (a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0 ||
        (a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0
      if (ignorePreferredTermsOfExistingPods && !hasPreferred) return skip

      const terms = podAffinityTerms(pod)
      if (terms.error) return error(`parsing pod: ${terms.error}`)
      const incoming = new IncomingPod(pod, handle)
      const preferred = terms.preferredAffinity.map((t) => new WeightedCycleTerm(t, handle))
      const preferredAnti = terms.preferredAntiAffinity.map((t) => new WeightedCycleTerm(t, handle))
      const index = handle.snapshot.affinityIndex?.() ?? AffinityIndex.of(handle.snapshot.nodeList())
      // The pod's preferred terms, over the pods they match.
      if (hasPreferred) {
        for (const g of index.labelGroups()) {
          for (const t of preferred) {
            if (!t.matchesInfo(g.sample)) continue
            for (const [v, n] of g.nodes.byTopology(t.topologyKey)) scores.add(t.topologyKey, v, t.weight * n)
          }
          for (const t of preferredAnti) {
            if (!t.matchesInfo(g.sample)) continue
            for (const [v, n] of g.nodes.byTopology(t.topologyKey))
              scores.add(t.topologyKey, v, -t.weight * n)
          }
        }
      }
      // Existing pods' terms that match the pod: required affinity at hardPodAffinityWeight,
      // preferred terms at their weights (the groups sum them).
      const existing = (kind: TermKind, weight: number) => {
        if (weight === 0) return
        for (const { term, nodes: sums } of index.terms(kind)) {
          if (!incoming.matchedBy(term)) continue
          for (const [v, n] of sums.byTopology(term.topologyKey)) scores.add(term.topologyKey, v, weight * n)
        }
      }
      existing('requiredAffinity', hardPodAffinityWeight)
      existing('preferredAffinity', 1)
      existing('preferredAntiAffinity', -1)
      return scores.size === 0 ? skip : success
    },

    score(state: CycleState, _pod: Readonly<Pod>, node: NodeInfo): number {
      const scores = state.read(preScoreKey)
      return scores.size === 0 ? 0 : scores.sumFor(nodeLabels(node))
    },

    /** Min..max scaled to 0..maxNodeScore, truncated (all equal: all 0), as kube-scheduler does. */
    normalizeScores(state: CycleState, _pod: Readonly<Pod>, scores: NodeScore[]): void {
      if (state.read(preScoreKey).size === 0) return
      let min = Infinity
      let max = -Infinity
      for (const s of scores) {
        if (s.score > max) max = s.score
        if (s.score < min) min = s.score
      }
      const diff = max - min
      for (const s of scores) s.score = diff > 0 ? Math.trunc(maxNodeScore * ((s.score - min) / diff)) : 0
    },
  }
}

/** PreFilterExtensions: the pod added to (n = 1) or removed from (n = −1) the node, in the state. */
function updateWithPod(state: CycleState, p: PodInfo, node: NodeInfo, n: number): Status {
  if (!state.has(preFilterKey)) return noPreFilterState
  const s = state.read(preFilterKey)
  if (!s) return success
  const labels = nodeLabels(node)
  s.countExistingAntiAffinity(p, labels, n)
  s.countForOwnTerms(p, labels, n)
  return success
}
