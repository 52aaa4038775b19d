/**
 * What the autoscaler remembers between syncs of an HPA, and how it turns a metric's proposal
 * into the replicas it sets: stabilization over recent recommendations, then the rate limits of
 * spec.behavior (or, without behavior, upstream's fixed limit of doubling, at least to 4).
 *
 *   proposal ──stabilize (windows over past recommendations)──▶ stabilized
 *            ──limit (min/max replicas, policies over past scale events)──▶ desired
 *
 * The memory lives in the controller process only, as upstream's: a restarted controller-manager
 * starts its windows afresh from the current replicas.
 */
import type {
  HPAScalingRules,
  HorizontalPodAutoscalerBehavior,
} from '../../api/generated/types/autoscaling-v2.ts'
import type { Clock } from '../../base/clock.ts'

interface Recommendation {
  replicas: number
  at: number
}

interface ScaleEvent {
  change: number
  at: number
  outdated: boolean
}

/** A condition the normalization sets: AbleToScale's and ScalingLimited's reason and message. */
export interface Verdict {
  replicas: number
  reason: string
  message: string
}

export interface NormalizeArgs {
  key: string
  currentReplicas: number
  /** The largest proposal of the metrics. */
  proposed: number
  minReplicas: number
  maxReplicas: number
}

/** Everything normalize() decides, with the condition it implies. */
export interface Normalized {
  desired: number
  /** Set on AbleToScale (True). */
  ableToScale: { reason: string; message: string }
  /** Set on ScalingLimited: True when the limits changed the stabilized count. */
  scalingLimited: { status: 'True' | 'False'; reason: string; message: string }
}

export const scaleDownStabilized = {
  reason: 'ScaleDownStabilized',
  message: 'recent recommendations were higher than current one, applying the highest recent recommendation',
}
export const scaleUpStabilized = {
  reason: 'ScaleUpStabilized',
  message: 'recent recommendations were lower than current one, applying the lowest recent recommendation',
}
export const readyForNewScale = {
  reason: 'ReadyForNewScale',
  message: 'recommended size matches current size',
}
const withinRange = {
  reason: 'DesiredWithinRange',
  message: 'the desired count is within the acceptable range',
}
const tooFew = {
  reason: 'TooFewReplicas',
  message: 'the desired replica count is less than the minimum replica count',
}
const tooMany = {
  reason: 'TooManyReplicas',
  message: 'the desired replica count is more than the maximum replica count',
}
const scaleUpLimited = {
  reason: 'ScaleUpLimit',
  message: 'the desired replica count is increasing faster than the maximum scale rate',
}
const scaleDownLimited = {
  reason: 'ScaleDownLimit',
  message: 'the desired replica count is decreasing faster than the maximum scale rate',
}

export interface ScaleMemoryOptions {
  clock: Clock
  /**
   * --horizontal-pod-autoscaler-downscale-stabilization (5 min): the scale-down window of HPAs
   * without behavior, and of behaviors that leave it unset.
   */
  downscaleStabilizationMs?: number
}

export class ScaleMemory {
  readonly #clock: Clock
  readonly downscaleStabilizationMs: number
  readonly #recommendations = new Map<string, Recommendation[]>()
  readonly #scaleUps = new Map<string, ScaleEvent[]>()
  readonly #scaleDowns = new Map<string, ScaleEvent[]>()

  constructor(o: ScaleMemoryOptions) {
    this.#clock = o.clock
    this.downscaleStabilizationMs = o.downscaleStabilizationMs ?? 5 * 60_000
  }

  /** The first sync of an HPA starts its history with the replicas it found. */
  recordInitial(key: string, currentReplicas: number): void {
    if (!this.#recommendations.has(key)) {
      this.#recommendations.set(key, [{ replicas: currentReplicas, at: this.#clock.now() }])
    }
  }

