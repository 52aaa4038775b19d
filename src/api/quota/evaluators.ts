import type {
  PersistentVolumeClaim,
  Pod,
  PodAffinityTerm,
  ResourceQuota,
  ScopedResourceSelectorRequirement,
  Service,
  WeightedPodAffinityTerm,
} from '../generated/types/core-v1.ts'
import type { KubeObject } from '../object.ts'
import {
  isBestEffort,
  isPodLevelResourcesSet,
  podLimits,
  podRequests,
  resourceListOf,
} from '../pod-resources.ts'
import { compareQuantities, parseQuantity, roundUp, type Quantity } from '../quantity.ts'
import { addLists, count, mask, type ResourceList } from './resource-list.ts'

/**
 * How ResourceQuota measures objects (Kubernetes' quota evaluators, pkg/quota/v1): one evaluator
 * per resource says which quota resource names it can charge, how much one object uses, which
 * scopes an object is in, and which writes change usage. The ResourceQuota admission plugin
 * charges writes with them; the resourcequota controller sums them over a namespace.
 *
 * Pods, Services and PersistentVolumeClaims have their own evaluators; every other resource is
 * counted as `count/<resource>.<group>` (with the legacy short names `configmaps`, `secrets`,
 * `resourcequotas` and `replicationcontrollers` for those four).
 */
export type QuotaOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'

/** The part of a write an evaluator looks at to decide whether it changes usage. */
export interface QuotaWrite {
  readonly operation: QuotaOperation
  readonly subresource: string
  readonly object: Readonly<KubeObject> | undefined
  readonly oldObject: Readonly<KubeObject> | undefined
}

export interface QuotaEvaluator {
  readonly group: string
  readonly resource: string
  /** Whether the write can change usage (Handles). */
  handles(w: QuotaWrite): boolean
  /** The names in `names` this evaluator charges (MatchingResources), sorted. */
  matchingResources(names: readonly string[]): string[]
  /** Whether the object is in the scope the requirement names. */
  matchesScope(selector: Readonly<ScopedResourceSelectorRequirement>, obj: Readonly<KubeObject>): boolean
  /**
   * What the object lacks for a quota that limits `required` (Constraints): a message in
   * upstream's words, or undefined when nothing is missing.
   */
  constraints(required: readonly string[], obj: Readonly<KubeObject>): string | undefined
  /** What one object uses; `now` (ms) decides whether a pod being deleted still counts. */
  usage(obj: Readonly<KubeObject>, now: number): ResourceList
}

/** `count/<resource>` for the core group, `count/<resource>.<group>` otherwise. */
export function objectCountName(group: string, resource: string): string {
  return group === '' ? `count/${resource}` : `count/${resource}.${group}`
}

/** The resource a `count/...` name counts, or undefined for other names. */
export function parseObjectCountName(name: string): { group: string; resource: string } | undefined {
  if (!name.startsWith('count/')) return undefined
  const rest = name.slice('count/'.length)
  const dot = rest.indexOf('.')
  return dot < 0
    ? { group: '', resource: rest }
    : { group: rest.slice(dot + 1), resource: rest.slice(0, dot) }
}

/**
 * Resources quota never charges: virtual ones (reviews, bindings, componentstatuses) and events
 * (kube-apiserver's DefaultIgnoredResources).
 */
const ignored = new Set([
  '/bindings',
  '/componentstatuses',
  'authentication.k8s.io/tokenreviews',
  'authentication.k8s.io/selfsubjectreviews',
  'authorization.k8s.io/subjectaccessreviews',
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/localsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectrulesreviews',
  '/events',
  'events.k8s.io/events',
])

export function isIgnoredByQuota(group: string, resource: string): boolean {
  return ignored.has(`${group}/${resource}`)
}

/** A quota's scopes and scopeSelector as one list of requirements (scopes mean Exists). */
export function scopeSelectorsOf(q: Readonly<ResourceQuota>): ScopedResourceSelectorRequirement[] {
  return [
    ...(q.spec?.scopes ?? []).map((scopeName) => ({ scopeName, operator: 'Exists' })),
    ...(q.spec?.scopeSelector?.matchExpressions ?? []),
  ]
}

/**
 * Whether the quota covers the object: it limits a resource the evaluator charges (by its
 * status.hard, what the controller has confirmed), and the object is in all its scopes.
 */
export function quotaMatches(
  e: QuotaEvaluator,
  q: Readonly<ResourceQuota>,
  obj: Readonly<KubeObject>,
): boolean {
  if (e.matchingResources(Object.keys(q.status?.hard ?? {})).length === 0) return false
  return scopeSelectorsOf(q).every((s) => e.matchesScope(s, obj))
}

