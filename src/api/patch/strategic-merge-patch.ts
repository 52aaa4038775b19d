import { field, items, patchStrategies, type ResolvedField, type SchemaNode } from '../schema.ts'
import { PatchError } from './json-patch.ts'
import { ownValue, setOwn, type PatchTarget } from './merge-patch.ts'

/**
 * Strategic merge patch, as kube-apiserver applies it (apimachinery's strategicpatch package): a
 * JSON merge patch whose lists follow the schema's x-kubernetes-patch-strategy and
 * x-kubernetes-patch-merge-key:
 *
 * - lists with strategy `merge` and a merge key (containers by name, ports by containerPort)
 *   merge item by item; lists of scalars with strategy `merge` are unions without duplicates;
 *   other lists, and maps with strategy `replace`, are replaced;
 * - `null` deletes a key;
 * - the merged list takes the order of the patch: items named in the patch come in the patch's
 *   order, the others keep their places relative to them (so an added container comes first);
 * - directives: `$patch: replace | delete` in a map (delete leaves an empty map, as upstream),
 *   `$patch: replace | delete` as a list item, `$setElementOrder/<list>` (the order of the
 *   result), `$deleteFromPrimitiveList/<list>`, `$retainKeys` (the keys to keep; every other key
 *   the patch sets must be listed).
 *
 * Values the patch adds are taken without their nulls and directives. Without a schema (unknown
 * kinds) every list is replaced, as in a JSON merge patch. Inputs are not changed, unless the
 * original is owned.
 *
 * Errors are PatchErrors: 'decode' (400) for a patch of the wrong shape or a malformed directive,
 * 'apply' (422) for one that does not fit the object (a list item without its merge key, an
 * unknown `$patch`, a `$setElementOrder` that contradicts the patch's order).
 */
export function applyStrategicMergePatch(
  original: unknown,
  patch: unknown,
  schema: SchemaNode | undefined,
  o: PatchTarget = {},
): unknown {
  const own = <T>(v: T): T => (o.owned ? v : structuredClone(v))
  // Go decodes a `null` patch into an empty map: nothing changes.
  if (patch === null) return own(original)
  if (!isObject(patch)) {
    throw new PatchError(
      'decode',
      `json: cannot unmarshal ${goJsonType(patch)} into Go value of type map[string]interface {}`,
    )
  }
  return mergeMap(isObject(original) ? own(original) : {}, patch, schema)
}

const directiveMarker = '$patch'
const retainKeysDirective = '$retainKeys'
const setElementOrderPrefix = '$setElementOrder'
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList'

type JsonMap = Record<string, unknown>
/** The kind of the items of a list, as far as merging goes. */
type ItemKind = 'map' | 'string' | 'number' | 'boolean' | 'null'

/** Merges `patch` into `original`, which it owns and changes. */
function mergeMap(original: JsonMap, patch: Readonly<JsonMap>, schema: SchemaNode | undefined): JsonMap {
  if (Object.hasOwn(patch, directiveMarker)) return mapDirective(patch)
  const rest = { ...patch }
  applyRetainKeys(original, rest)
  applySetElementOrders(original, rest, schema)
  for (const [key, patchValue] of Object.entries(rest)) {
    const deleteList = key.startsWith(deleteFromPrimitiveListPrefix)
    const k = deleteList ? directiveTarget(key, deleteFromPrimitiveListPrefix) : key
    if (patchValue === null) {
      delete original[k]
      continue
    }
    const current = ownValue(original, k)
    if (!Object.hasOwn(original, k) || kindOf(current) !== kindOf(patchValue)) {
      // New keys, and values of another type, are taken from the patch; a deletion list on its
      // own adds nothing.
      if (!deleteList) setCleaned(original, k, patchValue)
      continue
    }
    const f = schema ? field(schema, k) : undefined
    if (isObject(current) && isObject(patchValue)) {
      const merged =
        strategyOf(f) === 'replace' ? structuredClone(patchValue) : mergeMap(current, patchValue, f?.node)
      setOwn(original, k, merged)
    } else if (Array.isArray(current) && Array.isArray(patchValue)) {
      setOwn(original, k, mergeListField(current, patchValue, f, { name: k, deleteList }).list)
    } else {
      setOwn(original, k, patchValue)
    }
  }
  return original
}

