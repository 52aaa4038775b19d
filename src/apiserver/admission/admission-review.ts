import { randomUUID } from 'node:crypto'
import type { Status } from '../../api/generated/types/meta-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import type { AdmissionAttributes } from './admission.ts'
import { requestNamespace, type VersionedResource } from './matching.ts'

/**
 * AdmissionReview (admission.k8s.io/v1 and v1beta1), what the apiserver sends an admission
 * webhook and what it answers. Not a stored kind, so not in the generated types.
 */
export interface AdmissionRequest {
  uid: string
  kind: { group: string; version: string; kind: string }
  resource: { group: string; version: string; resource: string }
  subResource?: string
  requestKind: { group: string; version: string; kind: string }
  requestResource: { group: string; version: string; resource: string }
  requestSubResource?: string
  name?: string
  namespace?: string
  operation: string
  userInfo: { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> }
  object?: KubeObject | null
  oldObject?: KubeObject | null
  dryRun: boolean
  options?: Readonly<Record<string, unknown>> | null
}

export interface AdmissionResponse {
  uid?: string
  allowed?: boolean
  status?: Status
  patch?: string
  patchType?: string
  auditAnnotations?: Record<string, string>
  warnings?: string[]
}

export interface AdmissionReview {
  apiVersion?: string
  kind?: string
  request?: AdmissionRequest
  response?: AdmissionResponse
}

/**
 * The request part of an AdmissionReview: `kind` and `resource` are what the webhook's rules
 * matched (another version of the resource under matchPolicy Equivalent), `requestKind` and
 * `requestResource` what the client asked for. CEL expressions see the same fields as `request`.
 */
export function admissionRequest(
  a: AdmissionAttributes,
  matched: VersionedResource,
  objects: { object: KubeObject | undefined; oldObject: KubeObject | undefined },
  uid = randomUUID(),
): AdmissionRequest {
  const namespace = requestNamespace(a)
  return {
    uid,
    kind: { group: matched.group, version: matched.version, kind: matched.kind },
    resource: { group: matched.group, version: matched.version, resource: matched.resource },
    ...(a.subresource !== '' ? { subResource: a.subresource } : {}),
    requestKind: { group: a.group, version: a.version, kind: a.kind },
    requestResource: { group: a.group, version: a.version, resource: a.resource },
    ...(a.subresource !== '' ? { requestSubResource: a.subresource } : {}),
    ...(a.name !== '' ? { name: a.name } : {}),
    ...(namespace !== '' ? { namespace } : {}),
    operation: a.operation,
    userInfo: {
      username: a.user.name,
      ...(a.user.uid ? { uid: a.user.uid } : {}),
      ...(a.user.groups.length > 0 ? { groups: [...a.user.groups] } : {}),
      ...(a.user.extra
        ? { extra: Object.fromEntries(Object.entries(a.user.extra).map(([k, v]) => [k, [...v]])) }
        : {}),
    },
    object: objects.object ?? null,
    oldObject: objects.oldObject ?? null,
    dryRun: a.dryRun,
    options: a.options ?? null,
  }
}

/** The review to send, in the first AdmissionReview version the webhook accepts. */
export function admissionReviewFor(
  versions: readonly string[],
  request: AdmissionRequest,
): AdmissionReview | undefined {
  const version = versions.find((v) => v === 'v1' || v === 'v1beta1')
  if (!version) return undefined
  return { apiVersion: `admission.k8s.io/${version}`, kind: 'AdmissionReview', request }
}

/** What a webhook's answer says, once checked. */
export interface VerifiedResponse {
  allowed: boolean
  status: Status | undefined
  /** A JSON patch (decoded), mutating webhooks only. */
  patch: unknown[] | undefined
  auditAnnotations: Record<string, string>
  warnings: string[]
}

/**
 * Checks a webhook's answer as kube-apiserver does: a v1 review must echo the request's uid and
 * be an admission.k8s.io/v1 AdmissionReview; a mutating webhook's patch comes with its type
 * (JSONPatch only) and a validating webhook sends none. Throws with upstream's wording.
 */
export function verifyAdmissionResponse(
  sent: AdmissionReview,
  body: unknown,
  mutating: boolean,
): VerifiedResponse {
  const review = (body ?? {}) as AdmissionReview
  const r = review.response
  if (!r || typeof r !== 'object') throw new Error('webhook response was absent')
  const v1 = sent.apiVersion === 'admission.k8s.io/v1'
  if (v1) {
    if (r.uid !== sent.request?.uid)
      throw new Error(`expected response.uid="${sent.request?.uid ?? ''}", got "${r.uid ?? ''}"`)
    if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') {
      const got = `${review.apiVersion ?? ''}, Kind=${review.kind ?? ''}`
      throw new Error(`expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${got}`)
    }
  }
  let patch: unknown[] | undefined
  const hasPatch = typeof r.patch === 'string' && r.patch !== ''
  if (mutating) {
    if (v1 && hasPatch && r.patchType === undefined)
      throw new Error('webhook returned response.patch but not response.patchType')
    if (v1 && !hasPatch && r.patchType !== undefined)
      throw new Error('webhook returned response.patchType but not response.patch')
    if (v1 && r.patchType !== undefined && r.patchType !== 'JSONPatch')
      throw new Error(`unsupported patch type "${r.patchType}"`)
    if (hasPatch) {
      let decoded: unknown
      try {
        decoded = JSON.parse(Buffer.from(r.patch ?? '', 'base64').toString('utf8'))
      } catch (err) {
        throw new Error(`received undecodable patch in webhook response: ${(err as Error).message}`, {
          cause: err,
        })
      }
      if (!Array.isArray(decoded))
        throw new Error(
          'received undecodable patch in webhook response: the patch is not a list of operations',
        )
      patch = decoded
    }
  } else if (v1) {
    if (hasPatch) throw new Error('validating webhook may not return response.patch')
    if (r.patchType !== undefined) throw new Error('validating webhook may not return response.patchType')
  }
  return {
    allowed: r.allowed === true,
    status: r.status,
    patch,
    auditAnnotations: r.auditAnnotations ?? {},
    warnings: Array.isArray(r.warnings) ? r.warnings.filter((w) => typeof w === 'string') : [],
  }
}
