/**
 * Resource quantities as kube-apiserver prints them: in canonical form (resource.Quantity's
 * String()), whatever form the object was written in. "1024Mi" prints as "1Gi", "0.5" as "500m",
 * "1000" as "1k", "1.5e3" as "1500". The suffix family the value was written in is kept: decimal
 * SI ("k", "M", "m", none), binary SI ("Ki", "Mi"), or a decimal exponent ("e3").
 */

type Format = 'DecimalSI' | 'BinarySI' | 'DecimalExponent'

const decimalExponents: Record<string, number> = {
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
const decimalSuffixes = new Map(Object.entries(decimalExponents).map(([s, e]) => [e, s]))
const binaryPowers: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 }
const binarySuffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei']

const syntax = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/
const nano = 1_000_000_000n

/** A parsed quantity: its value in units of 10^-9, rounded away from zero, and its format. */
interface Parsed {
  nanos: bigint
  format: Format
}

function parse(text: string): Parsed | undefined {
  const m = syntax.exec(text.trim())
  if (!m) return undefined
  const [, sign = '', whole = '', fraction = '', suffix = ''] = m
  if (whole === '' && fraction === '') return undefined
  let digits = BigInt(`${whole}${fraction}`)
  let tens = -fraction.length
  let format: Format
  const exponent = /^[eE]([-+]?[0-9]+)$/.exec(suffix)
  if (decimalExponents[suffix] !== undefined) {
    format = 'DecimalSI'
    tens += decimalExponents[suffix]
  } else if (binaryPowers[suffix] !== undefined) {
    format = 'BinarySI'
    digits *= 2n ** BigInt(binaryPowers[suffix])
  } else if (exponent) {
    format = 'DecimalExponent'
    tens += Number(exponent[1])
  } else {
    return undefined
  }
  const scale = tens + 9
  let nanos: bigint
  if (scale >= 0) nanos = digits * 10n ** BigInt(scale)
  else {
    const d = 10n ** BigInt(-scale)
    nanos = digits / d + (digits % d === 0n ? 0n : 1n)
  }
  if (format === 'BinarySI' && nanos < nano) format = 'DecimalSI'
  return { nanos: sign === '-' ? -nanos : nanos, format }
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n
}

function canonical({ nanos, format }: Parsed): string {
  if (nanos === 0n) return '0'
  // Binary suffixes only for whole values of at least 1Ki; anything else prints as decimal.
  if (format === 'BinarySI' && abs(nanos) >= 1024n * nano && nanos % nano === 0n) {
    let value = nanos / nano
    let power = 0
    while (value % 1024n === 0n) {
      value /= 1024n
      power++
    }
    return `${value}${binarySuffixes[power] ?? ''}`
  }
  // The largest exponent that is a multiple of three and leaves a whole mantissa.
  let mantissa = nanos
  let exponent = -9
  while (mantissa % 10n === 0n) {
    mantissa /= 10n
    exponent++
  }
  const extra = ((exponent % 3) + 3) % 3
  mantissa *= 10n ** BigInt(extra)
  exponent -= extra
  if (format === 'DecimalExponent') return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`
  return `${mantissa}${decimalSuffixes.get(exponent) ?? ''}`
}

/**
 * A quantity of an object as printed: canonical; `<nil>` when absent, like a nil *Quantity;
 * the text as given when it is not a quantity at all.
 */
export function quantity(v: unknown): string {
  if (v === undefined || v === null) return '<nil>'
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : ''
  const parsed = parse(text)
  return parsed ? canonical(parsed) : text
}

/** A quantity of a resource list: `0` when the list has no entry, like a zero Quantity. */
export function quantityOrZero(v: unknown): string {
  return v === undefined || v === null ? '0' : quantity(v)
}
