import type { Status } from '../api/generated/types/meta-v1.ts'

/**
 * A request the apiserver refused or failed: its `Status` (code, reason, details), as every
 * Kubernetes error answer carries. Callers decide by `reason` and `code`, never by message text.
 */
export class ApiStatusError extends Error {
  override readonly name = 'ApiStatusError'
  readonly status: Status
  /** The HTTP status code (the Status's own code when it has one). */
  readonly code: number
  /** NotFound, AlreadyExists, Conflict, Invalid, Expired, Gone, TooManyRequests, ... */
  readonly reason: string

  constructor(status: Status, code: number) {
    super(status.message || `the server answered ${code}${status.reason ? ` (${status.reason})` : ''}`)
    this.status = status
    this.code = status.code ?? code
    this.reason = status.reason ?? reasonForCode(this.code)
  }
}

/** The apiserver could not be reached, or answered with something that is not the API. */
export class TransportError extends Error {
  override readonly name = 'TransportError'
}

/** A Status from an answer's body, or one made from its code when the body is not a Status. */
export function statusFromBody(code: number, body: string): Status {
  try {
    const parsed = JSON.parse(body) as unknown
    if (parsed !== null && typeof parsed === 'object' && (parsed as { kind?: unknown }).kind === 'Status') {
      return parsed
    }
  } catch {
    // not JSON: described below
  }
  const text = body.trim().slice(0, 200)
  return {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code,
    reason: reasonForCode(code),
    message: text === '' ? `the server answered ${code}` : `the server answered ${code}: ${text}`,
  }
}

/** Kubernetes' reason for a bare HTTP code (client-go's NewGenericServerResponse). */
export function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest'
    case 401:
      return 'Unauthorized'
    case 403:
      return 'Forbidden'
    case 404:
      return 'NotFound'
    case 405:
      return 'MethodNotAllowed'
    case 406:
      return 'NotAcceptable'
    case 409:
      return 'Conflict'
    case 410:
      return 'Gone'
    case 413:
      return 'RequestEntityTooLarge'
    case 415:
      return 'UnsupportedMediaType'
    case 422:
      return 'Invalid'
    case 429:
      return 'TooManyRequests'
    case 500:
      return 'InternalError'
    case 503:
      return 'ServiceUnavailable'
    case 504:
      return 'Timeout'
    default:
      return 'Unknown'
  }
}

function reasonOf(err: unknown): string | undefined {
  return err instanceof ApiStatusError ? err.reason : undefined
}

export const isNotFound = (err: unknown): boolean => reasonOf(err) === 'NotFound'
export const isAlreadyExists = (err: unknown): boolean => reasonOf(err) === 'AlreadyExists'
export const isConflict = (err: unknown): boolean => reasonOf(err) === 'Conflict'
export const isInvalid = (err: unknown): boolean => reasonOf(err) === 'Invalid'
/** 410: the resourceVersion asked for is no longer there (Expired, or Gone). */
export const isResourceExpired = (err: unknown): boolean =>
  err instanceof ApiStatusError && (err.code === 410 || err.reason === 'Expired' || err.reason === 'Gone')
export const isTooManyRequests = (err: unknown): boolean => reasonOf(err) === 'TooManyRequests'
