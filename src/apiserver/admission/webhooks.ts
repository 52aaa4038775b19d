import type {
  MutatingWebhook,
  MutatingWebhookConfiguration,
  ValidatingWebhook,
  ValidatingWebhookConfiguration,
} from '../../api/generated/types/admissionregistration-v1.ts'
import type { Status } from '../../api/generated/types/meta-v1.ts'
import type { Service } from '../../api/generated/types/core-v1.ts'
import type { EndpointSlice } from '../../api/generated/types/discovery-v1.ts'
import { deepEqual, type KubeObject, type StoredObject } from '../../api/object.ts'
import type { Authorizer } from '../authz/authorizer.ts'
import { ApiError, badRequest, forbidden, internalError, notFound } from '../errors.ts'
import type { RegistryStore } from '../registry/store.ts'
import type { AdmissionAttributes, AdmissionPlugin } from './admission.ts'
import { admissionRequest, admissionReviewFor, verifyAdmissionResponse } from './admission-review.ts'
import {
  celActivation,
  compileMatchConditions,
  matchConditions,
  type CompiledCondition,
} from './cel-admission.ts'
import {
  convertBetweenVersions,
  isExemptAdmissionConfigurationResource,
  matchResource,
  namespaceSelectorMatches,
  objectSelectorMatches,
  parseSelector,
  type NamespaceLabels,
  type ParsedSelector,
  type VersionedResource,
} from './matching.ts'
import { WebhookCallError, type ServiceResolver, type WebhookClient } from './webhook-client.ts'
import { applyJsonPatch } from '../../api/patch/json-patch.ts'

/**
 * The MutatingAdmissionWebhook and ValidatingAdmissionWebhook admission plugins: the webhooks
 * of MutatingWebhookConfiguration and ValidatingWebhookConfiguration objects, read from the
 * apiserver's watch cache (current, and nothing to do when there are none), are called for the
 * requests their rules, namespaceSelector, objectSelector and matchConditions select.
 *
 *   mutating:   in order (configurations by name, webhooks as listed); each may patch the
 *               object (JSONPatch); a change made after a webhook with reinvocationPolicy
 *               IfNeeded saw the object runs the mutating phase once more.
 *   validating: all at once; the first refusal or failure fails the request.
 *
 * A webhook that cannot be called (unreachable, timed out, a malformed answer) fails the request
 * under failurePolicy Fail and is skipped under Ignore; a refusal is always final.
 */
export interface WebhookPluginOptions<C> {
  /** The configurations as they are now (KubeObjects from the watch cache, not to be changed). */
  configurations: () => readonly Readonly<C>[]
  namespaceLabels: NamespaceLabels
  client: Pick<WebhookClient, 'post'>
  /** For matchConditions that use `authorizer`. */
  authorizer?: () => Authorizer
}

export const mutatingWebhookPluginName = 'MutatingAdmissionWebhook'
export const validatingWebhookPluginName = 'ValidatingAdmissionWebhook'

/** The configurations in a registry store's watch cache (empty at once when there are none). */
export function configurationsIn<C>(store: () => RegistryStore | undefined): () => readonly Readonly<C>[] {
  return () => {
    const s = store()
    if (!s || s.cache.size === 0) return []
    return s.cache.list().map((c) => c.object as Readonly<C>)
  }
}

/** A namespace's labels from the namespaces store (its cache when current, else a read). */
export function namespaceLabelsIn(store: () => RegistryStore | undefined): NamespaceLabels {
  return async (name) => {
    const s = store()
    if (!s) return undefined
    const cached = s.peek('', name)
    if (cached === null) return undefined
    if (cached) return cached.object.metadata.labels ?? {}
    try {
      return (await s.get('', name)).object.metadata.labels ?? {}
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined
      throw err
    }
  }
}

/**
 * Resolves a webhook's Service reference through the registry: an ExternalName's name, else a
 * ready endpoint of the Service's EndpointSlices for that port (as kube-apiserver does with
 * --enable-aggregator-routing; nothing here routes ClusterIPs for the apiserver's own host),
 * else the Service's ClusterIP (kube-apiserver's default, for hosts where kube-proxy routes it).
 */
