import type {
  NodeSelectorTerm,
  Pod,
  Taint,
  Toleration,
  TopologySpreadConstraint,
} from '../../api/generated/types/core-v1.ts'
import {
  aggregateMessage,
  duplicate,
  FieldPath,
  forbidden,
  invalid,
  notSupported,
  required,
  type FieldError,
} from '../../api/field-errors.ts'
import {
  LabelSelector,
  labelSelectorFromObject,
  type Requirement,
} from '../../api/selectors/label-selector.ts'
import { matchesNodeSelectorTerms } from '../../api/selectors/node-selector.ts'
import { untoleratedTaint } from '../../api/taints.ts'
import { isQualifiedName } from '../../api/validation/names.ts'
import { stateKey, type CycleState, type StateKey } from '../framework/cycle-state.ts'
import {
  maxNodeScore,
  type FilterPlugin,
  type Handle,
  type NodeScore,
  type NodeSnapshot,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type ScorePlugin,
} from '../framework/interfaces.ts'
import type { NodeInfo, PodInfo } from '../framework/node-info.ts'
import { error, skip, success, unresolvable, unschedulable, type Status } from '../framework/status.ts'

export const podTopologySpreadName = 'PodTopologySpread'

/** The Filter reasons, worded as kube-scheduler words them. */
export const reasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
export const reasonNodeLabelNotMatch = `${reasonConstraintsNotMatch} (missing required label)`

const labelHostname = 'kubernetes.io/hostname'
const labelTopologyZone = 'topology.kubernetes.io/zone'

// --- args ----------------------------------------------------------------------------------------

/**
 * PodTopologySpreadArgs of the scheduler configuration. The default constraints apply to pods
 * that have no topologySpreadConstraints of their own and that a Service, ReplicationController,
 * ReplicaSet or StatefulSet selects; they spread over what those select.
 */
export interface PodTopologySpreadArgs {
  /** System: the built-in defaults below; List: `defaultConstraints` (possibly none). */
  readonly defaultingType: 'System' | 'List'
  readonly defaultConstraints: readonly TopologySpreadConstraint[]
}

/** Kubernetes' built-in default constraints: soft spreading over hosts and zones. */
export const systemDefaultConstraints: readonly TopologySpreadConstraint[] = [
  { topologyKey: labelHostname, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 3 },
  { topologyKey: labelTopologyZone, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 5 },
]

const whenUnsatisfiableValues = ['DoNotSchedule', 'ScheduleAnyway']

/**
 * The plugin's args with defaults filled in (defaultingType System), checked as kube-scheduler's
 * ValidatePodTopologySpreadArgs checks them; throws an Error with every problem, naming the field.
 */
export function podTopologySpreadArgs(
  raw: Readonly<Record<string, unknown>> | undefined,
): PodTopologySpreadArgs {
  const root = FieldPath.root('PodTopologySpreadArgs')
  const errors: FieldError[] = []
  const defaultingType = raw?.defaultingType ?? 'System'
  const list = raw?.defaultConstraints ?? []
  if (!Array.isArray(list) || !list.every((c) => typeof c === 'object' && c !== null)) {
    throw new Error(
      `${root.child('defaultConstraints').toString()}: Invalid value: not a list of topology spread constraints`,
    )
  }
  const constraints = list as TopologySpreadConstraint[]
  if (defaultingType !== 'System' && defaultingType !== 'List') {
    errors.push(notSupported(root.child('defaultingType'), defaultingType, ['List', 'System']))
  } else if (defaultingType === 'System' && constraints.length > 0) {
    errors.push(
      invalid(root.child('defaultingType'), defaultingType, 'when .defaultConstraints are not empty'),
    )
  }
  constraints.forEach((c, i) => {
    const p = root.child('defaultConstraints').index(i)
    if (typeof c.maxSkew !== 'number' || !Number.isInteger(c.maxSkew) || c.maxSkew <= 0)
      errors.push(invalid(p.child('maxSkew'), c.maxSkew, 'not in valid range (0, inf)'))
    if (!c.topologyKey) errors.push(required(p.child('topologyKey'), 'can not be empty'))
    else
      for (const m of isQualifiedName(c.topologyKey))
        errors.push(invalid(p.child('topologyKey'), c.topologyKey, m))
    if (!c.whenUnsatisfiable) errors.push(required(p.child('whenUnsatisfiable'), 'can not be empty'))
    else if (!whenUnsatisfiableValues.includes(c.whenUnsatisfiable))
      errors.push(notSupported(p.child('whenUnsatisfiable'), c.whenUnsatisfiable, whenUnsatisfiableValues))
    if (c.labelSelector !== undefined && c.labelSelector !== null)
      errors.push(
        forbidden(
          p.child('labelSelector'),
          'constraint must not define a selector, as they deduced for each pod',
        ),
      )
    const earlier = constraints
      .slice(0, i)
      .some((o) => o.topologyKey === c.topologyKey && o.whenUnsatisfiable === c.whenUnsatisfiable)
    if (earlier)
      errors.push(
        duplicate(root.child('defaultConstraints').index(i), `{${c.topologyKey}, ${c.whenUnsatisfiable}}`),
      )
  })
  if (errors.length > 0) throw new Error(aggregateMessage(errors))
  return { defaultingType: defaultingType as 'System' | 'List', defaultConstraints: constraints }
}

// --- constraints, parsed once per pod -------------------------------------------------------------

