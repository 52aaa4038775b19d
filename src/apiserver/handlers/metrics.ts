import type { Handler } from '../context.ts'
import type { ApiMetrics } from '../metrics.ts'

/** GET /metrics in the Prometheus text format. */
export function metricsHandler(metrics: ApiMetrics): Handler {
  return async (ctx) => {
    const body = await metrics.registry.metrics()
    ctx.res.statusCode = 200
    ctx.res.setHeader('Content-Type', metrics.registry.contentType)
    ctx.res.end(body)
  }
}
