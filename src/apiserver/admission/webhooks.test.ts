import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  MutatingWebhook,
  MutatingWebhookConfiguration,
  ValidatingWebhookConfiguration,
  WebhookClientConfig,
} from '../../api/generated/types/admissionregistration-v1.ts'
import { AdmissionChain, type AdmissionAttributes } from './admission.ts'
import type { AdmissionReview } from './admission-review.ts'
import { WebhookCallError } from './webhook-client.ts'
import { mutatingWebhookPlugin, validatingWebhookPlugin } from './webhooks.ts'

type Answer = (review: AdmissionReview, url: string) => Record<string, unknown> | Error

/** A webhook client that answers from a function and records the calls. */
function fakeClient(answer: Answer) {
  const calls: { url: string; review: AdmissionReview }[] = []
  return {
    calls,
    post: async (config: WebhookClientConfig, body: unknown) => {
      const review = body as AdmissionReview
      const url = config.url ?? ''
      calls.push({ url, review })
      const r = answer(review, url)
      if (r instanceof Error) throw new WebhookCallError(r.message)
      return {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: review.request?.uid, ...r },
      }
    },
  }
}

const patchOf = (ops: unknown[]) => Buffer.from(JSON.stringify(ops)).toString('base64')

function hook(name: string, o: Partial<MutatingWebhook> = {}): MutatingWebhook {
  return {
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: { url: `https://hooks.test/${name}` },
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: 10,
    reinvocationPolicy: 'Never',
    rules: [
      {
        operations: ['CREATE', 'UPDATE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['pods'],
        scope: '*',
      },
    ],
    ...o,
  }
}

const mutating = (...webhooks: MutatingWebhook[]): MutatingWebhookConfiguration => ({
  metadata: { name: 'config' },
  webhooks,
})

function podAttrs(o: Partial<AdmissionAttributes> = {}): AdmissionAttributes {
  return {
    operation: 'CREATE',
    group: '',
    version: 'v1',
    resource: 'pods',
    subresource: '',
    kind: 'Pod',
    namespace: 'default',
    name: 'p',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { containers: [] },
    },
    oldObject: undefined,
    dryRun: false,
    user: { name: 'alice', groups: ['system:authenticated'] },
    warnings: [],
    ...o,
  }
}

const labels = () => ({})

test('a mutating webhook patches the object; the review carries the request', async () => {
  const client = fakeClient(() => ({
    allowed: true,
    patchType: 'JSONPatch',
    patch: patchOf([{ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }]),
    warnings: ['careful'],
  }))
  const chain = new AdmissionChain([
    mutatingWebhookPlugin({
      configurations: () => [mutating(hook('add.label.test'))],
      namespaceLabels: labels,
      client,
    }),
  ])
  const a = podAttrs()
  await chain.admit(a)
  assert.deepEqual(a.object?.metadata?.labels, { mutated: 'yes' })
  assert.deepEqual(a.warnings, ['careful'])
  const req = client.calls[0]?.review.request
  assert.equal(client.calls[0]?.review.apiVersion, 'admission.k8s.io/v1')
  assert.equal(req?.operation, 'CREATE')
  assert.deepEqual(req?.kind, { group: '', version: 'v1', kind: 'Pod' })
  assert.deepEqual(req?.requestResource, { group: '', version: 'v1', resource: 'pods' })
  assert.equal(req?.namespace, 'default')
  assert.equal(req?.userInfo.username, 'alice')
  assert.equal(req?.dryRun, false)
})

test('a refusal is worded as Kubernetes words it, with the webhook status code', async () => {
  const client = fakeClient(() => ({
    allowed: false,
    status: { code: 403, reason: 'Forbidden', message: 'no pods today' },
  }))
  const plugin = mutatingWebhookPlugin({
    configurations: () => [mutating(hook('deny.test'))],
    namespaceLabels: labels,
    client,
  })
  await assert.rejects(
    new AdmissionChain([plugin]).admit(podAttrs()),
    (err: { status: { message: string; code: number; reason: string } }) => {
      assert.equal(err.status.message, 'admission webhook "deny.test" denied the request: no pods today')
      assert.equal(err.status.code, 403)
      assert.equal(err.status.reason, 'Forbidden')
      return true
    },
  )
})

test('a refusal without explanation or code is a 500, as upstream', async () => {
  const client = fakeClient(() => ({ allowed: false }))
  const plugin = validatingWebhookPlugin({
    configurations: () => [mutating(hook('deny.test'))],
    namespaceLabels: labels,
    client,
  })
  await assert.rejects(
    plugin.validate?.(podAttrs()) ?? Promise.resolve(),
    (err: { status: { message: string; code: number } }) => {
      assert.equal(err.status.message, 'admission webhook "deny.test" denied the request without explanation')
      assert.equal(err.status.code, 500)
      return true
    },
  )
})

test('failurePolicy Ignore skips a webhook that cannot be called; Fail fails the request', async () => {
  const client = fakeClient(
    () =>
      new Error(
        'Post "https://hooks.test/x?timeout=10s": dial tcp 10.0.0.1:443: connect: connection refused',
      ),
  )
  const ignore = mutatingWebhookPlugin({
    configurations: () => [mutating(hook('ignore.test', { failurePolicy: 'Ignore' }))],
    namespaceLabels: labels,
    client,
  })
  await new AdmissionChain([ignore]).admit(podAttrs())
  const fail = mutatingWebhookPlugin({
    configurations: () => [mutating(hook('fail.test'))],
    namespaceLabels: labels,
    client,
  })
  await assert.rejects(
    new AdmissionChain([fail]).admit(podAttrs()),
    (err: { status: { message: string; code: number } }) => {
      assert.equal(err.status.code, 500)
      assert.match(
        err.status.message,
        /^Internal error occurred: failed calling webhook "fail.test": failed to call webhook: Post /,
      )
      return true
    },
  )
})

