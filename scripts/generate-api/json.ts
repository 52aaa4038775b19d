import { createHash } from 'node:crypto'

/**
 * Canonical JSON for generated files: object keys sorted at every level (arrays keep their
 * order), so the output depends only on the input data, never on the order we built it in.
 */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined) out[key] = sortKeys(v)
  }
  return out
}

export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent)
}

/** The content hash kube-apiserver gives an OpenAPI document: SHA-512, upper-case hex. */
export function documentHash(bytes: string): string {
  return createHash('sha512').update(bytes).digest('hex').toUpperCase()
}

/** Discovery's storageVersionHash: base64 of the first 8 bytes of SHA-256("group/version/kind"). */
export function storageVersionHash(group: string, version: string, kind: string): string {
  return createHash('sha256').update(`${group}/${version}/${kind}`).digest().subarray(0, 8).toString('base64')
}

/** Code-unit order, the same on every machine (localeCompare depends on the locale). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
