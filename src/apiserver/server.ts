import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { anonymousUser, type Authenticator, type UserInfo } from './authn/authenticator.ts'
import { type Authorizer, type Attributes, type Decision } from './authz/authorizer.ts'
import { ApiResponse, ServedContext, setWarnings, writeJson, type Handler } from './context.ts'
import {
  ApiError,
  badRequest,
  forbidden,
  internalError,
  isApiError,
  pathNotFound,
  timeout,
  tooManyRequests,
  unauthorized,
} from './errors.ts'
import { impersonatedUser } from './impersonation.ts'
import type { ApiMetrics } from './metrics.ts'
import { requestInfo, type RequestInfo, type ResourceRequestInfo } from './request-info.ts'
import { parseFieldSelector, type FieldRequirement } from '../api/selectors/field-selector.ts'

/**
 * The request pipeline, in kube-apiserver's order: audit id → in-flight limit → authentication
 * → impersonation → authorization → the handler (with a deadline for everything that is not
 * long-running). It is independent of the transport: the HTTPS server feeds it, and so can an
 * in-process one.
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
  /**
   * --anonymous-auth (default true): a request without credentials is system:anonymous, in
   * system:unauthenticated, and authorization decides (RBAC lets it read /healthz, /livez,
   * /readyz and /version, and answers 403 to the rest); false answers it 401.
   */
  anonymousAuth?: boolean
}

/** The query of requests without one, shared (handlers only read queries). */
const noQuery = new URLSearchParams()

export function createPipeline(o: PipelineOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxInFlight = o.maxInFlight ?? 400
  const timeoutMs = o.requestTimeoutMs ?? 60_000
  const deadlines = new Deadlines(timeoutMs)
  let inFlight = 0
  o.metrics.inFlightOf = () => inFlight

  const route = (info: RequestInfo, path: string): Handler | undefined => {
    if (info.isResourceRequest) return o.resources
    const exact = o.paths.get(path)
    if (exact) return exact
    for (const [prefix, h] of o.paths) if (prefix.endsWith('/') && path.startsWith(prefix)) return h
    return undefined
  }

  // Credentials that were refused are 401 even with anonymous requests allowed (kube-apiserver's
  // anonymous authenticator only follows a union that found no credentials at all); the reason is
  // logged, never told to the client.
  const anonymousAuth = o.anonymousAuth ?? true
  const refused = (err: unknown): never => {
    o.log.info(
      { err: err instanceof Error ? err.message : String(err) },
      'Unable to authenticate the request',
    )
    throw unauthorized()
  }
  const authenticate = (r: IncomingMessage): UserInfo | Promise<UserInfo> => {
    const known = (user: UserInfo | undefined): UserInfo => {
      if (user) return user
      if (anonymousAuth) return anonymousUser
      throw unauthorized()
    }
    let user: UserInfo | undefined | Promise<UserInfo | undefined>
    try {
      user = o.authenticator.authenticate(r)
    } catch (err) {
      return refused(err)
    }
    return user instanceof Promise ? user.then(known, refused) : known(user)
  }

  return (req, res) => {
    const started = performance.now()
    // A client may name its request (kube-apiserver's Audit-ID header); the name is echoed back.
    const given = req.headers['audit-id']
    const validId = typeof given === 'string' && isValidAuditId(given)
    const auditId = validId ? given : randomUUID()
    if (res instanceof ApiResponse) res.auditId = auditId
    else res.setHeader('Audit-Id', auditId)
    const raw = req.url ?? '/'
    const q = raw.indexOf('?')
    const path = q < 0 ? raw : raw.slice(0, q)
    const query = q < 0 ? noQuery : new URLSearchParams(raw.slice(q + 1))
    const info = requestInfo(req.method ?? 'GET', path, query)
    const longRunning = isLongRunning(info, query)
    const warnings: string[] = []
    // The signal is made on first use: most requests never look at it.
    let ac: AbortController | undefined
    const controller = () => {
      if (!ac) {
        const c = (ac = new AbortController())
        req.once('close', () => {
          if (!res.writableFinished) c.abort(new Error('client went away'))
        })
      }
      return ac
    }
    let counted = false
    const done = () => {
      if (counted) {
        inFlight--
        deadlines.delete(res)
      }
      o.metrics.observe(info, res.statusCode, (performance.now() - started) / 1000, longRunning)
    }
    const failed = (err: unknown) => {
      if (!res.writableEnded) writeError(res, warnings, err, o.log, auditId)
      done()
    }
    const serve = (authenticated: UserInfo): void | Promise<void> => {
      const user = impersonatedUser(req, authenticated, o.authorizer)
      return user instanceof Promise ? user.then(serveAs) : serveAs(user)
    }
    const serveAs = (user: UserInfo): void | Promise<void> => {
      const ctx = new ServedContext(
        { req, res, path, query, info, user, auditId, log: o.log, warnings },
        () => controller().signal,
      )
      const handle = () => {
        const handler = route(info, path)
        if (!handler) throw pathNotFound()
        return handler(ctx)
      }
      const allowed = authorize(o.authorizer, info, query, user)
      return allowed instanceof Promise ? allowed.then(handle) : handle()
    }

    // Each step goes asynchronous only when it has to: most requests are answered from memory.
    let result: void | Promise<void>
    try {
      if (given !== undefined && given !== '' && !validId) {
        throw badRequest(
          'the Audit-ID header must be at most 256 letters, digits and hyphens, starting and ending with a letter or digit',
        )
      }
      if (!longRunning) {
        if (inFlight >= maxInFlight) {
          res.setHeader('Retry-After', '1')
          throw tooManyRequests('Too many requests, please try again later.', 1)
        }
        inFlight++
        counted = true
      }
      const user = authenticate(req)
      result = user instanceof Promise ? user.then(serve) : serve(user)
    } catch (err) {
      failed(err)
      return
    }
    if (!(result instanceof Promise)) {
      done()
      return
    }
    // Only a request that goes on after this turn of the event loop can run out of time: most are
    // answered before it ends, and never enter the deadlines.
    if (counted) {
      deadlines.add(res, () => {
        // The answer is a timeout from now on, and the request no longer counts as in flight
        // (the handler may still be winding down), as kube-apiserver's timeout filter does.
        counted = false
        inFlight--
        ac?.abort(new Error('request timed out'))
        if (!res.headersSent)
          writeError(
            res,
            warnings,
            timeout('request did not complete within the allotted timeout'),
            o.log,
            auditId,
          )
      })
    }
    result.then(done, failed)
  }
}

