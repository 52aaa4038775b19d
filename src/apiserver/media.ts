/**
 * Media types and content negotiation as Kubernetes clients use them: `application/json`
 * with parameters that ask for a different shape of the answer (`as=Table;g=meta.k8s.io;v=v1`,
 * aggregated discovery `as=APIGroupDiscoveryList;g=apidiscovery.k8s.io;v=v2`), YAML, and
 * protobuf (`application/vnd.kubernetes.protobuf`).
 */
export interface MediaType {
  /** type/subtype, lower case. */
  readonly type: string
  readonly params: Readonly<Record<string, string>>
  /** Quality (q parameter), 1 when absent. */
  readonly q: number
}

export const JSON_TYPE = 'application/json'
export const YAML_TYPE = 'application/yaml'
export const PROTOBUF_TYPE = 'application/vnd.kubernetes.protobuf'
export const JSON_PATCH_TYPE = 'application/json-patch+json'
export const MERGE_PATCH_TYPE = 'application/merge-patch+json'
export const STRATEGIC_MERGE_PATCH_TYPE = 'application/strategic-merge-patch+json'
export const APPLY_PATCH_TYPE = 'application/apply-patch+yaml'

/** Parses one media type (`type/subtype; a=b; c="d"`); undefined when malformed. */
export function parseMediaType(s: string): MediaType | undefined {
  const [head, ...rest] = s.split(';')
  const type = (head ?? '').trim().toLowerCase()
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+*-]+$|^\*\/\*$/.test(type)) return undefined
  const params: Record<string, string> = {}
  let q = 1
  for (const p of rest) {
    const eq = p.indexOf('=')
    if (eq < 0) continue
    const k = p.slice(0, eq).trim().toLowerCase()
    let v = p.slice(eq + 1).trim()
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1)
    if (k === 'q') {
      const n = Number(v)
      q = Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 1
    } else {
      params[k] = v
    }
  }
  return { type, params, q }
}

/**
 * An Accept header as a list of media ranges, best first (by q, then by order). An absent or
 * empty header accepts anything.
 */
export function parseAccept(header: string | undefined): readonly MediaType[] {
  if (header === undefined || header.trim() === '') return anything
  const cached = acceptCache.get(header)
  if (cached) return cached
  const parsed = parseAcceptUncached(header)
  // Clients send few distinct Accept headers; the cache stays small, and is reset if it does not.
  if (acceptCache.size > 256) acceptCache.clear()
  acceptCache.set(header, parsed)
  return parsed
}

const anything: readonly MediaType[] = [{ type: '*/*', params: {}, q: 1 }]
const acceptCache = new Map<string, readonly MediaType[]>()

function parseAcceptUncached(header: string): MediaType[] {
  const ranges = splitTopLevel(header)
    .map(parseMediaType)
    .filter((m): m is MediaType => m !== undefined && m.q > 0)
  return ranges
    .map((m, i) => ({ m, i }))
    .sort((a, b) => b.m.q - a.m.q || a.i - b.i)
    .map((x) => x.m)
}

/** Whether a media range from Accept admits `type` (wildcards allowed). */
export function admits(range: MediaType, type: string): boolean {
  if (range.type === '*/*') return true
  if (range.type.endsWith('/*')) return type.startsWith(range.type.slice(0, -1))
  return range.type === type
}

/** The `as`/`g`/`v` parameters of a range: which shape of answer it wants. */
export function asKind(range: MediaType): { as: string; group: string; version: string } | undefined {
  const as = range.params.as
  if (as === undefined) return undefined
  return { as, group: range.params.g ?? '', version: range.params.v ?? '' }
}

/** Splits on commas that are not inside quotes. */
function splitTopLevel(s: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (const ch of s) {
    if (ch === '"') quoted = !quoted
    if (ch === ',' && !quoted) {
      out.push(cur)
      cur = ''
    } else {
      cur += ch
    }
  }
  out.push(cur)
  return out.map((x) => x.trim()).filter((x) => x !== '')
}
