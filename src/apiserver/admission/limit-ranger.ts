import type {
  Container,
  LimitRange,
  LimitRangeItem,
  PersistentVolumeClaim,
  Pod,
} from '../../api/generated/types/core-v1.ts'
import { podLimits, podRequests, resourceListOf, type ResourceList } from '../../api/pod-resources.ts'
import { canonicalQuantity, formatQuantity, parseQuantity, type Quantity } from '../../api/quantity.ts'
import type { AdmissionAttributes, AdmissionPlugin } from './admission.ts'
import { admissionForbidden, aggregate, type NamespaceObjects } from './namespace-objects.ts'

export const limitRangerPluginName = 'LimitRanger'

/** The annotation that tells which defaults a pod got, as upstream names it. */
export const limitRangerAnnotation = 'kubernetes.io/limit-ranger'

/**
 * LimitRanger, as the Kubernetes admission plugin of that name, for the LimitRanges of the
 * request's namespace:
 *
 * - admit (new pods): containers and init containers without a request or limit for a resource
 *   get the `defaultRequest` / `default` of the Container-type items, and the pod is annotated
 *   with what was set (kubernetes.io/limit-ranger: "LimitRanger plugin set: cpu request for
 *   container c; ...");
 * - validate (new pods, new and updated claims): each container, and the pod as a whole, must
 *   stay within `min`, `max` and `maxLimitRequestRatio` of the Container and Pod items; a claim's
 *   storage request within the PersistentVolumeClaim items. Violations are refused with 403
 *   Forbidden listing every one of them, in upstream's words.
 *
 * Pods are not checked on update (their containers' resources change only through resize, which
 * this apiserver does not serve), nor is anything being deleted.
 */
export function limitRangerPlugin(limitRanges: NamespaceObjects<LimitRange>): AdmissionPlugin {
  return {
    name: limitRangerPluginName,
    handles: (a) =>
      a.subresource === '' &&
      a.group === '' &&
      ((a.resource === 'pods' && a.operation === 'CREATE') ||
        (a.resource === 'persistentvolumeclaims' && (a.operation === 'CREATE' || a.operation === 'UPDATE'))),
    async admit(a) {
      if (a.resource !== 'pods' || !a.object || isBeingDeleted(a)) return
      for (const lr of await limitRanges(a.namespace)) applyDefaults(lr, a.object)
    },
    async validate(a) {
      if (!a.object || isBeingDeleted(a)) return
      for (const lr of await limitRanges(a.namespace)) {
        const problems = a.resource === 'pods' ? podViolations(lr, a.object) : claimViolations(lr, a.object)
        if (problems.length > 0) throw admissionForbidden(a, aggregate(problems))
      }
    },
  }
}

function isBeingDeleted(a: AdmissionAttributes): boolean {
  return a.oldObject?.metadata?.deletionTimestamp !== undefined
}

// --- defaults ----------------------------------------------------------------------------------

/** The defaults of a LimitRange's Container items (later items win). */
function containerDefaults(lr: Readonly<LimitRange>): {
  requests: Map<string, string>
  limits: Map<string, string>
} {
  const requests = new Map<string, string>()
  const limits = new Map<string, string>()
  for (const item of lr.spec?.limits ?? []) {
    if (item.type !== 'Container') continue
    for (const [k, v] of Object.entries(item.defaultRequest ?? {})) requests.set(k, canonicalQuantity(v) ?? v)
    for (const [k, v] of Object.entries(item.default ?? {})) limits.set(k, canonicalQuantity(v) ?? v)
  }
  return { requests, limits }
}

/** Fills in a pod's missing container requests and limits from the LimitRange, and says so. */
export function applyDefaults(lr: Readonly<LimitRange>, pod: Pod): void {
  const defaults = containerDefaults(lr)
  const notes: string[] = []
  const spec = pod.spec
  if (!spec) return
  for (const c of spec.containers ?? []) mergeDefaults(c, defaults, 'container', notes)
  for (const c of spec.initContainers ?? []) mergeDefaults(c, defaults, 'init container', notes)
  if (notes.length === 0) return
  const m = (pod.metadata ??= {})
  m.annotations = { ...m.annotations, [limitRangerAnnotation]: `LimitRanger plugin set: ${notes.join('; ')}` }
}

function mergeDefaults(
  c: Container,
  defaults: ReturnType<typeof containerDefaults>,
  kind: 'container' | 'init container',
  notes: string[],
): void {
  const limits = { ...c.resources?.limits }
  const requests = { ...c.resources?.requests }
  const setLimits: string[] = []
  const setRequests: string[] = []
  for (const [k, v] of defaults.limits) {
    if (limits[k] !== undefined) continue
    limits[k] = v
    setLimits.push(k)
  }
  for (const [k, v] of defaults.requests) {
    if (requests[k] !== undefined) continue
    requests[k] = v
    setRequests.push(k)
  }
  if (setLimits.length > 0) c.resources = { ...c.resources, limits }
  if (setRequests.length > 0) c.resources = { ...c.resources, requests }
  if (setRequests.length > 0) notes.push(`${setRequests.sort().join(', ')} request for ${kind} ${c.name}`)
  if (setLimits.length > 0) notes.push(`${setLimits.sort().join(', ')} limit for ${kind} ${c.name}`)
}

// --- constraints -------------------------------------------------------------------------------

/** The largest value whose milli-units fit an int64 (resource.MaxMilliValue). */
const maxMilliValue = 9_223_372_036_854_775_807n / 1000n
const zero: Quantity = { nanos: 0n, format: 'DecimalSI' }

