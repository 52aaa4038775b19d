import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { describe, test } from 'node:test'
import type { StoredObject } from '../../api/object.ts'
import { FakeClock } from '../../base/clock.ts'
import {
  TokenGenerator,
  boundTokenClaims,
  legacyTokenClaims,
  signingKeyFromPem,
  type BoundTokenOptions,
} from '../../pki/index.ts'
import {
  serviceAccountTokenAuthenticators,
  type LookupResource,
  type ObjectLookup,
} from './service-account.ts'
import { authenticateToken, type TokenOutcome } from './token.ts'

const issuer = 'https://kubernetes.default.svc.cluster.local'
const pem = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) =>
  k.export({ type: 'pkcs8', format: 'pem' }).toString()
const key = signingKeyFromPem(pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey))
const otherKey = signingKeyFromPem(pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey))

/** Objects by resource/namespace/name; `async` makes every lookup go through the store read. */
class FakeLookup implements ObjectLookup {
  readonly objects = new Map<string, StoredObject>()
  async = false
  reads = 0

  put(resource: LookupResource, obj: StoredObject): void {
    this.objects.set(`${resource}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`, obj)
  }
  peek(resource: LookupResource, namespace: string, name: string) {
    if (this.async) return undefined
    return this.objects.get(`${resource}/${namespace}/${name}`) ?? null
  }
  async get(resource: LookupResource, namespace: string, name: string) {
    this.reads++
    return this.objects.get(`${resource}/${namespace}/${name}`)
  }
}

const obj = (
  namespace: string,
  name: string,
  uid: string,
  extra: Record<string, unknown> = {},
): StoredObject => ({
  metadata: { namespace, name, uid },
  ...extra,
})

function setup() {
  const clock = new FakeClock(Date.UTC(2026, 2, 1))
  const lookup = new FakeLookup()
  lookup.put('serviceaccounts', obj('ns', 'builder', 'sa-uid'))
  lookup.put('pods', obj('ns', 'web', 'pod-uid'))
  lookup.put('secrets', obj('ns', 'bound-secret', 'secret-uid'))
  lookup.put('nodes', obj('', 'node-1', 'node-uid'))
  const stamped: string[] = []
  const authenticators = serviceAccountTokenAuthenticators({
    issuers: [issuer],
    keys: [key.publicKey],
    apiAudiences: [issuer],
    lookup,
    clock,
    markUsed: (s, day) => stamped.push(`${s.metadata.name ?? ''}@${day}`),
  })
  const generator = new TokenGenerator(issuer, key)
  const bound = (o: Partial<BoundTokenOptions> = {}) =>
    generator.generate(
      boundTokenClaims({
        serviceAccount: { namespace: 'ns', name: 'builder', uid: 'sa-uid' },
        audiences: [issuer],
        expirationSeconds: 3600,
        now: clock.now(),
        id: 'jti-1',
        ...o,
      }),
    )
  const authenticate = async (
    token: string,
    audiences: readonly string[] = [issuer],
  ): Promise<TokenOutcome> => authenticateToken(authenticators, token, audiences)
  return { clock, lookup, stamped, generator, bound, authenticate }
}

const rejected = (error: string): TokenOutcome => ({ authenticated: false, error })

