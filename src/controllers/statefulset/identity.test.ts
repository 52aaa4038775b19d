import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { StatefulSet } from '../../api/generated/types/apps-v1.ts'
import type { PersistentVolumeClaim, Pod } from '../../api/generated/types/core-v1.ts'
import {
  applyRevision,
  claimOwnersMatch,
  isMemberOf,
  maxUnavailableOf,
  newRevision,
  ordinalOf,
  withClaimOwners,
} from './identity.ts'

function set(
  o: { replicas?: number; whenScaled?: string; whenDeleted?: string; maxUnavailable?: number | string } = {},
): StatefulSet {
  return {
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'sts-uid',
      annotations: { 'kubernetes.io/change-cause': 'v1' },
    },
    spec: {
      replicas: o.replicas ?? 2,
      selector: { matchLabels: { app: 'web' } },
      updateStrategy: {
        type: 'RollingUpdate',
        rollingUpdate: o.maxUnavailable !== undefined ? { maxUnavailable: o.maxUnavailable } : {},
      },
      persistentVolumeClaimRetentionPolicy: {
        whenScaled: o.whenScaled ?? 'Retain',
        whenDeleted: o.whenDeleted ?? 'Retain',
      },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'nginx:1' }] },
      },
    },
  }
}

const pod = (name: string): Pod => ({ metadata: { name, namespace: 'default', uid: `${name}-uid` } })

function claim(owners: string[]): PersistentVolumeClaim {
  return {
    metadata: {
      name: 'data-web-1',
      namespace: 'default',
      ownerReferences: owners.map((o) =>
        o === 'set'
          ? { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'sts-uid', controller: true }
          : { apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: 'web-1-uid', controller: true },
      ),
    },
  }
}

test('ordinals come from the end of a pod’s name, and membership from the rest', () => {
  assert.equal(ordinalOf(pod('web-12')), 12)
  assert.equal(ordinalOf(pod('web-x')), -1)
  assert.equal(ordinalOf(pod('my-web-3')), 3)
  assert.equal(isMemberOf(set(), pod('web-3')), true)
  assert.equal(isMemberOf(set(), pod('my-web-3')), false)
  assert.equal(isMemberOf(set(), pod('web')), false)
})

test('maxUnavailable is an integer or a percentage of replicas rounded down, at least 1', () => {
  const cases = [
    { name: 'unset', v: undefined, replicas: 10, want: 1 },
    { name: 'integer', v: 3, replicas: 10, want: 3 },
    { name: 'percentage', v: '25%', replicas: 10, want: 2 },
    { name: 'percentage rounding to zero', v: '10%', replicas: 5, want: 1 },
  ]
  for (const c of cases)
    assert.equal(maxUnavailableOf(set({ replicas: c.replicas, maxUnavailable: c.v })), c.want, c.name)
  assert.throws(() => maxUnavailableOf(set({ maxUnavailable: 'half' })), /invalid maxUnavailable "half"/)
})

test('claim owners follow the retention policy', () => {
  // web-1 is wanted with 2 replicas, scaled away with 1.
  const cases = [
    { name: 'Retain/Retain: no owners', policy: {}, replicas: 2, want: [] },
    {
      name: 'whenDeleted Delete: the set',
      policy: { whenDeleted: 'Delete' },
      replicas: 2,
      want: ['StatefulSet'],
    },
    { name: 'whenScaled Delete, wanted: none', policy: { whenScaled: 'Delete' }, replicas: 2, want: [] },
    {
      name: 'whenScaled Delete, scaled away: the pod',
      policy: { whenScaled: 'Delete' },
      replicas: 1,
      want: ['Pod'],
    },
    {
      name: 'Delete/Delete, wanted: the set',
      policy: { whenScaled: 'Delete', whenDeleted: 'Delete' },
      replicas: 2,
      want: ['StatefulSet'],
    },
    {
      name: 'Delete/Delete, scaled away: the pod only',
      policy: { whenScaled: 'Delete', whenDeleted: 'Delete' },
      replicas: 1,
      want: ['Pod'],
    },
  ]
  for (const c of cases) {
    const s = set({ replicas: c.replicas, ...c.policy })
    const fixed = withClaimOwners(claim(['set', 'pod']), s, pod('web-1'))
    assert.deepEqual(
      fixed.metadata?.ownerReferences?.map((r) => r.kind),
      c.want,
      c.name,
    )
    assert.equal(claimOwnersMatch(fixed, s, pod('web-1')), true, c.name)
  }
  assert.equal(claimOwnersMatch(claim(['set']), set(), pod('web-1')), false)
})

test('a claim controlled by something else is left to it', () => {
  const foreign: PersistentVolumeClaim = {
    metadata: {
      name: 'data-web-1',
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'x-uid', controller: true }],
    },
  }
  const s = set({ whenDeleted: 'Delete' })
  assert.equal(claimOwnersMatch(foreign, s, pod('web-1')), true)
  assert.deepEqual(
    withClaimOwners(foreign, s, pod('web-1')).metadata?.ownerReferences,
    foreign.metadata?.ownerReferences,
  )
})

test('a revision records the template as a replacing patch and the set’s annotations; applying it restores the template', () => {
  const v1 = set()
  const r = newRevision(v1, 1, 0)
  assert.deepEqual(r.data, { spec: { template: { ...v1.spec?.template, $patch: 'replace' } } })
  assert.deepEqual(r.metadata?.annotations, { 'kubernetes.io/change-cause': 'v1' })
  assert.equal(r.metadata?.labels?.app, 'web')
  const v2 = set()
  if (v2.spec)
    v2.spec.template = { metadata: { labels: { app: 'web', extra: 'x' } }, spec: { containers: [] } }
  assert.deepEqual(applyRevision(v2, r).spec?.template, v1.spec?.template)
})
