import type { KubeObject } from './object.ts'
import {
  definitionNameForKind,
  definition,
  field,
  items,
  mapValues,
  valueType,
  type GroupVersionKind,
  type ResolvedField,
  type SchemaNode,
} from './schema.ts'

/**
 * The first value of a decoded object whose JSON type its schema does not take, worded as Go's
 * decoder words it, or undefined. Kubernetes decodes a body into typed Go structs, so such a body
 * is refused (400) whatever fieldValidation says:
 *
 *   json: cannot unmarshal number into Go struct field ConfigMap.data of type string
 *
 * The struct is the one the field belongs to, and the path runs from the object's root, without
 * list indexes or map keys. null is taken anywhere (Go leaves the zero value). Below open nodes
 * (RawExtension, preserve-unknown-fields) and embedded objects anything goes; fields the schema
 * does not have are left to the unknown-field check.
 */
export function typeMismatch(gvk: GroupVersionKind, obj: KubeObject): string | undefined {
  const name = definitionNameForKind(gvk)
  const root = name === undefined ? undefined : definition(name)
  if (name === undefined || root === undefined) return undefined
  return checkFields(root, obj, structName(name), '')
}

/** The fields of a struct the schema has, each checked; `prefix` is the struct's own path. */
function checkFields(
  node: SchemaNode,
  o: Record<string, unknown>,
  struct: string,
  prefix: string,
): string | undefined {
  for (const k in o) {
    const child = field(node, k)
    if (child === undefined) continue
    const found = check(child, o[k], { struct, path: prefix === '' ? k : `${prefix}.${k}` })
    if (found) return found
  }
  return undefined
}

interface At {
  /** The Go struct the field belongs to (ConfigMap, ContainerPort). */
  struct: string
  /** Its JSON path from the root, dotted, without indexes or keys (spec.containers.ports). */
  path: string
}

function check(f: ResolvedField, value: unknown, at: At): string | undefined {
  const node = f.node
  if (value === null || value === undefined || node.embeddedResource) return undefined
  const type = valueType(node)
  if (type === 'any' || node.preserveUnknownFields === true) return undefined
  const kind = jsonKind(value)
  // Go names the literal of a number it could not make an integer of.
  const wrong = (literal = false) =>
    `json: cannot unmarshal ${literal ? `number ${value as number}` : kind} into Go struct field ${at.struct}.${at.path} of type ${goType(f)}`
  switch (type) {
    case 'struct': {
      if (kind !== 'object') return wrong()
      const struct = f.ref !== undefined ? structName(f.ref) : at.struct
      return checkFields(node, value as Record<string, unknown>, struct, at.path)
    }
    case 'map':
    case 'list': {
      // Their values, or items, share one schema and the field's path.
      if (kind !== (type === 'map' ? 'object' : 'array')) return wrong()
      const each = type === 'map' ? mapValues(node) : items(node)
      if (!each) return undefined
      const values = type === 'map' ? Object.values(value as Record<string, unknown>) : (value as unknown[])
      for (const v of values) {
        const found = check(each, v, at)
        if (found) return found
      }
      return undefined
    }
    case 'string':
      return kind === 'string' ? undefined : wrong()
    case 'boolean':
      return kind === 'bool' ? undefined : wrong()
    case 'number':
      return kind === 'number' ? undefined : wrong()
    case 'integer':
      if (kind !== 'number') return wrong()
      return Number.isInteger(value) ? undefined : wrong(true)
    case 'int-or-string':
      if (kind === 'string') return undefined
      if (kind !== 'number') return wrong()
      return Number.isInteger(value) ? undefined : wrong(true)
    case 'quantity':
      return kind === 'string' || kind === 'number' ? undefined : wrong()
    default:
      return undefined
  }
}

/** The JSON type of a decoded value, in Go's words (number, string, bool, array, object). */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array'
  switch (typeof v) {
    case 'boolean':
      return 'bool'
    case 'number':
      return 'number'
    case 'string':
      return 'string'
    default:
      return 'object'
  }
}

/** A definition's Go struct name: io.k8s.api.core.v1.ContainerPort is ContainerPort. */
function structName(definitionName: string): string {
  return definitionName.slice(definitionName.lastIndexOf('.') + 1)
}

/** The Go type of a field, as near as the schema tells it (Go prints v1.PodSpec, []v1.Container). */
function goType(f: ResolvedField): string {
  const n = f.node
  if (f.ref !== undefined) {
    const parts = f.ref.split('.')
    return parts.length >= 2 ? `${parts.at(-2)}.${parts.at(-1)}` : f.ref
  }
  switch (valueType(n)) {
    case 'string':
      return n.format === 'byte' ? '[]uint8' : 'string'
    case 'integer':
      return n.format === 'int32' ? 'int32' : 'int64'
    case 'number':
      return 'float64'
    case 'boolean':
      return 'bool'
    case 'map': {
      const values = mapValues(n)
      return `map[string]${values ? goType(values) : 'interface {}'}`
    }
    case 'list': {
      const item = items(n)
      return `[]${item ? goType(item) : 'interface {}'}`
    }
    default:
      return 'interface {}'
  }
}
