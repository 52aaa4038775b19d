import { schemaJson } from './generated/schema.ts'
import { deepFreeze } from './object.ts'

/**
 * The runtime schema of every built-in definition, generated from the Kubernetes OpenAPI data
 * (scripts/generate-api/schema.ts) without descriptions. It is what code that walks an object
 * alongside its schema reads: unknown-field checks (fieldValidation Strict/Warn), defaulting,
 * strategic merge patch, server-side apply, protobuf conversion.
 *
 * How to walk: start at `schemaForKind(gvk)` (the kind's definition) and step down with
 * `field(node, name)` for object fields and map values, `items(node)` for list items. Each step
 * returns a {@link ResolvedField}: the child's schema with its reference already followed, plus
 * the patch and list/map metadata of the field (which may sit on the field or on the definition
 * it refers to, and is merged here). Then step on from `f.node`:
 *
 *   const pod = schemaForKind({ group: '', version: 'v1', kind: 'Pod' })
 *   const containers = field(field(pod, 'spec').node, 'containers')  // patchMergeKey 'name'
 *   const container = items(containers.node)                          // io.k8s.api.core.v1.Container
 *
 * A walker that looks up every member of an object takes `fieldsOf(node)` once per object
 * instead, and each field's `type` saves it calling `valueType`.
 *
 * Guarantees:
 * - Steps are cheap: the schema is parsed once, on first use (not at import), and each field,
 *   items or map-values step returns the same cached ResolvedField object every time.
 * - Every reference in the data names a definition (the generator checks it); `resolve` of an
 *   unknown name gives an empty node, which means "anything".
 * - Nodes, like everything returned here, are shared and frozen: copy before changing.
 */
export interface SchemaNode {
  /** The definition this node stands for (io.k8s.api.core.v1.PodSpec); see `resolve`. */
  readonly ref?: string
  /**
   * The JSON value type. `int-or-string` (IntOrString) takes a number or a string; `quantity`
   * (Quantity) a string, or a number, which Kubernetes also accepts. No type: any value.
   */
  readonly type?:
    'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'int-or-string' | 'quantity'
  /** The data's format: int32, int64, double, byte (base64 text), date-time. */
  readonly format?: string
  readonly enum?: readonly unknown[]
  readonly default?: unknown
  /** The items of a list. */
  readonly items?: SchemaNode
  /** The fields of an object, by name. */
  readonly properties?: Readonly<Record<string, SchemaNode>>
  /** The values of a map (`true`: any values). */
  readonly additionalProperties?: SchemaNode | true
  /** Required fields, sorted. */
  readonly required?: readonly string[]
  /** x-kubernetes-patch-strategy: 'merge', 'replace', 'retainKeys' or 'merge,retainKeys'. */
  readonly patchStrategy?: string
  /** x-kubernetes-patch-merge-key: the item field a merged list is keyed by. */
  readonly patchMergeKey?: string
  /** x-kubernetes-list-type. */
  readonly listType?: 'atomic' | 'set' | 'map'
  /** x-kubernetes-list-map-keys: the item fields a `map` list is keyed by. */
  readonly listMapKeys?: readonly string[]
  /** x-kubernetes-map-type. */
  readonly mapType?: 'atomic' | 'granular'
  /** x-kubernetes-embedded-resource: the value is a whole object with apiVersion, kind, metadata. */
  readonly embeddedResource?: boolean
  /**
   * x-kubernetes-preserve-unknown-fields: fields not in `properties` are kept, not errors. Also
   * set on RawExtension, FieldsV1 and Patch, whose content is free-form.
   */
  readonly preserveUnknownFields?: boolean
  /** x-kubernetes-unions: `{ discriminator?, 'fields-to-discriminateBy': { field: value } }`. */
  readonly unions?: readonly Readonly<Record<string, unknown>>[]
  /** x-kubernetes-group-version-kind: the kinds this definition is (several for DeleteOptions). */
  readonly gvk?: readonly GroupVersionKind[]
}

export interface GroupVersionKind {
  readonly group: string
  readonly version: string
  readonly kind: string
}

