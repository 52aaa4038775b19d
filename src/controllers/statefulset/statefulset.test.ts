import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ControllerRevision, StatefulSet } from '../../api/generated/types/apps-v1.ts'
import type { PersistentVolumeClaim, Pod } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiStatusError, IndexedCache, Lister, objectKey } from '../../client/index.ts'
import { ControllerHistory, type RevisionClient } from '../history/history.ts'
import { newRevision, revisionLabel } from './identity.ts'
import {
  claimOrdinal,
  completeRollingUpdate,
  StatefulSetController,
  type StatefulSetControl,
} from './statefulset.ts'

const now = Date.UTC(2026, 0, 1, 12, 0, 0)
const longAgo = '2026-01-01T11:00:00Z'

function apiError(code: number, reason: string): ApiStatusError {
  return new ApiStatusError({ code, reason, message: reason }, code)
}

interface SetOptions {
  replicas?: number
  image?: string
  parallel?: boolean
  partition?: number
  maxUnavailable?: number | string
  onDelete?: boolean
  claims?: boolean
  whenScaled?: 'Retain' | 'Delete'
  whenDeleted?: 'Retain' | 'Delete'
  minReadySeconds?: number
  status?: StatefulSet['status']
  revisionHistoryLimit?: number
}

function makeSet(o: SetOptions = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'sts-uid', generation: 2, resourceVersion: '5' },
    spec: {
      replicas: o.replicas ?? 3,
      serviceName: 'nginx',
      selector: { matchLabels: { app: 'web' } },
      podManagementPolicy: o.parallel ? 'Parallel' : 'OrderedReady',
      updateStrategy: o.onDelete
        ? { type: 'OnDelete' }
        : {
            type: 'RollingUpdate',
            rollingUpdate: { partition: o.partition ?? 0, maxUnavailable: o.maxUnavailable ?? 1 },
          },
      ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
      ...(o.revisionHistoryLimit !== undefined ? { revisionHistoryLimit: o.revisionHistoryLimit } : {}),
      persistentVolumeClaimRetentionPolicy: {
        whenDeleted: o.whenDeleted ?? 'Retain',
        whenScaled: o.whenScaled ?? 'Retain',
      },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: o.image ?? 'nginx:1' }] },
      },
      ...(o.claims
        ? {
            volumeClaimTemplates: [
              {
                metadata: { name: 'data' },
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
                status: { phase: 'Pending' },
              },
            ],
          }
        : {}),
    },
    ...(o.status ? { status: o.status } : {}),
  }
}

/** The revision the set's template makes (as the controller names it). */
function revisionFor(set: StatefulSet, n = 1): ControllerRevision {
  const r = newRevision(set, n, set.status?.collisionCount ?? 0)
  r.metadata = { ...r.metadata, uid: `${r.metadata?.name ?? ''}-uid`, resourceVersion: '1' }
  return r
}

type PodState = 'pending' | 'ready' | 'running' | 'failed' | 'terminating'

/** A pod of the set as the apiserver would hold it, at `revision` and in `state`. */
function makePod(ordinal: number, revision: string, state: PodState = 'ready', set = makeSet()): Pod {
  const name = `web-${ordinal}`
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      resourceVersion: '3',
      labels: {
        app: 'web',
        'statefulset.kubernetes.io/pod-name': name,
        'apps.kubernetes.io/pod-index': String(ordinal),
        [revisionLabel]: revision,
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          name: 'web',
          uid: set.metadata?.uid ?? '',
          controller: true,
        },
      ],
      ...(state === 'terminating' ? { deletionTimestamp: '2026-01-01T11:59:00Z' } : {}),
    },
    spec: {
      containers: [{ name: 'nginx', image: 'nginx:1' }],
      hostname: name,
      subdomain: 'nginx',
      ...(set.spec?.volumeClaimTemplates
        ? { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `data-${name}` } }] }
        : {}),
    },
    status: {
      phase: state === 'pending' ? 'Pending' : state === 'failed' ? 'Failed' : 'Running',
      conditions:
        state === 'ready' || state === 'terminating'
          ? [{ type: 'Ready', status: 'True', lastTransitionTime: longAgo }]
          : [],
    },
  }
}

