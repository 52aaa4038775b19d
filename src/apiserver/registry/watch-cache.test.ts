import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pino } from 'pino'
import { SqliteStorage } from '../../storage/sqlite/sqlite.ts'
import { decodeJson, WatchCache, type CacheEvent } from './watch-cache.ts'

const log = pino({ level: 'silent' })
const prefix = '/registry/core/configmaps/'
const obj = (ns: string, name: string, data: Record<string, string> = {}) =>
  Buffer.from(
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data }),
  )

async function setup(windowCapacity = 100) {
  const storage = SqliteStorage.open({ path: ':memory:' })
  const cache = new WatchCache({ storage, prefix, namespaced: true, decode: decodeJson, log, windowCapacity })
  return { storage, cache }
}

async function take(events: AsyncIterable<CacheEvent>, n: number): Promise<CacheEvent[]> {
  const out: CacheEvent[] = []
  for await (const e of events) {
    out.push(e)
    if (out.length === n) break
  }
  return out
}

test('the cache starts from a list and then follows writes, with resourceVersion set from the revision', async () => {
  const { storage, cache } = await setup()
  const a = await storage.create(prefix + 'default/a', obj('default', 'a'))
  await cache.start()
  assert.equal(cache.get(prefix + 'default/a')?.object.metadata.resourceVersion, String(a.modRevision))
  const b = await storage.create(prefix + 'kube-system/b', obj('kube-system', 'b'))
  assert.ok(await cache.waitFor(b.modRevision, 1000))
  assert.deepEqual(
    cache.list().map((o) => [o.namespace, o.name]),
    [
      ['default', 'a'],
      ['kube-system', 'b'],
    ],
  )
  assert.deepEqual(
    cache.list('kube-system').map((o) => o.name),
    ['b'],
  )
  assert.equal(
    (
      JSON.parse(cache.get(prefix + 'kube-system/b')?.json.toString() ?? '{}') as {
        metadata: { resourceVersion: string }
      }
    ).metadata.resourceVersion,
    String(b.modRevision),
  )
  cache.stop()
  await storage.close()
})

test('a watch replays the window after its revision and goes on live; deletes carry the deletion revision', async () => {
  const { storage, cache } = await setup()
  await cache.start()
  const a = await storage.create(prefix + 'ns/a', obj('ns', 'a'))
  const a2 = await storage.update(prefix + 'ns/a', obj('ns', 'a', { k: 'v' }), a.modRevision)
  assert.ok(await cache.waitFor(a2.modRevision, 1000))
  const ac = new AbortController()
  const events = cache.watch(a.modRevision, ac.signal)
  assert.ok(events)
  const d = await storage.delete(prefix + 'ns/a')
  const got = await take(events, 2)
  ac.abort()
  assert.deepEqual(
    got.map((e) => e.type),
    ['MODIFIED', 'DELETED'],
  )
  const del = got[1]
  assert.equal(
    del?.type === 'DELETED' ? del.previous.object.metadata.resourceVersion : '',
    String(d.revision),
  )
  cache.stop()
  await storage.close()
})

test('versions replaced or deleted read the same from the window as when they were current', async () => {
  const { storage, cache } = await setup()
  await cache.start()
  const a = await storage.create(prefix + 'ns/a', obj('ns', 'a', { k: 'one' }))
  assert.ok(await cache.waitFor(a.modRevision, 1000))
  const first = cache.get(prefix + 'ns/a')
  const asCurrent = structuredClone(first?.object)
  const a2 = await storage.update(prefix + 'ns/a', obj('ns', 'a', { k: 'two' }), a.modRevision)
  const d = await storage.delete(prefix + 'ns/a')
  assert.ok(await cache.waitFor(d.revision, 1000))
  // A reader that held the first version still reads it, decoded again from its JSON.
  assert.deepEqual(first?.object, asCurrent)
  assert.equal(first?.object, first?.object)
  if (process.env.K8TS_FREEZE_CACHE === '1') assert.ok(Object.isFrozen(first?.object.metadata))
  // A watch resuming from before them replays every version as it was.
  const ac = new AbortController()
  const events = cache.watch(a.modRevision - 1, ac.signal)
  assert.ok(events)
  const got = await take(events, 3)
  ac.abort()
  const seen = got.map((e) =>
    e.type === 'ADDED'
      ? ['ADDED', e.current.object.data, e.current.object.metadata.resourceVersion]
      : e.type === 'MODIFIED'
        ? [
            'MODIFIED',
            e.previous.object.data,
            e.current.object.data,
            e.current.object.metadata.resourceVersion,
          ]
        : e.type === 'DELETED'
          ? ['DELETED', e.previous.object.data, e.previous.object.metadata.resourceVersion]
          : [e.type],
  )
  assert.deepEqual(seen, [
    ['ADDED', { k: 'one' }, String(a.modRevision)],
    ['MODIFIED', { k: 'one' }, { k: 'two' }, String(a2.modRevision)],
    ['DELETED', { k: 'two' }, String(d.revision)],
  ])
  cache.stop()
  await storage.close()
})

