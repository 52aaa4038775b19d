import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Namespace, NamespaceCondition } from '../api/generated/types/core-v1.ts'
import { FakeClock } from '../base/clock.ts'
import {
  ApiStatusError,
  builtin,
  IndexedCache,
  Lister,
  type ObjectLike,
  type ResourceRef,
} from '../client/index.ts'
import {
  contentResources,
  mergeConditions,
  NamespaceController,
  podsGraceEstimate,
  type ContentResource,
  type Discovery,
  type NamespaceControl,
} from './namespace.ts'

const t0 = Date.UTC(2026, 0, 1, 12, 0, 0)
const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')

function makeNamespace(
  o: { deleting?: boolean; phase?: string; finalizers?: string[]; conditions?: NamespaceCondition[] } = {},
): Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'work',
      uid: 'ns-uid',
      resourceVersion: '5',
      ...(o.deleting === false ? {} : { deletionTimestamp: stamp(t0) }),
    },
    spec: { finalizers: o.finalizers ?? ['kubernetes'] },
    status: {
      phase: o.phase ?? (o.deleting === false ? 'Active' : 'Terminating'),
      ...(o.conditions ? { conditions: o.conditions } : {}),
    },
  }
}

const pods = builtin('', 'v1', 'pods')
const configMaps = builtin('', 'v1', 'configmaps')
const replicaSets = builtin('apps', 'v1', 'replicasets')

const resourceKey = (r: ResourceRef) => `${r.group}/${r.resource}`

/** An object as the fake keeps it: finalizers and a pod grace period decide whether a delete waits. */
interface Stored extends ObjectLike {
  spec?: { terminationGracePeriodSeconds?: number }
  status?: { phase?: string }
}

const obj = (name: string, o: { finalizers?: string[]; grace?: number } = {}): Stored => ({
  metadata: { name, namespace: 'work', ...(o.finalizers ? { finalizers: o.finalizers } : {}) },
  ...(o.grace !== undefined ? { spec: { terminationGracePeriodSeconds: o.grace } } : {}),
})

/**
 * The apiserver, as far as the controller sees it: content per resource, deleted at once unless
 * finalizers or a pod's grace period hold it (then it is only marked). Records every call.
 */
class FakeControl implements NamespaceControl {
  calls: string[] = []
  statuses: Namespace[] = []
  finalized: Namespace[] = []
  content = new Map<string, Stored[]>()
  ns: Namespace
  resources: ContentResource[] = [
    { ref: pods, deleteCollection: true },
    { ref: configMaps, deleteCollection: true },
    { ref: replicaSets, deleteCollection: true },
  ]
  discoveryFailure: Error | undefined
  /** Resources whose DELETE of the collection answers 405. */
  noDeleteCollection = new Set<string>()
  /** Resources whose deletes fail with this error. */
  failing = new Map<string, Error>()
  /** Conflicts the next finalize calls answer. */
  finalizeConflicts = 0
  clock: FakeClock

  constructor(ns: Namespace, clock: FakeClock) {
    this.ns = ns
    this.clock = clock
  }

