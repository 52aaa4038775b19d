import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { x509lib } from '../../src/pki/certificates.ts'
import { createCertificateAuthority, type KeyPair } from '../../src/pki/index.ts'
import { startTestApiServer, type TestApiServer } from '../support/cluster.ts'

const unauthorized = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'Unauthorized',
  reason: 'Unauthorized',
  code: 401,
}

const selfSubjectReview = JSON.stringify({
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'SelfSubjectReview',
})

interface Reply {
  code: number
  body: Record<string, unknown>
}

/** One request on a connection of its own, with the given client certificate and headers. */
function send(
  c: TestApiServer,
  method: string,
  path: string,
  o: { cert?: KeyPair; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, c.server.url),
      {
        method,
        ca: c.server.caPem,
        ...(o.cert ? { cert: o.cert.certPem, key: o.cert.keyPem } : {}),
        agent: new Agent({ keepAlive: false }),
        headers: {
          ...(o.body !== undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(o.body)) }
            : {}),
          ...o.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (d: Buffer) => chunks.push(d))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          let body: Record<string, unknown>
          try {
            body = JSON.parse(text) as Record<string, unknown>
          } catch {
            body = { text }
          }
          resolve({ code: res.statusCode ?? 0, body })
        })
      },
    )
    req.on('error', reject)
    req.end(o.body)
  })
}

/** Who the apiserver takes a request for (a SelfSubjectReview), or the Status it answers. */
async function whoami(c: TestApiServer, o: { cert?: KeyPair; headers?: Record<string, string> }) {
  return send(c, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    ...o,
    body: selfSubjectReview,
  })
}

function userOf(r: Reply): Record<string, unknown> {
  assert.equal(r.code, 201, JSON.stringify(r.body))
  return (r.body.status as { userInfo: Record<string, unknown> }).userInfo
}

const signing = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

/**
 * A client certificate made by hand, so that it can be what the cluster's PKI never makes:
 * expired, not yet valid, without clientAuth, signed by someone else.
 */
async function clientCertificate(
  ca: KeyPair,
  o: { commonName: string; organizations?: string[]; notBefore?: Date; notAfter?: Date; usages?: string[] },
): Promise<KeyPair> {
  const x509 = await x509lib()
  const caCert = new x509.X509Certificate(ca.certPem)
  const der = Buffer.from(
    ca.keyPem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, ''),
    'base64',
  )
  const caKey = await crypto.subtle.importKey('pkcs8', der, signing, false, ['sign'])
  const keys = await crypto.subtle.generateKey(signing, true, ['sign', 'verify'])
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    subject: [...(o.organizations ?? []).map((g) => `O=${g}`), `CN=${o.commonName}`].join(', '),
    issuer: caCert.subject,
    notBefore: o.notBefore ?? new Date(now - 60_000),
    notAfter: o.notAfter ?? new Date(now + 86_400_000),
    signingAlgorithm: signing,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(o.usages ?? [x509.ExtendedKeyUsage.clientAuth]),
    ],
  })
  const key = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64')
  return {
    certPem: cert.toString('pem'),
    keyPem: `-----BEGIN PRIVATE KEY-----\n${key.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`,
  }
}

