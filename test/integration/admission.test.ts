import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { kubectlMissing } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/**
 * The built-in admission plugins against a real apiserver (and, for ResourceQuota, the
 * controller-manager that measures quotas): LimitRanger, PodSecurity, ResourceQuota and
 * DefaultStorageClass, with the messages and warnings kubectl users see.
 */

let plane: TestControlPlane

interface Answer {
  message?: string
  metadata?: { annotations?: Record<string, string> }
  spec?: {
    storageClassName?: string
    containers?: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[]
  }
  status?: { hard?: Record<string, string>; used?: Record<string, string> }
}

async function call(method: string, path: string, body?: unknown) {
  const r = await plane.api.request(
    method,
    path,
    body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
  )
  return { code: r.code, headers: r.headers, body: JSON.parse(r.body.toString() || '{}') as Answer }
}

const pod = (name: string, container: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'nginx', ...container }] },
})

const namespace = (name: string, labels: Record<string, string> = {}) =>
  call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } })

/** Warning headers as the client receives them (299 - "text"). */
function warningsOf(headers: Record<string, string | string[] | undefined>): string[] {
  const raw = headers.warning
  const all = Array.isArray(raw) ? raw : raw ? [raw] : []
  return all.map((w) => JSON.parse(w.replace(/^299 - /, '')) as string)
}

before(async () => {
  plane = await startTestControlPlane({ readyPods: false })
})

after(async () => {
  await plane.stop()
})

test('LimitRanger: a LimitRange fills in defaults and caps what a container may ask', async () => {
  assert.equal((await namespace('limits')).code, 201)
  const lr = await call('POST', '/api/v1/namespaces/limits/limitranges', {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: 'caps' },
    spec: {
      limits: [
        {
          type: 'Container',
          max: { cpu: '1' },
          default: { cpu: '500m', memory: '256Mi' },
          defaultRequest: { cpu: '100m', memory: '128Mi' },
        },
      ],
    },
  })
  assert.equal(lr.code, 201, JSON.stringify(lr.body))
  await until(
    async () => (await call('GET', '/api/v1/namespaces/limits/limitranges/caps')).code === 200,
    5000,
    'the LimitRange',
  )

  const small = await call('POST', '/api/v1/namespaces/limits/pods', pod('small'))
  assert.equal(small.code, 201, JSON.stringify(small.body))
  assert.deepEqual(small.body.spec?.containers?.[0]?.resources, {
    limits: { cpu: '500m', memory: '256Mi' },
    requests: { cpu: '100m', memory: '128Mi' },
  })
  assert.equal(
    small.body.metadata?.annotations?.['kubernetes.io/limit-ranger'],
    'LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c',
  )

  const big = await call(
    'POST',
    '/api/v1/namespaces/limits/pods',
    pod('big', { resources: { limits: { cpu: '2' } } }),
  )
  assert.equal(big.code, 403)
  assert.equal(
    big.body.message,
    'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
  )
})

const restrictedDetail =
  'privileged (container "c" must not set securityContext.privileged=true), ' +
  'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
  'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
  'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
  'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'

test("PodSecurity: a restricted namespace refuses a privileged pod with the standard's message", async () => {
  assert.equal((await namespace('secure', { 'pod-security.kubernetes.io/enforce': 'restricted' })).code, 201)
  const r = await call(
    'POST',
    '/api/v1/namespaces/secure/pods',
    pod('root', { securityContext: { privileged: true } }),
  )
  assert.equal(r.code, 403)
  assert.equal(
    r.body.message,
    `pods "root" is forbidden: violates PodSecurity "restricted:latest": ${restrictedDetail}`,
  )
  const compliant = await call('POST', '/api/v1/namespaces/secure/pods', {
    ...pod('fine', {
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    }),
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'c',
          image: 'nginx',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  })
  assert.equal(compliant.code, 201, JSON.stringify(compliant.body))
})

test('PodSecurity: warn mode admits the pod and sends a Warning header', async () => {
  assert.equal((await namespace('watched', { 'pod-security.kubernetes.io/warn': 'restricted' })).code, 201)
  const r = await call(
    'POST',
    '/api/v1/namespaces/watched/pods',
    pod('root', { securityContext: { privileged: true } }),
  )
  assert.equal(r.code, 201)
  assert.deepEqual(warningsOf(r.headers), [
    `would violate PodSecurity "restricted:latest": ${restrictedDetail}`,
  ])
})

