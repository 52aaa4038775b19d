import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { StoredObject } from '../object.ts'
import { schemaForKind } from '../schema.ts'
import { applyConfiguration, ApplyConflictError, recordUpdate } from './apply.ts'
import { applyJsonPatch, PatchError } from './json-patch.ts'
import { applyMergePatch, createMergePatch } from './merge-patch.ts'
import { applyStrategicMergePatch } from './strategic-merge-patch.ts'

const deploymentSchema = schemaForKind({ group: 'apps', version: 'v1', kind: 'Deployment' })
const podSchema = schemaForKind({ group: '', version: 'v1', kind: 'Pod' })

describe('JSON patch (RFC 6902)', () => {
  test('the operations of RFC 6902 appendix A', () => {
    assert.deepEqual(applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }]), {
      foo: 'bar',
      baz: 'qux',
    })
    assert.deepEqual(applyJsonPatch({ foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }]), {
      foo: ['bar', 'qux', 'baz'],
    })
    assert.deepEqual(applyJsonPatch({ baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }]), {
      foo: 'bar',
    })
    assert.deepEqual(
      applyJsonPatch({ baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }]),
      { baz: 'boo', foo: 'bar' },
    )
    assert.deepEqual(
      applyJsonPatch({ foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } }, [
        { op: 'move', from: '/foo/waldo', path: '/qux/thud' },
      ]),
      { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    )
    assert.deepEqual(
      applyJsonPatch({ foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }]),
      { foo: ['bar', ['abc', 'def']] },
    )
    assert.deepEqual(applyJsonPatch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }]), {
      '/': 9,
      '~1': 10,
    })
  })

  test('a failed test, a missing path or a malformed patch is an error, and the document is untouched', () => {
    const doc = { baz: 'qux' }
    assert.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/baz', value: 'bar' }]), PatchError)
    assert.throws(() => applyJsonPatch(doc, [{ op: 'remove', path: '/missing' }]), PatchError)
    assert.throws(() => applyJsonPatch(doc, [{ op: 'frobnicate', path: '/baz' }]), PatchError)
    assert.throws(() => applyJsonPatch(doc, { op: 'add' }), PatchError)
    assert.deepEqual(doc, { baz: 'qux' })
  })
})

describe('JSON merge patch (RFC 7386)', () => {
  test('the examples of RFC 7386 appendix A', () => {
    const cases: [unknown, unknown, unknown][] = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [
        ['a', 'b'],
        ['c', 'd'],
        ['c', 'd'],
      ],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ]
    for (const [target, patch, want] of cases)
      assert.deepEqual(applyMergePatch(target, patch), want, JSON.stringify(patch))
  })

  test('a merge patch made from two documents turns one into the other', () => {
    const a = { metadata: { labels: { x: '1', y: '2' } }, data: { k: 'v' } }
    const b = { metadata: { labels: { x: '1', z: '3' } }, data: {} }
    const p = createMergePatch(a, b)
    assert.deepEqual(p, { metadata: { labels: { y: null, z: '3' } }, data: { k: null } })
    assert.deepEqual(applyMergePatch(a, p), b)
  })
})

