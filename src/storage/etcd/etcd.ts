import { setTimeout as sleep } from 'node:timers/promises'
import { realClock, type Clock } from '../../base/clock.ts'
import {
  isStorageError,
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
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from '../interface.ts'
import { EtcdClient, type EtcdClientOptions } from './client.ts'
import {
  CompareResult,
  CompareTarget,
  int64,
  rpc,
  type EventMsg,
  type Int64,
  type KeyValueMsg,
  type RangeResponse,
  type WatchResponse,
} from './rpc.ts'

/**
 * The store on a real etcd v3 cluster, with the same semantics as kube-apiserver's etcd3 storage:
 * conditional writes are transactions comparing the key's mod revision, and a failed
 * transaction reads the key in the same round trip so that a conflict carries the current value.
 */
export interface EtcdStorageOptions extends EtcdClientOptions {
  clock?: Clock
}

export class EtcdStorage implements Storage {
  readonly backend = 'etcd'
  readonly client: EtcdClient
  readonly #leases: LeaseCache
  readonly #watches = new Set<AbortController>()
  #closed = false

  static async open(options: EtcdStorageOptions): Promise<EtcdStorage> {
    return new EtcdStorage(await EtcdClient.connect(options), options.clock ?? realClock)
  }

  private constructor(client: EtcdClient, clock: Clock) {
    this.client = client
    this.#leases = new LeaseCache(client, clock)
  }

  async get(key: string, options: GetOptions = {}): Promise<KeyValue | undefined> {
    const res = await this.client.read(rpc.range, { key: bytes(key), revision: options.revision ?? 0 })
    const kv = res.kvs[0]
    return kv ? toKeyValue(kv) : undefined
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const start = options.startKey !== undefined && options.startKey > prefix ? options.startKey : prefix
    const res = await this.client.read(rpc.range, {
      key: start === '' ? new Uint8Array([0]) : bytes(start),
      rangeEnd: rangeEnd(prefix),
      limit: options.limit ?? 0,
      revision: options.revision ?? 0,
    })
    return {
      items: res.kvs.map(toKeyValue),
      // etcd's header carries its newest revision; a list at a past one is consistent at that one.
      revision: options.revision ?? revision(int64(res.header.revision)),
      more: res.more,
      count: int64(res.count),
    }
  }

  async create(key: string, value: Uint8Array, options: WriteOptions = {}): Promise<KeyValue> {
    checkKey(key)
    const k = bytes(key)
    const lease = options.ttlSeconds === undefined ? 0 : await this.#leases.leaseFor(options.ttlSeconds)
    const res = await this.client.write(rpc.txn, {
      compare: [{ target: CompareTarget.Mod, result: CompareResult.Equal, key: k, modRevision: 0 }],
      success: [{ requestPut: { key: k, value, lease } }],
      failure: [{ requestRange: { key: k } }],
    })
    if (!res.succeeded) {
      const current = currentOf(res.responses[0]?.responseRange)
      throw new StorageError('KeyExists', `${key} already exists`, current ? { key, current } : { key })
    }
    const rev = revision(int64(res.header.revision))
    return { key, value, createRevision: rev, modRevision: rev, version: 1 }
  }

  async update(
    key: string,
    value: Uint8Array,
    expected: Revision,
    options: WriteOptions = {},
  ): Promise<KeyValue> {
    checkKey(key)
    const k = bytes(key)
    const lease = options.ttlSeconds === undefined ? 0 : await this.#leases.leaseFor(options.ttlSeconds)
    const res = await this.client.write(rpc.txn, {
      compare: [{ target: CompareTarget.Mod, result: CompareResult.Equal, key: k, modRevision: expected }],
      success: [{ requestPut: { key: k, value, lease, prevKv: true } }],
      failure: [{ requestRange: { key: k } }],
    })
    if (!res.succeeded) throw conflictOrNotFound(key, expected, currentOf(res.responses[0]?.responseRange))
    const prev = res.responses[0]?.responsePut?.prevKv
    if (!prev) throw new StorageError('Unavailable', `etcd: update of ${key} returned no previous value`)
    return {
      key,
      value,
      createRevision: revision(int64(prev.createRevision)),
      modRevision: revision(int64(res.header.revision)),
      version: int64(prev.version) + 1,
    }
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    checkKey(key)
    const k = bytes(key)
    const res = await this.client.write(rpc.txn, {
      compare:
        options.expected === undefined
          ? [{ target: CompareTarget.Mod, result: CompareResult.Greater, key: k, modRevision: 0 }]
          : [
              {
                target: CompareTarget.Mod,
                result: CompareResult.Equal,
                key: k,
                modRevision: options.expected,
              },
            ],
      success: [{ requestDeleteRange: { key: k, prevKv: true } }],
      failure: [{ requestRange: { key: k } }],
    })
    if (!res.succeeded)
      throw conflictOrNotFound(key, options.expected, currentOf(res.responses[0]?.responseRange))
    const prev = res.responses[0]?.responseDeleteRange?.prevKvs[0]
    if (!prev) throw new StorageError('Unavailable', `etcd: delete of ${key} returned no previous value`)
    return { revision: revision(int64(res.header.revision)), prev: toKeyValue(prev) }
  }

  async currentRevision(): Promise<Revision> {
    const res = await this.client.read(rpc.range, { key: bytes('/'), countOnly: true })
    return revision(int64(res.header.revision))
  }

  /**
   * etcd has no call that reports its compacted revision, but a read at a compacted revision
   * fails: the compacted revision is the oldest one that can still be read, found by bisection in
   * a few dozen cheap count-only reads.
   */
  async compactedRevision(): Promise<Revision> {
    const readable = async (rev: number) => {
      try {
        await this.client.read(rpc.range, { key: bytes('/'), countOnly: true, revision: rev })
        return true
      } catch (err) {
        if (isStorageError(err, 'Compacted')) return false
        throw err
      }
    }
    let hi = await this.currentRevision()
    if (hi === 0 || (await readable(1))) return revision(0)
    let lo = 1 // not readable
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2)
      if (await readable(mid)) hi = revision(mid)
      else lo = mid
    }
    return hi
  }

  async compact(upTo: Revision): Promise<void> {
    // physical: resolve when the history is really gone, as the SQLite store does.
    await this.client.write(rpc.compact, { revision: upTo, physical: true })
  }

  watch(prefix: string, options: WatchOptions): AsyncIterable<WatchEvent> {
    return this.#watch(prefix, options)
  }

  /**
   * One gRPC stream per watcher. When the stream breaks (a member restarts, the network drops),
   * the watch is created again from the revision after the last one delivered, so the consumer
   * sees neither a gap nor a duplicate; it only learns of the outage if history it still needs
   * was compacted meanwhile ('Compacted').
   */
  async *#watch(prefix: string, options: WatchOptions): AsyncGenerator<WatchEvent> {
    if (this.#closed) throw new StorageError('Unavailable', 'etcd store is closed')
    const stop = new AbortController()
    this.#watches.add(stop)
    const signal = AbortSignal.any([options.signal, stop.signal])
    let last = options.after as number
    let backoffMs = 100
    // Each (re)start asks etcd for the revision already delivered too, and drops it: etcd then
    // refuses, with the exact compacted revision, any start whose history (or the previous value
    // its first event needs) has been compacted, just as the SQLite store does.
    try {
      while (!signal.aborted) {
        const stream = this.client.watchStream()
        const responses = streamQueue<WatchResponse>(stream, signal)
        try {
          stream.write({
            createRequest: {
              key: prefix === '' ? new Uint8Array([0]) : bytes(prefix),
              rangeEnd: rangeEnd(prefix),
              startRevision: Math.max(1, last),
              prevKv: true,
              progressNotify: options.progressNotify ?? false,
            },
          })
          for await (const res of responses) {
            backoffMs = 100
            if (res.canceled) {
              const compacted = int64(res.compactRevision)
              if (compacted > 0) {
                throw new StorageError(
                  'Compacted',
                  `revision ${last} has been compacted (compacted up to ${compacted})`,
                  {
                    compactedRevision: revision(compacted),
                  },
                )
              }
              throw new StorageError(
                'Unavailable',
                `etcd cancelled the watch on ${prefix}: ${res.cancelReason}`,
              )
            }
            if (res.created) continue
            if (res.events.length === 0) {
              const rev = int64(res.header?.revision)
              if (options.progressNotify && rev >= last) {
                last = rev
                yield { type: 'progress', revision: revision(rev) }
              }
              continue
            }
            for (const e of res.events) {
              const rev = int64(e.kv?.modRevision)
              if (rev <= last) continue
              const event = await this.#toEvent(e)
              last = rev
              yield event
            }
          }
        } catch (err) {
          if (err instanceof StorageError) throw err
          if (signal.aborted) break
          // The stream broke: try again after a pause, from where we are.
        } finally {
          stream.cancel()
        }
        if (signal.aborted) break
        await sleep(backoffMs, undefined, { signal }).catch(() => undefined)
        backoffMs = Math.min(backoffMs * 2, 2000)
      }
      if (stop.signal.aborted && !options.signal.aborted)
        throw new StorageError('Unavailable', 'etcd store is closed')
    } finally {
      this.#watches.delete(stop)
    }
  }

  async #toEvent(e: EventMsg): Promise<WatchEvent> {
    if (!e.kv) throw new StorageError('Unavailable', 'etcd sent a watch event without a key')
    const key = Buffer.from(e.kv.key).toString('utf8')
    const rev = revision(int64(e.kv.modRevision))
    if (e.type === 1) {
      // etcd leaves prevKv out when that value has been compacted; read it as it was just before.
      const prev = e.prevKv ? toKeyValue(e.prevKv) : await this.get(key, { revision: revision(rev - 1) })
      if (!prev)
        throw new StorageError('Unavailable', `etcd: the value of ${key} deleted at ${rev} is unknown`)
      return { type: 'delete', key, revision: rev, prev }
    }
    const kv = toKeyValue(e.kv)
    if (kv.version === 1) return { type: 'put', kv }
    const prev = e.prevKv ? toKeyValue(e.prevKv) : await this.get(key, { revision: revision(rev - 1) })
    if (!prev) throw new StorageError('Unavailable', `etcd: the value of ${key} before ${rev} is unknown`)
    return { type: 'put', kv, prev }
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      for (const w of this.#watches) w.abort()
      this.client.close()
    }
    return Promise.resolve()
  }
}

