import type { NodeInfo, Resources } from '../framework/node-info.ts'

/** A resource and its weight in a score (NodeResourcesFitArgs / NodeResourcesBalancedAllocationArgs `resources`). */
export interface ResourceSpec {
  readonly name: string
  readonly weight: number
}

export const defaultResourceSpecs: readonly ResourceSpec[] = [
  { name: 'cpu', weight: 1 },
  { name: 'memory', weight: 1 },
]

/** One resource's amount in a Resources (cpu in millicores; bytes; scalar by name). */
export function amountOf(r: Readonly<Resources>, name: string): number {
  switch (name) {
    case 'cpu':
      return r.milliCPU
    case 'memory':
      return r.memory
    case 'ephemeral-storage':
      return r.ephemeralStorage
    default:
      return r.scalar.get(name) ?? 0
  }
}

/**
 * What scoring compares per resource, as Kubernetes' resourceAllocationScorer: the node's
 * allocatable, and what would be requested with the pod on it. CPU and memory count pods'
 * non-zero requests (defaults for pods that ask for nothing) unless `useRequested`; an extended
 * resource the pod does not request is left out (allocatable 0), as is one the node lacks.
 * Scores run on hundreds of nodes per pod: what each resource is, is settled once.
 */
export function allocationOf(
  resources: readonly ResourceSpec[],
  useRequested: boolean,
): (node: NodeInfo, podRequests: readonly number[], into: Allocation) => void {
  const kinds = resources.map((r) => kindOf(r.name))
  const names = resources.map((r) => r.name)
  return (node, podRequests, into) => {
    const core = useRequested ? node.requested : node.nonZeroRequested
    for (let i = 0; i < kinds.length; i++) {
      const podRequest = podRequests[i] ?? 0
      let allocatable: number
      let used: number
      switch (kinds[i]) {
        case Kind.Cpu:
          allocatable = node.allocatable.milliCPU
          used = core.milliCPU
          break
        case Kind.Memory:
          allocatable = node.allocatable.memory
          used = core.memory
          break
        case Kind.Ephemeral:
          allocatable = node.allocatable.ephemeralStorage
          used = node.requested.ephemeralStorage
          break
        default: {
          const name = names[i] as string
          allocatable = podRequest === 0 ? 0 : (node.allocatable.scalar.get(name) ?? 0)
          used = node.requested.scalar.get(name) ?? 0
        }
      }
      if (allocatable === 0) {
        into.allocatable[i] = 0
        into.requested[i] = 0
      } else {
        into.allocatable[i] = allocatable
        into.requested[i] = used + podRequest
      }
    }
  }
}

/** Per resource of a scoring plugin's list: the node's allocatable (0: left out) and what would be requested. */
export interface Allocation {
  readonly allocatable: Float64Array
  readonly requested: Float64Array
}

export function allocationFor(resources: readonly ResourceSpec[]): Allocation {
  return { allocatable: new Float64Array(resources.length), requested: new Float64Array(resources.length) }
}

/** What a resource of a scoring list is, as a number for a switch on the hot path. */
const Kind = { Cpu: 0, Memory: 1, Ephemeral: 2, Extended: 3 } as const

function kindOf(name: string): number {
  switch (name) {
    case 'cpu':
      return Kind.Cpu
    case 'memory':
      return Kind.Memory
    case 'ephemeral-storage':
      return Kind.Ephemeral
    default:
      return Kind.Extended
  }
}

/** A `resources` list of a scoring plugin's args: names, weights 1..100, no duplicates. */
export function checkResourceSpecs(list: readonly ResourceSpec[] | undefined, at: string): void {
  if (list === undefined) return
  if (!Array.isArray(list)) throw new Error(`${at}: Invalid value: not a list`)
  const seen = new Set<string>()
  list.forEach((r: ResourceSpec, i) => {
    if (typeof r.name !== 'string' || r.name === '') throw new Error(`${at}[${i}].name: Required value`)
    if (seen.has(r.name)) throw new Error(`${at}[${i}].name: Duplicate value: "${r.name}"`)
    seen.add(r.name)
    if (!Number.isInteger(r.weight) || r.weight < 1 || r.weight > 100)
      throw new Error(
        `${at}[${i}].weight: Invalid value: ${String(r.weight)}: resource weight of ${r.name} not in valid range [1, 100]`,
      )
  })
}
