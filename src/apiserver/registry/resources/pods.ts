import { compareQuantities, parseQuantity } from '../../../api/quantity.ts'
import type {
  Container,
  ContainerStatus,
  Pod,
  PodCondition,
  PodStatus,
  ResourceRequirements,
} from '../../../api/generated/types/core-v1.ts'
import type { StoredObject } from '../../../api/object.ts'
import { reconcilePodIPs } from '../../../api/validation/pod-ips.ts'
import { bumpGenerationOnSpecChange, keepStatus, type ResourceStrategy } from '../strategy.ts'

type P = Pod & StoredObject

/** kubelet's default when a pod does not say how long it may take to stop. */
export const defaultTerminationGracePeriodSeconds = 30

/**
 * Pods: created Pending with their QoS class; the status belongs to the kubelet; deletion is
 * graceful (the kubelet stops the containers within the grace period, then deletes with 0),
 * except for pods that never reached a node or have already finished, which go at once.
 */
export const podStrategy: ResourceStrategy = {
  prepareForCreate(obj) {
    const pod = obj as P
    pod.status = { phase: 'Pending', qosClass: qosClass(pod) }
    // A gated pod says so at once (kubectl shows SchedulingGated) until the scheduler takes it up.
    if ((pod.spec?.schedulingGates?.length ?? 0) > 0) {
      pod.status.conditions = [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'SchedulingGated',
          message: 'Scheduling is blocked due to non-empty scheduling gates',
        },
      ]
    }
    pod.metadata.generation = 1
  },
  prepareForUpdate(next, prev) {
    keepStatus(next, prev)
    bumpGenerationOnSpecChange(next, prev)
  },
  prepareForStatusUpdate(next, prev) {
    // The QoS class is set at creation and may not change; a status without one (older kubelets
    // dropped it from rejected pods) keeps the stored one, as Kubernetes backfills it.
    const now = (next as P).status
    const before = (prev as P).status
    if (now && !now.qosClass && before?.qosClass) now.qosClass = before.qosClass
    // podIP and podIPs as decoding into the internal Pod and encoding back leave them: podIP wins
    // over a podIPs that disagrees, and podIP is podIPs[0] (validation checks the result).
    if (now) {
      reconcilePodIPs(now)
      keepObservedGenerations(now, before)
      dropDisabledStatusFields(now, before)
    }
  },
  gracePeriodSeconds(obj, requested) {
    const pod = obj as Pod
    let period = requested ?? pod.spec?.terminationGracePeriodSeconds ?? defaultTerminationGracePeriodSeconds
    if (!pod.spec?.nodeName) period = 0
    const phase = pod.status?.phase
    if (phase === 'Succeeded' || phase === 'Failed') period = 0
    return Math.max(0, period)
  },
}

/**
 * The pod's quality of service class, as the kubelet and scheduler see it: Guaranteed when every
 * container limits CPU and memory and requests exactly that (requests default to limits),
 * BestEffort when nothing requests or limits CPU or memory, Burstable otherwise.
 */
export function qosClass(pod: Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers: Container[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]
  const podLevel = pod.spec?.resources
  const all: ResourceRequirements[] = podLevel ? [podLevel] : containers.map((c) => c.resources ?? {})
  const tracked = ['cpu', 'memory']
  let any = false
  let guaranteed = true
  for (const r of all) {
    const requests = r.requests ?? {}
    const limits = r.limits ?? {}
    for (const name of tracked) {
      const req = requests[name] ?? limits[name]
      const lim = limits[name]
      if (req !== undefined && !isZero(req)) any = true
      if (lim !== undefined && !isZero(lim)) any = true
      if (lim === undefined || req === undefined || !sameQuantity(req, lim)) guaranteed = false
    }
  }
  if (!any) return 'BestEffort'
  return guaranteed ? 'Guaranteed' : 'Burstable'
}

/**
 * A status write that leaves out (or zeroes) an observedGeneration keeps the stored one: the
 * status's own, and each condition's from the stored condition of its type, the first for the
 * first and so on (preserveOldObservedGeneration).
 */
function keepObservedGenerations(now: PodStatus, before: PodStatus | undefined): void {
  if (!now.observedGeneration && before?.observedGeneration)
    now.observedGeneration = before.observedGeneration
  if (!Array.isArray(now.conditions)) return
  const stored = new Map<string, number[]>()
  for (const c of before?.conditions ?? []) {
    const list = stored.get(c.type) ?? []
    list.push(c.observedGeneration ?? 0)
    stored.set(c.type, list)
  }
  for (const c of now.conditions) {
    if (c === null || typeof c !== 'object') continue
    const old = stored.get(c.type)?.shift() ?? 0
    if (!c.observedGeneration && old) c.observedGeneration = old
  }
}

/**
 * What kube-apiserver 1.35 leaves out of a status written to pods/status, its feature gates at
 * their defaults (dropDisabledPodStatusFields), all of them alpha: the pod-level resources
 * (InPlacePodLevelResourcesVerticalScaling), the extended resources' claim (DRAExtendedResource)
 * and the image volumes' digests in the containers' mounts (ImageVolumeWithDigest), each unless
 * the stored status has it already; and every container's allocatedResourcesStatus
 * (ResourceHealthStatus), always.
 */
function dropDisabledStatusFields(now: PodStatus, before: PodStatus | undefined): void {
  if (before?.resources === undefined && before?.allocatedResources === undefined) {
    delete now.resources
    delete now.allocatedResources
  }
  if (before?.extendedResourceClaimStatus === undefined) delete now.extendedResourceClaimStatus
  const keepVolumeStatus = containerStatuses(before).some((c) =>
    (c.volumeMounts ?? []).some((m) => m.volumeStatus?.image !== undefined),
  )
  for (const c of containerStatuses(now)) {
    delete c.allocatedResourcesStatus
    if (keepVolumeStatus || !Array.isArray(c.volumeMounts)) continue
    for (const m of c.volumeMounts) if (m !== null && typeof m === 'object') delete m.volumeStatus
  }
}

/** The statuses of a pod's containers, init and ephemeral ones too (the objects among them). */
function containerStatuses(status: PodStatus | undefined): ContainerStatus[] {
  const all: ContainerStatus[] = []
  for (const list of [
    status?.containerStatuses,
    status?.initContainerStatuses,
    status?.ephemeralContainerStatuses,
  ]) {
    if (!Array.isArray(list)) continue
    for (const c of list) if (c !== null && typeof c === 'object') all.push(c)
  }
  return all
}

/** Adds or replaces a condition, keeping lastTransitionTime when the status does not change. */
export function setPodCondition(pod: Pod, c: PodCondition, now: string): void {
  const status = (pod.status ??= {})
  const conditions = (status.conditions ??= [])
  const i = conditions.findIndex((x) => x.type === c.type)
  const prev = i >= 0 ? conditions[i] : undefined
  const next: PodCondition = {
    ...c,
    lastTransitionTime: prev?.status === c.status ? (prev.lastTransitionTime ?? now) : now,
  }
  if (i >= 0) conditions[i] = next
  else conditions.push(next)
}

function isZero(q: string | number): boolean {
  return parseQuantity(q)?.nanos === 0n
}

/** Quantities compared by value ("1" and "1000m" are the same CPU). */
function sameQuantity(a: string | number, b: string | number): boolean {
  const x = parseQuantity(a)
  const y = parseQuantity(b)
  return x !== undefined && y !== undefined && compareQuantities(x, y) === 0
}
