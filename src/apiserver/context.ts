import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
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

/**
 * The context the pipeline makes for each request. A class, so that the signal, made only when
 * asked for, is a getter of the prototype: a getter in an object literal is a new function per
 * object, which gives each object a hidden class of its own, allocated in old space, and that
 * keeps all the request's young objects alive through scavenges until a full collection (a
 * quarter of what a GET allocated was promoted so).
 */
export class ServedContext implements RequestContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly path: string
  readonly query: URLSearchParams
  readonly info: RequestInfo
  readonly user: UserInfo
  readonly auditId: string
  readonly log: Logger
  readonly warnings: string[]
  readonly #signal: () => AbortSignal

  constructor(
    fields: Omit<RequestContext, 'signal'>,
    /** Makes (once) and returns the request's signal. */
    signal: () => AbortSignal,
  ) {
    this.req = fields.req
    this.res = fields.res
    this.path = fields.path
    this.query = fields.query
    this.info = fields.info
    this.user = fields.user
    this.auditId = fields.auditId
    this.log = fields.log
    this.warnings = fields.warnings
    this.#signal = signal
  }

  get signal(): AbortSignal {
    return this.#signal()
  }
}

/** The context of the same request seen as another `info`; its signal is still the request's. */
export function withInfo(ctx: RequestContext, info: RequestInfo): RequestContext {
  return new ServedContext({ ...ctx, info }, () => ctx.signal)
}

/** A handler answers the request (writes the response) or throws an ApiError. */
export type Handler = (ctx: RequestContext) => void | Promise<void>

/** The most a request body may hold, as kube-apiserver's default (3 MiB). */
export const maxRequestBodyBytes = 3 * 1024 * 1024

/**
 * Reads the whole body; refuses with 413 once it passes `limit`. Plain stream events rather than
 * `for await`: every write request reads a body, and the async iterator's machinery cost more
 * than the reading.
 */
export function readBody(req: IncomingMessage, limit = maxRequestBodyBytes): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0')
  if (declared > limit) {
    req.resume()
    return Promise.reject(requestEntityTooLarge(limit))
  }
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (b: Buffer) => {
      size += b.length
      if (size > limit) {
        done()
        req.resume()
        reject(requestEntityTooLarge(limit))
        return
      }
      chunks.push(b)
    }
    const onEnd = () => {
      done()
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks))
    }
    const onError = (err: Error) => {
      done()
      reject(err)
    }
    // The client went away before the body ended.
    const onClose = () => {
      if (req.readableEnded) return
      done()
      reject(new Error('aborted'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
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

/**
 * Writes a JSON answer: an object, bytes already encoded, or the pieces of a large answer (a
 * list: its head, each item's encoding and the commas between) that are never joined into one.
 */
export function writeJson(
  ctx: Pick<RequestContext, 'res' | 'warnings'>,
  code: number,
  body: unknown,
  contentType = 'application/json',
): void {
  const res = ctx.res
  const pieces = body instanceof JsonPieces ? body.pieces : undefined
  const size = pieces ? (body as JsonPieces).size : 0
  if (pieces && size > streamThresholdBytes) {
    streamPieces(res, ctx.warnings, code, pieces, size, contentType)
    return
  }
  const bytes = pieces
    ? Buffer.concat(pieces, size)
    : Buffer.isBuffer(body)
      ? body
      : Buffer.from(JSON.stringify(body))
  if (bytes.length > streamThresholdBytes) {
    streamPieces(res, ctx.warnings, code, [bytes], bytes.length, contentType)
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

/** The pieces of a JSON answer, in order, and their total size. */
export class JsonPieces {
  readonly pieces: readonly Buffer[]
  readonly size: number

  constructor(pieces: readonly Buffer[]) {
    this.pieces = pieces
    let size = 0
    for (const p of pieces) size += p.length
    this.size = size
  }
}

/**
 * A large answer goes out a slice at a time, each when the connection has taken the last, so the
 * event loop serves other requests in between (encrypting 10 MB in one write holds it for a tenth
 * of a second) and the client reads while the rest is made. Gzipped (level 1, as kube-apiserver's
 * APIResponseCompression) for clients that accept it, in chunked encoding; otherwise with its
 * Content-Length.
 */
function streamPieces(
  res: ServerResponse,
  warnings: readonly string[],
  code: number,
  pieces: readonly Buffer[],
  size: number,
  contentType: string,
): void {
  res.statusCode = code
  res.setHeader('Content-Type', contentType)
  setWarnings(res, warnings)
  if (acceptsGzip(res.req?.headers['accept-encoding'])) {
    res.setHeader('Content-Encoding', 'gzip')
    res.setHeader('Vary', 'Accept-Encoding')
    const gzip = createGzip({ level: 1 })
    // A client that leaves mid-answer is no error of ours.
    pipeline(gzip, res).catch(() => undefined)
    writeSlices(gzip, pieces)
    return
  }
  res.setHeader('Content-Length', size)
  writeSlices(res, pieces)
}

/**
 * Slice buffers of streamed answers, kept for the next answer: a fresh 256 KiB buffer per slice
 * (57 for a LIST of 10,000 pods) cost more in allocation and garbage collection than the copying.
 */
const slicePool: Buffer[] = []
const slicePoolSize = 16

/**
 * Writes the pieces to `dest` in slices copied into pooled buffers, the next when `dest` has
 * drained, and ends it. A slice goes back to the pool once its write is done (the socket or the
 * gzip stream no longer reads it); a destination that fails or closes keeps its slices.
 */
function writeSlices(dest: Writable, pieces: readonly Buffer[]): void {
  let i = 0 // the next piece
  let at = 0 // how much of it is written
  const next = (): void => {
    while (i < pieces.length) {
      if (dest.destroyed) return
      const slice = slicePool.pop() ?? Buffer.allocUnsafeSlow(streamSliceBytes)
      let n = 0
      while (n < slice.length && i < pieces.length) {
        const piece = pieces[i] as Buffer
        const copied = piece.copy(slice, n, at)
        n += copied
        at += copied
        if (at === piece.length) {
          i++
          at = 0
        }
      }
      const more = dest.write(slice.subarray(0, n), (err) => {
        if (!err && slicePool.length < slicePoolSize) slicePool.push(slice)
      })
      if (!more) {
        dest.once('drain', next)
        return
      }
    }
    dest.end()
  }
  next()
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
 * Responses larger than this are streamed (see streamPieces) and gzipped for clients that accept
 * it (kubectl does: Go's transport asks for gzip), as kube-apiserver's APIResponseCompression does
 * from 128 KiB: a large LIST then costs a fraction of the TLS work.
 */
export const streamThresholdBytes = 128 * 1024
const streamSliceBytes = 256 * 1024

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
