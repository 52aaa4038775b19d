import assert from 'node:assert/strict'
import { test } from 'node:test'
import { normalizeObject } from './normalize.ts'
import type { KubeObject } from './object.ts'

const pod = { group: '', version: 'v1', kind: 'Pod' }

test('normalizing drops nulls and empty optional lists and maps, but not required or map values', () => {
  const obj = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', labels: { a: '' }, annotations: {} },
    spec: { containers: [{ name: 'c', image: 'nginx', ports: [], env: null }], volumes: [] },
    status: { phase: null },
  } as unknown as KubeObject
  normalizeObject(pod, obj)
  assert.deepEqual(obj, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', labels: { a: '' } },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
    status: {},
  })
})

test('members shared with the stored object are left as they are (they were normalized when stored)', () => {
  // A stored spec is normalized already; one that is not shows that it is not walked again.
  const spec = Object.freeze({
    containers: Object.freeze([Object.freeze({ name: 'c', image: 'x', ports: [] })]),
  })
  const stored = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec } as unknown as KubeObject
  const next = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', annotations: {} },
    spec,
    status: { conditions: [] },
  } as unknown as KubeObject
  normalizeObject(pod, next, stored)
  assert.equal(next.spec, spec)
  assert.deepEqual(next.metadata, { name: 'p' })
  assert.deepEqual(next.status, {})
  // A copy of it is no longer the stored member: normalized like any other.
  const copy = { ...next, spec: structuredClone(spec) } as unknown as KubeObject
  normalizeObject(pod, copy, stored)
  assert.deepEqual(copy.spec, { containers: [{ name: 'c', image: 'x' }] })
})
