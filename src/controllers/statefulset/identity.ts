import type { ControllerRevision, StatefulSet } from '../../api/generated/types/apps-v1.ts'
import type { PersistentVolumeClaim, Pod, Volume } from '../../api/generated/types/core-v1.ts'
import type { OwnerReference } from '../../api/generated/types/meta-v1.ts'
import type { IntOrString } from '../../api/generated/types/intstr.ts'
import { controllerRefTo } from '../owner-refs.ts'
import { isPodAvailable, isPodReady } from '../pod-state.ts'
import { newControllerRevision } from '../history/history.ts'

/**
 * The stable identity of a StatefulSet's pods and claims, as Kubernetes gives them
 * (pkg/controller/statefulset/stateful_set_utils.go): pod `<set>-<ordinal>` with that hostname,
 * the governing Service as subdomain, labels naming the pod, its index and its revision; one
 * PersistentVolumeClaim `<template>-<set>-<ordinal>` per volumeClaimTemplate, mounted in place of
 * any pod volume of the template's name. Pure functions; the controller and its tests call them.
 */

export const statefulSetKind = { apiVersion: 'apps/v1', kind: 'StatefulSet' } as const

/** Labels Kubernetes puts on StatefulSet pods (apps/v1 StatefulSetPodNameLabel, PodIndexLabel, StatefulSetRevisionLabel). */
export const podNameLabel = 'statefulset.kubernetes.io/pod-name'
export const podIndexLabel = 'apps.kubernetes.io/pod-index'
export const revisionLabel = 'controller-revision-hash'

export type PodManagementPolicy = 'OrderedReady' | 'Parallel'
export type RetentionPolicy = 'Retain' | 'Delete'

/** `<set>-<ordinal>`. */
export function podName(set: Readonly<StatefulSet>, ordinal: number): string {
  return `${set.metadata?.name ?? ''}-${ordinal}`
}

/** `<template>-<set>-<ordinal>`. */
export function claimName(set: Readonly<StatefulSet>, template: string, ordinal: number): string {
  return `${template}-${podName(set, ordinal)}`
}

/** The ordinal in a pod's name `<parent>-<n>`, or -1 when the name has none. */
export function ordinalOf(pod: Readonly<Pod>): number {
  const m = /^(.*)-(\d+)$/.exec(pod.metadata?.name ?? '')
  if (!m) return -1
  const n = Number(m[2])
  return Number.isSafeInteger(n) ? n : -1
}

/** The parent's name in a pod's name `<parent>-<n>`. */
function parentNameOf(pod: Readonly<Pod>): string | undefined {
  return /^(.*)-\d+$/.exec(pod.metadata?.name ?? '')?.[1]
}

/** The pod is named as one of the set's (isMemberOf): only such orphans are adopted. */
export function isMemberOf(set: Readonly<StatefulSet>, pod: Readonly<Pod>): boolean {
  return parentNameOf(pod) === set.metadata?.name
}

export function replicasOf(set: Readonly<StatefulSet>): number {
  return set.spec?.replicas ?? 1
}

/** spec.ordinals.start (default 0). */
export function startOrdinal(set: Readonly<StatefulSet>): number {
  return set.spec?.ordinals?.start ?? 0
}

/** The pod's ordinal is one the set wants now: start <= ordinal < start + replicas. */
export function inOrdinalRange(set: Readonly<StatefulSet>, pod: Readonly<Pod>): boolean {
  const o = ordinalOf(pod)
  return o >= startOrdinal(set) && o < startOrdinal(set) + replicasOf(set)
}

export function podManagementPolicy(set: Readonly<StatefulSet>): PodManagementPolicy {
  return set.spec?.podManagementPolicy === 'Parallel' ? 'Parallel' : 'OrderedReady'
}

export function isOnDelete(set: Readonly<StatefulSet>): boolean {
  return set.spec?.updateStrategy?.type === 'OnDelete'
}

export function partitionOf(set: Readonly<StatefulSet>): number {
  return set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0
}

/**
 * How many pods a rolling update may have unavailable: rollingUpdate.maxUnavailable (default 1),
 * a percentage of replicas rounded down, never less than 1.
 */
