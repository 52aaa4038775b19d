import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Deployment, ReplicaSet, StatefulSet } from '../../api/generated/types/apps-v1.ts'
import type { Pod, ReplicationController } from '../../api/generated/types/core-v1.ts'
import type { OwnerReference } from '../../api/generated/types/meta-v1.ts'
import type { PodDisruptionBudget, PodDisruptionBudgetSpec } from '../../api/generated/types/policy-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { IndexedCache, Lister, type ObjectLike } from '../../client/index.ts'
import {
  countHealthyPods,
  DisruptionController,
  expectedPodCount,
  failSafe,
  liveDisruptedPods,
  nextStatus,
  scaledIntOrPercent,
  type ControllerScale,
} from './disruption.ts'

const start = Date.UTC(2026, 0, 1, 12, 0, 0)
const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')

const owner = (kind: string, name: string, apiVersion = 'apps/v1'): OwnerReference => ({
  apiVersion,
  kind,
  name,
  uid: `${name}-uid`,
  controller: true,
})

interface PodOptions {
  ready?: boolean
  deleting?: boolean
  owner?: OwnerReference | null
  labels?: Record<string, string>
  disruptionTarget?: { since: number; reason?: string }
  phase?: string
}

function makePod(name: string, o: PodOptions = {}): Pod {
  const ref = o.owner === undefined ? owner('ReplicaSet', 'web-rs') : o.owner
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      resourceVersion: '5',
      labels: o.labels ?? { app: 'web' },
      ...(ref ? { ownerReferences: [ref] } : {}),
      ...(o.deleting ? { deletionTimestamp: at(start) } : {}),
    },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [
        { type: 'Ready', status: o.ready === false ? 'False' : 'True' },
        ...(o.disruptionTarget
          ? [
              {
                type: 'DisruptionTarget',
                status: 'True',
                reason: o.disruptionTarget.reason ?? 'EvictionByEvictionAPI',
                lastTransitionTime: at(o.disruptionTarget.since),
              },
            ]
          : []),
      ],
    },
  }
}

function makePDB(
  spec: Omit<PodDisruptionBudgetSpec, 'selector'>,
  status?: PodDisruptionBudget['status'],
): PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web', namespace: 'default', uid: 'pdb-uid', generation: 2, resourceVersion: '7' },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
    ...(status ? { status } : {}),
  }
}

/** Ready pods web-0 .. web-(n-1) of the ReplicaSet web-rs. */
const readyPods = (n: number, o: PodOptions = {}) =>
  Array.from({ length: n }, (_, i) => makePod(`web-${i}`, o))

/** A scale finder that knows web-rs (5 replicas) and, through /scale, a Widget (7). */
const scales = async (ref: Readonly<OwnerReference>): Promise<ControllerScale | undefined> =>
  ({ 'web-rs': { uid: 'web-rs-uid', replicas: 5 }, w: { uid: 'w-uid', replicas: 7 } })[ref.name]

test('scaled values: integers as they are, percentages rounded up or down, other strings refused', () => {
  assert.equal(scaledIntOrPercent(2, 10, true), 2)
  assert.equal(scaledIntOrPercent('25%', 10, true), 3)
  assert.equal(scaledIntOrPercent('25%', 10, false), 2)
  assert.equal(scaledIntOrPercent('100%', 0, true), 0)
  assert.throws(() => scaledIntOrPercent('2', 10, true), /string is not a percentage/)
  assert.throws(() => scaledIntOrPercent('x%', 10, true), /invalid value "x%"/)
})

