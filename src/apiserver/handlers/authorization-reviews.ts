import { invalid as invalidField, type FieldError } from '../../api/field-errors.ts'
import type {
  FieldSelectorAttributes,
  NonResourceAttributes,
  ResourceAttributes,
  SubjectAccessReviewSpec,
  SubjectAccessReviewStatus,
} from '../../api/generated/types/authorization-v1.ts'
import type { StoredObject } from '../../api/object.ts'
import { parseFieldSelector, type FieldRequirement } from '../../api/selectors/field-selector.ts'
import { encodeProtobuf } from '../../api/protobuf/codec.ts'
import type { UserInfo } from '../authn/authenticator.ts'
import type { Attributes, Authorizer, Decision, RuleResolver } from '../authz/authorizer.ts'
import { aggregateMessage } from '../authz/rbac/policy-cache.ts'
import { writeJson, type Handler, type RequestContext } from '../context.ts'
import { badRequest, invalid, methodNotSupported } from '../errors.ts'
import { PROTOBUF_TYPE, admits, asKind, parseAccept, JSON_TYPE, YAML_TYPE } from '../media.ts'
import type { ResourceRequestInfo } from '../request-info.ts'
import { readObject, type ResourceHandlerDeps } from './resources.ts'

/**
 * The authorization.k8s.io/v1 reviews: questions put to the apiserver's authorizer, answered on
 * create and stored nowhere (discovery lists them with the create verb only).
 *
 * - SubjectAccessReview: may this user (spec.user, groups, uid, extra) do this?
 * - LocalSubjectAccessReview: the same, within the namespace of the request.
 * - SelfSubjectAccessReview: may I do this? (`kubectl auth can-i`)
 * - SelfSubjectRulesReview: what may I do in this namespace? (`kubectl auth can-i --list`)
 *
 * Each answers 201 with the object it was sent and its status filled in.
 */
export interface AuthorizationReviewOptions {
  authorizer: Authorizer
  ruleResolver: RuleResolver
}

const group = 'authorization.k8s.io'

export function authorizationReviewHandlers(
  o: AuthorizationReviewOptions,
): Map<string, (deps: ResourceHandlerDeps) => Handler> {
  return new Map<string, (deps: ResourceHandlerDeps) => Handler>([
    [
      `${group}/subjectaccessreviews`,
      (deps) => review(deps, 'SubjectAccessReview', (r, ctx) => subjectAccess(o, r, ctx)),
    ],
    [
      `${group}/localsubjectaccessreviews`,
      (deps) => review(deps, 'LocalSubjectAccessReview', (r, ctx) => localSubjectAccess(o, r, ctx)),
    ],
    [
      `${group}/selfsubjectaccessreviews`,
      (deps) => review(deps, 'SelfSubjectAccessReview', (r, ctx) => selfSubjectAccess(o, r, ctx)),
    ],
    [
      `${group}/selfsubjectrulesreviews`,
      (deps) => review(deps, 'SelfSubjectRulesReview', (r, ctx) => selfSubjectRules(o, r, ctx)),
    ],
  ])
}

type Answer = (review: StoredObject, ctx: RequestContext) => Promise<object>

/** POST only: read the review, answer it, send it back with its status. */
function review(deps: ResourceHandlerDeps, kind: string, answer: Answer): Handler {
  return async (ctx) => {
    const info = ctx.info as ResourceRequestInfo
    if (info.verb !== 'create') throw methodNotSupported({ group, resource: info.resource }, info.verb)
    const { obj } = await readObject(ctx, deps, { group, version: 'v1', kind })
    const status = await answer(obj, ctx)
    const out = { ...obj, status }
    if (wantsProtobuf(ctx)) writeJson(ctx, 201, encodeProtobuf(out), PROTOBUF_TYPE)
    else writeJson(ctx, 201, out)
  }
}

