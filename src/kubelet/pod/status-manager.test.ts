import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod, PodStatus } from '../../api/generated/types/core-v1.ts'
import { deepFreeze } from '../../api/object.ts'
import { FakeClock } from '../../base/clock.ts'
import { StatusManager, type PodRef, type PodStatusWriter } from './status-manager.ts'

function setup() {
  const clock = new FakeClock()
  const patches: { ref: PodRef; status: PodStatus }[] = []
  const writer: PodStatusWriter = {
    patchStatus: async (ref, status) => void patches.push({ ref, status: structuredClone(status) }),
    deletePod: async () => {},
  }
  return { clock, patches, manager: new StatusManager({ writer, clock }) }
}

const pod: Pod = {
  metadata: { name: 'web', namespace: 'default', uid: 'u-1' },
  spec: { containers: [{ name: 'app', image: 'busybox' }] },
  status: {
    phase: 'Pending',
    qosClass: 'BestEffort',
    conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-12-31T00:00:00Z' }],
  },
}

test('writes only changes, with the uid, keeping PodScheduled, startTime and unchanged transition times', async () => {
  const t = setup()
  const running: PodStatus = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }
  await t.manager.setPodStatus(pod, running)
  assert.equal(t.patches.length, 1)
  const first = t.patches[0]
  assert.deepEqual(first?.ref, { namespace: 'default', name: 'web', uid: 'u-1' })
  assert.equal(first?.status.startTime, '2026-01-01T00:00:00Z')
  assert.deepEqual(
    first?.status.conditions?.map((c) => [c.type, c.status, c.lastTransitionTime]),
    [
      ['Ready', 'True', '2026-01-01T00:00:00Z'],
      ['PodScheduled', 'True', '2025-12-31T00:00:00Z'],
    ],
  )
  assert.equal(first?.status.qosClass, 'BestEffort')

  t.clock.advance(5000)
  await t.manager.setPodStatus(pod, running)
  assert.equal(t.patches.length, 1, 'unchanged: not written')

  await t.manager.setPodStatus(pod, { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] })
  assert.equal(t.patches.length, 2)
  assert.equal(t.patches[1]?.status.conditions?.[0]?.lastTransitionTime, '2026-01-01T00:00:05Z')
  assert.equal(t.patches[1]?.status.startTime, '2026-01-01T00:00:00Z')
})

test('a status that differs only in key order or undefined fields is not written again', async () => {
  const t = setup()
  const generated: PodStatus = {
    phase: 'Running',
    hostIP: '10.0.0.1',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [{ name: 'app', image: 'busybox', imageID: '', ready: true, restartCount: 0 }],
  }
  // The generated status is the caller's: it is left as it was.
  await t.manager.setPodStatus(pod, deepFreeze(generated))
  assert.equal(t.patches.length, 1)
  const reordered: PodStatus = {
    containerStatuses: [{ restartCount: 0, ready: true, imageID: '', image: 'busybox', name: 'app' }],
    conditions: [{ status: 'True', type: 'Ready', message: undefined }],
    hostIP: '10.0.0.1',
    podIP: undefined,
    phase: 'Running',
  }
  await t.manager.setPodStatus(pod, reordered)
  assert.equal(t.patches.length, 1, 'the same status: not written')
  await t.manager.setPodStatus(pod, { ...reordered, podIP: '10.244.0.5' })
  assert.equal(t.patches.length, 2)
  assert.equal(t.patches[1]?.status.podIP, '10.244.0.5')
})

test('a terminal phase is never left', async () => {
  const t = setup()
  await t.manager.setPodStatus(pod, { phase: 'Failed' })
  const written = await t.manager.setPodStatus(pod, { phase: 'Running' })
  assert.equal(written.phase, 'Failed')
  assert.deepEqual(
    t.patches.map((p) => p.status.phase),
    ['Failed'],
  )
})

test('conditions others own are taken from the pod as the API shows it now', async () => {
  const t = setup()
  await t.manager.setPodStatus(pod, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] })
  const disrupted: Pod = structuredClone(pod)
  disrupted.status?.conditions?.push({
    type: 'DisruptionTarget',
    status: 'True',
    reason: 'EvictionByEvictionAPI',
  })
  await t.manager.setPodStatus(disrupted, {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True' }],
  })
  assert.deepEqual(
    t.patches.at(-1)?.status.conditions?.map((c) => c.type),
    ['Ready', 'PodScheduled', 'DisruptionTarget'],
  )
})
