import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { FakeClock } from '../../base/clock.ts'
import { collect, describeStorage, same, str, text } from '../conformance.ts'
import { eventRevision, isStorageError, revision } from '../interface.ts'
import { SqliteStorage } from './sqlite.ts'

const dir = mkdtempSync(join(tmpdir(), 'k8ts-sqlite-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const freshPath = () => join(dir, `store-${n++}.db`)

describeStorage('sqlite', () => ({
  open: () =>
    Promise.resolve(
      SqliteStorage.open({ path: freshPath(), progressNotifyIntervalMs: 200, ttlSweepIntervalMs: 100 }),
    ),
  progressIntervalMs: 200,
  ttlSlackMs: 300,
}))

// The WAL's fdatasync from libuv's thread pool, as on a disk slower than fsyncOnLoopMs (the suite
// above syncs on the event loop, as on a fast one).
describeStorage('sqlite, the WAL synced from the thread pool', () => ({
  open: () =>
    Promise.resolve(
      SqliteStorage.open({
        path: freshPath(),
        progressNotifyIntervalMs: 200,
        ttlSweepIntervalMs: 100,
        fsyncOnLoopMs: 0,
      }),
    ),
  progressIntervalMs: 200,
  ttlSlackMs: 300,
}))

describeStorage('sqlite in memory', () => ({
  open: () =>
    Promise.resolve(
      SqliteStorage.open({ path: ':memory:', progressNotifyIntervalMs: 200, ttlSweepIntervalMs: 100 }),
    ),
  progressIntervalMs: 200,
  ttlSlackMs: 300,
}))

describe('sqlite store', () => {
  const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

  test('a file that is not a database is refused by name and left untouched', () => {
    const path = freshPath()
    writeFileSync(path, 'this is not a database, just some text that someone put here\n'.repeat(100))
    const before = sha(path)
    assert.throws(
      () => SqliteStorage.open({ path }),
      (err) =>
        isStorageError(err, 'Unavailable') &&
        err.message.includes(path) &&
        /not a SQLite database/.test(err.message),
    )
    assert.equal(sha(path), before)
  })

  test('a database whose pages are corrupt is refused by name and left untouched', () => {
    const path = freshPath()
    const db = new DatabaseSync(path)
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
    db.close()
    const bytes = readFileSync(path)
    bytes.fill(0xa5, 100, bytes.length) // keep the 100-byte header, wreck every page after it
    writeFileSync(path, bytes)
    const before = sha(path)
    assert.throws(
      () => SqliteStorage.open({ path }),
      (err) => isStorageError(err, 'Unavailable') && err.message.includes(path),
    )
    assert.equal(sha(path), before)
  })

  test("another program's SQLite database is refused and left untouched", () => {
    const path = freshPath()
    const db = new DatabaseSync(path)
    db.exec("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('alice')")
    db.close()
    const before = sha(path)
    assert.throws(
      () => SqliteStorage.open({ path }),
      (err) =>
        isStorageError(err, 'Unavailable') &&
        /another program/.test(err.message) &&
        err.message.includes(path),
    )
    assert.equal(sha(path), before)
  })

  test('a directory in place of the file is refused by name', () => {
    assert.throws(
      () => SqliteStorage.open({ path: dir }),
      (err) => isStorageError(err, 'Unavailable') && err.message.includes(dir),
    )
  })

  test('a second opener of the same file is refused while the first holds it', async () => {
    const path = freshPath()
    const first = SqliteStorage.open({ path })
    await first.create('/a', text('1'))
    assert.throws(
      () => SqliteStorage.open({ path }),
      (err) => isStorageError(err, 'Unavailable') && /in use by another process/.test(err.message),
    )
    await first.close()
    const again = SqliteStorage.open({ path })
    assert.equal(str((await again.get('/a'))?.value), '1')
    await again.close()
  })

  test('a thread of its own copies the WAL into the database while writes go on, and the WAL starts again', async () => {
    const path = freshPath()
    // Commits never copy the WAL themselves: left alone it would hold all 16 MB written here.
    const s = SqliteStorage.open({ path, walCheckpointPages: 250, checkpointIntervalMs: 20 })
    const value = text('x'.repeat(2000))
    for (let round = 0; round < 32; round++) {
      await Promise.all(Array.from({ length: 250 }, (_, i) => s.create(`/k/${round}/${i}`, value)))
      await sleep(20)
    }
    assert.ok(
      statSync(`${path}-wal`).size < 8 * 2 ** 20,
      `the WAL grew to ${statSync(`${path}-wal`).size} bytes`,
    )
    assert.ok(statSync(path).size > 16_000_000, `the database holds only ${statSync(path).size} bytes`)
    const last = await s.currentRevision()
    await s.close()
    const r = SqliteStorage.open({ path })
    assert.equal(await r.currentRevision(), last)
    assert.equal((await r.list('/k/')).items.length, 8000)
    await r.close()
  })

  test('writes wait while another connection holds writes back (a FULL checkpoint), and reads go on', async () => {
    const path = freshPath()
    const s = SqliteStorage.open({ path })
    await s.create('/a', text('1'))
    const other = new DatabaseSync(path, { timeout: 0 })
    other.exec('BEGIN IMMEDIATE')
    let written = false
    const write = s.create('/b', text('2')).then((kv) => {
      written = true
      return kv
    })
    await sleep(50)
    assert.equal(written, false)
    assert.equal(str((await s.get('/a'))?.value), '1')
    other.exec('ROLLBACK')
    other.close()
    const kv = await write
    assert.equal(str((await s.get('/b'))?.value), '2')
    assert.equal(kv.modRevision, await s.currentRevision())
    await s.close()
  })

  test('the revision survives a reopen, even when compaction removed the newest rows', async () => {
    const path = freshPath()
    const s = SqliteStorage.open({ path })
    await s.create('/a', text('1'))
    const d = await s.delete('/a')
    await s.compact(d.revision)
    await s.close()
    const r = SqliteStorage.open({ path })
    assert.equal(await r.currentRevision(), d.revision)
    assert.equal(await r.compactedRevision(), d.revision)
    const b = await r.create('/b', text('1'))
    assert.equal(b.modRevision, d.revision + 1)
    await r.close()
  })

  test('thousands of 2 kB writes pass through WAL checkpoints and all survive a reopen', async () => {
    const path = freshPath()
    // SQLite's own checkpoint interval: 20 MB of writes pass through about five.
    const s = SqliteStorage.open({ path, walCheckpointPages: 1000 })
    const value = text('x'.repeat(2000))
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => s.create(`/k/${round}/${i}`, value)))
    }
    const last = await s.currentRevision()
    await s.close()
    const r = SqliteStorage.open({ path })
    assert.equal(await r.currentRevision(), last)
    const listed = await r.list('/k/')
    assert.equal(listed.items.length, 10_000)
    await r.close()
  })

  test('keys expire on the injected clock', async () => {
    const clock = new FakeClock()
    const s = SqliteStorage.open({ path: ':memory:', clock, ttlSweepIntervalMs: 1000 })
    const ac = new AbortController()
    const seen = collect(s.watch('/', { after: revision(0), signal: ac.signal }), 2)
    const a = await s.create('/events/a', text('1'), { ttlSeconds: 3600 })
    clock.advance(3599_000)
    await new Promise((r) => setImmediate(r))
    assert.ok(await s.get('/events/a'))
    clock.advance(2000)
    const events = await seen
    ac.abort()
    same(events[1], { type: 'delete', key: '/events/a', revision: revision(a.modRevision + 1), prev: a })
    await s.close()
  })

  test('a write with a new TTL, or without one, replaces the old expiry', async () => {
    const clock = new FakeClock()
    const s = SqliteStorage.open({ path: ':memory:', clock, ttlSweepIntervalMs: 1000 })
    const a = await s.create('/a', text('1'), { ttlSeconds: 10 })
    await s.update('/a', text('2'), a.modRevision)
    const b = await s.create('/b', text('1'), { ttlSeconds: 10 })
    await s.update('/b', text('2'), b.modRevision, { ttlSeconds: 100 })
    clock.advance(20_000)
    await new Promise((r) => setImmediate(r))
    await new Promise((r) => setImmediate(r))
    assert.equal(str((await s.get('/a'))?.value), '2')
    assert.equal(str((await s.get('/b'))?.value), '2')
    await s.close()
  })

  test('writes go ahead between the steps of a long compaction', async () => {
    const s = SqliteStorage.open({ path: freshPath(), sync: 'normal', compactBatch: 200 })
    let kv = await s.create('/hot', text('0'))
    for (let i = 1; i <= 5000; i++) kv = await s.update('/hot', text(String(i)), kv.modRevision)
    let compactionDone = false
    const compaction = s.compact(kv.modRevision).then(() => (compactionDone = true))
    const during = await s.create('/during', text('1'))
    assert.equal(compactionDone, false, 'the write waited for the whole compaction')
    await compaction
    assert.equal(str((await s.get('/hot'))?.value), '5000')
    assert.ok(await s.get('/during'))
    assert.ok(during.modRevision > kv.modRevision)
    await s.close()
  })

  test('writes stay in order while the WAL sync moves from the loop to the thread pool and back', async () => {
    // Every sync on the loop counts as too slow: the next ones go to the pool for a second, then
    // one is tried on the loop again. Batches come every 100 ms for 1.5 s, across both switches.
    const s = SqliteStorage.open({ path: freshPath(), fsyncOnLoopMs: 1e-9 })
    const ac = new AbortController()
    const watched = collect(s.watch('/k/', { after: revision(0), signal: ac.signal }), 150)
    const answered: number[] = []
    for (let round = 0; round < 15; round++) {
      const batch = Array.from({ length: 10 }, (_, i) => s.create(`/k/${round * 10 + i}`, text('x')))
      for (const kv of await Promise.all(batch)) answered.push(kv.modRevision)
      await sleep(100)
    }
    const revs = (await watched).map(eventRevision)
    ac.abort()
    assert.deepEqual(
      answered,
      answered.map((_, i) => i + 1),
    )
    assert.deepEqual(revs, answered)
    await s.close()
    const again = SqliteStorage.open({ path: s.path })
    assert.equal(str((await again.get('/k/149'))?.value), 'x')
    await again.close()
  })

  test('a watcher that stops reading loses nothing: it re-reads from history', async () => {
    const s = SqliteStorage.open({ path: freshPath(), sync: 'normal' })
    await s.create('/k/0', text('x'))
    const ac = new AbortController()
    const watch = s.watch('/', { after: revision(0), signal: ac.signal })[Symbol.asyncIterator]()
    const first = await watch.next() // the watcher is now live, and then does not read for a while
    const writes = []
    for (let i = 1; i < 25_000; i++) writes.push(s.create(`/k/${i}`, text('x')))
    await Promise.all(writes)
    const revs: number[] = []
    if (!first.done) revs.push(eventRevision(first.value))
    while (revs.length < 25_000) {
      const r = await watch.next()
      if (r.done) break
      revs.push(eventRevision(r.value))
    }
    ac.abort()
    assert.equal(revs.length, 25_000)
    assert.deepEqual(
      revs,
      revs.map((_, i) => i + 1),
    )
    await s.close()
  })
})

