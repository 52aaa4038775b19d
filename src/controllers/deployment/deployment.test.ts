import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Deployment, ReplicaSet } from '../../api/generated/types/apps-v1.ts'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { IndexedCache, Lister, objectKey } from '../../client/index.ts'
import { DeploymentController, type DeploymentControl } from './deployment.ts'
import { templateHash } from './rollout.ts'

const template = (image: string) => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image }] },
})

function makeDeployment(
  o: { image?: string; recreate?: boolean; paused?: boolean; historyLimit?: number } = {},
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: 1, resourceVersion: '5' },
    spec: {
      replicas: 10,
      selector: { matchLabels: { app: 'web' } },
      template: template(o.image ?? 'v2'),
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: o.historyLimit ?? 10,
      ...(o.paused ? { paused: true } : {}),
      strategy: o.recreate
        ? { type: 'Recreate' }
        : { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    },
  }
}

function ownedRS(name: string, image: string, replicas: number, revision: number): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      resourceVersion: '3',
      creationTimestamp: `2026-01-0${revision}T00:00:00Z`,
      labels: { app: 'web', 'pod-template-hash': name },
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true },
      ],
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': name } },
      template: { ...template(image), metadata: { labels: { app: 'web', 'pod-template-hash': name } } },
    },
    status: { replicas, readyReplicas: replicas, availableReplicas: replicas },
  }
}

class FakeControl implements DeploymentControl {
  created: ReplicaSet[] = []
  updated: ReplicaSet[] = []
  deleted: string[] = []
  statuses: Deployment[] = []
  deployments: Deployment[] = []
  async createReplicaSet(rs: ReplicaSet) {
    this.created.push(rs)
    return rs
  }
  async updateReplicaSet(rs: ReplicaSet) {
    this.updated.push(rs)
    return rs
  }
  async deleteReplicaSet(_ns: string, name: string) {
    this.deleted.push(name)
  }
  async patchReplicaSet() {}
  async getReplicaSet(): Promise<ReplicaSet> {
    throw new Error('not in this test')
  }
  async getDeployment(): Promise<Deployment> {
    return makeDeployment()
  }
  async updateDeployment(d: Deployment) {
    this.deployments.push(d)
    return d
  }
  async updateDeploymentStatus(d: Deployment) {
    this.statuses.push(d)
    return d
  }
}

function setup(d: Deployment, rss: ReplicaSet[], pods: Pod[] = []) {
  const deployments = new IndexedCache<Deployment>()
  deployments.set(d)
  const rsCache = IndexedCache.of<ReplicaSet>(rss)
  const podCache = IndexedCache.of<Pod>(pods)
  const control = new FakeControl()
  const events: string[] = []
  const controller = new DeploymentController({
    deployments: new Lister(deployments),
    replicaSets: new Lister(rsCache),
    pods: new Lister(podCache),
    control,
    recorder: { event: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`) },
    clock: new FakeClock(Date.UTC(2026, 0, 10)),
  })
  return { controller, control, events, key: objectKey(d) }
}

test('a new Deployment gets a ReplicaSet named after its template hash, at revision 1, with all its replicas', async () => {
  const d = makeDeployment()
  const { controller, control, events, key } = setup(d, [])
  await controller.reconcile(key)
  const hash = templateHash(d.spec?.template)
  const rs = control.created[0] as ReplicaSet
  assert.equal(rs.metadata?.name, `web-${hash}`)
  assert.deepEqual(rs.metadata?.labels, { app: 'web', 'pod-template-hash': hash })
  assert.deepEqual(rs.spec?.selector.matchLabels, { app: 'web', 'pod-template-hash': hash })
  assert.equal(rs.spec?.template?.metadata?.labels?.['pod-template-hash'], hash)
  assert.equal(rs.spec?.replicas, 10)
  assert.deepEqual(rs.metadata?.annotations, {
    'deployment.kubernetes.io/revision': '1',
    'deployment.kubernetes.io/desired-replicas': '10',
    'deployment.kubernetes.io/max-replicas': '13',
  })
  assert.equal(rs.metadata?.ownerReferences?.[0]?.uid, 'd-uid')
  assert.deepEqual(events, [`Normal ScalingReplicaSet Scaled up replica set web-${hash} from 0 to 10`])
  assert.equal(control.deployments[0]?.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1')
  const progressing = control.statuses
    .flatMap((s) => s.status?.conditions ?? [])
    .filter((c) => c.type === 'Progressing')
    .map((c) => c.reason)
  assert.ok(progressing.includes('NewReplicaSetCreated'), progressing.join(','))
})

test('a template change surges a new ReplicaSet by maxSurge and takes maxUnavailable old pods at once', async () => {
  const old = ownedRS('web-old', 'v1', 10, 1)
  const { controller, control, key } = setup(makeDeployment({ image: 'v2' }), [old])
  await controller.reconcile(key)
  const fresh = control.created[0] as ReplicaSet
  assert.equal(fresh.spec?.replicas, 3, 'maxSurge: 25% of 10, rounded up')
  assert.equal(fresh.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2')
  // 10 available, 8 needed (maxUnavailable 25%, rounded down): two old pods may go right away.
  assert.deepEqual(
    control.updated.map((rs) => [rs.metadata?.name, rs.spec?.replicas]),
    [['web-old', 8]],
  )
})

test('Recreate scales the old ReplicaSets to zero first and creates nothing yet', async () => {
  const old = ownedRS('web-old', 'v1', 10, 1)
  const { controller, control, events, key } = setup(makeDeployment({ image: 'v2', recreate: true }), [old])
  await controller.reconcile(key)
  assert.equal(control.created.length, 0)
  assert.deepEqual(
    control.updated.map((rs) => [rs.metadata?.name, rs.spec?.replicas]),
    [['web-old', 0]],
  )
  assert.deepEqual(events, ['Normal ScalingReplicaSet Scaled down replica set web-old from 10 to 0'])
})

test('paused, a new template makes no new ReplicaSet, and Progressing says the Deployment is paused', async () => {
  const old = ownedRS('web-old', 'v1', 10, 1)
  const { controller, control, key } = setup(makeDeployment({ image: 'v2', paused: true }), [old])
  await controller.reconcile(key)
  assert.equal(control.created.length, 0)
  const c = control.statuses[0]?.status?.conditions?.find((x) => x.type === 'Progressing')
  assert.deepEqual(
    [c?.status, c?.reason, c?.message],
    ['Unknown', 'DeploymentPaused', 'Deployment is paused'],
  )
})

test('once complete, old empty ReplicaSets beyond revisionHistoryLimit are deleted, oldest revision first', async () => {
  const d = makeDeployment({ image: 'v4', historyLimit: 1 })
  const current = ownedRS('web-4', 'v4', 10, 4)
  const olds = [1, 2, 3].map((r) => {
    const rs = ownedRS(`web-${r}`, `v${r}`, 0, r)
    rs.status = { replicas: 0 }
    return rs
  })
  const { controller, control, key } = setup(d, [current, ...olds])
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['web-1', 'web-2'])
})
