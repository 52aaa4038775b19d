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
 * the request carries no credentials of this kind, so the next authenticator can try; throws (or
 * rejects) when it carries such credentials and they are bad, with an Error whose message says
 * why (what kube-apiserver logs; the client only ever sees 401 Unauthorized).
 */
export interface Authenticator {
  authenticate(req: IncomingMessage): UserInfo | undefined | Promise<UserInfo | undefined>
}

export const allAuthenticated = 'system:authenticated'
export const anonymousUser: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] }

/**
 * Tries each authenticator in turn, as kube-apiserver's union of request authenticators: the first
 * that authenticates the request decides, even when one before it refused its credentials (a bad
 * client certificate beside a good token is the token's user). When none authenticates and some
 * refused, the request fails with their reasons (and is not anonymous); when none knew the
 * credentials, the answer is undefined.
 */
export function unionAuthenticator(authenticators: readonly Authenticator[]): Authenticator {
  // Synchronous while the authenticators are (certificates, token files): no promise per request.
  const from = (
    i: number,
    req: IncomingMessage,
    refusals: unknown[],
  ): UserInfo | undefined | Promise<UserInfo | undefined> => {
    for (; i < authenticators.length; i++) {
      const a = authenticators[i] as Authenticator
      let user: UserInfo | undefined | Promise<UserInfo | undefined>
      try {
        user = a.authenticate(req)
      } catch (err) {
        refusals.push(err)
        continue
      }
      if (user instanceof Promise) {
        const next = i + 1
        return user.then(
          (u) => (u ? withAuthenticatedGroup(u) : from(next, req, refusals)),
          (err: unknown) => {
            refusals.push(err)
            return from(next, req, refusals)
          },
        )
      }
      if (user) return withAuthenticatedGroup(user)
    }
    if (refusals.length > 0) throw new AuthenticationFailed(refusals)
    return undefined
  }
  return { authenticate: (req) => from(0, req, []) }
}

/** The request carried credentials and none were good: the reasons, one per authenticator. */
export class AuthenticationFailed extends Error {
  override readonly name = 'AuthenticationFailed'
  readonly refusals: readonly unknown[]
  constructor(refusals: readonly unknown[]) {
    const reasons = [...new Set(refusals.map((e) => (e instanceof Error ? e.message : String(e))))]
    super(reasons.length === 1 ? reasons[0] : `[${reasons.join(', ')}]`)
    this.refusals = refusals
  }
}

/**
 * Every authenticated user is in system:authenticated, as in Kubernetes. The user with the group
 * added is made once per user object (a token file's user, a connection's certificate user), so
 * that each request of a user hands authorization the same object: RBAC keeps what it resolved
 * by user object.
 */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.groups.includes(allAuthenticated)) return user
  let added = authenticatedUsers.get(user)
  if (added === undefined) {
    added = { ...user, groups: [...user.groups, allAuthenticated] }
    authenticatedUsers.set(user, added)
  }
  return added
}

const authenticatedUsers = new WeakMap<UserInfo, UserInfo>()