test('a malformed answer is a call failure (the uid must be echoed)', async () => {
  const client = {
    post: async () => ({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'other', allowed: true },
    }),
  }
  const plugin = mutatingWebhookPlugin({
    configurations: () => [mutating(hook('bad.test'))],
    namespaceLabels: labels,
    client,
  })
  await assert.rejects(
    new AdmissionChain([plugin]).admit(podAttrs()),
    /received invalid webhook response: expected response.uid=/,
  )
})

test('a dry run is refused by a webhook with side effects, and passed to one without', async () => {
  const client = fakeClient(() => ({ allowed: true }))
  const unknown = mutatingWebhookPlugin({
    configurations: () => [mutating(hook('effects.test', { sideEffects: 'Unknown' }))],
    namespaceLabels: labels,
    client,
  })
  await assert.rejects(
    new AdmissionChain([unknown]).admit(podAttrs({ dryRun: true })),
    (err: { status: { message: string; code: number } }) => {
      assert.equal(err.status.code, 400)
      assert.equal(err.status.message, 'admission webhook "effects.test" does not support dry run')
      return true
    },
  )
  assert.equal(client.calls.length, 0)
  const none = mutatingWebhookPlugin({
    configurations: () => [mutating(hook('none.test'))],
    namespaceLabels: labels,
    client,
  })
  await new AdmissionChain([none]).admit(podAttrs({ dryRun: true }))
  assert.equal(client.calls[0]?.review.request?.dryRun, true)
})

test('selectors and match conditions choose the requests', async () => {
  const client = fakeClient(() => ({ allowed: true }))
  const plugin = mutatingWebhookPlugin({
    configurations: () => [
      mutating(
        hook('ns.test', { namespaceSelector: { matchLabels: { hooked: 'yes' } } }),
        hook('obj.test', { objectSelector: { matchLabels: { app: 'web' } } }),
        hook('cond.test', {
          matchConditions: [{ name: 'not-alice', expression: "request.userInfo.username != 'alice'" }],
        }),
        hook('rules.test', {
          rules: [{ operations: ['DELETE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        }),
        hook('all.test'),
      ),
    ],
    namespaceLabels: (ns): Record<string, string> => (ns === 'hooked' ? { hooked: 'yes' } : {}),
    client,
  })
  await new AdmissionChain([plugin]).admit(podAttrs())
  assert.deepEqual(
    client.calls.map((c) => c.url),
    ['https://hooks.test/all.test'],
  )
  client.calls.length = 0
  const a = podAttrs({ namespace: 'hooked', user: { name: 'bob', groups: [] } })
  if (a.object) a.object.metadata = { name: 'p', labels: { app: 'web' } }
  await new AdmissionChain([plugin]).admit(a)
  assert.deepEqual(
    client.calls.map((c) => c.url),
    [
      'https://hooks.test/ns.test',
      'https://hooks.test/obj.test',
      'https://hooks.test/cond.test',
      'https://hooks.test/all.test',
    ],
  )
})

test('a match condition that fails to evaluate fails the request under Fail', async () => {
  const client = fakeClient(() => ({ allowed: true }))
  const plugin = mutatingWebhookPlugin({
    configurations: () => [
      mutating(hook('cond.test', { matchConditions: [{ name: 'bad', expression: 'object.nothing == 1' }] })),
    ],
    namespaceLabels: labels,
    client,
  })
  await assert.rejects(
    new AdmissionChain([plugin]).admit(podAttrs()),
    /pods "p" is forbidden: expression 'object.nothing == 1' resulted in error/,
  )
})

test('reinvocation: a webhook with IfNeeded runs again after a later webhook changed the object', async () => {
  const seen: string[] = []
  const client = fakeClient((review, url) => {
    const labelsNow = JSON.stringify(review.request?.object?.metadata?.labels ?? {})
    seen.push(`${url.split('/').pop()} ${labelsNow}`)
    if (url.endsWith('second.test') && !review.request?.object?.metadata?.labels?.second)
      return {
        allowed: true,
        patchType: 'JSONPatch',
        patch: patchOf([{ op: 'add', path: '/metadata/labels', value: { second: 'x' } }]),
      }
    return { allowed: true }
  })
  const plugin = mutatingWebhookPlugin({
    configurations: () => [
      mutating(hook('first.test', { reinvocationPolicy: 'IfNeeded' }), hook('second.test')),
    ],
    namespaceLabels: labels,
    client,
  })
  await new AdmissionChain([plugin]).admit(podAttrs())
  assert.deepEqual(seen, ['first.test {}', 'second.test {}', 'first.test {"second":"x"}'])
})

test('validating webhooks run together; the refusal fails the request; no configurations cost nothing', async () => {
  const client = fakeClient((_r, url) =>
    url.endsWith('no.test') ? { allowed: false, status: { code: 422, message: 'bad' } } : { allowed: true },
  )
  const config = (name: string) =>
    ({ metadata: { name }, webhooks: [hook(`${name}.test`)] }) as ValidatingWebhookConfiguration
  const plugin = validatingWebhookPlugin({
    configurations: () => [config('yes'), config('no')],
    namespaceLabels: labels,
    client,
  })
  await assert.rejects(plugin.validate?.(podAttrs()) ?? Promise.resolve(), /denied the request: bad/)
  assert.equal(client.calls.length, 2)
  const none = validatingWebhookPlugin({ configurations: () => [], namespaceLabels: labels, client })
  assert.equal(none.handles(podAttrs()), false)
})
