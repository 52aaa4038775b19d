import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { OwnerReference } from '../../api/generated/types/meta-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiStatusError, type ObjectLike } from '../../client/index.ts'
import type { Recorder } from '../controller.ts'
import {
  GarbageCollector,
  monitoredResources,
  type DeletionPropagation,
  type GarbageCollectorControl,
  type ObjectTarget,
} from './garbagecollector.ts'

type Write =
  | { verb: 'delete'; target: string; uid: string; resourceVersion?: string; policy: DeletionPropagation }
  | { verb: 'patch'; target: string; type: 'strategic' | 'merge'; patch: unknown }

/** One line per write: `delete <where> <policy>` or `patch <where>`. */
const brief = (w: Write): string =>
  w.verb === 'delete' ? `delete ${w.target} ${w.policy}` : `patch ${w.target}`

const where = (t: ObjectTarget) => `${t.resource.resource} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`

/**
 * A tiny apiserver: objects by resource, namespace and name. Reads come from it, writes are
 * recorded; deletes remove the object (the graph learns of it only when the test says so, as an
 * informer would tell it later).
 */
class FakeControl implements GarbageCollectorControl {
  readonly objects = new Map<string, ObjectLike>()
  readonly writes: Write[] = []
  readonly reads: string[] = []
  /** Errors the next deletes throw, in order. */
  readonly deleteErrors: Error[] = []

  put(resource: string, obj: ObjectLike): void {
    const m = obj.metadata ?? {}
    this.objects.set(`${resource} ${m.namespace ? `${m.namespace}/` : ''}${m.name ?? ''}`, obj)
  }

  async get(t: ObjectTarget): Promise<ObjectLike | undefined> {
    this.reads.push(where(t))
    const o = this.objects.get(where(t))
    return o && structuredClone(o)
  }

  async delete(
    t: ObjectTarget,
    o: { preconditions: { uid: string; resourceVersion?: string }; propagationPolicy: DeletionPropagation },
  ): Promise<void> {
    const { uid, resourceVersion } = o.preconditions
    this.writes.push({
      verb: 'delete',
      target: where(t),
      uid,
      ...(resourceVersion ? { resourceVersion } : {}),
      policy: o.propagationPolicy,
    })
    const err = this.deleteErrors.shift()
    if (err) throw err
    this.objects.delete(where(t))
  }

  async patch(t: ObjectTarget, type: 'strategic' | 'merge', patch: unknown): Promise<void> {
    this.writes.push({ verb: 'patch', target: where(t), type, patch })
  }
}

class FakeRecorder implements Recorder {
  readonly events: string[] = []
  event(obj: ObjectLike, type: string, reason: string, message: string): void {
    this.events.push(`${type} ${reason} ${obj.kind ?? ''}/${obj.metadata?.name ?? ''}: ${message}`)
  }
}

function ref(kind: string, name: string, o: { block?: boolean; uid?: string } = {}): OwnerReference {
  return {
    apiVersion: kind === 'ReplicaSet' || kind === 'Deployment' ? 'apps/v1' : 'v1',
    kind,
    name,
    uid: o.uid ?? `${name}-uid`,
    ...(o.block ? { blockOwnerDeletion: true, controller: true } : {}),
  }
}

interface ObjectOptions {
  namespace?: string
  owners?: OwnerReference[]
  finalizers?: string[]
  deleting?: boolean
  uid?: string
}

const resourceOfKind: Record<string, string> = {
  ReplicaSet: 'replicasets',
  Deployment: 'deployments',
  Pod: 'pods',
  ConfigMap: 'configmaps',
  Namespace: 'namespaces',
  ClusterRole: 'clusterroles',
}

function makeObject(kind: string, name: string, o: ObjectOptions = {}): ObjectLike {
  const namespace = o.namespace ?? (kind === 'Namespace' || kind === 'ClusterRole' ? '' : 'work')
  return {
    apiVersion:
      kind === 'ReplicaSet' || kind === 'Deployment'
        ? 'apps/v1'
        : kind === 'ClusterRole'
          ? 'rbac.authorization.k8s.io/v1'
          : 'v1',
    kind,
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      uid: o.uid ?? `${name}-uid`,
      resourceVersion: '7',
      ...(o.owners ? { ownerReferences: o.owners } : {}),
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T12:00:00Z' } : {}),
    },
  }
}

