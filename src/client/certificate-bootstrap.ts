import { X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { decodePem } from '../api/certificate-request.ts'
import {
  certificateApproved,
  certificateDenied,
  certificateFailed,
  kubeAPIServerClientKubeletSignerName,
  nodesGroup,
  nodeUserPrefix,
} from '../api/certificate-signing-request.ts'
import type { CertificateSigningRequest } from '../api/generated/types/certificates-v1.ts'
import { realClock, type Clock } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import { createCertificateRequest, digestedRequestName, publicKeyDerOf } from '../pki/certificate-requests.ts'
import { writeKubeconfig } from '../pki/kubeconfig.ts'
import type { ClientConfig } from './config.ts'
import { isAlreadyExists, isNotFound } from './errors.ts'
import { builtin, ResourceClient } from './resource.ts'
import { RestClient } from './rest.ts'

/**
 * A node's client certificate, obtained and renewed through CertificateSigningRequests as the
 * kubelet does it (TLS bootstrapping, then client certificate rotation):
 *
 *   no valid certificate ──bootstrap token──▶ CSR node-csr-<digest> ──approved, issued──▶ certificate
 *        ▲                                                                                   │
 *        └──── expired, and no renewal went through              70–90 % of its lifetime ────┤
 *                                                                                            ▼
 *                                            CSR csr-<random>, made with the certificate itself
 *
 * The request is for signer kubernetes.io/kube-apiserver-client-kubelet, CN system:node:<name>,
 * O system:nodes, usages digital signature and client auth, on a new ECDSA P-256 key. The
 * controller-manager approves it (csrapproving: nodeclient for the bootstrap token,
 * selfnodeclient for a renewal) and signs it (csrsigning).
 *
 * On disk, as the kubelet keeps them: <certDir>/kubelet-client-<time>.pem holds certificate and
 * key, kubelet-client-current.pem links to the newest, and the kubeconfig's user points at that
 * link, so that a client made after a rotation reads the new pair.
 */
export interface NodeClientCertificateOptions {
  /** https://host:port of the apiserver. */
  server: string
  /** PEM of the cluster CA, which verifies the apiserver. */
  ca: string
  nodeName: string
  /** Where kubelet-client-<time>.pem and kubelet-client-current.pem are kept. */
  certDir: string
  /** The kubeconfig written for the node, whose user is kubelet-client-current.pem. */
  kubeconfigPath: string
  /** The bootstrap token (`<id>.<secret>`) asked with when there is no valid certificate. */
  bootstrapToken?: string
  /** How long a request may wait to be approved and issued (default an hour, as the kubelet's). */
  waitTimeoutMs?: number
  /** spec.expirationSeconds of the requests (default: none, the signer's duration). */
  expirationSeconds?: number
  /** Sent as User-Agent (default kubelet's). */
  userAgent?: string
  clock?: Clock
  log?: Logger
}

/** A certificate and its key as kept on disk; times in ms since the epoch. */
export interface NodeClientCertificate {
  readonly certPem: string
  readonly keyPem: string
  readonly notBefore: number
  readonly notAfter: number
}

/** The request was denied or failed; asking again will not change that. */
export class CertificateRequestRefusedError extends Error {
  override readonly name = 'CertificateRequestRefusedError'
}

export const kubeletClientPairName = 'kubelet-client'
/** The usages a kubelet asks for with an ECDSA key (key encipherment only goes with RSA). */
export const kubeletClientUsages = ['digital signature', 'client auth'] as const

const defaultUserAgent = 'kubelet/v1.35.0 (linux/amd64) k8ts'
const defaultWaitMs = 3_600_000

/**
 * The node's client certificate: the one kept in certDir when it is valid now (the kubeconfig
 * is written again if missing), else a new one through a CSR made with the bootstrap token.
 * Resolves once the certificate is issued and stored; rejects with
 * CertificateRequestRefusedError when the request is denied or fails, or an error when there is
 * no certificate and no token, or the wait times out.
 */
export async function bootstrapNodeClientCertificate(
  o: NodeClientCertificateOptions,
  signal?: AbortSignal,
): Promise<NodeClientCertificate> {
  const clock = o.clock ?? realClock
  const current = loadCurrentCertificate(o.certDir)
  if (current && isValidAt(current, clock.now())) {
    if (!existsSync(o.kubeconfigPath)) writeNodeKubeconfig(o)
    return current
  }
  if (!o.bootstrapToken)
    throw new Error(`no valid client certificate in ${o.certDir} and no bootstrap token to request one with`)
  // The key of a request made before a restart is kept, so that the request is found again.
  const keyFile = join(o.certDir, `${kubeletClientPairName}.key.tmp`)
  mkdirSync(o.certDir, { recursive: true, mode: 0o700 })
  let keyPem = existsSync(keyFile) ? readFileSync(keyFile, 'utf8') : undefined
  const subject = nodeSubject(o.nodeName)
  const request = await createCertificateRequest({ subject, ...(keyPem ? { keyPem } : {}) })
  if (!keyPem) {
    keyPem = request.keyPem
    writeFileSync(keyFile, keyPem, { mode: 0o600 })
  }
  const name = digestedRequestName({
    publicKeyDer: publicKeyDerOf(keyPem),
    subject,
    usages: kubeletClientUsages,
  })
  const rest = new RestClient(
    { server: o.server, ca: o.ca, token: o.bootstrapToken, userAgent: o.userAgent ?? defaultUserAgent },
    { clock },
  )
  try {
    o.log?.info({ csr: name }, 'requesting a client certificate with the bootstrap token')
    const certPem = await obtainCertificate(rest, { ...o, name, csrPem: request.csrPem }, signal)
    const stored = storeCertificate(o.certDir, { certPem, keyPem }, clock.now())
    writeNodeKubeconfig(o)
    rmSync(keyFile, { force: true })
    o.log?.info({ csr: name, notAfter: new Date(stored.notAfter).toISOString() }, 'client certificate issued')
    return stored
  } finally {
    await rest.close()
  }
}

/**
 * Renews the node's client certificate before it expires, as the kubelet's certificate manager:
 * at a random point between 70 and 90 % of its lifetime (so that nodes spread their requests),
 * through a new CSR made with the certificate itself (the bootstrap token when it has expired),
 * retried after 2, 4, 8, 16 and then every 32 seconds while it fails.
 */
export class NodeClientCertificateManager {
  readonly #o: NodeClientCertificateOptions
  readonly #clock: Clock
  readonly #random: () => number
  readonly #onRotated: ((cert: NodeClientCertificate) => void) | undefined
  #current: NodeClientCertificate | undefined

  constructor(
    o: NodeClientCertificateOptions & {
      /** Told after each rotation, to make new clients with the new pair. */
      onRotated?: (cert: NodeClientCertificate) => void
      /** Math.random, replaced in tests. */
      random?: () => number
    },
  ) {
    this.#o = o
    this.#clock = o.clock ?? realClock
    this.#random = o.random ?? Math.random
    this.#onRotated = o.onRotated
    this.#current = loadCurrentCertificate(o.certDir)
  }

  /** The certificate in use (undefined before one was issued). */
  current(): NodeClientCertificate | undefined {
    return this.#current
  }

  /**
   * When to renew: notBefore plus 70 to 90 % of the lifetime; now when there is no certificate
   * or it has expired.
   */
  nextRotationDeadline(): number {
    const c = this.#current
    const now = this.#clock.now()
    if (!c || !isValidAt(c, now)) return now
    const total = c.notAfter - c.notBefore
    return c.notBefore + total * (0.7 + 0.2 * this.#random())
  }

  /** Renews the certificate now; resolves to the new one, stored and in use. */
  async rotate(signal?: AbortSignal): Promise<NodeClientCertificate> {
    const now = this.#clock.now()
    const c = this.#current
    const config: ClientConfig = {
      server: this.#o.server,
      ca: this.#o.ca,
      userAgent: this.#o.userAgent ?? defaultUserAgent,
    }
    if (c && isValidAt(c, now)) {
      config.cert = c.certPem
      config.key = c.keyPem
    } else if (this.#o.bootstrapToken) {
      config.token = this.#o.bootstrapToken
    } else {
      throw new Error('the client certificate has expired and there is no bootstrap token to renew it with')
    }
    const request = await createCertificateRequest({ subject: nodeSubject(this.#o.nodeName) })
    const rest = new RestClient(config, { clock: this.#clock })
    try {
      const certPem = await obtainCertificate(rest, { ...this.#o, csrPem: request.csrPem }, signal)
      const stored = storeCertificate(this.#o.certDir, { certPem, keyPem: request.keyPem }, this.#clock.now())
      if (!existsSync(this.#o.kubeconfigPath)) writeNodeKubeconfig(this.#o)
      this.#current = stored
      this.#o.log?.info({ notAfter: new Date(stored.notAfter).toISOString() }, 'client certificate rotated')
      this.#onRotated?.(stored)
      return stored
    } finally {
      await rest.close()
    }
  }

  /** Rotates at each deadline until stopped. */
  start(): { stop(): Promise<void> } {
    const abort = new AbortController()
    const loop = this.#run(abort.signal)
    return {
      stop: async () => {
        abort.abort()
        await loop
      },
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    const retries = [2_000, 4_000, 8_000, 16_000]
    while (!signal.aborted) {
      try {
        const wait = this.nextRotationDeadline() - this.#clock.now()
        if (wait > 0) await this.#clock.sleep(wait, signal)
        for (let attempt = 0; ; attempt++) {
          try {
            await this.rotate(signal)
            break
          } catch (err) {
            if (signal.aborted) return
            this.#o.log?.warn({ err: (err as Error).message }, 'client certificate rotation failed')
            await this.#clock.sleep(retries[attempt] ?? 32_000, signal)
          }
        }
      } catch {
        if (signal.aborted) return
      }
    }
  }
}

/** The certificate kept as kubelet-client-current.pem, if there is one that can be read. */
export function loadCurrentCertificate(certDir: string): NodeClientCertificate | undefined {
  const path = join(certDir, `${kubeletClientPairName}-current.pem`)
  if (!existsSync(path)) return undefined
  try {
    return pairOf(readFileSync(path, 'utf8'))
  } catch {
    return undefined
  }
}

/**
 * Creates the request (or finds the one of that name made before, if it asks for the same) and
 * waits until it is issued.
 */
async function obtainCertificate(
  rest: RestClient,
  o: { name?: string; csrPem: string; expirationSeconds?: number; waitTimeoutMs?: number },
  signal?: AbortSignal,
): Promise<string> {
  const csrs = new ResourceClient<CertificateSigningRequest>(
    rest,
    builtin('certificates.k8s.io', 'v1', 'certificatesigningrequests'),
  )
  const request = Buffer.from(o.csrPem).toString('base64')
  const csr: CertificateSigningRequest = {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: o.name ? { name: o.name } : { generateName: 'csr-' },
    spec: {
      request,
      signerName: kubeAPIServerClientKubeletSignerName,
      usages: [...kubeletClientUsages],
      ...(o.expirationSeconds !== undefined ? { expirationSeconds: o.expirationSeconds } : {}),
    },
  }
  let made: CertificateSigningRequest
  try {
    made = await csrs.create(csr, signal ? { signal } : {})
  } catch (err) {
    if (!o.name || !isAlreadyExists(err)) throw err
    made = await csrs.get('', o.name, signal ? { signal } : {})
    if (
      made.spec.request !== request ||
      made.spec.signerName !== csr.spec.signerName ||
      JSON.stringify(made.spec.usages) !== JSON.stringify(csr.spec.usages)
    )
      throw new Error(`retrieved csr "${o.name}" is not compatible`)
  }
  const timeout = AbortSignal.timeout(o.waitTimeoutMs ?? defaultWaitMs)
  return waitForCertificate(csrs, made, signal ? AbortSignal.any([signal, timeout]) : timeout)
}

/**
 * Watches the request until it is issued (its certificate, PEM), denied or failed
 * (CertificateRequestRefusedError), deleted or replaced, or the signal aborts.
 */
async function waitForCertificate(
  csrs: ResourceClient<CertificateSigningRequest>,
  made: CertificateSigningRequest,
  signal: AbortSignal,
): Promise<string> {
  const name = made.metadata?.name ?? ''
  const uid = made.metadata?.uid ?? ''
  const fieldSelector = `metadata.name=${name}`
  const outcome = (csr: CertificateSigningRequest | undefined): string | undefined => {
    if (!csr) throw new Error(`csr "${name}" was deleted`)
    if (csr.metadata?.uid !== uid) throw new Error(`csr "${name}" changed UIDs`)
    for (const c of csr.status?.conditions ?? []) {
      if (c.type === certificateDenied)
        throw new CertificateRequestRefusedError(
          `certificate signing request is denied, reason: ${c.reason ?? ''}, message: ${c.message ?? ''}`,
        )
      if (c.type === certificateFailed)
        throw new CertificateRequestRefusedError(
          `certificate signing request failed, reason: ${c.reason ?? ''}, message: ${c.message ?? ''}`,
        )
    }
    const approved = (csr.status?.conditions ?? []).some((c) => c.type === certificateApproved)
    const cert = csr.status?.certificate ?? ''
    return approved && cert !== '' ? Buffer.from(cert, 'base64').toString('utf8') : undefined
  }
  try {
    for (;;) {
      const list = await csrs.list('', { fieldSelector, signal })
      const now = outcome(list.items[0])
      if (now !== undefined) return now
      const events = csrs.watch('', {
        fieldSelector,
        resourceVersion: list.metadata.resourceVersion ?? '',
        timeoutSeconds: 300,
        signal,
      })
      for await (const ev of events) {
        if (ev.type === 'ERROR') break // expired resourceVersion and the like: list again
        if (ev.type === 'BOOKMARK') continue
        const got = outcome(ev.type === 'DELETED' ? undefined : ev.object)
        if (got !== undefined) return got
      }
      signal.throwIfAborted()
    }
  } catch (err) {
    if (signal.aborted && !(err instanceof CertificateRequestRefusedError)) {
      throw new Error(`timed out waiting for csr "${name}" to be issued`, { cause: err })
    }
    if (isNotFound(err)) throw new Error(`csr "${name}" was deleted`, { cause: err })
    throw err
  }
}

/**
 * Writes kubelet-client-<time>.pem (certificate, then key) and points kubelet-client-current.pem
 * at it, replacing the link in one rename so a reader sees the old pair or the new.
 */
function storeCertificate(
  certDir: string,
  pair: { certPem: string; keyPem: string },
  now: number,
): NodeClientCertificate {
  mkdirSync(certDir, { recursive: true, mode: 0o700 })
  const stamp = new Date(now).toISOString().slice(0, 19).replace(/[T:]/g, '-')
  const file = join(certDir, `${kubeletClientPairName}-${stamp}.pem`)
  const text = `${pair.certPem.trimEnd()}\n${pair.keyPem.trimEnd()}\n`
  const stored = pairOf(text)
  writeFileSync(file, text, { mode: 0o600 })
  const link = join(certDir, `${kubeletClientPairName}-current.pem`)
  const next = join(certDir, `${kubeletClientPairName}-updated.pem`)
  rmSync(next, { force: true })
  symlinkSync(file, next)
  renameSync(next, link)
  return stored
}

/** The node's kubeconfig: the cluster of the options, the user kubelet-client-current.pem. */
function writeNodeKubeconfig(o: NodeClientCertificateOptions): void {
  const current = join(o.certDir, `${kubeletClientPairName}-current.pem`)
  mkdirSync(dirname(o.kubeconfigPath), { recursive: true })
  writeKubeconfig(o.kubeconfigPath, {
    server: o.server,
    caPem: o.ca,
    clientCertificateFile: current,
    clientKeyFile: current,
    clusterName: 'default-cluster',
    userName: 'default-auth',
    contextName: 'default-context',
  })
}

function nodeSubject(nodeName: string) {
  return { commonName: `${nodeUserPrefix}${nodeName}`, organizations: [nodesGroup] }
}

/** The certificate and key of a PEM file holding both; throws when either is missing. */
function pairOf(text: string): NodeClientCertificate {
  let certPem: string | undefined
  let keyPem: string | undefined
  let rest = text
  for (let block = decodePem(rest); block; block = decodePem(rest)) {
    const pem = rest.slice(0, rest.length - block.rest.length).trim()
    const at = pem.indexOf('-----BEGIN')
    const only = `${pem.slice(at)}\n`
    if (block.type === 'CERTIFICATE') certPem ??= only
    else if (block.type.endsWith('PRIVATE KEY')) keyPem ??= only
    rest = block.rest
  }
  if (!certPem || !keyPem) throw new Error('the file holds no certificate and key')
  const cert = new X509Certificate(certPem)
  return { certPem, keyPem, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) }
}

function isValidAt(c: NodeClientCertificate, now: number): boolean {
  return now >= c.notBefore && now < c.notAfter
}
