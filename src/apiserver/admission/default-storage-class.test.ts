import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PersistentVolumeClaim } from '../../api/generated/types/core-v1.ts'
import type { StorageClass } from '../../api/generated/types/storage-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import type { AdmissionAttributes } from './admission.ts'
import {
  betaIsDefaultClassAnnotation,
  betaStorageClassAnnotation,
  defaultStorageClassPlugin,
  isDefaultClassAnnotation,
} from './default-storage-class.ts'

const sc = (name: string, o: { default?: 'ga' | 'beta' | 'false'; created?: string } = {}): StorageClass => ({
  metadata: {
    name,
    creationTimestamp: o.created ?? '2026-01-01T00:00:00Z',
    ...(o.default === 'ga' ? { annotations: { [isDefaultClassAnnotation]: 'true' } } : {}),
    ...(o.default === 'beta' ? { annotations: { [betaIsDefaultClassAnnotation]: 'true' } } : {}),
    ...(o.default === 'false' ? { annotations: { [isDefaultClassAnnotation]: 'false' } } : {}),
  },
  provisioner: 'example.com/p',
})

const claim = (o: { className?: string; betaAnnotation?: string } = {}): PersistentVolumeClaim => ({
  metadata: {
    name: 'claim',
    namespace: 'ns',
    ...(o.betaAnnotation !== undefined
      ? { annotations: { [betaStorageClassAnnotation]: o.betaAnnotation } }
      : {}),
  },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '1Gi' } },
    ...(o.className !== undefined ? { storageClassName: o.className } : {}),
  },
})

const attributes = (pvc: PersistentVolumeClaim): AdmissionAttributes => ({
  operation: 'CREATE',
  group: '',
  version: 'v1',
  resource: 'persistentvolumeclaims',
  subresource: '',
  kind: 'PersistentVolumeClaim',
  namespace: 'ns',
  name: 'claim',
  object: pvc as KubeObject,
  oldObject: undefined,
  dryRun: false,
  user: { name: 'u', groups: [] },
})

const cases: {
  name: string
  classes: StorageClass[]
  claim: PersistentVolumeClaim
  want: string | undefined
}[] = [
  {
    name: 'no default class: the claim is left alone',
    classes: [sc('a'), sc('b', { default: 'false' })],
    claim: claim(),
    want: undefined,
  },
  {
    name: 'the default class is set',
    classes: [sc('a'), sc('gold', { default: 'ga' })],
    claim: claim(),
    want: 'gold',
  },
  {
    name: 'the beta annotation marks a default too',
    classes: [sc('silver', { default: 'beta' })],
    claim: claim(),
    want: 'silver',
  },
  {
    name: 'of several defaults the newest wins',
    classes: [
      sc('old', { default: 'ga', created: '2026-01-01T00:00:00Z' }),
      sc('new', { default: 'ga', created: '2026-02-01T00:00:00Z' }),
    ],
    claim: claim(),
    want: 'new',
  },
  {
    name: 'defaults made in the same second: the first name wins',
    classes: [sc('zeta', { default: 'ga' }), sc('alpha', { default: 'ga' })],
    claim: claim(),
    want: 'alpha',
  },
  {
    name: 'a claim naming a class keeps it',
    classes: [sc('gold', { default: 'ga' })],
    claim: claim({ className: 'bronze' }),
    want: 'bronze',
  },
  {
    name: 'an empty class name means "no class" and is kept',
    classes: [sc('gold', { default: 'ga' })],
    claim: claim({ className: '' }),
    want: '',
  },
  {
    name: 'a claim with the beta class annotation is left alone',
    classes: [sc('gold', { default: 'ga' })],
    claim: claim({ betaAnnotation: 'bronze' }),
    want: undefined,
  },
]

for (const c of cases) {
  test(c.name, async () => {
    const plugin = defaultStorageClassPlugin(async () => c.classes)
    const a = attributes(c.claim)
    assert.equal(plugin.handles(a), true)
    await plugin.admit?.(a)
    assert.equal(c.claim.spec?.storageClassName, c.want)
  })
}

test('only new claims are defaulted', () => {
  const plugin = defaultStorageClassPlugin(async () => [])
  assert.equal(plugin.handles({ ...attributes(claim()), operation: 'UPDATE' }), false)
  assert.equal(plugin.handles({ ...attributes(claim()), subresource: 'status' }), false)
  assert.equal(plugin.handles({ ...attributes(claim()), resource: 'pods' }), false)
})
