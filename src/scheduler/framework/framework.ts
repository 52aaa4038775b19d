import type { Pod } from '../../api/generated/types/core-v1.ts'
import { CycleState, stateKey } from './cycle-state.ts'
import type {
  BindPlugin,
  FilterPlugin,
  FilterRunner,
  NodeScore,
  PermitPlugin,
  PostBindPlugin,
  PostFilterPlugin,
  PostFilterResult,
  PreBindPlugin,
  PreFilterPlugin,
  PreScorePlugin,
  ReservePlugin,
  ScorePlugin,
} from './interfaces.ts'
import type { NodeInfo, PodInfo } from './node-info.ts'
import { error, Status, success, unschedulable } from './status.ts'

/** A scheduler profile's plugins at each extension point, in the order they run. */
export interface Profile {
  /** Pods with this spec.schedulerName are this profile's (default-scheduler). */
  readonly schedulerName: string
  readonly preFilter: readonly PreFilterPlugin[]
  readonly filter: readonly FilterPlugin[]
  readonly postFilter?: readonly PostFilterPlugin[]
  readonly preScore: readonly PreScorePlugin[]
  readonly score: readonly { plugin: ScorePlugin; weight: number }[]
  readonly reserve?: readonly ReservePlugin[]
  readonly permit?: readonly PermitPlugin[]
  readonly preBind?: readonly PreBindPlugin[]
  readonly bind?: readonly BindPlugin[]
  readonly postBind?: readonly PostBindPlugin[]
  /** percentageOfNodesToScore; undefined: adaptive, as Kubernetes' default. */
  readonly percentageOfNodesToScore?: number
}

/** Fewer nodes than this are always all searched (minFeasibleNodesToFind). */
const minFeasibleNodes = 100
const minFeasiblePercentage = 5
const basePercentage = 50

/**
 * How many feasible nodes to look for before scoring (Kubernetes' numFeasibleNodesToFind): all of
 * a small cluster; in a large one a percentage that shrinks as the cluster grows (50% − nodes/125,
 * at least 5%), and never fewer than 100 nodes.
 */
export function numFeasibleNodesToFind(allNodes: number, percentage?: number): number {
  if (allNodes < minFeasibleNodes || percentage === 100) return allNodes
  let p = percentage ?? 0
  if (p <= 0) p = Math.max(minFeasiblePercentage, basePercentage - Math.floor(allNodes / 125))
  return Math.max(minFeasibleNodes, Math.floor((allNodes * p) / 100))
}

/** Why a pod fits no node: each node's rejection, for the FailedScheduling event. */
export class FitError extends Error {
  override readonly name = 'FitError'
  readonly statuses: ReadonlyMap<string, Status>
  readonly allNodes: number

  constructor(allNodes: number, statuses: ReadonlyMap<string, Status>) {
    super(fitErrorMessage(allNodes, statuses))
    this.allNodes = allNodes
    this.statuses = statuses
  }
}

/**
 * Kubernetes' FailedScheduling wording: "0/3 nodes are available: 1 node(s) had untolerated
 * taint {dedicated: gpu}, 2 Insufficient cpu." — each reason with the number of nodes that gave
 * it, sorted as strings.
 */
export function fitErrorMessage(allNodes: number, statuses: ReadonlyMap<string, Status>): string {
  // kube-scheduler's ErrNoNodesAvailable: with no nodes at all, nothing was filtered.
  if (allNodes === 0) return 'no nodes available to schedule pods'
  const counts = new Map<string, number>()
  for (const s of statuses.values()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1)
  const parts = [...counts].map(([reason, n]) => `${n} ${reason}`).sort()
  return `0/${allNodes} nodes are available: ${parts.join(', ')}.`
}

/** The Filter plugins that run in a cycle (none of them said Skip in PreFilter), once schedule() knows. */
const filtersKey = stateKey<readonly FilterPlugin[]>('Framework/filters')

export type ScheduleResult = { nodeName: string; feasible: number; evaluated: number }

/**
 * The filters for a pod on a node with the node's nominated pods taken into account (Kubernetes'
 * RunFilterPluginsWithNominatedPods). Nominated pods of higher or equal priority (other than the
 * pod itself) wait for room preemption made on this node: the pod must fit with them there (they
 * are added to a copy of the node and of the cycle state, through PreFilterExtensions), and also
 * without them, because filters like pod affinity may need them absent, and they may well end
 * up elsewhere. Lower-priority nominated pods do not count: the pod may take their room. Without
 * such pods the filters run once, on the node as it is.
 */
