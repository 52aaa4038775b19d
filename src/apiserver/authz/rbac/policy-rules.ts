import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
  Subject,
} from '../../../api/generated/types/rbac-v1.ts'

/**
 * Small builders for the default policy (bootstrap-policy.ts, controller-policy.ts): rules with
 * their lists sorted (as Kubernetes' rule builder sorts them), and roles and bindings with the
 * label and annotation every default object carries.
 */

export const read = ['get', 'list', 'watch'] as const
export const readWrite = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
] as const
export const write = ['create', 'delete', 'deletecollection', 'patch', 'update'] as const
export const readUpdate = ['get', 'list', 'patch', 'update', 'watch'] as const

/** Marks the objects the apiserver made (kubectl get clusterroles -l kubernetes.io/bootstrapping=rbac-defaults). */
export const bootstrappingLabel = { 'kubernetes.io/bootstrapping': 'rbac-defaults' } as const
/** "true": the apiserver puts back what is missing at every start; "false" leaves the object alone. */
export const autoupdateAnnotation = 'rbac.authorization.kubernetes.io/autoupdate'

const sorted = (xs: readonly string[]) => [...new Set(xs)].sort()

/** A resource rule: verbs on resources of groups ('' is the core group), optionally by name. */
export function rule(
  verbs: readonly string[],
  groups: readonly string[],
  resources: readonly string[],
  names?: readonly string[],
): PolicyRule {
  const r: PolicyRule = { verbs: sorted(verbs), apiGroups: sorted(groups), resources: sorted(resources) }
  if (names && names.length > 0) r.resourceNames = sorted(names)
  return r
}

/** A non-resource rule: verbs on URL paths (a trailing * matches a prefix). */
export function urls(verbs: readonly string[], paths: readonly string[]): PolicyRule {
  return { verbs: sorted(verbs), nonResourceURLs: sorted(paths) }
}

/** Every component's events: create, patch and update in both event groups. */
export const eventsRule = (): PolicyRule =>
  rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events'])

function meta(name: string, labels: Readonly<Record<string, string>> = {}, namespace?: string) {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    labels: { ...bootstrappingLabel, ...labels },
    annotations: { [autoupdateAnnotation]: 'true' },
  }
}

export function clusterRole(
  name: string,
  rules: readonly PolicyRule[],
  o: { labels?: Record<string, string>; aggregateFrom?: string } = {},
): ClusterRole {
  const role: ClusterRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: meta(name, o.labels),
  }
  if (o.aggregateFrom) {
    role.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { [o.aggregateFrom]: 'true' } }] }
  } else {
    role.rules = [...rules]
  }
  return role
}

export function role(namespace: string, name: string, rules: readonly PolicyRule[]): Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(name, {}, namespace),
    rules: [...rules],
  }
}

export const user = (name: string): Subject => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })
export const group = (name: string): Subject => ({
  apiGroup: 'rbac.authorization.k8s.io',
  kind: 'Group',
  name,
})
export const serviceAccount = (namespace: string, name: string): Subject => ({
  kind: 'ServiceAccount',
  name,
  namespace,
})

/** A ClusterRoleBinding named after its ClusterRole. */
export function clusterRoleBinding(roleName: string, subjects: readonly Subject[]): ClusterRoleBinding {
  const b: ClusterRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta(roleName),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
  }
  if (subjects.length > 0) b.subjects = [...subjects]
  return b
}

export function roleBinding(
  namespace: string,
  name: string,
  roleName: string,
  subjects: readonly Subject[],
): RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(name, {}, namespace),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
    subjects: [...subjects],
  }
}
