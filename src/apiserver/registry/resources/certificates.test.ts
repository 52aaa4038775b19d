import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CertificateSigningRequest } from '../../../api/generated/types/certificates-v1.ts'
import type { StoredObject } from '../../../api/object.ts'
import type { StrategyContext } from '../strategy.ts'
import {
  certificateSigningRequestApprovalStrategy,
  certificateSigningRequestStatusStrategy,
  certificateSigningRequestStrategy,
} from './certificates.ts'

const ctx: StrategyContext = {
  user: {
    name: 'system:bootstrap:abcdef',
    uid: 'u-1',
    groups: ['system:bootstrappers'],
    extra: { scope: ['a'] },
  },
  namespace: '',
  now: Date.parse('2026-01-01T00:00:00Z'),
}

const csr = (o: Partial<CertificateSigningRequest> = {}): StoredObject => ({
  apiVersion: 'certificates.k8s.io/v1',
  kind: 'CertificateSigningRequest',
  metadata: { name: 'csr-1' },
  spec: { request: 'UkVR', signerName: 'example.com/x', usages: ['client auth'] },
  ...o,
})

const statusOf = (o: StoredObject) => (o as unknown as CertificateSigningRequest).status
const specOf = (o: StoredObject) => (o as unknown as CertificateSigningRequest).spec

test('a new request is the requester’s, whatever it claims, and starts without status', async () => {
  const obj = csr({
    spec: { request: 'UkVR', signerName: 'example.com/x', username: 'admin', groups: ['system:masters'] },
    status: { conditions: [{ type: 'Approved', status: 'True' }] },
  })
  await certificateSigningRequestStrategy.prepareForCreate?.(obj, ctx)
  assert.deepEqual(specOf(obj), {
    request: 'UkVR',
    signerName: 'example.com/x',
    username: 'system:bootstrap:abcdef',
    uid: 'u-1',
    groups: ['system:bootstrappers'],
    extra: { scope: ['a'] },
  })
  assert.deepEqual(statusOf(obj), {})
})

test('the main resource keeps spec and status as stored', async () => {
  const prev = csr({ status: { conditions: [{ type: 'Approved', status: 'True' }] } })
  const next = csr({ spec: { request: 'T1RIRVI=', signerName: 'example.com/y' }, status: {} })
  next.metadata.labels = { a: 'b' }
  await certificateSigningRequestStrategy.prepareForUpdate?.(next, prev, ctx)
  assert.deepEqual(specOf(next), specOf(prev))
  assert.deepEqual(statusOf(next), statusOf(prev))
  assert.deepEqual(next.metadata.labels, { a: 'b' })
})

test('/approval takes only the conditions, stamped with the time', async () => {
  const prev = csr({ status: { certificate: 'Q0VSVA==' } })
  const next = csr({
    status: { conditions: [{ type: 'Approved', status: 'True', reason: 'R' }], certificate: 'WA==' },
  })
  await certificateSigningRequestApprovalStrategy.prepareForUpdate?.(next, prev, ctx)
  assert.deepEqual(statusOf(next), {
    certificate: 'Q0VSVA==',
    conditions: [
      {
        type: 'Approved',
        status: 'True',
        reason: 'R',
        lastUpdateTime: '2026-01-01T00:00:00Z',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  })
})

test('/status keeps the approval conditions as stored and takes the certificate', async () => {
  const approved = {
    type: 'Approved',
    status: 'True',
    reason: 'AutoApproved',
    lastUpdateTime: '2025-12-31T00:00:00Z',
    lastTransitionTime: '2025-12-31T00:00:00Z',
  }
  const prev = csr({ status: { conditions: [approved] } })
  const next = csr({
    status: { conditions: [{ ...approved, reason: 'Changed' }], certificate: 'Q0VSVA==' },
  })
  await certificateSigningRequestStatusStrategy.prepareForUpdate?.(next, prev, ctx)
  assert.deepEqual(statusOf(next), { conditions: [approved], certificate: 'Q0VSVA==' })
})
