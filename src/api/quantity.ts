/**
 * Resource quantities ("100m", "1.5Gi", "2e3"): their syntax and numeric value, as Kubernetes'
 * resource.Quantity parses them. Values are JavaScript numbers, exact enough to compare
 * requests with limits and to sum them for scheduling.
 */

export const quantityPattern = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'

const binary: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
}
const decimal: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
}
const syntax = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/

/** The value of a quantity string, or undefined when it is not one. */
export function parseQuantity(s: string): number | undefined {
  const m = syntax.exec(s)
  if (!m) return undefined
  const n = Number(m[1])
  const suffix = m[2] ?? ''
  const b = binary[suffix]
  if (b !== undefined) return n * b
  const d = decimal[suffix]
  if (d !== undefined) return n * d
  const e = /^[eE]([-+]?[0-9]+)$/.exec(suffix)
  if (e) return n * 10 ** Number(e[1])
  return undefined
}

/** A quantity as JSON carries it: a string, or a bare number. */
export function quantityValue(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined
  if (typeof v === 'string') return parseQuantity(v)
  return undefined
}
