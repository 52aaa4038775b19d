import { parseQuantity } from '../../api/quantity.ts'
import { parseGoDuration } from '../../base/duration.ts'
import type { RestClient } from '../../client/index.ts'

/** One pod's usage of a resource, summed over the containers measured. */
export interface PodMetric {
  /** The end of the interval the usage was measured over (ms since the epoch). */
  timestamp: number
  /** The interval's length (ms). */
  windowMs: number
  /** cpu in millicores, memory in millibytes (MilliValue, as upstream). */
  value: number
}

/** Pod name → its usage. */
export type PodMetricsInfo = Map<string, PodMetric>

export interface ResourceMetricQuery {
  resource: string
  namespace: string
  /** The scale target's label selector, in the string syntax (`app=web`). */
  selector: string
  /** Only this container of each pod (ContainerResource metrics); all of them when unset. */
  container?: string
}

/**
 * Where the autoscaler reads resource usage (upstream's metricsclient.MetricsClient, resource
 * part). `getResourceMetric` answers the pods that have a value for the resource: a pod whose
 * measured containers lack it (or lack the container asked for) is left out, as it would be by
 * the resource metrics API's client upstream. Rejects when the API answers nothing at all.
 */
export interface MetricsClient {
  getResourceMetric(
    q: ResourceMetricQuery,
    signal?: AbortSignal,
  ): Promise<{ metrics: PodMetricsInfo; timestamp: number }>
}

/** What a PodMetrics of metrics.k8s.io/v1beta1 carries that the autoscaler reads. */
interface PodMetricsItem {
  metadata?: { name?: string }
  timestamp?: string
  window?: string
  containers?: { name?: string; usage?: Record<string, unknown> }[]
}

function isPodMetricsList(v: unknown): v is { items: PodMetricsItem[] } {
  return typeof v === 'object' && v !== null && Array.isArray((v as { items?: unknown }).items)
}

/** A quantity's MilliValue: rounded up to a whole milli-unit. */
export function milliValue(v: unknown): number | undefined {
  const q = parseQuantity(v)
  if (q === undefined) return undefined
  const m = q.nanos / 1_000_000n
  return Number(m * 1_000_000n === q.nanos || q.nanos < 0n ? m : m + 1n)
}

/**
 * The pods' usage out of PodMetrics items: a pod counts only if every container measured (or the
 * one asked for) reports the resource.
 */
export function podMetricsInfo(
  items: readonly PodMetricsItem[],
  resource: string,
  container?: string,
): PodMetricsInfo {
  const out: PodMetricsInfo = new Map()
  for (const item of items) {
    const name = item.metadata?.name
    if (!name) continue
    let sum = 0
    let missing = false
    let found = false
    for (const c of item.containers ?? []) {
      if (container !== undefined && c.name !== container) continue
      const v = milliValue(c.usage?.[resource])
      if (v === undefined) {
        missing = true
        break
      }
      sum += v
      found = true
    }
    if (missing || (container !== undefined && !found)) continue
    out.set(name, {
      timestamp: Date.parse(item.timestamp ?? '') || 0,
      windowMs: parseGoDuration(item.window ?? '') ?? 0,
      value: sum,
    })
  }
  return out
}

/** The real client: lists PodMetrics from metrics.k8s.io/v1beta1 through the apiserver. */
export class ResourceMetricsClient implements MetricsClient {
  readonly #rest: RestClient

  constructor(rest: RestClient) {
    this.#rest = rest
  }

  async getResourceMetric(
    q: ResourceMetricQuery,
    signal?: AbortSignal,
  ): Promise<{ metrics: PodMetricsInfo; timestamp: number }> {
    let list: unknown
    try {
      list = await this.#rest.request<unknown>(
        'GET',
        `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(q.namespace)}/pods`,
        { query: { labelSelector: q.selector }, ...(signal ? { signal } : {}) },
      )
    } catch (err) {
      throw new Error(`unable to fetch metrics from resource metrics API: ${(err as Error).message}`, {
        cause: err,
      })
    }
    if (!isPodMetricsList(list) || list.items.length === 0) {
      throw new Error('no metrics returned from resource metrics API')
    }
    const first = list.items[0]
    return {
      metrics: podMetricsInfo(list.items, q.resource, q.container),
      timestamp: Date.parse(first?.timestamp ?? '') || 0,
    }
  }
}

/**
 * Metrics a test sets by hand: per namespace and pod, the usage of each resource in milli-units.
 * Pods are matched by name only (the selector is the controller's business: it lists the pods
 * itself), so a test sets values only for the pods it means to be measured.
 */
export class FakeMetricsClient implements MetricsClient {
  readonly #usage = new Map<string, Map<string, Record<string, number>>>()
  readonly #now: () => number
  /** The window every sample claims (default 0: each sample is fresh). */
  windowMs = 0
  /** The number of calls made, to see that the controller has looked. */
  calls = 0

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** Sets a pod's usage: `{ cpu: 300 }` is 300m. */
  set(namespace: string, pod: string, usage: Record<string, number>): void {
    let ns = this.#usage.get(namespace)
    if (!ns) this.#usage.set(namespace, (ns = new Map<string, Record<string, number>>()))
    ns.set(pod, usage)
  }

  delete(namespace: string, pod: string): void {
    this.#usage.get(namespace)?.delete(pod)
  }

  /** Every pod of the namespace as now known. */
  pods(namespace: string): string[] {
    return [...(this.#usage.get(namespace)?.keys() ?? [])]
  }

  getResourceMetric(q: ResourceMetricQuery): Promise<{ metrics: PodMetricsInfo; timestamp: number }> {
    this.calls++
    const ns = this.#usage.get(q.namespace)
    const timestamp = this.#now()
    const metrics: PodMetricsInfo = new Map()
    for (const [pod, usage] of ns ?? []) {
      const value = usage[q.resource]
      if (value !== undefined) metrics.set(pod, { timestamp, windowMs: this.windowMs, value })
    }
    if (!ns || ns.size === 0)
      return Promise.reject(new Error('no metrics returned from resource metrics API'))
    return Promise.resolve({ metrics, timestamp })
  }
}
