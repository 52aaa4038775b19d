import type { Pod } from '../../api/generated/types/core-v1.ts'
import { stateKey, type CycleState } from '../framework/cycle-state.ts'
import { maxNodeScore, type PreScorePlugin, type ScorePlugin } from '../framework/interfaces.ts'
import { podRequests, type NodeInfo, type Resources } from '../framework/node-info.ts'
import { success, type Status } from '../framework/status.ts'

const requestsKey = stateKey<Resources>('NodeResourcesBalancedAllocation/PreScore')

/**
 * NodeResourcesBalancedAllocation: nodes whose CPU and memory would be used in similar shares
 * score higher: (1 − the standard deviation of the two fractions) × 100, each fraction capped at
 * 1, counting requests as they are (no defaults for pods that request nothing).
 */
export const balancedAllocation: PreScorePlugin & ScorePlugin = {
  name: 'NodeResourcesBalancedAllocation',

  preScore(state: CycleState, pod: Readonly<Pod>): Status {
    state.write(requestsKey, podRequests(pod))
    return success
  },

  score(state: CycleState, _pod, node: NodeInfo): number {
    const req = state.read(requestsKey)
    const fraction = (requested: number, allocatable: number) =>
      allocatable <= 0 ? 0 : Math.min(1, requested / allocatable)
    const cpu = fraction(node.requested.milliCPU + req.milliCPU, node.allocatable.milliCPU)
    const memory = fraction(node.requested.memory + req.memory, node.allocatable.memory)
    const std = Math.abs(cpu - memory) / 2
    return Math.floor((1 - std) * maxNodeScore)
  },
}
