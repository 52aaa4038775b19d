import type { UserInfo } from '../authn/authenticator.ts'

/** What a request wants to do, in the terms RBAC rules are written in. */
export type Attributes =
  | {
      readonly user: UserInfo
      readonly resourceRequest: true
      readonly verb: string
      readonly namespace: string
      readonly apiGroup: string
      readonly apiVersion: string
      readonly resource: string
      readonly subresource: string
      readonly name: string
    }
  | { readonly user: UserInfo; readonly resourceRequest: false; readonly verb: string; readonly path: string }

export type Decision =
  | { readonly decision: 'allow' }
  | { readonly decision: 'deny'; readonly reason: string }
  /** This authorizer has no opinion; the next one decides. */
  | { readonly decision: 'no-opinion'; readonly reason?: string }

export interface Authorizer {
  authorize(attributes: Attributes): Decision | Promise<Decision>
}

/** What anyone may read, signed in or not (the system:public-info-viewer role of Kubernetes). */
export const publicInfoPaths = ['/healthz', '/livez', '/readyz', '/version']

export function isPublicInfoPath(path: string): boolean {
  return publicInfoPaths.some((p) => path === p || path.startsWith(p + '/'))
}

/** Until RBAC arrives: every authenticated user may do everything; anyone may read public info. */
export const allowAuthenticated: Authorizer = {
  authorize: (a) =>
    a.user.groups.includes('system:authenticated') ||
    (!a.resourceRequest && a.verb === 'get' && isPublicInfoPath(a.path))
      ? { decision: 'allow' }
      : { decision: 'deny', reason: 'anonymous requests are not allowed' },
}
