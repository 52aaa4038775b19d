import type { Environment } from '@marcbachmann/cel-js'

/**
 * Kubernetes' CEL list library (k8s.io/apiserver/pkg/cel/library/lists.go): isSorted, sum, min,
 * max, indexOf and lastIndexOf on lists of comparable values, with a few of cel-go's list
 * extensions that policies use (distinct, flatten, reverse, slice, sort).
 */
export function registerLists(env: Environment): void {
  env.registerFunction('list.isSorted(): bool', (l: unknown[]) => {
    for (let i = 1; i < l.length; i++) if (compare(l[i - 1], l[i]) > 0) return false
    return true
  })
  env.registerFunction('list.sum(): dyn', (l: unknown[]) => {
    if (l.length === 0) return 0n
    let total = l[0]
    for (const v of l.slice(1)) total = add(total, v)
    return total
  })
  env.registerFunction('list.min(): dyn', (l: unknown[]) => extreme(l, 'min', -1))
  env.registerFunction('list.max(): dyn', (l: unknown[]) => extreme(l, 'max', 1))
  env.registerFunction('list.indexOf(dyn): int', (l: unknown[], v: unknown) =>
    BigInt(l.findIndex((x) => equal(x, v))),
  )
  env.registerFunction('list.lastIndexOf(dyn): int', (l: unknown[], v: unknown) =>
    BigInt(l.findLastIndex((x) => equal(x, v))),
  )
  env.registerFunction('list.distinct(): list', (l: unknown[]) => {
    const out: unknown[] = []
    for (const v of l) if (!out.some((o) => equal(o, v))) out.push(v)
    return out
  })
  env.registerFunction('list.flatten(): list', (l: unknown[]) => {
    const out: unknown[] = []
    for (const v of l) {
      if (Array.isArray(v)) out.push(...(v as unknown[]))
      else out.push(v)
    }
    return out
  })
  env.registerFunction('list.reverse(): list', (l: unknown[]) => [...l].reverse())
  env.registerFunction('list.slice(int, int): list', (l: unknown[], from: bigint, to: bigint) => {
    if (from < 0n || to < 0n) throw new Error(`cannot slice(${from}, ${to}), negative indexes not supported`)
    if (from > to)
      throw new Error(`cannot slice(${from}, ${to}), start index must be less than or equal to end index`)
    if (to > BigInt(l.length)) throw new Error(`cannot slice(${from}, ${to}), list is length ${l.length}`)
    return l.slice(Number(from), Number(to))
  })
  env.registerFunction('list.sort(): list', (l: unknown[]) => [...l].sort(compare))
}

/** Orders two values of one comparable type, as CEL's < does. */
export function compare(a: unknown, b: unknown): number {
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime()
  if (typeof a === typeof b || (isNumber(a) && isNumber(b))) {
    if (typeof a === 'boolean') return Number(a) - Number(b)
    if (isNumber(a) && isNumber(b)) return a < b ? -1 : a > b ? 1 : 0
    if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
    const ca = a as { compareTo?: (o: unknown) => number }
    if (typeof ca?.compareTo === 'function') return ca.compareTo(b)
  }
  throw new Error(`no such overload: ${typeName(a)} < ${typeName(b)}`)
}

function isNumber(v: unknown): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint'
}

function typeName(v: unknown): string {
  if (typeof v === 'bigint') return 'int'
  if (typeof v === 'number') return 'double'
  if (Array.isArray(v)) return 'list'
  if (v === null) return 'null_type'
  return typeof v === 'object' ? v.constructor.name : typeof v
}

function add(a: unknown, b: unknown): unknown {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a + b
  if (typeof a === 'number' && typeof b === 'number') return a + b
  const qa = a as { add?: (o: unknown) => unknown }
  if (typeof qa?.add === 'function') return qa.add(b)
  throw new Error(`no such overload: sum of ${typeName(a)} and ${typeName(b)}`)
}

function extreme(l: unknown[], name: string, sign: number): unknown {
  if (l.length === 0) throw new Error(`${name} called on empty list`)
  let best = l[0]
  for (const v of l.slice(1)) if (compare(v, best) * sign > 0) best = v
  return best
}

/** CEL equality for the plain values Kubernetes objects hold. */
export function equal(a: unknown, b: unknown): boolean {
  if (isNumber(a) && isNumber(b))
    return Number(a) === Number(b) && (typeof a !== 'bigint' || typeof b !== 'bigint' || a === b)
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]))
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ea = a as { equals?: (o: unknown) => boolean }
    if (typeof ea.equals === 'function') return ea.equals(b)
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return (
      ka.length === kb.length &&
      ka.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    )
  }
  return false
}
