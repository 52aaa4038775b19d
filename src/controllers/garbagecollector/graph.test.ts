import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { OwnerReference } from '../../api/generated/types/meta-v1.ts'
import type { ObjectLike } from '../../client/index.ts'
import { diffOwnerReferences, OwnershipGraph } from './graph.ts'

const clusterScoped = new Set(['Namespace', 'Node'])
const newGraph = () =>
  new OwnershipGraph({
    isNamespaced: (_v, kind) => (kind === 'Mystery' ? undefined : !clusterScoped.has(kind)),
  })

function ownedBy(uid: string, o: { kind?: string; name?: string; block?: boolean } = {}): OwnerReference {
  return {
    apiVersion: o.kind === 'Namespace' ? 'v1' : 'apps/v1',
    kind: o.kind ?? 'ReplicaSet',
    name: o.name ?? uid,
    uid,
    ...(o.block === undefined ? {} : { blockOwnerDeletion: o.block }),
  }
}

function makeObject(
  uid: string,
  o: {
    kind?: string
    owners?: OwnerReference[]
    finalizers?: string[]
    deleting?: boolean
    rv?: string
  } = {},
): ObjectLike {
  const kind = o.kind ?? 'ReplicaSet'
  return {
    apiVersion: kind === 'ReplicaSet' ? 'apps/v1' : 'v1',
    kind,
    metadata: {
      name: uid,
      namespace: 'work',
      uid,
      resourceVersion: o.rv ?? '1',
      ...(o.owners ? { ownerReferences: o.owners } : {}),
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T12:00:00Z' } : {}),
    },
  }
}

test('an owner no informer has shown becomes a virtual node, and is looked at', () => {
  const g = newGraph()
  assert.deepEqual(g.observe(makeObject('pod', { kind: 'Pod', owners: [ownedBy('rs')] })), ['rs'])
  const owner = g.get('rs')
  assert.equal(owner?.virtual, true)
  assert.deepEqual(owner?.identity, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    namespace: 'work',
    name: 'rs',
    uid: 'rs',
  })
  assert.deepEqual(
    [...(owner?.dependents ?? [])].map((d) => d.identity.uid),
    ['pod'],
  )
})

test('a cluster-scoped owner is looked for outside the namespace; one of an unknown kind inside it', () => {
  const g = newGraph()
  g.observe(makeObject('cm', { kind: 'ConfigMap', owners: [ownedBy('ns', { kind: 'Namespace' })] }))
  assert.equal(g.get('ns')?.identity.namespace, '')
  g.observe(makeObject('cm2', { kind: 'ConfigMap', owners: [ownedBy('x', { kind: 'Mystery' })] }))
  assert.equal(g.get('x')?.identity.namespace, 'work')
})

test('a virtual owner the informer then shows becomes real; no dependent needs a look when the coordinates agree', () => {
  const g = newGraph()
  g.observe(makeObject('pod', { kind: 'Pod', owners: [ownedBy('rs')] }))
  assert.deepEqual(g.observe(makeObject('rs')), [])
  assert.equal(g.get('rs')?.virtual, false)
})

test('a virtual owner shown under other coordinates sends its dependents to look again', () => {
  const g = newGraph()
  g.observe(makeObject('pod', { kind: 'Pod', owners: [ownedBy('rs', { name: 'wrong-name' })] }))
  assert.deepEqual(g.observe(makeObject('rs')), ['pod'])
})

test('a dependent whose reference names a known owner by other coordinates is looked at', () => {
  const g = newGraph()
  g.observe(makeObject('rs'))
  assert.deepEqual(
    g.observe(makeObject('pod', { kind: 'Pod', owners: [ownedBy('rs', { name: 'other' })] })),
    ['pod'],
  )
})

test('an owner entering foreground deletion is looked at with all its dependents; after that only itself', () => {
  const g = newGraph()
  g.observe(makeObject('rs'))
  g.observe(makeObject('a', { kind: 'Pod', owners: [ownedBy('rs', { block: true })] }))
  g.observe(makeObject('b', { kind: 'Pod', owners: [ownedBy('rs')] }))
  const deleting = { finalizers: ['foregroundDeletion'], deleting: true }
  assert.deepEqual(g.observe(makeObject('rs', { ...deleting, rv: '2' })).sort(), ['a', 'b', 'rs'])
  assert.equal(g.get('rs')?.deletingDependents, true)
  assert.deepEqual(g.observe(makeObject('rs', { ...deleting, rv: '3' })), ['rs'])
})

