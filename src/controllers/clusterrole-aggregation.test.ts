import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ClusterRole, PolicyRule } from '../api/generated/types/rbac-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { IndexedCache, Lister } from '../client/index.ts'
import { aggregatedRules, ClusterRoleAggregationController } from './clusterrole-aggregation.ts'

const rule = (resource: string, ...verbs: string[]): PolicyRule => ({
  apiGroups: [''],
  resources: [resource],
  verbs,
})

function role(
  name: string,
  o: { labels?: Record<string, string>; rules?: PolicyRule[]; aggregate?: string[] },
): ClusterRole {
  return {
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    ...(o.rules ? { rules: o.rules } : {}),
    ...(o.aggregate
      ? {
          aggregationRule: {
            clusterRoleSelectors: o.aggregate.map((k) => ({ matchLabels: { [k]: 'true' } })),
          },
        }
      : {}),
  }
}

function setUp(roles: ClusterRole[]) {
  const cache = new IndexedCache<ClusterRole>()
  for (const r of roles) cache.set(r)
  const applied: { name: string; rules: PolicyRule[] }[] = []
  const controller = new ClusterRoleAggregationController({
    clusterRoles: new Lister(cache),
    applyRules: async (name, rules) => void applied.push({ name, rules }),
    clock: new FakeClock(0),
  })
  return { controller, applied, cache }
}

test('an aggregated role gets the rules of the roles its selectors match, by name, each rule once', () => {
  const roles = [
    role('view', { aggregate: ['to-view'], rules: [rule('stale', 'get')] }),
    role('b-pods', { labels: { 'to-view': 'true' }, rules: [rule('pods', 'get'), rule('services', 'get')] }),
    role('a-secrets', {
      labels: { 'to-view': 'true' },
      rules: [rule('secrets', 'get'), rule('pods', 'get')],
    }),
    role('other', { labels: { unrelated: 'true' }, rules: [rule('nodes', 'get')] }),
  ]
  assert.deepEqual(aggregatedRules(roles[0] as ClusterRole, roles), [
    rule('secrets', 'get'),
    rule('pods', 'get'),
    rule('services', 'get'),
  ])
})

test('selectors are taken in order, and a role never aggregates itself', () => {
  const roles = [
    role('edit', {
      aggregate: ['to-edit', 'to-view'],
      labels: { 'to-view': 'true' },
      rules: [rule('x', 'get')],
    }),
    role('writer', { labels: { 'to-edit': 'true' }, rules: [rule('pods', 'create')] }),
    role('reader', { labels: { 'to-view': 'true' }, rules: [rule('pods', 'get')] }),
  ]
  assert.deepEqual(aggregatedRules(roles[0] as ClusterRole, roles), [
    rule('pods', 'create'),
    rule('pods', 'get'),
  ])
})

test('reconcile writes rules that changed and leaves right ones alone', async () => {
  const { controller, applied, cache } = setUp([
    role('view', { aggregate: ['to-view'] }),
    role('reader', { labels: { 'to-view': 'true' }, rules: [rule('pods', 'get')] }),
  ])
  await controller.reconcile('view')
  assert.deepEqual(applied, [{ name: 'view', rules: [rule('pods', 'get')] }])
  cache.set(role('view', { aggregate: ['to-view'], rules: [rule('pods', 'get')] }))
  await controller.reconcile('view')
  assert.equal(applied.length, 1)
  // Roles without an aggregationRule, and missing ones, are not touched.
  await controller.reconcile('reader')
  await controller.reconcile('gone')
  assert.equal(applied.length, 1)
})

test('any ClusterRole change queues every aggregated role', () => {
  const { controller } = setUp([
    role('admin', { aggregate: ['a'] }),
    role('view', { aggregate: ['v'] }),
    role('plain', { rules: [] }),
  ])
  controller.enqueueAll()
  assert.equal(controller.queue.length, 2)
})
