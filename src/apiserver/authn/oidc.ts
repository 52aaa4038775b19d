import { compactVerify, createRemoteJWKSet, customFetch, errors, type FetchImplementation } from 'jose'
import type { Logger } from 'pino'
import { Agent, fetch } from 'undici'
import type { Clock } from '../../base/clock.ts'
import { parseJws } from '../../pki/index.ts'
import type { TokenAuthenticator, TokenResult } from './token.ts'

/**
 * ID tokens of an OpenID Connect provider as users' bearer tokens, as kube-apiserver's --oidc-*
 * flags set it up (its JWT authenticator, with go-oidc v2 verifying).
 *
 * At start the provider's discovery document ({issuer}/.well-known/openid-configuration) is read,
 * trusting --oidc-ca-file (or the system's roots), and retried every 10 s until it answers with
 * this issuer; its jwks_uri gives the signing keys (fetched again, at most every 30 s, when a
 * token names a key not yet seen). A token is this authenticator's when its (unverified) `iss` is
 * the issuer URL; any other token is left to the others. One of ours is checked in go-oidc's
 * order, and the first failure is the reason:
 *
 *   aud contains the client id → exp is in the future (no leeway) → nbf (a minute's leeway)
 *   → alg is one of --oidc-signing-algs → signature by a key of the provider's JWKS
 *   → the username claim (a string; with `email`, email_verified must not be false)
 *   → the groups claim (a string or a list of strings) → each --oidc-required-claim
 *
 * The user is the username claim behind --oidc-username-prefix and the groups behind
 * --oidc-groups-prefix; the authenticator answers for the apiserver's audiences only (as
 * kube-apiserver wraps it audience-agnostic).
 */
export interface OidcSettings {
  /** --oidc-issuer-url: https, no user, query or fragment. */
  readonly issuerUrl: string
  /** --oidc-client-id: the audience tokens must carry. */
  readonly clientId: string
  /** --oidc-ca-file, read: the roots the provider's certificate is checked against. */
  readonly caPem?: string
  /** --oidc-username-claim (default sub). */
  readonly usernameClaim?: string
  /**
   * --oidc-username-prefix as given: absent or empty prefixes claims other than email with the
   * issuer URL and '#'; '-' prefixes nothing.
   */
  readonly usernamePrefix?: string
  /** --oidc-groups-claim */
  readonly groupsClaim?: string
  /** --oidc-groups-prefix */
  readonly groupsPrefix?: string
  /** --oidc-required-claim key=value, repeated. */
  readonly requiredClaims?: Readonly<Record<string, string>>
  /** --oidc-signing-algs (default RS256). */
  readonly signingAlgs?: readonly string[]
}

/** The algorithms --oidc-signing-algs may name (asymmetric only, as kube-apiserver allows). */
export const allowedSigningAlgs = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
] as const

/** How often discovery is tried again until the provider answers (kube-apiserver's 10 s). */
const discoveryRetryMs = 10_000
/** kube-apiserver's HTTP client timeout for the provider. */
const providerTimeoutMs = 30_000
/** go-oidc v2's leeway on nbf; exp has none. */
const notBeforeLeewayMs = 60_000

/**
 * What kube-apiserver refuses to start with, in its words (`invalid authentication configuration:
 * jwt[0].issuer.url: Invalid value: ...`, then the authenticator's own checks); undefined when the
 * settings are good. `serviceAccountIssuers` may not be the OIDC issuer.
 */
export function validateOidcSettings(
  s: OidcSettings,
  serviceAccountIssuers: readonly string[],
): string | undefined {
  const errs: string[] = []
  const invalid = (field: string, value: string, why: string) =>
    errs.push(`jwt[0].${field}: Invalid value: ${goQuote(value)}: ${why}`)
  if (s.issuerUrl === '') errs.push('jwt[0].issuer.url: Required value')
  else {
    if (serviceAccountIssuers.includes(s.issuerUrl)) {
      const sorted = [...new Set(serviceAccountIssuers)].sort()
      invalid(
        'issuer.url',
        s.issuerUrl,
        `URL must not overlap with disallowed issuers: [${sorted.join(' ')}]`,
      )
    }
    let url: URL | undefined
    try {
      url = new URL(s.issuerUrl)
    } catch {
      invalid('issuer.url', s.issuerUrl, 'URL scheme must be https')
    }
    if (url) {
      if (url.protocol !== 'https:') invalid('issuer.url', s.issuerUrl, 'URL scheme must be https')
      if (url.username !== '' || url.password !== '')
        invalid('issuer.url', s.issuerUrl, 'URL must not contain a username or password')
      if (url.search !== '') invalid('issuer.url', s.issuerUrl, 'URL must not contain a query')
      if (url.hash !== '') invalid('issuer.url', s.issuerUrl, 'URL must not contain a fragment')
    }
  }
  if (s.clientId === '')
    errs.push('jwt[0].issuer.audiences: Required value: at least one jwt[0].issuer.audiences is required')
  if (s.caPem !== undefined && !/-----BEGIN CERTIFICATE-----/.test(s.caPem)) {
    errs.push(
      'jwt[0].issuer.certificateAuthority: Invalid value: "<omitted>": data does not contain any valid RSA or ECDSA certificates',
    )
  }
  Object.keys(s.requiredClaims ?? {}).forEach((claim, i) => {
    if (claim === '')
      errs.push(`jwt[0].claimValidationRules[${i}]: Required value: claim or expression is required`)
  })
  if ((s.usernameClaim ?? 'sub') === '')
    errs.push('jwt[0].claimMappings.username: Required value: claim or expression is required')
  if (errs.length > 0) {
    return `invalid authentication configuration: ${errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`}`
  }
  for (const alg of s.signingAlgs ?? []) {
    if (!(allowedSigningAlgs as readonly string[]).includes(alg))
      return `oidc: unsupported signing alg: ${goQuote(alg)}`
  }
  return undefined
}

/** The username prefix kube-apiserver derives from the flags. */
export function usernamePrefixOf(s: OidcSettings): string {
  const claim = s.usernameClaim ?? 'sub'
  if (s.usernamePrefix === '-') return ''
  if ((s.usernamePrefix ?? '') === '' && claim !== 'email') return `${s.issuerUrl}#`
  return s.usernamePrefix ?? ''
}

