import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { StoredObject } from '../../../api/object.ts'
import type { StrategyContext } from '../strategy.ts'
import { daemonSetStrategy } from './daemonsets.ts'

const ctx: StrategyContext = {
  user: { name: 'admin', uid: 'u', groups: ['system:masters'], extra: {} },
  namespace: 'default',
  now: Date.parse('2026-01-01T00:00:00Z'),
}

const ds = (image: string, annotations?: Record<string, string>): StoredObject => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'agent', namespace: 'default', ...(annotations ? { annotations } : {}) },
  spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c', image }] } } },
})

const generation = (o: StoredObject) => o.metadata.annotations?.['deprecated.daemonset.template.generation']

test('a new DaemonSet is at template generation 1, with generation 1', async () => {
  const obj = ds('a:1', { note: 'x' })
  await daemonSetStrategy.prepareForCreate?.(obj, ctx)
  assert.deepEqual(obj.metadata.annotations, { note: 'x', 'deprecated.daemonset.template.generation': '1' })
  assert.equal(obj.metadata.generation, 1)
})

test('a template change bumps the template generation; other changes keep it', async () => {
  const prev = ds('a:1', { 'deprecated.daemonset.template.generation': '4' })
  prev.metadata.generation = 6
  const changed = ds('a:2', { 'deprecated.daemonset.template.generation': '4' })
  await daemonSetStrategy.prepareForUpdate?.(changed, prev, ctx)
  assert.deepEqual([generation(changed), changed.metadata.generation], ['5', 7])

  const relabelled = ds('a:1', { 'deprecated.daemonset.template.generation': '4', other: 'y' })
  await daemonSetStrategy.prepareForUpdate?.(relabelled, prev, ctx)
  assert.deepEqual([generation(relabelled), relabelled.metadata.generation], ['4', 6])
})

test('an update without the annotation keeps the stored template generation', async () => {
  const prev = ds('a:1', { 'deprecated.daemonset.template.generation': '3' })
  const next = ds('a:1')
  await daemonSetStrategy.prepareForUpdate?.(next, prev, ctx)
  assert.equal(generation(next), '3')
})
