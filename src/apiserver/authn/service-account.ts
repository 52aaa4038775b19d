import type { ServiceAccount, Secret } from '../../api/generated/types/core-v1.ts'
import { deepFreeze, type StoredObject } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import {
  legacyTokenIssuer,
  parseJws,
  serviceAccountGroups,
  serviceAccountUsername,
  splitServiceAccountUsername,
  verifySignature,
  type VerificationKey,
} from '../../pki/index.ts'
import type { UserInfo } from './authenticator.ts'
import { aggregateMessage, intersect, type TokenAuthenticator, type TokenResult } from './token.ts'

/**
 * The service account token authenticators, as kube-apiserver runs them: one for bound tokens
 * (issued by the TokenRequest API under --service-account-issuer) and one for legacy tokens
 * (issuer `kubernetes/serviceaccount`, kept in Secrets). Both check, in Kubernetes' order:
 *
 *   issuer (a token of another issuer is not theirs) → signature, with the keys its `kid`
 *   names → audiences → the validator: expiry and the objects the token names, which must still
 *   exist with the UIDs it names (a token bound to a pod dies with the pod).
 *
 * Signatures are verified and claims decoded once per token (a cache of the tokens whose signature
 * is good); the rest is checked on every request, from the apiserver's watch caches.
 */

/** The users' extra keys Kubernetes sets for service account tokens. */
export const podNameKey = 'authentication.kubernetes.io/pod-name'
export const podUIDKey = 'authentication.kubernetes.io/pod-uid'
export const nodeNameKey = 'authentication.kubernetes.io/node-name'
export const nodeUIDKey = 'authentication.kubernetes.io/node-uid'
export const credentialIDKey = 'authentication.kubernetes.io/credential-id'

/** The labels Kubernetes keeps on legacy token Secrets. */
export const lastUsedLabel = 'kubernetes.io/legacy-token-last-used'
export const invalidSinceLabel = 'kubernetes.io/legacy-token-invalid-since'

/** The clock skew tolerated in exp, nbf and iat, and in deletion times (go-jose's DefaultLeeway). */
export const leewayMs = 60_000

export type LookupResource = 'serviceaccounts' | 'pods' | 'secrets' | 'nodes'

/** Where validators find the objects tokens name: the apiserver's own stores. */
export interface ObjectLookup {
  /** The object as the cache has it now, null when it does not exist, undefined when only `get` can tell. */
  peek(resource: LookupResource, namespace: string, name: string): Readonly<StoredObject> | null | undefined
  /** A consistent read; undefined when the object does not exist. */
  get(resource: LookupResource, namespace: string, name: string): Promise<Readonly<StoredObject> | undefined>
}

/** What a validator concluded; `after` runs once the answer is known (a last-used stamp). */
export type Validation = { user: UserInfo; after?: () => void } | { reason: string; after?: () => void }

type Get = (resource: LookupResource, namespace: string, name: string) => Readonly<StoredObject> | undefined

/** Checks a token whose issuer and signature are good; reads objects through `get`. */
export type Validator = (claims: Readonly<Record<string, unknown>>, token: string, get: Get) => Validation

export interface JwtAuthenticatorOptions {
  issuers: readonly string[]
  keys: readonly VerificationKey[]
  /** The apiserver's audiences, which legacy tokens (without aud) are for. */
  implicitAudiences: readonly string[]
  validator: Validator
  lookup: ObjectLookup
  /** How many verified tokens to remember (default 4,096). */
  cacheSize?: number
}

