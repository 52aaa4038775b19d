import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Node, Pod } from '../../api/generated/types/core-v1.ts'
import type { PodDisruptionBudget } from '../../api/generated/types/policy-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import { ApiStatusError } from '../../client/index.ts'
import { CycleState } from '../framework/cycle-state.ts'
import { Framework, type Profile } from '../framework/framework.ts'
import type { Handle, PreFilterPlugin } from '../framework/interfaces.ts'
import { NodeInfo, podInfo, type PodInfo } from '../framework/node-info.ts'
import { error, success, unresolvable, unschedulable, type Status } from '../framework/status.ts'
import {
  DefaultPreemption,
  defaultPreemption,
  pickOneNodeForPreemption,
  preemptionArgsOf,
  type DefaultPreemptionArgs,
} from './default-preemption.ts'
import { nodeResourcesFit } from './node-resources-fit.ts'

// Priorities and sizes as upstream's tests name them.
const neg = -100
const low = 0
const mid = 100
const high = 1000
const veryHigh = 10_000
const small = '100m'
const medium = '200m'
const large = '300m'
const veryLarge = '500m'

interface PodOptions {
  priority?: number
  cpu?: string
  node?: string
  startTime?: number
  labels?: Record<string, string>
  nominated?: string
  preemptionPolicy?: string
  terminating?: 'preempted' | 'deleted'
}

function makePod(name: string, o: PodOptions = {}): Pod {
  const pod: Pod = {
    metadata: {
      name,
      uid: name,
      namespace: 'default',
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      containers: [{ name: 'c', resources: { requests: o.cpu ? { cpu: o.cpu } : {} } }],
      priority: o.priority ?? low,
      ...(o.node ? { nodeName: o.node } : {}),
      ...(o.preemptionPolicy ? { preemptionPolicy: o.preemptionPolicy } : {}),
    },
    status: {
      ...(o.startTime !== undefined ? { startTime: new Date(o.startTime * 1000).toISOString() } : {}),
      ...(o.nominated ? { nominatedNodeName: o.nominated } : {}),
      ...(o.terminating === 'preempted'
        ? {
            conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }],
          }
        : {}),
    },
  }
  return pod
}

/** Nodes hold 500m of CPU (upstream's veryLargeRes); `pods` limits how many pods fit. */
function makeNode(name: string, o: { cpu?: string; pods?: string; labels?: Record<string, string> } = {}) {
  const node: Node = {
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    status: { allocatable: { cpu: o.cpu ?? veryLarge, memory: '1Gi', pods: o.pods ?? '110' } },
  }
  return node
}

/** A PreFilter plugin whose PreFilterExtensions fail on nodes labelled error=true (upstream's TestPlugin). */
const failingExtensions: PreFilterPlugin = {
  name: 'test-plugin',
  preFilter: () => ({ status: success }),
  addPod: (_s, pod, _p, node) =>
    node.node.metadata?.labels?.error === 'true'
      ? error(`failed to add pod: ${pod.metadata?.name}`)
      : success,
  removePod: (_s, pod, _p, node) =>
    node.node.metadata?.labels?.error === 'true'
      ? error(`failed to remove pod: ${pod.metadata?.name}`)
      : success,
}

const profile: Profile = {
  schedulerName: 'default-scheduler',
  preFilter: [nodeResourcesFit, failingExtensions],
  filter: [nodeResourcesFit],
  preScore: [],
  score: [],
}

interface Writes {
  calls: string[]
  /** Victims whose deletion answers 404. */
  gone: Set<string>
}

interface World {
  nodes: NodeInfo[]
  handle: Handle
  writes: Writes
  framework: Framework
}

