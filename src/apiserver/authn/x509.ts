import type { TLSSocket } from 'node:tls'
import type { Authenticator, UserInfo } from './authenticator.ts'

/**
 * Client certificates signed by the cluster CA: the subject's CN is the user name and each O is
 * a group, as kube-apiserver's x509 authenticator reads them. The TLS layer has already verified
 * the chain (`socket.authorized`); a certificate it did not accept is ignored, not an error, so a
 * token can still authenticate the request. The answer is kept per connection.
 */
export function x509Authenticator(): Authenticator {
  const byConnection = new WeakMap<TLSSocket, UserInfo | null>()
  return {
    authenticate(req) {
      const socket = req.socket as TLSSocket
      if (typeof socket.getPeerCertificate !== 'function') return undefined
      let user = byConnection.get(socket)
      if (user === undefined) {
        user = socket.authorized ? userOf(socket) : null
        byConnection.set(socket, user)
      }
      return user ?? undefined
    },
  }
}

function userOf(socket: TLSSocket): UserInfo | null {
  const cert = socket.getPeerCertificate()
  const subject = cert.subject as Record<string, string | string[] | undefined> | undefined
  const cn = subject?.CN
  const name = Array.isArray(cn) ? cn[0] : cn
  if (name === undefined || name === '') return null
  const o = subject?.O
  const groups = o === undefined ? [] : Array.isArray(o) ? o : [o]
  return { name, groups }
}
