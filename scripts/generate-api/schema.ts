import { refName, type OpenApiV2, type SchemaV2 } from './openapi-v2.ts'

/**
 * The compact runtime schema: every definition with its structure and the Kubernetes
 * extensions that drive validation, patching and apply, without descriptions. The node shape is
 * SchemaNode in src/api/schema.ts.
 */
export function generateSchema(doc: OpenApiV2): Record<string, unknown> {
  const definitions: Record<string, unknown> = {}
  for (const name of Object.keys(doc.definitions).sort())
    definitions[name] = node(doc.definitions[name] ?? {})
  return { definitions }
}

function node(s: SchemaV2): Record<string, unknown> {
  const n: Record<string, unknown> = {}
  if (s.$ref) {
    n.ref = refName(s.$ref)
  } else {
    const intOrString = s.format === 'int-or-string' || s['x-kubernetes-int-or-string'] === true
    if (intOrString) n.type = 'int-or-string'
    else if (s.type) n.type = s.type
    else if (s.properties || s.additionalProperties) n.type = 'object'
    if (s.format && !intOrString) n.format = s.format
    if (s.enum) n.enum = s.enum
    if (s.items) n.items = node(s.items)
    if (s.properties) {
      const props: Record<string, unknown> = {}
      for (const p of Object.keys(s.properties).sort()) props[p] = node(s.properties[p] ?? {})
      n.properties = props
    }
    if (s.additionalProperties === true) n.additionalProperties = true
    else if (s.additionalProperties) n.additionalProperties = node(s.additionalProperties)
    if (s.required && s.required.length > 0) n.required = [...s.required].sort()
  }
  const ext: [keyof SchemaV2, string][] = [
    ['x-kubernetes-patch-strategy', 'patchStrategy'],
    ['x-kubernetes-patch-merge-key', 'patchMergeKey'],
    ['x-kubernetes-list-type', 'listType'],
    ['x-kubernetes-list-map-keys', 'listMapKeys'],
    ['x-kubernetes-map-type', 'mapType'],
    ['x-kubernetes-embedded-resource', 'embeddedResource'],
    ['x-kubernetes-preserve-unknown-fields', 'preserveUnknownFields'],
    ['x-kubernetes-unions', 'unions'],
  ]
  for (const [from, to] of ext) if (s[from] !== undefined) n[to] = s[from]
  const gvk = s['x-kubernetes-group-version-kind']
  if (gvk) n.gvk = gvk.map((g) => ({ group: g.group, version: g.version, kind: g.kind }))
  return n
}