/** A map holding `$patch`: `replace` takes the rest of the patch as it is, `delete` empties it. */
function mapDirective(patch: Readonly<JsonMap>): JsonMap {
  const directive = patch[directiveMarker]
  if (directive === 'replace') {
    const { [directiveMarker]: _, ...rest } = patch
    return cleanMap(rest)
  }
  if (directive === 'delete') return {}
  throw badPatchType(directive, patch)
}

/**
 * `$retainKeys`: keys of the original the list does not name go. Every key the patch sets must be
 * named (nulls and the other directives aside).
 */
function applyRetainKeys(original: JsonMap, patch: JsonMap): void {
  if (!Object.hasOwn(patch, retainKeysDirective)) return
  const retain = patch[retainKeysDirective]
  delete patch[retainKeysDirective]
  if (!Array.isArray(retain)) throw formatError('retainKeys', '$retainKeys must be a list of field names')
  const keep = new Set(retain.filter((k) => typeof k === 'string'))
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(deleteFromPrimitiveListPrefix) || k.startsWith(setElementOrderPrefix))
      continue
    if (!keep.has(k))
      throw formatError('retainKeys', `the patch sets ${JSON.stringify(k)}, which $retainKeys does not list`)
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k]
}

/**
 * `$setElementOrder/<list>`: merges the list (if the patch has it too) and orders the result: the
 * items the directive names in its order, the others where they were. Handled lists leave `patch`.
 */
function applySetElementOrders(original: JsonMap, patch: JsonMap, schema: SchemaNode | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(setElementOrderPrefix)) continue
    const order = patch[key]
    delete patch[key]
    if (!Array.isArray(order)) throw formatError('setElementOrder', `${key} must be a list`)
    const name = directiveTarget(key, setElementOrderPrefix)
    const foundOriginal = Object.hasOwn(original, name)
    const foundPatch = Object.hasOwn(patch, name)
    const originalValue = foundOriginal ? original[name] : []
    const patchValue = foundPatch ? patch[name] : []
    if (!Array.isArray(originalValue) || !Array.isArray(patchValue)) {
      throw new PatchError('apply', `${key} applies to ${JSON.stringify(name)}, which is not a list`)
    }
    const originalList: unknown[] = originalValue
    const patchList: unknown[] = patchValue
    const f = schema ? field(schema, name) : undefined
    const mergeKey = f?.patchMergeKey ?? ''
    validateOrderOfPatch(patchList, order, mergeKey)
    let merged: MergedList
    if (foundOriginal && foundPatch)
      merged = mergeListField(originalList, patchList, f, { name, deleteList: false })
    else if (foundPatch) merged = { list: cleanList(patchList), originalAfter: [] }
    else if (foundOriginal) merged = { list: originalList, originalAfter: originalList }
    else continue
    const kind = itemKind([...originalList, ...patchList])
    if (kind === undefined) {
      setOwn(original, name, merged.list)
    } else {
      const [listed, others] = partition(merged.list, order, mergeKey)
      const parts = { patch: listed, serverOnly: others }
      setOwn(original, name, normalizeOrder(parts, order, merged.originalAfter, mergeKey, kind))
    }
    delete patch[name]
  }
}

/**
 * The patch's items (deletions and directives aside) must come in the relative order the
 * `$setElementOrder` list gives them.
 */
function validateOrderOfPatch(
  patchList: readonly unknown[],
  order: readonly unknown[],
  mergeKey: string,
): void {
  if (order.length === 0 || patchList.length === 0) return
  const items = mergeKey === '' ? patchList : splitDeletions(patchList).kept
  let p = 0
  let o = 0
  while (p < items.length && o < order.length) {
    if (isObject(items[p]) && Object.hasOwn(items[p] as JsonMap, directiveMarker)) {
      p++
      continue
    }
    if (mergeKeyValueEqual(items[p], order[o], mergeKey)) p++
    o++
  }
  if (p < items.length) {
    throw new PatchError(
      'apply',
      `The order in patch list:\n${JSON.stringify(patchList)}\n doesn't match ${setElementOrderPrefix} list:\n${JSON.stringify(order)}`,
    )
  }
}

