import type { Container, Node, Pod } from '../../api/generated/types/core-v1.ts'
import { parseQuantity, type Quantity } from '../../api/quantity.ts'
import { labelsKey, podAffinityTerms, type PodAffinityTerms } from './affinity-terms.ts'

/**
 * Resources as the scheduler adds them up: CPU in millicores, memory and ephemeral storage in
 * bytes, pods as a count, and extended resources (nvidia.com/gpu, hugepages-2Mi, ...) by name.
 * Plain numbers: the filters compare thousands of these per pod, and every value involved fits a
 * double exactly.
 */
export interface Resources {
  milliCPU: number
  memory: number
  ephemeralStorage: number
  /** Extended and hugepage resources, by name. */
  scalar: Map<string, number>
}

/**
 * The `scalar` of Resources without extended resources, which is nearly all of them: one empty
 * map for all, never written (ownScalars gives a map of its own first).
 */
const noScalars = new Map<string, number>()

export function emptyResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: noScalars }
}

/** r's extended resources, as a map of its own to write to. */
function ownScalars(r: Resources): Map<string, number> {
  if (r.scalar === noScalars) r.scalar = new Map()
  return r.scalar
}

/** A resource list (requests, allocatable) as numbers; quantities that do not parse count as 0. */
export function resourcesOf(list: Readonly<Record<string, unknown>> | undefined): Resources {
  const r = emptyResources()
  for (const name in list) {
    const q = parseQuantity(list[name])
    if (!q) continue
    const a = amountsOf(q)
    if (name === 'cpu') r.milliCPU = a.milli
    else if (name === 'memory') r.memory = a.whole
    else if (name === 'ephemeral-storage') r.ephemeralStorage = a.whole
    else if (name !== 'pods') ownScalars(r).set(name, a.whole)
  }
  return r
}

/**
 * A quantity in thousandths and in whole units, each rounded up, worked out once per parsed
 * quantity (parseQuantity keeps those): the BigInt arithmetic made garbage for every pod.
 */
function amountsOf(q: Quantity): { milli: number; whole: number } {
  let a = amounts.get(q)
  if (a === undefined) {
    a = {
      milli: Number((q.nanos + 999_999n) / 1_000_000n),
      whole: Number((q.nanos + 999_999_999n) / 1_000_000_000n),
    }
    amounts.set(q, a)
  }
  return a
}

const amounts = new WeakMap<Quantity, { milli: number; whole: number }>()

function add(into: Resources, r: Readonly<Resources>, sign = 1): void {
  into.milliCPU += sign * r.milliCPU
  into.memory += sign * r.memory
  into.ephemeralStorage += sign * r.ephemeralStorage
  if (r.scalar.size === 0) return
  const to = ownScalars(into)
  for (const [k, v] of r.scalar) to.set(k, (to.get(k) ?? 0) + sign * v)
}

function max(into: Resources, r: Readonly<Resources>): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU)
  into.memory = Math.max(into.memory, r.memory)
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage)
  if (r.scalar.size === 0) return
  const to = ownScalars(into)
  for (const [k, v] of r.scalar) to.set(k, Math.max(to.get(k) ?? 0, v))
}

function copy(r: Readonly<Resources>): Resources {
  return { ...r, scalar: r.scalar.size === 0 ? noScalars : new Map(r.scalar) }
}

/** What scoring assumes of a container that requests nothing (Kubernetes' DefaultMilliCPURequest and DefaultMemoryRequest). */
export const defaultMilliCPURequest = 100
export const defaultMemoryRequest = 200 * 1024 * 1024

/**
 * A pod's effective requests, as Kubernetes computes them (resource.PodRequests): the sum over
 * its containers; init containers run one at a time before them, so each counts alone (plus the
 * sidecars started before it), and the pod needs the larger of the two; sidecars (init containers
 * with restartPolicy Always) keep running, so they add to the containers' sum; the RuntimeClass
 * overhead comes on top. `nonZero` counts the defaults above for containers that request no CPU
 * or memory, as scoring does.
 */
export function podRequests(pod: Readonly<Pod>, o: { nonZero?: boolean } = {}): Readonly<Resources> {
  // Worked out once per pod object: a cycle asks for them several times (PodInfo, NodeResourcesFit,
  // BalancedAllocation), and quantities parse through BigInts.
  const cache = o.nonZero ? nonZeroRequestsOf : requestsOf
  let r = cache.get(pod)
  if (r === undefined) {
    r = computePodRequests(pod, o.nonZero ?? false)
    cache.set(pod, r)
  }
  return r
}

const requestsOf = new WeakMap<Readonly<Pod>, Readonly<Resources>>()
const nonZeroRequestsOf = new WeakMap<Readonly<Pod>, Readonly<Resources>>()

