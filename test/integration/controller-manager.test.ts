import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { ReplicaSet } from '../../src/api/generated/types/apps-v1.ts'
import type { Event, Pod, ServiceAccount } from '../../src/api/generated/types/core-v1.ts'
import type { Lease } from '../../src/api/generated/types/coordination-v1.ts'
import {
  builtin,
  isNotFound,
  loadKubeconfig,
  ResourceClient,
  type RestClient,
} from '../../src/client/index.ts'
import { startControllerManager } from '../../src/controllers/index.ts'
import { kubectlMissing, type TestApiServer, testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

const fastElection = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 }

const replicaSet = (name: string, replicas: number): ReplicaSet => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, namespace: 'work' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'web', image: 'registry.k8s.io/nginx:1.27' }] },
    },
  },
})

describe('the controller-manager against a real apiserver', () => {
  let c: TestApiServer
  let rest: RestClient
  let cp: TestControlPlane
  let rss: ResourceClient<ReplicaSet>
  let pods: ResourceClient<Pod>

  const podsOf = async (app: string) =>
    (await pods.list('work', { labelSelector: `app=${app}` })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    )

  before(async () => {
    cp = await startTestControlPlane({ identity: 'first', ...fastElection, namespaces: ['work'] })
    c = cp.api
    rest = cp.rest
    rss = cp.client('apps', 'v1', 'replicasets')
    pods = cp.client('', 'v1', 'pods')
  })
  after(async () => {
    await cp.stop()
  })

  test('every namespace gets a default ServiceAccount, again after it is deleted', async () => {
    const sas = new ResourceClient<ServiceAccount>(rest, builtin('', 'v1', 'serviceaccounts'))
    const first = await until(
      () => sas.get('work', 'default').catch(() => undefined),
      10_000,
      'the default ServiceAccount',
    )
    await sas.delete('work', 'default')
    const again = await until(
      () => sas.get('work', 'default').catch(() => undefined),
      10_000,
      'the default ServiceAccount to come back',
    )
    assert.notEqual(again.metadata?.uid, first.metadata?.uid)
  })

  test('a ReplicaSet of 10 becomes ready; scaled down it deletes, and a deleted pod is replaced', async () => {
    await rss.create(replicaSet('web', 10))
    const ready = await until(
      async () => {
        const rs = await rss.get('work', 'web')
        return rs.status?.readyReplicas === 10 && rs.status.availableReplicas === 10 ? rs : undefined
      },
      20_000,
      '10 ready replicas',
    )
    assert.equal(ready.status?.replicas, 10)
    assert.equal(ready.status?.fullyLabeledReplicas, 10)
    assert.equal(ready.status?.observedGeneration, ready.metadata?.generation)
    const created = await podsOf('web')
    assert.equal(created.length, 10)
    for (const p of created) {
      assert.match(p.metadata?.name ?? '', /^web-[a-z0-9]{5}$/)
      assert.deepEqual(
        p.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]),
        [['ReplicaSet', 'web', ready.metadata?.uid, true]],
      )
    }

    await rss.patch('work', 'web', 'merge', { spec: { replicas: 3 } })
    await until(async () => (await podsOf('web')).length === 3, 20_000, 'scale down to 3')
    const victim = (await podsOf('web'))[0]?.metadata?.name ?? ''
    await pods.delete('work', victim)
    await until(
      async () => {
        const now = await podsOf('web')
        return now.length === 3 && !now.some((p) => p.metadata?.name === victim)
      },
      20_000,
      'the deleted pod to be replaced',
    )
    const rs = await until(
      async () => {
        const r = await rss.get('work', 'web')
        return r.status?.replicas === 3 && r.status.readyReplicas === 3 ? r : undefined
      },
      20_000,
      'status to show 3',
    )
    assert.equal(rs.status?.availableReplicas, 3)

    const events = new ResourceClient<Event>(rest, builtin('', 'v1', 'events'))
    const list = await events.list('work', { fieldSelector: 'involvedObject.name=web' })
    const reasons = new Set(list.items.map((e) => `${e.source?.component} ${e.reason}`))
    assert.ok(reasons.has('replicaset-controller SuccessfulCreate'), [...reasons].join(', '))
    assert.ok(reasons.has('replicaset-controller SuccessfulDelete'), [...reasons].join(', '))
  })

  test('an orphan the selector matches is adopted (and, one too many, deleted); a pod that stops matching is released', async () => {
    await rss.create(replicaSet('api', 2))
    await until(async () => (await podsOf('api')).length === 2, 20_000, '2 pods')
    const rs = await rss.get('work', 'api')
    await pods.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stray', namespace: 'work', labels: { app: 'api' } },
      spec: { containers: [{ name: 'web', image: 'registry.k8s.io/nginx:1.27' }] },
    })
    // Adopted, then one of the three goes: the stray pod, if it is the newest, or another.
    await until(async () => (await podsOf('api')).length === 2, 20_000, 'back to 2 pods after adoption')
    const stray = await pods.get('work', 'stray').catch((err: unknown) => {
      if (isNotFound(err)) return undefined
      throw err
    })
    if (stray) assert.equal(stray.metadata?.ownerReferences?.[0]?.uid, rs.metadata?.uid)

    // A pod relabelled out of the selector is released, and replaced.
    const kept = (await podsOf('api'))[0] as Pod
    await pods.patch('work', kept.metadata?.name ?? '', 'merge', {
      metadata: { labels: { app: 'elsewhere' } },
    })
    await until(
      async () => {
        const p = await pods.get('work', kept.metadata?.name ?? '')
        return (p.metadata?.ownerReferences ?? []).length === 0 ? p : undefined
      },
      20_000,
      'the relabelled pod to be released',
    )
    await until(async () => (await podsOf('api')).length === 2, 20_000, 'a replacement')
  })

  test('kubectl sees the ReplicaSet as ready and scales it', { skip: kubectlMissing ?? false }, async () => {
    const r = await c.kubectl(['get', 'rs', 'web', '-n', 'work', '--no-headers'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^web\s+3\s+3\s+3\s+/)
    const scaled = await c.kubectl(['scale', 'rs', 'web', '-n', 'work', '--replicas=5'])
    assert.equal(scaled.code, 0, scaled.stderr)
    await until(async () => (await rss.get('work', 'web')).status?.readyReplicas === 5, 20_000, '5 ready')
  })

  test('a second controller-manager waits; when the leader stops, it takes over and acts', async () => {
    const second = startControllerManager({
      client: loadKubeconfig(c.server.controllerManagerKubeconfig),
      useServiceAccountCredentials: true,
      log: testLog,
      identity: 'second',
      ...fastElection,
    })
    try {
      const leases = new ResourceClient<Lease>(rest, builtin('coordination.k8s.io', 'v1', 'leases'))
      const lease = await leases.get('kube-system', 'kube-controller-manager')
      assert.equal(lease.spec?.holderIdentity, 'first')
      await cp.manager.stop()
      assert.equal(cp.manager.lostLeadership, false)
      await until(
        async () =>
          (await leases.get('kube-system', 'kube-controller-manager')).spec?.holderIdentity === 'second',
        15_000,
        'the second to take the lease',
      )
      await rss.create(replicaSet('after', 2))
      await until(async () => (await podsOf('after')).length === 2, 20_000, 'the new leader to create pods')
    } finally {
      cp.manager = second
    }
  })
})
