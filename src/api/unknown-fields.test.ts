import assert from 'node:assert/strict'
import { test } from 'node:test'
import { duplicateFields, memberCount, unknownFields } from './unknown-fields.ts'

const deployment = { group: 'apps', version: 'v1', kind: 'Deployment' }

test('unknown fields are named by their path, through lists and maps', () => {
  const obj = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x', labels: { anything: 'goes' }, bogus: 1 },
    spec: {
      replicas: 1,
      template: {
        spec: { containers: [{ name: 'c', image: 'i', imagePullPolicy: 'Always', colour: 'red' }] },
      },
      extra: true,
    },
  }
  assert.deepEqual(unknownFields(deployment, obj), [
    'unknown field "metadata.bogus"',
    'unknown field "spec.template.spec.containers[0].colour"',
    'unknown field "spec.extra"',
  ])
})

test('fields that keep unknown content are not checked (embedded objects, raw extensions)', () => {
  const rev = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name: 'r' },
    revision: 1,
    data: { whatever: { nested: true } },
  }
  assert.deepEqual(unknownFields({ group: 'apps', version: 'v1', kind: 'ControllerRevision' }, rev), [])
  const crd = {
    metadata: { name: 'x' },
    spec: {
      versions: [{ name: 'v1', schema: { openAPIV3Schema: { type: 'object', default: { anything: 1 } } } }],
    },
  }
  assert.deepEqual(
    unknownFields({ group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' }, crd),
    [],
  )
})

test('duplicate fields are found in the JSON text as sent, at any depth', () => {
  assert.deepEqual(
    duplicateFields(
      '{"metadata":{"name":"a","name":"b"},"data":{"k":"1","k":"2","x":"[\\"{"},"list":[{"a":1,"a":2}]}',
    ),
    ['duplicate field "metadata.name"', 'duplicate field "data.k"', 'duplicate field "list[0].a"'],
  )
  assert.deepEqual(duplicateFields('{"a":{"b":1},"c":{"b":2}}'), [])
  // Escapes: a key written two ways is one key; quotes and backslashes inside strings are skipped.
  assert.deepEqual(duplicateFields('{"ab":1, "a\\u0062" : 2, "s":"x\\"y\\\\", "t":[true,null,-1.5e3]}'), [
    'duplicate field "ab"',
  ])
  assert.deepEqual(duplicateFields('{"a":'), [], 'not JSON: nothing to report')
})

test('with the decoded member count, a text without duplicates is passed at once and one with them still reported', () => {
  const texts = [
    '{"metadata":{"name":"a","name":"b"},"data":{"k":"1","k":"2","x":"[\\"{:"},"list":[{"a":1,"a":2}]}',
    '{"ab":1, "a\\u0062" : 2, "s":"x\\"y:\\\\", "t":[true,null,-1.5e3]}',
    '{"a":{"b":{"c":1}},"a":{}}',
    '{"a":{"b":1},"c":{"b":2,"d":"e:f"},"l":[{"x":1},{"x":2}]}',
  ]
  for (const text of texts) {
    const members = memberCount(JSON.parse(text))
    assert.deepEqual(duplicateFields(text, members), duplicateFields(text), text)
  }
  assert.equal(memberCount(JSON.parse(texts[3] as string)), 8)
  assert.deepEqual(duplicateFields(texts[2] as string, 1), ['duplicate field "a"'])
})
