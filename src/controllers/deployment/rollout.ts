import type {
  Deployment,
  DeploymentCondition,
  DeploymentStatus,
  ReplicaSet,
} from '../../api/generated/types/apps-v1.ts'
import type { PodTemplateSpec } from '../../api/generated/types/core-v1.ts'
import type { IntOrString } from '../../api/generated/types/intstr.ts'
import { copyJson, deepEqual } from '../../api/object.ts'

/**
 * The arithmetic of rollouts, as Kubernetes' deployment controller does it (deployment/util):
 * which ReplicaSet is the new one, revisions, the surge and unavailability fenceposts, how far to
 * scale up the new ReplicaSet and down the old ones, proportional scaling, and the status with its
 * Available and Progressing conditions. Pure functions, so the tests can call them directly.
 */

export const podTemplateHashLabel = 'pod-template-hash'
export const revisionAnnotation = 'deployment.kubernetes.io/revision'
export const revisionHistoryAnnotation = 'deployment.kubernetes.io/revision-history'
export const desiredReplicasAnnotation = 'deployment.kubernetes.io/desired-replicas'
export const maxReplicasAnnotation = 'deployment.kubernetes.io/max-replicas'

/** Annotations of a Deployment that are not copied to its ReplicaSets. */
const notCopied = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  revisionAnnotation,
  revisionHistoryAnnotation,
  desiredReplicasAnnotation,
  maxReplicasAnnotation,
  'deprecated.deployment.rollback.to',
])

export const replicasOf = (d: Readonly<Deployment>): number => d.spec?.replicas ?? 1
export const rsReplicas = (rs: Readonly<ReplicaSet>): number => rs.spec?.replicas ?? 0
const sum = (rss: readonly Readonly<ReplicaSet>[], f: (rs: Readonly<ReplicaSet>) => number): number =>
  rss.reduce((n, rs) => n + f(rs), 0)

export function isRollingUpdate(d: Readonly<Deployment>): boolean {
  return (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate'
}

/** An int, or a percentage of `total` rounded up or down (intstr.GetScaledValueFromIntOrPercent). */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0
  if (typeof v === 'number') return v
  const m = /^(\d+)%$/.exec(v)
  if (!m) {
    const n = Number(v)
    if (Number.isInteger(n)) return n
    throw new Error(`invalid value for IntOrString: ${JSON.stringify(v)}`)
  }
  const exact = (Number(m[1]) * total) / 100
  return roundUp ? Math.ceil(exact) : Math.floor(exact)
}

/**
 * maxSurge (rounded up) and maxUnavailable (rounded down) of a rolling update, with the
 * fencepost that both cannot be zero: then one pod may be unavailable (ResolveFenceposts).
 */
export function fenceposts(d: Readonly<Deployment>): { surge: number; unavailable: number } {
  const ru = d.spec?.strategy?.rollingUpdate
  const replicas = replicasOf(d)
  const surge = scaledValue(ru?.maxSurge ?? '25%', replicas, true)
  let unavailable = scaledValue(ru?.maxUnavailable ?? '25%', replicas, false)
  if (surge === 0 && unavailable === 0) unavailable = 1
  return { surge, unavailable }
}

/** How many pods may be unavailable: 0 for Recreate; never more than the replicas. */
export function maxUnavailable(d: Readonly<Deployment>): number {
  if (!isRollingUpdate(d) || replicasOf(d) === 0) return 0
  return Math.min(fenceposts(d).unavailable, replicasOf(d))
}

export function maxSurge(d: Readonly<Deployment>): number {
  return isRollingUpdate(d) ? fenceposts(d).surge : 0
}

/** The template without the pod-template-hash label, to compare templates of different ReplicaSets. */
function withoutHash(t: PodTemplateSpec | undefined): PodTemplateSpec {
  const copy = copyJson(t ?? {})
  const labels = copy.metadata?.labels
  if (labels) {
    delete labels[podTemplateHashLabel]
    if (Object.keys(labels).length === 0 && copy.metadata) delete copy.metadata.labels
  }
  return copy
}

export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return deepEqual(withoutHash(a), withoutHash(b))
}

