import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  ClusterRoleBinding,
  PolicyRule,
  RoleBinding,
  Subject,
} from '../../../api/generated/types/rbac-v1.ts'
import type { UserInfo } from '../../authn/authenticator.ts'
import {
  privilegedGroupsAuthorizer,
  unionAuthorizer,
  type Attributes,
  type Authorizer,
} from '../authorizer.ts'
import { RbacAuthorizer } from './authorizer.ts'
import { PolicyCache } from './policy-cache.ts'

/** `User:alice`, `Group:admins`, `ServiceAccount:ns/name` (or `ServiceAccount:name`, no namespace). */
function subject(s: string): Subject {
  const [kind = '', name = ''] = s.split(/:(.*)/s)
  if (kind === 'ServiceAccount') {
    const [ns, n] = name.includes('/') ? name.split('/') : ['', name]
    return { kind, name: n ?? '', ...(ns ? { namespace: ns } : {}) }
  }
  return { kind, apiGroup: 'rbac.authorization.k8s.io', name }
}

function clusterBinding(name: string, role: string, ...subjects: string[]): ClusterRoleBinding {
  return {
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: subjects.map(subject),
  }
}

function binding(
  ns: string,
  name: string,
  kind: 'Role' | 'ClusterRole',
  role: string,
  ...subjects: string[]
): RoleBinding {
  return {
    metadata: { name, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
    subjects: subjects.map(subject),
  }
}

function user(name: string, ...groups: string[]): UserInfo {
  return { name, groups }
}

function res(
  u: UserInfo,
  verb: string,
  resource: string,
  namespace = '',
  subresource = '',
  group = '',
): Attributes {
  return {
    user: u,
    resourceRequest: true,
    verb,
    namespace,
    apiGroup: group,
    apiVersion: 'v1',
    resource,
    subresource,
    name: '',
  }
}

function setUp(o: {
  clusterRoles?: Record<string, PolicyRule[]>
  roles?: Record<string, PolicyRule[]>
  clusterBindings?: ClusterRoleBinding[]
  bindings?: RoleBinding[]
}): { policy: PolicyCache; rbac: RbacAuthorizer } {
  const policy = new PolicyCache()
  for (const [name, rules] of Object.entries(o.clusterRoles ?? {})) policy.setClusterRole(name, { rules })
  for (const [key, rules] of Object.entries(o.roles ?? {})) {
    const [ns = '', name = ''] = key.split('/')
    policy.setRole(ns, name, { rules })
  }
  for (const b of o.clusterBindings ?? []) policy.setClusterRoleBinding(b.metadata?.name ?? '', b)
  for (const b of o.bindings ?? [])
    policy.setRoleBinding(b.metadata?.namespace ?? '', b.metadata?.name ?? '', b)
  return { policy, rbac: new RbacAuthorizer(policy) }
}

const all: PolicyRule[] = [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], nonResourceURLs: ['*'] }]

// Kubernetes' TestAuthorizer cases.
test('a RoleBinding to a ClusterRole grants it in its namespace only, to its users and groups', () => {
  const { rbac } = setUp({
    clusterRoles: { admin: all },
    bindings: [binding('ns1', 'b', 'ClusterRole', 'admin', 'User:admin', 'Group:admins')],
  })
  const allowed = (a: Attributes) => rbac.authorize(a).decision === 'allow'
  assert.ok(allowed(res(user('admin'), 'get', 'Pods', 'ns1')))
  assert.ok(allowed(res(user('admin'), 'watch', 'Pods', 'ns1')))
  assert.ok(allowed(res(user('admin', 'group1'), 'watch', 'Foobar', 'ns1')))
  assert.ok(allowed(res(user('joe', 'admins'), 'watch', 'Foobar', 'ns1')))
  assert.ok(allowed(res(user('joe', 'group1', 'admins'), 'watch', 'Foobar', 'ns1')))
  assert.ok(!allowed(res(user('admin'), 'GET', 'Pods', 'ns2')))
  assert.ok(!allowed(res(user('admin'), 'GET', 'Nodes', '')))
  assert.ok(!allowed(res(user('admin', 'admins'), 'GET', 'Pods', 'ns2')))
})