/** Quantity.Value and MilliValue: rounded up to whole units or milli-units. */
const ceilDiv = (n: bigint, d: bigint) => (n >= 0n ? (n + d - 1n) / d : n / d)
const value = (q: Quantity) => ceilDiv(q.nanos, 1_000_000_000n)
const milliValue = (q: Quantity) => ceilDiv(q.nanos, 1_000_000n)

/** Request, limit and bound at one common precision: milli-units unless one of them is too large. */
function comparable(request: Quantity, limit: Quantity, enforced: Quantity): [bigint, bigint, bigint] {
  const precise = [request, limit, enforced].every((q) => value(q) <= maxMilliValue)
  const at = precise ? milliValue : value
  return [at(request), at(limit), at(enforced)]
}

type Check = (
  type: string,
  resource: string,
  enforced: Quantity,
  requests: ResourceList,
  limits: ResourceList,
) => string | undefined

const minConstraint: Check = (type, resource, enforced, requests, limits) => {
  const req = requests.get(resource)
  const lim = limits.get(resource)
  const [r, l, e] = comparable(req ?? zero, lim ?? zero, enforced)
  const bound = formatQuantity(enforced)
  if (!req) return `minimum ${resource} usage per ${type} is ${bound}.  No request is specified`
  if (r < e) return `minimum ${resource} usage per ${type} is ${bound}, but request is ${formatQuantity(req)}`
  if (lim && l < e)
    return `minimum ${resource} usage per ${type} is ${bound}, but limit is ${formatQuantity(lim)}`
  return undefined
}

const maxConstraint: Check = (type, resource, enforced, requests, limits) => {
  const req = requests.get(resource)
  const lim = limits.get(resource)
  const [r, l, e] = comparable(req ?? zero, lim ?? zero, enforced)
  const bound = formatQuantity(enforced)
  if (!lim) return `maximum ${resource} usage per ${type} is ${bound}.  No limit is specified`
  if (l > e) return `maximum ${resource} usage per ${type} is ${bound}, but limit is ${formatQuantity(lim)}`
  if (req && r > e)
    return `maximum ${resource} usage per ${type} is ${bound}, but request is ${formatQuantity(req)}`
  return undefined
}

/** For claims, whose limits are not user input: the request alone is bounded. */
const maxRequestConstraint: Check = (type, resource, enforced, requests) => {
  const req = requests.get(resource)
  const [r, , e] = comparable(req ?? zero, zero, enforced)
  const bound = formatQuantity(enforced)
  if (!req) return `maximum ${resource} usage per ${type} is ${bound}.  No request is specified`
  if (r > e) return `maximum ${resource} usage per ${type} is ${bound}, but request is ${formatQuantity(req)}`
  return undefined
}

const ratioConstraint: Check = (type, resource, enforced, requests, limits) => {
  const req = requests.get(resource)
  const lim = limits.get(resource)
  const [r, l] = comparable(req ?? zero, lim ?? zero, enforced)
  const bound = formatQuantity(enforced)
  const prefix = `${resource} max limit to request ratio per ${type} is ${bound}`
  if (!req || r === 0n) return `${prefix}, but no request is specified or request is 0`
  if (!lim || l === 0n) return `${prefix}, but no limit is specified or limit is 0`
  const observed = Number(l) / Number(r)
  const precise = value(enforced) <= maxMilliValue
  const allowed = precise ? Number(milliValue(enforced)) : Number(value(enforced))
  if ((precise ? observed * 1000 : observed) > allowed) {
    return `${prefix}, but provided ratio is ${observed.toFixed(6)}`
  }
  return undefined
}

/** Runs min, max and ratio of one item over one set of requests and limits. */
function checkItem(
  item: Readonly<LimitRangeItem>,
  requests: ResourceList,
  limits: ResourceList,
  out: string[],
  max: Check = maxConstraint,
): void {
  const run = (bounds: Readonly<Record<string, string>> | undefined, check: Check) => {
    for (const [k, v] of Object.entries(bounds ?? {})) {
      const enforced = parseQuantity(v)
      if (!enforced) continue
      const problem = check(item.type, k, enforced, requests, limits)
      if (problem) out.push(problem)
    }
  }
  run(item.min, minConstraint)
  run(item.max, max)
  if (max === maxConstraint) run(item.maxLimitRequestRatio, ratioConstraint)
}

/** Every way a pod's containers, and the pod as a whole, break the LimitRange (PodValidateLimitFunc). */
export function podViolations(lr: Readonly<LimitRange>, pod: Readonly<Pod>): string[] {
  const out: string[] = []
  for (const item of lr.spec?.limits ?? []) {
    if (item.type === 'Container') {
      for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
        checkItem(item, resourceListOf(c.resources?.requests), resourceListOf(c.resources?.limits), out)
      }
    }
    if (item.type === 'Pod') {
      // The pod's own sums: spec only (not what a resize left in status), without overhead.
      const o = { excludeOverhead: true }
      checkItem(item, podRequests(pod, o), podLimits(pod, o), out)
    }
  }
  return out
}

/** How a claim's storage request breaks the LimitRange's PersistentVolumeClaim items. */
export function claimViolations(lr: Readonly<LimitRange>, pvc: Readonly<PersistentVolumeClaim>): string[] {
  const out: string[] = []
  for (const item of lr.spec?.limits ?? []) {
    if (item.type !== 'PersistentVolumeClaim') continue
    checkItem(item, resourceListOf(pvc.spec?.resources?.requests), new Map(), out, maxRequestConstraint)
  }
  return out
}
