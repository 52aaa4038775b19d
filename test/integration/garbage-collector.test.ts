import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { ReplicaSet } from '../../src/api/generated/types/apps-v1.ts'
import type { ConfigMap, Pod } from '../../src/api/generated/types/core-v1.ts'
import { builtin, isNotFound, ResourceClient, type RestClient } from '../../src/client/index.ts'
import { kubectlMissing, type TestApiServer } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

const ns = 'gc'

const replicaSet = (name: string): ReplicaSet => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, namespace: ns },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'web', image: 'registry.k8s.io/nginx:1.27' }] },
    },
  },
})

describe('the garbage collector against a real apiserver', () => {
  let c: TestApiServer
  let rest: RestClient
  let cp: TestControlPlane
  let rss: ResourceClient<ReplicaSet>
  let pods: ResourceClient<Pod>
  let configMaps: ResourceClient<ConfigMap>

  const podsOf = async (app: string) => (await pods.list(ns, { labelSelector: `app=${app}` })).items
  const getRS = (name: string) =>
    rss.get(ns, name).catch((err: unknown) => {
      if (isNotFound(err)) return undefined
      throw err
    })
  /** A ReplicaSet whose 3 pods exist. */
  const runningRS = async (name: string): Promise<ReplicaSet> => {
    const rs = await rss.create(replicaSet(name))
    await until(async () => (await podsOf(name)).length === 3, 15_000, `3 pods of ${name}`)
    return rs
  }

  before(async () => {
    cp = await startTestControlPlane({
      leaderElect: false,
      controllers: ['replicaset', 'garbagecollector'],
      namespaces: [ns],
    })
    c = cp.api
    rest = cp.rest
    rss = new ResourceClient(rest, builtin('apps', 'v1', 'replicasets'))
    pods = new ResourceClient(rest, builtin('', 'v1', 'pods'))
    configMaps = new ResourceClient(rest, builtin('', 'v1', 'configmaps'))
  })
  after(async () => {
    await cp.stop()
  })

  test('background: the ReplicaSet goes at once, its pods follow', async () => {
    await runningRS('bg')
    await rss.delete(ns, 'bg', { propagationPolicy: 'Background' })
    assert.equal(await getRS('bg'), undefined)
    await until(async () => (await podsOf('bg')).length === 0, 15_000, 'the pods to be deleted')
  })

  test('foreground: the ReplicaSet stays, with the foregroundDeletion finalizer, until its pods are gone', async () => {
    await runningRS('fg')
    await rss.delete(ns, 'fg', { propagationPolicy: 'Foreground' })
    const deleting = await getRS('fg')
    assert.ok(deleting?.metadata?.deletionTimestamp, 'the ReplicaSet has a deletionTimestamp')
    assert.deepEqual(deleting.metadata.finalizers, ['foregroundDeletion'])
    // Watch it to the end: while it is there, pods may be there; once it is gone, none is left.
    await until(async () => (await getRS('fg')) === undefined, 15_000, 'the ReplicaSet to go')
    assert.deepEqual(await podsOf('fg'), [])
  })

  test('orphan: the ReplicaSet goes and its pods stay, with no ownerReferences', async () => {
    await runningRS('orphan')
    await rss.delete(ns, 'orphan', { propagationPolicy: 'Orphan' })
    await until(async () => (await getRS('orphan')) === undefined, 15_000, 'the ReplicaSet to go')
    const left = await podsOf('orphan')
    assert.equal(left.length, 3)
    for (const p of left) assert.equal(p.metadata?.ownerReferences, undefined, p.metadata?.name)
  })

  test('a ConfigMap whose only owner does not exist is deleted; one with another, existing owner loses only the dangling reference', async () => {
    const keeper = await configMaps.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'keeper', namespace: ns },
    })
    const ghost = { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: randomUUID() }
    const keeperRef = { apiVersion: 'v1', kind: 'ConfigMap', name: 'keeper', uid: keeper.metadata?.uid ?? '' }
    await configMaps.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'lonely', namespace: ns, ownerReferences: [ghost] },
    })
    await configMaps.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'shared', namespace: ns, ownerReferences: [keeperRef, ghost] },
    })
    await until(
      () =>
        configMaps.get(ns, 'lonely').then(
          () => false,
          (err: unknown) => isNotFound(err),
        ),
      15_000,
      'the ConfigMap with a missing owner to be deleted',
    )
    const shared = await until(
      async () => {
        const cm = await configMaps.get(ns, 'shared')
        return cm.metadata?.ownerReferences?.length === 1 ? cm : undefined
      },
      15_000,
      'the dangling reference to be removed',
    )
    assert.deepEqual(shared.metadata?.ownerReferences, [keeperRef])
    await configMaps.get(ns, 'keeper')
  })

  test(
    'kubectl delete rs --cascade=background|foreground|orphan leaves the same',
    { skip: kubectlMissing ?? false },
    async () => {
      await Promise.all(['k-bg', 'k-fg', 'k-orphan'].map(runningRS))

      const bg = await c.kubectl(['delete', 'rs', 'k-bg', '-n', ns, '--cascade=background'])
      assert.equal(bg.code, 0, bg.stderr)
      assert.match(bg.stdout, /replicaset.apps "k-bg" deleted/)
      assert.equal(await getRS('k-bg'), undefined)
      await until(async () => (await podsOf('k-bg')).length === 0, 15_000, 'the pods of k-bg to be deleted')

      // kubectl waits for the ReplicaSet to be gone, which it is only after its pods.
      const fg = await c.kubectl(['delete', 'rs', 'k-fg', '-n', ns, '--cascade=foreground'])
      assert.equal(fg.code, 0, fg.stderr)
      assert.equal(await getRS('k-fg'), undefined)
      assert.deepEqual(await podsOf('k-fg'), [])

      const orphan = await c.kubectl(['delete', 'rs', 'k-orphan', '-n', ns, '--cascade=orphan'])
      assert.equal(orphan.code, 0, orphan.stderr)
      assert.equal(await getRS('k-orphan'), undefined)
      const left = await podsOf('k-orphan')
      assert.equal(left.length, 3)
      for (const p of left) assert.equal(p.metadata?.ownerReferences, undefined, p.metadata?.name)
    },
  )
})