/** A collector, its fake apiserver, and a way to say "the informers showed these objects". */
function setup() {
  const control = new FakeControl()
  const recorder = new FakeRecorder()
  const clock = new FakeClock()
  const gc = new GarbageCollector({ control, recorder, clock })
  const h = gc.handler()
  /** The object exists in the apiserver and the informers have shown it. */
  const exists = (obj: ObjectLike) => {
    control.put(resourceOfKind[obj.kind ?? ''] ?? '', obj)
    h.add?.(obj, false)
    return obj
  }
  /** The informers show a change (the apiserver has it too). */
  const changed = (obj: ObjectLike) => {
    control.put(resourceOfKind[obj.kind ?? ''] ?? '', obj)
    const m = obj.metadata ?? {}
    h.update?.({ ...obj, metadata: { ...m, resourceVersion: 'before' } }, obj)
  }
  /** The informers show a deletion. */
  const gone = (obj: ObjectLike) => h.delete?.(obj, false)
  /** Reconciles whatever is queued until the queue is empty. */
  const drain = async () => {
    for (let i = 0; i < 100 && gc.queue.length > 0; i++) {
      const key = await gc.queue.get()
      if (key === undefined) return
      try {
        await gc.reconcile(key)
      } finally {
        gc.queue.done(key)
      }
    }
  }
  return { gc, control, recorder, exists, changed, gone, drain }
}

test('an object whose only owner does not exist is deleted in the background, on its uid and resourceVersion', async () => {
  const { control, exists, drain } = setup()
  exists(makeObject('ConfigMap', 'orphan', { owners: [ref('ConfigMap', 'ghost')] }))
  await drain()
  assert.deepEqual(control.writes, [
    {
      verb: 'delete',
      target: 'configmaps work/orphan',
      uid: 'orphan-uid',
      resourceVersion: '7',
      policy: 'Background',
    },
  ])
})

test('an owner found under its name with another uid counts as gone', async () => {
  const { control, exists, drain } = setup()
  control.put('configmaps', makeObject('ConfigMap', 'owner', { uid: 'new-uid' }))
  exists(makeObject('ConfigMap', 'dep', { owners: [ref('ConfigMap', 'owner', { uid: 'old-uid' })] }))
  await drain()
  assert.deepEqual(control.writes.map(brief), ['delete configmaps work/dep Background'])
})

test('an object with one owner gone and one there loses only the dangling reference', async () => {
  const { control, exists, drain } = setup()
  exists(makeObject('ConfigMap', 'keeper'))
  exists(makeObject('ConfigMap', 'both', { owners: [ref('ConfigMap', 'keeper'), ref('ConfigMap', 'ghost')] }))
  await drain()
  assert.deepEqual(control.writes, [
    {
      verb: 'patch',
      target: 'configmaps work/both',
      type: 'strategic',
      patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'ghost-uid' }], uid: 'both-uid' } },
    },
  ])
})

test('an owner the informers have not shown yet but a live read finds keeps its dependent, and is read again later', async () => {
  const { gc, control, exists, drain } = setup()
  control.put('replicasets', makeObject('ReplicaSet', 'web'))
  exists(makeObject('Pod', 'web-1', { owners: [ref('ReplicaSet', 'web', { block: true })] }))
  assert.deepEqual(await gc.reconcile('web-uid'), { afterMs: 1000 })
  assert.deepEqual(await gc.reconcile('web-uid'), { afterMs: 2000 })
  await drain()
  assert.deepEqual(control.writes, [])
})

test('background: when the informer sees the owner deleted, its dependents are deleted without reading the owner', async () => {
  const { control, exists, gone, drain } = setup()
  const rs = exists(makeObject('ReplicaSet', 'web'))
  for (const n of ['web-1', 'web-2'])
    exists(makeObject('Pod', n, { owners: [ref('ReplicaSet', 'web', { block: true })] }))
  await drain()
  assert.deepEqual(control.writes, [])
  control.objects.delete('replicasets work/web')
  control.reads.length = 0
  gone(rs)
  await drain()
  assert.deepEqual(control.writes.map(brief), [
    'delete pods work/web-1 Background',
    'delete pods work/web-2 Background',
  ])
  assert.deepEqual(control.reads, ['pods work/web-1', 'pods work/web-2'])
})

