import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Container, Pod, PodStatus, Probe } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import type { ExecSyncRequest, Proto3Partial } from '../runtime/runtime.ts'
import { ProbeManager, type ProbeType } from './prober-manager.ts'

const uid = 'pod-uid-1'
const start = Date.UTC(2026, 0, 1)

/**
 * A probe manager with one container 'app' whose exec probes answer from `exits` (one exit code a
 * call, the last one repeating), and a status that says what the pod worker would have written.
 */
function setup(o: { probes: Partial<Record<ProbeType, Probe>>; exits: number[]; started?: boolean }) {
  const clock = new FakeClock(start)
  const execs: { atS: number; request: Proto3Partial<ExecSyncRequest> }[] = []
  const exits = [...o.exits]
  const changes: number[] = []
  const events: string[] = []
  let containerId = 'c1'
  let started = o.started ?? true
  const container: Container = {
    name: 'app',
    image: 'busybox',
    ...(o.probes.startup ? { startupProbe: o.probes.startup } : {}),
    ...(o.probes.liveness ? { livenessProbe: o.probes.liveness } : {}),
    ...(o.probes.readiness ? { readinessProbe: o.probes.readiness } : {}),
  }
  const pod: Pod = { metadata: { name: 'web', namespace: 'default', uid }, spec: { containers: [container] } }
  const status = (): PodStatus => ({
    podIP: '10.88.0.5',
    containerStatuses: [
      {
        name: 'app',
        image: 'busybox',
        imageID: '',
        containerID: `containerd://${containerId}`,
        ready: false,
        restartCount: 0,
        started,
        state: { running: { startedAt: new Date(start).toISOString().replace(/\.\d+Z$/, 'Z') } },
      },
    ],
  })
  const manager = new ProbeManager({
    clock,
    runtime: {
      execSync: async (request) => {
        execs.push({ atS: (clock.now() - start) / 1000, request })
        const exitCode = exits.length > 1 ? (exits.shift() ?? 0) : (exits[0] ?? 0)
        return {
          stdout: Buffer.from(exitCode === 0 ? 'fine' : ''),
          stderr: Buffer.from(exitCode === 0 ? '' : 'sick'),
          exitCode,
        }
      },
    },
    statusOf: () => status(),
    onChange: () => void changes.push((clock.now() - start) / 1000),
    events: { event: (_p, type, reason, message) => void events.push(`${type} ${reason} ${message}`) },
  })
  const flush = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r))
  }
  const tick = async (seconds: number) => {
    for (let i = 0; i < seconds; i++) {
      clock.advance(1000)
      await flush()
    }
  }
  return {
    clock,
    manager,
    execs,
    changes,
    events,
    pod,
    flush,
    tick,
    setContainer: (id: string) => void (containerId = id),
    setStarted: (s: boolean) => void (started = s),
    ready: () => manager.isReady(uid, 'app', containerId),
    isStarted: () => manager.isStarted(uid, 'app', containerId),
    failed: () => manager.failedProbe(uid, 'app', containerId)?.probeType,
  }
}

const exec = (p: Partial<Probe> = {}): Probe => ({ exec: { command: ['check'] }, ...p })

