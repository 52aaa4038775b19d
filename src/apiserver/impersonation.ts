import type { IncomingMessage } from 'node:http'
import { isDNS1123Label, isDNS1123Subdomain } from '../api/validation/names.ts'
import type { UserInfo } from './authn/authenticator.ts'
import {
  forbiddenError,
  type Authorizer,
  type Decision,
  type ResourceAttributes,
} from './authz/authorizer.ts'
import { badRequest } from './errors.ts'

/**
 * User impersonation (kube-apiserver's WithImpersonation filter): a request may act as another
 * user with the headers
 *
 *   Impersonate-User: jane | system:serviceaccount:<namespace>:<name>
 *   Impersonate-Group: developers            (repeatable)
 *   Impersonate-Uid: 06f6ce97-...
 *   Impersonate-Extra-<key>: value           (repeatable; the key %-encoded, compared lower-cased)
 *
 * Each thing asked for needs the `impersonate` verb on it: users, groups, serviceaccounts (in
 * their namespace), or authentication.k8s.io uids and userextras/<key>. The first refusal ends
 * the request with 403, worded for that thing (`users "jane" is forbidden: User "alice" cannot
 * impersonate resource "users" in API group "" at the cluster scope`). Groups, extras or a uid
 * without a user are a bad request.
 *
 * The impersonated user is in system:authenticated unless the groups asked for say
 * system:authenticated or system:unauthenticated (system:anonymous is put in system:unauthenticated
 * instead); a service account without groups asked for gets system:serviceaccounts and
 * system:serviceaccounts:<namespace>.
 */

const userHeader = 'impersonate-user'
const groupHeader = 'impersonate-group'
const uidHeader = 'impersonate-uid'
const extraPrefix = 'impersonate-extra-'

type Request =
  | { kind: 'User'; name: string }
  | { kind: 'ServiceAccount'; namespace: string; name: string }
  | { kind: 'Group'; name: string }
  | { kind: 'UserExtra'; key: string; value: string }
  | { kind: 'UID'; uid: string }

/**
 * The user the request acts as: `user` itself when it asks to impersonate no one (the usual case,
 * decided without allocating), or the impersonated user once every part of the impersonation is
 * authorized. Throws an ApiError (400 or 403) otherwise.
 */
export function impersonatedUser(
  req: IncomingMessage,
  user: UserInfo,
  authorizer: Authorizer,
): UserInfo | Promise<UserInfo> {
  const h = req.headers
  if (
    h[userHeader] === undefined &&
    h[groupHeader] === undefined &&
    h[uidHeader] === undefined &&
    !hasExtra(req)
  )
    return user
  const requests = impersonationRequests(req)
  if (requests.length === 0) return user
  return authorizeAll(requests, user, authorizer, 0)
}

function authorizeAll(
  requests: readonly Request[],
  requestor: UserInfo,
  authorizer: Authorizer,
  from: number,
): UserInfo | Promise<UserInfo> {
  for (let i = from; i < requests.length; i++) {
    const attrs = attributesOf(requests[i] as Request, requestor)
    const d = authorizer.authorize(attrs)
    if (d instanceof Promise) {
      return d.then((x) => {
        check(x, attrs)
        return authorizeAll(requests, requestor, authorizer, i + 1)
      })
    }
    check(d, attrs)
  }
  return actingAs(requests)
}

function check(d: Decision, attrs: ResourceAttributes): void {
  if (d.decision !== 'allow') throw forbiddenError(attrs, d.reason)
}

function attributesOf(r: Request, user: UserInfo): ResourceAttributes {
  const base = { user, resourceRequest: true, verb: 'impersonate', subresource: '', namespace: '' } as const
  switch (r.kind) {
    case 'User':
      return { ...base, apiGroup: '', apiVersion: '', resource: 'users', name: r.name }
    case 'Group':
      return { ...base, apiGroup: '', apiVersion: '', resource: 'groups', name: r.name }
    case 'ServiceAccount':
      return {
        ...base,
        apiGroup: '',
        apiVersion: 'v1',
        resource: 'serviceaccounts',
        namespace: r.namespace,
        name: r.name,
      }
    case 'UserExtra':
      return {
        ...base,
        apiGroup: 'authentication.k8s.io',
        apiVersion: 'v1',
        resource: 'userextras',
        subresource: r.key,
        name: r.value,
      }
    case 'UID':
      return {
        ...base,
        apiGroup: 'authentication.k8s.io',
        apiVersion: 'v1',
        resource: 'uids',
        name: r.uid,
      }
  }
}

