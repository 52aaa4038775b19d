import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { field, items, schemaForKind } from '../schema.ts'
import { copyJson, deepFreeze } from '../object.ts'
import {
  comparePaths,
  diffFieldSets,
  editFieldsV1,
  fieldsV1Has,
  FieldSet,
  fieldSetOf,
  keyElement,
  listKind,
  pathString,
  serverOwned,
  updateFieldsV1,
  valueAt,
  type FieldPath,
} from './managed-fields.ts'

const deploymentSchema = schemaForKind({ group: 'apps', version: 'v1', kind: 'Deployment' })
const podSchema = schemaForKind({ group: '', version: 'v1', kind: 'Pod' })
const serviceSchema = schemaForKind({ group: '', version: 'v1', kind: 'Service' })
const configMapSchema = schemaForKind({ group: '', version: 'v1', kind: 'ConfigMap' })
if (!deploymentSchema || !podSchema || !serviceSchema || !configMapSchema) throw new Error('schema missing')

/** The ConfigMap of the Server-Side Apply page (kubernetes.io). */
const testCm = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'test-cm', namespace: 'default', labels: { 'test-label': 'test' } },
  data: { key: 'some value' },
}

/** The Deployment the Server-Side Apply page applies (application/ssa/nginx-deployment.yaml). */
const nginxDeployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'nginx-deployment', labels: { app: 'nginx' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'nginx' } },
    template: {
      metadata: { labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2', ports: [{ containerPort: 80 }] }] },
    },
  },
}

const applySet = (o: unknown, schema = deploymentSchema) =>
  fieldSetOf(o, schema, { ignore: serverOwned, operation: 'Apply' }).toFieldsV1()
const updateSet = (o: unknown, schema = deploymentSchema) =>
  fieldSetOf(o, schema, { ignore: serverOwned, operation: 'Update' }).toFieldsV1()

describe('FieldSet and FieldsV1', () => {
  const fieldsV1 = {
    'f:spec': {
      'f:replicas': {},
      'f:template': {
        'f:spec': {
          'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {} } },
        },
      },
    },
  }

  test('FieldsV1 reads into paths and writes back the same tree', () => {
    const set = FieldSet.fromFieldsV1(fieldsV1)
    assert.deepEqual(
      set
        .paths()
        .map((p) => p.join(' '))
        .sort(),
      [
        'f:spec f:replicas',
        'f:spec f:template f:spec f:containers k:{"name":"web"} .',
        'f:spec f:template f:spec f:containers k:{"name":"web"} f:image',
      ],
    )
    assert.deepEqual(set.toFieldsV1(), fieldsV1)
  })

  test('FieldsV1 is written with its keys sorted, as the API server writes it', () => {
    const set = FieldSet.of([
      ['f:spec', 'f:b'],
      ['f:metadata', 'f:labels', 'f:z'],
      ['f:spec', 'f:c', 'k:{"name":"y"}', 'f:image'],
      ['f:spec', 'f:a'],
      ['f:spec', 'f:c', 'k:{"name":"x"}', 'f:name'],
      ['f:spec', 'f:c', 'k:{"name":"y"}', '.'],
      ['f:metadata', 'f:labels', 'f:a'],
      ['f:spec', 'f:c', 'k:{"name":"x"}', '.'],
    ])
    assert.equal(
      JSON.stringify(set.toFieldsV1()),
      '{"f:metadata":{"f:labels":{"f:a":{},"f:z":{}}},"f:spec":{"f:a":{},"f:b":{},' +
        '"f:c":{"k:{\\"name\\":\\"x\\"}":{".":{},"f:name":{}},"k:{\\"name\\":\\"y\\"}":{".":{},"f:image":{}}}}}',
    )
  })

  test('union, difference and intersection work on whole paths', () => {
    const a = FieldSet.of([['f:a'], ['f:b'], ['f:c', 'f:d']])
    const b = FieldSet.of([['f:b'], ['f:c', 'f:d'], ['f:e']])
    const show = (s: FieldSet) =>
      s
        .paths()
        .map((p) => p.join('.'))
        .sort()
    assert.deepEqual(show(a.union(b)), ['f:a', 'f:b', 'f:c.f:d', 'f:e'])
    assert.deepEqual(show(a.minus(b)), ['f:a'])
    assert.deepEqual(show(a.intersect(b)), ['f:b', 'f:c.f:d'])
    assert.equal(a.has(['f:c', 'f:d']), true)
    assert.equal(a.has(['f:c']), false)
    a.delete(['f:a'])
    assert.equal(a.size, 2)
  })

  test('garbage in FieldsV1 reads as an empty set', () => {
    assert.equal(FieldSet.fromFieldsV1(undefined).size, 0)
    assert.equal(FieldSet.fromFieldsV1('f:x').size, 0)
  })
})

