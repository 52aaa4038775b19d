import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Node, Pod } from '../../src/api/generated/types/core-v1.ts'
import { loadKubeconfig, type ResourceClient } from '../../src/client/index.ts'
import { startSchedulerThread } from '../../src/scheduler/thread.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/** kube-scheduler in a thread of its own, as `k8ts up` runs it, against a real apiserver. */
describe('the scheduler in its own thread', () => {
  let cp: TestControlPlane
  let pods: ResourceClient<Pod>

  before(async () => {
    cp = await startTestControlPlane({ controllers: [], leaderElect: false, readyPods: false })
    pods = cp.client('', 'v1', 'pods')
    const nodes = cp.client<Node>('', 'v1', 'nodes')
    const node = await nodes.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } })
    await nodes.updateStatus({
      ...node,
      status: {
        allocatable: { cpu: '2', memory: '8Gi', pods: '110' },
        capacity: { cpu: '2', memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    })
  })
  after(() => cp.stop())

  // Over HTTPS, as a scheduler of its own process, and through the in-process transport, as `k8ts
  // up` runs it.
  for (const [transport, pod] of [
    ['HTTPS', 'p1'],
    ['the in-process transport', 'p2'],
  ] as const)
    test(`binds pods (over ${transport}), serves its metrics to the parent, forwards its log and ends on stop`, async () => {
      const lines: string[] = []
      const config = loadKubeconfig(cp.api.server.schedulerKubeconfig)
      const scheduler = startSchedulerThread({
        client: transport === 'HTTPS' ? config : { ...config, inProcess: cp.api.server.inProcessListener() },
        leaderElect: false,
        logLevel: 'debug',
        onLog: (line) => lines.push(line),
      })
      let stopped = false
      try {
        await pods.create({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: pod, namespace: 'default' },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        })
        const bound = await until(
          async () => (await pods.get('default', pod)).spec?.nodeName,
          15_000,
          `${pod} bound by the scheduler thread`,
        )
        assert.equal(bound, 'n1')

        const text = await until(
          async () => {
            const t = await scheduler.metrics.metrics()
            return /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 1\n/.test(
              t,
            )
              ? t
              : undefined
          },
          5_000,
          'one scheduled attempt in the thread’s metrics',
        )
        assert.match(text, /# TYPE scheduler_pending_pods gauge/)
        assert.equal(scheduler.metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8')
        const json = await scheduler.metrics.getMetricsAsJSON()
        const attempts = json.find((m) => m.name === 'scheduler_schedule_attempts_total')
        assert.deepEqual(
          attempts?.values.map((v) => [v.labels.result, v.value]),
          [['scheduled', 1]],
        )

        // Its log lines come to the parent as JSON, named after the component.
        assert.ok(lines.length > 0, 'the thread logged at debug level')
        for (const line of lines)
          assert.equal((JSON.parse(line) as { component?: string }).component, 'scheduler')

        await scheduler.stop()
        stopped = true
        await scheduler.done
        assert.equal(scheduler.lostLeadership, false)
        await assert.rejects(scheduler.metrics.metrics(), /the scheduler's thread has ended/)
      } finally {
        if (!stopped) await scheduler.stop()
      }
    })

  test('a scheduler that cannot start fails its done, and stop still ends the thread', async () => {
    const scheduler = startSchedulerThread({
      client: { server: 'not a URL' },
      leaderElect: false,
      onLog: () => undefined,
    })
    await assert.rejects(
      scheduler.done,
      /the scheduler.s thread failed: TransportError: the server address "not a URL" is not a URL/,
    )
    await assert.rejects(scheduler.metrics.metrics(), /is not a URL/)
    await scheduler.stop()
  })
})