function makeClaim(ordinal: number, owners: { kind: string; uid: string }[] = []): PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: `data-web-${ordinal}`,
      namespace: 'default',
      uid: `data-web-${ordinal}-uid`,
      resourceVersion: '2',
      labels: { app: 'web' },
      ownerReferences: owners.map((o) => ({
        apiVersion: o.kind === 'Pod' ? 'v1' : 'apps/v1',
        kind: o.kind,
        name: o.kind === 'Pod' ? `web-${ordinal}` : 'web',
        uid: o.uid,
        controller: true,
        blockOwnerDeletion: true,
      })),
    },
    spec: { accessModes: ['ReadWriteOnce'] },
  }
}

/** Records every write; revisions go straight into the informer's cache, as if watched. */
class FakeControl implements StatefulSetControl {
  created: Pod[] = []
  updated: Pod[] = []
  deleted: string[] = []
  claimsCreated: PersistentVolumeClaim[] = []
  claimsUpdated: PersistentVolumeClaim[] = []
  statuses: StatefulSet[] = []
  log: string[] = []
  set: StatefulSet
  conflictOnDelete = false

  constructor(set: StatefulSet) {
    this.set = set
  }
  async createPod(pod: Pod): Promise<Pod> {
    this.created.push(pod)
    this.log.push(`create pod ${pod.metadata?.name ?? ''}`)
    return pod
  }
  async updatePod(pod: Pod): Promise<Pod> {
    this.updated.push(pod)
    return pod
  }
  async deletePod(_ns: string, name: string): Promise<void> {
    if (this.conflictOnDelete) throw apiError(409, 'Conflict')
    this.deleted.push(name)
  }
  async patchPod(): Promise<void> {}
  async createClaim(claim: PersistentVolumeClaim): Promise<PersistentVolumeClaim> {
    this.claimsCreated.push(claim)
    this.log.push(`create claim ${claim.metadata?.name ?? ''}`)
    return claim
  }
  async updateClaim(claim: PersistentVolumeClaim): Promise<PersistentVolumeClaim> {
    this.claimsUpdated.push(claim)
    return claim
  }
  async getStatefulSet(): Promise<StatefulSet> {
    return this.set
  }
  async updateStatus(set: StatefulSet): Promise<StatefulSet> {
    this.statuses.push(set)
    return set
  }
  get lastStatus(): StatefulSet['status'] {
    return this.statuses.at(-1)?.status
  }
}

class FakeRevisions implements RevisionClient {
  readonly cache: IndexedCache<ControllerRevision>
  deleted: string[] = []
  constructor(cache: IndexedCache<ControllerRevision>) {
    this.cache = cache
  }
  async create(r: ControllerRevision): Promise<ControllerRevision> {
    if (this.cache.get(`default/${r.metadata?.name ?? ''}`)) throw apiError(409, 'AlreadyExists')
    const stored = {
      ...r,
      metadata: { ...r.metadata, uid: `${r.metadata?.name ?? ''}-uid`, resourceVersion: '1' },
    }
    this.cache.set(stored)
    return stored
  }
  async get(_ns: string, name: string): Promise<ControllerRevision> {
    const r = this.cache.get(`default/${name}`)
    if (!r) throw apiError(404, 'NotFound')
    return structuredClone(r)
  }
  async update(r: ControllerRevision): Promise<ControllerRevision> {
    this.cache.set(r)
    return r
  }
  async delete(_ns: string, name: string): Promise<ControllerRevision> {
    const r = await this.get('default', name)
    this.cache.delete(`default/${name}`)
    this.deleted.push(name)
    return r
  }
  async patch(_ns: string, name: string): Promise<ControllerRevision> {
    return this.get('default', name)
  }
}

