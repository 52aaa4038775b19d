import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { ReplicaSet } from '../../src/api/generated/types/apps-v1.ts'
import type { SelfSubjectReview } from '../../src/api/generated/types/authentication-v1.ts'
import type { Event, ServiceAccount } from '../../src/api/generated/types/core-v1.ts'
import type { ClusterRole } from '../../src/api/generated/types/rbac-v1.ts'
import { FakeClock } from '../../src/base/clock.ts'
import {
  ApiStatusError,
  builtin,
  loadKubeconfig,
  ResourceClient,
  RestClient,
  type ObjectLike,
} from '../../src/client/index.ts'
import { ServiceAccountClients } from '../../src/controllers/client-builder.ts'
import { readKubeconfigCredentials } from '../../src/pki/index.ts'
import { startTestApiServer, testLog, type TestApiServer } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/** Who the apiserver takes the client for (SelfSubjectReview, as `kubectl auth whoami`). */
async function whoami(rest: RestClient) {
  const review = await rest.request<SelfSubjectReview>(
    'POST',
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
  )
  return review.status?.userInfo ?? {}
}

async function refusal(p: Promise<unknown>): Promise<ApiStatusError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  assert.ok(err instanceof ApiStatusError, `expected a refusal, got ${String(err)}`)
  return err
}

describe('the components’ own identities', () => {
  let c: TestApiServer
  let admin: RestClient
  before(async () => {
    c = await startTestApiServer()
    admin = new RestClient(loadKubeconfig(c.server.adminKubeconfig))
  })
  after(async () => {
    await admin.close()
    await c.stop()
  })

  test('the apiserver writes a kubeconfig each for the controller-manager and the scheduler, from the cluster CA', async () => {
    for (const [path, user] of [
      [c.server.controllerManagerKubeconfig, 'system:kube-controller-manager'],
      [c.server.schedulerKubeconfig, 'system:kube-scheduler'],
    ] as const) {
      const creds = readKubeconfigCredentials(path)
      const cert = new X509Certificate(creds.cert)
      assert.equal(cert.subject, `CN=${user}`)
      assert.ok(cert.checkIssued(new X509Certificate(c.server.caPem)))
      const rest = new RestClient(loadKubeconfig(path))
      try {
        assert.equal((await whoami(rest)).username, user)
        // Least privilege: neither makes pods (nor is in system:masters).
        const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } }
        const err = await refusal(rest.request('POST', '/api/v1/namespaces/default/pods', { body: pod }))
        assert.equal(err.code, 403)
        assert.equal(
          err.message,
          `pods is forbidden: User "${user}" cannot create resource "pods" in API group "" in the namespace "default"`,
        )
      } finally {
        await rest.close()
      }
    }
  })

  test('the kubeconfigs keep their certificates across restarts', async () => {
    const before = readKubeconfigCredentials(c.server.schedulerKubeconfig).cert
    await c.server.stop()
    c = await startTestApiServer({ dataDir: c.dataDir })
    assert.equal(readKubeconfigCredentials(c.server.schedulerKubeconfig).cert, before)
    await admin.close()
    admin = new RestClient(loadKubeconfig(c.server.adminKubeconfig))
  })

  test('a controller’s client is its ServiceAccount, made when missing, with a token replaced as it ages or is refused', async () => {
    const clock = new FakeClock(Date.now())
    const root = new RestClient(loadKubeconfig(c.server.controllerManagerKubeconfig))
    const clients = new ServiceAccountClients({
      root,
      config: loadKubeconfig(c.server.controllerManagerKubeconfig),
      clock,
      log: testLog,
    })
    const accounts = new ResourceClient<ServiceAccount>(admin, builtin('', 'v1', 'serviceaccounts'))
    try {
      const rest = clients.client('replicaset-controller')
      const first = await whoami(rest)
      assert.equal(first.username, 'system:serviceaccount:kube-system:replicaset-controller')
      assert.deepEqual(first.groups, [
        'system:serviceaccounts',
        'system:serviceaccounts:kube-system',
        'system:authenticated',
      ])
      const account = await accounts.get('kube-system', 'replicaset-controller')
      const credential = (u: typeof first) => u.extra?.['authentication.kubernetes.io/credential-id']

      // The role's rules, and no more.
      const pods = await rest.request<{ items: unknown[] }>('GET', '/api/v1/pods')
      assert.ok(Array.isArray(pods.items))
      const err = await refusal(rest.request('GET', '/api/v1/namespaces/kube-system/secrets'))
      assert.equal(
        err.message,
        'secrets is forbidden: User "system:serviceaccount:kube-system:replicaset-controller" cannot list resource "secrets" in API group "" in the namespace "kube-system"',
      )

      // Within 80% of its hour the token is kept; after, another is asked for.
      clock.advance(47 * 60_000)
      assert.deepEqual(credential(await whoami(rest)), credential(first))
      clock.advance(2 * 60_000)
      const second = await whoami(rest)
      assert.notDeepEqual(credential(second), credential(first))

      // The account deleted, its token is refused (401) once; the next request makes it again.
      await accounts.delete('kube-system', 'replicaset-controller')
      assert.equal((await refusal(whoami(rest))).code, 401)
      assert.equal((await whoami(rest)).username, 'system:serviceaccount:kube-system:replicaset-controller')
      const again = await accounts.get('kube-system', 'replicaset-controller')
      assert.notEqual(again.metadata?.uid, account.metadata?.uid)
    } finally {
      await clients.close()
      await root.close()
    }
  })
})

describe('a control plane with least privilege', () => {
  let cp: TestControlPlane
  before(async () => {
    cp = await startTestControlPlane({
      leaderElect: false,
      controllers: ['replicaset'],
      namespaces: ['work'],
    })
  })
  after(async () => {
    await cp.stop()
  })

  test('the replicaset controller acts as system:serviceaccount:kube-system:replicaset-controller, within its role', async () => {
    const rss = cp.client<ReplicaSet>('apps', 'v1', 'replicasets')
    const roles = cp.client<ClusterRole>('rbac.authorization.k8s.io', 'v1', 'clusterroles')
    const events = cp.client<Event>('', 'v1', 'events')
    const pods = cp.client<ObjectLike>('', 'v1', 'pods')
    const rs = (name: string): ReplicaSet => ({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: 'work' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
        },
      },
    })
    await rss.create(rs('allowed'))
    await until(
      async () => (await pods.list('work', { labelSelector: 'app=allowed' })).items.length === 1,
      20_000,
      'the pod of the first ReplicaSet',
    )
    await cp.client<ServiceAccount>('', 'v1', 'serviceaccounts').get('kube-system', 'replicaset-controller')

    // Take pod creation out of its role: the next ReplicaSet's pods are refused, to that user.
    const role = await roles.get('', 'system:controller:replicaset-controller')
    role.rules = (role.rules ?? []).map((r) =>
      r.resources?.includes('pods') ? { ...r, verbs: r.verbs.filter((v) => v !== 'create') } : r,
    )
    await roles.update(role)
    await rss.create(rs('refused'))
    const failed = await until(
      async () =>
        (await events.list('work')).items.find(
          (e) => e.involvedObject.name === 'refused' && e.reason === 'FailedCreate',
        ),
      20_000,
      'a FailedCreate event',
    )
    assert.match(
      failed.message ?? '',
      /is forbidden: User "system:serviceaccount:kube-system:replicaset-controller" cannot create resource "pods" in API group "" in the namespace "work"/,
    )
  })
})
