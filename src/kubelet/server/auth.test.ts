import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FakeClock } from '../../base/clock.ts'
import { KubeletAuth, pathAttributes } from './auth.ts'

const cases = [
  {
    name: 'GET /stats/summary is get nodes/stats',
    method: 'GET',
    path: '/stats/summary',
    sub: 'stats',
    verb: 'get',
  },
  { name: '/stats alone is nodes/stats', method: 'GET', path: '/stats', sub: 'stats', verb: 'get' },
  {
    name: '/metrics/resource is nodes/metrics',
    method: 'GET',
    path: '/metrics/resource',
    sub: 'metrics',
    verb: 'get',
  },
  {
    name: '/metrics/cadvisor is nodes/metrics',
    method: 'GET',
    path: '/metrics/cadvisor',
    sub: 'metrics',
    verb: 'get',
  },
  { name: '/logs/ is nodes/log', method: 'GET', path: '/logs/syslog', sub: 'log', verb: 'get' },
  {
    name: 'POST /checkpoint/... is create nodes/checkpoint',
    method: 'POST',
    path: '/checkpoint/ns/p/c',
    sub: 'checkpoint',
    verb: 'create',
  },
  {
    name: '/containerLogs is nodes/proxy',
    method: 'GET',
    path: '/containerLogs/ns/p/c',
    sub: 'proxy',
    verb: 'get',
  },
  {
    name: 'POST /exec is create nodes/proxy',
    method: 'POST',
    path: '/exec/ns/p/c',
    sub: 'proxy',
    verb: 'create',
  },
  {
    name: 'a path that only starts like a prefix is nodes/proxy',
    method: 'GET',
    path: '/statsx',
    sub: 'proxy',
    verb: 'get',
  },
  { name: 'DELETE is delete', method: 'DELETE', path: '/pods', sub: 'pods', verb: 'delete' },
]
for (const c of cases) {
  test(`authorization attributes: ${c.name}`, () => {
    const { attributes } = pathAttributes(c.method, c.path, 'node-1')
    assert.deepEqual(attributes, { verb: c.verb, resource: 'nodes', subresource: c.sub, name: 'node-1' })
  })
}

test('pods, healthz and configz fall back to nodes/proxy; the others do not', () => {
  for (const path of ['/pods', '/healthz', '/configz'])
    assert.equal(pathAttributes('GET', path, 'n').fallback?.subresource, 'proxy', path)
  for (const path of ['/stats/summary', '/metrics', '/exec/a/b/c'])
    assert.equal(pathAttributes('GET', path, 'n').fallback, undefined, path)
})

test('verdicts are cached: allowed for 5 minutes, denied for 30 seconds', async () => {
  const clock = new FakeClock()
  let asked = 0
  let allow = true
  const auth = new KubeletAuth({
    clock,
    reviews: {
      createTokenReview: () => Promise.reject(new Error('not used')),
      createSubjectAccessReview: async (r) => {
        asked++
        return { ...r, status: { allowed: allow } }
      },
    },
  })
  const user = { name: 'alice', groups: ['system:authenticated'] }
  const a = pathAttributes('GET', '/stats/summary', 'n').attributes
  assert.equal(await auth.authorize(user, a), true)
  allow = false
  clock.advance(299_000)
  assert.equal(await auth.authorize(user, a), true)
  assert.equal(asked, 1)
  clock.advance(2_000)
  assert.equal(await auth.authorize(user, a), false)
  assert.equal(asked, 2)
  allow = true
  clock.advance(29_000)
  assert.equal(await auth.authorize(user, a), false)
  clock.advance(2_000)
  assert.equal(await auth.authorize(user, a), true)
  assert.equal(asked, 3)
})
