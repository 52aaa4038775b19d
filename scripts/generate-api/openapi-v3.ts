import {
  methods,
  pathGroupVersion,
  refName,
  servedGroupVersions,
  type OpenApiV2,
  type OperationV2,
  type ParameterV2,
  type SchemaV2,
} from './openapi-v2.ts'

/**
 * The OpenAPI v3 documents kube-apiserver serves at /openapi/v3/<key>, derived from the v2
 * data: one per group-version (and one each for the non-resource paths upstream splits out:
 * api, apis, apis/<group>, version, logs, .well-known/openid-configuration, openid/v1/jwks),
 * each with the schemas its paths reach. Descriptions stay: `kubectl explain` prints them.
 *
 * kubectl checks, for client-side validation and apply, that the PATCH operation of a kind
 * declares the `fieldValidation` query parameter and lists the patch content types; every PATCH
 * operation here does.
 */
const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
]

export function generateOpenApiV3(
  doc: OpenApiV2,
  kubernetesVersion: string,
): Map<string, Record<string, unknown>> {
  const served = new Set(servedGroupVersions)
  const groupsServed = new Set(servedGroupVersions.map((gv) => gv.split('/').slice(0, 2).join('/')))
  const keep = (key: string) =>
    served.has(key) ||
    groupsServed.has(key) ||
    ['api', 'apis', 'version', 'logs', '.well-known/openid-configuration', 'openid/v1/jwks'].includes(key)
  const byKey = new Map<string, [string, Record<string, unknown>][]>()
  for (const path of Object.keys(doc.paths).sort()) {
    const key = pathGroupVersion(path)
    if (!keep(key)) continue
    const list = byKey.get(key) ?? []
    list.push([path, convertPathItem(doc, path)])
    byKey.set(key, list)
  }
  const out = new Map<string, Record<string, unknown>>()
  for (const [key, paths] of [...byKey].sort(([a], [b]) => a.localeCompare(b))) {
    const schemas: Record<string, unknown> = {}
    const pending = new Set<string>()
    collectRefs(
      paths.map(([, p]) => p),
      pending,
    )
    while (pending.size > 0) {
      const [name] = pending
      if (name === undefined) break
      pending.delete(name)
      if (schemas[name] !== undefined) continue
      const def = doc.definitions[name]
      if (!def) throw new Error(`generate-api: ${key} refers to a missing definition ${name}`)
      const converted = convertSchema(def)
      schemas[name] = converted
      const more = new Set<string>()
      collectRefs(converted, more)
      for (const m of more) if (schemas[m] === undefined) pending.add(m)
    }
    const sortedSchemas: Record<string, unknown> = {}
    for (const n of Object.keys(schemas).sort()) sortedSchemas[n] = schemas[n]
    out.set(key, {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: kubernetesVersion },
      paths: Object.fromEntries(paths),
      components: {
        schemas: sortedSchemas,
        securitySchemes: {
          BearerToken: {
            type: 'apiKey',
            description: 'Bearer Token authentication',
            name: 'authorization',
            in: 'header',
          },
        },
      },
    })
  }
  return out
}

function convertPathItem(doc: OpenApiV2, path: string): Record<string, unknown> {
  const item = doc.paths[path] ?? {}
  const out: Record<string, unknown> = {}
  if (item.parameters && item.parameters.length > 0) {
    out.parameters = item.parameters
      .map((p) => resolveParameter(doc, p))
      .filter((p) => p.in !== 'body')
      .map(convertParameter)
  }
  for (const m of methods) {
    const op = item[m]
    if (op) out[m] = convertOperation(doc, m, op)
  }
  return out
}

