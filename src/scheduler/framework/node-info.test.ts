import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Container, Pod } from '../../api/generated/types/core-v1.ts'
import { NodeInfo, podInfo, podRequests } from './node-info.ts'

const c = (cpu?: string, memory?: string, restartPolicy?: string): Container => ({
  name: 'c',
  ...(restartPolicy ? { restartPolicy } : {}),
  resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } },
})

const pod = (
  containers: Container[],
  initContainers: Container[] = [],
  overhead?: Record<string, string>,
): Pod => ({
  metadata: { name: 'p', uid: 'p-uid' },
  spec: { containers, initContainers, ...(overhead ? { overhead } : {}) },
})

const cases: { name: string; pod: Pod; want: [number, number]; nonZero?: boolean }[] = [
  {
    name: 'containers add up',
    pod: pod([c('100m', '1Gi'), c('250m', '512Mi')]),
    want: [350, 1536 * 1024 * 1024],
  },
  {
    name: 'an init container larger than the containers sets the request',
    pod: pod([c('100m', '1Gi')], [c('1', '256Mi')]),
    want: [1000, 1024 * 1024 * 1024],
  },
  {
    name: 'a sidecar adds to the containers and to the init containers after it',
    pod: pod([c('100m')], [c('200m', undefined, 'Always'), c('500m')]),
    want: [700, 0],
  },
  {
    name: 'overhead comes on top',
    pod: pod([c('100m', '1Gi')], [], { cpu: '250m', memory: '120Mi' }),
    want: [350, 1144 * 1024 * 1024],
  },
  {
    name: 'for scoring, a container without requests counts 100m and 200Mi',
    pod: pod([c(), c('50m')]),
    want: [150, 400 * 1024 * 1024],
    nonZero: true,
  },
  { name: 'fractions of a millicore round up', pod: pod([c('0.0001')]), want: [1, 0] },
]
for (const k of cases) {
  test(k.name, () => {
    const r = podRequests(k.pod, { nonZero: k.nonZero ?? false })
    assert.deepEqual([r.milliCPU, r.memory], k.want)
  })
}

test('a node adds and removes its pods’ requests and host ports', () => {
  const node = new NodeInfo({
    metadata: { name: 'n' },
    status: { allocatable: { cpu: '4', memory: '8Gi', pods: '20', 'nvidia.com/gpu': '2' } },
  })
  assert.deepEqual(
    [node.allocatable.milliCPU, node.allowedPods, node.allocatable.scalar.get('nvidia.com/gpu')],
    [4000, 20, 2],
  )
  const p = pod([{ ...c('1', '1Gi'), ports: [{ containerPort: 80, hostPort: 8080 }] }])
  node.addPod(podInfo(p))
  assert.deepEqual(
    [node.requested.milliCPU, node.usedPorts],
    [1000, [{ protocol: 'TCP', ip: '0.0.0.0', port: 8080 }]],
  )
  assert.equal(node.removePod('p-uid')?.pod.metadata?.uid, 'p-uid')
  assert.deepEqual([node.requested.milliCPU, node.usedPorts.length, node.pods.length], [0, 0, 0])
  assert.equal(node.removePod('p-uid'), undefined)
})
