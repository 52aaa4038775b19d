import {
  documentKey,
  methods,
  refName,
  resolveParameter,
  type OpenApiV2,
  type OperationV2,
  type ParameterV2,
  type PathItemV2,
  type SchemaV2,
} from './input.ts'

/**
 * The OpenAPI v3 documents kube-apiserver serves at /openapi/v3/<key>, converted from the served
 * v2 document (openapi-v2.ts): one per group-version and one per non-resource key, each with its
 * paths and, under components.schemas, every definition those paths reach. Descriptions stay
 * (`kubectl explain` prints them).
 *
 * The conversion is the one OpenAPI 3.0 asks for and kube-apiserver performs:
 * - parameters carry their type in `schema`; shared `#/parameters/...` are written in place;
 * - the body parameter becomes `requestBody`, one entry per content type the operation consumes
 *   (every PATCH consumes the four patch types, see openapi-v2.ts);
 * - a response schema becomes `content`, one entry per content type the operation produces;
 * - `#/definitions/X` becomes `#/components/schemas/X`, and a reference with sibling keywords
 *   (a description, a patch strategy) is wrapped as `allOf: [{$ref}]` next to them, since 3.0
 *   ignores siblings of $ref;
 * - extensions (x-kubernetes-action, x-kubernetes-group-version-kind, ...) are kept.
 */
export function generateOpenApiV3(doc: OpenApiV2): Map<string, Record<string, unknown>> {
  const byKey = new Map<string, Record<string, unknown>>()
  for (const path of Object.keys(doc.paths).sort()) {
    const key = documentKey(path)
    const paths = byKey.get(key) ?? {}
    paths[path] = convertPathItem(doc, doc.paths[path] ?? {})
    byKey.set(key, paths)
  }
  const definitions = new Map<string, Record<string, unknown>>()
  const definition = (name: string): Record<string, unknown> => {
    let d = definitions.get(name)
    if (!d) {
      const source = doc.definitions[name]
      if (!source) throw new Error(`generate-api: reference to a missing definition ${name}`)
      d = convertSchema(source)
      definitions.set(name, d)
    }
    return d
  }

  const out = new Map<string, Record<string, unknown>>()
  for (const key of [...byKey.keys()].sort()) {
    const paths = byKey.get(key) ?? {}
    const schemas: Record<string, unknown> = {}
    const pending = [...schemaRefs(paths)]
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      if (schemas[name] !== undefined) continue
      const d = definition(name)
      schemas[name] = d
      pending.push(...schemaRefs(d))
    }
    const components: Record<string, unknown> = {}
    if (Object.keys(schemas).length > 0) components.schemas = schemas
    if (doc.securityDefinitions !== undefined) components.securitySchemes = doc.securityDefinitions
    out.set(key, { openapi: '3.0.0', info: doc.info, paths, components })
  }
  return out
}

function convertPathItem(doc: OpenApiV2, item: PathItemV2): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const shared = (item.parameters ?? []).map((p) => resolveParameter(doc, p))
  if (shared.length > 0) out.parameters = shared.map(convertParameter)
  for (const m of methods) {
    const op = item[m]
    if (op) out[m] = convertOperation(doc, m, op)
  }
  return out
}

function convertOperation(doc: OpenApiV2, method: string, op: OperationV2): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(op)) if (k.startsWith('x-')) out[k] = v
  if (op.tags !== undefined) out.tags = op.tags
  if (op.description !== undefined) out.description = op.description
  if (op.operationId !== undefined) out.operationId = op.operationId

  const params = (op.parameters ?? []).map((p) => resolveParameter(doc, p))
  const others = params.filter((p) => p.in !== 'body')
  if (others.length > 0) out.parameters = others.map(convertParameter)
  const body = params.find((p) => p.in === 'body')
  if (body || method === 'patch') {
    const schema = body?.schema ? convertSchema(body.schema) : {}
    const content: Record<string, unknown> = {}
    for (const type of op.consumes ?? ['*/*']) content[type] = { schema }
    out.requestBody = body?.required ? { content, required: true } : { content }
  }

  const responses: Record<string, unknown> = {}
  for (const [code, r] of Object.entries(op.responses ?? {})) {
    const response: Record<string, unknown> = { description: r.description ?? '' }
    if (r.schema) {
      const schema = convertSchema(r.schema)
      const content: Record<string, unknown> = {}
      for (const type of op.produces ?? ['application/json']) content[type] = { schema }
      response.content = content
    }
    responses[code] = response
  }
  out.responses = responses
  return out
}

/** The keywords of a v2 parameter that describe its value; in v3 they move into `schema`. */
const valueKeywords = new Set([
  'type',
  'format',
  'items',
  'enum',
  'default',
  'uniqueItems',
  'collectionFormat',
])

function convertParameter(p: ParameterV2): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const schema: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(p)) {
    if (k === 'collectionFormat') continue
    if (valueKeywords.has(k)) schema[k] = v
    else out[k] = v
  }
  out.schema = schema
  return out
}

/** A v2 schema as v3 writes it (references into components, siblings of $ref under allOf). */
export function convertSchema(s: SchemaV2): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(s)) {
    if (k === '$ref') continue
    if ((k === 'items' || k === 'additionalProperties') && isSchema(v)) out[k] = convertSchema(v)
    else if (k === 'properties' && isSchema(v)) {
      const props: Record<string, unknown> = {}
      for (const [name, p] of Object.entries(v)) props[name] = isSchema(p) ? convertSchema(p) : p
      out.properties = props
    } else out[k] = v
  }
  if (s.$ref === undefined) return out
  const ref = { $ref: `#/components/schemas/${refName(s.$ref)}` }
  return Object.keys(out).length === 0 ? ref : { ...out, allOf: [ref] }
}

function isSchema(v: unknown): v is SchemaV2 {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The component schema names a converted value refers to. */
function schemaRefs(v: unknown): Set<string> {
  const out = new Set<string>()
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const y of x) visit(y)
      return
    }
    if (x === null || typeof x !== 'object') return
    for (const [k, y] of Object.entries(x)) {
      if (k === '$ref' && typeof y === 'string' && y.startsWith('#/components/schemas/')) {
        out.add(y.slice('#/components/schemas/'.length))
      } else visit(y)
    }
  }
  visit(v)
  return out
}