function world(
  nodes: readonly Node[],
  pods: readonly Pod[],
  o: { pdbs?: PodDisruptionBudget[]; nominated?: readonly Pod[] } = {},
): World {
  const infos = nodes.map((n) => new NodeInfo(n))
  for (const p of pods) infos.find((n) => n.name === p.spec?.nodeName)?.addPod(podInfo(p))
  const nominated = new Map<string, PodInfo[]>()
  for (const p of o.nominated ?? []) {
    const node = p.status?.nominatedNodeName ?? ''
    nominated.set(node, [...(nominated.get(node) ?? []), podInfo(p)])
  }
  const writes: Writes = { calls: [], gone: new Set() }
  const handle: Handle = {
    snapshot: {
      nodeList: () => infos,
      node: (name) => infos.find((n) => n.name === name),
      nodesWithImage: () => 0,
    },
    namespaceLabels: () => undefined,
    defaultSelector: () => undefined,
    persistentVolumeClaim: () => undefined,
    pdbs: (ns) => (o.pdbs ?? []).filter((p) => (p.metadata?.namespace ?? '') === ns),
    nominatedPods: (node) => nominated.get(node) ?? [],
    writes: {
      bind: async () => undefined,
      deleteVictim: async (victim, preemptor, node) => {
        const name = victim.metadata?.name ?? ''
        if (writes.gone.has(name)) throw new ApiStatusError({ reason: 'NotFound', message: 'gone' }, 404)
        writes.calls.push(`delete ${name} for ${preemptor.metadata?.name ?? ''} on ${node}`)
      },
      setNominatedNodeName: async (pod, node) => {
        writes.calls.push(`nominate ${pod.metadata?.name ?? ''} to ${node ?? '(none)'}`)
      },
    },
    clock: new FakeClock(100_000),
    activate: (pod) => writes.calls.push(`activate ${pod.metadata?.name ?? ''}`),
  }
  return {
    nodes: infos,
    handle,
    writes,
    framework: new Framework(profile, { nominatedPods: (node) => handle.nominatedPods(node) }),
  }
}

function preFiltered(f: Framework, pod: Pod): CycleState {
  const state = new CycleState()
  for (const p of f.profile.preFilter) p.preFilter(state, pod, [])
  return state
}

const pdb = (
  name: string,
  matchLabels: Record<string, string>,
  status: PodDisruptionBudget['status'] = {},
): PodDisruptionBudget => ({
  metadata: { name, namespace: 'default' },
  spec: { selector: { matchLabels } },
  status: { disruptionsAllowed: 0, ...status },
})

const statusesOf = (entries: Record<string, Status>) => new Map(Object.entries(entries))
const rejected = unschedulable()

