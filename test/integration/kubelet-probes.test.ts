import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Container, Pod } from '../../src/api/generated/types/core-v1.ts'
import { realClock } from '../../src/base/clock.ts'
import { builtin, isNotFound, loadKubeconfig, ResourceClient, RestClient } from '../../src/client/index.ts'
import { ApiPodStatusWriter, PodWorkers, runPodSource } from '../../src/kubelet/pod/index.ts'
import { FakeRuntime } from '../../src/kubelet/runtime/fake/fake-runtime.ts'
import { startTestApiServer, testLog, type TestApiServer } from '../support/cluster.ts'
import { until } from '../support/until.ts'

/** Probes and hooks: pod workers on the fake runtime (and its pretend network) against a real apiserver. */
describe('kubelet probes and hooks against an apiserver', () => {
  let c: TestApiServer
  let pods: ResourceClient<Pod>
  let workers: PodWorkers
  let runtime: FakeRuntime
  let source: Promise<void>
  const events: string[] = []
  const stopSource = new AbortController()

  before(async () => {
    c = await startTestApiServer()
    const rest = new RestClient({ ...loadKubeconfig(c.server.adminKubeconfig), userAgent: 'k8ts-test/0.1' })
    pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    runtime = new FakeRuntime({ runtimeName: 'containerd' })
    workers = new PodWorkers({
      runtime,
      clock: realClock,
      statusWriter: new ApiPodStatusWriter(pods),
      hostIPs: ['127.0.0.1'],
      log: testLog,
      network: runtime.network,
      events: {
        event: (pod, type, reason, message) =>
          void events.push(`${pod.metadata?.name} ${type} ${reason} ${message}`),
      },
    })
    await workers.start()
    source = runPodSource(
      { rest, nodeName: 'node-1', workers, clock: realClock, log: testLog },
      stopSource.signal,
    )
  })

  after(async () => {
    stopSource.abort()
    await source.catch(() => {})
    workers.stop()
    await workers.idle()
    await c.stop()
  })

  const pod = (name: string, container: Container): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: 'node-1', terminationGracePeriodSeconds: 5, containers: [container] },
  })
  const healthyFor2s = ['sh', '-c', 'touch /tmp/healthy; sleep 2; rm -f /tmp/healthy; sleep 600']

  test('a failing liveness probe restarts the container; the next failure waits in CrashLoopBackOff', async () => {
    await pods.create(
      pod('live', {
        name: 'app',
        image: 'busybox:1.36',
        command: healthyFor2s,
        livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 1 },
      }),
    )
    await until(
      async () =>
        ((await pods.get('default', 'live')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      15_000,
      'the container to be restarted',
    )
    assert.ok(events.includes('live Normal Killing Container app failed liveness probe, will be restarted'))
    assert.ok(events.some((e) => e.startsWith('live Warning Unhealthy Liveness probe failed: cat:')))
    const waiting = await until(
      async () => {
        const s = (await pods.get('default', 'live')).status?.containerStatuses?.[0]
        return s?.state?.waiting?.reason === 'CrashLoopBackOff' && s
      },
      15_000,
      'CrashLoopBackOff',
    )
    assert.equal(waiting.restartCount, 1)
    assert.equal(waiting.lastState?.terminated?.exitCode !== undefined, true)
  })

  test('a readiness probe flips Ready from True to False', async () => {
    await pods.create(
      pod('ready', {
        name: 'app',
        image: 'busybox:1.36',
        command: healthyFor2s,
        ports: [{ containerPort: 8080 }],
        readinessProbe: { httpGet: { port: 8080, path: '/tmp/healthy' }, periodSeconds: 1 },
      }),
    )
    const ready = (p: Pod) => p.status?.conditions?.find((x) => x.type === 'Ready')?.status
    await until(async () => ready(await pods.get('default', 'ready')) === 'True', 10_000, 'Ready True')
    const unready = await until(
      async () => {
        const p = await pods.get('default', 'ready')
        return ready(p) === 'False' && p
      },
      10_000,
      'Ready False',
    )
    assert.equal(unready.status?.containerStatuses?.[0]?.restartCount, 0)
    assert.equal(unready.status?.phase, 'Running')
  })

  test('graceful deletion runs preStop before the container is stopped', async () => {
    await pods.create(
      pod('stop', {
        name: 'app',
        image: 'busybox:1.36',
        command: ['sleep', '3600'],
        lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 1'] } } },
      }),
    )
    await until(
      async () => (await pods.get('default', 'stop')).status?.phase === 'Running',
      10_000,
      'the pod to run',
    )
    runtime.clearCalls()
    await pods.delete('default', 'stop')
    await until(
      async () => {
        try {
          await pods.get('default', 'stop')
          return false
        } catch (err) {
          return isNotFound(err)
        }
      },
      15_000,
      'the kubelet to delete the pod',
    )
    // The preStop exec, then the stop of the same container (other pods' probes run meanwhile).
    const calls = runtime.calls()
    const preStop = calls.findIndex(
      (x) => x.method === 'execSync' && (x.request as { cmd?: string[] }).cmd?.join(' ') === 'sh -c sleep 1',
    )
    assert.ok(preStop >= 0, 'preStop ran')
    const containerId = (calls[preStop]?.request as { containerId?: string }).containerId
    const stop = calls.findIndex(
      (x) =>
        x.method === 'stopContainer' && (x.request as { containerId?: string }).containerId === containerId,
    )
    assert.ok(stop > preStop, 'stopped after preStop')
    assert.ok((calls[stop]?.atMs ?? 0) - (calls[preStop]?.atMs ?? 0) >= 900, 'after the hook finished')
    assert.ok(events.includes('stop Normal Killing Stopping container app'))
  })
})
