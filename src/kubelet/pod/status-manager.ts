/**
 * The status manager (pkg/kubelet/status): keeps the last status the kubelet generated for each
 * pod, and writes it to the API only when it changed. It keeps the conditions the kubelet does not
 * own (PodScheduled, ...), carries lastTransitionTime over while a condition's status stays, keeps
 * startTime once set, and never moves a pod out of a terminal phase.
 */
import type { Pod, PodCondition, PodStatus } from '../../api/generated/types/core-v1.ts'
import { deepEqual } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import { isPodPhaseTerminal, kubeletConditions } from './pod-status.ts'

export interface PodRef {
  namespace: string
  name: string
  uid: string
}

/** The API writes the kubelet makes for pods; the real one PATCHes, tests record. */
export interface PodStatusWriter {
  /** PATCH pods/status with metadata.uid as precondition (a recreated pod of the same name is not ours). */
  patchStatus(pod: PodRef, status: PodStatus): Promise<void>
  /** The final DELETE with grace 0 once a deleted pod's containers are gone (uid precondition). */
  deletePod(pod: PodRef): Promise<void>
}

export function podRefOf(pod: Readonly<Pod>): PodRef {
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
  }
}

/** RFC 3339 at seconds. */
export function timeOfMs(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
}

export class StatusManager {
  readonly #writer: PodStatusWriter
  readonly #clock: Clock
  /** Last status written (or found in the API), by pod uid. */
  readonly #written = new Map<string, PodStatus>()

  constructor(o: { writer: PodStatusWriter; clock: Clock }) {
    this.#writer = o.writer
    this.#clock = o.clock
  }

  /** The status last written for the pod (the kubelet's own view). */
  status(uid: string): PodStatus | undefined {
    return this.#written.get(uid)
  }

  /**
   * Merges a generated status into the pod's current one and writes it when it differs. `pod` is
   * the pod as the API last showed it (its status: the conditions others own).
   * Returns the status as written (or as it already was).
   */
  async setPodStatus(pod: Readonly<Pod>, generated: PodStatus): Promise<PodStatus> {
    const ref = podRefOf(pod)
    const old = this.#written.get(ref.uid) ?? pod.status ?? {}
    const now = timeOfMs(this.#clock.now())
    // Only top-level fields are set below: a shallow copy keeps the caller's status as it was.
    const next: PodStatus = { ...generated }
    if (isPodPhaseTerminal(old.phase) && !isPodPhaseTerminal(next.phase)) next.phase = old.phase
    next.startTime = old.startTime ?? next.startTime ?? now
    const conditions: PodCondition[] = []
    for (const c of next.conditions ?? []) {
      const before = old.conditions?.find((o) => o.type === c.type)
      const lastTransitionTime = before?.status === c.status ? (before.lastTransitionTime ?? now) : now
      conditions.push({ ...c, lastTransitionTime })
    }
    // Conditions others own (PodScheduled, DisruptionTarget, readiness gates) as the API has them now.
    for (const c of pod.status?.conditions ?? old.conditions ?? []) {
      if (!kubeletConditions.includes(c.type) && !conditions.some((x) => x.type === c.type))
        conditions.push(c)
    }
    next.conditions = conditions
    // Fields the kubelet does not set are kept (nominatedNodeName, resize, ...).
    const merged: PodStatus = { ...old, ...next }
    // Undefined fields and key order do not count as changes.
    if (deepEqual(old, merged)) {
      this.#written.set(ref.uid, merged)
      return merged
    }
    await this.#writer.patchStatus(ref, merged)
    this.#written.set(ref.uid, merged)
    return merged
  }

  forget(uid: string): void {
    this.#written.delete(uid)
  }
}