/** A JWT authenticator for one kind of service account token. */
export function jwtTokenAuthenticator(o: JwtAuthenticatorOptions): TokenAuthenticator {
  const issuers = new Set(o.issuers)
  // The claims of the tokens whose issuer and signature are good, so that a token seen before is
  // neither verified nor decoded again; the rest is checked on every request.
  const verified = new Map<string, Readonly<Record<string, unknown>>>()
  // And the tokens that are not this authenticator's (another issuer, or no JWT at all): with two
  // service account authenticators, every token is first offered to the one that is not its own.
  const foreign = new Set<string>()
  const cacheSize = o.cacheSize ?? 4096

  const afterSignature = (
    token: string,
    claims: Readonly<Record<string, unknown>>,
    audiences: readonly string[],
  ): TokenResult | Promise<TokenResult> => {
    let tokenAudiences = audiencesOf(claims.aud)
    if (tokenAudiences.length === 0) tokenAudiences = [...o.implicitAudiences]
    const common = intersect(tokenAudiences, audiences)
    if (common.length === 0 && o.implicitAudiences.length > 0) {
      return {
        kind: 'rejected',
        reason: `token audiences ${goQuoted(tokenAudiences)} is invalid for the target audiences ${goQuoted(audiences)}`,
      }
    }
    const done = (v: Validation): TokenResult => {
      v.after?.()
      return 'user' in v
        ? { kind: 'authenticated', user: v.user, audiences: common }
        : { kind: 'rejected', reason: v.reason }
    }
    const v = withLookups(o.lookup, (get) => o.validator(claims, token, get))
    return v instanceof Promise ? v.then(done) : done(v)
  }

  return {
    authenticateToken(token, audiences) {
      const known = verified.get(token)
      if (known) return afterSignature(token, known, audiences)
      if (foreign.has(token)) return undefined
      const jws = parseJws(token)
      if (!jws || typeof jws.claims.iss !== 'string' || !issuers.has(jws.claims.iss)) {
        if (foreign.size >= cacheSize) foreign.delete(foreign.values().next().value as string)
        foreign.add(token)
        return undefined
      }
      return verifySignature(jws, o.keys).then((failures) => {
        if (failures) return { kind: 'rejected', reason: aggregateMessage(failures) }
        if (verified.size >= cacheSize) verified.delete(verified.keys().next().value as string)
        verified.set(token, deepFreeze(jws.claims))
        return afterSignature(token, jws.claims, audiences)
      })
    },
  }
}

/**
 * Runs `fn` with objects from the caches, synchronously when they have them all; otherwise reads
 * what was missing from the store and runs it again.
 */
function withLookups<T>(lookup: ObjectLookup, fn: (get: Get) => T): T | Promise<T> {
  const fetched = new Map<string, Readonly<StoredObject> | undefined>()
  let missing: [LookupResource, string, string] | undefined
  const get: Get = (resource, namespace, name) => {
    const key = `${resource}/${namespace}/${name}`
    if (fetched.has(key)) return fetched.get(key)
    const cached = lookup.peek(resource, namespace, name)
    if (cached === undefined) {
      missing = [resource, namespace, name]
      throw notCached
    }
    return cached ?? undefined
  }
  const attempt = (): T | Promise<T> => {
    try {
      return fn(get)
    } catch (err) {
      if (err !== notCached || !missing) throw err
      const [resource, namespace, name] = missing
      missing = undefined
      return lookup.get(resource, namespace, name).then((obj) => {
        fetched.set(`${resource}/${namespace}/${name}`, obj)
        return attempt()
      })
    }
  }
  return attempt()
}

const notCached = new Error('not in the cache')

