import type { Pod, PodCondition } from '../api/generated/types/core-v1.ts'

/** Running or pending and not being deleted: a pod that counts towards replicas (Kubernetes' IsPodActive). */
export function isPodActive(pod: Readonly<Pod>): boolean {
  const phase = pod.status?.phase
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp
}

export function isPodTerminating(pod: Readonly<Pod>): boolean {
  return Boolean(pod.metadata?.deletionTimestamp)
}

export function podCondition(pod: Readonly<Pod>, type: string): Readonly<PodCondition> | undefined {
  return pod.status?.conditions?.find((c) => c.type === type)
}

/** The Ready condition is True. */
export function isPodReady(pod: Readonly<Pod>): boolean {
  return podCondition(pod, 'Ready')?.status === 'True'
}

/**
 * Ready for at least minReadySeconds at `now` (Kubernetes' IsPodAvailable): counted from the
 * Ready condition's lastTransitionTime.
 */
export function isPodAvailable(pod: Readonly<Pod>, minReadySeconds: number, now: number): boolean {
  const ready = podCondition(pod, 'Ready')
  if (ready?.status !== 'True') return false
  if (minReadySeconds <= 0) return true
  const since = Date.parse(ready.lastTransitionTime ?? '')
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now
}

/**
 * The order in which surplus pods are deleted, first to go first (Kubernetes' ActivePods
 * ordering): unscheduled before scheduled, pending before unknown before running, not ready
 * before ready, ready for less time before longer, more restarts before fewer, newer before older.
 */
export function compareForDeletion(a: Readonly<Pod>, b: Readonly<Pod>): number {
  const scheduled = (p: Readonly<Pod>) => (p.spec?.nodeName ? 1 : 0)
  if (scheduled(a) !== scheduled(b)) return scheduled(a) - scheduled(b)
  const phaseRank = (p: Readonly<Pod>) => ({ Pending: 0, Unknown: 1, Running: 2 })[p.status?.phase ?? ''] ?? 0
  if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b)
  const ready = (p: Readonly<Pod>) => (isPodReady(p) ? 1 : 0)
  if (ready(a) !== ready(b)) return ready(a) - ready(b)
  if (isPodReady(a) && isPodReady(b)) {
    const since = (p: Readonly<Pod>) => Date.parse(podCondition(p, 'Ready')?.lastTransitionTime ?? '') || 0
    if (since(a) !== since(b)) return since(b) - since(a) // ready more recently goes first
  }
  const restarts = (p: Readonly<Pod>) =>
    Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0))
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a)
  const created = (p: Readonly<Pod>) => Date.parse(p.metadata?.creationTimestamp ?? '') || 0
  return created(b) - created(a)
}

/**
 * The status patch that marks a pod as disrupted before a controller deletes it (the
 * DisruptionTarget condition, and phase Failed where the pod will not finish by itself).
 */
export function disruptionTargetPatch(o: {
  reason: string
  message: string
  now: string
  failed?: boolean
}): unknown {
  return {
    status: {
      ...(o.failed ? { phase: 'Failed' } : {}),
      conditions: [
        {
          type: 'DisruptionTarget',
          status: 'True',
          reason: o.reason,
          message: o.message,
          lastTransitionTime: o.now,
        },
      ],
    },
  }
}
