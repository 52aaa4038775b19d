import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { applyJsonPatch, maxJsonPatchOperations, PatchError } from './json-patch.ts'

/** The examples of RFC 6902, appendix A. */
describe('RFC 6902 appendix A', () => {
  const cases: { name: string; doc: unknown; patch: unknown[]; want: unknown }[] = [
    {
      name: 'A.1 adding an object member',
      doc: { foo: 'bar' },
      patch: [{ op: 'add', path: '/baz', value: 'qux' }],
      want: { baz: 'qux', foo: 'bar' },
    },
    {
      name: 'A.2 adding an array element',
      doc: { foo: ['bar', 'baz'] },
      patch: [{ op: 'add', path: '/foo/1', value: 'qux' }],
      want: { foo: ['bar', 'qux', 'baz'] },
    },
    {
      name: 'A.3 removing an object member',
      doc: { baz: 'qux', foo: 'bar' },
      patch: [{ op: 'remove', path: '/baz' }],
      want: { foo: 'bar' },
    },
    {
      name: 'A.4 removing an array element',
      doc: { foo: ['bar', 'qux', 'baz'] },
      patch: [{ op: 'remove', path: '/foo/1' }],
      want: { foo: ['bar', 'baz'] },
    },
    {
      name: 'A.5 replacing a value',
      doc: { baz: 'qux', foo: 'bar' },
      patch: [{ op: 'replace', path: '/baz', value: 'boo' }],
      want: { baz: 'boo', foo: 'bar' },
    },
    {
      name: 'A.6 moving a value',
      doc: { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      patch: [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      want: { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    },
    {
      name: 'A.7 moving an array element',
      doc: { foo: ['all', 'grass', 'cows', 'eat'] },
      patch: [{ op: 'move', from: '/foo/1', path: '/foo/3' }],
      want: { foo: ['all', 'cows', 'eat', 'grass'] },
    },
    {
      name: 'A.8 testing a value: success',
      doc: { baz: 'qux', foo: ['a', 2, 'c'] },
      patch: [
        { op: 'test', path: '/baz', value: 'qux' },
        { op: 'test', path: '/foo/1', value: 2 },
      ],
      want: { baz: 'qux', foo: ['a', 2, 'c'] },
    },
    {
      name: 'A.10 adding a nested member object',
      doc: { foo: 'bar' },
      patch: [{ op: 'add', path: '/child', value: { grandchild: {} } }],
      want: { foo: 'bar', child: { grandchild: {} } },
    },
    {
      name: 'A.11 ignoring unrecognized elements',
      doc: { foo: 'bar' },
      patch: [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }],
      want: { foo: 'bar', baz: 'qux' },
    },
    {
      name: 'A.14 ~ escape ordering',
      doc: { '/': 9, '~1': 10 },
      patch: [{ op: 'test', path: '/~01', value: 10 }],
      want: { '/': 9, '~1': 10 },
    },
    {
      name: 'A.16 adding an array value',
      doc: { foo: ['bar'] },
      patch: [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }],
      want: { foo: ['bar', ['abc', 'def']] },
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const doc = structuredClone(c.doc)
      assert.deepEqual(applyJsonPatch(doc, c.patch), c.want)
      assert.deepEqual(doc, c.doc, 'the input is not changed')
    })
  }

  test('A.9 testing a value: error', () => {
    assert.throws(
      () => applyJsonPatch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]),
      (err: unknown) =>
        err instanceof PatchError &&
        err.kind === 'apply' &&
        err.message === 'testing value /baz failed: test failed',
    )
  })

  test('A.12 adding to a nonexistent target', () => {
    assert.throws(
      () => applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }]),
      (err: unknown) =>
        err instanceof PatchError &&
        err.message === 'add operation does not apply: doc is missing path: "/baz/bat": missing value',
    )
  })

  test('A.15 comparing strings and numbers: "10" is not 10', () => {
    assert.throws(
      () => applyJsonPatch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }]),
      /testing value \/~01 failed: test failed/,
    )
  })
})

describe('JSON patches on Kubernetes objects', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      replicas: 1,
      template: { spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } },
    },
  }
  type D = typeof deployment

  test('a test guards a replace, as kubectl patch --type json users write it', () => {
    const out = applyJsonPatch(deployment, [
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '/spec/replicas', value: 3 },
    ])
    assert.equal(out.spec.replicas, 3)
  })

  test('~1 escapes the slash of a label key', () => {
    const out = applyJsonPatch(deployment, [
      { op: 'add', path: '/metadata/labels/app.kubernetes.io~1name', value: 'web' },
    ]) as D & { metadata: { labels: Record<string, string> } }
    assert.deepEqual(out.metadata.labels, { app: 'web', 'app.kubernetes.io/name': 'web' })
  })

  test('/- appends a container; an index removes one', () => {
    const added = applyJsonPatch(deployment, [
      { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'side', image: 'busybox' } },
    ])
    assert.deepEqual(
      added.spec.template.spec.containers.map((c) => c.name),
      ['web', 'side'],
    )
    const removed = applyJsonPatch(added, [{ op: 'remove', path: '/spec/template/spec/containers/0' }])
    assert.deepEqual(
      removed.spec.template.spec.containers.map((c) => c.name),
      ['side'],
    )
  })

  test('copy duplicates a value, and a test compares objects whatever their key order', () => {
    const out = applyJsonPatch(deployment, [
      { op: 'copy', from: '/metadata/labels', path: '/spec/template/metadata' },
      { op: 'test', path: '/spec/template/spec/containers/0', value: { image: 'nginx:1.25', name: 'web' } },
    ]) as D & { spec: { template: { metadata: unknown } } }
    assert.deepEqual(out.spec.template.metadata, { app: 'web' })
  })

  test('an empty path replaces the whole document', () => {
    assert.deepEqual(applyJsonPatch(deployment, [{ op: 'replace', path: '', value: { kind: 'Other' } }]), {
      kind: 'Other',
    })
  })

  test('a patch is all or nothing: a failing operation leaves no earlier one applied', () => {
    const doc = structuredClone(deployment)
    assert.throws(
      () =>
        applyJsonPatch(doc, [
          { op: 'replace', path: '/spec/replicas', value: 5 },
          { op: 'test', path: '/metadata/name', value: 'other' },
        ]),
      /testing value \/metadata\/name failed: test failed/,
    )
    assert.deepEqual(doc, deployment)
  })
})

