import type { Logger } from 'pino'
import { builtinResources, type ResourceInfo } from '../../api/resources.ts'
import type { StoredObject } from '../../api/object.ts'
import { fieldsOf, parseFieldSelector, supportedFields } from '../../api/selectors/field-selector.ts'
import { labelSelectorString, parseLabelSelector, SelectorError } from '../../api/selectors/label-selector.ts'
import type { Clock } from '../../base/clock.ts'
import type { Storage } from '../../storage/index.ts'
import type { AdmissionChain } from '../admission/admission.ts'
import type { Handler } from '../context.ts'
import type { ResourceEndpoint, Subresource, TableConvertor } from '../endpoint.ts'
import { ApiError, badRequest, methodNotSupported, pathNotFound } from '../errors.ts'
import type { ResourceHandlerDeps } from '../handlers/resources.ts'
import { statusSubresource } from '../handlers/resources.ts'
import { componentStatusHandler } from '../handlers/componentstatuses.ts'
import { podLogSubresource } from '../handlers/pod-log.ts'
import type { KubeletClient } from '../kubelet-client.ts'
import { bindingSubresource, evictionSubresource, scaleSubresource } from '../handlers/subresources.ts'
import { defaultTable } from '../table.ts'
import type { RangeAllocator } from './allocator.ts'
import { Endpoints } from './endpoints.ts'
import {
  certificateSigningRequestApprovalStrategy,
  certificateSigningRequestStatusStrategy,
  certificateSigningRequestStrategy,
} from './resources/certificates.ts'
import { daemonSetStrategy } from './resources/daemonsets.ts'
import { jobStrategy } from './resources/jobs.ts'
import { plainStrategy, secretStrategy, specStatusStrategy, withValidation } from './resources/generic.ts'
import { conversionFor } from '../../api/conversion.ts'
import { defaulterFor } from '../../api/defaults/index.ts'
import { printerFor } from '../../api/printers/index.ts'
import { validatorFor } from '../../api/validation/index.ts'
import { namespaceFinalizeStrategy, namespaceStrategy } from './resources/namespaces.ts'
import { podStrategy } from './resources/pods.ts'
import { rbacStrategy, type RbacRegistryChecks, type RbacResource } from './resources/rbac.ts'
import { serviceStrategy } from './resources/services.ts'
import { RegistryStore, rfc3339, type FieldManager } from './store.ts'
import { recordUpdate } from '../../api/patch/apply.ts'
import { schemaForKind } from '../../api/schema.ts'
import { statusResetMetadataOf, statusStrategyOf, type ResourceStrategy } from './strategy.ts'
import type { ResourceRequestInfo } from '../request-info.ts'
import { applyPatch } from '../patch.ts'
import { decodeProtobufBody, unknownFieldWarnings } from '../codec.ts'
import type { ApiMetrics } from '../metrics.ts'

export interface BuildOptions {
  storage: Storage
  clock: Clock
  log: Logger
  admission: AdmissionChain
  ips: RangeAllocator
  ports: RangeAllocator
  /** What the RBAC resources' escalation checks ask (without it they are stored unchecked). */
  rbac?: RbacRegistryChecks
  /** serviceaccounts/token: the TokenRequest API. */
  tokenRequest?: (deps: ResourceHandlerDeps) => Subresource
  /** Handlers of reviews (asked on create, stored nowhere) by group/resource. */
  reviews?: ReadonlyMap<string, (deps: ResourceHandlerDeps) => Handler>
  /** How pods/log reaches kubelets; without it, it answers 503. */
  kubelets?: KubeletClient
  /** Where store latencies and watcher counts go (none without it). */
  metrics?: ApiMetrics
}

/**
 * Reviews: resources that are not stored objects but answer a question on create. Those with a
 * handler in BuildOptions.reviews are served by it; the others are not served.
 */
const virtual = new Set([
  'authentication.k8s.io/tokenreviews',
  'authentication.k8s.io/selfsubjectreviews',
  'authorization.k8s.io/subjectaccessreviews',
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/localsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectrulesreviews',
])

/** The order groups appear in discovery (as kube-apiserver orders them); the core group first. */
const groupOrder = [
  '',
  'apiregistration.k8s.io',
  'apps',
  'events.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'networking.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'node.k8s.io',
  'discovery.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'resource.k8s.io',
]

/** Preferred version first within a group. */
const versionOrder = (v: string) => (v === 'v2' ? 0 : v === 'v1' ? 1 : 2)

