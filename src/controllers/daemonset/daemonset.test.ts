import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  ControllerRevision,
  DaemonSet,
  DaemonSetUpdateStrategy,
} from '../../api/generated/types/apps-v1.ts'
import type { Node, Pod, Taint } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiStatusError, IndexedCache, Lister, objectKey } from '../../client/index.ts'
import type { RevisionClient } from '../history/history.ts'
import { computeStatus, DaemonSetController, excessPods, type DaemonSetControl } from './daemonset.ts'
import { daemonSetRevision, templateHash } from './revisions.ts'

const start = Date.UTC(2026, 0, 1, 12, 0, 0)

function makeDS(
  o: { image?: string; strategy?: DaemonSetUpdateStrategy; nodeSelector?: Record<string, string> } = {},
): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name: 'agent',
      namespace: 'kube-system',
      uid: 'ds-uid',
      generation: 2,
      resourceVersion: '10',
      annotations: { 'deprecated.daemonset.template.generation': '2' },
    },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: {
          containers: [{ name: 'c', image: o.image ?? 'agent:1' }],
          ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
        },
      },
      updateStrategy: o.strategy ?? {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
      },
      revisionHistoryLimit: 10,
    },
  }
}

function makeNode(name: string, o: { taints?: Taint[]; labels?: Record<string, string> } = {}): Node {
  return {
    metadata: { name, resourceVersion: '1', labels: o.labels ?? {} },
    spec: o.taints ? { taints: o.taints } : {},
  }
}

const ownedByAgent = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  name: 'agent',
  uid: 'ds-uid',
  controller: true,
  blockOwnerDeletion: true,
}

function makePod(
  name: string,
  node: string,
  o: { hash?: string; phase?: string; ready?: boolean; created?: string; bound?: boolean } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: 'kube-system',
      uid: `${name}-uid`,
      resourceVersion: '1',
      labels: { app: 'agent', 'controller-revision-hash': o.hash ?? 'old' },
      creationTimestamp: o.created ?? '2026-01-01T11:00:00Z',
      ownerReferences: [ownedByAgent],
    },
    spec: {
      containers: [],
      ...(o.bound === false
        ? {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
                  ],
                },
              },
            },
          }
        : { nodeName: node }),
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ready
        ? { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T11:30:00Z' }] }
        : {}),
    },
  }
}

const alreadyExists = () =>
  new ApiStatusError({ code: 409, reason: 'AlreadyExists', message: 'already exists' }, 409)

/** Records every write; revisions it creates show up in the revisions' cache as an informer would. */
class FakeControl implements DaemonSetControl {
  created: Pod[] = []
  deleted: string[] = []
  patched: { name: string; patch: unknown }[] = []
  statuses: DaemonSet[] = []
  failCreates = false
  ds: DaemonSet
  readonly revisionCache: IndexedCache<ControllerRevision>
  readonly revisions: RevisionClient

  constructor(ds: DaemonSet, revisionCache: IndexedCache<ControllerRevision>) {
    this.ds = ds
    this.revisionCache = revisionCache
    const get = (ns: string, name: string) => {
      const r = revisionCache.get(`${ns}/${name}`)
      if (!r) throw new ApiStatusError({ code: 404, reason: 'NotFound', message: 'not found' }, 404)
      return structuredClone(r) as ControllerRevision
    }
    this.revisions = {
      create: async (r) => {
        if (revisionCache.get(objectKey(r))) throw alreadyExists()
        revisionCache.set(r)
        return r
      },
      get: async (ns, name) => get(ns, name),
      update: async (r) => {
        revisionCache.set(r)
        return r
      },
      delete: async (ns, name) => {
        const r = get(ns, name)
        revisionCache.delete(objectKey(r))
        return r
      },
      patch: async (ns, name) => get(ns, name),
    }
  }

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
  async getDaemonSet(): Promise<DaemonSet> {
    return this.ds
  }
  async updateStatus(ds: DaemonSet): Promise<DaemonSet> {
    this.statuses.push(ds)
    return ds
  }
}

