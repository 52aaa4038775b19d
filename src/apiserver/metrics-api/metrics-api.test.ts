import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Node, Pod } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { createLogger } from '../../base/log.ts'
import { kubeletUrl } from '../kubelet-client.ts'
import { goDuration, nodeMetrics, podMetrics } from './metrics.ts'
import { parseResourceMetrics, type MetricsPoint, type NodeScrape } from './scrape.ts'
import { MetricsSource } from './source.ts'
import { MetricsStore } from './store.ts'

const text = `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 1.5 1767225660250
container_cpu_usage_seconds_total{container="odd \\"name\\"",namespace="default",pod="web"} 0.25 1767225660250
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 8.388608e+06 1767225660250
container_memory_working_set_bytes{container="odd \\"name\\"",namespace="default",pod="web"} 4096 1767225660250
container_start_time_seconds{container="app",namespace="default",pod="web"} 1.7672256e+09 1767225600000
node_cpu_usage_seconds_total 12.5 1767225660500
node_memory_working_set_bytes 1.6777216e+07 1767225660500
resource_scrape_error 0
`

describe('reading a kubelet scrape', () => {
  test('node and container points, with label escapes and sample times', () => {
    const s = parseResourceMetrics(text, 1)
    assert.deepEqual(s.node, {
      timestampMs: 1767225660500,
      startTimeMs: 0,
      cumulativeCpuNs: 12.5e9,
      memoryBytes: 16777216,
    })
    const web = s.pods.get('default/web')
    assert.deepEqual(web?.get('app'), {
      timestampMs: 1767225660250,
      startTimeMs: 1767225600000,
      cumulativeCpuNs: 1.5e9,
      memoryBytes: 8388608,
    })
    assert.equal(web?.get('odd "name"')?.memoryBytes, 4096)
  })

  test('a line that is not a sample is an error naming it', () => {
    assert.throws(() => parseResourceMetrics('node_cpu_usage_seconds_total{ 1\n', 0), /not a metrics sample/)
  })
})

const point = (
  timestampMs: number,
  cpuSeconds: number,
  memoryBytes = 1024,
  startTimeMs = 0,
): MetricsPoint => ({
  timestampMs,
  startTimeMs,
  cumulativeCpuNs: cpuSeconds * 1e9,
  memoryBytes,
})
const scrape = (
  node: MetricsPoint | undefined,
  containers: Record<string, MetricsPoint> = {},
): NodeScrape => ({
  node,
  pods: new Map([['default/web', new Map(Object.entries(containers))]]),
})

describe('usage from the last two points', () => {
  test('a node needs two points; its cpu is the counter growth over the time between them', () => {
    const store = new MetricsStore()
    store.store('n1', scrape(point(0, 10)))
    assert.equal(store.nodeUsage('n1'), undefined)
    store.store('n1', scrape(point(15_000, 13, 2048)))
    assert.deepEqual(store.nodeUsage('n1'), {
      timestampMs: 15_000,
      windowMs: 15_000,
      cpuNanoCores: 200_000_000,
      memoryBytes: 2048,
    })
  })

  test('a container started after the previous point counts from its start', () => {
    const store = new MetricsStore()
    store.store('n1', scrape(point(10_000, 1), { app: point(10_000, 1, 100, 6_000) }))
    // One point only, but it started at 6 s: 1 core-second over 4 s.
    assert.equal(store.podUsage('default', 'web')?.get('app')?.cpuNanoCores, 250_000_000)
    assert.equal(store.podUsage('default', 'web')?.get('app')?.windowMs, 4_000)
  })

  test('a restarted container (new start time) starts over; a pod waits for all its containers', () => {
    const store = new MetricsStore()
    store.store('n1', scrape(point(0, 1), { app: point(0, 5, 1, -100_000), side: point(0, 1, 1, -100_000) }))
    store.store(
      'n1',
      scrape(point(10_000, 2), { app: point(10_000, 6, 1, -100_000), side: point(10_000, 2, 1, -100_000) }),
    )
    assert.equal(store.podUsage('default', 'web')?.get('app')?.cpuNanoCores, 100_000_000)
    // side restarted (a new start time, before the previous point): its counter started over.
    store.store(
      'n1',
      scrape(point(20_000, 3), { app: point(20_000, 7, 1, -100_000), side: point(20_000, 0.5, 1, -50_000) }),
    )
    assert.equal(store.podUsage('default', 'web'), undefined, 'side has one point since its restart')
  })

  test('a point no later than the last changes nothing', () => {
    const store = new MetricsStore()
    store.store('n1', scrape(point(0, 1)))
    store.store('n1', scrape(point(10_000, 2)))
    store.store('n1', scrape(point(10_000, 2)))
    assert.equal(store.nodeUsage('n1')?.cpuNanoCores, 100_000_000)
  })
})

