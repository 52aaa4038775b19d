import type { ManagedFieldsEntry } from '../generated/types/meta-v1.ts'
import type { KubeObject, StoredObject } from '../object.ts'
import { field, items, mapValues, resolve, type ResolvedField, type SchemaNode } from '../schema.ts'
import {
  entryKey,
  fieldSetOf,
  FieldSet,
  keyElement,
  listKind,
  pathString,
  serverOwned,
  valueAt,
  type FieldPath,
} from './managed-fields.ts'

/**
 * Server-side apply and the bookkeeping of ordinary writes, after Kubernetes' field management:
 *
 * - an Update (create, PUT, JSON/merge/strategic patch) makes its manager the owner of every
 *   field it changed, taking them from whoever owned them;
 * - an Apply sets the fields of the applied configuration, refuses (409) to change a field
 *   another manager owns unless forced (then takes it over), and removes fields its manager
 *   applied before and no longer applies, when nobody else owns them.
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
  readonly apiVersion: string
  readonly field: string
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

function conflictMessage(conflicts: readonly ApplyConflict[]): string {
  if (conflicts.length === 1) {
    const c = conflicts[0] as ApplyConflict
    return `Apply failed with 1 conflict: conflict with ${JSON.stringify(c.manager)} using ${c.apiVersion}: ${c.field}`
  }
  const byManager = new Map<string, ApplyConflict[]>()
  for (const c of conflicts)
    byManager.set(`${c.manager}\u0000${c.apiVersion}`, [
      ...(byManager.get(`${c.manager}\u0000${c.apiVersion}`) ?? []),
      c,
    ])
  const parts = [...byManager.values()].map((cs) => {
    const first = cs[0] as ApplyConflict
    return `conflicts with ${JSON.stringify(first.manager)} using ${first.apiVersion}:\n${cs.map((c) => `- ${c.field}`).join('\n')}`
  })
  return `Apply failed with ${conflicts.length} conflicts: ${parts.join('\n')}`
}

const notServer = (p: FieldPath) => serverOwned(p)

/** Records an Update by `o.manager` that turned `prev` (undefined on create) into `next`. */
export function recordUpdate(
  next: StoredObject,
  prev: Readonly<StoredObject> | undefined,
  o: FieldManagementOptions,
): void {
  if (o.manager === '') {
    next.metadata.managedFields = prev?.metadata.managedFields
      ? structuredClone(prev.metadata.managedFields)
      : undefined
    if (next.metadata.managedFields === undefined) delete next.metadata.managedFields
    return
  }
  const newSet = fieldSetOf(withoutManaged(next), o.schema, notServer)
  const oldSet = prev ? fieldSetOf(withoutManaged(prev), o.schema, notServer) : new FieldSet()
  // A map or list item itself ('.') changes hands only when it comes into being; its fields
  // change hands when their values change.
  const changed = FieldSet.of(
    newSet
      .paths()
      .filter(
        (p) =>
          !prev || !oldSet.has(p) || (p.at(-1) !== '.' && !sameValue(valueAt(next, p), valueAt(prev, p))),
      ),
  )
  const removed = oldSet.minus(newSet)
  const entries = (prev?.metadata.managedFields ?? []).map((e) => ({
    e,
    set: FieldSet.fromFieldsV1(e.fieldsV1),
  }))
  const mine = { manager: o.manager, operation: 'Update', subresource: o.subresource }
  const out: ManagedFieldsEntry[] = []
  let own: FieldSet = changed
  for (const { e, set } of entries) {
    if (entryKey(e) === entryKey(mine)) {
      own = set.minus(removed).union(changed)
      continue
    }
    const kept = set.minus(removed).minus(changed)
    if (kept.size > 0) out.push({ ...e, fieldsV1: kept.toFieldsV1() })
  }
  if (own.size > 0) out.push(entry(mine, own, o))
  setManaged(next, out)
}

/**
 * Applies `applied` (the applied configuration) to `live` (undefined when the object does not
 * exist yet) for `o.manager`; throws ApplyConflictError when it would change others' fields and
 * `force` is false.
 */
