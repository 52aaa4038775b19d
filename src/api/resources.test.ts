import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  builtinGroups,
  builtinResources,
  findResource,
  isListKind,
  resourceForKind,
  resourcesOf,
  type ResourceInfo,
} from './resources.ts'

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

function mustFind(group: string, version: string, resource: string): ResourceInfo {
  const r = findResource(group, version, resource)
  assert.ok(r, `${group}/${version} ${resource} is not in the table`)
  return r
}

/** `name:group/version/Kind:verb,verb` for each subresource. */
function subresources(r: ResourceInfo): string[] {
  return r.subresources.map((s) => `${s.name}:${s.group}/${s.version}/${s.kind}:${s.verbs.join(',')}`)
}

test('resources have their kind, list kind, singular, scope and verbs', () => {
  const cases = [
    {
      at: ['', 'v1', 'pods'],
      kind: 'Pod',
      listKind: 'PodList',
      singular: 'pod',
      namespaced: true,
      verbs: allVerbs,
    },
    {
      at: ['', 'v1', 'nodes'],
      kind: 'Node',
      listKind: 'NodeList',
      singular: 'node',
      namespaced: false,
      verbs: allVerbs,
    },
    {
      at: ['', 'v1', 'namespaces'],
      kind: 'Namespace',
      listKind: 'NamespaceList',
      singular: 'namespace',
      namespaced: false,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    },
    {
      at: ['', 'v1', 'bindings'],
      kind: 'Binding',
      listKind: '',
      singular: 'binding',
      namespaced: true,
      verbs: ['create'],
    },
    {
      at: ['', 'v1', 'componentstatuses'],
      kind: 'ComponentStatus',
      listKind: 'ComponentStatusList',
      singular: 'componentstatus',
      namespaced: false,
      verbs: ['get', 'list'],
    },
    {
      at: ['apps', 'v1', 'deployments'],
      kind: 'Deployment',
      listKind: 'DeploymentList',
      singular: 'deployment',
      namespaced: true,
      verbs: allVerbs,
    },
    {
      at: ['authorization.k8s.io', 'v1', 'localsubjectaccessreviews'],
      kind: 'LocalSubjectAccessReview',
      listKind: '',
      singular: 'localsubjectaccessreview',
      namespaced: true,
      verbs: ['create'],
    },
    {
      at: ['authentication.k8s.io', 'v1', 'tokenreviews'],
      kind: 'TokenReview',
      listKind: '',
      singular: 'tokenreview',
      namespaced: false,
      verbs: ['create'],
    },
  ] as const
  for (const c of cases) {
    const [group, version, resource] = c.at
    const r = mustFind(group, version, resource)
    assert.deepEqual(
      { kind: r.kind, listKind: r.listKind, singular: r.singular, namespaced: r.namespaced, verbs: r.verbs },
      { kind: c.kind, listKind: c.listKind, singular: c.singular, namespaced: c.namespaced, verbs: c.verbs },
      `${group}/${version} ${resource}`,
    )
  }
})