export function maxUnavailableOf(set: Readonly<StatefulSet>): number {
  const v: IntOrString | undefined = set.spec?.updateStrategy?.rollingUpdate?.maxUnavailable
  if (v === undefined) return 1
  let n: number
  if (typeof v === 'number') n = v
  else {
    const m = /^(\d+)%$/.exec(v)
    if (!m) throw new Error(`invalid maxUnavailable ${JSON.stringify(v)}: an integer or a percentage`)
    n = Math.floor((Number(m[1]) * replicasOf(set)) / 100)
  }
  return Math.max(1, n)
}

export function retentionPolicy(set: Readonly<StatefulSet>): {
  whenDeleted: RetentionPolicy
  whenScaled: RetentionPolicy
} {
  const p = set.spec?.persistentVolumeClaimRetentionPolicy
  return {
    whenDeleted: p?.whenDeleted === 'Delete' ? 'Delete' : 'Retain',
    whenScaled: p?.whenScaled === 'Delete' ? 'Delete' : 'Retain',
  }
}

export function revisionOfPod(pod: Readonly<Pod>): string {
  return pod.metadata?.labels?.[revisionLabel] ?? ''
}

/** The pod has been created and the apiserver keeps it (a phase is set: isCreated). */
export function isCreated(pod: Readonly<Pod>): boolean {
  return Boolean(pod.status?.phase)
}

export function isTerminating(pod: Readonly<Pod>): boolean {
  return Boolean(pod.metadata?.deletionTimestamp)
}

export function isRunningAndReady(pod: Readonly<Pod>): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod)
}

export function isRunningAndAvailable(pod: Readonly<Pod>, minReadySeconds: number, now: number): boolean {
  return pod.status?.phase === 'Running' && isPodAvailable(pod, minReadySeconds, now)
}

/** Not available, or on its way out (isUnavailable). */
export function isUnavailable(pod: Readonly<Pod>, minReadySeconds: number, now: number): boolean {
  return !isRunningAndAvailable(pod, minReadySeconds, now) || isTerminating(pod)
}

/** The claims the set's templates make for one ordinal, by template name. */
export function claimsFor(set: Readonly<StatefulSet>, ordinal: number): Map<string, PersistentVolumeClaim> {
  const claims = new Map<string, PersistentVolumeClaim>()
  const selectorLabels = set.spec?.selector.matchLabels ?? {}
  for (const template of set.spec?.volumeClaimTemplates ?? []) {
    const name = template.metadata?.name ?? ''
    const { status: _status, ...rest } = structuredClone(template)
    claims.set(name, {
      ...rest,
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        name: claimName(set, name, ordinal),
        namespace: set.metadata?.namespace ?? '',
        labels: { ...template.metadata?.labels, ...selectorLabels },
      },
    })
  }
  return claims
}

/** The pod's volumes with one per claim template, replacing a template volume of the same name (updateStorage). */
export function storageVolumes(
  set: Readonly<StatefulSet>,
  ordinal: number,
  current: readonly Volume[],
): Volume[] {
  const claims = claimsFor(set, ordinal)
  const volumes: Volume[] = [...claims].map(([name, claim]) => ({
    name,
    persistentVolumeClaim: { claimName: claim.metadata?.name ?? '' },
  }))
  return [...volumes, ...current.filter((v) => !claims.has(v.name))]
}

/** The pod's name, namespace and identity labels are the set's for its ordinal (identityMatches). */
export function identityMatches(set: Readonly<StatefulSet>, pod: Readonly<Pod>): boolean {
  const ordinal = ordinalOf(pod)
  const labels = pod.metadata?.labels ?? {}
  return (
    ordinal >= 0 &&
    pod.metadata?.name === podName(set, ordinal) &&
    pod.metadata.namespace === set.metadata?.namespace &&
    labels[podNameLabel] === pod.metadata.name &&
    labels[podIndexLabel] === String(ordinal)
  )
}

/** Every claim template is mounted from the pod's own claim (storageMatches). */
export function storageMatches(set: Readonly<StatefulSet>, pod: Readonly<Pod>): boolean {
  const ordinal = ordinalOf(pod)
  if (ordinal < 0) return false
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]))
  for (const [name, claim] of claimsFor(set, ordinal)) {
    if (volumes.get(name)?.persistentVolumeClaim?.claimName !== claim.metadata?.name) return false
  }
  return true
}

