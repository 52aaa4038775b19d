import type { Node, Pod, Service } from '../../api/generated/types/core-v1.ts'
import type { Endpoint, EndpointPort, EndpointSlice } from '../../api/generated/types/discovery-v1.ts'
import { deepEqual } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  builtin,
  isNotFound,
  objectKey,
  runWorkers,
  splitKey,
  WorkQueue,
  type EventHandler,
  type Lister,
  type Reconciler,
  type Requeue,
  type ResourceClient,
} from '../../client/index.ts'
import type { ControllerContext, ControllerDefinition, Recorder } from '../controller.ts'
import { controllerRefTo } from '../owner-refs.ts'
import { isPodReady } from '../pod-state.ts'
import {
  annotationLastChangeTriggerTime,
  findPort,
  isIPv6,
  isServiceIPSet,
  labelHeadless,
  labelManagedBy,
  labelServiceName,
  podIPs,
  podsOf,
  rfc3339Nano,
  serviceSelector,
  serviceKeyHandlers,
  shouldPodBeInEndpoints,
  shouldSetHostname,
  TriggerTimeTracker,
} from './pod-endpoints.ts'

/**
 * The EndpointSlice controller: publishes the pods a Service selects as EndpointSlices
 * (discovery.k8s.io/v1), as Kubernetes' endpointslice controller and its reconciler
 * (k8s.io/endpointslice) do.
 *
 * - Only Services with a selector (and not ExternalName) are managed; the slices of the others
 *   belong to their users (or the mirroring controller) and are never touched.
 * - A Service gets slices per address type of its ipFamilies, named `<service>-<suffix>`,
 *   labelled with the Service's name and our managed-by value, owned by the Service (the garbage
 *   collector deletes them with it). Endpoints are grouped by their resolved ports, at most 100
 *   to a slice; a Service without endpoints keeps one empty placeholder slice.
 * - Changes go to the existing slices first: endpoints that went are dropped, changed ones are
 *   replaced, new ones fill slices already being written, then the unchanged slice they fit best,
 *   and only then new slices. A slice that would be deleted while another is created is updated
 *   in its place instead, so names do not churn.
 * - The controller remembers its own writes; a sync that finds the informer's cache behind them
 *   fails and is retried (with back-off) rather than acting on the stale view.
 */

/** The managed-by value on our slices. */
export const endpointSliceControllerName = 'endpointslice-controller.k8s.io'
/** kube-controller-manager's --max-endpoints-per-slice default. */
export const defaultMaxEndpointsPerSlice = 100
/** The event reason when writing a Service's slices failed. */
export const reasonFailedToUpdateEndpointSlices = 'FailedToUpdateEndpointSlices'

const zoneLabel = 'topology.kubernetes.io/zone'

/** The writes of the controller: the apiserver in production, a recording fake in tests. */
export interface EndpointSliceControl {
  /** Creates a slice (metadata.generateName set); resolves to it as stored. */
  create(namespace: string, slice: EndpointSlice): Promise<EndpointSlice>
  /** Replaces a slice (resourceVersion set: a Conflict when it changed meanwhile). */
  update(slice: EndpointSlice): Promise<EndpointSlice>
  /** Deletes a slice; throws NotFound when it is gone already. */
  delete(namespace: string, name: string): Promise<void>
}

export interface EndpointSliceControllerOptions {
  services: Lister<Service>
  pods: Lister<Pod>
  nodes: Lister<Node>
  slices: Lister<EndpointSlice>
  control: EndpointSliceControl
  recorder: Recorder
  clock: Clock
  log?: Logger
  maxEndpointsPerSlice?: number
}