export function serviceResolverIn(
  services: () => RegistryStore | undefined,
  endpointSlices: () => RegistryStore | undefined,
): ServiceResolver {
  return async (namespace, name, port) => {
    const store = services()
    if (!store) throw new Error('services are not served')
    let svc: Service
    try {
      svc = (await store.get(namespace, name)).object
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) throw new Error(`service "${name}" not found`)
      throw err
    }
    const spec = svc.spec ?? {}
    if (spec.type === 'ExternalName' && spec.externalName) return { host: spec.externalName, port }
    const servicePort = (spec.ports ?? []).find((p) => p.port === port)
    if (!servicePort) throw new Error(`no service port ${port} found for service "${name}"`)
    const slices = endpointSlices()
    if (slices) {
      const all = slices.cache.isCurrent()
        ? slices.cache.list(namespace)
        : (await slices.list(namespace, {})).items
      for (const c of all) {
        const slice = c.object as unknown as EndpointSlice
        if (slice.metadata?.labels?.['kubernetes.io/service-name'] !== name) continue
        const p = (slice.ports ?? []).find((sp) => (sp.name ?? '') === (servicePort.name ?? ''))
        if (p?.port === undefined) continue
        const ready = (slice.endpoints ?? []).find(
          (e) => e.conditions?.ready !== false && e.addresses.length > 0,
        )
        if (ready?.addresses[0]) return { host: ready.addresses[0], port: p.port }
      }
    }
    if (spec.clusterIP && spec.clusterIP !== 'None') return { host: spec.clusterIP, port }
    throw new Error(`service "${name}" has no endpoints`)
  }
}

/**
 * A cluster-scoped object by name from its store (a Namespace, a PriorityClass): the watch cache
 * when it has the answer, else a read of the store; undefined when there is none.
 */
export function clusterObjectIn(
  store: () => RegistryStore | undefined,
): (name: string) => Promise<Readonly<KubeObject> | undefined> {
  return async (name) => {
    const s = store()
    if (!s) return undefined
    const cached = s.peek('', name)
    if (cached !== undefined) return cached?.object
    try {
      return (await s.get('', name)).object
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined
      throw err
    }
  }
}

type AnyWebhook = MutatingWebhook | ValidatingWebhook

/** A webhook prepared once per configuration generation. */
interface CompiledWebhook<W extends AnyWebhook> {
  /** configuration/webhook/index: what reinvocation remembers webhooks by. */
  readonly uid: string
  readonly configuration: string
  readonly webhook: Readonly<W>
  readonly namespaceSelector: ParsedSelector
  readonly objectSelector: ParsedSelector
  readonly conditions: readonly CompiledCondition[]
}

function compiler<W extends AnyWebhook>(): (
  config: Readonly<{ metadata?: { name?: string }; webhooks?: W[] }>,
) => readonly CompiledWebhook<W>[] {
  const compiled = new WeakMap<object, CompiledWebhook<W>[]>()
  return (config) => {
    let hooks = compiled.get(config)
    if (!hooks) {
      const name = config.metadata?.name ?? ''
      hooks = (config.webhooks ?? []).map((w, i) => ({
        uid: `${name}/${w.name}/${i}`,
        configuration: name,
        webhook: w,
        namespaceSelector: parseSelector(w.namespaceSelector),
        objectSelector: parseSelector(w.objectSelector),
        conditions: compileMatchConditions(w.matchConditions),
      }))
      compiled.set(config, hooks)
    }
    return hooks
  }
}

/** One request's view of its object in another version of the resource (matchPolicy Equivalent). */
interface Versioned {
  readonly resource: VersionedResource
  object: StoredObject | undefined
  oldObject: StoredObject | undefined
}

class RequestContext {
  readonly a: AdmissionAttributes
  readonly #authorizer: (() => Authorizer) | undefined
  readonly #activations = new Map<string, Record<string, unknown>>()

  constructor(a: AdmissionAttributes, authorizer: (() => Authorizer) | undefined) {
    this.a = a
    this.#authorizer = authorizer
  }

  /** The objects as the matched version of the resource has them. */
  versioned(resource: VersionedResource): Versioned {
    const a = this.a
    if (resource.group === a.group && resource.version === a.version) {
      return {
        resource,
        object: a.object as StoredObject | undefined,
        oldObject: a.oldObject as StoredObject | undefined,
      }
    }
    const convert = (o: KubeObject | undefined) => {
      if (o === undefined) return undefined
      const c = convertBetweenVersions(a, resource, o as StoredObject)
      if (!c)
        throw internalError(
          new Error(
            `unable to convert to ${resource.group}/${resource.version}, Resource=${resource.resource}`,
          ),
        )
      return c
    }
    return { resource, object: convert(a.object), oldObject: convert(a.oldObject) }
  }

  activation(v: Versioned): Record<string, unknown> {
    const key = `${v.resource.group}/${v.resource.version}`
    let act = this.#activations.get(key)
    if (!act) {
      act = celActivation({
        attributes: this.a,
        matched: v.resource,
        object: v.object,
        oldObject: v.oldObject,
        authorizer: this.#authorizer?.(),
      })
      this.#activations.set(key, act)
    }
    return act
  }

