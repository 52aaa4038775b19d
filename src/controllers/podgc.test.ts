import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node, Pod } from '../api/generated/types/core-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { IndexedCache, Lister } from '../client/index.ts'
import { PodGC } from './podgc.ts'

function pod(
  name: string,
  o: { node?: string; phase?: string; deleting?: boolean; created?: string } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      creationTimestamp: o.created ?? '2026-01-01T00:00:00Z',
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:01:00Z' } : {}),
    },
    spec: { containers: [{ name: 'c' }], ...(o.node ? { nodeName: o.node } : {}) },
    status: { phase: o.phase ?? 'Running' },
  }
}

function setup(pods: Pod[], nodes: Node[], o: { threshold?: number; liveNodes?: string[] } = {}) {
  const podCache = IndexedCache.of<Pod>(pods)
  const nodeCache = IndexedCache.of<Node>(nodes)
  const clock = new FakeClock()
  const log: string[] = []
  const gc = new PodGC({
    pods: new Lister(podCache),
    nodes: new Lister(nodeCache),
    clock,
    ...(o.threshold !== undefined ? { terminatedThreshold: o.threshold } : {}),
    control: {
      markFailed: async (p, message) => void log.push(`fail ${p.metadata?.name} (${message})`),
      forceDelete: async (_ns, name) => void log.push(`delete ${name}`),
      nodeExists: async (name) => (o.liveNodes ?? []).includes(name),
    },
  })
  return { gc, log, clock }
}

test('terminated pods beyond the threshold go, oldest first', async () => {
  const { gc, log } = setup(
    [
      pod('new-done', { phase: 'Succeeded', created: '2026-01-03T00:00:00Z' }),
      pod('old-done', { phase: 'Failed', created: '2026-01-01T00:00:00Z' }),
      pod('mid-done', { phase: 'Succeeded', created: '2026-01-02T00:00:00Z' }),
      pod('running'),
    ],
    [],
    { threshold: 1 },
  )
  await gc.collect()
  assert.deepEqual(log, ['delete old-done', 'delete mid-done'])
})

test('pods of a node that is gone go after the quarantine, once a live read confirms it', async () => {
  const { gc, log, clock } = setup(
    [pod('orphan', { node: 'gone' }), pod('back', { node: 'reregistered' }), pod('fine', { node: 'here' })],
    [{ metadata: { name: 'here' } }],
    { liveNodes: ['here', 'reregistered'] },
  )
  await gc.collect()
  assert.deepEqual(log, [], 'not during the quarantine')
  clock.advance(40_000)
  await gc.collect()
  assert.deepEqual(log, ['fail orphan (PodGC: node no longer exists)', 'delete orphan'])
})

test('a pod being deleted that was never scheduled goes at once', async () => {
  const { gc, log } = setup(
    [pod('stuck', { deleting: true }), pod('bound', { deleting: true, node: 'n' })],
    [{ metadata: { name: 'n' } }],
  )
  await gc.collect()
  assert.deepEqual(log, ['delete stuck'])
})

test('terminating pods on a node that is out of service and not ready are failed and deleted', async () => {
  const node: Node = {
    metadata: { name: 'n' },
    spec: {
      taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }],
    },
    status: { conditions: [{ type: 'Ready', status: 'Unknown' }] },
  }
  const { gc, log } = setup(
    [pod('leaving', { deleting: true, node: 'n' }), pod('staying', { node: 'n' })],
    [node],
  )
  await gc.collect()
  assert.deepEqual(log, ['fail leaving (PodGC: node is out of service)', 'delete leaving'])
})
