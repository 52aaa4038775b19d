import { randomUUID } from 'node:crypto'
import {
  invalid as invalidField,
  forbidden as forbiddenField,
  type FieldError,
} from '../../api/field-errors.ts'
import type { Conversion } from '../../api/conversion.ts'
import { copyJson, deepEqual, type KubeObject, type StoredObject } from '../../api/object.ts'
import { normalizeObject } from '../../api/normalize.ts'
import {
  nameRuleFor,
  validateObjectMeta,
  validateObjectMetaUpdate,
  type MetaRules,
} from '../../api/validation/meta.ts'
import type { Clock } from '../../base/clock.ts'
import {
  guaranteedUpdate,
  isStorageError,
  revision,
  type KeyValue,
  type Storage,
} from '../../storage/index.ts'
import type { AdmissionAttributes, AdmissionChain, Operation } from '../admission/admission.ts'
import type { UserInfo } from '../authn/authenticator.ts'
import {
  ApiError,
  badRequest,
  conflict,
  fromStorageError,
  invalid,
  notFound,
  resourceExpired,
  timeout,
  type QualifiedResource,
} from '../errors.ts'
import { type ResourceStrategy, type StrategyContext } from './strategy.ts'
import { decodeJson, encoded, encodedAs, ownedBytes, WatchCache, type CachedObject } from './watch-cache.ts'
import type { Logger } from 'pino'

/**
 * The generic registry: create, read, update and delete of one resource over the store, with
 * Kubernetes' rules for metadata, optimistic concurrency, dry runs, graceful deletion and
 * finalizers. What differs per resource comes from its ResourceStrategy; reads come from the
 * resource's watch cache.
 */
export interface ResourceDefinition {
  readonly group: string
  readonly version: string
  readonly kind: string
  /** The plural, lower-case name: pods, deployments. */
  readonly resource: string
  readonly namespaced: boolean
}

/** Records who set which fields (server-side apply's managedFields). */
export interface FieldManager {
  /** Records an Update operation by `manager` that turned `prev` into `next` (next is changed in place). */
  update(
    next: StoredObject,
    prev: Readonly<StoredObject> | undefined,
    manager: string,
    subresource: string,
  ): void
}

export interface RegistryStoreOptions {
  definition: ResourceDefinition
  strategy: ResourceStrategy
  storage: Storage
  /** The store prefix, ending in '/'. */
  prefix: string
  clock: Clock
  log: Logger
  admission?: AdmissionChain
  /** Fills in defaults, as decoding a request does in kube-apiserver. */
  defaults?: (obj: StoredObject) => void
  fieldManager?: FieldManager
  /** Set when the resource is served in another version than it is stored in. */
  conversion?: Conversion
}

export interface WriteOptions {
  user: UserInfo
  dryRun?: boolean
  fieldManager?: string
  /** The subresource written through ('' for the main resource, 'status', 'scale', ...). */
  subresource?: string
  /** Where admission puts warnings for the client (the request's Warning headers). */
  warnings?: string[]
  /**
   * Admission has passed the request's own object already, and the write is not admitted again:
   * a subresource whose kind is not the resource's (pods/binding admits the Binding, as
   * Kubernetes does, not the pod it changes).
   */
  admitted?: boolean
}

export interface UpdateOptions extends WriteOptions {
  /** Create the object when it does not exist, whatever the strategy says (apply patches). */
  forceAllowCreate?: boolean
  /** Strategy for this endpoint (e.g. the /status strategy); the main one by default. */
  strategy?: ResourceStrategy
  /** The updated object carries its managedFields already (server-side apply did them). */
  fieldsManaged?: boolean
  /**
   * `updated` makes a new object on every call, sharing nothing with the current one or anything
   * else (a patch applied to a copy): the store changes it as it is instead of copying it first.
   */
  freshObjects?: boolean
  /**
   * `updated` gets a copy of the current object of its own, decoded for it, which it may change
   * and return (cheaper than a structuredClone of the one the store compares against).
   */
  ownCurrent?: boolean
  /**
   * `updated` returns a new object that may share the parts it left alone with the current one
   * (copy on write: what it changes, it replaces): the store gives it metadata of its own and
   * changes nothing else in it. The object is stored as it comes, so its parts must be as the
   * store keeps them: defaulted, and without nulls or empty optional lists and maps.
   */
  copyOnWrite?: boolean
}

/**
 * Produces the object to store from the current one (undefined when it does not exist): the PUT
 * body, or the current object with a patch applied.
 */
export type UpdatedObject = (
  current: Readonly<StoredObject> | undefined,
) => StoredObject | Promise<StoredObject>

export interface DeleteOptions extends WriteOptions {
  gracePeriodSeconds?: number
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground'
  preconditions?: { uid?: string; resourceVersion?: string }
}

export interface ListOptions {
  resourceVersion?: string
  resourceVersionMatch?: string
  limit?: number
  continue?: string
  /** Keeps only the objects it accepts (label and field selectors). */
  filter?: (o: CachedObject) => boolean
  /** Whether a filter is in effect (then no remainingItemCount can be given). */
  filtered?: boolean
}

