import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { CompactSign } from 'jose'
import {
  TokenGenerator,
  boundTokenClaims,
  canonicalJson,
  cryptoFailure,
  ensureServiceAccountKey,
  keyIdOf,
  legacyTokenClaims,
  parseJws,
  publicJwks,
  signingKeyFromPem,
  splitServiceAccountUsername,
  unsupportedAlgorithm,
  verificationKey,
  verificationKeysFromPem,
  verifySignature,
  type ParsedJws,
} from './index.ts'

const dir = mkdtempSync(join(tmpdir(), 'k8ts-sa-key-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function parsed(token: string): ParsedJws {
  const jws = parseJws(token)
  assert.ok(jws, token)
  return jws
}

const now = Date.UTC(2026, 0, 1, 12, 0, 0, 750)
const sa = { namespace: 'ns', name: 'builder', uid: 'sa-uid' }

test('the data directory keeps one P-256 key pair, made once', () => {
  const files = ensureServiceAccountKey(dir)
  const key = readFileSync(files.privateKeyFile, 'utf8')
  assert.match(key, /^-----BEGIN PRIVATE KEY-----/)
  assert.equal(statSync(files.privateKeyFile).mode & 0o777, 0o600)
  ensureServiceAccountKey(dir)
  assert.equal(readFileSync(files.privateKeyFile, 'utf8'), key)
  const signing = signingKeyFromPem(key)
  assert.equal(signing.publicKey.algorithm, 'ES256')
  assert.deepEqual(
    verificationKeysFromPem(readFileSync(files.publicKeyFile, 'utf8')).map((k) => k.keyId),
    [signing.publicKey.keyId],
  )
})

test('a key ID is the unpadded base64url SHA-256 of the DER public key, as Kubernetes derives it', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const der = publicKey.export({ type: 'spki', format: 'der' })
  const want = createHash('sha256')
    .update(der)
    .digest('base64')
    .replace(/=+$/, '')
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
  assert.equal(keyIdOf(publicKey), want)
  assert.equal(verificationKey(publicKey).algorithm, 'RS256')
})

test('the JWKS lists each key with use, kty, kid, crv, alg and its parameters in Kubernetes order', () => {
  const ec = signingKeyFromPem(readFileSync(join(dir, 'pki', 'sa.key'), 'utf8')).publicKey
  const rsa = verificationKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)
  const jwks = publicJwks([ec, rsa])
  assert.deepEqual(Object.keys(jwks.keys[0] ?? {}), ['use', 'kty', 'kid', 'crv', 'alg', 'x', 'y'])
  assert.deepEqual(Object.keys(jwks.keys[1] ?? {}), ['use', 'kty', 'kid', 'alg', 'n', 'e'])
  assert.equal(jwks.keys[0]?.crv, 'P-256')
  assert.equal(jwks.keys[1]?.e, 'AQAB')
})

const claimCases = [
  {
    name: 'a pod-bound token names the pod and its node, with registered claims in whole seconds',
    o: { pod: { name: 'web', uid: 'pod-uid' }, node: { name: 'node-1', uid: 'node-uid' } },
    want: {
      namespace: 'ns',
      serviceaccount: { name: 'builder', uid: 'sa-uid' },
      pod: { name: 'web', uid: 'pod-uid' },
      node: { name: 'node-1', uid: 'node-uid' },
    },
  },
  {
    name: 'a node that does not exist goes in by name alone',
    o: { pod: { name: 'web', uid: 'pod-uid' }, node: { name: 'node-1' } },
    want: {
      namespace: 'ns',
      serviceaccount: { name: 'builder', uid: 'sa-uid' },
      pod: { name: 'web', uid: 'pod-uid' },
      node: { name: 'node-1' },
    },
  },
  {
    name: 'a secret-bound token names the secret',
    o: { secret: { name: 's', uid: 's-uid' } },
    want: {
      namespace: 'ns',
      serviceaccount: { name: 'builder', uid: 'sa-uid' },
      secret: { name: 's', uid: 's-uid' },
    },
  },
  {
    name: 'a node-bound token names the node',
    o: { node: { name: 'node-1', uid: 'node-uid' } },
    want: {
      namespace: 'ns',
      serviceaccount: { name: 'builder', uid: 'sa-uid' },
      node: { name: 'node-1', uid: 'node-uid' },
    },
  },
  {
    name: 'an extended token carries warnafter',
    o: { pod: { name: 'web', uid: 'pod-uid' }, warnAfterSeconds: 3607 },
    want: {
      namespace: 'ns',
      serviceaccount: { name: 'builder', uid: 'sa-uid' },
      pod: { name: 'web', uid: 'pod-uid' },
      warnafter: Math.floor(now / 1000) + 3607,
    },
  },
]
for (const c of claimCases) {
  test(c.name, () => {
    const claims = boundTokenClaims({
      serviceAccount: sa,
      audiences: ['https://kubernetes.default.svc.cluster.local'],
      expirationSeconds: 3600,
      now,
      id: 'the-jti',
      ...c.o,
    })
    const t = Math.floor(now / 1000)
    assert.deepEqual(claims, {
      sub: 'system:serviceaccount:ns:builder',
      aud: ['https://kubernetes.default.svc.cluster.local'],
      iat: t,
      nbf: t,
      exp: t + 3600,
      jti: 'the-jti',
      'kubernetes.io': c.want,
    })
  })
}

