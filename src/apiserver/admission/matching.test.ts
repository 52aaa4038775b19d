import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { RuleWithOperations } from '../../api/generated/types/admissionregistration-v1.ts'
import { labelSelectorFromObject } from '../../api/selectors/label-selector.ts'
import type { AdmissionAttributes } from './admission.ts'
import {
  convertBetweenVersions,
  isExemptAdmissionConfigurationResource,
  matchResource,
  namespaceSelectorMatches,
  objectSelectorMatches,
  ruleMatches,
  type RuleTarget,
} from './matching.ts'

const target = (o: Partial<RuleTarget> = {}): RuleTarget => ({
  operation: 'CREATE',
  group: '',
  version: 'v1',
  resource: 'pods',
  subresource: '',
  namespace: 'default',
  ...o,
})
const rule = (o: Partial<RuleWithOperations> = {}): RuleWithOperations => ({
  operations: ['CREATE'],
  apiGroups: [''],
  apiVersions: ['v1'],
  resources: ['pods'],
  ...o,
})

// After the cases of k8s.io/apiserver's predicates/rules tests.
const ruleCases: { name: string; rule: RuleWithOperations; target: RuleTarget; want: boolean }[] = [
  { name: 'an exact rule matches its resource', rule: rule(), target: target(), want: true },
  {
    name: 'another operation does not match',
    rule: rule(),
    target: target({ operation: 'UPDATE' }),
    want: false,
  },
  {
    name: '* matches every operation',
    rule: rule({ operations: ['*'] }),
    target: target({ operation: 'DELETE' }),
    want: true,
  },
  { name: 'another group does not match', rule: rule(), target: target({ group: 'apps' }), want: false },
  {
    name: '* matches every group',
    rule: rule({ apiGroups: ['*'] }),
    target: target({ group: 'apps' }),
    want: true,
  },
  { name: 'another version does not match', rule: rule(), target: target({ version: 'v2' }), want: false },
  {
    name: 'a resource does not match its subresources',
    rule: rule(),
    target: target({ subresource: 'status' }),
    want: false,
  },
  {
    name: 'pods/status matches only that subresource',
    rule: rule({ resources: ['pods/status'] }),
    target: target({ subresource: 'status' }),
    want: true,
  },
  {
    name: 'pods/status does not match pods',
    rule: rule({ resources: ['pods/status'] }),
    target: target(),
    want: false,
  },
  {
    name: 'pods/* matches every subresource of pods',
    rule: rule({ resources: ['pods/*'] }),
    target: target({ subresource: 'exec' }),
    want: true,
  },
  { name: 'pods/* matches pods itself', rule: rule({ resources: ['pods/*'] }), target: target(), want: true },
  {
    name: '* matches every resource but no subresource',
    rule: rule({ resources: ['*'] }),
    target: target({ resource: 'services', subresource: 'status' }),
    want: false,
  },
  {
    name: '*/scale matches scale of every resource',
    rule: rule({ apiGroups: ['*'], resources: ['*/scale'] }),
    target: target({ group: 'apps', resource: 'deployments', subresource: 'scale' }),
    want: true,
  },
  {
    name: '*/* matches everything',
    rule: rule({ resources: ['*/*'] }),
    target: target({ resource: 'nodes', subresource: 'proxy' }),
    want: true,
  },
  {
    name: 'scope Namespaced matches namespaced requests',
    rule: rule({ scope: 'Namespaced' }),
    target: target(),
    want: true,
  },
  {
    name: 'scope Namespaced does not match cluster-scoped requests',
    rule: rule({ resources: ['*'], scope: 'Namespaced' }),
    target: target({ resource: 'nodes', namespace: '' }),
    want: false,
  },
  {
    name: 'scope Namespaced does not match a Namespace',
    rule: rule({ resources: ['namespaces'], scope: 'Namespaced' }),
    target: target({ resource: 'namespaces', namespace: 'ns' }),
    want: false,
  },
  {
    name: 'scope Cluster matches a Namespace',
    rule: rule({ resources: ['namespaces'], scope: 'Cluster' }),
    target: target({ resource: 'namespaces', namespace: 'ns' }),
    want: true,
  },
  {
    name: 'scope Cluster does not match namespaced requests',
    rule: rule({ scope: 'Cluster' }),
    target: target(),
    want: false,
  },
  {
    name: 'scope * matches both',
    rule: rule({ resources: ['*'], scope: '*' }),
    target: target({ resource: 'nodes', namespace: '' }),
    want: true,
  },
]
for (const c of ruleCases) test(`rules: ${c.name}`, () => assert.equal(ruleMatches(c.rule, c.target), c.want))

