import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { ReplicaSet } from '../../src/api/generated/types/apps-v1.ts'
import type { Event, Node, Pod, Taint } from '../../src/api/generated/types/core-v1.ts'
import { loadKubeconfig, type ResourceClient } from '../../src/client/index.ts'
import { startScheduler, type RunningScheduler } from '../../src/scheduler/index.ts'
import { testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/** The scheduler against a real apiserver, with Node objects standing in for machines. */
describe('the scheduler', () => {
  let cp: TestControlPlane
  let scheduler: RunningScheduler
  let nodes: ResourceClient<Node>
  let pods: ResourceClient<Pod>

  const addNode = async (name: string, cpu: string, taints?: Taint[]) => {
    const created = await nodes.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      ...(taints ? { spec: { taints } } : {}),
    })
    await nodes.updateStatus({
      ...created,
      status: {
        allocatable: { cpu, memory: '8Gi', pods: '110' },
        capacity: { cpu, memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    })
  }

  before(async () => {
    cp = await startTestControlPlane({ controllers: ['replicaset'], leaderElect: false, readyPods: false })
    nodes = cp.client('', 'v1', 'nodes')
    pods = cp.client('', 'v1', 'pods')
    await addNode('n1', '2')
    await addNode('n2', '8', [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }])
    await addNode('n3', '1')
    scheduler = startScheduler({
      client: loadKubeconfig(cp.api.server.schedulerKubeconfig),
      leaderElect: false,
      log: testLog,
    })
  })
  after(async () => {
    await scheduler.stop()
    await cp.stop()
  })

  test('a ReplicaSet’s pods are bound within each node’s CPU, away from an untolerated taint', async () => {
    const rss = cp.client<ReplicaSet>('apps', 'v1', 'replicasets')
    await rss.create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 6,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'nginx', resources: { requests: { cpu: '500m' } } }] },
        },
      },
    })
    const bound = await until(
      async () => {
        const items = (await pods.list('default', { labelSelector: 'app=web' })).items
        return items.length === 6 && items.every((p) => p.spec?.nodeName) ? items : undefined
      },
      15_000,
      '6 bound pods',
    )
    const perNode = new Map<string, number>()
    for (const p of bound) perNode.set(p.spec?.nodeName ?? '', (perNode.get(p.spec?.nodeName ?? '') ?? 0) + 1)
    assert.deepEqual(Object.fromEntries([...perNode].sort()), { n1: 4, n3: 2 })
    const events = await cp
      .client<Event>('', 'v1', 'events')
      .list('default', { fieldSelector: 'reason=Scheduled' })
    assert.ok(
      events.items.some((e) => /^Successfully assigned default\/web-\w+ to n[13]$/.test(e.message ?? '')),
    )
    assert.equal(events.items[0]?.source?.component, 'default-scheduler')
  })

  test('a pod that fits nowhere gets FailedScheduling and PodScheduled=False, and is bound once a node fits', async () => {
    await pods.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'big', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '3' } } }] },
    })
    // DefaultPreemption's own verdict follows, as kube-scheduler words it.
    const expected =
      '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. ' +
      'preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.'
    await until(
      async () =>
        (await pods.get('default', 'big')).status?.conditions?.some(
          (c) => c.type === 'PodScheduled' && c.status === 'False',
        ),
      10_000,
      'PodScheduled=False',
    )
    const p = await pods.get('default', 'big')
    const cond = p.status?.conditions?.find((c) => c.type === 'PodScheduled')
    assert.deepEqual([cond?.reason, cond?.message], ['Unschedulable', expected])
    const events = await cp
      .client<Event>('', 'v1', 'events')
      .list('default', { fieldSelector: 'involvedObject.name=big' })
    assert.equal(events.items.find((e) => e.reason === 'FailedScheduling')?.message, expected)

    await addNode('n4', '4')
    const placed = await until(
      async () => (await pods.get('default', 'big')).spec?.nodeName,
      15_000,
      'big to be bound',
    )
    assert.equal(placed, 'n4')
  })
})