function setup(
  set: StatefulSet,
  o: { pods?: Pod[]; claims?: PersistentVolumeClaim[]; revisions?: ControllerRevision[] } = {},
) {
  const sets = IndexedCache.of<StatefulSet>([set])
  const pods = IndexedCache.of<Pod>(o.pods ?? [])
  const claims = IndexedCache.of<PersistentVolumeClaim>(o.claims ?? [])
  const revisionCache = IndexedCache.of<ControllerRevision>(o.revisions ?? [])
  const revisions = new FakeRevisions(revisionCache)
  const control = new FakeControl(set)
  const events: string[] = []
  const controller = new StatefulSetController({
    sets: new Lister(sets),
    pods: new Lister(pods),
    claims: new Lister(claims),
    history: new ControllerHistory({ client: revisions, lister: new Lister(revisionCache) }),
    control,
    recorder: { event: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`) },
    clock: new FakeClock(now),
  })
  return { controller, control, events, revisions, revisionCache, key: objectKey(set) }
}

test('OrderedReady creates only the first pod, with its identity, labels, claim and revision', async () => {
  const set = makeSet({ claims: true })
  const { controller, control, events, revisionCache, key } = setup(set)
  await controller.reconcile(key)
  const rev = revisionFor(set).metadata?.name ?? ''
  assert.deepEqual(control.log, ['create claim data-web-0', 'create pod web-0'])
  const pod = control.created[0] as Pod
  assert.equal(pod.metadata?.name, 'web-0')
  assert.deepEqual(pod.metadata?.labels, {
    app: 'web',
    'statefulset.kubernetes.io/pod-name': 'web-0',
    'apps.kubernetes.io/pod-index': '0',
    'controller-revision-hash': rev,
  })
  assert.equal(pod.spec?.hostname, 'web-0')
  assert.equal(pod.spec?.subdomain, 'nginx')
  assert.deepEqual(pod.spec?.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data-web-0' } }])
  assert.deepEqual(pod.metadata?.ownerReferences, [
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'web',
      uid: 'sts-uid',
      controller: true,
      blockOwnerDeletion: true,
    },
  ])
  const claim = control.claimsCreated[0] as PersistentVolumeClaim
  assert.deepEqual(claim.metadata?.labels, { app: 'web' })
  assert.deepEqual(claim.metadata?.ownerReferences, [], 'Retain/Retain: no owners')
  assert.equal(claim.status, undefined)
  assert.deepEqual(events, [
    'Normal SuccessfulCreate create Claim data-web-0 Pod web-0 in StatefulSet web success',
    'Normal SuccessfulCreate create Pod web-0 in StatefulSet web successful',
  ])
  assert.deepEqual(
    [...revisionCache.values()].map((r) => [r.metadata?.name, r.revision]),
    [[rev, 1]],
  )
  assert.deepEqual(control.lastStatus, {
    replicas: 0,
    readyReplicas: 0,
    availableReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    observedGeneration: 2,
    currentRevision: rev,
    updateRevision: rev,
    collisionCount: 0,
  })
})

test('OrderedReady waits for each pod to be Running and Ready before making the next', async () => {
  const set = makeSet()
  const rev = revisionFor(set)
  const name = rev.metadata?.name ?? ''
  const pending = setup(set, { pods: [makePod(0, name, 'pending')], revisions: [rev] })
  await pending.controller.reconcile(pending.key)
  assert.deepEqual(pending.control.created, [])
  const running = setup(set, { pods: [makePod(0, name, 'running')], revisions: [rev] })
  await running.controller.reconcile(running.key)
  assert.deepEqual(running.control.created, [], 'running but not ready')
  const ready = setup(set, { pods: [makePod(0, name, 'ready')], revisions: [rev] })
  await ready.controller.reconcile(ready.key)
  assert.deepEqual(
    ready.control.created.map((p) => p.metadata?.name),
    ['web-1'],
  )
})

test('Parallel creates every missing pod at once', async () => {
  const { controller, control, key } = setup(makeSet({ parallel: true, replicas: 4 }))
  await controller.reconcile(key)
  assert.deepEqual(control.created.map((p) => p.metadata?.name).sort(), ['web-0', 'web-1', 'web-2', 'web-3'])
})

test('scaling down deletes the highest ordinal first, one at a time, and keeps its claim', async () => {
  const set = makeSet({ replicas: 2, claims: true })
  const rev = revisionFor(set)
  const name = rev.metadata?.name ?? ''
  const pods = [0, 1, 2, 3].map((i) => makePod(i, name, 'ready', set))
  const claims = [0, 1, 2, 3].map((i) => makeClaim(i))
  const { controller, control, events, key } = setup(set, { pods, claims, revisions: [rev] })
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['web-3'])
  assert.deepEqual(events, ['Normal SuccessfulDelete delete Pod web-3 in StatefulSet web successful'])
  assert.deepEqual(control.claimsUpdated, [], 'Retain: the claim keeps no owner and is not deleted')

  const terminating = [0, 1, 2].map((i) => makePod(i, name, 'ready', set))
  terminating.push(makePod(3, name, 'terminating', set))
  const next = setup(set, { pods: terminating, claims, revisions: [rev] })
  await next.controller.reconcile(next.key)
  assert.deepEqual(next.control.deleted, [], 'waits for web-3 to go before web-2')
})

test('OrderedReady scales down only while the remaining pods are healthy, Parallel regardless', async () => {
  const set = makeSet({ replicas: 1 })
  const name = revisionFor(set).metadata?.name ?? ''
  const pods = [makePod(0, name, 'running'), makePod(1, name), makePod(2, name)]
  const ordered = setup(set, { pods, revisions: [revisionFor(set)] })
  await ordered.controller.reconcile(ordered.key)
  assert.deepEqual(ordered.control.deleted, [])
  const parallelSet = makeSet({ replicas: 1, parallel: true })
  const parallel = setup(parallelSet, { pods, revisions: [revisionFor(parallelSet)] })
  await parallel.controller.reconcile(parallel.key)
  assert.deepEqual(parallel.control.deleted.sort(), ['web-1', 'web-2'])
})

test('whenScaled Delete hands a scaled-down pod’s claim to the pod; whenDeleted Delete gives new claims to the set', async () => {
  const set = makeSet({ replicas: 1, claims: true, whenScaled: 'Delete', whenDeleted: 'Delete' })
  const name = revisionFor(set).metadata?.name ?? ''
  const pods = [makePod(0, name, 'ready', set), makePod(1, name, 'ready', set)]
  const claims = [
    makeClaim(0, [{ kind: 'StatefulSet', uid: 'sts-uid' }]),
    makeClaim(1, [{ kind: 'StatefulSet', uid: 'sts-uid' }]),
  ]
  const { controller, control, key } = setup(set, { pods, claims, revisions: [revisionFor(set)] })
  await controller.reconcile(key)
  assert.deepEqual(
    control.claimsUpdated.map((c) => [
      c.metadata?.name,
      c.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`),
    ]),
    [['data-web-1', ['Pod/web-1']]],
  )
  assert.deepEqual(control.deleted, ['web-1'])

  const fresh = setup(makeSet({ replicas: 1, claims: true, whenDeleted: 'Delete' }))
  await fresh.controller.reconcile(fresh.key)
  assert.deepEqual(
    fresh.control.claimsCreated[0]?.metadata?.ownerReferences?.map((r) => [r.kind, r.uid, r.controller]),
    [['StatefulSet', 'sts-uid', true]],
  )
})