/** The user the (authorized) requests describe. */
function actingAs(requests: readonly Request[]): UserInfo {
  const groupsAsked = requests.some((r) => r.kind === 'Group')
  let name = ''
  let uid: string | undefined
  let groups: string[] = []
  const extra: Record<string, string[]> = {}
  for (const r of requests) {
    switch (r.kind) {
      case 'User':
        name = r.name
        break
      case 'ServiceAccount':
        name = `system:serviceaccount:${r.namespace}:${r.name}`
        // A service account's groups are known; they are its groups unless groups were asked for.
        if (!groupsAsked) groups = ['system:serviceaccounts', `system:serviceaccounts:${r.namespace}`]
        break
      case 'Group':
        groups.push(r.name)
        break
      case 'UserExtra':
        ;(extra[r.key] ??= []).push(r.value)
        break
      case 'UID':
        uid = r.uid
        break
    }
  }
  if (name !== 'system:anonymous') {
    if (!groups.includes('system:authenticated') && !groups.includes('system:unauthenticated'))
      groups.push('system:authenticated')
  } else if (!groups.includes('system:unauthenticated')) {
    groups.push('system:unauthenticated')
  }
  return {
    name,
    groups,
    ...(uid !== undefined ? { uid } : {}),
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  }
}

/** What the headers ask to impersonate, in upstream's order: the user, groups, extras, the uid. */
function impersonationRequests(req: IncomingMessage): Request[] {
  const out: Request[] = []
  const distinct = req.headersDistinct
  const user = distinct[userHeader]?.[0] ?? ''
  if (user !== '') {
    const sa = splitServiceAccountName(user)
    out.push(sa ? { kind: 'ServiceAccount', ...sa } : { kind: 'User', name: user })
  }
  const groups = distinct[groupHeader] ?? []
  for (const name of groups) out.push({ kind: 'Group', name })
  let extras = false
  for (const [header, values] of Object.entries(distinct)) {
    if (!header.startsWith(extraPrefix)) continue
    extras = true
    const key = unescapeExtraKey(header.slice(extraPrefix.length))
    for (const value of values ?? []) out.push({ kind: 'UserExtra', key, value })
  }
  const uid = distinct[uidHeader]?.[0] ?? ''
  if (uid !== '') out.push({ kind: 'UID', uid })
  if ((groups.length > 0 || extras || uid !== '') && user === '') {
    throw badRequest(`requested ${describeRequests(out)} without impersonating a user`)
  }
  return out
}

/** Whether any header is an Impersonate-Extra-* one (a scan of the raw headers, no allocation). */
function hasExtra(req: IncomingMessage): boolean {
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length > extraPrefix.length && startsWithIgnoringCase(name, extraPrefix)) return true
  }
  return false
}

function startsWithIgnoringCase(s: string, lowerPrefix: string): boolean {
  for (let i = 0; i < lowerPrefix.length; i++) {
    let c = s.charCodeAt(i)
    if (c >= 65 && c <= 90) c += 32
    if (c !== lowerPrefix.charCodeAt(i)) return false
  }
  return true
}

/** Extra keys travel %-encoded in header names; a key that does not decode is kept as sent. */
function unescapeExtraKey(key: string): string {
  try {
    return decodeURIComponent(key)
  } catch {
    return key
  }
}

/** `system:serviceaccount:<namespace>:<name>` with a valid namespace and name, split. */
export function splitServiceAccountName(user: string): { namespace: string; name: string } | undefined {
  const prefix = 'system:serviceaccount:'
  if (!user.startsWith(prefix)) return undefined
  const parts = user.slice(prefix.length).split(':')
  if (parts.length !== 2) return undefined
  const [namespace = '', name = ''] = parts
  if (isDNS1123Label(namespace).length > 0 || isDNS1123Subdomain(name).length > 0) return undefined
  return { namespace, name }
}

/** The requests as Go prints the ObjectReferences upstream lists in that error (approximately). */
function describeRequests(requests: readonly Request[]): string {
  const one = (r: Request): string => {
    switch (r.kind) {
      case 'User':
      case 'Group':
        return `{${r.kind}  ${r.name}    }`
      case 'ServiceAccount':
        return `{ServiceAccount ${r.namespace} ${r.name}    }`
      case 'UserExtra':
        return `{UserExtra  ${r.value}  authentication.k8s.io/v1  ${r.key}}`
      case 'UID':
        return `{UID  ${r.uid}  authentication.k8s.io/v1  }`
    }
  }
  return `[${requests.map(one).join(' ')}]`
}
