/**
 * One probe, once (pkg/probe/{exec,http,tcp,grpc} and the prober's probe step): exec through the
 * runtime's ExecSync, httpGet / tcpSocket / grpc through the injected ProbeNetwork. The outcome is
 * what upstream reports: success, warning (an HTTP redirect the prober did not follow, counted as
 * success) or failure, with the output the Unhealthy event shows. A probe that could not be run at
 * all (the container is gone, a bad port name) throws: upstream throws such results away and keeps
 * the previous one.
 */
import type { Container, HTTPGetAction, Probe } from '../../api/generated/types/core-v1.ts'
import type { IntOrString } from '../../api/generated/types/intstr.ts'
import type { Clock } from '../../base/clock.ts'
import { isCriError } from '../runtime/errors.ts'
import type { RuntimeService } from '../runtime/runtime.ts'
import { joinHostPort, type HttpRequest, type HttpResponse, type ProbeNetwork } from './network.ts'

export type ProbeOutcome = { result: 'success' | 'warning' | 'failure'; output: string }

/** The Kubernetes version in kube-probe's User-Agent (major.minor). */
export const kubeVersion = '1.35'
export const probeUserAgent = `kube-probe/${kubeVersion}`
export const lifecycleUserAgent = `kube-lifecycle/${kubeVersion}`
/** Go's http.Client stops after this many redirects. */
export const maxRedirects = 10

/** API defaults of a Probe's numbers (SetDefaults_Probe). */
export function probeDefaults(probe: Readonly<Probe>): {
  initialDelaySeconds: number
  periodSeconds: number
  timeoutSeconds: number
  successThreshold: number
  failureThreshold: number
} {
  return {
    initialDelaySeconds: probe.initialDelaySeconds ?? 0,
    periodSeconds: probe.periodSeconds || 10,
    timeoutSeconds: probe.timeoutSeconds || 1,
    successThreshold: probe.successThreshold || 1,
    failureThreshold: probe.failureThreshold || 3,
  }
}

export interface ProbeContext {
  runtime: Pick<RuntimeService, 'execSync'>
  network: ProbeNetwork
  clock: Clock
  container: Readonly<Container>
  /** The CRI container id (without the `<runtime>://` prefix). */
  containerId: string
  /** The pod's first IP: the host of httpGet and tcpSocket when they name none, and of grpc. */
  podIP: string
}

/** Runs `probe` once. Throws when it could not be run (see the file comment). */
export async function runProbe(probe: Readonly<Probe>, ctx: ProbeContext): Promise<ProbeOutcome> {
  const timeoutMs = probeDefaults(probe).timeoutSeconds * 1000
  if (probe.exec !== undefined) return execProbe(probe.exec.command ?? [], ctx, timeoutMs / 1000)
  if (probe.httpGet !== undefined) return httpProbe(probe.httpGet, ctx, timeoutMs)
  if (probe.tcpSocket !== undefined) {
    const port = resolvePort(probe.tcpSocket.port, ctx.container)
    const host = probe.tcpSocket.host || ctx.podIP
    try {
      await ctx.network.dialTcp({ host, port, timeoutMs })
      return { result: 'success', output: '' }
    } catch (err) {
      return { result: 'failure', output: (err as Error).message }
    }
  }
  if (probe.grpc !== undefined) return grpcProbe(probe.grpc, ctx, timeoutMs)
  throw new Error('missing probe handler (one of exec, httpGet, tcpSocket or grpc)')
}

async function execProbe(command: readonly string[], ctx: ProbeContext, timeoutSeconds: number) {
  let reply
  try {
    reply = await ctx.runtime.execSync({
      containerId: ctx.containerId,
      cmd: command,
      timeout: timeoutSeconds,
    })
  } catch (err) {
    if (isCriError(err, 'DeadlineExceeded')) {
      return { result: 'failure' as const, output: `command ${goQuote(command.join(' '))} timed out` }
    }
    throw err
  }
  const output = Buffer.concat([reply.stdout, reply.stderr]).toString()
  return { result: reply.exitCode === 0 ? ('success' as const) : ('failure' as const), output }
}

async function httpProbe(action: Readonly<HTTPGetAction>, ctx: ProbeContext, timeoutMs: number) {
  const request = httpRequestFor(action, ctx, { userAgent: probeUserAgent, timeoutMs })
  let response: HttpResponse
  try {
    response = await httpGetFollowingRedirects(ctx.network, ctx.clock, request)
  } catch (err) {
    return { result: 'failure' as const, output: (err as Error).message }
  }
  const code = response.statusCode
  if (code >= 200 && code < 400) {
    if (code >= 300) {
      return {
        result: 'warning' as const,
        output: `Probe terminated redirects, Response body: ${response.body}`,
      }
    }
    return { result: 'success' as const, output: response.body }
  }
  // As upstream, the body stays out of a failure's message (it may hold anything).
  return { result: 'failure' as const, output: `HTTP probe failed with statuscode: ${code}` }
}

async function grpcProbe(action: { port: number; service?: string }, ctx: ProbeContext, timeoutMs: number) {
  const addr = joinHostPort(ctx.podIP, action.port)
  const timeout = goDuration(timeoutMs)
  if (!(action.port >= 1 && action.port <= 65535)) throw new Error(`invalid port number: ${action.port}`)
  const r = await ctx.network.grpcHealthCheck({
    host: ctx.podIP,
    port: action.port,
    service: action.service ?? '',
    timeoutMs,
    userAgent: probeUserAgent,
  })
  const failure = (output: string) => ({ result: 'failure' as const, output })
  switch (r.kind) {
    case 'connectFailed':
      return r.timedOut
        ? failure(`timeout: failed to connect service ${goQuote(addr)} within ${timeout}: ${r.message}`)
        : failure(`error: failed to connect service at ${goQuote(addr)}: ${r.message}`)
    case 'callFailed':
      if (r.code === 'UNIMPLEMENTED') {
        return failure(
          `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${r.message}`,
        )
      }
      if (r.code === 'DEADLINE_EXCEEDED')
        return failure(`timeout: health rpc did not complete within ${timeout}`)
      return failure(
        `error: health rpc probe failed: rpc error: code = ${goCodeName(r.code)} desc = ${r.message}`,
      )
    case 'status':
      if (r.status !== 'SERVING') return failure(`service unhealthy (responded with ${goQuote(r.status)})`)
      return { result: 'success' as const, output: 'service healthy' }
    default:
      return assertNever(r)
  }
}

