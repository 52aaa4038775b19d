import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PersistentVolumeClaim, Pod, Service } from '../generated/types/core-v1.ts'
import type { KubeObject } from '../object.ts'
import {
  calculateUsage,
  evaluatorFor,
  parseObjectCountName,
  persistentVolumeClaimEvaluator,
  podEvaluator,
  serviceEvaluator,
} from './evaluators.ts'
import { toWire } from './resource-list.ts'

const now = Date.parse('2026-01-01T00:10:00Z')

const pod = (spec: Partial<NonNullable<Pod['spec']>>, o: Partial<Pod> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'ns' },
  spec: { containers: [], ...spec },
  ...o,
})

const usage = (obj: unknown) => toWire(podEvaluator.usage(obj as KubeObject, now))

test('pod usage: requests and limits of containers, the largest init container, and the overhead', () => {
  const p = pod({
    containers: [
      {
        name: 'a',
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
      },
      { name: 'b', resources: { requests: { cpu: '300m', 'ephemeral-storage': '1Gi' } } },
    ],
    initContainers: [{ name: 'init', resources: { requests: { cpu: '1' } } }],
    overhead: { cpu: '50m' },
  })
  assert.deepEqual(usage(p), {
    'count/pods': '1',
    cpu: '1050m',
    'ephemeral-storage': '1Gi',
    'limits.cpu': '250m',
    'limits.memory': '128Mi',
    memory: '64Mi',
    pods: '1',
    'requests.cpu': '1050m',
    'requests.ephemeral-storage': '1Gi',
    'requests.memory': '64Mi',
  })
})

test('pod usage: hugepages and extended resources are charged as requests', () => {
  const p = pod({
    containers: [{ name: 'a', resources: { requests: { 'hugepages-2Mi': '4Mi', 'example.com/gpu': '2' } } }],
  })
  assert.deepEqual(usage(p), {
    'count/pods': '1',
    'hugepages-2Mi': '4Mi',
    pods: '1',
    'requests.example.com/gpu': '2',
    'requests.hugepages-2Mi': '4Mi',
  })
})

test('pod usage: a finished pod, or one whose graceful deletion is overdue, is only an object', () => {
  assert.deepEqual(usage(pod({}, { status: { phase: 'Failed' } })), { 'count/pods': '1' })
  const overdue = pod(
    {},
    {
      metadata: { name: 'p', deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 30 },
    },
  )
  assert.deepEqual(usage(overdue), { 'count/pods': '1' })
  const graceful = pod(
    {},
    {
      metadata: { name: 'p', deletionTimestamp: '2026-01-01T00:09:50Z', deletionGracePeriodSeconds: 30 },
    },
  )
  assert.deepEqual(usage(graceful), { 'count/pods': '1', pods: '1' })
})

test('pod resources: what the pod evaluator charges', () => {
  assert.deepEqual(
    podEvaluator.matchingResources([
      'pods',
      'requests.cpu',
      'services',
      'hugepages-1Gi',
      'requests.example.com/gpu',
      'requests.storage',
      'count/pods',
    ]),
    ['count/pods', 'pods', 'requests.cpu', 'hugepages-1Gi', 'requests.example.com/gpu'],
  )
})

test('services: load balancers without node ports count only explicit node ports', () => {
  const svc: Service = {
    metadata: { name: 's' },
    spec: {
      type: 'LoadBalancer',
      allocateLoadBalancerNodePorts: false,
      ports: [{ port: 80, nodePort: 30080 }, { port: 81 }],
    },
  }
  assert.deepEqual(toWire(serviceEvaluator.usage(svc as KubeObject, now)), {
    'count/services': '1',
    services: '1',
    'services.loadbalancers': '1',
    'services.nodeports': '1',
  })
})

test('claims: storage rounds up to bytes, and an expansion larger than asked counts', () => {
  const pvc: PersistentVolumeClaim = {
    metadata: { name: 'c', annotations: { 'volume.beta.kubernetes.io/storage-class': 'gold' } },
    spec: { storageClassName: 'silver', resources: { requests: { storage: '1500m' } } },
    status: {},
  }
  assert.deepEqual(toWire(persistentVolumeClaimEvaluator.usage(pvc as KubeObject, now)), {
    'count/persistentvolumeclaims': '1',
    'gold.storageclass.storage.k8s.io/persistentvolumeclaims': '1',
    'gold.storageclass.storage.k8s.io/requests.storage': '2',
    persistentvolumeclaims: '1',
    'requests.storage': '2',
  })
  pvc.status = { allocatedResources: { storage: '5Gi' } }
  assert.equal(
    toWire(persistentVolumeClaimEvaluator.usage(pvc as KubeObject, now))['requests.storage'],
    '5Gi',
  )
})

test('object count names', () => {
  assert.deepEqual(parseObjectCountName('count/deployments.apps'), { group: 'apps', resource: 'deployments' })
  assert.deepEqual(parseObjectCountName('count/pods'), { group: '', resource: 'pods' })
  assert.equal(parseObjectCountName('pods'), undefined)
  assert.deepEqual(
    evaluatorFor('', 'configmaps').matchingResources(['configmaps', 'count/configmaps', 'x']),
    ['configmaps', 'count/configmaps'],
  )
})

test('namespace usage: every limited resource gets a value, scopes filter the pods', async () => {
  const objects: Record<string, KubeObject[]> = {
    '/pods': [
      pod({ containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }] }) as KubeObject,
      pod({ containers: [{ name: 'b' }] }) as KubeObject,
      pod({ containers: [{ name: 'c' }] }, { status: { phase: 'Succeeded' } }) as KubeObject,
    ],
    'apps/deployments': [{ metadata: { name: 'd' } }, { metadata: { name: 'e' } }],
  }
  const used = await calculateUsage({
    hard: ['pods', 'requests.cpu', 'count/pods', 'count/deployments.apps', 'services', 'made.up/thing'],
    scopes: [],
    objects: async (group, resource) => objects[`${group}/${resource}`] ?? [],
    now,
  })
  assert.deepEqual(toWire(used), {
    'count/deployments.apps': '2',
    'count/pods': '3',
    pods: '2',
    'requests.cpu': '1',
    services: '0',
  })
  const bestEffort = await calculateUsage({
    hard: ['pods'],
    scopes: [{ scopeName: 'BestEffort', operator: 'Exists' }],
    objects: async (group, resource) => objects[`${group}/${resource}`] ?? [],
    now,
  })
  assert.deepEqual(toWire(bestEffort), { pods: '1' })
})
