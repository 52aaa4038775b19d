import type { Node, Pod } from '../../api/generated/types/core-v1.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import type { ResourceHandlerDeps } from '../handlers/resources.ts'
import type { Endpoints } from '../registry/endpoints.ts'
import { metricsApiEndpoints } from './endpoints.ts'
import { kubeletUrl, type KubeletClient } from '../kubelet-client.ts'
import { parseResourceMetrics } from './scrape.ts'
import { MetricsSource } from './source.ts'

export { aggregatedMetricsReader } from './rbac.ts'
export { metricsGroup, metricsVersion } from './types.ts'

export interface MetricsApiSettings {
  /** Scrape interval (default 15 s). */
  resolutionMs?: number
}

/**
 * Adds metrics.k8s.io/v1beta1 to the served endpoints, fed by scraping each node's kubelet
 * (/metrics/resource) while someone reads it. stop() ends the scraping.
 */
export function serveMetricsApi(o: {
  settings: MetricsApiSettings
  /** The apiserver's client for kubelets; its owner closes it. */
  kubelets: KubeletClient
  endpoints: Endpoints
  deps: ResourceHandlerDeps
  clock: Clock
  log: Logger
}): { stop(): void } {
  const nodes = () =>
    (o.endpoints.lookup('', 'v1', 'nodes')?.store?.cache.list('') ?? []).map((c) => c.object as Node)
  const pods = (namespace: string) =>
    (o.endpoints.lookup('', 'v1', 'pods')?.store?.cache.list(namespace) ?? []).map((c) => c.object as Pod)
  const source = new MetricsSource({
    nodes,
    scrape: async (node, signal) => {
      const url = kubeletUrl(node, '/metrics/resource')
      if (!url) throw new Error(`node "${node.metadata?.name ?? ''}" has no address`)
      return parseResourceMetrics(await o.kubelets.get(url, signal), Date.now())
    },
    clock: o.clock,
    log: o.log,
    ...(o.settings.resolutionMs !== undefined ? { resolutionMs: o.settings.resolutionMs } : {}),
  })
  for (const ep of metricsApiEndpoints({
    deps: o.deps,
    metrics: () => source.read(),
    nodes,
    pods,
    clock: o.clock,
  }))
    o.endpoints.add(ep)
  return {
    stop() {
      source.stop()
    },
  }
}
