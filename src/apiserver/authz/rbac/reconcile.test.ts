import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { StoredObject } from '../../../api/object.ts'
import {
  clusterRoleBindings,
  clusterRoles,
  namespaceRoleBindings,
  namespaceRoles,
} from './bootstrap-policy.ts'
import { reconcileBinding, reconcileRole } from './reconcile.ts'

const role = (
  o: Partial<StoredObject> & { annotations?: Record<string, string>; labels?: Record<string, string> },
) =>
  ({
    metadata: {
      name: 'r',
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    ...(o.rules ? { rules: o.rules } : {}),
    ...(o.aggregationRule ? { aggregationRule: o.aggregationRule } : {}),
  }) as StoredObject

const get = (resources: string[]) => ({ apiGroups: [''], resources, verbs: ['get'] })

test('a role that already covers the policy is left alone, extra rules and all', () => {
  const r = reconcileRole(role({ rules: [get(['pods', 'secrets'])] }), role({ rules: [get(['pods'])] }))
  assert.equal(r.operation, 'none')
})

test('missing rules are added, as the atoms that were missing', () => {
  const r = reconcileRole(
    role({ rules: [get(['pods'])] }),
    role({ rules: [get(['pods', 'services', 'nodes'])] }),
  )
  assert.equal(r.operation, 'update')
  assert.deepEqual(r.role.rules, [get(['pods']), get(['services']), get(['nodes'])])
})

test('missing labels and annotations are added; existing values win', () => {
  const r = reconcileRole(
    role({ labels: { a: 'mine' }, rules: [] }),
    role({ labels: { a: 'policy', b: 'policy' }, annotations: { x: 'true' }, rules: [] }),
  )
  assert.equal(r.operation, 'update')
  assert.deepEqual(r.role.metadata.labels, { a: 'mine', b: 'policy' })
  assert.deepEqual(r.role.metadata.annotations, { x: 'true' })
})

test('aggregation selectors are added when missing, and removed when the policy has none', () => {
  const sel = (k: string) => ({ matchLabels: { [k]: 'true' } })
  const added = reconcileRole(
    role({ aggregationRule: { clusterRoleSelectors: [sel('mine')] } }),
    role({ aggregationRule: { clusterRoleSelectors: [sel('policy')] } }),
  )
  assert.equal(added.operation, 'update')
  assert.deepEqual(added.role.aggregationRule, { clusterRoleSelectors: [sel('mine'), sel('policy')] })
  const removed = reconcileRole(role({ aggregationRule: { clusterRoleSelectors: [sel('x')] } }), role({}))
  assert.equal(removed.operation, 'update')
  assert.equal(removed.role.aggregationRule, undefined)
  // An aggregated role's rules are the aggregation controller's: the policy adds none.
  assert.equal(
    reconcileRole(
      role({ aggregationRule: { clusterRoleSelectors: [sel('a')] }, rules: [get(['pods'])] }),
      role({ aggregationRule: { clusterRoleSelectors: [sel('a')] } }),
    ).operation,
    'none',
  )
})

test('autoupdate=false protects an object', () => {
  const r = reconcileRole(
    role({ annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'false' }, rules: [] }),
    role({ rules: [get(['pods'])] }),
  )
  assert.equal(r.protected, true)
})

test('bindings get missing subjects, and are made again when their roleRef changed', () => {
  const b = (roleName: string, ...users: string[]) =>
    ({
      metadata: { name: 'b' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
      subjects: users.map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })),
    }) as unknown as StoredObject
  assert.equal(reconcileBinding(b('r', 'a', 'b'), b('r', 'a')).operation, 'none')
  const added = reconcileBinding(b('r', 'b'), b('r', 'a'))
  assert.equal(added.operation, 'update')
  assert.deepEqual(
    (added.binding.subjects as { name: string }[]).map((s) => s.name),
    ['b', 'a'],
  )
  const remade = reconcileBinding(b('old', 'a'), b('new', 'a'))
  assert.equal(remade.operation, 'recreate')
  assert.equal((remade.binding.roleRef as { name: string }).name, 'new')
})

test('the default policy: unique names, every object labelled and annotated, every binding to a default role', () => {
  const roles = clusterRoles()
  const names = roles.map((r) => r.metadata?.name ?? '')
  assert.equal(new Set(names).size, names.length)
  for (const o of [...roles, ...clusterRoleBindings(), ...namespaceRoles(), ...namespaceRoleBindings()]) {
    assert.equal(o.metadata?.labels?.['kubernetes.io/bootstrapping'], 'rbac-defaults', o.metadata?.name)
    assert.equal(
      o.metadata?.annotations?.['rbac.authorization.kubernetes.io/autoupdate'],
      'true',
      o.metadata?.name,
    )
  }
  for (const b of clusterRoleBindings()) assert.ok(names.includes(b.roleRef.name), b.roleRef.name)
  const nsRoles = namespaceRoles().map((r) => `${r.metadata?.namespace}/${r.metadata?.name}`)
  for (const b of namespaceRoleBindings()) {
    assert.ok(nsRoles.includes(`${b.metadata?.namespace}/${b.roleRef.name}`), b.metadata?.name)
  }
  // The aggregated roles and what feeds them.
  for (const n of ['admin', 'edit', 'view']) {
    const r = roles.find((x) => x.metadata?.name === n)
    assert.deepEqual(r?.aggregationRule, {
      clusterRoleSelectors: [{ matchLabels: { [`rbac.authorization.k8s.io/aggregate-to-${n}`]: 'true' } }],
    })
    assert.equal(r?.rules, undefined)
  }
  assert.ok(names.includes('system:controller:clusterrole-aggregation-controller'))
  assert.equal(names.filter((n) => n.startsWith('system:controller:')).length, 37)
})