export function runFiltersWithNominatedPods(
  runner: FilterRunner,
  nominated: readonly PodInfo[],
  state: CycleState,
  pod: Readonly<Pod>,
  node: NodeInfo,
): Status {
  if (nominated.length === 0) return runner.runFilters(state, pod, node)
  const priority = pod.spec?.priority ?? 0
  const uid = pod.metadata?.uid
  let withNominated: { state: CycleState; node: NodeInfo } | undefined
  for (const p of nominated) {
    if ((p.pod.spec?.priority ?? 0) < priority || p.pod.metadata?.uid === uid) continue
    withNominated ??= { state: state.clone(), node: node.clone() }
    withNominated.node.addPod(p)
    const s = runner.runPreFilterAddPod(withNominated.state, pod, p, withNominated.node)
    if (!s.ok) return error(`running AddPod on PreFilter plugin "${s.plugin}": ${s.reasons.join(', ')}`)
  }
  if (!withNominated) return runner.runFilters(state, pod, node)
  const s = runner.runFilters(withNominated.state, pod, withNominated.node)
  if (!s.ok) return s
  return runner.runFilters(state, pod, node)
}

/**
 * One profile's scheduling cycle for one pod over a snapshot of nodes: PreFilter, Filter until
 * enough feasible nodes are found (starting where the last cycle stopped, so the search rotates
 * over the cluster), PreScore, Score with normalisation and weights, and the best node (ties
 * broken at random). Throws a FitError when no node fits, an Error when a plugin fails.
 */
export class Framework implements FilterRunner {
  readonly profile: Profile
  readonly #random: () => number
  readonly #nominatedPods: (nodeName: string) => readonly PodInfo[]
  #nextStart = 0
  /** Pods held by Permit, by uid: how to end their wait. */
  readonly #waiting = new Map<string, (s: Status) => void>()
  /** #prioritize's lists, reused by every cycle. */
  readonly #totals: ScoreEntry[] = []
  readonly #scores: ScoreEntry[] = []

  /** `nominatedPods`: the pods nominated to a node (the scheduler's nominator), none by default. */
  constructor(
    profile: Profile,
    o: { random?: () => number; nominatedPods?: (nodeName: string) => readonly PodInfo[] } = {},
  ) {
    this.profile = profile
    this.#random = o.random ?? Math.random
    this.#nominatedPods = o.nominatedPods ?? (() => [])
  }

  schedule(pod: Readonly<Pod>, nodes: readonly NodeInfo[], state = new CycleState()): ScheduleResult {
    if (nodes.length === 0) throw new FitError(0, new Map())
    let candidates: readonly NodeInfo[] = nodes
    const statuses = new Map<string, Status>()
    for (const p of this.profile.preFilter) {
      const r = p.preFilter(state, pod, nodes)
      if (r.status.code === 'Error') throw new Error(`${p.name}: ${r.status.reasons.join(', ')}`)
      if (r.status.code === 'Skip') {
        state.skipFilterPlugins.add(p.name)
        continue
      }
      if (r.status.rejected) {
        const s = r.status.withPlugin(p.name)
        for (const n of nodes) statuses.set(n.name, s)
        throw new FitError(nodes.length, statuses)
      }
      if (r.nodeNames) {
        const only = r.nodeNames
        candidates = candidates.filter((n) => only.has(n.name))
      }
    }
    // The filters run on hundreds of nodes per cycle: which of them run is settled once.
    state.write(
      filtersKey,
      this.profile.filter.filter((p) => !state.skipFilterPlugins.has(p.name)),
    )
    // A node nominated after preemption is likely the only one with room: it is tried first,
    // and taken when it fits (the rest of the cluster is not searched, nor scored).
    const nominated = pod.status?.nominatedNodeName
    if (nominated) {
      const node = candidates.find((n) => n.name === nominated)
      if (node) {
        const s = this.runFiltersWithNominatedPods(state, pod, node)
        if (s.code === 'Error') throw new Error(`${s.plugin}: ${s.reasons.join(', ')}`)
        if (s.ok) return { nodeName: nominated, feasible: 1, evaluated: 1 }
      }
    }
    const { feasible, evaluated } = this.#findFeasible(state, pod, candidates, statuses)
    if (feasible.length === 0) throw new FitError(nodes.length, statuses)
    if (feasible.length === 1) return { nodeName: (feasible[0] as NodeInfo).name, feasible: 1, evaluated }
    for (const p of this.profile.preScore) {
      const s = p.preScore(state, pod, feasible)
      if (s.code === 'Error') throw new Error(`${p.name}: ${s.reasons.join(', ')}`)
      if (s.code === 'Skip') state.skipScorePlugins.add(p.name)
    }
    const totals = this.#prioritize(state, pod, feasible)
    return { nodeName: this.#selectHost(totals), feasible: feasible.length, evaluated }
  }

  #findFeasible(
    state: CycleState,
    pod: Readonly<Pod>,
    nodes: readonly NodeInfo[],
    statuses: Map<string, Status>,
  ): { feasible: NodeInfo[]; evaluated: number } {
    const want = numFeasibleNodesToFind(nodes.length, this.profile.percentageOfNodesToScore)
    // Sized for what is wanted, then cut to what was found: growing it by push copied it over and
    // over (hundreds of nodes per cycle).
    const feasible: NodeInfo[] = new Array<NodeInfo>(Math.min(want, nodes.length))
    let found = 0
    let evaluated = 0
    const start = nodes.length === 0 ? 0 : this.#nextStart % nodes.length
    for (let i = 0; i < nodes.length && found < want; i++) {
      const node = nodes[(start + i) % nodes.length] as NodeInfo
      evaluated++
      const s = this.runFiltersWithNominatedPods(state, pod, node)
      if (s.code === 'Error') throw new Error(`${s.plugin}: ${s.reasons.join(', ')}`)
      if (s.ok) feasible[found++] = node
      else statuses.set(node.name, s)
    }
    feasible.length = found
    this.#nextStart = nodes.length === 0 ? 0 : (start + evaluated) % nodes.length
    return { feasible, evaluated }
  }

