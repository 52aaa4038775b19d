import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CertificateSigningRequest } from '../../api/generated/types/certificates-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { IndexedCache, Lister } from '../../client/index.ts'
import { createCertificateAuthority, issueCertificate } from '../../pki/index.ts'
import { CSRCleaner } from './cleaner.ts'

const start = Date.parse('2026-01-01T00:00:00Z')
const at = (ms: number) => new Date(start + ms).toISOString().replace(/\.\d+Z$/, 'Z')
const hour = 3_600_000

const csr = (status: CertificateSigningRequest['status']): CertificateSigningRequest => ({
  apiVersion: 'certificates.k8s.io/v1',
  kind: 'CertificateSigningRequest',
  metadata: { name: 'csr-1', uid: 'u-1', creationTimestamp: at(0) },
  spec: { request: '', signerName: 'example.com/x', usages: ['client auth'] },
  status,
})

function setup(request: CertificateSigningRequest) {
  const cache = new IndexedCache<CertificateSigningRequest>()
  cache.set(request)
  const clock = new FakeClock(start)
  const deleted: string[] = []
  const cleaner = new CSRCleaner({
    csrs: new Lister(cache),
    deleteRequest: async (name, uid) => void deleted.push(`${name} if ${uid}`),
    clock,
  })
  return { cleaner, clock, deleted }
}

const cases = [
  {
    name: 'a pending request goes after a day',
    csr: csr({}),
    after: 24 * hour,
  },
  {
    name: 'a denied request goes an hour after it was denied',
    csr: csr({ conditions: [{ type: 'Denied', status: 'True', lastUpdateTime: at(2 * hour) }] }),
    after: 3 * hour,
  },
  {
    name: 'a failed request goes an hour after it failed',
    csr: csr({
      conditions: [
        { type: 'Approved', status: 'True', lastUpdateTime: at(0) },
        { type: 'Failed', status: 'True', lastUpdateTime: at(hour) },
      ],
    }),
    after: 2 * hour,
  },
  {
    name: 'an issued request goes an hour after it was approved',
    csr: csr({
      conditions: [{ type: 'Approved', status: 'True', lastUpdateTime: at(0) }],
      certificate: 'eA==',
    }),
    after: hour,
  },
]

for (const c of cases) {
  test(c.name, async () => {
    const s = setup(c.csr)
    assert.deepEqual(await s.cleaner.reconcile('csr-1'), { afterMs: c.after + 1 })
    assert.deepEqual(s.deleted, [])
    s.clock.advance(c.after + 1)
    assert.equal(await s.cleaner.reconcile('csr-1'), undefined)
    assert.deepEqual(s.deleted, ['csr-1 if u-1'])
  })
}

test('an issued request whose certificate has expired goes at once', async () => {
  const ca = await createCertificateAuthority('test-ca')
  const cert = await issueCertificate(ca, { subject: { commonName: 'x' }, usage: 'client', validityDays: -1 })
  const s = setup(
    csr({
      conditions: [{ type: 'Approved', status: 'True', lastUpdateTime: new Date().toISOString() }],
      certificate: Buffer.from(cert.certPem).toString('base64'),
    }),
  )
  s.clock.advance(Date.now() - start)
  assert.equal(await s.cleaner.reconcile('csr-1'), undefined)
  assert.deepEqual(s.deleted, ['csr-1 if u-1'])
})

test('an approved request no signer issued is kept', async () => {
  const s = setup(csr({ conditions: [{ type: 'Approved', status: 'True', lastUpdateTime: at(0) }] }))
  s.clock.advance(48 * hour)
  assert.equal(await s.cleaner.reconcile('csr-1'), undefined)
  assert.deepEqual(s.deleted, [])
})