test('a watch from before the window is refused, and the window slides', async () => {
  const { storage, cache } = await setup(3)
  await cache.start()
  let last = 0
  for (let i = 0; i < 5; i++)
    last = (await storage.create(prefix + `ns/c${i}`, obj('ns', `c${i}`))).modRevision
  assert.ok(await cache.waitFor(last, 1000))
  assert.equal(cache.watch(0, new AbortController().signal), undefined)
  assert.ok(cache.watch(cache.windowStart, new AbortController().signal))
  assert.equal(cache.windowStart, last - 3)
  cache.stop()
  await storage.close()
})

test('catchUp makes a read after a write see it, through a progress request', async () => {
  const { storage, cache } = await setup()
  await cache.start()
  await storage.create('/registry/core/secrets/ns/other', obj('ns', 'other')) // another resource moves the revision
  assert.equal(await cache.catchUp(), true)
  assert.equal(cache.revision, await storage.currentRevision())
  cache.stop()
  await storage.close()
})

test('a watcher that stops reading is ended instead of holding events forever', async () => {
  const storage = SqliteStorage.open({ path: ':memory:' })
  const cache = new WatchCache({ storage, prefix, namespaced: true, decode: decodeJson, log, maxPending: 5 })
  await cache.start()
  const events = cache.watch(cache.revision, new AbortController().signal)
  assert.ok(events)
  let last = 0
  for (let i = 0; i < 10; i++)
    last = (await storage.create(prefix + `ns/x${i}`, obj('ns', `x${i}`))).modRevision
  assert.ok(await cache.waitFor(last, 1000))
  const got = await take(events, 100)
  assert.equal(got.length, 5)
  cache.stop()
  await storage.close()
})

test('a subscriber gets the backlog at once, then live events pushed; one that cannot keep up is ended', async () => {
  const { storage, cache } = await setup()
  await cache.start()
  const from = cache.revision
  const a = await storage.create(prefix + 'default/a', obj('default', 'a'))
  assert.ok(await cache.waitFor(a.modRevision, 1000))
  const seen: string[] = []
  let ended = 0
  const ac = new AbortController()
  assert.equal(
    cache.subscribe(from, ac.signal, {
      event: (e) => {
        seen.push(
          `${e.type}:${e.type === 'ADDED' || e.type === 'MODIFIED' ? e.current.name : e.type === 'DELETED' ? e.previous.name : ''}`,
        )
        return seen.length < 3
      },
      end: () => ended++,
    }),
    true,
  )
  assert.deepEqual(seen, ['ADDED:a'], 'the backlog is delivered during subscribe')
  const b = await storage.create(prefix + 'default/b', obj('default', 'b'))
  assert.ok(await cache.waitFor(b.modRevision, 1000))
  assert.deepEqual(seen, ['ADDED:a', 'ADDED:b'])
  const c = await storage.create(prefix + 'default/c', obj('default', 'c'))
  assert.ok(await cache.waitFor(c.modRevision, 1000))
  assert.equal(ended, 1, 'the third event found the sink full: the watch ended')
  const d = await storage.create(prefix + 'default/d', obj('default', 'd'))
  assert.ok(await cache.waitFor(d.modRevision, 1000))
  assert.equal(seen.length, 3, 'nothing more after the end')

  // A reader that goes away on its own is detached, not ended.
  let quiet = 0
  const gone = new AbortController()
  cache.subscribe(cache.revision, gone.signal, { event: () => true, end: () => quiet++ })
  gone.abort()
  const e = await storage.create(prefix + 'default/e', obj('default', 'e'))
  assert.ok(await cache.waitFor(e.modRevision, 1000))
  assert.equal(quiet, 0)
  assert.equal(
    cache.subscribe(-1, new AbortController().signal, { event: () => true, end: () => undefined }),
    false,
  )
  ac.abort()
  cache.stop()
  await storage.close()
})

test('only the most recently written or decoded objects stay decoded; the others are decoded again, the same, and keep their labels', async () => {
  const storage = SqliteStorage.open({ path: ':memory:' })
  const cache = new WatchCache({
    storage,
    prefix,
    namespaced: true,
    decode: decodeJson,
    log,
    decodedObjects: 2,
  })
  await cache.start()
  const labelled = (name: string) =>
    Buffer.from(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: 'default', labels: { app: name } },
        data: { k: name },
      }),
    )
  let last = 0
  for (const name of ['a', 'b', 'c'])
    last = (await storage.create(prefix + `default/${name}`, labelled(name))).modRevision
  assert.ok(await cache.waitFor(last, 1000))
  const get = (name: string) => cache.get(prefix + `default/${name}`)
  // b and c were written last: their decoded objects are kept, the same each time they are read.
  const b = get('b')?.object
  assert.equal(get('b')?.object, b)
  assert.equal(get('c')?.object, get('c')?.object)
  // a let its decoded form go, and keeps its labels beside its JSON.
  assert.deepEqual(get('a')?.labels, { app: 'a' })
  const a = get('a')?.object
  assert.equal(a?.metadata.name, 'a')
  assert.deepEqual((a as { data?: unknown } | undefined)?.data, { k: 'a' })
  // Decoded again, a is the newest in use and stays; b, the oldest, lets its decoded form go.
  assert.equal(get('a')?.object, a)
  const bAgain = get('b')?.object
  assert.notEqual(bAgain, b)
  assert.deepEqual(bAgain, b)
  cache.stop()
  await storage.close()
})