export interface ListResult {
  items: CachedObject[]
  resourceVersion: string
  continue?: string
  remainingItemCount?: number
}

/**
 * A write of this process: the object and the JSON #encode made of it (with a placeholder where
 * its resourceVersion goes), kept by the bytes it stored and by the object. Once the write's
 * revision is known, whichever asks first (the watch cache, when the store's event for those
 * bytes arrives, or the write's caller) makes the object with its resourceVersion and its JSON,
 * and the other gets the same: an update no longer loses a race to the cache, which would then
 * decode the bytes and encode the object again. Both maps let go with the bytes and the object.
 */
interface Written {
  readonly obj: StoredObject
  /** Let go once the JSON is made: the object stays cached, and this entry with it, for a while. */
  text: string | undefined
  done?: { readonly revision: number; readonly object: StoredObject; readonly json: Buffer }
}

export class RegistryStore {
  readonly definition: ResourceDefinition
  readonly qualified: QualifiedResource
  readonly cache: WatchCache
  readonly strategy: ResourceStrategy
  readonly #storage: Storage
  readonly #prefix: string
  readonly #clock: Clock
  readonly #admission: AdmissionChain | undefined
  readonly #defaults: ((obj: StoredObject) => void) | undefined
  readonly #fieldManager: FieldManager | undefined
  readonly #metaRules: MetaRules
  readonly #conversion: Conversion | undefined
  /** What this process wrote, by the bytes it stored and by the object (see Written). */
  readonly #written = new WeakMap<Uint8Array, Written>()
  readonly #writtenObjects = new WeakMap<StoredObject, Written>()

  /**
   * The watch cache starts on the first read rather than with the server: for the kinds whose
   * strategy says so (Events), and for a view served through a conversion from another version's
   * storage (events.k8s.io events are core events), which would decode, convert and keep every
   * object a second time.
   */
  get cachedOnFirstRead(): boolean {
    return this.#conversion !== undefined || this.strategy.cacheOnFirstRead === true
  }