export interface OidcAuthenticator extends TokenAuthenticator {
  /** Stops retrying discovery and closes the connections to the provider. */
  stop(): Promise<void>
}

type KeySet = ReturnType<typeof createRemoteJWKSet>

export function oidcAuthenticator(o: {
  settings: OidcSettings
  clock: Clock
  log: Logger
}): OidcAuthenticator {
  const s = o.settings
  const issuer = s.issuerUrl
  const usernameClaim = s.usernameClaim ?? 'sub'
  const usernamePrefix = usernamePrefixOf(s)
  const algorithms = s.signingAlgs?.length ? [...s.signingAlgs] : ['RS256']
  const dispatcher = new Agent(s.caPem ? { connect: { ca: s.caPem } } : {})
  // jose asks for the keys with fetch's arguments; undici's fetch takes them (its own Headers
  // type differs from the global one only in TypeScript).
  const fetchWithCa: FetchImplementation = (url, init) =>
    fetch(url, {
      method: init.method,
      redirect: init.redirect,
      signal: init.signal,
      headers: Object.fromEntries(init.headers.entries()),
      dispatcher,
    })

  let keys: KeySet | undefined
  let discovering: Promise<void> | undefined
  let retry: { cancel(): void } | undefined
  const stopping = new AbortController()

  const discover = async (): Promise<void> => {
    try {
      const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
        dispatcher,
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(providerTimeoutMs)]),
      })
      const body = await res.text()
      if (res.status !== 200) throw new Error(`${res.status} ${res.statusText}: ${body}`)
      let doc: { issuer?: unknown; jwks_uri?: unknown }
      try {
        doc = JSON.parse(body) as typeof doc
      } catch (err) {
        throw new Error(`oidc: failed to decode provider discovery object: ${(err as Error).message}`)
      }
      if (doc.issuer !== issuer) {
        throw new Error(
          `oidc: issuer did not match the issuer returned by provider, expected ${goQuote(issuer)} got ${goQuote(typeof doc.issuer === 'string' ? doc.issuer : '')}`,
        )
      }
      if (typeof doc.jwks_uri !== 'string') throw new Error('oidc: provider discovery object has no jwks_uri')
      keys = createRemoteJWKSet(new URL(doc.jwks_uri), {
        [customFetch]: fetchWithCa,
        timeoutDuration: providerTimeoutMs,
      })
      o.log.info({ issuer }, 'oidc authenticator: initialized')
    } catch (err) {
      if (stopping.signal.aborted) return
      o.log.error({ issuer, err: (err as Error).message }, 'oidc authenticator: initializing plugin')
      retry = o.clock.setTimer(discoveryRetryMs, start)
    }
  }
  function start() {
    discovering = discover().finally(() => (discovering = undefined))
  }
  start()

  const verify = async (token: string): Promise<TokenResult> => {
    if (!keys && discovering) await discovering
    if (!keys) return { kind: 'rejected', reason: 'oidc: authenticator not initialized' }
    const refused = (reason: string): TokenResult => ({ kind: 'rejected', reason })
    const jws = parseJws(token)
    if (!jws)
      return refused(
        'oidc: verify token: oidc: malformed jwt: square/go-jose: compact JWS format must have three parts',
      )
    const claims = jws.claims

    const audiences =
      typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : []
    if (!audiences.includes(s.clientId)) {
      return refused(
        `oidc: verify token: oidc: expected audience ${goQuote(s.clientId)} got [${audiences.map((a) => goQuote(String(a))).join(' ')}]`,
      )
    }
    const now = o.clock.now()
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : Number.NEGATIVE_INFINITY
    if (exp < now) return refused(`oidc: verify token: oidc: token is expired (Token Expiry: ${goTime(exp)})`)
    if (typeof claims.nbf === 'number' && now + notBeforeLeewayMs < claims.nbf * 1000) {
      return refused(
        `oidc: verify token: oidc: current time ${goTime(now)} before the nbf (not before) time: ${goTime(claims.nbf * 1000)}`,
      )
    }
    const alg = typeof jws.header.alg === 'string' ? jws.header.alg : ''
    if (!algorithms.includes(alg)) {
      return refused(
        `oidc: verify token: oidc: id token signed with unsupported algorithm, expected [${algorithms.map(goQuote).join(' ')}] got ${goQuote(alg)}`,
      )
    }
    try {
      await compactVerify(token, keys, { algorithms })
    } catch (err) {
      // No key verifies it (none of that kid, or a signature none of them made), or the keys
      // could not be had.
      const why =
        err instanceof errors.JWSSignatureVerificationFailed ||
        err instanceof errors.JWKSNoMatchingKey ||
        err instanceof errors.JWKSMultipleMatchingKeys ||
        err instanceof errors.JWSInvalid
          ? 'failed to verify id token signature'
          : `fetching keys oidc: get keys failed ${(err as Error).message}`
      return refused(`oidc: verify token: failed to verify signature: ${why}`)
    }

    const name = stringClaim(claims, usernameClaim)
    if (typeof name !== 'string')
      return refused(`oidc: parse username claims ${goQuote(usernameClaim)}: ${name.error}`)
    if (usernameClaim === 'email' && Object.hasOwn(claims, 'email_verified')) {
      const verified = claims.email_verified
      if (typeof verified !== 'boolean') {
        return refused(`oidc: parse 'email_verified' claim: ${unmarshalError(verified, 'bool')}`)
      }
      if (!verified) return refused('oidc: email not verified')
    }
    let groups: string[] = []
    if (s.groupsClaim && Object.hasOwn(claims, s.groupsClaim)) {
      const g = claims[s.groupsClaim]
      if (typeof g === 'string') groups = [g]
      else if (Array.isArray(g) && g.every((x) => typeof x === 'string')) groups = g
      else
        return refused(`oidc: parse groups claim ${goQuote(s.groupsClaim)}: ${unmarshalError(g, 'string')}`)
      const prefix = s.groupsPrefix ?? ''
      groups = groups.map((x) => prefix + x)
    }
    for (const [claim, want] of Object.entries(s.requiredClaims ?? {})) {
      if (!Object.hasOwn(claims, claim))
        return refused(`oidc: required claim ${claim} not present in ID token`)
      const got = stringClaim(claims, claim)
      if (typeof got !== 'string') return refused(`oidc: parse claim ${claim}: ${got.error}`)
      if (got !== want) {
        return refused(`oidc: required claim ${claim} value does not match. Got = ${got}, want = ${want}`)
      }
    }
    return { kind: 'authenticated', user: { name: usernamePrefix + name, groups }, audiences: [] }
  }

  return {
    authenticateToken(token) {
      if (untrustedIssuer(token) !== issuer) return undefined
      return verify(token)
    },
    async stop() {
      stopping.abort(new Error('the apiserver is stopping'))
      retry?.cancel()
      await discovering
      await dispatcher.destroy()
    },
  }
}

