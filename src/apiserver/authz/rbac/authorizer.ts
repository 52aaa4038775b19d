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
import type { PolicyCache } from './policy-cache.ts'
import { nonResourceURLMatches, resourceRuleAllows, verbMatches } from './rules.ts'

/**
 * The RBAC authorizer (kube-apiserver's --authorization-mode=RBAC): a request is allowed when a
 * rule of a role bound to the user allows it; otherwise RBAC has no opinion (it never denies), and
 * says why only when a binding could not be resolved (`RBAC: role.rbac.authorization.k8s.io "x"
 * not found`).
 *
 * Per request it costs one memo lookup (the user's rules in the namespace, resolved once per RBAC
 * change) and a scan of those rules; nothing is allocated unless the request names a subresource (the
 * decisions are made once, with the resolved rules).
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
      const combined = a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i] as (typeof rules)[number]
        if (resourceRuleAllows(r.rule, a.verb, a.apiGroup, combined, a.subresource, a.name)) {
          return r.allow
        }
      }
    } else {
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i] as (typeof rules)[number]
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
