import { parse as parseYaml } from 'yaml'
import { apiVersionOf, isKubeObject, type KubeObject, type StoredObject } from '../../api/object.ts'
import { typeMismatch } from '../../api/type-mismatch.ts'
import { shallowEnough } from '../codec.ts'
import { invalidPatch } from '../patch.ts'
import { JsonPieces, readBody, withInfo, writeJson, type Handler, type RequestContext } from '../context.ts'
import type { EndpointRegistry, ResourceEndpoint, Subresource } from '../endpoint.ts'
import type { ResourceStrategy } from '../registry/strategy.ts'
import {
  ApiError,
  badRequest,
  invalid,
  methodNotSupported,
  notAcceptable,
  notFound,
  pathNotFound,
  resourceExpired,
  unsupportedMediaType,
} from '../errors.ts'
import {
  APPLY_PATCH_TYPE,
  JSON_PATCH_TYPE,
  JSON_TYPE,
  MERGE_PATCH_TYPE,
  PROTOBUF_TYPE,
  STRATEGIC_MERGE_PATCH_TYPE,
  YAML_TYPE,
  admits,
  asKind,
  parseAccept,
  parseMediaType,
} from '../media.ts'
import { encoded, type CachedObject } from '../registry/watch-cache.ts'
import { encodeProtobuf, messageType } from '../../api/protobuf/codec.ts'
import type { DeleteOptions } from '../registry/store.ts'
import type { ResourceRequestInfo } from '../request-info.ts'
import { renderTable, renderTableRow } from '../table.ts'
import { streamWatch, watchError } from './watch.ts'

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply'

/** The API machinery the resource handler relies on (src/api), injected so each can be tested alone. */
export interface ResourceHandlerDeps {
  endpoints: EndpointRegistry
  /** A label selector string as a predicate; throws an ApiError 400 on bad syntax. */
  labelSelector(selector: string): (labels: Readonly<Record<string, string>>) => boolean
  /** A field selector string for a resource as a predicate over its fields; throws an ApiError 400. */
  fieldSelector(ep: ResourceEndpoint, selector: string): (fields: Readonly<Record<string, string>>) => boolean
  /** Decodes a protobuf body into the JSON object a JSON client would have sent. */
  decodeProtobuf(body: Buffer): KubeObject
  /**
   * Unknown and duplicate fields under fieldValidation Strict/Warn: what to report. `json` is a
   * JSON body as sent (for duplicate detection).
   */
  unknownFields(ep: ResourceEndpoint, obj: KubeObject, json: JsonBody | undefined): string[]
  /** Applies a patch of the given type to the current object (in place when it is `owned`). */
  patch(
    ep: ResourceEndpoint,
    type: PatchType,
    current: Readonly<StoredObject> | undefined,
    patch: Buffer,
    options: { fieldManager: string; force: boolean; subresource: string; owned?: boolean },
  ): StoredObject
  /** The Kubernetes version-neutral clock, for Table ages. */
  now(): number
  /** A watch of a kind starts (apiserver_registered_watchers); the function it returns ends it. */
  watching?(kind: { group: string; version: string; kind: string }): () => void
}

const listKinds = new Set(['list', 'watch'])

/** How many names a create with generateName tries before its 409 stands, as in kube-apiserver. */
const generateNameAttempts = 8

