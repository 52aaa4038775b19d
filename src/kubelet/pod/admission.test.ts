import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node, Pod } from '../../api/generated/types/core-v1.ts'
import { admitPod, rejectedStatus } from './admission.ts'

const node: Node = {
  metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1', disk: 'ssd' } },
  status: {
    capacity: { cpu: '4', memory: '8Gi', pods: '110' },
    allocatable: { cpu: '2', memory: '1Gi', pods: '3' },
  },
}

const pod = (
  name: string,
  requests: Record<string, string> = {},
  spec: Pod['spec'] = { containers: [] },
): Pod => ({
  metadata: { name, namespace: 'default', uid: name },
  spec: { ...spec, containers: [{ name: 'app', image: 'busybox', resources: { requests } }] },
})

test('a pod that fits is admitted', () => {
  assert.deepEqual(admitPod({ node, pod: pod('a', { cpu: '500m', memory: '256Mi' }), admitted: [] }), {
    admit: true,
  })
})

test('OutOfcpu against allocatable minus the admitted pods, in millicores', () => {
  const r = admitPod({ node, pod: pod('b', { cpu: '1500m' }), admitted: [pod('a', { cpu: '1' })] })
  assert.deepEqual(r, {
    admit: false,
    reason: 'OutOfcpu',
    message: "Node didn't have enough resource: cpu, requested: 1500, used: 1000, capacity: 2000",
  })
  if (r.admit) return
  assert.deepEqual(rejectedStatus(pod('b', { cpu: '1500m' }), r), {
    phase: 'Failed',
    reason: 'OutOfcpu',
    message:
      "Pod was rejected: Node didn't have enough resource: cpu, requested: 1500, used: 1000, capacity: 2000",
    qosClass: 'Burstable',
  })
})

test('OutOfmemory in bytes', () => {
  const r = admitPod({ node, pod: pod('b', { memory: '2Gi' }), admitted: [] })
  assert.deepEqual(r, {
    admit: false,
    reason: 'OutOfmemory',
    message: "Node didn't have enough resource: memory, requested: 2147483648, used: 0, capacity: 1073741824",
  })
})

test('OutOfpods comes first', () => {
  const r = admitPod({ node, pod: pod('d', { cpu: '10' }), admitted: [pod('a'), pod('b'), pod('c')] })
  assert.deepEqual(r, {
    admit: false,
    reason: 'OutOfpods',
    message: "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3",
  })
})

test('NodeAffinity: nodeSelector and required terms', () => {
  const bySelector = pod('a', {}, { containers: [], nodeSelector: { disk: 'hdd' } })
  assert.deepEqual(admitPod({ node, pod: bySelector, admitted: [] }), {
    admit: false,
    reason: 'NodeAffinity',
    message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
  })
  const byTerms = pod(
    'b',
    {},
    {
      containers: [],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }],
          },
        },
      },
    },
  )
  assert.deepEqual(admitPod({ node, pod: byTerms, admitted: [] }), { admit: true })
})
