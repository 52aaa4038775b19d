import type { Pod, Service, ServicePort } from '../../api/generated/types/core-v1.ts'
import { deepEqual } from '../../api/object.ts'
import { objectKey, type EventHandler, type Lister, type WorkQueue } from '../../client/index.ts'
import { isPodReady } from '../pod-state.ts'

/**
 * What a pod contributes to the endpoints of the Services that select it, shared by the
 * EndpointSlice and Endpoints controllers (Kubernetes' k8s.io/endpointslice/util and the pod
 * helpers both controllers call): which pods count, their addresses and ports, and which Services
 * must look again when a pod changes.
 */

/** The label that names a slice's Service. */
export const labelServiceName = 'kubernetes.io/service-name'
/** The label that names the controller managing a slice. */
export const labelManagedBy = 'endpointslice.kubernetes.io/managed-by'
/** Set (empty) on the Endpoints and EndpointSlices of a Service without a cluster IP. */
export const labelHeadless = 'service.kubernetes.io/headless'
/** When the change that led to this version of the endpoints happened. */
export const annotationLastChangeTriggerTime = 'endpoints.kubernetes.io/last-change-trigger-time'

/**
 * The Service's selector, or undefined when the controllers must leave it alone: no selector
 * (users write its endpoints), or type ExternalName (a DNS alias, with no endpoints at all). An
 * empty selector counts as none, since Kubernetes' JSON drops an empty map.
 */
export function serviceSelector(svc: Readonly<Service>): Readonly<Record<string, string>> | undefined {
  if (svc.spec?.type === 'ExternalName') return undefined
  const selector = svc.spec?.selector
  return selector && Object.keys(selector).length > 0 ? selector : undefined
}

export function selects(selector: Readonly<Record<string, string>>, pod: Readonly<Pod>): boolean {
  const labels = pod.metadata?.labels ?? {}
  return Object.entries(selector).every(([k, v]) => labels[k] === v)
}

/** The pods of the Service's namespace its selector matches. */
export function podsOf(
  svc: Readonly<Service>,
  selector: Readonly<Record<string, string>>,
  pods: Lister<Pod>,
): Readonly<Pod>[] {
  return pods
    .list(svc.metadata?.namespace ?? '')
    .filter((p) => selects(selector, p))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
}

/**
 * Whether the pod belongs in endpoints at all (Kubernetes' ShouldPodBeInEndpoints): it has an
 * IP and has not finished (Succeeded or Failed). Terminating pods count only when asked to: the
 * EndpointSlice controller always publishes them (marked terminating), the Endpoints controller
 * only for Services that publish not-ready addresses.
 */
export function shouldPodBeInEndpoints(pod: Readonly<Pod>, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase
  if (phase === 'Succeeded' || phase === 'Failed') return false
  if (podIPs(pod).length === 0) return false
  return includeTerminating || !pod.metadata?.deletionTimestamp
}

/** The pod's IPs: status.podIPs, or status.podIP alone for a writer that set only that. */
export function podIPs(pod: Readonly<Pod>): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip) => ip !== '')
  if (ips.length > 0) return ips
  return pod.status?.podIP ? [pod.status.podIP] : []
}

export function isIPv6(ip: string): boolean {
  return ip.includes(':')
}

/**
 * The container port a Service port sends to (Kubernetes' FindPort): a number as it is; a name
 * looked up among the containers' ports of the same protocol, then among sidecars (init
 * containers that restart Always). Undefined when the pod has no such port.
 */
export function findPort(pod: Readonly<Pod>, port: Readonly<ServicePort>): number | undefined {
  const target = port.targetPort ?? port.port
  if (typeof target === 'number') return target
  if (/^\d+$/.test(target)) return Number(target)
  const protocol = port.protocol ?? 'TCP'
  const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')
  for (const c of [...(pod.spec?.containers ?? []), ...sidecars]) {
    const found = c.ports?.find((p) => p.name === target && (p.protocol ?? 'TCP') === protocol)
    if (found) return found.containerPort
  }
  return undefined
}

/** The pod's hostname names it under the Service (Kubernetes' ShouldSetHostname). */
export function shouldSetHostname(pod: Readonly<Pod>, svc: Readonly<Service>): boolean {
  return (
    Boolean(pod.spec?.hostname) &&
    pod.spec?.subdomain === svc.metadata?.name &&
    pod.metadata?.namespace === svc.metadata?.namespace
  )
}

/** A cluster IP is set: not headless (None) and not ExternalName (empty). */
export function isServiceIPSet(svc: Readonly<Service>): boolean {
  const ip = svc.spec?.clusterIP ?? ''
  return ip !== '' && ip !== 'None'
}

