import type { UserInfo } from '../../authn/authenticator.ts'
import type {
  Attributes,
  Authorizer,
  Decision,
  NonResourceRuleInfo,
  ResourceRuleInfo,
  RuleResolver,
  SubjectRules,
} from '../authorizer.ts'
import type { AppliedRule, PolicyCache, ResolvedRules } from './policy-cache.ts'
import {
  apiGroupMatches,
  nonResourceURLMatches,
  resourceMatches,
  resourceNameMatches,
  verbMatches,
} from './rules.ts'

/**
 * The RBAC authorizer (kube-apiserver's --authorization-mode=RBAC): a request is allowed when a
 * rule of a role bound to the user allows it; otherwise RBAC has no opinion (it never denies), and
 * says why only when a binding could not be resolved (`RBAC: role.rbac.authorization.k8s.io "x"
 * not found`).
 *
 * Per request it costs two memo lookups (the user's rules in the namespace, resolved once per RBAC
 * change, and among them those that name the request's resource) and a check of those few rules;
 * nothing is allocated (the decisions are made once, with the resolved rules).
 */
export class RbacAuthorizer implements Authorizer, RuleResolver {
  readonly #policy: PolicyCache

  constructor(policy: PolicyCache) {
    this.#policy = policy
  }

  authorize(a: Attributes): Decision {
    const resolved = this.#policy.resolve(a.user, a.resourceRequest ? a.namespace : '')
    const rules = resolved.rules
    if (a.resourceRequest) {
      const candidates = candidatesFor(resolved, a.resource, a.subresource)
      for (let i = 0; i < candidates.length; i++) {
        const r = candidates[i] as AppliedRule
        const rule = r.rule
        if (
          verbMatches(rule, a.verb) &&
          apiGroupMatches(rule, a.apiGroup) &&
          resourceNameMatches(rule, a.name)
        ) {
          return r.allow
        }
      }
    } else {
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i] as AppliedRule
        if (verbMatches(r.rule, a.verb) && nonResourceURLMatches(r.rule, a.path)) {
          return r.allow
        }
      }
    }
    return resolved.noOpinion
  }

  /**
   * The user's rules in the namespace, for SelfSubjectRulesReview: a rule with resources is a
   * resource rule, a rule with URLs a non-resource rule (a rule with both is both).
   */
  rulesFor(user: UserInfo, namespace: string): SubjectRules {
    const resolved = this.#policy.resolve(user, namespace)
    const resourceRules: ResourceRuleInfo[] = []
    const nonResourceRules: NonResourceRuleInfo[] = []
    for (const { rule } of resolved.rules) {
      if ((rule.resources ?? []).length > 0) {
        resourceRules.push({
          verbs: rule.verbs,
          apiGroups: rule.apiGroups ?? [],
          resources: rule.resources ?? [],
          resourceNames: rule.resourceNames ?? [],
        })
      }
      if ((rule.nonResourceURLs ?? []).length > 0) {
        nonResourceRules.push({ verbs: rule.verbs, nonResourceURLs: rule.nonResourceURLs ?? [] })
      }
    }
    return { resourceRules, nonResourceRules, incomplete: false, errors: resolved.errors }
  }
}

/** Resources a user's resolved rules remember candidates for; past that, requests scan every rule. */
const maxRememberedResources = 256

/** The user's rules that name this resource/subresource (or `*`, or `*\/subresource`), in order. */
function candidatesFor(
  resolved: ResolvedRules,
  resource: string,
  subresource: string,
): readonly AppliedRule[] {
  let bySubresource = resolved.byResource.get(resource)
  let candidates = bySubresource?.get(subresource)
  if (candidates) return candidates
  const combined = subresource === '' ? resource : `${resource}/${subresource}`
  candidates = resolved.rules.filter((r) => resourceMatches(r.rule, combined, subresource))
  if (!bySubresource) {
    if (resolved.byResource.size >= maxRememberedResources) return candidates
    resolved.byResource.set(resource, (bySubresource = new Map<string, readonly AppliedRule[]>()))
  }
  if (bySubresource.size < maxRememberedResources) bySubresource.set(subresource, candidates)
  return candidates
}