test('a rolling update with a partition replaces only the ordinals at or above it, highest first', async () => {
  const old = makeSet({ image: 'nginx:1' })
  const oldRev = revisionFor(old, 1)
  const oldName = oldRev.metadata?.name ?? ''
  const set = makeSet({ image: 'nginx:2', partition: 1, status: { replicas: 3, currentRevision: oldName } })
  const pods = [0, 1, 2].map((i) => makePod(i, oldName))
  const { controller, control, revisionCache, key } = setup(set, { pods, revisions: [oldRev] })
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['web-2'])
  const newRev = [...revisionCache.values()].find((r) => r.revision === 2)
  assert.ok(newRev, 'a second revision for the new template')
  const newName = newRev.metadata?.name ?? ''
  assert.equal(control.lastStatus?.updateRevision, newName)
  assert.equal(control.lastStatus?.currentRevision, oldName)
  assert.equal(control.lastStatus?.currentReplicas, 2, 'one current pod is on its way out')

  // web-2 came back at the new revision: web-1 is next, and web-0 (below the partition) never.
  const step2 = setup(set, {
    pods: [makePod(0, oldName), makePod(1, oldName), makePod(2, newName)],
    revisions: [oldRev, newRev],
  })
  await step2.controller.reconcile(step2.key)
  assert.deepEqual(step2.control.deleted, ['web-1'])
  const done = setup(set, {
    pods: [makePod(0, oldName), makePod(1, newName), makePod(2, newName)],
    revisions: [oldRev, newRev],
  })
  await done.controller.reconcile(done.key)
  assert.deepEqual(done.control.deleted, [])
  assert.equal(done.control.lastStatus?.updatedReplicas, 2)
  assert.equal(done.control.lastStatus?.currentRevision, oldName, 'not complete while web-0 is old')

  // A missing pod below the partition comes back at the current revision.
  const missing = setup(set, {
    pods: [makePod(1, newName), makePod(2, newName)],
    revisions: [oldRev, newRev],
  })
  await missing.controller.reconcile(missing.key)
  const remade = missing.control.created[0]
  assert.equal(remade?.metadata?.labels?.[revisionLabel], oldName)
  assert.equal(remade.spec?.containers[0]?.image, 'nginx:1')
})

