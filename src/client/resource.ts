import type { DeleteOptions, ListMeta, Status } from '../api/generated/types/meta-v1.ts'
import type { ObjectMeta } from '../api/generated/types/meta-v1.ts'
import { findResource } from '../api/resources.ts'
import type { Query, RequestOptions, RestClient, WatchEvent } from './rest.ts'

/** Any Kubernetes object: the generated types (Pod, Lease, ...) and plain JSON alike. */
export interface ObjectLike {
  apiVersion?: string
  kind?: string
  metadata?: ObjectMeta
}

/** Which resource a client talks to: what its URLs are made of. */
export interface ResourceRef {
  /** '' for the core group. */
  readonly group: string
  readonly version: string
  /** The plural in URLs: pods, deployments. */
  readonly resource: string
  readonly kind: string
  readonly namespaced: boolean
}

/** A built-in resource by group, version and plural; throws for one the API does not have. */
export function builtin(group: string, version: string, resource: string): ResourceRef {
  const r = findResource(group, version, resource)
  if (!r) throw new Error(`${resource}.${group || 'core'}/${version} is not a built-in resource`)
  return { group: r.group, version: r.version, resource: r.resource, kind: r.kind, namespaced: r.namespaced }
}

export interface ObjectList<T> {
  apiVersion?: string
  kind?: string
  metadata: ListMeta
  items: T[]
}

export interface ListOptions {
  labelSelector?: string
  fieldSelector?: string
  limit?: number
  continue?: string
  resourceVersion?: string
  resourceVersionMatch?: 'Exact' | 'NotOlderThan'
  signal?: AbortSignal
}

export interface WatchOptions {
  labelSelector?: string
  fieldSelector?: string
  resourceVersion?: string
  allowWatchBookmarks?: boolean
  /** The server ends the watch after this long (the informers pick 5 to 10 minutes). */
  timeoutSeconds?: number
  signal?: AbortSignal
  /**
   * The events' objects come without metadata.managedFields, taken out of the text before it is
   * decoded (for informers that would drop them after).
   */
  withoutManagedFields?: boolean
}

export interface WriteOptions {
  fieldManager?: string
  dryRun?: boolean
  signal?: AbortSignal
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply'

const patchContentType: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
}

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take over fields other managers own. */
  force?: boolean
  subresource?: string
}

/**
 * The verbs of one resource, typed by its kind (client-go's typed clientsets). Namespaced
 * resources take the namespace first; cluster-scoped ones take '' there. Writes take the
 * namespace and name from the object.
 */
export class ResourceClient<T extends ObjectLike> {
  readonly ref: ResourceRef
  readonly #rest: RestClient

  constructor(rest: RestClient, ref: ResourceRef) {
    this.#rest = rest
    this.ref = ref
  }

