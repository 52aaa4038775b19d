import { hasNoMembers, type KubeObject } from './object.ts'
import {
  fieldsOf,
  isOpen,
  items,
  mapValues,
  resolve,
  schemaForKind,
  type GroupVersionKind,
  type ResolvedField,
  type SchemaNode,
} from './schema.ts'

/**
 * What Kubernetes' JSON encoding does to an object on its way into storage: `null` values are
 * gone (they decode to Go zero values), and empty maps and lists of optional fields are left out
 * (Go's omitempty). So `{"labels": {}}` after removing the last label reads back as no labels,
 * as on a real cluster. Fields the schema does not have are dropped, as Go's decoding drops them.
 * Required fields and free-form data below preserve-unknown-fields nodes are left alone. Changes
 * the object in place.
 */
export function normalizeObject(gvk: GroupVersionKind, obj: KubeObject, stored?: Readonly<KubeObject>): void {
  const schema = schemaForKind(gvk)
  if (schema === undefined) return members(obj, undefined, stored)
  const root = resolve(schema)
  if (isOpen(root) || root.embeddedResource) return
  members(obj, root, stored)
}

function normalize(value: unknown, f: ResolvedField | undefined): void {
  if (value === null || typeof value !== 'object') return
  if (f !== undefined && (f.node.preserveUnknownFields === true || f.type === 'any')) return
  if (Array.isArray(value)) {
    const item = f ? items(f.node) : undefined
    for (const v of value) normalize(v, item)
    return
  }
  if (f?.node.embeddedResource) return
  members(value as Record<string, unknown>, f?.node)
}

/**
 * The members of an object whose schema (resolved) is `n`, if it has one. Members that are the
 * very values of `stored` (an update that keeps parts of the stored object as they are, as a
 * status update keeps the spec) were normalized when they were stored, and are left alone.
 */
function members(
  obj: Record<string, unknown>,
  n: SchemaNode | undefined,
  stored?: Readonly<Record<string, unknown>>,
): void {
  const isMap = n !== undefined && n.properties === undefined && n.additionalProperties !== undefined
  const each = isMap ? mapValues(n) : undefined
  const fields = n !== undefined && !isMap ? fieldsOf(n) : undefined
  const required = n?.required
  // for...in and no copies: this runs over every field of every object written.
  for (const k in obj) {
    const v = obj[k]
    if (v === null || v === undefined) {
      // Values of a map of strings keep their keys (a label with an empty value is "").
      delete obj[k]
      continue
    }
    if (stored !== undefined && v === stored[k]) continue
    const child = n === undefined ? undefined : isMap ? each : (fields?.get(k) ?? mapValues(n))
    if (child === undefined && n?.properties !== undefined) {
      // A field the kind does not have: Go's decoding into the typed object drops it (the request
      // was warned about it, or refused, by fieldValidation), so it is never stored.
      delete obj[k]
      continue
    }
    normalize(v, child)
    if (isMap || child === undefined || required?.includes(k)) continue
    if (Array.isArray(v)) {
      if (v.length === 0) delete obj[k]
    } else if (typeof v === 'object' && hasNoMembers(v)) {
      if (child.node.properties === undefined && child.node.additionalProperties !== undefined) delete obj[k]
    }
  }
}
