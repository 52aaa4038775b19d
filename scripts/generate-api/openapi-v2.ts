import {
  documentKey,
  isServedKey,
  methods,
  refName,
  resolveParameter,
  type OpenApiV2,
  type OperationV2,
  type ParameterV2,
} from './input.ts'

/**
 * The /openapi/v2 document: the data restricted to what the apiserver serves. Paths of
 * group-versions we do not serve (alpha, beta) go, and so do the definitions and shared
 * parameters that only they used, as kube-apiserver publishes only the enabled APIs. Everything
 * else, descriptions included, is kept as given.
 *
 * One thing is added: kubectl decides whether the server validates fields by looking for the
 * `fieldValidation` query parameter on the PATCH operation of a kind, and whether it may send a
 * strategic merge patch by the content types that operation accepts (shared/docs/kubectl-wire.md
 * §4). The data already says so for every PATCH but the proxy connectors; `withPatchContract`
 * makes it true of every PATCH operation, here and (through this document) in the v3 ones.
 */
export const patchContentTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
]

export function servedOpenApiV2(source: OpenApiV2): OpenApiV2 {
  const doc = structuredClone(source)
  const fieldValidation = fieldValidationParameter(doc)
  const paths: OpenApiV2['paths'] = {}
  for (const path of Object.keys(doc.paths).sort()) {
    const item = doc.paths[path]
    if (!item || !isServedKey(documentKey(path))) continue
    if (item.patch) item.patch = withPatchContract(doc, item.patch, fieldValidation)
    paths[path] = item
  }
  const used = reachable(doc, paths)
  return {
    ...doc,
    paths,
    definitions: pick(doc.definitions, used.definitions),
    parameters: pick(doc.parameters, used.parameters),
  }
}

/** A PATCH operation that declares fieldValidation and accepts every patch content type. */
export function withPatchContract(
  doc: OpenApiV2,
  op: OperationV2,
  fieldValidation: ParameterV2,
): OperationV2 {
  const params = op.parameters ?? []
  const declared = params.some((p) => {
    const r = resolveParameter(doc, p)
    return r.name === 'fieldValidation' && r.in === 'query'
  })
  const consumes = op.consumes ?? []
  return {
    ...op,
    consumes: [...consumes, ...patchContentTypes.filter((t) => !consumes.includes(t))],
    parameters: declared ? params : [...params, fieldValidation],
  }
}

/** The data's own fieldValidation parameter (its wording is what kubectl explain users know). */
function fieldValidationParameter(doc: OpenApiV2): ParameterV2 {
  for (const item of Object.values(doc.paths)) {
    for (const m of methods) {
      for (const p of item[m]?.parameters ?? []) {
        const r = resolveParameter(doc, p)
        if (r.name === 'fieldValidation' && r.in === 'query') return r
      }
    }
  }
  return {
    name: 'fieldValidation',
    in: 'query',
    type: 'string',
    uniqueItems: true,
    description:
      'How the server treats unknown and duplicate fields in the request body: Ignore, Warn or Strict.',
  }
}

/** The definitions and shared parameters the paths reach, following references transitively. */
function reachable(doc: OpenApiV2, paths: OpenApiV2['paths']) {
  const definitions = new Set<string>()
  const parameters = new Set<string>()
  const pending: unknown[] = [paths]
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x)
      return
    }
    if (v === null || typeof v !== 'object') return
    for (const [k, x] of Object.entries(v)) {
      if (k !== '$ref' || typeof x !== 'string') {
        visit(x)
      } else if (x.startsWith('#/parameters/')) {
        const name = x.slice('#/parameters/'.length)
        if (!parameters.has(name)) {
          parameters.add(name)
          pending.push(doc.parameters[name])
        }
      } else {
        const name = refName(x)
        if (!definitions.has(name)) {
          if (!doc.definitions[name])
            throw new Error(`generate-api: reference to a missing definition ${name}`)
          definitions.add(name)
          pending.push(doc.definitions[name])
        }
      }
    }
  }
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) visit(next)
  return { definitions, parameters }
}

function pick<T>(from: Record<string, T>, names: Set<string>): Record<string, T> {
  const out: Record<string, T> = {}
  for (const name of [...names].sort()) {
    const v = from[name]
    if (v !== undefined) out[name] = v
  }
  return out
}
