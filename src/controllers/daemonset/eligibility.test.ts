import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DaemonSet } from '../../api/generated/types/apps-v1.ts'
import type { Affinity, Node, Pod, PodSpec, Taint } from '../../api/generated/types/core-v1.ts'
import {
  daemonPodTolerations,
  nodeShouldRunDaemonPod,
  pinToNode,
  targetNodeName,
  withDaemonPodTolerations,
} from './eligibility.ts'

function makeDS(spec: Partial<PodSpec> = {}): DaemonSet {
  return {
    metadata: { name: 'agent', namespace: 'default', uid: 'ds-uid' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: {
          containers: [{ name: 'c', image: 'agent', ports: [{ containerPort: 80, hostPort: 80 }] }],
          ...spec,
        },
      },
    },
  }
}

function makeNode(
  o: { name?: string; labels?: Record<string, string>; taints?: Taint[]; unschedulable?: boolean } = {},
): Node {
  return {
    metadata: { name: o.name ?? 'n1', labels: o.labels ?? { zone: 'a' } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    // Resources and ports play no part: the scheduler decides those (and preempts for daemons).
    status: { allocatable: { cpu: '100m', memory: '1Mi', pods: '1' } },
  }
}

const taint = (key: string, effect: string, value?: string): Taint => ({
  key,
  effect,
  ...(value ? { value } : {}),
})

const affinityTo = (key: string, values: string[]): Affinity => ({
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values }] }],
    },
  },
})

