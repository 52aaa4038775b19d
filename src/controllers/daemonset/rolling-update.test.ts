import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DaemonSet } from '../../api/generated/types/apps-v1.ts'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { IntOrString } from '../../api/generated/types/intstr.ts'
import {
  allowsSurge,
  isPodUpdated,
  planRollingUpdate,
  rollingUpdateLimits,
  templateGeneration,
  updatedPodsOnNode,
} from './rolling-update.ts'

const now = Date.UTC(2026, 0, 1, 12, 0, 0)

function makeDS(
  o: {
    maxUnavailable?: IntOrString
    maxSurge?: IntOrString
    onDelete?: boolean
    minReadySeconds?: number
    generation?: string
  } = {},
): DaemonSet {
  return {
    metadata: {
      name: 'agent',
      namespace: 'default',
      ...(o.generation ? { annotations: { 'deprecated.daemonset.template.generation': o.generation } } : {}),
    },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { spec: { containers: [{ name: 'c', image: 'a' }] } },
      ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
      updateStrategy: o.onDelete
        ? { type: 'OnDelete' }
        : {
            type: 'RollingUpdate',
            rollingUpdate: {
              ...(o.maxUnavailable !== undefined ? { maxUnavailable: o.maxUnavailable } : {}),
              ...(o.maxSurge !== undefined ? { maxSurge: o.maxSurge } : {}),
            },
          },
    },
  }
}

/** A daemon pod of revision `hash` ("new" is the current one), ready since `readySince` when given. */
function pod(name: string, hash: 'new' | 'old', o: { readySince?: number; deleting?: boolean } = {}): Pod {
  return {
    metadata: {
      name,
      labels: { app: 'agent', 'controller-revision-hash': hash },
      creationTimestamp: '2026-01-01T10:00:00Z',
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T11:59:00Z' } : {}),
    },
    spec: { containers: [] },
    status: {
      phase: 'Running',
      ...(o.readySince !== undefined
        ? {
            conditions: [
              { type: 'Ready', status: 'True', lastTransitionTime: new Date(o.readySince).toISOString() },
            ],
          }
        : {}),
    },
  }
}

const ready = { readySince: now - 60_000 }

/** n nodes each running one old ready pod. */
function oldEverywhere(n: number): Map<string, Pod[]> {
  return new Map(Array.from({ length: n }, (_, i) => [`n${i}`, [pod(`old-${i}`, 'old', ready)]]))
}

const limitCases: {
  name: string
  ds: DaemonSet
  desired: number
  want: { maxSurge: number; maxUnavailable: number }
}[] = [
  {
    name: 'integers are taken as they are',
    ds: makeDS({ maxUnavailable: 2 }),
    desired: 5,
    want: { maxSurge: 0, maxUnavailable: 2 },
  },
  {
    name: 'a percentage of maxUnavailable rounds up',
    ds: makeDS({ maxUnavailable: '50%' }),
    desired: 5,
    want: { maxSurge: 0, maxUnavailable: 3 },
  },
  {
    name: 'a percentage of maxSurge rounds up',
    ds: makeDS({ maxUnavailable: 0, maxSurge: '10%' }),
    desired: 5,
    want: { maxSurge: 1, maxUnavailable: 0 },
  },
  {
    name: 'both zero on a DaemonSet with nodes: one node may be unavailable',
    ds: makeDS({ maxUnavailable: 0, maxSurge: 0 }),
    desired: 3,
    want: { maxSurge: 0, maxUnavailable: 1 },
  },
  {
    name: 'both zero with no nodes stays zero',
    ds: makeDS({ maxUnavailable: 0, maxSurge: 0 }),
    desired: 0,
    want: { maxSurge: 0, maxUnavailable: 0 },
  },
  {
    name: 'OnDelete has no limits but the fencepost',
    ds: makeDS({ onDelete: true }),
    desired: 2,
    want: { maxSurge: 0, maxUnavailable: 1 },
  },
  {
    name: '0% of nodes is zero',
    ds: makeDS({ maxUnavailable: '0%', maxSurge: '0%' }),
    desired: 0,
    want: { maxSurge: 0, maxUnavailable: 0 },
  },
]
for (const c of limitCases)
  test(`limits: ${c.name}`, () => assert.deepEqual(rollingUpdateLimits(c.ds, c.desired), c.want))

test('surge is allowed only when maxSurge scales to something for one node', () => {
  assert.equal(allowsSurge(makeDS({ maxSurge: 1 })), true)
  assert.equal(allowsSurge(makeDS({ maxSurge: '1%' })), true)
  assert.equal(allowsSurge(makeDS({ maxSurge: 0 })), false)
  assert.equal(allowsSurge(makeDS({ onDelete: true })), false)
})

test('a pod is updated when its hash or its template generation is the current one', () => {
  const p = pod('p', 'old')
  assert.equal(isPodUpdated(p, 'new', undefined), false)
  assert.equal(isPodUpdated(p, 'old', undefined), true)
  const withGeneration = { ...p, metadata: { ...p.metadata, labels: { 'pod-template-generation': '3' } } }
  assert.equal(isPodUpdated(withGeneration, 'new', 3), true)
  assert.equal(isPodUpdated(withGeneration, 'new', 2), false)
  assert.equal(templateGeneration(makeDS({ generation: '3' })), 3)
  assert.equal(templateGeneration(makeDS({ generation: 'x' })), undefined)
})

