import { realClock, type Clock } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import { IndexedCache, Lister, objectKey, type IndexFunc } from './cache.ts'
import { ApiStatusError, isResourceExpired } from './errors.ts'
import { ResourceClient, type ResourceRef, type ObjectLike } from './resource.ts'
import type { RestClient } from './rest.ts'

/**
 * What a controller hears from an informer. Handlers run one at a time, in the order the
 * informer learns things; they should only turn the event into a queue key (STYLE.md), and an
 * error they throw is logged, never fatal.
 */
export interface EventHandler<T> {
  /** `inInitialList`: the object was there at the first list (or when the handler was added). */
  add?(obj: Readonly<T>, inInitialList: boolean): void
  /** Also called with old === obj on every resync. */
  update?(old: Readonly<T>, obj: Readonly<T>): void
  /**
   * `stale`: the deletion itself was missed (a relist found the object gone), and `obj` is the
   * last state the informer knew (client-go's DeletedFinalStateUnknown).
   */
  delete?(obj: Readonly<T>, stale: boolean): void
}

export interface InformerOptions<T = ObjectLike> {
  /** Watch one namespace; all of them when absent or ''. */
  namespace?: string
  labelSelector?: string
  fieldSelector?: string
  /** Replay every object to update() this often (0 or absent: never). */
  resyncMs?: number
  clock?: Clock
  log?: Logger
  /**
   * Changes each object before it is cached and handed to handlers (client-go's SetTransform),
   * e.g. to drop what the informer's users never read. The object is the informer's own, freshly
   * decoded: it may be changed in place.
   */
  transform?: (obj: T) => T
  /**
   * Objects are decoded without metadata.managedFields, before the transform runs (as when the
   * transform is withoutManagedFields, whose work this does without decoding them at all).
   */
  withoutManagedFields?: boolean
}

/**
 * A transform that drops metadata.managedFields (client-go's TransformStripManagedFields), for
 * informers whose users never read them: they are a third or more of a typical object. Set
 * rather than deleted, so the metadata keeps the shape the others' have.
 */
export function withoutManagedFields<T extends ObjectLike>(obj: T): T {
  if (obj.metadata?.managedFields) obj.metadata.managedFields = undefined
  return obj
}

/**
 * An informer (client-go's SharedIndexInformer): lists a resource, then watches it from the
 * list's resourceVersion, keeping an indexed cache that listers read and telling handlers what
 * changed.
 *
 *     ┌──────── list ───────┐   replace the cache: adds, updates, stale deletes
 *     │                     ▼
 *   start ──▶ list ──▶ watch from rv ──▶ events ──▶ cache + handlers
 *               ▲           │ ends (timeoutSeconds): watch again from the last rv
 *               └── 410 ────┤ 410 Expired / Gone: list again
 *                           └ other failure: back off (0.8 s doubling to 30 s), watch again
 *
 * Guarantees: handlers see each object's changes in resourceVersion order; after a relist the
 * cache equals the list; hasSynced turns true once, after the first list is in the cache.
 */
export class Informer<T extends ObjectLike> {
  readonly lister: Lister<T>
  readonly #client: ResourceClient<T>
  readonly #cache = new IndexedCache<T>()
  readonly #handlers: EventHandler<T>[] = []
  readonly #o: InformerOptions<T>
  readonly #clock: Clock
  readonly #transform: (obj: T) => T
  #synced = false
  #resourceVersion = ''
  readonly #syncWaiters: (() => void)[] = []
  #running = false