/**
 * The resources whose DELETE answers with the deleted object rather than a Status: those whose
 * registry sets ReturnDeletedObject in Kubernetes (pkg/registry/<group>/<resource>/storage).
 */
const returnsDeletedObject = new Set([
  '/pods',
  '/services',
  '/serviceaccounts',
  '/namespaces',
  '/persistentvolumes',
  '/persistentvolumeclaims',
  'storage.k8s.io/storageclasses',
  'storage.k8s.io/csidrivers',
  'storage.k8s.io/csinodes',
  'storage.k8s.io/volumeattachments',
  'storage.k8s.io/volumeattributesclasses',
  'resource.k8s.io/deviceclasses',
  'resource.k8s.io/resourceclaims',
  'resource.k8s.io/resourceclaimtemplates',
  'resource.k8s.io/resourceslices',
])

/** The strategy of each stored resource that differs from the generic ones. */
function strategyFor(r: ResourceInfo, o: BuildOptions): ResourceStrategy {
  const base = baseStrategyFor(r, o)
  return returnsDeletedObject.has(`${r.group}/${r.resource}`) ? { ...base, returnDeletedObject: true } : base
}

function baseStrategyFor(r: ResourceInfo, o: BuildOptions): ResourceStrategy {
  const key = `${r.group}/${r.resource}`
  switch (key) {
    case '/namespaces':
      return namespaceStrategy
    case '/services':
      return serviceStrategy(o.ips, o.ports)
    case '/pods':
      return podStrategy
    case 'batch/jobs':
      return jobStrategy
    case 'apps/daemonsets':
      return daemonSetStrategy
    case 'certificates.k8s.io/certificatesigningrequests':
      return certificateSigningRequestStrategy
    case '/secrets':
      return secretStrategy
    case '/events':
    case 'events.k8s.io/events':
      return { ...plainStrategy, ttlSeconds: () => 3600, cacheOnFirstRead: true }
    case '/nodes':
      return { ...specStatusStrategy, prepareForCreate: (obj) => void (obj.status ??= {}) }
    case 'rbac.authorization.k8s.io/roles':
    case 'rbac.authorization.k8s.io/clusterroles':
    case 'rbac.authorization.k8s.io/rolebindings':
    case 'rbac.authorization.k8s.io/clusterrolebindings':
      return o.rbac
        ? rbacStrategy(r.resource as RbacResource, o.rbac)
        : { ...plainStrategy, allowCreateOnUpdate: true }
    default:
      return r.subresources.some((s) => s.name === 'status') ? specStatusStrategy : plainStrategy
  }
}

