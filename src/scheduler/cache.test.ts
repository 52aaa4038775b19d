import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node, Pod } from '../api/generated/types/core-v1.ts'
import { SchedulerCache } from './cache.ts'

const node = (name: string): Node => ({
  metadata: { name },
  status: { allocatable: { cpu: '2', memory: '4Gi', pods: '10' } },
})
const pod = (name: string, nodeName?: string): Pod => ({
  metadata: { name, uid: `${name}-uid`, namespace: 'default' },
  spec: {
    containers: [{ name: 'c', resources: { requests: { cpu: '1' } } }],
    ...(nodeName ? { nodeName } : {}),
  },
})

test('an assumed pod takes its room at once; the watch confirms it; a failed binding gives the room back', () => {
  const cache = new SchedulerCache()
  cache.setNode(node('n1'))
  cache.assume(pod('a', 'n1'), 'n1')
  assert.equal(cache.node('n1')?.requested.milliCPU, 1000)
  assert.equal(cache.isAssumed(pod('a')), true)
  cache.addPod(pod('a', 'n1'))
  assert.equal(cache.isAssumed(pod('a')), false)
  assert.equal(cache.node('n1')?.requested.milliCPU, 1000, 'confirmed, not counted twice')
  cache.assume(pod('b', 'n1'), 'n1')
  cache.forget(pod('b', 'n1'))
  assert.equal(cache.node('n1')?.requested.milliCPU, 1000)
  cache.forget(pod('a', 'n1'))
  assert.equal(cache.node('n1')?.requested.milliCPU, 1000, 'a confirmed pod is not forgotten')
})

test('pods seen before their node wait for it; a node update keeps its pods; removing pods frees them', () => {
  const cache = new SchedulerCache()
  cache.addPod(pod('early', 'n2'))
  cache.setNode(node('n2'))
  assert.equal(cache.node('n2')?.pods.length, 1)
  cache.setNode({ ...node('n2'), metadata: { name: 'n2', labels: { zone: 'a' } } })
  assert.equal(cache.node('n2')?.pods.length, 1)
  assert.equal(cache.nodeList().length, 1)
  cache.removePod(pod('early', 'n2'))
  assert.equal(cache.node('n2')?.requested.milliCPU, 0)
  cache.removeNode('n2')
  assert.equal(cache.nodeList().length, 0)
})

test('nodes with an image are counted once per node, and forgotten with the node', () => {
  const cache = new SchedulerCache()
  const withImages = (name: string, images: string[][]): Node => ({
    metadata: { name },
    status: { images: images.map((names) => ({ names, sizeBytes: 1 })) },
  })
  cache.setNode(withImages('a', [['nginx:1', 'nginx@sha256:1'], ['nginx:1']]))
  cache.setNode(withImages('b', [['nginx:1']]))
  assert.equal(cache.nodesWithImage('nginx:1'), 2)
  cache.setNode(withImages('b', [['redis:7']]))
  assert.deepEqual([cache.nodesWithImage('nginx:1'), cache.nodesWithImage('redis:7')], [1, 1])
  cache.removeNode('a')
  assert.equal(cache.nodesWithImage('nginx:1'), 0)
})