  constructor(client: ResourceClient<T>, o: InformerOptions<T> = {}) {
    this.#client = client
    this.#o = o
    this.#clock = o.clock ?? realClock
    const transform = o.transform ?? ((obj: T) => obj)
    this.#transform = o.withoutManagedFields ? (obj) => transform(withoutManagedFields(obj)) : transform
    this.lister = new Lister(this.#cache)
  }

  get resource(): ResourceRef {
    return this.#client.ref
  }

  get hasSynced(): boolean {
    return this.#synced
  }

  /** The resourceVersion of the last list or event the cache holds. */
  get lastSyncResourceVersion(): string {
    return this.#resourceVersion
  }

  /** Adds a handler; objects already in the cache are announced to it as adds. */
  addHandler(h: EventHandler<T>): void {
    this.#handlers.push(h)
    if (this.#synced) for (const o of this.#cache.values()) this.#call(() => h.add?.(o, true))
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.#cache.addIndex(name, fn)
  }

  hasIndex(name: string): boolean {
    return this.#cache.hasIndex(name)
  }

  /** Resolves once the first list is in the cache; rejects when the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason as Error)
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      })
    })
  }

  /** Lists and watches until the signal aborts; resolves then. Runs at most once. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`the ${this.#client.ref.resource} informer runs already`)
    this.#running = true
    const resync = this.#o.resyncMs ? this.#startResync(this.#o.resyncMs, signal) : undefined
    let backoffMs = initialBackoffMs
    let needList = true
    try {
      while (!signal.aborted) {
        try {
          if (needList) {
            await this.#listAndReplace(signal)
            needList = false
          }
          await this.#watch(signal)
          backoffMs = initialBackoffMs
        } catch (err) {
          if (signal.aborted) break
          if (isResourceExpired(err)) {
            // The resourceVersion we had is gone from the apiserver's history: start over.
            this.#o.log?.info({ resource: this.#client.ref.resource }, 'watch expired; listing again')
            needList = true
            continue
          }
          this.#o.log?.warn(
            { resource: this.#client.ref.resource, err: (err as Error).message },
            needList ? 'list failed' : 'watch failed',
          )
          await this.#clock.sleep(backoffMs * (1 + Math.random() * 0.5), signal).catch(() => undefined)
          backoffMs = Math.min(maxBackoffMs, backoffMs * 2)
        }
      }
    } finally {
      resync?.cancel()
      this.#running = false
    }
  }

  async #listAndReplace(signal: AbortSignal): Promise<void> {
    const list = await this.#client.list(this.#o.namespace ?? '', {
      ...(this.#o.labelSelector ? { labelSelector: this.#o.labelSelector } : {}),
      ...(this.#o.fieldSelector ? { fieldSelector: this.#o.fieldSelector } : {}),
      signal,
    })
    const initial = !this.#synced
    const seen = new Set<string>()
    for (const obj of list.items) {
      // List items carry no kind; watch events do. Handlers see the same shape either way.
      const o = this.#transform(withKind(obj, this.#client.ref))
      const key = objectKey(o)
      seen.add(key)
      const old = this.#cache.set(o)
      if (old) this.#notify((h) => h.update?.(old, o))
      else this.#notify((h) => h.add?.(o, initial))
    }
    for (const key of [...this.#cache.keys()]) {
      if (seen.has(key)) continue
      const old = this.#cache.delete(key)
      if (old) this.#notify((h) => h.delete?.(old, true))
    }
    this.#resourceVersion = list.metadata.resourceVersion ?? ''
    if (!this.#synced) {
      this.#synced = true
      for (const w of this.#syncWaiters.splice(0)) w()
    }
  }

  /** One watch from the last resourceVersion, until the server ends it. */
  async #watch(signal: AbortSignal): Promise<void> {
    const events = this.#client.watch(this.#o.namespace ?? '', {
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: true,
      // Spread over 5 to 10 minutes, so that many informers do not all come back at once.
      timeoutSeconds: Math.floor(minWatchTimeoutSeconds * (1 + Math.random())),
      ...(this.#o.labelSelector ? { labelSelector: this.#o.labelSelector } : {}),
      ...(this.#o.fieldSelector ? { fieldSelector: this.#o.fieldSelector } : {}),
      // When the transform would drop them, they are not decoded at all (the transform still runs).
      withoutManagedFields: this.#o.withoutManagedFields === true || this.#transform === withoutManagedFields,
      signal,
    })
    for await (const e of events) {
      if (e.type === 'ERROR') throw new ApiStatusError(e.object, e.object.code ?? 500)
      const rv = e.object.metadata?.resourceVersion ?? ''
      if (e.type === 'BOOKMARK') {
        if (rv !== '') this.#resourceVersion = rv
        continue
      }
      const obj = this.#transform(withKind(e.object, this.#client.ref))
      if (e.type === 'DELETED') {
        const old = this.#cache.delete(objectKey(obj))
        if (old) this.#notify((h) => h.delete?.(obj, false))
      } else {
        const old = this.#cache.set(obj)
        if (old) this.#notify((h) => h.update?.(old, obj))
        else this.#notify((h) => h.add?.(obj, false))
      }
      if (rv !== '') this.#resourceVersion = rv
    }
  }

  #startResync(ms: number, signal: AbortSignal): { cancel(): void } {
    const tick = (): void => {
      if (signal.aborted) return
      if (this.#synced) for (const o of this.#cache.values()) this.#notify((h) => h.update?.(o, o))
      timer = this.#clock.setTimer(ms, tick)
    }
    let timer = this.#clock.setTimer(ms, tick)
    return { cancel: () => timer.cancel() }
  }

  #notify(fn: (h: EventHandler<T>) => void): void {
    for (const h of this.#handlers) this.#call(() => fn(h))
  }

  #call(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.#o.log?.error({ resource: this.#client.ref.resource, err }, 'an informer event handler failed')
    }
  }
}

const initialBackoffMs = 800
const maxBackoffMs = 30_000
const minWatchTimeoutSeconds = 300

function withKind<T extends ObjectLike>(obj: T, ref: ResourceRef): T {
  if (obj.kind && obj.apiVersion) return obj
  return {
    ...obj,
    kind: ref.kind,
    apiVersion: ref.group === '' ? ref.version : `${ref.group}/${ref.version}`,
  }
}

/**
 * One informer per resource for a whole process (client-go's SharedInformerFactory): controllers
 * that watch the same resource share its watch and its cache.
 */
export class InformerFactory {
  readonly #rest: RestClient
  readonly #o: InformerOptions
  readonly #informers = new Map<string, Informer<ObjectLike>>()
  readonly #running = new Set<Informer<ObjectLike>>()
  readonly #done: Promise<void>[] = []

  constructor(rest: RestClient, o: InformerOptions = {}) {
    this.#rest = rest
    this.#o = o
  }

  /** The informer of a resource, made on first use. */
  informer<T extends ObjectLike>(ref: ResourceRef): Informer<T> {
    const key = `${ref.group}/${ref.version}/${ref.resource}`
    let inf = this.#informers.get(key)
    if (!inf) {
      inf = new Informer<ObjectLike>(new ResourceClient<ObjectLike>(this.#rest, ref), this.#o)
      this.#informers.set(key, inf)
    }
    return inf as unknown as Informer<T>
  }

  /** Runs every informer made so far that is not running yet. */
  start(signal: AbortSignal): void {
    for (const inf of this.#informers.values()) {
      if (this.#running.has(inf)) continue
      this.#running.add(inf)
      this.#done.push(inf.run(signal))
    }
  }

  /** Resolves when every informer made so far has synced. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync(signal)))
  }

  /** Resolves when every started informer has stopped (after the signal given to start aborted). */
  async stopped(): Promise<void> {
    await Promise.allSettled(this.#done)
  }
}
