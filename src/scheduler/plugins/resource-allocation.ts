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
 */
export function allocatableAndRequested(
  node: NodeInfo,
  resources: readonly ResourceSpec[],
  podRequests: readonly number[],
  useRequested: boolean,
  into: { allocatable: number[]; requested: number[] },
): void {
  for (let i = 0; i < resources.length; i++) {
    const name = (resources[i] as ResourceSpec).name
    const podRequest = podRequests[i] ?? 0
    const core = name === 'cpu' || name === 'memory'
    const extended = !core && name !== 'ephemeral-storage'
    const allocatable = amountOf(node.allocatable, name)
    if ((extended && podRequest === 0) || allocatable === 0) {
      into.allocatable[i] = 0
      into.requested[i] = 0
      continue
    }
    const used = core && !useRequested ? node.nonZeroRequested : node.requested
    into.allocatable[i] = allocatable
    into.requested[i] = amountOf(used, name) + podRequest
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
