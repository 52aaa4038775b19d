import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { applyJsonPatch } from './json-patch.ts'
import { applyMergePatch, createMergePatch } from './merge-patch.ts'
import { applyStrategicMergePatch } from './strategic-merge-patch.ts'

describe('RFC 7386 JSON merge patch', () => {
  /** Appendix A: original, patch, result. */
  const appendixA: [unknown, unknown, unknown][] = [
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
  for (const [original, patch, want] of appendixA) {
    test(`appendix A: ${JSON.stringify(original)} + ${JSON.stringify(patch)}`, () => {
      const o = structuredClone(original)
      const p = structuredClone(patch)
      assert.deepEqual(applyMergePatch(o, p), want)
      assert.deepEqual(o, original, 'the original is not changed')
      assert.deepEqual(p, patch, 'the patch is not changed')
    })
  }

  test('the example of section 3', () => {
    const original = {
      title: 'Goodbye!',
      author: { givenName: 'John', familyName: 'Doe' },
      tags: ['example', 'sample'],
      content: 'This will be unchanged',
    }
    const patch = {
      title: 'Hello!',
      phoneNumber: '+01-123-456-7890',
      author: { familyName: null },
      tags: ['example'],
    }
    assert.deepEqual(applyMergePatch(original, patch), {
      title: 'Hello!',
      author: { givenName: 'John' },
      tags: ['example'],
      content: 'This will be unchanged',
      phoneNumber: '+01-123-456-7890',
    })
  })

  test('on a Deployment, a list in the patch replaces the whole list (kubectl patch --type merge)', () => {
    const deployment = {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'patch-demo-ctr', image: 'nginx' },
              { name: 'patch-demo-ctr-2', image: 'redis' },
            ],
          },
        },
      },
    }
    const patch = {
      spec: { template: { spec: { containers: [{ name: 'patch-demo-ctr-3', image: 'node-hello:1.0' }] } } },
    }
    assert.deepEqual(applyMergePatch(deployment, patch), patch)
  })

  test('null removes a label; strategic directives mean nothing here', () => {
    const cm = { metadata: { labels: { a: '1', b: '2' } } }
    assert.deepEqual(applyMergePatch(cm, { metadata: { labels: { a: null } } }), {
      metadata: { labels: { b: '2' } },
    })
    assert.deepEqual(applyMergePatch(cm, { metadata: { labels: { $patch: 'replace' } } }), {
      metadata: { labels: { a: '1', b: '2', $patch: 'replace' } },
    })
  })
})

describe('keys named like JavaScript internals', () => {
  test('a __proto__ key (valid in ConfigMap data) is set like any other and touches no prototype', () => {
    const patch = JSON.parse('{"data":{"__proto__":{"x":"1"},"a":"b"}}') as unknown
    const out = applyMergePatch({ data: { k: 'v' } }, patch) as { data: Record<string, unknown> }
    assert.equal(JSON.stringify(out), '{"data":{"k":"v","__proto__":{"x":"1"},"a":"b"}}')
    assert.equal(Object.getPrototypeOf(out.data), Object.prototype)
    assert.equal(({} as Record<string, unknown>).x, undefined)
    const removed = applyMergePatch(out, JSON.parse('{"data":{"__proto__":null}}'))
    assert.equal(JSON.stringify(removed), '{"data":{"k":"v","a":"b"}}')
  })

  test('a key the object only inherits (constructor) is not there to merge into', () => {
    assert.equal(JSON.stringify(applyMergePatch({}, { constructor: { a: 1 } })), '{"constructor":{"a":1}}')
  })
})

describe('creating a merge patch', () => {
  const cases: { name: string; original: unknown; modified: unknown; want: unknown }[] = [
    {
      name: 'added, changed and removed keys at any depth',
      original: { metadata: { labels: { x: '1', y: '2' } }, data: { k: 'v' } },
      modified: { metadata: { labels: { x: '1', z: '3' } }, data: {} },
      want: { metadata: { labels: { y: null, z: '3' } }, data: { k: null } },
    },
    {
      name: 'nothing changed gives an empty patch',
      original: { spec: { replicas: 1, list: [1, 2] } },
      modified: { spec: { replicas: 1, list: [1, 2] } },
      want: {},
    },
    {
      name: 'a changed list is sent whole',
      original: { spec: { list: [1, 2] } },
      modified: { spec: { list: [1, 3] } },
      want: { spec: { list: [1, 3] } },
    },
    {
      name: 'a map that became a scalar is sent as the scalar',
      original: { a: { b: 1 } },
      modified: { a: 'x' },
      want: { a: 'x' },
    },
    {
      name: 'a whole removed map is a single null',
      original: { a: { b: 1 }, c: 1 },
      modified: { c: 1 },
      want: { a: null },
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const patch = createMergePatch(c.original, c.modified)
      assert.deepEqual(patch, c.want)
      assert.deepEqual(
        applyMergePatch(c.original, patch),
        c.modified,
        'the patch turns original into modified',
      )
    })
  }
})

test('an owned target is patched in place; any other is left as it was', () => {
  const patches = [
    (t: object, owned: boolean) => applyMergePatch(t, { a: { b: 2 } }, { owned }),
    (t: object, owned: boolean) => applyStrategicMergePatch(t, { a: { b: 2 } }, undefined, { owned }),
    (t: object, owned: boolean) => applyJsonPatch(t, [{ op: 'replace', path: '/a/b', value: 2 }], { owned }),
  ]
  for (const apply of patches) {
    const kept = { a: { b: 1 } }
    assert.deepEqual(apply(kept, false), { a: { b: 2 } })
    assert.deepEqual(kept, { a: { b: 1 } })
    const own = { a: { b: 1 } }
    assert.equal(apply(own, true), own)
    assert.deepEqual(own, { a: { b: 2 } })
  }
})

test("a patch the caller owns gives its values to the result; any other patch's are copied", () => {
  const patch = { spec: { list: [1, 2], map: { k: 'v' } }, top: [3] }
  const copied = applyMergePatch({ spec: {} }, patch) as typeof patch
  assert.notEqual(copied.spec.list, patch.spec.list)
  assert.notEqual(copied.top, patch.top)
  const taken = applyMergePatch({ spec: {} }, patch, { ownsPatch: true }) as typeof patch
  assert.equal(taken.spec.list, patch.spec.list)
  assert.equal(taken.top, patch.top)
  assert.deepEqual(taken, copied)
  const scalar = [1]
  assert.notEqual(applyMergePatch({}, scalar), scalar)
  assert.equal(applyMergePatch({}, scalar, { ownsPatch: true }), scalar)
})
