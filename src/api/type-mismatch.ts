import { keyElement, listKind, pathString } from './patch/managed-fields.ts'
import type { KubeObject } from './object.ts'
import {
  definitionNameForKind,
  definition,
  fieldsOf,
  items,
  mapValues,
  valueType,
  type GroupVersionKind,
  type ResolvedField,
  type SchemaNode,
  type ValueType,
} from './schema.ts'

/**
 * Values of a built-in object whose JSON type their schema does not take, worded as Kubernetes
 * words them. Kubernetes turns every body into typed Go structs, and which code does it decides
 * the words:
 *
 * - a create or update body, and the result of a JSON or merge patch, go through Go's JSON
 *   decoder (`typeMismatch`):
 *     json: cannot unmarshal number into Go struct field ConfigMap.data of type string
 * - the result of a strategic merge patch goes through the unstructured converter
 *   (`convertMismatch`): cannot restore slice from string, unrecognized type: int32
 * - an apply configuration goes through structured-merge-diff's typed conversion
 *   (`typedMismatches`), which lists every bad value by its field path:
 *     .spec.replicas: expected numeric (int or float), got string
 *
 * null is taken anywhere (Go leaves the zero value). Below open nodes (RawExtension,
 * preserve-unknown-fields) and embedded objects anything goes; fields the schema does not have
 * are left to the unknown-field check. Kinds without a built-in schema (custom resources) are
 * not checked here.
 */
export function typeMismatch(gvk: GroupVersionKind, obj: KubeObject): string | undefined {
  return firstMismatch(gvk, obj, decodeWords)
}

/** The first bad value of a strategic merge patch's result, in the unstructured converter's words. */
export function convertMismatch(gvk: GroupVersionKind, obj: unknown): string | undefined {
  return firstMismatch(gvk, obj, convertWords)
}

function firstMismatch(
  gvk: GroupVersionKind,
  obj: unknown,
  words: (m: Mismatch) => string,
): string | undefined {
  let found: string | undefined
  walkKind(gvk, obj, {
    typed: false,
    visit: (m) => {
      found = words(m)
      return true
    },
  })
  return found
}

/**
 * Every bad value of an apply configuration, each as `<field path>: <what is wrong>` (the path as
 * structured-merge-diff prints it: `.spec.containers[name="web"].ports[0]`).
 */
export function typedMismatches(gvk: GroupVersionKind, obj: unknown): string[] {
  const found: string[] = []
  walkKind(gvk, obj, {
    typed: true,
    visit: (m) => {
      found.push(`${m.at.typed}: ${typedWords(m)}`)
      return false
    },
  })
  return found
}

/** Where a value is: its Go struct and dotted path (for the decoder) and its typed path. */
interface At {
  /** The Go struct the field belongs to (ConfigMap, ContainerPort). */
  struct: string
  /** Its JSON path from the root, dotted, without indexes or keys (spec.containers.ports). */
  path: string
  /** Its path as structured-merge-diff prints it, with list keys or indexes (when asked for). */
  typed: string
}

/**
 * A walk: what it does with each bad value (true: stop), and where it is. The place is kept in
 * stacks that are joined only for a bad value, so a walk of a good object makes no strings.
 */
interface Walk {
  visit: (m: Mismatch) => boolean
  /** Typed paths cost a string per field: only apply's wording names them. */
  typed: boolean
  /** The definition of the Go struct the current field belongs to (io.k8s.api.core.v1.ContainerPort). */
  struct: string
  /** The field names down to the current value. */
  path: string[]
  /** The typed path's segments (`.spec`, `[0]`, `[name="web"]`), when typed. */
  segments: string[]
}

/** A value of the wrong JSON type, or a number where an integer belongs. */
interface Mismatch {
  f: ResolvedField
  value: unknown
  at: At
  /** The schema's value type at that field. */
  type: ValueType
}