const statusCases: {
  name: string
  spec: Omit<PodDisruptionBudgetSpec, 'selector'>
  pods: Pod[]
  want: { expectedPods: number; desiredHealthy: number; currentHealthy: number; disruptionsAllowed: number }
}[] = [
  {
    name: 'an integer minAvailable counts the matching pods as expected',
    spec: { minAvailable: 2 },
    pods: readyPods(3),
    want: { expectedPods: 3, desiredHealthy: 2, currentHealthy: 3, disruptionsAllowed: 1 },
  },
  {
    name: 'a percentage minAvailable takes the controller’s scale and rounds up',
    spec: { minAvailable: '50%' },
    pods: readyPods(5),
    want: { expectedPods: 5, desiredHealthy: 3, currentHealthy: 5, disruptionsAllowed: 2 },
  },
  {
    name: 'an integer maxUnavailable is subtracted from the scale, not from the pods found',
    spec: { maxUnavailable: 1 },
    pods: readyPods(3),
    want: { expectedPods: 5, desiredHealthy: 4, currentHealthy: 3, disruptionsAllowed: 0 },
  },
  {
    name: 'a percentage maxUnavailable rounds up: 30% of 5 is 2 unavailable',
    spec: { maxUnavailable: '30%' },
    pods: readyPods(5),
    want: { expectedPods: 5, desiredHealthy: 3, currentHealthy: 5, disruptionsAllowed: 2 },
  },
  {
    name: 'maxUnavailable above the scale leaves desiredHealthy at 0',
    spec: { maxUnavailable: 9 },
    pods: readyPods(2),
    want: { expectedPods: 5, desiredHealthy: 0, currentHealthy: 2, disruptionsAllowed: 2 },
  },
  {
    name: 'unready and terminating pods are not healthy',
    spec: { minAvailable: 1 },
    pods: [makePod('a'), makePod('b', { ready: false }), makePod('c', { deleting: true })],
    want: { expectedPods: 3, desiredHealthy: 1, currentHealthy: 1, disruptionsAllowed: 0 },
  },
  {
    name: 'no pods means no disruptions, whatever the budget',
    spec: { maxUnavailable: '100%' },
    pods: [],
    want: { expectedPods: 0, desiredHealthy: 0, currentHealthy: 0, disruptionsAllowed: 0 },
  },
  {
    name: 'pods of two controllers add up their scales (ReplicaSet 5 and a Widget through /scale 7)',
    spec: { minAvailable: '50%' },
    pods: [...readyPods(2), makePod('w-0', { owner: owner('Widget', 'w', 'example.com/v1') })],
    want: { expectedPods: 12, desiredHealthy: 6, currentHealthy: 3, disruptionsAllowed: 0 },
  },
]

for (const c of statusCases) {
  test(`status: ${c.name}`, async () => {
    const pdb = makePDB(c.spec)
    const counts = await expectedPodCount(pdb, c.pods, scales)
    const status = nextStatus(pdb, {
      currentHealthy: countHealthyPods(c.pods, {}, start),
      desiredHealthy: counts.desiredHealthy,
      expectedPods: counts.expectedPods,
      disruptedPods: {},
      now: start,
    })
    assert.ok(status)
    assert.deepEqual(
      {
        expectedPods: status.expectedPods,
        desiredHealthy: status.desiredHealthy,
        currentHealthy: status.currentHealthy,
        disruptionsAllowed: status.disruptionsAllowed,
      },
      c.want,
    )
    assert.equal(status.observedGeneration, 2)
    const cond = status.conditions?.find((x) => x.type === 'DisruptionAllowed')
    assert.deepEqual(
      [cond?.status, cond?.reason],
      c.want.disruptionsAllowed > 0 ? ['True', 'SufficientPods'] : ['False', 'InsufficientPods'],
    )
  })
}

test('a pod without a controller is unmanaged for a percentage, and one whose controller is missing is an error', async () => {
  const loose = makePod('loose', { owner: null })
  const counts = await expectedPodCount(makePDB({ maxUnavailable: '50%' }), [...readyPods(1), loose], scales)
  assert.deepEqual(counts, { expectedPods: 5, desiredHealthy: 2, unmanagedPods: ['loose'] })
  const orphan = makePod('orphan', { owner: owner('ReplicaSet', 'gone') })
  await assert.rejects(
    expectedPodCount(makePDB({ maxUnavailable: 1 }), [orphan], scales),
    /found no controllers for pod "orphan"/,
  )
})

test('disruptedPods: entries wait 2 minutes for their pod’s deletion, and their pods are not healthy meanwhile', () => {
  const pods = [makePod('a'), makePod('b'), makePod('c', { deleting: true }), makePod('d')]
  const pdb = makePDB(
    { minAvailable: 1 },
    { disruptedPods: { a: at(start - 30_000), b: at(start - 121_000), c: at(start), gone: at(start) } },
  )
  const live = liveDisruptedPods(pdb, pods, start)
  assert.deepEqual(live.disruptedPods, { a: at(start - 30_000) })
  assert.deepEqual(
    live.expired.map((p) => p.metadata?.name),
    ['b'],
  )
  assert.equal(live.recheckAt, start - 30_000 + 120_000)
  assert.equal(countHealthyPods(pods, live.disruptedPods, start), 2) // b and d; a is leaving, c deleting
})

