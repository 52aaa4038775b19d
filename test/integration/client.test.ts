import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { ReplicaSet } from '../../src/api/generated/types/apps-v1.ts'
import type { ConfigMap, Event } from '../../src/api/generated/types/core-v1.ts'
import type { Lease } from '../../src/api/generated/types/coordination-v1.ts'
import { parseLabelSelector } from '../../src/api/selectors/label-selector.ts'
import {
  ApiStatusError,
  builtin,
  EventRecorder,
  Informer,
  isAlreadyExists,
  isConflict,
  isNotFound,
  LeaderElector,
  loadKubeconfig,
  ResourceClient,
  RestClient,
  withoutManagedFields,
} from '../../src/client/index.ts'
import { SqliteStorage } from '../../src/storage/sqlite/sqlite.ts'
import { startTestApiServer, type TestApiServer } from '../support/cluster.ts'
import { until } from '../support/until.ts'

const configMap = (
  name: string,
  data: Record<string, string>,
  labels: Record<string, string> = {},
): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', labels },
  data,
})

describe('the client against a real apiserver', () => {
  let c: TestApiServer
  let rest: RestClient
  let cms: ResourceClient<ConfigMap>

  before(async () => {
    c = await startTestApiServer()
    rest = new RestClient({ ...loadKubeconfig(c.server.adminKubeconfig), userAgent: 'k8ts-test/0.1' })
    cms = new ResourceClient<ConfigMap>(rest, builtin('', 'v1', 'configmaps'))
  })
  after(async () => {
    await rest.close()
    await c.stop()
  })

  /** A new namespace with the ConfigMap `listed` in it; what it returns makes more for it. */
  const namespaceWithListed = async (namespace: string): Promise<(name: string) => ConfigMap> => {
    const namespaces = new ResourceClient(rest, builtin('', 'v1', 'namespaces'))
    await namespaces.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
    const inNs = (name: string): ConfigMap => ({
      ...configMap(name, { k: '1' }),
      metadata: { name, namespace },
    })
    await cms.create(inNs('listed'))
    return inNs
  }

  test('creates, reads, lists, updates, patches and deletes, with the field manager of its user agent', async () => {
    const created = await cms.create(configMap('rw', { k: 'a' }, { app: 'x' }))
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/)
    assert.equal(created.metadata?.managedFields?.[0]?.manager, 'k8ts-test')
    const got = await cms.get('default', 'rw')
    assert.equal(got.data?.k, 'a')
    const list = await cms.list('default', { labelSelector: 'app=x' })
    assert.deepEqual(
      list.items.map((i) => i.metadata?.name),
      ['rw'],
    )
    assert.match(list.metadata.resourceVersion ?? '', /^\d+$/)
    const updated = await cms.update({ ...got, data: { k: 'b' } })
    assert.equal(updated.data?.k, 'b')
    const merged = await cms.patch('default', 'rw', 'merge', { data: { j: 'c' } })
    assert.deepEqual(merged.data, { k: 'b', j: 'c' })
    const json = await cms.patch('default', 'rw', 'json', [{ op: 'remove', path: '/data/k' }])
    assert.deepEqual(json.data, { j: 'c' })
    await cms.delete('default', 'rw')
    await assert.rejects(cms.get('default', 'rw'), (err) => isNotFound(err))
  })

  test('unread writes take effect and resolve to nothing; their failures reject with the Status', async () => {
    assert.equal(await cms.createUnread(configMap('quiet', { k: 'a' })), undefined)
    assert.equal(await cms.patchUnread('default', 'quiet', 'merge', { data: { j: 'b' } }), undefined)
    assert.deepEqual((await cms.get('default', 'quiet')).data, { k: 'a', j: 'b' })
    await assert.rejects(cms.createUnread(configMap('quiet', {})), (err) => isAlreadyExists(err))
    await assert.rejects(cms.patchUnread('default', 'absent', 'merge', { data: {} }), (err) =>
      isNotFound(err),
    )
    // The connection is still good for what follows.
    assert.equal((await cms.get('default', 'quiet')).data?.j, 'b')
    await cms.delete('default', 'quiet')
  })

  test('a PUT to the status subresource changes only the status; one to the object, all but the status', async () => {
    const rss = new ResourceClient<ReplicaSet>(rest, builtin('apps', 'v1', 'replicasets'))
    const created = await rss.create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'status', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 's' } },
        template: {
          metadata: { labels: { app: 's' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    })
    const withStatus = await rss.updateStatus({
      ...created,
      spec: { ...(created.spec as NonNullable<ReplicaSet['spec']>), replicas: 9 },
      status: { replicas: 1, readyReplicas: 1 },
    })
    assert.deepEqual(withStatus.status, { replicas: 1, readyReplicas: 1 })
    assert.equal(withStatus.spec?.replicas, 2, 'the spec is not changed through status')
    assert.equal(withStatus.metadata?.generation, 1)
    const updated = await rss.update({
      ...withStatus,
      spec: { ...withStatus.spec, replicas: 3 },
      status: { replicas: 7 },
    })
    assert.equal(updated.spec?.replicas, 3)
    assert.deepEqual(
      updated.status,
      { replicas: 1, readyReplicas: 1 },
      'the status is not changed through the object',
    )
    assert.equal(updated.metadata?.generation, 2)
  })

  test('a delete asking for Background takes back an earlier Orphan; other finalizers stay', async () => {
    await cms.create({
      ...configMap('held', {}),
      metadata: { name: 'held', namespace: 'default', finalizers: ['example.com/hold'] },
    })
    const orphaning = (await cms.delete('default', 'held', { propagationPolicy: 'Orphan' })) as ConfigMap
    assert.deepEqual(orphaning.metadata?.finalizers?.sort(), ['example.com/hold', 'orphan'])
    const background = (await cms.delete('default', 'held', { propagationPolicy: 'Background' })) as ConfigMap
    assert.deepEqual(background.metadata?.finalizers, ['example.com/hold'])
    await cms.patch('default', 'held', 'merge', { metadata: { finalizers: null } })
    await assert.rejects(cms.get('default', 'held'), (err) => isNotFound(err))
  })

  test('failures are ApiStatusErrors carrying the Status', async () => {
    await cms.create(configMap('dup', {}))
    await assert.rejects(
      cms.create(configMap('dup', {})),
      (err) => isAlreadyExists(err) && (err as ApiStatusError).code === 409,
    )
    const current = await cms.get('default', 'dup')
    await cms.update({ ...current, data: { v: '1' } })
    await assert.rejects(cms.update({ ...current, data: { v: '2' } }), (err) => isConflict(err))
    await assert.rejects(cms.create(configMap('Not_A_Name', {})), (err) => {
      assert.ok(err instanceof ApiStatusError)
      assert.equal(err.code, 422)
      assert.equal(err.reason, 'Invalid')
      assert.equal(err.status.details?.causes?.[0]?.field, 'metadata.name')
      return true
    })
    const anonymous = new RestClient({ server: c.server.url, ca: c.server.caPem })
    await assert.rejects(
      anonymous.request('GET', '/api/v1/namespaces'),
      (err) => (err as ApiStatusError).code === 403 && (err as ApiStatusError).reason === 'Forbidden',
    )
    await anonymous.close()
  })

  test('an informer lists, follows the watch, keeps an indexed cache, and relists after a 410', async () => {
    const seen: string[] = []
    const informer = new Informer(cms, { namespace: 'informed' })
    informer.addIndex('app', (o) => [o.metadata?.labels?.app ?? ''])
    informer.addHandler({
      add: (o, initial) => seen.push(`add ${o.metadata?.name}${initial ? ' (initial)' : ''}`),
      update: (old, o) => seen.push(`update ${o.metadata?.name} ${old.data?.k}→${o.data?.k}`),
      delete: (o, stale) => seen.push(`delete ${o.metadata?.name}${stale ? ' (stale)' : ''}`),
    })
    const ns = new ResourceClient(rest, builtin('', 'v1', 'namespaces'))
    await ns.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'informed' } })
    const inNs = (name: string, k: string, app = 'web'): ConfigMap => ({
      ...configMap(name, { k }, { app }),
      metadata: { name, namespace: 'informed', labels: { app } },
    })
    await cms.create(inNs('a', '1'))
    const ac = new AbortController()
    const running = informer.run(ac.signal)
    await informer.waitForSync()
    assert.deepEqual(seen, ['add a (initial)'])

    await cms.create(inNs('b', '1', 'db'))
    await cms.patch('informed', 'a', 'merge', { data: { k: '2' } })
    await until(() => seen.length === 3, 5000, 'two watch events')
    assert.deepEqual(seen.slice(1), ['add b', 'update a 1→2'])
    assert.equal(informer.lister.get('informed', 'a')?.data?.k, '2')
    assert.equal(informer.lister.get('informed', 'a')?.kind, 'ConfigMap')
    assert.deepEqual(
      informer.lister.list('informed', parseLabelSelector('app=db')).map((o) => o.metadata?.name),
      ['b'],
    )
    assert.deepEqual(
      informer.lister.byIndex('app', 'web').map((o) => o.metadata?.name),
      ['a'],
    )

    // The apiserver restarts while a write and a delete happen behind its back: its fresh watch
    // cache cannot replay the gap, the informer's watch gets 410 and it lists again, finding what
    // it missed: a new object, and one that is gone (a stale delete).
    const port = c.server.port
    await c.stop({ keepData: true })
    const store = SqliteStorage.open({ path: join(c.dataDir, 'state.db') })
    const missed = {
      ...inNs('c', '1'),
      metadata: { name: 'c', namespace: 'informed', uid: 'c-uid', creationTimestamp: '2026-01-01T00:00:00Z' },
    }
    await store.create('/registry/core/configmaps/informed/c', Buffer.from(JSON.stringify(missed)))
    await store.delete('/registry/core/configmaps/informed/b')
    await store.close()
    c = await startTestApiServer({ dataDir: c.dataDir, securePort: port })

    await until(
      () => seen.includes('add c') && seen.includes('delete b (stale)'),
      20_000,
      'the relist after 410',
    )
    assert.equal(informer.lister.get('informed', 'b'), undefined)
    assert.deepEqual(
      informer.lister.byIndex('app', 'db').map((o) => o.metadata?.name),
      [],
    )
    await cms.delete('informed', 'a')
    await until(() => seen.includes('delete a'), 5000, 'the delete event')
    ac.abort()
    await running
  })

  test("an informer's transform changes what it caches and hands out, listed and watched alike", async () => {
    const seen: string[] = []
    const inNs = await namespaceWithListed('transformed')
    const informer = new Informer(cms, {
      namespace: 'transformed',
      // What kube-scheduler's pod informer does.
      transform: withoutManagedFields,
    })
    informer.addHandler({
      add: (o) => seen.push(`add ${o.metadata?.name} ${o.metadata?.managedFields === undefined}`),
    })
    const ac = new AbortController()
    const running = informer.run(ac.signal)
    try {
      await informer.waitForSync()
      await cms.create(inNs('watched'))
      await until(() => seen.length === 2, 5000, 'the watched add')
      assert.deepEqual(seen, ['add listed true', 'add watched true'])
      assert.ok(
        (await cms.get('transformed', 'watched')).metadata?.managedFields,
        'the stored object has them',
      )
      assert.equal(informer.lister.get('transformed', 'watched')?.metadata?.managedFields, undefined)
      // Taken out of the watch event's text before decoding: the rest of the object is intact.
      const stored = await cms.get('transformed', 'watched')
      const { managedFields: _, ...metadata } = stored.metadata ?? {}
      assert.deepEqual(JSON.parse(JSON.stringify(informer.lister.get('transformed', 'watched'))), {
        ...stored,
        metadata,
      })
    } finally {
      ac.abort()
      await running
    }
  })

  test('an informer without managedFields hands its own transform objects without them, listed and watched', async () => {
    const seen: string[] = []
    const inNs = await namespaceWithListed('slimmed')
    const informer = new Informer(cms, {
      namespace: 'slimmed',
      withoutManagedFields: true,
      transform: (o) => {
        seen.push(`${o.metadata?.name} ${o.metadata?.managedFields === undefined}`)
        return { metadata: { name: o.metadata?.name ?? '', namespace: 'slimmed' }, data: o.data ?? {} }
      },
    })
    const ac = new AbortController()
    const running = informer.run(ac.signal)
    try {
      await informer.waitForSync()
      await cms.create(inNs('watched'))
      await until(() => informer.lister.get('slimmed', 'watched') !== undefined, 5000, 'the watched add')
      assert.deepEqual(seen, ['listed true', 'watched true'])
      assert.deepEqual(informer.lister.get('slimmed', 'watched'), {
        metadata: { name: 'watched', namespace: 'slimmed' },
        data: { k: '1' },
      })
    } finally {
      ac.abort()
      await running
    }
  })

  test('of two candidates one leads; when it stops, the other takes over', async () => {
    const leases = new ResourceClient<Lease>(rest, builtin('coordination.k8s.io', 'v1', 'leases'))
    const timing = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 }
    const leading = new Set<string>()
    const log: string[] = []
    const start = (identity: string, releaseOnCancel: boolean) => {
      const ac = new AbortController()
      const elector = new LeaderElector(leases, {
        namespace: 'kube-system',
        name: 'test-lock',
        identity,
        releaseOnCancel,
        ...timing,
      })
      const done = elector.run(ac.signal, {
        onStartedLeading: (signal) => {
          leading.add(identity)
          log.push(`${identity} leads`)
          signal.addEventListener('abort', () => leading.delete(identity))
        },
        onStoppedLeading: () => log.push(`${identity} stopped`),
      })
      return { ac, done }
    }
    const a = start('a', true)
    await until(() => leading.size === 1, 5000, 'a leader')
    const b = start('b', false)
    await new Promise((r) => setTimeout(r, 800))
    assert.deepEqual([...leading], ['a'], 'b waits while a renews')
    let lease = await leases.get('kube-system', 'test-lock')
    assert.equal(lease.spec?.holderIdentity, 'a')
    assert.equal(lease.spec?.leaseDurationSeconds, 2)
    assert.match(lease.spec?.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)

    // a stops and releases the lease: b takes it within a retry period or two.
    const released = Date.now()
    a.ac.abort()
    await a.done
    await until(() => leading.has('b'), 3000, 'b to take over')
    assert.ok(Date.now() - released < 1500, 'a released lease is taken without waiting for it to expire')
    lease = await leases.get('kube-system', 'test-lock')
    assert.equal(lease.spec?.holderIdentity, 'b')
    assert.equal(lease.spec?.leaseTransitions, 1)

    // b dies without releasing: a new candidate waits for the lease to expire, then takes it.
    const c2 = start('c', false)
    b.ac.abort()
    await b.done
    const died = Date.now()
    await until(() => leading.has('c'), 6000, 'c to take over an expired lease')
    assert.ok(Date.now() - died >= 1500, 'c waited for the lease to expire')
    c2.ac.abort()
    await c2.done
    assert.deepEqual(log, ['a leads', 'a stopped', 'b leads', 'b stopped', 'c leads', 'c stopped'])
  })

  test('the event recorder counts repeats in one Event and combines many similar ones', async () => {
    const events = new ResourceClient<Event>(rest, builtin('', 'v1', 'events'))
    const recorder = new EventRecorder(events, { component: 'test-controller', host: 'node-1' })
    const subject = await cms.create(configMap('noisy', {}))
    for (let i = 0; i < 3; i++) recorder.event(subject, 'Normal', 'Synced', 'all good')
    for (let i = 0; i < 12; i++) recorder.event(subject, 'Warning', 'Failed', `attempt ${i} failed`)
    await recorder.flush()
    const list = await events.list('default', { fieldSelector: 'involvedObject.name=noisy' })
    const byReason = (r: string) => list.items.filter((e) => e.reason === r)
    const synced = byReason('Synced')
    assert.equal(synced.length, 1)
    assert.equal(synced[0]?.count, 3)
    assert.equal(synced[0]?.source?.component, 'test-controller')
    assert.equal(synced[0]?.involvedObject.uid, subject.metadata?.uid)
    assert.equal(synced[0]?.involvedObject.kind, 'ConfigMap')
    assert.match(synced[0]?.metadata.name ?? '', /^noisy\.[0-9a-f]+$/)
    const failed = byReason('Failed')
    // Ten distinct messages are kept apart; from the eleventh on, one combined event counts them.
    assert.equal(failed.filter((e) => !e.message?.startsWith('(combined')).length, 10)
    const combined = failed.filter((e) => e.message?.startsWith('(combined from similar events): '))
    assert.equal(combined.length, 1)
    assert.equal(combined[0]?.count, 2)
    assert.equal(combined[0]?.message, '(combined from similar events): attempt 11 failed')
  })
})
