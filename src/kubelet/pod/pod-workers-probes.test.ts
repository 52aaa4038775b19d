import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Container, Pod, PodCondition, PodStatus } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import type { HttpRequest, ProbeNetwork } from '../prober/index.ts'
import { FakeRuntime, type FakeRuntimeOptions } from '../runtime/fake/fake-runtime.ts'
import type * as cri from '../runtime/runtime.ts'
import { PodWorkers } from './pod-workers.ts'
import type { PodRef, PodStatusWriter } from './status-manager.ts'
import { deepFreeze } from '../../api/object.ts'

const uid = '6f1c2a3e-0000-4000-8000-0000000000a1'

class RecordingWriter implements PodStatusWriter {
  patches: PodStatus[] = []
  deletes: PodRef[] = []
  async patchStatus(_ref: PodRef, status: PodStatus): Promise<void> {
    this.patches.push(structuredClone(status))
  }
  async deletePod(ref: PodRef): Promise<void> {
    this.deletes.push(ref)
  }
}

function makePod(
  containers: Container[],
  o: { terminationGracePeriodSeconds?: number; restartPolicy?: string } = {},
): Pod {
  // Frozen, as the informer's pods the workers are handed (shared, never changed).
  return deepFreeze({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid },
    spec: {
      nodeName: 'node-1',
      restartPolicy: o.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: o.terminationGracePeriodSeconds ?? 30,
      containers,
    },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  })
}

/** Pod workers on a fake runtime and clock; `network: 'fake'` passes the runtime's pretend network. */
async function setup(o: { runtime?: FakeRuntimeOptions; network?: 'fake' | 'none' } = {}) {
  const clock = new FakeClock()
  const runtime = new FakeRuntime({
    clock,
    runtimeName: 'containerd',
    images: ['busybox:1.36'],
    ...o.runtime,
  })
  const httpRequests: HttpRequest[] = []
  // The runtime's network, recording the HTTP requests made through it.
  const network: ProbeNetwork = {
    httpGet: (r) => {
      httpRequests.push(r)
      return runtime.network.httpGet(r)
    },
    dialTcp: (r) => runtime.network.dialTcp(r),
    grpcHealthCheck: (r) => runtime.network.grpcHealthCheck(r),
  }
  const writer = new RecordingWriter()
  const events: string[] = []
  const workers = new PodWorkers({
    runtime,
    clock,
    statusWriter: writer,
    events: { event: (_pod, type, reason, message) => void events.push(`${type} ${reason} ${message}`) },
    hostIPs: ['192.168.1.10'],
    ...(o.network === 'none' ? {} : { network }),
  })
  await workers.start()
  const flush = async () => {
    for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r))
  }
  const tick = async (seconds: number) => {
    for (let i = 0; i < seconds; i++) {
      clock.advance(1000)
      await flush()
    }
  }
  const status = () => {
    const s = workers.statusManager.status(uid)
    assert.ok(s, 'a status was generated')
    return s
  }
  const app = (name = 'app') => {
    const s = status().containerStatuses?.find((c) => c.name === name)
    assert.ok(s, `status of ${name}`)
    return s
  }
  const condition = (type: string): PodCondition | undefined =>
    status().conditions?.find((c) => c.type === type)
  const stops = () =>
    runtime.calls('stopContainer').map((c) => ({
      atS: Math.round((c.atMs - Date.UTC(2026, 0, 1)) / 1000),
      timeout: (c.request as cri.Proto3Partial<cri.StopContainerRequest>).timeout,
    }))
  return { clock, runtime, workers, writer, events, flush, tick, status, app, condition, stops, httpRequests }
}

const healthyFor30s = ['sh', '-c', 'touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600']

