import type { ObjectLike } from './resource.ts'
import type { LabelSelector } from '../api/selectors/label-selector.ts'

/**
 * The informer's store (client-go's ThreadSafeStore with indexers): objects by key, and for each
 * index the keys of the objects that map to each value. Objects in it are shared by every reader:
 * they are never changed in place, only replaced.
 */

/** `namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: ObjectLike): string {
  const ns = obj.metadata?.namespace ?? ''
  const name = obj.metadata?.name ?? ''
  return ns === '' ? name : `${ns}/${name}`
}

/** The namespace and name of a key made by objectKey. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/')
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) }
}

/** Values an object is indexed under (for example its namespace, its node name). */
export type IndexFunc<T> = (obj: Readonly<T>) => readonly string[]

/** The index every informer has: objects by namespace. */
export const namespaceIndex = 'namespace'

export class IndexedCache<T extends ObjectLike> {
  readonly #items = new Map<string, Readonly<T>>()
  readonly #indexers = new Map<string, IndexFunc<T>>()
  readonly #indices = new Map<string, Map<string, Set<string>>>()

  constructor() {
    this.addIndex(namespaceIndex, (o) => [o.metadata?.namespace ?? ''])
  }

  /** A cache holding these objects (tests fill informer caches this way). */
  static of<T extends ObjectLike>(objects: Iterable<Readonly<T>>): IndexedCache<T> {
    const cache = new IndexedCache<T>()
    for (const o of objects) cache.set(o)
    return cache
  }

  hasIndex(name: string): boolean {
    return this.#indexers.has(name)
  }

  /** Adds an index; objects already in the cache are indexed at once. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.#indexers.has(name)) throw new Error(`index ${name} exists already`)
    this.#indexers.set(name, fn)
    const index = new Map<string, Set<string>>()
    this.#indices.set(name, index)
    for (const [key, obj] of this.#items) for (const v of fn(obj)) addTo(index, v, key)
  }

  get(key: string): Readonly<T> | undefined {
    return this.#items.get(key)
  }

  get size(): number {
    return this.#items.size
  }

  keys(): IterableIterator<string> {
    return this.#items.keys()
  }

  values(): IterableIterator<Readonly<T>> {
    return this.#items.values()
  }

  /** Objects whose index `name` holds `value`. */
  byIndex(name: string, value: string): Readonly<T>[] {
    const index = this.#indices.get(name)
    if (!index) throw new Error(`there is no index ${name}`)
    const out: Readonly<T>[] = []
    for (const key of index.get(value) ?? []) {
      const o = this.#items.get(key)
      if (o) out.push(o)
    }
    return out
  }

  /** Stores an object; returns the one it replaced. */
  set(obj: Readonly<T>): Readonly<T> | undefined {
    const key = objectKey(obj)
    const old = this.#items.get(key)
    if (old) this.#unindex(key, old)
    this.#items.set(key, obj)
    for (const [name, fn] of this.#indexers) {
      const index = this.#indices.get(name) as Map<string, Set<string>>
      for (const v of fn(obj)) addTo(index, v, key)
    }
    return old
  }

  /** Removes an object by key; returns it. */
  delete(key: string): Readonly<T> | undefined {
    const old = this.#items.get(key)
    if (!old) return undefined
    this.#unindex(key, old)
    this.#items.delete(key)
    return old
  }

  #unindex(key: string, obj: Readonly<T>): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indices.get(name) as Map<string, Set<string>>
      for (const v of fn(obj)) {
        const keys = index.get(v)
        keys?.delete(key)
        if (keys?.size === 0) index.delete(v)
      }
    }
  }
}

function addTo(index: Map<string, Set<string>>, value: string, key: string): void {
  let keys = index.get(value)
  if (!keys) index.set(value, (keys = new Set()))
  keys.add(key)
}

/**
 * Reads an informer's cache (client-go's listers): what the informer has seen, which may trail the
 * apiserver by the time a watch event takes. Objects are shared: copy before changing them.
 */
export class Lister<T extends ObjectLike> {
  readonly #cache: IndexedCache<T>

  constructor(cache: IndexedCache<T>) {
    this.#cache = cache
  }

  /** An object by namespace ('' for cluster-scoped) and name. */
  get(namespace: string, name: string): Readonly<T> | undefined {
    return this.#cache.get(namespace === '' ? name : `${namespace}/${name}`)
  }

  /** Objects of one namespace ('' or undefined: all), optionally those a label selector matches. */
  list(namespace?: string, selector?: LabelSelector): Readonly<T>[] {
    const all = namespace ? this.#cache.byIndex(namespaceIndex, namespace) : [...this.#cache.values()]
    return selector ? all.filter((o) => selector.matches(o.metadata?.labels ?? {})) : all
  }

  byIndex(index: string, value: string): Readonly<T>[] {
    return this.#cache.byIndex(index, value)
  }
}
