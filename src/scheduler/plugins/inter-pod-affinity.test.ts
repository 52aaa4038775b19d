import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  Affinity,
  Node,
  Pod,
  PodAffinityTerm,
  WeightedPodAffinityTerm,
} from '../../api/generated/types/core-v1.ts'
import type { LabelSelector as LabelSelectorObject } from '../../api/generated/types/meta-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { podAffinityTerms } from '../framework/affinity-terms.ts'
import { CycleState } from '../framework/cycle-state.ts'
import type { Handle, NodeScore } from '../framework/interfaces.ts'
import { NodeInfo, podInfo } from '../framework/node-info.ts'
import type { Status } from '../framework/status.ts'
import {
  interPodAffinity,
  interPodAffinityArgs,
  preFilterCounts,
  reasonAffinityRulesNotMatch,
  reasonAntiAffinityRulesNotMatch,
  reasonExistingAntiAffinityRulesNotMatch,
} from './inter-pod-affinity.ts'

// --- builders -----------------------------------------------------------------------------------

type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'
type Requirement = { key: string; operator: Operator; values?: string[] }

const req = (key: string, operator: Operator, values?: string[]): Requirement => ({
  key,
  operator,
  ...(values ? { values } : {}),
})
/** A term whose labelSelector ANDs the requirements. */
const term = (topologyKey: string, ...requirements: Requirement[]): PodAffinityTerm => ({
  labelSelector: { matchExpressions: requirements },
  topologyKey,
})
const inTerm = (key: string, values: string[], topologyKey: string) =>
  term(topologyKey, req(key, 'In', values))
const notInTerm = (key: string, values: string[], topologyKey: string) =>
  term(topologyKey, req(key, 'NotIn', values))
const existsTerm = (key: string, topologyKey: string) => term(topologyKey, req(key, 'Exists'))
const weighted = (weight: number, podAffinityTerm: PodAffinityTerm): WeightedPodAffinityTerm => ({
  weight,
  podAffinityTerm,
})
const team = (name: string): LabelSelectorObject => ({
  matchExpressions: [{ key: 'team', operator: 'In', values: [name] }],
})

interface PodOptions {
  name?: string
  namespace?: string
  labels?: Record<string, string>
  node?: string
  /** Required pod affinity terms. */
  affinity?: PodAffinityTerm[]
  /** Required pod anti-affinity terms. */
  antiAffinity?: PodAffinityTerm[]
  preferred?: WeightedPodAffinityTerm[]
  preferredAnti?: WeightedPodAffinityTerm[]
}

let pods = 0
function pod(o: PodOptions = {}): Pod {
  const n = ++pods
  const affinity: Affinity = {}
  if (o.affinity || o.preferred) {
    affinity.podAffinity = {
      ...(o.affinity ? { requiredDuringSchedulingIgnoredDuringExecution: o.affinity } : {}),
      ...(o.preferred ? { preferredDuringSchedulingIgnoredDuringExecution: o.preferred } : {}),
    }
  }
  if (o.antiAffinity || o.preferredAnti) {
    affinity.podAntiAffinity = {
      ...(o.antiAffinity ? { requiredDuringSchedulingIgnoredDuringExecution: o.antiAffinity } : {}),
      ...(o.preferredAnti ? { preferredDuringSchedulingIgnoredDuringExecution: o.preferredAnti } : {}),
    }
  }
  return {
    metadata: {
      name: o.name ?? `pod-${n}`,
      namespace: o.namespace ?? 'default',
      uid: `uid-${n}`,
      labels: o.labels ?? {},
    },
    spec: {
      containers: [{ name: 'c' }],
      ...(o.node ? { nodeName: o.node } : {}),
      ...(affinity.podAffinity || affinity.podAntiAffinity ? { affinity } : {}),
    },
  }
}

const node = (name: string, labels: Record<string, string>): Node => ({ metadata: { name, labels } })

/** NodeInfos for the nodes with the pods on them (pods naming other nodes are left out). */
function cluster(nodes: readonly Node[], existing: readonly Pod[]): NodeInfo[] {
  const infos = nodes.map((n) => new NodeInfo(n))
  for (const p of existing) infos.find((n) => n.name === p.spec?.nodeName)?.addPod(podInfo(p))
  return infos
}

/** The namespaces of upstream's tests, with their labels. */
const teamNamespaces: Record<string, Record<string, string>> = {
  'subteam1.team1': { team: 'team1' },
  'subteam2.team1': { team: 'team1' },
  'subteam1.team2': { team: 'team2' },
  'subteam2.team2': { team: 'team2' },
  default: {},
}

function fakeHandle(nodes: readonly NodeInfo[], namespaces = teamNamespaces): Handle {
  const unused = (): never => {
    throw new Error('not used by InterPodAffinity')
  }
  return {
    snapshot: {
      nodeList: () => nodes,
      node: (name) => nodes.find((n) => n.name === name),
      nodesWithImage: () => 0,
    },
    namespaceLabels: (ns) => namespaces[ns],
    defaultSelector: () => undefined,
    persistentVolumeClaim: () => undefined,
    pdbs: () => [],
    nominatedPods: () => [],
    writes: { bind: unused, deleteVictim: unused, setNominatedNodeName: unused },
    clock: new FakeClock(),
  }
}

/** A status as one comparable string: the code, then the reasons. */
const verdict = (s: Status): string => (s.reasons.length > 0 ? `${s.code}: ${s.reasons.join(', ')}` : s.code)

const fits = 'Success'
const skipped = 'Skip'
const affinityMismatch = `UnschedulableAndUnresolvable: ${reasonAffinityRulesNotMatch}`
const antiAffinityMismatch = `Unschedulable: ${reasonAntiAffinityRulesNotMatch}`
const existingAntiAffinityMismatch = `Unschedulable: ${reasonExistingAntiAffinityRulesNotMatch}`

/** PreFilter, then Filter on every node (also after Skip: our framework still calls Filter then). */
function runFilter(c: { pod: Pod; existing?: Pod[]; nodes: Node[] }): {
  preFilter: string
  filter: string[]
} {
  const infos = cluster(c.nodes, c.existing ?? [])
  const plugin = interPodAffinity(fakeHandle(infos))
  const state = new CycleState()
  const pre = plugin.preFilter(state, c.pod, infos).status
  if (pre.rejected) return { preFilter: verdict(pre), filter: [] }
  return { preFilter: verdict(pre), filter: infos.map((n) => verdict(plugin.filter(state, c.pod, n))) }
}

// --- Filter: one node ---------------------------------------------------------------------------

const securityscan = { service: 'securityscan' }
const s1 = { security: 'S1' }
const node1 = node('node1', { region: 'r1', zone: 'z11' })
/** The existing pod of the single-node cases. */
const scanner = () => pod({ labels: securityscan, node: 'node1' })

