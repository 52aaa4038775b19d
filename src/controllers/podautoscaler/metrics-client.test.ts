import assert from 'node:assert/strict'
import { test } from 'node:test'
import { milliValue, podMetricsInfo } from './metrics-client.ts'

const item = (name: string, containers: { name: string; usage: Record<string, string> }[]) => ({
  metadata: { name },
  timestamp: '2026-01-01T00:00:15Z',
  window: '15.001s',
  containers,
})

test('milliValue rounds up to a whole milli-unit, as Quantity.MilliValue', () => {
  const cases: [string, number | undefined][] = [
    ['250m', 250],
    ['1', 1000],
    ['1500n', 1],
    ['1Ki', 1_024_000],
    ['nonsense', undefined],
  ]
  for (const [q, want] of cases) assert.equal(milliValue(q), want, q)
})

test("a pod's usage is the sum over its containers, with the sample's time and window", () => {
  const got = podMetricsInfo(
    [
      item('a', [
        { name: 'web', usage: { cpu: '250m', memory: '10Mi' } },
        { name: 'sidecar', usage: { cpu: '50m', memory: '1Mi' } },
      ]),
    ],
    'cpu',
  )
  assert.deepEqual(
    [...got],
    [['a', { timestamp: Date.parse('2026-01-01T00:00:15Z'), windowMs: 15_001, value: 300 }]],
  )
})

test('a pod with a container lacking the resource, or lacking the container asked for, is left out', () => {
  const items = [
    item('a', [{ name: 'web', usage: { cpu: '100m' } }]),
    item('b', [
      { name: 'web', usage: { cpu: '100m' } },
      { name: 'other', usage: { memory: '1Mi' } },
    ]),
  ]
  assert.deepEqual([...podMetricsInfo(items, 'cpu').keys()], ['a'])
  assert.deepEqual([...podMetricsInfo(items, 'cpu', 'web').keys()], ['a', 'b'])
  assert.deepEqual([...podMetricsInfo(items, 'cpu', 'missing').keys()], [])
})
