import { Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { Storage } from '../storage/index.ts'
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
/** kube-apiserver's buckets for request and store latencies alike. */
const durationBuckets = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
]

const storeOperations = ['get', 'list', 'create', 'update', 'delete'] as const
type StoreOperation = (typeof storeOperations)[number]

interface Buckets {
  buckets: number[]
  sum: number
  count: number
}

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
  readonly #durations = new Map<string, Buckets>()
  readonly watchers = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Number of currently registered watchers for a given resources',
    labelNames: ['group', 'version', 'kind'] as const,
    registers: [this.registry],
  })
  /** A watch of a kind starts: counted until the function it returns is called. */
  readonly watching = (kind: { group: string; version: string; kind: string }): (() => void) => {
    const labels = { group: kind.group, version: kind.version, kind: kind.kind }
    this.watchers.inc(labels)
    return () => this.watchers.dec(labels)
  }
  /** Store request latencies by operation and resource, as the request durations are kept. */
  readonly #storage = new Map<string, Buckets>()

  constructor() {
    collectDefaultMetrics({ register: this.registry })
    this.#collected(
      'apiserver_request_total',
      'Counter of apiserver requests broken out for each verb, group, version, resource, scope and HTTP response code.',
      'counter',
      () =>
        [...this.#counts].map(([key, value]) => ({
          labels: labelsOf(key, [...requestLabels, 'code']),
          value,
        })),
    )
    this.#collected(
      'apiserver_request_duration_seconds',
      'Response latency distribution in seconds for each verb, group, version, resource, subresource and scope.',
      'histogram',
      () => histograms('apiserver_request_duration_seconds', this.#durations, requestLabels),
    )
    this.#collected(
      'etcd_request_duration_seconds',
      'Etcd request latency in seconds for each operation and object type.',
      'histogram',
      () => histograms('etcd_request_duration_seconds', this.#storage, ['operation', 'type']),
    )
    this.#collected(
      'apiserver_current_inflight_requests',
      'Maximal number of currently used inflight request limit of this apiserver per request kind.',
      'gauge',
      () => [{ labels: {}, value: this.inFlightOf() }],
    )
  }

  /** A metric whose samples are made from the plain maps when /metrics is scraped (summed over workers). */
  #collected(name: string, help: string, type: string, values: () => Sample[]): void {
    this.registry.registerMetric({
      name,
      get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }),
    } as unknown as Parameters<Registry['registerMetric']>[0])
  }

  observe(info: RequestInfo, code: number, seconds: number, longRunning: boolean): void {
    const key = labelKey(info)
    const countKey = `${key}\u0000${code}`
    this.#counts.set(countKey, (this.#counts.get(countKey) ?? 0) + 1)
    if (!longRunning) record(this.#durations, key, seconds, durationBuckets)
  }

  /**
   * The store as one resource's registry uses it, each read and write timed into
   * etcd_request_duration_seconds under its operation and the resource (`pods`,
   * `deployments.apps`), as kube-apiserver's store does. Watches are not requests: passed through.
   */
  timed(storage: Storage, type: string): Storage {
    const time = <T>(operation: StoreOperation, t0: number, p: Promise<T>): Promise<T> =>
      p.finally(() =>
        record(this.#storage, keys[operation], (performance.now() - t0) / 1000, durationBuckets),
      )
    const keys = Object.fromEntries(
      storeOperations.map((operation) => [operation, `${operation}\u0000${type}`]),
    ) as Record<StoreOperation, string>
    const timed: Storage = {
      backend: storage.backend,
      get: (key, o) => time('get', performance.now(), storage.get(key, o)),
      list: (prefix, o) => time('list', performance.now(), storage.list(prefix, o)),
      create: (key, value, o) => time('create', performance.now(), storage.create(key, value, o)),
      update: (key, value, expected, o) =>
        time('update', performance.now(), storage.update(key, value, expected, o)),
      delete: (key, o) => time('delete', performance.now(), storage.delete(key, o)),
      watch: (prefix, o) => storage.watch(prefix, o),
      currentRevision: () => storage.currentRevision(),
      compactedRevision: () => storage.compactedRevision(),
      compact: (upTo) => storage.compact(upTo),
      close: () => storage.close(),
    }
    // The optional ones only where the backend has them: callers look for them.
    const sync = storage.currentRevisionSync?.bind(storage)
    if (sync) timed.currentRevisionSync = sync
    const progress = storage.requestProgress?.bind(storage)
    if (progress) timed.requestProgress = progress
    return timed
  }
}

/** Adds one observation to the histogram kept under `key`. */
function record(
  histograms: Map<string, Buckets>,
  key: string,
  seconds: number,
  buckets: readonly number[],
): void {
  let h = histograms.get(key)
  if (!h) histograms.set(key, (h = { buckets: new Array<number>(buckets.length).fill(0), sum: 0, count: 0 }))
  h.sum += seconds
  h.count++
  for (let i = 0; i < buckets.length; i++) {
    if (seconds <= (buckets[i] ?? Infinity)) {
      h.buckets[i] = (h.buckets[i] ?? 0) + 1
      break
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

/** The samples of histograms kept by label key, each in kube-apiserver's buckets. */
function histograms(name: string, kept: ReadonlyMap<string, Buckets>, labels: readonly string[]): Sample[] {
  return [...kept].flatMap(([key, h]) => histogramSamples(name, labelsOf(key, labels), h, durationBuckets))
}

/** Cumulative buckets, sum and count, as a Prometheus histogram exposes them. */
function histogramSamples(
  name: string,
  labels: Record<string, string>,
  h: Buckets,
  buckets: readonly number[],
): Sample[] {
  const out: Sample[] = []
  let cumulative = 0
  buckets.forEach((le, i) => {
    cumulative += h.buckets[i] ?? 0
    out.push({ labels: { ...labels, le: String(le) }, value: cumulative, metricName: `${name}_bucket` })
  })
  out.push({ labels: { ...labels, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` })
  out.push({ labels, value: h.sum, metricName: `${name}_sum` })
  out.push({ labels, value: h.count, metricName: `${name}_count` })
  return out
}
