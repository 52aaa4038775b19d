import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FakeClock } from '../base/clock.ts'
import { startCompactor } from './compactor.ts'
import { text } from './conformance.ts'
import { isStorageError, type Revision } from './interface.ts'
import { SqliteStorage } from './sqlite/sqlite.ts'

/** Lets the compactor's promise chain run after the fake clock fired its timer. */
const settle = () => new Promise((r) => setTimeout(r, 20))

test('the compactor keeps one interval of history: it compacts to what it saw an interval ago', async () => {
  const clock = new FakeClock()
  const s = SqliteStorage.open({ path: ':memory:', clock })
  const compacted: Revision[] = []
  const c = startCompactor(s, {
    clock,
    intervalMs: 300_000,
    onCompact: (r) => 'revision' in r && compacted.push(r.revision),
  })
  const a = await s.create('/a', text('1'))
  clock.advance(300_000) // first tick: remembers a's revision, compacts nothing
  await settle()
  assert.deepEqual(compacted, [])
  const b = await s.update('/a', text('2'), a.modRevision)
  clock.advance(300_000) // second tick: compacts up to a's revision
  await settle()
  assert.deepEqual(compacted, [a.modRevision])
  assert.equal(await s.compactedRevision(), a.modRevision)
  assert.ok(await s.get('/a', { revision: a.modRevision }))
  clock.advance(300_000) // third tick: up to b's revision; a's value is gone
  await settle()
  assert.deepEqual(compacted, [a.modRevision, b.modRevision])
  await assert.rejects(s.get('/a', { revision: a.modRevision }), (err) => isStorageError(err, 'Compacted'))
  c.stop()
  await s.close()
})

test('the compactor does nothing while no write happened since its last compaction', async () => {
  const clock = new FakeClock()
  const s = SqliteStorage.open({ path: ':memory:', clock })
  const outcomes: unknown[] = []
  const c = startCompactor(s, { clock, intervalMs: 1000, onCompact: (r) => outcomes.push(r) })
  await s.create('/a', text('1'))
  for (let i = 0; i < 5; i++) {
    clock.advance(1000)
    await settle()
  }
  assert.equal(outcomes.length, 1)
  c.stop()
  await s.close()
})