test('a rolling update waits while a pod is unavailable, and maxUnavailable lets several go at once', async () => {
  const old = makeSet({ image: 'nginx:1' })
  const oldRev = revisionFor(old, 1)
  const oldName = oldRev.metadata?.name ?? ''
  const parallel = makeSet({
    image: 'nginx:2',
    parallel: true,
    maxUnavailable: 2,
    replicas: 4,
    status: { replicas: 4, currentRevision: oldName },
  })
  const { controller, control, key } = setup(parallel, {
    pods: [0, 1, 2, 3].map((i) => makePod(i, oldName)),
    revisions: [oldRev],
  })
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['web-3', 'web-2'])
  const unavailable = [
    makePod(0, oldName),
    makePod(1, oldName),
    makePod(2, oldName, 'running'),
    makePod(3, oldName, 'running'),
  ]
  const blocked = setup(parallel, { pods: unavailable, revisions: [oldRev] })
  await blocked.controller.reconcile(blocked.key)
  assert.deepEqual(blocked.control.deleted, [], 'two unavailable already: none more')
})

test('a finished rolling update makes the update revision current', async () => {
  const old = makeSet({ image: 'nginx:1' })
  const oldRev = revisionFor(old, 1)
  const set = makeSet({
    image: 'nginx:2',
    status: { replicas: 3, currentRevision: oldRev.metadata?.name ?? '' },
  })
  const newRev = revisionFor(set, 2)
  const newName = newRev.metadata?.name ?? ''
  const { controller, control, key } = setup(set, {
    pods: [0, 1, 2].map((i) => makePod(i, newName)),
    revisions: [oldRev, newRev],
  })
  await controller.reconcile(key)
  assert.equal(control.lastStatus?.currentRevision, newName)
  assert.equal(control.lastStatus?.currentReplicas, 3)
  assert.equal(control.lastStatus?.updatedReplicas, 3)
  assert.equal(control.lastStatus?.readyReplicas, 3)
})

test('OnDelete leaves old pods alone and makes missing ones at the update revision', async () => {
  const old = makeSet({ image: 'nginx:1', onDelete: true })
  const oldRev = revisionFor(old, 1)
  const oldName = oldRev.metadata?.name ?? ''
  const set = makeSet({ image: 'nginx:2', onDelete: true, status: { replicas: 3, currentRevision: oldName } })
  const { controller, control, key } = setup(set, {
    pods: [makePod(0, oldName), makePod(1, oldName)],
    revisions: [oldRev],
  })
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, [])
  assert.equal(control.created[0]?.metadata?.name, 'web-2')
  assert.equal(control.created[0]?.spec?.containers[0]?.image, 'nginx:2')
})

test('a failed pod is deleted to be made again', async () => {
  const set = makeSet({ replicas: 1 })
  const name = revisionFor(set).metadata?.name ?? ''
  const { controller, control, key } = setup(set, {
    pods: [makePod(0, name, 'failed')],
    revisions: [revisionFor(set)],
  })
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['web-0'])
  assert.deepEqual(control.created, [])
})

test('a delete refused by the uid precondition (a newer pod of the name) is not an error', async () => {
  const set = makeSet({ replicas: 0 })
  const name = revisionFor(set).metadata?.name ?? ''
  const { controller, control, events, key } = setup(set, {
    pods: [makePod(0, name)],
    revisions: [revisionFor(set)],
  })
  control.conflictOnDelete = true
  await controller.reconcile(key)
  assert.deepEqual(events, [])
})

test('a claim still owned by an earlier pod of the name holds the pod back until the collector takes it', async () => {
  const set = makeSet({ replicas: 1, claims: true, whenScaled: 'Delete' })
  const claim = makeClaim(0, [{ kind: 'Pod', uid: 'old-web-0-uid' }])
  const { controller, control, key } = setup(set, { claims: [claim] })
  await controller.reconcile(key)
  assert.deepEqual(control.created, [])
})

