import type { Logger } from '../base/log.ts'
import { serveComponent, type ComponentServer, type MetricsSource } from '../client/index.ts'

/**
 * A component's /healthz, /livez, /readyz and /metrics on its secure port (10259 for
 * kube-scheduler, 10257 for kube-controller-manager); port 0 serves nothing. A port that cannot be
 * served is an error naming it.
 */
export async function serveHealth(o: {
  host: string
  port: number
  metrics: MetricsSource
  log: Logger
}): Promise<ComponentServer | undefined> {
  if (o.port === 0) return undefined
  try {
    return await serveComponent({
      host: o.host,
      port: o.port,
      checks: [{ name: 'ping', check: () => undefined }],
      metrics: o.metrics,
      log: o.log,
    })
  } catch (err) {
    throw new Error(`cannot serve on ${o.host}:${o.port}: ${(err as Error).message}`, { cause: err })
  }
}
