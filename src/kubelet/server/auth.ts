/**
 * Who may use the kubelet's API, as the kubelet decides it with webhook authorization (what
 * kubeadm and most clusters configure):
 *
 * - Authentication: a client certificate signed by the client CA (--client-ca-file), user = CN,
 *   groups = O; or a bearer token the apiserver vouches for through a TokenReview
 *   (authentication.webhook). Anonymous requests are refused: 401 Unauthorized.
 * - Authorization: a SubjectAccessReview through the API for the verb of the HTTP method on
 *   `nodes/<subresource>` named after this node, the subresource from the path (pathAttributes).
 *   Verdicts are cached: allowed for 5 minutes, denied for 30 seconds (the kubelet's
 *   authorization.webhook cache TTLs), TokenReviews for 2 minutes. Denied: 403.
 */
import type { IncomingMessage } from 'node:http'
import type { PeerCertificate, TLSSocket } from 'node:tls'
import type { TokenReview } from '../../api/generated/types/authentication-v1.ts'
import type { SubjectAccessReview } from '../../api/generated/types/authorization-v1.ts'
import type { Clock } from '../../base/clock.ts'

export interface KubeletUser {
  name: string
  uid?: string
  groups: string[]
  extra?: Record<string, string[]>
}

/** What a request asks of the node, in the terms of the SubjectAccessReview sent for it. */
export interface KubeletAttributes {
  verb: string
  /** Always `nodes`, named after this node. */
  resource: 'nodes'
  subresource: string
  name: string
}

/**
 * The SubjectAccessReview attributes of a request (upstream's GetRequestAttributes, with the
 * fine-grained subresources of KubeletFineGrainedAuthz, on by default since 1.33): /stats →
 * stats, /metrics → metrics, /logs → log, /checkpoint → checkpoint, /pods → pods, /healthz →
 * healthz, /configz → configz, anything else → proxy. For pods, healthz and configz a denial is
 * followed by a check of `proxy`, which has always covered them (fallbackSubresource).
 */
export function pathAttributes(
  method: string,
  path: string,
  nodeName: string,
): { attributes: KubeletAttributes; fallback?: KubeletAttributes } {
  const verb = verbOf(method)
  const subresource = subresourceOf(path)
  const attributes: KubeletAttributes = { verb, resource: 'nodes', subresource, name: nodeName }
  return fineGrained.has(subresource)
    ? { attributes, fallback: { ...attributes, subresource: 'proxy' } }
    : { attributes }
}

const fineGrained = new Set(['pods', 'healthz', 'configz'])

const prefixes: readonly [string, string][] = [
  ['/stats', 'stats'],
  ['/metrics', 'metrics'],
  ['/logs', 'log'],
  ['/checkpoint', 'checkpoint'],
  ['/pods', 'pods'],
  ['/healthz', 'healthz'],
  ['/configz', 'configz'],
]

function subresourceOf(path: string): string {
  for (const [prefix, sub] of prefixes) if (path === prefix || path.startsWith(`${prefix}/`)) return sub
  return 'proxy'
}

function verbOf(method: string): string {
  switch (method) {
    case 'POST':
      return 'create'
    case 'PUT':
      return 'update'
    case 'PATCH':
      return 'patch'
    case 'DELETE':
      return 'delete'
    default:
      return 'get'
  }
}

/** The API calls the kubelet's authentication and authorization make, as the node's identity. */
export interface ReviewClient {
  createTokenReview(review: TokenReview): Promise<TokenReview>
  createSubjectAccessReview(review: SubjectAccessReview): Promise<SubjectAccessReview>
}

export interface KubeletAuthOptions {
  reviews: ReviewClient
  clock: Clock
  /** Default 5 minutes, 30 seconds, 2 minutes. */
  authorizedTtlMs?: number
  unauthorizedTtlMs?: number
  tokenTtlMs?: number
}

export type AuthResult =
  | { outcome: 'allowed'; user: KubeletUser }
  | { outcome: 'unauthenticated' }
  | { outcome: 'forbidden'; user: KubeletUser; attributes: KubeletAttributes }

