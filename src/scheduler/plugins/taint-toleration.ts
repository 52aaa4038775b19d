import type { Pod, Toleration } from '../../api/generated/types/core-v1.ts'
import { tolerates, untoleratedTaint } from '../../api/taints.ts'
import { stateKey, type CycleState } from '../framework/cycle-state.ts'
import {
  highestScore,
  maxNodeScore,
  type FilterPlugin,
  type NodeScore,
  type PreScorePlugin,
  type ScorePlugin,
} from '../framework/interfaces.ts'
import type { NodeInfo } from '../framework/node-info.ts'
import { success, unresolvable, type Status } from '../framework/status.ts'

const filterEffects: readonly string[] = ['NoSchedule', 'NoExecute']
const none: readonly Toleration[] = []

const preferNoScheduleKey = stateKey<readonly Toleration[]>('TaintToleration/PreScore')

/**
 * TaintToleration: a node's NoSchedule and NoExecute taints keep away the pods that do not
 * tolerate them ("node(s) had untolerated taint {key: value}"); among the nodes that fit, those
 * with fewer PreferNoSchedule taints the pod does not tolerate score higher.
 */
export const taintToleration: FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: 'TaintToleration',

  filter(_state, pod: Readonly<Pod>, node: NodeInfo): Status {
    const taints = node.node.spec?.taints
    if (taints === undefined || taints.length === 0) return success
    const taint = untoleratedTaint(taints, pod.spec?.tolerations ?? none, filterEffects)
    if (!taint) return success
    return unresolvable(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`)
  },

  preScore(state: CycleState, pod: Readonly<Pod>): Status {
    // Only tolerations that could tolerate PreferNoSchedule taints matter to the score.
    const tolerations = (pod.spec?.tolerations ?? []).filter(
      (t) => !t.effect || t.effect === 'PreferNoSchedule',
    )
    state.write(preferNoScheduleKey, tolerations)
    return success
  },

  score(state: CycleState, _pod, node: NodeInfo): number {
    const tolerations = state.read(preferNoScheduleKey)
    let intolerable = 0
    for (const taint of node.node.spec?.taints ?? []) {
      if (taint.effect === 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint))) intolerable++
    }
    return intolerable
  },

  /** Fewer intolerable taints is better: the counts are reversed into 0..100 by the largest. */
  normalizeScores(_state, _pod, scores: NodeScore[]): void {
    const most = highestScore(scores)
    for (const s of scores)
      s.score = most === 0 ? maxNodeScore : Math.floor(maxNodeScore - (s.score * maxNodeScore) / most)
  },
}