test('minReadySeconds: a pod ready too recently is not available, blocks OrderedReady, and the sync looks again later', async () => {
  const set = makeSet({ replicas: 2, minReadySeconds: 30 })
  const name = revisionFor(set).metadata?.name ?? ''
  const pod = makePod(0, name)
  pod.status = {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T11:59:50Z' }],
  }
  const { controller, control, key } = setup(set, { pods: [pod], revisions: [revisionFor(set)] })
  const requeue = await controller.reconcile(key)
  assert.deepEqual(control.created, [])
  assert.equal(control.lastStatus?.readyReplicas, 1)
  assert.equal(control.lastStatus?.availableReplicas, 0)
  assert.deepEqual(requeue, { afterMs: 21_000 })
})

test('going back to an earlier template renumbers its revision instead of making a new one', async () => {
  const v1 = makeSet({ image: 'nginx:1' })
  const v2 = makeSet({ image: 'nginx:2' })
  const r1 = revisionFor(v1, 1)
  const r2 = revisionFor(v2, 2)
  const { controller, revisionCache, key } = setup(v1, { revisions: [r1, r2] })
  await controller.reconcile(key)
  const numbers = [...revisionCache.values()].map((r) => [r.metadata?.name, r.revision]).sort()
  assert.deepEqual(
    numbers,
    [
      [r1.metadata?.name, 3],
      [r2.metadata?.name, 2],
    ].sort(),
  )
})

test('revisions no pod uses beyond revisionHistoryLimit are deleted, oldest first', async () => {
  const set = makeSet({ image: 'nginx:9', replicas: 0, revisionHistoryLimit: 1 })
  const old = [1, 2, 3].map((n) => revisionFor(makeSet({ image: `nginx:${n}` }), n))
  const { controller, revisions, key } = setup(set, { revisions: old })
  await controller.reconcile(key)
  assert.deepEqual(revisions.deleted, [old[0]?.metadata?.name, old[1]?.metadata?.name])
})

test('a pod whose identity labels were removed gets them back', async () => {
  const set = makeSet({ replicas: 1 })
  const name = revisionFor(set).metadata?.name ?? ''
  const pod = makePod(0, name)
  delete pod.metadata?.labels?.['apps.kubernetes.io/pod-index']
  const { controller, control, events, key } = setup(set, { pods: [pod], revisions: [revisionFor(set)] })
  await controller.reconcile(key)
  assert.equal(control.updated[0]?.metadata?.labels?.['apps.kubernetes.io/pod-index'], '0')
  assert.deepEqual(events, ['Normal SuccessfulUpdate update Pod web-0 in StatefulSet web successful'])
})

test('a rolling update is not complete while a scale-down still has surplus pods', () => {
  const set = makeSet({ replicas: 2 })
  const status = {
    replicas: 3,
    readyReplicas: 3,
    updatedReplicas: 3,
    currentReplicas: 0,
    currentRevision: 'a',
    updateRevision: 'b',
  }
  assert.equal(completeRollingUpdate(set, status).currentRevision, 'a')
  const done = { ...status, replicas: 2, readyReplicas: 2, updatedReplicas: 2 }
  assert.deepEqual(completeRollingUpdate(set, done), { ...done, currentReplicas: 2, currentRevision: 'b' })
  assert.equal(
    completeRollingUpdate(makeSet({ replicas: 2, onDelete: true }), done).currentRevision,
    'a',
    'never under OnDelete',
  )
})

test('a claim named for one of its ordinals going away wakes the set', () => {
  const { controller } = setup(makeSet({ claims: true }))
  assert.equal(claimOrdinal('data-web-2', 'data', 'web'), 2)
  assert.equal(claimOrdinal('data-web-x', 'data', 'web'), -1)
  assert.equal(claimOrdinal('data-webby-1', 'data', 'web'), -1)
  controller.claimHandler().delete?.(makeClaim(1), false)
  assert.equal(controller.queue.length, 1)
})

test('spec.ordinals.start numbers the pods from its value, and pods below it are scaled away', async () => {
  const set = makeSet({ replicas: 2, parallel: true })
  if (set.spec) set.spec.ordinals = { start: 5 }
  const name = revisionFor(set).metadata?.name ?? ''
  const { controller, control, key } = setup(set, { pods: [makePod(0, name)], revisions: [revisionFor(set)] })
  await controller.reconcile(key)
  assert.deepEqual(control.created.map((p) => p.metadata?.name).sort(), ['web-5', 'web-6'])
  assert.equal(
    control.created.find((p) => p.metadata?.name === 'web-5')?.metadata?.labels?.[
      'apps.kubernetes.io/pod-index'
    ],
    '5',
  )
  assert.deepEqual(control.deleted, ['web-0'])
})