function setup(ds: DaemonSet, nodes: Node[], pods: Pod[], revisions: ControllerRevision[] = []) {
  const clock = new FakeClock(start)
  const revisionCache = IndexedCache.of<ControllerRevision>(revisions)
  const control = new FakeControl(ds, revisionCache)
  const podCache = IndexedCache.of<Pod>(pods)
  const nodeCache = IndexedCache.of<Node>(nodes)
  const events: string[] = []
  const controller = new DaemonSetController({
    daemonSets: new Lister(IndexedCache.of([ds])),
    pods: new Lister(podCache),
    nodes: new Lister(nodeCache),
    revisions: new Lister(revisionCache),
    control,
    recorder: { event: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`) },
    clock,
  })
  return { controller, control, events, podCache, nodeCache, clock, key: objectKey(ds) }
}

const emptyCounts = {
  currentNumberScheduled: 0,
  desiredNumberScheduled: 0,
  numberMisscheduled: 0,
  numberReady: 0,
}

/** The hash the DaemonSet's current template gets, as its pods are labelled. */
const hashOf = (ds: DaemonSet) => templateHash(ds)

test('a pod is created for every node, pinned by node affinity (no nodeName), with the daemon tolerations and revision labels', async () => {
  const ds = makeDS()
  const { controller, control, events, key } = setup(ds, [makeNode('n1'), makeNode('n2')], [])
  await controller.reconcile(key)
  assert.equal(control.created.length, 2)
  const pod = control.created[0] as Pod
  assert.equal(pod.metadata?.generateName, 'agent-')
  assert.deepEqual(pod.metadata?.ownerReferences, [ownedByAgent])
  assert.deepEqual(pod.metadata?.labels, {
    app: 'agent',
    'pod-template-generation': '2',
    'controller-revision-hash': hashOf(ds),
  })
  assert.equal(pod.spec?.nodeName, undefined)
  assert.deepEqual(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, {
    nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }],
  })
  assert.equal(pod.spec?.tolerations?.length, 6)
  assert.deepEqual(events, [
    'Normal SuccessfulCreate Created pod: agent-0',
    'Normal SuccessfulCreate Created pod: agent-1',
  ])
  const revision = control.revisionCache.get(`kube-system/agent-${hashOf(ds)}`)
  assert.equal(revision?.revision, 1)
  assert.deepEqual(revision?.metadata?.labels, { app: 'agent', 'controller-revision-hash': hashOf(ds) })
  assert.deepEqual(revision?.metadata?.ownerReferences, [ownedByAgent])
  assert.deepEqual(
    (revision?.data as { spec: { template: { $patch: string } } }).spec.template.$patch,
    'replace',
  )
  assert.deepEqual(control.statuses[0]?.status, {
    desiredNumberScheduled: 2,
    currentNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
    updatedNumberScheduled: 0,
    numberAvailable: 0,
    numberUnavailable: 2,
    observedGeneration: 2,
  })
})

test('until the informer has seen its creations, a stale cache creates nothing more and observedGeneration waits', async () => {
  const { controller, control, key } = setup(makeDS(), [makeNode('n1')], [])
  await controller.reconcile(key)
  await controller.reconcile(key)
  assert.equal(control.created.length, 1)
})

test('nodes whose labels miss the nodeSelector, or with an untolerated NoSchedule taint, get no pod', async () => {
  const ds = makeDS({ nodeSelector: { role: 'edge' } })
  const nodes = [
    makeNode('edge', { labels: { role: 'edge' } }),
    makeNode('core', { labels: { role: 'core' } }),
    makeNode('gpu', { labels: { role: 'edge' }, taints: [{ key: 'gpu', effect: 'NoSchedule' }] }),
  ]
  const { controller, control, key } = setup(ds, nodes, [])
  await controller.reconcile(key)
  assert.deepEqual(
    control.created.map(
      (p) =>
        p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]
          ?.matchFields?.[0]?.values,
    ),
    [['edge']],
  )
  assert.equal(control.statuses[0]?.status?.desiredNumberScheduled, 1)
})

test('a pod stays on a node newly tainted NoSchedule (misscheduled) and goes from one tainted NoExecute', async () => {
  const ds = makeDS()
  const hash = hashOf(ds)
  const nodes = [
    makeNode('soft', { taints: [{ key: 'k', effect: 'NoSchedule' }] }),
    makeNode('hard', { taints: [{ key: 'k', effect: 'NoExecute' }] }),
  ]
  const pods = [
    makePod('agent-soft', 'soft', { hash, ready: true }),
    makePod('agent-hard', 'hard', { hash, ready: true }),
  ]
  const { controller, control, events, key } = setup(ds, nodes, pods)
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['agent-hard'])
  assert.deepEqual(events, ['Normal SuccessfulDelete Deleted pod: agent-hard'])
  assert.equal(control.created.length, 0)
  const s = control.statuses[0]?.status
  assert.deepEqual([s?.desiredNumberScheduled, s?.numberMisscheduled], [0, 2])
})

test('a failed pod is deleted with FailedDaemonPod, then not again until its back-off has passed', async () => {
  const ds = makeDS()
  const failed = makePod('agent-x', 'n1', { hash: hashOf(ds), phase: 'Failed' })
  const { controller, control, events, key, clock } = setup(ds, [makeNode('n1')], [failed])
  await assert.rejects(controller.reconcile(key), /deleted 1 failed pods of DaemonSet kube-system\/agent/)
  assert.deepEqual(control.deleted, ['agent-x'])
  assert.deepEqual(events, [
    'Warning FailedDaemonPod Found failed daemon pod kube-system/agent-x on node n1, will try to kill it',
    'Normal SuccessfulDelete Deleted pod: agent-x',
  ])
  // The informer shows the pod again (say the delete has not landed): within the back-off, no delete.
  controller.expectations.delete(key)
  const requeue = await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['agent-x'])
  assert.deepEqual(requeue, { afterMs: 1000 })
  clock.advance(1000)
  controller.expectations.delete(key)
  await assert.rejects(controller.reconcile(key))
  assert.deepEqual(control.deleted, ['agent-x', 'agent-x'])
  assert.equal(controller.failedPodsBackoff.delayMs('ds-uid/n1'), 2000, 'the back-off doubles')
})

test('succeeded pods are deleted, and of two pods on a node the oldest stays', async () => {
  const ds = makeDS()
  const hash = hashOf(ds)
  const pods = [
    makePod('done', 'n1', { hash, phase: 'Succeeded' }),
    makePod('older', 'n2', { hash, created: '2026-01-01T10:00:00Z' }),
    makePod('newer', 'n2', { hash, created: '2026-01-01T11:00:00Z' }),
  ]
  const { controller, control, key } = setup(ds, [makeNode('n1'), makeNode('n2')], pods)
  await controller.reconcile(key)
  assert.deepEqual(control.deleted.sort(), ['done', 'newer'])
})

test('a pod waiting for a node that is gone is deleted; one bound to a gone node is left to podgc', async () => {
  const ds = makeDS()
  const pods = [makePod('waiting', 'gone', { bound: false }), makePod('bound', 'gone2')]
  const { controller, control, key } = setup(ds, [], pods)
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['waiting'])
})

test('a rolling update deletes maxUnavailable old pods at a time and the manage loop replaces them', async () => {
  const old = makeDS({
    image: 'agent:1',
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2, maxSurge: 0 } },
  })
  const ds = makeDS({
    image: 'agent:2',
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2, maxSurge: 0 } },
  })
  const oldHash = hashOf(old)
  const nodes = ['n1', 'n2', 'n3'].map((n) => makeNode(n))
  const pods = nodes.map((n) =>
    makePod(`old-${n.metadata?.name}`, n.metadata?.name ?? '', { hash: oldHash, ready: true }),
  )
  const { controller, control, key } = setup(ds, nodes, pods, [daemonSetRevision(old, 1)])
  await controller.reconcile(key)
  assert.deepEqual(control.deleted.sort(), ['old-n1', 'old-n2'])
  assert.equal(control.created.length, 0)
  const current = control.revisionCache.get(`kube-system/agent-${hashOf(ds)}`)
  assert.equal(current?.revision, 2, 'the new template is revision 2')
  assert.equal(control.statuses[0]?.status?.updatedNumberScheduled, 0)
})

test('OnDelete leaves old pods alone', async () => {
  const old = makeDS({ image: 'agent:1', strategy: { type: 'OnDelete' } })
  const ds = makeDS({ image: 'agent:2', strategy: { type: 'OnDelete' } })
  const pods = [makePod('old-n1', 'n1', { hash: hashOf(old), ready: true })]
  const { controller, control, key } = setup(ds, [makeNode('n1')], pods, [daemonSetRevision(old, 1)])
  await controller.reconcile(key)
  assert.deepEqual([control.deleted, control.created.length], [[], 0])
})

test('a failing create stops the slow start after its first batch, with FailedCreate', async () => {
  const { controller, control, events, key } = setup(
    makeDS(),
    ['a', 'b', 'c', 'd'].map((n) => makeNode(n)),
    [],
  )
  control.failCreates = true
  await assert.rejects(controller.reconcile(key), /exceeded quota/)
  assert.deepEqual(events, ['Warning FailedCreate Error creating: exceeded quota: pods'])
  assert.ok(controller.expectations.satisfied(key), 'creations never attempted are not waited for')
})

test('an empty selector selects all pods: a warning and nothing else', async () => {
  const ds = makeDS()
  ds.spec = { ...ds.spec, selector: {} } as DaemonSet['spec']
  const { controller, control, events, key } = setup(ds, [makeNode('n1')], [])
  await controller.reconcile(key)
  assert.deepEqual(events, [
    'Warning SelectingAll This daemon set is selecting all pods. A non-empty selector is required.',
  ])
  assert.equal(control.created.length, 0)
})

test('old revisions beyond revisionHistoryLimit go, oldest first, except those pods still use', async () => {
  const ds = makeDS({ image: 'agent:9' })
  ds.spec = { ...ds.spec, revisionHistoryLimit: 1 } as DaemonSet['spec']
  const olds = [1, 2, 3].map((i) => daemonSetRevision(makeDS({ image: `agent:${i}` }), i))
  const usedHash = olds[0]?.metadata?.labels?.['controller-revision-hash'] ?? ''
  const pods = [makePod('p', 'n1', { hash: usedHash, ready: true })]
  const { controller, control, key } = setup(ds, [makeNode('n1')], pods, olds)
  await controller.reconcile(key)
  const left = control.revisionCache
    .byIndex('namespace', 'kube-system')
    .map((r) => r.revision)
    .sort()
  // Two too many: 2 and 3 go; 1 stays for its pod, though it is the oldest.
  assert.deepEqual(left, [1, 4])
})

test('the status counts nodes: desired, current, ready, available, updated, misscheduled', () => {
  const ds = makeDS()
  const hash = hashOf(ds)
  const nodes = [
    makeNode('a'),
    makeNode('b'),
    makeNode('c'),
    makeNode('d', { taints: [{ key: 'k', effect: 'NoSchedule' }] }),
  ]
  const podsByNode = new Map([
    ['a', [makePod('pa', 'a', { hash, ready: true })]],
    ['b', [makePod('pb', 'b', { hash: 'old' })]],
    ['d', [makePod('pd', 'd', { hash })]],
  ])
  assert.deepEqual(computeStatus(ds, nodes, podsByNode, hash, start), {
    desiredNumberScheduled: 3,
    currentNumberScheduled: 2,
    numberMisscheduled: 1,
    numberReady: 1,
    updatedNumberScheduled: 1,
    numberAvailable: 1,
    numberUnavailable: 2,
  })
})

test('a node joining wakes the DaemonSets that should run there; a taint only those whose verdict changes', () => {
  const ds = makeDS({ nodeSelector: { role: 'edge' } })
  const { controller } = setup(ds, [], [])
  const added: string[] = []
  controller.queue.add = (k: string) => void added.push(k)
  controller.nodeHandler().add?.(makeNode('core'), false)
  assert.deepEqual(added, [])
  controller.nodeHandler().add?.(makeNode('edge', { labels: { role: 'edge' } }), false)
  assert.deepEqual(added, ['kube-system/agent'])
  const before = makeNode('edge', { labels: { role: 'edge' } })
  const after = {
    ...before,
    metadata: { ...before.metadata, resourceVersion: '2' },
    spec: { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] },
  }
  controller.nodeHandler().update?.(before, after)
  assert.deepEqual(added, ['kube-system/agent'], 'a PreferNoSchedule taint changes nothing')
})

test('without surge the oldest of several pods on a node stays; with surge the oldest new and old stay while the new one is not available', () => {
  const ds = makeDS()
  const surge = makeDS({
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
  })
  const hash = hashOf(surge)
  const oldest = makePod('old-a', 'n1', { hash: 'old', ready: true, created: '2026-01-01T09:00:00Z' })
  const older = makePod('old-b', 'n1', { hash: 'old', ready: true, created: '2026-01-01T10:00:00Z' })
  const fresh = makePod('new-a', 'n1', { hash, created: '2026-01-01T11:00:00Z' })
  const names = (pods: readonly Pod[]) => pods.map((p) => p.metadata?.name)
  assert.deepEqual(names(excessPods(ds, [fresh, older, oldest], hashOf(ds), start)), ['old-b', 'new-a'])
  assert.deepEqual(names(excessPods(surge, [fresh, older, oldest], hash, start)), ['old-b'])
  const readyNew = makePod('new-a', 'n1', { hash, ready: true, created: '2026-01-01T11:00:00Z' })
  assert.deepEqual(
    names(excessPods(surge, [readyNew, oldest], hash, start)),
    ['old-a'],
    'the new one is available',
  )
  const unreadyOld = makePod('old-a', 'n1', { hash: 'old', created: '2026-01-01T09:00:00Z' })
  assert.deepEqual(
    names(excessPods(surge, [fresh, unreadyOld], hash, start)),
    ['old-a'],
    'the old one is not ready',
  )
})

test('with surge a rolling update creates a new pod beside an old one, pinned to its node', async () => {
  const strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } }
  const old = makeDS({ image: 'agent:1', strategy })
  const ds = makeDS({ image: 'agent:2', strategy })
  const pods = ['n1', 'n2'].map((n) => makePod(`old-${n}`, n, { hash: hashOf(old), ready: true }))
  const { controller, control, key } = setup(ds, [makeNode('n1'), makeNode('n2')], pods, [
    daemonSetRevision(old, 1),
  ])
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, [])
  assert.equal(control.created.length, 1)
  assert.deepEqual(
    control.created[0]?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms,
    [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }],
  )
  assert.equal(control.created[0]?.metadata?.labels?.['controller-revision-hash'], hashOf(ds))
})

test('a revision name taken by another template bumps status.collisionCount and the next sync uses a new name', async () => {
  const ds = makeDS()
  const squatter = daemonSetRevision(makeDS({ image: 'other:1' }), 1)
  squatter.metadata = { ...squatter.metadata, name: `agent-${hashOf(ds)}` }
  const { controller, control, key } = setup(ds, [makeNode('n1')], [], [squatter])
  await assert.rejects(controller.reconcile(key), /already exists/)
  assert.equal(control.statuses[0]?.status?.collisionCount, 1)
  assert.equal(control.created.length, 0)

  const bumped = { ...ds, status: { ...emptyCounts, collisionCount: 1 } }
  const next = setup(bumped, [makeNode('n1')], [], [squatter])
  next.control.ds = bumped
  await next.controller.reconcile(next.key)
  const hash = templateHash(bumped)
  assert.notEqual(hash, hashOf(ds))
  assert.equal(next.control.revisionCache.get(`kube-system/agent-${hash}`)?.revision, 2)
  assert.equal(next.control.created[0]?.metadata?.labels?.['controller-revision-hash'], hash)
})

test('an orphan pod the selector matches is adopted; an owned pod it no longer matches is released', async () => {
  const ds = makeDS()
  const orphan = makePod('orphan', 'n1', { hash: hashOf(ds), ready: true })
  orphan.metadata = { ...orphan.metadata, ownerReferences: [] }
  const stray = makePod('stray', 'n2', { hash: hashOf(ds), ready: true })
  stray.metadata = { ...stray.metadata, labels: { app: 'other' } }
  const { controller, control, key } = setup(ds, [makeNode('n1'), makeNode('n2')], [orphan, stray])
  await controller.reconcile(key)
  assert.deepEqual(
    control.patched.map((p) => p.name),
    ['orphan', 'stray'],
  )
  assert.deepEqual(control.patched[0]?.patch, {
    metadata: { ownerReferences: [ownedByAgent], uid: 'orphan-uid' },
  })
  assert.deepEqual(control.patched[1]?.patch, {
    metadata: { ownerReferences: [{ $patch: 'delete', uid: 'ds-uid' }], uid: 'stray-uid' },
  })
  // The adopted pod counts for n1; n2 has none of ours and gets one.
  assert.equal(control.created.length, 1)
})

test('two revisions of the current template: the newest stays, pods of the other are relabelled, the other goes', async () => {
  const ds = makeDS()
  const a = daemonSetRevision(ds, 1)
  const b = daemonSetRevision(ds, 2)
  a.metadata = {
    ...a.metadata,
    name: 'agent-aaaa',
    labels: { app: 'agent', 'controller-revision-hash': 'aaaa' },
  }
  const pods = [makePod('p', 'n1', { hash: 'aaaa', ready: true })]
  const { controller, control, key } = setup(ds, [makeNode('n1')], pods, [a, b])
  await controller.reconcile(key)
  assert.deepEqual(control.patched, [
    { name: 'p', patch: { metadata: { labels: { 'controller-revision-hash': hashOf(ds) } } } },
  ])
  assert.equal(control.revisionCache.get('kube-system/agent-aaaa'), undefined)
  assert.ok(control.revisionCache.get(`kube-system/agent-${hashOf(ds)}`))
})
