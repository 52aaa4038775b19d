import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pino } from 'pino'
import { SqliteStorage } from '../../../storage/sqlite/sqlite.ts'
import { decodeJson, WatchCache } from '../../registry/watch-cache.ts'
import { RbacAuthorizer } from './authorizer.ts'
import { followRbacCaches } from './follow.ts'
import { PolicyCache } from './policy-cache.ts'

const log = pino({ level: 'silent' })
const json = (o: unknown) => Buffer.from(JSON.stringify(o))

test('the policy follows the watch caches: what is there at start, then every create, update and delete', async () => {
  const storage = SqliteStorage.open({ path: ':memory:' })
  const cache = (resource: string, namespaced: boolean) =>
    new WatchCache({
      storage,
      prefix: `/registry/rbac.authorization.k8s.io/${resource}/`,
      namespaced,
      decode: decodeJson,
      log,
    })
  const caches = {
    roles: cache('roles', true),
    clusterRoles: cache('clusterroles', false),
    roleBindings: cache('rolebindings', true),
    clusterRoleBindings: cache('clusterrolebindings', false),
  }
  const role = (verbs: string[]) => ({
    metadata: { name: 'reader' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs }],
  })
  await storage.create('/registry/rbac.authorization.k8s.io/clusterroles/reader', json(role(['get'])))
  const policy = new PolicyCache()
  const rbac = new RbacAuthorizer(policy)
  const stop = new AbortController()
  await followRbacCaches(policy, caches, { signal: stop.signal, log })
  const can = (verb: string) =>
    rbac.authorize({
      user: { name: 'alice', groups: [] },
      resourceRequest: true,
      verb,
      namespace: 'ns',
      apiGroup: '',
      apiVersion: 'v1',
      resource: 'pods',
      subresource: '',
      name: '',
    }).decision
  const settle = async (c: WatchCache, rev: number) => assert.ok(await c.waitFor(rev, 2000))
  try {
    assert.equal(can('get'), 'no-opinion')
    const b = await storage.create(
      '/registry/rbac.authorization.k8s.io/rolebindings/ns/alice',
      json({
        metadata: { name: 'alice', namespace: 'ns' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'reader' },
        subjects: [{ kind: 'User', name: 'alice' }],
      }),
    )
    await settle(caches.roleBindings, b.modRevision)
    assert.equal(can('get'), 'allow')
    assert.equal(can('list'), 'no-opinion')
    const cur = await storage.get('/registry/rbac.authorization.k8s.io/clusterroles/reader')
    assert.ok(cur)
    const u = await storage.update(
      '/registry/rbac.authorization.k8s.io/clusterroles/reader',
      json(role(['get', 'list'])),
      cur.modRevision,
    )
    await settle(caches.clusterRoles, u.modRevision)
    assert.equal(can('list'), 'allow')
    const d = await storage.delete('/registry/rbac.authorization.k8s.io/rolebindings/ns/alice')
    await settle(caches.roleBindings, d.revision)
    assert.equal(can('get'), 'no-opinion')
  } finally {
    stop.abort()
    for (const c of Object.values(caches)) c.stop()
    await storage.close()
  }
})
