import { conversionFor } from '../../api/conversion.ts'
import type {
  NamedRuleWithOperations,
  RuleWithOperations,
} from '../../api/generated/types/admissionregistration-v1.ts'
import type { LabelSelector as LabelSelectorObject } from '../../api/generated/types/meta-v1.ts'
import type { KubeObject, StoredObject } from '../../api/object.ts'
import { builtinResources, type ResourceInfo } from '../../api/resources.ts'
import { labelSelectorFromObject, type LabelSelector } from '../../api/selectors/label-selector.ts'
import type { AdmissionAttributes } from './admission.ts'

/**
 * Which requests an admission webhook or policy applies to, as Kubernetes decides it (the
 * webhook predicates in k8s.io/apiserver: rules, namespaceSelector, objectSelector, matchPolicy;
 * policies' matchResources reuse them and add resourceNames and excludeResourceRules).
 */

/** A resource of one group-version, with the kind its objects have there. */
export interface VersionedResource {
  readonly group: string
  readonly version: string
  readonly resource: string
  readonly kind: string
}

/** The resource a request is for and what it does, as rules see them. */
export interface RuleTarget {
  readonly operation: string
  readonly group: string
  readonly version: string
  readonly resource: string
  readonly subresource: string
  /** The request's namespace; a Namespace's own name for requests about a Namespace. */
  readonly namespace: string
  readonly name?: string
}

const namespacesResource = { group: '', version: 'v1', resource: 'namespaces' }

function isNamespaceResource(t: { group: string; version: string; resource: string }): boolean {
  return (
    t.group === namespacesResource.group &&
    t.version === namespacesResource.version &&
    t.resource === namespacesResource.resource
  )
}

/**
 * The namespace Kubernetes' admission attributes carry: for a request about a Namespace itself
 * it is that namespace's name (kube-apiserver sets it so; rules' scope and namespaceSelector rely
 * on it).
 */
export function requestNamespace(a: AdmissionAttributes): string {
  if (a.namespace === '' && a.group === '' && a.resource === 'namespaces') return a.name
  return a.namespace
}

export function ruleTargetOf(a: AdmissionAttributes, resource?: VersionedResource): RuleTarget {
  return {
    operation: a.operation,
    group: resource?.group ?? a.group,
    version: resource?.version ?? a.version,
    resource: resource?.resource ?? a.resource,
    subresource: a.subresource,
    namespace: requestNamespace(a),
    name: a.name,
  }
}

const exactOrWildcard = (items: readonly string[] | undefined, v: string) =>
  (items ?? []).some((i) => i === '*' || i === v)

/**
 * Whether a rule matches: operation, API group, version, resource (`pods`, `pods/status`,
 * `*`, `* /scale`, `pods/*`) and scope (Namespaced never matches a Namespace itself, Cluster
 * always does).
 */
export function ruleMatches(rule: RuleWithOperations | NamedRuleWithOperations, t: RuleTarget): boolean {
  const scope = rule.scope ?? '*'
  if (scope === 'Namespaced' && (isNamespaceResource(t) || t.namespace === '')) return false
  if (scope === 'Cluster' && !(isNamespaceResource(t) || t.namespace === '')) return false
  if (scope !== '*' && scope !== 'Namespaced' && scope !== 'Cluster') return false
  if (!exactOrWildcard(rule.operations, t.operation)) return false
  if (!exactOrWildcard(rule.apiGroups, t.group)) return false
  if (!exactOrWildcard(rule.apiVersions, t.version)) return false
  return (rule.resources ?? []).some((r) => {
    const slash = r.indexOf('/')
    const res = slash < 0 ? r : r.slice(0, slash)
    const sub = slash < 0 ? '' : r.slice(slash + 1)
    return (res === '*' || res === t.resource) && (sub === '*' || sub === t.subresource)
  })
}

/** A policy's rule, which may also name the objects it applies to (resourceNames). */
export function namedRuleMatches(rule: NamedRuleWithOperations, t: RuleTarget): boolean {
  if (!ruleMatches(rule, t)) return false
  const names = rule.resourceNames ?? []
  return names.length === 0 || names.includes(t.name ?? '')
}

/**
 * Webhooks and policies never see writes of their own configuration objects, so that a broken
 * webhook or policy can always be fixed or removed.
 */
export function isExemptAdmissionConfigurationResource(a: AdmissionAttributes): boolean {
  return (
    a.group === 'admissionregistration.k8s.io' &&
    (a.kind === 'ValidatingWebhookConfiguration' ||
      a.kind === 'MutatingWebhookConfiguration' ||
      a.kind === 'ValidatingAdmissionPolicy' ||
      a.kind === 'ValidatingAdmissionPolicyBinding' ||
      a.kind === 'MutatingAdmissionPolicy' ||
      a.kind === 'MutatingAdmissionPolicyBinding')
  )
}