describe('bound service account tokens', () => {
  test('a pod-bound token is the service account, with the pod, node and token ID in extra', async () => {
    const { bound, authenticate } = setup()
    const token = await bound({
      pod: { name: 'web', uid: 'pod-uid' },
      node: { name: 'node-1', uid: 'node-uid' },
    })
    assert.deepEqual(await authenticate(token), {
      authenticated: true,
      audiences: [issuer],
      user: {
        name: 'system:serviceaccount:ns:builder',
        uid: 'sa-uid',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ns'],
        extra: {
          'authentication.kubernetes.io/credential-id': ['JTI=jti-1'],
          'authentication.kubernetes.io/node-name': ['node-1'],
          'authentication.kubernetes.io/node-uid': ['node-uid'],
          'authentication.kubernetes.io/pod-name': ['web'],
          'authentication.kubernetes.io/pod-uid': ['pod-uid'],
        },
      },
    })
  })

  test('objects the caches do not have are read from the store, and the answer is the same', async () => {
    const { bound, authenticate, lookup } = setup()
    const token = await bound({ pod: { name: 'web', uid: 'pod-uid' } })
    const fromCache = await authenticate(token)
    lookup.async = true
    assert.deepEqual(await authenticate(token), fromCache)
    assert.equal(lookup.reads, 2)
  })

  const cases: {
    name: string
    token: (s: ReturnType<typeof setup>) => Promise<string>
    change?: (s: ReturnType<typeof setup>) => void
    error: string
  }[] = [
    {
      name: 'expired more than a minute ago',
      token: (s) => s.bound({ expirationSeconds: 600 }),
      change: (s) => s.clock.advance(661_000),
      error: '[invalid bearer token, service account token has expired]',
    },
    {
      name: 'not valid for another minute',
      token: (s) => s.bound({ now: s.clock.now() + 61_000 }),
      error: '[invalid bearer token, service account token is not valid yet]',
    },
    {
      name: 'issued in the future',
      token: async (s) =>
        s.generator.generate({
          ...boundTokenClaims({
            serviceAccount: { namespace: 'ns', name: 'builder', uid: 'sa-uid' },
            audiences: [issuer],
            expirationSeconds: 3600,
            now: s.clock.now(),
          }),
          iat: Math.floor(s.clock.now() / 1000) + 120,
        }),
      error: '[invalid bearer token, service account token is issued in the future]',
    },
    {
      name: 'for another audience',
      token: (s) => s.bound({ audiences: ['vault'] }),
      error: `[invalid bearer token, token audiences ["vault"] is invalid for the target audiences ["${issuer}"]]`,
    },
    {
      name: 'signed with another key under our key ID',
      token: async (s) => {
        const [, payload] = (await s.bound()).split('.')
        const forged = await new TokenGenerator(issuer, otherKey).generate(
          JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as never,
        )
        const [, p, sig] = forged.split('.')
        const ours = (await s.bound()).split('.')[0]
        return `${ours}.${p}.${sig}`
      },
      error: '[invalid bearer token, go-jose/go-jose: error in cryptographic primitive]',
    },
    {
      name: 'signed with another key',
      token: () =>
        new TokenGenerator(issuer, otherKey).generate(
          boundTokenClaims({
            serviceAccount: { namespace: 'ns', name: 'builder', uid: 'sa-uid' },
            audiences: [issuer],
            expirationSeconds: 3600,
            now: Date.UTC(2026, 2, 1),
          }),
        ),
      error: '[invalid bearer token, invalid signature, no keys found]',
    },
    {
      name: 'with alg none',
      token: async (s) => {
        const [, payload] = (await s.bound()).split('.')
        return `${Buffer.from(`{"alg":"none","kid":"${key.publicKey.keyId}"}`).toString('base64url')}.${payload}.`
      },
      error: '[invalid bearer token, go-jose/go-jose: unknown/unsupported algorithm]',
    },
    {
      name: 'of another issuer (not ours to judge)',
      token: () =>
        new TokenGenerator('https://elsewhere', key).generate(
          boundTokenClaims({
            serviceAccount: { namespace: 'ns', name: 'builder', uid: 'sa-uid' },
            audiences: [issuer],
            expirationSeconds: 3600,
            now: Date.UTC(2026, 2, 1),
          }),
        ),
      error: 'invalid bearer token',
    },
    { name: 'garbage', token: async () => 'garbage', error: 'invalid bearer token' },
    {
      name: 'for a service account that is gone',
      token: (s) => s.bound(),
      change: (s) => s.lookup.objects.delete('serviceaccounts/ns/builder'),
      error: '[invalid bearer token, serviceaccounts "builder" not found]',
    },
    {
      name: 'for a service account made again under the same name',
      token: (s) => s.bound(),
      change: (s) => s.lookup.put('serviceaccounts', obj('ns', 'builder', 'new-uid')),
      error: '[invalid bearer token, service account UID (new-uid) does not match claim (sa-uid)]',
    },
    {
      name: 'bound to a pod that is gone',
      token: (s) => s.bound({ pod: { name: 'web', uid: 'pod-uid' } }),
      change: (s) => s.lookup.objects.delete('pods/ns/web'),
      error: '[invalid bearer token, service account token has been invalidated]',
    },
    {
      name: 'bound to a pod made again under the same name',
      token: (s) => s.bound({ pod: { name: 'web', uid: 'pod-uid' } }),
      change: (s) => s.lookup.put('pods', obj('ns', 'web', 'other')),
      error: '[invalid bearer token, pod UID (other) does not match service account pod ref claim (pod-uid)]',
    },
    {
      name: 'bound to a pod deleted more than a minute ago',
      token: (s) => s.bound({ pod: { name: 'web', uid: 'pod-uid' } }),
      change: (s) => {
        const p = obj('ns', 'web', 'pod-uid')
        p.metadata.deletionTimestamp = new Date(s.clock.now() - 61_000).toISOString()
        s.lookup.put('pods', p)
      },
      error: '[invalid bearer token, service account token has been invalidated]',
    },
    {
      name: 'bound to a secret that is gone',
      token: (s) => s.bound({ secret: { name: 'bound-secret', uid: 'secret-uid' } }),
      change: (s) => s.lookup.objects.delete('secrets/ns/bound-secret'),
      error: '[invalid bearer token, service account token has been invalidated]',
    },
    {
      name: 'bound to a node made again under the same name',
      token: (s) => s.bound({ node: { name: 'node-1', uid: 'node-uid' } }),
      change: (s) => s.lookup.put('nodes', obj('', 'node-1', 'node-2-uid')),
      error:
        '[invalid bearer token, node UID (node-2-uid) does not match service account node ref claim (node-uid)]',
    },
  ]
  for (const c of cases) {
    test(`a token ${c.name} is refused`, async () => {
      const s = setup()
      const token = await c.token(s)
      c.change?.(s)
      assert.deepEqual(await s.authenticate(token), rejected(c.error))
    })
  }

  test('within the minute of leeway a token is still good: just expired, or its pod just deleted', async () => {
    const s = setup()
    const token = await s.bound({ expirationSeconds: 600, pod: { name: 'web', uid: 'pod-uid' } })
    s.clock.advance(659_000)
    const p = obj('ns', 'web', 'pod-uid')
    p.metadata.deletionTimestamp = new Date(s.clock.now() - 30_000).toISOString()
    s.lookup.put('pods', p)
    assert.equal((await s.authenticate(token)).authenticated, true)
  })

  test('a token for other audiences is good when asked for one of them (TokenReview)', async () => {
    const s = setup()
    const token = await s.bound({ audiences: ['vault', 'consul'] })
    const outcome = await s.authenticate(token, ['x', 'consul'])
    assert.equal(outcome.authenticated, true)
    assert.deepEqual(outcome.authenticated && outcome.audiences, ['consul'])
  })
})

