import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { guaranteedUpdate } from './guaranteed-update.ts'
import {
  eventRevision,
  isStorageError,
  revision,
  type KeyValue,
  type Revision,
  type Storage,
  type StorageErrorCode,
  type WatchEvent,
} from './interface.ts'

/**
 * The behaviour every Storage backend must have, as one suite (apiserver's store tests and
 * hono's router suite are the models). Each test works under its own key prefix, so a backend
 * may share one server between tests; tests run one after another, and only relative revisions
 * are asserted because other tests' writes share the revision counter.
 */
export interface StorageHarness {
  /** A store to test; closed by the suite after each test. */
  open(): Promise<Storage>
  /** The interval at which the store sends progress notifications to quiet watchers. */
  progressIntervalMs: number
  /** How long after its TTL a key may still be there (sweep interval, lease granularity). */
  ttlSlackMs: number
}

export function describeStorage(
  name: string,
  harness: () => StorageHarness | Promise<StorageHarness>,
  options: { skip?: string } = {},
): void {
  describe(`storage conformance: ${name}`, { skip: options.skip ?? false }, () => {
    let h: StorageHarness
    const open: Storage[] = []
    before(async () => {
      h = await harness()
    })
    after(async () => {
      for (const s of open) await s.close()
    })
    /** A test body with a fresh store handle and a key prefix of its own. */
    const it = (title: string, body: (s: Storage, p: string, h: StorageHarness) => Promise<void>): void => {
      test(title, async () => {
        const s = await h.open()
        open.push(s)
        await body(s, `/conformance/${randomUUID()}/`, h)
      })
    }

    it('create assigns the next revision, and the key starts at version 1', async (s, p) => {
      const before = await s.currentRevision()
      const a = await s.create(p + 'a', text('1'))
      const b = await s.create(p + 'b', text('2'))
      assert.ok(a.modRevision > before)
      assert.ok(b.modRevision > a.modRevision)
      assert.equal(a.createRevision, a.modRevision)
      assert.equal(a.version, 1)
      assert.equal(await s.currentRevision(), b.modRevision)
      same(await s.get(p + 'a'), a)
    })

    it('reads do not move the revision', async (s, p) => {
      await s.create(p + 'a', text('1'))
      const rev = await s.currentRevision()
      await s.get(p + 'a')
      await s.list(p)
      assert.equal(await s.currentRevision(), rev)
    })

    it('create of a live key fails with KeyExists and carries the current value', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      const err = await rejection(s.create(p + 'a', text('2')), 'KeyExists')
      same(err.current, a)
      assert.equal(str((await s.get(p + 'a'))?.value), '1')
    })

    it('get of an absent key is undefined', async (s, p) => {
      assert.equal(await s.get(p + 'missing'), undefined)
    })

    it('update at the current revision writes, keeps createRevision and bumps version', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      const b = await s.update(p + 'a', text('2'), a.modRevision)
      assert.ok(b.modRevision > a.modRevision)
      assert.equal(b.createRevision, a.createRevision)
      assert.equal(b.version, 2)
      same(await s.get(p + 'a'), b)
    })

    it('update at a stale revision fails with Conflict and carries the current value', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      const b = await s.update(p + 'a', text('2'), a.modRevision)
      const err = await rejection(s.update(p + 'a', text('3'), a.modRevision), 'Conflict')
      same(err.current, b)
      assert.equal(str((await s.get(p + 'a'))?.value), '2')
    })

    it('update and delete of an absent key fail with KeyNotFound', async (s, p) => {
      await rejection(s.update(p + 'missing', text('1'), revision(1)), 'KeyNotFound')
      await rejection(s.delete(p + 'missing'), 'KeyNotFound')
      await rejection(s.delete(p + 'missing', { expected: revision(1) }), 'KeyNotFound')
    })

    it('delete returns the last value and the revision of the deletion', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      const d = await s.delete(p + 'a')
      same(d.prev, a)
      assert.ok(d.revision > a.modRevision)
      assert.equal(await s.get(p + 'a'), undefined)
      assert.equal(await s.currentRevision(), d.revision)
    })

    it('delete with a stale expected revision fails with Conflict and deletes nothing', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      const b = await s.update(p + 'a', text('2'), a.modRevision)
      const err = await rejection(s.delete(p + 'a', { expected: a.modRevision }), 'Conflict')
      same(err.current, b)
      const d = await s.delete(p + 'a', { expected: b.modRevision })
      same(d.prev, b)
    })

    it('a key created again after a delete starts a new life', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      await s.update(p + 'a', text('2'), a.modRevision)
      await s.delete(p + 'a')
      const c = await s.create(p + 'a', text('3'))
      assert.equal(c.version, 1)
      assert.equal(c.createRevision, c.modRevision)
      assert.ok(c.createRevision > a.createRevision)
    })

    it('get at a past revision returns the value of that time', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      const b = await s.update(p + 'a', text('2'), a.modRevision)
      const d = await s.delete(p + 'a')
      same(await s.get(p + 'a', { revision: a.modRevision }), a)
      same(await s.get(p + 'a', { revision: b.modRevision }), b)
      assert.equal(await s.get(p + 'a', { revision: d.revision }), undefined)
      assert.equal(await s.get(p + 'a', { revision: revision(a.modRevision - 1) }), undefined)
    })

    it('reads at a future revision fail with InvalidArgument', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      await rejection(s.get(p + 'a', { revision: revision(a.modRevision + 1000) }), 'InvalidArgument')
      await rejection(s.list(p, { revision: revision(a.modRevision + 1000) }), 'InvalidArgument')
    })

    it('an empty key is refused with InvalidArgument', async (s) => {
      await rejection(s.create('', text('1')), 'InvalidArgument')
    })

    it('list returns the live keys under the prefix in key order, at one revision', async (s, p) => {
      await s.create(p + 'b', text('b'))
      await s.create(p + 'a', text('a'))
      await s.create(p + 'c', text('c'))
      await s.create(p.slice(0, -1) + 'x/sibling', text('not under the prefix'))
      await s.create(p + 'b/nested', text('nested'))
      await s.delete(p + 'c')
      const rev = await s.currentRevision()
      const l = await s.list(p)
      same(
        l.items.map((i) => i.key),
        [p + 'a', p + 'b', p + 'b/nested'],
      )
      assert.equal(l.revision, rev)
      assert.equal(l.more, false)
      assert.equal(l.count, 3)
    })

    it('list at a past revision sees the range as it was', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      await s.create(p + 'b', text('1'))
      const mid = await s.currentRevision()
      await s.update(p + 'a', text('2'), a.modRevision)
      await s.delete(p + 'b')
      await s.create(p + 'c', text('1'))
      const l = await s.list(p, { revision: mid })
      same(
        l.items.map((i) => [i.key, str(i.value)]),
        [
          [p + 'a', '1'],
          [p + 'b', '1'],
        ],
      )
      assert.equal(l.revision, mid)
    })

    it('a paged list continues at the revision of its first page, whatever was written since', async (s, p) => {
      for (const k of ['a', 'b', 'c', 'd', 'e']) await s.create(p + k, text(k))
      const first = await s.list(p, { limit: 2 })
      same(
        first.items.map((i) => i.key),
        [p + 'a', p + 'b'],
      )
      assert.equal(first.more, true)
      assert.equal(first.count, 5)
      await s.delete(p + 'c')
      await s.create(p + 'f', text('f'))
      const startKey = (first.items.at(-1)?.key ?? '') + '\0'
      const second = await s.list(p, { limit: 2, startKey, revision: first.revision })
      same(
        second.items.map((i) => i.key),
        [p + 'c', p + 'd'],
      )
      assert.equal(second.more, true)
      assert.equal(second.count, 3)
      const last = await s.list(p, { limit: 2, startKey: p + 'd\0', revision: first.revision })
      same(
        last.items.map((i) => i.key),
        [p + 'e'],
      )
      assert.equal(last.more, false)
    })

    it('keys and prefixes beyond ASCII sort and match as UTF-8 bytes', async (s, p) => {
      await s.create(p + 'ü/ключ', text('1'))
      await s.create(p + 'ü/日本', text('2'))
      await s.create(p + 'üb', text('3'))
      await s.create(p + 'z', text('4'))
      const l = await s.list(p + 'ü/')
      same(
        l.items.map((i) => i.key),
        [p + 'ü/ключ', p + 'ü/日本'],
      )
    })

    it('a value of 1 MiB round-trips unchanged', async (s, p) => {
      const big = new Uint8Array(1 << 20).map((_, i) => (i * 7) % 251)
      await s.create(p + 'big', big)
      same(new Uint8Array((await s.get(p + 'big'))?.value ?? []), big)
    })

    it('concurrent creates all succeed with distinct revisions', async (s, p) => {
      const kvs = await Promise.all(Array.from({ length: 200 }, (_, i) => s.create(p + i, text(String(i)))))
      assert.equal(new Set(kvs.map((k) => k.modRevision)).size, 200)
      assert.equal((await s.list(p)).items.length, 200)
    })

    it('watch delivers create, update and delete after the given revision, with previous values', async (s, p) => {
      const start = await s.currentRevision()
      const ac = new AbortController()
      const seen = collect(s.watch(p, { after: start, signal: ac.signal }), 3)
      const a = await s.create(p + 'a', text('1'))
      const b = await s.update(p + 'a', text('2'), a.modRevision)
      const d = await s.delete(p + 'a')
      const events = await seen
      ac.abort()
      same(events, [
        { type: 'put', kv: a },
        { type: 'put', kv: b, prev: a },
        { type: 'delete', key: p + 'a', revision: d.revision, prev: b },
      ])
    })

    it('watch replays history from a past revision, then goes live', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      const b = await s.create(p + 'b', text('1'))
      const ac = new AbortController()
      const seen = collect(s.watch(p, { after: revision(a.modRevision - 1), signal: ac.signal }), 3)
      await sleep(50)
      const c = await s.create(p + 'c', text('1'))
      const events = await seen
      ac.abort()
      same(
        events.map((e) => eventRevision(e)),
        [a.modRevision, b.modRevision, c.modRevision],
      )
    })

    it('watch from a revision excludes the write at that revision', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      const b = await s.create(p + 'b', text('1'))
      const ac = new AbortController()
      const events = await collect(s.watch(p, { after: a.modRevision, signal: ac.signal }), 1)
      ac.abort()
      same(events, [{ type: 'put', kv: b }])
    })

    it('watch sees only keys under its prefix', async (s, p) => {
      const ac = new AbortController()
      const seen = collect(s.watch(p + 'in/', { after: await s.currentRevision(), signal: ac.signal }), 1)
      await s.create(p + 'out', text('1'))
      await s.create(p + 'in-not', text('1'))
      const inside = await s.create(p + 'in/yes', text('1'))
      const events = await seen
      ac.abort()
      same(events, [{ type: 'put', kv: inside }])
    })

    it('watchers see every write exactly once and in order, under concurrent writes', async (s, p) => {
      const start = await s.currentRevision()
      const ac = new AbortController()
      const keys = Array.from({ length: 20 }, (_, i) => p + 'k' + i)
      const written: Revision[] = []
      const writer = async (key: string) => {
        let kv: KeyValue | undefined
        for (let i = 0; i < 15; i++) {
          if (!kv) kv = await s.create(key, text(String(i)))
          else if (i % 5 === 4) {
            written.push((await s.delete(key)).revision)
            kv = undefined
            continue
          } else kv = await s.update(key, text(String(i)), kv.modRevision)
          written.push(kv.modRevision)
        }
      }
      const early = collect(s.watch(p, { after: start, signal: ac.signal }), 300)
      const writes = Promise.all(keys.map(writer))
      await sleep(20)
      // A second watcher joins mid-way from the start: it must catch up through history.
      const late = collect(s.watch(p, { after: start, signal: ac.signal }), 300)
      await writes
      const [e1, e2] = await Promise.all([early, late])
      ac.abort()
      const expected = [...written].sort((x, y) => x - y)
      same(e1.map(eventRevision), expected)
      same(e2.map(eventRevision), expected)
    })

    it('a watch from a future revision delivers only what comes after it', async (s, p) => {
      const now = await s.currentRevision()
      const ac = new AbortController()
      const seen = collect(s.watch(p, { after: revision(now + 2), signal: ac.signal }), 1)
      await s.create(p + 'a', text('1'))
      await s.create(p + 'b', text('1'))
      const c = await s.create(p + 'c', text('1'))
      const events = await seen
      ac.abort()
      same(
        events.map(eventRevision).filter((r) => r <= c.modRevision),
        [c.modRevision],
      )
    })

    it('aborting the signal ends the watch without an error', async (s, p) => {
      const ac = new AbortController()
      const done = (async () => {
        let n = 0
        for await (const _ of s.watch(p, { after: await s.currentRevision(), signal: ac.signal })) n++
        return n
      })()
      await sleep(50)
      ac.abort()
      assert.equal(await withTimeout(done, 5000, 'the watch did not end after abort'), 0)
    })

    it('quiet watchers that ask for it get progress notifications at the current revision', async (s, p, h) => {
      const a = await s.create(p + 'a', text('1'))
      const ac = new AbortController()
      const events = await withTimeout(
        collect(s.watch(p, { after: a.modRevision, signal: ac.signal, progressNotify: true }), 1),
        h.progressIntervalMs * 4 + 3000,
        'no progress notification arrived',
      )
      ac.abort()
      const e = events[0]
      assert.equal(e?.type, 'progress')
      assert.ok(eventRevision(e) >= a.modRevision)
    })

    it('compaction forgets superseded history but keeps every current value', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      const b = await s.update(p + 'a', text('2'), a.modRevision)
      const gone = await s.create(p + 'gone', text('1'))
      const d = await s.delete(p + 'gone')
      const c = await s.update(p + 'a', text('3'), b.modRevision)
      await s.compact(d.revision)
      assert.equal(await s.compactedRevision(), d.revision)
      await rejection(s.get(p + 'a', { revision: a.modRevision }), 'Compacted')
      await rejection(s.list(p, { revision: gone.modRevision }), 'Compacted')
      same(await s.get(p + 'a', { revision: d.revision }), b)
      same(await s.get(p + 'a'), c)
      assert.equal(await s.get(p + 'gone'), undefined)
      same(
        (await s.list(p)).items.map((i) => i.key),
        [p + 'a'],
      )
      await rejection(s.compact(d.revision), 'Compacted')
    })

    it('a watch from before the compacted revision fails with Compacted; from it, it works', async (s, p) => {
      const a = await s.create(p + 'a', text('1'))
      const b = await s.update(p + 'a', text('2'), a.modRevision)
      const c = await s.update(p + 'a', text('3'), b.modRevision)
      await s.compact(b.modRevision)
      const ac = new AbortController()
      await assert.rejects(
        collect(s.watch(p, { after: a.modRevision, signal: ac.signal }), 1),
        (err) => isStorageError(err, 'Compacted') && err.compactedRevision === b.modRevision,
      )
      const events = await collect(s.watch(p, { after: b.modRevision, signal: ac.signal }), 1)
      ac.abort()
      same(events, [{ type: 'put', kv: c, prev: b }])
    })

    it('a key written with a TTL is deleted after it, and watchers see the delete', async (s, p, h) => {
      const start = await s.currentRevision()
      const ac = new AbortController()
      const seen = collect(s.watch(p, { after: start, signal: ac.signal }), 3)
      const short = await s.create(p + 'short', text('1'), { ttlSeconds: 1 })
      const kept = await s.create(p + 'kept', text('1'))
      const events = await withTimeout(seen, 1000 + h.ttlSlackMs + 5000, 'the key with a TTL was not deleted')
      ac.abort()
      const expiry = events[2]
      assert.ok(expiry)
      same(expiry, { type: 'delete', key: p + 'short', revision: eventRevision(expiry), prev: short })
      assert.equal(await s.get(p + 'short'), undefined)
      same(await s.get(p + 'kept'), kept)
    })

    it('guaranteedUpdate loses no update among concurrent writers', async (s, p) => {
      await s.create(p + 'counter', text('0'))
      await Promise.all(
        Array.from({ length: 20 }, () =>
          guaranteedUpdate(s, p + 'counter', (cur) => text(String(Number(str(cur?.value)) + 1))),
        ),
      )
      assert.equal(str((await s.get(p + 'counter'))?.value), '20')
    })

    it('guaranteedUpdate writes nothing when the value does not change, and creates when absent', async (s, p) => {
      const created = await guaranteedUpdate(s, p + 'a', (cur) => (cur ? undefined : text('1')))
      assert.equal(created?.version, 1)
      const rev = await s.currentRevision()
      const unchanged = await guaranteedUpdate(s, p + 'a', (cur) => cur?.value)
      same(unchanged, created)
      assert.equal(await s.currentRevision(), rev)
      // A stale cached value is corrected by the conflict, not written over the newer one.
      const newer = await s.update(p + 'a', text('2'), created?.modRevision ?? revision(0))
      const next = await guaranteedUpdate(s, p + 'a', (cur) => text(str(cur?.value) + '+'), {
        ...(created ? { cached: created } : {}),
      })
      assert.equal(str(next?.value), '2+')
      assert.ok((next?.modRevision ?? 0) > newer.modRevision)
    })

    it('closing the store ends its watches with Unavailable', async (s, p) => {
      const watching = collect(
        s.watch(p, { after: await s.currentRevision(), signal: new AbortController().signal }),
        1,
      )
      await sleep(50)
      await s.close()
      await assert.rejects(withTimeout(watching, 5000, 'the watch did not end'), (err) =>
        isStorageError(err, 'Unavailable'),
      )
    })
  })
}

// --- helpers shared by backend tests -------------------------------------------------------------

export function text(s: string): Uint8Array {
  return Buffer.from(s, 'utf8')
}

export function str(b: Uint8Array | undefined): string {
  return b === undefined ? '' : Buffer.from(b).toString('utf8')
}

/** The first `n` events of a watch (the iteration stops there). */
export async function collect(events: AsyncIterable<WatchEvent>, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = []
  if (n === 0) return out
  for await (const e of events) {
    out.push(e)
    if (out.length >= n) break
  }
  return out
}

export async function rejection(p: Promise<unknown>, code: StorageErrorCode) {
  try {
    await p
  } catch (err) {
    if (isStorageError(err, code)) return err
    throw err
  }
  assert.fail(`expected a StorageError ${code}`)
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (within ${ms} ms)`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/**
 * deepEqual that treats every Uint8Array alike: backends may hand back Buffers (a Uint8Array
 * subclass) where the caller passed a plain Uint8Array, and both honour the interface.
 */
export function same(actual: unknown, expected: unknown, message?: string): void {
  assert.deepEqual(plain(actual), plain(expected), message)
}

function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v)
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  }
  return v
}
