import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Event, Node, Pod, PodSpec } from '../../src/api/generated/types/core-v1.ts'
import { loadKubeconfig, type ResourceClient } from '../../src/client/index.ts'
import { startScheduler, type RunningScheduler } from '../../src/scheduler/index.ts'
import { testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/**
 * Where the scheduler puts pods that care about other pods: inter-pod affinity and anti-affinity,
 * and topology spread, over five Node objects in three zones (no kubelets).
 */
describe('the scheduler places pods by their neighbours', () => {
  let cp: TestControlPlane
  let scheduler: RunningScheduler
  let pods: ResourceClient<Pod>
  const zones: Record<string, string> = { a1: 'a', a2: 'a', b1: 'b', b2: 'b', c1: 'c' }

  before(async () => {
    cp = await startTestControlPlane({ controllers: [], leaderElect: false, readyPods: false })
    const nodes = cp.client<Node>('', 'v1', 'nodes')
    pods = cp.client('', 'v1', 'pods')
    for (const [name, zone] of Object.entries(zones)) {
      const created = await nodes.create({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': zone } },
      })
      await nodes.updateStatus({
        ...created,
        status: {
          allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
          capacity: { cpu: '4', memory: '8Gi', pods: '110' },
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      })
    }
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

  const create = (name: string, labels: Record<string, string>, spec: Partial<PodSpec> = {}) =>
    pods.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels },
      spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec },
    })
  const nodeOf = (name: string) =>
    until(async () => (await pods.get('default', name)).spec?.nodeName, 10_000, `${name} to be bound`)
  const failedScheduling = (name: string) =>
    until(
      async () =>
        (
          await cp
            .client<Event>('', 'v1', 'events')
            .list('default', { fieldSelector: `involvedObject.name=${name},reason=FailedScheduling` })
        ).items[0]?.message,
      10_000,
      `FailedScheduling for ${name}`,
    )

  test('required anti-affinity on the hostname puts each replica on its own node, and a sixth nowhere', async () => {
    const spec: Partial<PodSpec> = {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' },
          ],
        },
      },
    }
    const placed = new Set<string>()
    for (let i = 0; i < 5; i++) {
      await create(`db-${i}`, { app: 'db' }, spec)
      placed.add(await nodeOf(`db-${i}`))
    }
    assert.equal(placed.size, 5, 'five replicas on five nodes')
    await create('db-5', { app: 'db' }, spec)
    assert.match(
      await failedScheduling('db-5'),
      /^0\/5 nodes are available: 5 node\(s\) didn't match pod anti-affinity rules\./,
    )
    // Pods their term does not select are not kept away.
    await create('other', { app: 'other' })
    assert.ok(await nodeOf('other'))
    for (let i = 0; i <= 5; i++) await pods.delete('default', `db-${i}`, { gracePeriodSeconds: 0 })
  })

  test('required affinity on the zone follows the pod it names, wherever that went', async () => {
    await create('cache', { app: 'cache' }, { nodeSelector: { 'kubernetes.io/hostname': 'b2' } })
    assert.equal(await nodeOf('cache'), 'b2')
    const spec: Partial<PodSpec> = {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'topology.kubernetes.io/zone' },
          ],
        },
      },
    }
    for (let i = 0; i < 4; i++) {
      await create(`web-${i}`, { app: 'web' }, spec)
      assert.equal(zones[await nodeOf(`web-${i}`)], 'b', `web-${i} is in the cache's zone`)
    }
    // Nothing matches this one's affinity, and it does not match its own term: it waits.
    await create(
      'lonely',
      { app: 'lonely' },
      {
        affinity: {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                labelSelector: { matchLabels: { app: 'ghost' } },
                topologyKey: 'topology.kubernetes.io/zone',
              },
            ],
          },
        },
      },
    )
    assert.match(
      await failedScheduling('lonely'),
      /^0\/5 nodes are available: 5 node\(s\) didn't match pod affinity rules\./,
    )
  })

  test('a required spread over zones keeps the skew at most 1, and refuses a pod that would break it', async () => {
    const spec = (): Partial<PodSpec> => ({
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { app: 'spread' } },
        },
      ],
    })
    const perZone: Record<string, number> = { a: 0, b: 0, c: 0 }
    for (let i = 0; i < 6; i++) {
      await create(`spread-${i}`, { app: 'spread' }, spec())
      const zone = zones[await nodeOf(`spread-${i}`)] ?? ''
      perZone[zone] = (perZone[zone] ?? 0) + 1
    }
    assert.deepEqual(perZone, { a: 2, b: 2, c: 2 })
    // With zone c's only node cordoned, a and b may each take one more, and then the skew
    // against c would be 2: the next pod fits nowhere.
    await cp.client<Node>('', 'v1', 'nodes').patch('', 'c1', 'merge', { spec: { unschedulable: true } })
    await new Promise((r) => setTimeout(r, 300))
    for (const i of [6, 7]) {
      await create(`spread-${i}`, { app: 'spread' }, spec())
      assert.notEqual(zones[await nodeOf(`spread-${i}`)], 'c')
    }
    await create('spread-8', { app: 'spread' }, spec())
    assert.equal(
      (await failedScheduling('spread-8')).split(' preemption:')[0],
      "0/5 nodes are available: 1 node(s) were unschedulable, 4 node(s) didn't match pod topology spread constraints.",
    )
  })
})
