import { CertificateRequestError, parseCertificateRequestPem } from '../../api/certificate-request.ts'
import { kubeAPIServerClientSignerName } from '../../api/certificate-signing-request.ts'
import type { CertificateSigningRequest } from '../../api/generated/types/certificates-v1.ts'
import { deepEqual } from '../../api/object.ts'
import type { UserInfo } from '../authn/authenticator.ts'
import type { Authorizer } from '../authz/authorizer.ts'
import type { AdmissionAttributes, AdmissionPlugin } from './admission.ts'
import { admissionForbidden } from './namespace-objects.ts'

/**
 * The admission plugins of certificates.k8s.io (Kubernetes' plugin/pkg/admission/certificates),
 * on by default, in kube-apiserver's order:
 *
 * - CertificateApproval: approving or denying (an update of certificatesigningrequests/approval)
 *   needs `approve` on the signer;
 * - CertificateSigning: changing status.certificate or the conditions (an update of
 *   certificatesigningrequests/status) needs `sign` on the signer;
 * - CertificateSubjectRestriction: no kube-apiserver-client request for the system:masters group.
 *
 * "On the signer" is RBAC's synthetic resource `signers` of certificates.k8s.io named after the
 * signerName (kubernetes.io/kube-apiserver-client), or after its domain (`kubernetes.io/*`) to
 * grant every signer of the domain. The signer is read from the stored object, so an update cannot
 * switch it.
 */
export function certificateApprovalPlugin(authorizer: () => Authorizer): AdmissionPlugin {
  return {
    name: 'CertificateApproval',
    handles: (a) => a.operation === 'UPDATE' && isCsr(a) && a.subresource === 'approval',
    async validate(a) {
      const signerName = csrOf(a.oldObject).spec?.signerName ?? ''
      if (!(await authorizedForSignerName(authorizer(), { user: a.user, verb: 'approve', signerName })))
        throw admissionForbidden(a, `user not permitted to approve requests with signerName "${signerName}"`)
    },
  }
}

export function certificateSigningPlugin(authorizer: () => Authorizer): AdmissionPlugin {
  return {
    name: 'CertificateSigning',
    handles: (a) => a.operation === 'UPDATE' && isCsr(a) && a.subresource === 'status',
    async validate(a) {
      const prev = csrOf(a.oldObject)
      const next = csrOf(a.object)
      if (
        (prev.status?.certificate ?? '') === (next.status?.certificate ?? '') &&
        deepEqual(prev.status?.conditions ?? [], next.status?.conditions ?? [])
      )
        return
      const signerName = prev.spec?.signerName ?? ''
      if (!(await authorizedForSignerName(authorizer(), { user: a.user, verb: 'sign', signerName })))
        throw admissionForbidden(a, `user not permitted to sign requests with signerName "${signerName}"`)
    },
  }
}

export const certificateSubjectRestrictionPlugin: AdmissionPlugin = {
  name: 'CertificateSubjectRestriction',
  handles: (a) => a.operation === 'CREATE' && isCsr(a) && a.subresource === '',
  validate(a) {
    const csr = csrOf(a.object)
    if (csr.spec?.signerName !== kubeAPIServerClientSignerName) return
    let organizations: readonly string[]
    try {
      organizations = parseCertificateRequestPem(Buffer.from(csr.spec.request ?? '', 'base64')).subject
        .organizations
    } catch (err) {
      if (!(err instanceof CertificateRequestError)) throw err
      throw admissionForbidden(a, `failed to parse CSR: ${err.message}`)
    }
    if (organizations.includes('system:masters'))
      throw admissionForbidden(
        a,
        `use of ${kubeAPIServerClientSignerName} signer with system:masters group is not allowed`,
      )
  },
}

/**
 * Whether `user` may `verb` (approve, sign) requests of `signerName`: on the signer's own name,
 * else on `<domain>/*` (Kubernetes' IsAuthorizedForSignerName).
 */
export async function authorizedForSignerName(
  authorizer: Authorizer,
  o: { user: UserInfo; verb: string; signerName: string },
): Promise<boolean> {
  const domain = o.signerName.split('/')[0] ?? ''
  for (const name of [o.signerName, `${domain}/*`]) {
    const d = await authorizer.authorize({
      user: o.user,
      resourceRequest: true,
      verb: o.verb,
      namespace: '',
      apiGroup: 'certificates.k8s.io',
      apiVersion: '*',
      resource: 'signers',
      subresource: '',
      name,
    })
    if (d.decision === 'allow') return true
  }
  return false
}

function isCsr(a: AdmissionAttributes): boolean {
  return a.group === 'certificates.k8s.io' && a.resource === 'certificatesigningrequests'
}

function csrOf(obj: unknown): Partial<CertificateSigningRequest> {
  return obj ?? {}
}