describe('legacy (Secret) tokens', () => {
  async function legacySetup(secretExtra: { labels?: Record<string, string>; token?: string } = {}) {
    const s = setup()
    const token = await new TokenGenerator('kubernetes/serviceaccount', key).generate(
      legacyTokenClaims({ namespace: 'ns', name: 'builder', uid: 'sa-uid' }, 'builder-token'),
    )
    const secret = obj('ns', 'builder-token', 'secret-uid', {
      type: 'kubernetes.io/service-account-token',
      data: { token: Buffer.from(secretExtra.token ?? token).toString('base64') },
    })
    if (secretExtra.labels) secret.metadata.labels = secretExtra.labels
    s.lookup.put('secrets', secret)
    return { ...s, token }
  }

  test('a legacy token is the service account while its Secret holds it, and stamps the day', async () => {
    const s = await legacySetup()
    assert.deepEqual(await s.authenticate(s.token), {
      authenticated: true,
      audiences: [issuer],
      user: {
        name: 'system:serviceaccount:ns:builder',
        uid: 'sa-uid',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ns'],
      },
    })
    assert.deepEqual(s.stamped, ['builder-token@2026-03-01'])
  })

  test('a Secret stamped today is not stamped again', async () => {
    const s = await legacySetup({ labels: { 'kubernetes.io/legacy-token-last-used': '2026-03-01' } })
    assert.equal((await s.authenticate(s.token)).authenticated, true)
    assert.deepEqual(s.stamped, [])
  })

  test('a deleted Secret, another token in it, or an invalid-since label refuse the token', async () => {
    const gone = await legacySetup()
    gone.lookup.objects.delete('secrets/ns/builder-token')
    assert.deepEqual(
      await gone.authenticate(gone.token),
      rejected('[invalid bearer token, Token has been invalidated]'),
    )
    const replaced = await legacySetup({ token: 'something else' })
    assert.deepEqual(
      await replaced.authenticate(replaced.token),
      rejected("[invalid bearer token, Token does not match server's copy]"),
    )
    const invalid = await legacySetup({
      labels: { 'kubernetes.io/legacy-token-invalid-since': '2025-01-01' },
    })
    const outcome = await invalid.authenticate(invalid.token)
    assert.equal(outcome.authenticated, false)
    assert.match(
      (outcome as { error: string }).error,
      /^\[invalid bearer token, the token in secret ns\/builder-token for service account ns\/builder has been marked invalid\./,
    )
  })

  test('a legacy token for an audience other than the apiserver is not good', async () => {
    const s = await legacySetup()
    assert.deepEqual(
      await s.authenticate(s.token, ['vault']),
      rejected(
        `[invalid bearer token, token audiences ["${issuer}"] is invalid for the target audiences ["vault"]]`,
      ),
    )
  })
})