export class EndpointSliceController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: EndpointSliceControllerOptions
  readonly #max: number
  readonly #tracker: SliceTracker
  readonly #triggerTimes = new TriggerTimeTracker()

  constructor(o: EndpointSliceControllerOptions, queue?: WorkQueue) {
    this.#o = o
    this.#max = o.maxEndpointsPerSlice ?? defaultMaxEndpointsPerSlice
    this.queue = queue ?? new WorkQueue({ clock: o.clock })
    this.#tracker = new SliceTracker(o.clock)
  }

  // --- events to keys --------------------------------------------------------------------------

  serviceHandler(): EventHandler<Service> {
    return serviceKeyHandlers(this.queue, this.#o.services).service
  }

  podHandler(): EventHandler<Pod> {
    return serviceKeyHandlers(this.queue, this.#o.services).pod
  }

  /** Slices we manage that changed other than by our own hand send their Service round again. */
  sliceHandler(): EventHandler<EndpointSlice> {
    const serviceKey = (s: Readonly<EndpointSlice>) => {
      const name = s.metadata?.labels?.[labelServiceName]
      if (s.metadata?.labels?.[labelManagedBy] !== endpointSliceControllerName || !name) return undefined
      return objectKey({ metadata: { namespace: s.metadata.namespace ?? '', name } })
    }
    const changed = (s: Readonly<EndpointSlice>) => {
      const key = serviceKey(s)
      if (key && !this.#tracker.isOwnWrite(s)) this.queue.add(key)
    }
    return {
      add: changed,
      update: (old, s) => {
        const before = serviceKey(old)
        if (before && before !== serviceKey(s)) this.queue.add(before)
        changed(s)
      },
      delete: (s) => {
        const key = serviceKey(s)
        if (key && !this.#tracker.deletionObserved(s)) this.queue.add(key)
      },
    }
  }

  // --- reconcile -------------------------------------------------------------------------------

  async reconcile(key: string): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const svc = this.#o.services.get(namespace, name)
    if (!svc) {
      // The garbage collector deletes the slices through their ownerReferences.
      this.#triggerTimes.delete(key)
      this.#tracker.forgetService(key)
      return undefined
    }
    const selector = serviceSelector(svc)
    if (!selector) return undefined
    const pods = podsOf(svc, selector, this.#o.pods)
    const slices = this.#o.slices.list(namespace).filter(
      (s) =>
        s.metadata?.labels?.[labelServiceName] === name &&
        s.metadata.labels[labelManagedBy] === endpointSliceControllerName &&
        // Slices being deleted are left to finish, not reused.
        !s.metadata.deletionTimestamp,
    )
    if (this.#tracker.isStale(key, slices)) {
      throw new Error(`the EndpointSlice informer cache is behind the writes for Service ${key}`)
    }
    const triggerTime = this.#triggerTimes.compute(key, svc, pods)
    const plan = planEndpointSlices({
      service: svc,
      pods,
      slices,
      node: (n) => this.#o.nodes.get('', n),
      maxEndpointsPerSlice: this.#max,
      triggerTime,
    })
    try {
      await this.#apply(key, svc, plan)
    } catch (err) {
      this.#o.recorder.event(
        svc,
        'Warning',
        reasonFailedToUpdateEndpointSlices,
        `Error updating Endpoint Slices for Service ${key}: ${(err as Error).message}`,
      )
      throw err
    }
    // Pods left out because their Node is unknown yet: try again (with back-off).
    if (plan.skipped.length > 0) throw new Error(plan.skipped.join('; '))
    return undefined
  }

  async #apply(key: string, svc: Readonly<Service>, plan: SlicePlan): Promise<void> {
    const namespace = svc.metadata?.namespace ?? ''
    // Creating slices for a Service being deleted would race the garbage collector.
    if (!svc.metadata?.deletionTimestamp) {
      for (const slice of plan.create) {
        this.#tracker.wrote(key, await this.#o.control.create(namespace, slice))
      }
    }
    for (const slice of plan.update) {
      const replaced = slice.metadata?.resourceVersion ?? ''
      this.#tracker.wrote(key, await this.#o.control.update(slice), replaced)
    }
    for (const slice of plan.delete) {
      try {
        await this.#o.control.delete(namespace, slice.metadata?.name ?? '')
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
      this.#tracker.deleted(key, slice)
    }
  }
}

// --- the plan: pure, tests call it directly ------------------------------------------------------

export interface SlicePlanInput {
  service: Readonly<Service>
  /** The pods the Service's selector matches. */
  pods: readonly Readonly<Pod>[]
  /** The slices we manage for the Service, not being deleted. */
  slices: readonly Readonly<EndpointSlice>[]
  node(name: string): Readonly<Node> | undefined
  maxEndpointsPerSlice: number
  /** Milliseconds since the epoch; undefined drops the annotation from written slices. */
  triggerTime: number | undefined
}

export interface SlicePlan {
  create: EndpointSlice[]
  update: EndpointSlice[]
  delete: Readonly<EndpointSlice>[]
  /** Why pods were left out for now (their Node is not known); the sync is retried. */
  skipped: string[]
}

/** The writes that make a Service's slices show its pods (Kubernetes' Reconciler.Reconcile). */
export function planEndpointSlices(input: SlicePlanInput): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [], skipped: [] }
  const types = addressTypesOf(input.service)
  const byType = new Map<string, Readonly<EndpointSlice>[]>()
  for (const s of input.slices) {
    // A slice of an address type the Service no longer has goes.
    if (!types.includes(s.addressType)) plan.delete.push(s)
    else byType.set(s.addressType, [...(byType.get(s.addressType) ?? []), s])
  }
  for (const type of types) {
    const p = planAddressType(input, type, byType.get(type) ?? [])
    plan.create.push(...p.create)
    plan.update.push(...p.update)
    plan.delete.push(...p.delete)
    plan.skipped.push(...p.skipped)
  }
  for (const s of [...plan.create, ...plan.update]) setTriggerTime(s, input.triggerTime)
  return plan
}

