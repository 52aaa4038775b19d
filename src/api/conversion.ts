import type { StoredObject } from './object.ts'

/**
 * Conversion between the versions of a resource served from one set of stored objects:
 * events.k8s.io/v1 Events are core/v1 Events, autoscaling/v1 HorizontalPodAutoscalers are stored
 * as autoscaling/v2. What the older shape has no field for travels in annotations, as Kubernetes
 * does, so a round trip loses nothing.
 */
export interface Conversion {
  /** The served object as the storage version. */
  toStored(obj: StoredObject): StoredObject
  /** A stored object as the served version. */
  fromStored(obj: StoredObject): StoredObject
}

type Obj = Record<string, unknown>

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined
}

/** Copies the fields that are present, renaming them. */
function rename(from: Obj, to: Obj, pairs: readonly (readonly [string, string])[]): void {
  for (const [a, b] of pairs) if (from[a] !== undefined) to[b] = structuredClone(from[a])
}

// events.k8s.io/v1 field ↔ core/v1 field
const eventFields = [
  ['regarding', 'involvedObject'],
  ['related', 'related'],
  ['note', 'message'],
  ['reason', 'reason'],
  ['type', 'type'],
  ['action', 'action'],
  ['eventTime', 'eventTime'],
  ['series', 'series'],
  ['reportingController', 'reportingComponent'],
  ['reportingInstance', 'reportingInstance'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
] as const

const swapped = eventFields.map(([a, b]) => [b, a] as const)

const eventConversion: Conversion = {
  toStored(o) {
    const out: StoredObject = { apiVersion: 'v1', kind: 'Event', metadata: structuredClone(o.metadata) }
    rename(o, out, eventFields)
    out.involvedObject ??= {}
    return out
  },
  fromStored(o) {
    const out: StoredObject = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: structuredClone(o.metadata),
    }
    rename(o, out, swapped)
    // Events written through core/v1 without an eventTime still need one in events.k8s.io/v1.
    out.eventTime ??= null
    return out
  },
}

const annotationMetrics = 'autoscaling.alpha.kubernetes.io/metrics'
const annotationBehavior = 'autoscaling.alpha.kubernetes.io/behavior'
const annotationConditions = 'autoscaling.alpha.kubernetes.io/conditions'
const annotationCurrentMetrics = 'autoscaling.alpha.kubernetes.io/current-metrics'

function isCpuUtilization(m: Obj, field: 'target' | 'current'): number | undefined {
  const r = obj(m.resource)
  if (m.type !== 'Resource' || r?.name !== 'cpu') return undefined
  const t = obj(r[field])
  if (field === 'target' && t?.type !== 'Utilization') return undefined
  return typeof t?.averageUtilization === 'number' ? t.averageUtilization : undefined
}

function takeAnnotation(meta: StoredObject['metadata'], key: string): unknown {
  const a = meta.annotations
  const raw = a?.[key]
  if (!a || raw === undefined) return undefined
  delete a[key]
  if (Object.keys(a).length === 0) delete meta.annotations
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return undefined
  }
}

function putAnnotation(meta: StoredObject['metadata'], key: string, value: unknown): void {
  meta.annotations = { ...(meta.annotations ?? {}), [key]: JSON.stringify(value) }
}

/** The fields autoscaling/v1 and v2 share, unchanged. */
const same = (names: readonly string[]) => names.map((n) => [n, n] as const)
const hpaSpecFields = same(['scaleTargetRef', 'minReplicas', 'maxReplicas'])
const hpaStatusFields = same(['observedGeneration', 'lastScaleTime', 'currentReplicas', 'desiredReplicas'])

const hpaConversion: Conversion = {
  toStored(o) {
    const meta = structuredClone(o.metadata)
    const spec = obj(o.spec) ?? {}
    const status = obj(o.status)
    const outSpec: Obj = {}
    rename(spec, outSpec, hpaSpecFields)
    const metrics: unknown[] = []
    if (typeof spec.targetCPUUtilizationPercentage === 'number') {
      metrics.push({
        type: 'Resource',
        resource: {
          name: 'cpu',
          target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage },
        },
      })
    }
    const extra = takeAnnotation(meta, annotationMetrics)
    if (Array.isArray(extra)) metrics.push(...(extra as unknown[]))
    if (metrics.length > 0) outSpec.metrics = metrics
    const behavior = takeAnnotation(meta, annotationBehavior)
    if (behavior !== undefined) outSpec.behavior = behavior
    const conditions = takeAnnotation(meta, annotationConditions)
    const current = takeAnnotation(meta, annotationCurrentMetrics)
    const out: StoredObject = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta,
      spec: outSpec,
    }
    if (status) {
      const s: Obj = {}
      rename(status, s, hpaStatusFields)
      const currentMetrics: unknown[] = []
      if (typeof status.currentCPUUtilizationPercentage === 'number') {
        currentMetrics.push({
          type: 'Resource',
          resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } },
        })
      }
      if (Array.isArray(current)) currentMetrics.push(...(current as unknown[]))
      if (currentMetrics.length > 0) s.currentMetrics = currentMetrics
      if (conditions !== undefined) s.conditions = conditions
      out.status = s
    }
    return out
  },
  fromStored(o) {
    const meta = structuredClone(o.metadata)
    const spec = obj(o.spec) ?? {}
    const status = obj(o.status)
    const outSpec: Obj = {}
    rename(spec, outSpec, hpaSpecFields)
    const others: unknown[] = []
    for (const m of Array.isArray(spec.metrics) ? (spec.metrics as unknown[]) : []) {
      const cpu = isCpuUtilization(obj(m) ?? {}, 'target')
      if (cpu !== undefined && outSpec.targetCPUUtilizationPercentage === undefined) {
        outSpec.targetCPUUtilizationPercentage = cpu
      } else others.push(m)
    }
    if (others.length > 0) putAnnotation(meta, annotationMetrics, others)
    if (spec.behavior !== undefined) putAnnotation(meta, annotationBehavior, spec.behavior)
    const out: StoredObject = {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta,
      spec: outSpec,
    }
    if (status) {
      const s: Obj = {}
      rename(status, s, hpaStatusFields)
      const rest: unknown[] = []
      for (const m of Array.isArray(status.currentMetrics) ? (status.currentMetrics as unknown[]) : []) {
        const cpu = isCpuUtilization(obj(m) ?? {}, 'current')
        if (cpu !== undefined && s.currentCPUUtilizationPercentage === undefined)
          s.currentCPUUtilizationPercentage = cpu
        else rest.push(m)
      }
      if (rest.length > 0) putAnnotation(meta, annotationCurrentMetrics, rest)
      if (Array.isArray(status.conditions) && status.conditions.length > 0) {
        putAnnotation(meta, annotationConditions, status.conditions)
      }
      s.currentReplicas ??= 0
      s.desiredReplicas ??= 0
      out.status = s
    }
    return out
  },
}

/** The conversion of a served group/version of a resource to its storage version, if they differ. */
export function conversionFor(
  served: { group: string; version: string; resource: string },
  storage: { group: string; version: string },
): Conversion | undefined {
  if (served.group === storage.group && served.version === storage.version) return undefined
  if (served.group === 'events.k8s.io' && served.resource === 'events' && storage.group === '')
    return eventConversion
  if (served.group === 'autoscaling' && served.version === 'v1' && storage.version === 'v2')
    return hpaConversion
  return undefined
}