describe('the fields an object sets', () => {
  test('an Apply owns leaves and map entries but not the maps: the ConfigMap of the SSA page', () => {
    assert.deepEqual(applySet(testCm, configMapSchema), {
      'f:data': { 'f:key': {} },
      'f:metadata': { 'f:labels': { 'f:test-label': {} } },
    })
  })

  test('an Update also owns the maps it sets, as kube-apiserver records a create', () => {
    assert.deepEqual(updateSet(testCm, configMapSchema), {
      'f:data': { '.': {}, 'f:key': {} },
      'f:metadata': { 'f:labels': { '.': {}, 'f:test-label': {} } },
    })
  })

  test('an applied Deployment: atomic selector, containers by name, ports by containerPort and protocol', () => {
    assert.deepEqual(applySet(nginxDeployment), {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"nginx"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                // The protocol is part of the key, defaulted to TCP, though the manifest omits it.
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    })
  })

  test('atomic lists and empty maps are single fields; sets own their values', () => {
    const pod = {
      metadata: { finalizers: ['example.com/a', 'example.com/b'] },
      spec: {
        nodeSelector: {},
        tolerations: [{ key: 'k', operator: 'Exists' }],
        containers: [{ name: 'c', args: ['-v'], resources: { limits: { cpu: '1' } } }],
      },
    }
    assert.deepEqual(applySet(pod, podSchema), {
      'f:metadata': { 'f:finalizers': { 'v:"example.com/a"': {}, 'v:"example.com/b"': {} } },
      'f:spec': {
        'f:containers': {
          'k:{"name":"c"}': {
            '.': {},
            'f:args': {},
            'f:name': {},
            'f:resources': { 'f:limits': { 'f:cpu': {} } },
          },
        },
        'f:nodeSelector': {},
        'f:tolerations': {},
      },
    })
  })

  test('Service ports are keyed by port and protocol', () => {
    const svc = {
      spec: {
        ports: [
          { port: 53, protocol: 'UDP', name: 'dns' },
          { port: 53, name: 'dns-tcp' },
        ],
      },
    }
    assert.deepEqual(Object.keys(applySet(svc, serviceSchema)['f:spec'] as object), ['f:ports'])
    assert.deepEqual(
      Object.keys((applySet(svc, serviceSchema)['f:spec'] as Record<string, object>)['f:ports'] ?? {}),
      ['k:{"port":53,"protocol":"TCP"}', 'k:{"port":53,"protocol":"UDP"}'],
    )
  })

  test("fields the server owns (apiVersion, kind, name, namespace, uid, ...) are nobody's", () => {
    const obj = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'x',
        namespace: 'default',
        uid: 'u',
        resourceVersion: '1',
        generation: 1,
        creationTimestamp: '2026-01-01T00:00:00Z',
        managedFields: [{ manager: 'm' }],
      },
    }
    assert.deepEqual(applySet(obj, configMapSchema), {})
    for (const p of [['f:apiVersion'], ['f:kind'], ['f:metadata', 'f:name'], ['f:metadata', 'f:uid']])
      assert.equal(serverOwned(p), true, p.join('.'))
    for (const p of [['f:metadata', 'f:labels'], ['f:spec'], ['f:metadata', 'f:finalizers']])
      assert.equal(serverOwned(p), false, p.join('.'))
  })

  test('without a schema, objects are structs and lists atomic', () => {
    assert.deepEqual(
      fieldSetOf({ spec: { a: 1, list: [1, 2] } }, undefined, {
        ignore: () => false,
        operation: 'Apply',
      }).toFieldsV1(),
      { 'f:spec': { 'f:a': {}, 'f:list': {} } },
    )
  })
})

