import { timingSafeEqual } from 'node:crypto'
import {
  bootstrapSecretData,
  bootstrapTokenGroups,
  bootstrapTokenIdKey,
  bootstrapTokenNamespace,
  bootstrapTokenSecretKey,
  bootstrapTokenSecretPrefix,
  bootstrapTokenSecretType,
  bootstrapTokenUsageAuthenticationKey,
  bootstrapUserPrefix,
  isBootstrapTokenExpired,
  parseBootstrapToken,
} from '../../api/bootstrap-token.ts'
import type { StoredObject } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import type { ObjectLookup } from './service-account.ts'
import type { TokenAuthenticator, TokenResult } from './token.ts'

/**
 * Bootstrap tokens (kube-apiserver's --enable-bootstrap-token-auth): `<id>.<secret>` is
 * system:bootstrap:<id> when kube-system holds the Secret bootstrap-token-<id> of type
 * bootstrap.kubernetes.io/token with that id and secret, marked for authentication and not
 * expired. As in Kubernetes, every way of failing says nothing (the token is simply not
 * accepted, so the request gets 401): a caller learns nothing about which tokens exist.
 */
export function bootstrapTokenAuthenticator(o: { lookup: ObjectLookup; clock: Clock }): TokenAuthenticator {
  const check = (token: { id: string; secret: string }, obj: Readonly<StoredObject> | null | undefined) => {
    const secret = obj
    if (!secret || secret.metadata.deletionTimestamp) return undefined
    if (secret.type !== bootstrapTokenSecretType || !secret.data) return undefined
    if (!sameSecret(bootstrapSecretData(secret, bootstrapTokenSecretKey), token.secret)) return undefined
    if (bootstrapSecretData(secret, bootstrapTokenIdKey) !== token.id) return undefined
    if (isBootstrapTokenExpired(secret, o.clock.now())) return undefined
    if (bootstrapSecretData(secret, bootstrapTokenUsageAuthenticationKey) !== 'true') return undefined
    let groups: string[]
    try {
      groups = bootstrapTokenGroups(secret)
    } catch {
      return undefined
    }
    const result: TokenResult = {
      kind: 'authenticated',
      user: { name: `${bootstrapUserPrefix}${token.id}`, groups },
      audiences: [],
    }
    return result
  }
  return {
    authenticateToken(raw) {
      const token = parseBootstrapToken(raw)
      if (!token) return undefined
      const name = `${bootstrapTokenSecretPrefix}${token.id}`
      const cached = o.lookup.peek('secrets', bootstrapTokenNamespace, name)
      if (cached !== undefined) return check(token, cached)
      return o.lookup.get('secrets', bootstrapTokenNamespace, name).then((s) => check(token, s))
    },
  }
}

/** Compares in constant time, so the time taken tells nothing of how much of a guess was right. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
