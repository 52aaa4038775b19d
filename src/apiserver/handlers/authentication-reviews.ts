import type { TokenReview, UserInfo as ApiUserInfo } from '../../api/generated/types/authentication-v1.ts'
import type { Clock } from '../../base/clock.ts'
import type { UserInfo } from '../authn/authenticator.ts'
import type { TokenOutcome } from '../authn/token.ts'
import { writeJson, type Handler } from '../context.ts'
import { badRequest, methodNotSupported } from '../errors.ts'
import { rfc3339 } from '../registry/store.ts'
import type { ResourceRequestInfo } from '../request-info.ts'
import { readObject, type ResourceHandlerDeps } from './resources.ts'

/**
 * The authentication.k8s.io reviews, which are asked on create and stored nowhere:
 * - TokenReview: is this token good, for these audiences (the apiserver's when none are
 *   named)? The answer is what the apiserver's own token authenticators say, with the user and
 *   audiences, or why not (`error`);
 * - SelfSubjectReview: who am I, as this request was authenticated (`kubectl auth whoami`).
 */
export interface TokenReviewOptions {
  review(token: string, audiences: readonly string[]): TokenOutcome | Promise<TokenOutcome>
  apiAudiences: readonly string[]
}

const group = 'authentication.k8s.io'

export function tokenReviewHandler(
  deps: Pick<ResourceHandlerDeps, 'decodeProtobuf'>,
  o: TokenReviewOptions,
): Handler {
  return async (ctx) => {
    requireCreate(ctx.info as ResourceRequestInfo, 'tokenreviews')
    const { obj } = await readObject(ctx, deps, { group, version: 'v1', kind: 'TokenReview' })
    const review = obj as unknown as TokenReview
    const token = review.spec?.token ?? ''
    if (token === '') throw badRequest('token is required for TokenReview in authentication')
    const audiences =
      review.spec.audiences && review.spec.audiences.length > 0 ? review.spec.audiences : o.apiAudiences
    const outcome = await o.review(token, audiences)
    writeJson(ctx, 201, {
      kind: 'TokenReview',
      apiVersion: `${group}/v1`,
      metadata: review.metadata ?? {},
      spec: review.spec,
      status: outcome.authenticated
        ? { authenticated: true, user: apiUser(outcome.user), audiences: outcome.audiences }
        : { user: {}, error: outcome.error },
    })
  }
}

export function selfSubjectReviewHandler(
  deps: Pick<ResourceHandlerDeps, 'decodeProtobuf'>,
  clock: Clock,
): Handler {
  return async (ctx) => {
    requireCreate(ctx.info as ResourceRequestInfo, 'selfsubjectreviews')
    await readObject(ctx, deps, { group, version: 'v1', kind: 'SelfSubjectReview' })
    writeJson(ctx, 201, {
      kind: 'SelfSubjectReview',
      apiVersion: `${group}/v1`,
      metadata: { creationTimestamp: rfc3339(clock.now()) },
      status: { userInfo: apiUser(ctx.user) },
    })
  }
}

function requireCreate(info: ResourceRequestInfo, resource: string): void {
  if (info.verb !== 'create') throw methodNotSupported({ group, resource }, info.verb)
}

/** A user as the authentication API shows it (Go leaves empty fields out). */
export function apiUser(user: UserInfo): ApiUserInfo {
  return {
    username: user.name,
    ...(user.uid ? { uid: user.uid } : {}),
    ...(user.groups.length > 0 ? { groups: [...user.groups] } : {}),
    ...(user.extra && Object.keys(user.extra).length > 0
      ? { extra: Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]])) }
      : {}),
  }
}
