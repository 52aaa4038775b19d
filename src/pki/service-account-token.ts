import { randomUUID } from 'node:crypto'
import { CompactSign, compactVerify, errors as joseErrors } from 'jose'
import type { SigningKey, VerificationKey } from './service-account-key.ts'

/**
 * Service account tokens: JSON Web Tokens signed with the service account key (compact JWS,
 * header `{"alg":…,"kid":…}`), in the two shapes Kubernetes issues.
 *
 * Bound tokens (TokenRequest, projected volumes) carry the registered claims iss, sub, aud, iat,
 * nbf, exp and jti, and Kubernetes' own under `kubernetes.io`: the namespace, the service
 * account, and the object the token is bound to (a pod, with the node it runs on; a secret; or a
 * node), plus `warnafter` for tokens whose lifetime was extended. Legacy tokens (the token of a
 * kubernetes.io/service-account-token Secret, filled in by the controller-manager) have the
 * issuer `kubernetes/serviceaccount`, no expiry and flat `kubernetes.io/serviceaccount/...`
 * claims.
 *
 * Claims are written as Kubernetes writes them (its JWT library merges them into one map and
 * encodes it): keys sorted at every level, `aud` always an array, times in whole seconds.
 */

/** The issuer of tokens the TokenRequest API makes, unless --service-account-issuer says otherwise. */
export const defaultServiceAccountIssuer = 'https://kubernetes.default.svc.cluster.local'

/** The issuer of legacy Secret-based tokens. */
export const legacyTokenIssuer = 'kubernetes/serviceaccount'

/**
 * The lifetime kubelets ask for in the projected token of the kube-api-access volume (one hour
 * and seven seconds). The apiserver recognises it and issues a token valid for a year instead,
 * which only warns (the `warnafter` claim) after the hour, so clients that never re-read the
 * file keep working while their owners find out.
 */
export const warnOnlyBoundTokenExpirationSeconds = 60 * 60 + 7

/** How long such an extended token is valid: a year. */
export const expirationExtensionSeconds = 24 * 365 * 60 * 60

const serviceAccountUsernamePrefix = 'system:serviceaccount:'

/** The user name of a service account: system:serviceaccount:<namespace>:<name>. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `${serviceAccountUsernamePrefix}${namespace}:${name}`
}

/** The groups of a service account: every service account, and those of its namespace. */
export function serviceAccountGroups(namespace: string): string[] {
  return ['system:serviceaccounts', `system:serviceaccounts:${namespace}`]
}

/** The namespace and name of a service account user name; undefined for any other name. */
export function splitServiceAccountUsername(
  username: string,
): { namespace: string; name: string } | undefined {
  if (!username.startsWith(serviceAccountUsernamePrefix)) return undefined
  const parts = username.slice(serviceAccountUsernamePrefix.length).split(':')
  if (parts.length !== 2) return undefined
  const [namespace = '', name = ''] = parts
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) return undefined
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name) || name.length > 253)
    return undefined
  return { namespace, name }
}

/** A reference to an object in a token's claims; an empty uid is left out. */
export interface ClaimRef {
  readonly name: string
  readonly uid?: string
}

/** The `kubernetes.io` claim of a bound token. */
export interface KubernetesClaims {
  namespace?: string
  serviceaccount?: { name?: string; uid?: string }
  pod?: { name?: string; uid?: string }
  secret?: { name?: string; uid?: string }
  node?: { name?: string; uid?: string }
  warnafter?: number
}

/** The claims of a bound token, as signed (iss is added by the generator). */
export interface BoundTokenClaims {
  iss?: string
  sub: string
  aud: string[]
  iat: number
  nbf: number
  exp: number
  jti: string
  'kubernetes.io': KubernetesClaims
}

export interface BoundTokenOptions {
  serviceAccount: { namespace: string; name: string; uid: string }
  /** At most one of pod and secret; a pod-bound token may name the pod's node too. */
  pod?: ClaimRef
  secret?: ClaimRef
  node?: ClaimRef
  audiences: readonly string[]
  expirationSeconds: number
  /** Seconds after which the token is stale but still valid (extended tokens only). */
  warnAfterSeconds?: number
  /** Milliseconds since the epoch. */
  now: number
  /** The token's ID (jti); a new UUID by default. */
  id?: string
}

/** The claims of a bound service account token, as the TokenRequest API makes them. */
export function boundTokenClaims(o: BoundTokenOptions): BoundTokenClaims {
  if (o.secret && (o.pod || o.node))
    throw new Error('internal error, token can only be bound to one object type')
  const now = Math.floor(o.now / 1000)
  const k8s: KubernetesClaims = {
    ...(o.serviceAccount.namespace !== '' ? { namespace: o.serviceAccount.namespace } : {}),
    serviceaccount: ref({ name: o.serviceAccount.name, uid: o.serviceAccount.uid }),
  }
  if (o.pod) {
    k8s.pod = ref(o.pod)
    if (o.node) k8s.node = ref(o.node)
  } else if (o.secret) {
    k8s.secret = ref(o.secret)
  } else if (o.node) {
    k8s.node = ref(o.node)
  }
  if (o.warnAfterSeconds) k8s.warnafter = now + o.warnAfterSeconds
  return {
    sub: serviceAccountUsername(o.serviceAccount.namespace, o.serviceAccount.name),
    aud: [...o.audiences],
    iat: now,
    nbf: now,
    exp: now + o.expirationSeconds,
    jti: o.id ?? randomUUID(),
    'kubernetes.io': k8s,
  }
}

