import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { PodDisruptionBudget } from '../../api/generated/types/policy-v1.ts'
import { labelSelectorFromObject, type LabelSelector } from '../../api/selectors/label-selector.ts'
import { isNotFound } from '../../client/index.ts'
import type { CycleState } from '../framework/cycle-state.ts'
import { fitErrorMessage, runFiltersWithNominatedPods } from '../framework/framework.ts'
import type { FilterRunner, Handle, PostFilterPlugin, PostFilterResult } from '../framework/interfaces.ts'
import type { NodeInfo, PodInfo } from '../framework/node-info.ts'
import { error, Status, success, unresolvable, unschedulable } from '../framework/status.ts'

export const defaultPreemptionName = 'DefaultPreemption'

/**
 * DefaultPreemptionArgs: how many nodes preemption dry-runs before it picks one. It looks at
 * nodes until it has at least max(minCandidateNodesAbsolute, minCandidateNodesPercentage% of the
 * nodes where preemption might help) candidates, one of them without PDB violations.
 */
export interface DefaultPreemptionArgs {
  readonly minCandidateNodesPercentage: number
  readonly minCandidateNodesAbsolute: number
}

export const defaultPreemptionArgs: DefaultPreemptionArgs = {
  minCandidateNodesPercentage: 10,
  minCandidateNodesAbsolute: 100,
}

/** The plugin's args from its pluginConfig, defaulted and validated as kube-scheduler does. */
export function preemptionArgsOf(raw: Readonly<Record<string, unknown>> | undefined): DefaultPreemptionArgs {
  const number = (key: keyof DefaultPreemptionArgs): number => {
    const v = raw?.[key]
    if (v === undefined || v === null) return defaultPreemptionArgs[key]
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new Error(
        `DefaultPreemptionArgs: ${key}: Invalid value: ${JSON.stringify(v)}: must be an integer`,
      )
    return v
  }
  const args = {
    minCandidateNodesPercentage: number('minCandidateNodesPercentage'),
    minCandidateNodesAbsolute: number('minCandidateNodesAbsolute'),
  }
  const errs: string[] = []
  const { minCandidateNodesPercentage: pct, minCandidateNodesAbsolute: abs } = args
  if (pct < 0 || pct > 100)
    errs.push(`minCandidateNodesPercentage: Invalid value: ${pct}: not in valid range [0, 100]`)
  if (abs < 0) errs.push(`minCandidateNodesAbsolute: Invalid value: ${abs}: not in valid range [0, inf)`)
  if (pct === 0 && abs === 0) {
    errs.push(
      'minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute',
      'minCandidateNodesAbsolute: Invalid value: 0: cannot be zero at the same time as minCandidateNodesPercentage',
    )
  }
  if (errs.length > 0) throw new Error(`DefaultPreemptionArgs: ${errs.join(', ')}`)
  return args
}

/** How many candidates to find among `nodes` potential ones (upstream's calculateNumCandidates). */
export function numCandidates(args: DefaultPreemptionArgs, nodes: number): number {
  const n = Math.floor((nodes * args.minCandidateNodesPercentage) / 100)
  return Math.min(nodes, Math.max(n, args.minCandidateNodesAbsolute))
}

/** A node where the preemptor fits once these victims are gone. */
export interface Candidate {
  readonly nodeName: string
  /** The victims, more important first. */
  readonly victims: readonly Readonly<Pod>[]
  /** How many of them are protected by a PodDisruptionBudget that allows no more disruptions. */
  readonly pdbViolations: number
}

const noVictims = 'No preemption victims found for incoming pod'
const notHelpful = 'Preemption is not helpful for scheduling'

