import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pino } from 'pino'
import type { StoredObject } from '../../api/object.ts'
import { realClock } from '../../base/clock.ts'
import { SqliteStorage } from '../../storage/sqlite/sqlite.ts'
import { plainStrategy } from './resources/generic.ts'
import { RegistryStore, sameObject } from './store.ts'

const user = { name: 'tester', groups: [] }

/**
 * The watch cache takes a written object from the write itself, whoever comes first once the
 * revision is known: the store's event (often first for updates) or the write's caller. Either
 * way it is one object with one JSON, not the stored bytes decoded and encoded again.
 */
test('the watch cache holds the very object a create, an update and a deletion mark returned', async () => {
  const storage = SqliteStorage.open({ path: ':memory:' })
  const store = new RegistryStore({
    definition: { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true },
    strategy: plainStrategy,
    storage,
    prefix: '/registry/core/configmaps/',
    clock: realClock,
    log: pino({ level: 'silent' }),
  })
  try {
    await store.cache.start()
    const cached = async (o: StoredObject) => {
      // The cache follows the store's events: wait until it has this revision.
      while (store.cache.revision < Number(o.metadata.resourceVersion))
        await new Promise((r) => setImmediate(r))
      return store.cache.get(store.keyFor('default', 'c'))
    }
    const created = await store.create(
      'default',
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c', namespace: 'default' },
        data: { a: '1' },
      },
      { user },
    )
    assert.equal((await cached(created))?.object, created)
    const { object: updated } = await store.update(
      'default',
      'c',
      (current) => ({ ...(current as StoredObject), data: { a: '2' } }),
      { user },
    )
    const entry = await cached(updated)
    assert.equal(entry?.object, updated, 'the updated object itself')
    assert.deepEqual(JSON.parse(entry?.json.toString() ?? '{}'), JSON.parse(JSON.stringify(updated)))
    assert.equal(updated.metadata.resourceVersion, String(entry?.revision))
    // A deletion held by a finalizer marks the object: that too.
    const { object: held } = await store.update(
      'default',
      'c',
      (current) => ({
        ...(current as StoredObject),
        metadata: { ...(current as StoredObject).metadata, finalizers: ['example.com/hold'] },
      }),
      { user },
    )
    assert.equal((await cached(held))?.object, held)
    const { object: marked, deleted } = await store.delete('default', 'c', { user })
    assert.equal(deleted, false)
    assert.ok(marked.metadata.deletionTimestamp)
    assert.equal((await cached(marked))?.object, marked)
  } finally {
    store.cache.stop()
    await storage.close()
  }
})

/**
 * Events, as kube-apiserver keeps no watch cache for them: writes go to the store alone until a
 * client first reads, and the cache that then starts has everything written before.
 */
test('a kind cached on first read writes to the store alone until it is read', async () => {
  const storage = SqliteStorage.open({ path: ':memory:' })
  const store = new RegistryStore({
    definition: { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true },
    strategy: { ...plainStrategy, cacheOnFirstRead: true },
    storage,
    prefix: '/registry/core/configmaps/',
    clock: realClock,
    log: pino({ level: 'silent' }),
  })
  const configMap = (name: string): StoredObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default' },
    data: { a: '1' },
  })
  try {
    assert.equal(store.cachedOnFirstRead, true)
    await store.create('default', configMap('a'), { user })
    await store.create('default', configMap('b'), { user })
    const { object: updated } = await store.update(
      'default',
      'a',
      (current) => ({ ...(current as StoredObject), data: { a: '2' } }),
      { user },
    )
    await store.delete('default', 'b', { user })
    assert.equal(store.cache.started, false, 'no write started the cache')
    const got = await store.get('default', 'a')
    assert.equal(store.cache.started, true, 'the first read did')
    assert.deepEqual(got.object.data, { a: '2' })
    assert.equal(got.object.metadata.resourceVersion, updated.metadata.resourceVersion)
    const listed = await store.list('default', {})
    assert.deepEqual(
      listed.items.map((o) => o.name),
      ['a'],
    )
  } finally {
    store.cache.stop()
    await storage.close()
  }
})

test('an update is a no-op when only managedFields timestamps differ, and not when anything else does', () => {
  const entry = (manager: string, time: string) => ({
    manager,
    operation: 'Update',
    apiVersion: 'v1',
    time,
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:status': { 'f:phase': {} } },
  })
  const stored = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'default',
      labels: { app: 'a' },
      managedFields: [entry('kubelet', '2026-01-01T00:00:00Z')],
    },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
    status: { phase: 'Running' },
  } as unknown as StoredObject
  type TestPod = StoredObject & {
    spec: { containers: { name: string; image: string }[]; nodeName?: string }
    status?: { phase: string }
    extra?: unknown
  }
  const copy = () => structuredClone(stored) as TestPod
  const later = copy()
  later.metadata.managedFields = [entry('kubelet', '2026-01-02T00:00:00Z')]
  assert.equal(sameObject(later, stored), true)
  const undefinedMember = copy()
  undefinedMember.metadata.annotations = undefined
  undefinedMember.spec.nodeName = undefined
  assert.equal(sameObject(undefinedMember, stored), true)
  const noFields = copy()
  delete noFields.metadata.managedFields
  const emptyFields = copy()
  emptyFields.metadata.managedFields = []
  assert.equal(sameObject(noFields, emptyFields), true)
  assert.equal(sameObject(noFields, stored), false)

  const changes: ((o: ReturnType<typeof copy>) => void)[] = [
    (o) => (o.status = { phase: 'Succeeded' }),
    (o) => delete o.status,
    (o) => (o.spec.containers = [{ name: 'c', image: 'nginx:2' }]),
    (o) => (o.metadata.labels = { app: 'b' }),
    (o) => (o.metadata.annotations = { a: 'b' }),
    (o) => (o.extra = {}),
    (o) => (o.metadata.managedFields = [entry('kubectl', '2026-01-01T00:00:00Z')]),
    (o) => o.metadata.managedFields?.push(entry('kubectl', '2026-01-01T00:00:00Z')),
  ]
  for (const change of changes) {
    const changed = copy()
    change(changed)
    assert.equal(sameObject(changed, stored), false, String(change))
    assert.equal(sameObject(stored, changed), false, String(change))
  }
})