/** The keys of the Services whose selectors match the pod (Kubernetes' GetPodServiceMemberships). */
export function servicesForPod(services: Lister<Service>, pod: Readonly<Pod>): Set<string> {
  const keys = new Set<string>()
  for (const svc of services.list(pod.metadata?.namespace ?? '')) {
    const selector = serviceSelector(svc)
    if (selector && selects(selector, pod)) keys.add(objectKey(svc))
  }
  return keys
}

/**
 * The Services to look at again after a pod update (Kubernetes' GetServicesToUpdateOnPodChange):
 * none when nothing endpoints show changed; when only the labels changed, the Services it joined
 * or left; when the endpoint changed too, every Service it belonged to before or after.
 */
export function servicesToUpdateOnPodChange(
  services: Lister<Service>,
  old: Readonly<Pod>,
  pod: Readonly<Pod>,
): Set<string> {
  if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return new Set()
  const labelsChanged = !deepEqual(old.metadata?.labels ?? {}, pod.metadata?.labels ?? {})
  const endpointChanged = podEndpointChanged(old, pod)
  if (!labelsChanged && !endpointChanged) return new Set()
  const now = servicesForPod(services, pod)
  if (!labelsChanged) return now
  const before = servicesForPod(services, old)
  if (endpointChanged) return new Set([...before, ...now])
  const changed = new Set<string>()
  for (const k of now) if (!before.has(k)) changed.add(k)
  for (const k of before) if (!now.has(k)) changed.add(k)
  return changed
}

/** Something an endpoint of the pod shows changed: readiness, deletion, IPs, node, hostname. */
function podEndpointChanged(old: Readonly<Pod>, pod: Readonly<Pod>): boolean {
  return (
    isPodReady(old) !== isPodReady(pod) ||
    Boolean(old.metadata?.deletionTimestamp) !== Boolean(pod.metadata?.deletionTimestamp) ||
    old.status?.phase !== pod.status?.phase ||
    !deepEqual(podIPs(old), podIPs(pod)) ||
    old.spec?.nodeName !== pod.spec?.nodeName ||
    old.spec?.hostname !== pod.spec?.hostname ||
    old.spec?.subdomain !== pod.spec?.subdomain
  )
}

/**
 * The time to publish as last-change-trigger-time (Kubernetes' TriggerTimeTracker): for a
 * Service seen for the first time, its creation; afterwards, the earliest change since the last
 * sync, where a pod's change time is its Ready condition's lastTransitionTime and the Service's
 * is its creation. Undefined when nothing changed, and the annotation is then dropped.
 *
 * Called once per sync of a key (the work queue never syncs one key twice at once), before the
 * sync decides whether to write, so the state moves on even when nothing is written.
 */
export class TriggerTimeTracker {
  readonly #state = new Map<string, { pods: Map<string, number>; service: number }>()

  compute(key: string, svc: Readonly<Service>, pods: readonly Readonly<Pod>[]): number | undefined {
    const before = this.#state.get(key)
    const podTimes = new Map<string, number>()
    let earliest: number | undefined
    const consider = (t: number) => (earliest = earliest === undefined ? t : Math.min(earliest, t))
    for (const pod of pods) {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')
      const t = Date.parse(ready?.lastTransitionTime ?? '')
      if (!Number.isFinite(t)) continue
      podTimes.set(pod.metadata?.name ?? '', t)
      if (t > (before?.pods.get(pod.metadata?.name ?? '') ?? -Infinity)) consider(t)
    }
    const created = Date.parse(svc.metadata?.creationTimestamp ?? '')
    const serviceTime = Number.isFinite(created) ? created : 0
    if (serviceTime > (before?.service ?? -Infinity)) consider(serviceTime)
    this.#state.set(key, { pods: podTimes, service: serviceTime })
    if (!before) return Number.isFinite(created) ? created : undefined
    return earliest
  }

  delete(key: string): void {
    this.#state.delete(key)
  }
}

/** A time as Go's RFC3339Nano prints it: UTC, fractional seconds without trailing zeros. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'))
}

/**
 * The event handlers both endpoint controllers use: a Service event queues that Service; a pod
 * event queues every Service whose selector matches the pod (before and after a change).
 */
export function serviceKeyHandlers(
  queue: WorkQueue,
  services: Lister<Service>,
): { service: EventHandler<Service>; pod: EventHandler<Pod> } {
  const enqueueService = (svc: Readonly<Service>) => queue.add(objectKey(svc))
  const enqueue = (keys: Iterable<string>) => {
    for (const k of keys) queue.add(k)
  }
  return {
    service: { add: enqueueService, update: (_old, svc) => enqueueService(svc), delete: enqueueService },
    pod: {
      add: (pod) => enqueue(servicesForPod(services, pod)),
      update: (old, pod) => enqueue(servicesToUpdateOnPodChange(services, old, pod)),
      delete: (pod) => enqueue(servicesForPod(services, pod)),
    },
  }
}
