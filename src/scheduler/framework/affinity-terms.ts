import type { Pod, PodAffinityTerm, WeightedPodAffinityTerm } from '../../api/generated/types/core-v1.ts'
import type { LabelSelector as LabelSelectorObject } from '../../api/generated/types/meta-v1.ts'
import { labelSelectorFromObject, type LabelSelector } from '../../api/selectors/label-selector.ts'

/** A PodAffinityTerm with its selectors parsed (Kubernetes' framework.AffinityTerm). */
export interface AffinityTerm {
  /** Undefined when the term has no labelSelector: it then matches no pod. */
  readonly selector: LabelSelector | undefined
  /** The namespaces listed, or the pod's own when neither namespaces nor namespaceSelector is set. */
  readonly namespaces: ReadonlySet<string>
  /** Undefined when unset: then only `namespaces` count. An empty selector means every namespace. */
  readonly namespaceSelector: LabelSelector | undefined
  readonly topologyKey: string
  /**
   * The term as one string: terms with equal keys match the same pods, so a cycle asks each
   * distinct term once, however many existing pods carry a copy of it.
   */
  readonly key: string
}

export interface WeightedAffinityTerm extends AffinityTerm {
  readonly weight: number
}

/** A pod's pod affinity and anti-affinity terms, parsed. */
export interface PodAffinityTerms {
  readonly requiredAffinity: readonly AffinityTerm[]
  readonly requiredAntiAffinity: readonly AffinityTerm[]
  readonly preferredAffinity: readonly WeightedAffinityTerm[]
  readonly preferredAntiAffinity: readonly WeightedAffinityTerm[]
  /** Why some terms did not parse (those groups are then empty). */
  readonly error?: string
}

export const noTerms: PodAffinityTerms = {
  requiredAffinity: [],
  requiredAntiAffinity: [],
  preferredAffinity: [],
  preferredAntiAffinity: [],
}

/**
 * Parsed terms by pod object. Pods from informers are replaced, never changed, so a pod object's
 * terms never change; the entry goes with the object.
 */
const parsed = new WeakMap<Readonly<Pod>, PodAffinityTerms>()

/** The pod's parsed affinity terms, parsed on first use and remembered with the pod object. */
export function podAffinityTerms(pod: Readonly<Pod>): PodAffinityTerms {
  const a = pod.spec?.affinity
  if (!a || (!a.podAffinity && !a.podAntiAffinity)) return noTerms
  let terms = parsed.get(pod)
  if (!terms) {
    terms = parseAffinityTerms(pod)
    parsed.set(pod, terms)
  }
  return terms
}

function parseAffinityTerms(pod: Readonly<Pod>): PodAffinityTerms {
  const a = pod.spec?.affinity
  const errors: string[] = []
  const group = <T, R>(name: string, list: readonly T[] | undefined, parse: (t: T) => R): R[] => {
    try {
      return (list ?? []).map(parse)
    } catch (e) {
      errors.push(`${name}: ${e instanceof Error ? e.message : String(e)}`)
      return []
    }
  }
  const weighted = (w: WeightedPodAffinityTerm): WeightedAffinityTerm => ({
    ...affinityTerm(pod, w.podAffinityTerm),
    weight: w.weight,
  })
  const terms: PodAffinityTerms = {
    requiredAffinity: group(
      'requiredAffinityTerms',
      a?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
      (t) => affinityTerm(pod, t),
    ),
    requiredAntiAffinity: group(
      'requiredAntiAffinityTerms',
      a?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
      (t) => affinityTerm(pod, t),
    ),
    preferredAffinity: group(
      'preferredAffinityTerms',
      a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution,
      weighted,
    ),
    preferredAntiAffinity: group(
      'preferredAntiAffinityTerms',
      a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution,
      weighted,
    ),
  }
  return errors.length > 0 ? { ...terms, error: errors.join('; ') } : terms
}

function affinityTerm(pod: Readonly<Pod>, t: Readonly<PodAffinityTerm>): AffinityTerm {
  const namespaces =
    (t.namespaces?.length ?? 0) === 0 && !t.namespaceSelector
      ? [pod.metadata?.namespace ?? '']
      : (t.namespaces ?? [])
  const selector = t.labelSelector
    ? labelSelectorFromObject(withLabelKeys(t, pod.metadata?.labels ?? {}))
    : undefined
  const namespaceSelector = t.namespaceSelector ? labelSelectorFromObject(t.namespaceSelector) : undefined
  return {
    selector,
    namespaces: new Set(namespaces),
    namespaceSelector,
    topologyKey: t.topologyKey,
    key: JSON.stringify([
      t.topologyKey,
      [...new Set(namespaces)].sort(),
      namespaceSelector?.toString() ?? null,
      selector?.toString() ?? null,
    ]),
  }
}

/**
 * The term's labelSelector with matchLabelKeys and mismatchLabelKeys merged in from the pod's own
 * labels (`key in (value)` and `key notin (value)`; keys the pod lacks are left out). Kubernetes
 * merges them when the pod is created (the MatchLabelKeysInPodAffinity feature); doing it here
 * gives the same selector, and merging twice only repeats a requirement.
 */
function withLabelKeys(
  t: Readonly<PodAffinityTerm>,
  labels: Readonly<Record<string, string>>,
): LabelSelectorObject {
  const selector = t.labelSelector ?? {}
  if (!t.matchLabelKeys?.length && !t.mismatchLabelKeys?.length) return selector
  const extra: NonNullable<LabelSelectorObject['matchExpressions']> = []
  for (const key of t.matchLabelKeys ?? []) {
    const v = labels[key]
    if (Object.hasOwn(labels, key) && v !== undefined) extra.push({ key, operator: 'In', values: [v] })
  }
  for (const key of t.mismatchLabelKeys ?? []) {
    const v = labels[key]
    if (Object.hasOwn(labels, key) && v !== undefined) extra.push({ key, operator: 'NotIn', values: [v] })
  }
  return { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), ...extra] }
}

/**
 * The pod's namespace and labels as one string: pods with equal keys match the same terms (a
 * term's match depends on nothing else), so a cycle asks each term once per distinct key.
 */
export function labelsKey(pod: Readonly<Pod>): string {
  const labels = pod.metadata?.labels
  const keys = labels ? Object.keys(labels).sort() : []
  let out = pod.metadata?.namespace ?? ''
  for (const k of keys) out += `\n${k}=${labels?.[k] ?? ''}`
  return out
}
