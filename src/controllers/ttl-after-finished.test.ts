import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Job } from '../api/generated/types/batch-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { IndexedCache, Lister } from '../client/index.ts'
import { TTLAfterFinishedController } from './ttl-after-finished.ts'

function job(o: { ttl?: number; finished?: string; rv?: string }): Job {
  return {
    metadata: { name: 'j', namespace: 'default', resourceVersion: o.rv ?? '7' },
    spec: { template: {}, ...(o.ttl !== undefined ? { ttlSecondsAfterFinished: o.ttl } : {}) },
    status: o.finished
      ? { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: o.finished }] }
      : {},
  }
}

function setup(cached: Job, live: Job = cached) {
  const cache = new IndexedCache<Job>()
  cache.set(cached)
  const clock = new FakeClock(Date.parse('2026-01-01T00:01:00Z'))
  const deleted: string[] = []
  const controller = new TTLAfterFinishedController({
    jobs: new Lister(cache),
    getJob: async () => live,
    deleteJob: async (ns, name, rv) => void deleted.push(`${ns}/${name}@${rv}`),
    clock,
  })
  return { controller, deleted, clock }
}

test('a finished Job is deleted once its TTL has passed, conditionally on what was read', async () => {
  const { controller, deleted, clock } = setup(job({ ttl: 100, finished: '2026-01-01T00:00:00Z' }))
  assert.deepEqual(await controller.reconcile('default/j'), { afterMs: 40_000 })
  assert.deepEqual(deleted, [])
  clock.advance(40_000)
  assert.equal(await controller.reconcile('default/j'), undefined)
  assert.deepEqual(deleted, ['default/j@7'])
})

test('Jobs without a TTL, or not finished, are left alone', async () => {
  for (const j of [job({ finished: '2026-01-01T00:00:00Z' }), job({ ttl: 0 })]) {
    const { controller, deleted } = setup(j)
    assert.equal(controller.interesting(j), false)
    await controller.reconcile('default/j')
    assert.deepEqual(deleted, [])
  }
})

test('a TTL raised since the cache saw the Job is honoured', async () => {
  const { controller, deleted } = setup(
    job({ ttl: 10, finished: '2026-01-01T00:00:00Z' }),
    job({ ttl: 3600, finished: '2026-01-01T00:00:00Z', rv: '9' }),
  )
  assert.deepEqual(await controller.reconcile('default/j'), { afterMs: 3_540_000 })
  assert.deepEqual(deleted, [])
})