// --- object counts -----------------------------------------------------------------------------

function objectCountEvaluator(group: string, resource: string, alias?: string): QuotaEvaluator {
  const names = [objectCountName(group, resource), ...(alias ? [alias] : [])]
  return {
    group,
    resource,
    handles: (w) => w.subresource === '' && w.operation === 'CREATE',
    matchingResources: (input) => intersection(input, names),
    matchesScope: () => false,
    constraints: () => undefined,
    usage: () => new Map(names.map((n) => [n, count(1)])),
  }
}

// --- pods --------------------------------------------------------------------------------------

const podResources = [
  'count/pods',
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
]
const podResourcePrefixes = ['hugepages-', 'requests.hugepages-']

/**
 * The resources a quota on cpu or memory makes every container state (a backward-compatibility
 * requirement upstream keeps, and promises not to extend).
 */
const requiredWhenLimited = new Set([
  'cpu',
  'memory',
  'requests.cpu',
  'requests.memory',
  'limits.cpu',
  'limits.memory',
])

/** Native resources are unqualified or in the kubernetes.io domain. */
const isNativeResource = (name: string) => !name.includes('/') || name.includes('kubernetes.io/')
const deviceClassPrefix = 'deviceclass.resource.kubernetes.io/'

/** An extended resource a pod requests, charged as requests.<name>. */
function isExtendedResource(name: string): boolean {
  if (name.startsWith('requests.')) return false
  return !isNativeResource(name) || name.startsWith(deviceClassPrefix)
}

/** A quota resource name of an extended resource: requests.<extended name>. */
function isExtendedResourceNameForQuota(name: string): boolean {
  if (!name.startsWith('requests.')) return false
  return !isNativeResource(name) || name.startsWith(`requests.${deviceClassPrefix}`)
}

/** What a set of requests and limits charges (podComputeUsageHelper). */
function computeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = new Map([['pods', count(1)]])
  for (const name of ['cpu', 'memory', 'ephemeral-storage']) {
    const req = requests.get(name)
    if (req) {
      out.set(name, req)
      out.set(`requests.${name}`, req)
    }
    const lim = limits.get(name)
    if (lim) out.set(`limits.${name}`, lim)
  }
  for (const [name, req] of requests) {
    if (name.startsWith('hugepages-')) {
      out.set(name, req)
      out.set(`requests.${name}`, req)
    }
    if (isExtendedResource(name)) out.set(`requests.${name}`, req)
  }
  return out
}

/** A pod with an active deadline is Terminating for quota scopes. */
export function isTerminating(pod: Readonly<Pod>): boolean {
  const d = pod.spec?.activeDeadlineSeconds
  return d !== undefined && d >= 0
}

/**
 * Whether a pod's compute resources still count: not once it has finished (Succeeded, Failed),
 * nor once its graceful deletion is overdue (a lost node must not pin quota).
 */
export function podCountsForQuota(pod: Readonly<Pod>, now: number): boolean {
  const phase = pod.status?.phase
  if (phase === 'Succeeded' || phase === 'Failed') return false
  const m = pod.metadata
  if (m?.deletionTimestamp && m.deletionGracePeriodSeconds !== undefined) {
    const deadline = Date.parse(m.deletionTimestamp) + m.deletionGracePeriodSeconds * 1000
    if (now > deadline) return false
  }
  return true
}

const crossNamespaceTerm = (t: Readonly<PodAffinityTerm> | undefined) =>
  (t?.namespaces ?? []).length > 0 || t?.namespaceSelector !== undefined

function usesCrossNamespacePodAffinity(pod: Readonly<Pod>): boolean {
  const a = pod.spec?.affinity
  const required = (terms: readonly PodAffinityTerm[] | undefined) => (terms ?? []).some(crossNamespaceTerm)
  const preferred = (terms: readonly WeightedPodAffinityTerm[] | undefined) =>
    (terms ?? []).some((t) => crossNamespaceTerm(t.podAffinityTerm))
  for (const x of [a?.podAffinity, a?.podAntiAffinity]) {
    if (
      required(x?.requiredDuringSchedulingIgnoredDuringExecution) ||
      preferred(x?.preferredDuringSchedulingIgnoredDuringExecution)
    )
      return true
  }
  return false
}

/** A scope requirement as a label requirement over {PriorityClass: <name>} (empty without a class). */
function matchesPriorityClass(s: Readonly<ScopedResourceSelectorRequirement>, className: string): boolean {
  const values = s.values ?? []
  switch (s.operator) {
    case 'Exists':
      return className !== ''
    case 'DoesNotExist':
      return className === ''
    case 'In':
      return className !== '' && values.includes(className)
    case 'NotIn':
      return className === '' || !values.includes(className)
    default:
      return false
  }
}