function ref(r: ClaimRef): { name?: string; uid?: string } {
  return { ...(r.name !== '' ? { name: r.name } : {}), ...(r.uid ? { uid: r.uid } : {}) }
}

/** The claims of a legacy token (issuer `kubernetes/serviceaccount`), flat and without expiry. */
export interface LegacyTokenClaims {
  iss?: string
  sub: string
  'kubernetes.io/serviceaccount/namespace': string
  'kubernetes.io/serviceaccount/secret.name': string
  'kubernetes.io/serviceaccount/service-account.name': string
  'kubernetes.io/serviceaccount/service-account.uid': string
}

/** The claims of the token of a kubernetes.io/service-account-token Secret. */
export function legacyTokenClaims(
  serviceAccount: { namespace: string; name: string; uid: string },
  secretName: string,
): LegacyTokenClaims {
  return {
    sub: serviceAccountUsername(serviceAccount.namespace, serviceAccount.name),
    'kubernetes.io/serviceaccount/namespace': serviceAccount.namespace,
    'kubernetes.io/serviceaccount/secret.name': secretName,
    'kubernetes.io/serviceaccount/service-account.name': serviceAccount.name,
    'kubernetes.io/serviceaccount/service-account.uid': serviceAccount.uid,
  }
}

/** Signs claims as tokens of one issuer. */
export class TokenGenerator {
  readonly issuer: string
  readonly #key: SigningKey

  constructor(issuer: string, key: SigningKey) {
    this.issuer = issuer
    this.#key = key
  }

  /** The compact JWS of the claims, with this generator's issuer. */
  async generate(claims: BoundTokenClaims | LegacyTokenClaims): Promise<string> {
    const payload = Buffer.from(canonicalJson({ ...claims, iss: this.issuer }))
    return new CompactSign(payload)
      .setProtectedHeader({ alg: this.#key.publicKey.algorithm, kid: this.#key.publicKey.keyId })
      .sign(this.#key.privateKey)
  }
}

/**
 * JSON as Go's encoder writes a map: keys sorted at every level, and <, > and & escaped (the
 * claims of upstream tokens look exactly so, byte for byte, which some verifiers compare).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  })
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k]
    if (v !== undefined) out[k] = sortKeys(v)
  }
  return out
}

/** A compact JWS taken apart, not yet verified. */
export interface ParsedJws {
  readonly token: string
  readonly header: Readonly<Record<string, unknown>>
  /** The claims: the decoded payload when it is a JSON object. */
  readonly claims: Readonly<Record<string, unknown>>
}

/**
 * The parts of a compact JWS whose header and payload are JSON objects, or undefined for
 * anything else: such a token is not for the JWT authenticators (which then leave it to the
 * others) rather than a bad one.
 */
export function parseJws(token: string): ParsedJws | undefined {
  if (token.trimStart().startsWith('{')) return undefined
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  const [h = '', p = '', s = ''] = parts
  if (!isBase64url(h) || !isBase64url(p) || !isBase64url(s)) return undefined
  const header = jsonObject(Buffer.from(h, 'base64url'))
  const claims = jsonObject(Buffer.from(p, 'base64url'))
  if (!header || !claims) return undefined
  return { token, header, claims }
}

function isBase64url(s: string): boolean {
  return /^[A-Za-z0-9_-]*$/.test(s) && s.length % 4 !== 1
}

function jsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'))
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** What the JWT library Kubernetes uses answers for a signature it cannot verify. */
export const cryptoFailure = 'go-jose/go-jose: error in cryptographic primitive'
export const unsupportedAlgorithm = 'go-jose/go-jose: unknown/unsupported algorithm'

/**
 * Verifies the signature with the keys its `kid` names (every key when it names none), as
 * Kubernetes does: undefined when one key verifies it, else the reason for each key tried.
 * Only the algorithm of the key's type and size is accepted: `none`, HMAC and a mismatched
 * algorithm all fail.
 */
export async function verifySignature(
  jws: ParsedJws,
  keys: readonly VerificationKey[],
): Promise<string[] | undefined> {
  const kid = typeof jws.header.kid === 'string' ? jws.header.kid : ''
  const candidates = kid === '' ? keys : keys.filter((k) => k.keyId === kid)
  if (candidates.length === 0) return ['invalid signature, no keys found']
  const failures: string[] = []
  for (const k of candidates) {
    if (jws.header.alg !== k.algorithm) {
      failures.push(unsupportedAlgorithm)
      continue
    }
    try {
      await compactVerify(jws.token, k.key, { algorithms: [k.algorithm] })
      return undefined
    } catch (err) {
      failures.push(
        err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported
          ? unsupportedAlgorithm
          : cryptoFailure,
      )
    }
  }
  return failures
}