describe('DefaultPreemption PostFilter', () => {
  const cases: {
    name: string
    pod: Pod
    pods: Pod[]
    nodes: Node[]
    pdbs?: PodDisruptionBudget[]
    statuses: Map<string, Status>
    want: { code: string; message?: string; nominated?: string }
  }[] = [
    {
      name: 'a pod of higher priority is nominated where a lower-priority pod makes room',
      pod: makePod('p', { priority: high }),
      pods: [makePod('p1', { node: 'node1' })],
      nodes: [makeNode('node1', { pods: '1' })],
      statuses: statusesOf({ node1: rejected }),
      want: { code: 'Success', nominated: 'node1' },
    },
    {
      name: 'a pod of the same priority preempts nothing and withdraws its nomination',
      pod: makePod('p'),
      pods: [makePod('p1', { node: 'node1' })],
      nodes: [makeNode('node1', { pods: '1' })],
      statuses: statusesOf({ node1: rejected }),
      want: {
        code: 'Unschedulable',
        message: 'preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
        nominated: '',
      },
    },
    {
      name: 'a node rejected as unresolvable is not tried',
      pod: makePod('p', { priority: high }),
      pods: [makePod('p1', { node: 'node1' })],
      nodes: [makeNode('node1', { pods: '1' })],
      statuses: statusesOf({ node1: unresolvable() }),
      want: {
        code: 'Unschedulable',
        message: 'preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
        nominated: '',
      },
    },
    {
      name: 'a node without a status counts as unresolvable',
      pod: makePod('p', { priority: high }),
      pods: [makePod('p1', { node: 'node1' })],
      nodes: [makeNode('node1', { pods: '1' })],
      statuses: statusesOf({}),
      want: {
        code: 'Unschedulable',
        message: 'preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
        nominated: '',
      },
    },
    {
      name: 'only the node whose pod has lower priority is a candidate',
      pod: makePod('p', { priority: mid }),
      pods: [
        makePod('p1', { priority: high, node: 'node1' }),
        makePod('p2', { priority: low, node: 'node2' }),
      ],
      nodes: [makeNode('node1', { pods: '1' }), makeNode('node2', { pods: '1' })],
      statuses: statusesOf({ node1: rejected, node2: rejected }),
      want: { code: 'Success', nominated: 'node2' },
    },
    {
      name: 'with a PDB violation on each node, the node whose highest victim has the lower priority wins',
      pod: makePod('p', { priority: veryHigh }),
      pods: [
        makePod('p1', { priority: high, node: 'node1', labels: { pdb: 'lenient' } }),
        makePod('p2', { priority: low, node: 'node1', labels: { pdb: 'strict' } }),
        makePod('p3', { priority: mid, node: 'node2', labels: { pdb: 'strict' } }),
      ],
      pdbs: [
        pdb('strict', { pdb: 'strict' }),
        pdb('lenient', { pdb: 'lenient' }, { disruptionsAllowed: 2 ** 31 - 1 }),
      ],
      nodes: [makeNode('node1', { pods: '1' }), makeNode('node2', { pods: '1' })],
      statuses: statusesOf({ node1: rejected, node2: rejected }),
      want: { code: 'Success', nominated: 'node2' },
    },
    {
      name: 'no node has room even without its lower-priority pods',
      pod: makePod('p', { priority: high, cpu: large }),
      pods: [makePod('p1', { node: 'node1' }), makePod('p2', { node: 'node2' })],
      nodes: [makeNode('node1', { cpu: '200m' }), makeNode('node2', { cpu: '200m' })],
      statuses: statusesOf({ node1: rejected, node2: rejected }),
      want: {
        code: 'Unschedulable',
        message: 'preemption: 0/2 nodes are available: 2 Insufficient cpu.',
        nominated: '',
      },
    },
    {
      name: 'each node that cannot be helped says why',
      pod: makePod('p', { priority: high, cpu: large }),
      pods: [
        makePod('p1', { priority: high, node: 'node1' }),
        makePod('p2', { node: 'node2' }),
        makePod('p3', { priority: high, node: 'node3' }),
      ],
      nodes: [
        makeNode('node1', { pods: '1' }),
        makeNode('node2', { cpu: '200m' }),
        makeNode('node3', { pods: '1' }),
      ],
      statuses: statusesOf({ node1: rejected, node2: rejected, node3: rejected }),
      want: {
        code: 'Unschedulable',
        message:
          'preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 No preemption victims found for incoming pod.',
        nominated: '',
      },
    },
    {
      name: 'nodes rejected as unresolvable and nodes not evaluated are counted together',
      pod: makePod('p', { priority: high, cpu: large }),
      pods: [makePod('p1', { node: 'node1' }), makePod('p2', { node: 'node2' })],
      nodes: ['node1', 'node2', 'node3', 'node4'].map((n) => makeNode(n, { cpu: '200m' })),
      statuses: statusesOf({ node1: rejected, node2: rejected, node4: unresolvable() }),
      want: {
        code: 'Unschedulable',
        message:
          'preemption: 0/4 nodes are available: 2 Insufficient cpu, 2 Preemption is not helpful for scheduling.',
        nominated: '',
      },
    },
    {
      name: 'a PreFilterExtension that fails on the only node is an error',
      pod: makePod('p', { priority: high, cpu: large }),
      pods: [makePod('p1', { node: 'node1' })],
      nodes: [makeNode('node1', { cpu: large, labels: { error: 'true' } })],
      statuses: statusesOf({ node1: rejected }),
      want: {
        code: 'Error',
        message: 'preemption: running RemovePod on PreFilter plugin "test-plugin": failed to remove pod: p',
      },
    },
    {
      name: 'a PreFilterExtension that fails on one node leaves the other as a candidate',
      pod: makePod('p', { priority: high, cpu: large }),
      pods: [makePod('p1', { node: 'node1' }), makePod('p2', { node: 'node2', cpu: medium })],
      nodes: [
        makeNode('node1', { cpu: large, labels: { error: 'true' } }),
        makeNode('node2', { cpu: large }),
      ],
      statuses: statusesOf({ node1: rejected, node2: rejected }),
      want: { code: 'Success', nominated: 'node2' },
    },
    {
      name: 'a pod with preemptionPolicy Never does not preempt',
      pod: makePod('p', { priority: high, cpu: veryLarge, preemptionPolicy: 'Never' }),
      pods: [makePod('p1', { node: 'node1', cpu: small })],
      nodes: [makeNode('node1')],
      statuses: statusesOf({ node1: rejected }),
      want: { code: 'Unschedulable', message: 'preemption: not eligible due to preemptionPolicy=Never.' },
    },
  ]
  for (const c of cases) {
    test(c.name, async () => {
      const w = world(c.nodes, c.pods, c.pdbs ? { pdbs: c.pdbs } : {})
      const plugin = defaultPreemption(w.handle, undefined)
      const r = await plugin.postFilter(preFiltered(w.framework, c.pod), c.pod, c.statuses, w.framework)
      assert.deepEqual(
        {
          code: r.status.code,
          message: r.status.reasons.join(', ') || undefined,
          nominated: r.nominatedNodeName,
        },
        { message: undefined, nominated: undefined, ...c.want },
      )
      if (r.status.code !== 'Success') assert.ok(!w.writes.calls.some((c) => c.startsWith('delete')))
    })
  }
})

