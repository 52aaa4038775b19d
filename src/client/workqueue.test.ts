import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FakeClock } from '../base/clock.ts'
import {
  BucketRateLimiter,
  ExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  runWorkers,
  TerminalError,
  WorkQueue,
} from './workqueue.ts'

const queue = (clock = new FakeClock()) =>
  new WorkQueue<string>({ clock, rateLimiter: new ExponentialFailureRateLimiter(5, 1000) })

test('items come out in the order they were first added, and duplicates collapse', async () => {
  const q = queue()
  for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k)
  assert.equal(q.length, 3)
  assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c'])
})

test('an item held by a worker is not handed out again; added meanwhile, it comes back after done()', async () => {
  const q = queue()
  q.add('a')
  const first = await q.get()
  assert.equal(first, 'a')
  q.add('a')
  q.add('a')
  assert.equal(q.length, 0, 'not queued while a worker holds it')
  q.done('a')
  assert.equal(q.length, 1)
  assert.equal(await q.get(), 'a')
  q.done('a')
  assert.equal(q.length, 0, 'done without a new add does not requeue')
})

test('a waiting get() receives the next item added', async () => {
  const q = queue()
  const waiting = q.get()
  q.add('x')
  assert.equal(await waiting, 'x')
  q.add('x')
  assert.equal(q.length, 0, 'held by the getter, so only marked for later')
})

test('addAfter adds when the time comes, keeping only the earliest pending delay', async () => {
  const clock = new FakeClock()
  const q = queue(clock)
  q.addAfter('a', 100)
  q.addAfter('a', 50)
  q.addAfter('a', 500)
  clock.advance(49)
  assert.equal(q.length, 0)
  clock.advance(1)
  assert.equal(q.length, 1)
  assert.equal(await q.get(), 'a')
  q.done('a')
  clock.advance(1000)
  assert.equal(q.length, 0, 'the later delays were dropped')
})

test('addRateLimited backs off 5 ms doubling per failure, and forget() starts over', async () => {
  const clock = new FakeClock()
  const q = queue(clock)
  const delays: number[] = []
  for (let i = 0; i < 4; i++) {
    q.addRateLimited('k')
    let waited = 0
    while (q.length === 0 && waited < 10_000) {
      clock.advance(1)
      waited++
    }
    delays.push(waited)
    const k = await q.get()
    if (k) q.done(k)
  }
  assert.deepEqual(delays, [5, 10, 20, 40])
  assert.equal(q.numRequeues('k'), 4)
  q.forget('k')
  assert.equal(q.numRequeues('k'), 0)
})

test('the exponential limiter stops at its maximum', () => {
  const l = new ExponentialFailureRateLimiter<string>(5, 1000)
  const ds = Array.from({ length: 12 }, () => l.when('x'))
  assert.deepEqual(ds.slice(0, 3), [5, 10, 20])
  assert.equal(ds.at(-1), 1000)
})

test('the bucket limiter lets a burst through, then spaces retries at its rate', () => {
  const clock = new FakeClock()
  const l = new MaxOfRateLimiter<string>(new BucketRateLimiter(10, 3, clock))
  assert.deepEqual([l.when('a'), l.when('b'), l.when('c')], [0, 0, 0])
  assert.equal(l.when('d'), 100)
  assert.equal(l.when('e'), 200)
  clock.advance(1000)
  assert.equal(l.when('f'), 0)
})

test('shutDown wakes waiting getters with undefined and refuses new items', async () => {
  const q = queue()
  const waiting = q.get()
  q.shutDown()
  assert.equal(await waiting, undefined)
  q.add('a')
  assert.equal(await q.get(), undefined)
})

test('runWorkers reconciles each key, retries failures with back-off, gives up on terminal errors', async () => {
  const clock = new FakeClock()
  const q = queue(clock)
  const ac = new AbortController()
  const seen: string[] = []
  let flaky = 0
  let active = 0
  let maxActive = 0
  const run = runWorkers(
    q,
    {
      async reconcile(key) {
        active++
        maxActive = Math.max(maxActive, active)
        seen.push(key)
        await new Promise((r) => setImmediate(r))
        active--
        if (key === 'flaky' && flaky++ < 2) throw new Error('not yet')
        if (key === 'bad') throw new TerminalError('malformed')
        if (key === 'later' && seen.filter((k) => k === 'later').length === 1) return { afterMs: 1000 }
        return undefined
      },
    },
    { workers: 2, signal: ac.signal },
  )
  for (const k of ['ok', 'flaky', 'bad', 'later']) q.add(k)
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
  }
  await settle()
  clock.advance(5)
  await settle()
  clock.advance(10)
  await settle()
  clock.advance(1000)
  await settle()
  ac.abort()
  await run
  assert.deepEqual(
    seen.filter((k) => k === 'flaky'),
    ['flaky', 'flaky', 'flaky'],
  )
  assert.deepEqual(
    seen.filter((k) => k === 'bad'),
    ['bad'],
  )
  assert.deepEqual(
    seen.filter((k) => k === 'later'),
    ['later', 'later'],
  )
  assert.equal(q.numRequeues('flaky'), 0, 'forgotten after it succeeded')
  assert.ok(maxActive <= 2)
})