  async getNamespace(name: string): Promise<Namespace> {
    this.calls.push(`get ${name}`)
    return structuredClone(this.ns)
  }
  async updateStatus(ns: Namespace): Promise<Namespace> {
    this.calls.push('updateStatus')
    this.statuses.push(structuredClone(ns))
    this.ns = { ...this.ns, status: structuredClone(ns.status ?? {}) }
    return structuredClone(this.ns)
  }
  async finalize(ns: Namespace): Promise<Namespace> {
    this.calls.push('finalize')
    if (this.finalizeConflicts > 0) {
      this.finalizeConflicts--
      throw new ApiStatusError(
        { code: 409, reason: 'Conflict', message: 'the object has been modified' },
        409,
      )
    }
    this.finalized.push(structuredClone(ns))
    return ns
  }
  async discover(): Promise<Discovery> {
    return { resources: this.resources, ...(this.discoveryFailure ? { failure: this.discoveryFailure } : {}) }
  }
  async deleteCollection(ref: ResourceRef, namespace: string): Promise<void> {
    this.calls.push(`deletecollection ${resourceKey(ref)} ${namespace}`)
    if (this.noDeleteCollection.has(resourceKey(ref))) {
      throw new ApiStatusError({ code: 405, reason: 'MethodNotAllowed', message: 'not allowed' }, 405)
    }
    for (const o of this.content.get(resourceKey(ref)) ?? []) this.#deleteOne(ref, o)
  }
  async list(ref: ResourceRef): Promise<readonly ObjectLike[]> {
    return structuredClone(this.content.get(resourceKey(ref)) ?? [])
  }
  async delete(ref: ResourceRef, namespace: string, name: string): Promise<void> {
    this.calls.push(`delete ${resourceKey(ref)} ${namespace}/${name}`)
    const o = (this.content.get(resourceKey(ref)) ?? []).find((x) => x.metadata?.name === name)
    if (o) this.#deleteOne(ref, o)
  }

  #deleteOne(ref: ResourceRef, o: Stored): void {
    const failure = this.failing.get(resourceKey(ref))
    if (failure) throw failure
    const grace = o.spec?.terminationGracePeriodSeconds ?? 0
    if ((o.metadata?.finalizers ?? []).length > 0 || grace > 0) {
      o.metadata = { ...o.metadata, deletionTimestamp: stamp(this.clock.now() + grace * 1000) }
      return
    }
    const list = this.content.get(resourceKey(ref)) ?? []
    this.content.set(
      resourceKey(ref),
      list.filter((x) => x !== o),
    )
  }
}

function setup(ns: Namespace, content: Record<string, Stored[]> = {}) {
  const clock = new FakeClock(t0 + 5_000)
  const cache = new IndexedCache<Namespace>()
  cache.set(ns)
  const control = new FakeControl(ns, clock)
  for (const [k, v] of Object.entries(content)) control.content.set(k, v)
  const controller = new NamespaceController({ namespaces: new Lister(cache), control, clock })
  return { controller, control, clock, cache }
}

/** The conditions as one line each, easy to compare. */
const lines = (ns: Namespace | undefined) =>
  (ns?.status?.conditions ?? []).map((c) => `${c.type}=${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`)

const allFine = [
  'NamespaceDeletionDiscoveryFailure=False ResourcesDiscovered: All resources successfully discovered',
  'NamespaceDeletionGroupVersionParsingFailure=False ParsedGroupVersions: All legacy kube types successfully parsed',
  'NamespaceDeletionContentFailure=False ContentDeleted: All content successfully deleted, may be waiting on finalization',
  'NamespaceContentRemaining=False ContentRemoved: All content successfully removed',
  'NamespaceFinalizersRemaining=False ContentHasNoFinalizers: All content-preserving finalizers finished',
]

test('a namespace that is not being deleted is left alone', async () => {
  const { controller, control } = setup(makeNamespace({ deleting: false }), { '/configmaps': [obj('a')] })
  assert.equal(await controller.reconcile('work'), undefined)
  assert.deepEqual(control.calls, ['get work'])
  assert.equal(control.content.get('/configmaps')?.length, 1)
})

test('a namespace the cache no longer has is not even read', async () => {
  const { controller, control, cache } = setup(makeNamespace())
  cache.delete('work')
  assert.equal(await controller.reconcile('work'), undefined)
  assert.deepEqual(control.calls, [])
})