test('an unchanged status is not written again, and the condition keeps its transition time', () => {
  const pdb = makePDB({ minAvailable: 1 })
  const first = nextStatus(pdb, {
    currentHealthy: 3,
    desiredHealthy: 1,
    expectedPods: 3,
    disruptedPods: {},
    now: start,
  })
  assert.ok(first)
  const synced = { ...pdb, status: first }
  assert.equal(
    nextStatus(synced, {
      currentHealthy: 3,
      desiredHealthy: 1,
      expectedPods: 3,
      disruptedPods: {},
      now: start + 5000,
    }),
    undefined,
  )
  const later = nextStatus(synced, {
    currentHealthy: 2,
    desiredHealthy: 1,
    expectedPods: 3,
    disruptedPods: {},
    now: start + 5000,
  })
  assert.equal(later?.disruptionsAllowed, 1)
  assert.equal(later?.conditions?.[0]?.lastTransitionTime, at(start))
  const none = nextStatus(synced, {
    currentHealthy: 1,
    desiredHealthy: 1,
    expectedPods: 3,
    disruptedPods: {},
    now: start + 5000,
  })
  assert.deepEqual(
    none?.conditions?.map((c) => [c.status, c.reason, c.lastTransitionTime]),
    [['False', 'InsufficientPods', at(start + 5000)]],
  )
})

test('fail safe: disruptionsAllowed 0 and DisruptionAllowed False/SyncFailed with the error', () => {
  const pdb = makePDB(
    { minAvailable: 1 },
    { disruptionsAllowed: 2, currentHealthy: 3, desiredHealthy: 1, expectedPods: 3 },
  )
  const s = failSafe(pdb, 'boom', start).status
  assert.equal(s?.disruptionsAllowed, 0)
  assert.equal(s?.currentHealthy, 3)
  assert.deepEqual(
    s?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
    [['DisruptionAllowed', 'False', 'SyncFailed', 'boom']],
  )
})

// --- the controller, from filled caches ----------------------------------------------------------

interface World {
  pdbs?: PodDisruptionBudget[]
  pods?: Pod[]
  rcs?: ReplicationController[]
  rss?: ReplicaSet[]
  deployments?: Deployment[]
  statefulSets?: StatefulSet[]
  scale?: (ref: Readonly<OwnerReference>) => Promise<ControllerScale | undefined>
}

function harness(w: World) {
  const clock = new FakeClock(start)
  const writes: PodDisruptionBudget[] = []
  const podWrites: Pod[] = []
  const events: string[] = []
  const lister = <T extends ObjectLike>(items: T[] = []) => new Lister(IndexedCache.of<T>(items))
  const controller = new DisruptionController({
    pdbs: lister(w.pdbs),
    pods: lister(w.pods),
    replicationControllers: lister(w.rcs),
    replicaSets: lister(w.rss),
    deployments: lister(w.deployments),
    statefulSets: lister(w.statefulSets),
    control: {
      getScale: async (_ns, ref) => (w.scale ? w.scale(ref) : undefined),
      updateStatus: async (pdb) => void writes.push(pdb),
      updatePodStatus: async (pod) => void podWrites.push(pod),
    },
    recorder: {
      event: (obj, type, reason, message) =>
        void events.push(`${obj.metadata?.name} ${type} ${reason}: ${message}`),
    },
    clock,
  })
  return { controller, writes, podWrites, events, clock }
}

const meta = (name: string, o: { owner?: OwnerReference } = {}) => ({
  name,
  namespace: 'default',
  uid: `${name}-uid`,
  ...(o.owner ? { ownerReferences: [o.owner] } : {}),
})

test('expectedPods from each kind of controller: a Deployment through its ReplicaSet, an RC, a StatefulSet', async () => {
  const pods = [
    makePod('d-0', { owner: owner('ReplicaSet', 'd-rs') }),
    makePod('d-1', { owner: owner('ReplicaSet', 'd-rs') }),
    makePod('rc-0', { owner: owner('ReplicationController', 'rc', 'v1') }),
    makePod('ss-0', { owner: owner('StatefulSet', 'ss') }),
    makePod('plain-0', { owner: owner('ReplicaSet', 'plain') }),
  ]
  const template = { spec: { containers: [] } }
  const h = harness({
    pdbs: [makePDB({ maxUnavailable: '10%' })],
    pods,
    deployments: [{ metadata: meta('d'), spec: { replicas: 4, selector: {}, template } }],
    rss: [
      { metadata: meta('d-rs', { owner: owner('Deployment', 'd') }), spec: { replicas: 2, selector: {} } },
      { metadata: meta('plain'), spec: { replicas: 3, selector: {} } },
    ],
    rcs: [{ metadata: meta('rc'), spec: { replicas: 2 } }],
    statefulSets: [{ metadata: meta('ss'), spec: { replicas: 1, selector: {}, template, serviceName: '' } }],
  })
  assert.equal(await h.controller.reconcile('default/web'), undefined)
  const s = h.writes[0]?.status
  // 4 (the Deployment, not its ReplicaSet's 2) + 2 + 1 + 3 = 10; 10% of 10 rounds up to 1.
  assert.deepEqual(
    [s?.expectedPods, s?.desiredHealthy, s?.currentHealthy, s?.disruptionsAllowed],
    [10, 9, 5, 0],
  )
})