/** A field, list item or map value, its reference followed and its metadata merged. */
export interface ResolvedField {
  /** The value's schema, its reference followed. Step on from here. */
  readonly node: SchemaNode
  /** The definition the value refers to, if it does (e.g. the Quantity or Time definitions). */
  readonly ref: string | undefined
  readonly patchStrategy: string | undefined
  readonly patchMergeKey: string | undefined
  readonly listType: SchemaNode['listType']
  readonly listMapKeys: readonly string[] | undefined
  readonly mapType: SchemaNode['mapType']
  /** The value's type, as `valueType(node)` gives it. */
  readonly type: ValueType
}

/**
 * What kind of value a node describes, for walkers:
 * - `struct`: an object whose fields are in `properties` (none for an empty struct); other
 *   fields are unknown unless `isOpen` (RawExtension, preserve-unknown-fields);
 * - `map`: an object whose values all have one schema (`mapValues`);
 * - `list`: an array (`items`);
 * - a scalar type, `int-or-string` or `quantity`;
 * - `any`: no structure at all (apiextensions' JSON).
 */
export type ValueType =
  | 'struct'
  | 'map'
  | 'list'
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'int-or-string'
  | 'quantity'
  | 'any'

export const quantityDefinition = 'io.k8s.apimachinery.pkg.api.resource.Quantity'
export const timeDefinition = 'io.k8s.apimachinery.pkg.apis.meta.v1.Time'
export const microTimeDefinition = 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime'
export const intOrStringDefinition = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString'

let parsed: Readonly<Record<string, SchemaNode>> | undefined
let byKind: Map<string, string> | undefined
const resolvedFields = new WeakMap<SchemaNode, ResolvedField>()
const structFields = new WeakMap<SchemaNode, ReadonlyMap<string, ResolvedField>>()
const anything: SchemaNode = Object.freeze({})

/** Every definition by its full name (io.k8s.api.core.v1.Pod). */
export function definitions(): Readonly<Record<string, SchemaNode>> {
  parsed ??= deepFreeze((JSON.parse(schemaJson) as { definitions: Record<string, SchemaNode> }).definitions)
  return parsed
}

export function definition(name: string): SchemaNode | undefined {
  const all = definitions()
  return Object.hasOwn(all, name) ? all[name] : undefined
}

/** The definition of a kind (with its apiVersion and kind fields), by group, version and kind. */
export function schemaForKind(gvk: GroupVersionKind): SchemaNode | undefined {
  const name = definitionNameForKind(gvk)
  return name === undefined ? undefined : definition(name)
}

/** The name of a kind's definition: {apps, v1, Deployment} -> io.k8s.api.apps.v1.Deployment. */
export function definitionNameForKind(gvk: GroupVersionKind): string | undefined {
  if (!byKind) {
    byKind = new Map()
    for (const [name, node] of Object.entries(definitions())) {
      for (const g of node.gvk ?? []) byKind.set(kindKey(g), name)
    }
  }
  return byKind.get(kindKey(gvk))
}

function kindKey(g: GroupVersionKind): string {
  return `${g.group}/${g.version}/${g.kind}`
}

/** A node with its reference followed (an unknown reference gives an empty, anything-goes node). */
export function resolve(node: SchemaNode): SchemaNode {
  let n = node
  for (let depth = 0; n.ref !== undefined && depth < 16; depth++) n = definition(n.ref) ?? anything
  return n
}

function resolved(raw: SchemaNode): ResolvedField {
  let f = resolvedFields.get(raw)
  if (!f) {
    const node = resolve(raw)
    f = Object.freeze({
      node,
      ref: raw.ref,
      patchStrategy: raw.patchStrategy ?? node.patchStrategy,
      patchMergeKey: raw.patchMergeKey ?? node.patchMergeKey,
      listType: raw.listType ?? node.listType,
      listMapKeys: raw.listMapKeys ?? node.listMapKeys,
      mapType: raw.mapType ?? node.mapType,
      type: valueType(node),
    })
    resolvedFields.set(raw, f)
  }
  return f
}

/**
 * The named field of an object node; for a map node, its value schema whatever the name. Undefined
 * when the object has no such field (an unknown field, unless `isOpen`).
 */
export function field(node: SchemaNode, name: string): ResolvedField | undefined {
  const obj = resolve(node)
  const p =
    obj.properties !== undefined && Object.hasOwn(obj.properties, name) ? obj.properties[name] : undefined
  if (p) return resolved(p)
  return mapValues(obj)
}

