import type { PolicyRule } from '../../../api/generated/types/rbac-v1.ts'
import type { Attributes } from '../authorizer.ts'

/**
 * How one RBAC PolicyRule matches a request, as Kubernetes evaluates it:
 *
 * - verbs: the request's verb, or `*`;
 * - apiGroups: the request's group ('' is the core group), or `*`;
 * - resources: `*`; the resource; `resource/subresource` for a subresource; or `*\/subresource`
 *   for that subresource of any resource (`*\/scale`). A plain `pods` does not cover `pods/log`;
 * - resourceNames: empty allows every name, otherwise the request's name must be listed (so a
 *   rule with names never allows list, watch, create or deletecollection, which have none);
 * - nonResourceURLs: the path, `*`, or a prefix ending in `*` (`/apis/*` covers `/apis/v1`, not `/apis`).
 */

export const verbAll = '*'
export const apiGroupAll = '*'
export const resourceAll = '*'
export const nonResourceAll = '*'

export function verbMatches(rule: Readonly<PolicyRule>, verb: string): boolean {
  const verbs = rule.verbs
  for (let i = 0; i < verbs.length; i++) {
    const v = verbs[i]
    if (v === verbAll || v === verb) return true
  }
  return false
}

export function apiGroupMatches(rule: Readonly<PolicyRule>, group: string): boolean {
  const groups = rule.apiGroups
  if (!groups) return false
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]
    if (g === apiGroupAll || g === group) return true
  }
  return false
}

/** `combined` is `resource` or `resource/subresource`. */
export function resourceMatches(rule: Readonly<PolicyRule>, combined: string, subresource: string): boolean {
  const resources = rule.resources
  if (!resources) return false
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i] as string
    if (r === resourceAll || r === combined) return true
    // `*/subresource`: that subresource of every resource.
    if (
      subresource !== '' &&
      r.length === subresource.length + 2 &&
      r.charCodeAt(0) === 42 /* * */ &&
      r.charCodeAt(1) === 47 /* / */ &&
      r.endsWith(subresource)
    ) {
      return true
    }
  }
  return false
}

export function resourceNameMatches(rule: Readonly<PolicyRule>, name: string): boolean {
  const names = rule.resourceNames
  if (!names || names.length === 0) return true
  return names.includes(name)
}

export function nonResourceURLMatches(rule: Readonly<PolicyRule>, path: string): boolean {
  const urls = rule.nonResourceURLs
  if (!urls) return false
  for (let i = 0; i < urls.length; i++) {
    const u = urls[i] as string
    if (u === nonResourceAll || u === path) return true
    if (u.endsWith('*') && hasStarredPrefix(path, u)) return true
  }
  return false
}

/** Whether the rule allows the request. */
export function ruleAllows(a: Attributes, rule: Readonly<PolicyRule>): boolean {
  if (!a.resourceRequest) return verbMatches(rule, a.verb) && nonResourceURLMatches(rule, a.path)
  const combined = a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`
  return resourceRuleAllows(rule, a.verb, a.apiGroup, combined, a.subresource, a.name)
}

/** ruleAllows for a resource request whose `resource/subresource` is already joined. */
export function resourceRuleAllows(
  rule: Readonly<PolicyRule>,
  verb: string,
  group: string,
  combined: string,
  subresource: string,
  name: string,
): boolean {
  return (
    verbMatches(rule, verb) &&
    apiGroupMatches(rule, group) &&
    resourceMatches(rule, combined, subresource) &&
    resourceNameMatches(rule, name)
  )
}

/** Whether `path` starts with `pattern` less its trailing stars, without making that string. */
function hasStarredPrefix(path: string, pattern: string): boolean {
  let end = pattern.length
  while (end > 0 && pattern.charCodeAt(end - 1) === 42) end--
  if (path.length < end) return false
  for (let i = 0; i < end; i++) if (path.charCodeAt(i) !== pattern.charCodeAt(i)) return false
  return true
}

/** `/apis/*` → `/apis/` (every trailing star goes, as Go's strings.TrimRight does). */
export function trimStars(s: string): string {
  let end = s.length
  while (end > 0 && s.charCodeAt(end - 1) === 42) end--
  return s.slice(0, end)
}
