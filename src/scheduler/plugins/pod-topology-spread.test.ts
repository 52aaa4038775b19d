import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type {
  Node,
  NodeSelectorRequirement,
  Pod,
  Taint,
  TopologySpreadConstraint,
} from '../../api/generated/types/core-v1.ts'
import type { LabelSelector as LabelSelectorObject } from '../../api/generated/types/meta-v1.ts'
import { labelSelectorFromObject, type LabelSelector } from '../../api/selectors/label-selector.ts'
import { FakeClock } from '../../base/clock.ts'
import { SchedulerCache } from '../cache.ts'
import { CycleState } from '../framework/cycle-state.ts'
import { Framework, FitError } from '../framework/framework.ts'
import type { Handle, NodeScore } from '../framework/interfaces.ts'
import { NodeInfo, podInfo } from '../framework/node-info.ts'
import type { Status } from '../framework/status.ts'
import {
  podTopologySpread,
  podTopologySpreadArgs,
  preFilterCounts,
  preScoreCounts,
  reasonConstraintsNotMatch,
  reasonNodeLabelNotMatch,
  topologyNormalizingWeight,
  type SpreadConstraint,
} from './pod-topology-spread.ts'

// --- builders -----------------------------------------------------------------------------------

const hostname = 'kubernetes.io/hostname'
const zoneKey = 'topology.kubernetes.io/zone'

const exists = (key: string): LabelSelectorObject => ({ matchExpressions: [{ key, operator: 'Exists' }] })
const labelled = (matchLabels: Record<string, string>): LabelSelectorObject => ({ matchLabels })
const foo = exists('foo')
const bar = exists('bar')

type When = 'DoNotSchedule' | 'ScheduleAnyway'
interface SpreadOptions {
  minDomains?: number
  nodeAffinityPolicy?: 'Honor' | 'Ignore'
  nodeTaintsPolicy?: 'Honor' | 'Ignore'
  matchLabelKeys?: string[]
}

/** A topologySpreadConstraint; `selector` undefined means none (which matches no pod). */
function spread(
  maxSkew: number,
  topologyKey: string,
  whenUnsatisfiable: When,
  selector: LabelSelectorObject | undefined,
  o: SpreadOptions = {},
): TopologySpreadConstraint {
  return { maxSkew, topologyKey, whenUnsatisfiable, ...(selector ? { labelSelector: selector } : {}), ...o }
}
const hard = (maxSkew: number, key: string, selector: LabelSelectorObject | undefined, o?: SpreadOptions) =>
  spread(maxSkew, key, 'DoNotSchedule', selector, o)
const soft = (maxSkew: number, key: string, selector: LabelSelectorObject | undefined, o?: SpreadOptions) =>
  spread(maxSkew, key, 'ScheduleAnyway', selector, o)

interface PodOptions {
  name?: string
  namespace?: string
  labels?: Record<string, string>
  spread?: TopologySpreadConstraint[]
  nodeSelector?: Record<string, string>
  /** One required node affinity term with this requirement. */
  nodeAffinity?: NodeSelectorRequirement
  /** Tolerates taints with this key. */
  tolerate?: string
  terminating?: boolean
}

let pods = 0
function pod(o: PodOptions = {}, nodeName?: string): Pod {
  const n = ++pods
  return {
    metadata: {
      name: o.name ?? `pod-${n}`,
      namespace: o.namespace ?? 'default',
      uid: `uid-${n}`,
      labels: o.labels ?? {},
      ...(o.terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      containers: [{ name: 'c' }],
      ...(nodeName ? { nodeName } : {}),
      ...(o.spread ? { topologySpreadConstraints: o.spread } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.nodeAffinity
        ? {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [o.nodeAffinity] }],
                },
              },
            },
          }
        : {}),
      ...(o.tolerate ? { tolerations: [{ key: o.tolerate, operator: 'Exists' }] } : {}),
    },
  }
}

/** An existing pod on a node, with these labels. */
const at = (nodeName: string, labels: Record<string, string> = {}, o: PodOptions = {}): Pod =>
  pod({ ...o, labels }, nodeName)

/** The incoming pod: labelled foo='' unless told otherwise. */
const incoming = (o: PodOptions): Pod => pod({ name: 'p', labels: { foo: '' }, ...o })

const unschedulableTaint: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }

const node = (name: string, labels: Record<string, string>, o: { tainted?: boolean } = {}): Node => ({
  metadata: { name, labels },
  ...(o.tainted ? { spec: { taints: [unschedulableTaint] } } : {}),
})
/** A node labelled with its zone and its name (under `node`), plus any extra labels. */
const zoned = (
  name: string,
  zone: string,
  extra: Record<string, string> = {},
  o: { tainted?: boolean } = {},
) => node(name, { zone, node: name, ...extra }, o)
/** node-a and node-b in zone1, node-x and node-y in zone2. */
const abxy = (): Node[] => [
  zoned('node-a', 'zone1'),
  zoned('node-b', 'zone1'),
  zoned('node-x', 'zone2'),
  zoned('node-y', 'zone2'),
]
/** Nodes labelled only with their name under `node`. */
const named = (...names: string[]): Node[] => names.map((n) => node(n, { node: n }))
const hosts = (...names: string[]): Node[] => names.map((n) => node(n, { [hostname]: n }))

/** NodeInfos for the nodes with the pods on them (pods naming other nodes are left out). */
function cluster(nodes: readonly Node[], existing: readonly Pod[]): NodeInfo[] {
  const infos = nodes.map((n) => new NodeInfo(n))
  for (const p of existing) infos.find((n) => n.name === p.spec?.nodeName)?.addPod(podInfo(p))
  return infos
}

function fakeHandle(
  nodes: readonly NodeInfo[],
  defaultSelector: (pod: Readonly<Pod>) => LabelSelector | undefined = () => undefined,
): Handle {
  const unused = (): never => {
    throw new Error('not used by PodTopologySpread')
  }
  return {
    snapshot: {
      nodeList: () => nodes,
      node: (name) => nodes.find((n) => n.name === name),
      nodesWithImage: () => 0,
    },
    namespaceLabels: () => undefined,
    defaultSelector,
    persistentVolumeClaim: () => undefined,
    pdbs: () => [],
    nominatedPods: () => [],
    writes: { bind: unused, deleteVictim: unused, setNominatedNodeName: unused },
    clock: new FakeClock(),
  }
}

/** What a Service with this selector (or a ReplicaSet) gives as the default selector, if it selects the pod. */
function selectedBy(selector: LabelSelectorObject): (pod: Readonly<Pod>) => LabelSelector | undefined {
  const s = labelSelectorFromObject(selector)
  return (p) => (s.matches(p.metadata?.labels ?? {}) ? s : undefined)
}

const listArgs = (defaultConstraints: TopologySpreadConstraint[] = []) => ({
  defaultingType: 'List',
  defaultConstraints,
})

/** A constraint as one line: key, maxSkew, selector, and any non-default minDomains and policies. */
function describeConstraint(c: SpreadConstraint): string {
  let s = `${c.topologyKey} maxSkew=${c.maxSkew} selector=${c.selector === null ? 'nothing' : c.selector.toString()}`
  if (c.minDomains !== 1) s += ` minDomains=${c.minDomains}`
  if (!c.honorNodeAffinity) s += ' nodeAffinityPolicy=Ignore'
  if (c.honorNodeTaints) s += ' nodeTaintsPolicy=Honor'
  return s
}

/** A status as one comparable string: the code, then the reasons. */
const verdict = (s: Status): string => (s.reasons.length > 0 ? `${s.code}: ${s.reasons.join(', ')}` : s.code)

// --- PreFilter ----------------------------------------------------------------------------------

interface PreFilterCase {
  name: string
  pod: Pod
  nodes?: Node[]
  existing?: Pod[]
  args?: Record<string, unknown>
  defaultSelector?: (pod: Readonly<Pod>) => LabelSelector | undefined
  /** Undefined: PreFilter skips. */
  want?: { constraints: string[]; counts: Record<string, number>[]; min: number[] }
}

const fooOn = (...nodes: string[]) => nodes.map((n) => at(n, { foo: '' }))

