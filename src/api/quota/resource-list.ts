import { addInto, resourceListOf, type ResourceList } from '../pod-resources.ts'
import { compareQuantities, formatQuantity, type Quantity } from '../quantity.ts'

/**
 * Arithmetic on resource lists as ResourceQuota does it (apiserver's quota/v1 helpers): usage is
 * added, masked to the resources a quota limits, compared against its hard limits and printed
 * in the messages kubectl shows.
 */
export type { ResourceList }
export { resourceListOf }

const zero: Quantity = { nanos: 0n, format: 'DecimalSI' }

/** A quantity of whole units, as usage counts objects. */
export function count(n: number): Quantity {
  return { nanos: BigInt(n) * 1_000_000_000n, format: 'DecimalSI' }
}

export function addLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = new Map(a)
  addInto(out, b)
  return out
}

/** a - b per resource, never below zero; resources only in b are zero (SubtractWithNonNegativeResult). */
export function subtractNonNegative(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = new Map()
  for (const [k, q] of a) {
    const other = b.get(k)
    const nanos = other ? q.nanos - other.nanos : q.nanos
    out.set(k, nanos > 0n ? { nanos, format: q.format } : zero)
  }
  for (const k of b.keys()) if (!out.has(k)) out.set(k, zero)
  return out
}

/** The entries whose names are listed. */
export function mask(list: ResourceList, names: Iterable<string>): ResourceList {
  const keep = new Set(names)
  const out: ResourceList = new Map()
  for (const [k, q] of list) if (keep.has(k)) out.set(k, q)
  return out
}

/** Same names, equal values. */
export function equalLists(a: ResourceList, b: ResourceList): boolean {
  if (a.size !== b.size) return false
  for (const [k, q] of a) {
    const other = b.get(k)
    if (!other || compareQuantities(q, other) !== 0) return false
  }
  return true
}

/** The resources of `limits` that `usage` exceeds (none when it fits). */
export function exceeded(usage: ResourceList, limits: ResourceList): string[] {
  const out: string[] = []
  for (const [k, limit] of limits) {
    const used = usage.get(k)
    if (used && compareQuantities(used, limit) > 0) out.push(k)
  }
  return out
}

export function removeZeros(list: ResourceList): ResourceList {
  const out: ResourceList = new Map()
  for (const [k, q] of list) if (q.nanos !== 0n) out.set(k, q)
  return out
}

/** The names of negative entries. */
export function negatives(list: ResourceList): string[] {
  return [...list].filter(([, q]) => q.nanos < 0n).map(([k]) => k)
}

/** `a=1,b=2Gi`, sorted by name, as quota messages print lists. */
export function printList(list: ResourceList): string {
  return [...list.keys()]
    .sort()
    .map((k) => `${k}=${formatQuantity(list.get(k) ?? zero)}`)
    .join(',')
}

/** The wire form of a list, canonical quantities. */
export function toWire(list: ResourceList): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of [...list.keys()].sort()) out[k] = formatQuantity(list.get(k) ?? zero)
  return out
}
