import assert from 'node:assert/strict'
import { test } from 'node:test'
import { copyJson, deepEqual, deepFreeze } from './object.ts'

test('deepEqual: JSON values by structure, undefined members as absent, key order ignored', () => {
  const cases: [unknown, unknown, boolean][] = [
    [1, 1, true],
    ['a', 'a', true],
    [null, null, true],
    [null, {}, false],
    [0, false, false],
    ['1', 1, false],
    [[], {}, false],
    [{}, [], false],
    [[1, 2], [1, 2], true],
    [[1, 2], [2, 1], false],
    [[1], [1, undefined], false],
    [{ a: 1, b: [{ c: 'x' }] }, { b: [{ c: 'x' }], a: 1 }, true],
    [{ a: 1, b: undefined }, { a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [{ a: 1, b: 2 }, { a: 1 }, false],
    [{ a: 1, b: 2 }, { a: 1, c: 2 }, false],
    [{ a: { b: { c: [1, { d: null }] } } }, { a: { b: { c: [1, { d: null }] } } }, true],
    [{ a: { b: { c: [1, { d: null }] } } }, { a: { b: { c: [1, { d: 0 }] } } }, false],
    [{ a: undefined }, {}, true],
    [{ a: null }, {}, false],
  ]
  for (const [a, b, want] of cases) {
    assert.equal(deepEqual(a, b), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
    assert.equal(deepEqual(b, a), want, `${JSON.stringify(b)} vs ${JSON.stringify(a)}`)
  }
})

test('deepFreeze freezes every level and returns the value', () => {
  const v = deepFreeze({ a: { b: [{ c: 1 }] } })
  assert.ok(Object.isFrozen(v) && Object.isFrozen(v.a) && Object.isFrozen(v.a.b) && Object.isFrozen(v.a.b[0]))
  assert.throws(() => {
    ;(v.a.b[0] as { c: number }).c = 2
  }, TypeError)
})

test('copyJson copies JSON data as encoding and parsing it would, sharing nothing', () => {
  const source = {
    a: 1,
    b: 'x',
    c: null,
    d: true,
    gone: undefined,
    list: [1, undefined, { e: [{ f: 'g' }] }],
    nested: { empty: {}, none: [], h: { i: 2.5 } },
  }
  const copy = copyJson(deepFreeze(source))
  assert.deepEqual(copy, JSON.parse(JSON.stringify(source)))
  assert.equal(Object.hasOwn(copy, 'gone'), false)
  assert.equal(Object.isFrozen(copy.nested.h), false)
  copy.nested.h.i = 3
  assert.equal(source.nested.h.i, 2.5)
})