test('non-resource URLs: exact, any verb, and prefixes', () => {
  const { rbac } = setUp({
    clusterRoles: {
      getter: [{ verbs: ['get'], nonResourceURLs: ['/apis'] }],
      any: [{ verbs: ['*'], nonResourceURLs: ['/apis'] }],
      prefix: [{ verbs: ['get'], nonResourceURLs: ['/apis/*'] }],
    },
    clusterBindings: [
      clusterBinding('getter', 'getter', 'User:foo', 'Group:bar'),
      clusterBinding('any', 'any', 'User:admin', 'Group:admin'),
      clusterBinding('prefix', 'prefix', 'User:prefixed', 'Group:prefixed'),
    ],
  })
  const at = (u: UserInfo, verb: string, path: string) =>
    rbac.authorize({ user: u, resourceRequest: false, verb, path }).decision === 'allow'
  assert.ok(at(user('foo'), 'get', '/apis'))
  assert.ok(at(user('', 'bar'), 'get', '/apis'))
  assert.ok(at(user('admin'), 'watch', '/apis'))
  assert.ok(at(user('prefixed'), 'get', '/apis/v1/foobar'))
  assert.ok(!at(user('foo'), 'watch', '/apis'))
  assert.ok(!at(user('admin'), 'get', '/api/v1'))
  assert.ok(!at(user('prefixed'), 'get', '/api/v1'))
  assert.ok(!at(user('prefixed'), 'get', '/apis'))
})

test('subresources are their own resources', () => {
  const { rbac } = setUp({
    clusterRoles: {
      pods: [{ verbs: ['*'], apiGroups: ['*'], resources: ['pods'] }],
      status: [{ verbs: ['*'], apiGroups: ['*'], resources: ['pods/status'] }],
    },
    bindings: [
      binding('ns1', 'a', 'ClusterRole', 'pods', 'User:pods'),
      binding('ns1', 'b', 'ClusterRole', 'status', 'User:status'),
    ],
  })
  const allowed = (a: Attributes) => rbac.authorize(a).decision === 'allow'
  assert.ok(allowed(res(user('pods'), 'get', 'pods', 'ns1')))
  assert.ok(!allowed(res(user('pods'), 'get', 'pods', 'ns1', 'status')))
  assert.ok(allowed(res(user('status'), 'get', 'pods', 'ns1', 'status')))
  assert.ok(!allowed(res(user('status'), 'get', 'pods', 'ns1')))
})

test('a ServiceAccount subject matches its user name; without a namespace, the binding namespace', () => {
  const { rbac } = setUp({
    clusterRoles: { view: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] },
    bindings: [binding('ns1', 'b', 'ClusterRole', 'view', 'ServiceAccount:robot')],
    clusterBindings: [
      clusterBinding('c', 'view', 'ServiceAccount:kube-system/ctl', 'ServiceAccount:nowhere'),
    ],
  })
  const allowed = (a: Attributes) => rbac.authorize(a).decision === 'allow'
  assert.ok(allowed(res(user('system:serviceaccount:ns1:robot'), 'get', 'pods', 'ns1')))
  assert.ok(!allowed(res(user('system:serviceaccount:ns2:robot'), 'get', 'pods', 'ns1')))
  assert.ok(allowed(res(user('system:serviceaccount:kube-system:ctl'), 'get', 'pods', 'any')))
  // A cluster binding's ServiceAccount without a namespace matches no one.
  assert.ok(!allowed(res(user('system:serviceaccount::nowhere'), 'get', 'pods', 'x')))
})

test('an allowing decision names the binding, its role and the subject that matched', () => {
  const { rbac } = setUp({
    clusterRoles: { view: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] },
    roles: { 'ns1/reader': [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }] },
    clusterBindings: [clusterBinding('viewers', 'view', 'User:bob', 'Group:devs')],
    bindings: [binding('ns1', 'readers', 'Role', 'reader', 'ServiceAccount:robot')],
  })
  assert.deepEqual(rbac.authorize(res(user('alice', 'devs'), 'get', 'pods', 'ns1')), {
    decision: 'allow',
    reason: 'RBAC: allowed by ClusterRoleBinding "viewers" of ClusterRole "view" to Group "devs"',
  })
  assert.deepEqual(rbac.authorize(res(user('system:serviceaccount:ns1:robot'), 'list', 'pods', 'ns1')), {
    decision: 'allow',
    reason: 'RBAC: allowed by RoleBinding "readers/ns1" of Role "reader" to ServiceAccount "robot/ns1"',
  })
})