  /** Forget converted objects and activations: the object changed. */
  reset(): void {
    this.#activations.clear()
  }
}

/**
 * Whether a webhook is called for a request, and as which resource (upstream's ShouldCallHook):
 * undefined to skip it; throws the error that fails the request.
 */
async function invocationFor<W extends AnyWebhook>(
  h: CompiledWebhook<W>,
  ctx: RequestContext,
  namespaceLabels: NamespaceLabels,
): Promise<Versioned | undefined> {
  const a = ctx.a
  let nsError: ApiError | undefined
  if ('error' in h.namespaceSelector) nsError = internalError(new Error(h.namespaceSelector.error))
  else {
    const m = await namespaceSelectorMatches(h.namespaceSelector.selector, a, namespaceLabels)
    if ('notFound' in m) nsError = notFound({ group: '', resource: 'namespaces' }, m.notFound)
    else if (!m.matches) return undefined
  }
  let objError: ApiError | undefined
  if ('error' in h.objectSelector) objError = internalError(new Error(h.objectSelector.error))
  else if (!objectSelectorMatches(h.objectSelector.selector, a)) return undefined
  const resource = matchResource(h.webhook.rules ?? [], h.webhook.matchPolicy, a)
  if (!resource) return undefined
  if (nsError) throw nsError
  if (objError) throw objError
  const v = ctx.versioned(resource)
  if (h.conditions.length > 0) {
    const r = await matchConditions(h.conditions, ctx.activation(v), h.webhook.failurePolicy)
    if ('error' in r) throw forbidden({ group: a.group, resource: a.resource }, a.name, r.error)
    if (!r.matches) return undefined
  }
  return v
}

/** A webhook's refusal as the client gets it (upstream's ToStatusErr). */
export function webhookRejection(webhook: string, status: Status | undefined): ApiError {
  const denied = `admission webhook "${webhook}" denied the request`
  const s: Status = { ...(status ?? {}) }
  const message = s.message
    ? `${denied}: ${s.message}`
    : s.reason
      ? `${denied}: ${s.reason}`
      : `${denied} without explanation`
  const code = s.code !== undefined && s.code !== 0 ? s.code : s.status === 'Success' ? 200 : 500
  return new ApiError({
    ...s,
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: s.status || 'Failure',
    message,
    code,
  })
}

/** Calls one webhook: the verified answer; throws WebhookCallError or a final ApiError. */
async function callWebhook(
  client: Pick<WebhookClient, 'post'>,
  h: CompiledWebhook<AnyWebhook>,
  a: AdmissionAttributes,
  v: Versioned,
  mutating: boolean,
): Promise<ReturnType<typeof verifyAdmissionResponse>> {
  const w = h.webhook
  if (a.dryRun && w.sideEffects !== 'None' && w.sideEffects !== 'NoneOnDryRun') {
    throw badRequest(`admission webhook "${w.name}" does not support dry run`)
  }
  const review = admissionReviewFor(
    w.admissionReviewVersions,
    admissionRequest(a, v.resource, { object: v.object, oldObject: v.oldObject }),
  )
  if (!review) {
    throw new WebhookCallError(
      'could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)',
    )
  }
  let body: unknown
  try {
    body = await client.post(w.clientConfig, review, w.timeoutSeconds ?? 10)
  } catch (err) {
    if (err instanceof WebhookCallError)
      throw new WebhookCallError(`failed to call webhook: ${err.message}`, { cause: err })
    throw err
  }
  try {
    return verifyAdmissionResponse(review, body, mutating)
  } catch (err) {
    throw new WebhookCallError(`received invalid webhook response: ${(err as Error).message}`, { cause: err })
  }
}

function failedCalling(webhook: string, err: WebhookCallError): ApiError {
  return internalError(new Error(`failed calling webhook "${webhook}": ${err.message}`, { cause: err }))
}

interface MutatingState {
  lastOutput: unknown
  previouslyInvoked: Set<string>
  reinvoke: Set<string>
}

