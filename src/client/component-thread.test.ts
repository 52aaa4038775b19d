import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setImmediate as settled } from 'node:timers/promises'
import { Registry } from 'prom-client'
import { FakeClock } from '../base/clock.ts'
import { superviseComponentThread, type ComponentThread } from './component-thread.ts'

/** A component thread the test ends as it likes: failed, or its lease lost. */
class FakeThread implements ComponentThread {
  readonly #done = Promise.withResolvers<void>()
  readonly done = this.#done.promise
  lostLeadership = false
  stops = 0
  readonly metrics: ComponentThread['metrics']

  constructor(id: number) {
    this.done.catch(() => undefined)
    this.metrics = {
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      metrics: () => Promise.resolve(`thread ${id}`),
      getMetricsAsJSON: () => Promise.resolve([]),
    }
  }

  fail(message: string): void {
    this.#done.reject(new Error(message))
  }

  loseLease(): void {
    this.lostLeadership = true
    this.#done.resolve()
  }

  stop(): Promise<void> {
    this.stops++
    this.#done.resolve()
    return Promise.resolve()
  }
}

function supervised() {
  const clock = new FakeClock()
  const threads: FakeThread[] = []
  const logged: { level: string; message: string; restartInMs: number }[] = []
  const entry = (level: string) => (fields: { restartInMs: number }, message: string) =>
    logged.push({ level, message, restartInMs: fields.restartInMs })
  const supervisor = superviseComponentThread(
    'scheduler',
    () => {
      const t = new FakeThread(threads.length)
      threads.push(t)
      return t
    },
    { clock, log: { warn: entry('warn'), error: entry('error') } as never },
  )
  const last = () => threads.at(-1) as FakeThread
  return { clock, threads, logged, supervisor, last }
}

test('a thread that fails is started again at once, then after CrashLoopBackOff delays; its metrics follow', async () => {
  const { clock, threads, logged, supervisor, last } = supervised()
  assert.equal(await supervisor.metrics.metrics(), 'thread 0')
  last().fail('boom')
  await settled()
  clock.advance(0)
  assert.equal(threads.length, 2, 'started again at once')
  assert.equal(await supervisor.metrics.metrics(), 'thread 1')
  assert.deepEqual(logged[0], {
    level: 'error',
    message: 'the scheduler failed: boom: starting it again',
    restartInMs: 0,
  })
  for (const delay of [10_000, 20_000, 40_000]) {
    last().fail('again')
    await settled()
    clock.advance(delay - 1)
    assert.equal(threads.length, logged.length, `not before ${delay} ms`)
    clock.advance(1)
    assert.equal(threads.length, logged.length + 1, `after ${delay} ms`)
  }
  assert.deepEqual(
    logged.map((l) => l.restartInMs),
    [0, 10_000, 20_000, 40_000],
  )
  await supervisor.stop()
  assert.equal(last().stops, 1)
  await supervisor.done
})

test('a thread that lost its lease is stopped and started again; after ten minutes of running, at once', async () => {
  const { clock, threads, logged, supervisor, last } = supervised()
  last().fail('first')
  await settled()
  clock.advance(0)
  const second = last()
  second.loseLease()
  await settled()
  assert.equal(second.stops, 1, 'a thread that lost its lease is stopped before another starts')
  assert.deepEqual(logged[1], {
    level: 'warn',
    message: 'the scheduler lost its lease: starting it again',
    restartInMs: 10_000,
  })
  clock.advance(10_000)
  assert.equal(threads.length, 3)
  clock.advance(600_000)
  last().fail('late')
  await settled()
  clock.advance(0)
  assert.equal(threads.length, 4, 'ten minutes of running start the delays over')
  assert.equal(logged[2]?.restartInMs, 0)
  await supervisor.stop()
})

test('stop() while a restart waits: nothing starts again', async () => {
  const { clock, threads, supervisor, last } = supervised()
  last().fail('first')
  await settled()
  clock.advance(0)
  last().fail('second')
  await settled()
  await supervisor.stop()
  clock.advance(600_000)
  assert.equal(threads.length, 2)
  await supervisor.done
})