  /** The HPA is gone: forget it. */
  forget(key: string): void {
    this.#recommendations.delete(key)
    this.#scaleUps.delete(key)
    this.#scaleDowns.delete(key)
  }

  /** Without spec.behavior: the highest recommendation of the downscale window, then min/max and the doubling limit. */
  normalize(a: NormalizeArgs): Normalized {
    const stabilized = this.#stabilize(a.key, a.proposed)
    const ableToScale = stabilized !== a.proposed ? scaleDownStabilized : readyForNewScale
    const scaleUpLimit = Math.max(2 * a.currentReplicas, 4)
    const [max, maxVerdict] =
      a.maxReplicas > scaleUpLimit ? [scaleUpLimit, scaleUpLimited] : [a.maxReplicas, tooMany]
    let limited = { replicas: stabilized, ...withinRange }
    if (stabilized < a.minReplicas) limited = { replicas: a.minReplicas, ...tooFew }
    else if (stabilized > max) limited = { replicas: max, ...maxVerdict }
    return {
      desired: limited.replicas,
      ableToScale,
      scalingLimited: {
        status: limited.replicas === stabilized ? 'False' : 'True',
        reason: limited.reason,
        message: limited.message,
      },
    }
  }

  /** With spec.behavior (defaulted by the apiserver): both windows, then the policies' rates. */
  normalizeWithBehavior(a: NormalizeArgs, behavior: Readonly<HorizontalPodAutoscalerBehavior>): Normalized {
    const up = behavior.scaleUp ?? {}
    const down = {
      ...behavior.scaleDown,
      stabilizationWindowSeconds:
        behavior.scaleDown?.stabilizationWindowSeconds ?? Math.round(this.downscaleStabilizationMs / 1000),
    }
    const stabilized = this.#stabilizeWithBehavior(a, up, down)
    const ableToScale =
      stabilized === a.proposed
        ? readyForNewScale
        : a.proposed >= a.currentReplicas
          ? scaleUpStabilized
          : scaleDownStabilized
    const limited = this.#limitByRate({ ...a, proposed: stabilized }, up, down)
    return {
      desired: limited.replicas,
      ableToScale,
      scalingLimited: {
        status: limited.replicas === stabilized ? 'False' : 'True',
        reason: limited.reason,
        message: limited.message,
      },
    }
  }

  /** A rescale happened: it counts against the policies' periods (only with behavior, as upstream). */
  recordScale(
    key: string,
    behavior: Readonly<HorizontalPodAutoscalerBehavior> | undefined,
    from: number,
    to: number,
  ): void {
    if (!behavior || from === to) return
    const [events, rules, change] =
      to > from
        ? [this.#scaleUps, behavior.scaleUp, to - from]
        : [this.#scaleDowns, behavior.scaleDown, from - to]
    const longest = Math.max(0, ...(rules?.policies ?? []).map((p) => p.periodSeconds)) * 1000
    const now = this.#clock.now()
    const list = events.get(key) ?? []
    for (const e of list) if (e.at < now - longest) e.outdated = true
    const event = { change, at: now, outdated: false }
    const reuse = list.findIndex((e) => e.outdated)
    if (reuse >= 0) list[reuse] = event
    else list.push(event)
    events.set(key, list)
  }

  #stabilize(key: string, proposed: number): number {
    const now = this.#clock.now()
    const cutoff = now - this.downscaleStabilizationMs
    const list = this.#recommendations.get(key) ?? []
    let highest = proposed
    let old = -1
    list.forEach((r, i) => {
      if (r.at < cutoff) old = i
      else if (r.replicas > highest) highest = r.replicas
    })
    this.#remember(key, list, old, { replicas: proposed, at: now })
    return highest
  }

  /**
   * The replicas stay between the lowest recommendation of the scale-up window and the highest of
   * the scale-down window, moving from the current count only as far as both allow.
   */
  #stabilizeWithBehavior(
    a: NormalizeArgs,
    up: Readonly<HPAScalingRules>,
    down: Readonly<HPAScalingRules>,
  ): number {
    const now = this.#clock.now()
    const upWindow = (up.stabilizationWindowSeconds ?? 0) * 1000
    const downWindow = (down.stabilizationWindowSeconds ?? 0) * 1000
    const obsolete = now - Math.max(upWindow, downWindow)
    const list = this.#recommendations.get(a.key) ?? []
    let upward = a.proposed
    let downward = a.proposed
    let old = -1
    list.forEach((r, i) => {
      if (r.at > now - upWindow) upward = Math.min(upward, r.replicas)
      if (r.at > now - downWindow) downward = Math.max(downward, r.replicas)
      if (r.at < obsolete) old = i
    })
    this.#remember(a.key, list, old, { replicas: a.proposed, at: now })
    let recommendation = a.currentReplicas
    if (recommendation < upward) recommendation = upward
    if (recommendation > downward) recommendation = downward
    return recommendation
  }