/**
 * The fields an object node declares, by name, each resolved: for walkers that look up every
 * member of an object, one map per node instead of a step per member. Made once per node.
 */
export function fieldsOf(node: SchemaNode): ReadonlyMap<string, ResolvedField> {
  const obj = resolve(node)
  let fields = structFields.get(obj)
  if (!fields) {
    const m = new Map<string, ResolvedField>()
    for (const [name, p] of Object.entries(obj.properties ?? {})) m.set(name, resolved(p))
    structFields.set(obj, (fields = m))
  }
  return fields
}

/** The items of a list node. */
export function items(node: SchemaNode): ResolvedField | undefined {
  const list = resolve(node)
  return list.items ? resolved(list.items) : undefined
}

/** The values of a map node (additionalProperties). */
export function mapValues(node: SchemaNode): ResolvedField | undefined {
  const obj = resolve(node)
  if (obj.additionalProperties === undefined) return undefined
  return resolved(obj.additionalProperties === true ? anything : obj.additionalProperties)
}

/** The field names of an object node, sorted. */
export function fieldNames(node: SchemaNode): readonly string[] {
  return Object.keys(resolve(node).properties ?? {})
}

export function isRequired(node: SchemaNode, name: string): boolean {
  return resolve(node).required?.includes(name) ?? false
}

/** The kinds a definition is (empty for definitions that are not kinds). */
export function kindsOf(node: SchemaNode): readonly GroupVersionKind[] {
  return resolve(node).gvk ?? []
}

/** See {@link ValueType}. */
export function valueType(node: SchemaNode): ValueType {
  const n = resolve(node)
  switch (n.type) {
    case 'array':
      return 'list'
    case 'object':
      return n.additionalProperties !== undefined && n.properties === undefined ? 'map' : 'struct'
    case undefined:
      if (n.properties !== undefined) return 'struct'
      if (n.additionalProperties !== undefined) return 'map'
      return n.items !== undefined ? 'list' : 'any'
    default:
      return n.type
  }
}

/** True when anything goes below this node (preserve-unknown-fields, or no structure at all). */
export function isOpen(node: SchemaNode): boolean {
  const n = resolve(node)
  return n.preserveUnknownFields === true || valueType(n) === 'any'
}

/**
 * The format of a value: `int-or-string`, `quantity`, `date-time` (Time and MicroTime), `byte`,
 * `int32`, `int64`, `double`, or undefined for none.
 */
export function formatOf(f: ResolvedField): string | undefined {
  if (f.node.type === 'int-or-string' || f.node.type === 'quantity') return f.node.type
  return f.node.format
}

export function isQuantity(f: ResolvedField): boolean {
  return f.ref === quantityDefinition || f.node.type === 'quantity'
}

/** Time, MicroTime or any date-time string (RFC 3339 on the wire). */
export function isTime(f: ResolvedField): boolean {
  return f.ref === timeDefinition || f.ref === microTimeDefinition || f.node.format === 'date-time'
}

export function isIntOrString(f: ResolvedField): boolean {
  return f.ref === intOrStringDefinition || f.node.type === 'int-or-string'
}

/** Base64 text on the wire ([]byte in Go: Secret data, CSR request, ...). */
export function isBytes(f: ResolvedField): boolean {
  return f.node.format === 'byte'
}

/** The field's patch strategies: `merge,retainKeys` -> ['merge', 'retainKeys']; none -> []. */
export function patchStrategies(f: ResolvedField): readonly string[] {
  return f.patchStrategy === undefined ? [] : f.patchStrategy.split(',').filter((s) => s !== '')
}

export function hasPatchStrategy(f: ResolvedField, strategy: 'merge' | 'replace' | 'retainKeys'): boolean {
  return patchStrategies(f).includes(strategy)
}

/** A list's x-kubernetes-list-type; a list that declares none is atomic (server-side apply's rule). */
export function listTypeOf(f: ResolvedField): 'atomic' | 'set' | 'map' {
  return f.listType ?? 'atomic'
}

/** A map's or struct's x-kubernetes-map-type; one that declares none is granular. */
export function mapTypeOf(f: ResolvedField): 'atomic' | 'granular' {
  return f.mapType ?? 'granular'
}
