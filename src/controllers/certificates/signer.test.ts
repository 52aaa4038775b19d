import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { describe, test } from 'node:test'
import type { CertificateSigningRequest } from '../../api/generated/types/certificates-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { IndexedCache, Lister, TerminalError } from '../../client/index.ts'
import { createCertificateRequest } from '../../pki/certificate-requests.ts'
import { createCertificateAuthority, type Subject } from '../../pki/index.ts'
import { certificateLifetime, CSRSigner, requestedDuration } from './signer.ts'

const ca = await createCertificateAuthority('test-ca')
const caCert = new X509Certificate(ca.certPem)
const hour = 3_600_000

async function csr(o: {
  name?: string
  signerName?: string
  subject?: Subject
  dnsNames?: string[]
  usages?: string[]
  expirationSeconds?: number
  conditions?: NonNullable<CertificateSigningRequest['status']>['conditions']
}): Promise<CertificateSigningRequest> {
  const { csrPem } = await createCertificateRequest({
    subject: o.subject ?? { commonName: 'system:node:node-1', organizations: ['system:nodes'] },
    ...(o.dnsNames ? { dnsNames: o.dnsNames } : {}),
  })
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: o.name ?? 'csr-1', uid: 'u-1' },
    spec: {
      request: Buffer.from(csrPem).toString('base64'),
      signerName: o.signerName ?? 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: o.usages ?? ['digital signature', 'client auth'],
      username: 'system:node:node-1',
      ...(o.expirationSeconds !== undefined ? { expirationSeconds: o.expirationSeconds } : {}),
    },
    status: { conditions: o.conditions ?? [{ type: 'Approved', status: 'True', reason: 'AutoApproved' }] },
  }
}

function setup(request: CertificateSigningRequest, o: { durationMs?: number } = {}) {
  const cache = new IndexedCache<CertificateSigningRequest>()
  cache.set(request)
  const clock = new FakeClock(Date.now())
  const written: CertificateSigningRequest[] = []
  const signer = new CSRSigner({
    csrs: new Lister(cache),
    ca,
    ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
    updateStatus: async (csr) => void written.push(csr),
    clock,
  })
  return { signer, written, clock }
}

const issued = (csr: CertificateSigningRequest | undefined) =>
  new X509Certificate(Buffer.from(csr?.status?.certificate ?? '', 'base64'))

