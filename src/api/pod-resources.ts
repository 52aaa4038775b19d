import type { Container, ContainerStatus, Pod } from './generated/types/core-v1.ts'
import { addQuantities, compareQuantities, parseQuantity, type Quantity } from './quantity.ts'

/**
 * What a pod asks of a node, as Kubernetes' component-helpers count it (resource.PodRequests and
 * PodLimits), for the admission plugins and controllers that charge or bound it (ResourceQuota,
 * LimitRanger):
 *
 * - regular containers and sidecars (init containers with restartPolicy Always) add up;
 * - a plain init container runs with the sidecars started before it, and the largest such sum
 *   wins over the running total when it is larger;
 * - pod-level resources (spec.resources), where set, replace the aggregate for the resources they
 *   support (cpu, memory, hugepages);
 * - the pod overhead of its RuntimeClass is added to requests, and to the limits it names.
 *
 * Resource lists are maps from resource name to parsed quantity; values that do not parse are
 * left out (validation refuses them before anything counts them).
 */
export type ResourceList = Map<string, Quantity>

export interface PodResourcesOptions {
  /**
   * Count what the kubelet reports a container as having (status.containerStatuses[].resources
   * and allocatedResources) when it is more than the spec asks, as upstream does once in-place
   * resize is on: a pod being resized down is charged the larger amount until the resize is done.
   */
  useStatusResources?: boolean
  /** Leave the RuntimeClass overhead out (LimitRanger's simplified sums do). */
  excludeOverhead?: boolean
}

/** A resource list from its wire form. */
export function resourceListOf(list: Readonly<Record<string, unknown>> | undefined): ResourceList {
  const out: ResourceList = new Map()
  if (!list) return out
  for (const [k, v] of Object.entries(list)) {
    const q = parseQuantity(v)
    if (q) out.set(k, q)
  }
  return out
}

/** Adds `from` into `into`. */
export function addInto(into: ResourceList, from: ResourceList): void {
  for (const [k, q] of from) {
    const have = into.get(k)
    into.set(k, have ? addQuantities(have, q) : q)
  }
}

/** Raises each resource of `into` to `from`'s value where that is larger. */
export function maxInto(into: ResourceList, from: ResourceList): void {
  for (const [k, q] of from) {
    const have = into.get(k)
    if (!have || compareQuantities(q, have) > 0) into.set(k, q)
  }
}

/** The larger of each resource over the lists. */
function maxOf(...lists: ResourceList[]): ResourceList {
  const out: ResourceList = new Map()
  for (const l of lists) maxInto(out, l)
  return out
}

const isHugePages = (name: string) => name.startsWith('hugepages-')

/** The resources pod-level spec.resources may set (PodLevelResources). */
export function isSupportedPodLevelResource(name: string): boolean {
  return name === 'cpu' || name === 'memory' || isHugePages(name)
}

/** Whether spec.resources sets requests or limits of a supported resource. */
export function isPodLevelResourcesSet(pod: Readonly<Pod>): boolean {
  const r = pod.spec?.resources
  if (!r) return false
  const names = [...Object.keys(r.requests ?? {}), ...Object.keys(r.limits ?? {})]
  return names.some(isSupportedPodLevelResource)
}

/** A resize the kubelet found infeasible: what it runs with is what counts. */
function isResizeInfeasible(pod: Readonly<Pod>): boolean {
  return (pod.status?.conditions ?? []).some(
    (c) => c.type === 'PodResizePending' && c.status === 'True' && c.reason === 'Infeasible',
  )
}

type Which = 'requests' | 'limits'

function ownOf(c: Readonly<Container>, which: Which): ResourceList {
  return resourceListOf(c.resources?.[which])
}

/** A container's requests or limits, with what its status reports when that counts. */
function containerResources(
  pod: Readonly<Pod>,
  c: Readonly<Container>,
  which: Which,
  statuses: ReadonlyMap<string, Readonly<ContainerStatus>> | undefined,
): ResourceList {
  const own = ownOf(c, which)
  const cs = statuses?.get(c.name)
  if (!cs?.resources) return own
  const reported = resourceListOf(cs.resources[which])
  if (which === 'requests') {
    const allocated = resourceListOf(cs.allocatedResources)
    return isResizeInfeasible(pod) ? maxOf(reported, allocated) : maxOf(own, reported, allocated)
  }
  return isResizeInfeasible(pod) ? reported : maxOf(own, reported)
}

function aggregate(pod: Readonly<Pod>, which: Which, o: PodResourcesOptions): ResourceList {
  const spec = pod.spec
  const total: ResourceList = new Map()
  if (!spec) return total
  const statusesOf = (list: readonly Readonly<ContainerStatus>[] | undefined) =>
    o.useStatusResources ? new Map((list ?? []).map((s) => [s.name, s])) : undefined
  const statuses = statusesOf(pod.status?.containerStatuses)
  const initStatuses = statusesOf(pod.status?.initContainerStatuses)
  for (const c of spec.containers ?? []) addInto(total, containerResources(pod, c, which, statuses))
  const sidecars: ResourceList = new Map()
  const initPeak: ResourceList = new Map()
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === 'Always') {
      const own = containerResources(pod, c, which, initStatuses)
      addInto(total, own)
      addInto(sidecars, own)
      maxInto(initPeak, sidecars)
    } else {
      const during: ResourceList = new Map(sidecars)
      addInto(during, ownOf(c, which))
      maxInto(initPeak, during)
    }
  }
  maxInto(total, initPeak)
  return total
}

/** The pod's effective requests (component-helpers PodRequests). */
export function podRequests(pod: Readonly<Pod>, o: PodResourcesOptions = {}): ResourceList {
  const reqs = aggregate(pod, 'requests', o)
  for (const [k, q] of resourceListOf(pod.spec?.resources?.requests)) {
    if (isSupportedPodLevelResource(k)) reqs.set(k, q)
  }
  if (!o.excludeOverhead) addInto(reqs, resourceListOf(pod.spec?.overhead))
  return reqs
}

/** The pod's effective limits (component-helpers PodLimits). */
export function podLimits(pod: Readonly<Pod>, o: PodResourcesOptions = {}): ResourceList {
  const limits = aggregate(pod, 'limits', o)
  for (const [k, q] of resourceListOf(pod.spec?.resources?.limits)) {
    if (isSupportedPodLevelResource(k)) limits.set(k, q)
  }
  if (!o.excludeOverhead) {
    for (const [k, q] of resourceListOf(pod.spec?.overhead)) {
      const have = limits.get(k)
      if (have) limits.set(k, addQuantities(have, q))
    }
  }
  return limits
}

/**
 * QoS class BestEffort: no container requests or limits any cpu or memory (zero counts as
 * nothing), or with pod-level resources the pod does not, as qos.GetPodQOS decides it.
 */
export function isBestEffort(pod: Readonly<Pod>): boolean {
  const spec = pod.spec
  if (!spec) return true
  const sets: (Readonly<Record<string, unknown>> | undefined)[] = []
  if (isPodLevelResourcesSet(pod)) sets.push(spec.resources?.requests, spec.resources?.limits)
  else {
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      sets.push(c.resources?.requests, c.resources?.limits)
    }
  }
  for (const list of sets) {
    for (const name of ['cpu', 'memory']) {
      const q = parseQuantity(list?.[name])
      if (q && q.nanos !== 0n) return false
    }
  }
  return true
}