describe('DefaultPreemption victims per node (dry run)', () => {
  const cases: {
    name: string
    pod: Pod
    pods: Pod[]
    nodes?: string[]
    pdbs?: PodDisruptionBudget[]
    nominated?: Pod[]
    args?: DefaultPreemptionArgs
    offset?: number
    want: { node: string; victims: string[]; pdbViolations?: number }[]
    wantStatuses?: Record<string, string>
  }[] = [
    {
      name: 'the pod fits on both nodes once their lower-priority pod is gone',
      pod: makePod('p', { priority: high, cpu: large }),
      pods: [
        makePod('p1', { priority: mid, cpu: large, node: 'node1' }),
        makePod('p2', { priority: mid, cpu: large, node: 'node2' }),
      ],
      want: [
        { node: 'node1', victims: ['p1'] },
        { node: 'node2', victims: ['p2'] },
      ],
    },
    {
      name: 'pods of higher priority are never victims',
      pod: makePod('p', { priority: low, cpu: large }),
      pods: [
        makePod('p1', { priority: mid, cpu: large, node: 'node1' }),
        makePod('p2', { priority: mid, cpu: large, node: 'node2' }),
      ],
      want: [],
      wantStatuses: {
        node1: 'UnschedulableAndUnresolvable: No preemption victims found for incoming pod',
        node2: 'UnschedulableAndUnresolvable: No preemption victims found for incoming pod',
      },
    },
    {
      name: 'the medium-priority pod is preempted, the small lower-priority one stays',
      pod: makePod('p', { priority: high, cpu: large }),
      pods: [
        makePod('p1.1', { priority: low, cpu: small, node: 'node1' }),
        makePod('p1.2', { priority: mid, cpu: large, node: 'node1' }),
        makePod('p2', { priority: mid, cpu: large, node: 'node2' }),
      ],
      want: [
        { node: 'node1', victims: ['p1.2'] },
        { node: 'node2', victims: ['p2'] },
      ],
    },
    {
      name: 'pods of mixed priorities: the more important ones are kept when there is room',
      pod: makePod('p', { priority: high, cpu: large }),
      pods: [
        makePod('p1.1', { priority: mid, cpu: small, node: 'node1' }),
        makePod('p1.2', { priority: low, cpu: small, node: 'node1' }),
        makePod('p1.3', { priority: mid, cpu: medium, node: 'node1' }),
        makePod('p1.4', { priority: high, cpu: small, node: 'node1' }),
        makePod('p2', { priority: high, cpu: large, node: 'node2' }),
      ],
      want: [{ node: 'node1', victims: ['p1.2', 'p1.3'] }],
    },
    {
      name: 'among equal priorities the pod that started later is the victim',
      pod: makePod('p', { priority: high, cpu: large }),
      pods: [
        makePod('p1.1', { priority: low, cpu: small, node: 'node1', startTime: 5 }),
        makePod('p1.2', { priority: low, cpu: small, node: 'node1', startTime: 4 }),
        makePod('p1.3', { priority: mid, cpu: medium, node: 'node1', startTime: 3 }),
        makePod('p1.4', { priority: high, cpu: small, node: 'node1', startTime: 2 }),
        makePod('p2', { priority: high, cpu: large, node: 'node2', startTime: 1 }),
      ],
      want: [{ node: 'node1', victims: ['p1.1', 'p1.3'] }],
    },
    {
      name: 'two victims of one budget that allows one disruption: one violation',
      pod: makePod('p', { priority: high, cpu: veryLarge }),
      nodes: ['node1'],
      pods: [
        makePod('p1.1', { priority: mid, cpu: medium, node: 'node1', labels: { app: 'foo' } }),
        makePod('p1.2', { priority: mid, cpu: medium, node: 'node1', labels: { app: 'foo' } }),
      ],
      pdbs: [pdb('foo', { app: 'foo' }, { disruptionsAllowed: 1 })],
      want: [{ node: 'node1', victims: ['p1.1', 'p1.2'], pdbViolations: 1 }],
    },
    {
      name: 'a pod the budget already counts as disrupted costs nothing more',
      pod: makePod('p', { priority: high, cpu: veryLarge }),
      nodes: ['node1'],
      pods: [
        makePod('p1.1', { priority: mid, cpu: medium, node: 'node1', labels: { app: 'foo' } }),
        makePod('p1.2', { priority: mid, cpu: medium, node: 'node1', labels: { app: 'foo' } }),
      ],
      pdbs: [
        pdb(
          'foo',
          { app: 'foo' },
          { disruptionsAllowed: 1, disruptedPods: { 'p1.2': '2026-01-01T00:00:00Z' } },
        ),
      ],
      want: [{ node: 'node1', victims: ['p1.1', 'p1.2'], pdbViolations: 0 }],
    },
    {
      name: 'only pods the budget has not counted yet use up its allowance',
      pod: makePod('p', { priority: high, cpu: veryLarge }),
      nodes: ['node1'],
      pods: [
        makePod('p1.1', { priority: mid, cpu: medium, node: 'node1', labels: { app: 'foo' } }),
        makePod('p1.2', { priority: mid, cpu: medium, node: 'node1', labels: { app: 'foo' } }),
        makePod('p1.3', { priority: mid, cpu: medium, node: 'node1', labels: { app: 'foo' } }),
      ],
      pdbs: [
        pdb(
          'foo',
          { app: 'foo' },
          { disruptionsAllowed: 1, disruptedPods: { 'p1.3': '2026-01-01T00:00:00Z' } },
        ),
      ],
      want: [{ node: 'node1', victims: ['p1.1', 'p1.2', 'p1.3'], pdbViolations: 1 }],
    },
    {
      name: 'a PDB-protected pod is reprieved before an unprotected one of higher priority',
      pod: makePod('p', { priority: high, cpu: large }),
      nodes: ['node1'],
      pods: [
        makePod('guarded', { priority: low, cpu: medium, node: 'node1', labels: { app: 'db' } }),
        makePod('plain', { priority: mid, cpu: medium, node: 'node1' }),
      ],
      pdbs: [pdb('db', { app: 'db' })],
      want: [{ node: 'node1', victims: ['plain'], pdbViolations: 0 }],
    },
    {
      name: 'the search stops once it has enough candidates (40% of 5 nodes), from the offset on',
      pod: makePod('p', { priority: high, cpu: large }),
      nodes: ['node1', 'node2', 'node3', 'node4', 'node5'],
      pods: ['1', '2', '3', '4', '5'].map((i) =>
        makePod(`p${i}`, { priority: mid, cpu: large, node: `node${i}` }),
      ),
      args: { minCandidateNodesPercentage: 40, minCandidateNodesAbsolute: 1 },
      offset: 4,
      want: [
        { node: 'node5', victims: ['p5'] },
        { node: 'node1', victims: ['p1'] },
      ],
    },
    {
      name: 'a nominated pod of higher priority keeps the room made for it',
      pod: makePod('p', { priority: mid, cpu: large }),
      nodes: ['node1'],
      pods: [makePod('p1', { priority: low, cpu: large, node: 'node1' })],
      nominated: [makePod('waiting', { priority: high, cpu: large, nominated: 'node1' })],
      want: [],
      wantStatuses: { node1: 'Unschedulable: Insufficient cpu' },
    },
    {
      name: 'a nominated pod of lower priority does not count',
      pod: makePod('p', { priority: mid, cpu: large }),
      nodes: ['node1'],
      pods: [makePod('p1', { priority: low, cpu: large, node: 'node1' })],
      nominated: [makePod('waiting', { priority: low, cpu: large, nominated: 'node1' })],
      want: [{ node: 'node1', victims: ['p1'] }],
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const w = world(
        (c.nodes ?? ['node1', 'node2']).map((n) => makeNode(n)),
        c.pods,
        { ...(c.pdbs ? { pdbs: c.pdbs } : {}), ...(c.nominated ? { nominated: c.nominated } : {}) },
      )
      const plugin = new DefaultPreemption(w.handle, c.args)
      const found = plugin.dryRun(preFiltered(w.framework, c.pod), c.pod, w.nodes, w.framework, c.offset)
      assert.deepEqual(
        found.candidates.map((k) => ({
          node: k.nodeName,
          victims: k.victims.map((v) => v.metadata?.name ?? '').sort(),
          pdbViolations: k.pdbViolations,
        })),
        c.want.map((k) => ({ pdbViolations: 0, ...k })),
      )
      if (c.wantStatuses) {
        assert.deepEqual(
          Object.fromEntries([...found.statuses].map(([n, s]) => [n, `${s.code}: ${s.reasons.join(', ')}`])),
          c.wantStatuses,
        )
      }
      // The dry run changed copies only.
      assert.deepEqual(
        w.nodes.map((n) => n.pods.length),
        w.nodes.map((n) => c.pods.filter((p) => p.spec?.nodeName === n.name).length),
      )
    })
  }
})

