import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod } from '../api/generated/types/core-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { SchedulingQueue } from './queue.ts'

const pod = (name: string, priority = 0): Pod => ({
  metadata: { name, namespace: 'default', uid: `${name}-uid` },
  spec: { containers: [], priority },
})

const names = async (q: SchedulingQueue, n: number) => {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push((await q.pop())?.pod.metadata?.name ?? '')
  return out
}

test('higher priority first, then first come first served', async () => {
  const clock = new FakeClock()
  const q = new SchedulingQueue({ clock })
  q.add(pod('a'))
  clock.advance(1)
  q.add(pod('b', 10))
  clock.advance(1)
  q.add(pod('c'))
  clock.advance(1)
  q.add(pod('d', 10))
  assert.deepEqual(await names(q, 4), ['b', 'd', 'a', 'c'])
})

test('a pod that failed waits as unschedulable until a cluster event, then backs off 1 s, then 2 s', async () => {
  const clock = new FakeClock()
  const q = new SchedulingQueue({ clock })
  q.add(pod('p'))
  let item = await q.pop()
  assert.ok(item)
  q.failed(item, q.cycle)
  assert.deepEqual(q.sizes, { active: 0, backoff: 0, unschedulable: 1, gated: 0 })
  q.moveAllToActiveOrBackoff()
  assert.deepEqual(
    q.sizes,
    { active: 0, backoff: 1, unschedulable: 0, gated: 0 },
    'its 1 s back-off is not over',
  )
  clock.advance(999)
  q.flush()
  assert.equal(q.sizes.active, 0)
  clock.advance(1)
  q.flush()
  assert.equal(q.sizes.active, 1)
  item = await q.pop()
  assert.equal(item?.attempts, 2)
  // Second failure: 2 s.
  if (item) q.failed(item, q.cycle)
  q.moveAllToActiveOrBackoff()
  clock.advance(1999)
  q.flush()
  assert.equal(q.sizes.backoff, 1)
  clock.advance(1)
  q.flush()
  assert.equal(q.sizes.active, 1)
})

test('an event while a pod was being scheduled sends its failure to back-off, not to wait for another', async () => {
  const clock = new FakeClock()
  const q = new SchedulingQueue({ clock })
  q.add(pod('p'))
  const item = await q.pop()
  const cycle = q.cycle
  q.moveAllToActiveOrBackoff() // a node was added while the pod was in its cycle
  if (item) q.failed(item, cycle)
  assert.deepEqual(q.sizes, { active: 0, backoff: 1, unschedulable: 0, gated: 0 })
})

test('the back-off stops growing at 10 s; unschedulable pods are retried after 5 minutes anyway', async () => {
  const clock = new FakeClock()
  const q = new SchedulingQueue({ clock })
  q.add(pod('p'))
  for (let i = 0; i < 6; i++) {
    const item = await q.pop()
    if (item) q.failed(item, q.cycle)
    clock.advance(5 * 60_000)
    q.flush() // after 5 minutes: back to active (any back-off is long over)
    q.flush()
  }
  const item = await q.pop()
  assert.equal(item?.attempts, 7)
  if (item) q.failed(item, q.cycle - 1) // an event arrived after its cycle began
  q.moveAllToActiveOrBackoff()
  clock.advance(9_999)
  q.flush()
  assert.equal(q.sizes.backoff, 1, 'back-off is capped at 10 s, not 64 s')
  clock.advance(1)
  q.flush()
  assert.equal(q.sizes.active, 1)
})

test('a changed unschedulable pod is tried again; a deleted one is forgotten; pop waits for an add', async () => {
  const clock = new FakeClock()
  const q = new SchedulingQueue({ clock })
  q.add(pod('p'))
  const item = await q.pop()
  if (item) q.failed(item, q.cycle)
  clock.advance(5000)
  q.update({ ...pod('p'), metadata: { ...pod('p').metadata, labels: { fixed: 'yes' } } })
  assert.equal(q.sizes.active, 1)
  const again = await q.pop()
  assert.deepEqual(again?.pod.metadata?.labels, { fixed: 'yes' })
  q.add(pod('gone'))
  q.delete(pod('gone'))
  const waiting = q.pop()
  q.add(pod('late'))
  assert.equal((await waiting)?.pod.metadata?.name, 'late')
  q.close()
  assert.equal(await q.pop(), undefined)
})

test('a change of status alone leaves an unschedulable pod waiting (the scheduler writes status itself)', async () => {
  const clock = new FakeClock()
  const q = new SchedulingQueue({ clock })
  q.add(pod('p'))
  const item = await q.pop()
  if (item) q.failed(item, q.cycle)
  clock.advance(5000)
  const withCondition: Pod = {
    ...pod('p'),
    metadata: { ...pod('p').metadata, resourceVersion: '7' },
    status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
  }
  q.update(withCondition)
  assert.deepEqual(q.sizes, { active: 0, backoff: 0, unschedulable: 1, gated: 0 })
  q.moveAllToActiveOrBackoff()
  assert.equal((await q.pop())?.pod.metadata?.resourceVersion, '7', 'its newest version is kept')
})

