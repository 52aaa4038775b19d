import { X509Certificate } from 'node:crypto'
import {
  CertificateRequestError,
  readCertificateRequest,
  type CertificateRequest,
} from '../../api/certificate-request.ts'
import {
  apiServerClientUsagesError,
  certificateFailed,
  hasTrueCondition,
  isApproved,
  isIssued,
  kubeAPIServerClientKubeletSignerName,
  kubeAPIServerClientSignerName,
  kubeletClientRequestError,
  kubeletServingRequestError,
  kubeletServingSignerName,
} from '../../api/certificate-signing-request.ts'
import type { CertificateSigningRequest } from '../../api/generated/types/certificates-v1.ts'
import type { Clock } from '../../base/clock.ts'
import {
  builtin,
  runWorkers,
  TerminalError,
  WorkQueue,
  type Lister,
  type Reconciler,
} from '../../client/index.ts'
import { signCertificateRequest, UnrecognizedUsageError } from '../../pki/certificate-requests.ts'
import type { KeyPair } from '../../pki/index.ts'
import type { ControllerDefinition } from '../controller.ts'

/** kube-controller-manager's --cluster-signing-duration default: a year. */
export const defaultSigningDurationMs = 365 * 24 * 3_600_000

/** Certificates start this long before they are signed, against clocks running behind. */
const backdateMs = 5 * 60_000
/** Shorter lifetimes are not shortened by the backdate at their end. */
const shortMs = 8 * 3_600_000
/** The shortest lifetime the signer gives, whatever expirationSeconds asks. */
const minimumMs = 10 * 60_000

export interface CSRSignerOptions {
  csrs: Lister<CertificateSigningRequest>
  /** The CA that signs: --cluster-signing-cert-file and --cluster-signing-key-file. */
  ca: KeyPair
  /** --cluster-signing-duration: the longest lifetime given (default a year). */
  durationMs?: number
  /** PUT certificatesigningrequests/status. */
  updateStatus(csr: CertificateSigningRequest): Promise<unknown>
  clock: Clock
}

/**
 * csrsigning (kube-controller-manager's local signer): signs approved requests of the
 * kubernetes.io signers with the cluster CA, each checked against its signer's rules first:
 *
 *   kube-apiserver-client          client certificates for the apiserver: client auth, optionally
 *                                  digital signature and key encipherment
 *   kube-apiserver-client-kubelet  a kubelet's client certificate: CN system:node:<name>,
 *                                  O system:nodes, no SANs, digital signature and client auth
 *   kubelet-serving                a kubelet's serving certificate: as above with DNS or IP SANs
 *                                  and server auth
 *
 * A request that breaks its signer's rules gets a Failed condition (SignerValidationFailure);
 * requests of other signers, pending, denied, failed or issued ones are left alone. The
 * certificate lives for spec.expirationSeconds, at least ten minutes and at most the signing
 * duration, never past the CA.
 */