describe('DefaultPreemption picks the node where preemption does the least harm', () => {
  const cases: { name: string; pods: Pod[]; nodes?: string[]; want: string }[] = [
    {
      name: 'the node whose highest-priority victim has the lowest priority',
      pods: [
        makePod('p1.1', { priority: mid, cpu: medium, node: 'node1', startTime: 0 }),
        makePod('p1.2', { priority: mid, cpu: large, node: 'node1', startTime: 0 }),
        makePod('p2.1', { priority: mid, cpu: medium, node: 'node2', startTime: 0 }),
        makePod('p2.2', { priority: low, cpu: medium, node: 'node2', startTime: 0 }),
        makePod('p3.1', { priority: low, cpu: medium, node: 'node3', startTime: 0 }),
        makePod('p3.2', { priority: low, cpu: medium, node: 'node3', startTime: 0 }),
      ],
      want: 'node3',
    },
    {
      name: 'equal highest priorities: the smallest sum of priorities',
      pods: [
        makePod('p1.1', { priority: mid, cpu: medium, node: 'node1', startTime: 0 }),
        makePod('p1.2', { priority: mid, cpu: large, node: 'node1', startTime: 0 }),
        makePod('p2.1', { priority: mid, cpu: large, node: 'node2', startTime: 0 }),
        makePod('p2.2', { priority: low, cpu: medium, node: 'node2', startTime: 0 }),
        makePod('p3.1', { priority: mid, cpu: medium, node: 'node3', startTime: 0 }),
        makePod('p3.2', { priority: mid, cpu: medium, node: 'node3', startTime: 0 }),
      ],
      want: 'node2',
    },
    {
      name: 'equal highest priorities and sums: the fewest victims',
      pods: [
        makePod('p1.1', { priority: mid, cpu: small, node: 'node1', startTime: 0 }),
        makePod('p1.2', { priority: neg, cpu: small, node: 'node1', startTime: 0 }),
        makePod('p1.3', { priority: mid, cpu: small, node: 'node1', startTime: 0 }),
        makePod('p1.4', { priority: neg, cpu: small, node: 'node1', startTime: 0 }),
        makePod('p2.1', { priority: mid, cpu: large, node: 'node2', startTime: 0 }),
        makePod('p2.2', { priority: neg, cpu: medium, node: 'node2', startTime: 0 }),
        makePod('p3.1', { priority: mid, cpu: medium, node: 'node3', startTime: 0 }),
        makePod('p3.2', { priority: neg, cpu: small, node: 'node3', startTime: 0 }),
        makePod('p3.3', { priority: low, cpu: small, node: 'node3', startTime: 0 }),
      ],
      want: 'node2',
    },
    {
      name: 'negative priorities add up in the sum rather than lowering it',
      pods: [
        makePod('p1.1', { priority: mid, cpu: small, node: 'node1', startTime: 0 }),
        makePod('p1.2', { priority: neg, cpu: small, node: 'node1', startTime: 0 }),
        makePod('p1.3', { priority: neg, cpu: small, node: 'node1', startTime: 0 }),
        makePod('p2.1', { priority: mid, cpu: large, node: 'node2', startTime: 0 }),
        makePod('p2.2', { priority: neg, cpu: medium, node: 'node2', startTime: 0 }),
        makePod('p3.1', { priority: mid, cpu: medium, node: 'node3', startTime: 0 }),
        makePod('p3.2', { priority: neg, cpu: small, node: 'node3', startTime: 0 }),
        makePod('p3.3', { priority: low, cpu: small, node: 'node3', startTime: 0 }),
      ],
      want: 'node2',
    },
    {
      name: 'the criteria apply in order even when each favours another node',
      nodes: ['node1', 'node2', 'node3', 'node4'],
      pods: [
        makePod('p1.1', { priority: mid, cpu: small, node: 'node1', startTime: 0 }),
        makePod('p1.2', { priority: low, cpu: small, node: 'node1', startTime: 0 }),
        makePod('p1.3', { priority: low, cpu: small, node: 'node1', startTime: 0 }),
        makePod('p2.1', { priority: high, cpu: large, node: 'node2', startTime: 0 }),
        makePod('p3.1', { priority: mid, cpu: medium, node: 'node3', startTime: 0 }),
        makePod('p3.2', { priority: low, cpu: small, node: 'node3', startTime: 0 }),
        makePod('p3.3', { priority: low, cpu: small, node: 'node3', startTime: 0 }),
        makePod('p3.4', { priority: low, cpu: medium, node: 'node3', startTime: 0 }),
        makePod('p4.1', { priority: mid, cpu: medium, node: 'node4', startTime: 0 }),
        makePod('p4.2', { priority: mid, cpu: small, node: 'node4', startTime: 0 }),
        makePod('p4.3', { priority: mid, cpu: small, node: 'node4', startTime: 0 }),
        makePod('p4.4', { priority: neg, cpu: small, node: 'node4', startTime: 0 }),
      ],
      want: 'node1',
    },
    {
      name: 'all else equal: the node whose victims started last',
      pods: [
        makePod('p1.1', { priority: mid, cpu: medium, node: 'node1', startTime: 2 }),
        makePod('p1.2', { priority: mid, cpu: medium, node: 'node1', startTime: 2 }),
        makePod('p2.1', { priority: mid, cpu: medium, node: 'node2', startTime: 3 }),
        makePod('p2.2', { priority: mid, cpu: medium, node: 'node2', startTime: 3 }),
        makePod('p3.1', { priority: mid, cpu: medium, node: 'node3', startTime: 1 }),
        makePod('p3.2', { priority: mid, cpu: medium, node: 'node3', startTime: 1 }),
      ],
      want: 'node2',
    },
    {
      name: 'start times compare the earliest start of each node’s victims',
      pods: [
        makePod('p1.1', { priority: mid, cpu: medium, node: 'node1', startTime: 4 }),
        makePod('p1.2', { priority: mid, cpu: medium, node: 'node1', startTime: 2 }),
        makePod('p2.1', { priority: mid, cpu: medium, node: 'node2', startTime: 5 }),
        makePod('p2.2', { priority: mid, cpu: medium, node: 'node2', startTime: 1 }),
        makePod('p3.1', { priority: mid, cpu: medium, node: 'node3', startTime: 3 }),
        makePod('p3.2', { priority: mid, cpu: medium, node: 'node3', startTime: 6 }),
      ],
      want: 'node3',
    },
    {
      name: 'start times count among the highest-priority victims only',
      pods: [
        makePod('p1.1', { priority: low, cpu: medium, node: 'node1', startTime: 4 }),
        makePod('p1.2', { priority: mid, cpu: medium, node: 'node1', startTime: 2 }),
        makePod('p2.1', { priority: mid, cpu: medium, node: 'node2', startTime: 6 }),
        makePod('p2.2', { priority: low, cpu: medium, node: 'node2', startTime: 1 }),
        makePod('p3.1', { priority: low, cpu: medium, node: 'node3', startTime: 3 }),
        makePod('p3.2', { priority: mid, cpu: medium, node: 'node3', startTime: 5 }),
      ],
      want: 'node2',
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const w = world(
        (c.nodes ?? ['node1', 'node2', 'node3']).map((n) => makeNode(n)),
        c.pods,
      )
      const pod = makePod('p', { priority: c.nodes ? veryHigh : high, cpu: veryLarge })
      const plugin = new DefaultPreemption(w.handle)
      const found = plugin.dryRun(preFiltered(w.framework, pod), pod, w.nodes, w.framework)
      assert.equal(pickOneNodeForPreemption(found.candidates, w.handle.clock.now()).nodeName, c.want)
    })
  }
})

