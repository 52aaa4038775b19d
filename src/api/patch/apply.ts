import type { ManagedFieldsEntry } from '../generated/types/meta-v1.ts'
import type { KubeObject, StoredObject } from '../object.ts'
import { field, items, mapValues, resolve, type ResolvedField, type SchemaNode } from '../schema.ts'
import { PatchError } from './json-patch.ts'
import { ownValue, setOwn } from './merge-patch.ts'
import {
  comparePaths,
  diffFieldSets,
  editFieldsV1,
  fieldsV1Has,
  entryKey,
  fieldSetOf,
  FieldSet,
  keyElement,
  listKind,
  pathString,
  rootField,
  sameValue,
  serverOwned,
  updateFieldsV1,
  valueAt,
  type FieldPath,
  type PathElement,
} from './managed-fields.ts'

/**
 * Server-side apply and the bookkeeping of ordinary writes, after Kubernetes' field management:
 *
 * - an Update (create, PUT, JSON/merge/strategic patch) makes its manager the owner of every
 *   field it changed, taking them from whoever owned them;
 * - an Apply sets the fields of the applied configuration, refuses (409) to change a field
 *   another manager owns unless forced (then takes it over), and removes fields its manager
 *   applied before and no longer applies, when nobody else owns them (and the maps, structs and
 *   lists this leaves empty). Two managers applying the same value share the field.
 *
 * Associative lists (list-map keys, or a patch merge key) and sets merge item by item, in the
 * order of the applied configuration (structured-merge-diff's merge); other lists and atomic
 * maps are replaced whole and owned as one field.
 */
export interface FieldManagementOptions {
  manager: string
  apiVersion: string
  subresource: string
  /** RFC 3339 time of the write. */
  time: string
  schema: SchemaNode | undefined
}

export interface ApplyConflict {
  readonly manager: string
  readonly operation: string
  readonly subresource: string
  readonly apiVersion: string
  /** The field as Kubernetes prints it: `.spec.containers[name="web"].image`. */
  readonly field: string
  /**
   * The manager as kube-apiserver names it in conflicts: `"alice"` for an applier,
   * `"kube-controller-manager" using apps/v1` for an updater, with `with subresource "status"`
   * after the name for a subresource's manager.
   */
  readonly managerDescription: string
}

/** An apply that would change fields owned by other managers. */
export class ApplyConflictError extends Error {
  override readonly name = 'ApplyConflictError'
  readonly conflicts: readonly ApplyConflict[]

  constructor(conflicts: readonly ApplyConflict[]) {
    super(conflictMessage(conflicts))
    this.conflicts = conflicts
  }
}