/**
 * The `iss` of a token, unverified, or undefined when the token is not a compact JWT with a JSON
 * payload (such a token is no OIDC authenticator's). Google's scheme-less issuer is read as its URL.
 */
function untrustedIssuer(token: string): string | undefined {
  if (token.trimStart().startsWith('{')) return undefined
  const parts = token.split('.')
  if (parts.length !== 3 || !/^[A-Za-z0-9_-]*$/.test(parts[1] ?? '')) return undefined
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'))
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return undefined
    const iss = (claims as { iss?: unknown }).iss
    if (iss === 'accounts.google.com') return 'https://accounts.google.com'
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

/** A claim that must be a string, or why it is not (in Go's words). */
function stringClaim(claims: Readonly<Record<string, unknown>>, name: string): string | { error: string } {
  if (!Object.hasOwn(claims, name)) return { error: 'claim not present' }
  const v = claims[name]
  return typeof v === 'string' ? v : { error: unmarshalError(v, 'string') }
}

/** encoding/json's complaint about a value of the wrong type. */
function unmarshalError(v: unknown, into: string): string {
  const kind =
    v === null
      ? 'null'
      : Array.isArray(v)
        ? 'array'
        : typeof v === 'object'
          ? 'object'
          : typeof v === 'boolean'
            ? 'bool'
            : typeof v
  return `json: cannot unmarshal ${kind} into Go value of type ${into}`
}

/** Go's %q of a string (JSON's quoting is close enough for what appears in these messages). */
function goQuote(s: string): string {
  return JSON.stringify(s)
}

/** Go's %v of a time.Time, in UTC: 2006-01-02 15:04:05 +0000 UTC (the zero time before year 1). */
function goTime(ms: number): string {
  if (!Number.isFinite(ms)) return '0001-01-01 00:00:00 +0000 UTC'
  const iso = new Date(ms).toISOString()
  const fraction = iso.slice(20, 23).replace(/0+$/, '')
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''} +0000 UTC`
}
