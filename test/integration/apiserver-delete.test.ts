import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeProtobuf } from '../../src/api/protobuf/codec.ts'
import { kubectlMissing, startTestApiServer, type TestApiServer } from '../support/cluster.ts'

interface Reply {
  code: number
  body: Record<string, unknown> & { metadata?: Record<string, unknown>; details?: Record<string, unknown> }
}

/**
 * What a DELETE answers, as kube-apiserver's generic registry and delete handler: a Status naming
 * the object (details.kind is the resource plural) once it is gone, the object itself for the
 * resources whose registry returns deleted objects (pods, service accounts, ...), and the object
 * with its deletionTimestamp while finalizers or a grace period hold it.
 */
describe('what a delete answers', () => {
  let c: TestApiServer
  before(async () => {
    c = await startTestApiServer()
  })
  after(async () => {
    await c.stop()
  })

  const call = async (
    method: string,
    path: string,
    body?: unknown,
    type = 'application/json',
  ): Promise<Reply> => {
    const r = await c.request(method, path, {
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      headers: { 'Content-Type': type, Accept: 'application/json' },
    })
    return { code: r.code, body: JSON.parse(r.body.toString()) as Reply['body'] }
  }
  const create = async (path: string, body: unknown): Promise<Reply['body']> => {
    const r = await call('POST', path, body)
    assert.equal(r.code, 201, JSON.stringify(r.body))
    return r.body
  }
  const cms = '/api/v1/namespaces/default/configmaps'

  test('a configmap delete answers a Status with its name, resource and uid', async () => {
    const cm = await create(cms, { metadata: { name: 'cm1' } })
    const r = await call('DELETE', `${cms}/cm1`)
    assert.equal(r.code, 200)
    assert.deepEqual(r.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'cm1', kind: 'configmaps', uid: cm.metadata?.uid },
    })
    assert.equal((await call('GET', `${cms}/cm1`)).code, 404)
  })

  test('a delete in a group names the group in the Status', async () => {
    const d = await create('/apis/apps/v1/namespaces/default/deployments', {
      metadata: { name: 'd1' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    })
    const r = await call('DELETE', '/apis/apps/v1/namespaces/default/deployments/d1')
    assert.equal(r.code, 200)
    assert.deepEqual(r.body.details, { name: 'd1', group: 'apps', kind: 'deployments', uid: d.metadata?.uid })
  })

  test('dryRun answers the same Status and leaves the object', async () => {
    const cm = await create(cms, { metadata: { name: 'cm2' } })
    const r = await call('DELETE', `${cms}/cm2?dryRun=All`)
    assert.equal(r.code, 200)
    assert.equal(r.body.kind, 'Status')
    assert.deepEqual(r.body.details, { name: 'cm2', kind: 'configmaps', uid: cm.metadata?.uid })
    assert.equal((await call('GET', `${cms}/cm2`)).code, 200)
  })

  test('a Table or protobuf client gets the Status as it is', async () => {
    await create(cms, { metadata: { name: 'cm3' } })
    const table = await c.request('DELETE', `${cms}/cm3`, {
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' },
    })
    assert.equal(table.code, 200)
    assert.equal((JSON.parse(table.body.toString()) as { kind: string }).kind, 'Status')
    await create(cms, { metadata: { name: 'cm4' } })
    const pb = await c.request('DELETE', `${cms}/cm4`, {
      headers: { Accept: 'application/vnd.kubernetes.protobuf' },
    })
    assert.equal(pb.code, 200)
    assert.equal(pb.headers['content-type'], 'application/vnd.kubernetes.protobuf')
    const status = decodeProtobuf(pb.body) as unknown as Reply['body']
    assert.equal(status.kind, 'Status')
    assert.equal(status.status, 'Success')
    assert.equal(status.details?.name, 'cm4')
    assert.equal(status.details?.kind, 'configmaps')
  })

  test('a pod delete answers the pod: gone at once when unscheduled, marked when bound', async () => {
    const pods = '/api/v1/namespaces/default/pods'
    const spec = { containers: [{ name: 'c', image: 'i' }] }
    await create(pods, { metadata: { name: 'p1' }, spec })
    const gone = await call('DELETE', `${pods}/p1`)
    assert.equal(gone.code, 200)
    assert.equal(gone.body.kind, 'Pod')
    assert.equal(gone.body.metadata?.name, 'p1')
    assert.equal((await call('GET', `${pods}/p1`)).code, 404)

    await create(pods, { metadata: { name: 'p2' }, spec: { ...spec, nodeName: 'n1' } })
    const marked = await call('DELETE', `${pods}/p2`)
    assert.equal(marked.code, 200)
    assert.equal(marked.body.kind, 'Pod')
    assert.ok(marked.body.metadata?.deletionTimestamp)
    assert.equal(marked.body.metadata?.deletionGracePeriodSeconds, 30)
    // In its grace period the kubelet still writes the status; the pod stays until it is deleted.
    const stopped = await call(
      'PATCH',
      `${pods}/p2/status`,
      { status: { phase: 'Failed' } },
      'application/merge-patch+json',
    )
    assert.equal(stopped.code, 200)
    const kept = (await call('GET', `${pods}/p2`)).body as { status?: { phase?: string } }
    assert.equal(kept.status?.phase, 'Failed')
    // Deleted again with no grace: gone, and the answer is still the pod.
    const forced = await call('DELETE', `${pods}/p2`, { gracePeriodSeconds: 0 })
    assert.equal(forced.code, 200)
    assert.equal(forced.body.kind, 'Pod')
    assert.equal((await call('GET', `${pods}/p2`)).code, 404)
  })

  test('a service account delete answers the service account', async () => {
    await create('/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'sa1' } })
    const r = await call('DELETE', '/api/v1/namespaces/default/serviceaccounts/sa1')
    assert.equal(r.code, 200)
    assert.equal(r.body.kind, 'ServiceAccount')
    assert.equal(r.body.metadata?.name, 'sa1')
  })

  test('a storage class delete answers the storage class', async () => {
    await create('/apis/storage.k8s.io/v1/storageclasses', {
      metadata: { name: 'sc1' },
      provisioner: 'example.com/p',
    })
    const r = await call('DELETE', '/apis/storage.k8s.io/v1/storageclasses/sc1')
    assert.equal(r.code, 200)
    assert.equal(r.body.kind, 'StorageClass')
  })

  test('an object held by a finalizer is answered marked, and goes when the finalizer does', async () => {
    await create(cms, { metadata: { name: 'cm5', finalizers: ['example.com/hold'] } })
    const r = await call('DELETE', `${cms}/cm5`)
    assert.equal(r.code, 200)
    assert.equal(r.body.kind, 'ConfigMap')
    assert.ok(r.body.metadata?.deletionTimestamp)
    assert.deepEqual(r.body.metadata?.finalizers, ['example.com/hold'])
    const again = await call('DELETE', `${cms}/cm5`)
    assert.equal(again.code, 200)
    assert.equal(again.body.kind, 'ConfigMap')
    const patched = await call(
      'PATCH',
      `${cms}/cm5`,
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    )
    assert.equal(patched.code, 200, JSON.stringify(patched.body))
    assert.equal((await call('GET', `${cms}/cm5`)).code, 404)
  })

  test('orphanDependents=false on an object that stays answers 202; foreground propagation 200', async () => {
    await create(cms, { metadata: { name: 'cm6', finalizers: ['example.com/hold'] } })
    const r = await call('DELETE', `${cms}/cm6`, { orphanDependents: false })
    assert.equal(r.code, 202)
    assert.equal(r.body.kind, 'ConfigMap')
    await create(cms, { metadata: { name: 'cm7' } })
    const fg = await call('DELETE', `${cms}/cm7`, { propagationPolicy: 'Foreground' })
    assert.equal(fg.code, 200)
    assert.equal(fg.body.kind, 'ConfigMap')
    assert.deepEqual(fg.body.metadata?.finalizers, ['foregroundDeletion'])
    // Gone at once with orphanDependents=false: 200 and the Status.
    await create(cms, { metadata: { name: 'cm8' } })
    const now = await call('DELETE', `${cms}/cm8`, { orphanDependents: false })
    assert.equal(now.code, 200)
    assert.equal(now.body.kind, 'Status')
  })

  test('deletecollection answers the list of what it deleted, as listed', async () => {
    const ns = '/api/v1/namespaces/dc/configmaps'
    await create('/api/v1/namespaces', { metadata: { name: 'dc' } })
    const a = await create(ns, { metadata: { name: 'a', labels: { x: 'y' } } })
    await create(ns, { metadata: { name: 'b', labels: { x: 'y' } } })
    await create(ns, { metadata: { name: 'c' } })
    const r = await call('DELETE', `${ns}?labelSelector=x%3Dy`)
    assert.equal(r.code, 200)
    assert.equal(r.body.kind, 'ConfigMapList')
    const items = r.body.items as { metadata: Record<string, unknown> }[]
    assert.deepEqual(
      items.map((i) => i.metadata.name),
      ['a', 'b'],
    )
    assert.equal(items[0]?.metadata.resourceVersion, a.metadata?.resourceVersion)
    const left = (await call('GET', ns)).body.items as { metadata: { name: string } }[]
    assert.deepEqual(
      left.map((i) => i.metadata.name),
      ['c'],
    )
  })

  test('kubectl delete prints what it deleted', { skip: kubectlMissing }, async () => {
    await create(cms, { metadata: { name: 'kc' } })
    await create('/api/v1/namespaces/default/pods', {
      metadata: { name: 'kp' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    })
    await create('/apis/apps/v1/namespaces/default/deployments', {
      metadata: { name: 'kd' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    })
    for (const [args, out] of [
      [['delete', 'configmap', 'kc'], 'configmap "kc" deleted\n'],
      [['delete', 'pod', 'kp'], 'pod "kp" deleted\n'],
      [['delete', 'deployment', 'kd'], 'deployment.apps "kd" deleted\n'],
    ] as const) {
      const r = await c.kubectl(args)
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, out)
    }
    await create(cms, { metadata: { name: 'kc2' } })
    const dry = await c.kubectl(['delete', 'configmap', 'kc2', '--dry-run=server'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.equal(dry.stdout, 'configmap "kc2" deleted (server dry run)\n')
  })
})