test('subresources have the kind they read and write and their verbs', () => {
  assert.deepEqual(subresources(mustFind('', 'v1', 'pods')), [
    'attach:/v1/PodAttachOptions:create,get',
    'binding:/v1/Binding:create',
    'ephemeralcontainers:/v1/Pod:get,patch,update',
    'eviction:policy/v1/Eviction:create',
    'exec:/v1/PodExecOptions:create,get',
    'log:/v1/Pod:get',
    'portforward:/v1/PodPortForwardOptions:create,get',
    'proxy:/v1/PodProxyOptions:create,delete,get,patch,update',
    'resize:/v1/Pod:get,patch,update',
    'status:/v1/Pod:get,patch,update',
  ])
  const cases = [
    {
      at: ['apps', 'v1', 'deployments'],
      want: ['scale:autoscaling/v1/Scale:get,patch,update', 'status:apps/v1/Deployment:get,patch,update'],
    },
    { at: ['', 'v1', 'serviceaccounts'], want: ['token:authentication.k8s.io/v1/TokenRequest:create'] },
    {
      at: ['', 'v1', 'nodes'],
      want: ['proxy:/v1/NodeProxyOptions:create,delete,get,patch,update', 'status:/v1/Node:get,patch,update'],
    },
    {
      at: ['', 'v1', 'services'],
      want: [
        'proxy:/v1/ServiceProxyOptions:create,delete,get,patch,update',
        'status:/v1/Service:get,patch,update',
      ],
    },
    {
      at: ['', 'v1', 'namespaces'],
      want: ['finalize:/v1/Namespace:update', 'status:/v1/Namespace:get,patch,update'],
    },
    {
      at: ['', 'v1', 'replicationcontrollers'],
      want: [
        'scale:autoscaling/v1/Scale:get,patch,update',
        'status:/v1/ReplicationController:get,patch,update',
      ],
    },
    { at: ['', 'v1', 'configmaps'], want: [] },
  ] as const
  for (const c of cases)
    assert.deepEqual(subresources(mustFind(c.at[0], c.at[1], c.at[2])), c.want, c.at.join('/'))
})

test('short names and categories are those kubectl api-resources shows', () => {
  const cases = [
    { at: ['', 'v1', 'pods'], shortNames: ['po'], categories: ['all'] },
    { at: ['', 'v1', 'services'], shortNames: ['svc'], categories: ['all'] },
    { at: ['', 'v1', 'secrets'], shortNames: [], categories: [] },
    { at: ['apps', 'v1', 'deployments'], shortNames: ['deploy'], categories: ['all'] },
    { at: ['batch', 'v1', 'jobs'], shortNames: [], categories: ['all'] },
    { at: ['batch', 'v1', 'cronjobs'], shortNames: ['cj'], categories: ['all'] },
    { at: ['autoscaling', 'v1', 'horizontalpodautoscalers'], shortNames: ['hpa'], categories: ['all'] },
    { at: ['autoscaling', 'v2', 'horizontalpodautoscalers'], shortNames: ['hpa'], categories: ['all'] },
    {
      at: ['apiextensions.k8s.io', 'v1', 'customresourcedefinitions'],
      shortNames: ['crd', 'crds'],
      categories: ['api-extensions'],
    },
    { at: ['events.k8s.io', 'v1', 'events'], shortNames: ['ev'], categories: [] },
    { at: ['storage.k8s.io', 'v1', 'storageclasses'], shortNames: ['sc'], categories: [] },
  ] as const
  for (const c of cases) {
    const r = mustFind(c.at[0], c.at[1], c.at[2])
    assert.deepEqual(
      { shortNames: r.shortNames, categories: r.categories },
      { shortNames: c.shortNames, categories: c.categories },
      c.at.join('/'),
    )
  }
  const all = builtinResources
    .filter((r) => r.categories.includes('all'))
    .map((r) => `${r.group}/${r.version}/${r.resource}`)
  assert.deepEqual(all, [
    '/v1/pods',
    '/v1/replicationcontrollers',
    '/v1/services',
    'apps/v1/daemonsets',
    'apps/v1/deployments',
    'apps/v1/replicasets',
    'apps/v1/statefulsets',
    'autoscaling/v2/horizontalpodautoscalers',
    'autoscaling/v1/horizontalpodautoscalers',
    'batch/v1/cronjobs',
    'batch/v1/jobs',
  ])
})

