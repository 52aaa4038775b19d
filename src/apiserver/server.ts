import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { anonymousUser, type Authenticator, type UserInfo } from './authn/authenticator.ts'
import type { Authorizer, Attributes } from './authz/authorizer.ts'
import { setWarnings, writeJson, type Handler, type RequestContext } from './context.ts'
import {
  ApiError,
  forbidden,
  internalError,
  isApiError,
  pathNotFound,
  timeout,
  tooManyRequests,
  unauthorized,
} from './errors.ts'
import type { ApiMetrics } from './metrics.ts'
import { requestInfo, type RequestInfo } from './request-info.ts'

/**
 * The request pipeline, in kube-apiserver's order: audit id → in-flight limit → authentication
 * → authorization → the handler (with a deadline for everything that is not long-running). It
 * is independent of the transport: the HTTPS server feeds it, and so can an in-process one.
 */
export interface PipelineOptions {
  authenticator: Authenticator
  authorizer: Authorizer
  /** Handlers of non-resource paths: exact paths, and prefixes ending in '/'. */
  paths: ReadonlyMap<string, Handler>
  /** The handler of every resource request (/api/v1/..., /apis/g/v/...). */
  resources: Handler
  log: Logger
  metrics: ApiMetrics
  /** Requests that are not long-running may run at most this many at once (default 400). */
  maxInFlight?: number
  /** Deadline of requests that are not long-running (default 60 s). */
  requestTimeoutMs?: number
}

/** Paths anyone may read, authenticated or not. */
const publicPaths = ['/healthz', '/livez', '/readyz', '/version']

export function createPipeline(o: PipelineOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxInFlight = o.maxInFlight ?? 400
  const timeoutMs = o.requestTimeoutMs ?? 60_000
  let inFlight = 0

  const route = (info: RequestInfo, path: string): Handler | undefined => {
    if (info.isResourceRequest) return o.resources
    const exact = o.paths.get(path)
    if (exact) return exact
    for (const [prefix, h] of o.paths) if (prefix.endsWith('/') && path.startsWith(prefix)) return h
    return undefined
  }

  return (req, res) => {
    const started = performance.now()
    const auditId = randomUUID()
    res.setHeader('Audit-Id', auditId)
    const url = new URL(req.url ?? '/', 'https://apiserver')
    const path = url.pathname
    const info = requestInfo(req.method ?? 'GET', path, url.searchParams)
    const longRunning = isLongRunning(info, url.searchParams)
    const ac = new AbortController()
    const warnings: string[] = []
    req.once('close', () => {
      if (!res.writableFinished) ac.abort(new Error('client went away'))
    })
    let ctx: RequestContext | undefined
    const labels = metricLabels(info)

    const run = async () => {
      if (!longRunning) {
        if (inFlight >= maxInFlight) {
          res.setHeader('Retry-After', '1')
          throw tooManyRequests('Too many requests, please try again later.', 1)
        }
        inFlight++
        o.metrics.inFlight.inc({
          request_kind:
            info.isResourceRequest && info.verb !== 'get' && info.verb !== 'list' ? 'mutating' : 'readOnly',
        })
      }
      try {
        const user = await authenticate(req, path)
        ctx = {
          req,
          res,
          path,
          query: url.searchParams,
          info,
          user,
          auditId,
          log: o.log,
          signal: ac.signal,
          warnings,
        }
        await authorize(o.authorizer, info, user)
        const handler = route(info, path)
        if (!handler) throw pathNotFound()
        if (longRunning) return await handler(ctx)
        await withDeadline(handler(ctx), timeoutMs, ac)
      } finally {
        if (!longRunning) {
          inFlight--
          o.metrics.inFlight.dec({
            request_kind:
              info.isResourceRequest && info.verb !== 'get' && info.verb !== 'list' ? 'mutating' : 'readOnly',
          })
        }
      }
    }

    const authenticate = async (r: IncomingMessage, p: string): Promise<UserInfo> => {
      const user = await o.authenticator.authenticate(r)
      if (user) return user
      if (publicPaths.some((pp) => p === pp || p.startsWith(pp + '/'))) return anonymousUser
      throw unauthorized()
    }

    run()
      .catch((err: unknown) => writeError(res, warnings, err, o.log, auditId))
      .finally(() => {
        o.metrics.observe(labels, res.statusCode, (performance.now() - started) / 1000, longRunning)
      })
  }
}

