import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { addQuantities, formatQuantity, parseQuantity, roundUp } from '../quantity.ts'
import { defaultResourceList } from './quantity.ts'

/** The canonical form apimachinery writes after rounding up to the milli. */
function canonical(v: unknown): string | undefined {
  const q = parseQuantity(v)
  return q && formatQuantity(roundUp(q, -3))
}

describe('resource quantities', () => {
  test('canonical forms', () => {
    const cases: [unknown, string][] = [
      ['0', '0'],
      ['0.5', '500m'],
      ['.5', '500m'],
      ['1000m', '1'],
      ['1500m', '1500m'],
      ['1000', '1k'],
      ['1200', '1200'],
      ['12000', '12k'],
      ['2000M', '2G'],
      ['1024Mi', '1Gi'],
      ['1.5Gi', '1536Mi'],
      ['1500Ki', '1500Ki'],
      ['1536', '1536'],
      ['0.5Ki', '512'],
      ['1e3', '1e3'],
      ['1.5e3', '1500'],
      ['1E-3', '1e-3'],
      ['100u', '1m'],
      ['0.0001', '1m'],
      ['1n', '1m'],
      ['1.0000000001', '1001m'],
      ['-1.5', '-1500m'],
      ['+2', '2'],
      [1, '1'],
      [0.25, '250m'],
      ['128974848', '128974848'],
      ['129e6', '129e6'],
      ['123Mi', '123Mi'],
    ]
    for (const [input, want] of cases) assert.equal(canonical(input), want, String(input))
  })

  test('what is not a quantity is left alone', () => {
    for (const bad of ['', 'abc', '1.2.3', '1Xi', '1e', 'Gi', true, null, {}]) {
      assert.equal(parseQuantity(bad), undefined, JSON.stringify(bad))
    }
    const list: Record<string, unknown> = { cpu: 'lots', memory: '1024Mi' }
    defaultResourceList(list)
    assert.deepEqual(list, { cpu: 'lots', memory: '1Gi' })
  })

  test('sums keep the format of the first non-zero term', () => {
    const q = (s: string) => parseQuantity(s) ?? assert.fail(s)
    assert.equal(formatQuantity(addQuantities(q('128Mi'), q('128Mi'))), '256Mi')
    assert.equal(formatQuantity(addQuantities(q('128Mi'), q('100M'))), '234217728')
    assert.equal(formatQuantity(addQuantities(q('100M'), q('128Mi'))), '234217728')
    assert.equal(formatQuantity(addQuantities(q('0'), q('1Gi'))), '1Gi')
    assert.equal(formatQuantity(addQuantities(q('100m'), q('900m'))), '1')
  })
})
