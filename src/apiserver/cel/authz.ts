import type { Environment } from '@marcbachmann/cel-js'
import type { UserInfo } from '../authn/authenticator.ts'
import type { Authorizer } from '../authz/authorizer.ts'

/**
 * Kubernetes' CEL authorizer library (k8s.io/apiserver/pkg/cel/library/authz.go): policies and
 * match conditions ask whether the requesting user (or a service account) may do something,
 * e.g. `authorizer.group('apps').resource('deployments').namespace('ns').check('delete').allowed()`,
 * or `authorizer.requestResource.check('approve')` for the request's own resource.
 */
export class AuthorizerValue {
  readonly user: UserInfo
  readonly authorizer: Authorizer
  /** The request's own resource, when the request is for one. */
  readonly requestResource: ResourceCheck | null

  constructor(
    user: UserInfo,
    authorizer: Authorizer,
    request?: { group: string; resource: string; subresource: string; namespace: string; name: string },
  ) {
    this.user = user
    this.authorizer = authorizer
    this.requestResource = request ? new ResourceCheck(this, { ...request }) : null
  }
}

export class PathCheck {
  readonly parent: AuthorizerValue
  readonly path: string

  constructor(parent: AuthorizerValue, path: string) {
    this.parent = parent
    this.path = path
  }
}

export class GroupCheck {
  readonly parent: AuthorizerValue
  readonly group: string

  constructor(parent: AuthorizerValue, group: string) {
    this.parent = parent
    this.group = group
  }
}

interface ResourceFields {
  group: string
  resource: string
  subresource: string
  namespace: string
  name: string
}

export class ResourceCheck {
  readonly parent: AuthorizerValue
  readonly fields: Readonly<ResourceFields>

  constructor(parent: AuthorizerValue, fields: ResourceFields) {
    this.parent = parent
    this.fields = fields
  }

  with(o: Partial<ResourceFields>): ResourceCheck {
    return new ResourceCheck(this.parent, { ...this.fields, ...o })
  }
}

export class AuthorizationDecision {
  readonly decision: 'allow' | 'deny' | 'no-opinion'
  readonly reason: string
  readonly error: string

  constructor(decision: 'allow' | 'deny' | 'no-opinion', reason: string, error = '') {
    this.decision = decision
    this.reason = reason
    this.error = error
  }
}

async function decide(
  a: AuthorizerValue,
  attrs: Parameters<Authorizer['authorize']>[0],
): Promise<AuthorizationDecision> {
  try {
    const d = await a.authorizer.authorize(attrs)
    return new AuthorizationDecision(d.decision, d.decision === 'allow' ? '' : (d.reason ?? ''))
  } catch (err) {
    return new AuthorizationDecision('no-opinion', '', err instanceof Error ? err.message : String(err))
  }
}

const serviceAccountUser = (namespace: string, name: string): UserInfo => ({
  name: `system:serviceaccount:${namespace}:${name}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
})

export function registerAuthz(env: Environment): void {
  const A = 'kubernetes.authorization.Authorizer'
  const P = 'kubernetes.authorization.PathCheck'
  const G = 'kubernetes.authorization.GroupCheck'
  const R = 'kubernetes.authorization.ResourceCheck'
  const D = 'kubernetes.authorization.Decision'
  env.registerType(A, { ctor: AuthorizerValue })
  env.registerType(P, { ctor: PathCheck })
  env.registerType(G, { ctor: GroupCheck })
  env.registerType(R, { ctor: ResourceCheck })
  env.registerType(D, { ctor: AuthorizationDecision })
  env.registerFunction(`${A}.path(string): ${P}`, (a: AuthorizerValue, p: string) => new PathCheck(a, p))
  env.registerFunction(`${A}.group(string): ${G}`, (a: AuthorizerValue, g: string) => new GroupCheck(a, g))
  env.registerFunction(
    `${A}.serviceAccount(string, string): ${A}`,
    (a: AuthorizerValue, ns: string, name: string) =>
      new AuthorizerValue(serviceAccountUser(ns, name), a.authorizer),
  )
  env.registerFunction(
    `${G}.resource(string): ${R}`,
    (g: GroupCheck, r: string) =>
      new ResourceCheck(g.parent, { group: g.group, resource: r, subresource: '', namespace: '', name: '' }),
  )
  env.registerFunction(`${R}.subresource(string): ${R}`, (r: ResourceCheck, s: string) =>
    r.with({ subresource: s }),
  )
  env.registerFunction(`${R}.namespace(string): ${R}`, (r: ResourceCheck, s: string) =>
    r.with({ namespace: s }),
  )
  env.registerFunction(`${R}.name(string): ${R}`, (r: ResourceCheck, s: string) => r.with({ name: s }))
  env.registerFunction(`${R}.check(string): ${D}`, (r: ResourceCheck, verb: string) =>
    decide(r.parent, {
      user: r.parent.user,
      resourceRequest: true,
      verb,
      namespace: r.fields.namespace,
      apiGroup: r.fields.group,
      apiVersion: '*',
      resource: r.fields.resource,
      subresource: r.fields.subresource,
      name: r.fields.name,
    }),
  )
  env.registerFunction(`${P}.check(string): ${D}`, (p: PathCheck, verb: string) =>
    decide(p.parent, { user: p.parent.user, resourceRequest: false, verb, path: p.path }),
  )
  env.registerFunction(`${D}.allowed(): bool`, (d: AuthorizationDecision) => d.decision === 'allow')
  env.registerFunction(`${D}.reason(): string`, (d: AuthorizationDecision) => d.reason)
  env.registerFunction(`${D}.errored(): bool`, (d: AuthorizationDecision) => d.error !== '')
  env.registerFunction(`${D}.error(): string`, (d: AuthorizationDecision) => d.error)
}
