import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReplicaSet } from '../../api/generated/types/apps-v1.ts'
import type { Pod, ReplicationController } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiStatusError, IndexedCache, Lister, objectKey, type ObjectLike } from '../../client/index.ts'
import { indexByController } from '../owner-refs.ts'
import {
  computeStatus,
  ReplicaSetController,
  replicaSetKind,
  replicationControllerKind,
  type ReplicaControl,
} from './replicaset.ts'

/** The controller reference the ReplicaSet "web" puts on its pods. */
const ownedByWeb = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name: 'web',
  uid: 'rs-uid',
  controller: true,
  blockOwnerDeletion: true,
}

const clock = () => new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0))

function makeRS(
  o: { replicas?: number; minReadySeconds?: number; name?: string; uid?: string } = {},
): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: o.name ?? 'web',
      namespace: 'default',
      uid: o.uid ?? 'rs-uid',
      generation: 2,
      resourceVersion: '10',
    },
    spec: {
      replicas: o.replicas ?? 3,
      ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', tier: 'front' }, annotations: { note: 'n' } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
    },
  }
}

interface PodOptions {
  labels?: Record<string, string>
  owner?: string | null
  node?: string
  phase?: string
  readySince?: string
  created?: string
  deleting?: boolean
}

function makePod(name: string, o: PodOptions = {}): Pod {
  const owner = o.owner === undefined ? 'rs-uid' : o.owner
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      resourceVersion: '1',
      labels: o.labels ?? { app: 'web', tier: 'front' },
      creationTimestamp: o.created ?? '2026-01-01T11:00:00Z',
      ...(owner
        ? {
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: owner, controller: true },
            ],
          }
        : {}),
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T11:59:00Z' } : {}),
    },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.readySince
        ? { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: o.readySince }] }
        : {}),
    },
  }
}

/** Records every write; `failCreates` makes creates fail with 403 (a quota, say). */
class FakeControl implements ReplicaControl {
  created: Pod[] = []
  deleted: string[] = []
  patched: { name: string; patch: unknown }[] = []
  statuses: ObjectLike[] = []
  failCreates = false
  owner: ReplicaSet | ReplicationController = makeRS()

  async createPod(_ns: string, pod: Pod): Promise<Pod> {
    if (this.failCreates) {
      throw new ApiStatusError({ code: 403, reason: 'Forbidden', message: 'exceeded quota: pods' }, 403)
    }
    const made = {
      ...pod,
      metadata: { ...pod.metadata, name: `${pod.metadata?.generateName ?? ''}${this.created.length}` },
    }
    this.created.push(made)
    return made
  }
  async deletePod(_ns: string, name: string): Promise<void> {
    this.deleted.push(name)
  }
  async patchPod(_ns: string, name: string, patch: unknown): Promise<void> {
    this.patched.push({ name, patch })
  }
  async getOwner(): Promise<ReplicaSet | ReplicationController> {
    return this.owner
  }
  async updateStatus(owner: ReplicaSet | ReplicationController): Promise<ReplicaSet | ReplicationController> {
    this.statuses.push(owner)
    return owner
  }
}