export function applyConfiguration(
  live: Readonly<StoredObject> | undefined,
  applied: KubeObject,
  force: boolean,
  o: FieldManagementOptions,
): StoredObject {
  const appliedSet = fieldSetOf(withoutManaged(applied), o.schema, notServer)
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
    for (const p of appliedSet.intersect(set).paths()) {
      // Only values conflict; owning a list item or map itself ('.') is shared freely.
      if (p.at(-1) === '.') continue
      if (live && !sameValue(valueAt(applied, p), valueAt(live, p))) {
        conflicts.push({ manager: e.manager ?? '', apiVersion: e.apiVersion ?? '', field: pathString(p) })
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
  // What this manager applied before, no longer applies, and nobody else holds, goes.
  const othersHold = entries
    .filter(({ e }) => entryKey(e) !== entryKey(mine))
    .reduce((acc, { set }) => acc.union(set.minus(taken)), new FieldSet())
  const gone = previous.minus(appliedSet).minus(othersHold)
  for (const p of gone.paths().sort((a, b) => b.length - a.length)) removePath(merged, p)

  const out: ManagedFieldsEntry[] = []
  for (const { e, set } of entries) {
    if (entryKey(e) === entryKey(mine)) continue
    const kept = set.minus(taken)
    if (kept.size > 0) out.push({ ...e, fieldsV1: kept.toFieldsV1() })
  }
  if (appliedSet.size > 0) out.push(entry(mine, appliedSet, o))
  setManaged(merged, out)
  return merged
}

function entry(
  id: { manager: string; operation: string; subresource: string },
  set: FieldSet,
  o: FieldManagementOptions,
): ManagedFieldsEntry {
  const e: ManagedFieldsEntry = {
    manager: id.manager,
    operation: id.operation,
    apiVersion: o.apiVersion,
    time: o.time,
    fieldsType: 'FieldsV1',
    fieldsV1: set.toFieldsV1(),
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

function rootField(node: SchemaNode): ResolvedField {
  return {
    node,
    ref: undefined,
    patchStrategy: undefined,
    patchMergeKey: undefined,
    listType: undefined,
    listMapKeys: undefined,
    mapType: undefined,
  }
}

/** The applied configuration merged into the live object: lists by their kind, scalars replaced. */
function mergeApplied(live: unknown, applied: unknown, f: ResolvedField | undefined): unknown {
  if (applied === null || applied === undefined) return live
  if (Array.isArray(applied)) {
    const lk = listKind(f)
    if (lk.kind === 'atomic' || !Array.isArray(live)) return structuredClone(applied)
    const out = structuredClone(live)
    if (lk.kind === 'set') {
      for (const x of applied) if (!out.some((y) => sameValue(x, y))) out.push(structuredClone(x))
      return out
    }
    const itemField = f ? items(f.node) : undefined
    for (const x of applied) {
      if (x === null || typeof x !== 'object' || Array.isArray(x)) continue
      const k = keyElement(x as Record<string, unknown>, lk.keys)
      const i = out.findIndex(
        (y) =>
          y !== null &&
          typeof y === 'object' &&
          !Array.isArray(y) &&
          keyElement(y as Record<string, unknown>, lk.keys) === k,
      )
      if (i >= 0) out[i] = mergeApplied(out[i], x, itemField)
      else out.push(mergeApplied({}, x, itemField))
    }
    return out
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
      out[k] = mergeApplied(out[k], v, child)
    }
    return out
  }
  return applied
}

function removePath(obj: unknown, path: FieldPath): void {
  const p = path.at(-1) === '.' ? path.slice(0, -1) : path
  if (p.length === 0) return
  const parent = valueAt(obj, p.slice(0, -1))
  const last = p.at(-1) ?? ''
  if (last.startsWith('f:')) {
    if (parent !== null && typeof parent === 'object' && !Array.isArray(parent))
      delete (parent as Record<string, unknown>)[last.slice(2)]
  } else if (Array.isArray(parent)) {
    const target = valueAt(parent, [last])
    const i = parent.indexOf(target)
    if (i >= 0) parent.splice(i, 1)
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b)
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v) ?? 'undefined'
}
