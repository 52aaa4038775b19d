import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node, Pod } from '../api/generated/types/core-v1.ts'
import { FakeClock, realClock } from '../base/clock.ts'
import { Scheduler } from './scheduler.ts'

const node = (name: string): Node => ({
  metadata: { name },
  status: { allocatable: { cpu: '64', memory: '256Gi', pods: '1000' } },
})

const pod = (i: number): Pod => ({
  metadata: { name: `p${i}`, namespace: 'default', uid: `u${i}` },
  spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '1m' } } }] },
})

const control = {
  bind: () => Promise.resolve(),
  deleteVictim: () => Promise.resolve(),
  setNominatedNodeName: () => Promise.resolve(),
  markUnschedulable: () => Promise.resolve(),
}

test('the queue backs off for as long as the configuration says (podInitialBackoffSeconds)', async () => {
  const clock = new FakeClock()
  const s = new Scheduler({ clock, recorder: { event: () => {} }, control, initialBackoffMs: 4000 })
  s.podHandler().add?.(pod(1), false)
  const q = await s.queue.pop()
  assert.ok(q)
  await s.scheduleOne(q) // no nodes: unschedulable
  assert.equal(s.queue.sizes.unschedulable, 1)
  s.nodeHandler().add?.(node('n1'), false) // a node came: worth another try, after the back-off
  assert.equal(s.queue.sizes.backoff, 1)
  clock.advance(3000)
  s.queue.flush()
  assert.equal(s.queue.sizes.backoff, 1, 'still backing off after 3 s (the default would be 1 s)')
  clock.advance(1000)
  s.queue.flush()
  assert.deepEqual([s.queue.sizes.backoff, s.queue.sizes.active], [0, 1])
})

test('a long queue does not hold the thread: timers and I/O get their turn while pods are scheduled', async () => {
  const bound: string[] = []
  const s = new Scheduler({
    clock: realClock,
    recorder: { event: () => {} },
    control: {
      bind: (p) => {
        bound.push(p.metadata?.name ?? '')
        return Promise.resolve()
      },
      deleteVictim: () => Promise.resolve(),
      setNominatedNodeName: () => Promise.resolve(),
      markUnschedulable: () => Promise.resolve(),
    },
  })
  const nodes = s.nodeHandler()
  for (let i = 0; i < 200; i++) nodes.add?.(node(`n${i}`), false)
  const pods = s.podHandler()
  const total = 3000
  for (let i = 0; i < total; i++) pods.add?.(pod(i), false)

  const ac = new AbortController()
  const running = s.run(ac.signal)
  try {
    // A timer set now fires while the queue still holds pods, not after it is empty.
    const seen = await new Promise<number>((resolve) => setTimeout(() => resolve(bound.length), 1))
    assert.ok(seen < total, `the timer ran only after all ${total} pods were scheduled`)
    while (bound.length < total) await new Promise((r) => setTimeout(r, 10))
  } finally {
    ac.abort()
    await running
  }
  assert.equal(new Set(bound).size, total)
})

test('a binding that fails frees the room, queues the pod again and clears its nomination', async () => {
  const cleared: (string | undefined)[] = []
  const s = new Scheduler({
    clock: new FakeClock(),
    recorder: { event: () => {} },
    control: {
      ...control,
      bind: () => Promise.reject(new Error('connection reset')),
      setNominatedNodeName: (p, n) => {
        cleared.push(`${p.metadata?.name ?? ''}:${n ?? '(none)'}`)
        return Promise.resolve()
      },
    },
  })
  s.nodeHandler().add?.(node('n1'), false)
  const nominated = { ...pod(1), status: { nominatedNodeName: 'n1' } }
  s.podHandler().add?.(nominated, false)
  const q = await s.queue.pop()
  assert.ok(q)
  await s.scheduleOne(q)
  // The binding cycle runs in the background: wait for it to give up.
  for (let i = 0; i < 100 && cleared.length === 0; i++) await new Promise((r) => setImmediate(r))
  assert.deepEqual(cleared, ['p1:(none)'])
  assert.equal(s.cache.node('n1')?.pods.length, 0, 'the assumed pod is forgotten')
  assert.equal(s.queue.sizes.active + s.queue.sizes.backoff, 1, 'the pod is queued again')
})

test('a pod that pod affinity rejected is tried again when a pod it needs is bound; one short of cpu is not', async () => {
  const clock = new FakeClock()
  const s = new Scheduler({ clock, recorder: { event: () => {} }, control })
  s.nodeHandler().add?.(
    { ...node('n1'), metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } } },
    false,
  )
  const needsWeb: Pod = {
    ...pod(1),
    spec: {
      containers: [{ name: 'c', image: 'i' }],
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' },
          ],
        },
      },
    },
  }
  const huge: Pod = {
    ...pod(2),
    spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '1000' } } }] },
  }
  for (const p of [needsWeb, huge]) {
    s.podHandler().add?.(p, false)
    const q = await s.queue.pop()
    assert.ok(q)
    await s.scheduleOne(q)
  }
  assert.equal(s.queue.sizes.unschedulable, 2)
  const web: Pod = {
    metadata: { name: 'web', namespace: 'default', uid: 'web', labels: { app: 'web' } },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }] },
  }
  s.podHandler().add?.(web, false)
  assert.deepEqual(
    [s.queue.sizes.unschedulable, s.queue.sizes.active + s.queue.sizes.backoff],
    [1, 1],
    'only the pod affinity rejected moves',
  )
})

test('a node status report that changes nothing plugins see (a heartbeat) moves no unschedulable pod', async () => {
  const s = new Scheduler({ clock: new FakeClock(), recorder: { event: () => {} }, control })
  const small: Node = { metadata: { name: 'n1' }, status: { allocatable: { cpu: '1', pods: '10' } } }
  s.nodeHandler().add?.(small, false)
  s.podHandler().add?.(
    { ...pod(1), spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '2' } } }] } },
    false,
  )
  const q = await s.queue.pop()
  assert.ok(q)
  await s.scheduleOne(q)
  assert.equal(s.queue.sizes.unschedulable, 1)
  const beat = (n: Node, at: string): Node => ({
    ...n,
    status: { ...n.status, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: at }] },
  })
  s.nodeHandler().update?.(beat(small, '2026-01-01T00:00:00Z'), beat(small, '2026-01-01T00:00:00Z'))
  s.nodeHandler().update?.(beat(small, '2026-01-01T00:00:00Z'), beat(small, '2026-01-01T00:00:10Z'))
  assert.equal(s.queue.sizes.unschedulable, 1, 'heartbeats move nothing')
  const bigger = { ...small, status: { allocatable: { cpu: '4', pods: '10' } } }
  s.nodeHandler().update?.(small, bigger)
  assert.equal(s.queue.sizes.unschedulable, 0, 'more allocatable cpu moves it')
})
