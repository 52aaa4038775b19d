import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { test } from 'node:test'
import type { Secret, ServiceAccount } from '../api/generated/types/core-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { ApiStatusError, IndexedCache, Lister } from '../client/index.ts'
import {
  TokenGenerator,
  legacyTokenIssuer,
  parseJws,
  signingKeyFromPem,
  verifySignature,
} from '../pki/index.ts'
import { TokensController, type TokensControl } from './serviceaccount-tokens.ts'

const key = signingKeyFromPem(
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString(),
)
const ca = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n'
const b64 = (s: string) => Buffer.from(s).toString('base64')

const account = (o: { uid?: string; secrets?: string[] } = {}): ServiceAccount => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name: 'builder', namespace: 'ns', uid: o.uid ?? 'sa-uid', resourceVersion: '3' },
  ...(o.secrets ? { secrets: o.secrets.map((name) => ({ name })) } : {}),
})

const tokenSecret = (o: { data?: Record<string, string>; uid?: string; saUID?: string } = {}): Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'builder-token',
    namespace: 'ns',
    uid: o.uid ?? 'secret-uid',
    resourceVersion: '7',
    annotations: {
      'kubernetes.io/service-account.name': 'builder',
      ...(o.saUID ? { 'kubernetes.io/service-account.uid': o.saUID } : {}),
    },
  },
  type: 'kubernetes.io/service-account-token',
  ...(o.data ? { data: o.data } : {}),
})

/** A control that records writes; reads answer from `live` (the apiserver's state). */
function setup(o: {
  accounts?: ServiceAccount[]
  secrets?: Secret[]
  live?: Secret
  liveAccount?: ServiceAccount
  /** Updates of Secrets fail with 409. */
  conflict?: boolean
}) {
  const saCache = new IndexedCache<ServiceAccount>()
  const secretCache = new IndexedCache<Secret>()
  for (const a of o.accounts ?? []) saCache.set(a)
  for (const s of o.secrets ?? []) secretCache.set(s)
  const writes: string[] = []
  let updated: Secret | undefined
  const control: TokensControl = {
    getSecret: async () => structuredClone(o.live ?? o.secrets?.[0]),
    updateSecret: async (s) => {
      if (o.conflict) throw new ApiStatusError({ reason: 'Conflict', code: 409 }, 409)
      writes.push(`update secret ${s.metadata?.name ?? ''}`)
      updated = s
    },
    deleteSecret: async (ns, name, uid) => void writes.push(`delete secret ${ns}/${name} if ${uid}`),
    getServiceAccount: async () => structuredClone(o.liveAccount ?? o.accounts?.[0]),
    updateServiceAccount: async (sa) =>
      void writes.push(`update account secrets=${(sa.secrets ?? []).map((s) => s.name).join(',')}`),
  }
  const controller = new TokensController({
    serviceAccounts: new Lister(saCache),
    secrets: new Lister(secretCache),
    control,
    generator: new TokenGenerator(legacyTokenIssuer, key),
    rootCA: ca,
    clock: new FakeClock(),
  })
  return { controller, writes, updated: () => updated }
}

const secretKey = (o: { uid?: string; saUID?: string } = {}) =>
  JSON.stringify({
    namespace: 'ns',
    name: 'builder-token',
    uid: o.uid ?? 'secret-uid',
    serviceAccountName: 'builder',
    serviceAccountUID: o.saUID ?? '',
  })

test('an empty token Secret gets a signed legacy token, the CA, the namespace and the account UID', async () => {
  const s = setup({ accounts: [account()], secrets: [tokenSecret()] })
  await s.controller.tokenSecrets.reconcile(secretKey(), new AbortController().signal)
  assert.deepEqual(s.writes, ['update secret builder-token'])
  const secret = s.updated()
  assert.ok(secret)
  assert.equal(secret.metadata?.annotations?.['kubernetes.io/service-account.uid'], 'sa-uid')
  assert.equal(secret.data?.['ca.crt'], b64(ca))
  assert.equal(secret.data?.namespace, b64('ns'))
  const token = Buffer.from(secret.data?.token ?? '', 'base64').toString()
  const jws = parseJws(token)
  assert.ok(jws)
  assert.equal(await verifySignature(jws, [key.publicKey]), undefined)
  assert.deepEqual(jws.claims, {
    iss: 'kubernetes/serviceaccount',
    'kubernetes.io/serviceaccount/namespace': 'ns',
    'kubernetes.io/serviceaccount/secret.name': 'builder-token',
    'kubernetes.io/serviceaccount/service-account.name': 'builder',
    'kubernetes.io/serviceaccount/service-account.uid': 'sa-uid',
    sub: 'system:serviceaccount:ns:builder',
  })
})

test('a complete Secret is left alone; only a different CA is replaced, and the token kept', async () => {
  const complete = { token: b64('t'), 'ca.crt': b64(ca), namespace: b64('ns') }
  const s = setup({ accounts: [account()], secrets: [tokenSecret({ data: complete })] })
  await s.controller.tokenSecrets.reconcile(secretKey(), new AbortController().signal)
  assert.deepEqual(s.writes, [])
  const stale = setup({
    accounts: [account()],
    secrets: [tokenSecret({ data: { ...complete, 'ca.crt': b64('old') } })],
  })
  await stale.controller.tokenSecrets.reconcile(secretKey(), new AbortController().signal)
  assert.equal(stale.updated()?.data?.['ca.crt'], b64(ca))
  assert.equal(stale.updated()?.data?.token, b64('t'))
})

test('a Secret the cache has in an older version waits for the newer one', async () => {
  const live = { ...tokenSecret(), metadata: { ...tokenSecret().metadata, resourceVersion: '8' } }
  const s = setup({ accounts: [account()], secrets: [tokenSecret()], live })
  await s.controller.tokenSecrets.reconcile(secretKey(), new AbortController().signal)
  assert.deepEqual(s.writes, [])
})

test('a token Secret of an account that does not exist, or has another UID, is deleted', async () => {
  const none = setup({ secrets: [tokenSecret()] })
  await none.controller.tokenSecrets.reconcile(secretKey(), new AbortController().signal)
  assert.deepEqual(none.writes, ['delete secret ns/builder-token if secret-uid'])
  const other = setup({ accounts: [account({ uid: 'new' })], secrets: [tokenSecret({ saUID: 'sa-uid' })] })
  await other.controller.tokenSecrets.reconcile(secretKey({ saUID: 'sa-uid' }), new AbortController().signal)
  assert.deepEqual(other.writes, ['delete secret ns/builder-token if secret-uid'])
})

test('when an account goes, its token Secrets go; when a token Secret goes, the account stops listing it', async () => {
  const gone = setup({ secrets: [tokenSecret({ saUID: 'sa-uid' })] })
  await gone.controller.serviceAccounts.reconcile(
    JSON.stringify(['ns', 'builder', 'sa-uid']),
    new AbortController().signal,
  )
  assert.deepEqual(gone.writes, ['delete secret ns/builder-token if secret-uid'])

  const listed = setup({ accounts: [account({ secrets: ['builder-token', 'other'] })] })
  await listed.controller.tokenSecrets.reconcile(secretKey(), new AbortController().signal)
  assert.deepEqual(listed.writes, ['update account secrets=other'])
})

test('a write that conflicts is left to the next event', async () => {
  const s = setup({ accounts: [account()], secrets: [tokenSecret()], conflict: true })
  await assert.doesNotReject(s.controller.tokenSecrets.reconcile(secretKey(), new AbortController().signal))
})
