import { schemaJson } from './generated/schema.ts'

/**
 * The runtime schema of the built-in types, generated from the Kubernetes OpenAPI data without
 * descriptions: enough to walk an object alongside its schema (unknown-field checks, defaulting
 * of nested values, strategic merge patch, server-side apply, protobuf conversion).
 *
 * A node either refers to a definition by name (`ref`) or describes a value. Patch metadata
 * (patchStrategy, patchMergeKey) and list/map semantics may sit on a referring node as well as
 * on the definition, so walkers ask `field()` / `items()`, which merge both and resolve the
 * reference, rather than reading `properties` directly.
 *
 * The schema is parsed on first use (it is a few hundred kilobytes), not at import.
 */
export interface SchemaNode {
  readonly ref?: string
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'int-or-string'
  readonly format?: string
  readonly enum?: readonly unknown[]
  readonly items?: SchemaNode
  readonly properties?: Readonly<Record<string, SchemaNode>>
  /** Map values (`true`: anything). */
  readonly additionalProperties?: SchemaNode | true
  readonly required?: readonly string[]
  /** x-kubernetes-patch-strategy: 'merge', 'retainKeys', 'merge,retainKeys', 'replace'. */
  readonly patchStrategy?: string
  readonly patchMergeKey?: string
  readonly listType?: 'atomic' | 'set' | 'map'
  readonly listMapKeys?: readonly string[]
  readonly mapType?: 'atomic' | 'granular'
  readonly embeddedResource?: boolean
  readonly preserveUnknownFields?: boolean
  readonly gvk?: readonly GroupVersionKind[]
}

export interface GroupVersionKind {
  readonly group: string
  readonly version: string
  readonly kind: string
}

/** A field or list item with the metadata of the reference that led to it merged in. */
export interface ResolvedField {
  /** The field's schema, its reference followed. */
  readonly node: SchemaNode
  /** The definition the field refers to, if it does (e.g. the Quantity or Time definitions). */
  readonly ref: string | undefined
  readonly patchStrategy: string | undefined
  readonly patchMergeKey: string | undefined
  readonly listType: SchemaNode['listType']
  readonly listMapKeys: readonly string[] | undefined
  readonly mapType: SchemaNode['mapType']
}

export const quantityDefinition = 'io.k8s.apimachinery.pkg.api.resource.Quantity'
export const timeDefinition = 'io.k8s.apimachinery.pkg.apis.meta.v1.Time'
export const microTimeDefinition = 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime'
export const intOrStringDefinition = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString'

let parsed: Readonly<Record<string, SchemaNode>> | undefined
let byKind: Map<string, string> | undefined

/** Every definition by its full name (io.k8s.api.core.v1.Pod). */
export function definitions(): Readonly<Record<string, SchemaNode>> {
  parsed ??= (JSON.parse(schemaJson) as { definitions: Record<string, SchemaNode> }).definitions
  return parsed
}

export function definition(name: string): SchemaNode | undefined {
  return definitions()[name]
}

/** The definition of a kind (with its apiVersion and kind fields), by group, version and kind. */
export function schemaForKind(gvk: GroupVersionKind): SchemaNode | undefined {
  const name = definitionNameForKind(gvk)
  return name === undefined ? undefined : definition(name)
}

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

/** A node with its reference followed (unknown references resolve to an empty, anything-goes node). */
export function resolve(node: SchemaNode): SchemaNode {
  let n = node
  for (let depth = 0; n.ref !== undefined && depth < 16; depth++) n = definition(n.ref) ?? {}
  return n
}

function merged(raw: SchemaNode): ResolvedField {
  const node = resolve(raw)
  return {
    node,
    ref: raw.ref,
    patchStrategy: raw.patchStrategy ?? node.patchStrategy,
    patchMergeKey: raw.patchMergeKey ?? node.patchMergeKey,
    listType: raw.listType ?? node.listType,
    listMapKeys: raw.listMapKeys ?? node.listMapKeys,
    mapType: raw.mapType ?? node.mapType,
  }
}

/** The named field of an object node, or undefined when the object has no such field. */
export function field(node: SchemaNode, name: string): ResolvedField | undefined {
  const obj = resolve(node)
  const p = obj.properties?.[name]
  if (p) return merged(p)
  if (obj.additionalProperties !== undefined && obj.additionalProperties !== true) {
    return merged(obj.additionalProperties)
  }
  if (obj.additionalProperties === true) return merged({})
  return undefined
}

/** The items of an array node. */
export function items(node: SchemaNode): ResolvedField | undefined {
  const arr = resolve(node)
  return arr.items ? merged(arr.items) : undefined
}

/** The values of a map node (additionalProperties). */
export function mapValues(node: SchemaNode): ResolvedField | undefined {
  const obj = resolve(node)
  if (obj.additionalProperties === undefined) return undefined
  return merged(obj.additionalProperties === true ? {} : obj.additionalProperties)
}

/** True when anything goes below this node (preserve-unknown-fields, or no structure at all). */
export function isOpen(node: SchemaNode): boolean {
  const n = resolve(node)
  if (n.preserveUnknownFields) return true
  // No declared structure (FieldsV1, RawExtension, JSON): anything goes below it.
  return (
    (n.type === undefined || n.type === 'object') &&
    n.properties === undefined &&
    n.additionalProperties === undefined &&
    n.items === undefined
  )
}

export function isQuantity(f: ResolvedField): boolean {
  return f.ref === quantityDefinition
}

export function isTime(f: ResolvedField): boolean {
  return f.ref === timeDefinition || f.ref === microTimeDefinition || f.node.format === 'date-time'
}

export function isIntOrString(f: ResolvedField): boolean {
  return f.ref === intOrStringDefinition || f.node.type === 'int-or-string'
}