describe('DefaultPreemption eligibility', () => {
  const cases: { name: string; pod: Pod; pods: Pod[]; nominatedStatus?: Status; want: string | undefined }[] =
    [
      {
        name: 'a pod whose nominated node cannot be helped may preempt again',
        pod: makePod('p', { priority: high, nominated: 'node1' }),
        pods: [makePod('p1', { node: 'node1', terminating: 'preempted' })],
        nominatedStatus: unresolvable('node(s) had untolerated taint {dedicated: gpu}'),
        want: undefined,
      },
      {
        name: 'a pod without a nominated node may preempt',
        pod: makePod('p', { priority: high }),
        pods: [],
        want: undefined,
      },
      {
        name: 'a pod with preemptionPolicy Never may not',
        pod: makePod('p', { priority: high, preemptionPolicy: 'Never' }),
        pods: [],
        want: 'not eligible due to preemptionPolicy=Never.',
      },
      {
        name: 'a pod waits while victims of its earlier preemption terminate on its nominated node',
        pod: makePod('p', { priority: high, nominated: 'node1' }),
        pods: [makePod('p1', { node: 'node1', terminating: 'preempted' })],
        nominatedStatus: unschedulable('Insufficient cpu'),
        want: 'not eligible due to a terminating pod on the nominated node.',
      },
      {
        name: 'pods terminating for another reason do not hold it back',
        pod: makePod('p', { priority: high, nominated: 'node1' }),
        pods: [makePod('p1', { node: 'node1', terminating: 'deleted' })],
        nominatedStatus: unschedulable('Insufficient cpu'),
        want: undefined,
      },
    ]
  for (const c of cases) {
    test(c.name, () => {
      const w = world([makeNode('node1')], c.pods)
      assert.equal(new DefaultPreemption(w.handle).ineligibleBecause(c.pod, c.nominatedStatus), c.want)
    })
  }
})

