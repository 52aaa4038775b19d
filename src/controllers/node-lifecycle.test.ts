import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Lease } from '../api/generated/types/coordination-v1.ts'
import type { Node, Pod, Taint, Toleration } from '../api/generated/types/core-v1.ts'
import { FakeClock } from '../base/clock.ts'
import { IndexedCache, Lister } from '../client/index.ts'
import { tolerates } from '../api/taints.ts'
import { desiredTaints, evictionTime, NodeLifecycleController } from './node-lifecycle.ts'

const T0 = Date.parse('2026-01-01T00:00:00Z')

function node(
  name: string,
  ready: string | undefined,
  o: { taints?: Taint[]; unschedulable?: boolean } = {},
): Node {
  return {
    metadata: { name, resourceVersion: '1', creationTimestamp: '2025-12-31T23:00:00Z' },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: ready
      ? {
          conditions: [
            {
              type: 'Ready',
              status: ready,
              lastHeartbeatTime: '2026-01-01T00:00:00Z',
              reason: 'KubeletReady',
            },
          ],
        }
      : {},
  }
}

function setup(nodes: Node[], pods: Pod[] = []) {
  const clock = new FakeClock(T0)
  const nodeCache = IndexedCache.of<Node>(nodes)
  const leaseCache = new IndexedCache<Lease>()
  const podCache = IndexedCache.of<Pod>(pods)
  const writes: string[] = []
  const statuses: Node[] = []
  const controller = new NodeLifecycleController({
    nodes: new Lister(nodeCache),
    leases: new Lister(leaseCache),
    pods: new Lister(podCache),
    clock,
    gracePeriodMs: 40_000,
    recorder: { event: () => undefined },
    control: {
      updateNodeStatus: async (n) => {
        statuses.push(n)
        nodeCache.set(n)
      },
      setTaints: async (name, taints) => {
        writes.push(`${name}: ${taints.map((t) => `${t.key}:${t.effect}`).join(', ')}`)
        const n = nodeCache.get(name)
        if (n) nodeCache.set({ ...n, spec: { ...n.spec, taints } })
      },
      evict: async (p) => void writes.push(`evict ${p.metadata?.name}`),
    },
  })
  const renew = (name: string, at: number) =>
    leaseCache.set({
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, renewTime: new Date(at).toISOString() },
    })
  return { controller, clock, writes, statuses, renew, nodeCache }
}

test('a node whose lease stops for the grace period becomes Unknown and unreachable', async () => {
  const { controller, clock, writes, statuses, renew } = setup([node('n1', 'True')])
  renew('n1', T0)
  await controller.monitor()
  clock.advance(30_000)
  renew('n1', clock.now())
  await controller.monitor()
  clock.advance(39_000)
  await controller.monitor()
  assert.equal(statuses.length, 0, 'renewed 39 s ago: still healthy')
  clock.advance(2_000)
  await controller.monitor()
  const ready = statuses[0]?.status?.conditions?.find((c) => c.type === 'Ready')
  assert.deepEqual(
    [ready?.status, ready?.reason, ready?.message],
    ['Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'],
  )
  assert.equal(
    ready?.lastHeartbeatTime,
    '2026-01-01T00:00:00Z',
    'the heartbeat time is the kubelet’s, not ours',
  )
  assert.deepEqual(
    statuses[0]?.status?.conditions?.map((c) => `${c.type}=${c.status}`),
    ['Ready=Unknown', 'MemoryPressure=Unknown', 'DiskPressure=Unknown', 'PIDPressure=Unknown'],
  )
  assert.deepEqual(writes, [
    'n1: node.kubernetes.io/unreachable:NoSchedule, node.kubernetes.io/unreachable:NoExecute',
  ])
})

test('taints follow the Ready condition and spec.unschedulable, and other taints are left alone', () => {
  const own: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }
  assert.deepEqual(
    desiredTaints(node('n', 'False')).map((t) => `${t.key}:${t.effect}`),
    ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute'],
  )
  assert.deepEqual(
    desiredTaints(node('n', 'True', { unschedulable: true, taints: [own] })).map((t) => t.key),
    ['node.kubernetes.io/unschedulable'],
  )
})

test('a node Ready again loses the unreachable taints and keeps its own', async () => {
  const own: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }
  const taints: Taint[] = [
    own,
    { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-01-01T00:00:00Z' },
  ]
  const { controller, writes } = setup([node('n1', 'True', { taints })])
  await controller.monitor()
  assert.deepEqual(writes, ['n1: dedicated:NoSchedule'])
})

const taint = (key: string, added: string): Taint => ({ key, effect: 'NoExecute', timeAdded: added })

test('tolerations: Exists matches any value, an empty key with Exists matches every taint, effects must agree', () => {
  const t = taint('node.kubernetes.io/unreachable', '')
  assert.equal(tolerates({ key: 'node.kubernetes.io/unreachable', operator: 'Exists' }, t), true)
  assert.equal(tolerates({ operator: 'Exists' }, t), true)
  assert.equal(
    tolerates({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }, t),
    false,
  )
  assert.equal(tolerates({ key: 'other', operator: 'Exists' }, t), false)
  assert.equal(
    tolerates({ key: 'k', operator: 'Equal', value: 'v' }, { key: 'k', value: 'v', effect: 'NoExecute' }),
    true,
  )
  assert.equal(tolerates({ key: 'k', value: 'w' }, { key: 'k', value: 'v', effect: 'NoExecute' }), false)
})

test('a pod leaves at once without a toleration, after tolerationSeconds with one, never with an unlimited one', () => {
  const taints = [taint('node.kubernetes.io/unreachable', '2026-01-01T00:00:00Z')]
  const pod = (tolerations: Toleration[] | undefined): Pod => ({
    metadata: { name: 'p' },
    spec: { containers: [], ...(tolerations ? { tolerations } : {}) },
  })
  assert.equal(evictionTime(pod(undefined), taints), T0)
  assert.equal(
    evictionTime(
      pod([
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ]),
      taints,
    ),
    T0 + 300_000,
  )
  assert.equal(
    evictionTime(pod([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists' }]), taints),
    undefined,
  )
})

test('the taint manager evicts what must go and looks again when the next pod must', async () => {
  const tainted = node('n1', 'Unknown', {
    taints: [taint('node.kubernetes.io/unreachable', '2026-01-01T00:00:00Z')],
  })
  const pods: Pod[] = [
    { metadata: { name: 'intolerant', namespace: 'default' }, spec: { nodeName: 'n1', containers: [] } },
    {
      metadata: { name: 'patient', namespace: 'default' },
      spec: {
        nodeName: 'n1',
        containers: [],
        tolerations: [
          {
            key: 'node.kubernetes.io/unreachable',
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds: 300,
          },
        ],
      },
    },
    { metadata: { name: 'elsewhere', namespace: 'default' }, spec: { nodeName: 'n2', containers: [] } },
  ]
  const { controller, clock, writes } = setup([tainted], pods)
  clock.advance(10_000)
  assert.deepEqual(await controller.reconcile('n1'), { afterMs: 290_000 })
  assert.deepEqual(writes, ['evict intolerant'])
  clock.advance(290_000)
  assert.equal(await controller.reconcile('n1'), undefined)
  assert.deepEqual(writes, ['evict intolerant', 'evict intolerant', 'evict patient'])
})