export function buildEndpoints(o: BuildOptions): { endpoints: Endpoints; deps: ResourceHandlerDeps } {
  const endpoints = new Endpoints()
  const deps: ResourceHandlerDeps = {
    endpoints,
    labelSelector: (s) => {
      try {
        const sel = parseLabelSelector(s)
        return (labels) => sel.matches(labels)
      } catch (err) {
        if (err instanceof SelectorError) throw badRequest(err.message)
        throw err
      }
    },
    fieldSelector: (ep, s) => {
      let sel
      try {
        sel = parseFieldSelector(s)
      } catch (err) {
        if (err instanceof SelectorError) throw badRequest(err.message)
        throw err
      }
      const d = ep.definition
      const supported = supportedFields(d.group, d.resource, d.namespaced)
      for (const r of sel.requirements) {
        if (!supported.has(r.field)) {
          throw badRequest(
            `Unable to find {"${d.group}" "${d.version}" "${d.resource}"} that match label selector "", field selector "${s}": field label not supported: ${r.field}`,
          )
        }
      }
      return (fields) => sel.matches(fields)
    },
    decodeProtobuf: decodeProtobufBody,
    unknownFields: (ep, obj, json) => unknownFieldWarnings(ep.definition, obj, json),
    patch: (ep, type, current, patch, options) => applyPatch(ep.definition, type, current, patch, options),
    now: () => o.clock.now(),
    ...(o.metrics ? { watching: o.metrics.watching } : {}),
  }

  const sorted = [...builtinResources].sort(
    (a, b) =>
      indexOf(groupOrder, a.group) - indexOf(groupOrder, b.group) ||
      versionOrder(a.version) - versionOrder(b.version) ||
      a.resource.localeCompare(b.resource),
  )
  const stores = new Map<string, RegistryStore>()
  for (const r of sorted) {
    const key = `${r.group}/${r.resource}`
    if (key === '/componentstatuses') {
      endpoints.add(componentStatusEndpoint(r, deps, o))
      continue
    }
    if (key === '/bindings') {
      endpoints.add(bindingsEndpoint(r, deps, endpoints, o.admission))
      continue
    }
    if (virtual.has(key)) {
      const review = o.reviews?.get(key)
      if (review) endpoints.add(reviewEndpoint(r, review(deps)))
      continue
    }
    const strategy = withValidatorOf(r, strategyFor(r, o))
    // Versions of one resource share its stored objects (autoscaling v1 and v2, core and
    // events.k8s.io events), each served through a conversion from the storage version.
    const served = `${r.group}/${r.version}/${r.resource}`
    if (stores.has(served)) continue
    const conversion = conversionFor(r, r.storage)
    const store = new RegistryStore({
      definition: {
        group: r.group,
        version: r.version,
        kind: r.kind,
        resource: r.resource,
        namespaced: r.namespaced,
      },
      strategy,
      // Timed under the stored resource's name, as kube-apiserver labels its store requests.
      storage: o.metrics
        ? o.metrics.timed(
            o.storage,
            r.storage.group === '' ? r.storage.resource : `${r.storage.resource}.${r.storage.group}`,
          )
        : o.storage,
      prefix: `/registry/${r.storage.group === '' ? 'core' : r.storage.group}/${r.storage.resource}/`,
      clock: o.clock,
      log: o.log,
      admission: o.admission,
      fieldManager: fieldManagerFor(r, o.clock),
      ...defaultsFor(r),
      ...(conversion ? { conversion } : {}),
    })
    stores.set(served, store)
    if (!stores.has(key)) stores.set(key, store)
    const subresources = new Map<string, Subresource>()
    for (const s of r.subresources) {
      const sub =
        key === '/serviceaccounts' && s.name === 'token'
          ? o.tokenRequest?.(deps)
          : key === '/pods' && s.name === 'eviction'
            ? evictionSubresource(deps, () => stores.get('policy/poddisruptionbudgets'), o.admission)
            : key === '/pods' && s.name === 'log'
              ? podLogSubresource({ kubelets: o.kubelets, nodes: () => stores.get('/nodes') })
              : key === '/pods' && s.name === 'binding'
                ? bindingSubresource(deps, o.admission)
                : subresourceFor(r, s.name, strategy, deps)
      if (sub) subresources.set(s.name, sub)
    }
    const ep: ResourceEndpoint = {
      definition: r,
      store,
      subresources,
      table: tableFor(r),
      fields: fieldsOf(r.group, r.resource, r.namespaced),
    }
    endpoints.add(ep)
  }
  return { endpoints, deps }
}

function componentStatusEndpoint(
  r: ResourceInfo,
  deps: ResourceHandlerDeps,
  o: BuildOptions,
): ResourceEndpoint {
  const handler = componentStatusHandler(deps, { storage: o.storage })
  const ep: ResourceEndpoint = {
    definition: r,
    subresources: new Map(),
    table: tableFor(r),
    fields: fieldsOf(r.group, r.resource, r.namespaced),
    handle: (ctx) => handler(ep)(ctx),
  }
  return ep
}

/** A review: create only, answered by its handler. */
function reviewEndpoint(r: ResourceInfo, handle: Handler): ResourceEndpoint {
  return {
    definition: r,
    subresources: new Map(),
    table: tableFor(r),
    fields: fieldsOf(r.group, r.resource, r.namespaced),
    handle,
  }
}

/** POST /api/v1/namespaces/{ns}/bindings: the older way to bind a pod, named in the body. */
function bindingsEndpoint(
  r: ResourceInfo,
  deps: ResourceHandlerDeps,
  endpoints: Endpoints,
  admission: AdmissionChain | undefined,
): ResourceEndpoint {
  const binding = bindingSubresource(deps, admission)
  return {
    definition: r,
    subresources: new Map(),
    table: tableFor(r),
    fields: fieldsOf(r.group, r.resource, r.namespaced),
    handle: (ctx) => {
      const pods = endpoints.lookup('', 'v1', 'pods')
      if (!pods) throw pathNotFound()
      return binding.handle(ctx, pods)
    },
  }
}

