import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import {
  revision,
  StorageError,
  type DeleteOptions,
  type DeleteResult,
  type GetOptions,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Revision,
  type Storage,
  type StorageErrorCode,
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from './interface.ts'

/**
 * One store shared by the threads of a process: the thread that opened it serves it over a
 * MessagePort (`serveStorage`), and each other thread uses a `RemoteStorage`, which is a Storage
 * like any other (it passes the same conformance suite). This is how the apiserver's worker
 * threads share the embedded SQLite file, which only one thread may write.
 *
 *   worker thread                    owning thread
 *   RemoteStorage ──call {id, op}──▶ serveStorage ──▶ SqliteStorage
 *                 ◀─reply {id}────                ◀──
 *                 ◀─events {id}─── (one stream per watch, in revision order)
 *
 * The guarantees are the served store's: a reply is posted only after the call resolved there,
 * and a port delivers messages in order, so a watch sees its events in revision order. Reading
 * the current revision at once (`currentRevisionSync`, which consistent reads from cache rely on)
 * works across threads through shared memory: the owning thread publishes the store's revision
 * before it posts the reply of any write, so once a client has heard that its write succeeded,
 * every thread's `currentRevisionSync` is at least that write's revision.
 */
export interface StorageLink {
  /** The port to the owning thread; transfer it to the worker. */
  readonly port: MessagePort
  readonly backend: string
  /** The store's revision, published by the owning thread (when the store can tell it at once). */
  readonly revisionCell?: SharedArrayBuffer
  /** Whether the store supports requestProgress. */
  readonly requestProgress: boolean
}

type Call =
  | { id: number; op: 'get'; key: string; options?: GetOptions }
  | { id: number; op: 'list'; prefix: string; options?: ListOptions }
  | { id: number; op: 'create'; key: string; value: Uint8Array; options?: WriteOptions }
  | { id: number; op: 'update'; key: string; value: Uint8Array; expected: Revision; options?: WriteOptions }
  | { id: number; op: 'delete'; key: string; options?: DeleteOptions }
  | { id: number; op: 'currentRevision' | 'requestProgress' | 'compactedRevision' }
  | { id: number; op: 'compact'; upTo: Revision }
  | { id: number; op: 'watch'; prefix: string; after: Revision; progressNotify: boolean }
  | { id: number; op: 'cancel' }

type Reply =
  | { id: number; value: unknown }
  | { id: number; error: SerializedError }
  | { id: number; event: WatchEvent }
  | { id: number; end: true }

interface SerializedError {
  code: StorageErrorCode
  message: string
  key?: string
  current?: KeyValue
  compactedRevision?: Revision
}

export interface StorageServer {
  /** A link for one more thread (each gets a port of its own). */
  link(): StorageLink
  /** Ends every watch served and closes the ports (the store itself stays open). */
  stop(): void
}

/** Serves `storage` to other threads of this process. */
export function serveStorage(storage: Storage): StorageServer {
  const cell = storage.currentRevisionSync ? new SharedArrayBuffer(8) : undefined
  const published = cell ? new BigInt64Array(cell) : undefined
  const publish = () => {
    if (published && storage.currentRevisionSync)
      Atomics.store(published, 0, BigInt(storage.currentRevisionSync()))
  }
  publish()
  const ports = new Set<MessagePort>()

  const serve = (port: MessagePort) => {
    // Serving must not keep the process alive once everything else is done.
    port.unref()
    const watches = new Map<number, AbortController>()
    const reply = (r: Reply) => port.postMessage(r)
    const fail = (id: number, err: unknown) => reply({ id, error: serializeError(err) })
    const answer = (id: number, p: Promise<unknown>, write = false) =>
      p.then(
        (value) => {
          if (write) publish()
          reply({ id, value })
        },
        (err: unknown) => fail(id, err),
      )

    const watch = async (id: number, prefix: string, after: Revision, progressNotify: boolean) => {
      const ac = new AbortController()
      watches.set(id, ac)
      try {
        for await (const event of storage.watch(prefix, { after, signal: ac.signal, progressNotify })) {
          reply({ id, event })
        }
        reply({ id, end: true })
      } catch (err) {
        fail(id, err)
      } finally {
        watches.delete(id)
      }
    }

    port.on('message', (c: Call) => {
      switch (c.op) {
        case 'get':
          return void answer(c.id, storage.get(c.key, c.options))
        case 'list':
          return void answer(c.id, storage.list(c.prefix, c.options))
        case 'create':
          return void answer(c.id, storage.create(c.key, c.value, c.options), true)
        case 'update':
          return void answer(c.id, storage.update(c.key, c.value, c.expected, c.options), true)
        case 'delete':
          return void answer(c.id, storage.delete(c.key, c.options), true)
        case 'currentRevision':
          return void answer(c.id, storage.currentRevision())
        case 'compactedRevision':
          return void answer(c.id, storage.compactedRevision())
        case 'requestProgress':
          return void answer(c.id, storage.requestProgress?.() ?? Promise.resolve())
        case 'compact':
          return void answer(c.id, storage.compact(c.upTo))
        case 'watch':
          return void watch(c.id, c.prefix, c.after, c.progressNotify)
        case 'cancel':
          return void watches.get(c.id)?.abort()
      }
    })
    port.on('close', () => {
      for (const ac of watches.values()) ac.abort()
      ports.delete(port)
    })
  }

  return {
    link() {
      const { port1, port2 } = new MessageChannel()
      ports.add(port1)
      serve(port1)
      return {
        port: port2,
        backend: storage.backend,
        ...(cell ? { revisionCell: cell } : {}),
        requestProgress: storage.requestProgress !== undefined,
      }
    },
    stop() {
      for (const port of ports) port.close()
      ports.clear()
    },
  }
}

function serializeError(err: unknown): SerializedError {
  if (err instanceof StorageError) {
    return {
      code: err.code,
      message: err.message,
      ...(err.key !== undefined ? { key: err.key } : {}),
      ...(err.current !== undefined ? { current: err.current } : {}),
      ...(err.compactedRevision !== undefined ? { compactedRevision: err.compactedRevision } : {}),
    }
  }
  return {
    code: 'Unavailable',
    message: `the store failed: ${err instanceof Error ? err.message : String(err)}`,
  }
}

function deserializeError(e: SerializedError): StorageError {
  return new StorageError(e.code, e.message, {
    ...(e.key !== undefined ? { key: e.key } : {}),
    ...(e.current !== undefined ? { current: e.current } : {}),
    ...(e.compactedRevision !== undefined ? { compactedRevision: e.compactedRevision } : {}),
  })
}

/** A stream of one watch as it arrives from the owning thread. */
interface Stream {
  push(r: Reply): void
}

/** The client end: a Storage whose calls run in the thread that serves the store. */
export class RemoteStorage implements Storage {
  readonly backend: string
  readonly currentRevisionSync?: () => Revision
  readonly requestProgress?: () => Promise<void>
  readonly #port: MessagePort
  readonly #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>()
  readonly #streams = new Map<number, Stream>()
  #nextId = 1
  #closed = false
  #draining = false

  constructor(link: StorageLink) {
    this.backend = link.backend
    this.#port = link.port
    if (link.revisionCell) {
      const cell = new BigInt64Array(link.revisionCell)
      this.currentRevisionSync = () => revision(Number(Atomics.load(cell, 0)))
    }
    if (link.requestProgress) this.requestProgress = () => this.#call({ op: 'requestProgress' })
    this.#port.on('message', (r: Reply) => this.#receive(r))
    this.#port.unref()
  }

  #receive(r: Reply): void {
    const stream = this.#streams.get(r.id)
    if (stream) return stream.push(r)
    const call = this.#calls.get(r.id)
    if (!call) return
    this.#calls.delete(r.id)
    this.#release()
    if ('error' in r) call.reject(deserializeError(r.error))
    else if ('value' in r) call.resolve(r.value)
  }

  /**
   * Takes the replies that have arrived, once per turn of the event loop while calls are
   * outstanding. A busy thread otherwise sees a reply only after a whole turn of socket work
   * (its 'message' event waits behind every readable connection), which at a hundred concurrent
   * requests costs more than the call itself.
   */
  #drain = (): void => {
    this.#draining = false
    if (this.#closed) return
    for (let m = receiveMessageOnPort(this.#port); m; m = receiveMessageOnPort(this.#port)) {
      this.#receive(m.message as Reply)
    }
    if (this.#calls.size > 0) this.#scheduleDrain()
  }

  #scheduleDrain(): void {
    if (this.#draining) return
    this.#draining = true
    setImmediate(this.#drain)
  }

  /** The port keeps the thread alive while a call or a watch is outstanding, as a socket would. */
  #hold(): void {
    if (this.#calls.size + this.#streams.size === 1) this.#port.ref()
  }

  #release(): void {
    if (this.#calls.size + this.#streams.size === 0) this.#port.unref()
  }

  get(key: string, options?: GetOptions): Promise<KeyValue | undefined> {
    return this.#call({ op: 'get', key, ...(options ? { options } : {}) })
  }

  list(prefix: string, options?: ListOptions): Promise<ListResult> {
    return this.#call({ op: 'list', prefix, ...(options ? { options } : {}) })
  }

  create(key: string, value: Uint8Array, options?: WriteOptions): Promise<KeyValue> {
    return this.#call({ op: 'create', key, value, ...(options ? { options } : {}) })
  }

  update(key: string, value: Uint8Array, expected: Revision, options?: WriteOptions): Promise<KeyValue> {
    return this.#call({ op: 'update', key, value, expected, ...(options ? { options } : {}) })
  }

  delete(key: string, options?: DeleteOptions): Promise<DeleteResult> {
    return this.#call({ op: 'delete', key, ...(options ? { options } : {}) })
  }

  currentRevision(): Promise<Revision> {
    return this.#call({ op: 'currentRevision' })
  }

  compactedRevision(): Promise<Revision> {
    return this.#call({ op: 'compactedRevision' })
  }

  compact(upTo: Revision): Promise<void> {
    return this.#call({ op: 'compact', upTo })
  }

  async *watch(prefix: string, options: WatchOptions): AsyncIterable<WatchEvent> {
    if (this.#closed) throw closedError()
    const id = this.#nextId++
    const queue: Reply[] = []
    let wake: (() => void) | undefined
    this.#streams.set(id, {
      push: (r) => {
        queue.push(r)
        wake?.()
      },
    })
    this.#hold()
    const onAbort = () => {
      wake?.()
      if (!this.#closed) this.#port.postMessage({ id, op: 'cancel' } satisfies Call)
    }
    options.signal.addEventListener('abort', onAbort, { once: true })
    try {
      if (options.signal.aborted) return
      this.#port.postMessage({
        id,
        op: 'watch',
        prefix,
        after: options.after,
        progressNotify: options.progressNotify ?? false,
      } satisfies Call)
      for (;;) {
        const r = queue.shift()
        if (r === undefined) {
          if (options.signal.aborted) return
          if (this.#closed) throw closedError()
          await new Promise<void>((resolve) => (wake = resolve))
          wake = undefined
          continue
        }
        if ('event' in r) yield r.event
        else if ('error' in r) throw deserializeError(r.error)
        else return
      }
    } finally {
      options.signal.removeEventListener('abort', onAbort)
      this.#streams.delete(id)
      this.#release()
    }
  }

  /** Closes this thread's end; the store itself stays open in the owning thread. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#port.close()
    for (const call of this.#calls.values()) call.reject(closedError())
    this.#calls.clear()
    for (const stream of this.#streams.values()) stream.push({ id: 0, error: serializeError(closedError()) })
  }

  #call<T>(call: DistributiveOmit<Call, 'id'>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError())
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      this.#calls.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#hold()
      this.#port.postMessage({ ...call, id })
      this.#scheduleDrain()
    })
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

function closedError(): StorageError {
  return new StorageError('Unavailable', 'the store is closed')
}
