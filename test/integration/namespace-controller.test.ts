import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { ReplicaSet } from '../../src/api/generated/types/apps-v1.ts'
import type { ConfigMap, Namespace, Pod, Secret, Service } from '../../src/api/generated/types/core-v1.ts'
import { builtin, isNotFound, ResourceClient, type RestClient } from '../../src/client/index.ts'
import { kubectlMissing, type TestApiServer } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/**
 * The namespace controller against a real apiserver, with the ReplicaSet controller running too
 * (it tries to replace the pods the namespace controller deletes, and must be refused).
 * Each namespace deletion waits the controller's 5 s grace period, so both cases run at once.
 */
describe('the namespace controller against a real apiserver', { skip: kubectlMissing ?? false }, () => {
  let c: TestApiServer
  let rest: RestClient
  let cp: TestControlPlane
  let namespaces: ResourceClient<Namespace>
  let configMaps: ResourceClient<ConfigMap>

  const create = async <T extends { metadata?: { namespace?: string } }>(
    ref: ReturnType<typeof builtin>,
    obj: T,
  ): Promise<void> => {
    await new ResourceClient<T>(rest, ref).create(obj)
  }

  before(async () => {
    cp = await startTestControlPlane({ leaderElect: false, controllers: ['namespace', 'replicaset'] })
    c = cp.api
    rest = cp.rest
    namespaces = new ResourceClient(rest, builtin('', 'v1', 'namespaces'))
    configMaps = new ResourceClient(rest, builtin('', 'v1', 'configmaps'))
  })
  after(async () => {
    await cp.stop()
  })

  /** A namespace full of the usual things: ConfigMaps, a Secret, a Service, a ReplicaSet and its pods. */
  async function fill(ns: string): Promise<void> {
    await namespaces.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })
    for (const name of ['one', 'two']) {
      await create<ConfigMap>(builtin('', 'v1', 'configmaps'), {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: ns },
        data: { k: name },
      })
    }
    await create<Secret>(builtin('', 'v1', 'secrets'), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'token', namespace: ns },
      stringData: { password: 'x' },
    })
    await create<Service>(builtin('', 'v1', 'services'), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    })
    await create<ReplicaSet>(builtin('apps', 'v1', 'replicasets'), {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'registry.k8s.io/nginx:1.27' }] },
        },
      },
    })
    const pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    await until(async () => (await pods.list(ns)).items.length === 2, 10_000, `the pods of ${ns}/web`)
  }

  test('a deleted namespace is emptied and goes; one with finalized content waits for it', async () => {
    await Promise.all([fill('doomed'), fill('held')])
    await configMaps.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'guarded', namespace: 'held', finalizers: ['example.com/x'] },
    })

    // Both deletions run at once: each waits the controller's grace period.
    const held = await c.kubectl(['delete', 'namespace', 'held', '--wait=false'])
    assert.equal(held.code, 0, held.stderr)
    const doomed = c.kubectl(['delete', 'namespace', 'doomed'])

    // The held one: the ConfigMap's finalizer keeps it, and its conditions say so.
    const conditions = await until(
      async () => {
        const ns = await namespaces.get('', 'held')
        const cs = ns.status?.conditions ?? []
        return cs.some((x) => x.type === 'NamespaceFinalizersRemaining' && x.status === 'True') && ns
      },
      15_000,
      'NamespaceFinalizersRemaining on held',
    )
    assert.equal(conditions.status?.phase, 'Terminating')
    const byType = new Map((conditions.status?.conditions ?? []).map((x) => [x.type, x]))
    assert.deepEqual(
      [...byType.values()].map((x) => `${x.type}=${x.status} ${x.reason ?? ''}: ${x.message ?? ''}`),
      [
        'NamespaceDeletionDiscoveryFailure=False ResourcesDiscovered: All resources successfully discovered',
        'NamespaceDeletionGroupVersionParsingFailure=False ParsedGroupVersions: All legacy kube types successfully parsed',
        'NamespaceDeletionContentFailure=False ContentDeleted: All content successfully deleted, may be waiting on finalization',
        'NamespaceContentRemaining=True SomeResourcesRemain: Some resources are remaining: configmaps. has 1 resource instances',
        'NamespaceFinalizersRemaining=True SomeFinalizersRemain: Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances',
      ],
    )
    const guarded = await configMaps.get('held', 'guarded')
    assert.ok(guarded.metadata?.deletionTimestamp, 'the finalized ConfigMap is being deleted')
    assert.deepEqual((await configMaps.list('held')).items.length, 1, 'everything else in held is gone')

    // The other one went completely, and kubectl's wait returned.
    const r = await doomed
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /namespace "doomed" deleted/)
    const get = await c.kubectl(['get', 'namespace', 'doomed'])
    assert.notEqual(get.code, 0)
    assert.match(get.stderr, /namespaces "doomed" not found/)
    for (const resource of ['configmaps', 'secrets', 'services', 'pods'])
      assert.equal(
        (await rest.request<{ items: unknown[] }>('GET', `/api/v1/namespaces/doomed/${resource}`)).items
          .length,
        0,
        resource,
      )
    assert.equal(
      (await rest.request<{ items: unknown[] }>('GET', '/apis/apps/v1/namespaces/doomed/replicasets')).items
        .length,
      0,
    )

    // Its finalizer done, the held namespace goes too.
    assert.equal((await namespaces.get('', 'held')).status?.phase, 'Terminating')
    await configMaps.patch('held', 'guarded', 'merge', { metadata: { finalizers: null } })
    await until(
      () =>
        namespaces.get('', 'held').then(
          () => false,
          (err: unknown) => isNotFound(err),
        ),
      15_000,
      'held to go',
    )
  })
})
