import type { Pod } from '../../api/generated/types/core-v1.ts'
import { stateKey, type CycleState } from '../framework/cycle-state.ts'
import {
  maxNodeScore,
  type FilterPlugin,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ScorePlugin,
} from '../framework/interfaces.ts'
import { podRequests, type NodeInfo, type Resources } from '../framework/node-info.ts'
import { success, unschedulable, type Status } from '../framework/status.ts'
import {
  allocationFor,
  allocationOf,
  amountOf,
  checkResourceSpecs,
  defaultResourceSpecs,
  type ResourceSpec,
} from './resource-allocation.ts'

/** NodeResourcesFitArgs.scoringStrategy.type */
export type ScoringStrategy = 'LeastAllocated' | 'MostAllocated' | 'RequestedToCapacityRatio'

/** A point of RequestedToCapacityRatio's shape: utilization 0..100 → score 0..10. */
export interface ShapePoint {
  readonly utilization: number
  readonly score: number
}

export interface NodeResourcesFitArgs {
  readonly ignoredResources?: readonly string[]
  /** Extended resources whose group (the part before the slash) is listed are ignored. */
  readonly ignoredResourceGroups?: readonly string[]
  readonly scoringStrategy?: {
    readonly type?: ScoringStrategy
    readonly resources?: readonly ResourceSpec[]
    readonly requestedToCapacityRatio?: { readonly shape?: readonly ShapePoint[] }
  }
}

/** RequestedToCapacityRatio's scores are 0..10 (MaxCustomPriorityScore), scaled to 0..100. */
const maxCustomPriorityScore = 10

/**
 * Scores one resource from what would be requested and what the node has (both > 0), 0..100, in
 * upstream's integer arithmetic.
 */
function scorerFor(args: NodeResourcesFitArgs): (requested: number, allocatable: number) => number {
  const type = args.scoringStrategy?.type ?? 'LeastAllocated'
  switch (type) {
    case 'LeastAllocated':
      return (req, alloc) => (req > alloc ? 0 : Math.floor(((alloc - req) * maxNodeScore) / alloc))
    case 'MostAllocated':
      return (req, alloc) => Math.floor((Math.min(req, alloc) * maxNodeScore) / alloc)
    case 'RequestedToCapacityRatio': {
      const shape = (args.scoringStrategy?.requestedToCapacityRatio?.shape ?? []).map((p) => ({
        utilization: p.utilization,
        score: p.score * (maxNodeScore / maxCustomPriorityScore),
      }))
      const f = brokenLinear(shape)
      return (req, alloc) => f(req >= alloc ? 100 : Math.floor((req * 100) / alloc))
    }
  }
}

/** The piecewise linear function through the shape's points, flat before the first and after the last. */
export function brokenLinear(shape: readonly ShapePoint[]): (x: number) => number {
  return (x) => {
    for (let i = 0; i < shape.length; i++) {
      const p = shape[i] as ShapePoint
      if (x <= p.utilization) {
        if (i === 0) return p.score
        const q = shape[i - 1] as ShapePoint
        return (
          q.score + Math.trunc(((p.score - q.score) * (x - q.utilization)) / (p.utilization - q.utilization))
        )
      }
    }
    return shape.at(-1)?.score ?? 0
  }
}

interface FitState {
  requests: Resources
  /** The pod's requests per scored resource, non-zero for cpu and memory. */
  scored: number[]
}

/**
 * NodeResourcesFit: a pod fits a node whose allocatable resources hold its requests on top of
 * what the node's pods already request (cpu, memory, ephemeral-storage, extended resources, and
 * the pod count), each shortfall a reason ("Insufficient cpu", "Too many pods"); ignoredResources
 * and ignoredResourceGroups leave extended resources out of the check. Scoring follows the
 * scoringStrategy: LeastAllocated (default: the more stays free, the higher), MostAllocated (bin
 * packing) or RequestedToCapacityRatio (a shape over utilization), each resource by weight
 * (cpu and memory, 1 each, by default), counting pods without cpu/memory requests at Kubernetes'
 * defaults (100m, 200Mi) so they still spread.
 */
