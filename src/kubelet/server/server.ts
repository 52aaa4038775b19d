/**
 * The kubelet's API over HTTPS (port 10250 by default): what the apiserver, metrics-server and
 * monitoring read from a node. Every request is authenticated and authorized first (auth.ts):
 *
 *   /healthz            ok
 *   /pods               the pods bound to this node, as a PodList
 *   /stats/summary      the Summary API (?only_cpu_and_memory=true keeps cpu and memory only)
 *   /metrics/resource   node, pod and container CPU and memory in Prometheus text
 *   /metrics            the kubelet's own metrics
 *   /containerLogs/{namespace}/{pod}/{container}   a container's log (container-logs.ts)
 */
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { Logger } from '../../base/log.ts'
import { prometheusText, resourceMetricsText } from '../stats/resource-metrics.ts'
import { summaryJson, type StatsProvider } from '../stats/summary.ts'
import type { Summary } from '../stats/types.ts'
import type { KubeletAuth } from './auth.ts'
import { ContainerLogsError, serveContainerLogs, type ContainerLogsDeps } from './container-logs.ts'

/** --port default. */
export const defaultKubeletPort = 10250

export interface KubeletServerOptions {
  nodeName: string
  /** --address (default 0.0.0.0). */
  address?: string
  /** 0 picks a free port. */
  port: number
  /** PEM of the CA that signs client certificates (--client-ca-file). */
  clientCA: string
  /** The serving certificate and key (PEM, chain first to last). */
  tls: { cert: string; key: string }
  auth: KubeletAuth
  stats: StatsProvider
  /** The pods bound to this node as the kubelet knows them. */
  pods: () => readonly Pod[]
  /** Where /containerLogs reads the containers' logs; without it, it is not served (404). */
  logs?: Omit<ContainerLogsDeps, 'pods'>
  log: Logger
}

export interface KubeletServer {
  readonly port: number
  stop(): Promise<void>
}

export async function startKubeletServer(o: KubeletServerOptions): Promise<KubeletServer> {
  const server: Server = createServer(
    {
      cert: o.tls.cert,
      key: o.tls.key,
      ca: o.clientCA,
      requestCert: true,
      // A request without a (good) certificate may still carry a bearer token; auth decides.
      rejectUnauthorized: false,
    },
    (req, res) => {
      handle(o, req, res).catch((err: unknown) => {
        o.log.warn({ err: (err as Error).message, path: req.url }, 'kubelet API request failed')
        if (!res.headersSent) text(res, 500, `Internal Error: ${(err as Error).message}\n`)
        else res.destroy()
      })
    },
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: o.port, host: o.address ?? '0.0.0.0' }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  o.log.info({ port }, 'kubelet API serving')
  return {
    port,
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function handle(o: KubeletServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://kubelet')
  const path = url.pathname
  const auth = await o.auth.check(req, path, o.nodeName)
  switch (auth.outcome) {
    case 'unauthenticated':
      return text(res, 401, 'Unauthorized')
    case 'forbidden': {
      const a = auth.attributes
      return text(
        res,
        403,
        `Forbidden (user=${auth.user.name}, verb=${a.verb}, resource=${a.resource}, subresource=${a.subresource})`,
      )
    }
    case 'allowed':
      break
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, '405: Method Not Allowed')
  if (o.logs && path.startsWith(containerLogsPrefix)) return containerLogs(o, o.logs, res, url)
  switch (path) {
    case '/healthz':
      return text(res, 200, 'ok')
    case '/pods':
      return json(
        res,
        JSON.stringify({
          kind: 'PodList',
          apiVersion: 'v1',
          metadata: {},
          items: o.pods(),
        }),
      )
    case '/stats/summary': {
      const summary = await o.stats.summary()
      const onlyCpuAndMemory = url.searchParams.get('only_cpu_and_memory') === 'true'
      return json(res, summaryJson(onlyCpuAndMemory ? cpuAndMemoryOnly(summary) : summary))
    }
    case '/metrics/resource': {
      let summary: Summary | undefined
      try {
        summary = await o.stats.summary()
      } catch (err) {
        o.log.warn({ err: (err as Error).message }, 'resource metrics: cannot read the stats')
      }
      return prometheus(res, resourceMetricsText(summary))
    }
    case '/metrics': {
      const summary = await o.stats.summary()
      const running = summary.pods.reduce((n, p) => n + p.containers.length, 0)
      return prometheus(
        res,
        prometheusText([
          {
            name: 'kubelet_node_name',
            help: "[ALPHA] The node's name. The count is always 1.",
            type: 'gauge',
            samples: [{ labels: { node: o.nodeName }, value: 1 }],
          },
          {
            name: 'kubelet_running_containers',
            help: '[ALPHA] Number of containers currently running',
            type: 'gauge',
            samples: [{ labels: { container_state: 'running' }, value: running }],
          },
          {
            name: 'kubelet_running_pods',
            help: '[ALPHA] Number of pods that have a running pod sandbox',
            type: 'gauge',
            samples: [{ labels: {}, value: summary.pods.length }],
          },
        ]),
      )
    }
    default:
      return text(res, 404, '404 page not found\n')
  }
}

const containerLogsPrefix = '/containerLogs/'

async function containerLogs(
  o: KubeletServerOptions,
  logs: Omit<ContainerLogsDeps, 'pods'>,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  // The answer goes on as long as the client reads it (follow): its going away ends it.
  const gone = new AbortController()
  res.on('close', () => gone.abort())
  try {
    await serveContainerLogs(
      { ...logs, pods: o.pods },
      {
        path: url.pathname.slice(containerLogsPrefix.length),
        query: url.searchParams,
        signal: gone.signal,
      },
      res,
    )
  } catch (err) {
    if (!(err instanceof ContainerLogsError) || res.headersSent) throw err
    text(res, err.status, err.message)
  }
}

/** The Summary with only what `only_cpu_and_memory` asks for (what metrics pipelines read). */
function cpuAndMemoryOnly(s: Summary): Summary {
  const node = s.node
  return {
    node: {
      nodeName: node.nodeName,
      startTime: node.startTime,
      ...(node.cpu ? { cpu: node.cpu } : {}),
      ...(node.memory ? { memory: node.memory } : {}),
    },
    pods: s.pods.map((p) => ({
      podRef: p.podRef,
      startTime: p.startTime,
      ...(p.cpu ? { cpu: p.cpu } : {}),
      ...(p.memory ? { memory: p.memory } : {}),
      containers: p.containers.map((c) => ({
        name: c.name,
        startTime: c.startTime,
        ...(c.cpu ? { cpu: c.cpu } : {}),
        ...(c.memory ? { memory: c.memory } : {}),
      })),
    })),
  }
}

function text(res: ServerResponse, code: number, body: string): void {
  res.statusCode = code
  res.setHeader('Content-Type', 'text/plain; charset=utf-8')
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.end(body)
}

function json(res: ServerResponse, body: string): void {
  res.statusCode = 200
  res.setHeader('Content-Type', 'application/json')
  res.end(body)
}

function prometheus(res: ServerResponse, body: string): void {
  res.statusCode = 200
  res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  res.end(body)
}