const byCreation = (a: Readonly<ReplicaSet>, b: Readonly<ReplicaSet>): number => {
  const ta = a.metadata?.creationTimestamp ?? ''
  const tb = b.metadata?.creationTimestamp ?? ''
  if (ta !== tb) return ta < tb ? -1 : 1
  const na = a.metadata?.name ?? ''
  const nb = b.metadata?.name ?? ''
  return na < nb ? -1 : na > nb ? 1 : 0
}

export function sortByCreation(rss: readonly Readonly<ReplicaSet>[]): Readonly<ReplicaSet>[] {
  return [...rss].sort(byCreation)
}

/** The ReplicaSet whose template is the Deployment's: the oldest, if several are. */
export function findNewReplicaSet(
  d: Readonly<Deployment>,
  rss: readonly Readonly<ReplicaSet>[],
): Readonly<ReplicaSet> | undefined {
  return sortByCreation(rss).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template))
}

export function revisionOf(rs: Readonly<ReplicaSet>): number {
  const v = Number(rs.metadata?.annotations?.[revisionAnnotation] ?? '0')
  return Number.isFinite(v) ? v : 0
}

export function maxRevision(rss: readonly Readonly<ReplicaSet>[]): number {
  return Math.max(0, ...rss.map(revisionOf))
}