describe('sqlite progress requests', () => {
  test('a progress request reaches a watcher right after the events it has yet to take', async () => {
    const s = SqliteStorage.open({ path: ':memory:' })
    const ac = new AbortController()
    const watch = s.watch('/a/', { after: revision(0), signal: ac.signal, progressNotify: true })
    const it = watch[Symbol.asyncIterator]()
    const first = it.next() // registers the watcher
    const a = await s.create('/a/1', text('1'))
    await s.create('/b/1', text('1')) // outside the prefix: only the progress revision shows it
    const b = await s.create('/a/2', text('2'))
    const now = await s.currentRevision()
    await s.requestProgress()
    const got = [(await first).value, (await it.next()).value, (await it.next()).value]
    ac.abort()
    same(got, [
      { type: 'put', kv: a },
      { type: 'put', kv: b },
      { type: 'progress', revision: now },
    ])
    await s.close()
  })

  test('a watcher that started from history gets a requested progress at the revision it caught up to', async () => {
    const s = SqliteStorage.open({ path: ':memory:' })
    const a = await s.create('/a/1', text('1'))
    const ac = new AbortController()
    const watch = s.watch('/a/', { after: revision(0), signal: ac.signal, progressNotify: true })
    const it = watch[Symbol.asyncIterator]()
    await s.requestProgress() // before the watcher is even registered: nothing to send
    const first = await it.next()
    await s.requestProgress()
    const second = await it.next()
    ac.abort()
    same(
      [first.value, second.value],
      [
        { type: 'put', kv: a },
        { type: 'progress', revision: a.modRevision },
      ],
    )
    await s.close()
  })
})