test('groups come in discovery order with the preferred version first', () => {
  assert.deepEqual(builtinGroups[0], { group: '', versions: ['v1'], preferredVersion: 'v1' })
  assert.deepEqual(
    builtinGroups.find((g) => g.group === 'autoscaling'),
    { group: 'autoscaling', versions: ['v2', 'v1'], preferredVersion: 'v2' },
  )
  const names = builtinGroups.map((g) => g.group)
  assert.ok(
    names.indexOf('') < names.indexOf('events.k8s.io'),
    'core events come before events.k8s.io events',
  )
  for (const gv of [
    '/v1',
    'apps/v1',
    'batch/v1',
    'autoscaling/v1',
    'autoscaling/v2',
    'policy/v1',
    'rbac.authorization.k8s.io/v1',
    'coordination.k8s.io/v1',
    'discovery.k8s.io/v1',
    'events.k8s.io/v1',
    'scheduling.k8s.io/v1',
    'storage.k8s.io/v1',
    'node.k8s.io/v1',
    'certificates.k8s.io/v1',
    'admissionregistration.k8s.io/v1',
    'networking.k8s.io/v1',
    'authentication.k8s.io/v1',
    'authorization.k8s.io/v1',
    'apiextensions.k8s.io/v1',
    'apiregistration.k8s.io/v1',
    'flowcontrol.apiserver.k8s.io/v1',
    'resource.k8s.io/v1',
  ]) {
    const [group = '', version = ''] = gv.split('/')
    assert.ok(resourcesOf(group, version).length > 0, `${gv} has no resources`)
  }
  assert.ok(!builtinResources.some((r) => /alpha|beta/.test(r.version)), 'only stable versions are served')
  const order = builtinResources.map((r) => names.indexOf(r.group))
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
    'resources follow the group order',
  )
})

test('versions of a resource share storage, stored in the preferred version', () => {
  const cases = [
    { at: ['', 'v1', 'pods'], storage: { group: '', resource: 'pods', version: 'v1' }, hash: 'xPOwRZ+Yhw8=' },
    {
      at: ['apps', 'v1', 'deployments'],
      storage: { group: 'apps', resource: 'deployments', version: 'v1' },
      hash: '8aSe+NMegvE=',
    },
    {
      at: ['autoscaling', 'v1', 'horizontalpodautoscalers'],
      storage: { group: 'autoscaling', resource: 'horizontalpodautoscalers', version: 'v2' },
      hash: undefined,
    },
    {
      at: ['events.k8s.io', 'v1', 'events'],
      storage: { group: '', resource: 'events', version: 'v1' },
      hash: undefined,
    },
  ] as const
  for (const c of cases) {
    const r = mustFind(c.at[0], c.at[1], c.at[2])
    assert.deepEqual(r.storage, c.storage, c.at.join('/'))
    if (c.hash !== undefined) assert.equal(r.storageVersionHash, c.hash, c.at.join('/'))
  }
  const hpaV1 = mustFind('autoscaling', 'v1', 'horizontalpodautoscalers')
  const hpaV2 = mustFind('autoscaling', 'v2', 'horizontalpodautoscalers')
  assert.equal(hpaV1.storageVersionHash, hpaV2.storageVersionHash)
  assert.equal(
    mustFind('events.k8s.io', 'v1', 'events').storageVersionHash,
    mustFind('', 'v1', 'events').storageVersionHash,
  )
})

test('kinds lead to their resources, and list kinds are known', () => {
  assert.equal(resourceForKind('apps', 'v1', 'ReplicaSet')?.resource, 'replicasets')
  assert.equal(resourceForKind('', 'v1', 'Endpoints')?.resource, 'endpoints')
  assert.equal(resourceForKind('apps', 'v1', 'Widget'), undefined)
  assert.equal(findResource('apps', 'v1beta1', 'deployments'), undefined)
  assert.ok(isListKind({ group: '', version: 'v1', kind: 'PodList' }))
  assert.ok(isListKind({ group: 'apps', version: 'v1', kind: 'DeploymentList' }))
  assert.ok(!isListKind({ group: '', version: 'v1', kind: 'Pod' }))
  assert.ok(!isListKind({ group: '', version: 'v1', kind: 'Status' }))
  for (const r of builtinResources) {
    if (r.verbs.includes('list'))
      assert.ok(isListKind({ group: r.group, version: r.version, kind: r.listKind }), r.resource)
  }
})