const gated = (name: string, gates: string[]): Pod => ({
  ...pod(name),
  spec: { containers: [], schedulingGates: gates.map((g) => ({ name: g })) },
})

test('a pod with scheduling gates is held back until an update removes the last one', async () => {
  const clock = new FakeClock()
  const q = new SchedulingQueue({ clock })
  q.add(gated('g', ['example.com/quota', 'example.com/team']))
  q.add(pod('other'))
  assert.deepEqual(q.sizes, { active: 1, backoff: 0, unschedulable: 0, gated: 1 })
  assert.equal((await q.pop())?.pod.metadata?.name, 'other')
  q.moveAllToActiveOrBackoff() // cluster events do not release it
  clock.advance(10 * 60_000)
  q.flush() // nor does time
  q.update(gated('g', ['example.com/team']))
  assert.deepEqual(q.sizes, { active: 0, backoff: 0, unschedulable: 0, gated: 1 }, 'one gate left')
  q.update(gated('g', []))
  assert.deepEqual(q.sizes, { active: 1, backoff: 0, unschedulable: 0, gated: 0 })
  const item = await q.pop()
  assert.deepEqual([item?.pod.metadata?.name, item?.attempts], ['g', 1])
})

test('a gated pod that is deleted is forgotten', () => {
  const q = new SchedulingQueue({ clock: new FakeClock() })
  q.add(gated('g', ['example.com/quota']))
  q.delete(gated('g', ['example.com/quota']))
  assert.deepEqual(q.sizes, { active: 0, backoff: 0, unschedulable: 0, gated: 0 })
})

const nominated = (name: string, node: string | undefined, priority = 0): Pod => ({
  ...pod(name, priority),
  status: node ? { nominatedNodeName: node } : {},
})
const nominatedTo = (q: SchedulingQueue, node: string) =>
  q.nominator.nominatedPods(node).map((p) => p.pod.metadata?.name)

test('pods are nominated from status.nominatedNodeName, higher priority first, and forgotten when deleted', () => {
  const q = new SchedulingQueue({ clock: new FakeClock() })
  q.add(nominated('a', 'n1', 10))
  q.add(nominated('b', 'n1', 100))
  q.add(nominated('c', 'n1', 10))
  q.add(nominated('d', 'n2'))
  q.add(nominated('e', undefined))
  assert.deepEqual(nominatedTo(q, 'n1'), ['b', 'a', 'c'])
  assert.deepEqual(nominatedTo(q, 'n2'), ['d'])
  q.update(nominated('a', 'n2', 10)) // nominated elsewhere now
  assert.deepEqual(
    [nominatedTo(q, 'n1'), nominatedTo(q, 'n2')],
    [
      ['b', 'c'],
      ['a', 'd'],
    ],
  )
  q.delete(nominated('b', 'n1', 100))
  assert.deepEqual(nominatedTo(q, 'n1'), ['c'])
  assert.equal(q.nominator.size, 3)
})

test('a nomination made by preemption holds until the pod’s status says otherwise', () => {
  const q = new SchedulingQueue({ clock: new FakeClock() })
  q.add(nominated('p', undefined))
  q.nominator.nominate(nominated('p', undefined), 'n1')
  // An update before the status write comes back does not drop it ...
  q.update({ ...nominated('p', undefined), metadata: { ...pod('p').metadata, resourceVersion: '2' } })
  assert.deepEqual(nominatedTo(q, 'n1'), ['p'])
  // ... the write coming back confirms it, and a later update that clears it withdraws it.
  q.update(nominated('p', 'n1'))
  assert.deepEqual(nominatedTo(q, 'n1'), ['p'])
  q.update(nominated('p', undefined))
  assert.deepEqual(nominatedTo(q, 'n1'), [])
  // Preemption finding nothing withdraws it too.
  q.nominator.nominate(nominated('p', undefined), 'n2')
  q.nominator.nominate(nominated('p', undefined), '')
  assert.equal(q.nominator.size, 0)
})

test('a bound pod is not nominated', () => {
  const q = new SchedulingQueue({ clock: new FakeClock() })
  const bound: Pod = { ...nominated('p', 'n1'), spec: { containers: [], nodeName: 'n1' } }
  q.nominator.nominate(bound)
  assert.equal(q.nominator.size, 0)
})

test('a pod PreEnqueue holds back waits with the gated ones until activated', async () => {
  let holding = true
  const q = new SchedulingQueue({ clock: new FakeClock(), preEnqueue: () => !holding })
  q.add(pod('p'))
  assert.deepEqual(q.sizes, { active: 0, backoff: 0, unschedulable: 0, gated: 1 })
  q.activate(pod('p'))
  assert.equal(q.sizes.gated, 1, 'still held')
  holding = false
  q.activate(pod('p'))
  assert.equal(q.sizes.active, 1)
  assert.equal((await q.pop())?.pod.metadata?.name, 'p')
})