/**
 * Keys with a TTL are attached to leases. Granting one lease per write would flood etcd, so a
 * lease is shared by the writes of a short window and granted a little longer than asked, as
 * kube-apiserver does for Events: a key then lives between ttl and ttl + window seconds.
 */
class LeaseCache {
  readonly #client: EtcdClient
  readonly #clock: Clock
  readonly #byTtl = new Map<number, { id: Int64; reuseUntil: number }>()

  constructor(client: EtcdClient, clock: Clock) {
    this.#client = client
    this.#clock = clock
  }

  async leaseFor(ttlSeconds: number): Promise<Int64> {
    const ttl = Math.max(1, Math.ceil(ttlSeconds))
    const now = this.#clock.now()
    const cached = this.#byTtl.get(ttl)
    if (cached && now < cached.reuseUntil) return cached.id
    const windowSeconds = Math.max(1, Math.min(60, Math.floor(ttl * 0.05)))
    const res = await this.#client.write(rpc.leaseGrant, { TTL: ttl + windowSeconds })
    if (res.error) throw new StorageError('Unavailable', `etcd refused a lease: ${res.error}`)
    this.#byTtl.set(ttl, { id: res.ID, reuseUntil: now + windowSeconds * 1000 })
    return res.ID
  }
}

function checkKey(key: string): void {
  if (key === '') throw new StorageError('InvalidArgument', 'a key cannot be empty')
}

