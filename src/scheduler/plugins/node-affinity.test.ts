import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Affinity, Node, Pod } from '../../api/generated/types/core-v1.ts'
import { CycleState } from '../framework/cycle-state.ts'
import type { NodeScore } from '../framework/interfaces.ts'
import { NodeInfo, podInfo } from '../framework/node-info.ts'
import { balancedAllocation } from './balanced-allocation.ts'
import { nodeAffinity } from './node-affinity.ts'
import { nodePorts } from './node-ports.ts'

const node = (name: string, labels: Record<string, string> = {}, cpu = '4', memory = '8Gi'): NodeInfo =>
  new NodeInfo({
    metadata: { name, labels },
    status: { allocatable: { cpu, memory, pods: '110' } },
  } satisfies Node)

const pod = (
  o: {
    nodeSelector?: Record<string, string>
    affinity?: Affinity
    ports?: number[]
    cpu?: string
    memory?: string
  } = {},
): Pod => ({
  metadata: { name: 'p', uid: 'p-uid' },
  spec: {
    containers: [
      {
        name: 'c',
        resources: {
          requests: { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}) },
        },
        ports: (o.ports ?? []).map((hostPort) => ({ containerPort: hostPort, hostPort })),
      },
    ],
    ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
    ...(o.affinity ? { affinity: o.affinity } : {}),
  },
})

const required = (
  ...terms: NonNullable<
    NonNullable<Affinity['nodeAffinity']>['requiredDuringSchedulingIgnoredDuringExecution']
  >['nodeSelectorTerms']
): Affinity => ({
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
})

const fits = (p: Pod, n: NodeInfo) => nodeAffinity.filter(new CycleState(), p, n).code

const cases: { name: string; pod: Pod; labels: Record<string, string>; want: string }[] = [
  {
    name: 'nodeSelector matches',
    pod: pod({ nodeSelector: { disk: 'ssd' } }),
    labels: { disk: 'ssd' },
    want: 'Success',
  },
  {
    name: 'nodeSelector does not match',
    pod: pod({ nodeSelector: { disk: 'ssd' } }),
    labels: { disk: 'hdd' },
    want: 'UnschedulableAndUnresolvable',
  },
  {
    name: 'In over several values',
    pod: pod({
      affinity: required({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }),
    }),
    labels: { zone: 'b' },
    want: 'Success',
  },
  {
    name: 'NotIn matches a node without the label',
    pod: pod({
      affinity: required({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }),
    }),
    labels: {},
    want: 'Success',
  },
  {
    name: 'terms are ORed, expressions within a term ANDed',
    pod: pod({
      affinity: required(
        {
          matchExpressions: [
            { key: 'zone', operator: 'In', values: ['a'] },
            { key: 'gpu', operator: 'Exists' },
          ],
        },
        { matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge'] }] },
      ),
    }),
    labels: { zone: 'a' },
    want: 'UnschedulableAndUnresolvable',
  },
  {
    name: 'Gt compares integers',
    pod: pod({ affinity: required({ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['8'] }] }) }),
    labels: { cores: '16' },
    want: 'Success',
  },
  {
    name: 'Lt with a value that is not an integer never matches',
    pod: pod({ affinity: required({ matchExpressions: [{ key: 'cores', operator: 'Lt', values: ['8'] }] }) }),
    labels: { cores: 'many' },
    want: 'UnschedulableAndUnresolvable',
  },
  {
    name: 'an empty term matches nothing',
    pod: pod({ affinity: required({}) }),
    labels: { zone: 'a' },
    want: 'UnschedulableAndUnresolvable',
  },
]
for (const c of cases)
  test(`NodeAffinity filter: ${c.name}`, () => assert.equal(fits(c.pod, node('n', c.labels)), c.want))

test('NodeAffinity: required terms that name nodes narrow the search to them', () => {
  const p = pod({
    affinity: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }),
  })
  const r = nodeAffinity.preFilter(new CycleState(), p, [])
  assert.deepEqual([...(r.nodeNames ?? [])], ['n2'])
  assert.equal(fits(p, node('n2')), 'Success')
  assert.equal(fits(p, node('n1')), 'UnschedulableAndUnresolvable')
})

test('NodeAffinity score: preferred terms add their weights, scaled so the best gets 100', () => {
  const p = pod({
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 80,
            preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] },
          },
          { weight: 20, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
        ],
      },
    },
  })
  const nodes = [node('both', { disk: 'ssd', zone: 'a' }), node('ssd', { disk: 'ssd' }), node('none')]
  const scores: NodeScore[] = nodes.map((n) => ({
    name: n.name,
    score: nodeAffinity.score(new CycleState(), p, n),
  }))
  nodeAffinity.normalizeScores?.(new CycleState(), p, scores)
  assert.deepEqual(
    scores.map((s) => s.score),
    [100, 80, 0],
  )
})

test('NodePorts: a host port in use on the node does not fit', () => {
  const n = node('n')
  n.addPod(podInfo({ ...pod({ ports: [8080] }), metadata: { name: 'a', uid: 'a-uid' } }))
  assert.equal(
    nodePorts.filter(new CycleState(), pod({ ports: [8080] }), n).reasons[0],
    "node(s) didn't have free ports for the requested pod ports",
  )
  assert.equal(nodePorts.filter(new CycleState(), pod({ ports: [9090] }), n).code, 'Success')
  assert.equal(nodePorts.filter(new CycleState(), pod(), n).code, 'Success')
})

test('NodePorts: PreFilter skips a pod without host ports and keeps the ports of one with them', () => {
  const n = node('n')
  n.addPod(podInfo({ ...pod({ ports: [8080] }), metadata: { name: 'a', uid: 'a-uid' } }))
  assert.equal(nodePorts.preFilter(new CycleState(), pod(), [n]).status.code, 'Skip')
  // Filter reads what PreFilter kept for the cycle, not the pod it is given again.
  const state = new CycleState()
  assert.equal(nodePorts.preFilter(state, pod({ ports: [8080] }), [n]).status.code, 'Success')
  assert.equal(nodePorts.filter(state, pod({ ports: [9090] }), n).code, 'Unschedulable')
})

test('BalancedAllocation: a node used evenly scores higher than one used lopsidedly', () => {
  const even = node('even')
  const lopsided = node('lopsided')
  lopsided.addPod(podInfo({ ...pod({ cpu: '3' }), metadata: { name: 'a', uid: 'a-uid' } }))
  const p = pod({ cpu: '1', memory: '2Gi' })
  const state = new CycleState()
  balancedAllocation.preScore(state, p, [even, lopsided])
  // even: cpu 1/4, memory 2/8 → 100; lopsided: cpu 4/4, memory 2/8 → 1 − 0.375 → 62.
  assert.deepEqual(
    [balancedAllocation.score(state, p, even), balancedAllocation.score(state, p, lopsided)],
    [100, 62],
  )
})