function convertOperation(doc: OpenApiV2, method: string, op: OperationV2): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (op.tags) out.tags = op.tags
  if (op.description !== undefined) out.description = op.description
  if (op.operationId !== undefined) out.operationId = op.operationId
  const params = (op.parameters ?? []).map((p) => resolveParameter(doc, p))
  const query = params.filter((p) => p.in !== 'body').map(convertParameter)
  if (method === 'patch' && !params.some((p) => p.name === 'fieldValidation')) {
    query.push({
      name: 'fieldValidation',
      in: 'query',
      description: 'How the server handles unknown and duplicate fields: Ignore, Warn or Strict.',
      schema: { type: 'string', uniqueItems: true },
    })
  }
  if (query.length > 0) out.parameters = query
  const body = params.find((p) => p.in === 'body')
  if (body) {
    let consumes = op.consumes ?? ['*/*']
    if (method === 'patch') consumes = [...new Set([...patchTypes, ...consumes])]
    const schema = body.schema ? convertSchema(body.schema) : {}
    out.requestBody = {
      content: Object.fromEntries(consumes.map((c) => [c, { schema }])),
      ...(body.required ? { required: true } : {}),
    }
  }
  const responses: Record<string, unknown> = {}
  for (const [code, r] of Object.entries(op.responses ?? {})) {
    const resp: Record<string, unknown> = { description: r.description ?? '' }
    if (r.schema) {
      const schema = convertSchema(r.schema)
      resp.content = Object.fromEntries((op.produces ?? ['application/json']).map((p) => [p, { schema }]))
    }
    responses[code] = resp
  }
  out.responses = responses
  if (op['x-kubernetes-action'] !== undefined) out['x-kubernetes-action'] = op['x-kubernetes-action']
  if (op['x-kubernetes-group-version-kind'] !== undefined) {
    out['x-kubernetes-group-version-kind'] = op['x-kubernetes-group-version-kind']
  }
  return out
}

function resolveParameter(doc: OpenApiV2, p: ParameterV2): ParameterV2 {
  if (!p.$ref) return p
  const name = p.$ref.replace(/^#\/parameters\//, '')
  const resolved = doc.parameters[name]
  if (!resolved) throw new Error(`generate-api: missing parameter ${name}`)
  return resolved
}

function convertParameter(p: ParameterV2): Record<string, unknown> {
  const out: Record<string, unknown> = { name: p.name, in: p.in }
  if (p.description !== undefined) out.description = p.description
  if (p.required) out.required = true
  const schema: Record<string, unknown> = {}
  if (p.type !== undefined) schema.type = p.type
  if (p.uniqueItems !== undefined) schema.uniqueItems = p.uniqueItems
  out.schema = schema
  return out
}

/** v2 schema to v3: refs into components; a ref with siblings becomes allOf, as upstream writes it. */
export function convertSchema(s: SchemaV2): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(s)) {
    if (k === '$ref') continue
    if (k === 'items' && v && typeof v === 'object') out.items = convertSchema(v as SchemaV2)
    else if (k === 'additionalProperties' && v && typeof v === 'object')
      out.additionalProperties = convertSchema(v as SchemaV2)
    else if (k === 'properties' && v && typeof v === 'object') {
      const props: Record<string, unknown> = {}
      for (const [pk, pv] of Object.entries(v as Record<string, SchemaV2>)) props[pk] = convertSchema(pv)
      out.properties = props
    } else out[k] = v
  }
  if (s.$ref) {
    const ref = { $ref: `#/components/schemas/${refName(s.$ref)}` }
    if (Object.keys(out).length === 0) return ref
    return { allOf: [ref], ...out }
  }
  return out
}

function collectRefs(v: unknown, into: Set<string>): void {
  if (Array.isArray(v)) {
    for (const x of v) collectRefs(x, into)
    return
  }
  if (v === null || typeof v !== 'object') return
  for (const [k, x] of Object.entries(v)) {
    if (k === '$ref' && typeof x === 'string' && x.startsWith('#/components/schemas/')) {
      into.add(x.slice('#/components/schemas/'.length))
    } else collectRefs(x, into)
  }
}
