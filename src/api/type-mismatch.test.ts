import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { KubeObject } from './object.ts'
import { convertMismatch, goValue, typedMismatches, typeMismatch } from './type-mismatch.ts'

const v1 = (kind: string) => ({ group: '', version: 'v1', kind })
const pod = (spec: unknown, metadata: unknown = { name: 'p' }) => ({ metadata, spec }) as KubeObject
const container = (o: Record<string, unknown>) => pod({ containers: [{ name: 'c', image: 'i', ...o }] })

test('values of the JSON type their schema takes pass; null passes anywhere', () => {
  for (const o of [
    container({ ports: [{ containerPort: 80, protocol: 'TCP' }] }),
    // IntOrString: a number or a string; Quantity: a string or a number.
    container({
      livenessProbe: { httpGet: { port: 'http' } },
      resources: { limits: { cpu: 1, memory: '1Gi' } },
    }),
    container({ readinessProbe: { tcpSocket: { port: 8080 } }, stdin: true, env: null }),
    pod({ containers: null, priority: null }, { name: 'p', labels: { a: 'b' }, annotations: null }),
    // Fields the schema does not have are the unknown-field check's.
    pod({ bogus: 1, containers: [] }, { name: 'p', bogus: [1] }),
  ]) {
    assert.equal(typeMismatch(v1('Pod'), o), undefined, JSON.stringify(o))
  }
  // Open nodes take anything: a ControllerRevision's data is a RawExtension.
  const revision = { metadata: { name: 'r' }, data: { anything: [1, 'two', { three: 3 }] }, revision: 1 }
  assert.equal(
    typeMismatch({ group: 'apps', version: 'v1', kind: 'ControllerRevision' }, revision),
    undefined,
  )
})

test('a value of another JSON type is named as Go names it: struct, path from the root, Go type', () => {
  const cases: [KubeObject, string][] = [
    [
      container({ ports: [{ containerPort: '80' }] }),
      'cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32',
    ],
    [
      container({ ports: [{ containerPort: 80.5 }] }),
      'cannot unmarshal number 80.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32',
    ],
    [
      pod({ containers: 'c' }),
      'cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container',
    ],
    [
      pod({ containers: [] }, 'p'),
      'cannot unmarshal string into Go struct field Pod.metadata of type v1.ObjectMeta',
    ],
    [
      container({ stdin: 'yes' }),
      'cannot unmarshal string into Go struct field Container.spec.containers.stdin of type bool',
    ],
    [
      container({ livenessProbe: { httpGet: { port: true } } }),
      'cannot unmarshal bool into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port of type intstr.IntOrString',
    ],
    [
      container({ resources: { limits: { cpu: [1] } } }),
      'cannot unmarshal array into Go struct field ResourceRequirements.spec.containers.resources.limits of type resource.Quantity',
    ],
    [
      pod({ containers: [] }, { name: 'p', labels: { a: 1 } }),
      'cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string',
    ],
  ]
  for (const [o, message] of cases) assert.equal(typeMismatch(v1('Pod'), o), `json: ${message}`)
})

test('kinds without a built-in schema are not checked here', () => {
  assert.equal(typeMismatch({ group: 'example.com', version: 'v1', kind: 'Widget' }, pod('x')), undefined)
})

test('a strategic merge patch result is worded as the unstructured converter words it', () => {
  const cases: [KubeObject, string][] = [
    [pod({ containers: 'c' }), 'cannot restore slice from string'],
    [pod({ containers: [] }, { name: 'p', labels: [] }), 'cannot restore map from slice'],
    [container({ livenessProbe: 7 }), 'cannot restore struct from: int64'],
    [container({ ports: [{ containerPort: '80' }] }), 'unrecognized type: int32'],
    [container({ ports: [{ containerPort: 80.5 }] }), 'cannot convert float64 to int32'],
    [container({ image: 5 }), 'cannot convert int64 to string'],
    [container({ image: 5.5 }), 'unrecognized type: string'],
    [container({ stdin: 1 }), 'unrecognized type: bool'],
    [
      container({ livenessProbe: { httpGet: { port: false } } }),
      'json: cannot unmarshal bool into Go value of type int32',
    ],
    [
      container({ resources: { limits: { cpu: true } } }),
      "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ],
    [
      pod({ containers: [] }, { name: 'p', creationTimestamp: 5 }),
      'json: cannot unmarshal number into Go value of type string',
    ],
  ]
  for (const [o, message] of cases) assert.equal(convertMismatch(v1('Pod'), o), message, JSON.stringify(o))
  assert.equal(convertMismatch(v1('Pod'), container({ ports: [{ containerPort: 80 }] })), undefined)
})

test('an apply configuration lists every bad value by its structured-merge-diff path', () => {
  const o = pod(
    {
      containers: [
        { name: 'web', image: 5, ports: [{ containerPort: 'x' }], args: [1], stdin: 'yes' },
        { name: 'side', resources: { limits: { cpu: { n: 1 } } } },
      ],
      priority: 1.5,
    },
    { name: 'p', labels: { a: [1, 'b'] } },
  )
  assert.deepEqual(typedMismatches(v1('Pod'), o), [
    '.metadata.labels.a: expected string, got &value.valueUnstructured{Value:[]interface {}{1, "b"}}',
    '.spec.containers[name="web"].image: expected string, got &value.valueUnstructured{Value:5}',
    '.spec.containers[name="web"].ports[containerPort="x",protocol="TCP"].containerPort: expected numeric (int or float), got string',
    '.spec.containers[name="web"].args[0]: expected string, got &value.valueUnstructured{Value:1}',
    '.spec.containers[name="web"].stdin: expected boolean, got &{yes}',
    '.spec.containers[name="side"].resources.limits.cpu: expected any scalar, got &{map[n:1]}',
    '.spec.priority: cannot convert float64 to int32',
  ])
  assert.deepEqual(typedMismatches(v1('Pod'), container({ ports: [{ containerPort: 80 }] })), [])
})

test('goValue prints unstructured values as Go prints them with %v', () => {
  assert.equal(goValue({ b: [1, 'x', null], a: { c: true } }), 'map[a:map[c:true] b:[1 x <nil>]]')
})