test('an owner with the orphan finalizer is looked at while it is being deleted', () => {
  const g = newGraph()
  assert.deepEqual(g.observe(makeObject('rs', { finalizers: ['orphan'] })), [])
  assert.deepEqual(g.observe(makeObject('rs', { finalizers: ['orphan'], deleting: true })), ['rs'])
  assert.equal(g.get('rs')?.orphaningDependents, true)
})

test('a new dependent of an owner in foreground deletion is looked at', () => {
  const g = newGraph()
  g.observe(makeObject('rs', { finalizers: ['foregroundDeletion'], deleting: true }))
  assert.deepEqual(g.observe(makeObject('late', { kind: 'Pod', owners: [ownedBy('rs')] })), ['late'])
})

test('a dependent that stops blocking (dropped or unblocked reference) sends its waiting owner to look again', () => {
  const g = newGraph()
  g.observe(makeObject('rs', { finalizers: ['foregroundDeletion'], deleting: true }))
  g.observe(makeObject('a', { kind: 'Pod', owners: [ownedBy('rs', { block: true })] }))
  g.observe(makeObject('b', { kind: 'Pod', owners: [ownedBy('rs', { block: true })] }))
  assert.deepEqual(g.observe(makeObject('a', { kind: 'Pod', owners: [], rv: '2' })), ['rs'])
  assert.deepEqual(
    g.observe(makeObject('b', { kind: 'Pod', owners: [ownedBy('rs', { block: false })], rv: '2' })),
    ['rs'],
  )
  assert.deepEqual(
    [...(g.get('rs')?.dependents ?? [])].map((d) => d.identity.uid),
    ['b'],
  )
  assert.deepEqual(g.blockingDependents(g.get('rs') ?? assert.fail()), [])
})

test('only dependents whose reference has blockOwnerDeletion block their owner', () => {
  const g = newGraph()
  g.observe(makeObject('rs'))
  g.observe(makeObject('a', { kind: 'Pod', owners: [ownedBy('rs', { block: true })] }))
  g.observe(makeObject('b', { kind: 'Pod', owners: [ownedBy('rs')] }))
  const rs = g.get('rs') ?? assert.fail('no node')
  assert.deepEqual(
    g.blockingDependents(rs).map((d) => d.identity.uid),
    ['a'],
  )
})

test('a deleted object sends its dependents and its owners in foreground deletion to look again', () => {
  const g = newGraph()
  g.observe(makeObject('deploy', { finalizers: ['foregroundDeletion'], deleting: true }))
  g.observe(makeObject('rs', { owners: [ownedBy('deploy', { block: true })] }))
  g.observe(makeObject('pod', { kind: 'Pod', owners: [ownedBy('rs', { block: true })] }))
  assert.deepEqual(g.observeDeletion(makeObject('rs')).sort(), ['deploy', 'pod'])
  assert.equal(g.get('rs'), undefined)
  assert.equal(g.get('deploy')?.dependents.size, 0)
})

test('an owner proven absent leaves the graph; a real node read under other coordinates stays', () => {
  const g = newGraph()
  g.observe(makeObject('pod', { kind: 'Pod', owners: [ownedBy('ghost')] }))
  const ghost = g.get('ghost')?.identity ?? assert.fail('no virtual node')
  assert.deepEqual(g.verifiedAbsent(ghost), ['pod'])
  assert.equal(g.get('ghost'), undefined)

  g.observe(makeObject('rs'))
  g.observe(makeObject('pod2', { kind: 'Pod', owners: [ownedBy('rs', { name: 'elsewhere' })] }))
  const wrong = { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'work', name: 'elsewhere', uid: 'rs' }
  assert.deepEqual(g.verifiedAbsent(wrong), ['pod2'])
  assert.equal(g.get('rs')?.virtual, false)
})

test('ownerReferences diff by uid: added, removed, and unblocked', () => {
  const d = diffOwnerReferences(
    [ownedBy('a', { block: true }), ownedBy('b', { block: true }), ownedBy('c')],
    [ownedBy('b'), ownedBy('c', { block: true }), ownedBy('d')],
  )
  assert.deepEqual(
    [d.added, d.removed, d.unblocked].map((l) => l.map((r) => r.uid)),
    [['d'], ['a'], ['b']],
  )
})