/**
 * DefaultPreemption, kube-scheduler's PostFilter plugin. When a pod fits no node, it looks for a
 * node where evicting pods of lower priority would make it fit:
 *
 *   eligible? (not preemptionPolicy Never; no victims of an earlier preemption still terminating
 *   on the node it is nominated to)
 *   → nodes whose rejection was Unschedulable (UnschedulableAndUnresolvable ones cannot be helped)
 *   → on each, from a random offset, until enough candidates: remove every lower-priority pod from
 *     a copy of the node, check the pod fits, then put back ("reprieve") as many as still let it
 *     fit, the most important first, PDB-protected ones before the others
 *   → the best candidate: fewest PDB violations, lowest highest victim priority, smallest
 *     priority sum, fewest victims, latest start among the highest-priority victims
 *   → the pod is nominated to that node, the victims are deleted gracefully (DisruptionTarget
 *     condition, Preempted event), and lower-priority pods nominated there lose their nomination.
 *
 * The pod itself goes back to the queue; once the victims are gone it is scheduled onto its
 * nominated node, which the scheduler tries first. As kube-scheduler's asynchronous preemption
 * (on by default since 1.33), the nomination counts at once and the API calls (the nomination,
 * the deletions) run in the background while the loop goes on; the pod is held back from the
 * queue until they are over, then tried again.
 */
export class DefaultPreemption implements PostFilterPlugin {
  readonly name = defaultPreemptionName
  readonly #handle: Handle
  readonly #args: DefaultPreemptionArgs
  readonly #random: () => number
  /** Preemptions under way, by preemptor uid. */
  readonly #running = new Map<string, Promise<void>>()

  constructor(handle: Handle, args: DefaultPreemptionArgs = defaultPreemptionArgs, random = Math.random) {
    this.#handle = handle
    this.#args = args
    this.#random = random
  }

