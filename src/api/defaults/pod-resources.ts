import { each, isObj, sub, type Obj } from './obj.ts'
import { addQuantities, formatQuantity, parseQuantity, type Quantity } from '../quantity.ts'

/**
 * Pod-level resources (PodLevelResources, beta and on since v1.34), defaulted on pods only, after
 * the containers' requests took their limits: when `spec.resources` sets limits, the pod's
 * missing requests are the containers' effective requests (cpu and memory), else the pod's own
 * limits; hugepage limits the pod leaves out are the containers' (core/v1 defaultPodRequests and
 * defaultHugePagePodLimits). Effective means as the scheduler counts them: regular containers and
 * sidecars add up, and an init container counts with the sidecars started before it, the largest
 * such sum winning (component-helpers AggregateContainerRequests / Limits).
 */

type Resources = Map<string, Quantity>

const hugePages = (name: string) => name.startsWith('hugepages-')
const supportedAtPodLevel = (name: string) => name === 'cpu' || name === 'memory' || hugePages(name)
/** Native (unprefixed or kubernetes.io/) resources other than hugepages may be overcommitted. */
const overcommittable = (name: string) =>
  (!name.includes('/') || name.includes('kubernetes.io/')) && !hugePages(name)

function resourcesOf(list: unknown): Resources {
  const out: Resources = new Map()
  if (!isObj(list)) return out
  for (const [k, v] of Object.entries(list)) {
    const q = parseQuantity(v)
    if (q) out.set(k, q)
  }
  return out
}

function add(into: Resources, from: Resources): void {
  for (const [k, q] of from) {
    const have = into.get(k)
    into.set(k, have ? addQuantities(have, q) : q)
  }
}

function max(into: Resources, from: Resources): void {
  for (const [k, q] of from) {
    const have = into.get(k)
    if (!have || q.nanos > have.nanos) into.set(k, q)
  }
}

/** The pod's effective container requests or limits. */
function aggregate(spec: Obj, which: 'requests' | 'limits'): Resources {
  const total: Resources = new Map()
  const of = (c: Obj) => resourcesOf(sub(sub(c, 'resources'), which))
  each(spec.containers, (c) => add(total, of(c)))
  const sidecars: Resources = new Map()
  const initPeak: Resources = new Map()
  each(spec.initContainers, (c) => {
    const own = of(c)
    if (c.restartPolicy === 'Always') {
      add(total, own)
      add(sidecars, own)
      max(initPeak, sidecars)
    } else {
      const during: Resources = new Map()
      add(during, own)
      add(during, sidecars)
      max(initPeak, during)
    }
  })
  max(total, initPeak)
  return total
}

export function defaultPodLevelResources(spec: Obj): void {
  const resources = sub(spec, 'resources')
  if (!resources) return
  defaultHugePageLimits(spec, resources)
  defaultRequests(spec, resources)
}

function defaultHugePageLimits(spec: Obj, resources: Obj): void {
  const limits = sub(resources, 'limits') ?? {}
  const requests = sub(resources, 'requests') ?? {}
  if (Object.keys(limits).length === 0 && Object.keys(requests).length === 0) return
  for (const [name, q] of aggregate(spec, 'limits')) {
    if (!hugePages(name) || name in requests || name in limits) continue
    limits[name] = formatQuantity(q)
  }
  if (Object.keys(limits).length > 0) resources.limits = limits
}

function defaultRequests(spec: Obj, resources: Obj): void {
  const limits = sub(resources, 'limits')
  if (!limits || Object.keys(limits).length === 0) return
  const requests = sub(resources, 'requests') ?? {}
  for (const [name, q] of aggregate(spec, 'requests')) {
    if (name in requests || !supportedAtPodLevel(name) || !overcommittable(name)) continue
    requests[name] = formatQuantity(q)
  }
  for (const [name, v] of Object.entries(limits)) {
    if (!(name in requests) && supportedAtPodLevel(name)) requests[name] = v
  }
  if (Object.keys(requests).length > 0) resources.requests = requests
}