/** Sets the identity labels the pod lacks or has wrong (updateIdentity): what the controller fixes with an update. */
export function withIdentity(set: Readonly<StatefulSet>, pod: Readonly<Pod>): Pod {
  const next = structuredClone(pod) as Pod
  const ordinal = ordinalOf(pod)
  const name = podName(set, ordinal)
  next.metadata = {
    ...next.metadata,
    name,
    namespace: set.metadata?.namespace ?? '',
    labels: { ...next.metadata?.labels, [podNameLabel]: name, [podIndexLabel]: String(ordinal) },
  }
  return next
}

/**
 * A pod of the set at `ordinal`, from its template (newStatefulSetPod): controlled by the set,
 * with hostname and subdomain (set only on creation; they are immutable), identity labels, the
 * revision label, and its claims mounted.
 */
export function newStatefulSetPod(set: Readonly<StatefulSet>, ordinal: number, revision: string): Pod {
  const template = structuredClone(set.spec?.template ?? {})
  const name = podName(set, ordinal)
  const spec = template.spec ?? { containers: [] }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata?.namespace ?? '',
      labels: {
        ...template.metadata?.labels,
        [podNameLabel]: name,
        [podIndexLabel]: String(ordinal),
        [revisionLabel]: revision,
      },
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ...(template.metadata?.finalizers ? { finalizers: template.metadata.finalizers } : {}),
      ownerReferences: [controllerRefTo(set, statefulSetKind.apiVersion, statefulSetKind.kind)],
    },
    spec: {
      ...spec,
      hostname: name,
      ...(set.spec?.serviceName ? { subdomain: set.spec.serviceName } : {}),
      volumes: storageVolumes(set, ordinal, spec.volumes ?? []),
    },
  }
}

/**
 * What a revision of the set records: a strategic merge patch that puts its pod template back
 * (`$patch: replace`, so nothing of a later template survives). `kubectl rollout undo` applies
 * exactly this to the StatefulSet.
 */
export function revisionData(set: Readonly<StatefulSet>): { spec: { template: Record<string, unknown> } } {
  return { spec: { template: { ...structuredClone(set.spec?.template ?? {}), $patch: 'replace' } } }
}

/** A new revision of the set, numbered `revision`, carrying the set's annotations (newRevision). */
export function newRevision(
  set: Readonly<StatefulSet>,
  revision: number,
  collisionCount: number,
): ControllerRevision {
  const r = newControllerRevision({
    parent: set,
    parentKind: statefulSetKind,
    labels: set.spec?.template.metadata?.labels ?? {},
    data: revisionData(set),
    revision,
    collisionCount,
  })
  if (set.metadata?.annotations) r.metadata = { ...r.metadata, annotations: { ...set.metadata.annotations } }
  return r
}

/**
 * The set as the revision describes it (ApplyRevision): the revision's patch replaces the pod
 * template wholesale, so applying it is taking its template.
 */
export function applyRevision(
  set: Readonly<StatefulSet>,
  revision: Readonly<ControllerRevision>,
): StatefulSet {
  const clone = structuredClone(set) as StatefulSet
  const spec = (revision.data as { spec?: { template?: Record<string, unknown> } } | undefined)?.spec
  if (spec?.template && clone.spec) {
    const { $patch: _directive, ...template } = structuredClone(spec.template)
    clone.spec.template = template
  }
  return clone
}

/**
 * A pod for a missing ordinal (newVersionedStatefulSetPod): below the partition of a rolling
 * update it is made at the current revision, otherwise at the update revision.
 */
export function newVersionedPod(o: {
  currentSet: Readonly<StatefulSet>
  updateSet: Readonly<StatefulSet>
  currentRevision: string
  updateRevision: string
  ordinal: number
}): Pod {
  const set = o.currentSet
  const rolling = !isOnDelete(set)
  const ru = set.spec?.updateStrategy?.rollingUpdate
  const below = ru
    ? o.ordinal < startOrdinal(set) + (ru.partition ?? 0)
    : o.ordinal < startOrdinal(set) + (set.status?.currentReplicas ?? 0)
  return rolling && below
    ? newStatefulSetPod(o.currentSet, o.ordinal, o.currentRevision)
    : newStatefulSetPod(o.updateSet, o.ordinal, o.updateRevision)
}

