import { verify as verifySignature, X509Certificate } from 'node:crypto'
import type { Server } from 'node:http'
import type { MessagePort } from 'node:worker_threads'
import type { PeerCertificate } from 'node:tls'
import type { Logger } from 'pino'
import {
  type InProcessHello,
  Link,
  type LinkEnd,
  LinkSocket,
  proofDigest,
  proofText,
} from '../base/in-process.ts'

/**
 * The apiserver's end of the in-process transport (src/base/in-process.ts): each connection a
 * link opens is one of the HTTP server that runs the same request pipeline as the HTTPS one.
 *
 * What TLS would tell of the client is told here the same way (`authorized`, `authorizationError`,
 * `getPeerCertificate()`), so that the x509 authenticator reads both alike. A certificate whose
 * proof does not verify (the client does not hold its key) is refused outright, as a TLS handshake
 * fails; one that does but that the client CA did not sign, or that has expired, or whose
 * extended key usage leaves out client authentication, connects with OpenSSL's verdict, and the
 * authenticator refuses its requests (401) as it refuses them over TLS.
 */
export interface InProcessServer {
  /** Serves the connections of a link (its apiserver's end, from the listener). */
  serve(link: MessagePort): void
  /** Closes every link and connection (the HTTP server tracks only those of a port it listens on). */
  close(): void
}

export function inProcessServer(
  server: Server,
  clientCA: string,
  log: Pick<Logger, 'warn'>,
): InProcessServer {
  const links = new Set<Link>()
  let closed = false
  // The bundle is read once; each connection's certificate is checked against it.
  const authorities = pemBlocks(clientCA).map((pem) => new X509Certificate(pem))
  const accept = (hello: InProcessHello, end: LinkEnd): LinkSocket | undefined => {
    let peer: Peer | undefined
    if (hello.certificate !== undefined) {
      try {
        peer = verifyPeer(hello, authorities, Date.now())
      } catch (err) {
        log.warn({ err }, 'in-process connection refused')
        return undefined
      }
    }
    const socket = new InProcessSocket(end, peer)
    server.emit('connection', socket)
    return socket
  }
  return {
    serve(port) {
      if (closed) {
        port.close()
        return
      }
      const link = new Link(port, { accept })
      links.add(link)
      port.once('close', () => links.delete(link))
    },
    close() {
      closed = true
      for (const link of links) link.close()
      links.clear()
    },
  }
}

interface Peer {
  certificate: PeerCertificate
  /** OpenSSL's code of the first thing wrong with the certificate, as a TLS socket's authorizationError. */
  error: string | undefined
}

class InProcessSocket extends LinkSocket {
  readonly authorized: boolean
  readonly authorizationError: string | undefined
  readonly #peer: Peer | undefined

  constructor(end: LinkEnd, peer: Peer | undefined) {
    super(end)
    this.#peer = peer
    this.authorized = peer !== undefined && peer.error === undefined
    this.authorizationError = peer?.error
  }

  /** As a TLS socket's: the client's certificate, or an empty object without one. */
  getPeerCertificate(): PeerCertificate | Record<string, never> {
    return this.#peer?.certificate ?? {}
  }
}

const clientAuth = '1.3.6.1.5.5.7.3.2'
const anyExtendedKeyUsage = '2.5.29.37.0'

function verifyPeer(hello: InProcessHello, authorities: readonly X509Certificate[], now: number): Peer {
  const leaf = new X509Certificate(firstPem(hello.certificate ?? ''))
  const proof = hello.proof
  if (!proof) throw new Error('a certificate without proof of its key')
  const key = leaf.publicKey
  if (
    !verifySignature(proofDigest(key), proofText(proof.nonce), key, Buffer.from(proof.signature, 'base64'))
  ) {
    throw new Error('the proof of the certificate key does not verify')
  }
  return { certificate: peerCertificate(leaf), error: verdict(leaf, authorities, now) }
}

/** What OpenSSL would find wrong with a client certificate, checked against the client CA bundle. */
function verdict(
  leaf: X509Certificate,
  authorities: readonly X509Certificate[],
  now: number,
): string | undefined {
  const issuer = authorities.find((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))
  if (!issuer) return 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
  for (const c of [leaf, issuer]) {
    if (now < Date.parse(c.validFrom)) return 'CERT_NOT_YET_VALID'
    if (now > Date.parse(c.validTo)) return 'CERT_HAS_EXPIRED'
  }
  const usages = leaf.keyUsage
  if (usages !== undefined && !usages.includes(clientAuth) && !usages.includes(anyExtendedKeyUsage)) {
    return 'INVALID_PURPOSE'
  }
  return undefined
}

/** The certificate as tls.TLSSocket's getPeerCertificate() gives it, the fields the apiserver reads. */
function peerCertificate(c: X509Certificate): PeerCertificate {
  return {
    raw: c.raw,
    subject: distinguishedName(c.subject),
    issuer: distinguishedName(c.issuer),
    valid_from: c.validFrom,
    valid_to: c.validTo,
    serialNumber: c.serialNumber,
    fingerprint: c.fingerprint,
    fingerprint256: c.fingerprint256,
    fingerprint512: c.fingerprint512,
  } as PeerCertificate
}

/** `CN=a\nO=b\nO=c` as getPeerCertificate's object: a repeated attribute's values in an array. */
function distinguishedName(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const name = line.slice(0, eq)
    const value = line.slice(eq + 1)
    const had = out[name]
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value]
  }
  return out
}

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
}

function firstPem(text: string): string {
  const first = pemBlocks(text)[0]
  if (first === undefined) throw new Error('the client certificate is not PEM')
  return first
}
