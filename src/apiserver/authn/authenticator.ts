import type { IncomingMessage } from 'node:http'

/** Who is asking: what authentication established, and what authorization and audit see. */
export interface UserInfo {
  readonly name: string
  readonly uid?: string
  readonly groups: readonly string[]
  readonly extra?: Readonly<Record<string, readonly string[]>>
}

/**
 * One way of proving identity (client certificates, bearer tokens, ...). Returns undefined when
 * the request carries no credentials of this kind, so the next authenticator can try; throws
 * (an ApiError 401) when it carries such credentials and they are bad.
 */
export interface Authenticator {
  authenticate(req: IncomingMessage): UserInfo | undefined | Promise<UserInfo | undefined>
}

export const allAuthenticated = 'system:authenticated'
export const anonymousUser: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] }

/** Tries each authenticator in turn; the first that knows the request decides. */
export function unionAuthenticator(authenticators: readonly Authenticator[]): Authenticator {
  // Synchronous while the authenticators are (certificates, token files): no promise per request.
  const from = (i: number, req: IncomingMessage): UserInfo | undefined | Promise<UserInfo | undefined> => {
    for (; i < authenticators.length; i++) {
      const a = authenticators[i] as Authenticator
      const user = a.authenticate(req)
      if (user instanceof Promise) {
        const next = i + 1
        return user.then((u) => (u ? withAuthenticatedGroup(u) : from(next, req)))
      }
      if (user) return withAuthenticatedGroup(user)
    }
    return undefined
  }
  return { authenticate: (req) => from(0, req) }
}

/** Every authenticated user is in system:authenticated, as in Kubernetes. */
function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.groups.includes(allAuthenticated)) return user
  return { ...user, groups: [...user.groups, allAuthenticated] }
}