const cases: {
  name: string
  ds: DaemonSet
  node: Node
  want: [shouldRun: boolean, shouldContinueRunning: boolean]
}[] = [
  { name: 'a plain DaemonSet runs on a plain node', ds: makeDS(), node: makeNode(), want: [true, true] },
  {
    name: 'resources requested beyond the node’s allocatable do not matter (the scheduler decides)',
    ds: makeDS({ containers: [{ name: 'c', image: 'a', resources: { requests: { cpu: '4' } } }] }),
    node: makeNode(),
    want: [true, true],
  },
  {
    name: 'a nodeSelector the node’s labels carry',
    ds: makeDS({ nodeSelector: { zone: 'a' } }),
    node: makeNode(),
    want: [true, true],
  },
  {
    name: 'a nodeSelector the node’s labels do not carry',
    ds: makeDS({ nodeSelector: { zone: 'b' } }),
    node: makeNode(),
    want: [false, false],
  },
  {
    name: 'a template nodeName naming the node',
    ds: makeDS({ nodeName: 'n1' }),
    node: makeNode(),
    want: [true, true],
  },
  {
    name: 'a template nodeName naming another node',
    ds: makeDS({ nodeName: 'n2' }),
    node: makeNode(),
    want: [false, false],
  },
  {
    name: 'required node affinity the node matches',
    ds: makeDS({ affinity: affinityTo('zone', ['a', 'c']) }),
    node: makeNode(),
    want: [true, true],
  },
  {
    name: 'required node affinity the node does not match',
    ds: makeDS({ affinity: affinityTo('zone', ['b']) }),
    node: makeNode(),
    want: [false, false],
  },
  {
    name: 'required node affinity by metadata.name (matchFields)',
    ds: makeDS({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }],
          },
        },
      },
    }),
    node: makeNode(),
    want: [false, false],
  },
  {
    name: 'an untolerated NoSchedule taint: no new pod, but one there keeps running',
    ds: makeDS(),
    node: makeNode({ taints: [taint('dedicated', 'NoSchedule', 'gpu')] }),
    want: [false, true],
  },
  {
    name: 'an untolerated NoExecute taint: no pod, and one there is evicted',
    ds: makeDS(),
    node: makeNode({ taints: [taint('dedicated', 'NoExecute', 'gpu')] }),
    want: [false, false],
  },
  {
    name: 'a tolerated NoExecute taint',
    ds: makeDS({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoExecute' }] }),
    node: makeNode({ taints: [taint('dedicated', 'NoExecute', 'gpu')] }),
    want: [true, true],
  },
  {
    name: 'a PreferNoSchedule taint keeps nothing away',
    ds: makeDS(),
    node: makeNode({ taints: [taint('dedicated', 'PreferNoSchedule')] }),
    want: [true, true],
  },
  {
    name: 'a not-ready node (NoExecute taint) still runs daemons',
    ds: makeDS(),
    node: makeNode({ taints: [taint('node.kubernetes.io/not-ready', 'NoExecute')] }),
    want: [true, true],
  },
  {
    name: 'an unreachable node (NoExecute taint) still runs daemons',
    ds: makeDS(),
    node: makeNode({ taints: [taint('node.kubernetes.io/unreachable', 'NoExecute')] }),
    want: [true, true],
  },
  {
    name: 'a not-ready node’s NoSchedule taint is not tolerated by the automatic tolerations',
    ds: makeDS(),
    node: makeNode({ taints: [taint('node.kubernetes.io/not-ready', 'NoSchedule')] }),
    want: [false, true],
  },
  {
    name: 'disk, memory and pid pressure taints are tolerated',
    ds: makeDS(),
    node: makeNode({
      taints: [
        taint('node.kubernetes.io/disk-pressure', 'NoSchedule'),
        taint('node.kubernetes.io/memory-pressure', 'NoSchedule'),
        taint('node.kubernetes.io/pid-pressure', 'NoSchedule'),
      ],
    }),
    want: [true, true],
  },
  {
    name: 'a cordoned node (unschedulable taint) still runs daemons',
    ds: makeDS(),
    node: makeNode({
      unschedulable: true,
      taints: [taint('node.kubernetes.io/unschedulable', 'NoSchedule')],
    }),
    want: [true, true],
  },
  {
    name: 'a network-unavailable node runs host-network daemons',
    ds: makeDS({ hostNetwork: true }),
    node: makeNode({ taints: [taint('node.kubernetes.io/network-unavailable', 'NoSchedule')] }),
    want: [true, true],
  },
  {
    name: 'a network-unavailable node runs no pod-network daemon',
    ds: makeDS(),
    node: makeNode({ taints: [taint('node.kubernetes.io/network-unavailable', 'NoSchedule')] }),
    want: [false, true],
  },
]

for (const c of cases) {
  test(c.name, () => {
    const v = nodeShouldRunDaemonPod(c.node, c.ds)
    assert.deepEqual([v.shouldRun, v.shouldContinueRunning], c.want)
  })
}

test('daemon pods get the not-ready/unreachable NoExecute and the pressure/unschedulable NoSchedule tolerations', () => {
  assert.deepEqual(
    daemonPodTolerations({ containers: [] }).map((t) => `${t.key}:${t.effect}`),
    [
      'node.kubernetes.io/not-ready:NoExecute',
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/memory-pressure:NoSchedule',
      'node.kubernetes.io/pid-pressure:NoSchedule',
      'node.kubernetes.io/unschedulable:NoSchedule',
    ],
  )
  assert.ok(
    daemonPodTolerations({ containers: [], hostNetwork: true }).some(
      (t) => t.key === 'node.kubernetes.io/network-unavailable',
    ),
  )
})

test('a template toleration equal to a daemon one is replaced in place (losing tolerationSeconds), others are kept', () => {
  const got = withDaemonPodTolerations({
    containers: [],
    tolerations: [
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
      { key: 'dedicated', operator: 'Equal', value: 'gpu' },
    ],
  })
  assert.deepEqual(got.slice(0, 2), [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'dedicated', operator: 'Equal', value: 'gpu' },
  ])
  assert.equal(got.length, 7)
})

test('pinning to a node replaces the required terms with one matchFields term and keeps the rest', () => {
  const affinity: Affinity = {
    ...affinityTo('zone', ['a']),
    podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'x' }] },
  }
  affinity.nodeAffinity = {
    ...affinity.nodeAffinity,
    preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [] } }],
  }
  const pinned = pinToNode(affinity, 'n7')
  assert.deepEqual(pinned.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, {
    nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n7'] }] }],
  })
  assert.equal(pinned.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length, 1)
  assert.ok(pinned.podAntiAffinity)
  assert.deepEqual(
    pinToNode(undefined, 'n1').nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms,
    [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }],
  )
  assert.equal(
    affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms.length,
    1,
    'input untouched',
  )
})

test('a daemon pod’s node is its nodeName once bound, else the single node its affinity names', () => {
  const pod = (spec: Partial<PodSpec>): Pod => ({ spec: { containers: [], ...spec } })
  assert.equal(targetNodeName(pod({ nodeName: 'n3', affinity: pinToNode(undefined, 'n1') })), 'n3')
  assert.equal(targetNodeName(pod({ affinity: pinToNode(undefined, 'n1') })), 'n1')
  assert.equal(targetNodeName(pod({})), undefined)
  assert.equal(targetNodeName(pod({ affinity: affinityTo('zone', ['a']) })), undefined)
})
