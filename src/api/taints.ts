import type { Taint, Toleration } from './generated/types/core-v1.ts'

/**
 * Whether a toleration tolerates a taint (Kubernetes' Toleration.ToleratesTaint): the effects
 * match (or the toleration names none), the keys match (or the toleration has no key and the
 * operator Exists, which tolerates everything), and for Equal the values match.
 */
export function tolerates(t: Readonly<Toleration>, taint: Readonly<Taint>): boolean {
  if (t.effect && t.effect !== taint.effect) return false
  if (t.key && t.key !== taint.key) return false
  if (!t.key && t.operator !== 'Exists') return false
  if ((t.operator ?? 'Equal') === 'Exists') return true
  return (t.value ?? '') === (taint.value ?? '')
}

/** The first of `taints` with one of `effects` that no toleration tolerates. */
export function untoleratedTaint(
  taints: readonly Readonly<Taint>[],
  tolerations: readonly Readonly<Toleration>[],
  effects: readonly string[],
): Readonly<Taint> | undefined {
  // A loop without closures: the scheduler asks this for hundreds of nodes per pod.
  for (const taint of taints) {
    if (!effects.includes(taint.effect)) continue
    let tolerated = false
    for (const t of tolerations) {
      if (tolerates(t, taint)) {
        tolerated = true
        break
      }
    }
    if (!tolerated) return taint
  }
  return undefined
}