/** IPv4 and/or IPv6, from spec.ipFamilies, else from the cluster IP; headless without either: IPv4. */
function addressTypesOf(svc: Readonly<Service>): string[] {
  const families = (svc.spec?.ipFamilies ?? []).filter((f) => f === 'IPv4' || f === 'IPv6')
  if (families.length > 0) return [...new Set(families)]
  if (isServiceIPSet(svc)) return [isIPv6(svc.spec?.clusterIP ?? '') ? 'IPv6' : 'IPv4']
  return ['IPv4']
}

interface PortGroup {
  ports: EndpointPort[]
  /** Endpoints by identity (addresses, hostname, target pod), in pod name order. */
  endpoints: Map<string, Endpoint>
}

function planAddressType(
  input: SlicePlanInput,
  addressType: string,
  existing: readonly Readonly<EndpointSlice>[],
): SlicePlan {
  const svc = input.service
  const plan: SlicePlan = { create: [], update: [], delete: [], skipped: [] }
  const existingByPorts = new Map<string, Readonly<EndpointSlice>[]>()
  for (const s of existing) {
    // A namesake Service's leftovers (another uid) go; the garbage collector may be slower.
    if (!isOwnedBy(s, svc)) {
      plan.delete.push(s)
      continue
    }
    const k = portsKey(s.ports ?? [])
    existingByPorts.set(k, [...(existingByPorts.get(k) ?? []), s])
  }

  const desired = new Map<string, PortGroup>()
  for (const pod of input.pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue
    const nodeName = pod.spec?.nodeName ?? ''
    const node = nodeName ? input.node(nodeName) : undefined
    // A pod on a Node we do not know is left out until we do, unless the Service publishes
    // every address it has (Kubernetes does the same, so a stale pod cannot hold a slice back).
    if (nodeName && !node && !svc.spec?.publishNotReadyAddresses) {
      plan.skipped.push(`skipping Pod ${pod.metadata?.name ?? ''}: Node ${nodeName} not found`)
      continue
    }
    const endpoint = podToEndpoint(pod, node, svc, addressType)
    if (endpoint.addresses.length === 0) continue
    const ports = endpointPorts(svc, pod)
    const k = portsKey(ports)
    let group = desired.get(k)
    if (!group) desired.set(k, (group = { ports, endpoints: new Map() }))
    group.endpoints.set(endpointId(endpoint), endpoint)
  }

  for (const [k, group] of desired) {
    const p = planPortGroup(svc, addressType, existingByPorts.get(k) ?? [], group, input.maxEndpointsPerSlice)
    plan.create.push(...p.create)
    plan.update.push(...p.update)
    plan.delete.push(...p.delete)
  }
  for (const [k, slices] of existingByPorts) if (!desired.has(k)) plan.delete.push(...slices)

  // A Service without endpoints keeps one empty slice, so that consumers can tell "no endpoints"
  // from "not synced yet".
  if (existing.length === plan.delete.length && plan.create.length === 0) {
    const placeholder = newSlice(svc, addressType, [])
    const only = plan.delete.length === 1 ? plan.delete[0] : undefined
    if (only && isPlaceholderLike(only, placeholder, svc)) plan.delete = []
    else plan.create.push(placeholder)
  }

  // Slices about to be deleted while others are created are updated to become them instead.
  for (let i = 0; i < plan.delete.length && plan.create.length > 0;) {
    const old = plan.delete[i] as Readonly<EndpointSlice>
    if (old.addressType !== addressType || !isOwnedBy(old, svc)) {
      i++
      continue
    }
    const made = plan.create.pop() as EndpointSlice
    plan.update.push({
      ...made,
      metadata: { ...structuredClone(old.metadata), labels: made.metadata?.labels },
    })
    plan.delete.splice(i, 1)
  }
  return plan
}