describe('strategic merge patch', () => {
  // "Update API Objects in Place Using kubectl patch": a deployment with one container.
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'patch-demo' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'nginx' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: {
          containers: [{ name: 'patch-demo-ctr', image: 'nginx' }],
          tolerations: [{ effect: 'NoSchedule', key: 'dedicated', value: 'test-team' }],
        },
      },
    },
  }

  test('containers merge by name; tolerations (no merge key) are replaced', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            containers: [{ name: 'patch-demo-ctr-2', image: 'redis' }],
            tolerations: [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }],
          },
        },
      },
    }
    const out = applyStrategicMergePatch(deployment, patch, deploymentSchema) as typeof deployment
    assert.deepEqual(out.spec.template.spec.containers, [
      { name: 'patch-demo-ctr', image: 'nginx' },
      { name: 'patch-demo-ctr-2', image: 'redis' },
    ])
    assert.deepEqual(out.spec.template.spec.tolerations, [
      { effect: 'NoSchedule', key: 'disktype', value: 'ssd' },
    ])
    // The same patch as a JSON merge patch replaces the containers list.
    const merged = applyMergePatch(deployment, patch) as typeof deployment
    assert.deepEqual(merged.spec.template.spec.containers, [{ name: 'patch-demo-ctr-2', image: 'redis' }])
  })

  test('an item of a merged list changes in place, and null deletes a key', () => {
    const out = applyStrategicMergePatch(
      deployment,
      {
        spec: {
          replicas: null,
          template: { spec: { containers: [{ name: 'patch-demo-ctr', image: 'nginx:1.27' }] } },
        },
      },
      deploymentSchema,
    ) as { spec: Record<string, unknown> & { template: { spec: { containers: unknown[] } } } }
    assert.equal(out.spec.replicas, undefined)
    assert.deepEqual(out.spec.template.spec.containers, [{ name: 'patch-demo-ctr', image: 'nginx:1.27' }])
  })

  test('$retainKeys clears what the new strategy type does not keep', () => {
    const out = applyStrategicMergePatch(
      deployment,
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
      deploymentSchema,
    ) as typeof deployment
    assert.deepEqual(out.spec.strategy, { type: 'Recreate' })
  })

  test('$patch: delete and replace in lists and maps', () => {
    const pod = {
      spec: {
        containers: [
          { name: 'a', image: 'a', ports: [{ containerPort: 80 }, { containerPort: 443 }] },
          { name: 'b', image: 'b' },
        ],
      },
    }
    const del = applyStrategicMergePatch(
      pod,
      { spec: { containers: [{ name: 'b', $patch: 'delete' }] } },
      podSchema,
    ) as typeof pod
    assert.deepEqual(
      del.spec.containers.map((c) => c.name),
      ['a'],
    )
    const ports = applyStrategicMergePatch(
      pod,
      { spec: { containers: [{ name: 'a', ports: [{ containerPort: 8080 }, { $patch: 'replace' }] }] } },
      podSchema,
    ) as typeof pod
    assert.deepEqual(ports.spec.containers[0]?.ports, [{ containerPort: 8080 }])
    const replaceMap = applyStrategicMergePatch(
      { metadata: { labels: { a: '1', b: '2' } } },
      { metadata: { labels: { $patch: 'replace', c: '3' } } },
      podSchema,
    )
    assert.deepEqual(replaceMap, { metadata: { labels: { c: '3' } } })
    assert.throws(
      () => applyStrategicMergePatch(pod, { spec: { $patch: 'frobnicate' } }, podSchema),
      /Unrecognized patch directive/,
    )
  })

  test('$setElementOrder orders the merged list; $deleteFromPrimitiveList removes scalars', () => {
    const pod = {
      spec: {
        containers: [
          { name: 'a', image: 'a' },
          { name: 'b', image: 'b' },
        ],
      },
      metadata: { finalizers: ['x/a', 'x/b', 'x/c'] },
    }
    const ordered = applyStrategicMergePatch(
      pod,
      {
        spec: {
          '$setElementOrder/containers': [{ name: 'c' }, { name: 'b' }, { name: 'a' }],
          containers: [{ name: 'c', image: 'c' }],
        },
      },
      podSchema,
    ) as typeof pod
    assert.deepEqual(
      ordered.spec.containers.map((c) => c.name),
      ['c', 'b', 'a'],
    )
    const removed = applyStrategicMergePatch(
      pod,
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['x/b'] } },
      podSchema,
    ) as typeof pod
    assert.deepEqual(removed.metadata.finalizers, ['x/a', 'x/c'])
    const union = applyStrategicMergePatch(
      pod,
      { metadata: { finalizers: ['x/d'] } },
      podSchema,
    ) as typeof pod
    assert.deepEqual(union.metadata.finalizers, ['x/a', 'x/b', 'x/c', 'x/d'], 'finalizers merge as a set')
  })

  test('a patch that is not a JSON object is refused', () => {
    assert.throws(() => applyStrategicMergePatch(deployment, ['x'], deploymentSchema), PatchError)
  })
})

