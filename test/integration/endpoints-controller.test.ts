import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { ReplicaSet } from '../../src/api/generated/types/apps-v1.ts'
import type { Endpoints, Pod, Service } from '../../src/api/generated/types/core-v1.ts'
import type { EndpointSlice } from '../../src/api/generated/types/discovery-v1.ts'
import { builtin, isNotFound, ResourceClient, type RestClient } from '../../src/client/index.ts'
import { allControllers } from '../../src/controllers/index.ts'
import { kubectlMissing, type TestApiServer } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

const ns = 'shop'

const replicaSet = (replicas: number): ReplicaSet => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web', namespace: ns },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'registry.k8s.io/nginx:1.27',
            ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          },
        ],
      },
    },
  },
})

const service = (name: string, selector?: Record<string, string>): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: {
    ...(selector ? { selector } : {}),
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }],
  },
})

describe('the EndpointSlice and Endpoints controllers against a real apiserver', () => {
  let c: TestApiServer
  let rest: RestClient
  let cp: TestControlPlane
  let pods: ResourceClient<Pod>
  let services: ResourceClient<Service>
  let endpoints: ResourceClient<Endpoints>
  let slices: ResourceClient<EndpointSlice>

  const slicesOf = async (svc: string) =>
    (await slices.list(ns, { labelSelector: `kubernetes.io/service-name=${svc}` })).items
  const endpointsOf = (svc: string) =>
    endpoints.get(ns, svc).catch((err: unknown) => {
      if (isNotFound(err)) return undefined
      throw err
    })
  const readyNames = (s: EndpointSlice | undefined) =>
    (s?.endpoints ?? []).filter((e) => e.conditions?.ready).map((e) => e.targetRef?.name ?? '')

  before(async () => {
    cp = await startTestControlPlane({ leaderElect: false, namespaces: [ns] })
    c = cp.api
    rest = cp.rest
    pods = new ResourceClient(rest, builtin('', 'v1', 'pods'))
    services = new ResourceClient(rest, builtin('', 'v1', 'services'))
    endpoints = new ResourceClient(rest, builtin('', 'v1', 'endpoints'))
    slices = new ResourceClient(rest, builtin('discovery.k8s.io', 'v1', 'endpointslices'))
  })
  after(async () => {
    await cp.stop()
  })

  test('three ready pods behind a Service make one EndpointSlice and one Endpoints; scaled to five, the same slice grows', async () => {
    const rss = new ResourceClient<ReplicaSet>(rest, builtin('apps', 'v1', 'replicasets'))
    await rss.create(replicaSet(3))
    const svc = await services.create(service('web', { app: 'web' }))

    const slice = await until(
      async () => {
        const list = await slicesOf('web')
        return list.length === 1 && readyNames(list[0]).length === 3 ? list[0] : undefined
      },
      15_000,
      'a slice of 3 ready endpoints',
    )
    assert.match(slice.metadata?.name ?? '', /^web-[a-z0-9]{5}$/)
    assert.equal(slice.addressType, 'IPv4')
    assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }])
    assert.equal(
      slice.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'],
      'endpointslice-controller.k8s.io',
    )
    assert.deepEqual(
      slice.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]),
      [['Service', 'web', svc.metadata?.uid, true]],
    )
    for (const e of slice.endpoints ?? []) assert.match(e.addresses[0] ?? '', /^10\.42\./)

    const ep = await until(
      async () => {
        const e = await endpointsOf('web')
        return e?.subsets?.[0]?.addresses?.length === 3 ? e : undefined
      },
      15_000,
      'Endpoints with 3 addresses',
    )
    assert.deepEqual(ep.subsets?.[0]?.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }])

    await rss.patch(ns, 'web', 'merge', { spec: { replicas: 5 } })
    const grown = await until(
      async () => {
        const list = await slicesOf('web')
        return list.length === 1 && readyNames(list[0]).length === 5 ? list[0] : undefined
      },
      15_000,
      'the slice to show 5 ready endpoints',
    )
    assert.equal(grown.metadata?.name, slice.metadata?.name, 'updated in place, not replaced')
    await until(
      async () => (await endpointsOf('web'))?.subsets?.[0]?.addresses?.length === 5,
      15_000,
      'Endpoints with 5 addresses',
    )
  })

  test('a deleted pod leaves the slice and the Endpoints', async () => {
    const victim = (await pods.list(ns, { labelSelector: 'app=web' })).items[0]?.metadata?.name ?? ''
    await pods.delete(ns, victim)
    await until(
      async () => {
        const [s] = await slicesOf('web')
        const e = await endpointsOf('web')
        const inEndpoints = (e?.subsets ?? []).some((ss) =>
          [...(ss.addresses ?? []), ...(ss.notReadyAddresses ?? [])].some(
            (a) => a.targetRef?.name === victim,
          ),
        )
        return (
          s !== undefined && !(s.endpoints ?? []).some((x) => x.targetRef?.name === victim) && !inEndpoints
        )
      },
      15_000,
      `pod ${victim} to leave the endpoints`,
    )
  })

  test('a Service without a selector gets neither EndpointSlices nor Endpoints', async () => {
    await services.create(service('manual'))
    // A Service created after it has its slice once the controllers have looked at both.
    await services.create(service('probe', { app: 'nothing' }))
    const [placeholder] = await until(
      async () => {
        const list = await slicesOf('probe')
        return list.length === 1 ? list : undefined
      },
      15_000,
      'the placeholder slice of a Service selecting no pods',
    )
    assert.deepEqual(placeholder?.endpoints ?? [], [])
    await until(async () => (await endpointsOf('probe')) !== undefined, 15_000, 'Endpoints of probe')
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual(await slicesOf('manual'), [])
    assert.equal(await endpointsOf('manual'), undefined)
  })

  test('kubectl lists the EndpointSlices and the Endpoints', { skip: kubectlMissing ?? false }, async () => {
    const s = await c.kubectl([
      'get',
      'endpointslices',
      '-n',
      ns,
      '-l',
      'kubernetes.io/service-name=web',
      '--no-headers',
    ])
    assert.equal(s.code, 0, s.stderr)
    assert.match(s.stdout, /^web-[a-z0-9]{5}\s+IPv4\s+8080\s+10\.42\.\d+\.\d+,/)
    const e = await c.kubectl(['get', 'endpoints', 'web', '-n', ns, '--no-headers'])
    assert.equal(e.code, 0, e.stderr)
    assert.match(e.stdout, /^web\s+10\.42\.\d+\.\d+:8080,/)
  })

  test('deleting the Service deletes its Endpoints, and its slices with it', async () => {
    await services.delete(ns, 'web')
    await until(async () => (await endpointsOf('web')) === undefined, 15_000, 'the Endpoints to go')
    if (!allControllers.some((d) => d.name === 'garbagecollector')) return
    await until(async () => (await slicesOf('web')).length === 0, 15_000, 'the slices to be collected')
  })
})
