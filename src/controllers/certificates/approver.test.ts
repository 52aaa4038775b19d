import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SubjectAccessReview } from '../../api/generated/types/authorization-v1.ts'
import type { CertificateSigningRequest } from '../../api/generated/types/certificates-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { IndexedCache, Lister } from '../../client/index.ts'
import { createCertificateRequest } from '../../pki/certificate-requests.ts'
import type { Subject } from '../../pki/index.ts'
import { CSRApprover, NotApprovedError } from './approver.ts'

async function csr(
  o: {
    username?: string
    groups?: string[]
    signerName?: string
    subject?: Subject
    usages?: string[]
    status?: CertificateSigningRequest['status']
  } = {},
): Promise<CertificateSigningRequest> {
  const { csrPem } = await createCertificateRequest({
    subject: o.subject ?? { commonName: 'system:node:node-1', organizations: ['system:nodes'] },
  })
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: 'csr-1' },
    spec: {
      request: Buffer.from(csrPem).toString('base64'),
      signerName: o.signerName ?? 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: o.usages ?? ['digital signature', 'client auth'],
      username: o.username ?? 'system:bootstrap:abcdef',
      uid: 'uid-1',
      groups: o.groups ?? ['system:bootstrappers', 'system:authenticated'],
    },
    status: o.status ?? {},
  }
}

/** An approver whose reviews allow the subresources given, recording every review and write. */
function setup(request: CertificateSigningRequest, allowed: readonly string[]) {
  const cache = new IndexedCache<CertificateSigningRequest>()
  cache.set(request)
  const reviews: SubjectAccessReview[] = []
  const written: CertificateSigningRequest[] = []
  const approver = new CSRApprover({
    csrs: new Lister(cache),
    review: async (sar) => {
      reviews.push(sar)
      return allowed.includes(sar.spec.resourceAttributes?.subresource ?? '')
    },
    updateApproval: async (c) => void written.push(c),
    clock: new FakeClock(),
  })
  return { approver, reviews, written }
}

test('a bootstrap token allowed nodeclient gets its kubelet client request approved', async () => {
  const s = setup(await csr(), ['nodeclient'])
  await s.approver.reconcile('csr-1')
  assert.deepEqual(s.written[0]?.status?.conditions, [
    {
      type: 'Approved',
      status: 'True',
      reason: 'AutoApproved',
      message: 'Auto approving kubelet client certificate after SubjectAccessReview.',
    },
  ])
  assert.deepEqual(s.reviews[0]?.spec, {
    user: 'system:bootstrap:abcdef',
    uid: 'uid-1',
    groups: ['system:bootstrappers', 'system:authenticated'],
    resourceAttributes: {
      group: 'certificates.k8s.io',
      resource: 'certificatesigningrequests',
      verb: 'create',
      subresource: 'nodeclient',
    },
  })
})

test('a node renewing its own certificate is asked about selfnodeclient first', async () => {
  const s = setup(await csr({ username: 'system:node:node-1', groups: ['system:nodes'] }), ['selfnodeclient'])
  await s.approver.reconcile('csr-1')
  assert.deepEqual(
    s.reviews.map((r) => r.spec.resourceAttributes?.subresource),
    ['selfnodeclient'],
  )
  assert.equal(
    s.written[0]?.status?.conditions?.[0]?.message,
    'Auto approving self kubelet client certificate after SubjectAccessReview.',
  )
})

test('a node asking for another node’s certificate needs nodeclient', async () => {
  const s = setup(
    await csr({
      username: 'system:node:node-2',
      groups: ['system:nodes'],
      subject: { commonName: 'system:node:node-1', organizations: ['system:nodes'] },
    }),
    ['selfnodeclient'],
  )
  await assert.rejects(s.approver.reconcile('csr-1'), (err: Error) => {
    assert.ok(err instanceof NotApprovedError)
    assert.equal(
      err.message,
      'recognized csr "csr-1" as [nodeclient] but subject access review was not approved',
    )
    return true
  })
  assert.deepEqual(s.written, [])
})

test('requests that are not for a kubelet client certificate wait for a person', async () => {
  for (const c of [
    await csr({ signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] }),
    await csr({ subject: { commonName: 'system:node:node-1', organizations: ['system:masters'] } }),
    await csr({ usages: ['digital signature', 'server auth'] }),
  ]) {
    const s = setup(c, ['nodeclient', 'selfnodeclient'])
    await s.approver.reconcile('csr-1')
    assert.deepEqual(s.reviews, [])
    assert.deepEqual(s.written, [])
  }
})

test('approved, denied and issued requests are not looked at again', async () => {
  for (const status of [
    { conditions: [{ type: 'Approved', status: 'True' }] },
    { conditions: [{ type: 'Denied', status: 'True' }] },
    { certificate: 'Q0VSVA==' },
  ]) {
    const s = setup(await csr({ status }), ['nodeclient'])
    await s.approver.reconcile('csr-1')
    assert.deepEqual(s.reviews, [])
    assert.deepEqual(s.written, [])
  }
})
