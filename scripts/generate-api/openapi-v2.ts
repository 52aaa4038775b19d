/** The shapes of the Kubernetes OpenAPI v2 document that the generators read. */
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
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[]
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

export interface OperationV2 {
  operationId?: string
  description?: string
  consumes?: string[]
  produces?: string[]
  parameters?: ParameterV2[]
  responses?: Record<string, { description?: string; schema?: SchemaV2 }>
  schemes?: string[]
  tags?: string[]
  'x-kubernetes-action'?: string
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }
}

export type PathItemV2 = Partial<
  Record<'get' | 'put' | 'post' | 'patch' | 'delete' | 'head' | 'options', OperationV2>
> & {
  parameters?: ParameterV2[]
}

export interface OpenApiV2 {
  swagger: string
  info: Record<string, unknown>
  paths: Record<string, PathItemV2>
  definitions: Record<string, SchemaV2>
  parameters: Record<string, ParameterV2>
  security?: unknown
  securityDefinitions?: unknown
}

export const methods = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'] as const

/** The definition name a $ref points at. */
export function refName(ref: string): string {
  return ref.replace(/^#\/definitions\//, '')
}

/**
 * The group-versions the apiserver serves, as `api/v1` and `apis/<group>/<version>`; others in
 * the data (alpha and beta versions) are left out of everything generated.
 */
export const servedGroupVersions = [
  'api/v1',
  'apis/admissionregistration.k8s.io/v1',
  'apis/apiextensions.k8s.io/v1',
  'apis/apiregistration.k8s.io/v1',
  'apis/apps/v1',
  'apis/authentication.k8s.io/v1',
  'apis/authorization.k8s.io/v1',
  'apis/autoscaling/v2',
  'apis/autoscaling/v1',
  'apis/batch/v1',
  'apis/certificates.k8s.io/v1',
  'apis/coordination.k8s.io/v1',
  'apis/discovery.k8s.io/v1',
  'apis/events.k8s.io/v1',
  'apis/flowcontrol.apiserver.k8s.io/v1',
  'apis/networking.k8s.io/v1',
  'apis/node.k8s.io/v1',
  'apis/policy/v1',
  'apis/rbac.authorization.k8s.io/v1',
  'apis/resource.k8s.io/v1',
  'apis/scheduling.k8s.io/v1',
  'apis/storage.k8s.io/v1',
]

/** The group-version key (`api/v1`, `apis/apps/v1`, `apis/apps`, `version`, ...) a path belongs to, as /openapi/v3 splits them. */
export function pathGroupVersion(path: string): string {
  const parts = path.replace(/^\/+/, '').replace(/\/+$/, '').split('/')
  if (parts[0] === 'api') return parts.length >= 2 ? `api/${parts[1]}` : 'api'
  if (parts[0] === 'apis') {
    if (parts.length >= 3) return `apis/${parts[1]}/${parts[2]}`
    if (parts.length === 2) return `apis/${parts[1]}`
    return 'apis'
  }
  if (parts[0] === 'logs') return 'logs'
  return parts.join('/')
}
