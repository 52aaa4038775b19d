import type { Secret } from './generated/types/core-v1.ts'

/**
 * Bootstrap tokens (Kubernetes' k8s.io/cluster-bootstrap): short-lived bearer tokens for nodes
 * joining a cluster, `<id>.<secret>` (6 and 16 lower-case letters or digits), each kept as a
 * Secret of type bootstrap.kubernetes.io/token named bootstrap-token-<id> in kube-system:
 *
 *   data: token-id, token-secret, expiration (RFC 3339, optional), description,
 *         usage-bootstrap-authentication ("true" to authenticate with it),
 *         usage-bootstrap-signing, auth-extra-groups (comma-separated system:bootstrappers:* groups)
 *
 * The apiserver authenticates such a token as system:bootstrap:<id> in system:bootstrappers plus
 * the extra groups; the controller-manager's token cleaner deletes the Secret once it expires.
 */
export const bootstrapTokenSecretType = 'bootstrap.kubernetes.io/token'
export const bootstrapTokenSecretPrefix = 'bootstrap-token-'
export const bootstrapTokenNamespace = 'kube-system'
export const bootstrapTokenIdKey = 'token-id'
export const bootstrapTokenSecretKey = 'token-secret'
export const bootstrapTokenExpirationKey = 'expiration'
export const bootstrapTokenUsageAuthenticationKey = 'usage-bootstrap-authentication'
export const bootstrapTokenExtraGroupsKey = 'auth-extra-groups'
export const bootstrapUserPrefix = 'system:bootstrap:'
export const bootstrapDefaultGroup = 'system:bootstrappers'

const tokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/
const groupPattern = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/

/** The id and secret of a bootstrap token; undefined for anything not shaped like one. */
export function parseBootstrapToken(token: string): { id: string; secret: string } | undefined {
  const m = tokenPattern.exec(token)
  return m ? { id: m[1] ?? '', secret: m[2] ?? '' } : undefined
}

/** A value of the Secret's data (base64 in the API), or '' when absent. */
export function bootstrapSecretData(secret: Readonly<Secret>, key: string): string {
  const v = secret.data?.[key]
  return v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8')
}

/**
 * When the token expires (ms since the epoch): undefined when it never does, NaN when the
 * expiration cannot be read, which counts as expired.
 */
export function bootstrapTokenExpiry(secret: Readonly<Secret>): number | undefined {
  const v = bootstrapSecretData(secret, bootstrapTokenExpirationKey)
  if (v === '') return undefined
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? Date.parse(v) : NaN
}

/** Whether the token has expired at `now` (an unreadable expiration has). */
export function isBootstrapTokenExpired(secret: Readonly<Secret>, now: number): boolean {
  const at = bootstrapTokenExpiry(secret)
  return at !== undefined && (Number.isNaN(at) || now > at)
}

/**
 * The groups of the token's user: system:bootstrappers and the extra ones, sorted and without
 * repeats; throws when an extra group is not a system:bootstrappers:* name.
 */
export function bootstrapTokenGroups(secret: Readonly<Secret>): string[] {
  const groups = new Set([bootstrapDefaultGroup])
  const extra = bootstrapSecretData(secret, bootstrapTokenExtraGroupsKey)
  if (extra !== '') {
    for (const g of extra.split(',')) {
      if (!groupPattern.test(g)) throw new Error(`${JSON.stringify(g)} (must match ${groupPattern.source})`)
      groups.add(g)
    }
  }
  return [...groups].sort()
}