  /**
   * What a write waits for before it starts: the cache's first list, unless the cache starts on
   * first read and has not (the write then goes to the store alone).
   */
  #cacheForWrites(): Promise<void> | undefined {
    return this.cachedOnFirstRead && !this.cache.started ? undefined : this.cache.start()
  }

  constructor(o: RegistryStoreOptions) {
    this.definition = o.definition
    this.qualified = { group: o.definition.group, resource: o.definition.resource }
    this.strategy = o.strategy
    this.#metaRules = {
      namespaced: o.definition.namespaced,
      name: nameRuleFor(o.definition.group, o.definition.resource),
    }
    this.#storage = o.storage
    this.#prefix = o.prefix
    this.#clock = o.clock
    this.#admission = o.admission
    this.#defaults = o.defaults
    this.#fieldManager = o.fieldManager
    this.#conversion = o.conversion
    const conversion = o.conversion
    this.cache = new WatchCache({
      storage: o.storage,
      prefix: o.prefix,
      namespaced: o.definition.namespaced,
      decode: conversion ? (bytes) => conversion.fromStored(decodeJson(bytes)) : decodeJson,
      written: (bytes, rev) => {
        const w = this.#written.get(bytes)
        if (!w) return undefined
        this.#written.delete(bytes)
        return this.#complete(w, rev)
      },
      log: o.log,
    })
  }

  keyFor(namespace: string, name: string): string {
    return this.cache.keyFor(namespace, name)
  }

  // --- reads -----------------------------------------------------------------------------------

  /**
   * One object. Without a resourceVersion the read is consistent (it sees every write that
   * finished before it); with one, any state at least that new will do.
   */
  /**
   * A consistent read answered at once when the cache is known to be current: the object, null
   * when there is none, or undefined when only the asynchronous `get` can tell.
   */
  peek(namespace: string, name: string): CachedObject | null | undefined {
    if (!this.cache.isCurrent()) return undefined
    return this.cache.get(this.keyFor(namespace, name)) ?? null
  }

  async get(namespace: string, name: string, resourceVersion = ''): Promise<CachedObject> {
    await this.cache.start()
    const key = this.keyFor(namespace, name)
    if (resourceVersion === '' && !(await this.cache.catchUp())) {
      const kv = await this.#storageCall(() => this.#storage.get(key), name)
      if (!kv) throw notFound(this.qualified, name)
      return this.#fromKeyValue(kv)
    }
    if (resourceVersion !== '' && resourceVersion !== '0')
      await this.#waitForRevision(parseResourceVersion(resourceVersion))
    const o = this.cache.get(key)
    if (!o) throw notFound(this.qualified, name)
    return o
  }

  /**
   * The objects of a namespace (or all), with Kubernetes' resourceVersion rules:
   * - '' (unset): consistent, the newest state;
   * - '0': whatever the cache holds;
   * - 'N' (NotOlderThan, the default match): at least as new as N;
   * - 'N' with resourceVersionMatch=Exact: exactly at N (read from the store's history).
   * Paging: `limit` cuts the list and returns a continue token that reads on at the same revision.
   */
  async list(namespace: string, o: ListOptions): Promise<ListResult> {
    await this.cache.start()
    const limit = o.limit !== undefined && o.limit > 0 ? o.limit : undefined
    if (o.continue) {
      const token = decodeContinue(o.continue)
      if (token.start !== '' && !token.start.startsWith(this.#prefix)) {
        throw badRequest('continue key is not valid: the key does not belong to this resource')
      }
      return this.#listFromStore(namespace, o, token, limit)
    }
    const rv = o.resourceVersion ?? ''
    const match = o.resourceVersionMatch ?? ''
    if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan') {
      throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [
        invalidField('resourceVersionMatch', match, 'must be one of Exact, NotOlderThan'),
      ])
    }
    if (match !== '' && rv === '') {
      throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [
        forbiddenField(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden unless resourceVersion is provided',
        ),
      ])
    }
    if (match === 'Exact') {
      const at = parseResourceVersion(rv)
      if (at === 0) {
        throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [
          forbiddenField(
            'resourceVersionMatch',
            'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
          ),
        ])
      }
      return this.#listFromStore(namespace, o, { revision: at, start: '' }, limit)
    }
    if (rv === '') {
      if (!(await this.cache.catchUp())) {
        return this.#listFromStore(namespace, o, { revision: 0, start: '' }, limit)
      }
    } else if (rv !== '0') {
      await this.#waitForRevision(parseResourceVersion(rv))
    }
    const revisionNow = this.cache.revision
    const all = this.cache.list(namespace)
    const items = o.filter ? all.filter(o.filter) : all
    if (limit === undefined || items.length <= limit) return { items, resourceVersion: String(revisionNow) }
    const page = items.slice(0, limit)
    const last = page.at(-1)
    const result: ListResult = {
      items: page,
      resourceVersion: String(revisionNow),
      continue: encodeContinue({ revision: revisionNow, start: (last?.key ?? '') + '\0' }),
    }
    if (!o.filtered) result.remainingItemCount = items.length - limit
    return result
  }

  /** Reads a page straight from the store, at the revision a continue token (or Exact) names. */
  async #listFromStore(
    namespace: string,
    o: ListOptions,
    from: ContinueToken,
    limit: number | undefined,
  ): Promise<ListResult> {
    const prefix =
      this.definition.namespaced && namespace !== '' ? `${this.#prefix}${namespace}/` : this.#prefix
    const items: CachedObject[] = []
    let startKey = from.start === '' ? undefined : from.start
    let at = from.revision === 0 ? undefined : revision(from.revision)
    let more = false
    let lastKey = ''
    try {
      for (;;) {
        const want = limit === undefined ? undefined : Math.max(limit - items.length, 1)
        const page = await this.#storage.list(prefix, {
          ...(at !== undefined ? { revision: at } : {}),
          ...(startKey !== undefined ? { startKey } : {}),
          ...(want !== undefined ? { limit: o.filter ? Math.max(want, 100) : want } : {}),
        })
        at = page.revision
        for (const kv of page.items) {
          lastKey = kv.key
          const c = this.#fromKeyValue(kv)
          if (!o.filter || o.filter(c)) items.push(c)
          if (limit !== undefined && items.length >= limit) break
        }
        const cutShort = limit !== undefined && items.length >= limit
        if (cutShort) {
          more = page.more || lastKey !== page.items.at(-1)?.key
          break
        }
        if (!page.more) break
        startKey = lastKey + '\0'
      }
    } catch (err) {
      if (isStorageError(err, 'Compacted')) {
        throw resourceExpired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        )
      }
      throw err instanceof ApiError ? err : this.#translate(err, '')
    }
    const result: ListResult = { items, resourceVersion: String(at ?? 0) }
    if (more) result.continue = encodeContinue({ revision: at ?? 0, start: lastKey + '\0' })
    return result
  }

  async #waitForRevision(rev: number): Promise<void> {
    if (this.cache.revision >= rev) return
    // As kube-apiserver's cache does: wait up to 3 s for the revision (a client may have seen a
    // write this cache has not yet), then answer 504 with Retry-After.
    await this.cache.catchUp()
    if (this.cache.revision >= rev) return
    if (!(await this.cache.waitFor(rev, 3000))) {
      throw timeout(`Too large resource version: ${rev}, current: ${this.cache.revision}`, 1)
    }
  }

  // --- writes ----------------------------------------------------------------------------------

  /** Stores a new object; answers what was stored (or would be, for a dry run). */
  async create(namespace: string, obj: StoredObject, o: WriteOptions): Promise<StoredObject> {
    await this.#cacheForWrites()
    const ctx = this.#context(o.user, namespace)
    this.#checkNamespace(obj, namespace)
    this.#defaults?.(obj)
    const m = obj.metadata
    if (!m.name && m.generateName) m.name = generateName(m.generateName)
    await this.#mutate('CREATE', obj, undefined, o)
    this.#checkNamespace(obj, namespace)
    this.#resetServerMetadata(obj, ctx)
    await this.strategy.prepareForCreate?.(obj, ctx)
    this.#normalize(obj)
    let stored = false
    try {
      const errors = [...this.#metadataErrors(obj), ...(this.strategy.validate?.(obj, ctx) ?? [])]
      if (errors.length > 0) throw invalid(this.#kind(), m.name ?? '', errors)
      await this.#validateAdmission('CREATE', obj, undefined, o)
      this.strategy.canonicalize?.(obj)
      this.#fieldManager?.update(obj, undefined, o.fieldManager ?? '', o.subresource ?? '')
      if (o.dryRun) return obj
      const kv = await this.#storageCall(
        () => this.#storage.create(this.keyFor(namespace, m.name ?? ''), this.#encode(obj), this.#ttl(obj)),
        m.name ?? '',
      )
      stored = true
      return this.#handOver(obj, kv.modRevision)
    } finally {
      await this.strategy.afterCreate?.(obj, stored && !o.dryRun)
    }
  }

  /**
   * Replaces an object with what `updated` makes of the current one, retrying on conflicts with
   * other writers (the function runs again on the newer object). A resourceVersion in the new
   * object is a precondition: when it is not the current one, the answer is 409 Conflict.
   * Resolves to the stored object and whether it was created.
   */
  async update(
    namespace: string,
    name: string,
    updated: UpdatedObject,
    o: UpdateOptions,
  ): Promise<{ object: StoredObject; created: boolean }> {
    await this.#cacheForWrites()
    const strategy = o.strategy ?? this.strategy
    const ctx = this.#context(o.user, namespace)
    const key = this.keyFor(namespace, name)
    let result: StoredObject | undefined
    let created = false
    let deletedByUpdate = false
    // What the last attempt prepared (and may have claimed, e.g. a cluster IP): undone when the
    // attempt loses to a conflict or the write fails, confirmed when it is stored.
    let prepared: { obj: StoredObject; prev?: StoredObject } | undefined
    const settle = async (stored: boolean) => {
      const p = prepared
      prepared = undefined
      if (!p) return
      if (p.prev) await strategy.afterUpdate?.(p.obj, p.prev, stored)
      else await this.strategy.afterCreate?.(p.obj, stored)
    }
    const cached = this.cache.get(key)
    const cachedKv = cached ? cachedKeyValue(key, cached) : undefined
    let wrote = false
    try {
      const kv = await guaranteedUpdate(
        this.#storage,
        key,
        async (current) => {
          await settle(false)
          created = false
          deletedByUpdate = false
          wrote = false
          // A copy of the cached object is parsed from its JSON (already converted, with its
          // resourceVersion): JSON.parse makes a pod in about two thirds of the time that copying
          // the cached object member by member took in the server (~38 against ~54 us), where
          // cached objects come in many shapes.
          const decode = (kv: KeyValue) =>
            kv === cachedKv && cached ? decodeJson(cached.json) : this.#decode(kv)
          // The cached object itself when the write starts from it: nothing below changes the
          // current object (the tests deep-freeze cached objects), so it needs no decoded copy.
          const existing: Readonly<StoredObject> | undefined =
            current === cachedKv && cached ? cached.object : current ? decode(current) : undefined
          if (!existing) {
            if (!(o.forceAllowCreate || strategy.allowCreateOnUpdate)) throw notFound(this.qualified, name)
            const obj = copyJson(await updated(undefined))
            this.#checkNameMatches(obj, name)
            if (obj.metadata.resourceVersion) throw notFound(this.qualified, name)
            this.#checkNamespace(obj, namespace)
            this.#defaults?.(obj)
            await this.#mutate('CREATE', obj, undefined, o)
            this.#checkNameMatches(obj, name)
            this.#checkNamespace(obj, namespace)
            this.#resetServerMetadata(obj, ctx)
            await this.strategy.prepareForCreate?.(obj, ctx)
            prepared = { obj }
            this.#normalize(obj)
            const errors = [...this.#metadataErrors(obj), ...(this.strategy.validate?.(obj, ctx) ?? [])]
            if (errors.length > 0) throw invalid(this.#kind(), name, errors)
            await this.#validateAdmission('CREATE', obj, undefined, o)
            this.strategy.canonicalize?.(obj)
            if (!o.fieldsManaged)
              this.#fieldManager?.update(obj, undefined, o.fieldManager ?? '', o.subresource ?? '')
            created = true
            result = obj
            if (o.dryRun) return undefined
            wrote = true
            return this.#encode(obj)
          }
          // A copy: a retry after a conflict starts again from what the caller gave.
          const made = await updated(o.ownCurrent && current ? decode(current) : existing)
          const obj = o.freshObjects
            ? made
            : o.copyOnWrite
              ? { ...made, metadata: { ...made.metadata } }
              : copyJson(made)
          this.#checkNameMatches(obj, name)
          this.#checkNamespace(obj, namespace)
          const rv = obj.metadata.resourceVersion ?? ''
          if (rv !== '' && rv !== existing.metadata.resourceVersion) throw conflict(this.qualified, name)
          if (rv === '' && strategy.allowUnconditionalUpdate === false) {
            throw invalid(this.#kind(), name, [
              invalidField('metadata.resourceVersion', '0x0', 'must be specified for an update'),
            ])
          }
          // A copy-on-write object is stored as it comes (see copyOnWrite): defaulting it again
          // would write into the parts it shares with the cached object.
          if (!o.copyOnWrite) this.#defaults?.(obj)
          this.#keepServerMetadata(obj, existing)
          await this.#mutate('UPDATE', obj, existing, o)
          this.#checkNameMatches(obj, name)
          this.#checkNamespace(obj, namespace)
          this.#keepServerMetadata(obj, existing)
          await strategy.prepareForUpdate?.(obj, existing, ctx)
          prepared = { obj, prev: existing }
          if (!o.copyOnWrite) this.#normalize(obj, existing)
          const errors = [
            ...this.#metadataErrors(obj),
            ...this.#metadataUpdateErrors(obj, existing),
            ...(strategy.validateUpdate?.(obj, existing, ctx) ?? []),
          ]
          if (errors.length > 0) throw invalid(this.#kind(), name, errors)
          await this.#validateAdmission('UPDATE', obj, existing, o)
          strategy.canonicalize?.(obj)
          if (!o.fieldsManaged)
            this.#fieldManager?.update(obj, existing, o.fieldManager ?? '', o.subresource ?? '')
          obj.metadata.resourceVersion = existing.metadata.resourceVersion
          if (sameObject(obj, existing)) {
            result = existing
            return undefined
          }
          result = obj
          // The last finalizer of an object being deleted is gone: the update completes the delete
          // (not while a grace period runs: a terminating pod's kubelet still writes its status).
          if (
            existing.metadata.deletionTimestamp &&
            !existing.metadata.deletionGracePeriodSeconds &&
            (obj.metadata.finalizers ?? []).length === 0 &&
            !(strategy.deletionBlocked?.(obj) ?? false) &&
            !o.dryRun
          ) {
            deletedByUpdate = true
            return undefined
          }
          if (o.dryRun) return undefined
          wrote = true
          return this.#encode(obj)
        },
        cachedKv ? { cached: cachedKv } : {},
      )
      if (!result) throw notFound(this.qualified, name)
      if (deletedByUpdate) {
        await settle(false)
        const current = result
        const expected = kv?.modRevision
        const del = await this.#storageCall(
          () => this.#storage.delete(key, expected === undefined ? {} : { expected }),
          name,
        )
        await this.strategy.afterDelete?.(current)
        return { object: this.#withRevision(current, del.revision), created: false }
      }
      await settle(wrote)
      if (!wrote || !kv) return { object: result, created }
      return { object: this.#handOver(result, kv.modRevision), created }
    } catch (err) {
      await settle(false)
      throw err instanceof ApiError ? err : this.#translate(err, name)
    }
  }

  /**
   * Deletes an object, or starts its deletion: when finalizers remain, or the strategy asks for
   * a grace period, the object gets its deletionTimestamp and stays until they are done.
   * Resolves to the object (as deleted, or as it now is) and whether it is gone.
   */
  async delete(
    namespace: string,
    name: string,
    o: DeleteOptions,
  ): Promise<{ object: StoredObject; deleted: boolean }> {
    await this.#cacheForWrites()
    const key = this.keyFor(namespace, name)
    for (let attempt = 0; attempt < 10; attempt++) {
      const kv = await this.#storageCall(() => this.#storage.get(key), name)
      if (!kv) throw notFound(this.qualified, name)
      const existing = this.#decode(kv)
      const pre = o.preconditions
      if (pre?.uid && pre.uid !== existing.metadata.uid) {
        throw conflict(
          this.qualified,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid ?? ''}`,
        )
      }
      if (pre?.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) {
        throw conflict(
          this.qualified,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion ?? ''}`,
        )
      }
      await this.#mutate('DELETE', undefined, existing, o)
      await this.#validateAdmission('DELETE', undefined, existing, o)
      const next = copyJson(existing)
      const m = next.metadata
      const finalizers = new Set(m.finalizers ?? [])
      if (o.propagationPolicy === 'Orphan') {
        finalizers.add('orphan')
        finalizers.delete('foregroundDeletion')
      } else if (o.propagationPolicy === 'Foreground') {
        finalizers.add('foregroundDeletion')
        finalizers.delete('orphan')
      } else if (o.propagationPolicy === 'Background') {
        // Asked for explicitly, background deletion takes back an earlier orphan or foreground one.
        finalizers.delete('orphan')
        finalizers.delete('foregroundDeletion')
      }
      const grace = this.strategy.gracePeriodSeconds?.(existing, o.gracePeriodSeconds) ?? 0
      const alreadyDeleting = m.deletionTimestamp !== undefined
      const blocked = this.strategy.deletionBlocked?.(existing) ?? false
      if (finalizers.size === 0 && grace === 0 && !blocked) {
        if (o.dryRun) return { object: existing, deleted: true }
        try {
          const del = await this.#storage.delete(key, { expected: kv.modRevision })
          await this.strategy.afterDelete?.(existing)
          return { object: this.#withRevision(existing, del.revision), deleted: true }
        } catch (err) {
          if (isStorageError(err, 'Conflict')) continue
          throw this.#translate(err, name)
        }
      }
      // Graceful or finalized deletion: mark it, unless it is already marked with a shorter grace.
      const now = this.#clock.now()
      if (!alreadyDeleting || grace < (m.deletionGracePeriodSeconds ?? Infinity)) {
        m.deletionTimestamp = rfc3339(now + grace * 1000)
        m.deletionGracePeriodSeconds = grace
      }
      if (finalizers.size > 0) m.finalizers = [...finalizers]
      this.strategy.prepareForDeletion?.(next)
      if (deepEqual(next, existing)) return { object: existing, deleted: false }
      if (o.dryRun) return { object: next, deleted: false }
      try {
        const updated = await this.#storage.update(key, this.#encode(next), kv.modRevision, this.#ttl(next))
        return { object: this.#handOver(next, updated.modRevision), deleted: false }
      } catch (err) {
        if (isStorageError(err, 'Conflict')) continue
        throw this.#translate(err, name)
      }
    }
    throw conflict(this.qualified, name)
  }

  // --- helpers ---------------------------------------------------------------------------------

  /**
   * Nulls and empty optional maps and lists go, as Kubernetes' encoding drops them; members shared
   * with `stored` as they are were normalized when it was stored.
   */
  #normalize(obj: StoredObject, stored?: Readonly<StoredObject>): void {
    normalizeObject(
      { group: this.definition.group, version: this.definition.version, kind: this.definition.kind },
      obj,
      stored,
    )
  }

  #context(user: UserInfo, namespace: string): StrategyContext {
    return { user, namespace, now: this.#clock.now() }
  }

  #kind() {
    return { group: this.definition.group, kind: this.definition.kind }
  }

  /** The namespace in the body must be the request's (or absent: then it is filled in). */
  #checkNamespace(obj: StoredObject, namespace: string): void {
    const m = obj.metadata
    if (!this.definition.namespaced) {
      if (m.namespace) delete m.namespace
      return
    }
    if (m.namespace && m.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      )
    }
    m.namespace = namespace
  }

  #checkNameMatches(obj: StoredObject, name: string): void {
    const n = obj.metadata.name
    if (n === undefined || n === '') obj.metadata.name = name
    else if (n !== name)
      throw badRequest(`the name of the object (${n}) does not match the name on the URL (${name})`)
  }

  /** On create, the server owns uid, creation time and the deletion state. */
  #resetServerMetadata(obj: StoredObject, ctx: StrategyContext): void {
    const m = obj.metadata
    if (m.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created')
    m.uid = randomUUID()
    m.creationTimestamp = rfc3339(ctx.now)
    delete m.resourceVersion
    delete m.deletionTimestamp
    delete m.deletionGracePeriodSeconds
    delete m.selfLink
    if (m.generation !== undefined) m.generation = 1
  }

  /** On update, what only the server sets is carried over from the stored object. */
  #keepServerMetadata(obj: StoredObject, existing: Readonly<StoredObject>): void {
    const m = obj.metadata
    const e = existing.metadata
    m.uid ??= e.uid
    m.creationTimestamp ??= e.creationTimestamp
    if (e.generation !== undefined) m.generation = e.generation
    else delete m.generation
    // The deletion state changes only through delete.
    if (e.deletionTimestamp === undefined) delete m.deletionTimestamp
    else m.deletionTimestamp = e.deletionTimestamp
    if (e.deletionGracePeriodSeconds === undefined) delete m.deletionGracePeriodSeconds
    else m.deletionGracePeriodSeconds = e.deletionGracePeriodSeconds
    delete m.selfLink
  }

  #metadataErrors(obj: StoredObject): FieldError[] {
    return validateObjectMeta(obj.metadata, this.#metaRules)
  }

  #metadataUpdateErrors(obj: StoredObject, existing: Readonly<StoredObject>): FieldError[] {
    return validateObjectMetaUpdate(obj.metadata, existing.metadata)
  }

  /**
   * Admission's mutating phase, as Kubernetes runs it: on the object as the client sent it (with
   * defaults), before the strategy prepares and validates it, so what plugins and webhooks
   * change is validated too.
   */
  async #mutate(
    op: Operation,
    obj: StoredObject | undefined,
    old: StoredObject | undefined,
    o: WriteOptions | DeleteOptions,
  ): Promise<void> {
    if (this.#admission && !admitted(o)) await this.#admission.admit(this.#attributes(op, obj, old, o))
  }

  /** Admission's validating phase: on the object as it will be stored. */
  async #validateAdmission(
    op: Operation,
    obj: StoredObject | undefined,
    old: StoredObject | undefined,
    o: WriteOptions | DeleteOptions,
  ): Promise<void> {
    if (this.#admission && !admitted(o)) await this.#admission.validate(this.#attributes(op, obj, old, o))
  }

  #attributes(
    op: Operation,
    obj: StoredObject | undefined,
    old: StoredObject | undefined,
    o: WriteOptions | DeleteOptions,
  ): AdmissionAttributes {
    const target = obj ?? old
    const defaults = this.#defaults
    return {
      operation: op,
      group: this.definition.group,
      version: this.definition.version,
      resource: this.definition.resource,
      subresource: o.subresource ?? '',
      kind: this.definition.kind,
      namespace: target?.metadata.namespace ?? '',
      name: target?.metadata.name ?? '',
      object: obj,
      oldObject: old,
      dryRun: o.dryRun ?? false,
      user: o.user,
      options: operationOptions(op, o),
      ...(o.warnings ? { warnings: o.warnings } : {}),
      ...(defaults ? { defaulter: (x: KubeObject) => defaults(x as StoredObject) } : {}),
    }
  }

  #ttl(obj: StoredObject): { ttlSeconds?: number } {
    const ttl = this.strategy.ttlSeconds?.(obj)
    return ttl === undefined ? {} : { ttlSeconds: ttl }
  }

  /**
   * What is stored: the object without its resourceVersion (the store's revision is the truth).
   * Without a conversion the object is stringified once, with a placeholder resourceVersion: the
   * stored bytes are that text without it, and the watch cache's JSON (#handOver) is the same
   * text with the revision the write got.
   */
  #encode(obj: StoredObject): Uint8Array {
    if (this.#conversion) {
      const bytes = Buffer.from(JSON.stringify(stripResourceVersion(this.#conversion.toStored(obj))))
      return this.#wrote(obj, bytes, undefined)
    }
    const m = obj.metadata
    const had = Object.hasOwn(m, 'resourceVersion')
    const rv = m.resourceVersion
    m.resourceVersion = revisionPlaceholder
    const json = JSON.stringify(obj)
    if (had) m.resourceVersion = rv
    else delete m.resourceVersion
    const at = json.indexOf(placeholderMember)
    // Anything else that reads the same (a map with such a key and value) takes the long way.
    if (at < 0 || json.indexOf(placeholderMember, at + 1) >= 0) {
      return this.#wrote(obj, Buffer.from(JSON.stringify(stripResourceVersion(obj))), undefined)
    }
    const end = at + placeholderMember.length
    // The member goes with one of the commas around it, if any.
    const stored =
      json[at - 1] === ','
        ? json.slice(0, at - 1) + json.slice(end)
        : json.slice(0, at) + json.slice(json[end] === ',' ? end + 1 : end)
    return this.#wrote(obj, Buffer.from(stored), json)
  }

  /** Remembers what a write stores, for the watch cache and the write's caller (see Written). */
  #wrote(obj: StoredObject, bytes: Uint8Array, text: string | undefined): Uint8Array {
    const w: Written = { obj, text }
    this.#written.set(bytes, w)
    this.#writtenObjects.set(obj, w)
    return bytes
  }

  /** The written object at the revision its write got, with its JSON: made once, for whoever asks first. */
  #complete(w: Written, rev: number): { object: StoredObject; json: Buffer } {
    if (w.done?.revision === rev) return w.done
    const object = this.#withRevision(w.obj, rev)
    const json =
      w.text !== undefined
        ? encodedAs(object, ownedBytes(w.text.replace(placeholderMember, `"resourceVersion":"${rev}"`)))
        : encoded(object)
    w.done = { revision: rev, object, json }
    w.text = undefined
    return w.done
  }

  #decode(kv: KeyValue): StoredObject {
    const raw = decodeJson(kv.value)
    const o = this.#conversion ? this.#conversion.fromStored(raw) : raw
    o.metadata.resourceVersion = String(kv.modRevision)
    return o
  }

  #fromKeyValue(kv: KeyValue): CachedObject {
    const object = this.#decode(kv)
    const rest = kv.key.slice(this.#prefix.length)
    const slash = this.definition.namespaced ? rest.indexOf('/') : -1
    return {
      key: kv.key,
      namespace: slash < 0 ? '' : rest.slice(0, slash),
      name: slash < 0 ? rest : rest.slice(slash + 1),
      revision: kv.modRevision,
      object,
      json: Buffer.from(JSON.stringify(object)),
    }
  }

  #withRevision(obj: StoredObject, rev: number): StoredObject {
    obj.metadata.resourceVersion = String(rev)
    return obj
  }

  /**
   * The stored object, with the revision its write got, for the write's caller: the one the watch
   * cache took (or will take) for that write, with the same JSON, when the store's event came first.
   */
  #handOver(obj: StoredObject, rev: number): StoredObject {
    const w = this.#writtenObjects.get(obj)
    if (!w) return this.#withRevision(obj, rev)
    this.#writtenObjects.delete(obj)
    return this.#complete(w, rev).object
  }

  async #storageCall<T>(fn: () => Promise<T>, name: string): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw this.#translate(err, name)
    }
  }

  #translate(err: unknown, name: string): ApiError {
    if (err instanceof ApiError) return err
    if (isStorageError(err)) return fromStorageError(err, this.qualified, name)
    throw err
  }
}