async function subjectAccess(o: AuthorizationReviewOptions, r: StoredObject, _ctx: RequestContext) {
  const spec = specOf(r)
  const errors = [...metadataErrors(r, false), ...specErrors(spec, true)]
  if (errors.length > 0) throw invalid({ group, kind: 'SubjectAccessReview' }, '', errors)
  return statusOf(await o.authorizer.authorize(attributesFrom(subjectOf(spec), spec)))
}

async function localSubjectAccess(o: AuthorizationReviewOptions, r: StoredObject, ctx: RequestContext) {
  const spec = specOf(r)
  // As for any namespaced create: the object takes the request's namespace, or must name it.
  const requestNamespace = (ctx.info as ResourceRequestInfo).namespace
  if ((r.metadata.namespace ?? '') === '') r.metadata.namespace = requestNamespace
  else if (r.metadata.namespace !== requestNamespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
  }
  const namespace = r.metadata.namespace ?? ''
  const errors = [...metadataErrors(r, true), ...specErrors(spec, true)]
  if (spec.resourceAttributes && (spec.resourceAttributes.namespace ?? '') !== namespace) {
    errors.push(
      invalidField(
        'spec.resourceAttributes.namespace',
        spec.resourceAttributes.namespace ?? '',
        'must match metadata.namespace',
      ),
    )
  }
  if (spec.nonResourceAttributes) {
    errors.push(
      invalidField(
        'spec.nonResourceAttributes',
        spec.nonResourceAttributes,
        'disallowed on this kind of request',
      ),
    )
  }
  if (errors.length > 0) throw invalid({ group, kind: 'LocalSubjectAccessReview' }, '', errors)
  if (requestNamespace === '') throw badRequest(`namespace is required on this type: ${requestNamespace}`)
  if (requestNamespace !== namespace) {
    throw badRequest(`spec.resourceAttributes.namespace must match namespace: ${requestNamespace}`)
  }
  return statusOf(await o.authorizer.authorize(attributesFrom(subjectOf(spec), spec)))
}

async function selfSubjectAccess(o: AuthorizationReviewOptions, r: StoredObject, ctx: RequestContext) {
  const spec = specOf(r)
  const errors = [...metadataErrors(r, false), ...specErrors(spec, false)]
  if (errors.length > 0) throw invalid({ group, kind: 'SelfSubjectAccessReview' }, '', errors)
  return statusOf(await o.authorizer.authorize(attributesFrom(ctx.user, spec)))
}

async function selfSubjectRules(o: AuthorizationReviewOptions, r: StoredObject, ctx: RequestContext) {
  const namespace = ((r.spec ?? {}) as { namespace?: string }).namespace ?? ''
  if (namespace === '') throw badRequest('no namespace on request')
  const rules = o.ruleResolver.rulesFor(ctx.user, namespace)
  const status: Record<string, unknown> = {
    resourceRules: rules.resourceRules.map((x) => ({
      verbs: x.verbs,
      ...(x.apiGroups.length > 0 ? { apiGroups: x.apiGroups } : {}),
      ...(x.resources.length > 0 ? { resources: x.resources } : {}),
      ...(x.resourceNames.length > 0 ? { resourceNames: x.resourceNames } : {}),
    })),
    nonResourceRules: rules.nonResourceRules.map((x) => ({
      verbs: x.verbs,
      ...(x.nonResourceURLs.length > 0 ? { nonResourceURLs: x.nonResourceURLs } : {}),
    })),
    incomplete: rules.incomplete,
  }
  if (rules.errors.length > 0) status.evaluationError = aggregateMessage(rules.errors)
  return status
}

function specOf(r: StoredObject): SubjectAccessReviewSpec {
  return r.spec ?? {}
}

/** The user a SubjectAccessReview asks about. */
function subjectOf(spec: SubjectAccessReviewSpec): UserInfo {
  return {
    name: spec.user ?? '',
    groups: spec.groups ?? [],
    ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
    ...(spec.extra !== undefined ? { extra: spec.extra } : {}),
  }
}

