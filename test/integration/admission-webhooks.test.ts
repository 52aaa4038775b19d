import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { createCertificateAuthority, issueCertificate } from '../../src/pki/index.ts'
import { startTestApiServer, type TestApiServer } from '../support/cluster.ts'

/**
 * Admission webhooks and ValidatingAdmissionPolicy against a real apiserver: the test runs an
 * HTTPS webhook server on 127.0.0.1 with a certificate from its own CA (given as caBundle).
 */

interface Review {
  request: { uid: string; object?: { metadata?: { name?: string; labels?: Record<string, string> } } }
}

/** The parts of answers the tests read. */
interface Answer {
  message: string
  metadata: { labels?: Record<string, string> }
  spec: { validationActions?: string[] }
}

let api: TestApiServer
let hooks: Server
/** What the /binding webhook was last asked. */
let bindingReview: Record<string, unknown> | undefined
let hooksPort = 0
let caBundle = ''

const json = (o: unknown) => ({ body: JSON.stringify(o), headers: { 'content-type': 'application/json' } })

async function call(method: string, path: string, body?: unknown) {
  const r = await api.request(method, path, body === undefined ? {} : json(body))
  return {
    code: r.code,
    headers: r.headers,
    body: JSON.parse(r.body.toString() || '{}') as Answer,
  }
}

/** Creates a configuration object and waits until the apiserver's cache has it. */
async function configure(path: string, obj: { metadata: { name: string } }) {
  const r = await call('POST', path, obj)
  assert.equal(r.code, 201, JSON.stringify(r.body))
  assert.equal((await call('GET', `${path}/${obj.metadata.name}`)).code, 200)
}

const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
})

const webhook = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
  name,
  admissionReviewVersions: ['v1'],
  sideEffects: 'None',
  clientConfig: { url: `https://127.0.0.1:${hooksPort}${path}`, caBundle },
  rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
  ...extra,
})

before(async () => {
  const ca = await createCertificateAuthority('webhook-test-ca')
  const serving = await issueCertificate(ca, {
    subject: { commonName: 'webhook' },
    usage: 'server',
    hosts: ['127.0.0.1'],
  })
  caBundle = Buffer.from(ca.certPem).toString('base64')
  hooks = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString()) as Review
      const uid = review.request.uid
      const answer = (response: Record<string, unknown>) => {
        res.setHeader('content-type', 'application/json')
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: { uid, ...response },
          }),
        )
      }
      const url = new URL(req.url ?? '/', 'https://x')
      switch (url.pathname) {
        case '/mutate':
          answer({
            allowed: true,
            patchType: 'JSONPatch',
            patch: Buffer.from(
              JSON.stringify([{ op: 'add', path: '/metadata/labels/mutated', value: 'yes' }]),
            ).toString('base64'),
            warnings: ['mutated by the test webhook'],
          })
          return
        case '/deny':
          if (review.request.object?.metadata?.name?.startsWith('bad'))
            answer({
              allowed: false,
              status: { code: 403, reason: 'Forbidden', message: 'bad pods are not welcome' },
            })
          else answer({ allowed: true })
          return
        case '/binding':
          // Moves every binding to node-b.
          bindingReview = review.request
          answer({
            allowed: true,
            patchType: 'JSONPatch',
            patch: Buffer.from(
              JSON.stringify([{ op: 'replace', path: '/target/name', value: 'node-b' }]),
            ).toString('base64'),
          })
          return
        case '/slow':
          setTimeout(() => answer({ allowed: true }), 3000).unref()
          return
        default:
          answer({ allowed: true })
      }
    })
  })
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve))
  hooksPort = (hooks.address() as AddressInfo).port
  api = await startTestApiServer()
})

after(async () => {
  await api?.stop()
  hooks?.closeAllConnections()
  await new Promise<void>((resolve) => hooks?.close(() => resolve()))
})

const mutatingPath = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations'
const validatingPath = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations'