test('preemption nominates the pod, deletes the victims not already terminating, and withdraws lower nominations there', async () => {
  const pod = makePod('p', { priority: high, cpu: veryLarge })
  const w = world(
    [makeNode('node1')],
    [
      makePod('v1', { node: 'node1', cpu: medium }),
      makePod('v2', { node: 'node1', cpu: medium, terminating: 'deleted' }),
      makePod('v3', { node: 'node1', cpu: small }),
    ],
    {
      nominated: [
        makePod('lower', { priority: mid, nominated: 'node1' }),
        makePod('higher', { priority: veryHigh, nominated: 'node1' }),
      ],
    },
  )
  w.writes.gone.add('v3') // already deleted: fine
  const plugin = defaultPreemption(w.handle, undefined)
  const r = await plugin.postFilter(
    preFiltered(w.framework, pod),
    pod,
    statusesOf({ node1: rejected }),
    w.framework,
  )
  assert.deepEqual([r.status.code, r.nominatedNodeName, r.victims], ['Success', 'node1', 3])
  // The API calls run in the background (asynchronous preemption): the pod waits meanwhile.
  assert.equal(plugin.preEnqueue(pod), false)
  await plugin.settled()
  assert.equal(plugin.preEnqueue(pod), true)
  assert.deepEqual(w.writes.calls, [
    'nominate p to node1',
    'delete v1 for p on node1',
    'nominate lower to (none)',
    'activate p',
  ])
})