/** Calls `visit` for each bad value, in document order, until it returns true. */
function walkKind(
  gvk: GroupVersionKind,
  obj: unknown,
  o: { typed: boolean; visit: (m: Mismatch) => boolean },
): void {
  const name = definitionNameForKind(gvk)
  const root = name === undefined ? undefined : definition(name)
  if (name === undefined || root === undefined || !isObject(obj)) return
  walkFields(root, obj, { ...o, struct: name, path: [], segments: [] })
}

/** The fields of a struct the schema has, each checked; true once `visit` says stop. */
function walkFields(node: SchemaNode, o: Record<string, unknown>, w: Walk): boolean {
  const fields = fieldsOf(node)
  for (const k in o) {
    const child = fields.get(k) ?? mapValues(node)
    if (child === undefined) continue
    w.path.push(k)
    if (w.typed) w.segments.push(`.${k}`)
    const stop = walk(child, o[k], w)
    w.path.pop()
    if (w.typed) w.segments.pop()
    if (stop) return true
  }
  return false
}

function walk(f: ResolvedField, value: unknown, w: Walk): boolean {
  const node = f.node
  if (value === null || value === undefined || node.embeddedResource) return false
  const type = f.type
  if (type === 'any' || node.preserveUnknownFields === true) return false
  switch (type) {
    case 'struct': {
      if (!isObject(value)) return report(f, value, w)
      if (f.ref === undefined) return walkFields(node, value, w)
      const outer = w.struct
      w.struct = f.ref
      const stop = walkFields(node, value, w)
      w.struct = outer
      return stop
    }
    case 'map': {
      if (!isObject(value)) return report(f, value, w)
      const each = mapValues(node)
      if (!each) return false
      // A map's values share one schema and the field's path (and are keyed by name when typed).
      for (const k in value) {
        if (w.typed) w.segments.push(`.${k}`)
        const stop = walk(each, value[k], w)
        if (w.typed) w.segments.pop()
        if (stop) return true
      }
      return false
    }
    case 'list': {
      if (!Array.isArray(value)) return report(f, value, w)
      const each = items(node)
      if (!each) return false
      const keyed = w.typed ? listKind(f) : undefined
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i]
        // An associative list's item is named by its keys, any other by its index.
        if (keyed) {
          w.segments.push(
            keyed.kind === 'map' && isObject(item)
              ? pathString([keyElement(item, keyed.keys, each)])
              : `[${i}]`,
          )
        }
        const stop = walk(each, item, w)
        if (keyed) w.segments.pop()
        if (stop) return true
      }
      return false
    }
    case 'string':
      return typeof value === 'string' ? false : report(f, value, w)
    case 'boolean':
      return typeof value === 'boolean' ? false : report(f, value, w)
    case 'number':
      return typeof value === 'number' ? false : report(f, value, w)
    case 'integer':
    case 'int-or-string':
      if (typeof value === 'number') return Number.isInteger(value) ? false : report(f, value, w)
      return type === 'int-or-string' && typeof value === 'string' ? false : report(f, value, w)
    case 'quantity':
      return typeof value === 'string' || typeof value === 'number' ? false : report(f, value, w)
    default:
      return false
  }
}

/** Hands a bad value to the walk's `visit`, with its place joined from the stacks. */
function report(f: ResolvedField, value: unknown, w: Walk): boolean {
  const at = { struct: structName(w.struct), path: w.path.join('.'), typed: w.segments.join('') }
  return w.visit({ f, value, at, type: f.type })
}

// --- wordings --------------------------------------------------------------------------------

/** Go's JSON decoder: `json: cannot unmarshal <JSON type> into Go struct field <S>.<path> of type <T>`. */
function decodeWords({ f, value, at, type }: Mismatch): string {
  return `json: cannot unmarshal ${decoded(value, type)} into Go struct field ${at.struct}.${at.path} of type ${goType(f)}`
}

