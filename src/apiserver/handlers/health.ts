import type { Handler } from '../context.ts'

/** One health check: resolves when healthy, throws (with a reason) when not. */
export interface HealthCheck {
  readonly name: string
  check(): Promise<void>
}

/**
 * /healthz, /livez and /readyz as kube-apiserver serves them: `ok` when every check passes,
 * otherwise 500; `?verbose` lists each check (`[+]ping ok`, `[-]etcd failed: reason withheld`);
 * `/<endpoint>/<check>` runs one check; `?exclude=<check>` skips one.
 */
export function healthHandler(
  endpoint: 'healthz' | 'livez' | 'readyz',
  checks: readonly HealthCheck[],
): Handler {
  return async (ctx) => {
    const rest = ctx.path.slice(`/${endpoint}`.length).replace(/^\//, '')
    const excluded = new Set(ctx.query.getAll('exclude'))
    const selected =
      rest === '' ? checks.filter((c) => !excluded.has(c.name)) : checks.filter((c) => c.name === rest)
    if (rest !== '' && selected.length === 0) {
      ctx.res.statusCode = 404
      ctx.res.end('404 page not found\n')
      return
    }
    const results = await Promise.all(
      selected.map(async (c) => {
        try {
          await c.check()
          return { name: c.name, ok: true, reason: '' }
        } catch (err) {
          return { name: c.name, ok: false, reason: err instanceof Error ? err.message : String(err) }
        }
      }),
    )
    const failed = results.filter((r) => !r.ok)
    const verbose = ctx.query.has('verbose') || failed.length > 0
    let body: string
    if (!verbose) body = 'ok'
    else {
      const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: reason withheld`))
      for (const n of excluded) lines.push(`[+]${n} excluded: ok`)
      lines.push(failed.length === 0 ? `${endpoint} check passed` : `${endpoint} check failed`)
      body = lines.join('\n') + '\n'
    }
    for (const f of failed) ctx.log.warn({ check: f.name, reason: f.reason }, `${endpoint} check failed`)
    ctx.res.statusCode = failed.length === 0 ? 200 : 500
    ctx.res.setHeader('Content-Type', 'text/plain; charset=utf-8')
    ctx.res.setHeader('X-Content-Type-Options', 'nosniff')
    ctx.res.end(body)
  }
}
