import type { Logger } from 'pino'
import { deepFreeze, type StoredObject } from '../../api/object.ts'
import { isStorageError, revision, type Storage, type WatchEvent } from '../../storage/index.ts'

/**
 * The apiserver's in-memory copy of one resource, fed by a single store watch, as
 * kube-apiserver's cacher: reads (get, list, watch) are answered from it, writes go to the store
 * and come back through the watch.
 *
 *   start: list the prefix at revision R ─▶ watch from R ─▶ every event: update the map,
 *          append to the event window, hand it to the cache's watchers
 *
 * Every object is decoded and encoded once, when its event arrives: the parsed object (with
 * metadata.resourceVersion set to its revision) and its JSON bytes are shared by every reader.
 * They must not be changed; copy before modifying. Once a newer version replaces an object, the
 * old one keeps only its JSON (the event window still holds it), and is decoded again if asked for.
 *
 * The window keeps the latest events (`windowCapacity`), so a client can resume a watch from any
 * revision after `windowStart`; older ones get 410 Expired and list again, as with the real
 * apiserver. A cache watcher that stops reading (more than `maxPending` events queued) is ended,
 * and its client resumes from the last revision it saw.
 */
export interface CachedObject {
  readonly key: string
  readonly namespace: string
  readonly name: string
  readonly revision: number
  readonly object: Readonly<StoredObject>
  /** The object as JSON, resourceVersion included. */
  readonly json: Buffer
  /** metadata.labels, kept beside the JSON for label selectors (the cache's entries have them). */
  readonly labels?: Readonly<Record<string, string>>
}

export type CacheEvent =
  | { readonly type: 'ADDED'; readonly revision: number; readonly current: CachedObject }
  | {
      readonly type: 'MODIFIED'
      readonly revision: number
      readonly current: CachedObject
      readonly previous: CachedObject
    }
  | { readonly type: 'DELETED'; readonly revision: number; readonly previous: CachedObject }
  | { readonly type: 'BOOKMARK'; readonly revision: number }

/**
 * Current objects whose decoded form the cache keeps, the most recently written or decoded again;
 * the others keep their JSON (and labels) only, and are decoded again when something reads them.
 * Decoded, every object was kept: three quarters of the apiserver's JS heap in bench sim, marked
 * by every full collection.
 */
const defaultDecodedObjects = 4096

export interface WatchCacheOptions {
  storage: Storage
  /** The store prefix of the resource, ending in '/': keys are prefix + [namespace '/'] + name. */
  prefix: string
  namespaced: boolean
  /** Bytes from the store to an object; throwing skips the key (logged). */
  decode: (bytes: Uint8Array) => StoredObject
  /**
   * The object a write of this process stored as these bytes, at `revision`, already encoded, if
   * the writer still has it: the cache then takes it as is instead of decoding the bytes again.
   */
  written?: (bytes: Uint8Array, revision: number) => { object: StoredObject; json: Buffer } | undefined
  log: Logger
  windowCapacity?: number
  maxPending?: number
  /** How many current objects keep their decoded form (defaultDecodedObjects). */
  decodedObjects?: number
}

export class WatchCache {
  readonly prefix: string
  readonly #storage: Storage
  readonly #namespaced: boolean
  readonly #decode: (bytes: Uint8Array) => StoredObject
  readonly #written: WatchCacheOptions['written']
  readonly #log: Logger
  readonly #capacity: number
  readonly #maxPending: number
  readonly #maxDecoded: number
  /** The current entries holding their decoded form, oldest use first. */
  readonly #decoded = new Map<CacheEntry, true>()
  readonly #onDecoded = (e: CacheEntry): void => this.#keepDecoded(e)
  readonly #objects = new Map<string, CacheEntry>()
  /** Keys in order, rebuilt lazily after a key is added or removed. */
  #sortedKeys: string[] | undefined
  #window: CacheEvent[] = []
  #windowHead = 0
  #windowStart = 0
  #revision = 0
  #ready: Promise<void> | undefined
  #loaded = false
  #waiters: { revision: number; resolve: () => void }[] = []
  readonly #watchers = new Set<CacheWatcher>()
  readonly #stop = new AbortController()

  constructor(options: WatchCacheOptions) {
    this.prefix = options.prefix
    this.#storage = options.storage
    this.#namespaced = options.namespaced
    this.#decode = options.decode
    this.#written = options.written
    this.#log = options.log
    this.#capacity = options.windowCapacity ?? 10_000
    this.#maxPending = options.maxPending ?? 10_000
    this.#maxDecoded = options.decodedObjects ?? defaultDecodedObjects
  }

