import type { Pod } from '../../api/generated/types/core-v1.ts'
import { stateKey, type CycleState } from '../framework/cycle-state.ts'
import { maxNodeScore, type PreScorePlugin, type ScorePlugin } from '../framework/interfaces.ts'
import { podRequests, type NodeInfo } from '../framework/node-info.ts'
import { success, type Status } from '../framework/status.ts'
import {
  allocationFor,
  allocationOf,
  amountOf,
  checkResourceSpecs,
  defaultResourceSpecs,
  type ResourceSpec,
} from './resource-allocation.ts'

export interface BalancedAllocationArgs {
  readonly resources?: readonly ResourceSpec[]
}

/**
 * NodeResourcesBalancedAllocation: nodes whose resources (cpu and memory by default) would be
 * used in similar shares score higher: (1 − the standard deviation of the fractions) × 100, each
 * fraction capped at 1, counting requests as they are. A pod that requests none of the resources
 * (best effort) is not scored by it (every node gets 0), as upstream skips it.
 */
export function newBalancedAllocation(args: BalancedAllocationArgs = {}): PreScorePlugin & ScorePlugin {
  const resources = args.resources ?? defaultResourceSpecs
  const key = stateKey<number[] | null>('NodeResourcesBalancedAllocation')
  const allocation = allocationOf(resources, true)
  const scratch = allocationFor(resources)
  const fractions = new Float64Array(resources.length)
  return {
    name: 'NodeResourcesBalancedAllocation',

    preScore(state: CycleState, pod: Readonly<Pod>): Status {
      const requests = podRequests(pod)
      const list = resources.map((r) => amountOf(requests, r.name))
      state.write(key, list.every((v) => v === 0) ? null : list)
      return success
    },

    score(state: CycleState, _pod, node: NodeInfo): number {
      const list = state.read(key)
      if (!list) return 0
      allocation(node, list, scratch)
      let count = 0
      let sum = 0
      for (let i = 0; i < resources.length; i++) {
        const alloc = scratch.allocatable[i] as number
        if (alloc === 0) continue
        const f = Math.min(1, (scratch.requested[i] as number) / alloc)
        fractions[count++] = f
        sum += f
      }
      let std = 0
      if (count === 2) std = Math.abs(((fractions[0] as number) - (fractions[1] as number)) / 2)
      else if (count > 2) {
        const mean = sum / count
        let sq = 0
        for (let i = 0; i < count; i++) sq += ((fractions[i] as number) - mean) ** 2
        std = Math.sqrt(sq / count)
      }
      return Math.trunc((1 - std) * maxNodeScore)
    },
  }
}

/** NodeResourcesBalancedAllocationArgs from a configuration file; throws naming the field. */
export function balancedAllocationArgs(
  raw: Readonly<Record<string, unknown>> | undefined,
): BalancedAllocationArgs {
  if (!raw) return {}
  checkResourceSpecs(
    raw.resources as readonly ResourceSpec[] | undefined,
    'NodeResourcesBalancedAllocationArgs.resources',
  )
  return raw
}

/** NodeResourcesBalancedAllocation with the default args. */
export const balancedAllocation = newBalancedAllocation()
