import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CertificateSigningRequest } from '../../api/generated/types/certificates-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import { createCertificateRequest } from '../../pki/certificate-requests.ts'
import type { Authorizer, ResourceAttributes } from '../authz/authorizer.ts'
import type { ApiError } from '../errors.ts'
import type { AdmissionAttributes, Operation } from './admission.ts'
import {
  certificateApprovalPlugin,
  certificateSigningPlugin,
  certificateSubjectRestrictionPlugin,
} from './certificates.ts'

/** Allows exactly the (verb, signers name) pairs given, and records what was asked. */
function authorizerAllowing(allowed: readonly string[]): { authorizer: Authorizer; asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    authorizer: {
      authorize(a) {
        const r = a as ResourceAttributes
        const key = `${r.verb} ${r.apiGroup}/${r.resource} ${r.name}`
        asked.push(key)
        return allowed.includes(key) ? { decision: 'allow' } : { decision: 'no-opinion', reason: '' }
      },
    },
  }
}

const csr = (
  o: { signerName?: string; status?: CertificateSigningRequest['status']; request?: string } = {},
) =>
  ({
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: 'csr-1' },
    spec: {
      request: o.request ?? '',
      signerName: o.signerName ?? 'example.com/widgets',
      usages: ['client auth'],
    },
    status: o.status ?? {},
  }) as unknown as KubeObject

const attributes = (
  subresource: string,
  object: KubeObject,
  oldObject?: KubeObject,
  operation: Operation = 'UPDATE',
): AdmissionAttributes => ({
  operation,
  group: 'certificates.k8s.io',
  version: 'v1',
  resource: 'certificatesigningrequests',
  subresource,
  kind: 'CertificateSigningRequest',
  namespace: '',
  name: 'csr-1',
  object,
  oldObject,
  dryRun: false,
  user: { name: 'jane', groups: ['system:authenticated'] },
})

const approved = { conditions: [{ type: 'Approved', status: 'True' }] }

test('approving needs approve on the signer, asked by name and then by domain', async () => {
  const plugin = certificateApprovalPlugin(() => authorizerAllowing([]).authorizer)
  const a = attributes('approval', csr({ status: approved }), csr())
  assert.ok(plugin.handles(a))
  await assert.rejects(
    async () => plugin.validate?.(a),
    (err: ApiError) => {
      assert.equal(err.code, 403)
      assert.equal(
        err.status.message,
        'certificatesigningrequests.certificates.k8s.io "csr-1" is forbidden: user not permitted to approve requests with signerName "example.com/widgets"',
      )
      return true
    },
  )
  const { authorizer, asked } = authorizerAllowing(['approve certificates.k8s.io/signers example.com/*'])
  await certificateApprovalPlugin(() => authorizer).validate?.(a)
  assert.deepEqual(asked, [
    'approve certificates.k8s.io/signers example.com/widgets',
    'approve certificates.k8s.io/signers example.com/*',
  ])
})

test('the signer checked is the stored one, not the one sent', async () => {
  const { authorizer, asked } = authorizerAllowing(['approve certificates.k8s.io/signers other.io/x'])
  const a = attributes('approval', csr({ signerName: 'other.io/x', status: approved }), csr())
  await assert.rejects(async () => certificateApprovalPlugin(() => authorizer).validate?.(a))
  assert.equal(asked[0], 'approve certificates.k8s.io/signers example.com/widgets')
})

test('signing needs sign on the signer, and only when the certificate or conditions change', async () => {
  const plugin = certificateSigningPlugin(() => authorizerAllowing([]).authorizer)
  const issued = csr({ status: { ...approved, certificate: 'Y2VydA==' } })
  await assert.rejects(
    async () => plugin.validate?.(attributes('status', issued, csr({ status: approved }))),
    /user not permitted to sign requests with signerName "example.com\/widgets"/,
  )
  await plugin.validate?.(attributes('status', issued, issued))
  const { authorizer } = authorizerAllowing(['sign certificates.k8s.io/signers example.com/widgets'])
  await certificateSigningPlugin(() => authorizer).validate?.(
    attributes('status', issued, csr({ status: approved })),
  )
  assert.equal(plugin.handles(attributes('approval', issued, issued)), false)
})

test('no kube-apiserver-client certificate for system:masters', async () => {
  const masters = await createCertificateRequest({
    subject: { commonName: 'mallory', organizations: ['system:masters'] },
  })
  const devs = await createCertificateRequest({ subject: { commonName: 'jane', organizations: ['devs'] } })
  const request = (pem: string) => Buffer.from(pem).toString('base64')
  const create = (pem: string, signerName = 'kubernetes.io/kube-apiserver-client') =>
    attributes('', csr({ request: request(pem), signerName }), undefined, 'CREATE')
  await assert.rejects(
    async () => certificateSubjectRestrictionPlugin.validate?.(create(masters.csrPem)),
    (err: ApiError) =>
      err.status.message ===
      'certificatesigningrequests.certificates.k8s.io "csr-1" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed',
  )
  await certificateSubjectRestrictionPlugin.validate?.(create(devs.csrPem))
  await certificateSubjectRestrictionPlugin.validate?.(create(masters.csrPem, 'example.com/other'))
})