describe('server-side apply', () => {
  const opts = (manager: string) => ({
    manager,
    apiVersion: 'v1',
    subresource: '',
    time: '2026-11-22T12:00:00Z',
    schema: schemaForKind({ group: '', version: 'v1', kind: 'ConfigMap' }),
  })
  const cm = (data: Record<string, string>): StoredObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'default' },
    data,
  })
  const owners = (o: StoredObject) =>
    (o.metadata.managedFields ?? []).map(
      (e) => `${e.manager ?? ''}/${e.operation ?? ''}:${JSON.stringify(e.fieldsV1)}`,
    )

  test('apply records the fields of its configuration for its manager', () => {
    const live = applyConfiguration(undefined, cm({ a: '1' }), false, opts('alice'))
    assert.deepEqual(live.data, { a: '1' })
    assert.deepEqual(owners(live), ['alice/Apply:{"f:data":{".":{},"f:a":{}}}'])
  })

  test('changing a field another manager owns conflicts; force takes it over', () => {
    const live = applyConfiguration(undefined, cm({ a: '1', b: '2' }), false, opts('alice'))
    assert.throws(
      () => applyConfiguration(live, cm({ a: 'changed' }), false, opts('bob')),
      (err: unknown) =>
        err instanceof ApplyConflictError &&
        err.message === 'Apply failed with 1 conflict: conflict with "alice" using v1: .data.a',
    )
    const forced = applyConfiguration(live, cm({ a: 'changed' }), true, opts('bob'))
    assert.deepEqual(forced.data, { a: 'changed', b: '2' })
    assert.deepEqual(owners(forced), [
      'alice/Apply:{"f:data":{".":{},"f:b":{}}}',
      'bob/Apply:{"f:data":{".":{},"f:a":{}}}',
    ])
  })

  test('applying the same value another manager set is shared ownership, not a conflict', () => {
    const live = applyConfiguration(undefined, cm({ a: '1' }), false, opts('alice'))
    const shared = applyConfiguration(live, cm({ a: '1' }), false, opts('bob'))
    assert.equal(shared.metadata.managedFields?.length, 2)
  })

  test('a field the manager stops applying is removed unless someone else owns it', () => {
    const live = applyConfiguration(undefined, cm({ a: '1', b: '2' }), false, opts('alice'))
    const dropped = applyConfiguration(live, cm({ a: '1' }), false, opts('alice'))
    assert.deepEqual(dropped.data, { a: '1' })
    const bobToo = applyConfiguration(live, cm({ b: '2' }), false, opts('bob'))
    const kept = applyConfiguration(bobToo, cm({ a: '1' }), false, opts('alice'))
    assert.deepEqual(kept.data, { a: '1', b: '2' }, 'b stays: bob still applies it')
  })

  test('an update takes the fields it changes from their owners', () => {
    const live = applyConfiguration(undefined, cm({ a: '1', b: '2' }), false, opts('alice'))
    const next = structuredClone(live)
    next.data = { a: 'edited', b: '2' }
    recordUpdate(next, live, opts('kubectl-edit'))
    assert.deepEqual(owners(next), [
      'alice/Apply:{"f:data":{".":{},"f:b":{}}}',
      'kubectl-edit/Update:{"f:data":{"f:a":{}}}',
    ])
    assert.throws(
      () => applyConfiguration(next, cm({ a: 'again', b: '2' }), false, opts('alice')),
      ApplyConflictError,
    )
  })

  test('list items merge by their keys: containers applied by two managers', () => {
    const o = (c: { name: string; image: string }[]) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { containers: c },
    })
    const podOpts = (manager: string) => ({ ...opts(manager), schema: podSchema })
    const live = applyConfiguration(undefined, o([{ name: 'a', image: 'a:1' }]), false, podOpts('alice'))
    const both = applyConfiguration(live, o([{ name: 'b', image: 'b:1' }]), false, podOpts('bob')) as {
      spec: { containers: { name: string }[] }
    } & StoredObject
    assert.deepEqual(
      both.spec.containers.map((c) => c.name),
      ['a', 'b'],
    )
    assert.throws(
      () => applyConfiguration(both, o([{ name: 'a', image: 'a:2' }]), false, podOpts('bob')),
      /conflict with "alice" using v1: \.spec\.containers\[name="a"\]\.image/,
    )
  })
})
