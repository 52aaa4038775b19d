import type { TableColumn } from './table.ts'

/**
 * The building blocks of printers: columns, and cell values formatted as kubectl users know them
 * (ages like `5m20s`, `<none>` for nothing, label selectors as strings).
 */

export type Obj = Record<string, unknown>

export function obj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {}
}

/** An object field that may be absent: undefined when it is not there (or null). */
export function optObj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined
}

/** Whether a field is set: Go's pointer is not nil. */
export function present(v: unknown): boolean {
  return v !== undefined && v !== null
}

export function objs(v: unknown): Obj[] {
  return Array.isArray(v) ? v.map(obj) : []
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

export function int(v: unknown): number {
  return typeof v === 'number' ? v : 0
}

export function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.map(str) : []
}

export const name: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'The name of the object, unique in its namespace.',
  priority: 0,
}

export const age: TableColumn = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'How long ago the object was created.',
  priority: 0,
}

/** A column: type string unless said otherwise; priority 1 means `-o wide` only. */
export function col(
  title: string,
  description: string,
  o: { type?: TableColumn['type']; priority?: number } = {},
): TableColumn {
  return { name: title, type: o.type ?? 'string', format: '', description, priority: o.priority ?? 0 }
}

export function wide(title: string, description: string, type: TableColumn['type'] = 'string'): TableColumn {
  return col(title, description, { type, priority: 1 })
}

/** A duration as Kubernetes prints it (duration.HumanDuration): 45s, 5m20s, 3h10m, 5d2h, 2y30d. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.trunc(seconds / 60)
  if (minutes < 10) {
    const s = seconds % 60
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`
  }
  if (minutes < 180) return `${minutes}m`
  const hours = Math.trunc(minutes / 60)
  if (hours < 8) {
    const m = minutes % 60
    return m === 0 ? `${hours}h` : `${hours}h${m}m`
  }
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) {
    const h = hours % 24
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`
  if (hours < 24 * 365 * 8) {
    const d = Math.trunc(hours / 24) % 365
    const y = Math.trunc(hours / 24 / 365)
    return d === 0 ? `${y}y` : `${y}y${d}d`
  }
  return `${Math.trunc(hours / 24 / 365)}y`
}

/** The time since a timestamp, or `<unknown>` without one. */
export function since(timestamp: unknown, now: number): string {
  const t = typeof timestamp === 'string' && timestamp !== '' ? Date.parse(timestamp) : NaN
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t)
}

export function ageOf(o: Obj, now: number): string {
  return since(obj(o.metadata).creationTimestamp, now)
}

export function nameOf(o: Obj): string {
  return str(obj(o.metadata).name)
}

export function orNone(s: string): string {
  return s === '' ? '<none>' : s
}

/** A map selector (Services, ReplicationControllers) as `a=b,c=d`, keys sorted. */
export function mapSelector(m: unknown): string {
  const entries = Object.entries(obj(m)).sort(([a], [b]) => byString(a, b))
  return entries.map(([k, v]) => `${k}=${str(v)}`).join(',')
}

/**
 * A metav1.LabelSelector as labels.Selector.String() prints it: `app=web,tier in (a,b),!x`, the
 * requirements in the order of their keys, the values of each sorted; empty when it selects all.
 */
export function selectorString(sel: unknown): string {
  const s = obj(sel)
  const parts: { key: string; text: string }[] = []
  for (const [key, v] of Object.entries(obj(s.matchLabels))) parts.push({ key, text: `${key}=${str(v)}` })
  for (const e of objs(s.matchExpressions)) {
    const key = str(e.key)
    const values = strs(e.values).sort(byString).join(',')
    const text: Record<string, string> = {
      In: `${key} in (${values})`,
      NotIn: `${key} notin (${values})`,
      Exists: key,
      DoesNotExist: `!${key}`,
    }
    const t = text[str(e.operator)]
    if (t !== undefined) parts.push({ key, text: t })
  }
  parts.sort((a, b) => byString(a.key, b.key))
  return parts.map((p) => p.text).join(',')
}

/** A metav1.LabelSelector as metav1.FormatLabelSelector prints it: `<none>` when empty. */
export function labelSelector(sel: unknown): string {
  return orNone(selectorString(sel))
}

/** A label map as labels.FormatLabels prints it: `a=b,c=d`, keys sorted; `<none>` when empty. */
export function formatLabels(m: unknown): string {
  return orNone(mapSelector(m))
}

/** Orders strings as Go's sort.Strings does (by code unit, which is by byte for ASCII). */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** An int-or-string as printed (`25%`, `1`). */
export function intOrString(v: unknown): string {
  return typeof v === 'number' ? String(v) : str(v)
}

/** Container names and images of a pod template, for wide columns. */
export function containersAndImages(template: unknown): [string, string] {
  const containers = objs(obj(obj(template).spec).containers)
  return [containers.map((c) => str(c.name)).join(','), containers.map((c) => str(c.image)).join(',')]
}
