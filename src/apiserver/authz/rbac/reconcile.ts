import type { Logger } from 'pino'
import type { LabelSelector } from '../../../api/generated/types/meta-v1.ts'
import type { ClusterRole, PolicyRule, RoleBinding, Subject } from '../../../api/generated/types/rbac-v1.ts'
import { deepEqual, type StoredObject } from '../../../api/object.ts'
import type { UserInfo } from '../../authn/authenticator.ts'
import type { EndpointRegistry } from '../../endpoint.ts'
import { ApiError } from '../../errors.ts'
import type { RegistryStore } from '../../registry/store.ts'
import {
  clusterRoleBindings,
  clusterRoles,
  namespaceRoleBindings,
  namespaceRoles,
} from './bootstrap-policy.ts'
import { covers } from './covers.ts'
import { autoupdateAnnotation } from './policy-rules.ts'

/**
 * Puts the default RBAC policy in place at apiserver start (kube-apiserver's rbac/bootstrap-roles
 * post-start hook), the way `kubectl auth reconcile` would without removing anything:
 *
 * - a missing role or binding is created as the policy has it;
 * - an existing one keeps everything it has, and gets what the policy adds: missing labels and
 *   annotations, missing rules (as the atoms `covers` finds missing), missing aggregation
 *   selectors, missing subjects; a binding whose roleRef changed is deleted and made again;
 * - an object annotated rbac.authorization.kubernetes.io/autoupdate=false is left as it is.
 */

export type ReconcileOperation = 'none' | 'update' | 'recreate'

/** What reconciling one role (Role or ClusterRole) against the policy's comes to. */
export interface RoleReconciliation {
  readonly operation: ReconcileOperation
  readonly protected: boolean
  readonly role: StoredObject
  readonly missingRules: readonly PolicyRule[]
}

export function reconcileRole(
  existing: Readonly<StoredObject>,
  expected: Readonly<StoredObject>,
): RoleReconciliation {
  const role = structuredClone(existing) as StoredObject
  let operation: ReconcileOperation = 'none'
  const merged = mergeMetadata(role, expected)
  if (merged) operation = 'update'
  const existingRules = (existing.rules ?? []) as PolicyRule[]
  const { missing } = covers(existingRules, (expected.rules ?? []) as PolicyRule[])
  if (missing.length > 0) {
    role.rules = [...existingRules, ...missing]
    operation = 'update'
  }
  const expectedAgg = (expected as ClusterRole).aggregationRule
  const existingAgg = (existing as ClusterRole).aggregationRule
  if (!expectedAgg && existingAgg) {
    // The policy no longer aggregates this role.
    delete role.aggregationRule
    operation = 'update'
  } else if (expectedAgg) {
    const have = existingAgg?.clusterRoleSelectors ?? []
    const add = (expectedAgg.clusterRoleSelectors ?? []).filter(
      (s: LabelSelector) => !have.some((h) => deepEqual(h, s)),
    )
    if (add.length > 0) {
      role.aggregationRule = { clusterRoleSelectors: [...have, ...add] }
      operation = 'update'
    }
  }
  return { operation, protected: isProtected(existing), role, missingRules: missing }
}

/** What reconciling one binding (RoleBinding or ClusterRoleBinding) comes to. */
export interface BindingReconciliation {
  readonly operation: ReconcileOperation
  readonly protected: boolean
  readonly binding: StoredObject
  readonly missingSubjects: readonly Subject[]
}

export function reconcileBinding(
  existing: Readonly<StoredObject>,
  expected: Readonly<StoredObject>,
): BindingReconciliation {
  if (!deepEqual(existing.roleRef, expected.roleRef)) {
    // A roleRef cannot change: the binding is made again as the policy has it.
    return {
      operation: 'recreate',
      protected: isProtected(existing),
      binding: structuredClone(expected),
      missingSubjects: [],
    }
  }
  const binding = structuredClone(existing) as StoredObject
  let operation: ReconcileOperation = mergeMetadata(binding, expected) ? 'update' : 'none'
  const have = (existing.subjects as RoleBinding['subjects']) ?? []
  const missing = ((expected.subjects as RoleBinding['subjects']) ?? []).filter(
    (s) => !have.some((h) => sameSubject(h, s)),
  )
  if (missing.length > 0) {
    binding.subjects = [...have, ...missing]
    operation = 'update'
  }
  return { operation, protected: isProtected(existing), binding, missingSubjects: missing }
}

