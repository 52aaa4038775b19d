import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PolicyRule } from '../../../api/generated/types/rbac-v1.ts'
import type { Attributes } from '../authorizer.ts'
import { ruleAllows } from './rules.ts'

const anyone = { name: 'u', groups: [] }

function resource(verb: string, group: string, res: string, subresource = '', name = ''): Attributes {
  return {
    user: anyone,
    resourceRequest: true,
    verb,
    namespace: '',
    apiGroup: group,
    apiVersion: '',
    resource: res,
    subresource,
    name,
  }
}

function path(verb: string, p: string): Attributes {
  return { user: anyone, resourceRequest: false, verb, path: p }
}

// Kubernetes' TestRuleMatches, plus subresource, */subresource and resourceNames cases.
const cases: { name: string; rule: PolicyRule; want: [Attributes, boolean][] }[] = [
  {
    name: 'a star verb matches every verb, the rest exactly',
    rule: { verbs: ['*'], apiGroups: ['group1'], resources: ['resource1'] },
    want: [
      [resource('verb1', 'group1', 'resource1'), true],
      [resource('verb1', 'group2', 'resource1'), false],
      [resource('verb1', 'group1', 'resource2'), false],
      [resource('verb2', 'group1', 'resource1'), true],
      [resource('verb2', 'group2', 'resource2'), false],
    ],
  },
  {
    name: 'a star group matches every group, the rest exactly',
    rule: { verbs: ['verb1'], apiGroups: ['*'], resources: ['resource1'] },
    want: [
      [resource('verb1', 'group1', 'resource1'), true],
      [resource('verb1', 'group2', 'resource1'), true],
      [resource('verb1', 'group1', 'resource2'), false],
      [resource('verb2', 'group1', 'resource1'), false],
    ],
  },
  {
    name: 'a star resource matches every resource, the rest exactly',
    rule: { verbs: ['verb1'], apiGroups: ['group1'], resources: ['*'] },
    want: [
      [resource('verb1', 'group1', 'resource1'), true],
      [resource('verb1', 'group2', 'resource1'), false],
      [resource('verb1', 'group1', 'resource2'), true],
      [resource('verb2', 'group1', 'resource1'), false],
    ],
  },
  {
    name: 'every combination of the listed verbs, groups and resources matches',
    rule: {
      verbs: ['verb1', 'verb2'],
      apiGroups: ['group1', 'group2'],
      resources: ['resource1', 'resource2'],
    },
    want: [
      [resource('verb1', 'group1', 'resource1'), true],
      [resource('verb1', 'group2', 'resource2'), true],
      [resource('verb2', 'group1', 'resource2'), true],
      [resource('verb2', 'group2', 'resource1'), true],
    ],
  },
  {
    name: 'resource/subresource matches that subresource only',
    rule: { verbs: ['*'], apiGroups: ['*'], resources: ['resource1/subresource1'] },
    want: [
      [resource('verb1', 'group1', 'resource1', 'subresource1'), true],
      [resource('verb1', 'group2', 'resource1', 'subresource2'), false],
      [resource('verb1', 'group1', 'resource2', 'subresource1'), false],
      [resource('verb2', 'group1', 'resource1', 'subresource1'), true],
      [resource('verb1', 'group1', 'resource1'), false],
    ],
  },
  {
    name: 'a resource does not cover its subresources',
    rule: { verbs: ['*'], apiGroups: ['*'], resources: ['pods'] },
    want: [
      [resource('get', '', 'pods'), true],
      [resource('get', '', 'pods', 'status'), false],
    ],
  },
  {
    name: '*/subresource matches that subresource of any resource, and no resource itself',
    rule: { verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] },
    want: [
      [resource('get', 'apps', 'deployments', 'scale'), true],
      [resource('get', '', 'replicationcontrollers', 'scale'), true],
      [resource('get', 'apps', 'deployments', 'status'), false],
      [resource('get', 'apps', 'deployments', 'scales'), false],
      [resource('get', 'apps', 'deployments'), false],
    ],
  },
  {
    name: 'resourceNames limit the rule to those names (and so to requests that name one)',
    rule: { verbs: ['get', 'list'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] },
    want: [
      [resource('get', '', 'configmaps', '', 'a'), true],
      [resource('get', '', 'configmaps', '', 'b'), false],
      [resource('list', '', 'configmaps'), false],
    ],
  },
  {
    name: 'a star URL matches every path with the verb',
    rule: { verbs: ['verb1'], nonResourceURLs: ['*'] },
    want: [
      [path('verb1', '/foo'), true],
      [path('verb1', '/foo/bar/one'), true],
      [path('verb2', '/foo'), false],
    ],
  },
  {
    name: 'a URL ending in * matches the paths under it, not the path itself',
    rule: { verbs: ['verb1'], nonResourceURLs: ['/foo/*'] },
    want: [
      [path('verb1', '/foo'), false],
      [path('verb1', '/foo/bar'), true],
      [path('verb1', '/foo/baz/one'), true],
      [path('verb1', '/notfoo'), false],
      [path('verb1', '/notfoo/bar'), false],
    ],
  },
  {
    name: 'exact URLs match exactly, with any verb under a star verb',
    rule: { verbs: ['*'], nonResourceURLs: ['/foo', '/foo/bar/one'] },
    want: [
      [path('verb1', '/foo'), true],
      [path('verb1', '/foo/bar'), false],
      [path('verb2', '/foo/bar/one'), true],
      [path('verb2', '/foo/baz/one'), false],
    ],
  },
  {
    name: 'a resource rule never matches a path, nor a URL rule a resource',
    rule: { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
    want: [
      [path('get', '/api'), false],
      [resource('get', '', 'pods'), true],
    ],
  },
]

for (const c of cases) {
  test(c.name, () => {
    for (const [attrs, want] of c.want) {
      assert.equal(ruleAllows(attrs, c.rule), want, JSON.stringify(attrs))
    }
  })
}