/** The attributes a review's spec describes; an empty version means any version. */
function attributesFrom(
  user: UserInfo,
  spec: { resourceAttributes?: ResourceAttributes; nonResourceAttributes?: NonResourceAttributes },
): Attributes {
  const ra = spec.resourceAttributes
  if (ra) {
    return {
      user,
      resourceRequest: true,
      verb: ra.verb ?? '',
      namespace: ra.namespace ?? '',
      apiGroup: ra.group ?? '',
      apiVersion: ra.version || '*',
      resource: ra.resource ?? '',
      subresource: ra.subresource ?? '',
      name: ra.name ?? '',
      ...fieldSelectorOf(ra.fieldSelector),
    }
  }
  const na = spec.nonResourceAttributes ?? {}
  return { user, resourceRequest: false, verb: na.verb ?? '', path: na.path ?? '' }
}

/**
 * A review's field selector as the authorizers see it (kube-apiserver's conversion): the raw
 * selector parsed, or else the requirements, where In and NotIn of one value are = and !=.
 * What cannot be read is left out, which only widens the question.
 */
function fieldSelectorOf(fs: FieldSelectorAttributes | undefined): { fieldSelector?: FieldRequirement[] } {
  if (!fs) return {}
  if ((fs.requirements ?? []).length > 0) {
    const requirements: FieldRequirement[] = []
    for (const r of fs.requirements ?? []) {
      const values = r.values ?? []
      if (values.length !== 1) continue
      if (r.operator === 'In') requirements.push({ field: r.key, operator: '=', value: values[0] ?? '' })
      else if (r.operator === 'NotIn')
        requirements.push({ field: r.key, operator: '!=', value: values[0] ?? '' })
    }
    return requirements.length > 0 ? { fieldSelector: requirements } : {}
  }
  if (!fs.rawSelector) return {}
  try {
    return { fieldSelector: [...parseFieldSelector(fs.rawSelector).requirements] }
  } catch {
    return {}
  }
}

function statusOf(d: Decision): SubjectAccessReviewStatus {
  const status: SubjectAccessReviewStatus = { allowed: d.decision === 'allow' }
  if (d.decision === 'deny') status.denied = true
  if (d.reason) status.reason = d.reason
  return status
}

/** Exactly one of the attributes; a SubjectAccessReview also needs a user or a group. */
function specErrors(spec: SubjectAccessReviewSpec, needsSubject: boolean): FieldError[] {
  const errors: FieldError[] = []
  if (spec.resourceAttributes && spec.nonResourceAttributes) {
    errors.push(
      invalidField(
        'spec.nonResourceAttributes',
        spec.nonResourceAttributes,
        'cannot be specified in combination with resourceAttributes',
      ),
    )
  }
  if (!spec.resourceAttributes && !spec.nonResourceAttributes) {
    errors.push(
      invalidField(
        'spec.resourceAttributes',
        null,
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ),
    )
  }
  if (needsSubject && (spec.user ?? '') === '' && (spec.groups ?? []).length === 0) {
    errors.push(invalidField('spec.user', spec.user ?? '', 'at least one of user or group must be specified'))
  }
  return errors
}

/** A review's metadata must be empty (but for its namespace, for a local review). */
function metadataErrors(r: StoredObject, namespaceAllowed: boolean): FieldError[] {
  const rest = Object.entries(r.metadata as Record<string, unknown>).filter(
    ([k, v]) =>
      k !== 'managedFields' &&
      !(namespaceAllowed && k === 'namespace') &&
      v !== null &&
      v !== undefined &&
      v !== '' &&
      !(typeof v === 'object' && Object.keys(v).length === 0),
  )
  if (rest.length === 0) return []
  return [
    invalidField(
      'metadata',
      r.metadata,
      namespaceAllowed ? 'must be empty except for namespace' : 'must be empty',
    ),
  ]
}

/** Protobuf when the client names it before JSON (client-go's protobuf clients). */
function wantsProtobuf(ctx: RequestContext): boolean {
  for (const range of parseAccept(ctx.req.headers.accept)) {
    if (asKind(range)) continue
    if (range.type === PROTOBUF_TYPE) return true
    if (admits(range, JSON_TYPE) || admits(range, YAML_TYPE)) return false
  }
  return false
}