test('an emptied namespace loses the kubernetes finalizer (and keeps the others, sorted), with every condition False', async () => {
  const { controller, control } = setup(
    makeNamespace({ finalizers: ['z.io/last', 'kubernetes', 'a.io/first'] }),
    {
      '/pods': [obj('p')],
      '/configmaps': [obj('a'), obj('b')],
      'apps/replicasets': [obj('web')],
    },
  )
  assert.equal(await controller.reconcile('work'), undefined)
  assert.deepEqual(control.calls, [
    'get work',
    'deletecollection /pods work',
    'deletecollection /configmaps work',
    'deletecollection apps/replicasets work',
    'updateStatus',
    'finalize',
  ])
  assert.deepEqual(lines(control.statuses[0]), allFine)
  assert.equal(control.statuses[0]?.status?.phase, 'Terminating')
  assert.deepEqual(control.finalized[0]?.spec?.finalizers, ['a.io/first', 'z.io/last'])
  assert.equal(control.finalized[0]?.metadata?.uid, 'ns-uid')
})

test('content held by finalizers keeps the namespace, says which finalizers, and looks again in 8 s', async () => {
  const { controller, control } = setup(makeNamespace(), {
    '/configmaps': [
      obj('a', { finalizers: ['example.com/x'] }),
      obj('b', { finalizers: ['example.com/x', 'example.com/y'] }),
    ],
    'apps/replicasets': [obj('web', { finalizers: ['example.com/x'] }), obj('gone')],
  })
  assert.deepEqual(await controller.reconcile('work'), { afterMs: 8_000 })
  assert.deepEqual(control.finalized, [])
  assert.deepEqual(lines(control.statuses[0]), [
    allFine[0],
    allFine[1],
    allFine[2],
    'NamespaceContentRemaining=True SomeResourcesRemain: Some resources are remaining: configmaps. has 2 resource instances, replicasets.apps has 1 resource instances',
    'NamespaceFinalizersRemaining=True SomeFinalizersRemain: Some content in the namespace has finalizers remaining: example.com/x in 3 resource instances, example.com/y in 1 resource instances',
  ])
})

test('the conditions are written only when they change, and keep their transition time while their status holds', async () => {
  const { controller, control, clock } = setup(makeNamespace(), {
    '/configmaps': [obj('a', { finalizers: ['example.com/x'] }), obj('b', { finalizers: ['example.com/x'] })],
  })
  await controller.reconcile('work')
  await controller.reconcile('work')
  assert.equal(control.statuses.length, 1, 'nothing changed: no second write')
  // One of them is finalized meanwhile: the message changes, the status does not.
  control.content.set('/configmaps', [obj('b', { finalizers: ['example.com/x'] })])
  clock.advance(8_000)
  await controller.reconcile('work')
  assert.equal(control.statuses.length, 2)
  const remaining = control.statuses[1]?.status?.conditions?.find(
    (c) => c.type === 'NamespaceContentRemaining',
  )
  assert.equal(remaining?.message, 'Some resources are remaining: configmaps. has 1 resource instances')
  assert.equal(remaining?.lastTransitionTime, stamp(t0 + 5_000))
  // The last one goes: the conditions turn False at the new time, and the namespace is finalized.
  control.content.set('/configmaps', [])
  clock.advance(8_000)
  assert.equal(await controller.reconcile('work'), undefined)
  const done = control.statuses[2]?.status?.conditions?.find((c) => c.type === 'NamespaceContentRemaining')
  assert.equal(done?.status, 'False')
  assert.equal(done?.lastTransitionTime, stamp(t0 + 21_000))
  assert.equal(control.finalized.length, 1)
})