  /** The newest revision the cache reflects. */
  get revision(): number {
    return this.#revision
  }

  /** Watches may resume from any revision at or after this one. */
  get windowStart(): number {
    return this.#windowStart
  }

  get size(): number {
    return this.#objects.size
  }

  /** Whether start() was called: the cache is loading, or follows the store. */
  get started(): boolean {
    return this.#ready !== undefined
  }

  /** Loads the resource and starts following it; resolves when the first list is in. */
  start(): Promise<void> {
    this.#ready ??= this.#load().then(() => {
      void this.#follow()
    })
    return this.#ready
  }

  stop(): void {
    this.#stop.abort()
    for (const w of this.#watchers) w.end()
    this.#watchers.clear()
  }

  get(key: string): CachedObject | undefined {
    return this.#objects.get(key)
  }

  /** The objects in key order, all of them or those of one namespace. */
  list(namespace?: string): CachedObject[] {
    const keys = this.#keys()
    if (namespace === undefined || namespace === '' || !this.#namespaced) {
      return keys.map((k) => this.#objects.get(k)).filter((o) => o !== undefined)
    }
    const start = `${this.prefix}${namespace}/`
    const out: CachedObject[] = []
    for (let i = lowerBound(keys, start); i < keys.length; i++) {
      const k = keys[i] ?? ''
      if (!k.startsWith(start)) break
      const o = this.#objects.get(k)
      if (o) out.push(o)
    }
    return out
  }

  /** The store key of an object. */
  keyFor(namespace: string, name: string): string {
    return this.#namespaced ? `${this.prefix}${namespace}/${name}` : `${this.prefix}${name}`
  }

  /**
   * Waits until the cache reflects every write that happened before the call, when the store can
   * tell (Storage.requestProgress); resolves to false when it cannot, or does not within
   * `timeoutMs`, and the caller reads the store instead.
   */
  async catchUp(timeoutMs = 3000): Promise<boolean> {
    await this.start()
    if (!this.#storage.requestProgress) return false
    const target = await this.#storage.currentRevision()
    if (this.#revision >= target) return true
    await this.#storage.requestProgress()
    return this.waitFor(target, timeoutMs)
  }

  /**
   * Whether the cache is known, right now and without waiting, to reflect every write the store
   * has acknowledged (a local store tells its revision at once); false when it cannot tell.
   */
  isCurrent(): boolean {
    if (!this.#loaded || !this.#storage.currentRevisionSync) return false
    return this.#revision >= this.#storage.currentRevisionSync()
  }

  /** Resolves true once the cache is at `rev` or newer, false after `timeoutMs`. */
  waitFor(rev: number, timeoutMs: number): Promise<boolean> {
    if (this.#revision >= rev) return Promise.resolve(true)
    return new Promise((resolve) => {
      const waiter = { revision: rev, resolve: () => resolve(true) }
      this.#waiters.push(waiter)
      setTimeout(() => {
        const i = this.#waiters.indexOf(waiter)
        if (i >= 0) {
          this.#waiters.splice(i, 1)
          resolve(false)
        }
      }, timeoutMs).unref()
    })
  }

  /**
   * The events after revision `after`, then live ones, until the signal aborts or the cache ends
   * the watcher (it fell behind, or the cache restarted): the iteration then simply finishes and
   * the client resumes from the last revision it saw. Returns undefined when `after` is older than
   * the window (the caller answers 410 Expired).
   */
  watch(after: number, signal: AbortSignal): AsyncIterable<CacheEvent> | undefined {
    if (after < this.#windowStart) return undefined
    const w = new CacheWatcher(this.#maxPending)
    for (let i = this.#windowHead; i < this.#window.length; i++) {
      const e = this.#window[i]
      if (e && e.revision > after) w.push(e)
    }
    this.#watchers.add(w)
    const onAbort = () => w.end()
    signal.addEventListener('abort', onAbort, { once: true })
    const cleanup = () => {
      signal.removeEventListener('abort', onAbort)
      this.#watchers.delete(w)
    }
    return w.iterable(cleanup)
  }

  /**
   * The same events pushed to `sink` as they happen, synchronously, with no queue and no promise
   * per watcher: what a thousand watchers of one event cost is then little more than their socket
   * writes. The backlog after `after` is pushed at once. `sink.event` answers false when its
   * reader cannot keep up; the cache then ends it, as it does when it restarts (`sink.end`).
   * Returns false when `after` is older than the window (the caller answers 410 Expired).
   */
  subscribe(after: number, signal: AbortSignal, sink: WatchSink): boolean {
    if (after < this.#windowStart) return false
    const w = new CacheWatcher(this.#maxPending, sink)
    this.#watchers.add(w)
    signal.addEventListener(
      'abort',
      () => {
        this.#watchers.delete(w)
        w.detach()
      },
      { once: true },
    )
    for (let i = this.#windowHead; i < this.#window.length; i++) {
      const e = this.#window[i]
      if (e && e.revision > after && !w.push(e)) {
        this.#watchers.delete(w)
        w.end()
        break
      }
    }
    return true
  }

  // --- feeding ---------------------------------------------------------------------------------

  async #load(): Promise<void> {
    const objects = new Map<string, CacheEntry>()
    let startKey: string | undefined
    let at: ReturnType<typeof revision> | undefined
    for (;;) {
      const page = await this.#storage.list(this.prefix, {
        limit: 5000,
        ...(startKey !== undefined ? { startKey } : {}),
        ...(at !== undefined ? { revision: at } : {}),
      })
      at = page.revision
      for (const kv of page.items) {
        const o = this.#cached(kv.key, kv.value, kv.modRevision)
        if (o) objects.set(kv.key, o)
      }
      if (!page.more) break
      startKey = (page.items.at(-1)?.key ?? '') + '\0'
    }
    this.#objects.clear()
    this.#decoded.clear()
    for (const [k, v] of objects) {
      this.#objects.set(k, v)
      this.#keepDecoded(v)
    }
    this.#sortedKeys = undefined
    this.#window = []
    this.#windowHead = 0
    this.#revision = at ?? 0
    this.#windowStart = this.#revision
    this.#loaded = true
    this.#wakeWaiters()
  }

  async #follow(): Promise<void> {
    const signal = this.#stop.signal
    while (!signal.aborted) {
      try {
        for await (const e of this.#storage.watch(this.prefix, {
          after: revision(this.#revision),
          signal,
          progressNotify: true,
        })) {
          this.#apply(e)
        }
      } catch (err) {
        if (signal.aborted) return
        if (isStorageError(err, 'Compacted')) {
          // The store forgot history we had not read yet: start over from a fresh list, and end
          // every watcher so their clients resume (or relist, if they are now too far behind).
          this.#log.warn({ prefix: this.prefix }, 'watch cache fell behind compaction; relisting')
          for (const w of this.#watchers) w.end()
          this.#watchers.clear()
          await this.#retry(() => this.#load())
          continue
        }
        this.#log.warn({ prefix: this.prefix, err }, 'watch cache lost its store watch; resuming')
        await sleep(500)
      }
    }
  }

  async #retry(fn: () => Promise<void>): Promise<void> {
    while (!this.#stop.signal.aborted) {
      try {
        return await fn()
      } catch (err) {
        this.#log.warn({ prefix: this.prefix, err }, 'watch cache cannot list; retrying')
        await sleep(1000)
      }
    }
  }

  #apply(e: WatchEvent): void {
    let event: CacheEvent
    let replaced: CacheEntry | undefined
    let deletedAs: CacheEntry | undefined
    switch (e.type) {
      case 'progress':
        if (e.revision <= this.#revision) return
        this.#revision = e.revision
        this.#dispatch({ type: 'BOOKMARK', revision: e.revision })
        this.#wakeWaiters()
        return
      case 'put': {
        const current = this.#cached(e.kv.key, e.kv.value, e.kv.modRevision)
        const previous = this.#objects.get(e.kv.key)
        if (!current) {
          // Undecodable: drop it from view rather than serve a stale copy.
          if (previous) this.#remove(e.kv.key)
          this.#revision = e.kv.modRevision
          return
        }
        if (!previous) this.#sortedKeys = undefined
        this.#objects.set(e.kv.key, current)
        replaced = previous
        event = previous
          ? { type: 'MODIFIED', revision: e.kv.modRevision, current, previous }
          : { type: 'ADDED', revision: e.kv.modRevision, current }
        break
      }
      case 'delete': {
        const last = this.#objects.get(e.key)
        this.#remove(e.key)
        // The DELETED event shows the last state, at the revision of the deletion.
        const previous = last
          ? this.#withRevision(last, e.revision)
          : this.#cached(e.key, e.prev.value, e.revision)
        if (!previous) {
          this.#revision = e.revision
          return
        }
        event = { type: 'DELETED', revision: e.revision, previous }
        replaced = last
        deletedAs = previous
        break
      }
    }
    this.#revision = event.revision
    this.#append(event)
    this.#dispatch(event)
    // The version replaced (or deleted, and its copy at the deletion's revision) is kept from now
    // on only by the event window: its decoded form goes, so that it dies young instead of going
    // to the old generation with the window's events (its JSON stays, and is decoded again if a
    // resumed watch needs it).
    replaced?.release()
    deletedAs?.release()
    if (replaced) this.#decoded.delete(replaced)
    if (event.type !== 'DELETED') this.#keepDecoded(event.current as CacheEntry)
    this.#wakeWaiters()
  }

  /**
   * The entry's decoded form is the newest in use; the oldest beyond the bound lets its go. (#apply
   * forgets an entry a newer version replaced: that one let its decoded form go already.)
   */
  #keepDecoded(e: CacheEntry): void {
    this.#decoded.delete(e)
    this.#decoded.set(e, true)
    if (this.#decoded.size <= this.#maxDecoded) return
    const oldest = this.#decoded.keys().next().value as CacheEntry
    this.#decoded.delete(oldest)
    oldest.release()
  }

  #remove(key: string): void {
    if (this.#objects.delete(key)) this.#sortedKeys = undefined
  }

  #append(e: CacheEvent): void {
    this.#window.push(e)
    if (this.#window.length - this.#windowHead > this.#capacity) {
      const evicted = this.#window[this.#windowHead]
      this.#window[this.#windowHead++] = undefined as unknown as CacheEvent
      if (evicted) this.#windowStart = evicted.revision
      if (this.#windowHead > this.#capacity) {
        this.#window = this.#window.slice(this.#windowHead)
        this.#windowHead = 0
      }
    }
  }

  #dispatch(e: CacheEvent): void {
    for (const w of this.#watchers) {
      if (!w.push(e)) {
        this.#log.info({ prefix: this.prefix }, 'ending a watcher that stopped reading')
        w.end()
        this.#watchers.delete(w)
      }
    }
  }

  #wakeWaiters(): void {
    if (this.#waiters.length === 0) return
    const ready = this.#waiters.filter((w) => w.revision <= this.#revision)
    this.#waiters = this.#waiters.filter((w) => w.revision > this.#revision)
    for (const w of ready) w.resolve()
  }

  #keys(): string[] {
    this.#sortedKeys ??= [...this.#objects.keys()].sort(compareKeys)
    return this.#sortedKeys
  }

  #cached(key: string, bytes: Uint8Array, rev: number): CacheEntry | undefined {
    const known = this.#written?.(bytes, rev)
    if (known) return this.#make(key, rev, known.object, known.json)
    let object: StoredObject
    try {
      object = this.#decode(bytes)
    } catch (err) {
      this.#log.error({ key, err }, 'cannot decode a stored object; leaving it out')
      return undefined
    }
    object.metadata.resourceVersion = String(rev)
    return this.#make(key, rev, object)
  }

  #withRevision(o: CachedObject, rev: number): CacheEntry {
    const object = structuredClone(o.object) as StoredObject
    object.metadata.resourceVersion = String(rev)
    return this.#make(o.key, rev, object)
  }

  #make(key: string, rev: number, object: StoredObject, json?: Buffer): CacheEntry {
    if (freezeCached) deepFreeze(object)
    const rest = key.slice(this.prefix.length)
    const slash = this.#namespaced ? rest.indexOf('/') : -1
    return new CacheEntry(
      key,
      slash < 0 ? '' : rest.slice(0, slash),
      slash < 0 ? rest : rest.slice(slash + 1),
      rev,
      object,
      json ?? encoded(object),
      this.#onDecoded,
    )
  }
}

