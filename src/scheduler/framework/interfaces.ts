import type { PersistentVolumeClaim, Pod } from '../../api/generated/types/core-v1.ts'
import type { PodDisruptionBudget } from '../../api/generated/types/policy-v1.ts'
import type { LabelSelector } from '../../api/selectors/label-selector.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import type { CycleState } from './cycle-state.ts'
import type { AffinityIndex } from './affinity-index.ts'
import type { NodeInfo, PodInfo } from './node-info.ts'
import type { Status } from './status.ts'

/**
 * The extension points of the scheduling framework, one small interface each; a plugin
 * implements the ones it uses. Filter and Score run for thousands of nodes per pod, so they are
 * synchronous and read what PreFilter and PreScore computed once per cycle from the CycleState.
 *
 *   PreFilter → Filter (each node) → PostFilter (when none fits: preemption)
 *   → PreScore → Score (each feasible node) → NormalizeScore → Reserve → Permit
 *   → (binding cycle) PreBind → Bind → PostBind; Unreserve when anything after Reserve fails
 */
export interface Plugin {
  /** The name in profiles, metrics and the reasons of FailedScheduling events. */
  readonly name: string
}

export interface PreFilterResult {
  status: Status
  /** Only these nodes can fit (NodeName, NodeAffinity with a name field); undefined: all. */
  nodeNames?: ReadonlySet<string>
}

export interface PreFilterPlugin extends Plugin {
  preFilter(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): PreFilterResult
  /**
   * PreFilterExtensions, for plugins whose PreFilter state depends on other pods (InterPodAffinity,
   * PodTopologySpread): preemption and nominated pods ask "what if this pod were (not) on that
   * node", and the plugin updates its state in the (cloned) CycleState to match.
   */
  addPod?(state: CycleState, pod: Readonly<Pod>, toAdd: PodInfo, node: NodeInfo): Status
  removePod?(state: CycleState, pod: Readonly<Pod>, toRemove: PodInfo, node: NodeInfo): Status
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: Readonly<Pod>, node: NodeInfo): Status
}

/** What the framework offers PostFilter: its Filter and PreFilterExtensions, for "what if" questions. */
export interface FilterRunner {
  /** The profile's filters for the pod on the node (in preemption, a copy with victims removed). */
  runFilters(state: CycleState, pod: Readonly<Pod>, node: NodeInfo): Status
  runPreFilterAddPod(state: CycleState, pod: Readonly<Pod>, toAdd: PodInfo, node: NodeInfo): Status
  runPreFilterRemovePod(state: CycleState, pod: Readonly<Pod>, toRemove: PodInfo, node: NodeInfo): Status
}

/** What a PostFilter plugin achieved (Kubernetes' PostFilterResult and its Status). */
export interface PostFilterResult {
  status: Status
  /** Where the pod is now nominated; '' withdraws its nomination; undefined leaves it as it is. */
  nominatedNodeName?: string
  /** How many pods were preempted for it (for the scheduler_preemption_victims metric). */
  victims?: number
}

export interface PostFilterPlugin extends Plugin {
  /**
   * No node fits: make one fit (preemption). `statuses` holds the rejection of every node that
   * was evaluated; a node absent from it counts as UnschedulableAndUnresolvable.
   */
  postFilter(
    state: CycleState,
    pod: Readonly<Pod>,
    statuses: ReadonlyMap<string, Status>,
    runner: FilterRunner,
  ): Promise<PostFilterResult>
  /** PreEnqueue: false keeps the pod out of the active queue for now (its preemption is under way). */
  preEnqueue?(pod: Readonly<Pod>): boolean
  /** Resolves once the work the plugin started in the background is over. */
  settled?(): Promise<void>
}

export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): Status
}

/** Scores are 0 to maxNodeScore; the framework multiplies each plugin's by its weight. */
export const maxNodeScore = 100

export interface NodeScore {
  readonly name: string
  score: number
}

/** The highest of the scores, and 0 when none is above it. */
export function highestScore(scores: readonly NodeScore[]): number {
  let most = 0
  for (const s of scores) if (s.score > most) most = s.score
  return most
}