/** What Go's decoder calls a value it could not decode: a number it could not make an integer of by its literal. */
function decoded(value: unknown, type: Mismatch['type']): string {
  const integer = type === 'integer' || type === 'int-or-string'
  return integer && typeof value === 'number' ? `number ${value}` : jsonKind(value)
}

/** The unstructured converter (runtime.DefaultUnstructuredConverter.FromUnstructured). */
function convertWords({ f, value, type }: Mismatch): string {
  const from = goKind(value)
  switch (type) {
    case 'struct':
      return `cannot restore struct from: ${from}`
    case 'map':
      return `cannot restore map from ${from}`
    case 'list':
      return `cannot restore slice from ${from}`
    case 'int-or-string':
      // IntOrString decodes itself from JSON: a non-string goes to its int32.
      return `json: cannot unmarshal ${decoded(value, type)} into Go value of type int32`
    case 'quantity':
      return `quantities must match the regular expression '${quantityPattern}'`
    default: {
      const to = goType(f)
      // Go converts an integer to a string (a rune) and a float to an integer type, which the
      // converter then refuses by name; other pairs are not convertible at all.
      if (f.node.format === 'date-time')
        return `json: cannot unmarshal ${jsonKind(value)} into Go value of type string`
      if ((from === 'int64' && to === 'string') || (from === 'float64' && type === 'integer'))
        return `cannot convert ${from} to ${to}`
      return `unrecognized type: ${to}`
    }
  }
}

/** structured-merge-diff's typed conversion (its Go values printed as Go prints them). */
function typedWords(m: Mismatch): string {
  const { value } = m
  switch (m.type) {
    case 'struct':
    case 'map':
      return `expected map, got &{${goValue(value)}}`
    case 'list':
      return `expected list, got &{${goValue(value)}}`
    case 'string':
      return `expected string, got &value.valueUnstructured{Value:${goSyntax(value)}}`
    case 'boolean':
      return `expected boolean, got &{${goValue(value)}}`
    case 'integer':
    case 'number':
      // A float where an integer belongs is numeric to structured-merge-diff; the typed object
      // Kubernetes makes of the result refuses it, in the converter's words.
      if (typeof value === 'number') return convertWords(m)
      return `expected numeric (int or float), got ${goTypeOf(value)}`
    default:
      // IntOrString and Quantity are any scalar to structured-merge-diff; the typed object
      // refuses the scalars they cannot decode.
      return isScalar(value) ? convertWords(m) : `expected any scalar, got &{${goValue(value)}}`
  }
}

const quantityPattern = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'

// --- Go's names and prints -------------------------------------------------------------------

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

/** The reflect.Kind of a value in Kubernetes' unstructured form (integers are int64). */
function goKind(v: unknown): string {
  const kind = jsonKind(v)
  if (kind === 'number') return Number.isInteger(v) ? 'int64' : 'float64'
  return goNames[kind] ?? kind
}

/** Go's %T of a non-numeric unstructured value. */
function goTypeOf(v: unknown): string {
  const kind = jsonKind(v)
  return goTypes[kind] ?? kind
}

const goNames: Readonly<Record<string, string>> = { array: 'slice', object: 'map' }
const goTypes: Readonly<Record<string, string>> = {
  array: '[]interface {}',
  object: 'map[string]interface {}',
}

/** Go's %v of an unstructured value: map[a:1 b:[x y]], keys sorted. */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>'
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `map[${Object.keys(o)
      .sort()
      .map((k) => `${k}:${goValue(o[k])}`)
      .join(' ')}]`
  }
  // A string bare; a number or a boolean as JSON writes it.
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/** Go's %#v of an unstructured value: map[string]interface {}{"a":1}, keys sorted. */
function goSyntax(v: unknown): string {
  if (v === null || v === undefined) return 'interface {}(nil)'
  if (Array.isArray(v)) return `[]interface {}{${v.map(goSyntax).join(', ')}}`
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `map[string]interface {}{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${goSyntax(o[k])}`)
      .join(', ')}}`
  }
  return JSON.stringify(v)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
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