export function mutatingWebhookPlugin(
  o: WebhookPluginOptions<MutatingWebhookConfiguration>,
): AdmissionPlugin {
  const compile = compiler<MutatingWebhook>()
  return {
    name: mutatingWebhookPluginName,
    handles: (a) => o.configurations().length > 0 && !isExemptAdmissionConfigurationResource(a),
    async admit(a) {
      const configs = o.configurations()
      if (configs.length === 0) return
      const r = a.reinvocation
      let state = r?.values.get(mutatingWebhookPluginName) as MutatingState | undefined
      if (!state) {
        state = { lastOutput: undefined, previouslyInvoked: new Set(), reinvoke: new Set() }
        r?.values.set(mutatingWebhookPluginName, state)
      }
      const requireReinvoking = (s: MutatingState) => {
        for (const uid of s.previouslyInvoked) s.reinvoke.add(uid)
        s.previouslyInvoked.clear()
      }
      // In-tree plugins changed the object since the webhooks last saw it: all may run again.
      if (r?.isReinvoke && !deepEqual(state.lastOutput, a.object)) requireReinvoking(state)
      const ctx = new RequestContext(a, o.authorizer)
      try {
        for (const config of configs) {
          for (const h of compile(config)) {
            const v = await invocationFor(h, ctx, o.namespaceLabels)
            if (!v) continue
            if (r?.isReinvoke && !state.reinvoke.has(h.uid)) continue
            const changed = await mutateWith(o.client, h, a, v)
            if (changed) {
              ctx.reset()
              // A change after reinvocable webhooks saw the object: they run once more.
              requireReinvoking(state)
              if (r) r.shouldReinvoke = true
            }
            if (h.webhook.reinvocationPolicy === 'IfNeeded') state.previouslyInvoked.add(h.uid)
          }
        }
      } finally {
        state.lastOutput = a.object === undefined ? undefined : structuredClone(a.object)
      }
    },
  }
}

/**
 * Calls one mutating webhook and applies its patch to the request's object: whether the object
 * changed. A failure to call it is ignored under failurePolicy Ignore.
 */
async function mutateWith(
  client: Pick<WebhookClient, 'post'>,
  h: CompiledWebhook<MutatingWebhook>,
  a: AdmissionAttributes,
  v: Versioned,
): Promise<boolean> {
  const w = h.webhook
  let result
  try {
    result = await callWebhook(client, h, a, v, true)
  } catch (err) {
    if (!(err instanceof WebhookCallError)) throw err
    if (w.failurePolicy === 'Ignore') return false
    throw failedCalling(w.name, err)
  }
  if (a.warnings) a.warnings.push(...result.warnings)
  if (!result.allowed) throw webhookRejection(w.name, result.status)
  if (!result.patch || result.patch.length === 0) return false
  if (!v.object || !a.object) {
    throw internalError(
      new Error(
        `admission webhook "${w.name}" attempted to modify the object, which is not supported for this operation`,
      ),
    )
  }
  let patched: StoredObject
  try {
    patched = applyJsonPatch(v.object, result.patch)
  } catch (err) {
    throw internalError(err)
  }
  const back =
    v.resource.group === a.group && v.resource.version === a.version
      ? patched
      : convertBetweenVersions(v.resource, a, patched)
  if (!back) throw internalError(new Error(`unable to convert to ${a.group}/${a.version}`))
  a.defaulter?.(back)
  if (deepEqual(back, a.object)) return false
  replaceContents(a.object, back)
  return true
}

export function validatingWebhookPlugin(
  o: WebhookPluginOptions<ValidatingWebhookConfiguration>,
): AdmissionPlugin {
  const compile = compiler<ValidatingWebhook>()
  return {
    name: validatingWebhookPluginName,
    handles: (a) => o.configurations().length > 0 && !isExemptAdmissionConfigurationResource(a),
    async validate(a) {
      const configs = o.configurations()
      if (configs.length === 0) return
      const ctx = new RequestContext(a, o.authorizer)
      const calls: { h: CompiledWebhook<ValidatingWebhook>; v: Versioned }[] = []
      for (const config of configs) {
        for (const h of compile(config)) {
          const v = await invocationFor(h, ctx, o.namespaceLabels)
          if (v) calls.push({ h, v })
        }
      }
      if (calls.length === 0) return
      // All at once; the first to fail the request decides its answer.
      let first: ApiError | undefined
      await Promise.all(
        calls.map(async ({ h, v }) => {
          try {
            const result = await callWebhook(o.client, h, a, v, false)
            if (a.warnings) a.warnings.push(...result.warnings)
            if (!result.allowed) first ??= webhookRejection(h.webhook.name, result.status)
          } catch (err) {
            if (err instanceof WebhookCallError) {
              if (h.webhook.failurePolicy !== 'Ignore') first ??= failedCalling(h.webhook.name, err)
            } else first ??= err instanceof ApiError ? err : internalError(err)
          }
        }),
      )
      if (first) throw first
    },
  }
}

/** Makes `target` hold what `source` holds (admission changes the request's object in place). */
function replaceContents(target: KubeObject, source: KubeObject): void {
  for (const k of Object.keys(target)) delete target[k]
  Object.assign(target, source)
}