describe('the FieldsV1 of a create (updateFieldsV1)', () => {
  /** Objects with every shape the walk knows: maps, structs, keyed lists (with a duplicate key and a defaulted key field), sets (with a duplicate), atomic lists, empty and null values. */
  const objects: [string, unknown, unknown][] = [
    ['the SSA ConfigMap', testCm, configMapSchema],
    ['the SSA Deployment', nginxDeployment, deploymentSchema],
    [
      'a pod with duplicate keys, a set and nulls',
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', finalizers: ['b', 'a', 'b'], labels: {}, annotations: { z: 'z', a: null } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'i',
              ports: [{ containerPort: 80 }, { containerPort: 80, protocol: 'TCP', name: 'x' }],
            },
            { name: 'side', image: 'j', args: ['a', 'a'], env: [{ name: 'B', value: '1' }, { name: 'A' }] },
            { name: 'web', resources: { limits: { memory: '1Gi' } } },
            null,
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
          nodeSelector: null,
          tolerations: [{ key: 'k', operator: 'Exists' }],
        },
      },
      podSchema,
    ],
    [
      'a Service keyed by port and protocol',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's' },
        spec: { ports: [{ port: 80 }, { port: 80, protocol: 'UDP' }], clusterIPs: ['10.0.0.1'] },
      },
      serviceSchema,
    ],
    [
      'an object without a schema',
      { apiVersion: 'x/v1', kind: 'X', spec: { b: [1], a: { c: {} }, d: null } },
      undefined,
    ],
  ]
  for (const [what, o, schema] of objects) {
    test(`${what}: the tree of the whole field set, keys in the same order`, () => {
      const want = updateSet(o, schema as typeof deploymentSchema)
      const got = updateFieldsV1(o, schema as typeof deploymentSchema, serverOwned)
      assert.deepEqual(got, want)
      assert.equal(JSON.stringify(got), JSON.stringify(want))
    })
  }
})

describe('list kinds and keys', () => {
  const podSpec = field(podSchema, 'spec')?.node ?? {}
  const container = items(field(podSpec, 'containers')?.node ?? {})?.node ?? {}

  test('the schema tells how each list merges', () => {
    assert.deepEqual(listKind(field(podSpec, 'containers')), { kind: 'map', keys: ['name'] })
    assert.deepEqual(listKind(field(container, 'ports')), {
      kind: 'map',
      keys: ['containerPort', 'protocol'],
    })
    assert.deepEqual(listKind(field(podSpec, 'tolerations')), { kind: 'atomic' })
    assert.deepEqual(listKind(field(container, 'args')), { kind: 'atomic' })
    assert.deepEqual(listKind(field(field(podSchema, 'metadata')?.node ?? {}, 'finalizers')), { kind: 'set' })
    assert.deepEqual(listKind(undefined), { kind: 'atomic' })
  })

  test('a list with only a patch merge key is keyed by it (the SSA page: patchStrategy=merge means listType=map)', () => {
    const f = { ...field(podSpec, 'containers'), listType: undefined, listMapKeys: undefined }
    assert.deepEqual(listKind(f as Parameters<typeof listKind>[0]), { kind: 'map', keys: ['name'] })
  })

  test('a key element lists its fields sorted, with the defaults of missing ones', () => {
    const ports = items(field(container, 'ports')?.node ?? {})
    assert.equal(
      keyElement({ protocol: 'UDP', containerPort: 53 }, ['containerPort', 'protocol'], ports),
      'k:{"containerPort":53,"protocol":"UDP"}',
    )
    assert.equal(
      keyElement({ containerPort: 80 }, ['containerPort', 'protocol'], ports),
      'k:{"containerPort":80,"protocol":"TCP"}',
    )
    assert.equal(
      keyElement({ containerPort: 80 }, ['containerPort', 'protocol'], undefined),
      'k:{"containerPort":80}',
    )
  })
})

