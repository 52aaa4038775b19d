import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { CycleState } from './cycle-state.ts'
import type { NodeInfo } from './node-info.ts'
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
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: Readonly<Pod>, node: NodeInfo): Status
}

export interface PostFilterPlugin extends Plugin {
  /** No node fits: make one fit (preemption); `statuses` holds every node's rejection. */
  postFilter(
    state: CycleState,
    pod: Readonly<Pod>,
    statuses: ReadonlyMap<string, Status>,
  ): Promise<{ status: Status; nominatedNodeName?: string }>
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
