import assert from 'node:assert/strict'
import { test } from 'node:test'
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import {
  checkCertificateRequestSignature,
  parseCertificateRequestPem,
  parseCertificatesPem,
  readCertificateRequest,
} from './certificate-request.ts'

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
const rsa = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
}

async function request(
  o: { name?: string; sans?: x509.JsonGeneralNames; algorithm?: typeof ecdsa | typeof rsa } = {},
): Promise<string> {
  const algorithm = o.algorithm ?? ecdsa
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: o.name ?? 'O=system:nodes, CN=system:node:node-1',
    keys,
    signingAlgorithm: algorithm,
    ...(o.sans ? { extensions: [new x509.SubjectAlternativeNameExtension(o.sans)] } : {}),
  })
  return csr.toString('pem')
}

const b64 = (s: string) => Buffer.from(s).toString('base64')

test('the subject, SANs and key of a request are read as Kubernetes reads them', async () => {
  const pem = await request({
    name: 'C=DE, L=Berlin, O=system:nodes, O=other, OU=ops, CN=system:node:node-1',
    sans: [
      { type: 'dns', value: 'node-1.example' },
      { type: 'ip', value: '10.0.0.7' },
      { type: 'ip', value: 'fd00::1' },
      { type: 'email', value: 'ops@example.com' },
      { type: 'url', value: 'spiffe://cluster/node-1' },
    ],
  })
  const r = readCertificateRequest(b64(pem))
  assert.equal(r.subject.commonName, 'system:node:node-1')
  assert.deepEqual(r.subject.organizations, ['system:nodes', 'other'])
  assert.deepEqual(r.subject.organizationalUnits, ['ops'])
  assert.deepEqual(r.subject.countries, ['DE'])
  assert.deepEqual(r.subject.localities, ['Berlin'])
  assert.deepEqual(r.dnsNames, ['node-1.example'])
  assert.deepEqual(r.ipAddresses, ['10.0.0.7', 'fd00::1'])
  assert.deepEqual(r.emailAddresses, ['ops@example.com'])
  assert.deepEqual(r.uris, ['spiffe://cluster/node-1'])
  assert.equal(r.publicKeyAlgorithm, 'ECDSA')
})

test('an RSA request is read and its signature checked', async () => {
  const r = readCertificateRequest(b64(await request({ algorithm: rsa })))
  assert.equal(r.publicKeyAlgorithm, 'RSA')
  assert.equal(r.signatureAlgorithm, '1.2.840.113549.1.1.11')
})

test('a request whose signed part was changed fails its signature check with Go’s message', async () => {
  const r = parseCertificateRequestPem(await request())
  const at = r.signedDer.length - 10
  const signedDer = Buffer.from(r.signedDer)
  signedDer[at] = (signedDer[at] ?? 0) ^ 1
  assert.throws(() => checkCertificateRequestSignature({ ...r, signedDer }), {
    message: 'x509: ECDSA verification failure',
  })
})

const refusals = [
  { name: 'something that is not PEM', pem: 'hello', message: 'PEM block type must be CERTIFICATE REQUEST' },
  {
    name: 'a PEM block of another type',
    pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    message: 'PEM block type must be CERTIFICATE REQUEST',
  },
  {
    name: 'a CERTIFICATE REQUEST block of garbage',
    pem: '-----BEGIN CERTIFICATE REQUEST-----\nMIIBAgMEBQ==\n-----END CERTIFICATE REQUEST-----\n',
    message: 'x509: malformed certificate request',
  },
  {
    name: 'an empty CERTIFICATE REQUEST block',
    pem: '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n',
    message: 'x509: malformed certificate request',
  },
]
for (const c of refusals) {
  test(`${c.name} is refused: ${c.message}`, () => {
    assert.throws(() => readCertificateRequest(b64(c.pem)), { message: c.message })
  })
}

test('every truncation of a request is refused, never a crash', async () => {
  const pem = await request()
  const whole = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
  for (let n = 0; n < whole.length; n += 7) {
    const cut = `-----BEGIN CERTIFICATE REQUEST-----\n${whole.subarray(0, n).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`
    assert.throws(() => readCertificateRequest(b64(cut)), /malformed|PEM block/)
  }
})

test('status.certificate must be CERTIFICATE blocks, at least one', () => {
  assert.throws(() => parseCertificatesPem(''), {
    message: 'must contain at least one CERTIFICATE PEM block',
  })
  assert.throws(
    () => parseCertificatesPem('-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n'),
    {
      message: 'only CERTIFICATE PEM blocks are allowed, found "RSA PRIVATE KEY"',
    },
  )
  assert.throws(
    () => parseCertificatesPem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    {
      message: 'x509: malformed certificate',
    },
  )
})
