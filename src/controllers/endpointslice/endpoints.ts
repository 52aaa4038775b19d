import type {
  EndpointAddress,
  EndpointPort,
  Endpoints,
  EndpointSubset,
  Pod,
  Service,
} from '../../api/generated/types/core-v1.ts'
import { deepEqual } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  builtin,
  isAlreadyExists,
  isConflict,
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
import { isPodReady } from '../pod-state.ts'
import {
  annotationLastChangeTriggerTime,
  findPort,
  isIPv6,
  isServiceIPSet,
  labelHeadless,
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
 * The Endpoints controller: keeps the legacy core/v1 Endpoints object of every Service with a
 * selector, named as the Service, as Kubernetes' endpoint controller (pkg/controller/endpoint)
 * does.
 *
 * - Ready pods are `addresses`, the others `notReadyAddresses`; terminating pods are left out
 *   unless the Service publishes not-ready addresses (then every pod is an address). Addresses
 *   are grouped into subsets by the ports they serve, in a canonical order, so an unchanged set
 *   of pods compares equal and is not written again.
 * - At most 1000 addresses are kept (ready ones first); a truncated object carries the
 *   `endpoints.kubernetes.io/over-capacity: truncated` annotation.
 * - The Endpoints go when their Service goes. At start, every Endpoints object is checked once,
 *   so one left behind by a Service deleted while no controller ran is deleted too.
 * - Services without a selector, and ExternalName ones, are left alone: their users write them.
 */

export const annotationOverCapacity = 'endpoints.kubernetes.io/over-capacity'
/** Most addresses (ready and not) an Endpoints object keeps. */
export const maxEndpointsCapacity = 1000
export const reasonFailedToCreateEndpoint = 'FailedToCreateEndpoint'
export const reasonFailedToUpdateEndpoint = 'FailedToUpdateEndpoint'
/** The old leader-election record on Endpoints objects, which have no Service; never deleted. */
const leaderAnnotation = 'control-plane.alpha.kubernetes.io/leader'

/** The writes of the controller: the apiserver in production, a recording fake in tests. */
export interface EndpointsControl {
  create(namespace: string, endpoints: Endpoints): Promise<Endpoints>
  /** Replaces (resourceVersion set: a Conflict when it changed meanwhile). */
  update(endpoints: Endpoints): Promise<Endpoints>
  /** Throws NotFound when there is none. */
  delete(namespace: string, name: string): Promise<void>
}

export interface EndpointsControllerOptions {
  services: Lister<Service>
  pods: Lister<Pod>
  endpoints: Lister<Endpoints>
  control: EndpointsControl
  recorder: Recorder
  clock: Clock
  log?: Logger
}

export class EndpointsController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: EndpointsControllerOptions
  readonly #triggerTimes = new TriggerTimeTracker()
  /**
   * The resourceVersion each of our updates replaced, by key: a cache still showing it has not
   * seen the update yet (Kubernetes' staleEndpointsTracker).
   */
  readonly #replaced = new Map<string, string>()

  constructor(o: EndpointsControllerOptions, queue?: WorkQueue) {
    this.#o = o
    this.queue = queue ?? new WorkQueue({ clock: o.clock })
  }

  // --- events to keys --------------------------------------------------------------------------

  serviceHandler(): EventHandler<Service> {
    return serviceKeyHandlers(this.queue, this.#o.services).service
  }

  podHandler(): EventHandler<Pod> {
    return serviceKeyHandlers(this.queue, this.#o.services).pod
  }

  /**
   * Endpoints found by the first list are checked once (Kubernetes' checkLeftoverEndpoints);
   * a deleted one is written again if its Service still wants it.
   */
  endpointsHandler(): EventHandler<Endpoints> {
    return {
      add: (ep, inInitialList) => {
        if (inInitialList && ep.metadata?.annotations?.[leaderAnnotation] === undefined) {
          this.queue.add(objectKey(ep))
        }
      },
      delete: (ep) => this.queue.add(objectKey(ep)),
    }
  }

  // --- reconcile -------------------------------------------------------------------------------

  async reconcile(key: string): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const svc = this.#o.services.get(namespace, name)
    if (!svc) {
      this.#triggerTimes.delete(key)
      this.#replaced.delete(key)
      // Deleted even when our cache has none: it may just not have seen it yet.
      try {
        await this.#o.control.delete(namespace, name)
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
      return undefined
    }
    const selector = serviceSelector(svc)
    if (!selector) return undefined
    const pods = podsOf(svc, selector, this.#o.pods)
    const current = this.#o.endpoints.get(namespace, name)
    if (current && current.metadata?.resourceVersion === this.#replaced.get(key)) {
      throw new Error(`the Endpoints informer cache is behind our update of ${key}`)
    }
    this.#replaced.delete(key)
    // Computed on every sync, written or not, so the tracker's state keeps up.
    const triggerTime = this.#triggerTimes.compute(key, svc, pods)
    const { subsets, truncated } = truncateSubsets(desiredSubsets(svc, pods), maxEndpointsCapacity)
    const labels = endpointsLabels(svc)
    if (
      current &&
      deepEqual(subsets, current.subsets ?? []) &&
      deepEqual(labels, current.metadata?.labels ?? {}) &&
      truncated === (current.metadata?.annotations?.[annotationOverCapacity] !== undefined)
    ) {
      return undefined
    }

    const annotations = { ...(current?.metadata?.annotations ?? {}) }
    if (triggerTime === undefined) delete annotations[annotationLastChangeTriggerTime]
    else annotations[annotationLastChangeTriggerTime] = rfc3339Nano(triggerTime)
    if (truncated) annotations[annotationOverCapacity] = 'truncated'
    else delete annotations[annotationOverCapacity]
    const next: Endpoints = {
      ...structuredClone(current ?? { apiVersion: 'v1', kind: 'Endpoints' }),
      metadata: {
        ...structuredClone(current?.metadata ?? { name, namespace }),
        labels,
        annotations,
      },
      subsets,
    }
    try {
      if (!current) {
        await this.#o.control.create(namespace, next)
        return undefined
      }
      const updated = await this.#o.control.update(next)
      const before = current.metadata?.resourceVersion
      if (before && updated.metadata?.resourceVersion !== before) this.#replaced.set(key, before)
    } catch (err) {
      // A conflict, or our own create not yet seen, means the cache is behind: the retry sees
      // the newer object, and is no failure to tell users about.
      if (!isConflict(err) && !isAlreadyExists(err)) {
        this.#o.recorder.event(
          next,
          'Warning',
          current ? reasonFailedToUpdateEndpoint : reasonFailedToCreateEndpoint,
          current
            ? `Failed to update endpoint ${key}: ${(err as Error).message}`
            : `Failed to create endpoint for service ${key}: ${(err as Error).message}`,
        )
      }
      throw err
    }
    return undefined
  }
}

// --- pure helpers, tests call them directly ------------------------------------------------------

/** The Endpoints' labels: the Service's, plus the headless label when it has no cluster IP. */
export function endpointsLabels(svc: Readonly<Service>): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) }
  if (isServiceIPSet(svc)) delete labels[labelHeadless]
  else labels[labelHeadless] = ''
  return labels
}