const preFilterCases: PreFilterCase[] = [
  {
    name: 'a clean cluster has every domain at 0',
    pod: incoming({ spread: [hard(5, 'zone', labelled({ foo: 'bar' }))] }),
    nodes: abxy(),
    want: { constraints: ['zone maxSkew=5 selector=foo=bar'], counts: [{ zone1: 0, zone2: 0 }], min: [0] },
  },
  {
    name: 'matching pods are counted per zone',
    pod: incoming({ spread: [hard(1, 'zone', foo)] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y'),
    want: { constraints: ['zone maxSkew=1 selector=foo'], counts: [{ zone1: 3, zone2: 2 }], min: [2] },
  },
  {
    name: 'a constraint without a labelSelector matches no pod',
    pod: incoming({ spread: [hard(1, 'zone', undefined)] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y'),
    want: { constraints: ['zone maxSkew=1 selector=nothing'], counts: [{ zone1: 0, zone2: 0 }], min: [0] },
  },
  {
    name: 'a third zone without pods makes the minimum 0',
    pod: incoming({ spread: [hard(1, 'zone', foo)] }),
    nodes: [...abxy(), zoned('node-o', 'zone3'), zoned('node-p', 'zone3')],
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y'),
    want: {
      constraints: ['zone maxSkew=1 selector=foo'],
      counts: [{ zone1: 3, zone2: 2, zone3: 0 }],
      min: [0],
    },
  },
  {
    name: 'pods of other namespaces do not count',
    pod: incoming({ spread: [hard(1, 'zone', foo)] }),
    nodes: abxy(),
    existing: [
      at('node-a', { foo: '' }),
      at('node-a', { foo: '' }, { namespace: 'ns1' }),
      at('node-b', { foo: '' }),
      at('node-y', { foo: '' }, { namespace: 'ns2' }),
      at('node-y', { foo: '' }),
    ],
    want: { constraints: ['zone maxSkew=1 selector=foo'], counts: [{ zone1: 2, zone2: 1 }], min: [1] },
  },
  {
    name: 'two constraints count separately, per zone and per node',
    pod: incoming({ spread: [hard(1, 'zone', foo), hard(1, 'node', foo)] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y', 'node-y', 'node-y'),
    want: {
      constraints: ['zone maxSkew=1 selector=foo', 'node maxSkew=1 selector=foo'],
      counts: [
        { zone1: 3, zone2: 4 },
        { 'node-a': 2, 'node-b': 1, 'node-x': 0, 'node-y': 4 },
      ],
      min: [3, 0],
    },
  },
  {
    name: 'soft constraints are left to scoring',
    pod: incoming({
      spread: [soft(1, 'zone', foo), hard(1, 'zone', foo), soft(1, 'node', foo), hard(1, 'node', foo)],
    }),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1'), zoned('node-y', 'zone2')],
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y', 'node-y', 'node-y'),
    want: {
      constraints: ['zone maxSkew=1 selector=foo', 'node maxSkew=1 selector=foo'],
      counts: [
        { zone1: 3, zone2: 4 },
        { 'node-a': 2, 'node-b': 1, 'node-y': 4 },
      ],
      min: [3, 1],
    },
  },
  {
    name: 'constraints with different selectors count different pods',
    pod: incoming({ labels: { foo: '', bar: '' }, spread: [hard(1, 'zone', foo), hard(1, 'node', bar)] }),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1'), zoned('node-y', 'zone2')],
    existing: [at('node-a', { foo: '' }), at('node-b', { bar: '' })],
    want: {
      constraints: ['zone maxSkew=1 selector=foo', 'node maxSkew=1 selector=bar'],
      counts: [
        { zone1: 1, zone2: 0 },
        { 'node-a': 0, 'node-b': 1, 'node-y': 0 },
      ],
      min: [0, 0],
    },
  },
  {
    name: 'constraints with different selectors over pods with both labels',
    pod: incoming({ labels: { foo: '', bar: '' }, spread: [hard(1, 'zone', foo), hard(1, 'node', bar)] }),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1'), zoned('node-y', 'zone2')],
    existing: [
      at('node-a', { foo: '' }),
      at('node-a', { foo: '', bar: '' }),
      at('node-b', { foo: '' }),
      at('node-y', { foo: '' }),
      at('node-y', { foo: '', bar: '' }),
      at('node-y', { foo: '' }),
      at('node-y', { foo: '', bar: '' }),
    ],
    want: {
      constraints: ['zone maxSkew=1 selector=foo', 'node maxSkew=1 selector=bar'],
      counts: [
        { zone1: 3, zone2: 4 },
        { 'node-a': 1, 'node-b': 0, 'node-y': 2 },
      ],
      min: [3, 0],
    },
  },
  {
    name: "nodes the pod's required node affinity excludes are not domains",
    pod: incoming({
      nodeAffinity: { key: 'node', operator: 'NotIn', values: ['node-x'] },
      spread: [hard(1, 'zone', foo), hard(1, 'node', foo)],
    }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y', 'node-y', 'node-y'),
    want: {
      constraints: ['zone maxSkew=1 selector=foo', 'node maxSkew=1 selector=foo'],
      counts: [
        { zone1: 3, zone2: 4 },
        { 'node-a': 2, 'node-b': 1, 'node-y': 4 },
      ],
      min: [3, 1],
    },
  },
  {
    name: 'default constraints spread over what selects the pod, hard ones only',
    pod: incoming({ labels: { foo: 'bar', baz: 'kar' } }),
    args: listArgs([
      { maxSkew: 3, topologyKey: 'node', whenUnsatisfiable: 'DoNotSchedule' },
      { maxSkew: 2, topologyKey: 'node', whenUnsatisfiable: 'ScheduleAnyway' },
      { maxSkew: 5, topologyKey: 'rack', whenUnsatisfiable: 'DoNotSchedule' },
    ]),
    defaultSelector: selectedBy(labelled({ foo: 'bar' })),
    want: {
      constraints: ['node maxSkew=3 selector=foo=bar', 'rack maxSkew=5 selector=foo=bar'],
      counts: [{}, {}],
      min: [Infinity, Infinity],
    },
  },
  {
    name: 'default constraints do not apply when nothing selects the pod',
    pod: incoming({ labels: { foo: 'bar' } }),
    args: listArgs([{ maxSkew: 3, topologyKey: 'node', whenUnsatisfiable: 'DoNotSchedule' }]),
    defaultSelector: selectedBy(labelled({ baz: 'kep' })),
  },
  {
    name: 'default constraints do not apply when the pod has constraints of its own',
    pod: incoming({
      labels: { foo: 'bar', baz: 'tar' },
      spread: [hard(1, 'zone', labelled({ baz: 'tar' })), soft(2, 'planet', labelled({ fot: 'rok' }))],
    }),
    args: listArgs([{ maxSkew: 2, topologyKey: 'node', whenUnsatisfiable: 'DoNotSchedule' }]),
    defaultSelector: selectedBy(labelled({ foo: 'bar' })),
    want: { constraints: ['zone maxSkew=1 selector=baz=tar'], counts: [{}], min: [Infinity] },
  },
  {
    name: 'soft default constraints leave nothing to filter',
    pod: incoming({ labels: { foo: 'bar' } }),
    args: listArgs([{ maxSkew: 2, topologyKey: 'node', whenUnsatisfiable: 'ScheduleAnyway' }]),
    defaultSelector: selectedBy(labelled({ foo: 'bar' })),
  },
  {
    name: 'nodeAffinityPolicy Honor leaves out nodes the nodeSelector excludes',
    pod: incoming({ nodeSelector: { foo: '' }, spread: [hard(1, 'node', bar)] }),
    nodes: [
      node('node-a', { node: 'node-a', foo: '' }),
      node('node-b', { node: 'node-b', foo: '' }),
      node('node-c', { node: 'node-c', bar: '' }),
    ],
    existing: [at('node-a', { bar: '' }), at('node-b', { bar: '' }), at('node-b', { bar: '' }), at('node-c')],
    want: { constraints: ['node maxSkew=1 selector=bar'], counts: [{ 'node-a': 1, 'node-b': 2 }], min: [1] },
  },
  {
    name: 'nodeAffinityPolicy Ignore counts nodes the nodeSelector excludes',
    pod: incoming({
      nodeSelector: { foo: '' },
      spread: [hard(1, 'node', bar, { nodeAffinityPolicy: 'Ignore' })],
    }),
    nodes: [
      node('node-a', { node: 'node-a', foo: '' }),
      node('node-b', { node: 'node-b', foo: '' }),
      node('node-c', { node: 'node-c', bar: '' }),
    ],
    existing: [at('node-a', { bar: '' }), at('node-b', { bar: '' }), at('node-b', { bar: '' }), at('node-c')],
    want: {
      constraints: ['node maxSkew=1 selector=bar nodeAffinityPolicy=Ignore'],
      counts: [{ 'node-a': 1, 'node-b': 2, 'node-c': 0 }],
      min: [0],
    },
  },
  {
    name: 'nodeAffinityPolicy Honor leaves out nodes the required node affinity excludes',
    pod: incoming({
      nodeAffinity: { key: 'foo', operator: 'In', values: [''] },
      spread: [hard(1, 'node', bar)],
    }),
    nodes: [
      node('node-a', { node: 'node-a', foo: '' }),
      node('node-b', { node: 'node-b', foo: '' }),
      node('node-c', { node: 'node-c', bar: '' }),
    ],
    existing: [at('node-a', { bar: '' }), at('node-b', { bar: '' }), at('node-b', { bar: '' }), at('node-c')],
    want: { constraints: ['node maxSkew=1 selector=bar'], counts: [{ 'node-a': 1, 'node-b': 2 }], min: [1] },
  },
  {
    name: 'nodeAffinityPolicy Ignore counts nodes the required node affinity excludes',
    pod: incoming({
      nodeAffinity: { key: 'foo', operator: 'In', values: [''] },
      spread: [hard(1, 'node', bar, { nodeAffinityPolicy: 'Ignore' })],
    }),
    nodes: [
      node('node-a', { node: 'node-a', foo: '' }),
      node('node-b', { node: 'node-b', foo: '' }),
      node('node-c', { node: 'node-c', bar: '' }),
    ],
    existing: [at('node-a', { bar: '' }), at('node-b', { bar: '' }), at('node-b', { bar: '' }), at('node-c')],
    want: {
      constraints: ['node maxSkew=1 selector=bar nodeAffinityPolicy=Ignore'],
      counts: [{ 'node-a': 1, 'node-b': 2, 'node-c': 0 }],
      min: [0],
    },
  },
  {
    name: 'nodeTaintsPolicy Ignore (the default) counts tainted nodes',
    pod: incoming({ spread: [hard(1, 'node', bar)] }),
    nodes: [...named('node-a', 'node-b'), node('node-c', { node: 'node-c', bar: '' }, { tainted: true })],
    existing: [at('node-a', { bar: '' }), at('node-b', { bar: '' }), at('node-b', { bar: '' }), at('node-c')],
    want: {
      constraints: ['node maxSkew=1 selector=bar'],
      counts: [{ 'node-a': 1, 'node-b': 2, 'node-c': 0 }],
      min: [0],
    },
  },
  {
    name: 'nodeTaintsPolicy Honor leaves out nodes with taints the pod does not tolerate',
    pod: incoming({ spread: [hard(1, 'node', bar, { nodeTaintsPolicy: 'Honor' })] }),
    nodes: [...named('node-a', 'node-b'), node('node-c', { node: 'node-c', bar: '' }, { tainted: true })],
    existing: [at('node-a', { bar: '' }), at('node-b', { bar: '' }), at('node-b', { bar: '' }), at('node-c')],
    want: {
      constraints: ['node maxSkew=1 selector=bar nodeTaintsPolicy=Honor'],
      counts: [{ 'node-a': 1, 'node-b': 2 }],
      min: [1],
    },
  },
  {
    name: 'nodeTaintsPolicy Honor counts nodes whose taints the pod tolerates',
    pod: incoming({
      tolerate: unschedulableTaint.key,
      spread: [hard(1, 'node', bar, { nodeTaintsPolicy: 'Honor' })],
    }),
    nodes: [...named('node-a', 'node-b'), node('node-c', { node: 'node-c', bar: '' }, { tainted: true })],
    existing: [at('node-a', { bar: '' }), at('node-b', { bar: '' }), at('node-b', { bar: '' }), at('node-c')],
    want: {
      constraints: ['node maxSkew=1 selector=bar nodeTaintsPolicy=Honor'],
      counts: [{ 'node-a': 1, 'node-b': 2, 'node-c': 0 }],
      min: [0],
    },
  },
  {
    name: 'policies apply per constraint: zone honors the nodeSelector, node ignores it',
    pod: incoming({
      nodeSelector: { foo: '' },
      spread: [hard(1, 'zone', foo), hard(1, 'node', foo, { nodeAffinityPolicy: 'Ignore' })],
    }),
    nodes: [
      zoned('node-a', 'zone1', { foo: '' }),
      zoned('node-b', 'zone1'),
      zoned('node-x', 'zone2', { foo: '' }),
    ],
    existing: fooOn('node-b', 'node-b', 'node-x'),
    want: {
      constraints: ['zone maxSkew=1 selector=foo', 'node maxSkew=1 selector=foo nodeAffinityPolicy=Ignore'],
      counts: [
        { zone1: 0, zone2: 1 },
        { 'node-a': 0, 'node-b': 2, 'node-x': 1 },
      ],
      min: [0, 0],
    },
  },
  {
    name: 'policies apply per constraint: zone honors taints, node ignores them',
    pod: incoming({ spread: [hard(1, 'zone', foo, { nodeTaintsPolicy: 'Honor' }), hard(1, 'node', foo)] }),
    nodes: [
      zoned('node-a', 'zone1', { foo: '' }),
      zoned('node-b', 'zone1', {}, { tainted: true }),
      zoned('node-x', 'zone2', { foo: '' }),
    ],
    existing: fooOn('node-b', 'node-b', 'node-x'),
    want: {
      constraints: ['zone maxSkew=1 selector=foo nodeTaintsPolicy=Honor', 'node maxSkew=1 selector=foo'],
      counts: [
        { zone1: 0, zone2: 1 },
        { 'node-a': 0, 'node-b': 2, 'node-x': 1 },
      ],
      min: [0, 0],
    },
  },
  {
    name: 'both constraints honor the nodeSelector',
    pod: incoming({ nodeSelector: { foo: '' }, spread: [hard(1, 'zone', foo), hard(1, 'node', foo)] }),
    nodes: [
      zoned('node-a', 'zone1'),
      zoned('node-b', 'zone1', { foo: '' }, { tainted: true }),
      zoned('node-x', 'zone2', { foo: '' }),
      zoned('node-y', 'zone2'),
    ],
    existing: fooOn('node-a', 'node-a', 'node-x', 'node-y'),
    want: {
      constraints: ['zone maxSkew=1 selector=foo', 'node maxSkew=1 selector=foo'],
      counts: [
        { zone1: 0, zone2: 1 },
        { 'node-b': 0, 'node-x': 1 },
      ],
      min: [0, 0],
    },
  },
  {
    name: 'zone ignores the nodeSelector, node honors it and taints',
    pod: incoming({
      nodeSelector: { foo: '' },
      spread: [
        hard(1, 'zone', foo, { nodeAffinityPolicy: 'Ignore' }),
        hard(1, 'node', foo, { nodeTaintsPolicy: 'Honor' }),
      ],
    }),
    nodes: [
      zoned('node-a', 'zone1'),
      zoned('node-b', 'zone1', { foo: '' }, { tainted: true }),
      zoned('node-x', 'zone2', { foo: '' }),
      zoned('node-y', 'zone2', { foo: '' }),
    ],
    existing: fooOn('node-a', 'node-a', 'node-x', 'node-x', 'node-y'),
    want: {
      constraints: [
        'zone maxSkew=1 selector=foo nodeAffinityPolicy=Ignore',
        'node maxSkew=1 selector=foo nodeTaintsPolicy=Honor',
      ],
      counts: [
        { zone1: 2, zone2: 3 },
        { 'node-x': 2, 'node-y': 1 },
      ],
      min: [2, 1],
    },
  },
  {
    name: "matchLabelKeys add the pod's values to the labelSelector",
    pod: incoming({
      labels: { foo: '', bar: 'a' },
      spread: [hard(1, 'zone', foo, { matchLabelKeys: ['bar'] })],
    }),
    nodes: abxy(),
    existing: [
      at('node-a', { foo: '' }),
      at('node-a', { foo: '', bar: 'a' }),
      at('node-b', { foo: '' }),
      at('node-y', { foo: '', bar: 'a' }),
      at('node-y', { bar: '' }),
    ],
    want: { constraints: ['zone maxSkew=1 selector=bar=a,foo'], counts: [{ zone1: 1, zone2: 1 }], min: [1] },
  },
  {
    name: 'matchLabelKeys make an empty labelSelector select',
    pod: incoming({ labels: { foo: 'a' }, spread: [hard(1, 'zone', {}, { matchLabelKeys: ['foo'] })] }),
    nodes: abxy(),
    existing: ['node-a', 'node-a', 'node-b', 'node-y', 'node-y'].map((n) => at(n, { foo: 'a' })),
    want: { constraints: ['zone maxSkew=1 selector=foo=a'], counts: [{ zone1: 3, zone2: 2 }], min: [2] },
  },
  {
    name: 'matchLabelKeys are ignored without a labelSelector',
    pod: incoming({ spread: [hard(1, 'zone', undefined, { matchLabelKeys: ['bar'] })] }),
    nodes: abxy(),
    existing: ['node-a', 'node-a', 'node-b', 'node-y', 'node-y'].map((n) => at(n, { foo: 'a' })),
    want: { constraints: ['zone maxSkew=1 selector=nothing'], counts: [{ zone1: 0, zone2: 0 }], min: [0] },
  },
  {
    name: 'matchLabelKeys the pod has no label for are ignored',
    pod: incoming({ spread: [hard(1, 'zone', foo, { matchLabelKeys: ['bar'] })] }),
    nodes: abxy(),
    existing: ['node-a', 'node-a', 'node-b', 'node-y', 'node-y'].map((n) => at(n, { foo: 'a' })),
    want: { constraints: ['zone maxSkew=1 selector=foo'], counts: [{ zone1: 3, zone2: 2 }], min: [2] },
  },
  {
    name: 'a pod without constraints is skipped',
    pod: incoming({}),
    nodes: [zoned('node-a', 'zone1')],
  },
]

function runPreFilter(c: {
  pod: Pod
  nodes?: Node[]
  existing?: Pod[]
  args?: Record<string, unknown>
  defaultSelector?: (pod: Readonly<Pod>) => LabelSelector | undefined
}) {
  const infos = cluster(c.nodes ?? [], c.existing ?? [])
  const plugin = podTopologySpread(fakeHandle(infos, c.defaultSelector), c.args ?? listArgs())
  const state = new CycleState()
  const result = plugin.preFilter(state, c.pod, infos)
  return { plugin, state, infos, status: result.status }
}

function readPreFilter(state: CycleState) {
  const s = preFilterCounts(state)
  return s && { constraints: s.constraints.map(describeConstraint), counts: s.counts, min: s.min }
}

describe('PodTopologySpread PreFilter', () => {
  for (const c of preFilterCases) {
    test(c.name, () => {
      const { state, status } = runPreFilter(c)
      if (!c.want) {
        assert.equal(status.code, 'Skip')
        return
      }
      assert.equal(status.code, 'Success')
      assert.deepEqual(readPreFilter(state), c.want)
    })
  }

  test('a labelSelector that does not parse is an error', () => {
    const bad: LabelSelectorObject = { matchExpressions: [{ key: 'foo', operator: 'Near' }] }
    const { status } = runPreFilter({ pod: incoming({ spread: [hard(1, 'zone', bad)] }), nodes: abxy() })
    assert.equal(status.code, 'Error')
    assert.match(
      status.reasons[0] ?? '',
      /^get constraints from pod: obtaining pod's hard topology spread constraints: /,
    )
  })

  test('counts kept from the last cycle follow pods and nodes that changed since', () => {
    const p = () => incoming({ spread: [hard(1, 'zone', foo)] })
    const infos = cluster(abxy(), fooOn('node-a', 'node-x'))
    const plugin = podTopologySpread(fakeHandle(infos), listArgs())
    const counts = () => {
      const state = new CycleState()
      plugin.preFilter(state, p(), infos)
      return preFilterCounts(state)?.counts
    }
    assert.deepEqual(counts(), [{ zone1: 1, zone2: 1 }])
    const [a, b, x] = infos as [NodeInfo, NodeInfo, NodeInfo]
    const added = podInfo(at('node-b', { foo: '' }))
    b.addPod(added)
    assert.deepEqual(counts(), [{ zone1: 2, zone2: 1 }])
    // The same number of pods on node-x, but another one: the pod there no longer matches.
    x.removePod(x.pods[0]?.pod.metadata?.uid ?? '')
    x.addPod(podInfo(at('node-x', { bar: '' })))
    assert.deepEqual(counts(), [{ zone1: 2, zone2: 0 }])
    b.removePod(added.pod.metadata?.uid ?? '')
    assert.deepEqual(counts(), [{ zone1: 1, zone2: 0 }])
    // node-a moves to zone3, keeping its pods (the cache makes a new NodeInfo for a changed node).
    const moved = new NodeInfo(zoned('node-a', 'zone3'))
    for (const pi of a.pods) moved.addPod(pi)
    infos[0] = moved
    assert.deepEqual(counts(), [{ zone1: 0, zone2: 0, zone3: 1 }])
  })

  test('PreScore counts kept from the last cycle follow pods that changed since', () => {
    const p = () => incoming({ spread: [soft(1, 'zone', foo)] })
    const infos = cluster(abxy(), fooOn('node-a', 'node-x', 'node-y'))
    const plugin = podTopologySpread(fakeHandle(infos), listArgs())
    const counts = () => {
      const state = new CycleState()
      plugin.preScore(state, p(), infos)
      return preScoreCounts(state).counts
    }
    assert.deepEqual(counts(), [{ zone1: 1, zone2: 2 }])
    ;(infos[1] as NodeInfo).addPod(podInfo(at('node-b', { foo: '' })))
    ;(infos[1] as NodeInfo).addPod(podInfo(at('node-b', { foo: '' })))
    assert.deepEqual(counts(), [{ zone1: 3, zone2: 2 }])
  })

  test('with the scheduler cache as snapshot, the system defaults sum only changed nodes again, as a fresh count would', () => {
    const cache = new SchedulerCache()
    const place = (name: string, zone?: string) =>
      cache.setNode(node(name, { [hostname]: name, ...(zone ? { [zoneKey]: zone } : {}) }))
    for (const [name, zone] of [
      ['node-a', 'zone1'],
      ['node-b', 'zone1'],
      ['node-x', 'zone2'],
    ] as const)
      place(name, zone)
    // The incoming pod's ReplicaSet selects foo: the system default constraints apply.
    const handle = (): Handle => ({ ...fakeHandle([], selectedBy(foo)), snapshot: cache })
    const kept = podTopologySpread(handle(), undefined)
    const counts = (plugin: ReturnType<typeof podTopologySpread>) => {
      const state = new CycleState()
      plugin.preScore(state, pod({ labels: { foo: '' } }), cache.nodeList())
      return preScoreCounts(state).counts
    }
    const check = (want: Record<string, number>) => {
      assert.deepEqual(counts(kept)[1], want)
      assert.deepEqual(counts(kept), counts(podTopologySpread(handle(), undefined)))
    }
    check({ zone1: 0, zone2: 0 })
    const first = at('node-a', { foo: '' })
    cache.addPod(first)
    cache.addPod(at('node-x', { foo: '' }))
    cache.addPod(at('node-x', { other: '' }))
    check({ zone1: 1, zone2: 1 })
    cache.assume(at('', { foo: '' }), 'node-b')
    check({ zone1: 2, zone2: 1 })
    cache.removePod(first)
    check({ zone1: 1, zone2: 1 })
    // node-x moves to zone1 with its pods (a new NodeInfo in the same place of the list).
    place('node-x', 'zone1')
    check({ zone1: 2 })
    // A node without a zone: its pods count under ''.
    place('node-z')
    cache.addPod(at('node-z', { foo: '' }))
    check({ zone1: 2, '': 1 })
    cache.removeNode('node-b')
    check({ zone1: 1, '': 1 })
  })

  test('counts of two selectors share the nodes’ zones, and stay right after churn makes them forget the zones', () => {
    const cache = new SchedulerCache()
    const place = (name: string, zone: string) =>
      cache.setNode(node(name, { [hostname]: name, [zoneKey]: zone }))
    place('node-a', 'zone1')
    place('node-b', 'zone2')
    place('node-c', 'zone2')
    // Each pod's ReplicaSet selects its own label: foo or bar.
    const selectors = [labelSelectorFromObject(foo), labelSelectorFromObject(bar)]
    const byLabel = (p: Readonly<Pod>) => selectors.find((s) => s.matches(p.metadata?.labels ?? {}))
    const handle = (): Handle => ({ ...fakeHandle([], byLabel), snapshot: cache })
    const kept = podTopologySpread(handle(), undefined)
    const counts = (plugin: ReturnType<typeof podTopologySpread>, label: string) => {
      const state = new CycleState()
      plugin.preScore(state, pod({ labels: { [label]: '' } }), cache.nodeList())
      return preScoreCounts(state).counts[1]
    }
    const check = () => {
      for (const label of ['foo', 'bar']) {
        assert.deepEqual(counts(kept, label), counts(podTopologySpread(handle(), undefined), label), label)
      }
    }
    cache.addPod(at('node-a', { foo: '' }))
    cache.addPod(at('node-c', { bar: '' }))
    cache.addPod(at('node-c', { bar: '' }))
    check()
    assert.deepEqual(counts(kept, 'foo'), { zone1: 1, zone2: 0 })
    assert.deepEqual(counts(kept, 'bar'), { zone1: 0, zone2: 2 })
    // node-b goes through more zones than the plugin keeps for three nodes (2 × 3 + 1024): the
    // zones are forgotten and numbered again (zone2 no longer second), under sums made before,
    // which node-c, unchanged, is still in.
    for (let i = 0; i < 1100; i++) {
      place('node-b', `churn-${i}`)
      counts(kept, i % 2 === 0 ? 'foo' : 'bar')
    }
    place('node-b', 'zone3')
    check()
    assert.deepEqual(counts(kept, 'foo'), { zone1: 1, zone2: 0, zone3: 0 })
    assert.deepEqual(counts(kept, 'bar'), { zone1: 0, zone2: 2, zone3: 0 })
  })

  test("a pod's constraints are parsed once per pod object", () => {
    const p = incoming({ spread: [hard(1, 'zone', foo)] })
    const first = runPreFilter({ pod: p, nodes: abxy() })
    const second = runPreFilter({ pod: p, nodes: abxy() })
    assert.equal(preFilterCounts(first.state)?.constraints[0], preFilterCounts(second.state)?.constraints[0])
  })
})

// --- AddPod and RemovePod -------------------------------------------------------------------------

interface UpdateCase {
  name: string
  preemptor: Pod
  nodes: Node[]
  existing?: Pod[]
  /** The pod added to or removed from nodes[nodeIdx]. */
  pod: Pod
  nodeIdx: number
  want: { counts: Record<string, number>[]; min: number[] }
}

const onNode = (preemptorSpread: TopologySpreadConstraint[], o: PodOptions = {}) =>
  incoming({ ...o, spread: preemptorSpread })

const addPodCases: UpdateCase[] = [
  {
    name: 'adding to the only domain at the minimum raises it',
    preemptor: onNode([hard(1, 'node', foo)]),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1')],
    pod: at('node-a', { foo: '' }),
    nodeIdx: 0,
    want: { counts: [{ 'node-a': 1, 'node-b': 0 }], min: [0] },
  },
  {
    name: 'adding to the last domain at the minimum raises the minimum',
    preemptor: onNode([hard(1, 'node', foo)]),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1')],
    existing: fooOn('node-b'),
    pod: at('node-a', { foo: '' }),
    nodeIdx: 0,
    want: { counts: [{ 'node-a': 1, 'node-b': 1 }], min: [1] },
  },
  {
    name: 'a pod of another namespace changes nothing',
    preemptor: onNode([hard(1, 'node', foo)]),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1')],
    existing: fooOn('node-b'),
    pod: at('node-a', { foo: '' }, { namespace: 'ns1' }),
    nodeIdx: 0,
    want: { counts: [{ 'node-a': 0, 'node-b': 1 }], min: [0] },
  },
  {
    name: 'adding away from the minimum leaves it',
    preemptor: onNode([hard(1, 'node', foo)]),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1')],
    existing: fooOn('node-b'),
    pod: at('node-b', { foo: '' }),
    nodeIdx: 1,
    want: { counts: [{ 'node-a': 0, 'node-b': 2 }], min: [0] },
  },
  {
    name: 'adding counts for both the zone and the node',
    preemptor: onNode([hard(1, 'zone', foo), hard(1, 'node', foo)]),
    nodes: [zoned('node-a', 'zone1'), zoned('node-x', 'zone2')],
    pod: at('node-a', { foo: '' }),
    nodeIdx: 0,
    want: {
      counts: [
        { zone1: 1, zone2: 0 },
        { 'node-a': 1, 'node-x': 0 },
      ],
      min: [0, 0],
    },
  },
  {
    name: 'adding raises both minimums',
    preemptor: onNode([hard(1, 'zone', foo), hard(1, 'node', foo)]),
    nodes: [zoned('node-a', 'zone1'), zoned('node-x', 'zone2')],
    existing: fooOn('node-x'),
    pod: at('node-a', { foo: '' }),
    nodeIdx: 0,
    want: {
      counts: [
        { zone1: 1, zone2: 1 },
        { 'node-a': 1, 'node-x': 1 },
      ],
      min: [1, 1],
    },
  },
  {
    name: 'adding raises the node minimum while the zone minimum stays elsewhere',
    preemptor: onNode([hard(1, 'zone', foo), hard(1, 'node', foo)]),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1'), zoned('node-x', 'zone2')],
    existing: fooOn('node-b', 'node-b', 'node-x'),
    pod: at('node-a', { foo: '' }),
    nodeIdx: 0,
    want: {
      counts: [
        { zone1: 3, zone2: 1 },
        { 'node-a': 1, 'node-b': 2, 'node-x': 1 },
      ],
      min: [1, 1],
    },
  },
  {
    name: 'a pod matching only the zone selector changes only the zone counts',
    preemptor: onNode([hard(1, 'zone', foo), hard(1, 'node', bar)], { labels: { foo: '', bar: '' } }),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1'), zoned('node-x', 'zone2')],
    existing: [
      at('node-b', { foo: '', bar: '' }),
      at('node-x', { foo: '', bar: '' }),
      at('node-x', { bar: '' }),
    ],
    pod: at('node-a', { foo: '' }),
    nodeIdx: 0,
    want: {
      counts: [
        { zone1: 2, zone2: 1 },
        { 'node-a': 0, 'node-b': 1, 'node-x': 2 },
      ],
      min: [1, 0],
    },
  },
  {
    name: 'a pod matching both selectors changes both counts',
    preemptor: onNode([hard(1, 'zone', foo), hard(1, 'node', bar)], { labels: { foo: '', bar: '' } }),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1'), zoned('node-x', 'zone2')],
    existing: [at('node-b', { bar: '' }), at('node-x', { foo: '', bar: '' }), at('node-x', { bar: '' })],
    pod: at('node-a', { foo: '', bar: '' }),
    nodeIdx: 0,
    want: {
      counts: [
        { zone1: 1, zone2: 1 },
        { 'node-a': 1, 'node-b': 1, 'node-x': 2 },
      ],
      min: [1, 1],
    },
  },
  {
    name: "adding to a node the preemptor's node affinity excludes changes nothing",
    preemptor: onNode([hard(1, 'zone', foo)], {
      nodeAffinity: { key: 'foo', operator: 'NotIn', values: ['bar'] },
    }),
    nodes: [zoned('node-a', 'zone1', { foo: 'bar' }), zoned('node-b', 'zone2', { foo: '' })],
    existing: [at('node-a', { foo: '' }), at('node-b', { foo: '' })],
    pod: at('node-a', { foo: '' }),
    nodeIdx: 0,
    want: { counts: [{ zone2: 1 }], min: [1] },
  },
  {
    name: 'adding to a node the preemptor can go to counts',
    preemptor: onNode([hard(1, 'zone', foo)]),
    nodes: [zoned('node-a', 'zone1', { foo: 'bar' }), zoned('node-b', 'zone2', { foo: '' })],
    existing: [at('node-a', { foo: '' }), at('node-b', { foo: '' })],
    pod: at('node-b', { foo: '' }),
    nodeIdx: 1,
    want: { counts: [{ zone1: 1, zone2: 2 }], min: [1] },
  },
  {
    name: 'adding a pod the selector does not match changes nothing',
    preemptor: onNode([hard(1, 'zone', foo)]),
    nodes: [zoned('node-a', 'zone1', { foo: 'bar' }), zoned('node-b', 'zone2', { foo: '' })],
    existing: [at('node-a', { foo: '' }), at('node-b', { foo: '' })],
    pod: at('node-b', { zone: 'zone2' }),
    nodeIdx: 1,
    want: { counts: [{ zone1: 1, zone2: 1 }], min: [1] },
  },
  {
    name: 'with taints ignored, a tainted node keeps counting',
    preemptor: onNode([hard(1, 'zone', foo)], { tolerate: unschedulableTaint.key }),
    nodes: [zoned('node-a', 'zone1', {}, { tainted: true }), zoned('node-b', 'zone2')],
    existing: [at('node-a', { foo: '' }), at('node-b', { foo: '' })],
    pod: at('node-b', { foo: '' }),
    nodeIdx: 1,
    want: { counts: [{ zone1: 1, zone2: 2 }], min: [1] },
  },
]

const removePodCases: UpdateCase[] = [
  {
    name: 'removing from a zone at the minimum lowers it',
    preemptor: onNode([hard(1, 'zone', foo)]),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1'), zoned('node-x', 'zone2')],
    existing: fooOn('node-a', 'node-b', 'node-x'),
    pod: at('node-a', { foo: '' }),
    nodeIdx: 0,
    want: { counts: [{ zone1: 1, zone2: 1 }], min: [1] },
  },
  {
    name: 'removing below the minimum makes a new minimum',
    preemptor: onNode([hard(1, 'zone', foo)]),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-b', 'node-x', 'node-y'),
    pod: at('node-a', { foo: '' }),
    nodeIdx: 0,
    want: { counts: [{ zone1: 1, zone2: 2 }], min: [1] },
  },
  {
    name: 'removing a pod the selector does not match changes nothing',
    preemptor: onNode([hard(1, 'zone', foo)]),
    nodes: abxy(),
    existing: [at('node-a', { bar: '' }), ...fooOn('node-a', 'node-b', 'node-x', 'node-y')],
    pod: at('node-a', { bar: '' }),
    nodeIdx: 0,
    want: { counts: [{ zone1: 2, zone2: 2 }], min: [2] },
  },
  {
    name: 'two constraints both lose the pod',
    preemptor: onNode([hard(1, 'zone', foo), hard(1, 'node', foo)]),
    nodes: [zoned('node-a', 'zone1'), zoned('node-b', 'zone1'), zoned('node-x', 'zone2')],
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-x', 'node-x'),
    pod: at('node-x', { foo: '' }),
    nodeIdx: 2,
    want: {
      counts: [
        { zone1: 3, zone2: 1 },
        { 'node-a': 2, 'node-b': 1, 'node-x': 1 },
      ],
      min: [1, 1],
    },
  },
  {
    name: "removing from a node the preemptor's node affinity excludes changes nothing",
    preemptor: onNode([hard(1, 'zone', foo)], {
      nodeAffinity: { key: 'foo', operator: 'NotIn', values: ['bar'] },
    }),
    nodes: [zoned('node-a', 'zone1', { foo: 'bar' }), zoned('node-b', 'zone2', { foo: '' })],
    existing: [at('node-a', { foo: '' }), at('node-b', { foo: '' })],
    pod: at('node-a', { foo: '' }),
    nodeIdx: 0,
    want: { counts: [{ zone2: 1 }], min: [1] },
  },
  {
    name: 'removing from a node the preemptor can go to counts',
    preemptor: onNode([hard(1, 'zone', foo)]),
    nodes: [zoned('node-a', 'zone1', { foo: 'bar' }), zoned('node-b', 'zone2', { foo: '' })],
    existing: [at('node-a', { foo: '' }), at('node-b', { foo: '' })],
    pod: at('node-b', { foo: '' }),
    nodeIdx: 1,
    want: { counts: [{ zone1: 1, zone2: 0 }], min: [0] },
  },
]

function runUpdate(c: UpdateCase, delta: 1 | -1) {
  const { plugin, state, infos, status } = runPreFilter({
    pod: c.preemptor,
    nodes: c.nodes,
    existing: c.existing,
  })
  assert.equal(status.code, 'Success')
  const target = infos[c.nodeIdx] as NodeInfo
  const s =
    delta === 1
      ? plugin.addPod?.(state, c.preemptor, podInfo(c.pod), target)
      : plugin.removePod?.(state, c.preemptor, podInfo(c.pod), target)
  assert.equal(s?.code, 'Success')
  const got = preFilterCounts(state)
  return got && { counts: got.counts, min: got.min }
}

describe('PodTopologySpread AddPod', () => {
  for (const c of addPodCases) test(c.name, () => assert.deepEqual(runUpdate(c, 1), c.want))
})

describe('PodTopologySpread RemovePod', () => {
  for (const c of removePodCases) test(c.name, () => assert.deepEqual(runUpdate(c, -1), c.want))
})

describe('PodTopologySpread PreFilterExtensions', () => {
  test('the minimum stays exact over a series of changes', () => {
    const preemptor = incoming({ spread: [hard(1, 'zone', foo)] })
    const nodes = [zoned('node-a', 'zone1'), zoned('node-b', 'zone2'), zoned('node-c', 'zone3')]
    const { plugin, state, infos } = runPreFilter({
      pod: preemptor,
      nodes,
      existing: fooOn('node-b', 'node-c', 'node-c'),
    })
    const [a, b, c] = infos as [NodeInfo, NodeInfo, NodeInfo]
    const steps: [NodeInfo, 1 | -1, Record<string, number>, number][] = [
      [a, 1, { zone1: 1, zone2: 1, zone3: 2 }, 1],
      [a, 1, { zone1: 2, zone2: 1, zone3: 2 }, 1],
      [b, 1, { zone1: 2, zone2: 2, zone3: 2 }, 2],
      [c, -1, { zone1: 2, zone2: 2, zone3: 1 }, 1],
      [c, 1, { zone1: 2, zone2: 2, zone3: 2 }, 2],
      [a, -1, { zone1: 1, zone2: 2, zone3: 2 }, 1],
    ]
    for (const [n, delta, counts, min] of steps) {
      const p = podInfo(at(n.name, { foo: '' }))
      if (delta === 1) plugin.addPod?.(state, preemptor, p, n)
      else plugin.removePod?.(state, preemptor, p, n)
      assert.deepEqual(preFilterCounts(state)?.counts, [counts])
      assert.deepEqual(preFilterCounts(state)?.min, [min])
    }
  })

  test('a cloned state changes without touching the original', () => {
    const preemptor = incoming({ spread: [hard(1, 'zone', foo)] })
    const { plugin, state, infos } = runPreFilter({
      pod: preemptor,
      nodes: abxy(),
      existing: fooOn('node-x'),
    })
    const copy = state.clone()
    plugin.removePod?.(copy, preemptor, podInfo(at('node-x', { foo: '' })), infos[2] as NodeInfo)
    assert.deepEqual(preFilterCounts(copy)?.counts, [{ zone1: 0, zone2: 0 }])
    assert.deepEqual(preFilterCounts(state)?.counts, [{ zone1: 0, zone2: 1 }])
    assert.deepEqual(preFilterCounts(state)?.min, [0])
  })

  test('without PreFilter state, AddPod is an error', () => {
    const plugin = podTopologySpread(fakeHandle([]), listArgs())
    const n = new NodeInfo(zoned('node-a', 'zone1'))
    const s = plugin.addPod?.(new CycleState(), incoming({}), podInfo(at('node-a')), n)
    assert.equal(s?.code, 'Error')
  })
})

// --- Filter -------------------------------------------------------------------------------------

interface FilterCase {
  name: string
  pod: Pod
  nodes: Node[]
  existing?: Pod[]
  /** Each node's status code. */
  want: Record<string, string>
}

const ok = 'Success'
const skewed = 'Unschedulable'
const missing = 'UnschedulableAndUnresolvable'

const singleConstraintCases: FilterCase[] = [
  {
    name: 'without existing pods every node fits',
    pod: incoming({ spread: [hard(1, 'zone', foo)] }),
    nodes: abxy(),
    want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok },
  },
  {
    name: 'without existing pods every node fits a pod that does not match itself',
    pod: incoming({ spread: [hard(1, 'zone', bar)] }),
    nodes: abxy(),
    want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok },
  },
  {
    name: 'pods of other namespaces do not count',
    pod: incoming({ spread: [hard(1, 'zone', foo)] }),
    nodes: abxy(),
    existing: [
      at('node-a', { foo: '' }, { namespace: 'ns1' }),
      at('node-a', { foo: '' }, { namespace: 'ns2' }),
      ...fooOn('node-x', 'node-y'),
    ],
    want: { 'node-a': ok, 'node-b': ok, 'node-x': skewed, 'node-y': skewed },
  },
  {
    name: 'no existing pod matches a constraint without a labelSelector',
    pod: incoming({ spread: [hard(1, 'zone', undefined)] }),
    nodes: abxy(),
    existing: fooOn('node-x', 'node-y'),
    want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok },
  },
  {
    name: 'zones at 3/3 fit everywhere',
    pod: incoming({ spread: [hard(1, 'zone', foo)] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y', 'node-y'),
    want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok },
  },
  {
    name: 'a node without the zone label is rejected, and its pods do not count (zones at 1/2)',
    pod: incoming({ spread: [hard(1, 'zone', foo)] }),
    nodes: [
      zoned('node-a', 'zone1'),
      node('node-b', { zon: 'zone1', node: 'node-b' }),
      zoned('node-x', 'zone2'),
      zoned('node-y', 'zone2'),
    ],
    existing: fooOn('node-a', 'node-b', 'node-x', 'node-y'),
    want: { 'node-a': ok, 'node-b': missing, 'node-x': skewed, 'node-y': skewed },
  },
  {
    name: 'no node has the rack label',
    pod: incoming({ spread: [hard(1, 'rack', foo)] }),
    nodes: [zoned('node-a', 'zone1'), zoned('node-x', 'zone2')],
    want: { 'node-a': missing, 'node-x': missing },
  },
  {
    name: 'nodes at 2/1/0/3 with maxSkew 1: only the empty node fits',
    pod: incoming({ spread: [hard(1, 'node', foo)] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': skewed },
  },
  {
    name: 'nodes at 2/1/0/3 with maxSkew 2: node-b and node-x fit',
    pod: incoming({ spread: [hard(2, 'node', foo)] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y', 'node-y'),
    want: { 'node-a': skewed, 'node-b': ok, 'node-x': ok, 'node-y': skewed },
  },
  {
    name: 'nodes at 2/1/0/3 and a pod that does not match itself: node-b and node-x fit',
    pod: incoming({ labels: { bar: '' }, spread: [hard(1, 'node', foo)] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y', 'node-y'),
    want: { 'node-a': skewed, 'node-b': ok, 'node-x': ok, 'node-y': skewed },
  },
  {
    // Only node-a and node-y are domains (2/3), so node-a fits; the others are NodeAffinity's to reject.
    name: 'with node affinity for node-a and node-y, nodes at 2/~1~/~0~/3: node-a fits',
    pod: incoming({
      nodeAffinity: { key: 'node', operator: 'In', values: ['node-a', 'node-y'] },
      spread: [hard(1, 'node', foo)],
    }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y', 'node-y'),
    want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': skewed },
  },
  {
    name: 'terminating pods do not count',
    pod: incoming({ spread: [hard(1, 'node', foo)] }),
    nodes: named('node-a', 'node-b'),
    existing: [at('node-a', { foo: '' }, { terminating: true }), at('node-b', { foo: '' })],
    want: { 'node-a': ok, 'node-b': skewed },
  },
  {
    name: 'with node affinity excluding node-b, zones at 0/1: zone1 fits',
    pod: incoming({
      nodeAffinity: { key: 'node', operator: 'NotIn', values: ['node-b'] },
      spread: [hard(1, 'zone', foo)],
    }),
    nodes: abxy(),
    existing: fooOn('node-b', 'node-b', 'node-y'),
    want: { 'node-a': ok, 'node-b': ok, 'node-x': skewed, 'node-y': skewed },
  },
  {
    name: 'nodes at 2/2/1, maxSkew 2, fewer domains than minDomains: only the third node fits',
    pod: incoming({ spread: [hard(2, 'node', foo, { minDomains: 4 })] }),
    nodes: named('node-a', 'node-b', 'node-c'),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-b', 'node-c'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-c': ok },
  },
  {
    name: 'nodes at 2/2/1, maxSkew 2, more domains than minDomains: all fit',
    pod: incoming({ spread: [hard(2, 'node', foo, { minDomains: 2 })] }),
    nodes: named('node-a', 'node-b', 'node-c'),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-b', 'node-c'),
    want: { 'node-a': ok, 'node-b': ok, 'node-c': ok },
  },
  {
    name: 'zones at 2/1, maxSkew 2, fewer domains than minDomains: zone2 fits',
    pod: incoming({ spread: [hard(2, 'zone', foo, { minDomains: 3 })] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': ok },
  },
  {
    name: 'zones at 2/1, maxSkew 2, as many domains as minDomains: all fit',
    pod: incoming({ spread: [hard(2, 'zone', foo, { minDomains: 1 })] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok },
  },
  {
    // Nodes at 1/1/0/~0~; node-y is NodeAffinity's to reject.
    name: 'nodeAffinityPolicy Honor with a nodeSelector',
    pod: incoming({ nodeSelector: { foo: '' }, spread: [hard(1, 'node', foo)] }),
    nodes: [...['node-a', 'node-b', 'node-x'].map((n) => node(n, { node: n, foo: '' })), ...named('node-y')],
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': ok },
  },
  {
    // Nodes at 1/1/0/1.
    name: 'nodeAffinityPolicy Ignore with a nodeSelector',
    pod: incoming({
      nodeSelector: { foo: '' },
      spread: [hard(1, 'node', foo, { nodeAffinityPolicy: 'Ignore' })],
    }),
    nodes: [...['node-a', 'node-b', 'node-x'].map((n) => node(n, { node: n, foo: '' })), ...named('node-y')],
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': skewed },
  },
  {
    name: 'nodeAffinityPolicy Honor with required node affinity',
    pod: incoming({
      nodeAffinity: { key: 'foo', operator: 'In', values: [''] },
      spread: [hard(1, 'node', foo)],
    }),
    nodes: [...['node-a', 'node-b', 'node-x'].map((n) => node(n, { node: n, foo: '' })), ...named('node-y')],
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': ok },
  },
  {
    name: 'nodeAffinityPolicy Ignore with required node affinity',
    pod: incoming({
      nodeAffinity: { key: 'foo', operator: 'In', values: [''] },
      spread: [hard(1, 'node', foo, { nodeAffinityPolicy: 'Ignore' })],
    }),
    nodes: [...['node-a', 'node-b', 'node-x'].map((n) => node(n, { node: n, foo: '' })), ...named('node-y')],
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': skewed },
  },
  {
    // Nodes at 1/1/0/~0~; node-y is TaintToleration's to reject.
    name: 'nodeTaintsPolicy Honor',
    pod: incoming({ spread: [hard(1, 'node', foo, { nodeTaintsPolicy: 'Honor' })] }),
    nodes: [
      ...['node-a', 'node-b', 'node-x'].map((n) => node(n, { node: n, foo: '' })),
      node('node-y', { node: 'node-y' }, { tainted: true }),
    ],
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': ok },
  },
  {
    name: 'nodeTaintsPolicy Ignore',
    pod: incoming({ spread: [hard(1, 'node', foo)] }),
    nodes: [
      ...['node-a', 'node-b', 'node-x'].map((n) => node(n, { node: n, foo: '' })),
      node('node-y', { node: 'node-y' }, { tainted: true }),
    ],
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': skewed },
  },
]

const multipleConstraintCases: FilterCase[] = [
  {
    // zone: any node; node: node-x.
    name: 'zone and node spread as [3/3, 2/1/0/3]: node-x fits',
    pod: incoming({ spread: [hard(1, 'zone', foo), hard(1, 'node', foo)] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': skewed },
  },
  {
    // zone: zone1; node: node-x.
    name: 'zone and node spread as [3/4, 2/1/0/4]: nothing fits',
    pod: incoming({ spread: [hard(1, 'zone', foo), hard(1, 'node', foo)] }),
    nodes: abxy(),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-y', 'node-y', 'node-y', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': skewed, 'node-y': skewed },
  },
  {
    name: 'different selectors spread as [1/0, 1/0/0/1]: node-x fits',
    pod: incoming({ labels: { foo: '', bar: '' }, spread: [hard(1, 'zone', foo), hard(1, 'node', bar)] }),
    nodes: abxy(),
    existing: [at('node-a', { foo: '' }), at('node-y', { bar: '' })],
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': skewed },
  },
  {
    name: 'different selectors spread as [1/0, 0/0/1/1]: nothing fits',
    pod: incoming({ labels: { foo: '', bar: '' }, spread: [hard(1, 'zone', foo), hard(1, 'node', bar)] }),
    nodes: abxy(),
    existing: [at('node-a', { foo: '' }), at('node-x', { bar: '' }), at('node-y', { bar: '' })],
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': skewed, 'node-y': skewed },
  },
  {
    name: 'different selectors spread as [2/3, 1/0/0/1]: node-b fits',
    pod: incoming({ labels: { foo: '', bar: '' }, spread: [hard(1, 'zone', foo), hard(1, 'node', bar)] }),
    nodes: abxy(),
    existing: [
      at('node-a', { foo: '' }),
      at('node-a', { foo: '', bar: '' }),
      at('node-y', { foo: '' }),
      at('node-y', { foo: '', bar: '' }),
      at('node-y', { foo: '' }),
    ],
    want: { 'node-a': skewed, 'node-b': ok, 'node-x': skewed, 'node-y': skewed },
  },
  {
    name: 'a pod that does not match the zone selector may go to any zone',
    pod: incoming({ labels: { bar: '' }, spread: [hard(1, 'zone', foo), hard(1, 'node', bar)] }),
    nodes: abxy(),
    existing: [at('node-a', { foo: '' }), at('node-x', { bar: '' }), at('node-y', { bar: '' })],
    want: { 'node-a': ok, 'node-b': ok, 'node-x': skewed, 'node-y': skewed },
  },
  {
    name: 'node-x lacks the node label, spreads [1/1, 1/0/~0~/1]: node-b fits',
    pod: incoming({ spread: [hard(1, 'zone', foo), hard(1, 'node', foo)] }),
    nodes: [
      zoned('node-a', 'zone1'),
      zoned('node-b', 'zone1'),
      node('node-x', { zone: 'zone2' }),
      zoned('node-y', 'zone2'),
    ],
    existing: fooOn('node-a', 'node-y'),
    want: { 'node-a': skewed, 'node-b': ok, 'node-x': missing, 'node-y': skewed },
  },
  {
    // zone: 2/~0~; node: 1/1/0/~1~.
    name: 'zone honors the nodeSelector, node ignores it',
    pod: incoming({
      nodeSelector: { foo: '' },
      spread: [hard(1, 'zone', foo), hard(1, 'node', foo, { nodeAffinityPolicy: 'Ignore' })],
    }),
    nodes: [
      zoned('node-a', 'zone1', { foo: '' }),
      zoned('node-b', 'zone1', { foo: '' }),
      zoned('node-x', 'zone2', { foo: '' }),
      zoned('node-y', 'zone2'),
    ],
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': skewed },
  },
  {
    // zone: 2/0; node: 1/1/0/1.
    name: 'zone honors taints, node ignores them',
    pod: incoming({ spread: [hard(1, 'zone', foo, { nodeTaintsPolicy: 'Honor' }), hard(1, 'node', foo)] }),
    nodes: [
      zoned('node-a', 'zone1', { foo: '' }),
      zoned('node-b', 'zone1', { foo: '' }),
      zoned('node-x', 'zone2', { foo: '' }),
      zoned('node-y', 'zone2', {}, { tainted: true }),
    ],
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': skewed },
  },
  {
    // zone: 1/1; node: 1/~1~/0/1.
    name: 'both honor the nodeSelector, neither honors taints',
    pod: incoming({ nodeSelector: { foo: '' }, spread: [hard(1, 'zone', foo), hard(1, 'node', foo)] }),
    nodes: [
      zoned('node-a', 'zone1', { foo: '' }),
      zoned('node-b', 'zone1'),
      zoned('node-x', 'zone2', { foo: '' }),
      zoned('node-y', 'zone2', { foo: '' }, { tainted: true }),
    ],
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': ok, 'node-x': ok, 'node-y': skewed },
  },
  {
    // zone: 1/0; node: 1/1/0/1.
    name: 'zone honors the nodeSelector and taints, node ignores the nodeSelector',
    pod: incoming({
      nodeSelector: { foo: '' },
      spread: [
        hard(1, 'zone', foo, { nodeTaintsPolicy: 'Honor' }),
        hard(1, 'node', foo, { nodeAffinityPolicy: 'Ignore' }),
      ],
    }),
    nodes: [
      zoned('node-a', 'zone1', { foo: '' }),
      zoned('node-b', 'zone1'),
      zoned('node-x', 'zone2', { foo: '' }),
      zoned('node-y', 'zone2', { foo: '' }, { tainted: true }),
    ],
    existing: fooOn('node-a', 'node-b', 'node-y'),
    want: { 'node-a': skewed, 'node-b': skewed, 'node-x': ok, 'node-y': skewed },
  },
]

function runFilter(c: FilterCase): Record<string, string> {
  const { plugin, state, infos, status } = runPreFilter(c)
  assert.equal(status.code, 'Success')
  return Object.fromEntries(infos.map((n) => [n.name, plugin.filter(state, c.pod, n).code]))
}

describe('PodTopologySpread Filter, one constraint', () => {
  for (const c of singleConstraintCases) test(c.name, () => assert.deepEqual(runFilter(c), c.want))
})

describe('PodTopologySpread Filter, several constraints', () => {
  for (const c of multipleConstraintCases) test(c.name, () => assert.deepEqual(runFilter(c), c.want))
})

describe('PodTopologySpread Filter reasons', () => {
  test('a skew too large is Unschedulable; a missing topology label is unresolvable', () => {
    const p = incoming({ spread: [hard(1, 'zone', foo)] })
    const nodes = [zoned('node-a', 'zone1'), zoned('node-x', 'zone2'), node('node-c', { node: 'node-c' })]
    const { plugin, state, infos } = runPreFilter({ pod: p, nodes, existing: fooOn('node-a') })
    const [a, x, c] = infos as [NodeInfo, NodeInfo, NodeInfo]
    assert.equal(verdict(plugin.filter(state, p, a)), `Unschedulable: ${reasonConstraintsNotMatch}`)
    assert.equal(verdict(plugin.filter(state, p, x)), 'Success')
    assert.equal(
      verdict(plugin.filter(state, p, c)),
      "UnschedulableAndUnresolvable: node(s) didn't match pod topology spread constraints (missing required label)",
    )
    assert.equal(reasonNodeLabelNotMatch, `${reasonConstraintsNotMatch} (missing required label)`)
  })

  test('without PreFilter state, Filter is an error', () => {
    const plugin = podTopologySpread(fakeHandle([]), listArgs())
    const s = plugin.filter(new CycleState(), incoming({}), new NodeInfo(zoned('node-a', 'zone1')))
    assert.equal(verdict(s), 'Error: reading "PreFilterPodTopologySpread" from cycleState: not found')
  })

  test('a pod PreFilter skipped fits every node', () => {
    const { plugin, state, infos, status } = runPreFilter({ pod: incoming({}), nodes: abxy() })
    assert.equal(status.code, 'Skip')
    for (const n of infos) assert.equal(plugin.filter(state, incoming({}), n).code, 'Success')
  })

  test('the framework reports both reasons with their node counts', () => {
    // One domain, fewer than minDomains: the global minimum is 0, so zone1 (1 pod) is too full.
    const p = incoming({ spread: [hard(1, 'zone', foo, { minDomains: 2 })] })
    const infos = cluster([zoned('node-a', 'zone1'), node('node-c', { node: 'node-c' })], fooOn('node-a'))
    const plugin = podTopologySpread(fakeHandle(infos), listArgs())
    const fw = new Framework({
      schedulerName: 'default-scheduler',
      preFilter: [plugin],
      filter: [plugin],
      preScore: [],
      score: [],
    })
    assert.throws(
      () => fw.schedule(p, infos),
      (e: unknown) =>
        e instanceof FitError &&
        e.message ===
          "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 node(s) didn't match pod topology spread constraints (missing required label).",
    )
  })
})

// --- PreScore -------------------------------------------------------------------------------------

describe('PodTopologySpread PreScore', () => {
  test('a pod without soft constraints is skipped', () => {
    const infos = cluster(hosts('node-a', 'node-b'), [])
    const plugin = podTopologySpread(fakeHandle(infos), listArgs())
    assert.equal(plugin.preScore(new CycleState(), incoming({}), infos).code, 'Skip')
  })

  test('default constraints are skipped when no owner selects the pod', () => {
    const infos = cluster([node('node-a', { planet: 'mars' })], [])
    const plugin = podTopologySpread(
      fakeHandle(infos, selectedBy(exists('tar'))),
      listArgs([{ maxSkew: 2, topologyKey: 'planet', whenUnsatisfiable: 'ScheduleAnyway' }]),
    )
    const p = incoming({ labels: { foo: 'bar', baz: 'sup' } })
    assert.equal(plugin.preScore(new CycleState(), p, infos).code, 'Skip')
  })

  test('the system defaults cost one default selector look-up for a pod nothing selects', () => {
    let lookups = 0
    const infos = cluster(abxy(), [])
    const plugin = podTopologySpread(
      fakeHandle(infos, () => {
        lookups++
        return undefined
      }),
      undefined,
    )
    const p = incoming({})
    const state = new CycleState()
    assert.equal(plugin.preFilter(state, p, infos).status.code, 'Skip')
    assert.equal(plugin.preScore(state, p, infos).code, 'Skip')
    const scores = infos.map((n) => ({ name: n.name, score: plugin.score(state, p, n) }))
    plugin.normalizeScores?.(state, p, scores)
    assert.deepEqual(
      scores.map((s) => s.score),
      [0, 0, 0, 0],
    )
    assert.equal(lookups, 1)
  })

  const w = topologyNormalizingWeight
  const cases: {
    name: string
    pod: Pod
    nodes: Node[]
    args?: Record<string, unknown>
    defaultSelector?: (pod: Readonly<Pod>) => LabelSelector | undefined
    want: {
      constraints: string[]
      ignoredNodes: string[]
      counts: Record<string, number>[]
      weights: number[]
    }
  }[] = [
    {
      name: 'domains of the feasible nodes, weighted by their number (hostname: one per node)',
      pod: incoming({ spread: [soft(1, 'zone', foo), soft(1, hostname, foo)] }),
      nodes: ['node-a', 'node-b', 'node-x'].map((n, i) =>
        node(n, { zone: i < 2 ? 'zone1' : 'zone2', [hostname]: n }),
      ),
      want: {
        constraints: ['zone maxSkew=1 selector=foo', `${hostname} maxSkew=1 selector=foo`],
        ignoredNodes: [],
        counts: [{ zone1: 0, zone2: 0 }, {}],
        weights: [w(2), w(3)],
      },
    },
    {
      name: 'a constraint without a labelSelector',
      pod: incoming({ spread: [soft(1, 'zone', undefined)] }),
      nodes: ['node-a', 'node-b', 'node-x'].map((n, i) =>
        node(n, { zone: i < 2 ? 'zone1' : 'zone2', [hostname]: n }),
      ),
      want: {
        constraints: ['zone maxSkew=1 selector=nothing'],
        ignoredNodes: [],
        counts: [{ zone1: 0, zone2: 0 }],
        weights: [w(2)],
      },
    },
    {
      name: 'a node without the zone label is ignored',
      pod: incoming({ spread: [soft(1, 'zone', foo), soft(1, hostname, bar)] }),
      nodes: [
        node('node-a', { zone: 'zone1', [hostname]: 'node-a' }),
        node('node-b', { zone: 'zone1', [hostname]: 'node-b' }),
        node('node-x', { [hostname]: 'node-x' }),
      ],
      want: {
        constraints: ['zone maxSkew=1 selector=foo', `${hostname} maxSkew=1 selector=bar`],
        ignoredNodes: ['node-x'],
        counts: [{ zone1: 0 }, {}],
        weights: [w(1), w(2)],
      },
    },
    {
      name: 'with the system defaults, nodes without a zone form a zone of their own',
      pod: incoming({ labels: { foo: 'tar', baz: 'sup' } }),
      args: {},
      defaultSelector: selectedBy(foo),
      nodes: [
        node('node-a', { [hostname]: 'node-a', [zoneKey]: 'mars' }),
        node('node-b', { [hostname]: 'node-b', [zoneKey]: 'mars' }),
        node('node-c', { [hostname]: 'node-c' }),
        node('node-d', { [hostname]: 'node-d' }),
      ],
      want: {
        constraints: [`${hostname} maxSkew=3 selector=foo`, `${zoneKey} maxSkew=5 selector=foo`],
        ignoredNodes: [],
        counts: [{}, { mars: 0, '': 0 }],
        weights: [w(4), w(2)],
      },
    },
    {
      name: 'listed default constraints, soft ones only',
      pod: incoming({ labels: { foo: 'tar', baz: 'sup' } }),
      args: listArgs([
        { maxSkew: 1, topologyKey: hostname, whenUnsatisfiable: 'ScheduleAnyway' },
        { maxSkew: 2, topologyKey: 'rack', whenUnsatisfiable: 'DoNotSchedule' },
        { maxSkew: 2, topologyKey: 'planet', whenUnsatisfiable: 'ScheduleAnyway' },
      ]),
      defaultSelector: selectedBy(foo),
      nodes: [node('node-a', { rack: 'rack1', [hostname]: 'node-a', planet: 'mars' })],
      want: {
        constraints: [`${hostname} maxSkew=1 selector=foo`, 'planet maxSkew=2 selector=foo'],
        ignoredNodes: [],
        counts: [{}, { mars: 0 }],
        weights: [w(1), w(1)],
      },
    },
    {
      name: 'default constraints do not apply to a pod with constraints of its own',
      pod: incoming({
        labels: { foo: 'bar', baz: 'sup' },
        spread: [hard(1, 'zone', bar), soft(2, 'planet', labelled({ baz: 'sup' }))],
      }),
      args: listArgs([{ maxSkew: 2, topologyKey: 'galaxy', whenUnsatisfiable: 'ScheduleAnyway' }]),
      defaultSelector: selectedBy(foo),
      nodes: [node('node-a', { planet: 'mars', galaxy: 'andromeda' })],
      want: {
        constraints: ['planet maxSkew=2 selector=baz=sup'],
        ignoredNodes: [],
        counts: [{ mars: 0 }],
        weights: [w(1)],
      },
    },
    {
      name: 'node inclusion policies do not change which domains are scored',
      pod: incoming({
        nodeSelector: { foo: '' },
        spread: [soft(1, 'zone', bar, { nodeAffinityPolicy: 'Ignore', nodeTaintsPolicy: 'Honor' })],
      }),
      nodes: [
        node('node-a', { zone: 'zone1', foo: '', [hostname]: 'node-a' }),
        node('node-b', { zone: 'zone1', foo: '', [hostname]: 'node-b' }),
        node('node-x', { zone: 'zone2', [hostname]: 'node-x' }, { tainted: true }),
      ],
      want: {
        constraints: ['zone maxSkew=1 selector=bar nodeAffinityPolicy=Ignore nodeTaintsPolicy=Honor'],
        ignoredNodes: [],
        counts: [{ zone1: 0, zone2: 0 }],
        weights: [w(2)],
      },
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const infos = cluster(c.nodes, [])
      const plugin = podTopologySpread(fakeHandle(infos, c.defaultSelector), c.args ?? listArgs())
      const state = new CycleState()
      assert.equal(plugin.preScore(state, c.pod, infos).code, 'Success')
      const got = preScoreCounts(state)
      assert.deepEqual({ ...got, constraints: got.constraints.map(describeConstraint) }, c.want)
    })
  }

  test('a labelSelector that does not parse is an error', () => {
    const bad: LabelSelectorObject = { matchExpressions: [{ key: 'foo', operator: 'Near' }] }
    const infos = cluster(abxy(), [])
    const plugin = podTopologySpread(fakeHandle(infos), listArgs())
    const s = plugin.preScore(new CycleState(), incoming({ spread: [soft(1, 'zone', bad)] }), infos)
    assert.equal(s.code, 'Error')
    assert.match(
      s.reasons[0] ?? '',
      /^calculating preScoreState: obtaining pod's soft topology spread constraints: /,
    )
  })
})

// --- Score ----------------------------------------------------------------------------------------

interface ScoreCase {
  name: string
  pod: Pod
  existing?: Pod[]
  /** The feasible nodes, scored in this order. */
  nodes: Node[]
  /** Nodes that did not pass the filters (their pods still count). */
  failedNodes?: Node[]
  defaultSelector?: (pod: Readonly<Pod>) => LabelSelector | undefined
  want: number[]
}

const at2103 = () => fooOn('node-a', 'node-a', 'node-b', 'node-d', 'node-d', 'node-d')
const at4321 = () =>
  fooOn('node-a', 'node-a', 'node-a', 'node-a', 'node-b', 'node-b', 'node-b', 'node-c', 'node-c', 'node-d')
const at4213 = () =>
  fooOn('node-a', 'node-a', 'node-a', 'node-a', 'node-b', 'node-b', 'node-x', 'node-y', 'node-y', 'node-y')
const zonedHosts = (...specs: [string, string][]) =>
  specs.map(([n, zone]) => node(n, { zone, [hostname]: n }))
const fooNodes = () => [
  node('node-a', { node: 'node-a', foo: '' }),
  node('node-b', { node: 'node-b', foo: '' }),
  node('node-c', { node: 'node-c' }),
]

const scoreCases: ScoreCase[] = [
  {
    name: 'one constraint on hosts without existing pods: all nodes score 100',
    pod: incoming({ spread: [soft(1, hostname, foo)] }),
    nodes: hosts('node-a', 'node-b'),
    want: [100, 100],
  },
  {
    name: 'the only candidate scores 100',
    pod: incoming({ spread: [soft(1, hostname, foo)] }),
    existing: fooOn('node-a', 'node-a', 'node-b'),
    nodes: hosts('node-a'),
    failedNodes: hosts('node-b'),
    want: [100],
  },
  {
    name: 'nodes with as many matching pods score the same',
    pod: incoming({ spread: [soft(1, hostname, foo)] }),
    existing: fooOn('node-a', 'node-b'),
    nodes: hosts('node-a', 'node-b'),
    want: [100, 100],
  },
  {
    name: 'hosts at 2/1/0/3',
    pod: incoming({ spread: [soft(1, hostname, foo)] }),
    existing: at2103(),
    nodes: hosts('node-a', 'node-b', 'node-c', 'node-d'),
    want: [20, 60, 100, 0],
  },
  {
    name: 'a constraint without a labelSelector scores every node 100',
    pod: incoming({ spread: [soft(1, hostname, undefined)] }),
    existing: at2103(),
    nodes: hosts('node-a', 'node-b', 'node-c', 'node-d'),
    want: [100, 100, 100, 100],
  },
  {
    name: 'hosts at 2/1/0/3 with maxSkew 2',
    pod: incoming({ spread: [soft(2, hostname, foo)] }),
    existing: at2103(),
    nodes: hosts('node-a', 'node-b', 'node-c', 'node-d'),
    want: [33, 66, 100, 16],
  },
  {
    name: 'hosts at 4/3/2/1 with maxSkew 3',
    pod: incoming({ spread: [soft(3, hostname, foo)] }),
    existing: at4321(),
    nodes: hosts('node-a', 'node-b', 'node-c', 'node-d'),
    want: [44, 66, 77, 100],
  },
  {
    name: 'system defaults on nodes without zones score as the hostname constraint alone',
    pod: incoming({}),
    existing: at4321(),
    nodes: hosts('node-a', 'node-b', 'node-c', 'node-d'),
    defaultSelector: selectedBy(labelled({ foo: '' })),
    want: [44, 66, 77, 100],
  },
  {
    name: 'hosts at 4/2/1/~3~: three of four nodes are candidates',
    pod: incoming({ spread: [soft(1, hostname, foo)] }),
    existing: at4213(),
    nodes: hosts('node-a', 'node-b', 'node-x'),
    failedNodes: hosts('node-y'),
    want: [33, 83, 100],
  },
  {
    name: 'a candidate without the topology label scores 0',
    pod: incoming({ spread: [soft(1, hostname, foo)] }),
    existing: at4213(),
    nodes: [
      node('node-a', { [hostname]: 'node-a' }),
      node('node-b', { n: 'node-b' }),
      node('node-x', { [hostname]: 'node-x' }),
    ],
    failedNodes: hosts('node-y'),
    want: [16, 0, 100],
  },
  {
    name: 'one constraint on zones, three of four nodes are candidates',
    pod: incoming({ spread: [soft(1, 'zone', foo)] }),
    existing: at4213(),
    nodes: zonedHosts(['node-a', 'zone1'], ['node-b', 'zone1'], ['node-x', 'zone2']),
    failedNodes: zonedHosts(['node-y', 'zone2']),
    want: [75, 75, 100],
  },
  {
    name: 'zones and hosts, two of four nodes are candidates',
    pod: incoming({ spread: [soft(1, 'zone', foo), soft(1, hostname, foo)] }),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-x', 'node-x', 'node-y', 'node-y', 'node-y', 'node-y'),
    nodes: zonedHosts(['node-a', 'zone1'], ['node-x', 'zone2']),
    failedNodes: zonedHosts(['node-b', 'zone1'], ['node-y', 'zone2']),
    want: [100, 63],
  },
  {
    // Zones (foo): zone1 2, zone2 1; hosts (bar): 0/1/0/1.
    name: 'zones and hosts with different selectors',
    pod: incoming({ labels: { foo: '', bar: '' }, spread: [soft(1, 'zone', foo), soft(1, hostname, bar)] }),
    existing: [
      at('node-a', { foo: '' }),
      at('node-b', { foo: '', bar: '' }),
      at('node-y', { foo: '' }),
      at('node-y', { bar: '' }),
    ],
    nodes: zonedHosts(['node-a', 'zone1'], ['node-b', 'zone1'], ['node-x', 'zone2'], ['node-y', 'zone2']),
    want: [60, 20, 100, 60],
  },
  {
    name: 'zones and hosts with different selectors, some nodes without pods',
    pod: incoming({ labels: { foo: '', bar: '' }, spread: [soft(1, 'zone', foo), soft(1, hostname, bar)] }),
    existing: [at('node-b', { bar: '' }), at('node-x', { foo: '' }), at('node-y', { foo: '', bar: '' })],
    nodes: zonedHosts(['node-a', 'zone1'], ['node-b', 'zone1'], ['node-x', 'zone2'], ['node-y', 'zone2']),
    want: [100, 60, 40, 0],
  },
  {
    name: 'zones and hosts with different selectors, three of four nodes are candidates',
    pod: incoming({ labels: { foo: '', bar: '' }, spread: [soft(1, 'zone', foo), soft(1, hostname, bar)] }),
    existing: [
      at('node-a', { foo: '' }),
      at('node-b', { foo: '', bar: '' }),
      at('node-y', { foo: '' }),
      at('node-y', { bar: '' }),
    ],
    nodes: zonedHosts(['node-a', 'zone1'], ['node-b', 'zone1'], ['node-x', 'zone2']),
    failedNodes: zonedHosts(['node-y', 'zone2']),
    want: [50, 25, 100],
  },
  {
    name: 'pods of other namespaces do not count',
    pod: incoming({ spread: [soft(1, hostname, foo)] }),
    existing: [at('node-a', { foo: '' }, { namespace: 'ns1' }), ...fooOn('node-a', 'node-b', 'node-b')],
    nodes: hosts('node-a', 'node-b'),
    want: [100, 33],
  },
  {
    name: 'terminating pods do not count',
    pod: incoming({ spread: [soft(1, hostname, foo)] }),
    existing: [at('node-a', { foo: '' }, { terminating: true }), at('node-b', { foo: '' })],
    nodes: hosts('node-a', 'node-b'),
    want: [100, 0],
  },
  {
    name: 'minDomains does not matter for scoring',
    pod: incoming({ spread: [soft(2, 'node', foo, { minDomains: 10 })] }),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-b', 'node-c'),
    nodes: named('node-a', 'node-b', 'node-c'),
    want: [75, 75, 100],
  },
  {
    name: 'nodeAffinityPolicy Honor: pods on nodes the nodeSelector excludes do not count',
    pod: incoming({ nodeSelector: { foo: '' }, spread: [soft(1, 'node', foo)] }),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-c'),
    nodes: fooNodes(),
    want: [0, 33, 100],
  },
  {
    name: 'nodeAffinityPolicy Ignore: pods on nodes the nodeSelector excludes count',
    pod: incoming({
      nodeSelector: { foo: '' },
      spread: [soft(1, 'node', foo, { nodeAffinityPolicy: 'Ignore' })],
    }),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-c'),
    nodes: fooNodes(),
    want: [66, 100, 100],
  },
  {
    name: 'nodeAffinityPolicy Honor with required node affinity',
    pod: incoming({
      nodeAffinity: { key: 'foo', operator: 'In', values: [''] },
      spread: [soft(1, 'node', foo)],
    }),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-c'),
    nodes: fooNodes(),
    want: [0, 33, 100],
  },
  {
    name: 'nodeAffinityPolicy Ignore with required node affinity',
    pod: incoming({
      nodeAffinity: { key: 'foo', operator: 'In', values: [''] },
      spread: [soft(1, 'node', foo, { nodeAffinityPolicy: 'Ignore' })],
    }),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-c'),
    nodes: fooNodes(),
    want: [66, 100, 100],
  },
  {
    name: 'nodeTaintsPolicy Honor: pods on tainted nodes do not count',
    pod: incoming({ spread: [soft(1, 'node', foo, { nodeTaintsPolicy: 'Honor' })] }),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-c'),
    nodes: [...named('node-a', 'node-b'), node('node-c', { node: 'node-c' }, { tainted: true })],
    want: [0, 33, 100],
  },
  {
    name: 'nodeTaintsPolicy Ignore: pods on tainted nodes count',
    pod: incoming({ spread: [soft(1, 'node', foo)] }),
    existing: fooOn('node-a', 'node-a', 'node-b', 'node-c'),
    nodes: [...named('node-a', 'node-b'), node('node-c', { node: 'node-c' }, { tainted: true })],
    want: [66, 100, 100],
  },
  {
    name: 'matchLabelKeys make empty labelSelectors select',
    pod: incoming({
      labels: { foo: '', bar: '' },
      spread: [
        soft(1, 'zone', {}, { matchLabelKeys: ['foo'] }),
        soft(1, hostname, {}, { matchLabelKeys: ['bar'] }),
      ],
    }),
    existing: [
      at('node-a', { foo: '' }),
      at('node-b', { foo: '', bar: '' }),
      at('node-c', { foo: '' }),
      at('node-c', { bar: '' }),
    ],
    nodes: zonedHosts(['node-a', 'zone1'], ['node-b', 'zone1'], ['node-c', 'zone2'], ['node-d', 'zone2']),
    want: [60, 20, 60, 100],
  },
  {
    name: 'matchLabelKeys are ANDed with a labelSelector',
    pod: incoming({
      labels: { foo: '', bar: '', baz: '' },
      spread: [soft(1, 'zone', foo), soft(1, hostname, bar, { matchLabelKeys: ['baz'] })],
    }),
    existing: [
      at('node-a', { foo: '' }),
      at('node-b', { foo: '', bar: '', baz: '' }),
      at('node-c', { foo: '' }),
      at('node-c', { bar: '' }),
      at('node-c', { bar: '', baz: '' }),
    ],
    nodes: zonedHosts(['node-a', 'zone1'], ['node-b', 'zone1'], ['node-c', 'zone2'], ['node-d', 'zone2']),
    want: [60, 20, 60, 100],
  },
]

describe('PodTopologySpread Score', () => {
  for (const c of scoreCases) {
    test(c.name, () => {
      const all = cluster([...c.nodes, ...(c.failedNodes ?? [])], c.existing ?? [])
      const feasible = all.slice(0, c.nodes.length)
      // The system defaults, as upstream's score tests use.
      const plugin = podTopologySpread(fakeHandle(all, c.defaultSelector), undefined)
      const state = new CycleState()
      assert.equal(plugin.preScore(state, c.pod, feasible).code, 'Success')
      const scores: NodeScore[] = feasible.map((n) => ({
        name: n.name,
        score: plugin.score(state, c.pod, n),
      }))
      plugin.normalizeScores?.(state, c.pod, scores)
      assert.deepEqual(
        scores.map((s) => s.score),
        c.want,
      )
    })
  }

  test('the counts one plugin keeps from cycle to cycle score as freshly made ones do', () => {
    // Pods of a few ReplicaSets, then of more than the plugin keeps counts for, land on random
    // nodes under the system defaults; pods go, and nodes are replaced by new NodeInfos. The
    // nodes have their places in the list, as the scheduler cache gives them (NodeInfo.index).
    let seed = 7
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    const nodes = Array.from({ length: 30 }, (_, i) =>
      node(`n${i}`, { [hostname]: `n${i}`, [zoneKey]: `z${i % 3}` }),
    )
    const infos = cluster(nodes, [])
    infos.forEach((n, i) => (n.index = i))
    const byApp = (p: Readonly<Pod>) =>
      labelSelectorFromObject({ matchLabels: { app: p.metadata?.labels?.app ?? '' } })
    const kept = podTopologySpread(fakeHandle(infos, byApp), undefined)
    const scores = (plugin: typeof kept, p: Pod) => {
      const state = new CycleState()
      assert.equal(plugin.preScore(state, p, infos).code, 'Success')
      return infos.map((n) => plugin.score(state, p, n))
    }
    const placed: { uid: string; node: number }[] = []
    for (let round = 0; round < 3000; round++) {
      const p = pod({ labels: { app: `app-${random(round < 1500 ? 5 : 200)}` } })
      const fresh = podTopologySpread(fakeHandle(infos, byApp), undefined)
      assert.deepEqual(scores(kept, p), scores(fresh, p), `round ${round}`)
      const k = random(infos.length)
      ;(infos[k] as NodeInfo).addPod(
        podInfo({ ...p, spec: { ...p.spec, containers: [], nodeName: `n${k}` } }),
      )
      placed.push({ uid: p.metadata?.uid ?? '', node: k })
      if (random(4) === 0) {
        const [gone] = placed.splice(random(placed.length), 1)
        if (gone) (infos[gone.node] as NodeInfo).removePod(gone.uid)
      }
      if (random(50) === 0) {
        const j = random(infos.length)
        const replacement = new NodeInfo(nodes[j] as Node)
        for (const existing of (infos[j] as NodeInfo).pods) replacement.addPod(existing)
        replacement.index = j
        infos[j] = replacement
      }
    }
  })
})

// --- args -----------------------------------------------------------------------------------------

describe('PodTopologySpread args', () => {
  test('defaultingType defaults to System', () => {
    assert.deepEqual(podTopologySpreadArgs(undefined), { defaultingType: 'System', defaultConstraints: [] })
    assert.deepEqual(podTopologySpreadArgs({}), { defaultingType: 'System', defaultConstraints: [] })
  })

  test('List takes the constraints given', () => {
    const list = [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }]
    assert.deepEqual(podTopologySpreadArgs(listArgs(list)), {
      defaultingType: 'List',
      defaultConstraints: list,
    })
  })

  const invalidCases: { name: string; args: Record<string, unknown>; want: string }[] = [
    {
      name: 'System with constraints',
      args: { defaultConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }] },
      want: 'PodTopologySpreadArgs.defaultingType: Invalid value: "System": when .defaultConstraints are not empty',
    },
    {
      name: 'an unknown defaultingType',
      args: { defaultingType: 'Sometimes' },
      want: 'PodTopologySpreadArgs.defaultingType: Unsupported value: "Sometimes": supported values: "List", "System"',
    },
    {
      name: 'maxSkew 0',
      args: listArgs([{ maxSkew: 0, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }]),
      want: 'PodTopologySpreadArgs.defaultConstraints[0].maxSkew: Invalid value: 0: not in valid range (0, inf)',
    },
    {
      name: 'no topologyKey',
      args: listArgs([{ maxSkew: 1, topologyKey: '', whenUnsatisfiable: 'DoNotSchedule' }]),
      want: 'PodTopologySpreadArgs.defaultConstraints[0].topologyKey: Required value: can not be empty',
    },
    {
      name: 'an unknown whenUnsatisfiable',
      args: listArgs([{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'Sometimes' }]),
      want: 'PodTopologySpreadArgs.defaultConstraints[0].whenUnsatisfiable: Unsupported value: "Sometimes": supported values: "DoNotSchedule", "ScheduleAnyway"',
    },
    {
      name: 'a labelSelector',
      args: listArgs([
        { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: foo },
      ]),
      want: 'PodTopologySpreadArgs.defaultConstraints[0].labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod',
    },
    {
      name: 'the same key and action twice, and maxSkew 0',
      args: listArgs([
        { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' },
        { maxSkew: 0, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' },
      ]),
      want: '[PodTopologySpreadArgs.defaultConstraints[1].maxSkew: Invalid value: 0: not in valid range (0, inf), PodTopologySpreadArgs.defaultConstraints[1]: Duplicate value: "{zone, DoNotSchedule}"]',
    },
  ]
  for (const c of invalidCases) {
    test(`rejected: ${c.name}`, () => {
      assert.throws(() => podTopologySpreadArgs(c.args), { message: c.want })
      assert.throws(() => podTopologySpread(fakeHandle([]), c.args), { message: c.want })
    })
  }
})