const singleNodeCases: { name: string; pod: Pod; existing?: Pod[]; preFilter?: string; want: string }[] = [
  {
    name: 'a pod without pod affinity is skipped and fits an empty node',
    pod: pod(),
    preFilter: skipped,
    want: fits,
  },
  {
    name: 'affinity with In matching the existing pod fits',
    pod: pod({ labels: s1, affinity: [inTerm('service', ['securityscan', 'value2'], 'region')] }),
    existing: [scanner()],
    want: fits,
  },
  {
    name: 'affinity with NotIn that the existing pod satisfies fits',
    pod: pod({ labels: s1, affinity: [notInTerm('service', ['securityscan3', 'value3'], 'region')] }),
    existing: [scanner()],
    want: fits,
  },
  {
    name: 'affinity limited to another namespace does not see the existing pod',
    pod: pod({
      labels: s1,
      affinity: [{ ...inTerm('service', ['securityscan', 'value2'], ''), namespaces: ['DiffNameSpace'] }],
    }),
    existing: [pod({ namespace: 'ns', labels: securityscan, node: 'node1' })],
    want: affinityMismatch,
  },
  {
    name: 'affinity whose selector matches no existing pod does not fit',
    pod: pod({ labels: securityscan, affinity: [inTerm('service', ['antivirusscan', 'value2'], '')] }),
    existing: [scanner()],
    want: affinityMismatch,
  },
  {
    name: 'several affinity terms with different operators, all matched by the existing pod, fit',
    pod: pod({
      labels: s1,
      affinity: [
        term('region', req('service', 'Exists'), req('wrongkey', 'DoesNotExist')),
        term('region', req('service', 'In', ['securityscan']), req('service', 'NotIn', ['WrongValue'])),
      ],
    }),
    existing: [scanner()],
    want: fits,
  },
  {
    name: 'the requirements of a selector are ANDed: one that fails makes the term fail',
    pod: pod({
      labels: s1,
      affinity: [
        term('region', req('service', 'Exists'), req('wrongkey', 'DoesNotExist')),
        term('region', req('service', 'In', ['securityscan2']), req('service', 'NotIn', ['WrongValue'])),
      ],
    }),
    existing: [scanner()],
    want: affinityMismatch,
  },
  {
    name: 'affinity matched and anti-affinity not matched by the existing pod fits',
    pod: pod({
      labels: s1,
      affinity: [inTerm('service', ['securityscan', 'value2'], 'region')],
      antiAffinity: [inTerm('service', ['antivirusscan', 'value2'], 'node')],
    }),
    existing: [scanner()],
    want: fits,
  },
  {
    name: "the existing pod's anti-affinity not matching the pod fits too",
    pod: pod({
      labels: s1,
      affinity: [inTerm('service', ['securityscan', 'value2'], 'region')],
      antiAffinity: [inTerm('service', ['antivirusscan', 'value2'], 'node')],
    }),
    existing: [
      pod({
        labels: securityscan,
        node: 'node1',
        antiAffinity: [inTerm('service', ['antivirusscan', 'value2'], 'node')],
      }),
    ],
    want: fits,
  },
  {
    name: 'affinity matched but anti-affinity also matched by the existing pod does not fit',
    pod: pod({
      labels: s1,
      affinity: [inTerm('service', ['securityscan', 'value2'], 'region')],
      antiAffinity: [inTerm('service', ['securityscan', 'value2'], 'zone')],
    }),
    existing: [scanner()],
    want: antiAffinityMismatch,
  },
  {
    name: "the pod's own terms pass but it matches the existing pod's anti-affinity",
    pod: pod({
      labels: securityscan,
      affinity: [inTerm('service', ['securityscan', 'value2'], 'region')],
      antiAffinity: [inTerm('service', ['antivirusscan', 'value2'], 'node')],
    }),
    existing: [
      pod({
        labels: securityscan,
        node: 'node1',
        antiAffinity: [inTerm('service', ['securityscan', 'value2'], 'zone')],
      }),
    ],
    want: existingAntiAffinityMismatch,
  },
  {
    name: 'a pod that does not match its own affinity is not let through as the first of its group',
    pod: pod({
      labels: securityscan,
      affinity: [notInTerm('service', ['securityscan', 'value2'], 'region')],
    }),
    existing: [pod({ labels: securityscan, node: 'node2' })],
    want: affinityMismatch,
  },
  {
    name: "a pod without affinity is kept off by the existing pod's anti-affinity",
    pod: pod({ labels: securityscan }),
    existing: [
      pod({
        labels: securityscan,
        node: 'node1',
        antiAffinity: [inTerm('service', ['securityscan', 'value2'], 'zone')],
      }),
    ],
    want: existingAntiAffinityMismatch,
  },
  {
    name: "a pod without affinity that the existing pod's anti-affinity does not match is skipped",
    pod: pod({ labels: securityscan }),
    existing: [
      pod({
        labels: securityscan,
        node: 'node1',
        antiAffinity: [notInTerm('service', ['securityscan', 'value2'], 'zone')],
      }),
    ],
    preFilter: skipped,
    want: fits,
  },
  {
    name: "the pod's anti-affinity matches the existing pod, whose own anti-affinity does not match the pod",
    pod: pod({
      labels: securityscan,
      antiAffinity: [existsTerm('service', 'region'), existsTerm('security', 'region')],
    }),
    existing: [pod({ labels: s1, node: 'node1', antiAffinity: [existsTerm('security', 'zone')] })],
    want: antiAffinityMismatch,
  },
  {
    name: 'anti-affinity both ways, partly matching (a1): the incoming side is reported first',
    pod: pod({
      labels: securityscan,
      antiAffinity: [existsTerm('service', 'zone'), existsTerm('security', 'zone')],
    }),
    existing: [pod({ labels: s1, node: 'node1', antiAffinity: [existsTerm('security', 'zone')] })],
    want: antiAffinityMismatch,
  },
  {
    name: "anti-affinity both ways, partly matching (a2): only the existing pod's term matches",
    pod: pod({ labels: s1, antiAffinity: [existsTerm('security', 'zone')] }),
    existing: [
      pod({
        labels: securityscan,
        node: 'node1',
        antiAffinity: [existsTerm('service', 'zone'), existsTerm('security', 'zone')],
      }),
    ],
    want: existingAntiAffinityMismatch,
  },
  {
    name: 'anti-affinity both ways, partly matching (b1)',
    pod: pod({
      labels: { abc: '', xyz: '' },
      antiAffinity: [existsTerm('abc', 'zone'), existsTerm('def', 'zone')],
    }),
    existing: [
      pod({
        labels: { def: '', xyz: '' },
        node: 'node1',
        antiAffinity: [existsTerm('abc', 'zone'), existsTerm('def', 'zone')],
      }),
    ],
    want: antiAffinityMismatch,
  },
  {
    name: 'anti-affinity both ways, partly matching (b2)',
    pod: pod({
      labels: { def: '', xyz: '' },
      antiAffinity: [existsTerm('abc', 'zone'), existsTerm('def', 'zone')],
    }),
    existing: [
      pod({
        labels: { abc: '', xyz: '' },
        node: 'node1',
        antiAffinity: [existsTerm('abc', 'zone'), existsTerm('def', 'zone')],
      }),
    ],
    want: antiAffinityMismatch,
  },
  {
    name: "affinity with a namespaceSelector matching the existing pod's namespace fits",
    pod: pod({
      labels: s1,
      affinity: [
        { ...inTerm('service', ['securityscan', 'value2'], 'region'), namespaceSelector: team('team1') },
      ],
    }),
    existing: [pod({ namespace: 'subteam1.team1', labels: securityscan, node: 'node1' })],
    want: fits,
  },
  {
    name: "affinity with a namespaceSelector not matching the existing pod's namespace does not fit",
    pod: pod({
      labels: s1,
      affinity: [
        { ...inTerm('service', ['securityscan', 'value2'], 'region'), namespaceSelector: team('team1') },
      ],
    }),
    existing: [pod({ namespace: 'subteam1.team2', labels: securityscan, node: 'node1' })],
    want: affinityMismatch,
  },
  {
    name: "anti-affinity with a namespaceSelector matching the existing pod's namespace does not fit",
    pod: pod({
      namespace: 'subteam1.team1',
      labels: s1,
      antiAffinity: [
        { ...inTerm('service', ['securityscan', 'value2'], 'zone'), namespaceSelector: team('team1') },
      ],
    }),
    existing: [pod({ namespace: 'subteam2.team1', labels: securityscan, node: 'node1' })],
    want: antiAffinityMismatch,
  },
  {
    name: 'anti-affinity with an empty namespaceSelector covers every namespace',
    pod: pod({
      namespace: 'subteam1.team1',
      labels: s1,
      antiAffinity: [{ ...inTerm('service', ['securityscan', 'value2'], 'zone'), namespaceSelector: {} }],
    }),
    existing: [pod({ namespace: 'subteam2.team1', labels: securityscan, node: 'node1' })],
    want: antiAffinityMismatch,
  },
  {
    name: "anti-affinity with a namespaceSelector not matching the existing pod's namespace fits",
    pod: pod({
      namespace: 'subteam1.team1',
      labels: s1,
      antiAffinity: [
        { ...inTerm('service', ['securityscan', 'value2'], 'zone'), namespaceSelector: team('team1') },
      ],
    }),
    existing: [pod({ namespace: 'subteam1.team2', labels: securityscan, node: 'node1' })],
    want: fits,
  },
  {
    name: 'a namespaceSelector sees only namespaces that exist, even when it would match empty labels',
    pod: pod({
      labels: s1,
      antiAffinity: [
        {
          ...inTerm('service', ['securityscan'], 'zone'),
          namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['team2'] }] },
        },
      ],
    }),
    existing: [pod({ namespace: 'ghost', labels: securityscan, node: 'node1' })],
    want: fits,
  },
  {
    name: 'a term without labelSelector matches no pod, not even the pod itself',
    pod: pod({ labels: securityscan, affinity: [{ topologyKey: 'region' }] }),
    existing: [scanner()],
    want: affinityMismatch,
  },
  {
    name: 'matchLabelKeys narrows affinity to pods with the same value of the key',
    pod: pod({
      labels: { app: 'web', 'pod-template-hash': 'v2' },
      affinity: [{ ...inTerm('app', ['web'], 'region'), matchLabelKeys: ['pod-template-hash'] }],
    }),
    existing: [pod({ labels: { app: 'web', 'pod-template-hash': 'v1' }, node: 'node1' })],
    // No v2 pod anywhere, and the pod matches its own term: the first of its group.
    want: fits,
  },
  {
    name: "matchLabelKeys in an existing pod's anti-affinity uses that pod's own labels",
    pod: pod({ labels: { app: 'web', 'pod-template-hash': 'v2' } }),
    existing: [
      pod({
        labels: { app: 'web', 'pod-template-hash': 'v1' },
        node: 'node1',
        antiAffinity: [{ ...inTerm('app', ['web'], 'zone'), matchLabelKeys: ['pod-template-hash'] }],
      }),
    ],
    preFilter: skipped,
    want: fits,
  },
  {
    name: "matchLabelKeys in an existing pod's anti-affinity keeps away pods with the same value",
    pod: pod({ labels: { app: 'web', 'pod-template-hash': 'v1' } }),
    existing: [
      pod({
        labels: { app: 'web', 'pod-template-hash': 'v1' },
        node: 'node1',
        antiAffinity: [{ ...inTerm('app', ['web'], 'zone'), matchLabelKeys: ['pod-template-hash'] }],
      }),
    ],
    want: existingAntiAffinityMismatch,
  },
  {
    name: 'mismatchLabelKeys keeps away pods with a different value of the key',
    pod: pod({
      labels: { tenant: 'a' },
      antiAffinity: [{ ...existsTerm('tenant', 'zone'), mismatchLabelKeys: ['tenant'] }],
    }),
    existing: [pod({ labels: { tenant: 'b' }, node: 'node1' })],
    want: antiAffinityMismatch,
  },
  {
    name: 'mismatchLabelKeys lets in pods with the same value of the key',
    pod: pod({
      labels: { tenant: 'a' },
      antiAffinity: [{ ...existsTerm('tenant', 'zone'), mismatchLabelKeys: ['tenant'] }],
    }),
    existing: [pod({ labels: { tenant: 'a' }, node: 'node1' })],
    want: fits,
  },
]
for (const c of singleNodeCases) {
  test(`InterPodAffinity filter, one node: ${c.name}`, () => {
    const got = runFilter({ pod: c.pod, existing: c.existing ?? [], nodes: [node1] })
    assert.deepEqual(got, { preFilter: c.preFilter ?? fits, filter: [c.want] })
  })
}