test('a mutating webhook adds a label and its warning reaches the client; a validating webhook denies', async () => {
  await configure(mutatingPath, {
    metadata: { name: 'mutate' },
    webhooks: [
      webhook('mutate.k8ts.test', '/mutate', { objectSelector: { matchLabels: { hook: 'mutate' } } }),
    ],
  } as never)
  await configure(validatingPath, {
    metadata: { name: 'deny' },
    webhooks: [webhook('deny.k8ts.test', '/deny')],
  } as never)
  const created = await call('POST', '/api/v1/namespaces/default/pods', pod('good', { hook: 'mutate' }))
  assert.equal(created.code, 201, JSON.stringify(created.body))
  assert.equal(created.body.metadata.labels?.mutated, 'yes')
  assert.match(String(created.headers.warning), /mutated by the test webhook/)
  const untouched = await call('POST', '/api/v1/namespaces/default/pods', pod('plain'))
  assert.equal(untouched.body.metadata.labels?.mutated, undefined)
  const denied = await call('POST', '/api/v1/namespaces/default/pods', pod('bad-one'))
  assert.equal(denied.code, 403)
  assert.equal(
    denied.body.message,
    'admission webhook "deny.k8ts.test" denied the request: bad pods are not welcome',
  )
  // kubectl prints it as Kubernetes does.
  const k = await api.kubectl(['run', 'bad-two', '--image=nginx', '-n', 'default'])
  assert.match(k.stderr, /admission webhook "deny.k8ts.test" denied the request: bad pods are not welcome/)
  await call('DELETE', `${mutatingPath}/mutate`)
  await call('DELETE', `${validatingPath}/deny`)
})

test('a webhook that cannot be reached is skipped under Ignore and fails the request under Fail; a slow one times out', async () => {
  const down = (name: string, policy: string) => ({
    ...webhook(name, '/'),
    clientConfig: { url: 'https://127.0.0.1:1/', caBundle },
    failurePolicy: policy,
    namespaceSelector: { matchLabels: { webhooks: 'down' } },
  })
  await call('POST', '/api/v1/namespaces', { metadata: { name: 'down', labels: { webhooks: 'down' } } })
  await configure(validatingPath, {
    metadata: { name: 'ignore' },
    webhooks: [down('ignore.k8ts.test', 'Ignore')],
  } as never)
  assert.equal((await call('POST', '/api/v1/namespaces/down/pods', pod('a'))).code, 201)
  // Another namespace is not selected.
  await configure(validatingPath, {
    metadata: { name: 'fail' },
    webhooks: [down('fail.k8ts.test', 'Fail')],
  } as never)
  assert.equal((await call('POST', '/api/v1/namespaces/default/pods', pod('elsewhere'))).code, 201)
  const failed = await call('POST', '/api/v1/namespaces/down/pods', pod('b'))
  assert.equal(failed.code, 500)
  assert.match(
    failed.body.message,
    /^Internal error occurred: failed calling webhook "fail.k8ts.test": failed to call webhook: Post "https:\/\/127.0.0.1:1\/\?timeout=10s": dial tcp 127.0.0.1:1: connect: connection refused$/,
  )
  await call('DELETE', `${validatingPath}/fail`)
  await call('DELETE', `${validatingPath}/ignore`)
  await configure(validatingPath, {
    metadata: { name: 'slow' },
    webhooks: [
      {
        ...webhook('slow.k8ts.test', '/slow'),
        timeoutSeconds: 1,
        namespaceSelector: { matchLabels: { webhooks: 'down' } },
      },
    ],
  } as never)
  const slow = await call('POST', '/api/v1/namespaces/down/pods', pod('c'))
  assert.equal(slow.code, 500)
  assert.match(
    slow.body.message,
    /failed calling webhook "slow.k8ts.test": failed to call webhook: Post .*: context deadline exceeded/,
  )
  await call('DELETE', `${validatingPath}/slow`)
})

