import type { RequestContext } from '../context.ts'
import type { ApiError } from '../errors.ts'
import type { CacheEvent, CachedObject } from '../registry/watch-cache.ts'

/**
 * A watch response: status 200, headers flushed at once (kubectl blocks until it sees them),
 * then one JSON object per line: `{"type":"ADDED","object":{...}}`. Objects are the cache's
 * shared JSON bytes, so a thousand watchers of one event cost one encoding, not a thousand.
 *
 * Filtering follows Kubernetes: a MODIFIED object that stops matching the watcher's selectors
 * is sent as DELETED, one that starts matching as ADDED.
 */
export interface WatchStreamOptions {
  /** Initial state to send as ADDED first (watch from resourceVersion "" or "0"). */
  initial?: readonly CachedObject[]
  events: AsyncIterable<CacheEvent>
  matches: (o: CachedObject) => boolean
  bookmarks: boolean
  /** kind and apiVersion for bookmark objects. */
  kind: string
  apiVersion: string
  /** Ends the watch after this many milliseconds (timeoutSeconds). */
  timeoutMs: number
  /** Turns an event object into what is sent instead of the raw object (Tables). */
  render?: (o: CachedObject, first: boolean) => Buffer
}

export async function streamWatch(ctx: RequestContext, o: WatchStreamOptions): Promise<void> {
  const res = ctx.res
  res.statusCode = 200
  res.setHeader('Content-Type', 'application/json')
  res.setHeader('Transfer-Encoding', 'chunked')
  res.setHeader('Cache-Control', 'no-cache, private')
  res.flushHeaders()
  let first = true
  const body = (c: CachedObject): Buffer => {
    const b = o.render ? o.render(c, first) : c.json
    first = false
    return b
  }
  const write = (type: string, object: Buffer): boolean =>
    res.write(Buffer.concat([Buffer.from(`{"type":"${type}","object":`), object, closeLine]))

  const ac = new AbortController()
  const stop = () => ac.abort()
  ctx.signal.addEventListener('abort', stop, { once: true })
  const timer = setTimeout(stop, o.timeoutMs)
  try {
    for (const c of o.initial ?? []) if (o.matches(c)) write('ADDED', body(c))
    const iterator = o.events[Symbol.asyncIterator]()
    const aborted = new Promise<IteratorResult<CacheEvent>>((resolve) =>
      ac.signal.addEventListener('abort', () => resolve({ done: true, value: undefined }), { once: true }),
    )
    for (;;) {
      const r = await Promise.race([iterator.next(), aborted])
      if (r.done) {
        await iterator.return?.()
        break
      }
      const e = r.value
      let ok = true
      switch (e.type) {
        case 'BOOKMARK':
          if (o.bookmarks) {
            ok = write(
              'BOOKMARK',
              Buffer.from(
                JSON.stringify({
                  kind: o.kind,
                  apiVersion: o.apiVersion,
                  metadata: { resourceVersion: String(e.revision) },
                }),
              ),
            )
          }
          break
        case 'ADDED':
          if (o.matches(e.current)) ok = write('ADDED', body(e.current))
          break
        case 'MODIFIED': {
          const now = o.matches(e.current)
          const before = o.matches(e.previous)
          if (now && before) ok = write('MODIFIED', body(e.current))
          else if (now) ok = write('ADDED', body(e.current))
          // It left the watcher's view: DELETED, with its previous content at this revision.
          else if (before) ok = write('DELETED', body(atRevision(e.previous, e.revision)))
          break
        }
        case 'DELETED':
          if (o.matches(e.previous)) ok = write('DELETED', body(e.previous))
          break
      }
      if (!ok)
        await new Promise<void>((resolve) => {
          const done = () => resolve()
          res.once('drain', done)
          ac.signal.addEventListener('abort', done, { once: true })
        })
    }
  } finally {
    clearTimeout(timer)
    ctx.signal.removeEventListener('abort', stop)
    if (!res.destroyed) res.end()
  }
}

/** A watch that cannot start (its resourceVersion is too old): 200 and one ERROR event, as kubectl expects. */
export function watchError(ctx: RequestContext, err: ApiError): void {
  const res = ctx.res
  res.statusCode = 200
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify({ type: 'ERROR', object: err.status }) + '\n')
}

const closeLine = Buffer.from('}\n')

function atRevision(o: CachedObject, rev: number): CachedObject {
  const object = structuredClone(o.object) as CachedObject['object'] & {
    metadata: { resourceVersion?: string }
  }
  object.metadata.resourceVersion = String(rev)
  return { ...o, revision: rev, object, json: Buffer.from(JSON.stringify(object)) }
}
