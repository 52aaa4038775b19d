import { deepEqual, type StoredObject } from '../../../api/object.ts'
import type { ClusterRole, PolicyRule, RoleRef } from '../../../api/generated/types/rbac-v1.ts'
import type { Authorizer } from '../../authz/authorizer.ts'
import {
  bindingAuthorized,
  escalationAllowed,
  escalationError,
  fullAuthority,
  roleEscalationAuthorized,
} from '../../authz/rbac/escalation.ts'
import { RoleRefError, type PolicyCache } from '../../authz/rbac/policy-cache.ts'
import { forbidden, internalError, notFound } from '../../errors.ts'
import type { ResourceStrategy, StrategyContext } from '../strategy.ts'

/** What the RBAC strategies check writes against: the apiserver's authorizer and RBAC's rules. */
export interface RbacRegistryChecks {
  readonly authorizer: Authorizer
  readonly policy: PolicyCache
}

export type RbacResource = 'roles' | 'clusterroles' | 'rolebindings' | 'clusterrolebindings'

const group = 'rbac.authorization.k8s.io'

/**
 * Roles, ClusterRoles, RoleBindings and ClusterRoleBindings: stored as sent, creatable by PUT,
 * and guarded against privilege escalation (see authz/rbac/escalation.ts) before anything else
 * is checked, as kube-apiserver's RBAC storage does:
 *
 * - a Role or ClusterRole may hold only rules its writer holds (in the role's namespace; cluster-
 *   wide for a ClusterRole), unless the writer may `escalate` it; an aggregationRule takes
 *   cluster-admin's rules;
 * - a binding may refer only to a role whose rules its writer holds (in the binding's namespace;
 *   cluster-wide for a ClusterRoleBinding), unless the writer may `bind` that role;
 * - an update that changes only finalizers and ownerReferences (the garbage collector's) passes.
 *
 * Members of system:masters pass at once.
 */
export function rbacStrategy(resource: RbacResource, checks: RbacRegistryChecks): ResourceStrategy {
  const check = resource === 'roles' || resource === 'clusterroles' ? checkRole : checkBinding
  return {
    allowCreateOnUpdate: true,
    prepareForCreate: (obj, ctx) => check(checks, resource, obj, undefined, ctx),
    prepareForUpdate: (next, prev, ctx) => check(checks, resource, next, prev, ctx),
  }
}

async function checkRole(
  c: RbacRegistryChecks,
  resource: RbacResource,
  obj: StoredObject,
  prev: Readonly<StoredObject> | undefined,
  ctx: StrategyContext,
): Promise<void> {
  if (escalationAllowed(ctx.user)) return
  const name = obj.metadata.name ?? ''
  const roleResource = resource === 'roles' ? 'roles' : 'clusterroles'
  const namespace = resource === 'roles' ? ctx.namespace : ''
  // The name the request's path carries: none on create (POST to the collection).
  const pathName = prev ? name : ''
  if (
    await roleEscalationAuthorized(c.authorizer, {
      user: ctx.user,
      resource: roleResource,
      namespace,
      name: pathName,
    })
  )
    return
  if (prev && onlyGarbageCollectorFields(obj, prev)) return
  const rules = (obj.rules ?? []) as PolicyRule[]
  const err = escalationError(c.policy, { user: ctx.user, namespace, rules })
  if (err) throw forbidden({ group, resource }, name, err)
  // An aggregationRule can gather anything (and setting or changing one can keep rules from
  // being tightened): it takes * on everything.
  if (resource === 'clusterroles' && (hasAggregationRule(obj) || (prev && hasAggregationRule(prev)))) {
    if (escalationError(c.policy, { user: ctx.user, namespace: '', rules: fullAuthority })) {
      throw forbidden(
        { group, resource },
        name,
        'must have cluster-admin privileges to use the aggregationRule',
      )
    }
  }
}

async function checkBinding(
  c: RbacRegistryChecks,
  resource: RbacResource,
  obj: StoredObject,
  prev: Readonly<StoredObject> | undefined,
  ctx: StrategyContext,
): Promise<void> {
  if (escalationAllowed(ctx.user)) return
  if (prev && onlyGarbageCollectorFields(obj, prev)) return
  const namespace = resource === 'rolebindings' ? ctx.namespace : ''
  const roleRef = (obj.roleRef ?? { kind: '', name: '' }) as RoleRef
  if (await bindingAuthorized(c.authorizer, { user: ctx.user, roleRef, namespace })) return
  let rules: readonly Readonly<PolicyRule>[]
  try {
    rules = c.policy.roleRefRules(roleRef, namespace)
  } catch (err) {
    if (!(err instanceof RoleRefError)) throw err
    if (err.code === 'NotFound') throw notFound({ group, resource: err.resource }, err.roleName)
    throw internalError(err)
  }
  const err = escalationError(c.policy, { user: ctx.user, namespace, rules })
  if (err) throw forbidden({ group, resource }, obj.metadata.name ?? '', err)
}

function hasAggregationRule(obj: Readonly<StoredObject>): boolean {
  const rule = (obj as Readonly<ClusterRole>).aggregationRule
  return (rule?.clusterRoleSelectors ?? []).length > 0
}

/** Whether only finalizers and ownerReferences differ (what the garbage collector writes). */
function onlyGarbageCollectorFields(next: Readonly<StoredObject>, prev: Readonly<StoredObject>): boolean {
  const strip = (o: Readonly<StoredObject>) => {
    const {
      ownerReferences: _o,
      finalizers: _f,
      managedFields: _m,
      resourceVersion: _r,
      ...metadata
    } = o.metadata
    return { ...o, metadata }
  }
  return deepEqual(strip(next), strip(prev))
}