export class CSRSigner implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: CSRSignerOptions
  readonly #caNotAfter: number

  constructor(o: CSRSignerOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
    this.#caNotAfter = Date.parse(new X509Certificate(o.ca.certPem).validTo)
  }

  async reconcile(name: string): Promise<undefined> {
    const cached = this.#o.csrs.get('', name)
    if (!cached || isIssued(cached)) return undefined
    if (!isApproved(cached) || hasTrueCondition(cached.status, certificateFailed)) return undefined
    const check = signerChecks.get(cached.spec.signerName)
    if (!check) return undefined
    let req: CertificateRequest
    try {
      req = readCertificateRequest(cached.spec.request)
    } catch (err) {
      if (err instanceof CertificateRequestError)
        throw new TerminalError(`unable to parse csr "${name}": ${err.message}`)
      throw err
    }
    const csr = structuredClone(cached) as CertificateSigningRequest
    const usages = csr.spec.usages ?? []
    const refusal = check(req, usages)
    if (refusal !== undefined) {
      csr.status = {
        ...csr.status,
        conditions: [
          ...(csr.status?.conditions ?? []),
          {
            type: certificateFailed,
            status: 'True',
            reason: 'SignerValidationFailure',
            message: refusal,
            lastUpdateTime: new Date(this.#o.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        ],
      }
      await this.#o.updateStatus(csr)
      return undefined
    }
    const lifetime = certificateLifetime({
      now: this.#o.clock.now(),
      durationMs: requestedDuration(
        csr.spec.expirationSeconds,
        this.#o.durationMs ?? defaultSigningDurationMs,
      ),
      caNotAfter: this.#caNotAfter,
    })
    let pem: string
    try {
      pem = await signCertificateRequest(this.#o.ca, {
        request: req,
        usages,
        notBefore: new Date(lifetime.notBefore),
        notAfter: new Date(lifetime.notAfter),
      })
    } catch (err) {
      if (err instanceof UnrecognizedUsageError)
        throw new TerminalError(`error auto signing csr: ${err.message}`)
      throw err
    }
    csr.status = { ...csr.status, certificate: Buffer.from(pem).toString('base64') }
    await this.#o.updateStatus(csr)
    return undefined
  }
}

/** Each signer's rules; undefined when the request satisfies them. */
const signerChecks = new Map<
  string,
  (req: CertificateRequest, usages: readonly string[]) => string | undefined
>([
  [kubeletServingSignerName, kubeletServingRequestError],
  [kubeAPIServerClientKubeletSignerName, kubeletClientRequestError],
  [kubeAPIServerClientSignerName, (_req, usages) => apiServerClientUsagesError(usages)],
])

/**
 * The lifetime asked for: spec.expirationSeconds, no longer than the signing duration and no
 * shorter than ten minutes (twice the backdate); the signing duration when not asked.
 */
export function requestedDuration(expirationSeconds: number | undefined, maxMs: number): number {
  if (expirationSeconds === undefined) return maxMs
  const ms = expirationSeconds * 1000
  return ms > maxMs ? maxMs : ms < minimumMs ? minimumMs : ms
}

/**
 * NotBefore and NotAfter of a certificate signed at `now` (PermissiveSigningPolicy): backdated
 * five minutes; a long-lived certificate's end moves back by as much, so the lifetime stays as
 * asked, a short one (under 8 h) keeps its end; never past the CA, which must not have expired.
 */
export function certificateLifetime(o: { now: number; durationMs: number; caNotAfter: number }): {
  notBefore: number
  notAfter: number
} {
  const notBefore = o.now - backdateMs
  let notAfter = o.durationMs < shortMs ? o.now + o.durationMs : o.now + o.durationMs - backdateMs
  if (notAfter >= o.caNotAfter) notAfter = o.caNotAfter
  const expired = new Date(o.caNotAfter).toISOString()
  if (notBefore >= o.caNotAfter) throw new TerminalError(`the signer has expired: NotAfter=${expired}`)
  if (o.now >= o.caNotAfter)
    throw new TerminalError(`refusing to sign a certificate that expired in the past: NotAfter=${expired}`)
  return { notBefore, notAfter }
}

export function csrSigningController(o: {
  clusterSigningCert?: string
  clusterSigningKey?: string
  durationMs?: number
}): ControllerDefinition {
  return {
    name: 'csrsigning',
    eventSource: 'csrsigning',
    serviceAccount: 'certificate-controller',
    setup(ctx) {
      if (!o.clusterSigningCert || !o.clusterSigningKey) {
        ctx.log.info(
          'no CA to sign with (--cluster-signing-cert-file, --cluster-signing-key-file): csrsigning is off',
        )
        return async () => undefined
      }
      const csrs = ctx.informers.informer<CertificateSigningRequest>(
        builtin('certificates.k8s.io', 'v1', 'certificatesigningrequests'),
      )
      const client = ctx.client<CertificateSigningRequest>(csrs.resource)
      const signer = new CSRSigner({
        csrs: csrs.lister,
        ca: { certPem: o.clusterSigningCert, keyPem: o.clusterSigningKey },
        ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
        updateStatus: (csr) => client.updateStatus(csr),
        clock: ctx.clock,
      })
      const enqueue = (csr: Readonly<CertificateSigningRequest>) => signer.queue.add(csr.metadata?.name ?? '')
      csrs.addHandler({ add: enqueue, update: (_old, csr) => enqueue(csr) })
      return (signal) => runWorkers(signer.queue, signer, { workers: 1, signal, log: ctx.log })
    },
  }
}
