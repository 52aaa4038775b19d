import type { CertificateSigningRequest } from '../../../api/generated/types/certificates-v1.ts'
import type { StoredObject } from '../../../api/object.ts'
import {
  validateCertificateSigningRequestCreate,
  validateCertificateSigningRequestUpdate,
  type CertificateSigningRequestEndpoint,
} from '../../../api/validation/certificates.ts'
import { rfc3339 } from '../store.ts'
import type { ResourceStrategy, StrategyContext } from '../strategy.ts'

/**
 * CertificateSigningRequests (Kubernetes' pkg/registry/certificates/certificates). A request is
 * immutable once made, except through its two subresources, which separate approving from
 * signing:
 *
 *   main       create: spec.username, uid, groups and extra are the requester's (whatever was
 *              sent), the status starts empty (no pre-approved requests); update: only metadata
 *              changes, spec and status are kept as stored.
 *   /approval  only status.conditions change (Approved, Denied): `approve` on the signer is
 *              checked by the CertificateApproval admission plugin.
 *   /status    status.certificate and the other conditions change; the Approved and Denied
 *              ones are kept: `sign` on the signer is checked by CertificateSigning.
 *
 * Conditions written without lastUpdateTime or lastTransitionTime get them (the transition time
 * carried over from a stored condition of the same type and status).
 */
export const certificateSigningRequestStrategy: ResourceStrategy = {
  prepareForCreate(obj, ctx) {
    const csr = obj as unknown as CertificateSigningRequest
    const { username: _u, uid: _i, groups: _g, extra: _e, ...rest } = csr.spec ?? {}
    const spec: CertificateSigningRequest['spec'] = {
      ...rest,
      username: ctx.user.name,
      groups: [...ctx.user.groups],
    }
    if (ctx.user.uid) spec.uid = ctx.user.uid
    const extra = ctx.user.extra ?? {}
    if (Object.keys(extra).length > 0)
      spec.extra = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, [...v]]))
    csr.spec = spec
    csr.status = {}
  },
  prepareForUpdate(next, prev) {
    next.spec = structuredClone(prev.spec)
    if (prev.status === undefined) delete next.status
    else next.status = structuredClone(prev.status)
  },
  validate: (obj) => validateCertificateSigningRequestCreate(csrOf(obj)),
  validateUpdate: (next, prev) => validateCertificateSigningRequestUpdate(csrOf(next), csrOf(prev), 'main'),
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
}

/** certificatesigningrequests/status: the signer's endpoint. */
export const certificateSigningRequestStatusStrategy: ResourceStrategy = {
  ...subresource('status'),
  prepareForUpdate(next, prev, ctx) {
    next.spec = structuredClone(prev.spec)
    const csr = next as unknown as CertificateSigningRequest
    const old = prev as unknown as Readonly<CertificateSigningRequest>
    // The approval conditions are the /approval endpoint's: kept as stored, unless some were
    // added or removed, which validation then refuses.
    if (csr.status) {
      for (const type of ['Approved', 'Denied']) preserveConditions(csr, old, type)
    }
    stampConditions(csr, old, ctx)
  },
}

/** certificatesigningrequests/approval: the approver's endpoint. */
export const certificateSigningRequestApprovalStrategy: ResourceStrategy = {
  ...subresource('approval'),
  prepareForUpdate(next, prev, ctx) {
    const csr = next as unknown as CertificateSigningRequest
    const old = prev as unknown as Readonly<CertificateSigningRequest>
    stampConditions(csr, old, ctx)
    const conditions = csr.status?.conditions
    next.spec = structuredClone(prev.spec)
    const status = structuredClone(old.status ?? {})
    if (conditions === undefined) delete status.conditions
    else status.conditions = conditions
    csr.status = status
  },
}

function subresource(endpoint: CertificateSigningRequestEndpoint): ResourceStrategy {
  return {
    validate: (obj) => validateCertificateSigningRequestCreate(csrOf(obj)),
    validateUpdate: (next, prev) =>
      validateCertificateSigningRequestUpdate(csrOf(next), csrOf(prev), endpoint),
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  }
}

/** When the new object has as many conditions of `type` as the old, they are the old ones. */
function preserveConditions(
  next: CertificateSigningRequest,
  prev: Readonly<CertificateSigningRequest>,
  type: string,
): void {
  const list = next.status?.conditions ?? []
  const before = (prev.status?.conditions ?? []).filter((c) => c.type === type)
  const at = list.flatMap((c, i) => (c.type === type ? [i] : []))
  if (at.length !== before.length) return
  at.forEach((i, j) => {
    const old = before[j]
    if (old) list[i] = structuredClone(old)
  })
}

function stampConditions(
  next: CertificateSigningRequest,
  prev: Readonly<CertificateSigningRequest>,
  ctx: StrategyContext,
): void {
  const now = rfc3339(ctx.now)
  for (const c of next.status?.conditions ?? []) {
    if (!c.lastUpdateTime) c.lastUpdateTime = now
    if (!c.lastTransitionTime) {
      const same = (prev.status?.conditions ?? []).find(
        (o) => o.type === c.type && o.status === c.status && o.lastTransitionTime,
      )
      c.lastTransitionTime = same?.lastTransitionTime ?? now
    }
  }
}

function csrOf(obj: Readonly<StoredObject>): Readonly<CertificateSigningRequest> {
  return obj as unknown as Readonly<CertificateSigningRequest>
}
