import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { test } from 'node:test'
import { FakeClock } from '../../base/clock.ts'
import type { StoredObject } from '../../api/object.ts'
import { bootstrapTokenAuthenticator } from './bootstrap-token.ts'
import type { ObjectLookup } from './service-account.ts'
import {
  aggregateMessage,
  audienceAgnostic,
  authenticateToken,
  bearerToken,
  bearerTokenAuthenticator,
  type TokenAuthenticator,
} from './token.ts'

const alice = { name: 'alice', groups: ['devs'] }
const knows = (token: string): TokenAuthenticator => ({
  authenticateToken: (t) => (t === token ? { kind: 'authenticated', user: alice, audiences: [] } : undefined),
})
const rejects = (reason: string): TokenAuthenticator => ({
  authenticateToken: async () => ({ kind: 'rejected', reason }),
})

test('the first authenticator that accepts a token decides; synchronously when they all are', () => {
  const outcome = authenticateToken([knows('a'), knows('b')], 'b', [])
  assert.deepEqual(outcome, { authenticated: true, user: alice, audiences: [] })
})

test('a token nobody accepts fails as kube-apiserver words it', async () => {
  assert.deepEqual(await authenticateToken([knows('a')], 'x', []), {
    authenticated: false,
    error: 'invalid bearer token',
  })
  assert.deepEqual(
    await authenticateToken([rejects('one'), knows('a'), rejects('two'), rejects('one')], 'x', []),
    {
      authenticated: false,
      error: '[invalid bearer token, one, two]',
    },
  )
  assert.equal(aggregateMessage(['a', 'a']), 'a')
})

test('tokens without audiences are good only for the apiserver, and then for its audiences', () => {
  const wrapped = audienceAgnostic(knows('a'), ['api', 'other-api'])
  assert.deepEqual(wrapped.authenticateToken('a', ['x', 'other-api']), {
    kind: 'authenticated',
    user: alice,
    audiences: ['other-api'],
  })
  assert.equal(wrapped.authenticateToken('a', ['vault']), undefined)
})

test('the bearer scheme is matched in any case; other schemes and empty tokens are not bearer tokens', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc')
  assert.equal(bearerToken('bearer   abc  '), 'abc')
  for (const h of [undefined, 'Basic abc', 'Bearer', 'Bearer ', 'Bearer a b'])
    assert.equal(bearerToken(h), undefined, h)
})

test('a request with a token nobody accepts is refused with the reasons; without a token it is left to others', async () => {
  const auth = bearerTokenAuthenticator([knows('a')], [])
  const req = (authorization?: string) =>
    ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage
  assert.equal(auth.authenticate(req()), undefined)
  assert.deepEqual(auth.authenticate(req('Bearer a')), alice)
  assert.throws(() => auth.authenticate(req('Bearer b')), { message: 'invalid bearer token' })
})

/** kube-system Secrets for the bootstrap token authenticator. */
function bootstrapLookup(secrets: StoredObject[]): ObjectLookup {
  const byName = new Map(secrets.map((s) => [s.metadata.name ?? '', s]))
  return {
    peek: (resource, namespace, name) =>
      resource === 'secrets' && namespace === 'kube-system' ? (byName.get(name) ?? null) : null,
    get: async () => undefined,
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64')
const bootstrapSecret = (
  data: Record<string, string>,
  o: { type?: string; name?: string } = {},
): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: o.name ?? 'bootstrap-token-abcdef', namespace: 'kube-system' },
  type: o.type ?? 'bootstrap.kubernetes.io/token',
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
})
const good = {
  'token-id': 'abcdef',
  'token-secret': '0123456789abcdef',
  'usage-bootstrap-authentication': 'true',
  expiration: '2026-06-01T00:00:00Z',
}

const bootstrapCases = [
  {
    name: 'a good token with extra groups',
    data: { ...good, 'auth-extra-groups': 'system:bootstrappers:b,system:bootstrappers:a' },
    ok: true,
  },
  { name: 'a token past its expiration', data: { ...good, expiration: '2026-01-01T00:00:00Z' }, ok: false },
  { name: 'a token with an unreadable expiration', data: { ...good, expiration: 'soon' }, ok: false },
  {
    name: 'a token not marked for authentication',
    data: { ...good, 'usage-bootstrap-authentication': 'false' },
    ok: false,
  },
  { name: 'a token whose secret differs', data: { ...good, 'token-secret': 'ffffffffffffffff' }, ok: false },
  { name: 'a token whose id differs from the name', data: { ...good, 'token-id': 'zzzzzz' }, ok: false },
  {
    name: 'a token with a group outside system:bootstrappers',
    data: { ...good, 'auth-extra-groups': 'system:masters' },
    ok: false,
  },
  { name: 'a Secret of another type', data: good, type: 'Opaque', ok: false },
]
for (const c of bootstrapCases) {
  test(`bootstrap tokens: ${c.name}`, () => {
    const auth = bootstrapTokenAuthenticator({
      lookup: bootstrapLookup([bootstrapSecret(c.data, c.type ? { type: c.type } : {})]),
      clock: new FakeClock(Date.parse('2026-03-01T00:00:00Z')),
    })
    const r = auth.authenticateToken('abcdef.0123456789abcdef', [])
    if (!c.ok) return assert.equal(r, undefined)
    assert.deepEqual(r, {
      kind: 'authenticated',
      user: {
        name: 'system:bootstrap:abcdef',
        groups: ['system:bootstrappers', 'system:bootstrappers:a', 'system:bootstrappers:b'],
      },
      audiences: [],
    })
  })
}

test('bootstrap tokens: strings not shaped like one are not looked up', () => {
  const auth = bootstrapTokenAuthenticator({ lookup: bootstrapLookup([]), clock: new FakeClock() })
  for (const t of ['abcdef.0123456789abcde', 'ABCDEF.0123456789abcdef', 'abcdef0123456789abcdef'])
    assert.equal(auth.authenticateToken(t, []), undefined)
})
