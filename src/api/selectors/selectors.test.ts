import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fieldsOf, parseFieldSelector } from './field-selector.ts'
import { labelSelectorFromObject, parseLabelSelector, validateLabelSelector } from './label-selector.ts'

const labels = { app: 'web', tier: 'frontend', replicas: '3' }
const matching = [
  { name: 'equality matches the same value', sel: 'app=web', want: true },
  { name: 'double equals is equality', sel: 'app==web', want: true },
  { name: 'inequality rejects the same value', sel: 'app!=web', want: false },
  { name: 'inequality accepts a missing key', sel: 'env!=prod', want: true },
  { name: 'in matches one of the values', sel: 'tier in (backend, frontend)', want: true },
  { name: 'notin rejects a listed value', sel: 'tier notin (frontend)', want: false },
  { name: 'notin accepts a missing key', sel: 'env notin (prod)', want: true },
  { name: 'a bare key requires the label', sel: 'app', want: true },
  { name: 'a negated key requires its absence', sel: '!app', want: false },
  { name: 'greater-than compares integers', sel: 'replicas>2', want: true },
  { name: 'less-than compares integers', sel: 'replicas<3', want: false },
  { name: 'requirements are ANDed', sel: 'app=web,tier=backend', want: false },
  { name: 'the empty selector matches everything', sel: '', want: true },
  { name: 'whitespace around tokens is allowed', sel: ' app = web , tier in ( frontend ) ', want: true },
]
for (const c of matching)
  test(`label selector: ${c.name}`, () => assert.equal(parseLabelSelector(c.sel).matches(labels), c.want))

test('label selectors print in canonical form, sorted by key', () => {
  assert.equal(parseLabelSelector('tier in (b,a),app=web,!x').toString(), 'app=web,tier in (a,b),!x')
})

const bad = [
  { sel: 'app=', ok: true },
  { sel: 'a b', err: /unable to parse requirement: found 'b', expected: =, !=, ==, in, notin/ },
  { sel: 'app in web', err: /found 'web', expected: '\(' after 'in'/ },
  { sel: 'x in ()', err: /values set can't be empty/ },
  { sel: 'Bad Key!=1', err: /unable to parse requirement/ },
  { sel: 'app=web!', err: /unable to parse requirement/ },
  { sel: 'app=-bad', err: /a valid label must be an empty string/ },
  { sel: 'n>x', err: /the value must be an integer/ },
]
for (const c of bad) {
  test(`label selector ${JSON.stringify(c.sel)} ${c.ok ? 'parses' : 'is refused'}`, () => {
    if (c.ok) parseLabelSelector(c.sel)
    else assert.throws(() => parseLabelSelector(c.sel), c.err ?? /./)
  })
}

test('a LabelSelector object becomes the same selector as its string form', () => {
  const s = labelSelectorFromObject({
    matchLabels: { app: 'web' },
    matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }],
  })
  assert.equal(s.toString(), 'app=web,tier notin (db)')
  assert.equal(s.matches({ app: 'web', tier: 'cache' }), true)
})

test('LabelSelector validation names the field', () => {
  const errs = validateLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In' }] }, 'spec.selector')
  assert.deepEqual(
    errs.map((e) => `${e.field}: ${e.type}`),
    ['spec.selector.matchExpressions[0].values: FieldValueRequired'],
  )
})

test('field selectors match equality and inequality against the fields of a resource', () => {
  const pod = {
    metadata: { name: 'p', namespace: 'ns' },
    spec: { nodeName: 'node-1' },
    status: { phase: 'Running' },
  }
  const fields = fieldsOf('', 'pods', true)(pod)
  assert.equal(parseFieldSelector('spec.nodeName=node-1,status.phase!=Failed').matches(fields), true)
  assert.equal(parseFieldSelector('metadata.name==q').matches(fields), false)
  assert.equal(
    parseFieldSelector('spec.nodeName=').matches(fieldsOf('', 'pods', true)({ metadata: {} })),
    true,
  )
  assert.deepEqual(parseFieldSelector('a=x\\,y').requirements, [{ field: 'a', operator: '=', value: 'x,y' }])
  assert.throws(
    () => parseFieldSelector('nonsense'),
    /invalid selector: 'nonsense'; can't understand 'nonsense'/,
  )
})