describe('probe manager: thresholds and timing', () => {
  const cases: {
    name: string
    probes: Partial<Record<ProbeType, Probe>>
    exits: number[]
    /** After each second (0 = right after the pod is added): [second, what to check, expected]. */
    checks: [number, 'ready' | 'started' | 'failed', boolean | string | undefined][]
    execSeconds?: number[]
  }[] = [
    {
      name: 'readiness is false until the probe succeeds, which it does on the first probe',
      probes: { readiness: exec({ periodSeconds: 5 }) },
      exits: [0],
      checks: [[0, 'ready', true]],
      execSeconds: [0, 5, 10],
    },
    {
      name: 'readiness turns false only after failureThreshold failures in a row',
      probes: { readiness: exec({ periodSeconds: 1, failureThreshold: 3 }) },
      exits: [0, 1, 1, 1],
      checks: [
        [0, 'ready', true],
        [1, 'ready', true],
        [2, 'ready', true],
        [3, 'ready', false],
      ],
    },
    {
      name: 'readiness needs successThreshold successes in a row',
      probes: { readiness: exec({ periodSeconds: 1, successThreshold: 2 }) },
      exits: [0, 1, 0, 0],
      checks: [
        [0, 'ready', false],
        [1, 'ready', false],
        [2, 'ready', false],
        [3, 'ready', true],
      ],
    },
    {
      name: 'initialDelaySeconds: nothing runs before it, counted from the container start',
      probes: { readiness: exec({ periodSeconds: 2, initialDelaySeconds: 5 }) },
      exits: [0],
      checks: [
        [4, 'ready', false],
        [6, 'ready', true],
      ],
      execSeconds: [6, 8],
    },
    {
      name: 'liveness fails after failureThreshold failures, then holds until the next container',
      probes: { liveness: exec({ periodSeconds: 10, failureThreshold: 2 }) },
      exits: [1],
      checks: [
        [0, 'failed', undefined],
        [10, 'failed', 'liveness'],
        [40, 'failed', 'liveness'],
      ],
      execSeconds: [0, 10],
    },
    {
      name: 'without a startup result liveness and readiness wait (the container is not started)',
      probes: {
        startup: exec({ periodSeconds: 3, failureThreshold: 10 }),
        liveness: exec({ periodSeconds: 1 }),
      },
      exits: [1],
      checks: [
        [0, 'started', false],
        [7, 'failed', undefined],
      ],
      execSeconds: [0, 3, 6],
    },
    {
      name: 'a startup probe that keeps failing fails the container after failureThreshold',
      probes: { startup: exec({ periodSeconds: 2, failureThreshold: 3 }) },
      exits: [1],
      checks: [
        [2, 'failed', undefined],
        [4, 'failed', 'startup'],
      ],
      execSeconds: [0, 2, 4],
    },
  ]
  for (const c of cases) {
    test(c.name, async () => {
      const started = !c.probes.startup
      const t = setup({ probes: c.probes, exits: c.exits, started })
      t.manager.addPod(t.pod)
      await t.flush()
      let now = 0
      let last = 0
      for (const [second, what, want] of c.checks) {
        await t.tick(second - now)
        now = second
        last = second
        const got = what === 'ready' ? t.ready() : what === 'started' ? t.isStarted() : t.failed()
        assert.equal(got, want, `${what} at ${second}s`)
      }
      if (c.execSeconds) {
        await t.tick(Math.max(0, (c.execSeconds.at(-1) ?? 0) - last))
        assert.deepEqual(
          t.execs.map((e) => e.atS).filter((s) => s <= (c.execSeconds?.at(-1) ?? 0)),
          c.execSeconds,
        )
      }
      t.manager.stop()
    })
  }
})

describe('probe manager: around the probes', () => {
  test('the exec gets timeoutSeconds; failures make Unhealthy events with the output', async () => {
    const t = setup({ probes: { liveness: exec({ timeoutSeconds: 4, failureThreshold: 1 }) }, exits: [1] })
    t.manager.addPod(t.pod)
    await t.flush()
    assert.deepEqual(t.execs[0]?.request, { containerId: 'c1', cmd: ['check'], timeout: 4 })
    assert.deepEqual(t.events, ['Warning Unhealthy Liveness probe failed: sick'])
    assert.deepEqual(t.changes, [0])
    t.manager.stop()
  })

  test('a new container starts over: readiness back to false, liveness out of hold', async () => {
    const t = setup({
      probes: {
        readiness: exec({ periodSeconds: 1 }),
        liveness: exec({ periodSeconds: 1, failureThreshold: 1 }),
      },
      exits: [1, 1, 0],
    })
    t.manager.addPod(t.pod)
    await t.flush()
    assert.equal(t.failed(), 'liveness')
    t.setContainer('c2')
    assert.equal(t.failed(), undefined)
    assert.equal(t.ready(), false)
    t.manager.statusUpdated(uid)
    await t.flush()
    // The readiness probe of the new container ran at once, and succeeded.
    assert.equal(t.ready(), true)
    await t.tick(1)
    assert.equal(t.failed(), undefined)
    t.manager.stop()
  })

  test('a deleting pod: liveness stops quietly with success', async () => {
    const t = setup({ probes: { liveness: exec({ periodSeconds: 1, failureThreshold: 1 }) }, exits: [0, 1] })
    t.manager.addPod(t.pod)
    await t.flush()
    t.manager.updatePod({
      ...t.pod,
      metadata: { ...t.pod.metadata, deletionTimestamp: '2026-01-01T00:00:01Z' },
    })
    await t.tick(3)
    assert.equal(t.execs.length, 1)
    assert.equal(t.failed(), undefined)
    t.manager.stop()
  })

  test('removePod stops the workers', async () => {
    const t = setup({ probes: { readiness: exec({ periodSeconds: 1 }) }, exits: [0] })
    t.manager.addPod(t.pod)
    await t.flush()
    assert.equal(t.manager.workerCount, 1)
    t.manager.removePod(uid)
    await t.tick(5)
    assert.equal(t.execs.length, 1)
    assert.equal(t.manager.workerCount, 0)
    assert.equal(t.clock.pendingTimers(), 0)
  })
})