describe('pod workers with probes', () => {
  test('a failing liveness probe kills and restarts the container; the next failure waits out CrashLoopBackOff', async () => {
    const t = await setup()
    t.workers.updatePod(
      makePod([
        {
          name: 'app',
          image: 'busybox:1.36',
          command: healthyFor30s,
          livenessProbe: {
            exec: { command: ['cat', '/tmp/healthy'] },
            periodSeconds: 5,
            failureThreshold: 1,
          },
        },
      ]),
    )
    await t.flush()
    assert.equal(t.app().ready, true)
    assert.equal(t.app().started, true)
    await t.tick(29)
    assert.equal(t.app().restartCount, 0)
    await t.tick(6)
    // Failed at 30 s (the probe at 30 s sees the file gone), killed, and restarted at once (no back-off yet).
    assert.ok(
      t.events.includes(
        "Warning Unhealthy Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory\n",
      ),
      t.events.join('\n'),
    )
    assert.ok(t.events.includes('Normal Killing Container app failed liveness probe, will be restarted'))
    let app = t.app()
    assert.equal(app.restartCount, 1)
    assert.ok(app.state?.running)
    assert.ok(app.lastState?.terminated)
    assert.deepEqual(t.stops()[0], { atS: 30, timeout: 30 })
    // The new container is healthy for 30 s and fails again at 60 s; it just exited and the back-off
    // (10 s since the first restart) holds it: CrashLoopBackOff until 70 s, then restart.
    await t.tick(31)
    app = t.app()
    assert.equal(app.restartCount, 1)
    assert.equal(app.state?.waiting?.reason, 'CrashLoopBackOff')
    assert.match(app.state?.waiting?.message ?? '', /^back-off 10s restarting failed container=app/)
    await t.tick(5)
    app = t.app()
    assert.equal(app.restartCount, 2)
    assert.ok(app.state?.running)
    t.workers.stop()
  })

  test('a liveness failure shortly after a restart waits out the back-off (CrashLoopBackOff)', async () => {
    const t = await setup({
      runtime: {
        rules: [{ name: 'app', behaviour: { exec: [{ command: ['check'], exitCode: 1, stderr: 'dead' }] } }],
      },
    })
    t.workers.updatePod(
      makePod([
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['sleep', '3600'],
          livenessProbe: {
            exec: { command: ['check'] },
            periodSeconds: 1,
            failureThreshold: 2,
            terminationGracePeriodSeconds: 3,
          },
        },
      ]),
    )
    await t.flush()
    await t.tick(3)
    assert.equal(t.app().restartCount, 1)
    assert.deepEqual(t.stops()[0]?.timeout, 3, "the probe's terminationGracePeriodSeconds")
    await t.tick(3)
    const app = t.app()
    assert.equal(app.restartCount, 1)
    assert.equal(app.state?.waiting?.reason, 'CrashLoopBackOff')
    assert.match(app.state?.waiting?.message ?? '', /^back-off 10s restarting failed container=app/)
    t.workers.stop()
  })

  test('a readiness probe drives ready and the Ready and ContainersReady conditions, both ways', async () => {
    const t = await setup()
    t.workers.updatePod(
      makePod([
        {
          name: 'app',
          image: 'busybox:1.36',
          command: healthyFor30s,
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { port: 'http', path: '/tmp/healthy' }, periodSeconds: 5 },
        },
      ]),
    )
    await t.flush()
    // The status written first has it unready; the readiness probe runs at once and it turns ready.
    assert.equal(t.writer.patches[0]?.containerStatuses?.[0]?.ready, false)
    await t.flush()
    assert.equal(t.app().ready, true)
    assert.equal(t.condition('Ready')?.status, 'True')
    assert.equal(t.condition('ContainersReady')?.status, 'True')
    const r = t.httpRequests[0]
    assert.equal(r?.host, t.status().podIP)
    assert.equal(r?.port, 8080)
    assert.deepEqual(r?.headers.get('User-Agent'), ['kube-probe/1.35'])
    await t.tick(40)
    assert.equal(t.app().ready, false)
    assert.equal(t.app().restartCount, 0, 'readiness does not restart')
    assert.deepEqual(
      [t.condition('Ready')?.status, t.condition('Ready')?.reason, t.condition('Ready')?.message],
      ['False', 'ContainersNotReady', 'containers with unready status: [app]'],
    )
    assert.equal(t.condition('ContainersReady')?.status, 'False')
    assert.ok(
      t.events.includes('Warning Unhealthy Readiness probe failed: HTTP probe failed with statuscode: 404'),
    )
    t.workers.stop()
  })

  test('a startup probe holds started (and readiness) until it succeeds', async () => {
    const t = await setup({ runtime: { rules: [{ name: 'app', behaviour: { listenAfterMs: 12_000 } }] } })
    t.workers.updatePod(
      makePod([
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['server'],
          ports: [{ containerPort: 9000 }],
          startupProbe: { tcpSocket: { port: 9000 }, periodSeconds: 5, failureThreshold: 10 },
          readinessProbe: { grpc: { port: 9000 }, periodSeconds: 5 },
        },
      ]),
    )
    await t.flush()
    assert.deepEqual([t.app().started, t.app().ready], [false, false])
    await t.tick(11)
    assert.deepEqual([t.app().started, t.app().ready], [false, false])
    await t.tick(5)
    // Started at 15 s; the readiness probe (grpc) runs at once after the status says so.
    assert.deepEqual([t.app().started, t.app().ready], [true, true])
    assert.equal(t.condition('Ready')?.status, 'True')
    t.workers.stop()
  })

  test('without a network, httpGet probes fail with a clear message and nothing is dialed', async () => {
    const t = await setup({ network: 'none' })
    t.workers.updatePod(
      makePod([
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['sleep', '3600'],
          ports: [{ containerPort: 8080 }],
          readinessProbe: { httpGet: { port: 8080 }, periodSeconds: 5 },
        },
      ]),
    )
    await t.tick(1)
    assert.equal(t.app().ready, false)
    assert.ok(t.events.some((e) => /Readiness probe failed: .*no probe network configured/.test(e)))
    t.workers.stop()
  })
})

