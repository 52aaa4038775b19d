import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PolicyRule } from '../../../api/generated/types/rbac-v1.ts'
import { compactRules, compactString, covers, nonResourceURLCovers } from './covers.ts'
import { escalationError } from './escalation.ts'
import { PolicyCache } from './policy-cache.ts'

// Kubernetes' escalation tests (policy_comparator_test.go): whether owner rules cover servant
// rules, and which atoms are left over.
const cases: { name: string; owner: PolicyRule[]; servant: PolicyRule[]; missing: PolicyRule[] }[] = [
  {
    name: 'an exact match covers',
    owner: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['builds'] }],
    servant: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['builds'] }],
    missing: [],
  },
  {
    name: 'several rules together cover one',
    owner: [
      { apiGroups: ['v1'], verbs: ['delete'], resources: ['deployments'] },
      { apiGroups: ['v1'], verbs: ['delete'], resources: ['builds'] },
      { apiGroups: ['v1'], verbs: ['update'], resources: ['builds', 'deployments'] },
    ],
    servant: [{ apiGroups: ['v1'], verbs: ['delete', 'update'], resources: ['builds', 'deployments'] }],
    missing: [],
  },
  {
    name: 'rules of several groups together cover a rule of both',
    owner: [
      { apiGroups: ['group1'], verbs: ['delete', 'update'], resources: ['builds', 'deployments'] },
      { apiGroups: ['group2'], verbs: ['delete', 'update'], resources: ['builds', 'deployments'] },
    ],
    servant: [
      { apiGroups: ['group1', 'group2'], verbs: ['delete', 'update'], resources: ['builds', 'deployments'] },
    ],
    missing: [],
  },
  {
    name: 'one rule of both groups covers rules of each',
    owner: [
      { apiGroups: ['group1', 'group2'], verbs: ['delete', 'update'], resources: ['builds', 'deployments'] },
    ],
    servant: [
      { apiGroups: ['group1'], verbs: ['delete'], resources: ['deployments'] },
      { apiGroups: ['group2'], verbs: ['update'], resources: ['builds', 'deployments'] },
    ],
    missing: [],
  },
  {
    name: 'a single verb-resource pair missing is reported alone',
    owner: [
      { apiGroups: ['v1'], verbs: ['delete', 'update'], resources: ['builds', 'deployments'] },
      { apiGroups: ['v1'], verbs: ['delete'], resources: ['pods'] },
    ],
    servant: [
      { apiGroups: ['v1'], verbs: ['delete', 'update'], resources: ['builds', 'deployments', 'pods'] },
    ],
    missing: [{ apiGroups: ['v1'], verbs: ['update'], resources: ['pods'] }],
  },
  {
    name: 'a star group covers any groups',
    owner: [{ apiGroups: ['*'], verbs: ['get'], resources: ['roles'] }],
    servant: [{ apiGroups: ['group1', 'group2'], verbs: ['get'], resources: ['roles'] }],
    missing: [],
  },
  {
    name: 'listed groups do not cover a star group',
    owner: [{ apiGroups: ['dummy-group'], verbs: ['get'], resources: ['roles'] }],
    servant: [{ apiGroups: ['*'], verbs: ['get'], resources: ['roles'] }],
    missing: [{ apiGroups: ['*'], verbs: ['get'], resources: ['roles'] }],
  },
  {
    name: 'a star verb covers any verbs and a star verb',
    owner: [{ apiGroups: ['v1'], verbs: ['*'], resources: ['roles'] }],
    servant: [{ apiGroups: ['v1'], verbs: ['watch', 'list', '*'], resources: ['roles'] }],
    missing: [],
  },
  {
    name: 'listed verbs do not cover a star verb',
    owner: [
      {
        apiGroups: ['v1'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'delete', 'exec'],
        resources: ['roles'],
      },
    ],
    servant: [{ apiGroups: ['v1'], verbs: ['*'], resources: ['roles'] }],
    missing: [{ apiGroups: ['v1'], verbs: ['*'], resources: ['roles'] }],
  },
  {
    name: 'a star resource covers any resource',
    owner: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['*'] }],
    servant: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['resourcegroup:deployments', '*'] }],
    missing: [],
  },
  {
    name: 'listed resources do not cover a star resource',
    owner: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['roles', 'resourcegroup:deployments'] }],
    servant: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['*'] }],
    missing: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['*'] }],
  },
  {
    name: '*/subresource covers that subresource of any resource',
    owner: [{ apiGroups: ['*'], verbs: ['get'], resources: ['*/scale'] }],
    servant: [{ apiGroups: ['apps'], verbs: ['get'], resources: ['deployments/scale', 'deployments'] }],
    missing: [{ apiGroups: ['apps'], verbs: ['get'], resources: ['deployments'] }],
  },
  {
    name: 'no resource names covers any names',
    owner: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['pods'], resourceNames: [] }],
    servant: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['pods'], resourceNames: ['foo', 'bar'] }],
    missing: [],
  },
  {
    name: 'resource names do not cover all names',
    owner: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['pods'], resourceNames: ['foo', 'bar'] }],
    servant: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['pods'], resourceNames: [] }],
    missing: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['pods'] }],
  },
  {
    name: 'a star URL covers any URLs',
    owner: [{ nonResourceURLs: ['*'], verbs: ['*'] }],
    servant: [{ nonResourceURLs: ['/apis', '/apis/v1', '/'], verbs: ['*'] }],
    missing: [],
  },
  {
    name: 'a prefix URL does not cover the prefix itself',
    owner: [{ nonResourceURLs: ['/apis/*'], verbs: ['*'] }],
    servant: [{ nonResourceURLs: ['/apis', '/apis/v1'], verbs: ['get'] }],
    missing: [{ nonResourceURLs: ['/apis'], verbs: ['get'] }],
  },
  {
    name: 'a resource rule does not cover the URLs of a mixed rule',
    owner: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['builds'] }],
    servant: [{ apiGroups: ['v1'], verbs: ['get'], resources: ['builds'], nonResourceURLs: ['/apis'] }],
    missing: [{ nonResourceURLs: ['/apis'], verbs: ['get'] }],
  },
]