/**
 * The request of an httpGet probe or hook (newProbeRequest): scheme (HTTP by default), host (the
 * pod IP by default), port by number or by the name of a containerPort, path ('/' by default),
 * the probe's headers with canonical names, User-Agent and `Accept: *\/*` unless given (an empty
 * Accept removes it), and a Host header as the request's host.
 */
export function httpRequestFor(
  action: Readonly<HTTPGetAction>,
  ctx: Pick<ProbeContext, 'container' | 'podIP'>,
  o: { userAgent: string; timeoutMs: number },
): HttpRequest {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase()
  if (scheme !== 'http' && scheme !== 'https') throw new Error(`unsupported scheme: ${action.scheme}`)
  const headers = new Map<string, string[]>()
  for (const h of action.httpHeaders ?? []) {
    const name = canonicalHeaderKey(h.name)
    headers.set(name, [...(headers.get(name) ?? []), h.value])
  }
  if (!headers.has('User-Agent')) headers.set('User-Agent', [o.userAgent])
  if (!headers.has('Accept')) headers.set('Accept', ['*/*'])
  else if ((headers.get('Accept') ?? [''])[0] === '') headers.delete('Accept')
  const path = action.path || '/'
  return {
    scheme,
    host: action.host || ctx.podIP,
    port: resolvePort(action.port, ctx.container),
    path: path.startsWith('/') ? path : `/${path}`,
    headers,
    timeoutMs: o.timeoutMs,
  }
}

/**
 * A GET that follows redirects as the kubelet's client does (RedirectChecker with
 * followNonLocalRedirects false): to the same host name up to ten times; a redirect to another
 * host is not followed and its response is returned (the probe then warns). Failures are thrown
 * as Go's client words them: `Get "http://10.88.0.5:8080/": dial tcp ...`.
 */
export async function httpGetFollowingRedirects(
  network: ProbeNetwork,
  clock: Clock,
  first: HttpRequest,
): Promise<HttpResponse> {
  const deadline = clock.now() + first.timeoutMs
  let request = first
  for (let hops = 0; ; hops++) {
    const url = urlOf(request)
    const left = deadline - clock.now()
    let response: HttpResponse
    try {
      if (left <= 0)
        throw new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')
      response = await network.httpGet({ ...request, timeoutMs: left })
    } catch (err) {
      throw new Error(`Get ${goQuote(url.href)}: ${(err as Error).message}`, { cause: err })
    }
    const redirect = [301, 302, 303, 307, 308].includes(response.statusCode) && response.location
    if (!redirect) return response
    let next: URL
    try {
      next = new URL(response.location ?? '', url)
    } catch (err) {
      throw new Error(
        `Get ${goQuote(url.href)}: failed to parse Location header ${goQuote(response.location ?? '')}`,
        {
          cause: err,
        },
      )
    }
    if (next.hostname.replace(/^\[|\]$/g, '') !== first.host) return response
    if (hops + 1 >= maxRedirects)
      throw new Error(`Get ${goQuote(next.href)}: stopped after ${maxRedirects} redirects`)
    const scheme = next.protocol === 'https:' ? 'https' : 'http'
    request = {
      ...request,
      scheme,
      port: next.port === '' ? (scheme === 'https' ? 443 : 80) : Number(next.port),
      path: next.pathname + next.search,
    }
  }
}

function urlOf(r: HttpRequest): URL {
  return new URL(`${r.scheme}://${joinHostPort(r.host, r.port)}${r.path}`)
}

/**
 * A probe's or hook's port (ResolveContainerPort): a number, or the name of one of the
 * container's ports, or a name that is a number. Throws when none fits or it is out of range.
 */
export function resolvePort(port: IntOrString, container: Readonly<Container>): number {
  let n: number
  if (typeof port === 'number') n = port
  else {
    const named = (container.ports ?? []).find((p) => p.name === port)
    if (named !== undefined) n = named.containerPort
    else if (/^\d+$/.test(port)) n = Number(port)
    else {
      const ports = (container.ports ?? []).map((p) => `${p.name ?? ''}:${p.containerPort}`)
      throw new Error(`couldn't find port: ${port} in [${ports.join(' ')}]`)
    }
  }
  if (!(Number.isInteger(n) && n > 0 && n < 65536)) throw new Error(`invalid port number: ${n}`)
  return n
}

/** Go's textproto.CanonicalMIMEHeaderKey: `x-custom-header` → `X-Custom-Header`. */
export function canonicalHeaderKey(name: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return name
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())
}

/** Go's %q for plain strings. */
export function goQuote(s: string): string {
  return JSON.stringify(s)
}

/** Go's time.Duration String for whole milliseconds: 1s, 500ms, 1m30s. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  const s = ms / 1000
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  return m < 60 ? `${m}m${s % 60}s` : `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`
}

/** gRPC code names as Go's codes.Code String prints them (DEADLINE_EXCEEDED → DeadlineExceeded). */
function goCodeName(code: string): string {
  if (code === 'OK') return 'OK'
  return code.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase())
}

function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`)
}
