import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node, Pod, Taint } from '../../api/generated/types/core-v1.ts'
import { nodeName } from '../plugins/node-name.ts'
import { nodeResourcesFit } from '../plugins/node-resources-fit.ts'
import { nodeUnschedulable } from '../plugins/node-unschedulable.ts'
import { taintToleration } from '../plugins/taint-toleration.ts'
import { CycleState } from './cycle-state.ts'
import { FitError, fitErrorMessage, Framework, numFeasibleNodesToFind, type Profile } from './framework.ts'
import type { PostFilterPlugin, PostFilterResult } from './interfaces.ts'
import { NodeInfo, podInfo, type PodInfo } from './node-info.ts'
import { error, skip, success, unresolvable, unschedulable } from './status.ts'

const profile: Profile = {
  schedulerName: 'default-scheduler',
  preFilter: [nodeResourcesFit],
  filter: [nodeUnschedulable, nodeName, taintToleration, nodeResourcesFit],
  preScore: [taintToleration],
  score: [
    { plugin: taintToleration, weight: 3 },
    { plugin: nodeResourcesFit, weight: 1 },
  ],
}

function node(name: string, o: { cpu?: string; taints?: Taint[] } = {}): NodeInfo {
  const n: Node = {
    metadata: { name },
    spec: o.taints ? { taints: o.taints } : {},
    status: { allocatable: { cpu: o.cpu ?? '2', memory: '4Gi', pods: '110' } },
  }
  return new NodeInfo(n)
}

const pod = (cpu: string, name = 'p'): Pod => ({
  metadata: { name, uid: `${name}-uid`, namespace: 'default' },
  spec: { containers: [{ name: 'c', resources: { requests: { cpu } } }] },
})

test('the number of nodes searched: all below 100, then a shrinking share, never fewer than 100', () => {
  assert.equal(numFeasibleNodesToFind(50), 50)
  assert.equal(numFeasibleNodesToFind(500), 230) // 50% − 4%
  assert.equal(numFeasibleNodesToFind(5000), 500) // 50% − 40% = 10%
  assert.equal(numFeasibleNodesToFind(100_000), 5000) // at least 5%
  assert.equal(numFeasibleNodesToFind(1000, 1), 100) // never fewer than 100
  assert.equal(numFeasibleNodesToFind(5000, 100), 5000)
})

test('the pod goes to the node that fits and scores best', () => {
  const busy = node('busy', { cpu: '4' })
  busy.addPod(podInfo(pod('3', 'a')))
  const nodes = [
    node('tainted', { taints: [{ key: 'gpu', effect: 'NoSchedule' }] }),
    busy,
    node('free', { cpu: '4' }),
  ]
  const f = new Framework(profile)
  const r = f.schedule(pod('500m'), nodes)
  assert.equal(r.nodeName, 'free')
  assert.equal(r.feasible, 2)
})

test('one framework scores each cycle afresh, however many nodes the last one scored', () => {
  // The score lists are reused from cycle to cycle: fewer nodes after more, then more again.
  const f = new Framework(profile)
  const busy = node('busy', { cpu: '4' })
  busy.addPod(podInfo(pod('3', 'a')))
  const many = [node('n1'), node('n2'), busy, node('free', { cpu: '8' })]
  assert.equal(f.schedule(pod('500m'), many).nodeName, 'free')
  assert.equal(f.schedule(pod('500m'), [busy, node('n3')]).nodeName, 'n3')
  assert.equal(f.schedule(pod('500m'), [node('n4'), busy, node('n5', { cpu: '16' })]).nodeName, 'n5')
})