/** A parsed selector, or the error that makes the configuration unusable. */
export type ParsedSelector = { selector: LabelSelector } | { error: string }

export function parseSelector(obj: LabelSelectorObject | undefined): ParsedSelector {
  try {
    return { selector: labelSelectorFromObject(obj) }
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) }
  }
}

/** objectSelector: the new object's labels or the old one's match (either will do). */
export function objectSelectorMatches(selector: LabelSelector, a: AdmissionAttributes): boolean {
  if (selector.empty) return true
  const matches = (o: KubeObject | undefined) => o !== undefined && selector.matches(o.metadata?.labels ?? {})
  return matches(a.object) || matches(a.oldObject)
}

/** Reads a namespace's labels: undefined when the namespace does not exist. */
export type NamespaceLabels = (
  name: string,
) => Readonly<Record<string, string>> | undefined | Promise<Readonly<Record<string, string>> | undefined>

export type NamespaceMatch = { matches: boolean } | { notFound: string }

/**
 * namespaceSelector: requests for cluster-scoped objects other than Namespaces always match; a
 * Namespace being created or updated is matched by its own new labels, anything else by the
 * labels of the namespace it is in (which must exist).
 */
export async function namespaceSelectorMatches(
  selector: LabelSelector,
  a: AdmissionAttributes,
  labelsOf: NamespaceLabels,
): Promise<NamespaceMatch> {
  const namespace = requestNamespace(a)
  const isNamespace = a.group === '' && a.resource === 'namespaces'
  if (namespace === '' && !isNamespace) return { matches: true }
  if (selector.empty) return { matches: true }
  if (isNamespace && a.subresource === '' && (a.operation === 'CREATE' || a.operation === 'UPDATE')) {
    return { matches: selector.matches(a.object?.metadata?.labels ?? {}) }
  }
  const labels = await labelsOf(namespace)
  if (labels === undefined) return { notFound: namespace }
  return { matches: selector.matches(labels) }
}

/**
 * The other group-versions serving the same objects as a resource (autoscaling/v1 and v2
 * HorizontalPodAutoscalers, core and events.k8s.io Events): matchPolicy Equivalent lets a rule
 * written for one match requests through another, and the object is converted for it.
 */
export function equivalentResources(group: string, version: string, resource: string): VersionedResource[] {
  const self = builtinResources.find(
    (r) => r.group === group && r.version === version && r.resource === resource,
  )
  if (!self) return []
  return builtinResources
    .filter(
      (r) =>
        r !== self && r.storage.group === self.storage.group && r.storage.resource === self.storage.resource,
    )
    .map((r) => ({ group: r.group, version: r.version, resource: r.resource, kind: r.kind }))
}

function infoOf(r: { group: string; version: string; resource: string }): ResourceInfo | undefined {
  return builtinResources.find(
    (i) => i.group === r.group && i.version === r.version && i.resource === r.resource,
  )
}

/**
 * An object of one served version of a resource as another served version of it sees it,
 * through the storage version; undefined when no conversion is known.
 */
export function convertBetweenVersions(
  from: { group: string; version: string; resource: string },
  to: { group: string; version: string; resource: string },
  obj: StoredObject,
): StoredObject | undefined {
  const a = infoOf(from)
  const b = infoOf(to)
  if (!a || !b) return undefined
  if (a.group === b.group && a.version === b.version) return obj
  const down = conversionFor(a, a.storage)
  const stored = down
    ? down.toStored(obj)
    : a.version === a.storage.version && a.group === a.storage.group
      ? obj
      : undefined
  if (!stored) return undefined
  const up = conversionFor(b, b.storage)
  if (up) return up.fromStored(stored)
  return b.version === b.storage.version && b.group === b.storage.group ? stored : undefined
}

/**
 * The resource a rule list matches a request as: the request's own, or (matchPolicy Equivalent)
 * another version of the same objects; undefined when no rule matches. Rules naming
 * resourceNames (policies) match only those objects.
 */
export function matchResource(
  rules: readonly NamedRuleWithOperations[],
  matchPolicy: string | undefined,
  a: AdmissionAttributes,
): VersionedResource | undefined {
  const own = ruleTargetOf(a)
  if (rules.some((r) => namedRuleMatches(r, own))) {
    return { group: a.group, version: a.version, resource: a.resource, kind: a.kind }
  }
  // Unset means Exact here: the API defaults it to Equivalent.
  if (matchPolicy !== 'Equivalent') return undefined
  const equivalents = equivalentResources(a.group, a.version, a.resource)
  for (const rule of rules) {
    for (const e of equivalents) if (namedRuleMatches(rule, ruleTargetOf(a, e))) return e
  }
  return undefined
}
