import {
  CertificateRequestError,
  parseCertificatesPem,
  readCertificateRequest,
} from '../certificate-request.ts'
import {
  certificateApproved,
  certificateDenied,
  certificateFailed,
  keyUsages,
  legacyUnknownSignerName,
} from '../certificate-signing-request.ts'
import {
  duplicate,
  FieldPath,
  forbidden,
  invalid,
  notSupported,
  required,
  tooLong,
  type FieldError,
} from '../field-errors.ts'
import type { CertificateSigningRequest } from '../generated/types/certificates-v1.ts'
import { deepEqual } from '../object.ts'
import { isDNS1123Label, isDNS1123Subdomain } from './names.ts'

/**
 * Validation of certificates.k8s.io/v1 CertificateSigningRequests, as Kubernetes'
 * pkg/apis/certificates/validation: the request must be a PEM CERTIFICATE REQUEST whose
 * signature holds, usages known and not repeated, signerName a domain and path, expiration at
 * least ten minutes; conditions well-formed (Approved and Denied exclusive, Approved, Denied and
 * Failed only True); status.certificate a PEM bundle of certificates.
 *
 * Updates are validated per endpoint: the main resource may change neither the approval
 * conditions nor the certificate, /approval may change the conditions, /status the certificate;
 * none may remove an Approved, Denied or Failed condition, nor replace a certificate. What was
 * already wrong in the stored object is tolerated, so old objects can still be updated.
 */

/** The endpoint an update came through: the main resource, /status or /approval. */
export type CertificateSigningRequestEndpoint = 'main' | 'status' | 'approval'

type Csr = Readonly<CertificateSigningRequest>

interface Options {
  allowSettingApprovalConditions: boolean
  allowSettingCertificate: boolean
  allowBothApprovedAndDenied: boolean
  allowLegacySignerName: boolean
  allowDuplicateConditionTypes: boolean
  allowEmptyConditionType: boolean
  allowArbitraryCertificate: boolean
  allowUnknownUsages: boolean
  allowDuplicateUsages: boolean
}

const trueOnlyConditions = new Set([certificateApproved, certificateDenied, certificateFailed])
const sortedUsages = [...keyUsages].sort()
const knownUsages = new Set<string>(keyUsages)

export function validateCertificateSigningRequestCreate(csr: Csr): FieldError[] {
  return validate(csr, optionsFor(csr, undefined))
}

export function validateCertificateSigningRequestUpdate(
  next: Csr,
  prev: Csr,
  endpoint: CertificateSigningRequestEndpoint,
): FieldError[] {
  const o = optionsFor(next, prev)
  if (endpoint === 'approval') o.allowSettingApprovalConditions = true
  if (endpoint === 'status') o.allowSettingCertificate = true
  const errs = validate(next, o)
  for (const type of [certificateApproved, certificateDenied, certificateFailed]) {
    if (conditionsOf(next, type).length < conditionsOf(prev, type).length)
      errs.push(forbidden(conditions, `updates may not remove a condition of type "${type}"`))
  }
  if (!o.allowSettingApprovalConditions) {
    for (const type of [certificateApproved, certificateDenied]) {
      const before = conditionsOf(prev, type)
      const after = conditionsOf(next, type)
      if (after.length > before.length)
        errs.push(forbidden(conditions, `updates may not add a condition of type "${type}"`))
      else if (after.length === before.length && !deepEqual(after, before))
        errs.push(forbidden(conditions, `updates may not modify a condition of type "${type}"`))
    }
  }
  const cert = next.status?.certificate ?? ''
  const prevCert = prev.status?.certificate ?? ''
  if (cert !== prevCert) {
    if (!o.allowSettingCertificate)
      errs.push(forbidden(certificatePath, 'updates may not set certificate content'))
    else if (prevCert !== '')
      errs.push(forbidden(certificatePath, 'updates may not modify existing certificate content'))
  }
  return errs
}

/**
 * The signerName rules of Kubernetes' ValidateSignerName: `<domain>/<path>`, the domain of at
 * least two DNS labels, the path of DNS subdomains joined by dots, in all at most 571 characters.
 */
export function validateSignerName(path: FieldPath, signerName: string): FieldError[] {
  if (signerName === '') return [required(path)]
  const segments = signerName.split('/')
  if (segments.length !== 2) {
    return [
      invalid(
        path,
        signerName,
        "must be a fully qualified domain and path of the form 'example.com/signer-name'",
      ),
    ]
  }
  const [domain = '', rest = ''] = segments
  const errs: FieldError[] = []
  if (domain.length > 253) errs.push(tooLong(path, '', 253))
  const labels = domain.split('.')
  for (const label of labels) {
    const msgs = isDNS1123Label(label)
    if (msgs.length === 0) continue
    for (const m of msgs) errs.push(invalid(path, domain, `validating label "${label}": ${m}`))
    break
  }
  if (labels.length < 2)
    errs.push(invalid(path, domain, 'should be a domain with at least two segments separated by dots'))
  for (const label of rest.split('.')) {
    const msgs = isDNS1123Subdomain(label)
    if (msgs.length === 0) continue
    for (const m of msgs) errs.push(invalid(path, rest, `validating label "${label}": ${m}`))
    break
  }
  const max = 253 + (253 + 63 + 1) + 1
  if (signerName.length > max) errs.push(tooLong(path, '', max))
  return errs
}