/** FNV-1a, 32 bits. */
function fnv32a(s: string): number {
  let h = 0x811c9dc5
  for (const b of Buffer.from(s)) {
    h ^= b
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** Consonants and digits that never spell words (Kubernetes' rand.SafeEncodeString alphabet). */
const alphanums = 'bcdfghjklmnpqrstvwxz2456789'

/**
 * The pod-template-hash of a template: a hash of the template and the collision count, spelled in
 * the alphabet Kubernetes uses (so names look like web-5d4f8c7b9). Stable for a template; the
 * collision count changes it when a name is taken by a ReplicaSet with another template.
 */
export function templateHash(template: PodTemplateSpec | undefined, collisionCount = 0): string {
  const digits = String(
    fnv32a(canonicalJson(template ?? {}) + (collisionCount > 0 ? `#${collisionCount}` : '')),
  )
  return [...digits].map((c) => alphanums[c.charCodeAt(0) % alphanums.length]).join('')
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`
  }
  return JSON.stringify(v)
}

/** The Deployment's annotations a ReplicaSet carries. */
export function copiedAnnotations(d: Readonly<Deployment>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) if (!notCopied.has(k)) out[k] = v
  return out
}

/** The replicas the new ReplicaSet should have now (NewRSNewReplicas). */
export function newRSNewReplicas(
  d: Readonly<Deployment>,
  all: readonly Readonly<ReplicaSet>[],
  newRS: Readonly<ReplicaSet>,
): number {
  const replicas = replicasOf(d)
  if (!isRollingUpdate(d)) return replicas
  const current = sum(all, rsReplicas)
  const maxTotal = replicas + maxSurge(d)
  if (current >= maxTotal) return rsReplicas(newRS)
  const up = Math.min(maxTotal - current, replicas - rsReplicas(newRS))
  return rsReplicas(newRS) + Math.max(0, up)
}

/**
 * How many old pods may go now without dropping below the available minimum, counting the new
 * ReplicaSet's not-yet-available pods as unavailable (reconcileOldReplicaSets' maxScaledDown).
 */
export function maxScaledDown(
  d: Readonly<Deployment>,
  all: readonly Readonly<ReplicaSet>[],
  newRS: Readonly<ReplicaSet> | undefined,
): number {
  const minAvailable = replicasOf(d) - maxUnavailable(d)
  const newUnavailable = newRS ? rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0) : 0
  return sum(all, rsReplicas) - minAvailable - newUnavailable
}

/** A scale decision: the ReplicaSet and its new replica count. */
export interface Scale {
  rs: Readonly<ReplicaSet>
  to: number
}

/**
 * Old ReplicaSets' unhealthy pods (not available) go first, oldest ReplicaSet first, at most
 * `limit` of them (cleanupUnhealthyReplicas).
 */
export function cleanupUnhealthy(old: readonly Readonly<ReplicaSet>[], limit: number): Scale[] {
  const out: Scale[] = []
  let total = 0
  for (const rs of sortByCreation(old)) {
    if (total >= limit) break
    const replicas = rsReplicas(rs)
    if (replicas === 0) continue
    const unhealthy = replicas - (rs.status?.availableReplicas ?? 0)
    if (unhealthy <= 0) continue
    const down = Math.min(limit - total, unhealthy)
    out.push({ rs, to: replicas - down })
    total += down
  }
  return out
}

/**
 * Scales old ReplicaSets down, oldest first, as far as the available pods above the minimum
 * allow (scaleDownOldReplicaSetsForRollingUpdate).
 */
export function scaleDownOld(
  d: Readonly<Deployment>,
  all: readonly Readonly<ReplicaSet>[],
  old: readonly Readonly<ReplicaSet>[],
): Scale[] {
  const minAvailable = replicasOf(d) - maxUnavailable(d)
  // A ReplicaSet just scaled down still reports the pods it is deleting until its controller has
  // seen them go: it is never counted for more available pods than it is told to keep.
  const available = sum(all, (rs) => Math.min(rs.status?.availableReplicas ?? 0, rsReplicas(rs)))
  if (available <= minAvailable) return []
  const budget = available - minAvailable
  const out: Scale[] = []
  let total = 0
  for (const rs of sortByCreation(old)) {
    if (total >= budget) break
    const replicas = rsReplicas(rs)
    if (replicas === 0) continue
    const down = Math.min(replicas, budget - total)
    out.push({ rs, to: replicas - down })
    total += down
  }
  return out
}

/**
 * Proportional scaling (deployment/sync.go scale): when the Deployment is resized in the middle
 * of a rollout, each active ReplicaSet grows or shrinks in proportion to its size, the rounding
 * leftover going to the largest (newest on growth, oldest on shrink).
 */
export function proportionalScale(d: Readonly<Deployment>, active: readonly Readonly<ReplicaSet>[]): Scale[] {
  const replicas = replicasOf(d)
  const allowed = replicas > 0 ? replicas + maxSurge(d) : 0
  const current = sum(active, rsReplicas)
  const toAdd = allowed - current
  if (toAdd === 0 || current === 0) return []
  // Bigger first; among equals, newer first when growing, older first when shrinking.
  const sorted = [...active].sort((a, b) => {
    if (rsReplicas(a) !== rsReplicas(b)) return rsReplicas(b) - rsReplicas(a)
    return toAdd > 0 ? byCreation(b, a) : byCreation(a, b)
  })
  const sizes = new Map<Readonly<ReplicaSet>, number>()
  let added = 0
  for (const rs of sorted) {
    const fraction = (rsReplicas(rs) * allowed) / current - rsReplicas(rs)
    let proportion =
      toAdd > 0
        ? Math.min(Math.round(fraction), toAdd - added)
        : Math.max(Math.round(fraction), toAdd - added)
    if (rsReplicas(rs) + proportion < 0) proportion = -rsReplicas(rs)
    sizes.set(rs, rsReplicas(rs) + proportion)
    added += proportion
  }
  const first = sorted[0]
  if (first && added !== toAdd) sizes.set(first, Math.max(0, (sizes.get(first) ?? 0) + (toAdd - added)))
  return sorted.filter((rs) => sizes.get(rs) !== rsReplicas(rs)).map((rs) => ({ rs, to: sizes.get(rs) ?? 0 }))
}

// --- status -------------------------------------------------------------------------------------

export const conditionAvailable = 'Available'
export const conditionProgressing = 'Progressing'
export const conditionReplicaFailure = 'ReplicaFailure'

export const reasonMinimumReplicasAvailable = 'MinimumReplicasAvailable'
export const reasonMinimumReplicasUnavailable = 'MinimumReplicasUnavailable'
export const reasonNewReplicaSetCreated = 'NewReplicaSetCreated'
export const reasonFoundNewReplicaSet = 'FoundNewReplicaSet'
export const reasonReplicaSetUpdated = 'ReplicaSetUpdated'
export const reasonNewReplicaSetAvailable = 'NewReplicaSetAvailable'
export const reasonProgressDeadlineExceeded = 'ProgressDeadlineExceeded'
export const reasonDeploymentPaused = 'DeploymentPaused'
export const reasonDeploymentResumed = 'DeploymentResumed'

export function condition(
  status: Readonly<DeploymentStatus> | undefined,
  type: string,
): Readonly<DeploymentCondition> | undefined {
  return status?.conditions?.find((c) => c.type === type)
}

/**
 * Sets a condition; its lastTransitionTime moves only when the status flips, its lastUpdateTime
 * whenever reason or message change (or `touch`), as SetDeploymentCondition does.
 */
export function setCondition(status: DeploymentStatus, next: DeploymentCondition, touch = false): void {
  const conditions = status.conditions ?? []
  const i = conditions.findIndex((c) => c.type === next.type)
  const current = i >= 0 ? conditions[i] : undefined
  if (
    current &&
    current.status === next.status &&
    current.reason === next.reason &&
    current.message === next.message &&
    !touch
  )
    return
  const merged: DeploymentCondition =
    current && current.status === next.status
      ? { ...next, lastTransitionTime: current.lastTransitionTime ?? next.lastTransitionTime }
      : next
  if (i >= 0) conditions[i] = merged
  else conditions.push(merged)
  status.conditions = conditions
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (!status.conditions) return
  status.conditions = status.conditions.filter((c) => c.type !== type)
  if (status.conditions.length === 0) delete status.conditions
}

export function makeCondition(
  type: string,
  status: string,
  reason: string,
  message: string,
  now: string,
): DeploymentCondition {
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message }
}

/** Counts from the ReplicaSets, and the Available condition (calculateStatus). */
export function calculateStatus(
  d: Readonly<Deployment>,
  all: readonly Readonly<ReplicaSet>[],
  newRS: Readonly<ReplicaSet> | undefined,
  now: string,
): DeploymentStatus {
  const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0)
  const total = sum(all, (rs) => rs.status?.replicas ?? 0)
  const status: DeploymentStatus = {
    observedGeneration: d.metadata?.generation ?? 0,
    replicas: total,
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sum(all, (rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
    ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
    ...(d.status?.conditions ? { conditions: copyJson(d.status.conditions) } : {}),
  }
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    setCondition(
      status,
      makeCondition(
        conditionAvailable,
        'True',
        reasonMinimumReplicasAvailable,
        'Deployment has minimum availability.',
        now,
      ),
    )
  } else {
    setCondition(
      status,
      makeCondition(
        conditionAvailable,
        'False',
        reasonMinimumReplicasUnavailable,
        'Deployment does not have minimum availability.',
        now,
      ),
    )
  }
  return status
}

/** Every pod is updated and available, and the controller has seen the latest spec. */
export function isComplete(d: Readonly<Deployment>, s: Readonly<DeploymentStatus>): boolean {
  const r = replicasOf(d)
  return (
    s.updatedReplicas === r &&
    s.replicas === r &&
    s.availableReplicas === r &&
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
  )
}

/** Something moved since the last status: more updated, ready or available pods, or fewer old ones. */
export function isProgressing(d: Readonly<Deployment>, next: Readonly<DeploymentStatus>): boolean {
  const old = d.status ?? {}
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0)
  const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0)
  return (
    (next.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    (next.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (next.availableReplicas ?? 0) > (old.availableReplicas ?? 0) ||
    oldOld > newOld
  )
}

/** The Progressing condition has not been updated for progressDeadlineSeconds. */
export function hasTimedOut(d: Readonly<Deployment>, s: Readonly<DeploymentStatus>, now: number): boolean {
  const deadline = d.spec?.progressDeadlineSeconds
  if (deadline === undefined || deadline >= 2147483647) return false
  const c = condition(s, conditionProgressing)
  if (!c || c.reason === reasonNewReplicaSetAvailable || c.reason === reasonProgressDeadlineExceeded)
    return false
  const from = Date.parse(c.lastUpdateTime ?? '')
  return Number.isFinite(from) && from + deadline * 1000 < now
}