/** Kubernetes' reconcileByPortMapping: the slices of one set of ports. */
function planPortGroup(
  svc: Readonly<Service>,
  addressType: string,
  existing: readonly Readonly<EndpointSlice>[],
  group: PortGroup,
  max: number,
): Omit<SlicePlan, 'skipped'> {
  const wanted = new Map(group.endpoints)
  const updates: EndpointSlice[] = []
  const unchanged: Readonly<EndpointSlice>[] = []
  const deletes: Readonly<EndpointSlice>[] = []

  // 1. Keep the endpoints still wanted (replacing those that changed), drop the others.
  for (const s of existing) {
    const kept: Endpoint[] = []
    let changed = false
    for (const e of s.endpoints ?? []) {
      const id = endpointId(e)
      const want = wanted.get(id)
      if (!want) continue
      kept.push(want)
      if (!deepEqual(want, e)) changed = true
      wanted.delete(id)
    }
    const labels = sliceLabels(svc)
    const labelsChanged = !deepEqual(labels, s.metadata?.labels ?? {})
    if (changed || kept.length !== (s.endpoints ?? []).length) {
      if (kept.length === 0) deletes.push(s)
      else
        updates.push({
          ...structuredClone(s),
          endpoints: kept,
          metadata: { ...structuredClone(s.metadata), labels },
        })
    } else if (labelsChanged) {
      updates.push({ ...structuredClone(s), metadata: { ...structuredClone(s.metadata), labels } })
    } else {
      unchanged.push(s)
    }
  }

  // 2. Fill the slices being written anyway, fullest first.
  const rest = [...wanted.values()]
  for (const s of [...updates].sort((a, b) => (b.endpoints ?? []).length - (a.endpoints ?? []).length)) {
    const endpoints = (s.endpoints ??= [])
    while (rest.length > 0 && endpoints.length < max) endpoints.push(rest.shift() as Endpoint)
  }

  // 3. Then the unchanged slice the rest fits best, then new slices.
  const creates: EndpointSlice[] = []
  while (rest.length > 0) {
    let target: EndpointSlice | undefined
    if (rest.length < max) {
      const best = sliceToFill(unchanged, rest.length, max)
      if (best) {
        unchanged.splice(unchanged.indexOf(best), 1)
        target = structuredClone(best)
        updates.push(target)
      }
    }
    if (!target) {
      target = newSlice(svc, addressType, group.ports)
      creates.push(target)
    }
    const endpoints = (target.endpoints ??= [])
    while (rest.length > 0 && endpoints.length < max) endpoints.push(rest.shift() as Endpoint)
  }
  return { create: creates, update: updates, delete: deletes }
}

/** The unchanged slice that comes closest to full with `n` more endpoints (getSliceToFill). */
function sliceToFill(
  slices: readonly Readonly<EndpointSlice>[],
  n: number,
  max: number,
): Readonly<EndpointSlice> | undefined {
  let best: Readonly<EndpointSlice> | undefined
  let bestRoom = max
  for (const s of slices) {
    const room = max - (n + (s.endpoints ?? []).length)
    if (room >= 0 && room < bestRoom) {
      best = s
      bestRoom = room
    }
  }
  return best
}