test('a token bound to a secret and a pod at once is refused', () => {
  assert.throws(
    () =>
      boundTokenClaims({
        serviceAccount: sa,
        secret: { name: 's', uid: 'u' },
        pod: { name: 'p', uid: 'u' },
        audiences: [],
        expirationSeconds: 600,
        now,
      }),
    /can only be bound to one object type/,
  )
})

test('claims are written as Go writes a map: keys sorted at every level, HTML characters escaped', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: ['<x>'], c: '&' } }),
    '{"a":{"c":"\\u0026","d":["\\u003cx\\u003e"]},"b":1}',
  )
})

test('legacy claims are flat, without expiry or audience', () => {
  assert.deepEqual(legacyTokenClaims(sa, 'builder-token'), {
    sub: 'system:serviceaccount:ns:builder',
    'kubernetes.io/serviceaccount/namespace': 'ns',
    'kubernetes.io/serviceaccount/secret.name': 'builder-token',
    'kubernetes.io/serviceaccount/service-account.name': 'builder',
    'kubernetes.io/serviceaccount/service-account.uid': 'sa-uid',
  })
})

test('service account user names split back into namespace and name, and nothing else does', () => {
  assert.deepEqual(splitServiceAccountUsername('system:serviceaccount:ns:builder'), {
    namespace: 'ns',
    name: 'builder',
  })
  for (const bad of [
    'system:serviceaccount:ns',
    'system:serviceaccount:ns:a:b',
    'alice',
    'system:serviceaccount:NS:x',
  ])
    assert.equal(splitServiceAccountUsername(bad), undefined, bad)
})

test('a generated token has header {alg, kid} and verifies with the key and no other', async () => {
  const key = signingKeyFromPem(readFileSync(join(dir, 'pki', 'sa.key'), 'utf8'))
  const token = await new TokenGenerator('https://issuer.example', key).generate(legacyTokenClaims(sa, 'x'))
  const jws = parseJws(token)
  assert.ok(jws)
  assert.deepEqual(jws.header, { alg: 'ES256', kid: key.publicKey.keyId })
  assert.equal(jws.claims.iss, 'https://issuer.example')
  assert.equal(await verifySignature(jws, [key.publicKey]), undefined)

  const other = verificationKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)
  assert.deepEqual(await verifySignature(jws, [other]), ['invalid signature, no keys found'])
  const withoutKid = await new CompactSign(Buffer.from('{"iss":"x"}'))
    .setProtectedHeader({ alg: 'ES256' })
    .sign(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)
  assert.deepEqual(await verifySignature(parsed(withoutKid), [key.publicKey]), [cryptoFailure])
  const hmac = await new CompactSign(Buffer.from('{"iss":"x"}'))
    .setProtectedHeader({ alg: 'HS256', kid: key.publicKey.keyId })
    .sign(new Uint8Array(32))
  assert.deepEqual(await verifySignature(parsed(hmac), [key.publicKey]), [unsupportedAlgorithm])
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: key.publicKey.keyId })).toString('base64url')}.${token.split('.')[1]}.`
  assert.deepEqual(await verifySignature(parsed(none), [key.publicKey]), [unsupportedAlgorithm])
  const [h, , s] = token.split('.')
  const tampered = `${h}.${Buffer.from('{"iss":"https://issuer.example","sub":"system:admin"}').toString('base64url')}.${s}`
  assert.deepEqual(await verifySignature(parsed(tampered), [key.publicKey]), [cryptoFailure])
})

test('only compact JWS with JSON object header and claims parse', () => {
  for (const t of ['', 'abc', 'a.b', 'a.b.c.d', '{"iss":"x"}', 'e30.bm90IGpzb24.', 'W10.e30.', 'e30=.e30.']) {
    assert.equal(parseJws(t), undefined, t)
  }
  assert.ok(parseJws('e30.e30.'))
})
