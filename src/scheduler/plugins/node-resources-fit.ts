import type { Pod } from '../../api/generated/types/core-v1.ts'
import { stateKey, type CycleState } from '../framework/cycle-state.ts'
import {
  maxNodeScore,
  type FilterPlugin,
  type PreFilterPlugin,
  type ScorePlugin,
} from '../framework/interfaces.ts'
import { podRequests, type NodeInfo, type Resources } from '../framework/node-info.ts'
import { success, unschedulable, type Status } from '../framework/status.ts'

const requestsKey = stateKey<{ requests: Resources; nonZero: Resources }>('NodeResourcesFit/PreFilter')

/**
 * NodeResourcesFit: a pod fits a node whose allocatable resources hold its requests on top of
 * what the node's pods already request (cpu, memory, ephemeral-storage, extended resources, and
 * the pod count), each shortfall a reason ("Insufficient cpu", "Too many pods"). Scoring is
 * LeastAllocated: the more CPU and memory would stay free, the higher (equal weights), counting
 * pods without requests at Kubernetes' defaults (100m, 200Mi) so they still spread.
 */
export const nodeResourcesFit: PreFilterPlugin & FilterPlugin & ScorePlugin = {
  name: 'NodeResourcesFit',

  preFilter(state: CycleState, pod: Readonly<Pod>) {
    state.write(requestsKey, { requests: podRequests(pod), nonZero: podRequests(pod, { nonZero: true }) })
    return { status: success }
  },

  filter(state: CycleState, _pod, node: NodeInfo): Status {
    const { requests } = state.read(requestsKey)
    const reasons: string[] = []
    if (node.pods.length + 1 > node.allowedPods) reasons.push('Too many pods')
    const a = node.allocatable
    const used = node.requested
    if (requests.milliCPU > 0 && a.milliCPU < used.milliCPU + requests.milliCPU)
      reasons.push('Insufficient cpu')
    if (requests.memory > 0 && a.memory < used.memory + requests.memory) reasons.push('Insufficient memory')
    if (
      requests.ephemeralStorage > 0 &&
      a.ephemeralStorage < used.ephemeralStorage + requests.ephemeralStorage
    ) {
      reasons.push('Insufficient ephemeral-storage')
    }
    for (const [name, want] of requests.scalar) {
      if (want > 0 && (a.scalar.get(name) ?? 0) < (used.scalar.get(name) ?? 0) + want)
        reasons.push(`Insufficient ${name}`)
    }
    return reasons.length === 0 ? success : unschedulable(...reasons)
  },

  score(state: CycleState, _pod, node: NodeInfo): number {
    const { nonZero } = state.read(requestsKey)
    const free = (allocatable: number, requested: number) =>
      allocatable <= 0 || requested > allocatable
        ? 0
        : ((allocatable - requested) * maxNodeScore) / allocatable
    const cpu = free(node.allocatable.milliCPU, node.nonZeroRequested.milliCPU + nonZero.milliCPU)
    const memory = free(node.allocatable.memory, node.nonZeroRequested.memory + nonZero.memory)
    return Math.floor((cpu + memory) / 2)
  },
}
