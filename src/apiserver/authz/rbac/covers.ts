import type { PolicyRule } from '../../../api/generated/types/rbac-v1.ts'
import { apiGroupAll, resourceAll, trimStars, verbAll } from './rules.ts'

/**
 * Whether one set of rules grants everything another grants: what RBAC's escalation check asks
 * before it lets someone write a Role or a binding ("you may only grant what you hold").
 *
 * The servant rules are broken down into atoms (one group, resource, verb and resource name each,
 * or one URL and verb); an atom is covered when a single owner rule covers it. What is left over
 * is returned, still as atoms.
 */
export function covers(
  ownerRules: readonly Readonly<PolicyRule>[],
  servantRules: readonly Readonly<PolicyRule>[],
): { covered: boolean; missing: PolicyRule[] } {
  const missing: PolicyRule[] = []
  for (const servant of servantRules) {
    for (const atom of breakdownRule(servant)) {
      if (!ownerRules.some((owner) => ruleCovers(owner, atom))) missing.push(atom)
    }
  }
  return { covered: missing.length === 0, missing }
}

/**
 * A rule as the equivalent list of rules with at most one verb, resource, resource name (for
 * resources) or URL (for non-resource URLs) each.
 */
export function breakdownRule(rule: Readonly<PolicyRule>): PolicyRule[] {
  const out: PolicyRule[] = []
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        const names = rule.resourceNames ?? []
        if (names.length > 0) {
          for (const name of names) {
            out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] })
          }
        } else {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] })
        }
      }
    }
  }
  // Non-resource URLs combine with verbs only.
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] })
  }
  return out
}

/** Whether `owner` (any shape) covers `atom` (at most one verb, resource, name or URL). */
export function ruleCovers(owner: Readonly<PolicyRule>, atom: Readonly<PolicyRule>): boolean {
  const verbs = owner.verbs.includes(verbAll) || hasAll(owner.verbs, atom.verbs)
  const groups =
    (owner.apiGroups ?? []).includes(apiGroupAll) || hasAll(owner.apiGroups ?? [], atom.apiGroups ?? [])
  const resources = resourcesCoverAll(owner.resources ?? [], atom.resources ?? [])
  const urls = urlsCoverAll(owner.nonResourceURLs ?? [], atom.nonResourceURLs ?? [])
  const ownerNames = owner.resourceNames ?? []
  const atomNames = atom.resourceNames ?? []
  const names =
    atomNames.length === 0
      ? ownerNames.length === 0
      : ownerNames.length === 0 || hasAll(ownerNames, atomNames)
  return verbs && groups && resources && names && urls
}

function hasAll(set: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every((w) => set.includes(w))
}

function resourcesCoverAll(owned: readonly string[], wanted: readonly string[]): boolean {
  if (owned.includes(resourceAll) || hasAll(owned, wanted)) return true
  for (const path of wanted) {
    if (owned.includes(path)) continue
    // A subresource is also covered by `*/subresource`.
    const slash = path.indexOf('/')
    if (slash < 0) return false
    if (!owned.includes(`*/${path.slice(slash + 1)}`)) return false
  }
  return true
}

function urlsCoverAll(owned: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every((path) => owned.some((o) => nonResourceURLCovers(o, path)))
}

export function nonResourceURLCovers(owner: string, path: string): boolean {
  if (owner === path) return true
  return owner.endsWith('*') && path.startsWith(trimStars(owner))
}

/**
 * Merges rules that name one group and one resource and nothing but verbs into one rule per
 * group-resource (a fast pass that suits the atoms `covers` returns), keeping the others as they
 * are. The merged rules come after the others, in the order their group-resource first appeared.
 */
export function compactRules(rules: readonly Readonly<PolicyRule>[]): PolicyRule[] {
  const out: PolicyRule[] = []
  const simple = new Map<string, PolicyRule>()
  for (const rule of rules) {
    const key = simpleResourceKey(rule)
    if (key === undefined) {
      out.push(structuredClone(rule))
      continue
    }
    const existing = simple.get(key)
    if (existing) existing.verbs.push(...rule.verbs)
    else simple.set(key, structuredClone(rule))
  }
  out.push(...simple.values())
  return out
}

/** `group\0resource` for a rule of one group, one resource and verbs only. */
function simpleResourceKey(rule: Readonly<PolicyRule>): string | undefined {
  if ((rule.resourceNames ?? []).length > 0 || (rule.nonResourceURLs ?? []).length > 0) return undefined
  const groups = rule.apiGroups ?? []
  const resources = rule.resources ?? []
  if (groups.length !== 1 || resources.length !== 1) return undefined
  for (const k of Object.keys(rule)) {
    if (
      k !== 'apiGroups' &&
      k !== 'resources' &&
      k !== 'verbs' &&
      k !== 'resourceNames' &&
      k !== 'nonResourceURLs'
    )
      return undefined
  }
  return `${groups[0]}\0${resources[0]}`
}

/**
 * A rule as Kubernetes prints it in escalation errors:
 * `{APIGroups:[""], Resources:["pods"], Verbs:["create" "delete"]}` (empty fields left out).
 */
export function compactString(rule: Readonly<PolicyRule>): string {
  const parts: string[] = []
  const field = (name: string, values: readonly string[] | undefined) => {
    if (values && values.length > 0) parts.push(`${name}:${goQuoteList(values)}`)
  }
  field('APIGroups', rule.apiGroups)
  field('Resources', rule.resources)
  field('NonResourceURLs', rule.nonResourceURLs)
  field('ResourceNames', rule.resourceNames)
  field('Verbs', rule.verbs)
  return `{${parts.join(', ')}}`
}

/** A string list as Go's %q prints it: `["a" "b"]`. */
export function goQuoteList(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`
}