/**
 * An object of the cache: its JSON and labels always, its decoded form while it is among the most
 * recently written or decoded (see defaultDecodedObjects) and until a newer version replaces it
 * (release). Past versions are kept by the event window for watches that resume from an older
 * revision; those rarely look at them, and decode them again when they do.
 */
class CacheEntry implements CachedObject {
  readonly key: string
  readonly namespace: string
  readonly name: string
  readonly revision: number
  readonly json: Buffer
  readonly labels: Readonly<Record<string, string>>
  #object: Readonly<StoredObject> | undefined
  readonly #onDecoded: (e: CacheEntry) => void

  constructor(
    key: string,
    namespace: string,
    name: string,
    revision: number,
    object: StoredObject,
    json: Buffer,
    onDecoded: (e: CacheEntry) => void,
  ) {
    this.key = key
    this.namespace = namespace
    this.name = name
    this.revision = revision
    this.#object = object
    this.json = json
    this.labels = object.metadata.labels ?? noLabels
    this.#onDecoded = onDecoded
  }

  get object(): Readonly<StoredObject> {
    if (this.#object === undefined) {
      const object = decodeJson(this.json)
      encodedAs(object, this.json)
      if (freezeCached) deepFreeze(object)
      this.#object = object
      this.#onDecoded(this)
    }
    return this.#object
  }