/** Serves every resource request (/api/v1/..., /apis/{group}/{version}/...). */
export function resourceHandler(deps: ResourceHandlerDeps): Handler {
  return (original) => {
    let ctx = original
    let info = ctx.info as ResourceRequestInfo
    const ep = deps.endpoints.lookup(info.apiGroup, info.apiVersion, info.resource)
    if (!ep) throw pathNotFound()
    const def = ep.definition
    // /api/v1/namespaces/{name}: the request's namespace is the namespace itself (authorization
    // sees it so), but the object is cluster-scoped.
    if (!def.namespaced && def.group === '' && def.resource === 'namespaces' && info.namespace !== '') {
      info = { ...info, namespace: '' }
      ctx = withInfo(ctx, info)
    }
    // A namespaced resource named without a namespace, or the reverse, is not a path we serve.
    if (def.namespaced && info.namespace === '' && info.name !== '' && info.subresource === '')
      throw pathNotFound()
    if (!def.namespaced && info.namespace !== '') throw pathNotFound()
    if (def.namespaced && info.namespace === '' && !listKinds.has(info.verb)) {
      if (info.verb !== 'create' && info.verb !== 'deletecollection') throw pathNotFound()
    }
    if (info.subresource !== '') {
      const sub = ep.subresources.get(info.subresource)
      if (!sub) throw pathNotFound()
      return sub.handle(ctx, ep)
    }
    if (ep.handle) return ep.handle(ctx)
    const store = ep.store
    if (!store) throw pathNotFound()
    const r = new ResourceRequest(ctx, ep, deps)
    switch (info.verb) {
      case 'get':
        return r.get()
      case 'list':
        return r.list()
      case 'watch':
        return r.watch()
      case 'create':
        return r.create()
      case 'update':
        return r.update()
      case 'patch':
        return r.patch()
      case 'delete':
        return r.delete()
      case 'deletecollection':
        return r.deleteCollection()
      default:
        throw methodNotSupported({ group: def.group, resource: def.resource }, info.verb)
    }
  }
}

/**
 * The status subresource of a resource: GET reads the object, PUT and PATCH change its status
 * only (the strategy keeps everything else). Other subresources that write part of the object
 * itself (certificatesigningrequests/approval) are served the same way under their `name`.
 */
export function statusSubresource(
  deps: ResourceHandlerDeps,
  strategy: ResourceStrategy,
  def: { group: string; version: string; kind: string },
  name = 'status',
): Subresource {
  return {
    group: def.group,
    version: def.version,
    kind: def.kind,
    verbs: ['get', 'patch', 'update'],
    handle: async (ctx, ep) => {
      const r = new ResourceRequest(ctx, ep, deps, { strategy, subresource: name })
      switch ((ctx.info as ResourceRequestInfo).verb) {
        case 'get':
          return r.get()
        case 'update':
          return r.update()
        case 'patch':
          return r.patch()
        default:
          throw methodNotSupported(
            { group: def.group, resource: `${ep.definition.resource}/${name}` },
            (ctx.info as ResourceRequestInfo).verb,
          )
      }
    },
  }
}

/** One request against a stored resource (or one of its subresources that reads and writes the object itself). */
export class ResourceRequest {
  readonly ctx: RequestContext
  readonly ep: ResourceEndpoint
  readonly deps: ResourceHandlerDeps
  readonly info: ResourceRequestInfo
  readonly #strategy: ResourceStrategy | undefined
  readonly #subresource: string

  constructor(
    ctx: RequestContext,
    ep: ResourceEndpoint,
    deps: ResourceHandlerDeps,
    endpoint: { strategy?: ResourceStrategy; subresource?: string } = {},
  ) {
    this.ctx = ctx
    this.ep = ep
    this.deps = deps
    this.info = ctx.info as ResourceRequestInfo
    this.#strategy = endpoint.strategy
    this.#subresource = endpoint.subresource ?? ''
  }

