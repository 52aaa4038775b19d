/**
 * PodLogOptions on the wire: the query of `GET pods/{name}/log` (what `kubectl logs` sends) and of
 * the kubelet's `/containerLogs/{namespace}/{pod}/{container}`, decoded as the parameter codec
 * decodes it and validated as upstream's ValidatePodLogOptions. The apiserver and the kubelet
 * both read it; the apiserver also writes it again for the kubelet (podLogQuery).
 */
import { forbidden, invalid, type FieldError } from './field-errors.ts'

/**
 * core/v1 PodLogOptions, which the OpenAPI document (and so src/api/generated) leaves out: it is
 * only ever a query, never a body.
 */
export interface PodLogOptions {
  container?: string
  follow?: boolean
  previous?: boolean
  /** RFC 3339. */
  sinceTime?: string
  sinceSeconds?: number
  timestamps?: boolean
  tailLines?: number
  limitBytes?: number
  insecureSkipTLSVerifyBackend?: boolean
}

/** A query value that is not of its field's type: the request is a 400 Bad Request. */
export class PodLogQueryError extends Error {
  readonly code = 'BadQuery'
}

/**
 * The options a query holds (only the first value of a repeated parameter counts). As the
 * parameter codec does: a boolean is false only for `0` or `false` (any case), true for any other
 * value; integers are decimal int64; sinceTime is RFC 3339 (empty: unset).
 */
export function podLogOptionsFromQuery(query: URLSearchParams): PodLogOptions {
  const o: PodLogOptions = {}
  const container = query.get('container')
  if (container !== null) o.container = container
  for (const name of ['follow', 'previous', 'timestamps', 'insecureSkipTLSVerifyBackend'] as const) {
    const v = query.get(name)
    if (v !== null) o[name] = !(v === '0' || v.toLowerCase() === 'false')
  }
  for (const name of ['tailLines', 'limitBytes', 'sinceSeconds'] as const) {
    const v = query.get(name)
    if (v !== null) o[name] = parseInt64(v)
  }
  const sinceTime = query.get('sinceTime')
  if (sinceTime !== null && sinceTime !== '' && sinceTime !== 'null') {
    if (Number.isNaN(rfc3339Ms(sinceTime)))
      throw new PodLogQueryError(
        `parsing time ${JSON.stringify(sinceTime)} as "2006-01-02T15:04:05Z07:00": not an RFC 3339 time`,
      )
    o.sinceTime = sinceTime
  }
  return o
}

/** ValidatePodLogOptions: tailLines ≥ 0, limitBytes ≥ 1, sinceSeconds ≥ 1, not both since*. */
export function validatePodLogOptions(o: PodLogOptions): FieldError[] {
  const errors: FieldError[] = []
  if (o.tailLines !== undefined && o.tailLines < 0)
    errors.push(invalid('tailLines', o.tailLines, 'must be greater than or equal to 0'))
  if (o.limitBytes !== undefined && o.limitBytes < 1)
    errors.push(invalid('limitBytes', o.limitBytes, 'must be greater than 0'))
  if (o.sinceSeconds !== undefined && o.sinceTime !== undefined)
    errors.push(forbidden('', 'at most one of `sinceTime` or `sinceSeconds` may be specified'))
  else if (o.sinceSeconds !== undefined && o.sinceSeconds < 1)
    errors.push(invalid('sinceSeconds', o.sinceSeconds, 'must be greater than 0'))
  return errors
}

/** The query that carries the options to the kubelet (all but the container, which is in its path). */
export function podLogQuery(o: PodLogOptions): URLSearchParams {
  const q = new URLSearchParams()
  if (o.follow) q.set('follow', 'true')
  if (o.previous) q.set('previous', 'true')
  if (o.timestamps) q.set('timestamps', 'true')
  if (o.sinceSeconds !== undefined) q.set('sinceSeconds', String(o.sinceSeconds))
  if (o.sinceTime !== undefined) q.set('sinceTime', new Date(rfc3339Ms(o.sinceTime)).toISOString())
  if (o.tailLines !== undefined) q.set('tailLines', String(o.tailLines))
  if (o.limitBytes !== undefined) q.set('limitBytes', String(o.limitBytes))
  return q
}

/** An RFC 3339 time in ms since the epoch; NaN when it is not one. */
export function rfc3339Ms(s: string): number {
  if (!/^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s)) return NaN
  return Date.parse(s)
}

/** strconv.ParseInt(v, 10, 64), with its error. */
function parseInt64(v: string): number {
  if (!/^[+-]?\d+$/.test(v))
    throw new PodLogQueryError(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`)
  const n = BigInt(v)
  if (n > 2n ** 63n - 1n || n < -(2n ** 63n))
    throw new PodLogQueryError(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`)
  return Number(n)
}