const auditIdPattern = /^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$/

function isValidAuditId(id: string): boolean {
  return id.length <= 256 && auditIdPattern.test(id)
}

/**
 * Request deadlines, checked by one coarse timer rather than a timer per request (a
 * setTimeout per request is a measurable cost at thousands of requests per second).
 */
class Deadlines {
  readonly #ms: number
  readonly #pending = new Map<ServerResponse, { at: number; expire: () => void }>()
  #timer: NodeJS.Timeout | undefined

  constructor(ms: number) {
    this.#ms = ms
  }

  add(res: ServerResponse, expire: () => void): void {
    this.#pending.set(res, { at: Date.now() + this.#ms, expire })
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#sweep(), Math.min(1000, this.#ms))
      this.#timer.unref()
    }
  }

  delete(res: ServerResponse): void {
    this.#pending.delete(res)
  }

  #sweep(): void {
    const now = Date.now()
    for (const [res, d] of this.#pending) {
      if (d.at > now) continue
      this.#pending.delete(res)
      d.expire()
    }
    if (this.#pending.size === 0 && this.#timer) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
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

function authorize(
  authorizer: Authorizer,
  info: RequestInfo,
  query: URLSearchParams,
  user: UserInfo,
): void | Promise<void> {
  const attrs: Attributes = info.isResourceRequest
    ? resourceAttributes(info, query, user)
    : { user, resourceRequest: false, verb: info.verb, path: info.path }
  const d = authorizer.authorize(attrs)
  return d instanceof Promise ? d.then((x) => decide(x, attrs)) : decide(d, attrs)
}

/**
 * A resource request's attributes. A list or watch whose field selector asks for one
 * metadata.name is authorized as a request for that name (as kube-apiserver's RequestInfoFactory
 * reads it, so a rule with resourceNames covers it), and the field selector of a collection
 * request goes along (the Node authorizer lets a node list its own pods by spec.nodeName). A
 * selector that does not parse is left out; the handler refuses it.
 */
function resourceAttributes(info: ResourceRequestInfo, query: URLSearchParams, user: UserInfo): Attributes {
  let name = info.name
  let fieldSelector: readonly FieldRequirement[] | undefined
  const collection = info.verb === 'list' || info.verb === 'watch' || info.verb === 'deletecollection'
  const raw = collection ? query.get('fieldSelector') : null
  if (raw) {
    try {
      fieldSelector = parseFieldSelector(raw).requirements
    } catch {
      fieldSelector = undefined
    }
    if (fieldSelector && name === '' && info.verb !== 'deletecollection') {
      const named = fieldSelector.find((r) => r.field === 'metadata.name' && r.operator === '=')
      if (named && isValidPathSegmentName(named.value)) name = named.value
    }
  }
  return {
    user,
    resourceRequest: true,
    verb: info.verb,
    namespace: info.namespace,
    apiGroup: info.apiGroup,
    apiVersion: info.apiVersion,
    resource: info.resource,
    subresource: info.subresource,
    name,
    ...(fieldSelector ? { fieldSelector } : {}),
  }
}

/** A name that may stand in a URL path segment (path.IsValidPathSegmentName). */
function isValidPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%')
}

function decide(d: Decision, a: Attributes): void {
  if (d.decision === 'allow') return
  const reason = d.reason ? `: ${d.reason}` : ''
  if (!a.resourceRequest) {
    throw forbiddenPath(`User "${a.user.name}" cannot ${a.verb} path "${a.path}"${reason}`)
  }
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource
  const scope = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope'
  throw forbidden(
    { group: a.apiGroup, resource: a.resource },
    a.name,
    `User "${a.user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}"${scope}${reason}`,
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