describe('values and paths', () => {
  const pod = {
    metadata: { finalizers: ['a/b'] },
    spec: {
      containers: [
        { name: 'web', image: 'nginx', ports: [{ containerPort: 80, protocol: 'TCP' }] },
        { name: 'side', image: 'busybox' },
      ],
    },
  }

  test('valueAt follows fields, list keys (defaults included) and set values', () => {
    const web = ['f:spec', 'f:containers', 'k:{"name":"web"}']
    assert.equal(valueAt(pod, [...web, 'f:image'], podSchema), 'nginx')
    assert.deepEqual(
      valueAt(pod, [...web, 'f:ports', 'k:{"containerPort":80,"protocol":"TCP"}', '.'], podSchema),
      {
        containerPort: 80,
        protocol: 'TCP',
      },
    )
    const applied = { spec: { containers: [{ name: 'web', ports: [{ containerPort: 80 }] }] } }
    assert.deepEqual(
      valueAt(
        applied,
        [...web, 'f:ports', 'k:{"containerPort":80,"protocol":"TCP"}', 'f:containerPort'],
        podSchema,
      ),
      80,
      'an applied port without protocol is the TCP port',
    )
    assert.equal(valueAt(pod, ['f:metadata', 'f:finalizers', 'v:"a/b"'], podSchema), 'a/b')
    assert.equal(
      valueAt(pod, ['f:spec', 'f:containers', 'k:{"name":"nope"}', 'f:image'], podSchema),
      undefined,
    )
    assert.equal(valueAt(pod, ['f:spec', 'f:hostname'], podSchema), undefined)
    assert.equal(
      valueAt(pod, ['f:spec', 'f:containers', 'k:{"name":"side"}', 'f:image']),
      'busybox',
      'no schema',
    )
  })

  test('paths print as Kubernetes prints them in conflicts', () => {
    assert.equal(
      pathString(['f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image']),
      '.spec.containers[name="web"].image',
    )
    assert.equal(
      pathString(['f:spec', 'f:ports', 'k:{"port":53,"protocol":"UDP"}', '.']),
      '.spec.ports[port=53,protocol="UDP"]',
    )
    assert.equal(pathString(['f:metadata', 'f:finalizers', 'v:"a/b"']), '.metadata.finalizers[="a/b"]')
    assert.equal(pathString(['f:data', 'f:key']), '.data.key')
  })

  test('paths sort as structured-merge-diff lists them: fields ending at a level before deeper ones', () => {
    const paths: FieldPath[] = [
      ['f:spec', 'f:template', 'f:spec', 'f:hostname'],
      ['f:spec', 'f:replicas'],
      ['f:metadata', 'f:labels', 'f:b'],
      ['f:data', 'f:z'],
      ['f:metadata', 'f:labels', 'f:a'],
      ['f:data', 'f:a'],
    ]
    assert.deepEqual(
      paths.sort(comparePaths).map((p) => pathString(p)),
      [
        '.data.a',
        '.data.z',
        '.metadata.labels.a',
        '.metadata.labels.b',
        '.spec.replicas',
        '.spec.template.spec.hostname',
      ],
    )
  })
})