/** The one error handler: an ApiError becomes its Status; anything else a 500 and a log line. */
export function writeError(
  res: ServerResponse,
  warnings: readonly string[],
  err: unknown,
  log: Logger,
  auditId: string,
): void {
  let apiErr: ApiError
  if (isApiError(err)) {
    apiErr = err
    if (err.code >= 500) log.warn({ auditId, err: err.cause ?? err }, err.message)
  } else {
    log.error({ auditId, err }, 'request failed')
    apiErr = internalError(err)
  }
  if (res.headersSent) {
    // A stream already started: it can only be cut.
    res.destroy()
    return
  }
  const retry = apiErr.status.details?.retryAfterSeconds
  if (retry !== undefined && retry > 0) res.setHeader('Retry-After', String(retry))
  setWarnings(res, warnings)
  writeJson({ res, warnings: [] }, apiErr.code, apiErr.status)
}

async function authorize(authorizer: Authorizer, info: RequestInfo, user: UserInfo): Promise<void> {
  const attrs: Attributes = info.isResourceRequest
    ? {
        user,
        resourceRequest: true,
        verb: info.verb,
        namespace: info.namespace,
        apiGroup: info.apiGroup,
        apiVersion: info.apiVersion,
        resource: info.resource,
        subresource: info.subresource,
        name: info.name,
      }
    : { user, resourceRequest: false, verb: info.verb, path: info.path }
  const d = await authorizer.authorize(attrs)
  if (d.decision === 'allow') return
  const reason = d.reason ? `: ${d.reason}` : ''
  if (!info.isResourceRequest) {
    throw forbiddenPath(`User "${user.name}" cannot ${info.verb} path "${info.path}"${reason}`)
  }
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource
  const scope = info.namespace ? ` in the namespace "${info.namespace}"` : ' at the cluster scope'
  throw forbidden(
    { group: info.apiGroup, resource: info.resource },
    info.name,
    `User "${user.name}" cannot ${info.verb} resource "${resource}" in API group "${info.apiGroup}"${scope}${reason}`,
  )
}

function forbiddenPath(message: string): ApiError {
  return new ApiError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `forbidden: ${message}`,
    reason: 'Forbidden',
    details: {},
    code: 403,
  })
}

/** Watches and streaming subresources run as long as they need to. */
function isLongRunning(info: RequestInfo, query: URLSearchParams): boolean {
  if (!info.isResourceRequest) return false
  if (info.verb === 'watch') return true
  switch (info.subresource) {
    case 'exec':
    case 'attach':
    case 'portforward':
    case 'proxy':
      return true
    case 'log':
      return query.get('follow') === 'true'
    default:
      return false
  }
}

async function withDeadline(work: Promise<void>, ms: number, ac: AbortController): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort(new Error('request timed out'))
      reject(timeout('request did not complete within the allotted timeout'))
    }, ms)
  })
  try {
    await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}

export interface MetricLabels {
  verb: string
  group: string
  version: string
  resource: string
  subresource: string
  scope: string
}

function metricLabels(info: RequestInfo): MetricLabels {
  if (!info.isResourceRequest) {
    return { verb: info.verb.toUpperCase(), group: '', version: '', resource: '', subresource: '', scope: '' }
  }
  return {
    verb: info.verb.toUpperCase(),
    group: info.apiGroup,
    version: info.apiVersion,
    resource: info.resource,
    subresource: info.subresource,
    scope: info.namespace ? 'namespace' : info.name ? 'cluster' : 'resource',
  }
}
