import assert from 'node:assert/strict'
import { test } from 'node:test'
import { builtinResources, findResource } from './resources.ts'
import {
  field,
  isIntOrString,
  isQuantity,
  isTime,
  items,
  mapValues,
  resolve,
  schemaForKind,
} from './schema.ts'

test('a kind is found by group, version and kind, and its fields walk down with references followed', () => {
  const pod = schemaForKind({ group: '', version: 'v1', kind: 'Pod' })
  assert.ok(pod)
  const spec = field(pod, 'spec')
  assert.ok(spec)
  const containers = field(spec.node, 'containers')
  assert.equal(containers?.patchStrategy, 'merge')
  assert.equal(containers?.patchMergeKey, 'name')
  assert.equal(containers?.listType, 'map')
  assert.deepEqual(containers?.listMapKeys, ['name'])
  assert.deepEqual(resolve(spec.node).required, ['containers'])
  const container = containers ? items(containers.node) : undefined
  assert.ok(container && field(container.node, 'image'))
  assert.equal(container && field(container.node, 'noSuchField'), undefined)
})

test('quantities, times and int-or-strings are recognised through their references', () => {
  const container = schemaForKind({ group: '', version: 'v1', kind: 'Pod' })
  const spec = container && field(container, 'spec')
  const c = spec && items(field(spec.node, 'containers')?.node ?? {})
  const limits = c && field(field(c.node, 'resources')?.node ?? {}, 'limits')
  const value = limits && mapValues(limits.node)
  assert.ok(value && isQuantity(value))
  const meta = container && field(container, 'metadata')
  const created = meta && field(meta.node, 'creationTimestamp')
  assert.ok(created && isTime(created))
  const svc = schemaForKind({ group: '', version: 'v1', kind: 'Service' })
  const port = svc && items(field(field(svc, 'spec')?.node ?? {}, 'ports')?.node ?? {})
  const target = port && field(port.node, 'targetPort')
  assert.ok(target && isIntOrString(target))
})

test('the resource table knows kinds, scopes, verbs, short names, categories and subresource kinds', () => {
  const deployments = findResource('apps', 'v1', 'deployments')
  assert.equal(deployments?.kind, 'Deployment')
  assert.equal(deployments?.namespaced, true)
  assert.deepEqual(deployments?.shortNames, ['deploy'])
  assert.deepEqual(deployments?.categories, ['all'])
  assert.deepEqual(deployments?.verbs, [
    'create',
    'delete',
    'deletecollection',
    'get',
    'list',
    'patch',
    'update',
    'watch',
  ])
  const scale = deployments?.subresources.find((s) => s.name === 'scale')
  assert.deepEqual(scale, {
    name: 'scale',
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
    verbs: ['get', 'patch', 'update'],
  })
  const pods = findResource('', 'v1', 'pods')
  assert.deepEqual(
    pods?.subresources.map((s) => `${s.name}:${s.group}/${s.version}/${s.kind}`),
    [
      'attach:/v1/PodAttachOptions',
      'binding:/v1/Binding',
      'ephemeralcontainers:/v1/Pod',
      'eviction:policy/v1/Eviction',
      'exec:/v1/PodExecOptions',
      'log:/v1/Pod',
      'portforward:/v1/PodPortForwardOptions',
      'proxy:/v1/PodProxyOptions',
      'resize:/v1/Pod',
      'status:/v1/Pod',
    ],
  )
  assert.equal(findResource('', 'v1', 'nodes')?.namespaced, false)
  assert.deepEqual(
    findResource('', 'v1', 'namespaces')?.subresources.map((s) => s.name),
    ['finalize', 'status'],
  )
  const groups = new Set(builtinResources.map((r) => `${r.group}/${r.version}`))
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
  ]) {
    assert.ok(groups.has(gv), `${gv} missing`)
  }
})
