/**
 * GET /metrics/resource: the few figures the resource metrics pipeline needs (metrics-server reads
 * them for `kubectl top` and the HPA), in the Prometheus text format, built from the Summary as
 * the kubelet's resource metrics collector does. Every sample carries the time it was measured
 * (milliseconds), so a scraper computes CPU rates over the samples' own interval, not over the
 * times it happened to scrape.
 */
import type { ContainerStats, CPUStats, MemoryStats, PodReference, Summary } from './types.ts'

/** A metric family to write: samples in any order (they are sorted by labels). */
export interface Family {
  name: string
  help: string
  type: 'counter' | 'gauge'
  samples: Sample[]
}

export interface Sample {
  labels: Record<string, string>
  value: number
  /** Milliseconds since the epoch; absent: the scrape's time. */
  timestampMs?: number
}

/** The families, as upstream names and documents them (stability level in the help text). */
const families = {
  containerCpu: [
    'container_cpu_usage_seconds_total',
    '[STABLE] Cumulative cpu time consumed by the container in core-seconds',
    'counter',
  ],
  containerMemory: [
    'container_memory_working_set_bytes',
    '[STABLE] Current working set of the container in bytes',
    'gauge',
  ],
  containerStart: [
    'container_start_time_seconds',
    '[STABLE] Start time of the container since unix epoch in seconds',
    'gauge',
  ],
  nodeCpu: [
    'node_cpu_usage_seconds_total',
    '[STABLE] Cumulative cpu time consumed by the node in core-seconds',
    'counter',
  ],
  nodeMemory: ['node_memory_working_set_bytes', '[STABLE] Current working set of the node in bytes', 'gauge'],
  podCpu: [
    'pod_cpu_usage_seconds_total',
    '[STABLE] Cumulative cpu time consumed by the pod in core-seconds',
    'counter',
  ],
  podMemory: ['pod_memory_working_set_bytes', '[STABLE] Current working set of the pod in bytes', 'gauge'],
  resourceScrapeError: [
    'resource_scrape_error',
    '[STABLE] 1 if there was an error while getting container metrics, 0 otherwise',
    'gauge',
  ],
  scrapeError: [
    'scrape_error',
    '[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise',
    'gauge',
  ],
} as const satisfies Record<string, readonly [string, string, Family['type']]>

/** The text of /metrics/resource; `summary` undefined means reading the stats failed. */
export function resourceMetricsText(summary: Summary | undefined): string {
  const out = new Map<keyof typeof families, Family>()
  for (const [key, [name, help, type]] of Object.entries(families) as [
    keyof typeof families,
    (typeof families)[keyof typeof families],
  ][]) {
    out.set(key, { name, help, type, samples: [] })
  }
  const add = (key: keyof typeof families, sample: Sample) => out.get(key)?.samples.push(sample)
  const failed = summary === undefined ? 1 : 0
  add('scrapeError', { labels: {}, value: failed })
  add('resourceScrapeError', { labels: {}, value: failed })
  if (summary) {
    const cpu = cpuSample(summary.node.cpu, {})
    if (cpu) add('nodeCpu', cpu)
    const memory = memorySample(summary.node.memory, {})
    if (memory) add('nodeMemory', memory)
    for (const pod of summary.pods) {
      const podLabels = { namespace: pod.podRef.namespace, pod: pod.podRef.name }
      const podCpu = cpuSample(pod.cpu, podLabels)
      if (podCpu) add('podCpu', podCpu)
      const podMemory = memorySample(pod.memory, podLabels)
      if (podMemory) add('podMemory', podMemory)
      for (const c of pod.containers) addContainer(add, pod.podRef, c)
    }
  }
  return prometheusText([...out.values()])
}

/** Families in the text format, sorted by name as the Go client writes them; empty ones left out. */
export function prometheusText(families: readonly Family[]): string {
  return [...families]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .filter((f) => f.samples.length > 0)
    .map(formatFamily)
    .join('')
}

function addContainer(
  add: (key: keyof typeof families, sample: Sample) => void,
  pod: PodReference,
  c: ContainerStats,
): void {
  const labels = { container: c.name, namespace: pod.namespace, pod: pod.name }
  const cpu = cpuSample(c.cpu, labels)
  if (cpu) add('containerCpu', cpu)
  const memory = memorySample(c.memory, labels)
  if (memory) add('containerMemory', memory)
  const startMs = Date.parse(c.startTime)
  if (Number.isFinite(startMs) && startMs > 0) {
    add('containerStart', { labels, value: startMs / 1000, timestampMs: startMs })
  }
}

function cpuSample(cpu: CPUStats | undefined, labels: Record<string, string>): Sample | undefined {
  if (cpu?.usageCoreNanoSeconds === undefined) return undefined
  return { labels, value: cpu.usageCoreNanoSeconds / 1e9, timestampMs: Date.parse(cpu.time) }
}

function memorySample(m: MemoryStats | undefined, labels: Record<string, string>): Sample | undefined {
  if (m?.workingSetBytes === undefined) return undefined
  return { labels, value: m.workingSetBytes, timestampMs: Date.parse(m.time) }
}

function formatFamily(f: Family): string {
  const lines = [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`]
  const rows = f.samples.map((s) => {
    const names = Object.keys(s.labels).sort()
    const labels =
      names.length === 0 ? '' : `{${names.map((n) => `${n}="${escapeLabel(s.labels[n] ?? '')}"`).join(',')}}`
    const ts = s.timestampMs !== undefined && Number.isFinite(s.timestampMs) ? ` ${s.timestampMs}` : ''
    return { labels, line: `${f.name}${labels} ${formatValue(s.value)}${ts}` }
  })
  rows.sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0))
  return `${[...lines, ...rows.map((r) => r.line)].join('\n')}\n`
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/**
 * A sample value as the Go Prometheus client writes it (strconv's shortest 'g' format): plain
 * digits for exponents from -4 to 5, otherwise d.ddde±XX with at least two exponent digits.
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  if (v === 0) return Object.is(v, -0) ? '-0' : '0'
  const [mantissa = '', exponent = '0'] = v.toExponential().split('e')
  const exp = Number(exponent)
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+'
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`
  }
  // Within that range JavaScript writes the same shortest digits without an exponent.
  return String(v)
}
