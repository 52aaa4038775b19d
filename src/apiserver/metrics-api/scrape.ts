/**
 * One scrape of a kubelet's /metrics/resource, read into the points the metrics store keeps, as
 * metrics-server decodes it: node_cpu_usage_seconds_total and node_memory_working_set_bytes for
 * the node; container_cpu_usage_seconds_total, container_memory_working_set_bytes and
 * container_start_time_seconds per container, by namespace, pod and container. Other families
 * are ignored; a sample without a timestamp takes the scrape's time.
 */

/** One reading: cumulative CPU in core-nanoseconds and the working set, with its time. */
export interface MetricsPoint {
  timestampMs: number
  /** When the container started (a restart starts its counter again); 0 for nodes. */
  startTimeMs: number
  cumulativeCpuNs: number
  memoryBytes: number
}

export interface NodeScrape {
  node: MetricsPoint | undefined
  /** By `namespace/pod`, then by container name. */
  pods: Map<string, Map<string, MetricsPoint>>
}

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
  timestampMs: number | undefined
}

/** Reads the text; a line that is not a sample (or a comment) is an error naming the line. */
export function parseResourceMetrics(text: string, scrapedAtMs: number): NodeScrape {
  const node: Partial<MetricsPoint> = {}
  const containers = new Map<string, Partial<MetricsPoint>>()
  const container = (l: Record<string, string>) => {
    const key = `${l.namespace ?? ''}/${l.pod ?? ''}/${l.container ?? ''}`
    let c = containers.get(key)
    if (!c) containers.set(key, (c = {}))
    return c
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const s = parseSample(line)
    const at = s.timestampMs ?? scrapedAtMs
    switch (s.name) {
      case 'node_cpu_usage_seconds_total':
        node.cumulativeCpuNs = Math.round(s.value * 1e9)
        node.timestampMs = at
        break
      case 'node_memory_working_set_bytes':
        node.memoryBytes = s.value
        node.timestampMs ??= at
        break
      case 'container_cpu_usage_seconds_total': {
        const c = container(s.labels)
        c.cumulativeCpuNs = Math.round(s.value * 1e9)
        c.timestampMs = at
        break
      }
      case 'container_memory_working_set_bytes': {
        const c = container(s.labels)
        c.memoryBytes = s.value
        c.timestampMs ??= at
        break
      }
      case 'container_start_time_seconds':
        container(s.labels).startTimeMs = Math.round(s.value * 1000)
        break
      default:
        break
    }
  }
  const pods = new Map<string, Map<string, MetricsPoint>>()
  for (const [key, c] of containers) {
    const point = complete(c)
    if (!point) continue
    const cut = key.lastIndexOf('/')
    const podKey = key.slice(0, cut)
    let pod = pods.get(podKey)
    if (!pod) pods.set(podKey, (pod = new Map<string, MetricsPoint>()))
    pod.set(key.slice(cut + 1), point)
  }
  return { node: complete(node), pods }
}

/** A point needs both CPU and memory (metrics-server drops the rest). */
function complete(p: Partial<MetricsPoint>): MetricsPoint | undefined {
  if (p.cumulativeCpuNs === undefined || p.memoryBytes === undefined || p.timestampMs === undefined)
    return undefined
  return {
    timestampMs: p.timestampMs,
    startTimeMs: p.startTimeMs ?? 0,
    cumulativeCpuNs: p.cumulativeCpuNs,
    memoryBytes: p.memoryBytes,
  }
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?\s*$/

function parseSample(line: string): Sample {
  const m = sampleLine.exec(line)
  if (!m) throw new Error(`not a metrics sample: ${JSON.stringify(line.slice(0, 200))}`)
  const value = parseValue(m[3] ?? '')
  if (value === undefined) throw new Error(`not a sample value: ${JSON.stringify(line.slice(0, 200))}`)
  return {
    name: m[1] ?? '',
    labels: m[2] ? parseLabels(m[2], line) : {},
    value,
    timestampMs: m[4] !== undefined ? Number(m[4]) : undefined,
  }
}

function parseValue(v: string): number | undefined {
  if (v === '+Inf') return Infinity
  if (v === '-Inf') return -Infinity
  if (v === 'NaN') return NaN
  const n = Number(v)
  return v !== '' && !Number.isNaN(n) ? n : undefined
}

/** `{a="x",b="y\"z"}`: names, then quoted values with \\, \" and \n escapes. */
function parseLabels(block: string, line: string): Record<string, string> {
  const out: Record<string, string> = {}
  let i = 1
  const end = block.length - 1
  const fail = () => new Error(`bad labels in metrics sample: ${JSON.stringify(line.slice(0, 200))}`)
  while (i < end) {
    const eq = block.indexOf('=', i)
    if (eq < 0 || block[eq + 1] !== '"') throw fail()
    const name = block.slice(i, eq).trim()
    let j = eq + 2
    let value = ''
    for (; j < end && block[j] !== '"'; j++) {
      if (block[j] === '\\') {
        j++
        value += block[j] === 'n' ? '\n' : (block[j] ?? '')
      } else value += block[j]
    }
    if (block[j] !== '"') throw fail()
    out[name] = value
    i = j + 1
    if (block[i] === ',') i++
  }
  return out
}
