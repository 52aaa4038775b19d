import { setTimeout as delay } from 'node:timers/promises'
import type { Socket } from 'node:net'
import { Pool } from 'undici'
import type { Status } from '../api/generated/types/meta-v1.ts'
import { realClock, type Clock } from '../base/clock.ts'
import { jsonStringEnd } from '../base/json-text.ts'
import type { ClientConfig } from './config.ts'
import { ApiStatusError, statusFromBody, TransportError } from './errors.ts'
import { connectInProcess } from './in-process.ts'
import { TokenBucket } from './token-bucket.ts'

export type Query = Readonly<Record<string, string | number | boolean | undefined>>

export interface RequestOptions {
  query?: Query
  /** Sent as JSON (or as is, when a string). */
  body?: unknown
  /** Default application/json; patches name their type here. */
  contentType?: string
  signal?: AbortSignal
}

/** One event of a watch, as the apiserver streams them (newline-delimited JSON). */
export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  | { type: 'BOOKMARK'; object: { metadata: { resourceVersion: string } } }
  | { type: 'ERROR'; object: Status }

/** How often a request answered 429 (or 5xx) with a Retry-After is tried again, as client-go. */
const maxRetries = 10

/**
 * HTTPS to one apiserver, as client-go's RESTClient: JSON in and out, a bounded set of keep-alive
 * connections for requests (watches hold one each, apart, while they last), the client-side rate
 * limit of the config, requests the apiserver asks to retry (429 or 5xx with Retry-After) tried
 * again after the time it names, and every failure answer turned into an ApiStatusError carrying
 * its Status.
 */
export class RestClient {
  readonly config: ClientConfig
  readonly #pool: Pool
  readonly #watchPool: Pool
  readonly #limiter: TokenBucket | undefined
  readonly #headers: Record<string, string>
  readonly #timeoutMs: number