test('InterPodAffinity PreFilter: a selector that does not parse makes the pod unschedulable, unresolvably', () => {
  for (const p of [
    pod({
      labels: securityscan,
      affinity: [
        inTerm('service', ['{{.bad-value.}}'], 'region'),
        inTerm('service', ['antivirusscan'], 'node'),
      ],
    }),
    pod({
      labels: securityscan,
      affinity: [inTerm('service', ['foo'], 'region'), inTerm('service', ['{{.bad-value.}}'], 'node')],
    }),
  ]) {
    const { preFilter, filter } = runFilter({ pod: p, nodes: [node1] })
    assert.match(
      preFilter,
      /^UnschedulableAndUnresolvable: parsing pod: requiredAffinityTerms: .*Invalid value: "\{\{\.bad-value\.\}\}"/,
    )
    assert.deepEqual(filter, [])
  }
})

// --- Filter: several nodes ----------------------------------------------------------------------

const china = { region: 'China' }
const chinaAz1 = { region: 'China', az: 'az1' }
const india = { region: 'India' }
const zoned = (name: string, zone: string, region = 'r1') => node(name, { region, zone, hostname: name })

const multiNodeCases: {
  name: string
  pod: Pod
  existing: Pod[]
  nodes: Node[]
  preFilter?: string
  want: string[]
}[] = [
  {
    name: 'every node in the topology domain of a matching pod fits, others do not',
    pod: pod({ affinity: [inTerm('foo', ['bar'], 'region')] }),
    existing: [pod({ node: 'node1', labels: { foo: 'bar' } })],
    nodes: [node('node1', china), node('node2', chinaAz1), node('node3', india)],
    want: [fits, fits, affinityMismatch],
  },
  {
    name: 'the first pod of a group that wants its own zone fits anywhere while no pod matches all its terms',
    pod: pod({
      labels: { foo: 'bar', service: 'securityscan' },
      affinity: [inTerm('foo', ['bar'], 'zone'), inTerm('service', ['securityscan'], 'zone')],
    }),
    existing: [pod({ node: 'nodeA', labels: { foo: 'bar' } })],
    nodes: [node('nodeA', { zone: 'az1', hostname: 'h1' }), node('nodeB', { zone: 'az2', hostname: 'h2' })],
    want: [fits, fits],
  },
  {
    name: 'once a pod of the group runs somewhere, the next must join its domain even if it matches itself',
    pod: pod({ labels: { foo: 'bar' }, affinity: [inTerm('foo', ['bar'], 'region')] }),
    existing: [pod({ node: 'node1', labels: { foo: 'bar' } })],
    nodes: [node('node1', china), node('node2', india)],
    want: [fits, affinityMismatch],
  },
  {
    name: 'the first pod of a group still needs nodes with the topology keys',
    pod: pod({
      labels: { foo: 'bar', service: 'securityscan' },
      affinity: [inTerm('foo', ['bar'], 'zone'), inTerm('service', ['securityscan'], 'zone')],
    }),
    existing: [pod({ node: 'nodeA', labels: { foo: 'bar' } })],
    nodes: [
      node('nodeA', { zoneLabel: 'az1', hostname: 'h1' }),
      node('nodeB', { zoneLabel: 'az2', hostname: 'h2' }),
    ],
    want: [affinityMismatch, affinityMismatch],
  },
  {
    name: 'anti-affinity keeps the pod off every node of the domain of a matching pod',
    pod: pod({ antiAffinity: [inTerm('foo', ['abc'], 'region')] }),
    existing: [pod({ node: 'nodeA', labels: { foo: 'abc' } })],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z1')],
    want: [antiAffinityMismatch, antiAffinityMismatch],
  },
  {
    name: 'anti-affinity rejects when any one of its terms matches',
    pod: pod({
      antiAffinity: [inTerm('foo', ['abc'], 'region'), inTerm('service', ['securityscan'], 'zone')],
    }),
    existing: [pod({ node: 'nodeA', labels: { foo: 'abc', service: 'securityscan' } })],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z2')],
    want: [antiAffinityMismatch, antiAffinityMismatch],
  },
  {
    name: 'anti-affinity leaves nodes of other domains free',
    pod: pod({ antiAffinity: [inTerm('foo', ['abc'], 'region')] }),
    existing: [pod({ node: 'nodeA', labels: { foo: 'abc' } })],
    nodes: [node('nodeA', china), node('nodeB', chinaAz1), node('nodeC', india)],
    want: [antiAffinityMismatch, antiAffinityMismatch, fits],
  },
  {
    name: "an existing pod's anti-affinity in another namespace does not see the pod",
    pod: pod({ namespace: 'NS1', labels: { foo: '123' }, antiAffinity: [inTerm('foo', ['bar'], 'region')] }),
    existing: [
      pod({ node: 'nodeA', namespace: 'NS1', labels: { foo: 'bar' } }),
      pod({ node: 'nodeC', namespace: 'NS2', antiAffinity: [inTerm('foo', ['123'], 'region')] }),
    ],
    nodes: [node('nodeA', china), node('nodeB', chinaAz1), node('nodeC', india)],
    want: [antiAffinityMismatch, antiAffinityMismatch, fits],
  },
  {
    name: "an existing pod's anti-affinity term counts only where nodes have its topology key",
    pod: pod({ labels: { foo: '' } }),
    existing: [pod({ node: 'nodeA', antiAffinity: [existsTerm('foo', 'invalid-node-label')] })],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z1')],
    preFilter: skipped,
    want: [fits, fits],
  },
  {
    name: "the pod's anti-affinity term counts only where nodes have its topology key",
    pod: pod({ node: 'nodeA', antiAffinity: [existsTerm('foo', 'invalid-node-label')] }),
    existing: [pod({ node: 'nodeA', labels: { foo: '' } })],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z1')],
    want: [fits, fits],
  },
  {
    name: 'existing pods whose anti-affinity the pod matches, by zone and by region, leave no node',
    pod: pod({ labels: { foo: '', bar: '' } }),
    existing: [
      pod({ node: 'nodeA', antiAffinity: [existsTerm('foo', 'zone')] }),
      pod({ node: 'nodeA', antiAffinity: [existsTerm('bar', 'region')] }),
    ],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z2')],
    want: [existingAntiAffinityMismatch, existingAntiAffinityMismatch],
  },
  {
    name: "the pod's anti-affinity terms, one per domain kind, leave no node",
    pod: pod({ antiAffinity: [existsTerm('foo', 'zone'), existsTerm('bar', 'region')] }),
    existing: [pod({ node: 'nodeA', labels: { foo: '' } }), pod({ node: 'nodeB', labels: { bar: '' } })],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z2')],
    want: [antiAffinityMismatch, antiAffinityMismatch],
  },
  {
    name: "an existing pod's anti-affinity counts a term only where both selector and topology key match",
    pod: pod({ labels: { foo: '', bar: '' } }),
    existing: [
      pod({
        node: 'nodeA',
        antiAffinity: [existsTerm('foo', 'invalid-node-label'), existsTerm('bar', 'zone')],
      }),
    ],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z2')],
    want: [existingAntiAffinityMismatch, fits],
  },
  {
    name: "the pod's anti-affinity counts a term only where both selector and topology key match",
    pod: pod({ antiAffinity: [existsTerm('foo', 'invalid-node-label'), existsTerm('bar', 'zone')] }),
    existing: [pod({ node: 'nodeA', labels: { foo: '', bar: '' } })],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z2')],
    want: [antiAffinityMismatch, fits],
  },
  {
    name: "an existing pod's anti-affinity with all topology keys valid covers both domains",
    pod: pod({ labels: { foo: '', bar: '' } }),
    existing: [
      pod({ node: 'nodeA', antiAffinity: [existsTerm('foo', 'region'), existsTerm('bar', 'zone')] }),
    ],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z2')],
    want: [existingAntiAffinityMismatch, existingAntiAffinityMismatch],
  },
  {
    name: "the pod's anti-affinity with all topology keys valid covers both domains",
    pod: pod({ antiAffinity: [existsTerm('foo', 'region'), existsTerm('bar', 'zone')] }),
    existing: [pod({ node: 'nodeA', labels: { foo: '', bar: '' } })],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z2')],
    want: [antiAffinityMismatch, antiAffinityMismatch],
  },
  {
    name: 'existing pods on two nodes whose anti-affinity the pod matches leave only the third node',
    pod: pod({ labels: { foo: '', bar: '' } }),
    existing: [
      pod({ node: 'nodeA', antiAffinity: [existsTerm('foo', 'zone'), existsTerm('labelA', 'zone')] }),
      pod({ node: 'nodeB', antiAffinity: [existsTerm('bar', 'zone'), existsTerm('labelB', 'zone')] }),
    ],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z2'), zoned('nodeC', 'z3')],
    want: [existingAntiAffinityMismatch, existingAntiAffinityMismatch, fits],
  },
  {
    name: 'affinity terms are matched first, then their topology keys',
    pod: pod({ affinity: [existsTerm('foo', 'region'), existsTerm('bar', 'zone')] }),
    existing: [pod({ node: 'nodeA', labels: { foo: '', bar: '' } })],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z1')],
    want: [fits, fits],
  },
  {
    name: 'all affinity terms must be matched by the same pod',
    pod: pod({ affinity: [existsTerm('foo', 'region'), existsTerm('bar', 'zone')] }),
    existing: [pod({ node: 'nodeA', labels: { foo: '' } }), pod({ node: 'nodeB', labels: { bar: '' } })],
    nodes: [zoned('nodeA', 'z1'), zoned('nodeB', 'z2')],
    want: [affinityMismatch, affinityMismatch],
  },
]
for (const c of multiNodeCases) {
  test(`InterPodAffinity filter, several nodes: ${c.name}`, () => {
    assert.deepEqual(runFilter(c), { preFilter: c.preFilter ?? fits, filter: c.want })
  })
}