  get #store() {
    const s = this.ep.store
    if (!s) throw pathNotFound()
    return s
  }

  // --- reads -----------------------------------------------------------------------------------

  get(): void | Promise<void> {
    const rv = this.ctx.query.get('resourceVersion') ?? ''
    if (rv === '') {
      // Most reads: the cache is current, and the answer needs no waiting.
      const hit = this.#store.peek(this.info.namespace, this.info.name)
      if (hit === null) throw notFound(this.ep.definition, this.info.name)
      if (hit) {
        this.respondObject(200, hit)
        return
      }
    }
    return this.#getFromStore()
  }

  async #getFromStore(): Promise<void> {
    const o = await this.#store.get(
      this.info.namespace,
      this.info.name,
      this.ctx.query.get('resourceVersion') ?? '',
    )
    this.respondObject(200, o)
  }

  async list(): Promise<void> {
    const q = this.ctx.query
    const matches = this.#matcher()
    const limit = optionalInt(q, 'limit')
    const result = await this.#store.list(this.info.namespace, {
      ...(q.has('resourceVersion') ? { resourceVersion: q.get('resourceVersion') ?? '' } : {}),
      ...(q.has('resourceVersionMatch') ? { resourceVersionMatch: q.get('resourceVersionMatch') ?? '' } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(q.get('continue') ? { continue: q.get('continue') ?? '' } : {}),
      ...(matches.filtered ? { filter: matches.test, filtered: true } : {}),
    })
    const meta: Record<string, unknown> = { resourceVersion: result.resourceVersion }
    if (result.continue) meta.continue = result.continue
    if (result.remainingItemCount !== undefined) meta.remainingItemCount = result.remainingItemCount
    this.respondList(result.items, meta)
  }

  /** A list response in the shape the client asked for. */
  respondList(items: readonly CachedObject[], meta: Record<string, unknown>): void {
    const result = { items }
    const as = this.#responseShape(true)
    if (as === 'Table') {
      writeJson(this.ctx, 200, renderTable(this.ep.table, result.items, meta, this.#tableOptions()))
      return
    }
    if (as === 'PartialObjectMetadataList') {
      writeJson(this.ctx, 200, {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: meta,
        items: result.items.map((o) => partialMetadata(o.object)),
      })
      return
    }
    const def = this.ep.definition
    if (as === 'Protobuf') {
      const list = {
        apiVersion: apiVersionOf(def.group, def.version),
        kind: def.listKind,
        metadata: meta,
        items: result.items.map((o) => o.object),
      }
      writeJson(this.ctx, 200, encodeProtobuf(list), PROTOBUF_TYPE)
      return
    }
    const head = Buffer.from(
      `{"kind":${JSON.stringify(def.listKind)},"apiVersion":${JSON.stringify(apiVersionOf(def.group, def.version))},"metadata":${JSON.stringify(meta)},"items":[`,
    )
    const parts: Buffer[] = [head]
    result.items.forEach((o, i) => {
      if (i > 0) parts.push(comma)
      parts.push(o.json)
    })
    parts.push(closeList)
    writeJson(this.ctx, 200, new JsonPieces(parts))
  }

  async watch(): Promise<void> {
    const q = this.ctx.query
    const store = this.#store
    await store.cache.start()
    const rv = q.get('resourceVersion') ?? ''
    const matches = this.#matcher()
    const def = this.ep.definition
    const timeoutSeconds = optionalInt(q, 'timeoutSeconds')
    // Without a timeout, Kubernetes picks one between 30 and 60 minutes so watchers spread out.
    const timeoutMs = (timeoutSeconds ?? 1800 * (1 + Math.random())) * 1000
    let initial: CachedObject[] | undefined
    let from: number
    if (rv === '' || rv === '0') {
      if (rv === '') await store.cache.catchUp()
      from = store.cache.revision
      initial = store.cache.list(this.info.namespace)
    } else {
      if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version "${rv}"`)
      from = Number(rv)
    }
    const ac = new AbortController()
    this.ctx.signal.addEventListener('abort', () => ac.abort(), { once: true })
    if (from < store.cache.windowStart) {
      watchError(this.ctx, resourceExpired(`too old resource version: ${from} (${store.cache.windowStart})`))
      return
    }
    const table = this.#responseShape(false) === 'Table'
    const tableOptions = this.#tableOptions()
    const watched = this.deps.watching?.(def)
    try {
      await streamWatch(this.ctx, {
        ...(initial ? { initial } : {}),
        subscribe: (sink) => {
          if (!store.cache.subscribe(from, ac.signal, sink)) sink.end()
        },
        matches: (o) =>
          (this.info.namespace === '' || o.namespace === this.info.namespace) && matches.test(o),
        bookmarks: q.get('allowWatchBookmarks') === 'true',
        kind: def.kind,
        apiVersion: apiVersionOf(def.group, def.version),
        timeoutMs,
        ...(table
          ? {
              render: (o: CachedObject, first: boolean) =>
                Buffer.from(JSON.stringify(renderTableRow(this.ep.table, o, first, tableOptions))),
            }
          : {}),
      })
    } finally {
      ac.abort()
      watched?.()
    }
  }

  // --- writes ----------------------------------------------------------------------------------

  async create(): Promise<void> {
    const body = await readBody(this.ctx.req)
    const store = this.#store
    if (this.info.namespace === '' && store.definition.namespaced) {
      throw badRequest('the server could not find the requested resource (namespace is required)')
    }
    // As kube-apiserver does (RetryGenerateName): a generated name that is taken is not the
    // client's fault, so the create runs again, from the request's object, with a new name.
    for (let attempt = 1; ; attempt++) {
      const obj = this.#decodeBody(body, attempt === 1)
      const generated = !obj.metadata.name && !!obj.metadata.generateName
      try {
        const stored = await store.create(this.info.namespace, obj, this.#writeOptions())
        this.respondObject(201, stored)
        return
      } catch (err) {
        const taken = err instanceof ApiError && err.status.reason === 'AlreadyExists'
        if (!generated || !taken || attempt === generateNameAttempts) throw err
      }
    }
  }

  async update(): Promise<void> {
    const body = await readBody(this.ctx.req)
    let first: StoredObject | undefined = this.#decodeBody(body, true)
    const { object, created } = await this.#store.update(
      this.info.namespace,
      this.info.name,
      () => {
        // The first attempt may change the decoded body; one after a conflict decodes it again.
        const obj = first ?? this.#decodeBody(body, false)
        first = undefined
        return obj
      },
      { ...this.#updateOptions(), freshObjects: true },
    )
    this.respondObject(created ? 201 : 200, object)
  }

  async patch(): Promise<void> {
    const type = patchTypeOf(this.ctx.req.headers['content-type'])
    const raw = await readBody(this.ctx.req)
    const q = this.ctx.query
    const options = this.#updateOptions()
    const force = q.get('force') === 'true'
    if (type === 'apply') {
      if (!options.fieldManager) {
        throw invalid({ group: 'meta.k8s.io', kind: 'PatchOptions' }, '', [
          { type: 'FieldValueRequired', field: 'fieldManager', detail: 'is required for apply patch' },
        ])
      }
    } else if (q.has('force')) {
      throw invalid({ group: 'meta.k8s.io', kind: 'PatchOptions' }, '', [
        { type: 'FieldValueForbidden', field: 'force', detail: 'may not be specified for non-apply patch' },
      ])
    }
    const { object, created } = await this.#store.update(
      this.info.namespace,
      this.info.name,
      (current) => {
        const next = this.deps.patch(this.ep, type, current, raw, {
          fieldManager: options.fieldManager ?? '',
          force,
          subresource: this.#subresource,
          owned: type !== 'apply',
        })
        this.#checkUnknownFields(next, undefined, { type, body: raw })
        return next
      },
      {
        ...options,
        forceAllowCreate: type === 'apply' && this.#subresource === '',
        fieldsManaged: type === 'apply',
        // JSON, merge and strategic merge patches change a copy of the current object decoded
        // for them.
        freshObjects: type !== 'apply',
        ownCurrent: type !== 'apply',
      },
    )
    this.respondObject(created ? 201 : 200, object)
  }

  /**
   * As kube-apiserver's delete handler: 202 when the object stays (finalizers, grace period) and
   * the client asked for orphanDependents=false, 200 otherwise. An object that is gone (or would
   * be, under dryRun) is answered with a Status naming it, unless the resource returns deleted
   * objects; an object that stays is answered with itself, its deletionTimestamp set.
   */
  async delete(): Promise<void> {
    const { options, orphanDependents } = await this.#deleteOptions()
    const { object, deleted } = await this.#store.delete(this.info.namespace, this.info.name, options)
    const code = !deleted && orphanDependents === false ? 202 : 200
    if (deleted && !this.#store.strategy.returnDeletedObject) {
      this.#respondStatus(code, deletedStatus(this.ep.definition, object))
      return
    }
    this.respondObject(code, object)
  }

  /** Answers with the list of the objects it deleted, as they were listed before the deletes. */
  async deleteCollection(): Promise<void> {
    const { options } = await this.#deleteOptions()
    const matches = this.#matcher()
    const list = await this.#store.list(this.info.namespace, matches.filtered ? { filter: matches.test } : {})
    for (const o of list.items) {
      try {
        await this.#store.delete(o.namespace, o.name, options)
      } catch (err) {
        // Gone meanwhile: that is what was asked for.
        if (!(err instanceof ApiError && err.code === 404)) throw err
      }
    }
    const def = this.ep.definition
    writeJson(this.ctx, 200, {
      kind: def.listKind,
      apiVersion: apiVersionOf(def.group, def.version),
      metadata: { resourceVersion: list.resourceVersion },
      items: list.items.map((o) => o.object),
    })
  }

  /** A Status answer: Table and metadata-only clients get it as it is (JSON), protobuf ones encoded. */
  #respondStatus(code: number, status: Record<string, unknown>): void {
    if (this.#responseShape(false) === 'Protobuf') {
      writeJson(this.ctx, code, encodeProtobuf(status), PROTOBUF_TYPE)
      return
    }
    writeJson(this.ctx, code, status)
  }

  // --- request parsing -------------------------------------------------------------------------

  /** The body as an object of this resource's kind, in this group-version. */
  #decodeBody(body: Buffer, check: boolean): StoredObject {
    const def = this.ep.definition
    const { obj, json } = decodeObject(body, this.ctx.req.headers['content-type'], this.deps, {
      group: def.group,
      version: def.version,
      kind: def.kind,
    })
    // Go decodes a body into typed structs: a value of the wrong JSON type is refused whatever
    // fieldValidation says.
    const mismatch = typeMismatch(def, obj)
    if (mismatch !== undefined) throw cannotHandle(def, mismatch)
    if (check) this.#checkUnknownFields(obj, json)
    return obj
  }

  /**
   * fieldValidation: Strict refuses unknown and duplicate fields (400 on POST/PUT, 422 on
   * PATCH), Warn (the default) reports them as warnings, Ignore says nothing.
   */
  #checkUnknownFields(
    obj: KubeObject,
    json: JsonBody | undefined,
    patch?: { type: PatchType; body: Buffer },
  ): void {
    const directive = this.ctx.query.get('fieldValidation') ?? 'Warn'
    if (directive === 'Ignore') return
    if (directive !== 'Warn' && directive !== 'Strict') {
      throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${directive}"`)
    }
    const problems = this.deps.unknownFields(this.ep, obj, json)
    if (problems.length === 0) return
    const def = this.ep.definition
    if (directive === 'Warn') {
      this.ctx.warnings.push(...problems)
      return
    }
    const message = `strict decoding error: ${problems.join(', ')}`
    if (patch && patch.type !== 'apply') throw invalidPatch(patch.type, message, obj, patch.body)
    if (patch) {
      throw invalid({ group: def.group, kind: def.kind }, obj.metadata?.name ?? '', [
        { type: 'FieldValueInvalid', field: 'patch', value: undefined, detail: message },
      ])
    }
    throw cannotHandle(def, message)
  }

  #writeOptions() {
    const q = this.ctx.query
    const dryRun = checkedDryRun(q.getAll('dryRun'))
    const fieldManager = q.get('fieldManager') ?? defaultFieldManager(this.ctx.req.headers['user-agent'])
    if (fieldManager.length > 128) {
      throw invalid({ group: 'meta.k8s.io', kind: 'CreateOptions' }, '', [
        {
          type: 'FieldValueTooLong',
          field: 'fieldManager',
          value: fieldManager,
          detail: 'may not be more than 128 bytes',
        },
      ])
    }
    return {
      user: this.ctx.user,
      dryRun: dryRun.length > 0,
      fieldManager,
      subresource: this.#subresource,
      warnings: this.ctx.warnings,
    }
  }

  #updateOptions() {
    return { ...this.#writeOptions(), ...(this.#strategy ? { strategy: this.#strategy } : {}) }
  }

  /** The delete's options, and orphanDependents as the client gave it (it decides on a 202). */
  async #deleteOptions(): Promise<{ options: DeleteOptions; orphanDependents: boolean | undefined }> {
    const raw = await readBody(this.ctx.req)
    let body: Record<string, unknown> = {}
    if (raw.length > 0) {
      const parsed = parseJsonValue(raw)
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw badRequest('the body of a delete must be a DeleteOptions object')
      }
      body = parsed as Record<string, unknown>
    }
    const q = this.ctx.query
    const grace = q.has('gracePeriodSeconds')
      ? optionalInt(q, 'gracePeriodSeconds')
      : (body.gracePeriodSeconds as number | undefined)
    let propagation = (q.get('propagationPolicy') ?? body.propagationPolicy) as string | undefined
    const orphan = q.has('orphanDependents')
      ? q.get('orphanDependents') === 'true'
      : (body.orphanDependents as boolean | undefined)
    if (orphan !== undefined && propagation !== undefined) {
      throw invalid({ group: 'meta.k8s.io', kind: 'DeleteOptions' }, '', [
        {
          type: 'FieldValueInvalid',
          field: 'propagationPolicy',
          value: propagation,
          detail: 'orphanDependents and deletionPropagation cannot be both set',
        },
      ])
    }
    if (orphan !== undefined) propagation = orphan ? 'Orphan' : 'Background'
    if (propagation !== undefined && !['Orphan', 'Background', 'Foreground'].includes(propagation)) {
      throw invalid({ group: 'meta.k8s.io', kind: 'DeleteOptions' }, '', [
        {
          type: 'FieldValueNotSupported',
          field: 'propagationPolicy',
          value: propagation,
          detail: 'supported values: "Foreground", "Background", "Orphan", "nil"',
        },
      ])
    }
    if (grace !== undefined && (typeof grace !== 'number' || grace < 0)) {
      throw invalid({ group: 'meta.k8s.io', kind: 'DeleteOptions' }, '', [
        {
          type: 'FieldValueInvalid',
          field: 'gracePeriodSeconds',
          value: grace,
          detail: 'must be greater than or equal to 0',
        },
      ])
    }
    const dryRun = checkedDryRun([...q.getAll('dryRun'), ...((body.dryRun as string[] | undefined) ?? [])])
    const pre = body.preconditions as { uid?: string; resourceVersion?: string } | undefined
    const options: DeleteOptions = {
      user: this.ctx.user,
      dryRun: dryRun.length > 0,
      warnings: this.ctx.warnings,
      ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
      ...(propagation !== undefined
        ? { propagationPolicy: propagation as 'Orphan' | 'Background' | 'Foreground' }
        : {}),
      ...(pre ? { preconditions: pre } : {}),
    }
    return { options, orphanDependents: orphan }
  }

  /** Label and field selectors of the request as one predicate. */
  #matcher(): { test: (o: CachedObject) => boolean; filtered: boolean } {
    const q = this.ctx.query
    const ls = q.get('labelSelector') ?? ''
    const fs = q.get('fieldSelector') ?? ''
    const labels = ls === '' ? undefined : this.deps.labelSelector(ls)
    const fields = fs === '' ? undefined : this.deps.fieldSelector(this.ep, fs)
    if (!labels && !fields) return { test: () => true, filtered: false }
    // Read beside the JSON, so that matching an object the cache keeps undecoded does not decode it.
    return {
      test: (o) =>
        (!labels || labels(o.labels ?? o.object.metadata.labels ?? {})) &&
        (!fields || fields(selectableFields(this.ep, o))),
      filtered: true,
    }
  }

  // --- responses -------------------------------------------------------------------------------

  /** The shape the client asked for: a plain object, a Table, or PartialObjectMetadata. */
  #responseShape(
    list: boolean,
  ): 'Object' | 'Protobuf' | 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList' {
    for (const range of parseAccept(this.ctx.req.headers.accept)) {
      const as = asKind(range)
      if (as === undefined) {
        // Protobuf only when asked for by name before JSON, for kinds that have a message (as
        // for custom resources, a client that also takes JSON gets JSON); JSON answers the rest.
        if (range.type === PROTOBUF_TYPE) {
          const def = this.ep.definition
          if (messageType(apiVersionOf(def.group, def.version), def.kind)) return 'Protobuf'
          continue
        }
        if (admits(range, JSON_TYPE) || admits(range, YAML_TYPE)) return 'Object'
        continue
      }
      if (as.group !== 'meta.k8s.io' || (as.version !== 'v1' && as.version !== 'v1beta1')) continue
      if (as.as === 'Table') return 'Table'
      if (as.as === 'PartialObjectMetadata' && !list) return 'PartialObjectMetadata'
      if (as.as === 'PartialObjectMetadataList' && list) return 'PartialObjectMetadataList'
    }
    throw notAcceptable([JSON_TYPE, YAML_TYPE, PROTOBUF_TYPE, 'application/json;as=Table;v=v1;g=meta.k8s.io'])
  }

  #tableOptions() {
    return { includeObject: this.ctx.query.get('includeObject') ?? 'Metadata', now: this.deps.now() }
  }

  respondObject(code: number, o: CachedObject | StoredObject): void {
    const cached = 'json' in o && Buffer.isBuffer(o.json) ? (o as CachedObject) : undefined
    const shape = this.#responseShape(false)
    // JSON answers with the cached bytes: a cached object kept only as JSON is not decoded for it.
    if (shape === 'Object' && cached) {
      writeJson(this.ctx, code, cached.json)
      return
    }
    const object = cached ? cached.object : (o as StoredObject)
    if (shape === 'Table') {
      const c: CachedObject = cached ?? toCached(object)
      writeJson(
        this.ctx,
        code,
        renderTable(
          this.ep.table,
          [c],
          { resourceVersion: object.metadata.resourceVersion ?? '' },
          this.#tableOptions(),
        ),
      )
      return
    }
    if (shape === 'PartialObjectMetadata') {
      writeJson(this.ctx, code, {
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        ...partialMetadata(object),
      })
      return
    }
    if (shape === 'Protobuf') {
      writeJson(this.ctx, code, encodeProtobuf(object), PROTOBUF_TYPE)
      return
    }
    writeJson(this.ctx, code, cached ? cached.json : encoded(object))
  }
}

