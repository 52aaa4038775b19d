import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { RequestInfo } from './request-info.ts'

/**
 * The apiserver's Prometheus metrics, named as kube-apiserver names them, in a registry of its
 * own (several apiservers may share a process in tests).
 *
 * Request counts and latencies are recorded on every request, so they are kept in plain maps
 * keyed by a label string and turned into Prometheus samples only when /metrics is scraped:
 * prom-client's per-call label handling costs more than the rest of a cached GET.
 */
const requestLabels = ['verb', 'group', 'version', 'resource', 'subresource', 'scope'] as const
const durationBuckets = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
]

interface Sample {
  labels: Record<string, string>
  value: number
  metricName?: string
}

export class ApiMetrics {
  readonly registry = new Registry()
  /** Reads the number of requests in flight (set by the pipeline). */
  inFlightOf: () => number = () => 0
  readonly #counts = new Map<string, number>()
  readonly #durations = new Map<string, { buckets: number[]; sum: number; count: number }>()
  readonly watchers = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Number of currently registered watchers for a given resources',
    labelNames: ['group', 'version', 'kind'] as const,
    registers: [this.registry],
  })
  readonly storage = new Histogram({
    name: 'etcd_request_duration_seconds',
    help: 'Store request latency in seconds for each operation and object type.',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry })
    this.registry.registerMetric({
      name: 'apiserver_request_total',
      get: async () => ({
        name: 'apiserver_request_total',
        help: 'Counter of apiserver requests broken out for each verb, group, version, resource, scope and HTTP response code.',
        type: 'counter',
        values: [...this.#counts].map(([key, value]) => ({
          labels: labelsOf(key, [...requestLabels, 'code']),
          value,
        })),
        aggregator: 'sum',
      }),
    } as unknown as Parameters<Registry['registerMetric']>[0])
    this.registry.registerMetric({
      name: 'apiserver_request_duration_seconds',
      get: async () => ({
        name: 'apiserver_request_duration_seconds',
        help: 'Response latency distribution in seconds for each verb, group, version, resource, subresource and scope.',
        type: 'histogram',
        values: [...this.#durations].flatMap(([key, h]) =>
          histogramSamples('apiserver_request_duration_seconds', labelsOf(key, [...requestLabels]), h),
        ),
        aggregator: 'sum',
      }),
    } as unknown as Parameters<Registry['registerMetric']>[0])
    this.registry.registerMetric({
      name: 'apiserver_current_inflight_requests',
      get: async () => ({
        name: 'apiserver_current_inflight_requests',
        help: 'Maximal number of currently used inflight request limit of this apiserver per request kind.',
        type: 'gauge',
        values: [{ labels: {}, value: this.inFlightOf() }],
        aggregator: 'sum',
      }),
    } as unknown as Parameters<Registry['registerMetric']>[0])
  }

  observe(info: RequestInfo, code: number, seconds: number, longRunning: boolean): void {
    const key = labelKey(info)
    const countKey = `${key}\u0000${code}`
    this.#counts.set(countKey, (this.#counts.get(countKey) ?? 0) + 1)
    if (longRunning) return
    let h = this.#durations.get(key)
    if (!h)
      this.#durations.set(
        key,
        (h = { buckets: new Array<number>(durationBuckets.length).fill(0), sum: 0, count: 0 }),
      )
    h.sum += seconds
    h.count++
    for (let i = 0; i < durationBuckets.length; i++) {
      if (seconds <= (durationBuckets[i] ?? Infinity)) {
        h.buckets[i] = (h.buckets[i] ?? 0) + 1
        break
      }
    }
  }
}

function labelKey(info: RequestInfo): string {
  const verb = info.verb.toUpperCase()
  if (!info.isResourceRequest) return `${verb}\u0000\u0000\u0000\u0000\u0000`
  const scope = info.namespace ? 'namespace' : info.name ? 'cluster' : 'resource'
  return `${verb}\u0000${info.apiGroup}\u0000${info.apiVersion}\u0000${info.resource}\u0000${info.subresource}\u0000${scope}`
}

function labelsOf(key: string, names: readonly string[]): Record<string, string> {
  const parts = key.split('\u0000')
  const out: Record<string, string> = {}
  names.forEach((n, i) => (out[n] = parts[i] ?? ''))
  return out
}

/** Cumulative buckets, sum and count, as a Prometheus histogram exposes them. */
function histogramSamples(
  name: string,
  labels: Record<string, string>,
  h: { buckets: number[]; sum: number; count: number },
): Sample[] {
  const out: Sample[] = []
  let cumulative = 0
  durationBuckets.forEach((le, i) => {
    cumulative += h.buckets[i] ?? 0
    out.push({ labels: { ...labels, le: String(le) }, value: cumulative, metricName: `${name}_bucket` })
  })
  out.push({ labels: { ...labels, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` })
  out.push({ labels, value: h.sum, metricName: `${name}_sum` })
  out.push({ labels, value: h.count, metricName: `${name}_count` })
  return out
}
