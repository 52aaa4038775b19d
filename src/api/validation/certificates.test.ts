import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import type { FieldError } from '../field-errors.ts'
import type { CertificateSigningRequest } from '../generated/types/certificates-v1.ts'
import {
  validateCertificateSigningRequestCreate,
  validateCertificateSigningRequestUpdate,
  validateSignerName,
} from './certificates.ts'
import { FieldPath } from '../field-errors.ts'

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])
const csrPem = (
  await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'O=system:nodes, CN=system:node:node-1',
    keys,
    signingAlgorithm: algorithm,
  })
).toString('pem')
const caKeys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])
const certPem = (
  await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=x',
    keys: caKeys,
    signingAlgorithm: algorithm,
  })
).toString('pem')
const b64 = (s: string) => Buffer.from(s).toString('base64')

function csr(
  spec: Partial<CertificateSigningRequest['spec']> = {},
  status: CertificateSigningRequest['status'] = {},
): CertificateSigningRequest {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: 'csr-1' },
    spec: {
      request: b64(csrPem),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: ['digital signature', 'client auth'],
      ...spec,
    },
    status,
  }
}

const approved = { type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'ok' }
const denied = { type: 'Denied', status: 'True', reason: 'No', message: 'no' }

/** field: detail, as compact as kubectl's message lines. */
const brief = (errs: FieldError[]) => errs.map((e) => `${e.type} ${e.field}: ${e.detail}`)

describe('CertificateSigningRequest create', () => {
  const cases: { name: string; csr: CertificateSigningRequest; want: string[] }[] = [
    { name: 'a kubelet client request is valid', csr: csr(), want: [] },
    {
      name: 'a request that is not PEM is refused with ParseCSR’s message',
      csr: csr({ request: b64('not a request') }),
      want: ['FieldValueInvalid spec.request: PEM block type must be CERTIFICATE REQUEST'],
    },
    {
      name: 'usages are required',
      csr: csr({ usages: [] }),
      want: ['FieldValueRequired spec.usages: '],
    },
    {
      name: 'an unknown usage is not supported, and a repeated one is a duplicate',
      csr: csr({ usages: ['client auth', 'flying', 'client auth'] }),
      want: [
        `FieldValueNotSupported spec.usages[1]: supported values: "any", "cert sign", "client auth", "code signing", "content commitment", "crl sign", "data encipherment", "decipher only", "digital signature", "email protection", "encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement", "key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime", "server auth", "signing", "timestamping"`,
        'FieldValueDuplicate spec.usages[2]: ',
      ],
    },
    {
      name: 'the signerName is required',
      csr: csr({ signerName: '' }),
      want: ['FieldValueRequired spec.signerName: '],
    },
    {
      name: 'the legacy signer is refused through v1',
      csr: csr({ signerName: 'kubernetes.io/legacy-unknown' }),
      want: ['FieldValueInvalid spec.signerName: the legacy signerName is not allowed via this API version'],
    },
    {
      name: 'an expiration under ten minutes is refused',
      csr: csr({ expirationSeconds: 599 }),
      want: [
        'FieldValueInvalid spec.expirationSeconds: may not specify a duration less than 600 seconds (10 minutes)',
      ],
    },
    {
      name: 'Approved and Denied exclude each other',
      csr: csr({}, { conditions: [approved, denied] }),
      want: [
        'FieldValueInvalid status.conditions[1].type: Approved and Denied conditions are mutually exclusive',
      ],
    },
    {
      name: 'an Approved condition may only be True, and conditions need a type and a status',
      csr: csr(
        {},
        {
          conditions: [
            { ...approved, status: 'False' },
            { type: '', status: '' },
          ],
        },
      ),
      want: [
        'FieldValueNotSupported status.conditions[0].status: supported values: "True"',
        'FieldValueRequired status.conditions[1].type: ',
        'FieldValueRequired status.conditions[1].status: ',
      ],
    },
    {
      name: 'a condition type may appear once',
      csr: csr({}, { conditions: [approved, approved] }),
      want: ['FieldValueDuplicate status.conditions[1].type: '],
    },
    {
      name: 'status.certificate must hold certificates',
      csr: csr({}, { certificate: b64('junk') }),
      want: ['FieldValueInvalid status.certificate: must contain at least one CERTIFICATE PEM block'],
    },
  ]
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(brief(validateCertificateSigningRequestCreate(c.csr)), c.want))
  }
})

