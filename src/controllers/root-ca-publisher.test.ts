import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ConfigMap } from '../api/generated/types/core-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { ApiStatusError, IndexedCache, Lister } from '../client/index.ts'
import { RootCAPublisher, rootCADescription } from './root-ca-publisher.ts'

const ca = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n'

function setup(existing?: ConfigMap, createError?: Error) {
  const cache = new IndexedCache<ConfigMap>()
  if (existing) cache.set(existing)
  const writes: { verb: string; cm: ConfigMap }[] = []
  const publisher = new RootCAPublisher({
    configMaps: new Lister(cache),
    create: async (cm) => {
      if (createError) throw createError
      writes.push({ verb: 'create', cm })
    },
    update: async (cm) => void writes.push({ verb: 'update', cm }),
    rootCA: ca,
    clock: new FakeClock(),
  })
  return { publisher, writes }
}

const published = (data: Record<string, string>, annotations: Record<string, string> = {}): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'kube-root-ca.crt', namespace: 'ns', resourceVersion: '4', annotations },
  data,
})

test('a namespace without kube-root-ca.crt gets it, with the CA and its description', async () => {
  const { publisher, writes } = setup()
  await publisher.reconcile('ns')
  assert.deepEqual(writes, [
    {
      verb: 'create',
      cm: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'kube-root-ca.crt',
          namespace: 'ns',
          annotations: { 'kubernetes.io/description': rootCADescription },
        },
        data: { 'ca.crt': ca },
      },
    },
  ])
})

test('a changed kube-root-ca.crt is put back; a current one is left alone', async () => {
  const changed = setup(published({ 'ca.crt': 'other', extra: 'x' }, { 'kubernetes.io/description': 'd' }))
  await changed.publisher.reconcile('ns')
  assert.equal(changed.writes[0]?.verb, 'update')
  assert.deepEqual(changed.writes[0]?.cm.data, { 'ca.crt': ca })
  assert.equal(changed.writes[0]?.cm.metadata?.resourceVersion, '4')
  const current = setup(published({ 'ca.crt': ca }, { 'kubernetes.io/description': rootCADescription }))
  await current.publisher.reconcile('ns')
  assert.deepEqual(current.writes, [])
})

test('a namespace that is being deleted gets none, without retries', async () => {
  const terminating = new ApiStatusError(
    { reason: 'Forbidden', code: 403, details: { causes: [{ reason: 'NamespaceTerminating' }] } },
    403,
  )
  const { publisher } = setup(undefined, terminating)
  assert.equal(await publisher.reconcile('ns'), undefined)
  const other = setup(undefined, new ApiStatusError({ reason: 'InternalError', code: 500 }, 500))
  await assert.rejects(other.publisher.reconcile('ns'))
})