describe('client certificates', () => {
  let c: TestApiServer
  let ca: KeyPair

  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'k8ts-apiserver-'))
    writeFileSync(join(dataDir, 'tokens.csv'), 'secret-token,token-user,u-1,"devs"\n')
    c = await startTestApiServer({ dataDir, tokenAuthFile: join(dataDir, 'tokens.csv') })
    ca = {
      certPem: readFileSync(join(c.dataDir, 'pki', 'ca.crt'), 'utf8'),
      keyPem: readFileSync(join(c.dataDir, 'pki', 'ca.key'), 'utf8'),
    }
  })

  after(async () => {
    await c.stop()
  })

  test('a valid client certificate is its subject: CN the user, each O a group', async () => {
    const cert = await clientCertificate(ca, { commonName: 'alice', organizations: ['devs', 'ops'] })
    assert.deepEqual(userOf(await whoami(c, { cert })), {
      username: 'alice',
      groups: ['devs', 'ops', 'system:authenticated'],
    })
  })

  test('expired, not yet valid, foreign and server-only certificates get 401 and the server keeps serving', async () => {
    const x509 = await x509lib()
    const now = Date.now()
    const otherCa = await createCertificateAuthority('someone-else')
    const cases: [string, KeyPair][] = [
      [
        'expired',
        await clientCertificate(ca, {
          commonName: 'alice',
          notBefore: new Date(now - 2 * 86_400_000),
          notAfter: new Date(now - 86_400_000),
        }),
      ],
      [
        'not yet valid',
        await clientCertificate(ca, {
          commonName: 'alice',
          notBefore: new Date(now + 86_400_000),
          notAfter: new Date(now + 2 * 86_400_000),
        }),
      ],
      ['signed by another CA', await clientCertificate(otherCa, { commonName: 'alice' })],
      [
        'without clientAuth',
        await clientCertificate(ca, { commonName: 'alice', usages: [x509.ExtendedKeyUsage.serverAuth] }),
      ],
    ]
    for (const [what, cert] of cases) {
      for (const path of ['/api/v1/namespaces', '/healthz', '/version']) {
        const r = await send(c, 'GET', path, { cert })
        assert.equal(r.code, 401, `${what}: ${path}: ${JSON.stringify(r.body)}`)
        assert.deepEqual(r.body, unauthorized, `${what}: ${path}`)
      }
      assert.deepEqual((await whoami(c, { cert })).body, unauthorized, what)
    }
    // The server still serves, and a request without any certificate is still anonymous.
    assert.equal((await send(c, 'GET', '/healthz')).code, 200)
    assert.equal((await send(c, 'GET', '/api/v1/namespaces')).code, 403)
    assert.equal((await c.request('GET', '/api/v1/namespaces')).code, 200)
  })

  test('a refused certificate beside a good bearer token is the user of the token', async () => {
    const expired = await clientCertificate(ca, {
      commonName: 'alice',
      notBefore: new Date(Date.now() - 2 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    })
    const headers = { Authorization: 'Bearer secret-token' }
    assert.deepEqual(userOf(await whoami(c, { cert: expired, headers })), {
      username: 'token-user',
      uid: 'u-1',
      groups: ['devs', 'system:authenticated'],
    })
    // A bad token beside a good certificate is refused: both are credentials, and one is bad
    // only when no other authenticates.
    const good = await clientCertificate(ca, { commonName: 'alice' })
    assert.equal(
      userOf(await whoami(c, { cert: good, headers: { Authorization: 'Bearer nope' } })).username,
      'alice',
    )
    assert.deepEqual(
      (await whoami(c, { cert: expired, headers: { Authorization: 'Bearer nope' } })).body,
      unauthorized,
    )
  })
})

describe('--anonymous-auth=false', () => {
  let c: TestApiServer

  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'k8ts-apiserver-'))
    writeFileSync(join(dataDir, 'tokens.csv'), 'secret-token,token-user,u-1\n')
    c = await startTestApiServer({
      dataDir,
      anonymousAuth: false,
      tokenAuthFile: join(dataDir, 'tokens.csv'),
    })
  })

  after(async () => {
    await c.stop()
  })

  test('a request without credentials is 401 everywhere, health and version included', async () => {
    const paths = [
      '/healthz',
      '/livez',
      '/readyz',
      '/version',
      '/api',
      '/apis',
      '/openapi/v2',
      '/.well-known/openid-configuration',
      '/openid/v1/jwks',
      '/api/v1/namespaces',
      '/no/such/path',
    ]
    for (const path of paths) {
      const r = await send(c, 'GET', path)
      assert.equal(r.code, 401, path)
      assert.deepEqual(r.body, unauthorized, path)
    }
    assert.deepEqual((await whoami(c, {})).body, unauthorized)
  })

  test('credentials still authenticate, and a bad token is still 401', async () => {
    assert.equal((await c.request('GET', '/healthz')).code, 200)
    assert.equal((await c.request('GET', '/version')).code, 200)
    assert.equal(
      userOf(await whoami(c, { headers: { Authorization: 'Bearer secret-token' } })).username,
      'token-user',
    )
    const r = await send(c, 'GET', '/version', { headers: { Authorization: 'Bearer wrong' } })
    assert.deepEqual(r.body, unauthorized)
  })
})