test('a pod whose controller cannot be found fails safe, with CalculateExpectedPodCountFailed', async () => {
  const h = harness({
    pdbs: [makePDB({ maxUnavailable: 1 }, { disruptionsAllowed: 1, observedGeneration: 2 })],
    pods: readyPods(2),
  })
  await h.controller.reconcile('default/web')
  assert.deepEqual(h.events, [
    'web Warning CalculateExpectedPodCountFailed: Failed to calculate the number of expected pods: found no controllers for pod "web-0"',
  ])
  const s = h.writes[0]?.status
  assert.equal(s?.disruptionsAllowed, 0)
  assert.equal(s?.conditions?.[0]?.reason, 'SyncFailed')
})

test('a resource without a scale subresource fails the sync with its error', async () => {
  const h = harness({
    pdbs: [makePDB({ minAvailable: '50%' })],
    pods: [makePod('w-0', { owner: owner('Widget', 'w', 'example.com/v1') })],
    scale: async () => {
      throw new Error('widgets.example.com does not implement the scale subresource')
    },
  })
  await h.controller.reconcile('default/web')
  assert.match(
    h.events[0] ?? '',
    /CalculateExpectedPodCountFailed: .*does not implement the scale subresource/,
  )
  assert.equal(
    h.writes[0]?.status?.conditions?.[0]?.message,
    'widgets.example.com does not implement the scale subresource',
  )
})

test('a budget without pods says NoPods and allows nothing; an entry of disruptedPods brings a recheck', async () => {
  const empty = harness({ pdbs: [makePDB({ minAvailable: 0 })] })
  await empty.controller.reconcile('default/web')
  assert.deepEqual(empty.events, ['web Normal NoPods: No matching pods found'])
  assert.equal(empty.writes[0]?.status?.disruptionsAllowed, 0)

  const h = harness({
    pdbs: [makePDB({ minAvailable: 1 }, { disruptedPods: { 'web-0': at(start - 60_000) } })],
    pods: readyPods(3),
  })
  assert.deepEqual(await h.controller.reconcile('default/web'), { afterMs: 60_000 })
  const s = h.writes[0]?.status
  assert.deepEqual(
    [s?.currentHealthy, s?.disruptionsAllowed, s?.disruptedPods],
    [2, 1, { 'web-0': at(start - 60_000) }],
  )
})

test('an eviction never carried out expires: NotDeleted on the pod, and it is healthy again', async () => {
  const h = harness({
    pdbs: [makePDB({ minAvailable: 1 }, { disruptedPods: { 'web-0': at(start - 130_000) } })],
    pods: readyPods(2),
  })
  assert.equal(await h.controller.reconcile('default/web'), undefined)
  assert.deepEqual(h.events, [
    "web-0 Warning NotDeleted: Pod was expected by PDB default/web to be deleted but it wasn't",
  ])
  assert.equal(h.writes[0]?.status?.currentHealthy, 2)
  assert.equal(h.writes[0]?.status?.disruptedPods, undefined)
})

test('a pod matched by two budgets brings both back, with a MultiplePodDisruptionBudgets warning', () => {
  const other = {
    ...makePDB({ minAvailable: 1 }),
    metadata: { ...makePDB({}).metadata, name: 'other', uid: 'o' },
  }
  const h = harness({ pdbs: [makePDB({ minAvailable: 1 }), other] })
  h.controller.podHandler().add?.(makePod('web-0'), false)
  assert.equal(h.controller.queue.length, 2)
  assert.match(h.events[0] ?? '', /web-0 Warning MultiplePodDisruptionBudgets: .*"other", "web"/)
})

test('a DisruptionTarget condition left 2 minutes on a pod that is not being deleted is set to False', async () => {
  const stale = makePod('web-0', { disruptionTarget: { since: start - 121_000 } })
  const fresh = makePod('web-1', { disruptionTarget: { since: start - 60_000 } })
  const byKubelet = makePod('web-2', {
    disruptionTarget: { since: start - 600_000, reason: 'TerminationByKubelet' },
  })
  const h = harness({ pods: [stale, fresh, byKubelet] })
  assert.equal(
    await h.controller.stalePods.reconcile('default/web-0', new AbortController().signal),
    undefined,
  )
  assert.deepEqual(await h.controller.stalePods.reconcile('default/web-1', new AbortController().signal), {
    afterMs: 60_000,
  })
  assert.equal(
    await h.controller.stalePods.reconcile('default/web-2', new AbortController().signal),
    undefined,
  )
  assert.deepEqual(
    h.podWrites.map((p) => [
      p.metadata?.name,
      p.status?.conditions?.find((c) => c.type === 'DisruptionTarget'),
    ]),
    [['web-0', { type: 'DisruptionTarget', status: 'False', lastTransitionTime: at(start) }]],
  )
})