  constructor(config: ClientConfig, o: { clock?: Clock } = {}) {
    this.config = config
    let origin: string
    try {
      origin = new URL(config.server).origin
    } catch {
      throw new TransportError(`the server address ${JSON.stringify(config.server)} is not a URL`)
    }
    const listener = config.inProcess
    const connect: Pool.Options['connect'] = listener
      ? // undici expects the socket after the call returns, not during it.
        (_options, done) => {
          const socket = connectInProcess(listener, config)
          process.nextTick(() => done(null, socket as unknown as Socket))
        }
      : {
          ...(config.ca ? { ca: config.ca } : {}),
          ...(config.cert ? { cert: config.cert } : {}),
          ...(config.key ? { key: config.key } : {}),
          rejectUnauthorized: !config.insecureSkipTLSVerify,
        }
    this.#pool = new Pool(origin, {
      connect,
      connections: Math.max(1, config.maxConnections ?? 32),
      keepAliveTimeout: 30_000,
    })
    this.#watchPool = new Pool(origin, { connect, keepAliveTimeout: 30_000 })
    this.#limiter =
      config.qps !== undefined && config.qps > 0
        ? new TokenBucket(config.qps, Math.max(1, config.burst ?? config.qps), o.clock ?? realClock)
        : undefined
    this.#headers = {
      accept: 'application/json',
      'user-agent': config.userAgent ?? 'k8ts',
      ...(config.token ? { authorization: `Bearer ${config.token}` } : {}),
    }
    this.#timeoutMs = config.timeoutMs ?? 60_000
  }

  /** One request; resolves to the decoded answer, or rejects with its Status. */
  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    return (await this.exchange(method, path, o, true)) as T
  }

  /**
   * A request whose caller reads nothing of a successful answer (a write it only needs done): the
   * answer is read off the connection but not decoded. Failures reject as request's do.
   */
  async send(method: string, path: string, o: RequestOptions = {}): Promise<void> {
    await this.exchange(method, path, o, false)
  }

  /**
   * What request and send do: the answer decoded, or (`decode` false) not. A client that sends
   * requests another way (with other credentials) overrides this, and both go its way.
   */
  protected async exchange(
    method: string,
    path: string,
    o: RequestOptions,
    decode: boolean,
  ): Promise<unknown> {
    const body =
      o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body)
    let statusCode: number
    let text: string
    for (let attempt = 0; ; attempt++) {
      await this.#limiter?.take(o.signal)
      let res
      try {
        res = await this.#pool.request({
          method: method,
          path: pathWithQuery(path, o.query),
          headers: {
            ...this.#headers,
            ...(body !== undefined ? { 'content-type': o.contentType ?? 'application/json' } : {}),
          },
          ...(body !== undefined ? { body } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
        })
      } catch (err) {
        throw transportError(err, method, path)
      }
      statusCode = res.statusCode
      try {
        if (!decode && statusCode >= 200 && statusCode <= 299) {
          // Read to the end without a reader of the chunks (an async iterator cost a promise per
          // chunk): a few microseconds less per write, of which the kubelets send thousands a second.
          await res.body.dump({ limit: Number.MAX_SAFE_INTEGER, ...(o.signal ? { signal: o.signal } : {}) })
          return undefined
        }
        text = await res.body.text()
      } catch (err) {
        throw transportError(err, method, path)
      }
      const wait = attempt < maxRetries ? retryAfterSeconds(statusCode, res.headers) : undefined
      if (wait === undefined) break
      try {
        await delay(wait * 1000, undefined, o.signal ? { signal: o.signal } : {})
      } catch (err) {
        throw transportError(err, method, path)
      }
    }
    if (statusCode < 200 || statusCode > 299) {
      throw new ApiStatusError(statusFromBody(statusCode, text), statusCode)
    }
    try {
      return JSON.parse(text)
    } catch {
      throw new TransportError(`${method} ${path}: the answer is not JSON`)
    }
  }

  /**
   * A watch: the events as they arrive, until the server ends the watch (timeoutSeconds), the
   * signal aborts, or the connection fails (a TransportError). A watch the apiserver refuses
   * outright rejects with its Status; one that starts and then fails sends an ERROR event.
   */
  async *watch<T>(
    path: string,
    query: Query,
    signal?: AbortSignal,
    o: { withoutManagedFields?: boolean } = {},
  ): AsyncGenerator<WatchEvent<T>> {
    const decode = o.withoutManagedFields
      ? (line: string) => parseEvent<T>(withoutManagedFieldsText(line), path)
      : (line: string) => parseEvent<T>(line, path)
    await this.#limiter?.take(signal)
    let res
    try {
      res = await this.#watchPool.request({
        method: 'GET',
        path: pathWithQuery(path, { ...query, watch: true }),
        headers: this.#headers,
        ...(signal ? { signal } : {}),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: 0,
      })
    } catch (err) {
      throw transportError(err, 'GET', path)
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '')
      throw new ApiStatusError(statusFromBody(res.statusCode, text), res.statusCode)
    }
    // Lines are found in the bytes and each is decoded once, whole: a chunk may end inside an
    // event, and inside a character of it. `pending` holds the start of a line not ended yet.
    let pending: Buffer[] = []
    try {
      for await (const chunk of res.body) {
        const buf = chunk as Buffer
        let start = 0
        for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
          let line: string
          if (pending.length === 0) line = buf.toString('utf8', start, nl)
          else {
            pending.push(buf.subarray(start, nl))
            line = Buffer.concat(pending).toString('utf8')
            pending = []
          }
          start = nl + 1
          if (line.trim() !== '') yield decode(line)
        }
        if (start < buf.length) pending.push(start === 0 ? buf : buf.subarray(start))
      }
    } catch (err) {
      if (signal?.aborted) return
      throw transportError(err, 'GET', path)
    } finally {
      res.body.destroy()
    }
    const last = Buffer.concat(pending).toString('utf8')
    if (last.trim() !== '' && !signal?.aborted) yield decode(last)
  }

  async close(): Promise<void> {
    await Promise.all([this.#pool.close(), this.#watchPool.close()])
  }
}

/**
 * The seconds to wait before trying again, when the apiserver asks for it: client-go retries an
 * answer of 429 or 5xx that carries a Retry-After of whole seconds (a 429 without one, such as an
 * eviction refused by a disruption budget, is the caller's to handle).
 */
function retryAfterSeconds(
  statusCode: number,
  headers: Record<string, string | string[] | undefined>,
): number | undefined {
  if (statusCode !== 429 && statusCode < 500) return undefined
  const h = headers['retry-after']
  const v = Array.isArray(h) ? h[0] : h
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined
  const s = Number(v.trim())
  return s >= 1 ? s : undefined
}

/**
 * A watch event's line without its object's metadata.managedFields, for clients that drop them
 * anyway (informers of pods and nodes): they are a third or more of the text, and the most objects
 * to decode. The member is taken out only where it is sure to be that one: the first
 * `"managedFields":[` in the text, a key (not inside a string) at the depth of the object's
 * metadata (event, object, metadata); anything else leaves the line as it is.
 */
export function withoutManagedFieldsText(line: string): string {
  const key = '"managedFields":['
  const at = line.indexOf(key)
  if (at < 0) return line
  let depth = 0
  let i = 0
  while (i < at) {
    const c = line.charCodeAt(i)
    if (c === 34) {
      const end = jsonStringEnd(line, i)
      if (end < 0) return line
      i = end + 1
    } else {
      if (c === 123 || c === 91) depth++
      else if (c === 125 || c === 93) depth--
      i++
    }
  }
  if (i !== at || depth !== 3) return line
  // From the list's '[' to its matching ']'.
  let open = 0
  for (i = at + key.length - 1; i < line.length;) {
    const c = line.charCodeAt(i)
    if (c === 34) {
      const end = jsonStringEnd(line, i)
      if (end < 0) return line
      i = end + 1
      continue
    }
    if (c === 123 || c === 91) open++
    else if ((c === 125 || c === 93) && --open === 0) break
    i++
  }
  if (open !== 0) return line
  const end = i + 1
  // The member goes with one of the commas around it.
  if (line.charCodeAt(at - 1) === 44) return line.slice(0, at - 1) + line.slice(end)
  return line.slice(0, at) + line.slice(line.charCodeAt(end) === 44 ? end + 1 : end)
}

function parseEvent<T>(line: string, path: string): WatchEvent<T> {
  let e: unknown
  try {
    e = JSON.parse(line)
  } catch {
    throw new TransportError(`watch ${path}: an event is not JSON`)
  }
  const type = (e as { type?: unknown }).type
  const object = (e as { object?: unknown }).object
  if (
    (type === 'ADDED' ||
      type === 'MODIFIED' ||
      type === 'DELETED' ||
      type === 'BOOKMARK' ||
      type === 'ERROR') &&
    object !== null &&
    typeof object === 'object'
  ) {
    return e as WatchEvent<T>
  }
  throw new TransportError(`watch ${path}: an event has no type or object`)
}

function pathWithQuery(path: string, query: Query | undefined): string {
  if (!query) return path
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s === '' ? path : `${path}?${s}`
}

function transportError(err: unknown, method: string, path: string): Error {
  if (err instanceof Error && err.name === 'AbortError') return err
  const message = err instanceof Error ? err.message : String(err)
  return new TransportError(`${method} ${path}: ${message}`, { cause: err })
}