test('a failed victim deletion is logged, and the pod is let go to be tried again', async () => {
  const pod = makePod('p', { priority: high, cpu: veryLarge })
  const w = world([makeNode('node1')], [makePod('v1', { node: 'node1', cpu: medium })])
  w.handle.writes.deleteVictim = async () => {
    throw new Error('etcd is down')
  }
  const warnings: string[] = []
  const handle: Handle = {
    ...w.handle,
    log: { warn: (o: { err?: string }) => warnings.push(o.err ?? '') } as unknown as Logger,
  }
  const plugin = defaultPreemption(handle, undefined)
  const r = await plugin.postFilter(
    preFiltered(w.framework, pod),
    pod,
    statusesOf({ node1: rejected }),
    w.framework,
  )
  assert.equal(r.status.code, 'Success')
  await plugin.settled()
  assert.deepEqual(warnings, ['cannot preempt a victim on node node1: etcd is down'])
  assert.deepEqual(w.writes.calls, ['nominate p to node1', 'activate p'])
  assert.equal(plugin.preEnqueue(pod), true)
})

test('DefaultPreemptionArgs: defaults, and the ranges kube-scheduler accepts', () => {
  assert.deepEqual(preemptionArgsOf(undefined), {
    minCandidateNodesPercentage: 10,
    minCandidateNodesAbsolute: 100,
  })
  assert.deepEqual(preemptionArgsOf({ minCandidateNodesPercentage: 50 }), {
    minCandidateNodesPercentage: 50,
    minCandidateNodesAbsolute: 100,
  })
  assert.throws(
    () => preemptionArgsOf({ minCandidateNodesPercentage: 101 }),
    /minCandidateNodesPercentage: Invalid value: 101: not in valid range \[0, 100\]/,
  )
  assert.throws(
    () => preemptionArgsOf({ minCandidateNodesAbsolute: -1 }),
    /minCandidateNodesAbsolute: Invalid value: -1: not in valid range \[0, inf\)/,
  )
  assert.throws(
    () => preemptionArgsOf({ minCandidateNodesPercentage: 0, minCandidateNodesAbsolute: 0 }),
    /cannot be zero at the same time/,
  )
})
