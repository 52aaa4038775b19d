import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { test } from 'node:test'
import type { UserInfo } from './authn/authenticator.ts'
import type { Attributes, Authorizer } from './authz/authorizer.ts'
import { ApiError } from './errors.ts'
import { impersonatedUser } from './impersonation.ts'

/** A request with these headers (names as sent; values repeated as separate headers). */
function request(headers: [string, string][]): IncomingMessage {
  const distinct: Record<string, string[]> = {}
  const joined: Record<string, string> = {}
  for (const [k, v] of headers) {
    const key = k.toLowerCase()
    ;(distinct[key] ??= []).push(v)
    joined[key] = joined[key] === undefined ? v : `${joined[key]}, ${v}`
  }
  return {
    headers: joined,
    headersDistinct: distinct,
    rawHeaders: headers.flat(),
  } as unknown as IncomingMessage
}

/** Allows what `allowed` accepts; records every question. */
function authorizer(allowed: (a: Attributes) => boolean): Authorizer & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    authorize(a) {
      if (a.resourceRequest) {
        const r = a.subresource ? `${a.resource}/${a.subresource}` : a.resource
        asked.push(`${a.verb} ${a.apiGroup}/${r} ${a.namespace}/${a.name}`)
      }
      return allowed(a) ? { decision: 'allow' } : { decision: 'no-opinion' }
    },
  }
}

const alice: UserInfo = { name: 'alice', groups: ['system:authenticated'] }
const everything = () => true

test('a request without impersonation headers acts as its own user, unasked', () => {
  const a = authorizer(everything)
  assert.equal(impersonatedUser(request([['Accept', 'application/json']]), alice, a), alice)
  assert.deepEqual(a.asked, [])
})

test('impersonating a user asks for impersonate on users, and adds system:authenticated', () => {
  const a = authorizer(everything)
  assert.deepEqual(impersonatedUser(request([['Impersonate-User', 'bob']]), alice, a), {
    name: 'bob',
    groups: ['system:authenticated'],
  })
  assert.deepEqual(a.asked, ['impersonate /users /bob'])
})

test('groups, extras and a uid are each authorized, in order, and make up the user', () => {
  const a = authorizer(everything)
  const user = impersonatedUser(
    request([
      ['Impersonate-User', 'bob'],
      ['Impersonate-Group', 'devs'],
      ['Impersonate-Group', 'ops'],
      ['Impersonate-Extra-Scopes', 'view'],
      ['Impersonate-Extra-Scopes', 'edit'],
      ['Impersonate-Extra-Example.com%2Fteam', 'red'],
      ['Impersonate-Uid', 'u-1'],
    ]),
    alice,
    a,
  )
  assert.deepEqual(user, {
    name: 'bob',
    groups: ['devs', 'ops', 'system:authenticated'],
    uid: 'u-1',
    extra: { scopes: ['view', 'edit'], 'example.com/team': ['red'] },
  })
  assert.deepEqual(a.asked, [
    'impersonate /users /bob',
    'impersonate /groups /devs',
    'impersonate /groups /ops',
    'impersonate authentication.k8s.io/userextras/scopes /view',
    'impersonate authentication.k8s.io/userextras/scopes /edit',
    'impersonate authentication.k8s.io/userextras/example.com/team /red',
    'impersonate authentication.k8s.io/uids /u-1',
  ])
})

test('a service account is authorized in its namespace and gets its groups unless groups are asked for', () => {
  const a = authorizer(everything)
  assert.deepEqual(
    impersonatedUser(request([['Impersonate-User', 'system:serviceaccount:ns1:robot']]), alice, a),
    {
      name: 'system:serviceaccount:ns1:robot',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'],
    },
  )
  assert.deepEqual(a.asked, ['impersonate /serviceaccounts ns1/robot'])
  assert.deepEqual(
    impersonatedUser(
      request([
        ['Impersonate-User', 'system:serviceaccount:ns1:robot'],
        ['Impersonate-Group', 'only'],
      ]),
      alice,
      a,
    ),
    { name: 'system:serviceaccount:ns1:robot', groups: ['only', 'system:authenticated'] },
  )
  // Not a valid service account name: an ordinary user.
  assert.deepEqual(
    impersonatedUser(request([['Impersonate-User', 'system:serviceaccount:a:b:c']]), alice, a),
    {
      name: 'system:serviceaccount:a:b:c',
      groups: ['system:authenticated'],
    },
  )
})

test('system:authenticated is not added when the groups say authenticated or unauthenticated; anonymous is unauthenticated', () => {
  const a = authorizer(everything)
  const as = (headers: [string, string][]) =>
    (impersonatedUser(request(headers), alice, a) as UserInfo).groups
  assert.deepEqual(
    as([
      ['Impersonate-User', 'bob'],
      ['Impersonate-Group', 'system:unauthenticated'],
    ]),
    ['system:unauthenticated'],
  )
  assert.deepEqual(as([['Impersonate-User', 'system:anonymous']]), ['system:unauthenticated'])
})

test('the first refusal is a 403 worded for what was refused', () => {
  const a = authorizer((x) => x.resourceRequest && x.resource !== 'groups')
  assert.throws(
    () =>
      impersonatedUser(
        request([
          ['Impersonate-User', 'bob'],
          ['Impersonate-Group', 'admins'],
        ]),
        alice,
        a,
      ),
    (err: unknown) =>
      err instanceof ApiError &&
      err.code === 403 &&
      err.message ===
        'groups "admins" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope',
  )
  const none = authorizer(() => false)
  assert.throws(
    () => impersonatedUser(request([['Impersonate-User', 'system:serviceaccount:ns1:robot']]), alice, none),
    (err: unknown) =>
      err instanceof ApiError &&
      err.message ===
        'serviceaccounts "robot" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "ns1"',
  )
})

test('groups, extras or a uid without a user are a bad request', () => {
  for (const h of [
    ['Impersonate-Group', 'devs'],
    ['Impersonate-Extra-Scopes', 'x'],
    ['Impersonate-Uid', 'u'],
  ] as [string, string][]) {
    assert.throws(
      () => impersonatedUser(request([h]), alice, authorizer(everything)),
      (err: unknown) =>
        err instanceof ApiError && err.code === 400 && /without impersonating a user$/.test(err.message),
    )
  }
})

test('an asynchronous authorizer is awaited', async () => {
  const a: Authorizer = { authorize: async () => ({ decision: 'allow' }) }
  assert.deepEqual(await impersonatedUser(request([['Impersonate-User', 'bob']]), alice, a), {
    name: 'bob',
    groups: ['system:authenticated'],
  })
})