describe('diffFieldSets', () => {
  /** The difference as the two whole field sets give it: what the side-by-side walk must match. */
  function wholeSetDiff(next: unknown, prev: unknown, schema: typeof podSchema) {
    const nextValues = new Map<string, unknown>()
    const prevValues = new Map<string, unknown>()
    const o = { ignore: serverOwned, operation: 'Update' as const }
    const nextSet = fieldSetOf(next, schema, { ...o, values: nextValues })
    const prevSet = fieldSetOf(prev, schema, { ...o, values: prevValues })
    const key = (p: FieldPath) => p.join('\u0000')
    const changed = nextSet
      .paths()
      .filter(
        (p) =>
          !prevSet.has(p) ||
          (p.at(-1) !== '.' &&
            JSON.stringify(nextValues.get(key(p))) !== JSON.stringify(prevValues.get(key(p)))),
      )
    return { changed: sorted(changed), removed: sorted(prevSet.minus(nextSet).paths()) }
  }
  const sorted = (ps: FieldPath[]) => ps.map((p) => p.join(' ')).sort()

  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', labels: { app: 'a', tier: 'web' }, finalizers: ['x/y'] },
    spec: {
      nodeName: 'n1',
      containers: [
        { name: 'web', image: 'nginx', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] },
        { name: 'side', image: 'busybox', args: ['sleep', '1'] },
      ],
      tolerations: [{ key: 'k', operator: 'Exists' }],
      nodeSelector: { disk: 'ssd' },
    },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
  }
  type Change = [string, (o: typeof pod) => void]
  const changes: Change[] = [
    ['nothing', () => undefined],
    ['a scalar', (o) => (o.spec.nodeName = 'n2')],
    ['a scalar that appears', (o) => Object.assign(o.spec, { hostname: 'h' })],
    ['a scalar that goes', (o) => Reflect.deleteProperty(o.spec, 'nodeName')],
    ['a map entry', (o) => (o.metadata.labels.app = 'b')],
    ['a map entry added and one removed', (o) => (o.metadata.labels = { app: 'a', zone: 'z' } as never)],
    ['a map emptied', (o) => (o.metadata.labels = {} as never)],
    ['a map gone', (o) => Reflect.deleteProperty(o.metadata, 'labels')],
    ['an atomic list', (o) => o.spec.tolerations.push({ key: 'j', operator: 'Exists' })],
    ['a set item', (o) => (o.metadata.finalizers = ['x/z'])],
    ['a list-map item field', (o) => Object.assign(o.spec.containers[0] ?? {}, { image: 'nginx:2' })],
    ['a list-map item added', (o) => o.spec.containers.push({ name: 'third', image: 'i' } as never)],
    ['a list-map item removed', (o) => o.spec.containers.pop()],
    ['list-map items reordered', (o) => o.spec.containers.reverse()],
    [
      'a nested list-map item',
      (o) => Object.assign(o.spec.containers[0] ?? {}, { ports: [{ containerPort: 81 }] }),
    ],
    ['a duplicate key', (o) => o.spec.containers.push({ name: 'web', image: 'other' } as never)],
    ['a status condition', (o) => Object.assign(o.status.conditions[0] ?? {}, { status: 'False' })],
    ['a struct emptied', (o) => (o.status = {} as never)],
    ['a struct turned scalar', (o) => Object.assign(o.spec, { nodeSelector: 'x' })],
    ['a list turned object', (o) => Object.assign(o.spec, { containers: { name: 'web' } })],
    ['a server field', (o) => (o.metadata.name = 'q')],
    ['an unknown field', (o) => Object.assign(o.spec, { extra: { a: [1, { b: 2 }] } })],
  ]
  for (const [what, change] of changes) {
    test(`the side-by-side walk finds what the whole sets do: ${what}`, () => {
      const next = structuredClone(pod)
      change(next)
      for (const [a, b] of [
        [next, pod],
        [pod, next],
      ]) {
        const got = diffFieldSets(a, b, podSchema, serverOwned)
        assert.deepEqual(
          { changed: sorted(got.changed.paths()), removed: sorted(got.removed.paths()) },
          wholeSetDiff(a, b, podSchema),
        )
      }
    })
  }

  test('a renewed Lease is one changed path', () => {
    const lease = {
      metadata: { name: 'n' },
      spec: { holderIdentity: 'n', renewTime: '2026-01-01T00:00:00.000000Z' },
    }
    const renewed = { ...lease, spec: { ...lease.spec, renewTime: '2026-01-01T00:00:10.000000Z' } }
    const got = diffFieldSets(renewed, lease, undefined, serverOwned)
    assert.deepEqual(got.changed.paths(), [['f:spec', 'f:renewTime']])
    assert.equal(got.removed.size, 0)
  })
})