describe('csrsigning', () => {
  test('an approved kubelet client request gets a client certificate of the cluster CA', async () => {
    const s = setup(await csr({}))
    await s.signer.reconcile('csr-1')
    assert.equal(s.written.length, 1)
    const cert = issued(s.written[0])
    assert.ok(cert.verify(caCert.publicKey))
    assert.equal(cert.subject, 'O=system:nodes\nCN=system:node:node-1')
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'])
    assert.equal(cert.ca, false)
    assert.equal(Date.parse(cert.validFrom), Math.floor((s.clock.now() - 5 * 60_000) / 1000) * 1000)
    assert.equal(
      Date.parse(cert.validTo),
      Math.min(
        Math.floor((s.clock.now() + 365 * 24 * hour - 5 * 60_000) / 1000) * 1000,
        Date.parse(caCert.validTo),
      ),
    )
    assert.deepEqual(s.written[0]?.status?.conditions?.[0]?.type, 'Approved')
  })

  test('expirationSeconds is honoured, at least ten minutes and at most the signing duration', async () => {
    const s = setup(await csr({ expirationSeconds: 3600 }))
    await s.signer.reconcile('csr-1')
    const cert = issued(s.written[0])
    assert.equal(Date.parse(cert.validTo), Math.floor((s.clock.now() + hour) / 1000) * 1000)
    assert.equal(requestedDuration(60, 24 * hour), 10 * 60_000)
    assert.equal(requestedDuration(48 * 3600, 24 * hour), 24 * hour)
    assert.equal(requestedDuration(undefined, 24 * hour), 24 * hour)
  })

  test('a serving certificate carries the SANs asked for and server auth', async () => {
    const s = setup(
      await csr({
        signerName: 'kubernetes.io/kubelet-serving',
        dnsNames: ['node-1.example'],
        usages: ['digital signature', 'server auth'],
      }),
    )
    await s.signer.reconcile('csr-1')
    const cert = issued(s.written[0])
    assert.equal(cert.subjectAltName, 'DNS:node-1.example')
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'])
  })

  test('a kube-apiserver-client request may name any user', async () => {
    const s = setup(
      await csr({
        signerName: 'kubernetes.io/kube-apiserver-client',
        subject: { commonName: 'jane', organizations: ['devs'] },
        usages: ['client auth'],
      }),
    )
    await s.signer.reconcile('csr-1')
    assert.equal(issued(s.written[0]).subject, 'O=devs\nCN=jane')
  })

  const failures = [
    {
      name: 'a kubelet client request for another group fails',
      csr: { subject: { commonName: 'system:node:node-1', organizations: ['system:masters'] } },
      message: 'subject organization is not system:nodes',
    },
    {
      name: 'a kubelet client request with SANs fails',
      csr: { dnsNames: ['x.example'] },
      message: 'DNS subjectAltNames are not allowed',
    },
    {
      name: 'a kubelet client request for a user that is not a node fails',
      csr: { subject: { commonName: 'jane', organizations: ['system:nodes'] } },
      message: 'subject common name does not begin with system:node:',
    },
    {
      name: 'a kubelet client request with server auth fails',
      csr: { usages: ['digital signature', 'server auth'] },
      message: 'usages did not match [client auth digital signature key encipherment]',
    },
    {
      name: 'a kubelet serving request without SANs fails',
      csr: { signerName: 'kubernetes.io/kubelet-serving', usages: ['digital signature', 'server auth'] },
      message: 'DNS or IP subjectAltName is required',
    },
    {
      name: 'a kube-apiserver-client request for server auth fails',
      csr: { signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth', 'server auth'] },
      message: 'invalid usage for client certificate: server auth',
    },
  ]
  for (const f of failures) {
    test(`${f.name}: SignerValidationFailure`, async () => {
      const s = setup(await csr(f.csr))
      await s.signer.reconcile('csr-1')
      const conditions = s.written[0]?.status?.conditions ?? []
      assert.equal(s.written[0]?.status?.certificate, undefined)
      assert.deepEqual(
        conditions.map((c) => [c.type, c.status, c.reason, c.message]),
        [
          ['Approved', 'True', 'AutoApproved', undefined],
          ['Failed', 'True', 'SignerValidationFailure', f.message],
        ],
      )
    })
  }

  test('pending, denied, failed, issued and other signers’ requests are left alone', async () => {
    const cases = [
      await csr({ conditions: [] }),
      await csr({ conditions: [{ type: 'Denied', status: 'True' }] }),
      await csr({
        conditions: [
          { type: 'Approved', status: 'True' },
          { type: 'Failed', status: 'True' },
        ],
      }),
      {
        ...(await csr({})),
        status: { conditions: [{ type: 'Approved', status: 'True' }], certificate: 'Q0VSVA==' },
      },
      await csr({ signerName: 'example.com/widgets' }),
    ]
    for (const c of cases) {
      const s = setup(c)
      await s.signer.reconcile('csr-1')
      assert.deepEqual(s.written, [])
    }
  })
})

describe('certificate lifetimes', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  const far = now + 10 * 365 * 24 * hour
  test('long-lived certificates are backdated five minutes at both ends', () => {
    assert.deepEqual(certificateLifetime({ now, durationMs: 24 * hour, caNotAfter: far }), {
      notBefore: now - 5 * 60_000,
      notAfter: now + 24 * hour - 5 * 60_000,
    })
  })
  test('short-lived ones keep their end', () => {
    assert.deepEqual(certificateLifetime({ now, durationMs: hour, caNotAfter: far }), {
      notBefore: now - 5 * 60_000,
      notAfter: now + hour,
    })
  })
  test('no certificate outlives the CA, and an expired CA signs nothing', () => {
    assert.equal(
      certificateLifetime({ now, durationMs: 24 * hour, caNotAfter: now + hour }).notAfter,
      now + hour,
    )
    assert.throws(
      () => certificateLifetime({ now, durationMs: hour, caNotAfter: now - 1000 }),
      (err: Error) =>
        err instanceof TerminalError &&
        err.message ===
          'refusing to sign a certificate that expired in the past: NotAfter=2025-12-31T23:59:59.000Z',
    )
  })
})