function computePodRequests(pod: Readonly<Pod>, nonZero: boolean): Resources {
  const of = (c: Readonly<Container>): Resources => {
    const r = resourcesOf(c.resources?.requests)
    if (nonZero) {
      if (!c.resources?.requests?.cpu) r.milliCPU = defaultMilliCPURequest
      if (!c.resources?.requests?.memory) r.memory = defaultMemoryRequest
    }
    return r
  }
  const reqs = emptyResources()
  for (const c of pod.spec?.containers ?? []) add(reqs, of(c))
  const sidecars = emptyResources()
  const initMax = emptyResources()
  for (const c of pod.spec?.initContainers ?? []) {
    const r = of(c)
    if (c.restartPolicy === 'Always') {
      add(reqs, r)
      add(sidecars, r)
      max(initMax, sidecars)
    } else {
      const alongside = copy(r)
      add(alongside, sidecars)
      max(initMax, alongside)
    }
  }
  max(reqs, initMax)
  if (pod.spec?.overhead) add(reqs, resourcesOf(pod.spec.overhead))
  return reqs
}

/** One pod on a node, with its requests worked out once. */
/** A pod with what scheduling asks of it worked out once (Kubernetes' framework.PodInfo). */
export interface PodInfo {
  readonly pod: Readonly<Pod>
  readonly requests: Readonly<Resources>
  readonly nonZeroRequests: Readonly<Resources>
  /** Its pod affinity and anti-affinity terms, parsed. */
  readonly affinity: PodAffinityTerms
  /** Its namespace and labels as one string (see labelsKey). */
  readonly labelsKey: string
}

export function podInfo(pod: Readonly<Pod>): PodInfo {
  return {
    pod,
    requests: podRequests(pod),
    nonZeroRequests: podRequests(pod, { nonZero: true }),
    affinity: podAffinityTerms(pod),
    labelsKey: labelsKey(pod),
  }
}

/** A host port in use: protocol, IP (0.0.0.0 for all) and port. */
export interface HostPort {
  readonly protocol: string
  readonly ip: string
  readonly port: number
}

/**
 * A node and what is on it, as one scheduling cycle sees it (Kubernetes' NodeInfo): its pods
 * (bound, or assumed by this scheduler), the sum of their requests, the host ports they use.
 */
export class NodeInfo {
  readonly node: Readonly<Node>
  readonly name: string
  readonly allocatable: Readonly<Resources>
  /** How many pods the node takes (allocatable pods). */
  readonly allowedPods: number
  readonly pods: PodInfo[] = []
  readonly requested: Resources = emptyResources()
  readonly nonZeroRequested: Resources = emptyResources()
  readonly usedPorts: HostPort[] = []
  /**
   * Its position in the scheduler cache's node list (nodeList()), −1 when it is in none (a clone,
   * a NodeInfo made by hand): plugins keep what they work out per node in arrays by it.
   */
  index = -1
  #imageSizes: Map<string, number> | undefined

  constructor(node: Readonly<Node>, allocatable?: Readonly<Resources>, allowedPods?: number) {
    this.node = node
    this.name = node.metadata?.name ?? ''
    const list = node.status?.allocatable ?? {}
    this.allocatable = allocatable ?? resourcesOf(list)
    this.allowedPods = allowedPods ?? Number(list.pods ?? 110)
  }

  /**
   * The size of each image name the node lists in status.images (the first image listing a name
   * wins), worked out on first use: the node never changes.
   */
  get imageSizes(): ReadonlyMap<string, number> {
    if (this.#imageSizes) return this.#imageSizes
    const sizes = new Map<string, number>()
    for (const image of this.node.status?.images ?? []) {
      for (const name of image.names ?? []) if (!sizes.has(name)) sizes.set(name, image.sizeBytes ?? 0)
    }
    this.#imageSizes = sizes
    return sizes
  }

  /** A copy whose pods can be added and removed without touching this one (preemption). */
  clone(): NodeInfo {
    const c = new NodeInfo(this.node, this.allocatable, this.allowedPods)
    for (const p of this.pods) c.addPod(p)
    return c
  }

  addPod(p: PodInfo): void {
    this.pods.push(p)
    add(this.requested, p.requests)
    add(this.nonZeroRequested, p.nonZeroRequests)
    for (const port of hostPortsOf(p.pod)) this.usedPorts.push(port)
  }

  /** Removes a pod by uid; what was removed, undefined when it is not here. */
  removePod(uid: string): PodInfo | undefined {
    const i = this.pods.findIndex((p) => p.pod.metadata?.uid === uid)
    if (i < 0) return undefined
    const [p] = this.pods.splice(i, 1)
    if (!p) return undefined
    add(this.requested, p.requests, -1)
    add(this.nonZeroRequested, p.nonZeroRequests, -1)
    for (const port of hostPortsOf(p.pod)) {
      const j = this.usedPorts.findIndex(
        (u) => u.port === port.port && u.protocol === port.protocol && u.ip === port.ip,
      )
      if (j >= 0) this.usedPorts.splice(j, 1)
    }
    return p
  }
}

/** The host ports a pod's containers ask for. */
export function hostPortsOf(pod: Readonly<Pod>): HostPort[] {
  const out: HostPort[] = []
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue
      out.push({ protocol: p.protocol ?? 'TCP', ip: p.hostIP || '0.0.0.0', port: p.hostPort })
    }
  }
  return out
}