/** kube-apiserver's words: one conflict on one line, more grouped by manager in name order. */
function conflictMessage(conflicts: readonly ApplyConflict[]): string {
  if (conflicts.length === 1) {
    const c = conflicts[0] as ApplyConflict
    return `Apply failed with 1 conflict: conflict with ${c.managerDescription}: ${c.field}`
  }
  const byManager = new Map<string, ApplyConflict[]>()
  for (const c of conflicts)
    byManager.set(c.managerDescription, [...(byManager.get(c.managerDescription) ?? []), c])
  const lines: string[] = []
  for (const [manager, cs] of [...byManager].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    lines.push(`conflicts with ${manager}:`, ...cs.map((c) => `- ${c.field}`))
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`
}

function describeManager(e: ManagedFieldsEntry): string {
  let s = JSON.stringify(e.manager ?? '')
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`
  if (e.operation === 'Update') s += ` using ${e.apiVersion ?? ''}`
  return s
}

const notServer = (p: FieldPath) => serverOwned(p)

/**
 * Records an Update by `o.manager` that turned `prev` (undefined on create) into `next`.
 *
 * The update starts from the managedFields `next` carries, so a client may edit them directly,
 * and `[{}]` (or `[]`) clears them, after which the updater owns just what it changed (the
 * Server-Side Apply page, "Clearing managedFields"). Without usable ones, and always through a
 * subresource, it starts from those of `prev`.
 */
export function recordUpdate(
  next: StoredObject,
  prev: Readonly<StoredObject> | undefined,
  o: FieldManagementOptions,
): void {
  const base = startingEntries(next, prev, o)
  if (o.manager === '') {
    // Entries are only ever replaced, never changed in place: copies of the entries will do.
    setManaged(
      next,
      base.map((e) => ({ ...e })),
    )
    return
  }
  const mine = { manager: o.manager, operation: 'Update', subresource: o.subresource }
  if (!prev && base.length === 0) {
    // A create that brings no entries: its manager owns every field it set, and nobody else any.
    const fields = updateFieldsV1(withoutManaged(next), o.schema, notServer)
    setManaged(next, Object.keys(fields).length > 0 ? [entry(mine, fields, o)] : [])
    return
  }
  const { changed, removed } = prev
    ? diffFieldSets(withoutManaged(next), withoutManaged(prev), o.schema, notServer)
    : {
        changed: fieldSetOf(withoutManaged(next), o.schema, { ignore: notServer, operation: 'Update' }),
        removed: new FieldSet(),
      }
  // Entries that hold none of the paths the update touched stay as they are (the same objects:
  // entries are only ever replaced, never changed in place); the others lose those paths.
  const changedPaths = changed.paths()
  const removedPaths = removed.paths()
  const touched = [...changedPaths, ...removedPaths]
  const holdsAny = (e: ManagedFieldsEntry, paths: readonly FieldPath[]) =>
    paths.some((p) => fieldsV1Has(e.fieldsV1, p))
  const mineKey = entryKey(mine)
  const out: ManagedFieldsEntry[] = []
  let own: ManagedFieldsEntry | undefined
  let found = false
  for (const e of base) {
    if (entryKey(e) !== mineKey) {
      if (!holdsAny(e, touched)) {
        out.push(e)
        continue
      }
      const kept = editFieldsV1(e.fieldsV1, touched, [])
      if (Object.keys(kept).length > 0) out.push({ ...e, fieldsV1: kept })
      continue
    }
    found = true
    const held = !holdsAny(e, removedPaths) && changedPaths.every((p) => fieldsV1Has(e.fieldsV1, p))
    if (changed.size === 0) {
      // The updater took nothing: its entry keeps its time and version, as with kube-apiserver.
      if (held) out.push(e)
      else {
        const left = editFieldsV1(e.fieldsV1, removedPaths, [])
        if (Object.keys(left).length > 0) out.push({ ...e, fieldsV1: left })
      }
      continue
    }
    own = held
      ? { ...e, apiVersion: o.apiVersion, time: o.time }
      : entry(mine, editFieldsV1(e.fieldsV1, removedPaths, changedPaths), o)
  }
  if (!found && changed.size > 0) own = entry(mine, changed.toFieldsV1(), o)
  if (own) out.push(own)
  setManaged(next, out)
}

/** kube-apiserver's decodeManagedFields: the entries an update starts from. */
function startingEntries(
  next: Readonly<StoredObject>,
  prev: Readonly<StoredObject> | undefined,
  o: FieldManagementOptions,
): readonly ManagedFieldsEntry[] {
  const live = prev?.metadata.managedFields ?? []
  const sent = next.metadata.managedFields
  if (o.subresource !== '' || sent === undefined || sent === null) return live
  if (sent.length === 0 || (sent.length === 1 && Object.keys(sent[0] ?? {}).length === 0)) return []
  const decodable = sent.every(
    (e) => e.fieldsType === 'FieldsV1' && e.fieldsV1 !== null && typeof e.fieldsV1 === 'object',
  )
  return decodable ? sent : live
}

/**
 * Applies `applied` (the applied configuration) to `live` (undefined when the object does not
 * exist yet) for `o.manager`; throws ApplyConflictError when it would change others' fields and
 * `force` is false, and a PatchError when the configuration carries managedFields.
 */
export function applyConfiguration(
  live: Readonly<StoredObject> | undefined,
  applied: KubeObject,
  force: boolean,
  o: FieldManagementOptions,
): StoredObject {
  if (applied.metadata?.managedFields !== undefined && applied.metadata.managedFields !== null)
    throw new PatchError('decode', 'metadata.managedFields must be nil')
  const appliedSet = fieldSetOf(applied, o.schema, { ignore: notServer, operation: 'Apply' })
  const entries = (live?.metadata.managedFields ?? []).map((e) => ({
    e,
    set: FieldSet.fromFieldsV1(e.fieldsV1),
  }))
  const mine = { manager: o.manager, operation: 'Apply', subresource: o.subresource }
  const previous = entries.find(({ e }) => entryKey(e) === entryKey(mine))?.set ?? new FieldSet()
  const conflicts: ApplyConflict[] = []
  const taken = new FieldSet()
  for (const { e, set } of entries) {
    if (entryKey(e) === entryKey(mine)) continue
    const paths = appliedSet.intersect(set).paths().sort(comparePaths)
    for (const p of paths) {
      // Only values conflict; owning a list item or map itself ('.') is shared freely.
      if (p.at(-1) === '.') continue
      if (live && !sameValue(valueAt(applied, p, o.schema), valueAt(live, p, o.schema))) {
        conflicts.push({
          manager: e.manager ?? '',
          operation: e.operation ?? '',
          subresource: e.subresource ?? '',
          apiVersion: e.apiVersion ?? '',
          field: pathString(p),
          managerDescription: describeManager(e),
        })
        taken.add(p)
      }
    }
  }
  if (conflicts.length > 0 && !force) throw new ApplyConflictError(conflicts)

  const base = live ? (structuredClone(live) as StoredObject) : ({ metadata: {} } as StoredObject)
  const merged = mergeApplied(
    base,
    applied,
    o.schema === undefined ? undefined : rootField(o.schema),
  ) as StoredObject
  merged.metadata ??= {}
  // What this manager applied before, no longer applies, and nobody else holds, goes; and so do
  // the maps, structs and lists that this leaves empty.
  const othersHold = entries
    .filter(({ e }) => entryKey(e) !== entryKey(mine))
    .reduce((acc, { set }) => acc.union(set.minus(taken)), new FieldSet())
  const held = appliedSet.union(othersHold)
  const gone = previous
    .minus(held)
    .paths()
    .filter((p) => !holdsBelow(held, p.at(-1) === '.' ? p.slice(0, -1) : p))
  for (const p of gone.sort((a, b) => b.length - a.length)) {
    if (removePath(merged, p, o.schema)) removeEmptiedParents(merged, p, { held, schema: o.schema })
  }

  const out: ManagedFieldsEntry[] = []
  for (const { e, set } of entries) {
    if (entryKey(e) === entryKey(mine)) continue
    const kept = set.minus(taken)
    if (kept.size > 0) out.push({ ...e, fieldsV1: kept.toFieldsV1() })
  }
  if (appliedSet.size > 0) out.push(entry(mine, appliedSet.toFieldsV1(), o))
  setManaged(merged, out)
  return merged
}

/** Whether `set` holds anything below the node at `prefix`. */
function holdsBelow(set: FieldSet, prefix: FieldPath): boolean {
  return set.paths().some((p) => p.length > prefix.length && prefix.every((e, i) => p[i] === e))
}

function entry(
  id: { manager: string; operation: string; subresource: string },
  fieldsV1: Record<string, unknown>,
  o: FieldManagementOptions,
): ManagedFieldsEntry {
  const e: ManagedFieldsEntry = {
    manager: id.manager,
    operation: id.operation,
    apiVersion: o.apiVersion,
    time: o.time,
    fieldsType: 'FieldsV1',
    fieldsV1,
  }
  if (id.subresource !== '') e.subresource = id.subresource
  return e
}

function setManaged(obj: StoredObject, entries: ManagedFieldsEntry[]): void {
  if (entries.length === 0) delete obj.metadata.managedFields
  else obj.metadata.managedFields = entries
}

function withoutManaged(o: Readonly<KubeObject>): KubeObject {
  if (!o.metadata?.managedFields) return o
  const { managedFields: _m, ...metadata } = o.metadata
  return { ...o, metadata }
}

/** The applied configuration merged into the live object: lists by their kind, scalars replaced. */
function mergeApplied(live: unknown, applied: unknown, f: ResolvedField | undefined): unknown {
  if (applied === null || applied === undefined) return live
  if (Array.isArray(applied)) {
    const lk = listKind(f)
    if (lk.kind === 'atomic' || !Array.isArray(live)) return structuredClone(applied)
    const itemField = f ? items(f.node) : undefined
    const elementOf = (x: unknown): PathElement | undefined => {
      if (lk.kind === 'set') return `v:${JSON.stringify(x)}`
      if (x === null || typeof x !== 'object' || Array.isArray(x)) return undefined
      return keyElement(x as Record<string, unknown>, lk.keys, itemField)
    }
    return mergeListItems(live, applied, elementOf, (l, r) =>
      l === undefined ? mergeApplied({}, r, itemField) : mergeApplied(l, r, itemField),
    )
  }
  if (typeof applied === 'object') {
    const node = f ? resolve(f.node) : undefined
    if (f?.mapType === 'atomic' || node?.embeddedResource) return structuredClone(applied)
    const out: Record<string, unknown> =
      live !== null && typeof live === 'object' && !Array.isArray(live)
        ? { ...(live as Record<string, unknown>) }
        : {}
    const isMap =
      node !== undefined && node.properties === undefined && node.additionalProperties !== undefined
    for (const [k, v] of Object.entries(applied as Record<string, unknown>)) {
      if (v === null) continue
      const child = f ? (isMap ? mapValues(f.node) : field(f.node, k)) : undefined
      setOwn(out, k, mergeApplied(ownValue(out, k), v, child))
    }
    return out
  }
  return applied
}

/**
 * Merges the items of an associative list or set (structured-merge-diff's visitListItems): items
 * only the live list has keep their places, the applied items come in the applied order, each
 * merged with the live item of the same key. Items without a key are left as they are.
 */
function mergeListItems(
  live: readonly unknown[],
  applied: readonly unknown[],
  elementOf: (x: unknown) => PathElement | undefined,
  merge: (live: unknown, applied: unknown) => unknown,
): unknown[] {
  const liveByKey = new Map<PathElement, unknown>()
  for (const x of live) {
    const e = elementOf(x)
    if (e !== undefined && !liveByKey.has(e)) liveByKey.set(e, x)
  }
  const appliedKeys: PathElement[] = []
  const appliedByKey = new Map<PathElement, unknown>()
  for (const x of applied) {
    const e = elementOf(x)
    if (e === undefined || appliedByKey.has(e)) continue
    appliedKeys.push(e)
    appliedByKey.set(e, x)
  }
  const shared = appliedKeys.filter((e) => liveByKey.has(e))
  const liveKeys = live.map(elementOf)
  const out: unknown[] = []
  const merged = new Set<PathElement>()
  let nextShared = 0
  let l = 0
  let r = 0
  while (l < live.length || r < appliedKeys.length) {
    const le = liveKeys[l]
    const re = appliedKeys[r]
    if (l < live.length && le === undefined) {
      out.push(live[l++])
      continue
    }
    if (le !== undefined && re !== undefined) {
      if (le === re) {
        out.push(merge(live[l], appliedByKey.get(re)))
        merged.add(re)
        l++
        r++
        nextShared++
        continue
      }
      // A shared item the applied order wants later comes when its turn in `applied` does.
      const want = shared[nextShared]
      if (appliedByKey.has(le) && want !== undefined && want !== le) {
        l++
        continue
      }
    }
    if (le !== undefined) {
      if (!appliedByKey.has(le)) {
        out.push(live[l++])
        continue
      }
      if (merged.has(le)) l++
    }
    if (re !== undefined) {
      out.push(merge(liveByKey.get(re), appliedByKey.get(re)))
      merged.add(re)
      r++
      if (shared[nextShared] === re) nextShared++
    }
  }
  return out
}

/** Removes the field or list item at `path`; true when there was one. */
function removePath(obj: unknown, path: FieldPath, schema: SchemaNode | undefined): boolean {
  const p = path.at(-1) === '.' ? path.slice(0, -1) : path
  if (p.length === 0) return false
  const parent = valueAt(obj, p.slice(0, -1), schema)
  const last = p.at(-1) ?? ''
  if (last.startsWith('f:')) {
    const name = last.slice(2)
    if (
      parent === null ||
      typeof parent !== 'object' ||
      Array.isArray(parent) ||
      !Object.hasOwn(parent, name)
    )
      return false
    delete (parent as Record<string, unknown>)[name]
    return true
  }
  if (!Array.isArray(parent)) return false
  const target = valueAt(obj, p, schema)
  const i = parent.indexOf(target)
  if (i < 0) return false
  parent.splice(i, 1)
  return true
}

/**
 * After `path` went: the fields above it that are now empty maps or lists go too, unless someone
 * holds them as they are.
 */
function removeEmptiedParents(
  obj: unknown,
  path: FieldPath,
  o: { held: FieldSet; schema: SchemaNode | undefined },
): void {
  const p = path.at(-1) === '.' ? path.slice(0, -1) : path
  for (let end = p.length - 1; end > 0; end--) {
    const parentPath = p.slice(0, end)
    if (!(parentPath.at(-1) ?? '').startsWith('f:') || o.held.has(parentPath)) return
    const v = valueAt(obj, parentPath, o.schema)
    const empty = Array.isArray(v)
      ? v.length === 0
      : v !== null && typeof v === 'object' && Object.keys(v).length === 0
    if (!empty) return
    removePath(obj, parentPath, o.schema)
  }
}
