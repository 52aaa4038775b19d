import type { CertificateRequest } from './certificate-request.ts'
import type { CertificateSigningRequest } from './generated/types/certificates-v1.ts'

/**
 * What certificates.k8s.io/v1 CertificateSigningRequests mean, shared by the apiserver (their
 * validation and admission), the controller-manager (approving, signing, cleaning) and the
 * clients that ask for certificates (a node's kubelet).
 *
 * Lifecycle of a request:
 *
 *   created (Pending) ──approve (/approval)──▶ Approved ──signer writes status.certificate (/status)──▶ Issued
 *          │                                      └──signer refuses──▶ Failed
 *          └──deny (/approval)──▶ Denied
 *
 * Approved and Denied exclude each other and, once set, stay.
 */

/** The signers Kubernetes defines (certificates.k8s.io/v1's well-known signerNames). */
export const kubeAPIServerClientSignerName = 'kubernetes.io/kube-apiserver-client'
export const kubeAPIServerClientKubeletSignerName = 'kubernetes.io/kube-apiserver-client-kubelet'
export const kubeletServingSignerName = 'kubernetes.io/kubelet-serving'
/** Only through the removed v1beta1 API; v1 refuses it on new requests. */
export const legacyUnknownSignerName = 'kubernetes.io/legacy-unknown'

/** Condition types of status.conditions. */
export const certificateApproved = 'Approved'
export const certificateDenied = 'Denied'
export const certificateFailed = 'Failed'

/** Every key usage a request may name, in Kubernetes' order. */
export const keyUsages = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
] as const

/** Prefix of the common name of node identities (system:node:<nodeName>) and their group. */
export const nodeUserPrefix = 'system:node:'
export const nodesGroup = 'system:nodes'

type Conditions = Readonly<CertificateSigningRequest>['status']

/** Whether a condition of this type is there with status True (or no status, as client-go reads it). */
export function hasTrueCondition(status: Conditions, type: string): boolean {
  return (status?.conditions ?? []).some((c) => c.type === type && (c.status === 'True' || c.status === ''))
}

/** Approved and not Denied (certificates.IsCertificateRequestApproved). */
export function isApproved(csr: Readonly<CertificateSigningRequest>): boolean {
  const approved = (csr.status?.conditions ?? []).some((c) => c.type === certificateApproved)
  const denied = (csr.status?.conditions ?? []).some((c) => c.type === certificateDenied)
  return approved && !denied
}

export function isDenied(csr: Readonly<CertificateSigningRequest>): boolean {
  return (csr.status?.conditions ?? []).some((c) => c.type === certificateDenied)
}

export function isIssued(csr: Readonly<CertificateSigningRequest>): boolean {
  return (csr.status?.certificate ?? '') !== ''
}

/**
 * Why a request is not for a kubelet's client certificate (ValidateKubeletClientCSR): O is
 * exactly system:nodes, no SANs, CN system:node:<name>, usages digital signature and client auth
 * (key encipherment too, for RSA keys). undefined when it is one.
 */
export function kubeletClientRequestError(
  req: CertificateRequest,
  usages: readonly string[],
): string | undefined {
  if (!onlyNodesGroup(req)) return 'subject organization is not system:nodes'
  if (req.dnsNames.length > 0) return 'DNS subjectAltNames are not allowed'
  if (req.emailAddresses.length > 0) return 'Email subjectAltNames are not allowed'
  if (req.ipAddresses.length > 0) return 'IP subjectAltNames are not allowed'
  if (req.uris.length > 0) return 'URI subjectAltNames are not allowed'
  if (!req.subject.commonName.startsWith(nodeUserPrefix))
    return 'subject common name does not begin with system:node:'
  if (!sameSet(usages, kubeletClientUsages) && !sameSet(usages, kubeletClientUsagesNoRSA))
    return `usages did not match [${[...kubeletClientUsages].sort().join(' ')}]`
  return undefined
}

/**
 * Why a request is not for a kubelet's serving certificate (ValidateKubeletServingCSR): O is
 * exactly system:nodes, DNS or IP SANs but no email or URI ones, usages digital signature and
 * server auth (key encipherment too, for RSA keys), CN system:node:<name>.
 */
export function kubeletServingRequestError(
  req: CertificateRequest,
  usages: readonly string[],
): string | undefined {
  if (!onlyNodesGroup(req)) return 'subject organization is not system:nodes'
  if (req.dnsNames.length === 0 && req.ipAddresses.length === 0) return 'DNS or IP subjectAltName is required'
  if (req.emailAddresses.length > 0) return 'Email subjectAltNames are not allowed'
  if (req.uris.length > 0) return 'URI subjectAltNames are not allowed'
  if (!sameSet(usages, kubeletServingUsages) && !sameSet(usages, kubeletServingUsagesNoRSA))
    return `usages did not match [${[...kubeletServingUsages].sort().join(' ')}]`
  if (!req.subject.commonName.startsWith(nodeUserPrefix))
    return 'subject common name does not begin with system:node:'
  return undefined
}

/**
 * Why usages do not suit a kube-apiserver-client certificate: client auth required, digital
 * signature and key encipherment allowed, nothing else.
 */
export function apiServerClientUsagesError(usages: readonly string[]): string | undefined {
  let clientAuth = false
  for (const u of usages) {
    if (u === 'client auth') clientAuth = true
    else if (u !== 'digital signature' && u !== 'key encipherment')
      return `invalid usage for client certificate: ${u}`
  }
  return clientAuth ? undefined : 'missing required usage for client certificate: client auth'
}

const kubeletClientUsages = ['digital signature', 'key encipherment', 'client auth']
const kubeletClientUsagesNoRSA = ['digital signature', 'client auth']
const kubeletServingUsages = ['digital signature', 'key encipherment', 'server auth']
const kubeletServingUsagesNoRSA = ['digital signature', 'server auth']

function onlyNodesGroup(req: CertificateRequest): boolean {
  return req.subject.organizations.length === 1 && req.subject.organizations[0] === nodesGroup
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a)
  const y = new Set(b)
  return x.size === y.size && [...x].every((v) => y.has(v))
}