for (const c of cases) {
  test(c.name, () => {
    const got = covers(c.owner, c.servant)
    assert.equal(got.covered, c.missing.length === 0)
    assert.deepEqual(got.missing, c.missing)
  })
}

test('URL coverage: exact, star, and prefixes ending in a star', () => {
  const table: [string, string, boolean][] = [
    ['*', '/api', true],
    ['/api', '/api', true],
    ['/apis', '/api', false],
    ['/api/v1', '/api', false],
    ['/api/v1', '/api/v1', true],
    ['/api/*', '/api/v1', true],
    ['/api/*', '/api', false],
    ['/api/*/*', '/api/v1', false],
    ['/*/v1/*', '/api/v1', false],
  ]
  for (const [owner, path, want] of table)
    assert.equal(nonResourceURLCovers(owner, path), want, `${owner} ${path}`)
})

test('compacting merges verbs of one group and resource, and leaves other rules as they are', () => {
  const got = compactRules([
    { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['a'] },
    { nonResourceURLs: ['/x'], verbs: ['get'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'] },
  ])
  assert.deepEqual(got, [
    { apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['a'] },
    { nonResourceURLs: ['/x'], verbs: ['get'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'] },
  ])
})

test('a rule prints as Go prints it in escalation errors', () => {
  assert.equal(
    compactString({ apiGroups: [''], resources: ['pods'], resourceNames: ['a'], verbs: ['get', 'list'] }),
    '{APIGroups:[""], Resources:["pods"], ResourceNames:["a"], Verbs:["get" "list"]}',
  )
  assert.equal(
    compactString({ nonResourceURLs: ['/healthz'], verbs: ['get'] }),
    '{NonResourceURLs:["/healthz"], Verbs:["get"]}',
  )
})

test('an escalation names the user, their groups, and what they lack, sorted, one per line', () => {
  const policy = new PolicyCache()
  policy.setClusterRole('pod-reader', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] })
  policy.setRoleBinding('ns', 'b', {
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pod-reader' },
    subjects: [{ kind: 'User', name: 'alice' }],
  })
  const user = { name: 'alice', groups: ['devs', 'system:authenticated'] }
  const rules: PolicyRule[] = [
    { apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'list'] },
    { nonResourceURLs: ['/metrics'], verbs: ['get'] },
  ]
  assert.equal(
    escalationError(policy, { user, namespace: 'ns', rules }),
    'user "alice" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n' +
      '{APIGroups:[""], Resources:["pods"], Verbs:["list"]}\n' +
      '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}\n' +
      '{NonResourceURLs:["/metrics"], Verbs:["get"]}',
  )
  assert.equal(
    escalationError(policy, { user, namespace: 'ns', rules: [rules[0] as PolicyRule].slice(0, 0) }),
    undefined,
  )
  // Elsewhere the binding does not apply.
  assert.match(
    escalationError(policy, {
      user,
      namespace: 'other',
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
    }) ?? '',
    /not currently held:\n\{APIGroups:\[""\], Resources:\["pods"\], Verbs:\["get"\]\}$/,
  )
})