test('InterPodAffinity filter: without PreFilter it is an error', () => {
  const [n] = cluster([node1], [])
  const plugin = interPodAffinity(fakeHandle([]))
  assert.equal(plugin.filter(new CycleState(), pod(), n as NodeInfo).code, 'Error')
})

// --- PreFilter counts, and addPod/removePod -----------------------------------------------------

const nodeA = node('nodeA', { hostname: 'nodeA' })
const plain = (...labels: string[]) =>
  pod({ node: 'nodeA', labels: Object.fromEntries(labels.map((l) => [l, ''])) })

const countCases: {
  name: string
  existing: Pod[]
  pod: Pod
  want: { affinity: Record<string, number>; antiAffinity: Record<string, number> } | undefined
}[] = [
  { name: 'no pods and no affinity: skipped', existing: [], pod: pod(), want: undefined },
  { name: 'a pod without affinity: skipped', existing: [plain('aaa')], pod: pod(), want: undefined },
  {
    name: 'no existing pod matches: no counts',
    existing: [plain('bbb')],
    pod: pod({ affinity: [existsTerm('aaa', 'hostname')], antiAffinity: [existsTerm('aaa', 'hostname')] }),
    want: { affinity: {}, antiAffinity: {} },
  },
  {
    name: 'one term each, matched',
    existing: [plain('aaa')],
    pod: pod({ affinity: [existsTerm('aaa', 'hostname')], antiAffinity: [existsTerm('aaa', 'hostname')] }),
    want: { affinity: { 'hostname=nodeA': 1 }, antiAffinity: { 'hostname=nodeA': 1 } },
  },
  {
    name: 'a pod matching two affinity terms counts once per term',
    existing: [plain('aaa', 'bbb')],
    pod: pod({
      affinity: [existsTerm('aaa', 'hostname'), existsTerm('bbb', 'hostname')],
      antiAffinity: [existsTerm('aaa', 'hostname')],
    }),
    want: { affinity: { 'hostname=nodeA': 2 }, antiAffinity: { 'hostname=nodeA': 1 } },
  },
  {
    name: 'a pod matching one of two affinity terms does not count, but one anti-affinity term does',
    existing: [plain('aaa')],
    pod: pod({
      affinity: [existsTerm('aaa', 'hostname'), existsTerm('bbb', 'hostname')],
      antiAffinity: [existsTerm('aaa', 'hostname'), existsTerm('bbb', 'hostname')],
    }),
    want: { affinity: {}, antiAffinity: { 'hostname=nodeA': 1 } },
  },
  {
    name: 'anti-affinity partly matched (1)',
    existing: [plain('aaa', 'bbb')],
    pod: pod({
      affinity: [existsTerm('aaa', 'hostname'), existsTerm('ccc', 'hostname')],
      antiAffinity: [existsTerm('aaa', 'hostname'), existsTerm('ccc', 'hostname')],
    }),
    want: { affinity: {}, antiAffinity: { 'hostname=nodeA': 1 } },
  },
  {
    name: 'anti-affinity partly matched (2)',
    existing: [plain('bbb')],
    pod: pod({
      affinity: [existsTerm('aaa', 'hostname'), existsTerm('bbb', 'hostname')],
      antiAffinity: [existsTerm('aaa', 'hostname'), existsTerm('bbb', 'hostname')],
    }),
    want: { affinity: {}, antiAffinity: { 'hostname=nodeA': 1 } },
  },
]
for (const c of countCases) {
  test(`InterPodAffinity PreFilter counts: ${c.name}`, () => {
    const infos = cluster([nodeA], c.existing)
    const state = new CycleState()
    interPodAffinity(fakeHandle(infos)).preFilter(state, c.pod, infos)
    const got = preFilterCounts(state)
    assert.deepEqual(got && { affinity: got.affinity, antiAffinity: got.antiAffinity }, c.want)
  })
}