function newSlice(svc: Readonly<Service>, addressType: string, ports: EndpointPort[]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${svc.metadata?.name ?? ''}-`,
      namespace: svc.metadata?.namespace ?? '',
      labels: sliceLabels(svc),
      ownerReferences: [controllerRefTo(svc, 'v1', 'Service')],
    },
    addressType,
    endpoints: [],
    ports: structuredClone(ports),
  }
}

/** An existing empty slice that already is the placeholder we would create. */
function isPlaceholderLike(
  s: Readonly<EndpointSlice>,
  placeholder: EndpointSlice,
  svc: Readonly<Service>,
): boolean {
  return (
    (s.endpoints ?? []).length === 0 &&
    (s.ports ?? []).length === 0 &&
    s.addressType === placeholder.addressType &&
    isOwnedBy(s, svc) &&
    deepEqual(s.metadata?.labels ?? {}, placeholder.metadata?.labels ?? {})
  )
}

/**
 * A slice's labels: the Service's own (less the reserved ones), the headless label when it has
 * no cluster IP, the Service's name and our managed-by value.
 */
export function sliceLabels(svc: Readonly<Service>): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) {
    if (k !== labelServiceName && k !== labelManagedBy && k !== labelHeadless) labels[k] = v
  }
  if (!isServiceIPSet(svc)) labels[labelHeadless] = ''
  labels[labelServiceName] = svc.metadata?.name ?? ''
  labels[labelManagedBy] = endpointSliceControllerName
  return labels
}

function isOwnedBy(s: Readonly<EndpointSlice>, svc: Readonly<Service>): boolean {
  return (s.metadata?.ownerReferences ?? []).some(
    (r) => r.uid === svc.metadata?.uid && r.kind === 'Service' && r.apiVersion === 'v1',
  )
}

/**
 * One pod's endpoint for one address type (Kubernetes' podToEndpoint). Serving follows the Ready
 * condition alone; ready is serving and not terminating, or always with publishNotReadyAddresses.
 */
export function podToEndpoint(
  pod: Readonly<Pod>,
  node: Readonly<Node> | undefined,
  svc: Readonly<Service>,
  addressType: string,
): Endpoint {
  const serving = isPodReady(pod)
  const terminating = Boolean(pod.metadata?.deletionTimestamp)
  const ready = Boolean(svc.spec?.publishNotReadyAddresses) || (serving && !terminating)
  const endpoint: Endpoint = {
    addresses: podIPs(pod).filter((ip) => isIPv6(ip) === (addressType === 'IPv6')),
    conditions: { ready, serving, terminating },
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata?.namespace ?? '',
      name: pod.metadata?.name ?? '',
      uid: pod.metadata?.uid ?? '',
    },
  }
  if (pod.spec?.nodeName) endpoint.nodeName = pod.spec.nodeName
  const zone = node?.metadata?.labels?.[zoneLabel]
  if (zone) endpoint.zone = zone
  if (shouldSetHostname(pod, svc)) endpoint.hostname = pod.spec?.hostname ?? ''
  return endpoint
}

/**
 * The Service's ports as this pod serves them (Kubernetes' getEndpointPorts): a port whose named
 * targetPort the pod lacks is left out. A headless Service may have no ports at all.
 */
export function endpointPorts(svc: Readonly<Service>, pod: Readonly<Pod>): EndpointPort[] {
  const ports: EndpointPort[] = []
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp)
    if (port === undefined) continue
    const p: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' }
    if (sp.appProtocol !== undefined) p.appProtocol = sp.appProtocol
    ports.push(p)
  }
  return ports
}

/** Slices with the same ports (in any order) share a key. */
function portsKey(ports: readonly Readonly<EndpointPort>[]): string {
  return JSON.stringify(
    ports
      .map((p) => [p.name ?? '', p.port ?? 0, p.protocol ?? 'TCP', p.appProtocol ?? ''])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  )
}

/** What makes two endpoints the same one (its other fields may change in place). */
function endpointId(e: Readonly<Endpoint>): string {
  return JSON.stringify([
    [...e.addresses].sort(),
    e.hostname ?? '',
    e.targetRef?.namespace ?? '',
    e.targetRef?.name ?? '',
  ])
}

function setTriggerTime(s: EndpointSlice, at: number | undefined): void {
  const annotations = { ...(s.metadata?.annotations ?? {}) }
  if (at === undefined) delete annotations[annotationLastChangeTriggerTime]
  else annotations[annotationLastChangeTriggerTime] = rfc3339Nano(at)
  s.metadata = { ...s.metadata, annotations }
}

// --- our own writes, to tell a stale cache --------------------------------------------------------

/** What we last did to a slice, by uid. */
type SliceWrite =
  { op: 'wrote'; resourceVersion: string; replaced?: string; at: number } | { op: 'deleted'; at: number }

/**
 * The controller's own writes, by Service (Kubernetes' EndpointSliceTracker, keyed here by
 * resourceVersion since our apiserver leaves an EndpointSlice's generation alone). The cache is
 * stale when it lacks a slice we created, still has one we deleted, or still shows the version
 * an update of ours replaced. An entry the informer has caught up with is dropped; an entry
 * older than a minute is ignored, so a write whose echo was lost cannot block a Service forever.
 */
class SliceTracker {
  readonly #byService = new Map<string, Map<string, SliceWrite>>()
  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
  }

  wrote(key: string, s: Readonly<EndpointSlice>, replaced?: string): void {
    const uid = s.metadata?.uid
    if (!uid) return
    const resourceVersion = s.metadata?.resourceVersion ?? ''
    this.#entries(key).set(uid, {
      op: 'wrote',
      resourceVersion,
      ...(replaced ? { replaced } : {}),
      at: this.#clock.now(),
    })
  }

  deleted(key: string, s: Readonly<EndpointSlice>): void {
    const uid = s.metadata?.uid
    if (uid) this.#entries(key).set(uid, { op: 'deleted', at: this.#clock.now() })
  }

  /** An informer event that shows exactly what we wrote. */
  isOwnWrite(s: Readonly<EndpointSlice>): boolean {
    const w = this.#find(s.metadata?.uid ?? '')
    return w?.op === 'wrote' && w.resourceVersion === s.metadata?.resourceVersion
  }

  /** A deletion seen; true when it was ours. */
  deletionObserved(s: Readonly<EndpointSlice>): boolean {
    const uid = s.metadata?.uid ?? ''
    for (const entries of this.#byService.values()) {
      const w = entries.get(uid)
      if (!w) continue
      entries.delete(uid)
      return w.op === 'deleted'
    }
    return false
  }

  isStale(key: string, cached: readonly Readonly<EndpointSlice>[]): boolean {
    const entries = this.#byService.get(key)
    if (!entries) return false
    const byUid = new Map(cached.map((s) => [s.metadata?.uid ?? '', s]))
    const tooOld = this.#clock.now() - 60_000
    let stale = false
    for (const [uid, w] of entries) {
      const s = byUid.get(uid)
      const behind =
        w.at > tooOld &&
        (w.op === 'deleted'
          ? s !== undefined
          : s === undefined
            ? w.replaced === undefined // created, not seen yet
            : s.metadata?.resourceVersion === w.replaced)
      if (behind) stale = true
      else entries.delete(uid)
    }
    return stale
  }

  forgetService(key: string): void {
    this.#byService.delete(key)
  }

  #entries(key: string): Map<string, SliceWrite> {
    let m = this.#byService.get(key)
    if (!m) this.#byService.set(key, (m = new Map<string, SliceWrite>()))
    return m
  }

  #find(uid: string): SliceWrite | undefined {
    for (const entries of this.#byService.values()) {
      const w = entries.get(uid)
      if (w) return w
    }
    return undefined
  }
}

// --- wiring --------------------------------------------------------------------------------------

/** The writes, through the apiserver. */
export function apiEndpointSliceControl(slices: ResourceClient<EndpointSlice>): EndpointSliceControl {
  return {
    create: (_ns, slice) => slices.create(slice),
    update: (slice) => slices.update(slice),
    delete: async (ns, name) => {
      await slices.delete(ns, name)
    },
  }
}

/** kube-controller-manager's --concurrent-service-endpoint-syncs default. */
const workers = 5

export const endpointSliceController: ControllerDefinition = {
  name: 'endpointslice',
  eventSource: 'endpoint-slice-controller',
  serviceAccount: 'endpointslice-controller',
  setup(ctx: ControllerContext) {
    const services = ctx.informers.informer<Service>(builtin('', 'v1', 'services'))
    const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
    const nodes = ctx.informers.informer<Node>(builtin('', 'v1', 'nodes'))
    const slices = ctx.informers.informer<EndpointSlice>(builtin('discovery.k8s.io', 'v1', 'endpointslices'))
    const controller = new EndpointSliceController({
      services: services.lister,
      pods: pods.lister,
      nodes: nodes.lister,
      slices: slices.lister,
      control: apiEndpointSliceControl(ctx.client<EndpointSlice>(slices.resource)),
      recorder: ctx.recorder,
      clock: ctx.clock,
      log: ctx.log,
    })
    services.addHandler(controller.serviceHandler())
    pods.addHandler(controller.podHandler())
    slices.addHandler(controller.sliceHandler())
    return (signal) => runWorkers(controller.queue, controller, { workers, signal, log: ctx.log })
  },
}