/**
 * A JSON request body as sent, for duplicate-field checks: its text, and how many object members
 * decoding it made (before apiVersion, kind and metadata were filled in).
 */
export interface JsonBody {
  readonly text: string
  readonly members: number
}

/**
 * The request body as an object of the given kind: JSON, YAML or protobuf; apiVersion and kind,
 * when present, must be the expected ones (and are filled in when absent). `json` is a JSON body
 * as sent.
 */
export async function readObject(
  ctx: RequestContext,
  deps: Pick<ResourceHandlerDeps, 'decodeProtobuf'>,
  want: { group: string; version: string; kind: string },
): Promise<{ obj: StoredObject; json: JsonBody | undefined }> {
  return decodeObject(await readBody(ctx.req), ctx.req.headers['content-type'], deps, want)
}

/** A request body as an object of `want`'s kind, by its Content-Type. */
function decodeObject(
  body: Buffer,
  contentTypeHeader: string | undefined,
  deps: Pick<ResourceHandlerDeps, 'decodeProtobuf'>,
  want: { group: string; version: string; kind: string },
): { obj: StoredObject; json: JsonBody | undefined } {
  const contentType = parseMediaType(contentTypeHeader ?? JSON_TYPE)
  let obj: KubeObject
  let json: JsonBody | undefined
  switch (contentType?.type) {
    case JSON_TYPE: {
      const text = body.toString('utf8')
      obj = parseJsonObject(text, want)
      json = { text, members: shallowEnough(obj) }
      break
    }
    case YAML_TYPE:
      obj = parseYamlObject(body, want)
      shallowEnough(obj)
      break
    case PROTOBUF_TYPE:
      obj = deps.decodeProtobuf(body)
      break
    default:
      throw unsupportedMediaType(contentTypeHeader ?? '', [JSON_TYPE, YAML_TYPE, PROTOBUF_TYPE])
  }
  const apiVersion = apiVersionOf(want.group, want.version)
  if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
    throw badRequest(
      `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`,
    )
  }
  if (obj.kind !== undefined && obj.kind !== want.kind) {
    throw badRequest(
      `${obj.kind} in version "${want.version}" cannot be handled as a ${want.kind}: the kind in the data (${obj.kind}) does not match the expected kind (${want.kind})`,
    )
  }
  obj.apiVersion = apiVersion
  obj.kind = want.kind
  obj.metadata ??= {}
  return { obj: obj as StoredObject, json }
}