test('a dry run reaches a webhook without side effects, and is marked so', async () => {
  await configure(validatingPath, {
    metadata: { name: 'dry' },
    webhooks: [webhook('deny.k8ts.test', '/deny')],
  } as never)
  const r = await call('POST', '/api/v1/namespaces/default/pods?dryRun=All', pod('bad-dry'))
  assert.equal(r.code, 403)
  await call('DELETE', `${validatingPath}/dry`)
})

test('a ValidatingAdmissionPolicy with a ConfigMap param denies Deployments with too many replicas; Warn warns', async () => {
  await call('POST', '/api/v1/namespaces/default/configmaps', {
    metadata: { name: 'limits' },
    data: { maxReplicas: '3' },
  })
  await configure('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
    metadata: { name: 'replica-limit' },
    spec: {
      paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
      matchConstraints: {
        resourceRules: [
          {
            operations: ['CREATE', 'UPDATE'],
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            resources: ['deployments'],
          },
        ],
      },
      validations: [
        {
          expression: 'object.spec.replicas <= int(params.data.maxReplicas)',
          messageExpression: "'replicas must be no greater than ' + params.data.maxReplicas",
        },
      ],
    },
  } as never)
  await configure('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
    metadata: { name: 'replica-limit-binding' },
    spec: {
      policyName: 'replica-limit',
      validationActions: ['Deny'],
      paramRef: { name: 'limits', parameterNotFoundAction: 'Deny' },
    },
  } as never)
  const deployment = (name: string, replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
    },
  })
  assert.equal(
    (await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('small', 2))).code,
    201,
  )
  const big = await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('big', 5))
  assert.equal(big.code, 422)
  assert.equal(
    big.body.message,
    `deployments.apps "big" is forbidden: ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-binding' denied request: replicas must be no greater than 3`,
  )
  const binding = await call(
    'GET',
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/replica-limit-binding',
  )
  binding.body.spec.validationActions = ['Warn']
  assert.equal(
    (
      await call(
        'PUT',
        '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/replica-limit-binding',
        binding.body,
      )
    ).code,
    200,
  )
  await call(
    'GET',
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/replica-limit-binding',
  )
  const warned = await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('warned', 5))
  assert.equal(warned.code, 201)
  assert.match(
    String(warned.headers.warning),
    /Validation failed for ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-binding': replicas must be no greater than 3/,
  )
})

test('pods/binding is admitted as the Binding, a create of pods/binding, which a mutating webhook may change', async () => {
  await configure(mutatingPath, {
    metadata: { name: 'bindings' },
    webhooks: [
      webhook('bindings.test.k8ts.io', '/binding', {
        rules: [
          { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/binding'] },
        ],
      }),
    ],
  } as never)
  assert.equal((await call('POST', '/api/v1/namespaces/default/pods', pod('bind-me'))).code, 201)
  const bound = await call('POST', '/api/v1/namespaces/default/pods/bind-me/binding', {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: 'bind-me' },
    target: { kind: 'Node', name: 'node-a' },
  })
  assert.equal(bound.code, 201, JSON.stringify(bound.body))
  const r = bindingReview as {
    kind: unknown
    resource: unknown
    subResource: string
    operation: string
    name: string
    object: { kind: string; target: { name: string } }
  }
  assert.deepEqual(r.kind, { group: '', version: 'v1', kind: 'Binding' })
  assert.deepEqual(r.resource, { group: '', version: 'v1', resource: 'pods' })
  assert.equal(r.subResource, 'binding')
  assert.equal(r.operation, 'CREATE')
  assert.equal(r.name, 'bind-me')
  assert.equal(r.object.kind, 'Binding')
  assert.equal(r.object.target.name, 'node-a')
  const got = (await api.request('GET', '/api/v1/namespaces/default/pods/bind-me')).body.toString()
  assert.equal((JSON.parse(got) as { spec: { nodeName: string } }).spec.nodeName, 'node-b')
})