/** A TopologySpreadConstraint with its selector parsed and its defaults applied. */
export interface SpreadConstraint {
  readonly maxSkew: number
  readonly topologyKey: string
  /**
   * Which pods count. Null when the constraint has no labelSelector: then no pod matches, not
   * even the incoming one (Kubernetes' labels.Nothing).
   */
  readonly selector: LabelSelector | null
  /** Fewer eligible domains than this make the global minimum 0 (DoNotSchedule only). */
  readonly minDomains: number
  /** nodeAffinityPolicy Honor (the default): only nodes the pod's nodeSelector and required node affinity allow count. */
  readonly honorNodeAffinity: boolean
  /** nodeTaintsPolicy Honor (Ignore by default): nodes with taints the pod does not tolerate do not count. */
  readonly honorNodeTaints: boolean
}

/** One group of a pod's constraints (hard or soft), or why its selectors do not parse. */
type ParsedGroup = { readonly constraints: readonly SpreadConstraint[]; readonly error?: string }

interface ParsedConstraints {
  readonly hard: ParsedGroup
  readonly soft: ParsedGroup
}

/**
 * Parsed constraints by pod object. Informers replace pod objects rather than change them, so a
 * pod object's constraints never change, and the entry goes with the object.
 */
const parsed = new WeakMap<Readonly<Pod>, ParsedConstraints>()

function podConstraints(pod: Readonly<Pod>): ParsedConstraints {
  let p = parsed.get(pod)
  if (!p) {
    const list = pod.spec?.topologySpreadConstraints ?? []
    const labels = pod.metadata?.labels ?? noLabels
    p = { hard: parseGroup(list, 'DoNotSchedule', labels), soft: parseGroup(list, 'ScheduleAnyway', labels) }
    parsed.set(pod, p)
  }
  return p
}

function parseGroup(
  list: readonly TopologySpreadConstraint[],
  whenUnsatisfiable: string,
  podLabels: Readonly<Record<string, string>>,
): ParsedGroup {
  try {
    const constraints = list
      .filter((c) => c.whenUnsatisfiable === whenUnsatisfiable)
      .map((c) => constraintOf(c, selectorOf(c, podLabels)))
    return { constraints }
  } catch (e) {
    return { constraints: [], error: e instanceof Error ? e.message : String(e) }
  }
}

/**
 * The constraint's labelSelector, ANDed with `key=value` for each of its matchLabelKeys that
 * the pod has a label for. Without a labelSelector nothing matches, and matchLabelKeys change
 * nothing (as in Kubernetes, where merging into labels.Nothing gives labels.Nothing).
 */
function selectorOf(
  c: TopologySpreadConstraint,
  podLabels: Readonly<Record<string, string>>,
): LabelSelector | null {
  if (!c.labelSelector) return null
  const selector = labelSelectorFromObject(c.labelSelector)
  const extra: Requirement[] = []
  for (const key of c.matchLabelKeys ?? []) {
    const v = labelValue(podLabels, key)
    if (v !== undefined) extra.push({ key, operator: '=', values: [v] })
  }
  return extra.length === 0 ? selector : new LabelSelector([...extra, ...selector.requirements])
}

function constraintOf(c: TopologySpreadConstraint, selector: LabelSelector | null): SpreadConstraint {
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    selector,
    minDomains: c.minDomains ?? 1,
    honorNodeAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
    honorNodeTaints: c.nodeTaintsPolicy === 'Honor',
  }
}

// --- small helpers ---------------------------------------------------------------------------------

const noLabels: Readonly<Record<string, string>> = Object.freeze({})

/** A label's value; undefined when absent (inherited properties such as `toString` don't count). */
function labelValue(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  const v: unknown = labels[key]
  return typeof v === 'string' ? v : undefined
}

function nodeLabels(node: NodeInfo): Readonly<Record<string, string>> {
  return node.node.metadata?.labels ?? noLabels
}

/** The node has every constraint's topology key. */
function hasAllKeys(
  labels: Readonly<Record<string, string>>,
  constraints: readonly SpreadConstraint[],
): boolean {
  for (const c of constraints) if (labelValue(labels, c.topologyKey) === undefined) return false
  return true
}

function matches(selector: LabelSelector | null, labels: Readonly<Record<string, string>>): boolean {
  return selector !== null && selector.matches(labels)
}

/**
 * How many of the pods count for a constraint: same namespace, not terminating (#87621), matching
 * the selector. An empty selector counts none, as in Kubernetes' countPodsMatchSelector.
 */
function countMatching(pods: readonly PodInfo[], selector: LabelSelector | null, namespace: string): number {
  if (selector === null || selector.empty) return 0
  let n = 0
  for (const { pod } of pods) {
    const meta = pod.metadata
    if (meta?.deletionTimestamp || (meta?.namespace ?? '') !== namespace) continue
    if (selector.matches(meta?.labels ?? noLabels)) n++
  }
  return n
}

/**
 * For one topology key: each node's domain (the topology value, as a number into `values`), kept
 * from cycle to cycle by position in the node list (the scheduler cache hands out the same list
 * until nodes come or go) and checked against the NodeInfo there, whose node, and so its labels,
 * never changes (a changed node is a new NodeInfo). Shared by every TopologyCounts of the key.
 */
class TopologyDomains {
  readonly #topologyKey: string
  /** The topology values met so far; a node's domain is an index into it. */
  readonly values: string[] = []
  readonly #valueNumbers = new Map<string, number>()
  readonly #nodes: (NodeInfo | undefined)[] = []
  /** −1: the node lacks the topology key. */
  readonly #domains: number[] = []
  /** Changes when the values are forgotten: domain numbers from before mean nothing after. */
  epoch = 0