/** The request's options object as admission webhooks receive it (meta.k8s.io/v1). */
function operationOptions(op: Operation, o: WriteOptions | DeleteOptions): Record<string, unknown> {
  const kind = op === 'CREATE' ? 'CreateOptions' : op === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions'
  const out: Record<string, unknown> = { kind, apiVersion: 'meta.k8s.io/v1' }
  if (o.dryRun) out.dryRun = ['All']
  if (op === 'DELETE') {
    const d = o as DeleteOptions
    if (d.gracePeriodSeconds !== undefined) out.gracePeriodSeconds = d.gracePeriodSeconds
    if (d.preconditions) out.preconditions = d.preconditions
    if (d.propagationPolicy) out.propagationPolicy = d.propagationPolicy
  } else if (o.fieldManager) out.fieldManager = o.fieldManager
  return out
}

/**
 * A cached object as the store's KeyValue, so an update can start from it without a read. Its
 * value is the cache's own encoding (made once per object and shared with every reader): the
 * served form, with its resourceVersion, which update() decodes as such. It never equals bytes
 * an update produces, which only means an update that changes nothing is told by sameObject.
 */
function cachedKeyValue(key: string, c: CachedObject): KeyValue {
  return {
    key,
    value: c.json,
    createRevision: revision(0),
    modRevision: revision(c.revision),
    version: 0,
  }
}

