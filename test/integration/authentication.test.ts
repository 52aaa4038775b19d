import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpsServer, Agent, request, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose'
import { ApiStatusError, RestClient, TransportError } from '../../src/client/index.ts'
import { x509lib } from '../../src/pki/certificates.ts'
import {
  createCertificateAuthority,
  issueCertificate,
  writeKubeconfig,
  type KeyPair,
} from '../../src/pki/index.ts'
import { kubectlMissing, startTestApiServer, type TestApiServer } from '../support/cluster.ts'

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

/** Certificates the apiserver must refuse: expired, not yet valid, foreign and server-only. */
async function refusedCertificates(ca: KeyPair): Promise<[string, KeyPair][]> {
  const x509 = await x509lib()
  const now = Date.now()
  const otherCa = await createCertificateAuthority('someone-else')
  return [
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
    const cases = await refusedCertificates(ca)
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
  test('the in-process transport knows the same users and refuses the same certificates', async () => {
    /** A SelfSubjectReview through the in-process transport, as a component thread of `k8ts up` sends it. */
    const whoamiInProcess = async (o: { cert?: KeyPair; token?: string }): Promise<Reply> => {
      const rest = new RestClient({
        server: c.server.url,
        ...(o.cert ? { cert: o.cert.certPem, key: o.cert.keyPem } : {}),
        ...(o.token ? { token: o.token } : {}),
        inProcess: c.server.inProcessListener(),
      })
      try {
        const body = await rest.request<Record<string, unknown>>(
          'POST',
          '/apis/authentication.k8s.io/v1/selfsubjectreviews',
          { body: selfSubjectReview },
        )
        return { code: 201, body }
      } catch (err) {
        if (err instanceof ApiStatusError) return { code: err.code, body: { ...err.status } }
        throw err
      } finally {
        await rest.close()
      }
    }
    const alice = await clientCertificate(ca, { commonName: 'alice', organizations: ['devs', 'ops'] })
    assert.deepEqual(userOf(await whoamiInProcess({ cert: alice })), {
      username: 'alice',
      groups: ['devs', 'ops', 'system:authenticated'],
    })
    assert.deepEqual(userOf(await whoamiInProcess({ token: 'secret-token' })), {
      username: 'token-user',
      uid: 'u-1',
      groups: ['devs', 'system:authenticated'],
    })
    const refused = await refusedCertificates(ca)
    for (const [what, cert] of refused) {
      assert.deepEqual(await whoamiInProcess({ cert }), { code: 401, body: unauthorized }, what)
    }
    // A certificate without its key (the proof made with another key) gets no connection at all,
    // as a TLS handshake would fail.
    const mallory = await clientCertificate(ca, { commonName: 'mallory' })
    await assert.rejects(
      whoamiInProcess({ cert: { certPem: alice.certPem, keyPem: mallory.keyPem } }),
      (err: unknown) => err instanceof TransportError,
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

/**
 * An OpenID Connect provider on 127.0.0.1 for the test: HTTPS with a certificate of its own CA,
 * the discovery document and the JWKS of one RSA key; tokens are minted with jose.
 */
async function startIssuer(dir: string) {
  const ca = await createCertificateAuthority('issuer-ca')
  const serving = await issueCertificate(ca, {
    subject: { commonName: 'issuer' },
    usage: 'server',
    hosts: ['127.0.0.1'],
  })
  const caFile = join(dir, 'issuer-ca.crt')
  writeFileSync(caFile, ca.certPem)
  const { privateKey, publicKey } = await generateKeyPair('RS256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' }
  let jwksRequests = 0
  let url = ''
  const server: Server = createHttpsServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    res.setHeader('Content-Type', 'application/json')
    if (req.url === '/.well-known/openid-configuration') {
      res.end(
        JSON.stringify({
          issuer: url,
          jwks_uri: `${url}/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
        }),
      )
    } else if (req.url === '/keys') {
      jwksRequests++
      res.end(JSON.stringify({ keys: [jwk] }))
    } else {
      res.statusCode = 404
      res.end('{}')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  const mint = async (
    claims: JWTPayload,
    o: { key?: CryptoKey; alg?: string; kid?: string } = {},
  ): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: o.alg ?? 'RS256', kid: o.kid ?? 'key-1' })
      .sign(o.key ?? privateKey)
  return {
    url,
    caFile,
    mint,
    jwksRequests: () => jwksRequests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe('OIDC', () => {
  let c: TestApiServer
  let issuer: Awaited<ReturnType<typeof startIssuer>>
  let dir: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k8ts-oidc-'))
    issuer = await startIssuer(dir)
    c = await startTestApiServer({
      oidc: {
        issuerUrl: issuer.url,
        clientId: 'k8ts',
        caFile: issuer.caFile,
        usernameClaim: 'email',
        usernamePrefix: 'oidc:',
        groupsClaim: 'groups',
        groupsPrefix: 'oidc:',
        requiredClaims: { hd: 'example.com' },
      },
    })
  })

  after(async () => {
    await c?.stop()
    await issuer?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const now = () => Math.floor(Date.now() / 1000)
  const claims = (extra: JWTPayload = {}): JWTPayload => ({
    iss: issuer.url,
    sub: 'CgVhbGljZQ',
    aud: 'k8ts',
    iat: now(),
    exp: now() + 600,
    email: 'alice@example.com',
    email_verified: true,
    groups: ['devs', 'ops'],
    hd: 'example.com',
    ...extra,
  })
  const review = async (token: string) => {
    const r = await c.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
    })
    assert.equal(r.code, 201, r.body.toString())
    return (JSON.parse(r.body.toString()) as { status: Record<string, unknown> }).status
  }

  test('an ID token of the issuer is its email claim and groups, prefixed', async () => {
    const token = await issuer.mint(claims())
    assert.deepEqual(userOf(await whoami(c, { headers: { Authorization: `Bearer ${token}` } })), {
      username: 'oidc:alice@example.com',
      groups: ['oidc:devs', 'oidc:ops', 'system:authenticated'],
    })
    // A single string is one group; a token without the groups claim has none.
    const one = await issuer.mint(claims({ groups: 'admins' }))
    assert.deepEqual(userOf(await whoami(c, { headers: { Authorization: `Bearer ${one}` } })).groups, [
      'oidc:admins',
      'system:authenticated',
    ])
    const { groups: _groups, ...withoutGroups } = claims()
    const none = await issuer.mint(withoutGroups)
    assert.deepEqual(userOf(await whoami(c, { headers: { Authorization: `Bearer ${none}` } })).groups, [
      'system:authenticated',
    ])
    // email_verified may be absent.
    const { email_verified: _verified, ...unstated } = claims()
    assert.equal(
      userOf(await whoami(c, { headers: { Authorization: `Bearer ${await issuer.mint(unstated)}` } }))
        .username,
      'oidc:alice@example.com',
    )
    const status = await review(token)
    assert.equal(status.authenticated, true)
    assert.deepEqual(status.user, {
      username: 'oidc:alice@example.com',
      groups: ['oidc:devs', 'oidc:ops', 'system:authenticated'],
    })
  })

  test('kubectl auth whoami with an ID token', { skip: kubectlMissing }, async () => {
    const kubeconfig = join(dir, 'oidc.kubeconfig')
    writeKubeconfig(kubeconfig, {
      server: c.server.url,
      caPem: c.server.caPem,
      token: await issuer.mint(claims()),
    })
    const r = await c.kubectl(['--kubeconfig', kubeconfig, 'auth', 'whoami', '-o', 'json'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { status: { userInfo: Record<string, unknown> } }
    assert.deepEqual(out.status.userInfo, {
      username: 'oidc:alice@example.com',
      groups: ['oidc:devs', 'oidc:ops', 'system:authenticated'],
    })
  })

  test('wrong audience, issuer, times, unverified email, missing claims, alg none and another key get 401', async () => {
    const otherKey = (await generateKeyPair('RS256')).privateKey
    const payload = Buffer.from(JSON.stringify(claims())).toString('base64url')
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`
    const { hd: _hd, ...withoutHd } = claims()
    const { email: _email, ...withoutEmail } = claims()
    const es256 = (await generateKeyPair('ES256')).privateKey
    const wrap = (reason: string) => `[invalid bearer token, ${reason}]`
    const cases: [string, string, string][] = [
      [
        'another audience',
        await issuer.mint(claims({ aud: ['vault', 'other'] })),
        wrap('oidc: verify token: oidc: expected audience "k8ts" got ["vault" "other"]'),
      ],
      [
        'another issuer',
        await issuer.mint(claims({ iss: 'https://elsewhere.example' })),
        'invalid bearer token',
      ],
      [
        'expired',
        await issuer.mint(claims({ iat: now() - 7200, exp: now() - 3600 })),
        wrap(`oidc: verify token: oidc: token is expired (Token Expiry: ${goTime(now() - 3600)})`),
      ],
      [
        'not yet valid',
        await issuer.mint(claims({ nbf: now() + 600 })),
        'oidc: verify token: oidc: current time',
      ],
      [
        'email not verified',
        await issuer.mint(claims({ email_verified: false })),
        wrap('oidc: email not verified'),
      ],
      [
        'without the username claim',
        await issuer.mint(withoutEmail),
        wrap('oidc: parse username claims "email": claim not present'),
      ],
      [
        'without a required claim',
        await issuer.mint(withoutHd),
        wrap('oidc: required claim hd not present in ID token'),
      ],
      [
        'with another value of a required claim',
        await issuer.mint(claims({ hd: 'evil.example' })),
        wrap('oidc: required claim hd value does not match. Got = evil.example, want = example.com'),
      ],
      [
        'alg none',
        none,
        wrap(
          'oidc: verify token: oidc: id token signed with unsupported algorithm, expected ["RS256"] got "none"',
        ),
      ],
      [
        'an algorithm not allowed',
        await issuer.mint(claims(), { key: es256, alg: 'ES256' }),
        wrap(
          'oidc: verify token: oidc: id token signed with unsupported algorithm, expected ["RS256"] got "ES256"',
        ),
      ],
      [
        'another key',
        await issuer.mint(claims(), { key: otherKey }),
        wrap('oidc: verify token: failed to verify signature: failed to verify id token signature'),
      ],
      [
        'a key the issuer does not have',
        await issuer.mint(claims(), { key: otherKey, kid: 'key-2' }),
        wrap('oidc: verify token: failed to verify signature: failed to verify id token signature'),
      ],
    ]
    for (const [what, token, error] of cases) {
      const r = await whoami(c, { headers: { Authorization: `Bearer ${token}` } })
      assert.equal(r.code, 401, what)
      assert.deepEqual(r.body, unauthorized, what)
      const status = await review(token)
      assert.deepEqual(status.user, {}, what)
      assert.ok(String(status.error).includes(error), `${what}: ${String(status.error)}`)
    }
    // The server keeps serving, OIDC users included.
    assert.equal((await c.request('GET', '/version')).code, 200)
    const token = await issuer.mint(claims())
    assert.equal(
      userOf(await whoami(c, { headers: { Authorization: `Bearer ${token}` } })).username,
      'oidc:alice@example.com',
    )
  })
})

/** Go's %v of a time.Time in UTC, from seconds. */
function goTime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`
}

describe('the authentication flags of k8ts apiserver and k8ts up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-flags-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  /** Runs the CLI from the sources (bin/k8ts.js would prefer a possibly stale dist/). */
  const k8ts = (args: string[]) =>
    spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { main } = await import(${JSON.stringify(new URL('../../src/cli/main.ts', import.meta.url).href)}); process.exitCode = await main(process.argv.slice(1))`,
        ...args,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )

  const cases: [string, string[], RegExp][] = [
    [
      'an issuer without a client id',
      ['--oidc-issuer-url', 'https://issuer.example'],
      /^k8ts: oidc-issuer-url and oidc-client-id must be specified together when any oidc-\* flags are set$/,
    ],
    [
      'another oidc flag alone',
      ['--oidc-groups-claim', 'groups'],
      /^k8ts: oidc-issuer-url and oidc-client-id must be specified together when any oidc-\* flags are set$/,
    ],
    [
      'an http issuer',
      ['--oidc-issuer-url', 'http://issuer.example', '--oidc-client-id', 'k8ts'],
      /^k8ts: invalid authentication configuration: jwt\[0\]\.issuer\.url: Invalid value: "http:\/\/issuer\.example": URL scheme must be https$/,
    ],
    [
      'the service account issuer',
      ['--oidc-issuer-url', 'https://kubernetes.default.svc.cluster.local', '--oidc-client-id', 'k8ts'],
      /URL must not overlap with disallowed issuers: \[https:\/\/kubernetes\.default\.svc\.cluster\.local\]$/,
    ],
    [
      'a symmetric signing algorithm',
      [
        '--oidc-issuer-url',
        'https://issuer.example',
        '--oidc-client-id',
        'k8ts',
        '--oidc-signing-algs',
        'RS256,HS256',
      ],
      /^k8ts: oidc: unsupported signing alg: "HS256"$/,
    ],
    [
      'a required claim without a value',
      [
        '--oidc-issuer-url',
        'https://issuer.example',
        '--oidc-client-id',
        'k8ts',
        '--oidc-required-claim',
        'hd',
      ],
      /malformed pair, expect string=string/,
    ],
    [
      'a CA file that is not there',
      [
        '--oidc-issuer-url',
        'https://issuer.example',
        '--oidc-client-id',
        'k8ts',
        '--oidc-ca-file',
        join(dir, 'nope.crt'),
      ],
      /^k8ts: ENOENT: no such file or directory/,
    ],
    ['an anonymous-auth that is not a bool', ['--anonymous-auth', 'maybe'], /maybe is not true or false/],
  ]
  // Both commands share the flags and their checks: `up` is run for a few.
  for (const command of ['apiserver', 'up']) {
    for (const [what, flags, message] of command === 'up' ? cases.slice(1, 3) : cases) {
      test(`k8ts ${command}: ${what} is one line on stderr and a non-zero exit`, () => {
        const r = k8ts([command, '--data-dir', join(dir, command), '--secure-port', '0', ...flags])
        assert.notEqual(r.status, 0, r.stdout)
        assert.equal(r.stdout, '')
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr)
        assert.match(r.stderr.trimEnd(), message)
      })
    }
  }
})