const byRegion = inTerm('foo', ['bar'], 'region')
const complex = [
  inTerm('foo', ['bar', 'buzz'], 'region'),
  notInTerm('service', ['bar', 'security', 'test'], 'zone'),
]
const addRemoveNodes = [
  node('nodeA', { region: 'r1', zone: 'z11' }),
  node('nodeB', { region: 'r1', zone: 'z12' }),
  node('nodeC', { region: 'r2', zone: 'z21' }),
]
const addRemoveCases: {
  name: string
  pending: Pod
  existing: Pod[]
  added: Pod
  want: { affinity: Record<string, number>; antiAffinity: Record<string, number> }
}[] = [
  {
    name: 'anti-affinity counts follow an added and removed pod',
    pending: pod({ labels: { foo: 'bar' }, antiAffinity: [byRegion] }),
    existing: [
      pod({ labels: { foo: 'bar' }, node: 'nodeA' }),
      pod({ node: 'nodeC', antiAffinity: [byRegion] }),
    ],
    added: pod({ labels: { foo: 'bar' }, node: 'nodeB', antiAffinity: [byRegion] }),
    want: { affinity: {}, antiAffinity: { 'region=r1': 2 } },
  },
  {
    name: 'anti-affinity counts of several terms follow an added and removed pod',
    pending: pod({ labels: { foo: 'bar' }, antiAffinity: complex }),
    existing: [
      pod({ labels: { foo: 'bar' }, node: 'nodeA' }),
      pod({ node: 'nodeC', antiAffinity: [byRegion] }),
    ],
    added: pod({ labels: { foo: 'bar' }, node: 'nodeA', antiAffinity: complex }),
    want: { affinity: {}, antiAffinity: { 'region=r1': 2, 'zone=z11': 2, 'zone=z21': 1 } },
  },
  {
    name: 'affinity counts follow an added and removed pod',
    pending: pod({ labels: { foo: 'bar' }, affinity: complex }),
    existing: [
      pod({ labels: { foo: 'bar' }, node: 'nodeA' }),
      pod({ node: 'nodeC', antiAffinity: [byRegion], affinity: complex }),
    ],
    added: pod({ labels: { foo: 'bar' }, node: 'nodeA', antiAffinity: complex }),
    want: { affinity: { 'region=r1': 2, 'zone=z11': 2 }, antiAffinity: {} },
  },
]
for (const c of addRemoveCases) {
  test(`InterPodAffinity addPod/removePod: ${c.name}`, () => {
    const countsFor = (existing: Pod[]) => {
      const infos = cluster(addRemoveNodes, existing)
      const plugin = interPodAffinity(fakeHandle(infos))
      const state = new CycleState()
      assert.equal(plugin.preFilter(state, c.pending, infos).status.code, 'Success')
      return { plugin, state, infos }
    }
    const withAll = preFilterCounts(countsFor([...c.existing, c.added]).state)
    const { plugin, state, infos } = countsFor(c.existing)
    const before = preFilterCounts(state)
    const target = infos.find((n) => n.name === c.added.spec?.nodeName) as NodeInfo
    const added = podInfo(c.added)

    assert.equal(plugin.addPod?.(state, c.pending, added, target).code, 'Success')
    const after = preFilterCounts(state)
    assert.deepEqual(after && { affinity: after.affinity, antiAffinity: after.antiAffinity }, c.want)
    assert.deepEqual(after, withAll)

    assert.equal(plugin.removePod?.(state, c.pending, added, target).code, 'Success')
    assert.deepEqual(preFilterCounts(state), before)
  })
}