export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: Readonly<Pod>, node: NodeInfo): number
  /** Brings the raw scores into 0..maxNodeScore, in place. */
  normalizeScores?(state: CycleState, pod: Readonly<Pod>, scores: NodeScore[]): void
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: Readonly<Pod>, nodeName: string): Status | Promise<Status>
  unreserve(state: CycleState, pod: Readonly<Pod>, nodeName: string): void
}

export interface PermitPlugin extends Plugin {
  /** Success, a rejection, or Wait with the longest time to wait for an allow. */
  permit(state: CycleState, pod: Readonly<Pod>, nodeName: string): { status: Status; timeoutMs?: number }
}

export interface PreBindPlugin extends Plugin {
  preBind(state: CycleState, pod: Readonly<Pod>, nodeName: string): Promise<Status>
}

export interface BindPlugin extends Plugin {
  /** Binds, or returns Skip to leave the pod to the next bind plugin. */
  bind(state: CycleState, pod: Readonly<Pod>, nodeName: string): Promise<Status>
}

export interface PostBindPlugin extends Plugin {
  postBind(state: CycleState, pod: Readonly<Pod>, nodeName: string): void
}

/** The nodes and their pods as the scheduler's cache holds them (Kubernetes' snapshot lister). */
export interface NodeSnapshot {
  nodeList(): readonly NodeInfo[]
  node(name: string): NodeInfo | undefined
  /** How many nodes have the image (by any of its names) in status.images (ImageLocality). */
  nodesWithImage(image: string): number
  /** The pods grouped for InterPodAffinity; without it, the plugin groups them each cycle. */
  affinityIndex?(): AffinityIndex
  /**
   * A number that grows with every change to a node or its pods; with changedSince, plugins that
   * sum over all nodes visit only the ones that changed since their last pass.
   */
  changeSequence?(): number
  /** The names of the nodes changed since `sequence` (repeats possible), or undefined when not known. */
  changedSince?(sequence: number): readonly string[] | undefined
}

/** The scheduler's writes that plugins make (preemption). */
export interface PluginWrites {
  /** POSTs the pods/binding subresource (DefaultBinder). */
  bind(pod: Readonly<Pod>, nodeName: string): Promise<void>
  /** Deletes a preemption victim gracefully, with a Preempted event and DisruptionTarget condition. */
  deleteVictim(victim: Readonly<Pod>, preemptor: Readonly<Pod>, nodeName: string): Promise<void>
  /** Sets (or, with undefined, clears) status.nominatedNodeName. */
  setNominatedNodeName(pod: Readonly<Pod>, nodeName: string | undefined): Promise<void>
}

/**
 * What plugins may use besides the pod and node they are given (Kubernetes' framework.Handle):
 * the cluster as the cache sees it, informer-backed reads, the clock, and the scheduler's writes.
 * A plugin factory receives it once, when its profile is built.
 */
export interface Handle {
  readonly snapshot: NodeSnapshot
  /** A namespace's labels (for namespaceSelector in pod affinity); undefined when unknown. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined
  /**
   * The selector of the pod's "owners" (Kubernetes' helper.DefaultSelector): the Services,
   * ReplicationControllers, ReplicaSets and StatefulSets of its namespace that select it, all
   * ANDed; undefined when none does. PodTopologySpread's default constraints spread over these.
   */
  defaultSelector(pod: Readonly<Pod>): LabelSelector | undefined
  persistentVolumeClaim(namespace: string, name: string): Readonly<PersistentVolumeClaim> | undefined
  /** The PodDisruptionBudgets of a namespace. */
  pdbs(namespace: string): readonly Readonly<PodDisruptionBudget>[]
  /** Pods nominated to run on the node after preemption, not yet bound (higher priority first). */
  nominatedPods(nodeName: string): readonly PodInfo[]
  readonly writes: PluginWrites
  readonly clock: Clock
  /** The pod is worth another try now (upstream's Handle.Activate); absent in tests without a queue. */
  activate?(pod: Readonly<Pod>): void
  readonly log?: Logger
}

/** Makes a plugin for one profile; `args` are the plugin's pluginConfig args, if any. */
export type PluginFactory = (handle: Handle, args: Readonly<Record<string, unknown>> | undefined) => Plugin