  /** A pod whose preemption is under way waits ("waiting for the preemption for this pod to be finished"). */
  preEnqueue(pod: Readonly<Pod>): boolean {
    return !this.#running.has(pod.metadata?.uid ?? '')
  }

  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()])
  }

  async postFilter(
    state: CycleState,
    pod: Readonly<Pod>,
    statuses: ReadonlyMap<string, Status>,
    runner: FilterRunner,
  ): Promise<PostFilterResult> {
    const r = await this.#preempt(state, pod, statuses, runner)
    // Kubernetes prefixes the plugin's message so that FailedScheduling says where it came from.
    if (r.status.reasons.length === 0) return r
    return { ...r, status: new Status(r.status.code, [`preemption: ${r.status.reasons.join(', ')}`]) }
  }

  async #preempt(
    state: CycleState,
    pod: Readonly<Pod>,
    statuses: ReadonlyMap<string, Status>,
    runner: FilterRunner,
  ): Promise<PostFilterResult> {
    const nominated = pod.status?.nominatedNodeName
    const why = this.ineligibleBecause(pod, nominated ? statuses.get(nominated) : undefined)
    if (why) return { status: unschedulable(why) }

    const all = this.#handle.snapshot.nodeList()
    if (all.length === 0) return { status: error('no nodes available') }
    const potential = all.filter((n) => statuses.get(n.name)?.code === 'Unschedulable')
    const found = this.dryRun(state, pod, potential, runner, Math.floor(this.#random() * potential.length))
    if (found.errors.length > 0 && found.candidates.length === 0)
      return { status: error(aggregate(found.errors)) }
    if (found.candidates.length === 0) {
      // Nodes not dry-run could not be helped at all.
      const why = new Map(all.map((n) => [n.name, found.statuses.get(n.name) ?? unresolvable(notHelpful)]))
      return { status: unschedulable(fitErrorMessage(all.length, why)), nominatedNodeName: '' }
    }
    const best = pickOneNodeForPreemption(found.candidates, this.#handle.clock.now())
    this.#prepareInBackground(pod, best)
    return { status: success, nominatedNodeName: best.nodeName, victims: best.victims.length }
  }

  /**
   * Why the pod may not preempt (upstream's PodEligibleToPreemptOthers), or undefined when it
   * may. `nominatedStatus` is its nominated node's rejection in this cycle; a node that was not
   * evaluated, or could not be helped, does not hold it back.
   */
  ineligibleBecause(pod: Readonly<Pod>, nominatedStatus: Status | undefined): string | undefined {
    if (pod.spec?.preemptionPolicy === 'Never') return 'not eligible due to preemptionPolicy=Never.'
    const nominated = pod.status?.nominatedNodeName
    if (
      !nominated ||
      (nominatedStatus?.code ?? 'UnschedulableAndUnresolvable') === 'UnschedulableAndUnresolvable'
    )
      return undefined
    const node = this.#handle.snapshot.node(nominated)
    const priority = priorityOf(pod)
    if (node?.pods.some((p) => priorityOf(p.pod) < priority && terminatingByPreemption(p.pod)))
      return 'not eligible due to a terminating pod on the nominated node.'
    return undefined
  }

  /**
   * Preemption tried on the potential nodes in turn, starting at `offset`, on copies of them and
   * of the cycle state, until enough candidates are found (at least one without PDB violations);
   * candidates without violations come first. Each node that yields none says why.
   */
  dryRun(
    state: CycleState,
    pod: Readonly<Pod>,
    potential: readonly NodeInfo[],
    runner: FilterRunner,
    offset = 0,
  ): { candidates: Candidate[]; statuses: Map<string, Status>; errors: string[] } {
    const want = numCandidates(this.#args, potential.length)
    const clean: Candidate[] = []
    const violating: Candidate[] = []
    const statuses = new Map<string, Status>()
    const errors: string[] = []
    const pdbs = pdbsByNamespace(this.#handle)
    for (let i = 0; i < potential.length; i++) {
      const node = potential[(offset + i) % potential.length] as NodeInfo
      const r = this.selectVictimsOnNode(state.clone(), pod, node.clone(), runner, pdbs)
      if (r.status.ok && r.victims.length > 0) {
        const list = r.pdbViolations === 0 ? clean : violating
        if (list.length < want)
          list.push({ nodeName: node.name, victims: r.victims, pdbViolations: r.pdbViolations })
        if (clean.length > 0 && clean.length + violating.length >= want) break
        continue
      }
      const s = r.status.ok ? error(`expected at least one victim pod on node "${node.name}"`) : r.status
      if (s.code === 'Error') errors.push(s.reasons.join(', '))
      statuses.set(node.name, s)
    }
    return { candidates: [...clean, ...violating], statuses, errors }
  }

  /**
   * The fewest pods to evict from `node` (a copy, changed here, as is `state`) for the pod to fit
   * (upstream's SelectVictimsOnNode): every lower-priority pod is removed; if the pod then fits,
   * they are put back one by one, the most important first and those whose PDB would be violated
   * before the others, each staying when the pod still fits with it.
   */
  selectVictimsOnNode(
    state: CycleState,
    pod: Readonly<Pod>,
    node: NodeInfo,
    runner: FilterRunner,
    pdbs: (namespace: string) => readonly Readonly<PodDisruptionBudget>[] = pdbsByNamespace(this.#handle),
  ): { status: Status; victims: Readonly<Pod>[]; pdbViolations: number } {
    const priority = priorityOf(pod)
    const none = (status: Status) => ({ status, victims: [], pdbViolations: 0 })
    const potential = node.pods.filter((p) => priorityOf(p.pod) < priority)
    if (potential.length === 0) return none(unresolvable(noVictims))
    const remove = (p: PodInfo): Status => {
      node.removePod(p.pod.metadata?.uid ?? '')
      const s = runner.runPreFilterRemovePod(state, pod, p, node)
      return s.ok ? s : error(`running RemovePod on PreFilter plugin "${s.plugin}": ${s.reasons.join(', ')}`)
    }
    for (const p of potential) {
      const s = remove(p)
      if (!s.ok) return none(s)
    }
    const nominated = this.#handle.nominatedPods(node.name)
    const fits = () => runFiltersWithNominatedPods(runner, nominated, state, pod, node)
    const first = fits()
    if (!first.ok) return none(first)

    const now = this.#handle.clock.now()
    potential.sort((a, b) => moreImportantFirst(a.pod, b.pod, now))
    const { violating, clean } = splitByPDBViolation(potential, pdbs)
    const victims: PodInfo[] = []
    /** Puts the pod back; true when the preemptor still fits, else it is a victim after all. */
    const reprieve = (p: PodInfo): boolean | Status => {
      node.addPod(p)
      const added = runner.runPreFilterAddPod(state, pod, p, node)
      if (!added.ok)
        return error(`running AddPod on PreFilter plugin "${added.plugin}": ${added.reasons.join(', ')}`)
      if (fits().ok) return true
      const removed = remove(p)
      if (!removed.ok) return removed
      victims.push(p)
      return false
    }
    let pdbViolations = 0
    for (const p of violating) {
      const r = reprieve(p)
      if (r instanceof Status) return none(r)
      if (!r) pdbViolations++
    }
    for (const p of clean) {
      const r = reprieve(p)
      if (r instanceof Status) return none(r)
    }
    if (violating.length > 0 && clean.length > 0)
      victims.sort((a, b) => moreImportantFirst(a.pod, b.pod, now))
    return { status: success, victims: victims.map((p) => p.pod), pdbViolations }
  }

  /**
   * Upstream's prepareCandidateAsync: the pod is nominated to the node (first, so that no victim
   * is evicted for a pod that is gone), the victims not already terminating are deleted (in
   * parallel; one that is already gone is fine), and lower-priority pods nominated to the node
   * lose their nomination, since they may no longer fit there. Meanwhile the pod is held back;
   * afterwards, or when a step fails, it is activated to be tried again.
   */
  #prepareInBackground(pod: Readonly<Pod>, c: Candidate): void {
    const uid = pod.metadata?.uid ?? ''
    const run = this.#prepare(pod, c)
      .then((s) => {
        if (!s.ok)
          this.#handle.log?.warn({ pod: pod.metadata?.name, err: s.reasons.join(', ') }, 'preemption failed')
      })
      .finally(() => {
        this.#running.delete(uid)
        this.#handle.activate?.(pod)
      })
    this.#running.set(uid, run)
  }

  async #prepare(pod: Readonly<Pod>, c: Candidate): Promise<Status> {
    const writes = this.#handle.writes
    if (pod.status?.nominatedNodeName !== c.nodeName) {
      try {
        await writes.setNominatedNodeName(pod, c.nodeName)
      } catch (err) {
        return error(`cannot nominate node ${c.nodeName}: ${(err as Error).message}`)
      }
    }
    const deletions = await Promise.allSettled(
      c.victims
        .filter((v) => !v.metadata?.deletionTimestamp)
        .map((v) => writes.deleteVictim(v, pod, c.nodeName)),
    )
    for (const d of deletions) {
      if (d.status === 'rejected' && !isNotFound(d.reason))
        return error(`cannot preempt a victim on node ${c.nodeName}: ${(d.reason as Error).message}`)
    }
    const priority = priorityOf(pod)
    const lower = this.#handle.nominatedPods(c.nodeName).filter((p) => priorityOf(p.pod) < priority)
    // Not critical: a failure leaves a stale nomination that the next cycle of that pod corrects.
    await Promise.allSettled(lower.map((p) => writes.setNominatedNodeName(p.pod, undefined)))
    return success
  }
}

export function defaultPreemption(
  handle: Handle,
  args?: Readonly<Record<string, unknown>>,
): DefaultPreemption {
  return new DefaultPreemption(handle, preemptionArgsOf(args))
}

/**
 * The candidate whose preemption does the least harm (upstream's pickOneNodeForPreemption), by
 * these criteria in turn, each deciding only among those the previous ones tied: the fewest PDB
 * violations; the lowest priority among the highest-priority victims; the smallest sum of
 * priorities (each counted from the lowest possible priority, so negative ones add up too); the
 * fewest victims; the latest start time of the highest-priority victims (the least work lost);
 * then the first. Victims are ordered more important first.
 */
export function pickOneNodeForPreemption(candidates: readonly Candidate[], now: number): Candidate {
  const scores: ((c: Candidate) => number)[] = [
    (c) => -c.pdbViolations,
    (c) => -priorityOf(c.victims[0] ?? {}),
    (c) => -c.victims.reduce((sum, v) => sum + priorityOf(v) + 2 ** 31, 0),
    (c) => -c.victims.length,
    (c) => earliestStartOfHighestPriority(c.victims, now),
  ]
  let left = [...candidates]
  for (const score of scores) {
    if (left.length <= 1) break
    const values = left.map(score)
    const best = Math.max(...values)
    left = left.filter((_, i) => values[i] === best)
  }
  return left[0] as Candidate
}

/** The earliest start time among the victims that have the highest priority. */
function earliestStartOfHighestPriority(victims: readonly Readonly<Pod>[], now: number): number {
  let top = -Infinity
  let earliest = Infinity
  for (const v of victims) {
    const p = priorityOf(v)
    const t = startTimeOf(v, now)
    if (p > top) {
      top = p
      earliest = t
    } else if (p === top && t < earliest) earliest = t
  }
  return earliest
}

/**
 * Splits pods (kept in order) into those whose eviction would violate a PodDisruptionBudget and
 * the others (upstream's filterPodsWithPDBViolation). Each matching budget's disruptionsAllowed
 * is counted down per pod; a pod is violating when one of its budgets goes below zero. A budget
 * with an empty selector matches nothing; a pod already in its disruptedPods was counted by the
 * apiserver and costs nothing more.
 */
export function splitByPDBViolation(
  pods: readonly PodInfo[],
  pdbs: (namespace: string) => readonly Readonly<PodDisruptionBudget>[],
): { violating: PodInfo[]; clean: PodInfo[] } {
  const allowed = new Map<Readonly<PodDisruptionBudget>, number>()
  const selectors = new Map<Readonly<PodDisruptionBudget>, LabelSelector | undefined>()
  const selectorOf = (pdb: Readonly<PodDisruptionBudget>) => {
    if (!selectors.has(pdb)) {
      try {
        selectors.set(pdb, labelSelectorFromObject(pdb.spec?.selector))
      } catch {
        selectors.set(pdb, undefined) // invalid: matches nothing
      }
    }
    return selectors.get(pdb)
  }
  const violating: PodInfo[] = []
  const clean: PodInfo[] = []
  for (const p of pods) {
    const labels = p.pod.metadata?.labels ?? {}
    const ns = p.pod.metadata?.namespace ?? ''
    let violated = false
    if (Object.keys(labels).length > 0) {
      for (const pdb of pdbs(ns)) {
        if ((pdb.metadata?.namespace ?? '') !== ns) continue
        const selector = selectorOf(pdb)
        if (!selector || selector.empty || !selector.matches(labels)) continue
        if (pdb.status?.disruptedPods?.[p.pod.metadata?.name ?? ''] !== undefined) continue
        const left = (allowed.get(pdb) ?? pdb.status?.disruptionsAllowed ?? 0) - 1
        allowed.set(pdb, left)
        if (left < 0) violated = true
      }
    }
    ;(violated ? violating : clean).push(p)
  }
  return { violating, clean }
}

/** The PDBs of a namespace, read once per preemption. */
function pdbsByNamespace(handle: Handle): (namespace: string) => readonly Readonly<PodDisruptionBudget>[] {
  const seen = new Map<string, readonly Readonly<PodDisruptionBudget>[]>()
  return (ns) => {
    let list = seen.get(ns)
    if (!list) {
      list = handle.pdbs(ns)
      seen.set(ns, list)
    }
    return list
  }
}

/** Higher priority first; among equals the one that started earlier (it has more to lose). */
function moreImportantFirst(a: Readonly<Pod>, b: Readonly<Pod>, now: number): number {
  const pa = priorityOf(a)
  const pb = priorityOf(b)
  if (pa !== pb) return pb - pa
  return startTimeOf(a, now) - startTimeOf(b, now)
}

/** When the pod started; one that has not yet (assumed, or bound but not running) counts as now. */
function startTimeOf(pod: Readonly<Pod>, now: number): number {
  const t = Date.parse(pod.status?.startTime ?? '')
  return Number.isNaN(t) ? now : t
}

function priorityOf(pod: Readonly<Pod>): number {
  return pod.spec?.priority ?? 0
}

/** Being deleted because the scheduler preempted it (its DisruptionTarget condition says so). */
function terminatingByPreemption(pod: Readonly<Pod>): boolean {
  if (!pod.metadata?.deletionTimestamp) return false
  const c = pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget')
  return c?.status === 'True' && c.reason === 'PreemptionByScheduler'
}

/** Several errors as Kubernetes' utilerrors aggregate prints them. */
function aggregate(errors: readonly string[]): string {
  return errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]`
}
