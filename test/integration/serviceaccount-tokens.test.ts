import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { CompactSign } from 'jose'
import type { ConfigMap, Pod, Secret, ServiceAccount } from '../../src/api/generated/types/core-v1.ts'
import { builtin, loadKubeconfig, ResourceClient, RestClient } from '../../src/client/index.ts'
import { startControllerManager, type ControllerManager } from '../../src/controllers/index.ts'
import {
  TokenGenerator,
  boundTokenClaims,
  canonicalJson,
  defaultServiceAccountIssuer,
  signingKeyFromPem,
} from '../../src/pki/index.ts'
import { kubectlMissing, startTestApiServer, testLog, type TestApiServer } from '../support/cluster.ts'
import { until } from '../support/until.ts'

const ns = 'tokens'
const unauthorized = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'Unauthorized',
  reason: 'Unauthorized',
  code: 401,
}

const pod = (name: string, extra: Partial<NonNullable<Pod['spec']>> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns },
  spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }], ...extra },
})

/** A TokenRequest answer, or the Status of a refusal. */
interface TokenRequestReply {
  kind: string
  message?: string
  spec: { audiences: string[]; expirationSeconds: number }
  status: { token: string; expirationTimestamp: string }
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >
}

function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >
}

describe('service account tokens against an apiserver and controller-manager', () => {
  let c: TestApiServer
  let manager: ControllerManager
  let rest: RestClient
  let pods: ResourceClient<Pod>
  let accounts: ResourceClient<ServiceAccount>
  let secrets: ResourceClient<Secret>

  /** A request with a bearer token and no client certificate. */
  const asToken = async (
    token: string,
    method = 'POST',
    path = '/apis/authentication.k8s.io/v1/selfsubjectreviews',
  ) => {
    const r = await c.request(method, path, {
      anonymous: true,
      freshConnection: true,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      ...(method === 'POST'
        ? { body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }) }
        : {}),
    })
    return { code: r.code, body: JSON.parse(r.body.toString()) as Record<string, unknown> }
  }
  const whoIs = async (token: string) => {
    const r = await asToken(token)
    assert.equal(r.code, 201, JSON.stringify(r.body))
    return (r.body.status as { userInfo: Record<string, unknown> }).userInfo
  }
  const requestToken = async (name: string, spec: Record<string, unknown> = {}) => {
    const r = await c.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec }),
    })
    return { code: r.code, headers: r.headers, body: JSON.parse(r.body.toString()) as TokenRequestReply }
  }
  const review = async (token: string, audiences?: string[]) => {
    const r = await c.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(audiences ? { audiences } : {}) },
      }),
    })
    assert.equal(r.code, 201, r.body.toString())
    return (JSON.parse(r.body.toString()) as { status: Record<string, unknown> }).status
  }

  before(async () => {
    c = await startTestApiServer({ disableAdmissionPlugins: [] })
    rest = new RestClient(loadKubeconfig(c.server.adminKubeconfig))
    manager = startControllerManager({
      client: loadKubeconfig(c.server.controllerManagerKubeconfig),
      useServiceAccountCredentials: true,
      controllers: ['serviceaccount', 'serviceaccount-token', 'root-ca-cert-publisher', 'tokencleaner'],
      settings: { serviceAccountPrivateKey: readFileSync(c.server.serviceAccountSigningKeyFile, 'utf8') },
      leaderElect: false,
      log: testLog,
    })
    pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    accounts = new ResourceClient<ServiceAccount>(rest, builtin('', 'v1', 'serviceaccounts'))
    secrets = new ResourceClient<Secret>(rest, builtin('', 'v1', 'secrets'))
    await new ResourceClient(rest, builtin('', 'v1', 'namespaces')).create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    })
    await until(
      () => accounts.get(ns, 'default').catch(() => undefined),
      10_000,
      'the default service account',
    )
  })

  after(async () => {
    await manager.stop()
    await rest.close()
    await c.stop()
  })

  test('a new pod runs as default, with the kube-api-access volume mounted in every container', async () => {
    const created = await pods.create(
      pod('volume', {
        initContainers: [{ name: 'init', image: 'registry.k8s.io/pause:3.10' }],
        containers: [
          { name: 'app', image: 'registry.k8s.io/pause:3.10' },
          {
            name: 'own',
            image: 'registry.k8s.io/pause:3.10',
            volumeMounts: [{ name: 'mine', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
          },
        ],
        volumes: [{ name: 'mine', emptyDir: {} }],
      }),
    )
    const spec = created.spec
    assert.ok(spec)
    assert.equal(spec.serviceAccountName, 'default')
    const volume = spec.volumes?.find((v) => v.name.startsWith('kube-api-access-'))
    assert.ok(volume, JSON.stringify(spec.volumes))
    assert.match(volume.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
    assert.deepEqual(volume.projected, {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    })
    const mount = {
      name: volume.name,
      readOnly: true,
      mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
    }
    assert.deepEqual(spec.initContainers?.[0]?.volumeMounts, [mount])
    assert.deepEqual(spec.containers[0]?.volumeMounts, [mount])
    assert.deepEqual(spec.containers[1]?.volumeMounts, [
      { name: 'mine', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
    ])
    // The ConfigMap the volume projects is published in every namespace.
    const cms = new ResourceClient<ConfigMap>(rest, builtin('', 'v1', 'configmaps'))
    const cm = await until(
      () => cms.get(ns, 'kube-root-ca.crt').catch(() => undefined),
      10_000,
      'kube-root-ca.crt',
    )
    assert.equal(cm.data?.['ca.crt'], c.server.caPem)
  })

  test('automountServiceAccountToken false, on the pod or its account, leaves the token out', async () => {
    const a = await pods.create(pod('no-automount', { automountServiceAccountToken: false }))
    assert.equal(a.spec?.volumes, undefined)
    await accounts.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'quiet', namespace: ns },
      automountServiceAccountToken: false,
    })
    const b = await pods.create(pod('quiet', { serviceAccountName: 'quiet' }))
    assert.equal(b.spec?.volumes, undefined)
    assert.equal(b.spec?.containers[0]?.volumeMounts, undefined)
  })

  test('a pod whose service account does not exist is refused as kube-apiserver words it', async () => {
    const r = await c.request('POST', `/api/v1/namespaces/${ns}/pods`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(pod('orphan', { serviceAccountName: 'nobody' })),
    })
    assert.equal(r.code, 403)
    const status = JSON.parse(r.body.toString()) as { message: string; reason: string }
    assert.equal(status.reason, 'Forbidden')
    assert.equal(
      status.message,
      `pods "orphan" is forbidden: error looking up service account ${ns}/nobody: serviceaccount "nobody" not found`,
    )
  })

  test('a token bound to a pod is the service account, with the pod in extra, until the pod is deleted', async () => {
    const p = await pods.create(pod('bound'))
    const sa = await accounts.get(ns, 'default')
    const r = await requestToken('default', {
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'bound' },
    })
    assert.equal(r.code, 201, JSON.stringify(r.body))
    assert.equal(r.body.kind, 'TokenRequest')
    assert.deepEqual(r.body.spec.audiences, [defaultServiceAccountIssuer])
    assert.equal(r.body.spec.expirationSeconds, 3600)
    const token = r.body.status.token
    const claims = claimsOf(token)
    assert.deepEqual(Object.keys(claims), ['aud', 'exp', 'iat', 'iss', 'jti', 'kubernetes.io', 'nbf', 'sub'])
    assert.equal(claims.iss, defaultServiceAccountIssuer)
    assert.equal(claims.sub, `system:serviceaccount:${ns}:default`)
    assert.equal((claims.exp as number) - (claims.iat as number), 3600)
    assert.deepEqual(claims['kubernetes.io'], {
      namespace: ns,
      pod: { name: 'bound', uid: p.metadata?.uid },
      serviceaccount: { name: 'default', uid: sa.metadata?.uid },
    })
    assert.equal(Date.parse(r.body.status.expirationTimestamp) / 1000, claims.exp)

    const user = await whoIs(token)
    assert.deepEqual(user, {
      username: `system:serviceaccount:${ns}:default`,
      uid: sa.metadata?.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
      extra: {
        'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti as string}`],
        'authentication.kubernetes.io/pod-name': ['bound'],
        'authentication.kubernetes.io/pod-uid': [p.metadata?.uid],
      },
    })

    await pods.delete(ns, 'bound', { gracePeriodSeconds: 0 })
    await until(async () => (await asToken(token)).code === 401, 10_000, 'the token to stop working')
    assert.deepEqual((await asToken(token)).body, unauthorized)
    assert.equal(
      (await review(token)).error,
      '[invalid bearer token, service account token has been invalidated]',
    )
  })

  test('the projected token of a kubelet (3607 s, pod-bound) is extended to a year and warns after the hour', async () => {
    await pods.create(pod('kubelet'))
    const r = await requestToken('default', {
      expirationSeconds: 3607,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'kubelet' },
    })
    const claims = claimsOf(r.body.status.token)
    assert.equal((claims.exp as number) - (claims.iat as number), 365 * 24 * 3600)
    assert.equal((claims['kubernetes.io'] as { warnafter: number }).warnafter, (claims.iat as number) + 3607)
    assert.equal(
      r.body.status.expirationTimestamp,
      new Date(((claims.iat as number) + 3607) * 1000).toISOString().replace('.000Z', 'Z'),
    )
  })

  test('TokenRequests are checked as Kubernetes checks them', async () => {
    const short = await requestToken('default', { expirationSeconds: 60 })
    assert.equal(short.code, 422)
    assert.equal(
      short.body.message,
      'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes',
    )
    const missing = await requestToken('nobody')
    assert.equal(missing.code, 404)
    assert.equal(missing.body.message, 'serviceaccounts "nobody" not found')
    const otherKind = await requestToken('default', {
      boundObjectRef: { apiVersion: 'v1', kind: 'ConfigMap', name: 'x' },
    })
    assert.equal(otherKind.code, 400)
    assert.equal(otherKind.body.message, 'cannot bind token to object of type /v1, Kind=ConfigMap')
    await pods.create(pod('other-account', { serviceAccountName: 'quiet' }))
    const mismatch = await requestToken('default', {
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'other-account' },
    })
    assert.equal(mismatch.code, 400)
    assert.equal(
      mismatch.body.message,
      'cannot bind token for serviceaccount "default" to pod running with different serviceaccount name.',
    )
    const staleUID = await requestToken('default', {
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'volume', uid: 'not-the-uid' },
    })
    assert.equal(staleUID.code, 409)
    assert.match(
      staleUID.body.message ?? '',
      /^Operation cannot be fulfilled on Pod "volume": the UID in the bound object reference \(not-the-uid\)/,
    )
  })

  test('a legacy token Secret is filled in by the controller-manager and works until the Secret is deleted', async () => {
    await accounts.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'legacy', namespace: ns },
    })
    await secrets.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'legacy-token',
        namespace: ns,
        annotations: { 'kubernetes.io/service-account.name': 'legacy' },
      },
      type: 'kubernetes.io/service-account-token',
    })
    const filled = await until(
      async () => {
        const s = await secrets.get(ns, 'legacy-token')
        return s.data?.token ? s : undefined
      },
      10_000,
      'the token of the legacy Secret',
    )
    const sa = await accounts.get(ns, 'legacy')
    assert.equal(filled.metadata?.annotations?.['kubernetes.io/service-account.uid'], sa.metadata?.uid)
    assert.equal(Buffer.from(filled.data?.namespace ?? '', 'base64').toString(), ns)
    assert.equal(Buffer.from(filled.data?.['ca.crt'] ?? '', 'base64').toString(), c.server.caPem)
    const token = Buffer.from(filled.data?.token ?? '', 'base64').toString()
    assert.deepEqual(claimsOf(token), {
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': ns,
      'kubernetes.io/serviceaccount/secret.name': 'legacy-token',
      'kubernetes.io/serviceaccount/service-account.name': 'legacy',
      'kubernetes.io/serviceaccount/service-account.uid': sa.metadata?.uid,
      sub: `system:serviceaccount:${ns}:legacy`,
    })
    assert.deepEqual(await whoIs(token), {
      username: `system:serviceaccount:${ns}:legacy`,
      uid: sa.metadata?.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
    })
    // The apiserver stamps the day it was used.
    await until(
      async () =>
        (await secrets.get(ns, 'legacy-token')).metadata?.labels?.['kubernetes.io/legacy-token-last-used'],
      10_000,
      'the last-used label',
    )
    await secrets.delete(ns, 'legacy-token')
    assert.deepEqual((await asToken(token)).body, unauthorized)
  })

  test('forged, expired and foreign tokens get 401 and the server keeps serving', async () => {
    const sa = await accounts.get(ns, 'default')
    const claims = (o: { now?: number; audiences?: string[] } = {}) =>
      boundTokenClaims({
        serviceAccount: { namespace: ns, name: 'default', uid: sa.metadata?.uid ?? '' },
        audiences: o.audiences ?? [defaultServiceAccountIssuer],
        expirationSeconds: 3600,
        now: o.now ?? Date.now(),
      })
    const ours = new TokenGenerator(
      defaultServiceAccountIssuer,
      signingKeyFromPem(readFileSync(c.server.serviceAccountSigningKeyFile, 'utf8')),
    )
    const good = await ours.generate(claims())
    assert.equal((await whoIs(good)).username, `system:serviceaccount:${ns}:default`)

    const payload = Buffer.from(canonicalJson({ ...claims(), iss: defaultServiceAccountIssuer })).toString(
      'base64url',
    )
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    const forged = await new CompactSign(Buffer.from(payload, 'base64url'))
      .setProtectedHeader({ alg: 'ES256', kid: headerOf(good).kid as string })
      .sign(otherKey)
    const otherIssuer = await new TokenGenerator(
      'https://elsewhere.example',
      signingKeyFromPem(readFileSync(c.server.serviceAccountSigningKeyFile, 'utf8')),
    ).generate(claims())
    const expired = await ours.generate(claims({ now: Date.now() - 2 * 3600_000 }))
    const early = await ours.generate({ ...claims(), nbf: Math.floor(Date.now() / 1000) + 600 })
    const foreign = await ours.generate(claims({ audiences: ['vault'] }))
    const cases: [string, string, string][] = [
      ['alg none', none, '[invalid bearer token, go-jose/go-jose: unknown/unsupported algorithm]'],
      ['another key', forged, '[invalid bearer token, go-jose/go-jose: error in cryptographic primitive]'],
      ['another issuer', otherIssuer, 'invalid bearer token'],
      ['expired', expired, '[invalid bearer token, service account token has expired]'],
      ['not yet valid', early, '[invalid bearer token, service account token is not valid yet]'],
      [
        'for another audience',
        foreign,
        `[invalid bearer token, token audiences ["vault"] is invalid for the target audiences ["${defaultServiceAccountIssuer}"]]`,
      ],
      ['garbage', 'not-a-token', 'invalid bearer token'],
      [
        'a truncated JWT',
        good.slice(0, -20),
        '[invalid bearer token, go-jose/go-jose: error in cryptographic primitive]',
      ],
    ]
    for (const [what, token, error] of cases) {
      const r = await asToken(token)
      assert.equal(r.code, 401, what)
      assert.deepEqual(r.body, unauthorized, what)
      assert.deepEqual(await review(token), { user: {}, error }, what)
    }
    // A token for another audience is good for that audience (a TokenReview on its behalf).
    const forVault = await review(foreign, ['vault'])
    assert.equal(forVault.authenticated, true)
    assert.deepEqual(forVault.audiences, ['vault'])
    assert.equal((await c.request('GET', '/version')).code, 200)
  })

  test('TokenReview reports the user and audiences of a good token', async () => {
    const r = await requestToken('default', { audiences: ['vault', defaultServiceAccountIssuer] })
    const token = r.body.status.token
    const status = await review(token)
    assert.equal(status.authenticated, true)
    assert.deepEqual(status.audiences, [defaultServiceAccountIssuer])
    assert.equal((status.user as { username: string }).username, `system:serviceaccount:${ns}:default`)
    const empty = await c.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token: '' },
      }),
    })
    assert.equal(empty.code, 400)
    assert.equal(
      (JSON.parse(empty.body.toString()) as { message: string }).message,
      'token is required for TokenReview in authentication',
    )
  })

  test('the OIDC discovery documents name the issuer and the key tokens are signed with', async () => {
    const config = await c.request('GET', '/.well-known/openid-configuration')
    assert.equal(config.code, 200)
    assert.equal(config.headers['content-type'], 'application/json')
    assert.equal(config.headers['cache-control'], 'public, max-age=3600')
    assert.deepEqual(JSON.parse(config.body.toString()), {
      issuer: defaultServiceAccountIssuer,
      jwks_uri: `${c.server.url}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    })
    const jwks = await c.request('GET', '/openid/v1/jwks')
    assert.equal(jwks.code, 200)
    assert.equal(jwks.headers['content-type'], 'application/jwk-set+json')
    const keys = (JSON.parse(jwks.body.toString()) as { keys: Record<string, string>[] }).keys
    assert.equal(keys.length, 1)
    assert.deepEqual(Object.keys(keys[0] ?? {}), ['use', 'kty', 'kid', 'crv', 'alg', 'x', 'y'])
    const token = (await requestToken('default')).body.status.token
    assert.equal(headerOf(token).kid, keys[0]?.kid)
    assert.deepEqual(Object.keys(headerOf(token)), ['alg', 'kid'])
    // Service accounts may read them (system:service-account-issuer-discovery).
    const bySA = await asToken(token, 'GET', '/openid/v1/jwks')
    assert.equal(bySA.code, 200)
    assert.deepEqual(bySA.body, JSON.parse(jwks.body.toString()))
  })

  test('a bootstrap token is system:bootstrap:<id> until it expires, and the token cleaner removes it then', async () => {
    const data = (o: Record<string, string>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Buffer.from(v).toString('base64')]))
    const inAMoment = new Date(Date.now() + 3000).toISOString().replace(/\.\d+Z$/, 'Z')
    await secrets.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bootstrap-token-abcdef', namespace: 'kube-system' },
      type: 'bootstrap.kubernetes.io/token',
      data: data({
        'token-id': 'abcdef',
        'token-secret': '0123456789abcdef',
        'usage-bootstrap-authentication': 'true',
        'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
        expiration: inAMoment,
      }),
    })
    assert.deepEqual(await whoIs('abcdef.0123456789abcdef'), {
      username: 'system:bootstrap:abcdef',
      groups: [
        'system:bootstrappers',
        'system:bootstrappers:kubeadm:default-node-token',
        'system:authenticated',
      ],
    })
    assert.deepEqual((await asToken('abcdef.0000000000000000')).body, unauthorized)
    await until(
      async () => (await asToken('abcdef.0123456789abcdef')).code === 401,
      10_000,
      'the token to expire',
    )
    await until(
      () =>
        secrets.get('kube-system', 'bootstrap-token-abcdef').then(
          () => false,
          () => true,
        ),
      10_000,
      'the token cleaner to delete the Secret',
    )
  })

  test('kubectl create token and kubectl auth whoami', { skip: kubectlMissing }, async () => {
    const made = await c.kubectl([
      'create',
      'token',
      'default',
      '-n',
      ns,
      '--audience',
      'vault',
      '--duration',
      '20m',
    ])
    assert.equal(made.code, 0, made.stderr)
    const token = made.stdout.trim()
    const claims = claimsOf(token)
    assert.deepEqual(claims.aud, ['vault'])
    assert.equal((claims.exp as number) - (claims.iat as number), 1200)

    await pods.create(pod('whoami'))
    const bound = await c.kubectl([
      'create',
      'token',
      'default',
      '-n',
      ns,
      '--bound-object-kind',
      'Pod',
      '--bound-object-name',
      'whoami',
    ])
    assert.equal(bound.code, 0, bound.stderr)
    const boundToken = bound.stdout.trim()
    const p = await pods.get(ns, 'whoami')
    assert.deepEqual((claimsOf(boundToken)['kubernetes.io'] as { pod: unknown }).pod, {
      name: 'whoami',
      uid: p.metadata?.uid,
    })

    // A kubeconfig with the token alone (no client certificate).
    const kubeconfig = join(c.dataDir, 'token.kubeconfig')
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "' +
          c.server.url +
          '", certificate-authority-data: "' +
          Buffer.from(c.server.caPem).toString('base64') +
          '"}}]',
        'users: [{name: u, user: {token: "' + boundToken + '"}}]',
        'contexts: [{name: c, context: {cluster: c, user: u}}]',
        'current-context: c',
      ].join('\n'),
    )
    const whoami = await c.kubectl(['--kubeconfig', kubeconfig, 'auth', 'whoami'])
    assert.equal(whoami.code, 0, whoami.stderr)
    const sa = await accounts.get(ns, 'default')
    const lines = whoami.stdout.trimEnd().split('\n')
    assert.match(lines[0] ?? '', /^ATTRIBUTE\s+VALUE$/)
    assert.match(lines[1] ?? '', new RegExp(`^Username\\s+system:serviceaccount:${ns}:default$`))
    assert.match(lines[2] ?? '', new RegExp(`^UID\\s+${sa.metadata?.uid}$`))
    assert.match(
      lines[3] ?? '',
      new RegExp(
        `^Groups\\s+\\[system:serviceaccounts system:serviceaccounts:${ns} system:authenticated\\]$`,
      ),
    )
    assert.match(
      lines[4] ?? '',
      /^Extra: authentication\.kubernetes\.io\/credential-id\s+\[JTI=[0-9a-f-]{36}\]$/,
    )
    assert.match(lines[5] ?? '', /^Extra: authentication\.kubernetes\.io\/pod-name\s+\[whoami\]$/)
    assert.match(
      lines[6] ?? '',
      new RegExp(`^Extra: authentication\\.kubernetes\\.io/pod-uid\\s+\\[${p.metadata?.uid}\\]$`),
    )
  })
})