/** The subsets the Service's pods make, in canonical form (Kubernetes' syncService + RepackSubsets). */
export function desiredSubsets(svc: Readonly<Service>, pods: readonly Readonly<Pod>[]): EndpointSubset[] {
  const publishNotReady = Boolean(svc.spec?.publishNotReadyAddresses)
  const servicePorts = svc.spec?.ports ?? []
  const headless = svc.spec?.clusterIP === 'None'
  const entries: { address: EndpointAddress; ready: boolean; port?: EndpointPort }[] = []
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue
    const address = endpointAddress(svc, pod)
    if (!address) continue
    const ready = publishNotReady || isPodReady(pod)
    // A headless Service may have no ports: its addresses alone.
    if (servicePorts.length === 0) {
      if (headless) entries.push({ address, ready })
      continue
    }
    for (const sp of servicePorts) {
      const port = findPort(pod, sp)
      if (port === undefined) continue
      const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' }
      if (ep.name === '') delete ep.name
      if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol
      entries.push({ address, ready, port: ep })
    }
  }
  return repack(entries)
}

/** The address of the pod in the Service's IP family (Kubernetes' podToEndpointAddressForService). */
function endpointAddress(svc: Readonly<Service>, pod: Readonly<Pod>): EndpointAddress | undefined {
  const ips = podIPs(pod)
  let v6: boolean
  const family = svc.spec?.ipFamilies?.[0]
  if (family) v6 = family === 'IPv6'
  else if (isServiceIPSet(svc)) v6 = isIPv6(svc.spec?.clusterIP ?? '')
  else v6 = isIPv6(ips[0] ?? '')
  const ip = ips.find((i) => isIPv6(i) === v6)
  if (!ip) return undefined
  const address: EndpointAddress = {
    ip,
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata?.namespace ?? '',
      name: pod.metadata?.name ?? '',
      uid: pod.metadata?.uid ?? '',
    },
  }
  if (pod.spec?.nodeName) address.nodeName = pod.spec.nodeName
  if (shouldSetHostname(pod, svc)) address.hostname = pod.spec?.hostname ?? ''
  return address
}

/**
 * Groups addresses by the exact set of ports they serve; an address both ready and not for the
 * same port counts as ready. Subsets, addresses (by IP, then pod uid) and ports are sorted, and
 * empty lists are left out as the apiserver stores them, so equal inputs give equal output.
 */
