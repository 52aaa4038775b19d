import { freeFormDefinitions } from '../api-facts.ts'
import { refName, type OpenApiV2, type SchemaV2 } from './input.ts'

/**
 * The compact runtime schema (read by src/api/schema.ts, whose SchemaNode documents the shape):
 * every definition of the data, keyed by its full name, with what validation, defaulting,
 * patching, apply and protobuf conversion need and nothing else: no descriptions, references by
 * definition name, the x-kubernetes-* extensions under short names.
 *
 * Two value types are refined: IntOrString (a string with format int-or-string in the data) is
 * `int-or-string`, and Quantity (a string in the data, though a JSON number is accepted too) is
 * `quantity`. The free-form definitions of api-facts.ts keep unknown fields.
 */
export function generateSchema(doc: OpenApiV2): { definitions: Record<string, unknown> } {
  const freeForm = new Set(freeFormDefinitions)
  const definitions: Record<string, unknown> = {}
  for (const name of Object.keys(doc.definitions).sort()) {
    const n = node(doc.definitions[name] ?? {})
    if (name === quantityDefinition) n.type = 'quantity'
    if (freeForm.has(name)) n.preserveUnknownFields = true
    definitions[name] = n
  }
  for (const name of freeForm) {
    if (!(name in definitions)) throw new Error(`generate-api: api-facts names a missing definition ${name}`)
  }
  checkReferences(definitions)
  return { definitions }
}

const quantityDefinition = 'io.k8s.apimachinery.pkg.api.resource.Quantity'

const extensions: readonly (readonly [keyof SchemaV2, string])[] = [
  ['x-kubernetes-patch-strategy', 'patchStrategy'],
  ['x-kubernetes-patch-merge-key', 'patchMergeKey'],
  ['x-kubernetes-list-type', 'listType'],
  ['x-kubernetes-list-map-keys', 'listMapKeys'],
  ['x-kubernetes-map-type', 'mapType'],
  ['x-kubernetes-embedded-resource', 'embeddedResource'],
  ['x-kubernetes-preserve-unknown-fields', 'preserveUnknownFields'],
  ['x-kubernetes-unions', 'unions'],
]

function node(s: SchemaV2): Record<string, unknown> {
  const n: Record<string, unknown> = {}
  if (s.$ref !== undefined) {
    n.ref = refName(s.$ref)
  } else {
    const intOrString = s.format === 'int-or-string' || s['x-kubernetes-int-or-string'] === true
    if (intOrString) n.type = 'int-or-string'
    else if (s.type !== undefined) n.type = s.type
    else if (s.properties !== undefined || s.additionalProperties !== undefined) n.type = 'object'
    if (s.format !== undefined && !intOrString) n.format = s.format
    if (s.enum !== undefined) n.enum = s.enum
    if (s.default !== undefined) n.default = s.default
    if (s.items !== undefined) n.items = node(s.items)
    if (s.properties !== undefined) {
      const props: Record<string, unknown> = {}
      for (const p of Object.keys(s.properties).sort()) props[p] = node(s.properties[p] ?? {})
      n.properties = props
    }
    if (s.additionalProperties === true) n.additionalProperties = true
    else if (s.additionalProperties) n.additionalProperties = node(s.additionalProperties)
    if (s.required !== undefined && s.required.length > 0) n.required = [...s.required].sort()
  }
  for (const [from, to] of extensions) if (s[from] !== undefined) n[to] = s[from]
  const gvk = s['x-kubernetes-group-version-kind']
  if (gvk) n.gvk = gvk.map((g) => ({ group: g.group, version: g.version, kind: g.kind }))
  return n
}

/** Every reference names a definition, and no group-version-kind belongs to two definitions. */
function checkReferences(definitions: Record<string, unknown>): void {
  const kinds = new Map<string, string>()
  for (const [name, def] of Object.entries(definitions)) {
    for (const g of (def as { gvk?: { group: string; version: string; kind: string }[] }).gvk ?? []) {
      const key = `${g.group}/${g.version}/${g.kind}`
      const other = kinds.get(key)
      if (other !== undefined) throw new Error(`generate-api: ${key} is the kind of ${other} and ${name}`)
      kinds.set(key, name)
    }
  }
  const visit = (v: unknown, where: string): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x, where)
      return
    }
    if (v === null || typeof v !== 'object') return
    for (const [k, x] of Object.entries(v)) {
      if (k === 'ref' && typeof x === 'string' && !(x in definitions)) {
        throw new Error(`generate-api: ${where} refers to a missing definition ${x}`)
      }
      visit(x, where)
    }
  }
  for (const [name, def] of Object.entries(definitions)) visit(def, name)
}
