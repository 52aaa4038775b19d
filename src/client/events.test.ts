import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Event } from '../api/generated/types/core-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { EventRecorder } from './events.ts'
import type { ResourceClient } from './resource.ts'

/** An events client that records what it is asked to do. */
function fakeEvents(writes: string[]): ResourceClient<Event> {
  return {
    createUnread: async (e: Event) => {
      writes.push(`create ${e.involvedObject.name ?? ''}`)
    },
    patchUnread: async (_ns: string, name: string) => {
      writes.push(`patch ${name.split('.')[0] ?? ''}`)
    },
  } as unknown as ResourceClient<Event>
}

const pod = (name: string) => ({
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { name, namespace: 'default', uid: `${name}-uid` },
})

test('a repeated event patches the one written; the correlator remembers only the newest 4096', async () => {
  const writes: string[] = []
  const recorder = new EventRecorder(fakeEvents(writes), {
    component: 'test',
    host: 'h',
    clock: new FakeClock(),
  })
  recorder.event(pod('first'), 'Normal', 'Scheduled', 'assigned')
  recorder.event(pod('first'), 'Normal', 'Scheduled', 'assigned')
  await recorder.flush()
  assert.deepEqual(writes, ['create first', 'patch first'])
  // In turns that the queue takes whole (it holds 1,000).
  for (let i = 0; i < 4096; i++) {
    recorder.event(pod(`p${i}`), 'Normal', 'Scheduled', 'assigned')
    if (i % 1000 === 999) await recorder.flush()
  }
  await recorder.flush()
  writes.length = 0
  recorder.event(pod('first'), 'Normal', 'Scheduled', 'assigned')
  recorder.event(pod('p4095'), 'Normal', 'Scheduled', 'assigned')
  await recorder.flush()
  assert.deepEqual(writes, ['create first', 'patch p4095'], 'the oldest is forgotten, the newest is not')
})

test('close() gives up on an event waiting to retry and gives each queued one a single attempt', async () => {
  const clock = new FakeClock()
  const attempts: string[] = []
  const unreachable = {
    createUnread: async (e: Event) => {
      attempts.push(e.involvedObject.name ?? '')
      throw new Error('connect ECONNREFUSED')
    },
  } as unknown as ResourceClient<Event>
  const recorder = new EventRecorder(unreachable, { component: 'test', host: 'h', clock })
  recorder.event(pod('a'), 'Normal', 'Started', 'started')
  recorder.event(pod('b'), 'Normal', 'Started', 'started')
  // The first write failed and waits 1 s to retry; time does not move here.
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(attempts, ['a'])
  await recorder.close()
  assert.deepEqual(attempts, ['a', 'b'], 'no retry of a, one attempt for b')

  // Without close(), a failing write is tried three times, 1 s and then 2 s apart.
  const retried = new EventRecorder(unreachable, { component: 'test', host: 'h', clock })
  attempts.length = 0
  retried.event(pod('c'), 'Normal', 'Started', 'started')
  const flushed = retried.flush()
  for (const ms of [1000, 2000]) {
    await new Promise((r) => setImmediate(r))
    clock.advance(ms)
  }
  await flushed
  assert.deepEqual(attempts, ['c', 'c', 'c'])
})

test('at most 1,000 events wait to be written: more are dropped until the queue drains', async () => {
  const writes: string[] = []
  let release = () => {}
  const blocked = new Promise<void>((r) => (release = r))
  const slow = fakeEvents(writes)
  const create = slow.createUnread.bind(slow)
  slow.createUnread = async (e: Event) => {
    await blocked
    return create(e)
  }
  const recorder = new EventRecorder(slow, { component: 'test', host: 'h', clock: new FakeClock() })
  for (let i = 0; i < 1005; i++) recorder.event(pod(`p${i}`), 'Normal', 'Scheduled', 'assigned')
  release()
  await recorder.flush()
  assert.equal(writes.length, 1000)
  assert.equal(writes.at(-1), 'create p999', 'the last five were dropped')
  recorder.event(pod('later'), 'Normal', 'Scheduled', 'assigned')
  await recorder.flush()
  assert.equal(writes.at(-1), 'create later', 'once written, the queue takes events again')
})