const attrs = (o: Partial<AdmissionAttributes> = {}): AdmissionAttributes => ({
  operation: 'CREATE',
  group: '',
  version: 'v1',
  resource: 'pods',
  subresource: '',
  kind: 'Pod',
  namespace: 'default',
  name: 'p',
  object: { metadata: { name: 'p', labels: { app: 'web' } } },
  oldObject: undefined,
  dryRun: false,
  user: { name: 'u', groups: [] },
  ...o,
})

test('objectSelector matches the new or the old object', () => {
  const sel = labelSelectorFromObject({ matchLabels: { app: 'web' } })
  assert.equal(objectSelectorMatches(sel, attrs()), true)
  assert.equal(objectSelectorMatches(sel, attrs({ object: { metadata: {} } })), false)
  assert.equal(
    objectSelectorMatches(
      sel,
      attrs({ object: { metadata: {} }, oldObject: { metadata: { labels: { app: 'web' } } } }),
    ),
    true,
  )
  assert.equal(objectSelectorMatches(labelSelectorFromObject({}), attrs({ object: undefined })), true)
})

test('namespaceSelector reads the request namespace, the Namespace itself, or matches cluster-scoped requests', async () => {
  const sel = labelSelectorFromObject({ matchLabels: { env: 'prod' } })
  const labels = (ns: string): Record<string, string> | undefined =>
    ns === 'prod' ? { env: 'prod' } : ns === 'dev' ? {} : undefined
  assert.deepEqual(await namespaceSelectorMatches(sel, attrs({ namespace: 'prod' }), labels), {
    matches: true,
  })
  assert.deepEqual(await namespaceSelectorMatches(sel, attrs({ namespace: 'dev' }), labels), {
    matches: false,
  })
  assert.deepEqual(await namespaceSelectorMatches(sel, attrs({ namespace: 'gone' }), labels), {
    notFound: 'gone',
  })
  const node = attrs({ resource: 'nodes', kind: 'Node', namespace: '' })
  assert.deepEqual(await namespaceSelectorMatches(sel, node, labels), { matches: true })
  const newNamespace = attrs({
    resource: 'namespaces',
    kind: 'Namespace',
    namespace: '',
    name: 'x',
    object: { metadata: { name: 'x', labels: { env: 'prod' } } },
  })
  assert.deepEqual(await namespaceSelectorMatches(sel, newNamespace, labels), { matches: true })
  const deleteNamespace = attrs({
    operation: 'DELETE',
    resource: 'namespaces',
    kind: 'Namespace',
    namespace: '',
    name: 'dev',
    object: undefined,
  })
  assert.deepEqual(await namespaceSelectorMatches(sel, deleteNamespace, labels), { matches: false })
})

test('configuration objects of admission are exempt', () => {
  assert.equal(
    isExemptAdmissionConfigurationResource(
      attrs({
        group: 'admissionregistration.k8s.io',
        resource: 'validatingwebhookconfigurations',
        kind: 'ValidatingWebhookConfiguration',
      }),
    ),
    true,
  )
  assert.equal(isExemptAdmissionConfigurationResource(attrs()), false)
})

test('matchPolicy Equivalent matches another version of the same objects; Exact does not', () => {
  const hpa = attrs({
    group: 'autoscaling',
    version: 'v2',
    resource: 'horizontalpodautoscalers',
    kind: 'HorizontalPodAutoscaler',
  })
  const v1Rule = [
    {
      operations: ['CREATE'],
      apiGroups: ['autoscaling'],
      apiVersions: ['v1'],
      resources: ['horizontalpodautoscalers'],
    },
  ]
  assert.deepEqual(matchResource(v1Rule, 'Equivalent', hpa), {
    group: 'autoscaling',
    version: 'v1',
    resource: 'horizontalpodautoscalers',
    kind: 'HorizontalPodAutoscaler',
  })
  assert.equal(matchResource(v1Rule, 'Exact', hpa), undefined)
  assert.deepEqual(matchResource([{ ...v1Rule[0], apiVersions: ['*'] }], 'Exact', hpa)?.version, 'v2')
})

test('resourceNames limit a policy rule to the objects named', () => {
  const named = [
    { operations: ['*'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], resourceNames: ['q'] },
  ]
  assert.equal(matchResource(named, 'Equivalent', attrs()), undefined)
  assert.ok(matchResource(named, 'Equivalent', attrs({ name: 'q' })))
})

test('objects convert between the served versions of a resource', () => {
  const v2 = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'h' },
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, minReplicas: 1, maxReplicas: 3 },
  }
  const v1 = convertBetweenVersions(
    { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers' },
    { group: 'autoscaling', version: 'v1', resource: 'horizontalpodautoscalers' },
    v2,
  )
  assert.equal(v1?.apiVersion, 'autoscaling/v1')
  assert.equal((v1?.spec as { maxReplicas?: number }).maxReplicas, 3)
})