export const podEvaluator: QuotaEvaluator = {
  group: '',
  resource: 'pods',
  handles(w) {
    switch (w.subresource) {
      case '':
        if (w.operation === 'UPDATE' && w.object && w.oldObject) {
          // A pod that gets (or loses) an active deadline moves between scopes.
          return isTerminating(w.object) !== isTerminating(w.oldObject)
        }
        return w.operation === 'CREATE'
      case 'resize':
        return w.operation === 'UPDATE'
      default:
        return false
    }
  },
  matchingResources(input) {
    const out = intersection(input, podResources)
    for (const name of input) {
      if (podResourcePrefixes.some((p) => name.startsWith(p)) || isExtendedResourceNameForQuota(name))
        out.push(name)
    }
    return out
  },
  matchesScope(s, obj) {
    const pod = obj as Pod
    switch (s.scopeName) {
      case 'Terminating':
        return isTerminating(pod)
      case 'NotTerminating':
        return !isTerminating(pod)
      case 'BestEffort':
        return isBestEffort(pod)
      case 'NotBestEffort':
        return !isBestEffort(pod)
      case 'PriorityClass':
        return matchesPriorityClass(s, pod.spec?.priorityClassName ?? '')
      case 'CrossNamespacePodAffinity':
        return usesCrossNamespacePodAffinity(pod)
      default:
        return false
    }
  },
  constraints(required, obj) {
    const pod = obj as Pod
    // With pod-level resources, containers need not state their own.
    if (isPodLevelResourcesSet(pod)) return undefined
    const wanted = required.filter((r) => requiredWhenLimited.has(r))
    if (wanted.length === 0) return undefined
    const missing = new Map<string, Set<string>>()
    const spec = pod.spec
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      const has = computeUsage(resourceListOf(c.resources?.requests), resourceListOf(c.resources?.limits))
      for (const r of wanted) {
        if (has.has(r)) continue
        const names = missing.get(r) ?? new Set<string>()
        names.add(c.name)
        missing.set(r, names)
      }
    }
    if (missing.size === 0) return undefined
    const parts = [...missing.keys()]
      .sort()
      .map((r) => `${r} for: ${[...(missing.get(r) ?? [])].sort().join(',')}`)
    return `must specify ${parts.join('; ')}`
  },
  usage(obj, now) {
    const pod = obj as Pod
    // The object count covers every stored pod; compute resources only the live ones.
    const out: ResourceList = new Map([['count/pods', count(1)]])
    if (!podCountsForQuota(pod, now)) return out
    const o = { useStatusResources: true }
    return addLists(out, computeUsage(podRequests(pod, o), podLimits(pod, o)))
  },
}

// --- services ----------------------------------------------------------------------------------

const serviceResources = ['count/services', 'services', 'services.nodeports', 'services.loadbalancers']

export const serviceEvaluator: QuotaEvaluator = {
  group: '',
  resource: 'services',
  // The type of a Service can change, and with it what it uses.
  handles: (w) => w.operation === 'CREATE' || w.operation === 'UPDATE',
  matchingResources: (input) => intersection(input, serviceResources),
  matchesScope: () => false,
  constraints: () => undefined,
  usage(obj) {
    const svc = obj as Service
    const ports = svc.spec?.ports ?? []
    const out: ResourceList = new Map([
      ['count/services', count(1)],
      ['services', count(1)],
      ['services.loadbalancers', count(0)],
      ['services.nodeports', count(0)],
    ])
    switch (svc.spec?.type) {
      case 'NodePort':
        out.set('services.nodeports', count(ports.length))
        break
      case 'LoadBalancer': {
        // Without node ports allocated, only the ports that ask for one explicitly count.
        const counted =
          svc.spec.allocateLoadBalancerNodePorts === false
            ? ports.filter((p) => (p.nodePort ?? 0) !== 0).length
            : ports.length
        out.set('services.nodeports', count(counted))
        out.set('services.loadbalancers', count(1))
        break
      }
    }
    return out
  },
}

// --- persistent volume claims ------------------------------------------------------------------

const pvcResources = ['persistentvolumeclaims', 'requests.storage']
const storageClassSuffix = '.storageclass.storage.k8s.io/'

/** The claim's class: the beta annotation first, then spec.storageClassName. */
export function claimStorageClass(pvc: Readonly<PersistentVolumeClaim>): string {
  const annotated = pvc.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class']
  if (annotated !== undefined) return annotated
  return pvc.spec?.storageClassName ?? ''
}