test('foreground: dependents are deleted first, and the finalizer goes only when no blocking dependent is left', async () => {
  const { control, exists, changed, gone, drain } = setup()
  exists(makeObject('ReplicaSet', 'web'))
  const pods = ['web-1', 'web-2'].map((n) =>
    exists(makeObject('Pod', n, { owners: [ref('ReplicaSet', 'web', { block: true })] })),
  )
  const other = exists(makeObject('ConfigMap', 'note', { owners: [ref('ReplicaSet', 'web')] }))
  changed(makeObject('ReplicaSet', 'web', { finalizers: ['foregroundDeletion'], deleting: true }))
  await drain()
  assert.deepEqual(control.writes.map(brief).sort(), [
    'delete configmaps work/note Background',
    'delete pods work/web-1 Background',
    'delete pods work/web-2 Background',
  ])
  control.writes.length = 0
  const [first, second] = pods
  // A pod on a node is deleted gracefully: it stays, being deleted, until its kubelet is done.
  changed(makeObject('Pod', 'web-2', { owners: [ref('ReplicaSet', 'web', { block: true })], deleting: true }))
  gone(first ?? assert.fail())
  await drain()
  assert.deepEqual(control.writes, [], 'one blocking dependent is left')
  gone(other)
  await drain()
  assert.deepEqual(control.writes, [], 'a non-blocking dependent does not count')
  gone(second ?? assert.fail())
  await drain()
  assert.deepEqual(control.writes, [
    {
      verb: 'patch',
      target: 'replicasets work/web',
      type: 'merge',
      patch: { metadata: { finalizers: [], resourceVersion: '7' } },
    },
  ])
})

test('foreground: a dependent with dependents of its own is deleted in the foreground', async () => {
  const { control, exists, changed, drain } = setup()
  exists(makeObject('Deployment', 'web'))
  exists(makeObject('ReplicaSet', 'web-abc', { owners: [ref('Deployment', 'web', { block: true })] }))
  exists(makeObject('Pod', 'web-abc-1', { owners: [ref('ReplicaSet', 'web-abc', { block: true })] }))
  changed(makeObject('Deployment', 'web', { finalizers: ['foregroundDeletion'], deleting: true }))
  await drain()
  assert.deepEqual(control.writes.map(brief), ['delete replicasets work/web-abc Foreground'])
})

test('foreground: a dependent another owner keeps loses its reference to the owner being deleted', async () => {
  const { control, exists, changed, drain } = setup()
  exists(makeObject('ConfigMap', 'keeper'))
  exists(makeObject('ReplicaSet', 'web'))
  exists(
    makeObject('ConfigMap', 'shared', {
      owners: [ref('ReplicaSet', 'web', { block: true }), ref('ConfigMap', 'keeper')],
    }),
  )
  changed(makeObject('ReplicaSet', 'web', { finalizers: ['foregroundDeletion'], deleting: true }))
  await drain()
  assert.deepEqual(control.writes, [
    {
      verb: 'patch',
      target: 'configmaps work/shared',
      type: 'strategic',
      patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'web-uid' }], uid: 'shared-uid' } },
    },
  ])
})

test('foreground: a dependent whose own dependent also waits stops blocking before it is deleted (a cycle breaks)', async () => {
  const { control, exists, changed, drain } = setup()
  exists(makeObject('ConfigMap', 'a'))
  exists(makeObject('ConfigMap', 'b', { owners: [ref('ConfigMap', 'a', { block: true })] }))
  exists(makeObject('ConfigMap', 'c', { owners: [ref('ConfigMap', 'b', { block: true })] }))
  changed(
    makeObject('ConfigMap', 'c', {
      owners: [ref('ConfigMap', 'b', { block: true })],
      finalizers: ['foregroundDeletion'],
      deleting: true,
    }),
  )
  changed(makeObject('ConfigMap', 'a', { finalizers: ['foregroundDeletion'], deleting: true }))
  await drain()
  const forB = control.writes.filter((w) => w.target === 'configmaps work/b')
  assert.deepEqual(forB, [
    {
      verb: 'patch',
      target: 'configmaps work/b',
      type: 'strategic',
      patch: { metadata: { ownerReferences: [{ uid: 'a-uid', blockOwnerDeletion: false }], uid: 'b-uid' } },
    },
    { verb: 'delete', target: 'configmaps work/b', uid: 'b-uid', resourceVersion: '7', policy: 'Foreground' },
  ])
})

