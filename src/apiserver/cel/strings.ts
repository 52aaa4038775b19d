import type { Environment } from '@marcbachmann/cel-js'
import { celString } from './values.ts'

/**
 * String functions Kubernetes' CEL environment has beyond the standard ones: cel-go's strings
 * extension (charAt, replace, reverse, format, and the index and split forms) and
 * Kubernetes' regex library (find, findAll). Regular expressions are RE2 in Kubernetes; they
 * run here as JavaScript expressions, with RE2's (?P<name>) groups accepted.
 */
export function registerStrings(env: Environment): void {
  env.registerFunction('string.charAt(int): string', (s: string, i: bigint) => {
    const chars = [...s]
    if (i < 0n || i > BigInt(chars.length)) throw new Error(`index out of range: ${i}`)
    return chars[Number(i)] ?? ''
  })
  env.registerFunction('string.replace(string, string): string', (s: string, a: string, b: string) =>
    s.split(a).join(b),
  )
  env.registerFunction(
    'string.replace(string, string, int): string',
    (s: string, a: string, b: string, n: bigint) => {
      if (n < 0n) return s.split(a).join(b)
      const parts = s.split(a)
      const head = parts.slice(0, Number(n) + 1).join(b)
      return parts.length > Number(n) + 1 ? head + a + parts.slice(Number(n) + 1).join(a) : head
    },
  )
  env.registerFunction('string.reverse(): string', (s: string) => [...s].reverse().join(''))
  env.registerFunction('string.format(list): string', (s: string, args: unknown[]) => format(s, args))
  env.registerFunction('string.find(string): string', (s: string, re: string) => regex(re).exec(s)?.[0] ?? '')
  env.registerFunction('string.findAll(string): list<string>', (s: string, re: string) => findAll(s, re, -1))
  env.registerFunction('string.findAll(string, int): list<string>', (s: string, re: string, n: bigint) =>
    findAll(s, re, Number(n)),
  )
}

const compiled = new Map<string, RegExp>()

/** A (cached) JavaScript regular expression for an RE2 pattern; throws when it does not compile. */
export function regex(pattern: string, flags = ''): RegExp {
  const key = `${flags}/${pattern}`
  let re = compiled.get(key)
  if (!re) {
    re = new RegExp(pattern.replace(/\(\?P</g, '(?<'), flags)
    if (compiled.size > 1000) compiled.clear()
    compiled.set(key, re)
  }
  return re
}

function findAll(s: string, pattern: string, limit: number): string[] {
  if (limit === 0) return []
  const out: string[] = []
  for (const m of s.matchAll(regex(pattern, 'g'))) {
    out.push(m[0])
    if (limit > 0 && out.length >= limit) break
  }
  return out
}

/** cel-go's string.format: %s %d %f %e %x %X %o %b and %%, with a precision for %f and %e. */
function format(template: string, args: readonly unknown[]): string {
  let next = 0
  return template.replace(/%(\.\d+)?([sdfexXob%])/g, (_m, precision: string | undefined, verb: string) => {
    if (verb === '%') return '%'
    if (next >= args.length) throw new Error(`index ${next} out of range`)
    const arg = args[next++]
    const digits = precision ? Number(precision.slice(1)) : 6
    switch (verb) {
      case 's':
        return celString(arg)
      case 'd':
        if (typeof arg !== 'bigint' && typeof arg !== 'number')
          throw new Error(
            `error during formatting: decimal clause can only be used on integers, was given ${celString(arg)}`,
          )
        return typeof arg === 'number' ? Math.trunc(arg).toString() : arg.toString()
      case 'f':
        return Number(arg).toFixed(digits)
      case 'e':
        return Number(arg)
          .toExponential(digits)
          .replace(/e([+-])(\d)$/, 'e$10$2')
      case 'x':
      case 'X': {
        const hex =
          typeof arg === 'string'
            ? Buffer.from(arg).toString('hex')
            : arg instanceof Uint8Array
              ? Buffer.from(arg).toString('hex')
              : BigInt(arg as bigint).toString(16)
        return verb === 'X' ? hex.toUpperCase() : hex
      }
      case 'o':
        return BigInt(arg as bigint).toString(8)
      default:
        return typeof arg === 'boolean' ? String(arg) : BigInt(arg as bigint).toString(2)
    }
  })
}