/** A merged list, and the original list as apimachinery's `$setElementOrder` step then sees it. */
interface MergedList {
  list: unknown[]
  /**
   * apimachinery deletes items in place and appends new ones to the same Go array, so the
   * original list it orders server-only items by afterwards reads: the kept items, then the
   * added ones, cut at the original length. Kubernetes' own tests expect the order this gives
   * (strategicpatch's "add map and delete map from merging list").
   */
  originalAfter: readonly unknown[]
}

/** Merges the list field `o.name`: by the field's strategy, or as a deletion list. */
function mergeListField(
  original: unknown[],
  patch: readonly unknown[],
  f: ResolvedField | undefined,
  o: { name: string; deleteList: boolean },
): MergedList {
  if (strategyOf(f) !== 'merge' && !o.deleteList) return { list: cleanList(patch), originalAfter: original }
  if (original.length === 0 && patch.length === 0) return { list: original, originalAfter: original }
  const kind = itemKind([...original, ...patch]) ?? 'null'
  if (kind !== 'map') {
    if (o.deleteList) {
      return { list: original.filter((x) => !patch.some((d) => sameScalar(d, x))), originalAfter: original }
    }
    const merged = uniqueScalars([...original, ...patch])
    const [inPatch, serverOnly] = partition(merged, patch, '')
    const list = normalizeOrder({ patch: inPatch, serverOnly }, patch, original, '', kind)
    return { list, originalAfter: original }
  }
  const mergeKey = f?.patchMergeKey ?? ''
  if (mergeKey === '') throw new PatchError('apply', `cannot merge lists without merge key for ${o.name}`)
  const itemSchema = f ? items(f.node)?.node : undefined
  const special = applySpecialItems(original as JsonMap[], patch as JsonMap[], mergeKey)
  const { merged, appended } = mergeItems(special.original, special.patch, mergeKey, itemSchema)
  const [inPatch, serverOnly] = partition(merged, special.patch, mergeKey)
  return {
    list: normalizeOrder({ patch: inPatch, serverOnly }, special.patch, special.original, mergeKey, kind),
    originalAfter: [...special.kept, ...appended].slice(0, original.length),
  }
}

/**
 * List items holding `$patch`: `delete` removes every item with that merge key value, `replace`
 * makes the other items of the patch the whole list. They leave the patch.
 */
function applySpecialItems(
  original: JsonMap[],
  patch: readonly JsonMap[],
  mergeKey: string,
): { original: JsonMap[]; patch: JsonMap[]; kept: JsonMap[] } {
  const rest: JsonMap[] = []
  let replace = false
  let kept = original
  for (const item of patch) {
    if (!Object.hasOwn(item, directiveMarker)) {
      rest.push(item)
      continue
    }
    const directive = item[directiveMarker]
    switch (directive) {
      case 'delete':
        if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey)
        kept = kept.filter((x) => !sameScalar(x[mergeKey], item[mergeKey]))
        break
      case 'replace':
        replace = true
        break
      case 'merge':
        throw new PatchError('apply', 'merging lists cannot yet be specified in the patch')
      default:
        throw badPatchType(directive, item)
    }
  }
  if (replace) return { original: rest.map(cleanMap), patch: [], kept }
  return { original: kept, patch: rest, kept }
}

/** Items of the patch merge into the first original item with their key, or are appended. */
function mergeItems(
  original: JsonMap[],
  patch: readonly JsonMap[],
  mergeKey: string,
  itemSchema: SchemaNode | undefined,
): { merged: JsonMap[]; appended: JsonMap[] } {
  const merged = [...original]
  const appended: JsonMap[] = []
  for (const item of patch) {
    if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey)
    const i = merged.findIndex((x) => sameScalar(x[mergeKey], item[mergeKey]))
    if (i >= 0) {
      merged[i] = mergeMap(merged[i] as JsonMap, item, itemSchema)
    } else {
      const added = cleanMap(item)
      merged.push(added)
      appended.push(added)
    }
  }
  return { merged, appended }
}