describe('pod workers with lifecycle hooks', () => {
  test('postStart runs after the start (its file is there for the probe)', async () => {
    const t = await setup()
    t.workers.updatePod(
      makePod([
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['sleep', '3600'],
          lifecycle: { postStart: { exec: { command: ['touch', '/tmp/started'] } } },
          readinessProbe: { exec: { command: ['cat', '/tmp/started'] } },
        },
      ]),
    )
    await t.flush()
    await t.flush()
    const execs = t.runtime.calls('execSync').map((c) => (c.request as cri.ExecSyncRequest).cmd.join(' '))
    assert.deepEqual(execs.slice(0, 2), ['touch /tmp/started', 'cat /tmp/started'])
    assert.equal(t.app().ready, true)
    t.workers.stop()
  })

  test('a failed postStart kills the container: FailedPostStartHook, then restarted under the back-off', async () => {
    const t = await setup()
    t.workers.updatePod(
      makePod([
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['sleep', '3600'],
          lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo nope >&2; exit 3'] } } },
        },
      ]),
    )
    await t.flush()
    await t.tick(2)
    const failed = t.events.find((e) => e.startsWith('Warning FailedPostStartHook'))
    assert.equal(
      failed,
      `Warning FailedPostStartHook Exec lifecycle hook ([sh -c echo nope >&2; exit 3]) for Container "app" in Pod "web_default(${uid})" failed - error: command 'sh -c echo nope >&2; exit 3' exited with 3: nope\n, message: "nope\\n"`,
    )
    assert.ok(t.events.includes('Normal Killing FailedPostStartHook'))
    const app = t.app()
    assert.ok(app.restartCount >= 1)
    assert.equal(app.state?.waiting?.reason, 'CrashLoopBackOff')
    t.workers.stop()
  })

  test('preStop runs on deletion before the stop, which gets what is left of the grace period', async () => {
    const t = await setup()
    const pod = makePod(
      [
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['sleep', '3600'],
          ports: [{ containerPort: 8080 }],
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'touch /tmp/draining; sleep 4'] } } },
        },
      ],
      { terminationGracePeriodSeconds: 10 },
    )
    t.workers.updatePod(pod)
    await t.tick(2)
    t.workers.updatePod({
      ...pod,
      metadata: {
        ...pod.metadata,
        deletionTimestamp: '2026-01-01T00:00:02Z',
        deletionGracePeriodSeconds: 10,
      },
    })
    await t.flush()
    assert.ok(t.events.includes('Normal Killing Stopping container app'))
    assert.deepEqual(t.stops(), [], 'not stopped while preStop runs')
    await t.tick(4)
    assert.deepEqual(t.stops(), [{ atS: 6, timeout: 6 }])
    assert.equal(t.workers.state(uid)?.phase, 'terminated')
    t.workers.stop()
  })

  test('a preStop that outlasts the grace period is cut off, and the stop gets the minimum 2 s', async () => {
    const t = await setup()
    const pod = makePod(
      [
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['sleep', '3600'],
          lifecycle: { preStop: { sleep: { seconds: 100 } } },
        },
      ],
      { terminationGracePeriodSeconds: 5 },
    )
    t.workers.updatePod(pod)
    await t.flush()
    t.workers.updatePod({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } })
    await t.flush()
    await t.tick(5)
    assert.deepEqual(t.stops(), [{ atS: 5, timeout: 2 }])
    t.workers.stop()
  })

  test('an httpGet preStop goes through the network; a failed one is a FailedPreStopHook event', async () => {
    const t = await setup()
    const pod = makePod([
      {
        name: 'app',
        image: 'busybox:1.36',
        command: ['sleep', '3600'],
        ports: [{ containerPort: 8080 }],
        lifecycle: { preStop: { httpGet: { port: 9999, path: '/shutdown' } } },
      },
    ])
    t.workers.updatePod(pod)
    await t.flush()
    t.workers.updatePod({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } })
    await t.flush()
    const ip = t.status().podIP ?? ''
    assert.equal(t.httpRequests[0]?.path, '/shutdown')
    assert.deepEqual(t.httpRequests[0]?.headers.get('User-Agent'), ['kube-lifecycle/1.35'])
    assert.ok(
      t.events.includes(
        `Warning FailedPreStopHook HTTP lifecycle hook (/shutdown) for Container "app" in Pod "web_default(${uid})" failed - error: Get "http://${ip}:9999/shutdown": dial tcp ${ip}:9999: connect: connection refused`,
      ),
      t.events.join('\n'),
    )
    assert.equal(t.stops().length, 1)
    t.workers.stop()
  })
})
