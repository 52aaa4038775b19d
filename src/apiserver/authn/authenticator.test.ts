import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { test } from 'node:test'
import {
  AuthenticationFailed,
  unionAuthenticator,
  type Authenticator,
  type UserInfo,
} from './authenticator.ts'

const req = {} as IncomingMessage
const alice: UserInfo = { name: 'alice', groups: ['devs'] }
const knows = (user: UserInfo): Authenticator => ({ authenticate: () => user })
const knowsLater = (user: UserInfo): Authenticator => ({ authenticate: async () => user })
const unknown: Authenticator = { authenticate: () => undefined }
const refuses = (why: string): Authenticator => ({
  authenticate: () => {
    throw new Error(why)
  },
})
const refusesLater = (why: string): Authenticator => ({
  authenticate: async () => Promise.reject(new Error(why)),
})

test('the first authenticator that knows the request decides, and adds system:authenticated', async () => {
  assert.deepEqual(unionAuthenticator([unknown, knows(alice)]).authenticate(req), {
    name: 'alice',
    groups: ['devs', 'system:authenticated'],
  })
  assert.equal(unionAuthenticator([unknown, unknown]).authenticate(req), undefined)
})

test('each request of one user object gets the same authenticated user, which RBAC keeps its rules by', () => {
  const union = unionAuthenticator([knows(alice)])
  const first = union.authenticate(req)
  assert.equal(union.authenticate(req), first)
  assert.equal(unionAuthenticator([unknown, knows(alice)]).authenticate(req), first)
  // Another object of the same name is another user object: its own.
  const other = unionAuthenticator([knows({ name: 'alice', groups: ['devs'] })]).authenticate(req)
  assert.notEqual(other, first)
  assert.deepEqual(other, first)
  assert.deepEqual(alice, { name: 'alice', groups: ['devs'] })
})

test('a refusal does not stop the union: a later authenticator may still know the request', async () => {
  assert.equal(
    (unionAuthenticator([refuses('bad cert'), knows(alice)]).authenticate(req) as UserInfo).name,
    'alice',
  )
  assert.equal(
    (await unionAuthenticator([refusesLater('bad cert'), knowsLater(alice)]).authenticate(req))?.name,
    'alice',
  )
})

test('when none knows the request and some refused, the union fails with their reasons', async () => {
  assert.throws(() => unionAuthenticator([refuses('bad cert'), unknown]).authenticate(req), {
    name: 'AuthenticationFailed',
    message: 'bad cert',
  })
  await assert.rejects(
    async () =>
      unionAuthenticator([refuses('bad cert'), refusesLater('invalid bearer token')]).authenticate(req),
    (err: unknown) =>
      err instanceof AuthenticationFailed &&
      err.message === '[bad cert, invalid bearer token]' &&
      err.refusals.length === 2,
  )
})