test('pods within their grace period are waited for: half the longest grace, plus a second', async () => {
  const { controller, control, clock } = setup(makeNamespace(), {
    '/pods': [obj('slow', { grace: 30 }), obj('quick', { grace: 10 }), obj('unscheduled')],
  })
  assert.deepEqual(await controller.reconcile('work'), { afterMs: 16_000 })
  assert.deepEqual(
    (control.content.get('/pods') ?? []).map((p) => p.metadata?.name),
    ['slow', 'quick'],
    'the pod without a grace period went at once',
  )
  assert.equal(
    lines(control.statuses[0])[3],
    'NamespaceContentRemaining=True SomeResourcesRemain: Some resources are remaining: pods. has 2 resource instances',
  )
  // Their grace is over (30 s after the namespace's deletion) and they are still there: an error.
  clock.advance(25_000)
  await assert.rejects(
    controller.reconcile('work'),
    /unexpected items still remain in namespace: work for gvr: \/v1, Resource=pods/,
  )
  const failure = control.statuses[1]?.status?.conditions?.find(
    (c) => c.type === 'NamespaceDeletionContentFailure',
  )
  assert.deepEqual(
    { status: failure?.status, reason: failure?.reason, message: failure?.message },
    {
      status: 'True',
      reason: 'ContentDeletionFailed',
      message:
        'Failed to delete all resource types, 1 remaining: unexpected items still remain in namespace: work for gvr: /v1, Resource=pods',
    },
  )
  assert.deepEqual(control.finalized, [])
})

test('pods that are already gone are not waited for, whatever their grace period was', async () => {
  const { controller, control } = setup(makeNamespace(), { '/pods': [] })
  assert.equal(await controller.reconcile('work'), undefined)
  assert.equal(control.finalized.length, 1)
})

test('where deletecollection is not served, each object is deleted by name', async () => {
  const { controller, control } = setup(makeNamespace(), { '/configmaps': [obj('a'), obj('b')] })
  control.noDeleteCollection.add('/configmaps')
  control.resources = [{ ref: configMaps, deleteCollection: true }]
  assert.equal(await controller.reconcile('work'), undefined)
  assert.deepEqual(control.calls.slice(1, 4), [
    'deletecollection /configmaps work',
    'delete /configmaps work/a',
    'delete /configmaps work/b',
  ])
  assert.equal(control.finalized.length, 1)
})

test('a resource that refuses deletion is reported, the others are still emptied, and the namespace is kept', async () => {
  const { controller, control } = setup(makeNamespace(), {
    '/configmaps': [obj('a')],
    'apps/replicasets': [obj('web')],
  })
  control.failing.set(
    '/configmaps',
    new ApiStatusError({ code: 403, reason: 'Forbidden', message: 'configmaps is forbidden' }, 403),
  )
  await assert.rejects(controller.reconcile('work'), /configmaps is forbidden/)
  assert.deepEqual(control.content.get('apps/replicasets'), [])
  assert.deepEqual(lines(control.statuses[0]).slice(2, 4), [
    'NamespaceDeletionContentFailure=True ContentDeletionFailed: Failed to delete all resource types, 1 remaining: configmaps is forbidden',
    'NamespaceContentRemaining=False ContentRemoved: All content successfully removed',
  ])
  assert.deepEqual(control.finalized, [])
})

test('a discovery failure is reported and the namespace is kept, though what was discovered is emptied', async () => {
  const { controller, control } = setup(makeNamespace(), { '/configmaps': [obj('a')] })
  control.discoveryFailure = new Error(
    'Discovery failed for some groups, 1 failing: metrics.k8s.io/v1beta1: unavailable',
  )
  await assert.rejects(controller.reconcile('work'), /metrics.k8s.io/)
  assert.deepEqual(control.content.get('/configmaps'), [])
  assert.equal(
    lines(control.statuses[0])[0],
    'NamespaceDeletionDiscoveryFailure=True DiscoveryFailed: Discovery failed for some groups, 1 failing: metrics.k8s.io/v1beta1: unavailable',
  )
  assert.deepEqual(control.finalized, [])
})

test('a namespace whose kubernetes finalizer is already gone is not touched again', async () => {
  const { controller, control } = setup(makeNamespace({ finalizers: ['example.com/other'] }), {
    '/configmaps': [obj('a')],
  })
  assert.equal(await controller.reconcile('work'), undefined)
  assert.deepEqual(control.calls, ['get work'])
})