export class KubeletAuth {
  readonly #o: KubeletAuthOptions
  readonly #decisions = new Map<string, { allowed: boolean; until: number }>()
  readonly #tokens = new Map<string, { user: KubeletUser | undefined; until: number }>()

  constructor(o: KubeletAuthOptions) {
    this.#o = o
  }

  /** Authenticates, then authorizes the request for `nodeName`. */
  async check(req: IncomingMessage, path: string, nodeName: string): Promise<AuthResult> {
    const user = await this.authenticate(req)
    if (!user) return { outcome: 'unauthenticated' }
    const { attributes, fallback } = pathAttributes(req.method ?? 'GET', path, nodeName)
    if (await this.authorize(user, attributes)) return { outcome: 'allowed', user }
    if (fallback && (await this.authorize(user, fallback))) return { outcome: 'allowed', user }
    return { outcome: 'forbidden', user, attributes }
  }

  /** The client certificate's identity, else the bearer token's; undefined when neither holds. */
  async authenticate(req: IncomingMessage): Promise<KubeletUser | undefined> {
    const fromCert = certificateUser(req.socket as TLSSocket)
    if (fromCert) return fromCert
    const header = req.headers.authorization ?? ''
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (!m?.[1]) return undefined
    return this.#tokenUser(m[1])
  }

  async authorize(user: KubeletUser, a: KubeletAttributes): Promise<boolean> {
    const key = JSON.stringify([user.name, user.uid ?? '', user.groups, user.extra ?? {}, a])
    const now = this.#o.clock.now()
    const cached = this.#decisions.get(key)
    if (cached && cached.until > now) return cached.allowed
    const review = await this.#o.reviews.createSubjectAccessReview({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: user.name,
        groups: user.groups,
        ...(user.uid ? { uid: user.uid } : {}),
        ...(user.extra ? { extra: user.extra } : {}),
        resourceAttributes: {
          verb: a.verb,
          group: '',
          version: 'v1',
          resource: a.resource,
          subresource: a.subresource,
          name: a.name,
        },
      },
    })
    const allowed = review.status?.allowed === true
    const ttl = allowed ? (this.#o.authorizedTtlMs ?? 300_000) : (this.#o.unauthorizedTtlMs ?? 30_000)
    this.#decisions.set(key, { allowed, until: now + ttl })
    if (this.#decisions.size > 10_000) this.#expire(this.#decisions, now)
    return allowed
  }

  async #tokenUser(token: string): Promise<KubeletUser | undefined> {
    const now = this.#o.clock.now()
    const cached = this.#tokens.get(token)
    if (cached && cached.until > now) return cached.user
    const review = await this.#o.reviews.createTokenReview({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    })
    const u = review.status?.authenticated ? review.status.user : undefined
    const user: KubeletUser | undefined = u?.username
      ? {
          name: u.username,
          groups: u.groups ?? [],
          ...(u.uid ? { uid: u.uid } : {}),
          ...(u.extra ? { extra: u.extra } : {}),
        }
      : undefined
    this.#tokens.set(token, { user, until: now + (this.#o.tokenTtlMs ?? 120_000) })
    if (this.#tokens.size > 10_000) this.#expire(this.#tokens, now)
    return user
  }

  #expire(map: Map<string, { until: number }>, now: number): void {
    for (const [k, v] of map) if (v.until <= now) map.delete(k)
  }
}

/**
 * The identity of a client certificate that OpenSSL verified against the client CA (chain,
 * validity and clientAuth purpose); undefined without one or when it did not verify.
 */
export function certificateUser(socket: TLSSocket): KubeletUser | undefined {
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined
  const cert: PeerCertificate | undefined = socket.getPeerCertificate()
  const subject = cert?.subject as Record<string, string | string[] | undefined> | undefined
  const cn = subject?.CN
  const name = Array.isArray(cn) ? cn[0] : cn
  if (!name) return undefined
  const o = subject?.O
  const groups = o === undefined ? [] : Array.isArray(o) ? [...o] : [o]
  return { name, groups: [...groups, 'system:authenticated'] }
}