describe('failures are clear errors', () => {
  const doc = { baz: 'qux', list: [1, 2], obj: { a: 1 } }
  const cases: { name: string; patch: unknown; kind: 'decode' | 'apply'; message: string | RegExp }[] = [
    {
      name: 'a patch that is an object, not a list',
      patch: { op: 'add', path: '/x', value: 1 },
      kind: 'decode',
      message: 'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    },
    {
      name: 'a patch that is a string',
      patch: 'remove /baz',
      kind: 'decode',
      message: 'json: cannot unmarshal string into Go value of type jsonpatch.Patch',
    },
    {
      name: 'an operation that is not an object',
      patch: ['remove'],
      kind: 'decode',
      message: 'json: cannot unmarshal string into Go value of type jsonpatch.Operation (operation 0)',
    },
    {
      name: 'an operation without op',
      patch: [{ path: '/baz' }],
      kind: 'decode',
      message: 'invalid JSON patch operation at index 0: missing "op"',
    },
    {
      name: 'an unknown op',
      patch: [{ op: 'frobnicate', path: '/baz' }],
      kind: 'apply',
      message: 'Unexpected kind: frobnicate',
    },
    {
      name: 'removing a key that does not exist',
      patch: [{ op: 'remove', path: '/missing' }],
      kind: 'apply',
      message: 'remove operation does not apply: doc is missing path: "/missing": missing value',
    },
    {
      name: 'replacing a key that does not exist',
      patch: [{ op: 'replace', path: '/obj/b', value: 2 }],
      kind: 'apply',
      message: 'replace operation does not apply: doc is missing path: "/obj/b": missing value',
    },
    {
      name: 'moving from a path that does not exist',
      patch: [{ op: 'move', from: '/nope', path: '/x' }],
      kind: 'apply',
      message: 'move operation does not apply: doc is missing from path: "/nope": missing value',
    },
    {
      name: 'moving a value into its own child',
      patch: [{ op: 'move', from: '/obj', path: '/obj/a/b' }],
      kind: 'apply',
      message: 'move operation does not apply: cannot move "/obj" into its own child "/obj/a/b"',
    },
    {
      name: 'adding past the end of a list',
      patch: [{ op: 'add', path: '/list/5', value: 3 }],
      kind: 'apply',
      message:
        "error in add for path: '/list/5': Unable to access invalid index: 5: invalid index referenced",
    },
    {
      name: 'removing past the end of a list',
      patch: [{ op: 'remove', path: '/list/2' }],
      kind: 'apply',
      message: 'remove operation does not apply: doc is missing path: "/list/2": missing value',
    },
    {
      name: 'a test of a key that does not exist',
      patch: [{ op: 'test', path: '/missing', value: 1 }],
      kind: 'apply',
      message: 'testing value /missing failed: test failed',
    },
    {
      name: 'an add without a value',
      patch: [{ op: 'add', path: '/x' }],
      kind: 'apply',
      message: /`value` property/,
    },
    {
      name: 'a path without its leading slash',
      patch: [{ op: 'add', path: 'x', value: 1 }],
      kind: 'apply',
      message: /must start with "\/"/,
    },
    {
      name: 'a list index with a leading zero',
      patch: [{ op: 'replace', path: '/list/01', value: 1 }],
      kind: 'apply',
      message: /list\/01/,
    },
    {
      name: 'a change to __proto__',
      patch: [{ op: 'add', path: '/__proto__/polluted', value: 1 }],
      kind: 'apply',
      message: /__proto__/,
    },
    {
      name: 'more operations than kube-apiserver allows',
      patch: Array.from({ length: maxJsonPatchOperations + 1 }, () => ({
        op: 'test',
        path: '/baz',
        value: 'qux',
      })),
      kind: 'apply',
      message: 'The allowed maximum operations in a JSON patch is 10000, got 10001',
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => applyJsonPatch(doc, c.patch),
        (err: unknown) => {
          assert.ok(err instanceof PatchError, String(err))
          assert.equal(err.kind, c.kind)
          if (typeof c.message === 'string') assert.equal(err.message, c.message)
          else assert.match(err.message, c.message)
          return true
        },
      )
      assert.deepEqual(doc, { baz: 'qux', list: [1, 2], obj: { a: 1 } })
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
    })
  }
})
