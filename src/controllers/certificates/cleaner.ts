import {
  certificateApproved,
  certificateDenied,
  certificateFailed,
  isIssued,
} from '../../api/certificate-signing-request.ts'
import { parseCertificatesPem } from '../../api/certificate-request.ts'
import type { CertificateSigningRequest } from '../../api/generated/types/certificates-v1.ts'
import type { Clock } from '../../base/clock.ts'
import {
  builtin,
  isConflict,
  isNotFound,
  runWorkers,
  WorkQueue,
  type Lister,
  type Reconciler,
  type Requeue,
} from '../../client/index.ts'
import type { ControllerDefinition } from '../controller.ts'

/** How long requests stay once they are done with (kube-controller-manager's csrcleaner). */
export const approvedExpirationMs = 3_600_000
export const deniedExpirationMs = 3_600_000
export const pendingExpirationMs = 24 * 3_600_000

export interface CSRCleanerOptions {
  csrs: Lister<CertificateSigningRequest>
  /** Deletes the request if it still has this UID. */
  deleteRequest(name: string, uid: string): Promise<void>
  clock: Clock
}

/**
 * csrcleaner: requests pile up (every kubelet renews its certificate), so they are deleted once
 * past use:
 *
 *   issued (Approved with a certificate)  an hour after the approval was last updated, or once
 *                                         the certificate has expired
 *   Denied or Failed                      an hour after that condition was last updated
 *   pending (no condition at all)         a day after the request was made
 *
 * Approved requests that no signer issues are kept. Each request is looked at when it changes
 * and again when its next deadline comes.
 */
export class CSRCleaner implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: CSRCleanerOptions

  constructor(o: CSRCleanerOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  async reconcile(name: string): Promise<Requeue | undefined> {
    const csr = this.#o.csrs.get('', name)
    if (!csr) return undefined
    const at = cleanupTime(csr)
    if (at === undefined) return undefined
    const left = at - this.#o.clock.now()
    if (left >= 0) return { afterMs: left + 1 }
    await this.#o.deleteRequest(name, csr.metadata?.uid ?? '')
    return undefined
  }
}

/** When a request is to be deleted (ms since the epoch), by the first rule that applies; undefined for never. */
export function cleanupTime(csr: Readonly<CertificateSigningRequest>): number | undefined {
  const conditions = csr.status?.conditions ?? []
  const times: number[] = []
  const after = (stamp: string | undefined, ms: number) => {
    const t = stamp ? Date.parse(stamp) : NaN
    if (!Number.isNaN(t)) times.push(t + ms)
  }
  for (const c of conditions) {
    if (c.type === certificateApproved && isIssued(csr)) {
      after(c.lastUpdateTime, approvedExpirationMs)
      const expiry = certificateExpiry(csr)
      if (expiry !== undefined) times.push(expiry)
    }
    if (c.type === certificateDenied || c.type === certificateFailed)
      after(c.lastUpdateTime, deniedExpirationMs)
  }
  if (conditions.length === 0) after(csr.metadata?.creationTimestamp, pendingExpirationMs)
  return times.length > 0 ? Math.min(...times) : undefined
}

/** NotAfter of the issued certificate; undefined when it cannot be read. */
function certificateExpiry(csr: Readonly<CertificateSigningRequest>): number | undefined {
  try {
    const [cert] = parseCertificatesPem(
      Buffer.from(csr.status?.certificate ?? '', 'base64').toString('latin1'),
    )
    return cert ? Date.parse(cert.validTo) : undefined
  } catch {
    return undefined
  }
}

export const csrCleanerController: ControllerDefinition = {
  name: 'csrcleaner',
  eventSource: 'csrcleaner',
  serviceAccount: 'certificate-controller',
  setup(ctx) {
    const csrs = ctx.informers.informer<CertificateSigningRequest>(
      builtin('certificates.k8s.io', 'v1', 'certificatesigningrequests'),
    )
    const client = ctx.client<CertificateSigningRequest>(csrs.resource)
    const cleaner = new CSRCleaner({
      csrs: csrs.lister,
      deleteRequest: async (name, uid) => {
        try {
          await client.delete('', name, uid !== '' ? { preconditions: { uid } } : {})
        } catch (err) {
          if (!isNotFound(err) && !isConflict(err)) throw err
        }
      },
      clock: ctx.clock,
    })
    const enqueue = (csr: Readonly<CertificateSigningRequest>) => cleaner.queue.add(csr.metadata?.name ?? '')
    csrs.addHandler({ add: enqueue, update: (_old, csr) => enqueue(csr) })
    return (signal) => runWorkers(cleaner.queue, cleaner, { workers: 1, signal, log: ctx.log })
  },
}