/**
 * The order of a merged list (apimachinery's normalizeElementOrder): the items named in the patch
 * sorted by `patchOrder`, the server-only items by `serverOrder`, then interleaved so that each
 * server-only item stays ahead of the patch items it preceded in the original list.
 */
function normalizeOrder(
  parts: { patch: unknown[]; serverOnly: unknown[] },
  patchOrder: readonly unknown[],
  serverOrder: readonly unknown[],
  mergeKey: string,
  kind: ItemKind,
): unknown[] {
  const right = sortByOrder(parts.patch, patchOrder, mergeKey, kind)
  const left = sortByOrder(parts.serverOnly, serverOrder, mergeKey, kind)
  const out: unknown[] = []
  let i = 0
  let j = 0
  while (i < left.length || j < right.length) {
    if (j >= right.length) out.push(left[i++])
    else if (i >= left.length) out.push(right[j++])
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, kind)
      const ri = indexIn(serverOrder, right[j], mergeKey, kind)
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++])
      else out.push(right[j++])
    }
  }
  return out
}

/** A stable sort by position in `order`; items marked for deletion go last. */
function sortByOrder(
  list: unknown[],
  order: readonly unknown[],
  mergeKey: string,
  kind: ItemKind,
): unknown[] {
  let kept = list
  let deletions: unknown[] = []
  if (kind === 'map') {
    for (const x of [...list, ...order])
      if (!isObject(x) || !Object.hasOwn(x, mergeKey)) throw noMergeKey(x, mergeKey)
    ;({ kept, deletions } = splitDeletions(list))
  }
  const position = (x: unknown) => {
    const i = indexIn(order, x, mergeKey, kind)
    return i < 0 ? Infinity : i
  }
  return [
    ...kept
      .map((x) => ({ x, p: position(x) }))
      .sort((a, b) => a.p - b.p)
      .map((e) => e.x),
    ...deletions,
  ]
}

function indexIn(list: readonly unknown[], x: unknown, mergeKey: string, kind: ItemKind): number {
  const keyOf = (v: unknown) => (kind === 'map' ? (isObject(v) ? v[mergeKey] : undefined) : v)
  const want = keyOf(x)
  return list.findIndex((v) => sameScalar(keyOf(v), want))
}

/** Items of `list` named in `by` (by merge key, or by value), and the others. */
function partition(
  list: readonly unknown[],
  by: readonly unknown[],
  mergeKey: string,
): [unknown[], unknown[]] {
  const named: unknown[] = []
  const others: unknown[] = []
  for (const x of list) {
    let found: boolean
    if (mergeKey === '') {
      found = by.some((b) => sameScalar(b, x))
    } else {
      if (!isObject(x) || !Object.hasOwn(x, mergeKey)) throw noMergeKey(x, mergeKey)
      found = by.some((b) => isObject(b) && sameScalar(b[mergeKey], x[mergeKey]))
    }
    ;(found ? named : others).push(x)
  }
  return [named, others]
}

function splitDeletions(list: readonly unknown[]): { kept: unknown[]; deletions: unknown[] } {
  const kept: unknown[] = []
  const deletions: unknown[] = []
  for (const x of list) {
    if (!isObject(x)) throw new PatchError('apply', `expected a map, but received ${JSON.stringify(x)}`)
    ;(x[directiveMarker] === 'delete' ? deletions : kept).push(x)
  }
  return { kept, deletions }
}

function mergeKeyValueEqual(a: unknown, b: unknown, mergeKey: string): boolean {
  if (mergeKey === '') return sameScalar(a, b)
  if (!isObject(a) || !Object.hasOwn(a, mergeKey)) throw noMergeKey(a, mergeKey)
  if (!isObject(b) || !Object.hasOwn(b, mergeKey)) throw noMergeKey(b, mergeKey)
  return sameScalar(a[mergeKey], b[mergeKey])
}