test('InterPodAffinity removePod on a cloned state (preemption) frees the node there only', () => {
  const victim = pod({ node: 'nodeA', labels: { app: 'db' } })
  const infos = cluster([zoned('nodeA', 'z1'), zoned('nodeB', 'z1')], [victim])
  const plugin = interPodAffinity(fakeHandle(infos))
  const p = pod({ antiAffinity: [inTerm('app', ['db'], 'zone')] })
  const state = new CycleState()
  plugin.preFilter(state, p, infos)
  const whatIf = state.clone()
  plugin.removePod?.(whatIf, p, podInfo(victim), infos[0] as NodeInfo)
  assert.equal(verdict(plugin.filter(whatIf, p, infos[1] as NodeInfo)), fits)
  assert.equal(verdict(plugin.filter(state, p, infos[1] as NodeInfo)), antiAffinityMismatch)
})

test("InterPodAffinity: a pod's terms are parsed once per pod object", () => {
  const p = pod({ affinity: [existsTerm('app', 'zone')] })
  assert.equal(podAffinityTerms(p), podAffinityTerms(p))
  assert.equal(podAffinityTerms(p).requiredAffinity.length, 1)
})

// --- Score --------------------------------------------------------------------------------------

const s2 = { security: 'S2' }
const az1 = { az: 'az1' }
const az2 = { az: 'az2' }
const stayWithS1InRegion: PodOptions = { preferred: [weighted(5, inTerm('security', ['S1'], 'region'))] }
const stayWithS2InRegion: PodOptions = { preferred: [weighted(6, inTerm('security', ['S2'], 'region'))] }
const affinity3: PodOptions = {
  preferred: [
    weighted(8, term('region', req('security', 'NotIn', ['S1']), req('security', 'In', ['S2']))),
    weighted(2, term('region', req('security', 'Exists'), req('wrongkey', 'DoesNotExist'))),
  ],
}
const hardAffinity: PodOptions = {
  affinity: [
    inTerm('security', ['S1', 'value2'], 'region'),
    term('region', req('security', 'Exists'), req('wrongkey', 'DoesNotExist')),
  ],
}
const awayFromS1InAz: PodOptions = { preferredAnti: [weighted(5, inTerm('security', ['S1'], 'az'))] }
const awayFromS2InAz: PodOptions = { preferredAnti: [weighted(5, inTerm('security', ['S2'], 'az'))] }
const stayWithS1AwayFromS2: PodOptions = {
  preferred: [weighted(8, inTerm('security', ['S1'], 'region'))],
  preferredAnti: [weighted(5, inTerm('security', ['S2'], 'az'))],
}
const s1ByNamespaces = {
  ...inTerm('security', ['S1'], 'region'),
  namespaces: ['subteam2.team2'],
  namespaceSelector: team('team1'),
}
const affinityNamespaceSelector: PodOptions = { preferred: [weighted(5, s1ByNamespaces)] }
const antiAffinityNamespaceSelector: PodOptions = { preferredAnti: [weighted(5, s1ByNamespaces)] }
const on = (nodeName: string, o: PodOptions = {}) => pod({ ...o, node: nodeName })

function runScore(c: { pod: Pod; existing: Pod[]; nodes: Node[]; args?: Record<string, unknown> }): {
  preScore: string
  scores: number[]
} {
  const infos = cluster(c.nodes, c.existing)
  const plugin = interPodAffinity(fakeHandle(infos), c.args)
  const state = new CycleState()
  const status = plugin.preScore(state, c.pod, infos)
  if (status.code === 'Error') return { preScore: verdict(status), scores: [] }
  const scores: NodeScore[] = infos.map((n) => ({ name: n.name, score: plugin.score(state, c.pod, n) }))
  plugin.normalizeScores?.(state, c.pod, scores)
  return { preScore: status.code, scores: scores.map((s) => s.score) }
}

