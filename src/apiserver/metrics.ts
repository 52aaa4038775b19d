import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { MetricLabels } from './server.ts'

/**
 * The apiserver's Prometheus metrics, named as kube-apiserver names them, in a registry of its
 * own (several apiservers may share a process in tests).
 */
export class ApiMetrics {
  readonly registry = new Registry()
  readonly requests = new Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, group, version, resource, scope and HTTP response code.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'code'] as const,
    registers: [this.registry],
  })
  readonly duration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, group, version, resource, subresource and scope.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope'] as const,
    buckets: [
      0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
    ],
    registers: [this.registry],
  })
  readonly inFlight = new Gauge({
    name: 'apiserver_current_inflight_requests',
    help: 'Maximal number of currently used inflight request limit of this apiserver per request kind.',
    labelNames: ['request_kind'] as const,
    registers: [this.registry],
  })
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
  }

  observe(l: MetricLabels, code: number, seconds: number, longRunning: boolean): void {
    this.requests.inc({ ...l, code: String(code) })
    if (!longRunning) this.duration.observe(l, seconds)
  }
}