  /**
   * Lets the decoded form go: a newer version replaced this one (only the event window keeps it),
   * or the cache holds enough others decoded. It is decoded again if read.
   */
  release(): void {
    this.#object = undefined
  }
}

const noLabels: Readonly<Record<string, string>> = Object.freeze({})

/** Where a subscribed watcher's events go (see WatchCache.subscribe). */
export interface WatchSink {
  /** Takes one event; false when the reader cannot keep up (the cache then ends the watch). */
  event(e: CacheEvent): boolean
  /** The cache ended the watch (the reader fell behind, or the cache restarted). */
  end(): void
}

/**
 * One reader of the cache: either a queue of events and a way to wait for the next (iteration),
 * or a sink the events are pushed to as they come.
 */
class CacheWatcher {
  readonly #max: number
  readonly #sink: WatchSink | undefined
  #queue: CacheEvent[] = []
  #head = 0
  #ended = false
  #wake: (() => void) | undefined

  constructor(max: number, sink?: WatchSink) {
    this.#max = max
    this.#sink = sink
  }

  /** Takes an event; false when the watcher has fallen too far behind (it should be ended). */
  push(e: CacheEvent): boolean {
    if (this.#ended) return true
    if (this.#sink) return this.#sink.event(e)
    if (this.#queue.length - this.#head >= this.#max) return false
    this.#queue.push(e)
    this.#signal()
    return true
  }

  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#sink?.end()
    this.#signal()
  }

  /** Stops delivery without telling the sink (its reader went away on its own). */
  detach(): void {
    this.#ended = true
    this.#signal()
  }

  iterable(cleanup: () => void): AsyncIterable<CacheEvent> {
    const next = (): Promise<IteratorResult<CacheEvent>> => {
      if (this.#head < this.#queue.length) {
        const value = this.#queue[this.#head] as CacheEvent
        this.#queue[this.#head++] = undefined as unknown as CacheEvent
        if (this.#head === this.#queue.length) {
          this.#queue = []
          this.#head = 0
        }
        return Promise.resolve({ done: false, value })
      }
      if (this.#ended) {
        cleanup()
        return Promise.resolve({ done: true, value: undefined })
      }
      return new Promise<void>((r) => (this.#wake = r)).then(next)
    }
    const iterator: AsyncIterator<CacheEvent> = {
      next,
      return: () => {
        this.end()
        cleanup()
        return Promise.resolve({ done: true, value: undefined })
      },
    }
    return { [Symbol.asyncIterator]: () => iterator }
  }

  #signal(): void {
    const w = this.#wake
    this.#wake = undefined
    w?.()
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function lowerBound(keys: readonly string[], target: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((keys[mid] ?? '') < target) lo = mid + 1
    else hi = mid
  }
  return lo
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref())
}

/**
 * K8TS_FREEZE_CACHE=1 (the test suite sets it): every cached object is deep-frozen, so code that
 * changes one (they are shared with every reader and every write that starts from them) throws.
 */
const freezeCached = process.env.K8TS_FREEZE_CACHE === '1'

/**
 * JSON of objects already encoded once, so that the response to a write and the cache share the
 * bytes instead of encoding the same object twice.
 */
const encodings = new WeakMap<object, Buffer>()

/** The object's JSON, from the encoding made when it was written if there is one. */
export function encoded(object: Readonly<StoredObject>): Buffer {
  let json = encodings.get(object)
  if (!json) {
    json = ownedBytes(JSON.stringify(object))
    encodings.set(object, json)
  }
  return json
}

/**
 * A string's UTF-8 bytes in memory of their own, for bytes that live as long as the object they
 * encode (the cache's JSON, and what is made of it). Buffer.from puts anything under 32 KB in a
 * slice of a shared 64 KB slab (Node 24's Buffer.poolSize), and one long-lived slice keeps its
 * whole slab alive: with the requests' short-lived bytes in between, the cache of bench sim's
 * cluster held 490 MB of slabs for about a third as much JSON.
 */
export function ownedBytes(s: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(s))
  bytes.write(s)
  return bytes
}

/** Records the object's JSON, made elsewhere, for encoded(); returns it. */
export function encodedAs(object: Readonly<StoredObject>, json: Buffer): Buffer {
  encodings.set(object, json)
  return json
}

/** Parses what the registry stores: JSON objects. */
export function decodeJson(bytes: Uint8Array): StoredObject {
  const v = JSON.parse(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  ) as unknown
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object')
  const o = v as StoredObject
  if (o.metadata === undefined || o.metadata === null || typeof o.metadata !== 'object') o.metadata = {}
  return o
}
