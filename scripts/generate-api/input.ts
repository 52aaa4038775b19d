import { servedGroups } from '../api-facts.ts'

/**
 * The Kubernetes OpenAPI v2 document the generator reads (shared/data/...-openapi-v2.json): the
 * shapes it uses, and how its paths split into the documents kube-apiserver serves.
 */

export interface GroupVersionKindV2 {
  group: string
  version: string
  kind: string
}

export interface SchemaV2 {
  type?: string
  format?: string
  description?: string
  $ref?: string
  items?: SchemaV2
  properties?: Record<string, SchemaV2>
  additionalProperties?: SchemaV2 | boolean
  required?: string[]
  enum?: unknown[]
  default?: unknown
  'x-kubernetes-group-version-kind'?: GroupVersionKindV2[]
  'x-kubernetes-patch-strategy'?: string
  'x-kubernetes-patch-merge-key'?: string
  'x-kubernetes-list-type'?: string
  'x-kubernetes-list-map-keys'?: string[]
  'x-kubernetes-map-type'?: string
  'x-kubernetes-embedded-resource'?: boolean
  'x-kubernetes-preserve-unknown-fields'?: boolean
  'x-kubernetes-int-or-string'?: boolean
  'x-kubernetes-unions'?: unknown[]
  [extension: string]: unknown
}

export interface ParameterV2 {
  $ref?: string
  name?: string
  in?: string
  description?: string
  required?: boolean
  type?: string
  uniqueItems?: boolean
  schema?: SchemaV2
}

export interface ResponseV2 {
  description?: string
  schema?: SchemaV2
}

export interface OperationV2 {
  operationId?: string
  description?: string
  consumes?: string[]
  produces?: string[]
  parameters?: ParameterV2[]
  responses?: Record<string, ResponseV2>
  schemes?: string[]
  tags?: string[]
  'x-kubernetes-action'?: string
  'x-kubernetes-group-version-kind'?: GroupVersionKindV2
}

export const methods = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'] as const
export type Method = (typeof methods)[number]

export type PathItemV2 = Partial<Record<Method, OperationV2>> & { parameters?: ParameterV2[] }

export interface OpenApiV2 {
  swagger: string
  info: Record<string, unknown>
  paths: Record<string, PathItemV2>
  definitions: Record<string, SchemaV2>
  parameters: Record<string, ParameterV2>
  security?: unknown
  securityDefinitions?: unknown
}

/** Reads the document, failing with a clear message when it is not one. */
export function parseOpenApiV2(text: string, source: string): OpenApiV2 {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new Error(`generate-api: ${source} is not JSON`, { cause: err })
  }
  if (
    doc === null ||
    typeof doc !== 'object' ||
    (doc as { swagger?: unknown }).swagger !== '2.0' ||
    typeof (doc as { paths?: unknown }).paths !== 'object' ||
    typeof (doc as { definitions?: unknown }).definitions !== 'object'
  ) {
    throw new Error(`generate-api: ${source} is not an OpenAPI v2 document with paths and definitions`)
  }
  const d = doc as OpenApiV2
  d.parameters ??= {}
  return d
}

/** The definition name a schema reference points at (#/definitions/<name>). */
export function refName(ref: string): string {
  if (!ref.startsWith('#/definitions/')) throw new Error(`generate-api: unsupported reference ${ref}`)
  return ref.slice('#/definitions/'.length)
}

/** A `$ref: #/parameters/...` resolved against the document's shared parameters. */
export function resolveParameter(doc: OpenApiV2, p: ParameterV2): ParameterV2 {
  if (p.$ref === undefined) return p
  const name = p.$ref.replace(/^#\/parameters\//, '')
  const shared = doc.parameters[name]
  if (!shared) throw new Error(`generate-api: unknown parameter ${p.$ref}`)
  return shared
}

/**
 * The /openapi/v3 document a path belongs to, as kube-apiserver splits them: `api/v1`,
 * `apis/<group>/<version>`, `apis/<group>` (the group's discovery path), `api`, `apis`, and
 * each non-resource prefix (`version`, `logs`, `.well-known/openid-configuration`,
 * `openid/v1/jwks`).
 */
export function documentKey(path: string): string {
  const parts = path.split('/').filter((p) => p !== '')
  if (parts[0] === 'api') return parts.length >= 2 ? `api/${parts[1]}` : 'api'
  if (parts[0] === 'apis') return parts.slice(0, 3).join('/')
  if (parts[0] === 'logs') return 'logs'
  return parts.join('/')
}

/** Group and version of a group-version document key (`api/v1`, `apis/apps/v1`), else undefined. */
export function groupVersionOfKey(key: string): { group: string; version: string } | undefined {
  const parts = key.split('/')
  if (parts[0] === 'api' && parts.length === 2) return { group: '', version: parts[1] ?? '' }
  if (parts[0] === 'apis' && parts.length === 3) return { group: parts[1] ?? '', version: parts[2] ?? '' }
  return undefined
}

/** The document key of a group-version. */
export function keyOfGroupVersion(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`
}

/**
 * Whether the apiserver serves a document: the served group-versions, their groups' discovery
 * documents, and every non-resource document.
 */
export function isServedKey(key: string): boolean {
  const parts = key.split('/')
  if (parts[0] === 'api') return parts.length === 1 || servedKeys.has(key)
  if (parts[0] === 'apis') {
    if (parts.length === 1) return true
    if (parts.length === 2) return servedGroups.some((g) => g.group === parts[1])
    return servedKeys.has(key)
  }
  return true
}

const servedKeys = new Set(servedGroups.flatMap((g) => g.versions.map((v) => keyOfGroupVersion(g.group, v))))
