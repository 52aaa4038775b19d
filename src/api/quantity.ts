/**
 * Resource quantities ("100m", "1.5Gi", "2e3") as apimachinery's resource.Quantity handles them:
 * parsed exactly (rounding up to the nano), written back in canonical form ("0.5" → "500m",
 * "1024Mi" → "1Gi", "1000" → "1k"), rounded, added and compared. Defaulting, validation, printing
 * and the pod registry all use this one implementation.
 *
 * Values are kept as an integer count of nano units (bigint), so nothing is lost to floating point.
 */

/** How a quantity is written: the suffix family it was given in, which its canonical form keeps. */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent'

export interface Quantity {
  /** The value in units of 10^-9. */
  readonly nanos: bigint
  readonly format: QuantityFormat
}

const decimalSuffixes: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
}
const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 }
const decimalSuffixOf = new Map(Object.entries(decimalSuffixes).map(([s, e]) => [e, s]))
const binarySuffixOf = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei']

const syntax = /^([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)$/
const nano = 10n ** 9n

/** Division rounding away from zero (inf.RoundUp); `d` is positive. */
function divUp(n: bigint, d: bigint): bigint {
  const q = n / d
  if (q * d === n) return q
  return n < 0n ? q - 1n : q + 1n
}

/**
 * Quantities already parsed: a cluster writes the same few ("100m", "128Mi") in every pod, and
 * validation, defaulting, QoS, quota and the scheduler each read them again. Results are frozen.
 */
const parsed = new Map<string, Quantity | undefined>()
const parsedMax = 4096

/** A quantity as JSON carries it (a string, or a bare number), or undefined when it is not one. */
export function parseQuantity(v: unknown): Quantity | undefined {
  const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v : undefined
  if (s === undefined) return undefined
  let q = parsed.get(s)
  if (q !== undefined || parsed.has(s)) return q
  q = parseText(s.trim())
  if (parsed.size >= parsedMax) parsed.clear()
  parsed.set(s, q === undefined ? q : Object.freeze(q))
  return q
}

function parseText(s: string): Quantity | undefined {
  const m = syntax.exec(s)
  if (!m) return undefined
  const [, sign = '', whole = '', fraction = '', suffix = ''] = m
  if (whole === '' && fraction === '') return undefined
  // The digits as an integer, and the power of ten that scales them.
  let amount = BigInt(`${whole}${fraction}` || '0')
  let tens = -fraction.length
  let format: QuantityFormat
  const decimal = decimalSuffixes[suffix]
  const binary = binarySuffixes[suffix]
  const exponent = /^[eE]([-+]?[0-9]+)$/.exec(suffix)
  if (decimal !== undefined) {
    format = 'DecimalSI'
    tens += decimal
  } else if (binary !== undefined) {
    format = 'BinarySI'
    amount *= 2n ** BigInt(binary)
  } else if (exponent) {
    format = 'DecimalExponent'
    tens += Number(exponent[1])
  } else {
    return undefined
  }
  // Non-zero values round up to the smallest representable one, the nano.
  const scaled = tens + 9
  let nanos = scaled >= 0 ? amount * 10n ** BigInt(scaled) : divUp(amount, 10n ** BigInt(-scaled))
  // A binary quantity below one has no binary form.
  if (format === 'BinarySI' && nanos < nano) format = 'DecimalSI'
  if (sign === '-') nanos = -nanos
  return { nanos, format }
}

/** Rounded up (away from zero) to a multiple of 10^exp, exp >= -9; SetDefaults_ResourceList uses -3. */
export function roundUp(q: Quantity, exp: number): Quantity {
  const unit = 10n ** BigInt(exp + 9)
  return { nanos: divUp(q.nanos, unit) * unit, format: q.format }
}

/** The canonical string of a quantity, as apimachinery writes it. */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return '0'
  const negative = q.nanos < 0n
  const abs = negative ? -q.nanos : q.nanos
  const sign = negative ? '-' : ''
  // Binary form only for whole numbers of at least 1024.
  if (q.format === 'BinarySI' && abs >= 1024n * nano && abs % nano === 0n) {
    let n = abs / nano
    let k = 0
    while (n % 1024n === 0n && k < binarySuffixOf.length - 1) {
      n /= 1024n
      k++
    }
    return `${sign}${n}${binarySuffixOf[k] ?? ''}`
  }
  // Otherwise the smallest mantissa whose exponent is a multiple of three.
  let mantissa = abs
  let exp = -9
  while (mantissa % 1000n === 0n && exp < 18) {
    mantissa /= 1000n
    exp += 3
  }
  if (q.format === 'DecimalExponent') return `${sign}${mantissa}${exp === 0 ? '' : `e${exp}`}`
  return `${sign}${mantissa}${decimalSuffixOf.get(exp) ?? ''}`
}

/** x + y; the sum keeps x's format unless x is zero (Quantity.Add). */
export function addQuantities(x: Quantity, y: Quantity): Quantity {
  return { nanos: x.nanos + y.nanos, format: x.nanos === 0n ? y.format : x.format }
}

/** The syntax quantities must have, as Kubernetes' error message quotes it. */
export const quantityPattern = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'

/** -1, 0 or 1 as x is less than, equal to or greater than y (Quantity.Cmp). */
export function compareQuantities(x: Quantity, y: Quantity): number {
  return x.nanos < y.nanos ? -1 : x.nanos > y.nanos ? 1 : 0
}

/** A quantity's value as a JavaScript number (for comparisons and sums where a float will do). */
export function quantityValue(v: unknown): number | undefined {
  const q = parseQuantity(v)
  return q === undefined ? undefined : Number(q.nanos) / 1e9
}

/** The canonical form of a quantity, or undefined when the value is not one. */
export function canonicalQuantity(v: unknown): string | undefined {
  const q = parseQuantity(v)
  return q === undefined ? undefined : formatQuantity(q)
}
