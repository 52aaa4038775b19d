import { field, items, type ResolvedField, type SchemaNode } from '../schema.ts'
import { PatchError } from './json-patch.ts'

/**
 * Strategic merge patch, as Kubernetes applies it: a JSON merge patch whose lists follow the
 * schema's x-kubernetes-patch-strategy and x-kubernetes-patch-merge-key:
 *
 * - lists with strategy `merge` and a merge key (containers by name, ports by containerPort)
 *   merge item by item; lists of scalars with strategy `merge` are unions; other lists replace;
 * - `null` deletes a key;
 * - directives: `$patch: replace | delete | merge` in a map or list item,
 *   `$setElementOrder/<list>` (the order of the result), `$deleteFromPrimitiveList/<list>`,
 *   `$retainKeys` (keys to keep, for fields with strategy retainKeys).
 *
 * Without a schema (unknown kinds) it degrades to a JSON merge patch, as kubectl does.
 */
export function applyStrategicMergePatch(
  original: unknown,
  patch: unknown,
  schema: SchemaNode | undefined,
): unknown {
  if (!isObject(patch)) throw new PatchError('decode', 'json: cannot unmarshal the patch into a map')
  const out = mergeMap(isObject(original) ? structuredClone(original) : {}, patch, schema)
  return out === deleted ? {} : out
}

const deleted = Symbol('deleted')

function mergeMap(
  original: Record<string, unknown>,
  patch: Record<string, unknown>,
  schema: SchemaNode | undefined,
): Record<string, unknown> | typeof deleted {
  const directive = patch.$patch
  if (directive === 'delete') return deleted
  if (directive === 'replace') return stripDirectives(withoutKey(patch, '$patch'))
  if (directive !== undefined && directive !== 'merge') {
    throw new PatchError('apply', `Unrecognized patch directive ${JSON.stringify(directive)}`)
  }
  const retain = patch.$retainKeys
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw new PatchError('apply', 'invalid $retainKeys: must be a list of keys')
    const keep = new Set(retain.map(String))
    for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k]
  }
  const orders = new Map<string, unknown[]>()
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue
    if (k.startsWith('$setElementOrder/')) {
      if (!Array.isArray(v)) throw new PatchError('apply', `invalid ${k}: must be a list`)
      orders.set(k.slice('$setElementOrder/'.length), v)
      continue
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const name = k.slice('$deleteFromPrimitiveList/'.length)
      if (!Array.isArray(v)) throw new PatchError('apply', `invalid ${k}: must be a list`)
      const cur = original[name]
      if (Array.isArray(cur)) original[name] = cur.filter((x) => !v.some((d) => sameValue(d, x)))
      continue
    }
    if (v === null) {
      delete original[k]
      continue
    }
    const f = schema ? field(schema, k) : undefined
    const cur = original[k]
    if (isObject(v)) {
      const merged = mergeMap(isObject(cur) ? cur : {}, v, f?.node)
      if (merged === deleted) delete original[k]
      else original[k] = merged
    } else if (Array.isArray(v)) {
      original[k] = mergeList(Array.isArray(cur) ? cur : [], v, f)
    } else {
      original[k] = v
    }
  }
  for (const [name, order] of orders) {
    const cur = original[name]
    if (Array.isArray(cur)) original[name] = applyOrder(cur, order, schema ? field(schema, name) : undefined)
  }
  return original
}

function mergeList(original: unknown[], patch: unknown[], f: ResolvedField | undefined): unknown[] {
  // A `{"$patch": "replace"}` item replaces the whole list with the other items.
  if (patch.some((p) => isObject(p) && p.$patch === 'replace' && Object.keys(p).length === 1)) {
    return patch.filter((p) => !(isObject(p) && p.$patch === 'replace')).map(stripDirectivesAny)
  }
  const strategy = f?.patchStrategy ?? ''
  if (!strategy.split(',').includes('merge')) return patch.map(stripDirectivesAny)
  const key = f?.patchMergeKey
  const itemSchema = f ? items(f.node)?.node : undefined
  if (!key) {
    // Lists of scalars: the union, keeping the original order and appending what is new.
    const out = [...original]
    for (const p of patch) if (!out.some((x) => sameValue(x, p))) out.push(p)
    return out
  }
  const out = [...original]
  for (const p of patch) {
    if (!isObject(p))
      throw new PatchError('apply', `the list needs objects with the merge key ${JSON.stringify(key)}`)
    if (!(key in p))
      throw new PatchError('apply', `map: ${JSON.stringify(p)} does not contain declared merge key: ${key}`)
    const i = out.findIndex((x) => isObject(x) && sameValue(x[key], p[key]))
    if (p.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1)
      continue
    }
    if (i >= 0) {
      const merged = mergeMap(structuredClone(out[i] as Record<string, unknown>), p, itemSchema)
      if (merged === deleted) out.splice(i, 1)
      else out[i] = merged
    } else {
      const merged = mergeMap({}, p, itemSchema)
      if (merged !== deleted) out.push(merged)
    }
  }
  return out
}

/** `$setElementOrder`: the listed items in the listed order, then the others as they were. */
function applyOrder(list: unknown[], order: unknown[], f: ResolvedField | undefined): unknown[] {
  const key = f?.patchMergeKey
  const position = (x: unknown): number =>
    order.findIndex((o) => (key && isObject(o) && isObject(x) ? sameValue(o[key], x[key]) : sameValue(o, x)))
  const indexed = list.map((x, i) => ({ x, i, p: position(x) }))
  indexed.sort((a, b) => {
    if (a.p >= 0 && b.p >= 0) return a.p - b.p
    if (a.p >= 0) return -1
    if (b.p >= 0) return 1
    return a.i - b.i
  })
  return indexed.map((e) => e.x)
}

function stripDirectives(m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(m)) {
    if (
      k === '$patch' ||
      k === '$retainKeys' ||
      k.startsWith('$setElementOrder/') ||
      k.startsWith('$deleteFromPrimitiveList/')
    )
      continue
    out[k] = stripDirectivesAny(v)
  }
  return out
}

function stripDirectivesAny(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectivesAny)
  if (isObject(v)) return stripDirectives(v)
  return v
}

function withoutKey(m: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = m
  return rest
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
