import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod, ResourceQuota } from '../api/generated/types/core-v1.ts'
import type { KubeObject } from '../api/object.ts'
import { FakeClock } from '../base/clock.ts'
import { IndexedCache, Lister } from '../client/index.ts'
import { ResourceQuotaController } from './resourcequota.ts'

const quota = (
  name: string,
  hard: Record<string, string>,
  status?: ResourceQuota['status'],
  scopes?: string[],
): ResourceQuota => ({
  metadata: { name, namespace: 'ns', resourceVersion: '5' },
  spec: { hard, ...(scopes ? { scopes } : {}) },
  ...(status ? { status } : {}),
})

const pod = (name: string, o: { cpu?: string; phase?: string; ns?: string } = {}): Pod => ({
  metadata: { name, namespace: o.ns ?? 'ns' },
  spec: { containers: [{ name: 'c', ...(o.cpu ? { resources: { requests: { cpu: o.cpu } } } : {}) }] },
  ...(o.phase ? { status: { phase: o.phase } } : {}),
})

function setup(quotas: ResourceQuota[], objects: Record<string, KubeObject[]>) {
  const writes: ResourceQuota[] = []
  const controller = new ResourceQuotaController({
    quotas: new Lister(IndexedCache.of<ResourceQuota>(quotas)),
    objects: async (namespace, group, resource) =>
      (objects[`${group}/${resource}`] ?? []).filter((o) => o.metadata?.namespace === namespace),
    updateStatus: async (q) => void writes.push(q),
    clock: new FakeClock(),
  })
  return { controller, writes }
}

test('a new quota gets status.hard and what the namespace uses', async () => {
  const { controller, writes } = setup(
    [quota('q', { pods: '10', 'requests.cpu': '4', 'count/configmaps': '5', secrets: '3' })],
    {
      '/pods': [
        pod('a', { cpu: '500m' }),
        pod('b', { cpu: '1' }),
        pod('done', { phase: 'Succeeded', cpu: '2' }),
        pod('elsewhere', { ns: 'other', cpu: '3' }),
      ] as KubeObject[],
      '/configmaps': [{ metadata: { name: 'cm', namespace: 'ns' } }],
    },
  )
  await controller.reconcile('ns/q')
  assert.equal(writes.length, 1)
  assert.deepEqual(writes[0]?.status, {
    hard: { 'count/configmaps': '5', pods: '10', 'requests.cpu': '4', secrets: '3' },
    used: { 'count/configmaps': '1', pods: '2', 'requests.cpu': '1500m', secrets: '0' },
  })
  assert.equal(writes[0]?.metadata?.resourceVersion, '5', 'written at the resourceVersion read')
})

test('a quota that is up to date is not written', async () => {
  const { controller, writes } = setup(
    [quota('q', { pods: '10' }, { hard: { pods: '10' }, used: { pods: '1' } })],
    { '/pods': [pod('a')] as KubeObject[] },
  )
  await controller.reconcile('ns/q')
  assert.equal(writes.length, 0)
})

test('usage given back (a pod deleted) is written down; changed limits too', async () => {
  const { controller, writes } = setup(
    [quota('q', { pods: '5' }, { hard: { pods: '10' }, used: { pods: '3', 'requests.cpu': '1' } })],
    { '/pods': [pod('a')] as KubeObject[] },
  )
  await controller.reconcile('ns/q')
  assert.deepEqual(writes[0]?.status, { hard: { pods: '5' }, used: { pods: '1' } })
})

test('scoped quotas count only the pods in their scopes', async () => {
  const { controller, writes } = setup([quota('be', { pods: '5' }, undefined, ['BestEffort'])], {
    '/pods': [pod('a'), pod('b', { cpu: '1' })] as KubeObject[],
  })
  await controller.reconcile('ns/be')
  assert.deepEqual(writes[0]?.status?.used, { pods: '1' })
})

test('replenishment recounts the quotas of the namespace that limit the resource', () => {
  const { controller } = setup(
    [
      quota('pods', { pods: '5' }, { hard: { pods: '5' }, used: { pods: '0' } }),
      quota('services', { services: '5' }, { hard: { services: '5' }, used: { services: '0' } }),
    ],
    {},
  )
  controller.replenish('ns', '', 'pods')
  assert.equal(controller.queue.length, 1)
  controller.replenish('other', '', 'services')
  assert.equal(controller.queue.length, 1)
  controller.enqueueAll()
  assert.equal(controller.queue.length, 2)
})

test('a quota that is gone is forgotten', async () => {
  const { controller, writes } = setup([], {})
  assert.equal(await controller.reconcile('ns/missing'), undefined)
  assert.equal(writes.length, 0)
})
