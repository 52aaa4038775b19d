import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatLabels, humanDuration, labelSelector, selectorString, since } from './cells.ts'
import { quantity, quantityOrZero } from './quantity.ts'
import { now } from './testing.ts'

test('durations read as duration.HumanDuration writes them', () => {
  const cases: [number, string][] = [
    [-2000, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [999, '0s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [125_000, '2m5s'],
    [599_000, '9m59s'],
    [600_000, '10m'],
    [10_799_000, '179m'],
    [10_800_000, '3h'],
    [3 * 3600_000 + 60_000, '3h1m'],
    [8 * 3600_000 - 60_000, '7h59m'],
    [8 * 3600_000, '8h'],
    [47 * 3600_000 + 59 * 60_000, '47h'],
    [48 * 3600_000, '2d'],
    [50 * 3600_000, '2d2h'],
    [191 * 3600_000, '7d23h'],
    [192 * 3600_000, '8d'],
    [729 * 86_400_000, '729d'],
    [730 * 86_400_000, '2y'],
    [800 * 86_400_000, '2y70d'],
    [8 * 365 * 86_400_000, '8y'],
    [9 * 365 * 86_400_000 + 100 * 86_400_000, '9y'],
  ]
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`)
})

test('ages of timestamps, and of none', () => {
  assert.equal(since('2026-11-22T11:54:30Z', now), '5m30s')
  assert.equal(since('2026-11-22T11:59:30.123456Z', now), '29s', 'a MicroTime')
  assert.equal(since('2026-11-22T12:00:01Z', now), '0s', 'a clock a second ahead')
  assert.equal(since(undefined, now), '<unknown>')
  assert.equal(since(null, now), '<unknown>')
  assert.equal(since('', now), '<unknown>')
})

test('label selectors print their requirements in the order of their keys', () => {
  const sel = {
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'zone', operator: 'Exists' },
      { key: 'tier', operator: 'In', values: ['b', 'a'] },
      { key: 'env', operator: 'NotIn', values: ['prod'] },
      { key: 'app.kubernetes.io/name', operator: 'DoesNotExist' },
    ],
  }
  assert.equal(labelSelector(sel), 'app=web,!app.kubernetes.io/name,env notin (prod),tier in (a,b),zone')
  assert.equal(labelSelector({}), '<none>')
  assert.equal(labelSelector(undefined), '<none>')
  assert.equal(selectorString({}), '')
  assert.equal(selectorString({ matchLabels: { b: '2', a: '1' } }), 'a=1,b=2')
  assert.equal(formatLabels({ 'k8s-app': 'dns', app: 'x' }), 'app=x,k8s-app=dns')
  assert.equal(formatLabels({}), '<none>')
})

test('quantities print in canonical form', () => {
  const cases: [unknown, string][] = [
    ['1024Mi', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['1.5Gi', '1536Mi'],
    ['-1.5Gi', '-1536Mi'],
    ['512Ki', '512Ki'],
    ['1Ki', '1Ki'],
    ['0.5Ki', '512'],
    ['512', '512'],
    ['0.5', '500m'],
    ['1000m', '1'],
    ['100m', '100m'],
    ['250m', '250m'],
    ['1000', '1k'],
    ['1000k', '1M'],
    ['1500', '1500'],
    ['1.5k', '1500'],
    ['5G', '5G'],
    ['2e3', '2e3'],
    ['1.5e3', '1500'],
    ['10e-3', '10e-3'],
    ['0', '0'],
    ['0Gi', '0'],
    ['+1', '1'],
    ['1n', '1n'],
    ['0.0000000001', '1n'],
    [' 1Gi ', '1Gi'],
    [1.5, '1500m'],
    [2048, '2048'],
    ['lots', 'lots'],
    [undefined, '<nil>'],
  ]
  for (const [v, want] of cases) assert.equal(quantity(v), want, String(v))
  assert.equal(quantityOrZero(undefined), '0')
  assert.equal(quantityOrZero('2000m'), '2')
})