/** A resourceVersion no object has (a NUL), and how it reads in JSON. */
const revisionPlaceholder = '\u0000rv'
const placeholderMember = `"resourceVersion":${JSON.stringify(revisionPlaceholder)}`

function stripResourceVersion(obj: Readonly<StoredObject>): StoredObject {
  const { resourceVersion: _rv, ...metadata } = obj.metadata
  return { ...obj, metadata: metadata }
}

/**
 * Equal apart from managedFields timestamps: an update that changes nothing is not written.
 * Compared part by part, those a write most often changes first (metadata but managedFields, then
 * status, then spec and the rest, managedFields last), so that a difference ends the walk early:
 * a status update used to walk the whole spec and all managedFields before reaching its status.
 */
export function sameObject(a: Readonly<StoredObject>, b: Readonly<StoredObject>): boolean {
  if (!sameMembers(a.metadata, b.metadata, 'managedFields')) return false
  const x = a as Readonly<Record<string, unknown>>
  const y = b as Readonly<Record<string, unknown>>
  if (!deepEqual(x.status, y.status)) return false
  if (!sameMembers(x, y, 'metadata', 'status')) return false
  const am = a.metadata.managedFields ?? []
  const bm = b.metadata.managedFields ?? []
  if (am.length !== bm.length) return false
  for (let i = 0; i < am.length; i++) {
    if (!sameMembers(am[i] as object, bm[i] as object, 'time')) return false
  }
  return true
}