const scoreCases: {
  name: string
  pod: Pod
  existing: Pod[]
  nodes: Node[]
  args?: Record<string, unknown>
  preScore?: string
  want: number[]
}[] = [
  {
    name: 'without any affinity all nodes score the same (PreScore skips)',
    pod: pod({ labels: s1 }),
    existing: [],
    nodes: [node('node1', china), node('node2', india), node('node3', az1)],
    preScore: skipped,
    want: [0, 0, 0],
  },
  {
    name: 'a node in the domain of a matching pod scores highest; one without the topology key does not',
    pod: pod({ ...stayWithS1InRegion, labels: s1 }),
    existing: [on('node1', { labels: s1 }), on('node2', { labels: s2 }), on('node3', { labels: s1 })],
    nodes: [node('node1', china), node('node2', india), node('node3', az1)],
    want: [100, 0, 0],
  },
  {
    name: 'all nodes of the domain of a matching pod score the same',
    pod: pod(stayWithS1InRegion),
    existing: [on('node1', { labels: s1 })],
    nodes: [node('node1', china), node('node2', chinaAz1), node('node3', india)],
    want: [100, 100, 0],
  },
  {
    name: 'the region with more matching pods scores higher',
    pod: pod({ ...stayWithS2InRegion, labels: s1 }),
    existing: [
      on('node1', { labels: s2 }),
      on('node1', { labels: s2 }),
      on('node2', { labels: s2 }),
      on('node3', { labels: s2 }),
      on('node4', { labels: s2 }),
      on('node5', { labels: s2 }),
    ],
    nodes: [
      node('node1', china),
      node('node2', india),
      node('node3', china),
      node('node4', china),
      node('node5', india),
    ],
    want: [100, 0, 100, 100, 0],
  },
  {
    name: 'weights of preferred terms with different operators add up, scaled min..max',
    pod: pod({ ...affinity3, labels: s1 }),
    existing: [on('node1', { labels: s1 }), on('node2', { labels: s2 }), on('node3', { labels: s1 })],
    nodes: [node('node1', china), node('node2', india), node('node3', az1)],
    want: [20, 100, 0],
  },
  {
    name: "symmetry: existing pods' preferred affinity matching the pod scores their domain",
    pod: pod({ labels: s2 }),
    existing: [
      on('node1', { ...stayWithS1InRegion, labels: s1 }),
      on('node2', { ...stayWithS2InRegion, labels: s2 }),
    ],
    nodes: [node('node1', china), node('node2', india), node('node3', az1)],
    want: [0, 100, 0],
  },
  {
    name: "symmetry: an existing pod's preferred affinity reaches the pod through its namespaceSelector",
    pod: pod({ namespace: 'subteam1.team1', labels: s1 }),
    existing: [
      on('node1', { ...affinityNamespaceSelector, labels: s1 }),
      on('node2', { ...stayWithS2InRegion, labels: s2 }),
    ],
    nodes: [node('node1', china), node('node2', india), node('node3', az1)],
    want: [100, 0, 0],
  },
  {
    name: "symmetry: an existing pod's preferred anti-affinity reaches the pod through its namespaceSelector",
    pod: pod({ namespace: 'subteam1.team1', labels: s1 }),
    existing: [
      on('node1', { ...antiAffinityNamespaceSelector, labels: s1 }),
      on('node2', { ...stayWithS2InRegion, labels: s2 }),
    ],
    nodes: [node('node1', china), node('node2', india), node('node3', az1)],
    want: [0, 100, 100],
  },
  {
    name: "symmetry: existing pods' required affinity counts hardPodAffinityWeight",
    pod: pod({ labels: s1 }),
    existing: [on('node1', { ...hardAffinity, labels: s1 }), on('node2', { ...hardAffinity, labels: s2 })],
    nodes: [node('node1', china), node('node2', india), node('node3', az1)],
    want: [100, 100, 0],
  },
  {
    name: 'anti-affinity: the node with a matching pod scores lowest',
    pod: pod({ ...awayFromS1InAz, labels: s1 }),
    existing: [on('node1', { labels: s1 }), on('node2', { labels: s2 })],
    nodes: [node('node1', az1), node('node2', china)],
    want: [0, 100],
  },
  {
    name: 'anti-affinity: a matching pod on a node without the topology key does not count',
    pod: pod({ ...awayFromS1InAz, labels: s1 }),
    existing: [on('node1', { labels: s1 }), on('node2', { labels: s1 })],
    nodes: [node('node1', az1), node('node2', china)],
    want: [0, 100],
  },
  {
    name: 'anti-affinity: the node with more matching pods scores lower',
    pod: pod({ ...awayFromS1InAz, labels: s1 }),
    existing: [on('node1', { labels: s1 }), on('node1', { labels: s1 }), on('node2', { labels: s2 })],
    nodes: [node('node1', az1), node('node2', india)],
    want: [0, 100],
  },
  {
    name: "anti-affinity symmetry: existing pods' preferred anti-affinity matching the pod lowers their domain",
    pod: pod({ labels: s2 }),
    existing: [
      on('node1', { ...awayFromS2InAz, labels: s1 }),
      on('node2', { ...awayFromS1InAz, labels: s2 }),
    ],
    nodes: [node('node1', az1), node('node2', az2)],
    want: [0, 100],
  },
  {
    name: 'preferred affinity and anti-affinity together',
    pod: pod({ ...stayWithS1AwayFromS2, labels: s1 }),
    existing: [on('node1', { labels: s1 }), on('node2', { labels: s1 })],
    nodes: [node('node1', china), node('node2', az1)],
    want: [100, 0],
  },
  {
    name: 'preferred affinity and anti-affinity, existing pods with the same labels as the pod',
    pod: pod({ ...stayWithS1AwayFromS2, labels: s1 }),
    existing: [
      on('node1', { labels: s1 }),
      on('node1', { labels: s1 }),
      on('node2', { labels: s1 }),
      on('node3', { labels: s1 }),
      on('node3', { labels: s1 }),
      on('node4', { labels: s1 }),
      on('node5', { labels: s1 }),
    ],
    nodes: [
      node('node1', chinaAz1),
      node('node2', india),
      node('node3', china),
      node('node4', china),
      node('node5', india),
    ],
    want: [100, 0, 100, 100, 0],
  },
  {
    name: 'preferred affinity, anti-affinity and both symmetries together',
    pod: pod({ ...stayWithS1AwayFromS2, labels: s1 }),
    existing: [
      on('node1', { labels: s1 }),
      on('node2', { labels: s2 }),
      on('node3', stayWithS1AwayFromS2),
      on('node4', awayFromS1InAz),
    ],
    nodes: [node('node1', china), node('node2', az1), node('node3', india), node('node4', az2)],
    want: [100, 0, 100, 0],
  },
  {
    name: 'nodes of one domain, only some with pods with affinity, score the same',
    pod: pod({ labels: s1 }),
    existing: [on('node1', { labels: s1 }), on('node2', stayWithS1AwayFromS2)],
    nodes: [node('node1', china), node('node2', china)],
    want: [0, 0],
  },
  {
    name: 'preferred affinity with pods in namespaces matching the namespaceSelector',
    pod: pod({ ...affinityNamespaceSelector, namespace: 'subteam1.team1', labels: s1 }),
    existing: [
      on('node1', { namespace: 'subteam1.team1', labels: s1 }),
      on('node1', { namespace: 'subteam1.team1', labels: s1 }),
      on('node1', { namespace: 'subteam1.team2', labels: s1 }),
      on('node2', { namespace: 'subteam2.team1', labels: s1 }),
    ],
    nodes: [node('node1', china), node('node2', india)],
    want: [100, 0],
  },
  {
    name: 'preferred affinity with pods matching namespaceSelector or namespaces',
    pod: pod({ ...affinityNamespaceSelector, namespace: 'subteam1.team1', labels: s1 }),
    existing: [
      on('node1', { namespace: 'subteam1.team1', labels: s1 }),
      on('node1', { namespace: 'subteam1.team1', labels: s1 }),
      on('node1', { namespace: 'subteam2.team2', labels: s1 }),
      on('node2', { namespace: 'subteam2.team1', labels: s1 }),
    ],
    nodes: [node('node1', china), node('node2', india)],
    want: [100, 0],
  },
  {
    name: 'preferred anti-affinity with pods in namespaces matching the namespaceSelector',
    pod: pod({ ...antiAffinityNamespaceSelector, namespace: 'subteam1.team1', labels: s1 }),
    existing: [
      on('node1', { namespace: 'subteam1.team1', labels: s1 }),
      on('node1', { namespace: 'subteam1.team1', labels: s1 }),
      on('node1', { namespace: 'subteam1.team2', labels: s1 }),
      on('node2', { namespace: 'subteam2.team1', labels: s1 }),
    ],
    nodes: [node('node1', china), node('node2', india)],
    want: [0, 100],
  },
  {
    name: 'preferred anti-affinity with pods matching namespaceSelector or namespaces',
    pod: pod({ ...antiAffinityNamespaceSelector, namespace: 'subteam1.team1', labels: s1 }),
    existing: [
      on('node1', { namespace: 'subteam1.team1', labels: s1 }),
      on('node1', { namespace: 'subteam1.team1', labels: s1 }),
      on('node1', { namespace: 'subteam2.team2', labels: s1 }),
      on('node2', { namespace: 'subteam2.team1', labels: s1 }),
    ],
    nodes: [node('node1', china), node('node2', india)],
    want: [0, 100],
  },
  {
    name: 'ignorePreferredTermsOfExistingPods skips pods without preferred terms of their own',
    pod: pod({ labels: s2 }),
    existing: [
      on('node1', { ...stayWithS1AwayFromS2, labels: s1 }),
      on('node2', { ...stayWithS2InRegion, labels: s2 }),
    ],
    nodes: [node('node1', china), node('node2', india)],
    args: { ignorePreferredTermsOfExistingPods: true },
    preScore: skipped,
    want: [0, 0],
  },
  {
    name: "by default existing pods' preferred terms count for a pod without its own",
    pod: pod({ labels: s2 }),
    existing: [
      on('node1', { ...stayWithS1AwayFromS2, labels: s1 }),
      on('node2', { ...stayWithS2InRegion, labels: s2 }),
    ],
    nodes: [node('node1', china), node('node2', india)],
    want: [0, 100],
  },
  {
    name: 'no nodes: PreScore skips',
    pod: pod({ labels: s2 }),
    existing: [],
    nodes: [],
    preScore: skipped,
    want: [],
  },
]
for (const c of scoreCases) {
  test(`InterPodAffinity score: ${c.name}`, () => {
    assert.deepEqual(runScore(c), { preScore: c.preScore ?? 'Success', scores: c.want })
  })
}