function bytes(s: string): Uint8Array {
  return Buffer.from(s, 'utf8')
}

/** etcd's range end for a prefix: the prefix with its last byte raised by one; '\0' means "to the end". */
function rangeEnd(prefix: string): Uint8Array {
  const b = Buffer.from(prefix, 'utf8')
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] ?? 0xff) < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1))
      end[i] = (end[i] ?? 0) + 1
      return end
    }
  }
  return new Uint8Array([0])
}

function toKeyValue(kv: KeyValueMsg): KeyValue {
  return {
    key: Buffer.from(kv.key).toString('utf8'),
    value: kv.value,
    createRevision: revision(int64(kv.createRevision)),
    modRevision: revision(int64(kv.modRevision)),
    version: int64(kv.version),
  }
}

function currentOf(range: RangeResponse | null | undefined): KeyValue | undefined {
  const kv = range?.kvs[0]
  return kv ? toKeyValue(kv) : undefined
}

function conflictOrNotFound(
  key: string,
  expected: Revision | undefined,
  current: KeyValue | undefined,
): StorageError {
  if (!current) return new StorageError('KeyNotFound', `${key} not found`, { key })
  return new StorageError('Conflict', `${key} is at revision ${current.modRevision}, not ${expected}`, {
    key,
    current,
  })
}

/**
 * A duplex stream's responses as an async iterable that ends when the signal aborts. Errors of
 * the stream are thrown from the iteration.
 */
async function* streamQueue<T>(
  stream: NodeJS.EventEmitter & { cancel(): void },
  signal: AbortSignal,
): AsyncGenerator<T> {
  const queue: T[] = []
  let error: Error | undefined
  let ended = false
  let wake: (() => void) | undefined
  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  stream.on('data', (d: T) => {
    queue.push(d)
    notify()
  })
  stream.on('error', (e: Error) => {
    error = e
    notify()
  })
  stream.on('end', () => {
    ended = true
    notify()
  })
  signal.addEventListener('abort', notify, { once: true })
  try {
    for (;;) {
      const next = queue.shift()
      if (next !== undefined) {
        yield next
        continue
      }
      if (error !== undefined) throw error
      if (ended || signal.aborted) return
      await new Promise<void>((r) => (wake = r))
    }
  } finally {
    signal.removeEventListener('abort', notify)
  }
}
