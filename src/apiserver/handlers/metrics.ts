import type { Handler } from '../context.ts'
import type { ApiMetrics } from '../metrics.ts'

/** GET /metrics in the Prometheus text format: this front's metrics, or what `text` makes of them. */
export function metricsHandler(metrics: ApiMetrics, text?: (own: ApiMetrics) => Promise<string>): Handler {
  return async (ctx) => {
    const body = text ? await text(metrics) : await metrics.registry.metrics()
    ctx.res.statusCode = 200
    ctx.res.setHeader('Content-Type', metrics.registry.contentType)
    ctx.res.end(body)
  }
}