/** The kind shared by the items of a list; lists of lists and mixed lists cannot be merged. */
function itemKind(list: readonly unknown[]): ItemKind | undefined {
  let kind: ItemKind | undefined
  for (const x of list) {
    const k = kindOf(x)
    if (k === 'array') throw new PatchError('apply', 'lists of lists are not supported')
    const itemKind: ItemKind = k === 'object' ? 'map' : k
    if (kind !== undefined && kind !== itemKind)
      throw new PatchError('apply', `list element types are not identical: ${JSON.stringify(list)}`)
    kind = itemKind
  }
  return kind
}

function uniqueScalars(list: readonly unknown[]): unknown[] {
  const out: unknown[] = []
  for (const x of list) if (!out.some((y) => sameScalar(x, y))) out.push(x)
  return out
}

/** The field's patch strategy for merging, `retainKeys` aside: 'merge', 'replace' or ''. */
function strategyOf(f: ResolvedField | undefined): string {
  return f ? (patchStrategies(f).find((s) => s !== 'retainKeys') ?? '') : ''
}

/** `<prefix>/<name>` -> name. */
function directiveTarget(key: string, prefix: string): string {
  const slash = key.indexOf('/')
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    throw formatError(
      prefix === setElementOrderPrefix ? 'setElementOrder' : 'primitive list',
      `${JSON.stringify(key)} is not of the form ${prefix}/<field>`,
    )
  }
  return key.slice(slash + 1)
}

/**
 * A value the patch brings in as it is: maps holding `$patch` are dropped, other directive keys
 * and null map values left out (what decoding the result into the Go types does upstream).
 */
function cleanValue(v: unknown): unknown {
  if (Array.isArray(v)) return cleanList(v)
  if (isObject(v)) return cleanMap(v)
  return v
}

function cleanMap(m: Readonly<JsonMap>): JsonMap {
  const out: JsonMap = {}
  for (const [k, v] of Object.entries(m)) {
    if (v === null || isDirectiveKey(k) || isDroppedMap(v)) continue
    setOwn(out, k, cleanValue(v))
  }
  return out
}

function cleanList(list: readonly unknown[]): unknown[] {
  return list.filter((x) => !isDroppedMap(x)).map(cleanValue)
}

function setCleaned(m: JsonMap, k: string, v: unknown): void {
  if (isDroppedMap(v)) delete m[k]
  else setOwn(m, k, cleanValue(v))
}

function isDroppedMap(v: unknown): boolean {
  return isObject(v) && Object.hasOwn(v, directiveMarker)
}

function isDirectiveKey(k: string): boolean {
  return (
    k === directiveMarker ||
    k === retainKeysDirective ||
    k.startsWith(setElementOrderPrefix) ||
    k.startsWith(deleteFromPrimitiveListPrefix)
  )
}

function kindOf(v: unknown): 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null' {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return 'array'
  const t = typeof v
  return t === 'string' || t === 'number' || t === 'boolean' ? t : 'object'
}

/** Equality of merge key values and list scalars (Go's == on decoded JSON). */
function sameScalar(a: unknown, b: unknown): boolean {
  if (a === b) return true
  return typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b)
}

function noMergeKey(m: unknown, key: string): PatchError {
  return new PatchError('apply', `map: ${JSON.stringify(m)} does not contain declared merge key: ${key}`)
}

function badPatchType(directive: unknown, m: Readonly<JsonMap>): PatchError {
  return new PatchError('apply', `unknown patch type: ${String(directive)} in map: ${JSON.stringify(m)}`)
}

/** Kubernetes answers malformed directives with 400 and these words; the detail is ours. */
function formatError(
  directive: 'retainKeys' | 'setElementOrder' | 'primitive list',
  detail: string,
): PatchError {
  const what = directive === 'setElementOrder' ? 'setElementOrder list' : directive
  return new PatchError('decode', `invalid patch format of ${what}: ${detail}`)
}

function goJsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'boolean') return 'bool'
  return typeof v
}

function isObject(v: unknown): v is JsonMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
