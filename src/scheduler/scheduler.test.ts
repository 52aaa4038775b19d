import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node, Pod } from '../api/generated/types/core-v1.ts'
import { realClock } from '../base/clock.ts'
import { Scheduler } from './scheduler.ts'

const node = (name: string): Node => ({
  metadata: { name },
  status: { allocatable: { cpu: '64', memory: '256Gi', pods: '1000' } },
})

const pod = (i: number): Pod => ({
  metadata: { name: `p${i}`, namespace: 'default', uid: `u${i}` },
  spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '1m' } } }] },
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