  #remember(key: string, list: Recommendation[], old: number, r: Recommendation): void {
    if (old >= 0) list[old] = r
    else list.push(r)
    this.#recommendations.set(key, list)
  }

  #limitByRate(a: NormalizeArgs, up: Readonly<HPAScalingRules>, down: Readonly<HPAScalingRules>): Verdict {
    if (a.proposed > a.currentReplicas) {
      const limit = Math.max(a.currentReplicas, this.#scaleUpLimit(a.key, a.currentReplicas, up))
      const [max, verdict] = a.maxReplicas > limit ? [limit, scaleUpLimited] : [a.maxReplicas, tooMany]
      if (a.proposed > max) return { replicas: max, ...verdict }
    } else if (a.proposed < a.currentReplicas) {
      const limit = Math.min(a.currentReplicas, this.#scaleDownLimit(a.key, a.currentReplicas, down))
      const [min, verdict] = a.minReplicas < limit ? [limit, scaleDownLimited] : [a.minReplicas, tooFew]
      if (a.proposed < min) return { replicas: min, ...verdict }
    }
    return { replicas: a.proposed, ...withinRange }
  }

  /** The most replicas the scale-up policies allow now, counting the scale ups of each period. */
  #scaleUpLimit(key: string, current: number, rules: Readonly<HPAScalingRules>): number {
    if (rules.selectPolicy === 'Disabled') return current
    const pick = rules.selectPolicy === 'Min' ? Math.min : Math.max
    let result = rules.selectPolicy === 'Min' ? Infinity : -Infinity
    for (const p of rules.policies ?? []) {
      const start = this.#periodStart(key, current, p.periodSeconds)
      const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100))
      result = pick(result, proposed)
    }
    return result
  }

  /** The fewest replicas the scale-down policies allow now; Min selects the smallest change. */
  #scaleDownLimit(key: string, current: number, rules: Readonly<HPAScalingRules>): number {
    if (rules.selectPolicy === 'Disabled') return current
    const pick = rules.selectPolicy === 'Min' ? Math.max : Math.min
    let result = rules.selectPolicy === 'Min' ? -Infinity : Infinity
    for (const p of rules.policies ?? []) {
      const start = this.#periodStart(key, current, p.periodSeconds)
      const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100))
      result = pick(result, proposed)
    }
    return result
  }

  /** The replicas at the start of a policy's period: undo what was added and removed within it. */
  #periodStart(key: string, current: number, periodSeconds: number): number {
    const added = this.#changeInPeriod(this.#scaleUps.get(key), periodSeconds)
    const removed = this.#changeInPeriod(this.#scaleDowns.get(key), periodSeconds)
    return current - added + removed
  }

  #changeInPeriod(events: readonly ScaleEvent[] | undefined, periodSeconds: number): number {
    const cutoff = this.#clock.now() - periodSeconds * 1000
    let sum = 0
    for (const e of events ?? []) if (e.at > cutoff) sum += e.change
    return sum
  }
}