// --- claim ownership for persistentVolumeClaimRetentionPolicy ------------------------------------

const podKind = { apiVersion: 'v1', kind: 'Pod' } as const

function hasOwnerRef(claim: Readonly<PersistentVolumeClaim>, uid: string): boolean {
  return (claim.metadata?.ownerReferences ?? []).some((r) => r.uid === uid)
}

function refersTo(
  ref: Readonly<OwnerReference>,
  kind: { apiVersion: string; kind: string },
  name: string,
): boolean {
  return (
    ref.kind === kind.kind &&
    ref.apiVersion.split('/')[0] === kind.apiVersion.split('/')[0] &&
    ref.name === name
  )
}

/**
 * The claim's ownerReferences say what the retention policy asks (isClaimOwnerUpToDate):
 *
 *   whenScaled  whenDeleted   owners of the claim
 *   Retain      Retain        neither set nor pod
 *   Retain      Delete        the set
 *   Delete      Retain        the pod, once the pod is scaled away
 *   Delete      Delete        the set while the pod is wanted, the pod once it is scaled away
 *
 * The garbage collector then deletes the claim with its owner. A claim controlled by something
 * else is left alone; one whose refs name an older set or pod of the same name (another uid) too.
 */
export function claimOwnersMatch(
  claim: Readonly<PersistentVolumeClaim>,
  set: Readonly<StatefulSet>,
  pod: Readonly<Pod>,
): boolean {
  const refs = claim.metadata?.ownerReferences ?? []
  const setUid = set.metadata?.uid ?? ''
  const podUid = pod.metadata?.uid ?? ''
  const stale = refs.some(
    (r) =>
      (refersTo(r, statefulSetKind, set.metadata?.name ?? '') && r.uid !== setUid) ||
      (refersTo(r, podKind, pod.metadata?.name ?? '') && r.uid !== podUid),
  )
  if (stale) return true
  if (refs.some((r) => r.controller === true && r.uid !== setUid && r.uid !== podUid)) {
    return !hasOwnerRef(claim, setUid) && !hasOwnerRef(claim, podUid)
  }
  const want = wantedClaimOwners(set, pod)
  return hasOwnerRef(claim, setUid) === want.set && hasOwnerRef(claim, podUid) === want.pod
}

function wantedClaimOwners(set: Readonly<StatefulSet>, pod: Readonly<Pod>): { set: boolean; pod: boolean } {
  const policy = retentionPolicy(set)
  const scaledDown = !inOrdinalRange(set, pod)
  const scaledAway = policy.whenScaled === 'Delete' && scaledDown
  return { set: policy.whenDeleted === 'Delete' && !scaledAway, pod: scaledAway }
}

/** The claim's ownerReferences as the retention policy asks (updateClaimOwnerRefForSetAndPod). */
export function withClaimOwners(
  claim: Readonly<PersistentVolumeClaim>,
  set: Readonly<StatefulSet>,
  pod: Readonly<Pod>,
): PersistentVolumeClaim {
  const next = structuredClone(claim) as PersistentVolumeClaim
  const setUid = set.metadata?.uid ?? ''
  const podUid = pod.metadata?.uid ?? ''
  const refs = claim.metadata?.ownerReferences ?? []
  const foreignController = refs.some((r) => r.controller === true && r.uid !== setUid && r.uid !== podUid)
  const kept = refs.filter(
    (r) =>
      !refersTo(r, statefulSetKind, set.metadata?.name ?? '') &&
      !refersTo(r, podKind, pod.metadata?.name ?? ''),
  )
  if (!foreignController) {
    const want = wantedClaimOwners(set, pod)
    if (want.set) kept.push(controllerRefTo(set, statefulSetKind.apiVersion, statefulSetKind.kind))
    if (want.pod) kept.push(controllerRefTo(pod, podKind.apiVersion, podKind.kind))
  }
  next.metadata = { ...next.metadata, ownerReferences: kept }
  return next
}
