import type { RequestContext } from '../context.ts'
import type { ApiError } from '../errors.ts'
import type { CacheEvent, CachedObject, WatchSink } from '../registry/watch-cache.ts'

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
  /** The events, read one by one... */
  events?: AsyncIterable<CacheEvent>
  /** ...or pushed as they happen (the cache's subscribe), which costs far less per watcher. */
  subscribe?: (sink: WatchSink) => void
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
  // Events go to the socket as ready-made HTTP chunks: the response object would frame, cork and
  // copy each one again, and with a thousand watchers per event that is most of the cost. The
  // response still ends the stream (its terminating chunk) when the watch is over.
  //
  // The events of one tick (one store commit, or several) go out in one write: the socket is
  // corked at the first and uncorked once the tick's work is done, so that a watcher of a busy
  // resource costs one TLS record and one system call per tick, not one per event. One flag, so
  // that each cork has exactly one uncork.
  const socket = res.socket
  let corked = false
  const uncork = () => {
    corked = false
    socket?.uncork()
  }
  const send = (chunk: Buffer): boolean => {
    if (!socket || socket.destroyed) return false
    if (!corked) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    return socket.write(chunk)
  }
  let first = true
  // Plain JSON watchers of one event all send the same chunk: it is built once, for the first.
  const event = (type: WatchEventType, c: CachedObject): Buffer => {
    if (o.render) {
      const b = o.render(c, first)
      first = false
      return eventChunk(type, b)
    }
    return sharedChunk(type, c)
  }
  const write = (type: WatchEventType, c: CachedObject): boolean => send(event(type, c))
  /** Sends what the watcher sees of one event; false when the socket's buffer is full. */
  const deliver = (e: CacheEvent): boolean => {
    switch (e.type) {
      case 'BOOKMARK':
        if (!o.bookmarks) return true
        return send(
          frame(
            Buffer.from(
              `{"type":"BOOKMARK","object":${JSON.stringify({ kind: o.kind, apiVersion: o.apiVersion, metadata: { resourceVersion: String(e.revision) } })}}\n`,
            ),
          ),
        )
      case 'ADDED':
        return o.matches(e.current) ? write('ADDED', e.current) : true
      case 'MODIFIED': {
        const now = o.matches(e.current)
        const before = o.matches(e.previous)
        if (now && before) return write('MODIFIED', e.current)
        if (now) return write('ADDED', e.current)
        // It left the watcher's view: DELETED, with its previous content at this revision.
        if (before) return write('DELETED', atRevision(e.previous, e.revision))
        return true
      }
      case 'DELETED':
        return o.matches(e.previous) ? write('DELETED', e.previous) : true
    }
  }

  if (o.subscribe) {
    const subscribe = o.subscribe
    // Events are pushed as they happen; a reader whose socket holds more than this much unsent
    // is too slow, and its watch ends (it resumes from the last revision it saw).
    const maxBuffered = 16 * 1024 * 1024
    await new Promise<void>((resolve) => {
      let over = false
      const finish = () => {
        if (over) return
        over = true
        clearTimeout(timer)
        ctx.signal.removeEventListener('abort', finish)
        resolve()
      }
      const timer = setTimeout(finish, o.timeoutMs)
      ctx.signal.addEventListener('abort', finish, { once: true })
      for (const c of o.initial ?? []) if (o.matches(c)) write('ADDED', c)
      subscribe({
        event: (e) => {
          if (over || !socket || socket.destroyed) return true
          deliver(e)
          return socket.writableLength <= maxBuffered
        },
        end: finish,
      })
    })
    if (!res.destroyed) res.end()
    return
  }

  const events = o.events
  if (!events) throw new Error('streamWatch needs events or subscribe')
  const iterator = events[Symbol.asyncIterator]()
  // Ending the iterator (client gone, timeoutSeconds reached) makes its pending next() finish.
  let stopped = false
  let wakeDrain: (() => void) | undefined
  const stop = () => {
    stopped = true
    wakeDrain?.()
    void iterator.return?.()
  }
  ctx.signal.addEventListener('abort', stop, { once: true })
  const timer = setTimeout(stop, o.timeoutMs)
  try {
    for (const c of o.initial ?? []) if (o.matches(c)) write('ADDED', c)
    for (;;) {
      const r = await iterator.next()
      if (r.done || stopped) break
      if (!deliver(r.value))
        await new Promise<void>((resolve) => {
          wakeDrain = resolve
          if (socket && !socket.destroyed) socket.once('drain', resolve)
          else resolve()
        })
      if (!socket || socket.destroyed) break
      wakeDrain = undefined
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

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'

const closeLine = Buffer.from('}\n')
const openLine: Record<WatchEventType, Buffer> = {
  ADDED: Buffer.from('{"type":"ADDED","object":'),
  MODIFIED: Buffer.from('{"type":"MODIFIED","object":'),
  DELETED: Buffer.from('{"type":"DELETED","object":'),
}
/**
 * The chunks of the objects sent last, oldest first. A chunk is shared by the watchers that send
 * its event, all within one dispatch (or one list of a new watch's initial state), so only the
 * last few are kept: kept as long as their objects, they were a second copy of every watched
 * object's JSON (150 MB in bench sim's cluster).
 */
const chunks = new Map<CachedObject, Partial<Record<WatchEventType, Buffer>>>()
const maxChunkedObjects = 1024

/** The watch event of an object as an HTTP chunk, encoded once and shared by every watcher that sends it. */
function sharedChunk(type: WatchEventType, c: CachedObject): Buffer {
  let byType = chunks.get(c)
  if (!byType) {
    chunks.set(c, (byType = {}))
    if (chunks.size > maxChunkedObjects) chunks.delete(chunks.keys().next().value as CachedObject)
  }
  let chunk = byType[type]
  if (!chunk) byType[type] = chunk = eventChunk(type, c.json)
  return chunk
}

/**
 * A watch event of the object's JSON as one HTTP/1.1 chunk, copied once, into memory of its own
 * (see ownedBytes): it outlives the request whose write made the event.
 */
function eventChunk(type: WatchEventType, json: Buffer): Buffer {
  const open = openLine[type]
  const size = open.length + json.length + closeLine.length
  const head = Buffer.from(`${size.toString(16)}\r\n`)
  const chunk = Buffer.allocUnsafeSlow(head.length + size + crlf.length)
  let at = 0
  for (const part of [head, open, json, closeLine, crlf]) at += part.copy(chunk, at)
  return chunk
}

/** One HTTP/1.1 chunk: its size in hex, CRLF, the bytes, CRLF. */
function frame(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, crlf])
}

const crlf = Buffer.from('\r\n')

function atRevision(o: CachedObject, rev: number): CachedObject {
  const object = structuredClone(o.object) as CachedObject['object'] & {
    metadata: { resourceVersion?: string }
  }
  object.metadata.resourceVersion = String(rev)
  return { ...o, revision: rev, object, json: Buffer.from(JSON.stringify(object)) }
}
