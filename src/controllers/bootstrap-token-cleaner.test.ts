import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Secret } from '../api/generated/types/core-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { IndexedCache, Lister } from '../client/index.ts'
import { TokenCleaner } from './bootstrap-token-cleaner.ts'

const b64 = (s: string) => Buffer.from(s).toString('base64')
const token = (o: { expiration?: string; namespace?: string; type?: string } = {}): Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'bootstrap-token-abcdef', namespace: o.namespace ?? 'kube-system', uid: 'u1' },
  type: o.type ?? 'bootstrap.kubernetes.io/token',
  data: {
    'token-id': b64('abcdef'),
    'token-secret': b64('0123456789abcdef'),
    ...(o.expiration !== undefined ? { expiration: b64(o.expiration) } : {}),
  },
})

function setup(secret: Secret) {
  const cache = new IndexedCache<Secret>()
  cache.set(secret)
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'))
  const deleted: string[] = []
  const cleaner = new TokenCleaner({
    secrets: new Lister(cache),
    deleteSecret: async (ns, name, uid) => void deleted.push(`${ns}/${name} if ${uid}`),
    clock,
  })
  const key = `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`
  return { cleaner, deleted, clock, key }
}

test('a bootstrap token is looked at again when it expires, and deleted then', async () => {
  const s = setup(token({ expiration: '2026-01-01T01:00:00Z' }))
  assert.deepEqual(await s.cleaner.reconcile(s.key), { afterMs: 3_600_001 })
  assert.deepEqual(s.deleted, [])
  s.clock.advance(3_600_001)
  assert.equal(await s.cleaner.reconcile(s.key), undefined)
  assert.deepEqual(s.deleted, ['kube-system/bootstrap-token-abcdef if u1'])
})

test('an expiration that cannot be read counts as expired', async () => {
  const s = setup(token({ expiration: 'tomorrow' }))
  await s.cleaner.reconcile(s.key)
  assert.deepEqual(s.deleted, ['kube-system/bootstrap-token-abcdef if u1'])
})

test('tokens without expiration, other Secrets and other namespaces are left alone', async () => {
  for (const secret of [
    token(),
    token({ expiration: '2020-01-01T00:00:00Z', type: 'Opaque' }),
    token({ expiration: '2020-01-01T00:00:00Z', namespace: 'default' }),
  ]) {
    const s = setup(secret)
    assert.equal(await s.cleaner.reconcile(s.key), undefined)
    assert.deepEqual(s.deleted, [])
  }
})