/** deepEqual of two objects but for one or two members (undefined members count as absent). */
function sameMembers(a: object, b: object, skip: string, skipToo = ''): boolean {
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  let members = 0
  for (const k in x) {
    const v = x[k]
    if (v === undefined || k === skip || k === skipToo) continue
    if (!deepEqual(v, y[k])) return false
    members++
  }
  for (const k in y) if (y[k] !== undefined && k !== skip && k !== skipToo) members--
  return members === 0
}

let lastSecond = -1
let lastStamp = ''

/** RFC 3339 with second precision, as Kubernetes' metav1.Time (the last one is reused within its second). */
export function rfc3339(ms: number): string {
  const second = Math.floor(ms / 1000)
  if (second !== lastSecond) {
    lastSecond = second
    lastStamp = new Date(second * 1000).toISOString().replace('.000Z', 'Z')
  }
  return lastStamp
}

function admitted(o: WriteOptions | DeleteOptions): boolean {
  return 'admitted' in o && o.admitted === true
}

/** generateName: the prefix and five random characters from Kubernetes' alphabet (no vowels, no look-alikes). */
export function generateName(prefix: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  let s = ''
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)]
  const maxPrefix = 63 - 5
  return (prefix.length > maxPrefix ? prefix.slice(0, maxPrefix) : prefix) + s
}

export function parseResourceVersion(rv: string): number {
  if (!/^\d+$/.test(rv)) {
    throw badRequest(`invalid resource version "${rv}": strconv.ParseUint: parsing "${rv}": invalid syntax`)
  }
  return Number(rv)
}

interface ContinueToken {
  revision: number
  /** The key to start at (inclusive); '' for the start of the range. */
  start: string
}

/** Continue tokens in Kubernetes' shape: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"..."}. */
function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.revision, start: t.start })).toString(
    'base64url',
  )
}

function decodeContinue(token: string): ContinueToken {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      v?: string
      rv?: number
      start?: string
    }
    if (v.v !== 'meta.k8s.io/v1' || typeof v.rv !== 'number' || typeof v.start !== 'string')
      throw new Error('bad token')
    return { revision: v.rv, start: v.start }
  } catch {
    throw badRequest('continue key is not valid: invalid continue token')
  }
}
