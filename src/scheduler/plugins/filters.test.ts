import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node, Pod, Taint, Toleration } from '../../api/generated/types/core-v1.ts'
import { CycleState } from '../framework/cycle-state.ts'
import type { NodeScore } from '../framework/interfaces.ts'
import { NodeInfo, podInfo } from '../framework/node-info.ts'
import type { Status } from '../framework/status.ts'
import { nodeName } from './node-name.ts'
import { nodeResourcesFit } from './node-resources-fit.ts'
import { nodeUnschedulable } from './node-unschedulable.ts'
import { taintToleration } from './taint-toleration.ts'

function makeNode(
  o: {
    name?: string
    cpu?: string
    memory?: string
    pods?: string
    taints?: Taint[]
    unschedulable?: boolean
  } = {},
): Node {
  return {
    metadata: { name: o.name ?? 'n1' },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { allocatable: { cpu: o.cpu ?? '2', memory: o.memory ?? '4Gi', pods: o.pods ?? '110' } },
  }
}

function makePod(
  o: { cpu?: string; memory?: string; nodeName?: string; tolerations?: Toleration[]; name?: string } = {},
): Pod {
  const requests = { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}) }
  return {
    metadata: { name: o.name ?? 'p', uid: `${o.name ?? 'p'}-uid`, namespace: 'default' },
    spec: {
      containers: [{ name: 'c', resources: { requests } }],
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
    },
  }
}

const summary = (s: Status) => [s.code, ...s.reasons].join(': ')

test('NodeName', () => {
  const node = new NodeInfo(makeNode({ name: 'n1' }))
  assert.equal(summary(nodeName.filter(new CycleState(), makePod(), node)), 'Success')
  assert.equal(summary(nodeName.filter(new CycleState(), makePod({ nodeName: 'n1' }), node)), 'Success')
  assert.equal(
    summary(nodeName.filter(new CycleState(), makePod({ nodeName: 'n2' }), node)),
    "UnschedulableAndUnresolvable: node(s) didn't match the requested node name",
  )
})

test('NodeUnschedulable: a cordoned node takes only pods that tolerate node.kubernetes.io/unschedulable', () => {
  const node = new NodeInfo(makeNode({ unschedulable: true }))
  assert.equal(
    summary(nodeUnschedulable.filter(new CycleState(), makePod(), node)),
    'UnschedulableAndUnresolvable: node(s) were unschedulable',
  )
  const tolerant = makePod({
    tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
  })
  assert.equal(summary(nodeUnschedulable.filter(new CycleState(), tolerant, node)), 'Success')
})

const filterCases: { name: string; taints: Taint[]; tolerations?: Toleration[]; want: string }[] = [
  { name: 'no taints', taints: [], want: 'Success' },
  {
    name: 'a NoSchedule taint without a toleration',
    taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
    want: 'UnschedulableAndUnresolvable: node(s) had untolerated taint {dedicated: gpu}',
  },
  {
    name: 'a NoSchedule taint with an Equal toleration',
    taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
    want: 'Success',
  },
  {
    name: 'a toleration for another value does not help',
    taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ssd' }],
    want: 'UnschedulableAndUnresolvable: node(s) had untolerated taint {dedicated: gpu}',
  },
  {
    name: 'a PreferNoSchedule taint never filters',
    taints: [{ key: 'soft', effect: 'PreferNoSchedule' }],
    want: 'Success',
  },
  {
    name: 'a NoExecute taint filters too',
    taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }],
    want: 'UnschedulableAndUnresolvable: node(s) had untolerated taint {node.kubernetes.io/unreachable: }',
  },
]
for (const k of filterCases) {
  test(`TaintToleration filter: ${k.name}`, () => {
    const node = new NodeInfo(makeNode({ taints: k.taints }))
    const pod = makePod(k.tolerations ? { tolerations: k.tolerations } : {})
    assert.equal(summary(taintToleration.filter(new CycleState(), pod, node)), k.want)
  })
}

test('TaintToleration score: fewer intolerable PreferNoSchedule taints score higher', () => {
  const soft = (key: string): Taint => ({ key, effect: 'PreferNoSchedule' })
  const nodes = [
    new NodeInfo(makeNode({ name: 'clean' })),
    new NodeInfo(makeNode({ name: 'one', taints: [soft('a')] })),
    new NodeInfo(makeNode({ name: 'two', taints: [soft('a'), soft('b')] })),
    new NodeInfo(makeNode({ name: 'tolerated', taints: [soft('c')] })),
  ]
  const pod = makePod({ tolerations: [{ key: 'c', operator: 'Exists' }] })
  const state = new CycleState()
  taintToleration.preScore(state, pod, nodes)
  const scores: NodeScore[] = nodes.map((n) => ({
    name: n.name,
    score: taintToleration.score(state, pod, n),
  }))
  taintToleration.normalizeScores?.(state, pod, scores)
  assert.deepEqual(
    scores.map((s) => [s.name, s.score]),
    [
      ['clean', 100],
      ['one', 50],
      ['two', 0],
      ['tolerated', 100],
    ],
  )
})

test('NodeResourcesFit filter: every shortfall is a reason', () => {
  const node = new NodeInfo(makeNode({ cpu: '2', memory: '4Gi', pods: '2' }))
  node.addPod(podInfo(makePod({ name: 'a', cpu: '1500m', memory: '1Gi' })))
  const run = (pod: Pod) => {
    const state = new CycleState()
    nodeResourcesFit.preFilter(state, pod, [node])
    return summary(nodeResourcesFit.filter(state, pod, node))
  }
  assert.equal(run(makePod({ cpu: '500m', memory: '3Gi' })), 'Success')
  assert.equal(run(makePod({ cpu: '600m' })), 'Unschedulable: Insufficient cpu')
  assert.equal(
    run(makePod({ cpu: '1', memory: '4Gi' })),
    'Unschedulable: Insufficient cpu: Insufficient memory',
  )
  node.addPod(podInfo(makePod({ name: 'b' })))
  assert.equal(run(makePod()), 'Unschedulable: Too many pods')
})

test('NodeResourcesFit score: LeastAllocated, with defaults for pods that request nothing', () => {
  const empty = new NodeInfo(makeNode({ name: 'empty', cpu: '4', memory: '8Gi' }))
  const busy = new NodeInfo(makeNode({ name: 'busy', cpu: '4', memory: '8Gi' }))
  busy.addPod(podInfo(makePod({ name: 'a', cpu: '2', memory: '4Gi' })))
  const pod = makePod({ cpu: '1', memory: '2Gi' })
  const state = new CycleState()
  nodeResourcesFit.preFilter(state, pod, [empty, busy])
  // empty: cpu (4-1)/4 = 75, memory (8-2)/8 = 75; busy: cpu 25, memory 25.
  assert.deepEqual(
    [nodeResourcesFit.score(state, pod, empty), nodeResourcesFit.score(state, pod, busy)],
    [75, 25],
  )
  const bare = makePod({ name: 'bare' })
  const s2 = new CycleState()
  nodeResourcesFit.preFilter(s2, bare, [empty])
  // 100m of 4000m and 200Mi of 8Gi: floor(97.5) = 97 and floor(97.56) = 97.
  assert.equal(nodeResourcesFit.score(s2, bare, empty), 97)
})
