import type { PeerCertificate, TLSSocket } from 'node:tls'
import type { Authenticator, UserInfo } from './authenticator.ts'

/**
 * Client certificates signed by the cluster CA: the subject's CN is the user name and each O is
 * a group, as kube-apiserver's x509 authenticator reads them.
 *
 * The TLS server asks for a client certificate but does not require one, and does not refuse the
 * handshake over a bad one (kube-apiserver's tls.VerifyClientCertIfGiven is checked after the
 * handshake, by this authenticator): OpenSSL's verdict on the chain, validity period and purpose
 * (clientAuth) is `socket.authorized`. A connection without a certificate is not this
 * authenticator's; one whose certificate failed is refused (401, even with anonymous requests
 * allowed, unless another authenticator, a bearer token, knows the request), with Go's wording of
 * the reason for the log. A good certificate that has since expired is refused from then on, as
 * kube-apiserver verifies the chain on every request. The verdict is kept per connection.
 */
export function x509Authenticator(): Authenticator {
  const byConnection = new WeakMap<TLSSocket, Verdict>()
  return {
    authenticate(req) {
      const socket = req.socket as TLSSocket
      if (typeof socket.getPeerCertificate !== 'function') return undefined
      let verdict = byConnection.get(socket)
      if (verdict === undefined) {
        verdict = verify(socket)
        byConnection.set(socket, verdict)
      }
      switch (verdict.kind) {
        case 'none':
          return undefined
        case 'refused':
          throw new Error(verdict.reason)
        case 'verified': {
          const now = Date.now()
          if (now > verdict.notAfter) {
            throw new Error(
              `${verdict.identifier} failed: x509: certificate has expired or is not yet valid: current time ${rfc3339(now)} is after ${rfc3339(verdict.notAfter)}`,
            )
          }
          return verdict.user ?? undefined
        }
      }
    },
  }
}

type Verdict =
  | { readonly kind: 'none' }
  | { readonly kind: 'refused'; readonly reason: string }
  /** user null: a good certificate without a CN, which names nobody. */
  | {
      readonly kind: 'verified'
      readonly user: UserInfo | null
      readonly notAfter: number
      readonly identifier: string
    }

function verify(socket: TLSSocket): Verdict {
  const cert = socket.getPeerCertificate()
  if (!cert || !('raw' in cert) || cert.raw === undefined) return { kind: 'none' }
  const identifier = `verifying certificate SN=${serialOf(cert)}`
  if (!socket.authorized) {
    return { kind: 'refused', reason: `${identifier} failed: ${x509Reason(socket.authorizationError, cert)}` }
  }
  return { kind: 'verified', user: userOf(cert), notAfter: Date.parse(cert.valid_to), identifier }
}

function userOf(cert: PeerCertificate): UserInfo | null {
  const subject = cert.subject as Record<string, string | string[] | undefined> | undefined
  const cn = subject?.CN
  const name = Array.isArray(cn) ? cn[0] : cn
  if (name === undefined || name === '') return null
  const o = subject?.O
  const groups = o === undefined ? [] : Array.isArray(o) ? o : [o]
  return { name, groups }
}

/** OpenSSL's verification error, in the words of Go's crypto/x509 (which kube-apiserver logs). */
function x509Reason(error: unknown, cert: PeerCertificate): string {
  // Node gives OpenSSL's code as a string (typed as an Error).
  const code =
    typeof error === 'string' ? error : ((error as { code?: string } | undefined)?.code ?? String(error))
  const now = rfc3339(Date.now())
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return `x509: certificate has expired or is not yet valid: current time ${now} is after ${rfc3339(Date.parse(cert.valid_to))}`
    case 'CERT_NOT_YET_VALID':
      return `x509: certificate has expired or is not yet valid: current time ${now} is before ${rfc3339(Date.parse(cert.valid_from))}`
    case 'INVALID_PURPOSE':
      return 'x509: certificate specifies an incompatible key usage'
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'CERT_SIGNATURE_FAILURE':
      return 'x509: certificate signed by unknown authority'
    default:
      return `x509: ${code}`
  }
}

/** The serial number in decimal, as Go prints a big.Int. */
function serialOf(cert: PeerCertificate): string {
  try {
    return BigInt(`0x${cert.serialNumber}`).toString()
  } catch {
    return cert.serialNumber
  }
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}