  constructor(topologyKey: string) {
    this.#topologyKey = topologyKey
  }

  /** Called before each pass: forgets everything when node churn has piled up too many values. */
  startPass(nodes: number): void {
    if (this.values.length <= 2 * nodes + 1024) return
    this.values.length = 0
    this.#valueNumbers.clear()
    this.#nodes.length = 0
    this.epoch++
  }

  /** The domain of a topology value, if a node has had it. */
  domainNumber(value: string): number | undefined {
    return this.#valueNumbers.get(value)
  }

  /** The domain of the node at position i of the node list; −1 when it lacks the topology key. */
  domainOf(i: number, node: NodeInfo): number {
    if (this.#nodes[i] !== node) {
      this.#nodes[i] = node
      const value = labelValue(nodeLabels(node), this.#topologyKey)
      let d = -1
      if (value !== undefined) {
        d = this.#valueNumbers.get(value) ?? this.values.length
        if (d === this.values.length) {
          this.values.push(value)
          this.#valueNumbers.set(value, d)
        }
      }
      this.#domains[i] = d
    }
    return this.#domains[i] as number
  }

  /**
   * The node's topology value: kept by its position in the node list (NodeInfo.index), read from
   * its labels when it is in none.
   */
  valueOn(node: NodeInfo): string | undefined {
    if (node.index < 0) return labelValue(nodeLabels(node), this.#topologyKey)
    const d = this.domainOf(node.index, node)
    return d < 0 ? undefined : this.values[d]
  }
}

/**
 * For one topology key, selector and namespace: each node's number of matching pods, kept from
 * cycle to cycle by position in the node list, so that a cycle over 5,000 nodes only checks each
 * node and adds numbers instead of reading every pod again. A count depends on the node's pods
 * only, and they are unchanged when the node at that position has as many pods and the same last
 * PodInfo: NodeInfo only appends pods and removes them by splicing, the scheduler cache makes a
 * new PodInfo for every pod it places (an update is a removal and an addition) and moves the
 * same PodInfos, in order, to the new NodeInfo of a changed node. After any addition the last
 * PodInfo is one that was not there before; after removals alone there are fewer pods; another
 * node at the position has other PodInfos, or none, and then no matching pods either. (A
 * generation counter on NodeInfo, as Kubernetes' NodeInfo has, would say this directly.)
 */
class TopologyCounts {
  readonly #domains: TopologyDomains
  /** Null when no existing pod counts (no selector, or an empty one: see countMatching). */
  readonly #selector: LabelSelector | null
  readonly #namespace: string
  /**
   * Per position: the pods as last counted (how many, and the last one) and their count; unset
   * until counted.
   */
  readonly #lengths: number[] = []
  readonly #lasts: (PodInfo | undefined)[] = []
  readonly #counts: number[] = []
  /**
   * The matching pods of all nodes summed per domain (and of the nodes without the key), as of
   * the snapshot's change sequence `#summedAt` over the node list `#summedList` and the domains'
   * epoch `#summedEpoch`; what each position added is kept so that a changed node's share can be
   * taken out again.
   */
  #sums: number[] = []
  #missing = 0
  #summedList: readonly NodeInfo[] | undefined
  #summedAt = 0
  #summedEpoch = 0
  readonly #addedDomain: number[] = []
  readonly #addedCount: number[] = []

  constructor(o: { domains: TopologyDomains; selector: LabelSelector | null; namespace: string }) {
    this.#domains = o.domains
    this.#selector = o.selector !== null && !o.selector.empty ? o.selector : null
    this.#namespace = o.namespace
  }

  /** The topology values met so far (the domains'). */
  get values(): readonly string[] {
    return this.#domains.values
  }

  /** Called before each pass (see TopologyDomains.startPass). */
  startPass(nodes: number): void {
    this.#domains.startPass(nodes)
  }

  /**
   * The matching pods of every node of `nodes` per domain, and those on nodes lacking the key.
   * After the first pass over a node list, only the nodes the snapshot says changed are looked
   * at again: upstream visits all nodes for every pod, which at 5,000 nodes was most of a
   * ReplicaSet pod's scheduling.
   */
  sums(nodes: readonly NodeInfo[], snapshot: NodeSnapshot): { sums: readonly number[]; missing: number } {
    const at = snapshot.changeSequence?.()
    const changed =
      at !== undefined && nodes === this.#summedList && this.#summedEpoch === this.#domains.epoch
        ? snapshot.changedSince?.(this.#summedAt)
        : undefined
    if (changed === undefined) {
      this.#sums = []
      this.#missing = 0
      for (let n = 0; n < nodes.length; n++) this.#add(n, nodes[n] as NodeInfo)
    } else {
      const positions = positionsOf(nodes)
      for (const name of new Set(changed)) {
        const n = positions.get(name)
        const node = n === undefined ? undefined : nodes[n]
        if (n === undefined || node === undefined) continue
        const d = this.#addedDomain[n] as number
        const c = this.#addedCount[n] as number
        if (d < 0) this.#missing -= c
        else this.#sums[d] = (this.#sums[d] ?? 0) - c
        this.#add(n, node)
      }
    }
    this.#summedList = nodes
    this.#summedAt = at ?? 0
    this.#summedEpoch = this.#domains.epoch
    return { sums: this.#sums, missing: this.#missing }
  }

  #add(n: number, node: NodeInfo): void {
    const d = this.domainOf(n, node)
    const c = this.countOf(n, node)
    if (d < 0) this.#missing += c
    else this.#sums[d] = (this.#sums[d] ?? 0) + c
    this.#addedDomain[n] = d
    this.#addedCount[n] = c
  }

  /** The domain of a topology value, if a node has had it. */
  domainNumber(value: string): number | undefined {
    return this.#domains.domainNumber(value)
  }

  /** The domain of the node at position i of the node list; −1 when it lacks the topology key. */
  domainOf(i: number, node: NodeInfo): number {
    return this.#domains.domainOf(i, node)
  }

  /** The matching pods on the node at position i. */
  countOf(i: number, node: NodeInfo): number {
    if (this.#selector === null) return 0
    const pods = node.pods
    const length = pods.length
    const last = length > 0 ? pods[length - 1] : undefined
    if (this.#lengths[i] === length && this.#lasts[i] === last) return this.#counts[i] as number
    const n = countMatching(pods, this.#selector, this.#namespace)
    this.#lengths[i] = length
    this.#lasts[i] = last
    this.#counts[i] = n
    return n
  }

  /** The node's topology value (see TopologyDomains.valueOn). */
  valueOn(node: NodeInfo): string | undefined {
    return this.#domains.valueOn(node)
  }

  /**
   * The matching pods on a node, kept as countOf keeps them (counted afresh for a node in no node
   * list), or undefined when it lacks the topology key: Score's count for hostname constraints,
   * whose domains PreScore leaves out.
   */
  countOn(node: NodeInfo): number | undefined {
    if (node.index < 0) {
      if (this.#domains.valueOn(node) === undefined) return undefined
      return countMatching(node.pods, this.#selector, this.#namespace)
    }
    if (this.#domains.domainOf(node.index, node) < 0) return undefined
    return this.countOf(node.index, node)
  }
}

/**
 * How many (topology key, selector, namespace) combinations a plugin keeps counts for: two per
 * Deployment whose pods are being scheduled at once under the system defaults. When there are
 * more, every cycle sums over all nodes again (with 100 Deployments and room for 16, that was
 * three quarters of the scheduler's work in bench sim).
 */
const maxTopologyCounts = 256

/** Each node's position in a node list, by name; shared by every TopologyCounts on that list. */
const positions = new WeakMap<readonly NodeInfo[], Map<string, number>>()

function positionsOf(nodes: readonly NodeInfo[]): Map<string, number> {
  let m = positions.get(nodes)
  if (!m) {
    m = new Map()
    for (let n = 0; n < nodes.length; n++) m.set((nodes[n] as NodeInfo).name, n)
    positions.set(nodes, m)
  }
  return m
}

/**
 * The TopologyCounts of one plugin instance, the least recently used going when there are too
 * many; and the TopologyDomains of each topology key, which they share.
 */
class TopologyCountsCache {
  readonly #entries = new Map<string, TopologyCounts>()
  readonly #domains = new Map<string, TopologyDomains>()

  /** Per constraint, its counts, made ready for a pass over `nodes` nodes. */
  forConstraints(
    constraints: readonly SpreadConstraint[],
    namespace: string,
    nodes: number,
  ): TopologyCounts[] {
    return constraints.map((c) => {
      const selector = c.selector === null ? '(nothing)' : c.selector.toString()
      const key = `${namespace}\0${c.topologyKey}\0${selector}`
      // The key's domains are bounded as the counts are (counts of an evicted key keep theirs).
      const entry = mostRecent(this.#entries, key, () => {
        const { topologyKey } = c
        const domains = mostRecent(this.#domains, topologyKey, () => new TopologyDomains(topologyKey))
        return new TopologyCounts({ domains, selector: c.selector, namespace })
      })
      entry.startPass(nodes)
      return entry
    })
  }
}

/**
 * The map's value for the key (made when it has none), now its most recently used; the least
 * recently used goes when there are more than maxTopologyCounts.
 */
function mostRecent<V>(map: Map<string, V>, key: string, make: () => V): V {
  let value = map.get(key)
  if (value !== undefined) map.delete(key)
  else value = make()
  map.set(key, value)
  if (map.size > maxTopologyCounts) {
    const oldest = map.keys().next()
    if (!oldest.done) map.delete(oldest.value)
  }
  return value
}

/**
 * Whether a node counts for a constraint under its node inclusion policies: the pod's nodeSelector
 * and required node affinity (Honor by default), its tolerations of NoSchedule and NoExecute taints
 * (when Honor). Worked out once per cycle from the pod, and at most once per node.
 */
class NodeInclusion {
  readonly #nodeSelector: readonly (readonly [string, string])[]
  /** Undefined when the pod has no required node affinity. */
  readonly #terms: readonly NodeSelectorTerm[] | undefined
  readonly #tolerations: readonly Toleration[]
  /** The pod accepts every node (no nodeSelector, no required node affinity). */
  readonly #anyNode: boolean
  #node: NodeInfo | undefined
  #affinity: boolean | undefined
  #taints: boolean | undefined

  constructor(pod: Readonly<Pod>) {
    this.#nodeSelector = Object.entries(pod.spec?.nodeSelector ?? {})
    const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    this.#terms = required ? (required.nodeSelectorTerms ?? []) : undefined
    this.#tolerations = pod.spec?.tolerations ?? []
    this.#anyNode = this.#nodeSelector.length === 0 && this.#terms === undefined
  }

  /** The node matches the pod's nodeSelector and required node affinity. */
  affinityMatches(node: NodeInfo): boolean {
    if (this.#anyNode) return true
    const labels = nodeLabels(node)
    for (const [k, v] of this.#nodeSelector) if (labelValue(labels, k) !== v) return false
    return this.#terms === undefined || matchesNodeSelectorTerms(node.node, this.#terms)
  }

  /** The pod tolerates the node's NoSchedule and NoExecute taints. */
  taintsTolerated(node: NodeInfo): boolean {
    const taints: readonly Taint[] | undefined = node.node.spec?.taints
    if (!taints || taints.length === 0) return true
    return untoleratedTaint(taints, this.#tolerations, doNotScheduleEffects) === undefined
  }

  /** Every node counts for these constraints (so `includes` need not be asked). */
  includesEveryNode(constraints: readonly SpreadConstraint[]): boolean {
    for (const c of constraints) {
      if (c.honorNodeTaints || (c.honorNodeAffinity && !this.#anyNode)) return false
    }
    return true
  }

  /** The node counts for the constraint (each answer is kept while the same node is asked about). */
  includes(c: SpreadConstraint, node: NodeInfo): boolean {
    if (node !== this.#node) {
      this.#node = node
      this.#affinity = undefined
      this.#taints = undefined
    }
    if (c.honorNodeAffinity && !(this.#affinity ??= this.affinityMatches(node))) return false
    if (c.honorNodeTaints && !(this.#taints ??= this.taintsTolerated(node))) return false
    return true
  }
}

const doNotScheduleEffects = ['NoSchedule', 'NoExecute']

// The per-cycle loops over the nodes live in functions of their own: V8 then optimizes them as
// whole functions instead of on-stack-replacing a loop inside a plugin method, which kept
// deoptimizing on the code after the loop.

/**
 * Per constraint: the matching pods per domain (topology value) over the eligible nodes: nodes
 * with every constraint's key that the constraint's inclusion policies let in (PreFilter).
 */
function countPerDomain(o: {
  constraints: readonly SpreadConstraint[]
  nodes: readonly NodeInfo[]
  counts: readonly TopologyCounts[]
  inclusion: NodeInclusion
}): Map<string, number>[] {
  const { constraints, nodes, counts, inclusion } = o
  const everyNode = inclusion.includesEveryNode(constraints)
  const sums: number[][] = constraints.map(() => [])
  for (let n = 0; n < nodes.length; n++) {
    const node = nodes[n] as NodeInfo
    if (!hasAllDomains(counts, n, node)) continue
    for (let i = 0; i < constraints.length; i++) {
      if (!everyNode && !inclusion.includes(constraints[i] as SpreadConstraint, node)) continue
      const t = counts[i] as TopologyCounts
      const d = t.domainOf(n, node)
      const sum = sums[i] as number[]
      sum[d] = (sum[d] ?? 0) + t.countOf(n, node)
    }
  }
  return sums.map((sum, i) => {
    const { values } = counts[i] as TopologyCounts
    const m = new Map<string, number>()
    sum.forEach((v, d) => m.set(values[d] as string, v))
    return m
  })
}

function hasAllDomains(counts: readonly TopologyCounts[], n: number, node: NodeInfo): boolean {
  for (const t of counts) if (t.domainOf(n, node) < 0) return false
  return true
}

function smallest(counts: ReadonlyMap<string, number>): number {
  let least = Infinity
  for (const n of counts.values()) if (n < least) least = n
  return least
}

/**
 * PreScore's domains: per constraint, the topology values of the feasible nodes, at 0 (none for
 * hostname, counted per node in Score); and the feasible nodes lacking a key, when all are required.
 */
function scoredDomains(o: {
  constraints: readonly SpreadConstraint[]
  nodes: readonly NodeInfo[]
  requireAllKeys: boolean
}): { ignored: Set<string>; counts: Map<string, number>[] } {
  const { constraints } = o
  const ignored = new Set<string>()
  const counts = constraints.map(() => new Map<string, number>())
  for (const node of o.nodes) {
    const labels = nodeLabels(node)
    if (o.requireAllKeys && !hasAllKeys(labels, constraints)) {
      ignored.add(node.name)
      continue
    }
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i] as SpreadConstraint
      if (c.topologyKey === labelHostname) continue
      const m = counts[i] as Map<string, number>
      const value = labelValue(labels, c.topologyKey) ?? ''
      if (!m.has(value)) m.set(value, 0)
    }
  }
  return { ignored, counts }
}

/**
 * Adds the matching pods of all nodes to the domains PreScore scores (`scored`; pods elsewhere
 * don't matter). Without requireAllKeys, nodes lacking a key are in the domain '' (as in
 * Kubernetes, which reads a missing label as '').
 */
function addScoredCounts(o: {
  constraints: readonly SpreadConstraint[]
  nodes: readonly NodeInfo[]
  snapshot: NodeSnapshot
  requireAllKeys: boolean
  scored: readonly Map<string, number>[]
  counts: readonly TopologyCounts[]
  inclusion: NodeInclusion
}): void {
  const { constraints, nodes, scored, counts, inclusion } = o
  const everyNode = inclusion.includesEveryNode(constraints)
  if (everyNode && !o.requireAllKeys) {
    // Every node counts: the sums kept from pass to pass will do.
    scored.forEach((m, i) => {
      if (m.size === 0) return
      const t = counts[i] as TopologyCounts
      const { sums, missing } = t.sums(nodes, o.snapshot)
      for (const value of m.keys()) {
        const d = t.domainNumber(value)
        m.set(value, (d === undefined ? 0 : (sums[d] ?? 0)) + (value === '' ? missing : 0))
      }
    })
    return
  }
  const sums: number[][] = constraints.map(() => [])
  const missing: number[] = constraints.map(() => 0)
  for (let n = 0; n < nodes.length; n++) {
    const node = nodes[n] as NodeInfo
    if (o.requireAllKeys && !hasAllDomains(counts, n, node)) continue
    for (let i = 0; i < constraints.length; i++) {
      if ((scored[i] as Map<string, number>).size === 0) continue
      if (!everyNode && !inclusion.includes(constraints[i] as SpreadConstraint, node)) continue
      const t = counts[i] as TopologyCounts
      const d = t.domainOf(n, node)
      if (d < 0) {
        missing[i] = (missing[i] as number) + t.countOf(n, node)
      } else {
        const sum = sums[i] as number[]
        sum[d] = (sum[d] ?? 0) + t.countOf(n, node)
      }
    }
  }
  scored.forEach((m, i) => {
    const t = counts[i] as TopologyCounts
    const byValue = new Map<string, number>()
    ;(sums[i] as number[]).forEach((v, d) => byValue.set(t.values[d] as string, v))
    for (const value of m.keys()) {
      const extra = value === '' ? (missing[i] as number) : 0
      m.set(value, (byValue.get(value) ?? 0) + extra)
    }
  })
}

// --- PreFilter and Filter --------------------------------------------------------------------------

/**
 * What PreFilter works out once per cycle so that Filter is a few map reads per node: for each
 * hard constraint, the matching pods per domain (topology value) over the eligible nodes, and the
 * smallest of those counts. addPod and removePod keep both exact for preemption's "what if"
 * questions; the smallest count follows a count of domains per number of pods, built on the first
 * such change (Kubernetes 1.35 keeps only two "critical paths", which can drift after several
 * changes; later versions keep this histogram too).
 */
class PreFilterState {
  readonly constraints: readonly SpreadConstraint[]
  /** Per constraint: the incoming pod matches its selector (and so adds 1 where it lands). */
  readonly selfMatch: readonly number[]
  readonly counts: readonly Map<string, number>[]
  /** Per constraint: the smallest count over its domains; Infinity when it has none. */
  readonly min: number[]
  /** Per constraint: how many domains hold each count (built when addPod or removePod first runs). */
  #atCount: Map<number, number>[] | undefined

  constructor(o: {
    constraints: readonly SpreadConstraint[]
    selfMatch: readonly number[]
    counts: readonly Map<string, number>[]
    min: number[]
    atCount?: Map<number, number>[] | undefined
  }) {
    this.constraints = o.constraints
    this.selfMatch = o.selfMatch
    this.counts = o.counts
    this.min = o.min
    this.#atCount = o.atCount
  }

  /** The global minimum for the skew: 0 while there are fewer eligible domains than minDomains. */
  minMatchNum(i: number): number {
    const c = this.constraints[i] as SpreadConstraint
    const counts = this.counts[i] as Map<string, number>
    return counts.size < c.minDomains ? 0 : (this.min[i] as number)
  }

  /** The domain's count for constraint i changes by delta. */
  update(i: number, value: string, delta: number): void {
    const counts = this.counts[i] as Map<string, number>
    this.#atCount ??= this.counts.map(histogram)
    const hist = this.#atCount[i] as Map<number, number>
    const old = counts.get(value)
    const cur = (old ?? 0) + delta
    counts.set(value, cur)
    hist.set(cur, (hist.get(cur) ?? 0) + 1)
    if (old !== undefined) {
      const left = (hist.get(old) ?? 0) - 1
      if (left > 0) hist.set(old, left)
      else hist.delete(old)
    }
    if (cur < (this.min[i] as number)) this.min[i] = cur
    else if (old !== undefined && old === this.min[i] && !hist.has(old)) {
      // The last domain at the minimum moved up: the new minimum is the smallest count held.
      let m = Infinity
      for (const n of hist.keys()) if (n < m) m = n
      this.min[i] = m
    }
  }

  clone(): PreFilterState {
    return new PreFilterState({
      constraints: this.constraints,
      selfMatch: this.selfMatch,
      counts: this.counts.map((m) => new Map(m)),
      min: [...this.min],
      atCount: this.#atCount?.map((m) => new Map(m)),
    })
  }
}

function histogram(counts: ReadonlyMap<string, number>): Map<number, number> {
  const h = new Map<number, number>()
  for (const n of counts.values()) h.set(n, (h.get(n) ?? 0) + 1)
  return h
}

/** Null: PreFilter skipped (the pod has no hard constraints). */
const preFilterKey = stateKey<PreFilterState | null>('PreFilterPodTopologySpread', (s) => s && s.clone())
// CycleState.has takes StateKey<unknown>, which a key with a clone function is not assignable to.
const preFilterKeyAny = preFilterKey as StateKey<unknown>

/** What PreFilter wrote (and addPod/removePod changed), for tests; undefined when it skipped. */
export function preFilterCounts(state: CycleState):
  | {
      constraints: readonly SpreadConstraint[]
      /** Per constraint: matching pods per domain. */
      counts: Record<string, number>[]
      /** Per constraint: the smallest count (Infinity without domains). */
      min: number[]
    }
  | undefined {
  const s = state.read(preFilterKey)
  if (!s) return undefined
  return { constraints: s.constraints, counts: s.counts.map((m) => Object.fromEntries(m)), min: [...s.min] }
}

const missingLabelRejection = unresolvable(reasonNodeLabelNotMatch)
const skewRejection = unschedulable(reasonConstraintsNotMatch)
const noPreFilterState = error(`reading "${preFilterKey.name}" from cycleState: not found`)

// --- PreScore and Score ------------------------------------------------------------------------------

/** What PreScore works out for Score and NormalizeScore. */
interface PreScoreState {
  /** The soft constraints; none when PreScore skipped. */
  readonly constraints: readonly SpreadConstraint[]
  readonly namespace: string
  /** Nodes lacking one of the topology keys: scored 0. */
  readonly ignored: ReadonlySet<string>
  /** Per constraint: matching pods per domain of the feasible nodes (empty for hostname: counted in Score). */
  readonly counts: readonly Map<string, number>[]
  /** Per constraint: log(domains + 2), so that counts in many small domains weigh as much as in few large ones. */
  readonly weights: readonly number[]
  /** Per constraint: the counts kept between cycles (Score reads a host's own from them). */
  readonly topology: readonly TopologyCounts[]
}

const preScoreKey = stateKey<PreScoreState>('PreScorePodTopologySpread')

const noScoring: PreScoreState = {
  constraints: [],
  namespace: '',
  ignored: new Set(),
  counts: [],
  weights: [],
  topology: [],
}

/** What PreScore wrote, for tests. */
export function preScoreCounts(state: CycleState): {
  constraints: readonly SpreadConstraint[]
  ignoredNodes: string[]
  counts: Record<string, number>[]
  weights: number[]
} {
  const s = state.read(preScoreKey)
  return {
    constraints: s.constraints,
    ignoredNodes: [...s.ignored].sort(),
    counts: s.counts.map((m) => Object.fromEntries(m)),
    weights: [...s.weights],
  }
}

/** The weight of a constraint with this many domains (Kubernetes' topologyNormalizingWeight). */
export function topologyNormalizingWeight(domains: number): number {
  return Math.log(domains + 2)
}

// --- the plugin ------------------------------------------------------------------------------------

/**
 * PodTopologySpread (Kubernetes' plugin of that name) keeps pods that match a constraint's
 * selector spread over the domains of its topology key (zones, hosts, ...):
 *
 * - Filter, for DoNotSchedule constraints: placing the pod on the node must keep
 *   `matching pods in the node's domain + 1 (if the pod matches) − the fewest in any domain`
 *   within maxSkew. Domains are the values of the topology key on eligible nodes: nodes with
 *   every constraint's key, and (nodeAffinityPolicy Honor, the default) that the pod's
 *   nodeSelector and required node affinity allow, and (nodeTaintsPolicy Honor) whose taints the
 *   pod tolerates. With fewer domains than minDomains, the fewest counts as 0. Nodes lacking a
 *   key are rejected as unresolvable.
 * - Score, for ScheduleAnyway constraints: fewer matching pods in the node's domains is better;
 *   each constraint's count is weighted by the log of its number of domains, and maxSkew − 1 is
 *   added to soften small differences; the totals are reversed into 0..100.
 *
 * Only pods of the incoming pod's namespace count, terminating pods do not. A pod without
 * constraints of its own gets the default constraints (System: hosts maxSkew 3 and zones maxSkew
 * 5, both ScheduleAnyway), spread over the pods its Services, ReplicationControllers, ReplicaSets
 * and StatefulSets select, when any does (handle.defaultSelector).
 */
export function podTopologySpread(
  handle: Handle,
  args?: Readonly<Record<string, unknown>>,
): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin {
  const { defaultingType, defaultConstraints } = podTopologySpreadArgs(args)
  const systemDefaulted = defaultingType === 'System'
  const defaults = systemDefaulted ? systemDefaultConstraints : defaultConstraints
  const hardDefaults = defaults.filter((c) => c.whenUnsatisfiable === 'DoNotSchedule')
  const softDefaults = defaults.filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway')
  const topologyCounts = new TopologyCountsCache()

  /**
   * The pod's constraints of one kind: its own, or else the defaults of that kind spread over
   * what its owners select (none when nothing selects it).
   */
  const constraintsFor = (pod: Readonly<Pod>, hard: boolean): ParsedGroup => {
    if ((pod.spec?.topologySpreadConstraints?.length ?? 0) > 0) {
      const own = podConstraints(pod)
      return hard ? own.hard : own.soft
    }
    const list = hard ? hardDefaults : softDefaults
    if (list.length === 0) return noConstraints
    const selector = handle.defaultSelector(pod)
    if (!selector || selector.empty) return noConstraints
    return { constraints: list.map((c) => constraintOf(c, selector)) }
  }

  return {
    name: podTopologySpreadName,

    preFilter(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): PreFilterResult {
      const { constraints, error: parseError } = constraintsFor(pod, true)
      if (parseError !== undefined)
        return {
          status: error(
            `get constraints from pod: obtaining pod's hard topology spread constraints: ${parseError}`,
          ),
        }
      if (constraints.length === 0) {
        state.write(preFilterKey, null)
        return { status: skip }
      }
      const namespace = pod.metadata?.namespace ?? ''
      const podLabels = pod.metadata?.labels ?? noLabels
      const counts = countPerDomain({
        constraints,
        nodes,
        counts: topologyCounts.forConstraints(constraints, namespace, nodes.length),
        inclusion: new NodeInclusion(pod),
      })
      const min = counts.map(smallest)
      const selfMatch = constraints.map((c) => (matches(c.selector, podLabels) ? 1 : 0))
      state.write(preFilterKey, new PreFilterState({ constraints, selfMatch, counts, min }))
      return { status: success }
    },

    addPod(state: CycleState, pod: Readonly<Pod>, toAdd: PodInfo, node: NodeInfo): Status {
      return updateWithPod(state, pod, toAdd, node, 1)
    },

    removePod(state: CycleState, pod: Readonly<Pod>, toRemove: PodInfo, node: NodeInfo): Status {
      return updateWithPod(state, pod, toRemove, node, -1)
    },

    filter(state: CycleState, _pod: Readonly<Pod>, node: NodeInfo): Status {
      if (!state.has(preFilterKeyAny)) return noPreFilterState
      const s = state.read(preFilterKey)
      if (!s) return success
      const labels = nodeLabels(node)
      const { constraints, counts, selfMatch } = s
      for (let i = 0; i < constraints.length; i++) {
        const c = constraints[i] as SpreadConstraint
        const value = labelValue(labels, c.topologyKey)
        if (value === undefined) return missingLabelRejection
        const skew =
          ((counts[i] as Map<string, number>).get(value) ?? 0) + (selfMatch[i] as number) - s.minMatchNum(i)
        if (skew > c.maxSkew) return skewRejection
      }
      return success
    },

    preScore(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): Status {
      // Score and NormalizeScore read the state even when PreScore skips.
      state.write(preScoreKey, noScoring)
      const allNodes = handle.snapshot.nodeList()
      if (allNodes.length === 0) return skip
      const { constraints, error: parseError } = constraintsFor(pod, false)
      if (parseError !== undefined)
        return error(
          `calculating preScoreState: obtaining pod's soft topology spread constraints: ${parseError}`,
        )
      if (constraints.length === 0) return skip

      // Nodes need every topology key, except with the system defaults: then a node without a
      // zone label is still spread over by hostname.
      const requireAllKeys = (pod.spec?.topologySpreadConstraints?.length ?? 0) > 0 || !systemDefaulted
      const { ignored, counts } = scoredDomains({ constraints, nodes, requireAllKeys })
      const weights = constraints.map((c, i) =>
        topologyNormalizingWeight(
          c.topologyKey === labelHostname
            ? nodes.length - ignored.size
            : (counts[i] as Map<string, number>).size,
        ),
      )

      // The counts are over all nodes, but only for domains that some feasible node is in.
      const namespace = pod.metadata?.namespace ?? ''
      const inclusion = new NodeInclusion(pod)
      const topology = topologyCounts.forConstraints(constraints, namespace, allNodes.length)
      addScoredCounts({
        constraints,
        nodes: allNodes,
        snapshot: handle.snapshot,
        requireAllKeys,
        scored: counts,
        counts: topology,
        inclusion,
      })
      state.write(preScoreKey, { constraints, namespace, ignored, counts, weights, topology })
      return success
    },

    /** The weighted matching pods in the node's domains; fewer is better (NormalizeScore reverses it). */
    score(state: CycleState, _pod: Readonly<Pod>, node: NodeInfo): number {
      const s = state.read(preScoreKey)
      const { constraints } = s
      if (constraints.length === 0 || (s.ignored.size > 0 && s.ignored.has(node.name))) return 0
      let score = 0
      for (let i = 0; i < constraints.length; i++) {
        const c = constraints[i] as SpreadConstraint
        const t = s.topology[i] as TopologyCounts
        let count: number | undefined
        if (c.topologyKey === labelHostname) {
          count = t.countOn(node)
        } else {
          const value = t.valueOn(node)
          if (value !== undefined) count = (s.counts[i] as Map<string, number>).get(value) ?? 0
        }
        if (count === undefined) continue
        score += count * (s.weights[i] as number) + (c.maxSkew - 1)
      }
      return Math.round(score)
    },

    /**
     * Reversed and scaled: 100 × (max + min − score) / max, truncated, so the node with the fewest
     * matching pods gets 100 (all get 100 when the largest is 0); ignored nodes get 0.
     */
    normalizeScores(state: CycleState, _pod: Readonly<Pod>, scores: NodeScore[]): void {
      const s = state.read(preScoreKey)
      if (s.constraints.length === 0) return
      const anyIgnored = s.ignored.size > 0
      let min = Infinity
      let max = 0
      for (const x of scores) {
        if (anyIgnored && s.ignored.has(x.name)) continue
        if (x.score < min) min = x.score
        if (x.score > max) max = x.score
      }
      for (const x of scores) {
        if (anyIgnored && s.ignored.has(x.name)) x.score = 0
        else if (max === 0) x.score = maxNodeScore
        else x.score = Math.floor((maxNodeScore * (max + min - x.score)) / max)
      }
    },
  }
}

const noConstraints: ParsedGroup = { constraints: [] }

/**
 * PreFilterExtensions: the pod added to (delta 1) or removed from (delta −1) the node. Only pods
 * of the incoming pod's namespace count, on nodes with every topology key that the constraint's
 * inclusion policies let in; terminating pods are not skipped here, as in Kubernetes.
 */
function updateWithPod(
  state: CycleState,
  pod: Readonly<Pod>,
  p: PodInfo,
  node: NodeInfo,
  delta: number,
): Status {
  if (!state.has(preFilterKeyAny)) return noPreFilterState
  const s = state.read(preFilterKey)
  if (!s || (p.pod.metadata?.namespace ?? '') !== (pod.metadata?.namespace ?? '')) return success
  const labels = nodeLabels(node)
  if (!hasAllKeys(labels, s.constraints)) return success
  const podLabels = p.pod.metadata?.labels ?? noLabels
  const inclusion = new NodeInclusion(pod)
  for (let i = 0; i < s.constraints.length; i++) {
    const c = s.constraints[i] as SpreadConstraint
    if (!matches(c.selector, podLabels) || !inclusion.includes(c, node)) continue
    s.update(i, labelValue(labels, c.topologyKey) as string, delta)
  }
  return success
}