/** Go's %q of a string list: ["a" "b"]. */
function goQuoted(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`
}

/** A JWT's aud claim: one string or a list of them. */
function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud]
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string')
  return []
}

/** A NumericDate claim in milliseconds (fractions allowed, as Kubernetes' JWT library reads them). */
function dateOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) * 1000 : undefined
}

function isDeletedBefore(obj: Readonly<StoredObject>, before: number): boolean {
  const ts = obj.metadata.deletionTimestamp
  return ts !== undefined && Date.parse(ts) < before
}

interface ClaimRef {
  name?: unknown
  uid?: unknown
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

/**
 * The validator of bound tokens (Kubernetes' claims.go): exp, nbf and iat with a minute's
 * leeway; the service account, and the pod, secret or node the token is bound to, must exist
 * with the UIDs the token names and not have been deleted more than a minute ago.
 */
export function boundTokenValidator(clock: Clock): Validator {
  return (claims, _token, get) => {
    const now = clock.now()
    const nbf = dateOf(claims.nbf)
    const exp = dateOf(claims.exp)
    const iat = dateOf(claims.iat)
    if (nbf !== undefined && now + leewayMs < nbf) return { reason: 'service account token is not valid yet' }
    if (exp !== undefined && now - leewayMs > exp) return { reason: 'service account token has expired' }
    if (iat !== undefined && now + leewayMs < iat)
      return { reason: 'service account token is issued in the future' }

    const deletedBefore = now - leewayMs
    const k8s = (claims['kubernetes.io'] ?? {}) as Record<string, unknown>
    const namespace = str(k8s.namespace)
    const saRef = (k8s.serviceaccount ?? {}) as ClaimRef
    const podRef = k8s.pod as ClaimRef | undefined
    const secretRef = k8s.secret as ClaimRef | undefined
    const nodeRef = k8s.node as ClaimRef | undefined
    const saName = str(saRef.name)
    const sa = get('serviceaccounts', namespace, saName)
    if (!sa) return { reason: `serviceaccounts "${saName}" not found` }
    if ((sa.metadata.uid ?? '') !== str(saRef.uid)) {
      return {
        reason: `service account UID (${sa.metadata.uid ?? ''}) does not match claim (${str(saRef.uid)})`,
      }
    }
    if (isDeletedBefore(sa, deletedBefore))
      return { reason: `service account ${namespace}/${saName} has been deleted` }

    const invalidated = { reason: 'service account token has been invalidated' }
    if (secretRef) {
      const secret = get('secrets', namespace, str(secretRef.name))
      if (!secret) return invalidated
      if ((secret.metadata.uid ?? '') !== str(secretRef.uid)) {
        return {
          reason: `secret UID (${secret.metadata.uid ?? ''}) does not match service account secret ref claim (${str(secretRef.uid)})`,
        }
      }
      if (isDeletedBefore(secret, deletedBefore)) return invalidated
    }
    const extra: Record<string, string[]> = {}
    if (podRef) {
      const pod = get('pods', namespace, str(podRef.name))
      if (!pod) return invalidated
      if ((pod.metadata.uid ?? '') !== str(podRef.uid)) {
        return {
          reason: `pod UID (${pod.metadata.uid ?? ''}) does not match service account pod ref claim (${str(podRef.uid)})`,
        }
      }
      if (isDeletedBefore(pod, deletedBefore)) return invalidated
      if (str(podRef.name) !== '' && str(podRef.uid) !== '') {
        extra[podNameKey] = [str(podRef.name)]
        extra[podUIDKey] = [str(podRef.uid)]
      }
    }
    let nodeName = ''
    let nodeUID = ''
    if (nodeRef && podRef) {
      // A pod-bound token names its pod's node for information; the pod is what binds it.
      nodeName = str(nodeRef.name)
      nodeUID = str(nodeRef.uid)
    } else if (nodeRef) {
      const node = get('nodes', '', str(nodeRef.name))
      if (!node) return invalidated
      if ((node.metadata.uid ?? '') !== str(nodeRef.uid)) {
        return {
          reason: `node UID (${node.metadata.uid ?? ''}) does not match service account node ref claim (${str(nodeRef.uid)})`,
        }
      }
      if (isDeletedBefore(node, deletedBefore)) return invalidated
      nodeName = str(nodeRef.name)
      nodeUID = str(nodeRef.uid)
    }
    const jti = str(claims.jti)
    if (jti !== '') extra[credentialIDKey] = [`JTI=${jti}`]
    if (nodeName !== '') {
      extra[nodeNameKey] = [nodeName]
      if (nodeUID !== '') extra[nodeUIDKey] = [nodeUID]
    }
    return { user: serviceAccountUser(namespace, saName, str(saRef.uid), extra) }
  }
}

/**
 * The validator of legacy Secret-based tokens (Kubernetes' legacy.go): the claims must name a
 * namespace, secret and service account that agree with `sub`; the Secret must exist, not be
 * being deleted, hold this very token and not be labelled invalid; the service account must
 * exist with the UID the token names. A token in use gets its Secret stamped with the day
 * (kubernetes.io/legacy-token-last-used), at most once a day.
 */
export function legacyTokenValidator(o: {
  clock: Clock
  /** Sets the last-used label of a Secret (a write the apiserver makes itself). */
  markUsed?: (secret: Readonly<Secret & StoredObject>, day: string) => void
}): Validator {
  return (claims, token, get) => {
    const sub = str(claims.sub)
    const namespace = str(claims['kubernetes.io/serviceaccount/namespace'])
    const secretName = str(claims['kubernetes.io/serviceaccount/secret.name'])
    const saName = str(claims['kubernetes.io/serviceaccount/service-account.name'])
    const saUID = str(claims['kubernetes.io/serviceaccount/service-account.uid'])
    if (sub === '') return { reason: 'sub claim is missing' }
    if (namespace === '') return { reason: 'namespace claim is missing' }
    if (secretName === '') return { reason: 'secretName claim is missing' }
    if (saName === '') return { reason: 'serviceAccountName claim is missing' }
    if (saUID === '') return { reason: 'serviceAccountUID claim is missing' }
    const subject = splitServiceAccountUsername(sub)
    if (!subject || subject.namespace !== namespace || subject.name !== saName)
      return { reason: 'sub claim is invalid' }

    const secret = typed<Secret>(get('secrets', namespace, secretName))
    if (!secret || secret.metadata.deletionTimestamp) return { reason: 'Token has been invalidated' }
    const stored = secret.data?.token
    if (stored === undefined || Buffer.from(stored, 'base64').toString('utf8') !== token)
      return { reason: "Token does not match server's copy" }
    const sa = typed<ServiceAccount>(get('serviceaccounts', namespace, saName))
    if (!sa) return { reason: `serviceaccounts "${saName}" not found` }
    if (sa.metadata.deletionTimestamp)
      return { reason: `ServiceAccount ${namespace}/${saName} has been deleted` }
    if ((sa.metadata.uid ?? '') !== saUID)
      return { reason: `ServiceAccount UID (${sa.metadata.uid ?? ''}) does not match claim (${saUID})` }

    const after = stampLastUsed(o, secret)
    if (secret.metadata.labels?.[invalidSinceLabel]) {
      return {
        reason: `the token in secret ${namespace}/${secretName} for service account ${namespace}/${saName} has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the '${invalidSinceLabel}' label from the secret to temporarily allow use of this token`,
        ...(after ? { after } : {}),
      }
    }
    return { user: serviceAccountUser(namespace, saName, saUID, {}), ...(after ? { after } : {}) }
  }
}

/** The stamp of a legacy token's Secret, when today's (or tomorrow's, for skewed clocks) is not on it. */
function stampLastUsed(
  o: { clock: Clock; markUsed?: (secret: Readonly<Secret & StoredObject>, day: string) => void },
  secret: Readonly<Secret & StoredObject>,
): (() => void) | undefined {
  const markUsed = o.markUsed
  if (!markUsed) return undefined
  const now = o.clock.now()
  const today = new Date(now).toISOString().slice(0, 10)
  const tomorrow = new Date(now + 86_400_000).toISOString().slice(0, 10)
  const last = secret.metadata.labels?.[lastUsedLabel]
  if (last === today || last === tomorrow) return undefined
  return () => markUsed(secret, today)
}

/** A service account as a user: its name, UID, groups, and what the token tells of its holder. */
export function serviceAccountUser(
  namespace: string,
  name: string,
  uid: string,
  extra: Readonly<Record<string, string[]>>,
): UserInfo {
  const keys = Object.keys(extra).sort()
  return {
    name: serviceAccountUsername(namespace, name),
    ...(uid !== '' ? { uid } : {}),
    groups: serviceAccountGroups(namespace),
    ...(keys.length > 0 ? { extra: Object.fromEntries(keys.map((k) => [k, extra[k] ?? []])) } : {}),
  }
}

/** Both service account token authenticators, legacy tokens first as kube-apiserver orders them. */
export function serviceAccountTokenAuthenticators(o: {
  issuers: readonly string[]
  keys: readonly VerificationKey[]
  apiAudiences: readonly string[]
  lookup: ObjectLookup
  clock: Clock
  markUsed?: (secret: Readonly<Secret & StoredObject>, day: string) => void
}): TokenAuthenticator[] {
  return [
    jwtTokenAuthenticator({
      issuers: [legacyTokenIssuer],
      keys: o.keys,
      implicitAudiences: o.apiAudiences,
      validator: legacyTokenValidator({ clock: o.clock, ...(o.markUsed ? { markUsed: o.markUsed } : {}) }),
      lookup: o.lookup,
    }),
    jwtTokenAuthenticator({
      issuers: o.issuers,
      keys: o.keys,
      implicitAudiences: o.apiAudiences,
      validator: boundTokenValidator(o.clock),
      lookup: o.lookup,
    }),
  ]
}

/** An object the lookup found, as the kind it is. */
function typed<T>(obj: Readonly<StoredObject> | undefined): Readonly<T & StoredObject> | undefined {
  return obj as Readonly<T & StoredObject> | undefined
}
