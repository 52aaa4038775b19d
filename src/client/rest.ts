import { Pool } from 'undici'
import type { Status } from '../api/generated/types/meta-v1.ts'
import { realClock, type Clock } from '../base/clock.ts'
import type { ClientConfig } from './config.ts'
import { ApiStatusError, statusFromBody, TransportError } from './errors.ts'
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

/**
 * HTTPS to one apiserver, as client-go's RESTClient: JSON in and out, keep-alive connections
 * (a watch holds one of its own while it lasts), the client-side rate limit of the config, and
 * every failure answer turned into an ApiStatusError carrying its Status.
 */
export class RestClient {
  readonly config: ClientConfig
  readonly #pool: Pool
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
    this.#pool = new Pool(origin, {
      connect: {
        ...(config.ca ? { ca: config.ca } : {}),
        ...(config.cert ? { cert: config.cert } : {}),
        ...(config.key ? { key: config.key } : {}),
        rejectUnauthorized: !config.insecureSkipTLSVerify,
      },
      keepAliveTimeout: 30_000,
    })
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
    await this.#limiter?.take(o.signal)
    const body =
      o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body)
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
    let text: string
    try {
      text = await res.body.text()
    } catch (err) {
      throw transportError(err, method, path)
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw new ApiStatusError(statusFromBody(res.statusCode, text), res.statusCode)
    }
    try {
      return JSON.parse(text) as T
    } catch {
      throw new TransportError(`${method} ${path}: the answer is not JSON`)
    }
  }

  /**
   * A watch: the events as they arrive, until the server ends the watch (timeoutSeconds), the
   * signal aborts, or the connection fails (a TransportError). A watch the apiserver refuses
   * outright rejects with its Status; one that starts and then fails sends an ERROR event.
   */
  async *watch<T>(path: string, query: Query, signal?: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    await this.#limiter?.take(signal)
    let res
    try {
      res = await this.#pool.request({
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
    let rest = ''
    try {
      for await (const chunk of res.body) {
        rest += (chunk as Buffer).toString('utf8')
        let nl = rest.indexOf('\n')
        while (nl >= 0) {
          const line = rest.slice(0, nl)
          rest = rest.slice(nl + 1)
          if (line.trim() !== '') yield parseEvent<T>(line, path)
          nl = rest.indexOf('\n')
        }
      }
    } catch (err) {
      if (signal?.aborted) return
      throw transportError(err, 'GET', path)
    } finally {
      res.body.destroy()
    }
    if (rest.trim() !== '' && !signal?.aborted) yield parseEvent<T>(rest, path)
  }

  async close(): Promise<void> {
    await this.#pool.close()
  }
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