test(
  'PodSecurity: kubectl prints the warning, and a stricter label lists the pods it would refuse',
  { skip: kubectlMissing },
  async () => {
    const manifest = JSON.stringify(pod('from-kubectl', { securityContext: { privileged: true } }))
    const applied = await plane.api.kubectl(['apply', '-n', 'watched', '-f', '-'], { stdin: manifest })
    assert.equal(applied.code, 0, applied.stderr)
    assert.match(
      applied.stderr,
      /^Warning: would violate PodSecurity "restricted:latest": privileged \(container "c" must not set securityContext\.privileged=true\)/m,
    )

    const labelled = await plane.api.kubectl([
      'label',
      'namespace',
      'watched',
      'pod-security.kubernetes.io/enforce=baseline',
    ])
    assert.equal(labelled.code, 0, labelled.stderr)
    assert.match(
      labelled.stderr,
      /Warning: existing pods in namespace "watched" violate the new PodSecurity enforce level "baseline:latest"/,
    )
    assert.match(labelled.stderr, /Warning: from-kubectl \(and 1 other pod\): privileged/)
  },
)

test('ResourceQuota: a quota blocks the pod over it, and status.used follows creates and deletes', async () => {
  assert.equal((await namespace('quota')).code, 201)
  const q = await call('POST', '/api/v1/namespaces/quota/resourcequotas', {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: 'q' },
    spec: { hard: { pods: '2', 'count/configmaps': '10' } },
  })
  assert.equal(q.code, 201, JSON.stringify(q.body))
  const used = async (want: string) =>
    until(
      async () => {
        const r = await call('GET', '/api/v1/namespaces/quota/resourcequotas/q')
        return r.body.status?.used?.pods === want ? r.body : undefined
      },
      10_000,
      `status.used.pods=${want}`,
    )
  const measured = await used('0')
  assert.deepEqual(measured.status?.hard, { 'count/configmaps': '10', pods: '2' })

  assert.equal((await call('POST', '/api/v1/namespaces/quota/pods', pod('p1'))).code, 201)
  assert.equal((await call('POST', '/api/v1/namespaces/quota/pods', pod('p2'))).code, 201)
  await used('2')
  const over = await call('POST', '/api/v1/namespaces/quota/pods', pod('p3'))
  assert.equal(over.code, 403)
  assert.equal(
    over.body.message,
    'pods "p3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2',
  )

  assert.equal((await call('DELETE', '/api/v1/namespaces/quota/pods/p1')).code, 200)
  await used('1')
  assert.equal((await call('POST', '/api/v1/namespaces/quota/pods', pod('p3'))).code, 201)
  await used('2')
})

test('ResourceQuota: a quota on cpu makes every container request it', async () => {
  assert.equal((await namespace('compute')).code, 201)
  const q = await call('POST', '/api/v1/namespaces/compute/resourcequotas', {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: 'cpu' },
    spec: { hard: { 'requests.cpu': '1' } },
  })
  assert.equal(q.code, 201)
  await until(
    async () => (await call('GET', '/api/v1/namespaces/compute/resourcequotas/cpu')).body.status?.used,
    10_000,
    'the quota measured',
  )
  const bare = await call('POST', '/api/v1/namespaces/compute/pods', pod('bare'))
  assert.equal(bare.code, 403)
  assert.equal(
    bare.body.message,
    'pods "bare" is forbidden: failed quota: cpu: must specify requests.cpu for: c',
  )
  const sized = await call(
    'POST',
    '/api/v1/namespaces/compute/pods',
    pod('sized', { resources: { requests: { cpu: '600m' } } }),
  )
  assert.equal(sized.code, 201)
  const second = await call(
    'POST',
    '/api/v1/namespaces/compute/pods',
    pod('second', { resources: { requests: { cpu: '600m' } } }),
  )
  assert.equal(second.code, 403)
  assert.equal(
    second.body.message,
    'pods "second" is forbidden: exceeded quota: cpu, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1',
  )
})

test('DefaultStorageClass: a claim without a class gets the default one', async () => {
  const sc = await call('POST', '/apis/storage.k8s.io/v1/storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'example.com/hostpath',
  })
  assert.equal(sc.code, 201, JSON.stringify(sc.body))
  await until(
    async () => (await call('GET', '/apis/storage.k8s.io/v1/storageclasses/standard')).code === 200,
    5000,
    'the class',
  )
  const claim = (name: string, spec: Record<string, unknown> = {}) =>
    call('POST', '/api/v1/namespaces/default/persistentvolumeclaims', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
    })
  const defaulted = await claim('data')
  assert.equal(defaulted.code, 201, JSON.stringify(defaulted.body))
  assert.equal(defaulted.body.spec?.storageClassName, 'standard')
  const none = await claim('static', { storageClassName: '' })
  assert.equal(none.code, 201)
  assert.equal(none.body.spec?.storageClassName, '')
})
