/**
 * Kubernetes objects as CEL values. JSON has one kind of number; CEL has int and double, and
 * Kubernetes' schemas say which a field is. Without the schema at hand, a whole number is an int
 * (a bigint for the CEL library) and any other number a double, which is what the schemas say
 * for every built-in field but the rare float ones that happen to hold whole values.
 */
export function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(toCel)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toCel(v)
  return out
}

/** A CEL result as JSON (bigints become numbers). */
export function fromCel(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(fromCel)
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), fromCel(v)]))
  if (value instanceof Date) return value.toISOString()
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = fromCel(v)
  return out
}

/** A CEL value as CEL's string() would write it, for messages (format's %s). */
export function celString(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  if (typeof value === 'number') return Number.isInteger(value) ? value.toFixed(1) : String(value)
  if (value === null || value === undefined) return 'null'
  if (value instanceof Date) return value.toISOString().replace('.000Z', 'Z')
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8')
  if (Array.isArray(value)) return `[${value.map(celString).join(', ')}]`
  if (value instanceof Map)
    return `{${[...value].map(([k, v]) => `${celString(k)}: ${celString(v)}`).join(', ')}}`
  if (typeof value === 'object') {
    const s = (value as { toString(): string }).toString()
    if (s !== '[object Object]') return s
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${celString(v)}`)
      .join(', ')}}`
  }
  return ''
}