function repack(
  entries: readonly { address: EndpointAddress; ready: boolean; port?: EndpointPort }[],
): EndpointSubset[] {
  const byAddress = new Map<
    string,
    { address: EndpointAddress; ready: boolean; ports: Map<string, EndpointPort> }
  >()
  for (const e of entries) {
    const k = JSON.stringify([
      e.address.ip,
      e.address.hostname ?? '',
      e.address.nodeName ?? '',
      e.address.targetRef?.uid ?? '',
    ])
    let a = byAddress.get(k)
    if (!a) byAddress.set(k, (a = { address: e.address, ready: e.ready, ports: new Map() }))
    a.ready ||= e.ready
    if (e.port)
      a.ports.set(JSON.stringify([e.port.name ?? '', e.port.port, e.port.protocol ?? 'TCP']), e.port)
  }
  const bySet = new Map<
    string,
    { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }
  >()
  for (const a of byAddress.values()) {
    const keys = [...a.ports.keys()].sort()
    const k = JSON.stringify(keys)
    let s = bySet.get(k)
    if (!s)
      bySet.set(k, (s = { ports: keys.map((p) => a.ports.get(p) as EndpointPort), ready: [], notReady: [] }))
    ;(a.ready ? s.ready : s.notReady).push(a.address)
  }
  const byIp = (x: EndpointAddress, y: EndpointAddress) =>
    x.ip.localeCompare(y.ip, 'en', { numeric: true }) ||
    (x.targetRef?.uid ?? '').localeCompare(y.targetRef?.uid ?? '')
  return [...bySet.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, s]) => {
      const subset: EndpointSubset = {}
      if (s.ready.length > 0) subset.addresses = s.ready.sort(byIp)
      if (s.notReady.length > 0) subset.notReadyAddresses = s.notReady.sort(byIp)
      if (s.ports.length > 0) subset.ports = s.ports
      return subset
    })
}

/**
 * Cuts subsets down to `max` addresses (Kubernetes' truncateEndpoints): not-ready addresses go
 * first; if the ready ones alone are too many, every not-ready one goes and each subset keeps its
 * share of the ready ones, rounded up, the last taking what is left.
 */
export function truncateSubsets(
  subsets: readonly EndpointSubset[],
  max: number,
): { subsets: EndpointSubset[]; truncated: boolean } {
  const ready = subsets.reduce((n, s) => n + (s.addresses ?? []).length, 0)
  const notReady = subsets.reduce((n, s) => n + (s.notReadyAddresses ?? []).length, 0)
  if (ready + notReady <= max) return { subsets: [...subsets], truncated: false }
  const cutReady = ready > max
  const room = cutReady ? max : max - ready
  const total = cutReady ? ready : notReady
  let left = room
  const out = subsets.map((s) => {
    const n = (cutReady ? s.addresses : s.notReadyAddresses)?.length ?? 0
    const share = Math.min(Math.ceil((n / total) * room), left)
    const next: EndpointSubset = { ...s }
    if (cutReady) {
      next.addresses = (s.addresses ?? []).slice(0, share)
      delete next.notReadyAddresses
      left -= next.addresses.length
    } else {
      next.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, share)
      left -= next.notReadyAddresses.length
    }
    if (next.addresses?.length === 0) delete next.addresses
    if (next.notReadyAddresses?.length === 0) delete next.notReadyAddresses
    return next
  })
  return { subsets: out, truncated: true }
}

// --- wiring --------------------------------------------------------------------------------------

export function apiEndpointsControl(endpoints: ResourceClient<Endpoints>): EndpointsControl {
  return {
    create: (_ns, ep) => endpoints.create(ep),
    update: (ep) => endpoints.update(ep),
    delete: async (ns, name) => {
      await endpoints.delete(ns, name)
    },
  }
}

/** kube-controller-manager's --concurrent-endpoint-syncs default. */
const workers = 5

export const endpointsController: ControllerDefinition = {
  name: 'endpoint',
  eventSource: 'endpoint-controller',
  serviceAccount: 'endpoint-controller',
  setup(ctx: ControllerContext) {
    const services = ctx.informers.informer<Service>(builtin('', 'v1', 'services'))
    const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
    const endpoints = ctx.informers.informer<Endpoints>(builtin('', 'v1', 'endpoints'))
    const controller = new EndpointsController({
      services: services.lister,
      pods: pods.lister,
      endpoints: endpoints.lister,
      control: apiEndpointsControl(ctx.client<Endpoints>(endpoints.resource)),
      recorder: ctx.recorder,
      clock: ctx.clock,
      log: ctx.log,
    })
    services.addHandler(controller.serviceHandler())
    pods.addHandler(controller.podHandler())
    endpoints.addHandler(controller.endpointsHandler())
    return (signal) => runWorkers(controller.queue, controller, { workers, signal, log: ctx.log })
  },
}
