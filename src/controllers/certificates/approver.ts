import { readCertificateRequest, type CertificateRequest } from '../../api/certificate-request.ts'
import {
  certificateApproved,
  isDenied,
  isIssued,
  kubeAPIServerClientKubeletSignerName,
  kubeletClientRequestError,
} from '../../api/certificate-signing-request.ts'
import type { SubjectAccessReview } from '../../api/generated/types/authorization-v1.ts'
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
import type { ControllerDefinition } from '../controller.ts'

/** The reason of the Approved condition this controller writes. */
export const autoApprovedReason = 'AutoApproved'

/** A kind of request the approver recognizes, and what its requester must be allowed to approve it. */
interface Recognizer {
  readonly recognize: (csr: Readonly<CertificateSigningRequest>, req: CertificateRequest) => boolean
  /** The subresource of certificatesigningrequests the requester must be allowed to `create`. */
  readonly subresource: 'selfnodeclient' | 'nodeclient'
  readonly message: string
}

const recognizers: readonly Recognizer[] = [
  {
    // A kubelet renewing its client certificate with the one it has.
    recognize: (csr, req) => csr.spec.username === req.subject.commonName && isNodeClientRequest(csr, req),
    subresource: 'selfnodeclient',
    message: 'Auto approving self kubelet client certificate after SubjectAccessReview.',
  },
  {
    // A kubelet asking for its first one, with a bootstrap token.
    recognize: isNodeClientRequest,
    subresource: 'nodeclient',
    message: 'Auto approving kubelet client certificate after SubjectAccessReview.',
  },
]

export interface CSRApproverOptions {
  csrs: Lister<CertificateSigningRequest>
  /** Creates a SubjectAccessReview; resolves to whether it was allowed. */
  review(sar: SubjectAccessReview): Promise<boolean>
  /** PUT certificatesigningrequests/approval. */
  updateApproval(csr: CertificateSigningRequest): Promise<unknown>
  clock: Clock
}

/** The requester was recognized but not allowed: tried again later, not an error worth a warning. */
export class NotApprovedError extends Error {
  override readonly name = 'NotApprovedError'
}

/**
 * csrapproving (kube-controller-manager's SAR approver): approves kubelet client certificate
 * requests (signer kube-apiserver-client-kubelet, CN system:node:<name>, O system:nodes) whose
 * requester may, by a SubjectAccessReview, `create` certificatesigningrequests/selfnodeclient (a
 * node renewing its own certificate: the requester is the CN) or .../nodeclient (a bootstrap
 * token asking for a node). Anything else waits for a person (`kubectl certificate approve`).
 * It never denies.
 */
export class CSRApprover implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: CSRApproverOptions

  constructor(o: CSRApproverOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  async reconcile(name: string): Promise<undefined> {
    const cached = this.#o.csrs.get('', name)
    if (!cached || isIssued(cached)) return undefined
    if ((cached.status?.conditions ?? []).some((c) => c.type === certificateApproved) || isDenied(cached))
      return undefined
    let req: CertificateRequest
    try {
      req = readCertificateRequest(cached.spec.request)
    } catch (err) {
      throw new TerminalError(`unable to parse csr "${name}": ${(err as Error).message}`)
    }
    const tried: string[] = []
    for (const r of recognizers) {
      if (!r.recognize(cached, req)) continue
      tried.push(r.subresource)
      if (!(await this.#o.review(accessReview(cached, r.subresource)))) continue
      const csr = structuredClone(cached) as CertificateSigningRequest
      csr.status = {
        ...csr.status,
        conditions: [
          ...(csr.status?.conditions ?? []),
          { type: certificateApproved, status: 'True', reason: autoApprovedReason, message: r.message },
        ],
      }
      await this.#o.updateApproval(csr)
      return undefined
    }
    if (tried.length > 0)
      throw new NotApprovedError(
        `recognized csr "${name}" as [${tried.join(' ')}] but subject access review was not approved`,
      )
    return undefined
  }
}

/** Whether the requester of a CSR may create certificatesigningrequests/<subresource>. */
export function accessReview(
  csr: Readonly<CertificateSigningRequest>,
  subresource: string,
): SubjectAccessReview {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: csr.spec.username ?? '',
      ...(csr.spec.uid ? { uid: csr.spec.uid } : {}),
      groups: [...(csr.spec.groups ?? [])],
      ...(csr.spec.extra ? { extra: structuredClone(csr.spec.extra) } : {}),
      resourceAttributes: {
        group: 'certificates.k8s.io',
        resource: 'certificatesigningrequests',
        verb: 'create',
        subresource,
      },
    },
  }
}

function isNodeClientRequest(csr: Readonly<CertificateSigningRequest>, req: CertificateRequest): boolean {
  return (
    csr.spec.signerName === kubeAPIServerClientKubeletSignerName &&
    kubeletClientRequestError(req, csr.spec.usages ?? []) === undefined
  )
}

export const csrApprovingController: ControllerDefinition = {
  name: 'csrapproving',
  eventSource: 'csrapproving',
  serviceAccount: 'certificate-controller',
  setup(ctx) {
    const csrs = ctx.informers.informer<CertificateSigningRequest>(
      builtin('certificates.k8s.io', 'v1', 'certificatesigningrequests'),
    )
    const client = ctx.client<CertificateSigningRequest>(csrs.resource)
    const reviews = ctx.client<SubjectAccessReview>(
      builtin('authorization.k8s.io', 'v1', 'subjectaccessreviews'),
    )
    const approver = new CSRApprover({
      csrs: csrs.lister,
      review: async (sar) => (await reviews.create(sar)).status?.allowed === true,
      updateApproval: (csr) =>
        client.subresource(
          'PUT',
          { namespace: '', name: csr.metadata?.name ?? '', subresource: 'approval' },
          { body: csr },
        ),
      clock: ctx.clock,
    })
    const enqueue = (csr: Readonly<CertificateSigningRequest>) => approver.queue.add(csr.metadata?.name ?? '')
    csrs.addHandler({ add: enqueue, update: (_old, csr) => enqueue(csr) })
    return (signal) => runWorkers(approver.queue, approver, { workers: 1, signal, log: ctx.log })
  },
}