function sameSubject(a: Readonly<Subject>, b: Readonly<Subject>): boolean {
  return (
    a.kind === b.kind &&
    a.name === b.name &&
    (a.namespace ?? '') === (b.namespace ?? '') &&
    (a.apiGroup ?? '') === (b.apiGroup ?? '')
  )
}

function isProtected(o: Readonly<StoredObject>): boolean {
  return o.metadata.annotations?.[autoupdateAnnotation] === 'false'
}

/** Adds the expected labels and annotations the object lacks (its own values win); true if any. */
function mergeMetadata(obj: StoredObject, expected: Readonly<StoredObject>): boolean {
  let changed = false
  for (const field of ['labels', 'annotations'] as const) {
    const want = expected.metadata[field] ?? {}
    const have = { ...(obj.metadata[field] ?? {}) }
    for (const [k, v] of Object.entries(want)) {
      if (!(k in have)) {
        have[k] = v
        changed = true
      }
    }
    if (Object.keys(have).length > 0) obj.metadata[field] = have
  }
  return changed
}

/** Creates and reconciles every object of the default policy. */
export async function reconcileBootstrapPolicy(o: {
  endpoints: EndpointRegistry
  user: UserInfo
  log: Logger
}): Promise<void> {
  const store = (resource: string): RegistryStore => {
    const s = o.endpoints.lookup('rbac.authorization.k8s.io', 'v1', resource)?.store
    if (!s) throw new Error(`bootstrap: no store for rbac.authorization.k8s.io/v1 ${resource}`)
    return s
  }
  const roles = async (resource: string, objects: readonly StoredObject[]) => {
    const s = store(resource)
    await Promise.all(objects.map((obj) => ensure(s, obj, 'role', o)))
  }
  const bindings = async (resource: string, objects: readonly StoredObject[]) => {
    const s = store(resource)
    await Promise.all(objects.map((obj) => ensure(s, obj, 'binding', o)))
  }
  // Roles first, so that no binding refers to a role that is not there yet.
  await roles('clusterroles', clusterRoles() as StoredObject[])
  await roles('roles', namespaceRoles() as StoredObject[])
  await bindings('clusterrolebindings', clusterRoleBindings() as unknown as StoredObject[])
  await bindings('rolebindings', namespaceRoleBindings() as unknown as StoredObject[])
  o.log.debug('RBAC bootstrap policy in place')
}

async function ensure(
  store: RegistryStore,
  expected: StoredObject,
  shape: 'role' | 'binding',
  o: { user: UserInfo; log: Logger },
): Promise<void> {
  const namespace = expected.metadata.namespace ?? ''
  const name = expected.metadata.name ?? ''
  const create = () => store.create(namespace, structuredClone(expected), { user: o.user })
  let current: Readonly<StoredObject>
  try {
    current = (await store.get(namespace, name)).object
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 404)) throw err
    try {
      await create()
    } catch (e) {
      // Another front made it meanwhile.
      if (!(e instanceof ApiError && e.code === 409)) throw e
    }
    return
  }
  if (shape === 'role') {
    const r = reconcileRole(current, expected)
    if (r.operation === 'none' || r.protected) return
    await store.update(namespace, name, (cur) => (cur ? reconcileRole(cur, expected).role : expected), {
      user: o.user,
    })
    o.log.info({ resource: store.definition.resource, namespace, name }, 'reconciled default RBAC role')
    return
  }
  const b = reconcileBinding(current, expected)
  if (b.operation === 'none' || b.protected) return
  if (b.operation === 'recreate') {
    await store.delete(namespace, name, { user: o.user })
    await create()
  } else {
    await store.update(namespace, name, (cur) => (cur ? reconcileBinding(cur, expected).binding : expected), {
      user: o.user,
    })
  }
  o.log.info({ resource: store.definition.resource, namespace, name }, 'reconciled default RBAC binding')
}
