import { createServer, type Server } from 'node:https'
import { hostname } from 'node:os'
import type { AddressInfo } from 'node:net'
import { collectDefaultMetrics, Registry } from 'prom-client'
import type { Logger } from '../base/log.ts'
import { createCertificateAuthority, issueCertificate } from '../pki/index.ts'

/** One health check: resolves when healthy, throws with the reason when not. */
export interface ComponentCheck {
  readonly name: string
  check(): void | Promise<void>
}

export interface ComponentServerOptions {
  /** --bind-address (0.0.0.0) and --secure-port (10259 for kube-scheduler, 10257 for kube-controller-manager; 0 picks one). */
  host: string
  port: number
  checks: readonly ComponentCheck[]
  /** What /metrics serves: a prom-client Registry, or anything that reads like one. */
  metrics: MetricsSource
  log: Logger
}

export type MetricsSource = Pick<Registry, 'contentType' | 'metrics'>

/** The process metrics every Go component exports (process_*, go_* has no match here). */
export function processMetrics(): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return registry
}

export interface ComponentServer {
  readonly port: number
  close(): Promise<void>
}

/**
 * The HTTPS endpoint of kube-scheduler and kube-controller-manager: /healthz, /livez and /readyz
 * (`ok`, or each check as `[+]name ok` / `[-]name failed: reason withheld` with `?verbose` or on
 * failure, 500 when any fails) and /metrics in the Prometheus text format. Like the Go components
 * without --tls-cert-file, it serves a self-signed certificate made at start for localhost, the
 * loopback addresses and the host name.
 */
export async function serveComponent(o: ComponentServerOptions): Promise<ComponentServer> {
  const ca = await createCertificateAuthority(`localhost-ca@${Math.floor(Date.now() / 1000)}`)
  const serving = await issueCertificate(ca, {
    subject: { commonName: `localhost@${Math.floor(Date.now() / 1000)}` },
    usage: 'server',
    hosts: ['localhost', hostname(), '127.0.0.1', '::1'],
  })
  const server: Server = createServer(
    { cert: `${serving.certPem.trimEnd()}\n${ca.certPem}`, key: serving.keyPem },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://localhost')
      const reply = (code: number, type: string, body: string) => {
        res.statusCode = code
        res.setHeader('Content-Type', type)
        res.setHeader('X-Content-Type-Options', 'nosniff')
        res.end(body)
      }
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return reply(405, 'text/plain', 'method not allowed\n')
      const health = /^\/(healthz|livez|readyz)(?:\/([^/]+))?$/.exec(url.pathname)
      if (health) {
        const endpoint = health[1] as string
        const only = health[2]
        const checks = only ? o.checks.filter((c) => c.name === only) : o.checks
        if (only && checks.length === 0) return reply(404, 'text/plain', '404 page not found\n')
        void Promise.all(
          checks.map(async (c) => {
            try {
              await c.check()
              return { name: c.name, ok: true }
            } catch (err) {
              o.log.warn({ check: c.name, reason: (err as Error).message }, `${endpoint} check failed`)
              return { name: c.name, ok: false }
            }
          }),
        ).then((results) => {
          const failed = results.some((r) => !r.ok)
          const verbose = url.searchParams.has('verbose') || failed
          const body = verbose
            ? [
                ...results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: reason withheld`)),
                `${endpoint} check ${failed ? 'failed' : 'passed'}`,
              ].join('\n') + '\n'
            : 'ok'
          reply(failed ? 500 : 200, 'text/plain; charset=utf-8', body)
        })
        return
      }
      if (url.pathname === '/metrics') {
        void o.metrics.metrics().then(
          (text) => reply(200, o.metrics.contentType, text),
          (err: unknown) => reply(500, 'text/plain', `${(err as Error).message}\n`),
        )
        return
      }
      reply(404, 'text/plain; charset=utf-8', '404 page not found\n')
    },
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
