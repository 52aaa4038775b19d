import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { CycleState } from '../framework/cycle-state.ts'
import { NodeInfo, podInfo } from '../framework/node-info.ts'
import { newBalancedAllocation } from './balanced-allocation.ts'
import {
  brokenLinear,
  fitArgs,
  newNodeResourcesFit,
  type NodeResourcesFitArgs,
} from './node-resources-fit.ts'

const node = (name: string, allocatable: Record<string, string>): NodeInfo =>
  new NodeInfo({ metadata: { name }, status: { allocatable: { pods: '110', ...allocatable } } })

const pod = (requests: Record<string, string>, name = 'p'): Pod => ({
  metadata: { name, uid: name, namespace: 'default' },
  spec: { containers: [{ name: 'c', resources: { requests } }] },
})

function scores(args: NodeResourcesFitArgs, p: Pod, nodes: NodeInfo[]): number[] {
  const plugin = newNodeResourcesFit(args)
  const state = new CycleState()
  plugin.preFilter(state, p, nodes)
  plugin.preScore(state, p, nodes)
  return nodes.map((n) => plugin.score(state, p, n))
}

// Kubernetes' cases: two empty nodes of 4000m/10000 and 6000m/10000, a pod of 3000m/5000.
const sized = () => [node('n1', { cpu: '4', memory: '10000' }), node('n2', { cpu: '6', memory: '10000' })]
const asks = pod({ cpu: '3', memory: '5000' })

test('LeastAllocated: the free share of each resource, averaged by weight in integers', () => {
  assert.deepEqual(scores({}, asks, sized()), [37, 50]) // (25+50)/2, (50+50)/2
  const weighted = {
    scoringStrategy: {
      resources: [
        { name: 'cpu', weight: 2 },
        { name: 'memory', weight: 1 },
      ],
    },
  }
  assert.deepEqual(scores(weighted, asks, sized()), [33, 50]) // (25·2+50)/3
})

test('MostAllocated: the used share, so the fuller node wins (bin packing)', () => {
  const most = { scoringStrategy: { type: 'MostAllocated' as const } }
  assert.deepEqual(scores(most, asks, sized()), [62, 50]) // (75+50)/2
  const over = pod({ cpu: '5', memory: '5000' })
  assert.deepEqual(scores(most, over, sized()), [75, 66], 'requests over capacity count as full')
})

test('RequestedToCapacityRatio: a shape over utilization, scaled from 0..10 to 0..100, rounded', () => {
  const f = brokenLinear([
    { utilization: 0, score: 0 },
    { utilization: 50, score: 50 },
    { utilization: 100, score: 100 },
  ])
  assert.deepEqual([f(0), f(25), f(50), f(80), f(120)], [0, 25, 50, 80, 100])
  const spread = {
    scoringStrategy: {
      type: 'RequestedToCapacityRatio' as const,
      requestedToCapacityRatio: {
        shape: [
          { utilization: 0, score: 10 },
          { utilization: 100, score: 0 },
        ],
      },
    },
  }
  assert.deepEqual(scores(spread, asks, sized()), [38, 50]) // round((25+50)/2)
})

test('an extended resource is scored only for pods that request it, and only on nodes that have it', () => {
  const gpu = {
    scoringStrategy: {
      resources: [
        { name: 'cpu', weight: 1 },
        { name: 'nvidia.com/gpu', weight: 1 },
      ],
    },
  }
  const nodes = [
    node('plain', { cpu: '4', memory: '1Gi' }),
    node('gpu', { cpu: '4', memory: '1Gi', 'nvidia.com/gpu': '4' }),
  ]
  assert.deepEqual(scores(gpu, pod({ cpu: '2' }), nodes), [50, 50])
  assert.deepEqual(scores(gpu, pod({ cpu: '2', 'nvidia.com/gpu': '1' }), nodes), [50, 62]) // (50+75)/2
})

test('ignoredResources and ignoredResourceGroups leave extended resources out of the fit', () => {
  const p = pod({ cpu: '1', 'example.com/foo': '1', 'other.io/bar': '1' })
  const n = node('n', { cpu: '4', memory: '1Gi' })
  const fit = (args: NodeResourcesFitArgs) => {
    const plugin = newNodeResourcesFit(args)
    const state = new CycleState()
    plugin.preFilter(state, p, [n])
    return plugin.filter(state, p, n).reasons
  }
  assert.deepEqual(fit({}), ['Insufficient example.com/foo', 'Insufficient other.io/bar'])
  assert.deepEqual(fit({ ignoredResources: ['example.com/foo'] }), ['Insufficient other.io/bar'])
  assert.deepEqual(fit({ ignoredResourceGroups: ['other.io'] }), ['Insufficient example.com/foo'])
})

test('BalancedAllocation: 1 − the standard deviation of the used shares; best-effort pods are not scored', () => {
  const ba = newBalancedAllocation()
  const n = node('n', { cpu: '4', memory: '10000' })
  n.addPod(podInfo(pod({ cpu: '1', memory: '1000' }, 'a')))
  const state = new CycleState()
  const p = pod({ cpu: '1', memory: '4000' })
  ba.preScore(state, p, [n])
  assert.equal(ba.score(state, p, n), 100) // cpu 2000/4000 and memory 5000/10000: both half used
  const lopsided = pod({ cpu: '3', memory: '1000' })
  const s2 = new CycleState()
  ba.preScore(s2, lopsided, [n])
  assert.equal(ba.score(s2, lopsided, n), 60) // cpu 4000/4000 = 1, memory 2000/10000 = 0.2: std 0.4
  const best = new CycleState()
  const empty = pod({})
  ba.preScore(best, empty, [n])
  assert.equal(ba.score(best, empty, n), 0)
  const three = newBalancedAllocation({
    resources: [
      { name: 'cpu', weight: 1 },
      { name: 'memory', weight: 1 },
      { name: 'ephemeral-storage', weight: 1 },
    ],
  })
  const disk = node('d', { cpu: '4', memory: '10000', 'ephemeral-storage': '10000' })
  const s3 = new CycleState()
  const q = pod({ cpu: '2', memory: '2000', 'ephemeral-storage': '8000' })
  three.preScore(s3, q, [disk])
  // shares 0.5, 0.2, 0.8: mean 0.5, std √(0.06/3) ≈ 0.2449 → 75
  assert.equal(three.score(s3, q, disk), 75)
})

test('bad args are refused naming the field', () => {
  assert.throws(
    () => fitArgs({ scoringStrategy: { type: 'Nope' } }),
    /scoringStrategy.type: Unsupported value: "Nope"/,
  )
  assert.throws(
    () => fitArgs({ scoringStrategy: { resources: [{ name: 'cpu', weight: 0 }] } }),
    /resources\[0\].weight: Invalid value: 0/,
  )
  assert.throws(
    () =>
      fitArgs({
        scoringStrategy: {
          type: 'RequestedToCapacityRatio',
          requestedToCapacityRatio: {
            shape: [
              { utilization: 50, score: 1 },
              { utilization: 10, score: 2 },
            ],
          },
        },
      }),
    /shape\[1\].utilization: Invalid value: 10: utilization values must be sorted/,
  )
})
