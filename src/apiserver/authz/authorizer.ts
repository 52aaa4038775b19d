import type { FieldRequirement } from '../../api/selectors/field-selector.ts'
import type { UserInfo } from '../authn/authenticator.ts'
import { ApiError, forbidden } from '../errors.ts'

/** What a request wants to do, in the terms RBAC rules are written in. */
export type Attributes = ResourceAttributes | NonResourceAttributes

export interface ResourceAttributes {
  readonly user: UserInfo
  readonly resourceRequest: true
  readonly verb: string
  readonly namespace: string
  readonly apiGroup: string
  /** `*` when any version will do (reviews and the registry's own checks ask so). */
  readonly apiVersion: string
  readonly resource: string
  readonly subresource: string
  readonly name: string
  /**
   * The field selector of a list, watch or deletecollection, when it has one and it parses: the
   * Node authorizer lets a node list the pods with spec.nodeName=<itself>.
   */
  readonly fieldSelector?: readonly FieldRequirement[]
}

export interface NonResourceAttributes {
  readonly user: UserInfo
  readonly resourceRequest: false
  readonly verb: string
  readonly path: string
}

/**
 * An authorizer's answer. `reason` is for people: SubjectAccessReviews return it, and a refused
 * request's 403 message ends with it (`...: RBAC: clusterrole.rbac.authorization.k8s.io "x" not
 * found`).
 */
export type Decision =
  | { readonly decision: 'allow'; readonly reason?: string }
  | { readonly decision: 'deny'; readonly reason: string }
  /** This authorizer has no opinion; the next one decides. */
  | { readonly decision: 'no-opinion'; readonly reason?: string }

/**
 * Decides whether a user may do something. Synchronous when it can answer from memory (every
 * built-in authorizer can), so the request pipeline makes no promise per request.
 */
export interface Authorizer {
  authorize(attributes: Attributes): Decision | Promise<Decision>
}

/** A rule as SelfSubjectRulesReview reports it (authorization.k8s.io ResourceRule). */
export interface ResourceRuleInfo {
  readonly verbs: readonly string[]
  readonly apiGroups: readonly string[]
  readonly resources: readonly string[]
  readonly resourceNames: readonly string[]
}

export interface NonResourceRuleInfo {
  readonly verbs: readonly string[]
  readonly nonResourceURLs: readonly string[]
}

/** What a user may do in a namespace, as far as an authorizer can enumerate it. */
export interface SubjectRules {
  readonly resourceRules: readonly ResourceRuleInfo[]
  readonly nonResourceRules: readonly NonResourceRuleInfo[]
  /** The authorizer cannot list everything the user may do (a webhook, the Node authorizer). */
  readonly incomplete: boolean
  /** Errors met while listing (a binding to a missing role); the rules found still hold. */
  readonly errors: readonly string[]
}

/** Lists a user's rules (kube-apiserver's authorizer.RuleResolver), for SelfSubjectRulesReview. */
export interface RuleResolver {
  rulesFor(user: UserInfo, namespace: string): SubjectRules
}

const noOpinion: Decision = { decision: 'no-opinion' }
const allow: Decision = { decision: 'allow' }

/**
 * Members of these groups may do anything, without asking anything else: kube-apiserver puts
 * this first for system:masters, so a cluster administrator keeps access whatever RBAC says and
 * pays nothing for it.
 */
export function privilegedGroupsAuthorizer(groups: readonly string[]): Authorizer {
  return {
    authorize(a) {
      const mine = a.user.groups
      for (let i = 0; i < mine.length; i++) if (groups.includes(mine[i] as string)) return allow
      return noOpinion
    },
  }
}

/**
 * Asks each authorizer in turn: the first that allows or denies decides. When none has an
 * opinion, the request is not allowed, and the reasons they gave are joined one per line (as
 * kube-apiserver's union authorizer does).
 */
export function unionAuthorizer(authorizers: readonly Authorizer[]): Authorizer {
  const from = (i: number, a: Attributes, reasons: string[] | undefined): Decision | Promise<Decision> => {
    for (; i < authorizers.length; i++) {
      const d = (authorizers[i] as Authorizer).authorize(a)
      if (d instanceof Promise) {
        const next = i + 1
        return d.then((x) => (x.decision === 'no-opinion' ? from(next, a, withReason(reasons, x)) : x))
      }
      if (d.decision !== 'no-opinion') return d
      reasons = withReason(reasons, d)
    }
    return reasons ? { decision: 'no-opinion', reason: reasons.join('\n') } : noOpinion
  }
  return { authorize: (a) => from(0, a, undefined) }
}

function withReason(reasons: string[] | undefined, d: Decision): string[] | undefined {
  if (!d.reason) return reasons
  return reasons ? [...reasons, d.reason] : [d.reason]
}

/** Every resolver's rules together (kube-apiserver's union rule resolver). */
export function unionRuleResolver(resolvers: readonly RuleResolver[]): RuleResolver {
  return {
    rulesFor(user, namespace) {
      const resourceRules: ResourceRuleInfo[] = []
      const nonResourceRules: NonResourceRuleInfo[] = []
      const errors: string[] = []
      let incomplete = false
      for (const r of resolvers) {
        const s = r.rulesFor(user, namespace)
        resourceRules.push(...s.resourceRules)
        nonResourceRules.push(...s.nonResourceRules)
        errors.push(...s.errors)
        incomplete ||= s.incomplete
      }
      return { resourceRules, nonResourceRules, incomplete, errors }
    },
  }
}

/**
 * The 403 a refused request gets, worded as kube-apiserver words it:
 * `pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "default"`,
 * `forbidden: User "alice" cannot get path "/metrics"`, each followed by `: <reason>` when the
 * authorizers gave one.
 */
export function forbiddenError(a: Attributes, reason: string | undefined): ApiError {
  const why = reason ? `: ${reason}` : ''
  if (!a.resourceRequest) {
    return new ApiError({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `forbidden: User "${a.user.name}" cannot ${a.verb} path "${a.path}"${why}`,
      reason: 'Forbidden',
      details: {},
      code: 403,
    })
  }
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource
  const scope = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope'
  return forbidden(
    { group: a.apiGroup, resource: a.resource },
    a.name,
    `User "${a.user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}"${scope}${why}`,
  )
}