test('a deleted namespace not yet Terminating is marked so first', async () => {
  const { controller, control } = setup(makeNamespace({ phase: 'Active' }))
  await controller.reconcile('work')
  assert.equal(control.calls[1], 'updateStatus')
  assert.equal(control.statuses[0]?.status?.phase, 'Terminating')
  assert.equal(control.statuses[0]?.status?.conditions, undefined)
})

test('a finalize that meets a newer namespace is tried again on a fresh read', async () => {
  const { controller, control } = setup(makeNamespace())
  control.finalizeConflicts = 1
  assert.equal(await controller.reconcile('work'), undefined)
  assert.deepEqual(control.calls.slice(-3), ['finalize', 'get work', 'finalize'])
  assert.equal(control.finalized.length, 1)
})

test('only namespaces being deleted are queued, after the deletion grace period', () => {
  const { controller, clock } = setup(makeNamespace())
  controller.enqueue(makeNamespace({ deleting: false }))
  controller.enqueue(makeNamespace())
  assert.equal(controller.queue.length, 0)
  clock.advance(4_999)
  assert.equal(controller.queue.length, 0)
  clock.advance(1)
  assert.equal(controller.queue.length, 1)
})

test('content resources: namespaced, listable and deletable, one per storage', () => {
  const names = contentResources().map((r) => `${r.ref.resource}.${r.ref.group}/${r.ref.version}`)
  assert.ok(names.includes('pods./v1'))
  assert.ok(names.includes('replicasets.apps/v1'))
  assert.ok(names.includes('events./v1'), 'core events')
  assert.ok(!names.includes('events.events.k8s.io/v1'), 'the same events through events.k8s.io')
  assert.ok(names.includes('horizontalpodautoscalers.autoscaling/v2'), 'the preferred version')
  assert.ok(!names.includes('horizontalpodautoscalers.autoscaling/v1'))
  assert.ok(!names.includes('bindings./v1'), 'create only')
  assert.ok(!names.includes('localsubjectaccessreviews.authorization.k8s.io/v1'), 'create only')
  assert.ok(!names.includes('namespaces./v1') && !names.includes('nodes./v1'), 'cluster-scoped')
  assert.ok(contentResources().every((r) => r.deleteCollection))
})

const graceCases = [
  { name: 'no pods: nothing to wait for', pods: [], elapsedS: 0, want: 0 },
  {
    name: 'the longest grace period of the pods left',
    pods: [obj('a', { grace: 10 }), obj('b', { grace: 30 })],
    elapsedS: 5,
    want: 30,
  },
  {
    name: 'finished pods do not count',
    pods: [{ ...obj('a', { grace: 30 }), status: { phase: 'Succeeded' } }],
    elapsedS: 5,
    want: 0,
  },
  {
    name: 'nothing once that long has passed since the namespace was deleted',
    pods: [obj('a', { grace: 30 })],
    elapsedS: 30,
    want: 0,
  },
  {
    name: 'the grace period of the delete wins over the spec',
    pods: [{ ...obj('a', { grace: 30 }), metadata: { name: 'a', deletionGracePeriodSeconds: 2 } }],
    elapsedS: 1,
    want: 2,
  },
]
for (const c of graceCases)
  test(`pods' grace estimate: ${c.name}`, () =>
    assert.equal(podsGraceEstimate(c.pods, t0, t0 + c.elapsedS * 1000), c.want))

test('conditions of other writers are kept in place', () => {
  const other = { type: 'example.com/Ready', status: 'True' }
  const { conditions, changed } = mergeConditions(
    [other],
    [{ type: 'NamespaceContentRemaining', status: 'False', reason: 'ContentRemoved', message: 'm' }],
    t0,
  )
  assert.ok(changed)
  assert.deepEqual(
    conditions.map((c) => c.type),
    ['example.com/Ready', 'NamespaceContentRemaining'],
  )
})