const comma = Buffer.from(',')
const closeList = Buffer.from(']}')

/**
 * What a delete that removed the object answers for resources that do not return it: a Status
 * naming the object by its resource (not its kind: details.kind is the resource plural upstream
 * too), group and uid, so a client can tell it is gone rather than waiting on finalizers.
 */
export function deletedStatus(
  def: { readonly group: string; readonly resource: string },
  object: Readonly<StoredObject>,
): Record<string, unknown> {
  const details: Record<string, unknown> = { name: object.metadata.name ?? '' }
  if (def.group !== '') details.group = def.group
  details.kind = def.resource
  if (object.metadata.uid) details.uid = object.metadata.uid
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details }
}

/**
 * The fields a field selector reads, once per cached object (a version's fields never change): an
 * object the cache keeps only as JSON is not decoded again for each watcher's selector.
 */
const fieldsOfCached = new WeakMap<CachedObject, Record<string, string>>()

function selectableFields(ep: Pick<ResourceEndpoint, 'fields'>, o: CachedObject): Record<string, string> {
  let f = fieldsOfCached.get(o)
  if (!f) fieldsOfCached.set(o, (f = ep.fields(o.object)))
  return f
}

function toCached(object: Readonly<StoredObject>): CachedObject {
  return {
    key: '',
    namespace: object.metadata.namespace ?? '',
    name: object.metadata.name ?? '',
    revision: Number(object.metadata.resourceVersion ?? 0),
    object,
    json: Buffer.from(JSON.stringify(object)),
  }
}

