import type { IncomingMessage } from 'node:http'
import type { Authenticator, UserInfo } from './authenticator.ts'

/**
 * Bearer tokens: the token authenticators (static token file, service account tokens, bootstrap
 * tokens) behind one `Authorization: Bearer` authenticator, as kube-apiserver unions them.
 *
 * A token authenticator answers `undefined` for a token that is not its kind (the next one may
 * know it), `rejected` with a reason for one of its kind that is bad, or `authenticated`. The
 * request is authenticated by the first that accepts the token; when none does it gets 401, and
 * the reasons are what a TokenReview reports (`[invalid bearer token, service account token has
 * expired]`).
 *
 * Audiences: a token is for some audiences (the `aud` claim of a JWT). The apiserver accepts
 * tokens for its own, --api-audiences (by default the service account issuer); a TokenReview may
 * ask on behalf of another audience. Authenticators whose tokens carry no audience (token file,
 * bootstrap tokens) are valid for the apiserver's audiences only (audienceAgnostic).
 */
export type TokenResult =
  | { readonly kind: 'authenticated'; readonly user: UserInfo; readonly audiences: readonly string[] }
  | { readonly kind: 'rejected'; readonly reason: string }
  | undefined

export interface TokenAuthenticator {
  /** `audiences`: what the token must be valid for. */
  authenticateToken(token: string, audiences: readonly string[]): TokenResult | Promise<TokenResult>
}

/** The outcome of a token against every token authenticator. */
export type TokenOutcome =
  | { readonly authenticated: true; readonly user: UserInfo; readonly audiences: readonly string[] }
  | { readonly authenticated: false; readonly error: string }

/** Kubernetes' message for a bearer token no authenticator accepted. */
export const invalidBearerToken = 'invalid bearer token'

/**
 * Runs the token through each authenticator in turn; the first that accepts it decides. Stays
 * synchronous while the authenticators answer synchronously (a cached token, objects in memory).
 */
export function authenticateToken(
  authenticators: readonly TokenAuthenticator[],
  token: string,
  audiences: readonly string[],
): TokenOutcome | Promise<TokenOutcome> {
  const reasons: string[] = []
  const from = (i: number): TokenOutcome | Promise<TokenOutcome> => {
    for (; i < authenticators.length; i++) {
      const r = (authenticators[i] as TokenAuthenticator).authenticateToken(token, audiences)
      if (r instanceof Promise) {
        const next = i + 1
        return r.then((x) => settle(x) ?? from(next))
      }
      const done = settle(r)
      if (done) return done
    }
    return { authenticated: false, error: failureMessage(reasons) }
  }
  const settle = (r: TokenResult): TokenOutcome | undefined => {
    if (r?.kind === 'authenticated') return { authenticated: true, user: r.user, audiences: r.audiences }
    if (r?.kind === 'rejected') reasons.push(r.reason)
    return undefined
  }
  return from(0)
}

/**
 * The failure as kube-apiserver words it: its loopback token authenticator and the union of the
 * others each say why, and Kubernetes' error aggregate drops repeats and brackets lists.
 */
function failureMessage(reasons: readonly string[]): string {
  return aggregateMessage([invalidBearerToken, ...(reasons.length > 0 ? reasons : [invalidBearerToken])])
}

/** Kubernetes' error aggregate: one message alone, several as `[a, b]`, repeats dropped. */
export function aggregateMessage(messages: readonly string[]): string {
  const unique = [...new Set(messages)]
  return unique.length === 1 ? (unique[0] as string) : `[${unique.join(', ')}]`
}

/**
 * `Authorization: Bearer <token>`: no header (or another scheme) leaves the request to other
 * authenticators; a token nobody accepts is refused with the reasons (the request gets 401).
 */
export function bearerTokenAuthenticator(
  authenticators: readonly TokenAuthenticator[],
  apiAudiences: readonly string[],
): Authenticator {
  const known = (o: TokenOutcome): UserInfo => {
    if (!o.authenticated) throw new Error(o.error)
    return o.user
  }
  return {
    authenticate(req: IncomingMessage) {
      const token = bearerToken(req.headers.authorization)
      if (token === undefined) return undefined
      const outcome = authenticateToken(authenticators, token, apiAudiences)
      return outcome instanceof Promise ? outcome.then(known) : known(outcome)
    },
  }
}

/** The token of an `Authorization: Bearer <token>` header (the scheme in any case). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header)
  return m ? m[1] : undefined
}

/**
 * Tokens that carry no audience are for the apiserver: they authenticate when the audiences
 * asked for include one of the apiserver's, and then for those.
 */
export function audienceAgnostic(
  inner: TokenAuthenticator,
  apiAudiences: readonly string[],
): TokenAuthenticator {
  return {
    authenticateToken(token, audiences) {
      // Most requests ask for the apiserver's own audiences, the very array.
      const common = audiences === apiAudiences ? apiAudiences : intersect(apiAudiences, audiences)
      if (common.length === 0) return undefined
      const r = inner.authenticateToken(token, audiences)
      return r instanceof Promise ? r.then((x) => forAudiences(x, common)) : forAudiences(r, common)
    },
  }
}

/** An authentication valid for `audiences`; other results as they are. */
function forAudiences(r: TokenResult, audiences: readonly string[]): TokenResult {
  return r?.kind === 'authenticated' ? { kind: 'authenticated', user: r.user, audiences } : r
}

/** The members of `a` that are in `b`, in a's order. */
export function intersect(a: readonly string[], b: readonly string[]): string[] {
  const set = new Set(b)
  return a.filter((x) => set.has(x))
}
