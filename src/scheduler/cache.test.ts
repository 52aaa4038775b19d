import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node, Pod } from '../api/generated/types/core-v1.ts'
import { SchedulerCache } from './cache.ts'
import { AffinityIndex } from './framework/affinity-index.ts'

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

test('each NodeInfo knows its place in the node list: an updated node takes its place, a new list renumbers', () => {
  const cache = new SchedulerCache()
  for (const name of ['n1', 'n2', 'n3']) cache.setNode(node(name))
  const places = () => cache.nodeList().map((n) => `${n.name}@${n.index}`)
  assert.deepEqual(places(), ['n1@0', 'n2@1', 'n3@2'])
  const old = cache.node('n2')
  cache.setNode({ ...node('n2'), metadata: { name: 'n2', labels: { zone: 'a' } } })
  assert.notEqual(cache.node('n2'), old)
  assert.deepEqual(places(), ['n1@0', 'n2@1', 'n3@2'])
  cache.removeNode('n1')
  assert.deepEqual(places(), ['n2@0', 'n3@1'])
  assert.equal(cache.node('n2')?.clone().index, -1, 'a clone is in no list')
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

test('the pods grouped for InterPodAffinity stay what grouping them afresh gives, through every change', () => {
  const cache = new SchedulerCache()
  const zoned = (name: string, zone: string): Node => ({
    ...node(name),
    metadata: { name, labels: { zone, 'kubernetes.io/hostname': name } },
  })
  const withAffinity = (name: string, color: string, weight: number): Pod => {
    const p = pod(name)
    return {
      ...p,
      metadata: { ...p.metadata, labels: { color } },
      spec: {
        ...p.spec,
        containers: p.spec?.containers ?? [],
        affinity: {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { color } }, topologyKey: 'zone' },
            ],
          },
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight, podAffinityTerm: { labelSelector: { matchLabels: { color } }, topologyKey: 'zone' } },
            ],
          },
        },
      },
    }
  }
  const keys = ['zone', 'kubernetes.io/hostname']
  const same = (step: string) => {
    // Ask the kept index for its sums per zone before and after changes, so that they are kept.
    assert.deepEqual(
      cache.affinityIndex().describe(keys),
      AffinityIndex.of(cache.nodeList()).describe(keys),
      step,
    )
  }
  cache.setNode(zoned('n1', 'a'))
  cache.setNode(zoned('n2', 'b'))
  same('nodes only')
  cache.assume(withAffinity('p1', 'blue', 3), 'n1')
  cache.assume(withAffinity('p2', 'blue', 5), 'n2')
  cache.addPod({
    ...pod('p3', 'n1'),
    metadata: { name: 'p3', uid: 'p3-uid', namespace: 'default', labels: { color: 'blue' } },
  })
  same('assumed and added')
  const p1 = withAffinity('p1', 'blue', 3)
  cache.addPod({ ...p1, spec: { containers: [], ...p1.spec, nodeName: 'n1' } })
  same('assumption confirmed')
  cache.forget(withAffinity('p2', 'blue', 5))
  same('binding failed')
  cache.setNode(zoned('n1', 'c'))
  same('node relabelled')
  const early = withAffinity('early', 'red', 1)
  cache.addPod({ ...early, spec: { containers: [], ...early.spec, nodeName: 'n3' } })
  cache.setNode(zoned('n3', 'a'))
  same('a pod waiting for its node')
  cache.removePod(pod('p3'))
  same('pod removed')
  cache.removeNode('n1')
  same('node removed')
  assert.deepEqual(
    Object.keys(cache.affinityIndex().describe([])).sort(),
    [
      'labels default\ncolor=red',
      'preferredAntiAffinity ["zone",["default"],null,"color=red"]',
      'requiredAffinity ["zone",["default"],null,"color=red"]',
    ],
    'groups emptied are gone',
  )
})