describe('CertificateSigningRequest updates per endpoint', () => {
  const pending = csr()
  const issued = csr({}, { conditions: [approved], certificate: b64(certPem) })
  const cases: {
    name: string
    endpoint: 'main' | 'status' | 'approval'
    prev: CertificateSigningRequest
    next: CertificateSigningRequest
    want: string[]
  }[] = [
    {
      name: '/approval may approve',
      endpoint: 'approval',
      prev: pending,
      next: csr({}, { conditions: [approved] }),
      want: [],
    },
    {
      name: 'the main resource may not approve',
      endpoint: 'main',
      prev: pending,
      next: csr({}, { conditions: [approved] }),
      want: ['FieldValueForbidden status.conditions: updates may not add a condition of type "Approved"'],
    },
    {
      name: '/status may not deny',
      endpoint: 'status',
      prev: pending,
      next: csr({}, { conditions: [denied] }),
      want: ['FieldValueForbidden status.conditions: updates may not add a condition of type "Denied"'],
    },
    {
      name: 'an approval is not turned into a denial',
      endpoint: 'approval',
      prev: csr({}, { conditions: [approved] }),
      next: csr({}, { conditions: [denied] }),
      want: ['FieldValueForbidden status.conditions: updates may not remove a condition of type "Approved"'],
    },
    {
      name: '/status may set the certificate',
      endpoint: 'status',
      prev: csr({}, { conditions: [approved] }),
      next: issued,
      want: [],
    },
    {
      name: '/approval may not set the certificate',
      endpoint: 'approval',
      prev: csr({}, { conditions: [approved] }),
      next: issued,
      want: ['FieldValueForbidden status.certificate: updates may not set certificate content'],
    },
    {
      name: 'an issued certificate is not replaced',
      endpoint: 'status',
      prev: issued,
      next: csr({}, { conditions: [approved], certificate: b64(`${certPem}${certPem}`) }),
      want: ['FieldValueForbidden status.certificate: updates may not modify existing certificate content'],
    },
    {
      name: 'what the stored object already has wrong is tolerated',
      endpoint: 'main',
      prev: csr({ usages: ['client auth', 'client auth'] }, { conditions: [approved, denied] }),
      next: csr({ usages: ['client auth', 'client auth'] }, { conditions: [approved, denied] }),
      want: [],
    },
  ]
  for (const c of cases) {
    test(c.name, () =>
      assert.deepEqual(brief(validateCertificateSigningRequestUpdate(c.next, c.prev, c.endpoint)), c.want),
    )
  }
})

describe('signerName', () => {
  const p = FieldPath.root('spec').child('signerName')
  const cases = [
    { name: 'example.com/my-signer', want: [] },
    { name: 'k8s.io/a.b-c', want: [] },
    {
      name: 'no-slash',
      want: [
        "FieldValueInvalid spec.signerName: must be a fully qualified domain and path of the form 'example.com/signer-name'",
      ],
    },
    {
      name: 'a/b/c',
      want: [
        "FieldValueInvalid spec.signerName: must be a fully qualified domain and path of the form 'example.com/signer-name'",
      ],
    },
    {
      name: 'localhost/signer',
      want: [
        'FieldValueInvalid spec.signerName: should be a domain with at least two segments separated by dots',
      ],
    },
  ]
  for (const c of cases)
    test(`${c.name}`, () => assert.deepEqual(brief(validateSignerName(p, c.name)), c.want))
  test('a bad label names itself', () => {
    const errs = validateSignerName(p, 'Example.com/x')
    assert.equal(errs.length, 1)
    assert.match(errs[0]?.detail ?? '', /^validating label "Example": a lowercase RFC 1123 label/)
  })
})