function subresourceFor(
  r: ResourceInfo,
  name: string,
  strategy: ResourceStrategy,
  deps: ResourceHandlerDeps,
): Subresource | undefined {
  const self = { group: r.group, version: r.version, kind: r.kind }
  if (r.group === 'certificates.k8s.io' && r.resource === 'certificatesigningrequests') {
    if (name === 'status') return statusSubresource(deps, certificateSigningRequestStatusStrategy, self)
    if (name === 'approval')
      return statusSubresource(deps, certificateSigningRequestApprovalStrategy, self, 'approval')
  }
  switch (name) {
    case 'status':
      return statusSubresource(
        deps,
        statusStrategyOf(strategy, statusResetMetadataOf[`${r.group}/${r.resource}`]),
        self,
      )
    case 'scale':
      return scaleSubresource(deps, (w) => scaleSelector(w))
    case 'finalize':
      return r.resource === 'namespaces' ? finalizeSubresource(deps) : undefined
    case 'log':
    case 'exec':
    case 'attach':
    case 'portforward':
    case 'proxy':
      return nodeStreamSubresource(r, name)
    default:
      return undefined
  }
}

/** namespaces/finalize: PUT a Namespace whose spec.finalizers replace the stored ones. */
function finalizeSubresource(deps: ResourceHandlerDeps): Subresource {
  const status = statusSubresource(deps, namespaceFinalizeStrategy, {
    group: '',
    version: 'v1',
    kind: 'Namespace',
  })
  return { ...status, verbs: ['update'] }
}

/**
 * Streams served by the node the object runs on (exec, attach, port-forward, proxy; pods/log is
 * served by handlers/pod-log.ts). Until the apiserver connects them to the kubelet, they answer
 * that no node can serve them.
 */
function nodeStreamSubresource(r: ResourceInfo, name: string): Subresource {
  const info = r.subresources.find((s) => s.name === name)
  return {
    group: info?.group ?? r.group,
    version: info?.version ?? r.version,
    kind: info?.kind ?? r.kind,
    verbs: info?.verbs ?? [],
    handle: async (ctx) => {
      const verb = (ctx.info as ResourceRequestInfo).verb
      if (!(info?.verbs ?? []).includes(verb))
        throw methodNotSupported({ group: r.group, resource: `${r.resource}/${name}` }, verb)
      throw new ApiError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `${r.resource}/${name} needs a node agent (kubelet), and none is connected to this apiserver`,
        reason: 'ServiceUnavailable',
        code: 503,
      })
    },
  }
}

/** Scale.status.selector of a workload: its label selector as a string. */
function scaleSelector(w: StoredObject): string {
  const sel = (w.spec as { selector?: unknown } | undefined)?.selector
  if (sel === undefined || sel === null) return ''
  const obj = sel as Record<string, unknown>
  // ReplicationControllers select with a plain map; the apps workloads with a LabelSelector.
  if (!('matchLabels' in obj) && !('matchExpressions' in obj)) {
    return labelSelectorString({ matchLabels: obj as Record<string, string> })
  }
  return labelSelectorString(obj)
}

/** Defaulting as decoding does it, for the stored version of the kind. */
function defaultsFor(r: ResourceInfo): { defaults?: (obj: StoredObject) => void } {
  const d = defaulterFor(r.group, r.version, r.kind)
  return d ? { defaults: d } : {}
}

/** The kind's validation added to its strategy. */
function withValidatorOf(r: ResourceInfo, strategy: ResourceStrategy): ResourceStrategy {
  const v = validatorFor(r.group, r.resource)
  if (!v) return strategy
  const status = v.validateStatusUpdate?.bind(v)
  return withValidation(
    strategy,
    (obj) => v.validate(obj),
    (next, prev) => v.validateUpdate(next, prev),
    status ? (next, prev) => status(next, prev) : undefined,
  )
}

/** Records each write's managedFields entry (operation Update) for its field manager. */
function fieldManagerFor(r: ResourceInfo, clock: Clock): FieldManager {
  const schema = schemaForKind({ group: r.group, version: r.version, kind: r.kind })
  const apiVersion = r.group === '' ? r.version : `${r.group}/${r.version}`
  return {
    update: (next, prev, manager, subresource) =>
      recordUpdate(next, prev, { manager, apiVersion, subresource, time: rfc3339(clock.now()), schema }),
  }
}

function tableFor(r: ResourceInfo): TableConvertor {
  return printerFor(r.group, r.resource) ?? defaultTable
}

function indexOf(list: readonly string[], v: string): number {
  const i = list.indexOf(v)
  return i < 0 ? list.length : i
}
