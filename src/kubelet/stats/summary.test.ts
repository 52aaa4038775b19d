import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FakeClock } from '../../base/clock.ts'
import { FakeRuntime, type FakeContainerRule } from '../runtime/fake/fake-runtime.ts'
import { CpuUsageTracker, CumulativeCounter, usageNanoCores } from './cpu-usage.ts'
import { StatsProvider, summaryJson } from './summary.ts'

const mib = 1024 * 1024

/** A fake runtime with pods of running containers, and the stats provider reading it. */
async function setup(rules: FakeContainerRule[] = []) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0))
  const rt = new FakeRuntime({ clock, images: ['busybox'], rules })
  const stats = new StatsProvider({
    nodeName: 'node-1',
    runtime: rt,
    machine: { memoryBytes: 8 * 1024 * mib, ephemeralStorageBytes: 50 * 1024 * mib },
    clock,
  })
  const runPod = async (name: string, containers: string[], namespace = 'default') => {
    const sandboxConfig = { metadata: { name, uid: `uid-${name}`, namespace } }
    const { podSandboxId } = await rt.runPodSandbox({ config: sandboxConfig })
    const ids: string[] = []
    for (const c of containers) {
      const { containerId } = await rt.createContainer({
        podSandboxId,
        sandboxConfig,
        config: { metadata: { name: c }, image: { image: 'busybox' }, command: ['sleep', '3600'] },
      })
      await rt.startContainer({ containerId })
      ids.push(containerId)
    }
    return { podSandboxId, ids }
  }
  return { clock, rt, stats, runPod }
}

describe('usage rates from cumulative counters', () => {
  const cases = [
    {
      name: 'half a core used over two seconds is 500m',
      previous: { timestampNs: 0, usageCoreNanoSeconds: 0 },
      current: { timestampNs: 2e9, usageCoreNanoSeconds: 1e9 },
      want: 500_000_000,
    },
    {
      name: 'no time between the samples gives no rate',
      previous: { timestampNs: 5, usageCoreNanoSeconds: 0 },
      current: { timestampNs: 5, usageCoreNanoSeconds: 10 },
      want: undefined,
    },
    {
      name: 'a counter that went backwards (a restart) gives no rate',
      previous: { timestampNs: 0, usageCoreNanoSeconds: 100 },
      current: { timestampNs: 1e9, usageCoreNanoSeconds: 10 },
      want: undefined,
    },
  ]
  for (const c of cases) test(c.name, () => assert.equal(usageNanoCores(c.previous, c.current), c.want))

  test('the tracker uses the runtime figure until a second sample, then the counters', () => {
    const t = new CpuUsageTracker()
    t.beginRound()
    assert.equal(t.observe('c', { timestampNs: 1e9, usageCoreNanoSeconds: 0 }, 7), 7)
    assert.equal(t.observe('c', { timestampNs: 3e9, usageCoreNanoSeconds: 5e8 }, 7), 250_000_000)
    // Read again at the same time: the same rate, not a rate over no time.
    assert.equal(t.observe('c', { timestampNs: 3e9, usageCoreNanoSeconds: 5e8 }, 7), 250_000_000)
    t.beginRound()
    t.prune()
    assert.equal(t.size, 0, 'a counter not observed in a round is forgotten')
  })

  test('the node counter keeps what exited containers used', () => {
    const n = new CumulativeCounter()
    assert.equal(
      n.update(
        new Map([
          ['a', 10],
          ['b', 5],
        ]),
      ),
      15,
    )
    assert.equal(
      n.update(
        new Map([
          ['a', 12],
          ['b', 9],
        ]),
      ),
      21,
    )
    assert.equal(n.update(new Map([['a', 20]])), 29, 'b exited: what it used stays counted')
    assert.equal(n.update(new Map([['a', 3]])), 32, 'a restarted: its new counter is all new')
  })
})

describe('the Summary from the runtime', () => {
  test('pods with their containers, CPU rates from the counters and working sets summed', async () => {
    const { clock, stats, runPod } = await setup([
      { name: 'busy', behaviour: { cpuNanoCores: 250_000_000, memoryWorkingSetBytes: 64 * mib } },
    ])
    await runPod('web', ['busy', 'idle'])
    await runPod('db', ['idle'], 'data')
    clock.advance(10_000)
    const first = await stats.summary()
    assert.equal(first.node.nodeName, 'node-1')
    assert.deepEqual(first.pods.map((p) => `${p.podRef.namespace}/${p.podRef.name} ${p.podRef.uid}`).sort(), [
      'data/db uid-db',
      'default/web uid-web',
    ])
    const web = first.pods.find((p) => p.podRef.name === 'web')
    assert.deepEqual(web?.containers.map((c) => c.name).sort(), ['busy', 'idle'])
    const busy = web?.containers.find((c) => c.name === 'busy')
    // 250m for 10 s is 2.5 core-seconds.
    assert.equal(busy?.cpu?.usageCoreNanoSeconds, 2.5e9)
    assert.equal(busy?.memory?.workingSetBytes, 64 * mib)
    assert.equal(web?.memory?.workingSetBytes, 72 * mib)
    assert.equal(first.node.memory?.workingSetBytes, 80 * mib)
    assert.equal(first.node.memory?.availableBytes, 8 * 1024 * mib - 80 * mib)
    assert.equal(first.node.cpu?.usageCoreNanoSeconds, 2.5e9 + 2 * 1e7)

    clock.advance(5_000)
    const second = await stats.summary()
    const busy2 = second.pods.find((p) => p.podRef.name === 'web')?.containers.find((c) => c.name === 'busy')
    assert.equal(busy2?.cpu?.usageNanoCores, 250_000_000)
    assert.equal(second.node.cpu?.usageNanoCores, 252_000_000)
    assert.equal(second.node.cpu?.usageCoreNanoSeconds, 3.75e9 + 2 * 1.5e7)
  })

  test('the node CPU counter does not go back when a pod goes', async () => {
    const { clock, rt, stats, runPod } = await setup()
    const { podSandboxId } = await runPod('web', ['app'])
    clock.advance(10_000)
    const before = (await stats.summary()).node.cpu?.usageCoreNanoSeconds ?? 0
    await rt.stopPodSandbox({ podSandboxId })
    clock.advance(1_000)
    const after = await stats.summary()
    assert.equal(after.pods.length, 0)
    assert.equal(after.node.cpu?.usageCoreNanoSeconds, before)
  })

  test('its JSON has whole-second times, as metav1.Time', async () => {
    const { clock, stats, runPod } = await setup()
    await runPod('web', ['app'])
    clock.advance(1_234)
    const json = JSON.parse(summaryJson(await stats.summary())) as {
      node: { cpu: { time: string } }
      pods: { startTime: string }[]
    }
    assert.equal(json.node.cpu.time, '2026-01-01T00:00:01Z')
    assert.equal(json.pods[0]?.startTime, '2026-01-01T00:00:00Z')
  })
})