describe('fieldsV1Has', () => {
  const tree = { 'f:data': { '.': {}, 'f:a': {} }, 'f:spec': { 'f:x': { 'f:y': {} } } }
  for (const [path, has] of [
    [['f:data', '.'], true],
    [['f:data', 'f:a'], true],
    [['f:data'], false],
    [['f:spec', 'f:x'], false],
    [['f:spec', 'f:x', 'f:y'], true],
    [['f:spec', 'f:x', 'f:y', 'f:z'], false],
    [['f:other'], false],
  ] as const) {
    test(`${path.join(' ')}: ${has}`, () => assert.equal(fieldsV1Has(tree, path), has))
  }
})

describe('editFieldsV1', () => {
  const tree = {
    'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:tier': {} } },
    'f:spec': {
      'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:name': {} } },
      'f:replicas': {},
    },
    'f:status': { 'f:phase': {} },
  }
  const p = (s: string): FieldPath => s.split(' ')
  const cases: [string, string[], string[]][] = [
    ['nothing', [], []],
    ['a leaf out', ['f:spec f:replicas'], []],
    ['the last leaf of a map out, and the maps it leaves empty', ['f:status f:phase'], []],
    [
      'a list item out, with its fields',
      [
        'f:spec f:containers k:{"name":"web"} .',
        'f:spec f:containers k:{"name":"web"} f:image',
        'f:spec f:containers k:{"name":"web"} f:name',
      ],
      [],
    ],
    ['paths it does not hold', ['f:spec', 'f:spec f:containers', 'f:nope f:x'], []],
    ['leaves in, in order', [], ['f:metadata f:labels f:zone', 'f:data f:a', 'f:spec f:aaa']],
    ['a leaf it holds', [], ['f:spec f:replicas']],
    ['out and in', ['f:metadata f:labels f:app'], ['f:metadata f:labels f:b', 'f:status f:podIP']],
  ]
  for (const [what, remove, add] of cases) {
    test(`as the field sets do it: ${what}`, () => {
      const r = remove.map(p)
      const a = add.map(p)
      const want = FieldSet.of(
        FieldSet.fromFieldsV1(tree).minus(FieldSet.of(r)).union(FieldSet.of(a)).paths(),
      ).toFieldsV1()
      const before = JSON.stringify(tree)
      const got = editFieldsV1(tree, r, a)
      assert.equal(JSON.stringify(got), JSON.stringify(want), 'the same tree, keys in the same order')
      assert.equal(JSON.stringify(tree), before, 'the input stays as it was')
      // What it shares with a frozen input (a cached object's) it never changes.
      const frozen = deepFreeze(copyJson(tree))
      assert.equal(JSON.stringify(editFieldsV1(frozen, r, a)), JSON.stringify(want))
    })
  }

  test('an unsorted tree comes back sorted; what is not a map is an empty leaf', () => {
    assert.equal(
      JSON.stringify(editFieldsV1({ 'f:b': {}, 'f:a': { 'f:y': null, 'f:x': {} } }, [], [])),
      '{"f:a":{"f:x":{},"f:y":{}},"f:b":{}}',
    )
  })
})