test('without a matching rule RBAC has no opinion; missing roles are its reason', () => {
  const { rbac } = setUp({
    clusterBindings: [clusterBinding('gone', 'missing', 'User:alice')],
    bindings: [
      binding('ns1', 'gone-role', 'Role', 'nothere', 'User:alice'),
      binding('ns1', 'gone-too', 'Role', 'nothere', 'User:alice'),
    ],
  })
  assert.deepEqual(rbac.authorize(res(user('bob'), 'get', 'pods', 'ns1')), { decision: 'no-opinion' })
  assert.deepEqual(rbac.authorize(res(user('alice'), 'get', 'pods', '')), {
    decision: 'no-opinion',
    reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "missing" not found',
  })
  assert.deepEqual(rbac.authorize(res(user('alice'), 'get', 'pods', 'ns1')), {
    decision: 'no-opinion',
    reason:
      'RBAC: [clusterrole.rbac.authorization.k8s.io "missing" not found, role.rbac.authorization.k8s.io "nothere" not found]',
  })
})

test('changes to roles and bindings apply to the next request', () => {
  const { policy, rbac } = setUp({})
  const a = res(user('alice'), 'create', 'pods', 'ns1')
  assert.equal(rbac.authorize(a).decision, 'no-opinion')
  policy.setRoleBinding('ns1', 'b', binding('ns1', 'b', 'Role', 'editor', 'User:alice'))
  assert.equal(rbac.authorize(a).decision, 'no-opinion')
  policy.setRole('ns1', 'editor', { rules: [{ verbs: ['create'], apiGroups: [''], resources: ['pods'] }] })
  assert.equal(rbac.authorize(a).decision, 'allow')
  policy.setRoleBinding('ns1', 'b', undefined)
  assert.equal(rbac.authorize(a).decision, 'no-opinion')
})

test('rulesFor lists resource and non-resource rules of every binding that applies', () => {
  const { rbac } = setUp({
    clusterRoles: {
      basic: [
        { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'] },
      ],
      discovery: [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*'] }],
    },
    clusterBindings: [
      clusterBinding('basic', 'basic', 'Group:system:authenticated'),
      clusterBinding('discovery', 'discovery', 'Group:system:authenticated'),
      clusterBinding('broken', 'gone', 'Group:system:authenticated'),
    ],
  })
  assert.deepEqual(rbac.rulesFor(user('alice', 'system:authenticated'), 'default'), {
    resourceRules: [
      {
        verbs: ['create'],
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews'],
        resourceNames: [],
      },
    ],
    nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*'] }],
    incomplete: false,
    errors: ['clusterrole.rbac.authorization.k8s.io "gone" not found'],
  })
})

test('system:masters is allowed before RBAC is asked; otherwise RBAC decides', () => {
  const asked: string[] = []
  const spy: Authorizer = {
    authorize(a) {
      asked.push(a.user.name)
      return { decision: 'no-opinion', reason: 'nope' }
    },
  }
  const chain = unionAuthorizer([privilegedGroupsAuthorizer(['system:masters']), spy])
  assert.deepEqual(chain.authorize(res(user('root', 'system:masters'), 'delete', 'nodes')), {
    decision: 'allow',
  })
  assert.deepEqual(chain.authorize(res(user('alice'), 'delete', 'nodes')), {
    decision: 'no-opinion',
    reason: 'nope',
  })
  assert.deepEqual(asked, ['alice'])
})

test('the first rule that allows names the reason, wildcards and exact rules in their order', () => {
  const { rbac } = setUp({
    clusterRoles: {
      scaler: [{ verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }],
      deployer: [{ verbs: ['get', 'update'], apiGroups: ['apps'], resources: ['deployments/scale'] }],
    },
    clusterBindings: [
      clusterBinding('a-scaler', 'scaler', 'User:alice'),
      clusterBinding('b-deployer', 'deployer', 'User:alice'),
    ],
  })
  const scale = (verb: string) =>
    rbac.authorize(res(user('alice'), verb, 'deployments', 'ns', 'scale', 'apps'))
  for (let i = 0; i < 2; i++) {
    // Asked twice: the second answer comes from the remembered candidates.
    assert.equal(
      scale('get').reason,
      'RBAC: allowed by ClusterRoleBinding "a-scaler" of ClusterRole "scaler" to User "alice"',
    )
    assert.equal(
      scale('update').reason,
      'RBAC: allowed by ClusterRoleBinding "b-deployer" of ClusterRole "deployer" to User "alice"',
    )
    assert.equal(scale('delete').decision, 'no-opinion')
    assert.equal(
      rbac.authorize(res(user('alice'), 'get', 'deployments', 'ns', '', 'apps')).decision,
      'no-opinion',
    )
  }
})
