import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Authorizer } from '../authz/authorizer.ts'
import { AuthorizerValue } from './authz.ts'
import { compileExpression, type CompiledExpression } from './environment.ts'
import { toCel } from './values.ts'

function compiled(expression: string): CompiledExpression {
  const c = compileExpression(expression)
  if ('error' in c) throw new Error(c.error)
  return c.program
}

const deployment = toCel({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: {
    replicas: 5,
    template: {
      spec: {
        containers: [
          { name: 'a', image: 'nginx:1.27', resources: { limits: { memory: '1Gi', cpu: '500m' } } },
          { name: 'b', image: 'busybox' },
        ],
      },
    },
  },
})

async function run(expression: string, vars: Record<string, unknown> = {}): Promise<unknown> {
  return await compiled(expression).evaluate({
    object: deployment,
    oldObject: null,
    params: null,
    request: {},
    namespaceObject: null,
    authorizer: null,
    variables: {},
    ...vars,
  })
}

const cases: { name: string; expression: string; want: unknown }[] = [
  { name: 'integers in objects are CEL ints', expression: 'object.spec.replicas + 1 == 6', want: true },
  { name: 'has() tells a missing field', expression: 'has(object.spec.paused)', want: false },
  {
    name: 'all() and exists() walk lists',
    expression:
      "object.spec.template.spec.containers.all(c, c.name != '') && object.spec.template.spec.containers.exists(c, c.image.startsWith('busybox'))",
    want: true,
  },
  {
    name: 'map() and filter() build lists',
    expression: "object.spec.template.spec.containers.filter(c, c.image.contains(':')).map(c, c.name)",
    want: ['a'],
  },
  {
    name: 'optionals default a missing field',
    expression: 'object.spec.?paused.orValue(false)',
    want: false,
  },
  { name: 'cel.bind names a value', expression: 'cel.bind(n, object.spec.replicas, n * 2)', want: 10n },
  { name: 'isSorted on a list', expression: '[1, 2, 3].isSorted() && ![2, 1].isSorted()', want: true },
  {
    name: 'sum, min and max of a list',
    expression: '[1, 2, 3].sum() + [4, 5].min() + [6, 7].max()',
    want: 17n,
  },
  {
    name: 'indexOf and lastIndexOf on lists',
    expression: "['a', 'b', 'a'].lastIndexOf('a') - ['a', 'b'].indexOf('b')",
    want: 1n,
  },
  {
    name: 'regex find and findAll',
    expression: "'abc 123 def 456'.findAll('[0-9]+') == ['123', '456'] && 'x1'.find('[0-9]') == '1'",
    want: true,
  },
  {
    name: 'strings replace, charAt, reverse',
    expression: "'a-b-c'.replace('-', '.') + 'abc'.charAt(1) + 'abc'.reverse()",
    want: 'a.b.cbcba',
  },
  {
    name: 'format with %s and %d',
    expression: "'%s has %d replicas'.format([object.metadata.name, object.spec.replicas])",
    want: 'web has 5 replicas',
  },
  {
    name: 'url parts',
    expression:
      "url('https://example.com:8443/a/b?x=1&x=2').getHost() == 'example.com:8443' && url('https://example.com/p').getQuery() == {} && isURL('/relative') && !isURL('relative')",
    want: true,
  },
  { name: 'url query values', expression: "url('https://h/p?x=1&x=2').getQuery()['x']", want: ['1', '2'] },
  {
    name: 'quantity comparisons',
    expression:
      "quantity(object.spec.template.spec.containers[0].resources.limits.memory).isGreaterThan(quantity('512Mi'))",
    want: true,
  },
  {
    name: 'quantity arithmetic',
    expression: "quantity('500m').add(quantity('1500m')).asInteger()",
    want: 2n,
  },
  { name: 'isQuantity', expression: "isQuantity('1Gi') && !isQuantity('1 Gi')", want: true },
  {
    name: 'ip family and classes',
    expression:
      "ip('10.0.0.1').family() == 4 && ip('::1').isLoopback() && ip('fe80::1').isLinkLocalUnicast() && ip('8.8.8.8').isGlobalUnicast()",
    want: true,
  },
  {
    name: 'cidr containment',
    expression:
      "cidr('10.0.0.0/8').containsIP('10.1.2.3') && !cidr('10.0.0.0/8').containsIP(ip('11.0.0.1')) && cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')",
    want: true,
  },
  {
    name: 'cidr masked and string',
    expression: "string(cidr('192.168.1.7/24').masked())",
    want: '192.168.1.0/24',
  },
  { name: 'ip string of v6', expression: "string(ip('2001:db8:0:0:0:0:0:1'))", want: '2001:db8::1' },
  {
    name: 'isIP refuses zones and mapped addresses',
    expression: "isIP('1.2.3.4') && !isIP('fe80::1%eth0') && !isIP('::ffff:1.2.3.4') && !isIP('01.2.3.4')",
    want: true,
  },
  {
    name: 'timestamps and durations',
    expression: "timestamp('2024-01-01T00:00:00Z') + duration('90m') > timestamp('2024-01-01T01:00:00Z')",
    want: true,
  },
]

for (const c of cases) test(c.name, async () => assert.deepEqual(await run(c.expression), c.want))

test('an undeclared variable is a compilation error', () => {
  const c = compileExpression('nothing > 1')
  assert.ok('error' in c && c.error.startsWith('compilation failed: '), JSON.stringify(c))
})

test('a syntax error is a compilation error', () => {
  const c = compileExpression('object.spec.replicas >')
  assert.ok('error' in c && c.error.startsWith('compilation failed: '))
})

test('a missing key is an evaluation error', async () => {
  await assert.rejects(run('object.spec.missing == 1'), /missing/i)
})

test('the authorizer asks the apiserver authorizer for the user, and for service accounts', async () => {
  const asked: string[] = []
  const authorizer: Authorizer = {
    authorize: (a) => {
      asked.push(
        a.resourceRequest
          ? `${a.user.name} ${a.verb} ${a.apiGroup}/${a.resource}/${a.subresource} ${a.namespace}/${a.name}`
          : `${a.user.name} ${a.verb} ${a.path}`,
      )
      return a.user.name === 'alice' ? { decision: 'allow' } : { decision: 'deny', reason: 'no' }
    },
  }
  const value = new AuthorizerValue({ name: 'alice', groups: [] }, authorizer, {
    group: 'apps',
    resource: 'deployments',
    subresource: '',
    namespace: 'ns',
    name: 'web',
  })
  const result = await run(
    "authorizer.group('apps').resource('deployments').subresource('scale').namespace('ns').name('web').check('update').allowed() && authorizer.requestResource.check('approve').allowed() && !authorizer.serviceAccount('ns', 'sa').path('/healthz').check('get').allowed() && authorizer.serviceAccount('ns', 'sa').path('/x').check('get').reason() == 'no'",
    { authorizer: value },
  )
  assert.equal(result, true)
  assert.deepEqual(asked, [
    'alice update apps/deployments/scale ns/web',
    'alice approve apps/deployments/ ns/web',
    'system:serviceaccount:ns:sa get /healthz',
    'system:serviceaccount:ns:sa get /x',
  ])
})