describe('NodeMetrics and PodMetrics', () => {
  const usage = {
    timestampMs: Date.UTC(2026, 0, 1, 0, 1, 0, 250),
    windowMs: 15_012,
    cpuNanoCores: 72_340_853,
    memoryBytes: 8 * 1024 * 1024,
  }
  test('a NodeMetrics with the node labels, nanocores and binary bytes', () => {
    const node: Node = { metadata: { name: 'n1', labels: { zone: 'a' } } }
    assert.deepEqual(nodeMetrics(node, usage, Date.UTC(2026, 0, 1, 0, 2)), {
      kind: 'NodeMetrics',
      apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: { name: 'n1', creationTimestamp: '2026-01-01T00:02:00Z', labels: { zone: 'a' } },
      timestamp: '2026-01-01T00:01:00Z',
      window: '15.012s',
      usage: { cpu: '72340853n', memory: '8Mi' },
    })
  })

  test('a PodMetrics lists containers in the pod order', () => {
    const pod: Pod = {
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
      spec: { containers: [{ name: 'b' }, { name: 'a' }] },
    }
    const m = podMetrics(
      pod,
      new Map([
        ['a', { ...usage, cpuNanoCores: 1_000_000, memoryBytes: 1500 }],
        ['b', usage],
      ]),
      0,
    )
    assert.deepEqual(
      m?.containers.map((c) => [c.name, c.usage.cpu, c.usage.memory]),
      [
        ['b', '72340853n', '8Mi'],
        ['a', '1m', '1500'],
      ],
    )
    assert.deepEqual(m?.metadata, {
      name: 'web',
      namespace: 'default',
      creationTimestamp: '1970-01-01T00:00:00Z',
      labels: { app: 'web' },
    })
  })

  const durations = [
    { ms: 15_000, want: '15s' },
    { ms: 15_012, want: '15.012s' },
    { ms: 60_500, want: '1m0.5s' },
    { ms: 750, want: '750ms' },
    { ms: 3_723_000, want: '1h2m3s' },
  ]
  for (const d of durations)
    test(`window ${d.ms} ms is ${d.want}`, () => assert.equal(goDuration(d.ms), d.want))
})

describe('reaching kubelets', () => {
  test('the InternalIP and the port of daemonEndpoints', () => {
    const node: Node = {
      status: {
        addresses: [
          { type: 'Hostname', address: 'n1' },
          { type: 'InternalIP', address: '127.0.0.7' },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 41234 } },
      },
    }
    assert.equal(kubeletUrl(node, '/metrics/resource'), 'https://127.0.0.7:41234/metrics/resource')
  })
  test('10250 when the node does not say, and brackets for IPv6', () => {
    const node: Node = { status: { addresses: [{ type: 'InternalIP', address: 'fd00::1' }] } }
    assert.equal(kubeletUrl(node, '/x'), 'https://[fd00::1]:10250/x')
    assert.equal(kubeletUrl({ status: {} }, '/x'), undefined)
  })

  test('the first read waits for a pair of scrapes; then one every resolution while read', async () => {
    const clock = new FakeClock(0)
    let cpu = 0
    const source = new MetricsSource({
      nodes: () => [{ metadata: { name: 'n1' } }],
      scrape: async () => {
        cpu += 1
        return scrape(point(clock.now(), cpu))
      },
      clock,
      log: createLogger({ level: 'silent' }),
      resolutionMs: 15_000,
      idleMs: 60_000,
      pairGapMs: 1000,
    })
    const reading = source.read()
    await new Promise((r) => setImmediate(r))
    clock.advance(1000)
    const store = await reading
    assert.equal(source.rounds, 2)
    assert.deepEqual(store.nodeUsage('n1'), {
      timestampMs: 1000,
      windowMs: 1000,
      cpuNanoCores: 1e9,
      memoryBytes: 1024,
    })
    clock.advance(15_000)
    await new Promise((r) => setImmediate(r))
    assert.equal(source.rounds, 3)
    assert.equal(store.nodeUsage('n1')?.windowMs, 15_000)
    // Nobody reads for more than idleMs: scraping stops.
    for (let i = 0; i < 6; i++) {
      clock.advance(15_000)
      await new Promise((r) => setImmediate(r))
    }
    const rounds = source.rounds
    clock.advance(60_000)
    await new Promise((r) => setImmediate(r))
    assert.equal(source.rounds, rounds)
    source.stop()
  })
})