function setup(owner: ReplicaSet | ReplicationController, pods: Pod[], kind = replicaSetKind) {
  const c = clock()
  const owners = new IndexedCache<ReplicaSet | ReplicationController>()
  owners.set(owner)
  const podCache = IndexedCache.of<Pod>(pods)
  indexByController(podCache)
  const control = new FakeControl()
  control.owner = owner
  const events: string[] = []
  const controller = new ReplicaSetController({
    kind,
    owners: new Lister(owners),
    pods: new Lister(podCache),
    control,
    recorder: { event: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`) },
    clock: c,
  })
  return { controller, control, events, podCache, clock: c, key: objectKey(owner) }
}

test('missing pods are created from the template, owned by the ReplicaSet, and the status says how many there are', async () => {
  const { controller, control, events, key } = setup(makeRS({ replicas: 3 }), [])
  await controller.reconcile(key)
  assert.equal(control.created.length, 3)
  const pod = control.created[0] as Pod
  assert.equal(pod.metadata?.generateName, 'web-')
  assert.deepEqual(pod.metadata?.labels, { app: 'web', tier: 'front' })
  assert.deepEqual(pod.metadata?.annotations, { note: 'n' })
  assert.deepEqual(pod.metadata?.ownerReferences, [ownedByWeb])
  assert.deepEqual(pod.spec?.containers, [{ name: 'c', image: 'nginx' }])
  assert.deepEqual(events, [
    'Normal SuccessfulCreate Created pod: web-0',
    'Normal SuccessfulCreate Created pod: web-1',
    'Normal SuccessfulCreate Created pod: web-2',
  ])
  assert.deepEqual((control.statuses[0] as ReplicaSet).status, {
    replicas: 0,
    fullyLabeledReplicas: 0,
    readyReplicas: 0,
    availableReplicas: 0,
    observedGeneration: 2,
  })
})

test('until the informer has seen its creations, a stale cache creates nothing more', async () => {
  const { controller, control, podCache, key } = setup(makeRS({ replicas: 2 }), [])
  await controller.reconcile(key)
  assert.equal(control.created.length, 2)
  await controller.reconcile(key)
  assert.equal(control.created.length, 2, 'expectations hold the second sync back')
  // The informer sees one of them: still waiting for the other.
  const first = makePod('web-0')
  podCache.set(first)
  controller.podHandler().add?.(first, false)
  await controller.reconcile(key)
  assert.equal(control.created.length, 2)
  const second = makePod('web-1')
  podCache.set(second)
  controller.podHandler().add?.(second, false)
  await controller.reconcile(key)
  assert.equal(control.created.length, 2, 'both seen and none missing: nothing to do')
  assert.ok(controller.expectations.satisfied(key))
})

test('surplus pods go unscheduled first, then pending, then not ready, then the newest', async () => {
  const pods = [
    makePod('ready-old', { node: 'n1', readySince: '2026-01-01T10:00:00Z', created: '2026-01-01T09:00:00Z' }),
    makePod('ready-new', { node: 'n1', readySince: '2026-01-01T11:00:00Z', created: '2026-01-01T10:30:00Z' }),
    makePod('not-ready', { node: 'n1' }),
    makePod('pending', { node: 'n1', phase: 'Pending' }),
    makePod('unscheduled', { phase: 'Pending' }),
  ]
  const { controller, control, events, key } = setup(makeRS({ replicas: 1 }), pods)
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['unscheduled', 'pending', 'not-ready', 'ready-new'])
  assert.ok(events.includes('Normal SuccessfulDelete Deleted pod: unscheduled'))
})

test('orphans the selector matches are adopted; pods of other owners are left alone; pods that stop matching are released', async () => {
  const pods = [
    makePod('orphan', { owner: null }),
    makePod('other', { owner: 'someone-else' }),
    makePod('strayed', { labels: { app: 'db' } }),
    makePod('mine'),
  ]
  const { controller, control, key } = setup(makeRS({ replicas: 2 }), pods)
  await controller.reconcile(key)
  // Its own pods come first, then the namespace's orphans (upstream's FilterPodsByOwner).
  assert.deepEqual(control.patched, [
    {
      name: 'strayed',
      patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'rs-uid' }], uid: 'strayed-uid' } },
    },
    {
      name: 'orphan',
      patch: {
        metadata: {
          ownerReferences: [ownedByWeb],
          uid: 'orphan-uid',
        },
      },
    },
  ])
  assert.equal(control.created.length, 0, 'mine and the adopted orphan make two')
  assert.equal((control.statuses[0] as ReplicaSet).status?.replicas, 2)
})

test('a ReplicaSet being deleted neither adopts nor creates', async () => {
  const rs = makeRS({ replicas: 3 })
  ;(rs.metadata ?? {}).deletionTimestamp = '2026-01-01T11:59:00Z'
  const { controller, control, key } = setup(rs, [makePod('orphan', { owner: null })])
  await controller.reconcile(key)
  assert.deepEqual([control.created.length, control.patched.length], [0, 0])
})

test('when creating fails, slow start stops after the first batch, and ReplicaFailure says why', async () => {
  const { controller, control, events, key } = setup(makeRS({ replicas: 10 }), [])
  control.failCreates = true
  await assert.rejects(controller.reconcile(key), /exceeded quota/)
  assert.deepEqual(events, ['Warning FailedCreate Error creating: exceeded quota: pods'])
  const status = (control.statuses[0] as ReplicaSet).status
  assert.deepEqual(
    status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
    [['ReplicaFailure', 'True', 'FailedCreate', 'exceeded quota: pods']],
  )
  assert.ok(controller.expectations.satisfied(key), 'failed and skipped creations are not waited for')
  control.failCreates = false
  await controller.reconcile(key)
  assert.equal(control.created.length, 10)
})

test('available counts pods ready for minReadySeconds; the controller looks again when more will be', async () => {
  const pods = [
    makePod('a', { node: 'n1', readySince: '2026-01-01T11:59:00Z' }),
    makePod('b', { node: 'n1', readySince: '2026-01-01T11:59:55Z' }),
    makePod('c', { node: 'n1', labels: { app: 'web' } }),
  ]
  const { controller, control, key } = setup(makeRS({ replicas: 3, minReadySeconds: 30 }), pods)
  const next = await controller.reconcile(key)
  assert.deepEqual((control.statuses[0] as ReplicaSet).status, {
    replicas: 3,
    fullyLabeledReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 1,
    observedGeneration: 2,
  })
  assert.deepEqual(next, { afterMs: 30_000 })
})

test('status is written only when it changes', async () => {
  const rs = makeRS({ replicas: 1 })
  const pods = [makePod('a', { node: 'n1', readySince: '2026-01-01T11:00:00Z' })]
  rs.status = computeStatus(rs, pods, undefined, Date.UTC(2026, 0, 1, 12))
  const { controller, control, key } = setup(rs, pods)
  await controller.reconcile(key)
  assert.equal(control.statuses.length, 0)
})

test('a ReplicationController selects with its label map', async () => {
  const rc: ReplicationController = {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web', namespace: 'default', uid: 'rc-uid', generation: 1 },
    spec: {
      replicas: 2,
      selector: { app: 'web' },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
    },
  }
  const { controller, control, key } = setup(
    rc,
    [makePod('orphan', { owner: null })],
    replicationControllerKind,
  )
  await controller.reconcile(key)
  assert.equal(control.created.length, 1)
  assert.equal(control.created[0]?.metadata?.ownerReferences?.[0]?.kind, 'ReplicationController')
  assert.equal(control.created[0]?.metadata?.ownerReferences?.[0]?.apiVersion, 'v1')
  assert.equal(control.patched[0]?.name, 'orphan')
})