function partialMetadata(o: Readonly<StoredObject>): { metadata: StoredObject['metadata'] } {
  return { metadata: o.metadata }
}

export function patchTypeOf(contentType: string | undefined): PatchType {
  const t = parseMediaType(contentType ?? '')?.type
  switch (t) {
    case JSON_PATCH_TYPE:
      return 'json'
    case MERGE_PATCH_TYPE:
      return 'merge'
    case STRATEGIC_MERGE_PATCH_TYPE:
      return 'strategic'
    case APPLY_PATCH_TYPE:
      return 'apply'
    default:
      throw unsupportedMediaType(contentType ?? '', [
        JSON_PATCH_TYPE,
        MERGE_PATCH_TYPE,
        STRATEGIC_MERGE_PATCH_TYPE,
        APPLY_PATCH_TYPE,
      ])
  }
}

/** kubectl's and client-go's default manager: the user agent up to the first '/'. */
function defaultFieldManager(userAgent: string | undefined): string {
  const ua = userAgent ?? ''
  const i = ua.indexOf('/')
  return (i < 0 ? ua : ua.slice(0, i)).slice(0, 128)
}

function optionalInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name)
  if (v === null || v === '') return undefined
  if (!/^-?\d+$/.test(v))
    throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}: must be an integer`)
  return Number(v)
}

export function parseJsonValue(raw: Buffer | string): unknown {
  try {
    return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8')) as unknown
  } catch (err) {
    throw badRequest(`error decoding body: ${(err as Error).message}`)
  }
}

type Kind = { version: string; kind: string }

function parseJsonObject(text: string, want: Kind): KubeObject {
  const v = parseJsonValue(text)
  if (!isKubeObject(v)) throw notAnObject(want)
  return v
}

function parseYamlObject(raw: Buffer, want: Kind): KubeObject {
  let v: unknown
  try {
    v = parseYaml(raw.toString('utf8'), { maxAliasCount: 100 })
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`)
  }
  if (!isKubeObject(v)) throw notAnObject(want)
  return v
}

/** dryRun values as given, once each is known to be the only one there is, `All` (else 400). */
export function checkedDryRun(values: readonly string[]): readonly string[] {
  for (const d of values) {
    if (d !== 'All') throw badRequest(`Invalid dryRun value "${d}": supported values: "All"`)
  }
  return values
}

function notAnObject(d: Kind): ApiError {
  return cannotHandle(d, 'the body is not a JSON object')
}

/** A body refused by decoding, worded as kube-apiserver words it. */
function cannotHandle(d: Kind, detail: string): ApiError {
  return badRequest(`${d.kind} in version "${d.version}" cannot be handled as a ${d.kind}: ${detail}`)
}