test('orphan: every dependent loses its reference to the owner, then the orphan finalizer goes (others stay)', async () => {
  const { control, exists, changed, drain } = setup()
  exists(makeObject('ReplicaSet', 'web'))
  for (const n of ['web-1', 'web-2'])
    exists(makeObject('Pod', n, { owners: [ref('ReplicaSet', 'web', { block: true })] }))
  changed(makeObject('ReplicaSet', 'web', { finalizers: ['example.com/keep', 'orphan'], deleting: true }))
  await drain()
  assert.deepEqual(control.writes, [
    ...['web-1', 'web-2'].map((n) => ({
      verb: 'patch',
      target: `pods work/${n}`,
      type: 'strategic',
      patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'web-uid' }], uid: `${n}-uid` } },
    })),
    {
      verb: 'patch',
      target: 'replicasets work/web',
      type: 'merge',
      patch: { metadata: { finalizers: ['example.com/keep'], resourceVersion: '7' } },
    },
  ])
})

test('an object that already asks for orphaning is deleted with that policy when its owner is gone', async () => {
  const { control, exists, drain } = setup()
  exists(makeObject('ConfigMap', 'dep', { owners: [ref('ConfigMap', 'ghost')], finalizers: ['orphan'] }))
  await drain()
  assert.deepEqual(control.writes.map(brief), ['delete configmaps work/dep Orphan'])
})

test('an object being deleted is left alone until it is gone', async () => {
  const { control, exists, drain } = setup()
  exists(
    makeObject('ConfigMap', 'dep', {
      owners: [ref('ConfigMap', 'ghost')],
      finalizers: ['x'],
      deleting: true,
    }),
  )
  await drain()
  assert.deepEqual(control.writes, [])
})

test('a cluster-scoped object naming a namespaced owner gets a Warning and is left alone', async () => {
  const { control, recorder, exists, drain } = setup()
  exists(makeObject('ClusterRole', 'admin', { owners: [ref('ConfigMap', 'cm')] }))
  await drain()
  assert.deepEqual(control.writes, [])
  assert.deepEqual(recorder.events, [
    'Warning OwnerRefInvalidNamespace ClusterRole/admin: ownerRef [v1/ConfigMap, namespace: , name: cm, uid: cm-uid] does not exist in namespace ""',
  ])
})

test('a delete refused for a stale resourceVersion is repeated on the uid alone when the ownerReferences are unchanged', async () => {
  const { control, exists, drain } = setup()
  exists(makeObject('ConfigMap', 'dep', { owners: [ref('ConfigMap', 'ghost')] }))
  control.deleteErrors.push(new ApiStatusError({ code: 409, reason: 'Conflict', message: 'stale' }, 409))
  await drain()
  assert.deepEqual(
    control.writes.map((w) => (w.verb === 'delete' ? `${w.uid} ${w.resourceVersion ?? '-'}` : brief(w))),
    ['dep-uid 7', 'dep-uid -'],
  )
})

test('the collector watches every listable, watchable, deletable resource once per storage, events aside', () => {
  const watched = monitoredResources().map((r) => `${r.group}/${r.version}/${r.resource}`)
  assert.ok(watched.includes('/v1/pods'))
  assert.ok(watched.includes('apps/v1/replicasets'))
  assert.ok(watched.includes('autoscaling/v2/horizontalpodautoscalers'))
  assert.ok(!watched.includes('autoscaling/v1/horizontalpodautoscalers'))
  assert.ok(!watched.some((r) => r.endsWith('/events')))
  assert.ok(!watched.includes('/v1/bindings'))
  assert.equal(new Set(watched).size, watched.length)
})
