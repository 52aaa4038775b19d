import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Deployment, ReplicaSet } from '../../api/generated/types/apps-v1.ts'
import {
  calculateStatus,
  cleanupUnhealthy,
  fenceposts,
  findNewReplicaSet,
  hasTimedOut,
  isComplete,
  maxScaledDown,
  maxUnavailable,
  newRSNewReplicas,
  proportionalScale,
  scaleDownOld,
  scaledValue,
  templateHash,
} from './rollout.ts'

const template = (image: string) => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image }] },
})

function deployment(
  o: { replicas?: number; surge?: number | string; unavailable?: number | string; recreate?: boolean } = {},
): Deployment {
  return {
    metadata: { name: 'web', namespace: 'default', generation: 3, uid: 'd-uid' },
    spec: {
      replicas: o.replicas ?? 10,
      selector: { matchLabels: { app: 'web' } },
      template: template('v2'),
      progressDeadlineSeconds: 600,
      strategy: o.recreate
        ? { type: 'Recreate' }
        : {
            type: 'RollingUpdate',
            rollingUpdate: { maxSurge: o.surge ?? '25%', maxUnavailable: o.unavailable ?? '25%' },
          },
    },
  }
}

function rs(
  name: string,
  replicas: number,
  o: { available?: number; created?: string; image?: string; revision?: number } = {},
): ReplicaSet {
  return {
    metadata: {
      name,
      namespace: 'default',
      creationTimestamp: o.created ?? '2026-01-01T00:00:00Z',
      annotations: { 'deployment.kubernetes.io/revision': String(o.revision ?? 1) },
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': name } },
        spec: { containers: [{ name: 'web', image: o.image ?? 'v1' }] },
      },
    },
    status: { replicas, readyReplicas: o.available ?? replicas, availableReplicas: o.available ?? replicas },
  }
}

test('percentages round up for surge and down for unavailability; both zero allows one unavailable', () => {
  assert.equal(scaledValue('25%', 10, true), 3)
  assert.equal(scaledValue('25%', 10, false), 2)
  assert.equal(scaledValue(4, 10, true), 4)
  assert.deepEqual(fenceposts(deployment()), { surge: 3, unavailable: 2 })
  assert.deepEqual(fenceposts(deployment({ surge: 0, unavailable: 0 })), { surge: 0, unavailable: 1 })
  assert.equal(maxUnavailable(deployment({ recreate: true })), 0)
  assert.throws(() => scaledValue('a lot', 10, true), /invalid value for IntOrString/)
})

test('the new ReplicaSet is the one whose template is the Deployment’s, ignoring the hash label', () => {
  const old = rs('web-old', 10, { image: 'v1', created: '2026-01-01T00:00:00Z' })
  const current = rs('web-new', 0, { image: 'v2', created: '2026-01-02T00:00:00Z' })
  assert.equal(findNewReplicaSet(deployment(), [old, current])?.metadata?.name, 'web-new')
  assert.equal(findNewReplicaSet(deployment(), [old]), undefined)
})

test('the template hash is stable, spelled without vowels, and changes with the collision count', () => {
  const h = templateHash(template('v2'))
  assert.equal(h, templateHash(template('v2')))
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/)
  assert.notEqual(h, templateHash(template('v3')))
  assert.notEqual(h, templateHash(template('v2'), 1))
})

test('a rolling update surges the new ReplicaSet within maxSurge, then old pods go within maxUnavailable', () => {
  const d = deployment()
  const old = rs('web-old', 10)
  const fresh = rs('web-new', 0, { image: 'v2', created: '2026-01-02T00:00:00Z' })
  // 10 old + surge 3: the new one may have 3 at once.
  assert.equal(newRSNewReplicas(d, [old, fresh], fresh), 3)
  // With 3 new pods not yet available, old pods can go down to 8 available: 13 − 8 − 3 = 2.
  const surged = rs('web-new', 3, { image: 'v2', available: 0 })
  assert.equal(maxScaledDown(d, [old, surged], surged), 2)
  assert.deepEqual(
    scaleDownOld(d, [old, surged], [old]).map((s) => [s.rs.metadata?.name, s.to]),
    [['web-old', 8]],
  )
  // Nothing may go while only the minimum is available.
  const thin = rs('web-old', 8, { available: 8 })
  assert.deepEqual(scaleDownOld(d, [thin, surged], [thin]), [])
})

test('unhealthy old pods are removed first, oldest ReplicaSet first', () => {
  const a = rs('a', 4, { available: 1, created: '2026-01-01T00:00:00Z' })
  const b = rs('b', 4, { available: 2, created: '2026-01-02T00:00:00Z' })
  assert.deepEqual(
    cleanupUnhealthy([b, a], 4).map((s) => [s.rs.metadata?.name, s.to]),
    [
      ['a', 1],
      ['b', 3],
    ],
  )
})

test('resizing mid-rollout scales the ReplicaSets in proportion, leftovers to the biggest', () => {
  // 10 → 15 replicas, surge 3 (25% of 10, rounded up): 18 allowed; 6 + 6 active now.
  const d = deployment({ replicas: 15, surge: 3, unavailable: 0 })
  const old = rs('old', 6, { created: '2026-01-01T00:00:00Z' })
  const fresh = rs('new', 6, { created: '2026-01-02T00:00:00Z', image: 'v2' })
  const scales = proportionalScale(d, [old, fresh])
  const total = scales.reduce((n, s) => n + s.to, 0)
  assert.equal(total, 18)
  assert.deepEqual(
    scales.map((s) => [s.rs.metadata?.name, s.to]),
    [
      ['new', 9],
      ['old', 9],
    ],
  )
})

test('status counts come from the ReplicaSets; Available says whether the minimum is met', () => {
  const d = deployment()
  const old = rs('old', 5)
  const fresh = rs('new', 5, { available: 2, image: 'v2' })
  const s = calculateStatus(d, [old, fresh], fresh, '2026-01-01T00:00:00Z')
  assert.deepEqual(
    [s.replicas, s.updatedReplicas, s.availableReplicas, s.unavailableReplicas, s.observedGeneration],
    [10, 5, 7, 3, 3],
  )
  assert.deepEqual(
    s.conditions?.map((c) => [c.type, c.status, c.reason]),
    [['Available', 'False', 'MinimumReplicasUnavailable']],
  )
  assert.equal(isComplete(d, s), false)
  const done = calculateStatus(d, [rs('new', 10, { image: 'v2' })], rs('new', 10), '2026-01-01T00:00:00Z')
  assert.equal(isComplete(d, done), true)
  assert.equal(done.conditions?.[0]?.reason, 'MinimumReplicasAvailable')
})

test('a rollout times out when Progressing has not moved for progressDeadlineSeconds', () => {
  const d = deployment()
  const status = {
    conditions: [
      {
        type: 'Progressing',
        status: 'True',
        reason: 'ReplicaSetUpdated',
        lastUpdateTime: '2026-01-01T00:00:00Z',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  }
  assert.equal(hasTimedOut(d, status, Date.parse('2026-01-01T00:09:59Z')), false)
  assert.equal(hasTimedOut(d, status, Date.parse('2026-01-01T00:10:01Z')), true)
})
