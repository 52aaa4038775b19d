import type { PolicyRule, RoleRef } from '../../../api/generated/types/rbac-v1.ts'
import type { UserInfo } from '../../authn/authenticator.ts'
import type { Authorizer } from '../authorizer.ts'
import { compactRules, compactString, covers, goQuoteList } from './covers.ts'
import { aggregateMessage, type PolicyCache } from './policy-cache.ts'

/**
 * RBAC's privilege-escalation prevention (kube-apiserver's rbac registry "policybased" storage):
 * a user may write a Role or ClusterRole only with permissions they already hold, and bind a role
 * only if they hold its permissions, unless they are a member of system:masters, or may
 * `escalate` that role resource (roles) or `bind` that role (bindings).
 */

/** Always allowed: system:masters, which the apiserver itself uses. */
export function escalationAllowed(user: UserInfo): boolean {
  return user.groups.includes('system:masters')
}

/** Whether the user may `escalate` roles or clusterroles (named `name`, '' on create) in the namespace. */
export async function roleEscalationAuthorized(
  authorizer: Authorizer,
  o: { user: UserInfo; resource: 'roles' | 'clusterroles'; namespace: string; name: string },
): Promise<boolean> {
  const d = await authorizer.authorize({
    user: o.user,
    resourceRequest: true,
    verb: 'escalate',
    apiGroup: 'rbac.authorization.k8s.io',
    apiVersion: '*',
    resource: o.resource,
    subresource: '',
    namespace: o.namespace,
    name: o.name,
  })
  return d.decision === 'allow'
}

/**
 * Whether the user may `bind` the role a binding refers to, in the binding's namespace ('' for a
 * ClusterRoleBinding): this lets someone hand out a ClusterRole they do not hold themselves.
 */
export async function bindingAuthorized(
  authorizer: Authorizer,
  o: { user: UserInfo; roleRef: Readonly<RoleRef>; namespace: string },
): Promise<boolean> {
  const resource =
    o.roleRef.kind === 'ClusterRole' ? 'clusterroles' : o.roleRef.kind === 'Role' ? 'roles' : undefined
  if (!resource) return false
  const d = await authorizer.authorize({
    user: o.user,
    resourceRequest: true,
    verb: 'bind',
    apiGroup: o.roleRef.apiGroup ?? '',
    apiVersion: '*',
    resource,
    subresource: '',
    namespace: o.namespace,
    name: o.roleRef.name,
  })
  return d.decision === 'allow'
}

/**
 * undefined when the user's rules in the namespace ('' for cluster-wide) cover `rules`; otherwise
 * the reason, as Kubernetes words it:
 *
 *   user "alice" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:
 *   {APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}
 *
 * (the missing permissions compacted per group and resource, sorted, one per line; resolution
 * errors of the user's own bindings are added at the end).
 */
export function escalationError(
  policy: PolicyCache,
  o: { user: UserInfo; namespace: string; rules: readonly Readonly<PolicyRule>[] },
): string | undefined {
  const own = policy.resolve(o.user, o.namespace)
  const { covered, missing } = covers(
    own.rules.map((r) => r.rule),
    o.rules,
  )
  if (covered) return undefined
  const lines = [...new Set(compactRules(missing).map(compactString))].sort()
  let msg = `user ${JSON.stringify(o.user.name)} (groups=${goQuoteList(o.user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`
  if (own.errors.length > 0) msg += `; resolution errors: [${aggregateMessage(own.errors)}]`
  return msg
}

/** The rules `cluster-admin` holds: what it takes to set an aggregationRule. */
export const fullAuthority: readonly PolicyRule[] = [
  { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
  { nonResourceURLs: ['*'], verbs: ['*'] },
]