test('no node fits: a FitError worded as kube-scheduler words it', () => {
  const full = node('full')
  full.addPod(podInfo(pod('2', 'a')))
  const nodes = [
    node('t1', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
    full,
    node('small', { cpu: '1' }),
  ]
  const f = new Framework(profile)
  assert.throws(
    () => f.schedule(pod('1500m'), nodes),
    (err) => {
      assert.ok(err instanceof FitError)
      assert.equal(
        err.message,
        '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu.',
      )
      assert.equal(err.statuses.get('t1')?.plugin, 'TaintToleration')
      return true
    },
  )
})

test('reasons are counted per node and sorted as strings', () => {
  const statuses = new Map([
    ['a', unresolvable("node(s) didn't match the requested node name")],
    ['b', unresolvable("node(s) didn't match the requested node name")],
    ['c', unresolvable('node(s) were unschedulable')],
  ])
  assert.equal(
    fitErrorMessage(3, statuses),
    "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match the requested node name.",
  )
})

test('equal scores are broken at random, and the search rotates over a large cluster', () => {
  const nodes = Array.from({ length: 300 }, (_, i) => node(`n${i}`))
  let call = 0
  const f = new Framework(profile, { random: () => (call++ % 2 === 0 ? 0.99 : 0) })
  const first = f.schedule(pod('100m'), nodes)
  assert.equal(first.evaluated, 144, '48% (50% − 300/125) of 300 feasible nodes are found, then scored')
  const second = f.schedule(pod('100m'), nodes)
  assert.notEqual(first.nodeName, second.nodeName)
  assert.equal(
    Number(second.nodeName.slice(1)) >= 144,
    true,
    'the second search starts where the first stopped',
  )
})

const withPriority = (p: Pod, priority: number, nominatedNodeName?: string): Pod => ({
  ...p,
  spec: { ...(p.spec ?? { containers: [] }), priority },
  ...(nominatedNodeName ? { status: { nominatedNodeName } } : {}),
})

test('nominated pods of higher or equal priority keep the room preemption made for them', () => {
  const nominated = new Map<string, PodInfo[]>()
  const f = new Framework(profile, { nominatedPods: (n) => nominated.get(n) ?? [] })
  const target = node('target', { cpu: '2' })
  const incoming = withPriority(pod('1500m', 'incoming'), 100)
  const state = new CycleState()
  for (const p of profile.preFilter) p.preFilter(state, incoming, [target])
  assert.ok(f.runFiltersWithNominatedPods(state, incoming, target).ok, 'nothing nominated')
  nominated.set('target', [podInfo(withPriority(pod('1', 'waiting'), 100, 'target'))])
  assert.deepEqual(
    f.runFiltersWithNominatedPods(state, incoming, target).reasons,
    ['Insufficient cpu'],
    'an equal-priority nominated pod counts',
  )
  nominated.set('target', [podInfo(withPriority(pod('1', 'waiting'), 99, 'target'))])
  assert.ok(f.runFiltersWithNominatedPods(state, incoming, target).ok, 'a lower one does not')
  nominated.set('target', [podInfo(withPriority(pod('1', 'incoming'), 100, 'target'))])
  assert.ok(f.runFiltersWithNominatedPods(state, incoming, target).ok, 'nor the pod itself')
  assert.equal(target.pods.length, 0, 'the node itself is not changed')
})

test('a pod is scheduled onto its nominated node when it fits there, whatever the scores say', () => {
  const busy = node('busy', { cpu: '4' })
  busy.addPod(podInfo(pod('3', 'a')))
  const nodes = [busy, node('free', { cpu: '4' })]
  const f = new Framework(profile)
  const p = { ...pod('500m'), status: { nominatedNodeName: 'busy' } }
  assert.deepEqual(f.schedule(p, nodes), { nodeName: 'busy', feasible: 1, evaluated: 1 })
  const tooBig = { ...pod('2'), status: { nominatedNodeName: 'busy' } }
  assert.equal(f.schedule(tooBig, nodes).nodeName, 'free', 'where it no longer fits, the others are searched')
})

test('PostFilter: the first success wins; otherwise every plugin’s reasons, and the last nomination asked for', async () => {
  const plugin = (name: string, r: PostFilterResult): PostFilterPlugin => ({
    name,
    postFilter: async () => r,
  })
  const run = (...postFilter: PostFilterPlugin[]) =>
    new Framework({ ...profile, postFilter }).runPostFilter(new CycleState(), pod('1'), new Map())
  assert.deepEqual(
    await run(
      plugin('A', { status: unschedulable('a says no'), nominatedNodeName: '' }),
      plugin('B', { status: success, nominatedNodeName: 'n1' }),
      plugin('C', { status: unschedulable('never asked') }),
    ),
    { status: success, nominatedNodeName: 'n1' },
  )
  const both = await run(
    plugin('A', { status: unschedulable('a says no'), nominatedNodeName: '' }),
    plugin('B', { status: unschedulable('b says no') }),
  )
  assert.deepEqual(
    [both.status.code, both.status.reasons, both.status.plugin, both.nominatedNodeName],
    ['Unschedulable', ['a says no', 'b says no'], 'A', ''],
  )
  const failed = await run(plugin('A', { status: error('boom') }), plugin('B', { status: success }))
  assert.deepEqual([failed.status.code, failed.status.plugin], ['Error', 'A'])
})

test('a plugin whose PreFilter says Skip is not asked to Filter, nor its Score after PreScore says Skip', () => {
  const calls: string[] = []
  const skipping: Profile = {
    schedulerName: 'default-scheduler',
    preFilter: [
      {
        name: 'Skipper',
        preFilter: () => ({ status: skip }),
        addPod: () => {
          calls.push('addPod')
          return success
        },
      },
    ],
    filter: [
      {
        name: 'Skipper',
        filter: () => {
          calls.push('filter')
          return unschedulable('never')
        },
      },
    ],
    preScore: [{ name: 'Skipper', preScore: () => skip }],
    score: [
      {
        plugin: {
          name: 'Skipper',
          score: () => {
            calls.push('score')
            return 0
          },
        },
        weight: 1,
      },
    ],
  }
  const f = new Framework(skipping)
  const state = new CycleState()
  const r = f.schedule(pod('1'), [node('a'), node('b')], state)
  assert.ok(['a', 'b'].includes(r.nodeName))
  assert.deepEqual([...state.skipFilterPlugins, ...state.skipScorePlugins], ['Skipper', 'Skipper'])
  assert.ok(f.runPreFilterAddPod(state.clone(), pod('1'), podInfo(pod('1', 'q')), node('a')).ok)
  assert.deepEqual(calls, [], 'neither Filter, nor AddPod, nor Score ran')
})

test('no nodes at all: kube-scheduler\'s "no nodes available to schedule pods"', () => {
  assert.throws(
    () => new Framework(profile).schedule(pod('1'), []),
    (err) => err instanceof FitError && err.message === 'no nodes available to schedule pods',
  )
})
