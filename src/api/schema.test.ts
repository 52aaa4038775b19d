import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  definition,
  definitionNameForKind,
  field,
  fieldNames,
  formatOf,
  hasPatchStrategy,
  isBytes,
  isIntOrString,
  isOpen,
  isQuantity,
  isRequired,
  isTime,
  items,
  kindsOf,
  listTypeOf,
  mapTypeOf,
  mapValues,
  patchStrategies,
  resolve,
  schemaForKind,
  valueType,
  type GroupVersionKind,
  type ResolvedField,
  type SchemaNode,
} from './schema.ts'

const pod = { group: '', version: 'v1', kind: 'Pod' }
const service = { group: '', version: 'v1', kind: 'Service' }
const secret = { group: '', version: 'v1', kind: 'Secret' }
const deployment = { group: 'apps', version: 'v1', kind: 'Deployment' }
const controllerRevision = { group: 'apps', version: 'v1', kind: 'ControllerRevision' }
const pdb = { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' }
const podList = { group: '', version: 'v1', kind: 'PodList' }
const crd = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' }

/**
 * Walks from a kind down a path: `name` steps into a field, `name[]` into the items of the list
 * field `name`, `name{}` into the values of the map field `name`.
 */
function at(kind: GroupVersionKind, path: string): ResolvedField {
  let node: SchemaNode | undefined = schemaForKind(kind)
  assert.ok(node, `no schema for ${kind.kind}`)
  let f: ResolvedField | undefined
  for (const step of path.split('.')) {
    const [, name = '', suffix] = /^([^[{]+)(\[\]|\{\})?$/.exec(step) ?? []
    const named = field(node, name)
    assert.ok(named, `${kind.kind} has no field ${path} (at ${step})`)
    f = suffix === '[]' ? items(named.node) : suffix === '{}' ? mapValues(named.node) : named
    assert.ok(f, `${kind.kind}: ${step} is not a ${suffix === '[]' ? 'list' : 'map'}`)
    node = f.node
  }
  assert.ok(f)
  return f
}

test('a kind is found by group, version and kind, and unknown kinds are not', () => {
  const cases = [
    { kind: pod, want: 'io.k8s.api.core.v1.Pod' },
    { kind: deployment, want: 'io.k8s.api.apps.v1.Deployment' },
    {
      kind: { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler' },
      want: 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
    },
    {
      kind: { group: 'apps', version: 'v1', kind: 'DeleteOptions' },
      want: 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions',
    },
    { kind: { group: 'apps', version: 'v1', kind: 'Widget' }, want: undefined },
    { kind: { group: 'apps', version: 'v2', kind: 'Deployment' }, want: undefined },
  ]
  for (const c of cases)
    assert.equal(definitionNameForKind(c.kind), c.want, `${c.kind.group}/${c.kind.version} ${c.kind.kind}`)
  assert.equal(schemaForKind(pod), definition('io.k8s.api.core.v1.Pod'))
  assert.equal(definition('hasOwnProperty'), undefined)
  assert.ok(
    kindsOf(definition('io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions') ?? {}).some(
      (g) => g.group === 'batch',
    ),
  )
  assert.deepEqual(kindsOf(definition('io.k8s.api.core.v1.PodSpec') ?? {}), [])
})

test('fields walk down with references followed, and an unknown field is undefined', () => {
  const spec = at(pod, 'spec')
  assert.equal(spec.ref, 'io.k8s.api.core.v1.PodSpec')
  assert.ok(spec.node.properties?.containers, 'the field node is the definition, its reference followed')
  assert.ok(isRequired(spec.node, 'containers'))
  assert.ok(!isRequired(spec.node, 'volumes'))
  assert.ok(fieldNames(spec.node).includes('nodeName'))
  assert.deepEqual(fieldNames(spec.node), [...fieldNames(spec.node)].sort())
  assert.equal(at(pod, 'spec.containers[]').ref, 'io.k8s.api.core.v1.Container')
  assert.equal(field(at(pod, 'spec.containers[]').node, 'noSuchField'), undefined)
  assert.equal(field(spec.node, 'constructor'), undefined, 'object prototype names are not fields')
  assert.equal(items(spec.node), undefined, 'a struct has no items')
  assert.equal(mapValues(spec.node), undefined, 'a struct has no map values')
})

test('a map gives its value schema for any key', () => {
  const labels = at(pod, 'metadata.labels')
  assert.equal(valueType(labels.node), 'map')
  assert.equal(field(labels.node, 'app.kubernetes.io/name')?.node.type, 'string')
  assert.equal(mapValues(labels.node)?.node.type, 'string')
})

test('nodes are shared and frozen, so changing one by mistake fails at once', () => {
  const spec = at(pod, 'spec').node
  assert.ok(Object.isFrozen(spec) && Object.isFrozen(spec.properties) && Object.isFrozen(at(pod, 'spec')))
  assert.throws(() => {
    ;(spec as { type?: string }).type = 'string'
  }, TypeError)
})

test('stepping twice to the same place gives the same object (walks are cheap)', () => {
  const spec = at(pod, 'spec')
  assert.equal(field(spec.node, 'containers'), field(spec.node, 'containers'))
  assert.equal(at(pod, 'spec.containers[]'), at(pod, 'spec.containers[]'))
  assert.equal(resolve(spec.node), spec.node)
})

test('patch and list metadata of a field is merged from the field and its definition', () => {
  const cases = [
    {
      name: 'containers merge by name and are a map list keyed by name',
      f: at(pod, 'spec.containers'),
      want: {
        patchStrategy: 'merge',
        patchMergeKey: 'name',
        listType: 'map',
        listMapKeys: ['name'],
        mapType: undefined,
      },
    },
    {
      name: 'volumes merge by name and retain keys',
      f: at(pod, 'spec.volumes'),
      want: {
        patchStrategy: 'merge,retainKeys',
        patchMergeKey: 'name',
        listType: 'map',
        listMapKeys: ['name'],
        mapType: undefined,
      },
    },
    {
      name: 'a PodDisruptionBudget selector is replaced (on the field) and atomic (on LabelSelector)',
      f: at(pdb, 'spec.selector'),
      want: {
        patchStrategy: 'replace',
        patchMergeKey: undefined,
        listType: undefined,
        listMapKeys: undefined,
        mapType: 'atomic',
      },
    },
    {
      name: 'a Deployment strategy retains keys',
      f: at(deployment, 'spec.strategy'),
      want: {
        patchStrategy: 'retainKeys',
        patchMergeKey: undefined,
        listType: undefined,
        listMapKeys: undefined,
        mapType: undefined,
      },
    },
    {
      name: 'finalizers are a set merged as a set',
      f: at(pod, 'metadata.finalizers'),
      want: {
        patchStrategy: 'merge',
        patchMergeKey: undefined,
        listType: 'set',
        listMapKeys: undefined,
        mapType: undefined,
      },
    },
  ]
  for (const c of cases) {
    const { patchStrategy, patchMergeKey, listType, listMapKeys, mapType } = c.f
    assert.deepEqual({ patchStrategy, patchMergeKey, listType, listMapKeys, mapType }, c.want, c.name)
  }
})

test('patch strategies split into a list; list and map types have their defaults', () => {
  const volumes = at(pod, 'spec.volumes')
  assert.deepEqual(patchStrategies(volumes), ['merge', 'retainKeys'])
  assert.ok(hasPatchStrategy(volumes, 'retainKeys'))
  assert.ok(hasPatchStrategy(volumes, 'merge'))
  assert.ok(!hasPatchStrategy(volumes, 'replace'))
  assert.deepEqual(patchStrategies(at(pod, 'spec.nodeName')), [])
  assert.equal(listTypeOf(at(pod, 'spec.containers')), 'map')
  assert.equal(listTypeOf(at(podList, 'items')), 'atomic', 'a list without x-kubernetes-list-type is atomic')
  assert.equal(mapTypeOf(at(pdb, 'spec.selector')), 'atomic')
  assert.equal(
    mapTypeOf(at(pod, 'metadata.labels')),
    'granular',
    'a map without x-kubernetes-map-type is granular',
  )
})

test('value types, formats and special strings are told apart', () => {
  const cases = [
    { path: [pod, 'spec'], type: 'struct', format: undefined },
    { path: [pod, 'spec.containers'], type: 'list', format: undefined },
    { path: [pod, 'spec.containers[].name'], type: 'string', format: undefined },
    { path: [pod, 'spec.containers[].ports[].containerPort'], type: 'integer', format: 'int32' },
    { path: [pod, 'metadata.generation'], type: 'integer', format: 'int64' },
    { path: [pod, 'spec.hostNetwork'], type: 'boolean', format: undefined },
    { path: [pod, 'metadata.creationTimestamp'], type: 'string', format: 'date-time' },
    { path: [pod, 'spec.containers[].resources.limits{}'], type: 'quantity', format: 'quantity' },
    { path: [service, 'spec.ports[].targetPort'], type: 'int-or-string', format: 'int-or-string' },
    { path: [secret, 'data{}'], type: 'string', format: 'byte' },
    { path: [crd, 'spec.versions[].schema.openAPIV3Schema.default'], type: 'any', format: undefined },
  ] as const
  for (const c of cases) {
    const [kind, path] = c.path
    const f = at(kind, path)
    assert.equal(valueType(f.node), c.type, `${kind.kind} ${path} type`)
    assert.equal(formatOf(f), c.format, `${kind.kind} ${path} format`)
  }
  assert.ok(isQuantity(at(pod, 'spec.containers[].resources.limits{}')))
  assert.ok(isTime(at(pod, 'metadata.creationTimestamp')))
  assert.ok(
    isTime(at({ group: 'events.k8s.io', version: 'v1', kind: 'Event' }, 'eventTime')),
    'MicroTime is a time',
  )
  assert.ok(isIntOrString(at(service, 'spec.ports[].targetPort')))
  assert.ok(isBytes(at(secret, 'data{}')))
  assert.ok(!isQuantity(at(pod, 'spec.nodeName')) && !isTime(at(pod, 'spec.nodeName')))
  assert.ok(!isIntOrString(at(pod, 'spec.nodeName')) && !isBytes(at(pod, 'spec.nodeName')))
})

test('free-form values keep unknown fields, structs and empty structs do not', () => {
  const cases = [
    { name: 'a ControllerRevision data (RawExtension)', f: at(controllerRevision, 'data'), open: true },
    { name: 'a managedFields entry fieldsV1', f: at(pod, 'metadata.managedFields[].fieldsV1'), open: true },
    {
      name: 'a JSON schema default (apiextensions JSON)',
      f: at(crd, 'spec.versions[].schema.openAPIV3Schema.default'),
      open: true,
    },
    { name: 'a pod spec', f: at(pod, 'spec'), open: false },
    {
      name: 'an empty struct (CRD status subresource)',
      f: at(crd, 'spec.versions[].subresources.status'),
      open: false,
    },
    { name: 'a label map', f: at(pod, 'metadata.labels'), open: false },
  ]
  for (const c of cases) assert.equal(isOpen(c.f.node), c.open, c.name)
  assert.equal(valueType(at(controllerRevision, 'data').node), 'struct')
  assert.equal(valueType(at(crd, 'spec.versions[].subresources.status').node), 'struct')
  assert.deepEqual(fieldNames(at(crd, 'spec.versions[].subresources.status').node), [])
})

test('unions of the data are kept and descriptions are not', () => {
  const seccomp = definition('io.k8s.api.core.v1.SeccompProfile')
  assert.deepEqual(seccomp?.unions, [
    { discriminator: 'type', 'fields-to-discriminateBy': { localhostProfile: 'LocalhostProfile' } },
  ])
  const rawJson = JSON.stringify(definition('io.k8s.api.core.v1.PodSpec'))
  assert.ok(!rawJson.includes('description'), 'descriptions are left out')
})