test('InterPodAffinity PreScore: a preferred term that does not parse is an error', () => {
  for (const o of [
    { preferred: [weighted(8, inTerm('security', ['{{.bad-value.}}'], 'region'))] },
    { preferredAnti: [weighted(5, inTerm('security', ['{{.bad-value.}}'], 'az'))] },
  ]) {
    const got = runScore({ pod: pod(o), existing: [], nodes: [node('node1', china), node('node2', china)] })
    assert.match(got.preScore, /^Error: parsing pod: .*Invalid value: "\{\{\.bad-value\.\}\}"/)
  }
})

const hardPodAffinity: PodOptions = {
  affinity: [
    {
      ...inTerm('service', ['S1'], 'region'),
      namespaces: ['default', 'subteam2.team2'],
      namespaceSelector: team('team1'),
    },
  ],
}
const hardWeightCases: {
  name: string
  namespace: string
  weight?: number
  preScore?: string
  want: number[]
}[] = [
  { name: 'the default weight', namespace: 'default', want: [100, 100, 0] },
  { name: 'weight 0 turns it off', namespace: 'default', weight: 0, preScore: skipped, want: [0, 0, 0] },
  { name: 'no matching namespace', namespace: 'subteam1.team2', preScore: skipped, want: [0, 0, 0] },
  { name: 'a namespace matching the namespaceSelector', namespace: 'subteam1.team1', want: [100, 100, 0] },
  { name: 'a namespace in the namespaces list', namespace: 'subteam2.team2', want: [100, 100, 0] },
]
for (const c of hardWeightCases) {
  test(`InterPodAffinity score, hardPodAffinityWeight: ${c.name}`, () => {
    const got = runScore({
      pod: pod({ namespace: c.namespace, labels: { service: 'S1' } }),
      existing: [on('node1', hardPodAffinity), on('node2', hardPodAffinity)],
      nodes: [node('node1', china), node('node2', india), node('node3', az1)],
      ...(c.weight !== undefined ? { args: { hardPodAffinityWeight: c.weight } } : {}),
    })
    assert.deepEqual(got, { preScore: c.preScore ?? 'Success', scores: c.want })
  })
}

// --- args ---------------------------------------------------------------------------------------

test("InterPodAffinity args: defaults are hardPodAffinityWeight 1 and existing pods' preferences counted", () => {
  assert.deepEqual(interPodAffinityArgs(undefined), {
    hardPodAffinityWeight: 1,
    ignorePreferredTermsOfExistingPods: false,
  })
  assert.deepEqual(
    interPodAffinityArgs({ hardPodAffinityWeight: 0, ignorePreferredTermsOfExistingPods: true }),
    {
      hardPodAffinityWeight: 0,
      ignorePreferredTermsOfExistingPods: true,
    },
  )
})

test('InterPodAffinity args: a weight outside 0..100 or a non-boolean flag is rejected', () => {
  assert.throws(() => interPodAffinityArgs({ hardPodAffinityWeight: 101 }), /not in valid range \[0, 100\]/)
  assert.throws(() => interPodAffinityArgs({ hardPodAffinityWeight: -1 }), /hardPodAffinityWeight/)
  assert.throws(
    () => interPodAffinityArgs({ ignorePreferredTermsOfExistingPods: 'yes' }),
    /must be a boolean/,
  )
  assert.throws(
    () => interPodAffinity(fakeHandle([]), { hardPodAffinityWeight: 1.5 }),
    /hardPodAffinityWeight/,
  )
})