/** Storage requested, in whole bytes; what was allocated when expansion left it larger. */
function claimStorage(pvc: Readonly<PersistentVolumeClaim>): Quantity | undefined {
  const requested = parseQuantity(pvc.spec?.resources?.requests?.storage)
  if (!requested) return undefined
  let result = roundUp(requested, 0)
  const allocated = parseQuantity(pvc.status?.allocatedResources?.storage)
  if (allocated && compareQuantities(allocated, result) > 0) result = roundUp(allocated, 0)
  return result
}

export const persistentVolumeClaimEvaluator: QuotaEvaluator = {
  group: '',
  resource: 'persistentvolumeclaims',
  handles: (w) => w.operation === 'CREATE' || w.operation === 'UPDATE',
  matchingResources(input) {
    const out = input.filter(
      (name) =>
        name === 'count/persistentvolumeclaims' ||
        pvcResources.includes(name) ||
        pvcResources.some((r) => name.endsWith(storageClassSuffix + r)),
    )
    return [...new Set(out)].sort()
  },
  matchesScope: () => false,
  constraints: () => undefined,
  usage(obj) {
    const pvc = obj as PersistentVolumeClaim
    const out: ResourceList = new Map([
      ['persistentvolumeclaims', count(1)],
      ['count/persistentvolumeclaims', count(1)],
    ])
    const cls = claimStorageClass(pvc)
    if (cls !== '') out.set(`${cls}${storageClassSuffix}persistentvolumeclaims`, count(1))
    const storage = claimStorage(pvc)
    if (storage) {
      out.set('requests.storage', storage)
      if (cls !== '') out.set(`${cls}${storageClassSuffix}requests.storage`, storage)
    }
    return out
  },
}

// --- registry ----------------------------------------------------------------------------------

const legacyAliases: Record<string, string> = {
  configmaps: 'configmaps',
  resourcequotas: 'resourcequotas',
  replicationcontrollers: 'replicationcontrollers',
  secrets: 'secrets',
}

const evaluators = new Map<string, QuotaEvaluator>([
  ['/pods', podEvaluator],
  ['/services', serviceEvaluator],
  ['/persistentvolumeclaims', persistentVolumeClaimEvaluator],
  ...Object.entries(legacyAliases).map(
    ([resource, alias]) => [`/${resource}`, objectCountEvaluator('', resource, alias)] as const,
  ),
])

/** The evaluators with logic of their own (and the aliased counts), as the controller registers them. */
export const staticEvaluators: readonly QuotaEvaluator[] = [...evaluators.values()]

/**
 * The evaluator of a resource: its own, or an object count made on first use (kube-apiserver adds
 * one for any resource it is asked about).
 */
export function evaluatorFor(group: string, resource: string): QuotaEvaluator {
  const key = `${group}/${resource}`
  let e = evaluators.get(key)
  if (!e) {
    e = objectCountEvaluator(group, resource)
    evaluators.set(key, e)
  }
  return e
}

// --- usage of a namespace ----------------------------------------------------------------------

export interface UsageQuery {
  /** The quota's hard limits: usage is measured for these names only. */
  hard: readonly string[]
  scopes: readonly ScopedResourceSelectorRequirement[]
  /** The objects of one resource in the quota's namespace. */
  objects(group: string, resource: string): Promise<readonly Readonly<KubeObject>[]>
  now: number
}

/**
 * What a namespace uses of the resources a quota limits (quota.CalculateUsage): every evaluator
 * that charges some of them sums its objects in the quota's scopes; names nothing charges get
 * no entry. Object counts of any resource are measured through `count/<resource>.<group>`.
 */
export async function calculateUsage(q: UsageQuery): Promise<ResourceList> {
  const chosen = new Set<QuotaEvaluator>()
  for (const e of staticEvaluators) if (e.matchingResources(q.hard).length > 0) chosen.add(e)
  for (const name of q.hard) {
    const counted = parseObjectCountName(name)
    if (!counted || isIgnoredByQuota(counted.group, counted.resource)) continue
    chosen.add(evaluatorFor(counted.group, counted.resource))
  }
  let used: ResourceList = new Map()
  for (const e of chosen) {
    const names = e.matchingResources(q.hard)
    if (names.length === 0) continue
    let sum: ResourceList = new Map(names.map((n) => [n, count(0)]))
    for (const obj of await q.objects(e.group, e.resource)) {
      if (!q.scopes.every((s) => e.matchesScope(s, obj))) continue
      sum = addLists(sum, e.usage(obj, q.now))
    }
    used = addLists(used, mask(sum, names))
  }
  return used
}

function intersection(input: readonly string[], known: readonly string[]): string[] {
  return [...new Set(input.filter((n) => known.includes(n)))].sort()
}