  /**
   * The profile's filters in order, but those whose PreFilter said Skip; the first that does not
   * pass says why, naming itself.
   */
  runFilters(state: CycleState, pod: Readonly<Pod>, node: NodeInfo): Status {
    // A state that schedule() did not prepare (a plugin's own what-if) works them out each time.
    const filters =
      state.find(filtersKey) ?? this.profile.filter.filter((p) => !state.skipFilterPlugins.has(p.name))
    for (let i = 0; i < filters.length; i++) {
      const p = filters[i] as FilterPlugin
      const s = p.filter(state, pod, node)
      if (!s.ok) return s.withPlugin(p.name)
    }
    return success
  }

  /** The filters, with the node's nominated pods counted (see runFiltersWithNominatedPods). */
  runFiltersWithNominatedPods(state: CycleState, pod: Readonly<Pod>, node: NodeInfo): Status {
    return runFiltersWithNominatedPods(this, this.#nominatedPods(node.name), state, pod, node)
  }

  runPreFilterAddPod(state: CycleState, pod: Readonly<Pod>, toAdd: PodInfo, node: NodeInfo): Status {
    for (const p of this.profile.preFilter) {
      if (state.skipFilterPlugins.has(p.name)) continue
      const s = p.addPod?.(state, pod, toAdd, node) ?? success
      if (!s.ok) return s.withPlugin(p.name)
    }
    return success
  }

  runPreFilterRemovePod(state: CycleState, pod: Readonly<Pod>, toRemove: PodInfo, node: NodeInfo): Status {
    for (const p of this.profile.preFilter) {
      if (state.skipFilterPlugins.has(p.name)) continue
      const s = p.removePod?.(state, pod, toRemove, node) ?? success
      if (!s.ok) return s.withPlugin(p.name)
    }
    return success
  }

  /**
   * No node fits: PostFilter plugins (preemption) try to make room, in order, until one succeeds
   * (it nominates a node), says UnschedulableAndUnresolvable, or fails with an error. Otherwise
   * the answer is Unschedulable with every plugin's reasons, and the last nomination change a
   * plugin asked for (Kubernetes' RunPostFilterPlugins).
   */
  async runPostFilter(
    state: CycleState,
    pod: Readonly<Pod>,
    statuses: ReadonlyMap<string, Status>,
  ): Promise<PostFilterResult> {
    const reasons: string[] = []
    let rejector = ''
    let nominatedNodeName: string | undefined
    for (const p of this.profile.postFilter ?? []) {
      const r = await p.postFilter(state, pod, statuses, this)
      if (r.status.ok) return r
      if (!r.status.rejected) return { status: r.status.withPlugin(p.name) }
      if (r.status.code === 'UnschedulableAndUnresolvable')
        return { ...r, status: r.status.withPlugin(p.name) }
      if (r.nominatedNodeName !== undefined) nominatedNodeName = r.nominatedNodeName
      reasons.push(...r.status.reasons)
      rejector ||= p.name
    }
    const status = unschedulable(...reasons).withPlugin(rejector)
    return nominatedNodeName === undefined ? { status } : { status, nominatedNodeName }
  }

  /** Reserve in order; when one fails, every plugin's Unreserve runs in reverse. */
  async runReserve(state: CycleState, pod: Readonly<Pod>, nodeName: string): Promise<Status> {
    for (const p of this.profile.reserve ?? []) {
      const s = await p.reserve(state, pod, nodeName)
      if (!s.ok) {
        this.runUnreserve(state, pod, nodeName)
        return s.withPlugin(p.name)
      }
    }
    return success
  }

  runUnreserve(state: CycleState, pod: Readonly<Pod>, nodeName: string): void {
    for (const p of [...(this.profile.reserve ?? [])].reverse()) p.unreserve(state, pod, nodeName)
  }

  /**
   * Permit: every plugin must allow. A plugin that says Wait holds the pod until
   * `allow`/`reject` is called for it or its timeout passes (then it is rejected).
   */
  async runPermit(state: CycleState, pod: Readonly<Pod>, nodeName: string): Promise<Status> {
    let waitMs = 0
    for (const p of this.profile.permit ?? []) {
      const r = p.permit(state, pod, nodeName)
      if (r.status.code === 'Wait') waitMs = Math.max(waitMs, r.timeoutMs ?? 0)
      else if (!r.status.ok) return r.status.withPlugin(p.name)
    }
    if (waitMs === 0) return success
    const uid = pod.metadata?.uid ?? ''
    return new Promise<Status>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(uid)
        resolve(new Status('Unschedulable', ['rejected due to timeout after waiting at permit']))
      }, waitMs)
      this.#waiting.set(uid, (s) => {
        clearTimeout(timer)
        this.#waiting.delete(uid)
        resolve(s)
      })
    })
  }

  /** Ends a Permit wait: success lets the pod bind, anything else rejects it. */
  resolveWaiting(uid: string, status: Status): boolean {
    const w = this.#waiting.get(uid)
    w?.(status)
    return !!w
  }

  /** PreBind, Bind (the first plugin that does not Skip binds) and PostBind. */
  async runBindingCycle(state: CycleState, pod: Readonly<Pod>, nodeName: string): Promise<Status> {
    for (const p of this.profile.preBind ?? []) {
      const s = await p.preBind(state, pod, nodeName)
      if (!s.ok) return s.withPlugin(p.name)
    }
    let bound = false
    for (const p of this.profile.bind ?? []) {
      const s = await p.bind(state, pod, nodeName)
      if (s.code === 'Skip') continue
      if (!s.ok) return s.withPlugin(p.name)
      bound = true
      break
    }
    if (!bound) return error('no bind plugin bound the pod')
    for (const p of this.profile.postBind ?? []) p.postBind(state, pod, nodeName)
    return success
  }

  #prioritize(state: CycleState, pod: Readonly<Pod>, feasible: readonly NodeInfo[]): NodeScore[] {
    // The two lists live as long as the framework: a cycle scores hundreds of nodes, and their
    // entries were most of what a cycle allocated. `scores` is every plugin's in turn.
    const totals = nodeScores(this.#totals, feasible)
    const scores = nodeScores(this.#scores, feasible)
    for (const { plugin, weight } of this.profile.score) {
      if (state.skipScorePlugins.has(plugin.name)) continue
      for (let i = 0; i < feasible.length; i++)
        (scores[i] as NodeScore).score = plugin.score(state, pod, feasible[i] as NodeInfo)
      plugin.normalizeScores?.(state, pod, scores)
      for (let i = 0; i < totals.length; i++)
        (totals[i] as NodeScore).score += (scores[i] as NodeScore).score * weight
    }
    return totals
  }

  /**
   * The highest score; among equals, each is picked with the same chance (as upstream's reservoir
   * sampling gives, with one random number per cycle instead of one per tie).
   */
  #selectHost(scores: readonly NodeScore[]): string {
    let best = -Infinity
    let ties = 0
    for (let i = 0; i < scores.length; i++) {
      const s = (scores[i] as NodeScore).score
      if (s > best) {
        best = s
        ties = 1
      } else if (s === best) ties++
    }
    let k = Math.min(ties - 1, Math.floor(this.#random() * ties))
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i] as NodeScore
      if (s.score !== best) continue
      if (k === 0) return s.name
      k--
    }
    return (scores[0] as NodeScore).name
  }
}

/** A NodeScore whose name can be changed, for the lists #prioritize reuses. */
type ScoreEntry = { name: string; score: number }

/** `list` made one entry per node, in order, each with score 0, reusing the entries it had. */
function nodeScores(list: ScoreEntry[], nodes: readonly NodeInfo[]): NodeScore[] {
  if (list.length > nodes.length) list.length = nodes.length
  for (let i = 0; i < nodes.length; i++) {
    const name = (nodes[i] as NodeInfo).name
    const s = list[i]
    if (s === undefined) list.push({ name, score: 0 })
    else {
      s.name = name
      s.score = 0
    }
  }
  return list
}