export function newNodeResourcesFit(
  args: NodeResourcesFitArgs = {},
): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin {
  const resources = args.scoringStrategy?.resources ?? defaultResourceSpecs
  const ignored = new Set(args.ignoredResources ?? [])
  const ignoredGroups = new Set(args.ignoredResourceGroups ?? [])
  const scorer = scorerFor(args)
  const key = stateKey<FitState>('NodeResourcesFit')
  const ratio = args.scoringStrategy?.type === 'RequestedToCapacityRatio'
  const allocation = allocationOf(resources, false)
  const scratch = allocationFor(resources)
  const computeState = (state: CycleState, pod: Readonly<Pod>): FitState => {
    const nonZero = podRequests(pod, { nonZero: true })
    const requests = podRequests(pod)
    const s: FitState = {
      requests,
      scored: resources.map((r) =>
        amountOf(r.name === 'cpu' || r.name === 'memory' ? nonZero : requests, r.name),
      ),
    }
    state.write(key, s)
    return s
  }
  return {
    name: 'NodeResourcesFit',

    preFilter(state: CycleState, pod: Readonly<Pod>) {
      computeState(state, pod)
      return { status: success }
    },

    filter(state: CycleState, _pod, node: NodeInfo): Status {
      const { requests } = state.read(key)
      // Most nodes fit: the list of reasons is made for those that do not.
      let reasons: string[] | undefined
      if (node.pods.length + 1 > node.allowedPods) reasons = withReason(reasons, 'Too many pods')
      const a = node.allocatable
      const used = node.requested
      if (requests.milliCPU > 0 && a.milliCPU < used.milliCPU + requests.milliCPU)
        reasons = withReason(reasons, 'Insufficient cpu')
      if (requests.memory > 0 && a.memory < used.memory + requests.memory)
        reasons = withReason(reasons, 'Insufficient memory')
      if (
        requests.ephemeralStorage > 0 &&
        a.ephemeralStorage < used.ephemeralStorage + requests.ephemeralStorage
      ) {
        reasons = withReason(reasons, 'Insufficient ephemeral-storage')
      }
      if (requests.scalar.size > 0)
        for (const [name, want] of requests.scalar) {
          if (want <= 0 || ignored.has(name)) continue
          const slash = name.indexOf('/')
          if (slash > 0 && ignoredGroups.has(name.slice(0, slash))) continue
          if ((a.scalar.get(name) ?? 0) < (used.scalar.get(name) ?? 0) + want)
            reasons = withReason(reasons, `Insufficient ${name}`)
        }
      return reasons === undefined ? success : unschedulable(...reasons)
    },

    preScore(state: CycleState, pod: Readonly<Pod>): Status {
      if (!state.has(key)) computeState(state, pod)
      return success
    },

    score(state: CycleState, _pod, node: NodeInfo): number {
      const { scored } = state.read(key)
      allocation(node, scored, scratch)
      let total = 0
      let weights = 0
      for (let i = 0; i < resources.length; i++) {
        const alloc = scratch.allocatable[i] as number
        if (alloc === 0) continue
        const weight = (resources[i] as ResourceSpec).weight
        const s = scorer(scratch.requested[i] as number, alloc)
        // RequestedToCapacityRatio leaves resources scoring 0 out of the average, as upstream does.
        if (ratio && s <= 0) continue
        total += s * weight
        weights += weight
      }
      if (weights === 0) return 0
      return ratio ? Math.round(total / weights) : Math.floor(total / weights)
    },
  }
}

/** The reasons so far (none yet: undefined) and one more. */
function withReason(reasons: string[] | undefined, reason: string): string[] {
  if (!reasons) return [reason]
  reasons.push(reason)
  return reasons
}

/**
 * NodeResourcesFitArgs from a configuration file, checked as kube-scheduler checks them; throws
 * an Error naming the field.
 */
export function fitArgs(raw: Readonly<Record<string, unknown>> | undefined): NodeResourcesFitArgs {
  if (!raw) return {}
  const at = 'NodeResourcesFitArgs'
  const strategy = raw.scoringStrategy as NodeResourcesFitArgs['scoringStrategy'] | undefined
  const type = strategy?.type ?? 'LeastAllocated'
  if (!['LeastAllocated', 'MostAllocated', 'RequestedToCapacityRatio'].includes(type))
    throw new Error(`${at}.scoringStrategy.type: Unsupported value: "${type}"`)
  checkResourceSpecs(strategy?.resources, `${at}.scoringStrategy.resources`)
  if (type === 'RequestedToCapacityRatio') {
    const shape = strategy?.requestedToCapacityRatio?.shape ?? []
    if (shape.length === 0)
      throw new Error(
        `${at}.scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point`,
      )
    shape.forEach((p, i) => {
      const f = `${at}.scoringStrategy.requestedToCapacityRatio.shape[${i}]`
      if (!Number.isInteger(p.utilization) || p.utilization < 0 || p.utilization > 100)
        throw new Error(
          `${f}.utilization: Invalid value: ${String(p.utilization)}: not in valid range [0, 100]`,
        )
      if (i > 0 && p.utilization <= (shape[i - 1] as ShapePoint).utilization)
        throw new Error(
          `${f}.utilization: Invalid value: ${p.utilization}: utilization values must be sorted in increasing order`,
        )
      if (!Number.isInteger(p.score) || p.score < 0 || p.score > maxCustomPriorityScore)
        throw new Error(`${f}.score: Invalid value: ${String(p.score)}: not in valid range [0, 10]`)
    })
  }
  for (const field of ['ignoredResources', 'ignoredResourceGroups'] as const) {
    const v = raw[field]
    if (v !== undefined && (!Array.isArray(v) || !v.every((x) => typeof x === 'string')))
      throw new Error(`${at}.${field}: Invalid value: not a list of resource names`)
  }
  return raw
}

/** NodeResourcesFit with the default args. */
export const nodeResourcesFit = newNodeResourcesFit()
