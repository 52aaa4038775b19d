import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node } from '../api/generated/types/core-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { IndexedCache, Lister } from '../client/index.ts'
import { CidrSet, NodeIpamController } from './node-ipam.ts'

test('a cluster CIDR hands out node subnets in order, and a released one comes back', () => {
  const set = new CidrSet('10.42.0.0/16', 24)
  assert.deepEqual(
    [set.allocate(), set.allocate(), set.allocate()],
    ['10.42.0.0/24', '10.42.1.0/24', '10.42.2.0/24'],
  )
  set.release('10.42.1.0/24')
  assert.equal(set.allocate(), '10.42.3.0/24', 'the next one first')
  const small = new CidrSet('192.168.0.0/23', 24)
  assert.deepEqual(
    [small.allocate(), small.allocate(), small.allocate()],
    ['192.168.0.0/24', '192.168.1.0/24', undefined],
  )
  small.release('192.168.0.0/24')
  assert.equal(small.allocate(), '192.168.0.0/24')
})

test('CIDRs that do not parse or do not fit are refused with a clear error', () => {
  assert.throws(() => new CidrSet('10.42.0.0', 24), /not an IPv4 CIDR/)
  assert.throws(() => new CidrSet('10.42.0.300/16', 24), /not an IPv4 CIDR/)
  assert.throws(() => new CidrSet('10.42.0.0/16', 8), /does not fit/)
})

function node(name: string, podCIDR?: string): Node {
  return { metadata: { name }, ...(podCIDR ? { spec: { podCIDR, podCIDRs: [podCIDR] } } : {}) }
}

test('nodes without a podCIDR get the next free one; subnets nodes have are never handed out again', async () => {
  const cache = new IndexedCache<Node>()
  cache.set(node('a', '10.42.0.0/24'))
  cache.set(node('b'))
  cache.set(node('c'))
  const set: [string, string][] = []
  const events: string[] = []
  const controller = new NodeIpamController({
    nodes: new Lister(cache),
    cidrs: new CidrSet('10.42.0.0/16', 24),
    setPodCIDR: async (name, cidr) => void set.push([name, cidr]),
    recorder: { event: (_o, _t, reason, message) => events.push(`${reason} ${message}`) },
    clock: new FakeClock(),
  })
  controller.occupyExisting()
  for (const n of ['a', 'b', 'c']) await controller.reconcile(n)
  assert.deepEqual(set, [
    ['b', '10.42.1.0/24'],
    ['c', '10.42.2.0/24'],
  ])
  assert.deepEqual(events, [], 'an assignment is logged, not recorded as an event')
  // b goes: its subnet is free again, after the ones never used.
  controller.nodeGone(node('b', '10.42.1.0/24'))
  cache.delete('b')
  cache.set(node('d'))
  await controller.reconcile('d')
  assert.deepEqual(set.at(-1), ['d', '10.42.3.0/24'])
})

test('when every subnet is taken the node waits, with a CIDRNotAvailable event', async () => {
  const cache = new IndexedCache<Node>()
  cache.set(node('a', '10.0.0.0/24'))
  cache.set(node('b'))
  const events: string[] = []
  const controller = new NodeIpamController({
    nodes: new Lister(cache),
    cidrs: new CidrSet('10.0.0.0/24', 24),
    setPodCIDR: async () => assert.fail('nothing to assign'),
    recorder: { event: (_o, _t, reason) => events.push(reason) },
    clock: new FakeClock(),
  })
  controller.occupyExisting()
  assert.deepEqual(await controller.reconcile('b'), { afterMs: 30_000 })
  assert.deepEqual(events, ['CIDRNotAvailable'])
})
