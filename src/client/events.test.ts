import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Event } from '../api/generated/types/core-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { EventRecorder } from './events.ts'
import type { ResourceClient } from './resource.ts'

/** An events client that records what it is asked to do. */
function fakeEvents(writes: string[]): ResourceClient<Event> {
  return {
    create: async (e: Event) => {
      writes.push(`create ${e.involvedObject.name ?? ''}`)
      return e
    },
    patch: async (_ns: string, name: string) => {
      writes.push(`patch ${name.split('.')[0] ?? ''}`)
      return {} as Event
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
  for (let i = 0; i < 4096; i++) recorder.event(pod(`p${i}`), 'Normal', 'Scheduled', 'assigned')
  await recorder.flush()
  writes.length = 0
  recorder.event(pod('first'), 'Normal', 'Scheduled', 'assigned')
  recorder.event(pod('p4095'), 'Normal', 'Scheduled', 'assigned')
  await recorder.flush()
  assert.deepEqual(writes, ['create first', 'patch p4095'], 'the oldest is forgotten, the newest is not')
})
