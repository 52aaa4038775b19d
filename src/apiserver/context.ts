import { ServerResponse, type IncomingMessage } from 'node:http'
import { gzip } from 'node:zlib'
import type { Logger } from 'pino'
import type { UserInfo } from './authn/authenticator.ts'
import { requestEntityTooLarge } from './errors.ts'
import type { RequestInfo } from './request-info.ts'

/** Everything a handler knows about the request it serves. */
export interface RequestContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly path: string
  readonly query: URLSearchParams
  readonly info: RequestInfo
  readonly user: UserInfo
  readonly auditId: string
  readonly log: Logger
  /** Aborts when the client goes away or the request times out. */
  readonly signal: AbortSignal
  /** Warnings for the client, sent as `Warning: 299 - "..."` headers. */
  readonly warnings: string[]
}

/** A handler answers the request (writes the response) or throws an ApiError. */
export type Handler = (ctx: RequestContext) => void | Promise<void>

/** The most a request body may hold, as kube-apiserver's default (3 MiB). */
export const maxRequestBodyBytes = 3 * 1024 * 1024

/** Reads the whole body; refuses with 413 once it passes `limit`. */
export async function readBody(req: IncomingMessage, limit = maxRequestBodyBytes): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0')
  if (declared > limit) {
    req.resume()
    throw requestEntityTooLarge(limit)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const b = chunk as Buffer
    size += b.length
    if (size > limit) {
      req.resume()
      throw requestEntityTooLarge(limit)
    }
    chunks.push(b)
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
}

/** Node's own way of sending a response's headers when the handler did not call writeHead. */
const nodeResponse = ServerResponse.prototype as unknown as { _implicitHeader(this: ServerResponse): void }

/**
 * The apiserver's responses: each carries its request's Audit-Id. Most answers (writeJson) send
 * all their headers in one writeHead, which costs far less than a setHeader per header; any other
 * response gets the Audit-Id added just before its headers go out.
 */
export class ApiResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  auditId = ''

  _implicitHeader(): void {
    if (this.auditId !== '' && !this.hasHeader('Audit-Id')) this.setHeader('Audit-Id', this.auditId)
    nodeResponse._implicitHeader.call(this)
  }
}

/** Writes a JSON answer (an object, or bytes already encoded). */
export function writeJson(
  ctx: Pick<RequestContext, 'res' | 'warnings'>,
  code: number,
  body: unknown,
  contentType = 'application/json',
): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body))
  const res = ctx.res
  if (bytes.length > gzipThresholdBytes && acceptsGzip(res.req?.headers['accept-encoding'])) {
    // Compressed off the event loop (zlib's thread pool): a large LIST does not hold up other requests.
    gzip(bytes, { level: 1 }, (err, zipped) => {
      // The request may have timed out (its 504 is out) or the client gone while this compressed.
      if (res.destroyed || res.headersSent) return
      if (err) return writeBytes(res, ctx.warnings, code, bytes, contentType)
      res.setHeader('Content-Encoding', 'gzip')
      res.setHeader('Vary', 'Accept-Encoding')
      writeBytes(res, ctx.warnings, code, zipped, contentType)
    })
    return
  }
  if (res instanceof ApiResponse && ctx.warnings.length === 0 && res.getHeaderNames().length === 0) {
    res.writeHead(code, [
      'Audit-Id',
      res.auditId,
      'Content-Type',
      contentType,
      'Content-Length',
      String(bytes.length),
    ])
    res.end(bytes)
    return
  }
  writeBytes(res, ctx.warnings, code, bytes, contentType)
}

function writeBytes(
  res: ServerResponse,
  warnings: readonly string[],
  code: number,
  bytes: Buffer,
  contentType: string,
): void {
  res.statusCode = code
  res.setHeader('Content-Type', contentType)
  res.setHeader('Content-Length', bytes.length)
  setWarnings(res, warnings)
  res.end(bytes)
}

/**
 * Responses larger than this are gzipped for clients that accept it (kubectl does: Go's transport
 * asks for gzip), as kube-apiserver's APIResponseCompression does, at its level 1: a large LIST
 * then costs a fraction of the TLS work.
 */
export const gzipThresholdBytes = 128 * 1024

/** Whether an Accept-Encoding header accepts gzip (listed, or '*', without q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase())
    if (name !== 'gzip' && name !== '*') continue
    const q = params.find((p) => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  }
  return false
}

export function setWarnings(res: ServerResponse, warnings: readonly string[]): void {
  if (warnings.length === 0 || res.headersSent) return
  res.setHeader(
    'Warning',
    [...new Set(warnings)].map((w) => `299 - ${JSON.stringify(w)}`),
  )
}