const spec = FieldPath.root('spec')
const conditions = FieldPath.root('status').child('conditions')
const certificatePath = FieldPath.root('status').child('certificate')

function validate(csr: Csr, o: Options): FieldError[] {
  const errs: FieldError[] = []
  const s = csr.spec ?? { request: '', signerName: '' }
  const request = typeof s.request === 'string' ? s.request : ''
  try {
    readCertificateRequest(request)
  } catch (err) {
    if (!(err instanceof CertificateRequestError)) throw err
    errs.push(invalid(spec.child('request'), request, err.message))
  }
  const usages = Array.isArray(s.usages) ? s.usages : []
  if (usages.length === 0) errs.push(required(spec.child('usages')))
  if (!o.allowUnknownUsages) {
    usages.forEach((u, i) => {
      if (!knownUsages.has(u)) errs.push(notSupported(spec.child('usages').index(i), u, sortedUsages))
    })
  }
  if (!o.allowDuplicateUsages) {
    const seen = new Set<string>()
    usages.forEach((u, i) => {
      if (seen.has(u)) errs.push(duplicate(spec.child('usages').index(i), u))
      seen.add(u)
    })
  }
  const signerName = typeof s.signerName === 'string' ? s.signerName : ''
  if (!o.allowLegacySignerName && signerName === legacyUnknownSignerName) {
    errs.push(
      invalid(
        spec.child('signerName'),
        signerName,
        'the legacy signerName is not allowed via this API version',
      ),
    )
  } else {
    errs.push(...validateSignerName(spec.child('signerName'), signerName))
  }
  if (s.expirationSeconds !== undefined && s.expirationSeconds < 600) {
    errs.push(
      invalid(
        spec.child('expirationSeconds'),
        s.expirationSeconds,
        'may not specify a duration less than 600 seconds (10 minutes)',
      ),
    )
  }
  errs.push(...validateConditions(csr, o))
  if (!o.allowArbitraryCertificate) {
    const message = certificateError(csr.status?.certificate ?? '')
    if (message !== undefined) errs.push(invalid(certificatePath, '<certificate data>', message))
  }
  return errs
}

function validateConditions(csr: Csr, o: Options): FieldError[] {
  const errs: FieldError[] = []
  const seen = new Set<string>()
  let approved = false
  let denied = false
  ;(csr.status?.conditions ?? []).forEach((c, i) => {
    const p = conditions.index(i)
    if (!o.allowEmptyConditionType && !c.type) errs.push(required(p.child('type')))
    const allowed = trueOnlyConditions.has(c.type) ? ['True'] : ['False', 'True', 'Unknown']
    if (!c.status) errs.push(required(p.child('status')))
    else if (!allowed.includes(c.status)) errs.push(notSupported(p.child('status'), c.status, allowed))
    if (!o.allowBothApprovedAndDenied) {
      if (c.type === certificateApproved) {
        approved = true
        if (denied)
          errs.push(invalid(p.child('type'), c.type, 'Approved and Denied conditions are mutually exclusive'))
      } else if (c.type === certificateDenied) {
        denied = true
        if (approved)
          errs.push(invalid(p.child('type'), c.type, 'Approved and Denied conditions are mutually exclusive'))
      }
    }
    if (!o.allowDuplicateConditionTypes) {
      if (seen.has(c.type)) errs.push(duplicate(p.child('type'), c.type))
      seen.add(c.type)
    }
  })
  return errs
}

/** Why status.certificate (base64 of a PEM bundle in the API) is not a bundle of certificates. */
function certificateError(certificate: string): string | undefined {
  if (certificate === '') return undefined
  try {
    parseCertificatesPem(Buffer.from(certificate, 'base64').toString('latin1'))
    return undefined
  } catch (err) {
    if (err instanceof CertificateRequestError) return err.message
    throw err
  }
}

/** What the stored object already gets away with stays allowed, so that it can still be updated. */
function optionsFor(next: Csr, prev: Csr | undefined): Options {
  const prevConditions = prev?.status?.conditions ?? []
  const types = prevConditions.map((c) => c.type)
  const prevUsages = prev?.spec?.usages ?? []
  const sameCertificate =
    prev !== undefined && (next.status?.certificate ?? '') === (prev.status?.certificate ?? '')
  return {
    allowSettingApprovalConditions: false,
    allowSettingCertificate: false,
    allowBothApprovedAndDenied: types.includes(certificateApproved) && types.includes(certificateDenied),
    allowLegacySignerName: prev?.spec?.signerName === legacyUnknownSignerName,
    allowDuplicateConditionTypes: new Set(types).size !== types.length,
    allowEmptyConditionType: types.some((t) => !t),
    allowArbitraryCertificate:
      sameCertificate ||
      (prev !== undefined && certificateError(prev.status?.certificate ?? '') !== undefined),
    allowUnknownUsages: prevUsages.some((u) => !knownUsages.has(u)),
    allowDuplicateUsages: new Set(prevUsages).size !== prevUsages.length,
  }
}

function conditionsOf(csr: Csr, type: string) {
  return (csr.status?.conditions ?? []).filter((c) => c.type === type)
}