test('a node with two old pods is left to the manage loop; pods being deleted do not count', () => {
  assert.equal(updatedPodsOnNode([pod('a', 'old'), pod('b', 'old')], 'new', undefined), undefined)
  assert.deepEqual(
    updatedPodsOnNode([pod('a', 'old', { deleting: true }), pod('b', 'new')], 'new', undefined),
    {
      newPod: pod('b', 'new'),
    },
  )
})

const planCases: {
  name: string
  ds: DaemonSet
  podsByNode: Map<string, Pod[]>
  shouldRun?: (node: string) => boolean
  want: { deletePods: string[]; createOnNodes: string[] }
}[] = [
  {
    name: 'without surge, maxUnavailable old available pods go at a time',
    ds: makeDS({ maxUnavailable: 2 }),
    podsByNode: oldEverywhere(5),
    want: { deletePods: ['old-0', 'old-1'], createOnNodes: [] },
  },
  {
    name: 'without surge, a percentage of maxUnavailable rounds up',
    ds: makeDS({ maxUnavailable: '50%' }),
    podsByNode: oldEverywhere(5),
    want: { deletePods: ['old-0', 'old-1', 'old-2'], createOnNodes: [] },
  },
  {
    name: 'without surge, new pods not yet available use up the budget',
    ds: makeDS({ maxUnavailable: 2 }),
    podsByNode: new Map([
      ['n0', [pod('new-0', 'new')]],
      ['n1', [pod('new-1', 'new')]],
      ['n2', [pod('old-2', 'old', ready)]],
    ]),
    want: { deletePods: [], createOnNodes: [] },
  },
  {
    name: 'without surge, a node without a pod counts as unavailable',
    ds: makeDS({ maxUnavailable: 2 }),
    podsByNode: new Map([
      ['n0', []],
      ['n1', [pod('old-1', 'old', ready)]],
      ['n2', [pod('old-2', 'old', ready)]],
    ]),
    want: { deletePods: ['old-1'], createOnNodes: [] },
  },
  {
    name: 'without surge, old pods that are not available are all replaced whatever the budget',
    ds: makeDS({ maxUnavailable: 1 }),
    podsByNode: new Map([
      ['n0', [pod('old-0', 'old')]],
      ['n1', [pod('old-1', 'old')]],
      ['n2', [pod('old-2', 'old')]],
    ]),
    want: { deletePods: ['old-0', 'old-1', 'old-2'], createOnNodes: [] },
  },
  {
    name: 'without surge, a ready pod is not available before minReadySeconds',
    ds: makeDS({ maxUnavailable: 1, minReadySeconds: 120 }),
    podsByNode: new Map([
      ['n0', [pod('new-0', 'new', ready)]],
      ['n1', [pod('old-1', 'old', { readySince: now - 600_000 })]],
    ]),
    want: { deletePods: [], createOnNodes: [] },
  },
  {
    name: 'with surge, a new pod starts beside up to maxSurge available old ones',
    ds: makeDS({ maxUnavailable: 0, maxSurge: 2 }),
    podsByNode: oldEverywhere(4),
    want: { deletePods: [], createOnNodes: ['n0', 'n1'] },
  },
  {
    name: 'with surge, an old pod goes once the new one beside it is available',
    ds: makeDS({ maxUnavailable: 0, maxSurge: 1 }),
    podsByNode: new Map([
      ['n0', [pod('old-0', 'old', ready), pod('new-0', 'new', ready)]],
      ['n1', [pod('old-1', 'old', ready)]],
    ]),
    want: { deletePods: ['old-0'], createOnNodes: ['n1'] },
  },
  {
    name: 'with surge, a new pod not yet available holds the surge budget',
    ds: makeDS({ maxUnavailable: 0, maxSurge: 1 }),
    podsByNode: new Map([
      ['n0', [pod('old-0', 'old', ready), pod('new-0', 'new')]],
      ['n1', [pod('old-1', 'old', ready)]],
    ]),
    want: { deletePods: [], createOnNodes: [] },
  },
  {
    name: 'with surge, an old pod that is not available gets its replacement at once',
    ds: makeDS({ maxUnavailable: 0, maxSurge: 1 }),
    podsByNode: new Map([
      ['n0', [pod('old-0', 'old')]],
      ['n1', [pod('old-1', 'old')]],
    ]),
    want: { deletePods: [], createOnNodes: ['n0', 'n1'] },
  },
  {
    name: 'with surge, an unavailable old pod on a node that no longer qualifies is deleted',
    ds: makeDS({ maxUnavailable: 0, maxSurge: 1 }),
    podsByNode: new Map([['n0', [pod('old-0', 'old')]]]),
    shouldRun: () => false,
    want: { deletePods: ['old-0'], createOnNodes: [] },
  },
]

for (const c of planCases) {
  test(`plan: ${c.name}`, () => {
    const shouldRun = c.shouldRun ?? (() => true)
    const desired = [...c.podsByNode.keys()].filter(shouldRun).length
    assert.deepEqual(
      planRollingUpdate({ ds: c.ds, hash: 'new', podsByNode: c.podsByNode, desired, shouldRun, now }),
      c.want,
    )
  })
}
