import { aggregateMessage, errorBody, type FieldError } from '../api/field-errors.ts'
import type { Status, StatusCause } from '../api/generated/types/meta-v1.ts'
import { isStorageError, type StorageError } from '../storage/index.ts'

/** Error.stackTraceLimit as it was before an ApiError was made (see withoutStackBelow500). */
let savedStackTraceLimit = Error.stackTraceLimit

/**
 * An error that is an API answer: it carries the full `metav1.Status` the client gets, with
 * Kubernetes' reason, code and message wording (kubectl prints `Error from server (<reason>):
 * <message>`). The HTTP layer's one error handler writes it; no handler writes error JSON itself.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  readonly status: Status & { code: number }

  constructor(status: Status & { code: number }, options?: { cause?: unknown }) {
    super(withoutStackBelow500(status.code, status.message ?? status.reason ?? 'error'), options)
    Error.stackTraceLimit = savedStackTraceLimit
    this.status = status
  }

  get code(): number {
    return this.status.code
  }
}

/**
 * An answer below 500 (not found, conflict, invalid, forbidden) is no fault of the server's: the
 * error carrying it is made without a stack trace, which is most of what making one costs (the
 * frames of optimized code are rebuilt for it). Errors of the server keep theirs for the log.
 * Sets the limit for the Error constructor to read; the ApiError constructor puts it back.
 */
function withoutStackBelow500(code: number, message: string): string {
  savedStackTraceLimit = Error.stackTraceLimit
  if (code < 500) Error.stackTraceLimit = 0
  return message
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError
}

/** A resource as errors name it: `pods`, `deployments.apps`. */
export interface QualifiedResource {
  group: string
  resource: string
}

export function qualified(r: QualifiedResource): string {
  return r.group === '' ? r.resource : `${r.resource}.${r.group}`
}

/** A kind as Invalid errors name it: `Pod`, `Deployment.apps`. */
export interface QualifiedKind {
  group: string
  kind: string
}

function failure(code: number, reason: string, message: string, details?: Status['details']): ApiError {
  const status: Status & { code: number } = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  }
  if (details !== undefined) status.details = details
  return new ApiError(status)
}

function details(r: QualifiedResource, name?: string): NonNullable<Status['details']> {
  const d: NonNullable<Status['details']> = {}
  if (name !== undefined && name !== '') d.name = name
  if (r.group !== '') d.group = r.group
  d.kind = r.resource
  return d
}

export function notFound(r: QualifiedResource, name: string): ApiError {
  return failure(404, 'NotFound', `${qualified(r)} "${name}" not found`, details(r, name))
}

/** 404 for a path no handler serves. */
export function pathNotFound(): ApiError {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {})
}

export function alreadyExists(r: QualifiedResource, name: string): ApiError {
  return failure(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, details(r, name))
}

export const objectModifiedMessage =
  'the object has been modified; please apply your changes to the latest version and try again'

export function conflict(r: QualifiedResource, name: string, why: string = objectModifiedMessage): ApiError {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`,
    details(r, name),
  )
}

export function invalid(k: QualifiedKind, name: string, errors: readonly FieldError[]): ApiError {
  const causes: StatusCause[] = errors.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field }))
  // Empty ones are left out, as Go's omitempty does (a patch that cannot be decoded has neither).
  const d: NonNullable<Status['details']> = {}
  if (name !== '') d.name = name
  if (k.group !== '') d.group = k.group
  if (k.kind !== '') d.kind = k.kind
  d.causes = causes
  const qk = k.group === '' ? k.kind : `${k.kind}.${k.group}`
  return failure(422, 'Invalid', `${qk} "${name}" is invalid: ${aggregateMessage(errors)}`, d)
}

export function badRequest(message: string): ApiError {
  return failure(400, 'BadRequest', message)
}

export function unauthorized(message = 'Unauthorized'): ApiError {
  return failure(401, 'Unauthorized', message)
}

export function forbidden(r: QualifiedResource, name: string, why: string): ApiError {
  const subject = name === '' ? qualified(r) : `${qualified(r)} "${name}"`
  return failure(403, 'Forbidden', `${subject} is forbidden: ${why}`, details(r, name))
}

export function methodNotSupported(r: QualifiedResource, action: string): ApiError {
  return failure(
    405,
    'MethodNotAllowed',
    `${action} is not supported on resources of kind "${qualified(r)}"`,
    details(r),
  )
}

export function notAcceptable(accepted: readonly string[]): ApiError {
  return failure(406, 'NotAcceptable', `only the following media types are accepted: ${accepted.join(', ')}`)
}

/** 410 for a watch or list from a revision that has been compacted. */
export function resourceExpired(message: string): ApiError {
  return failure(410, 'Expired', message)
}

export function gone(message: string): ApiError {
  return failure(410, 'Gone', message)
}

export function requestEntityTooLarge(limit: number): ApiError {
  return failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`)
}

export function unsupportedMediaType(contentType: string, accepted: readonly string[]): ApiError {
  return failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format (${contentType}) - accepted media types include: ${accepted.join(', ')}`,
  )
}

export function tooManyRequests(message: string, retryAfterSeconds: number): ApiError {
  return failure(429, 'TooManyRequests', message, { retryAfterSeconds })
}

export function internalError(err: unknown): ApiError {
  const message = err instanceof Error ? err.message : String(err)
  const e = failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] })
  return new ApiError(e.status, { cause: err })
}

export function serviceUnavailable(message: string): ApiError {
  return failure(503, 'ServiceUnavailable', message)
}

export function timeout(message: string, retryAfterSeconds = 0): ApiError {
  return failure(504, 'Timeout', message, retryAfterSeconds > 0 ? { retryAfterSeconds } : {})
}

/**
 * A store error answered for one resource and name. Conditions the caller should have seen
 * coming (an existing key, a stale revision) become their Status; a store that cannot be
 * reached becomes 503 with the cause in the log, not in the answer.
 */
export function fromStorageError(err: StorageError, r: QualifiedResource, name: string): ApiError {
  switch (err.code) {
    case 'KeyNotFound':
      return notFound(r, name)
    case 'KeyExists':
      return alreadyExists(r, name)
    case 'Conflict':
      return conflict(r, name)
    case 'Compacted':
      return resourceExpired(`The resourceVersion for the provided list is too old.`)
    case 'InvalidArgument':
      return badRequest(err.message)
    case 'Unavailable':
      return new ApiError(serviceUnavailable('the storage backend is unavailable; try again later').status, {
        cause: err,
      })
  }
}

export { isStorageError }