  /** /api/v1/namespaces/ns/pods[/name[/subresource]] */
  path(namespace: string, name?: string, subresource?: string): string {
    const r = this.ref
    let p = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`
    if (r.namespaced && namespace !== '') p += `/namespaces/${encodeURIComponent(namespace)}`
    p += `/${r.resource}`
    if (name !== undefined) p += `/${encodeURIComponent(name)}`
    if (subresource) p += `/${subresource}`
    return p
  }

  get(namespace: string, name: string, o: { signal?: AbortSignal } = {}): Promise<T> {
    return this.#rest.request<T>('GET', this.path(namespace, name), o)
  }

  /** One page (or the whole list without `limit`); namespace '' lists across all namespaces. */
  list(namespace: string, o: ListOptions = {}): Promise<ObjectList<T>> {
    const { signal, ...query } = o
    return this.#rest.request<ObjectList<T>>('GET', this.path(namespace), {
      query: query,
      ...(signal ? { signal } : {}),
    })
  }

  create(obj: T, o: WriteOptions = {}): Promise<T> {
    return this.#rest.request<T>('POST', this.path(this.#namespaceOf(obj)), {
      body: obj,
      ...writeQuery(o),
    })
  }

  /** create, for a caller that reads nothing of the answer: resolves once it succeeded. */
  createUnread(obj: T, o: WriteOptions = {}): Promise<void> {
    return this.#rest.send('POST', this.path(this.#namespaceOf(obj)), { body: obj, ...writeQuery(o) })
  }

  /** PUT: replaces the object (its resourceVersion, when set, is a precondition). */
  update(obj: T, o: WriteOptions = {}): Promise<T> {
    return this.#rest.request<T>('PUT', this.path(this.#namespaceOf(obj), nameOf(obj)), {
      body: obj,
      ...writeQuery(o),
    })
  }

  /** PUT on the status subresource: only status changes. */
  updateStatus(obj: T, o: WriteOptions = {}): Promise<T> {
    return this.#rest.request<T>('PUT', this.path(this.#namespaceOf(obj), nameOf(obj), 'status'), {
      body: obj,
      ...writeQuery(o),
    })
  }

  patch(namespace: string, name: string, type: PatchType, patch: unknown, o: PatchOptions = {}): Promise<T> {
    return this.#rest.request<T>(
      'PATCH',
      this.path(namespace, name, o.subresource),
      patchRequest(type, patch, o),
    )
  }

  /** patch, for a caller that reads nothing of the answer: resolves once it succeeded. */
  patchUnread(
    namespace: string,
    name: string,
    type: PatchType,
    patch: unknown,
    o: PatchOptions = {},
  ): Promise<void> {
    return this.#rest.send('PATCH', this.path(namespace, name, o.subresource), patchRequest(type, patch, o))
  }

  /**
   * Deletes (or starts deleting) an object: resolves to the object as it now is (with its
   * deletionTimestamp while finalizers or a grace period hold it), or the Status of a delete
   * that completed at once for resources that answer so.
   */
  delete(
    namespace: string,
    name: string,
    o: Omit<DeleteOptions, 'kind' | 'apiVersion'> & { signal?: AbortSignal } = {},
  ): Promise<T | Status> {
    const { signal, ...options } = o
    return this.#rest.request<T | Status>('DELETE', this.path(namespace, name), {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', ...options },
      ...(signal ? { signal } : {}),
    })
  }

  /** A subresource: GET and PUT of deployments/scale, POST of pods/binding and pods/eviction. */
  subresource<R>(
    method: 'GET' | 'PUT' | 'POST',
    target: { namespace: string; name: string; subresource: string },
    o: WriteOptions & { body?: unknown } = {},
  ): Promise<R> {
    const { body, ...write } = o
    return this.#rest.request<R>(method, this.path(target.namespace, target.name, target.subresource), {
      ...(body !== undefined ? { body } : {}),
      ...writeQuery(write),
    })
  }

  #namespaceOf(obj: ObjectLike): string {
    const ns = obj.metadata?.namespace ?? ''
    if (this.ref.namespaced && ns === '') throw new Error(`a ${this.ref.kind} needs metadata.namespace`)
    return this.ref.namespaced ? ns : ''
  }

  watch(namespace: string, o: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const { signal, withoutManagedFields, ...query } = o
    return this.#rest.watch<T>(this.path(namespace), query, signal, {
      withoutManagedFields: withoutManagedFields ?? false,
    })
  }
}

function patchRequest(type: PatchType, patch: unknown, o: PatchOptions): RequestOptions {
  const { force, subresource: _, ...write } = o
  const w = writeQuery(write)
  return {
    body: patch,
    contentType: patchContentType[type],
    query: { ...w.query, ...(force ? { force: true } : {}) },
    ...(w.signal ? { signal: w.signal } : {}),
  }
}

function writeQuery(o: WriteOptions): { query: Query; signal?: AbortSignal } {
  return {
    query: {
      ...(o.fieldManager ? { fieldManager: o.fieldManager } : {}),
      ...(o.dryRun ? { dryRun: 'All' } : {}),
    },
    ...(o.signal ? { signal: o.signal } : {}),
  }
}

function nameOf(obj: ObjectLike): string {
  const name = obj.metadata?.name ?? ''
  if (name === '') throw new Error('the object has no metadata.name')
  return name
}
