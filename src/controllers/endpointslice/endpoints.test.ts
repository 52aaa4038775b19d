import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Endpoints, EndpointSubset, Pod, Service } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiStatusError, IndexedCache, Lister } from '../../client/index.ts'
import { EndpointsController, truncateSubsets, type EndpointsControl } from './endpoints.ts'

function makeService(
  o: {
    selector?: Record<string, string> | null
    clusterIP?: string
    publishNotReadyAddresses?: boolean
    ports?: boolean
  } = {},
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'svc-uid',
      creationTimestamp: '2026-01-01T10:00:00Z',
      labels: { tier: 'front' },
    },
    spec: {
      ...(o.selector === null ? {} : { selector: o.selector ?? { app: 'web' } }),
      clusterIP: o.clusterIP ?? '10.43.0.10',
      ipFamilies: ['IPv4'],
      ...(o.ports === false
        ? {}
        : {
            ports: [
              { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' },
              { name: 'metrics', port: 9100, protocol: 'TCP', targetPort: 9100 },
            ],
          }),
      ...(o.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
    },
  }
}

function makePod(name: string, ip: string, o: { ready?: boolean; deleting?: boolean } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      labels: { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T11:59:00Z' } : {}),
    },
    spec: {
      nodeName: 'n1',
      containers: [
        { name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] },
      ],
    },
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [
        {
          type: 'Ready',
          status: o.ready === false ? 'False' : 'True',
          lastTransitionTime: '2026-01-01T11:00:00Z',
        },
      ],
    },
  }
}

class FakeControl implements EndpointsControl {
  created: Endpoints[] = []
  updated: Endpoints[] = []
  deleted: string[] = []
  async create(_ns: string, ep: Endpoints): Promise<Endpoints> {
    const made = structuredClone(ep)
    made.metadata = { ...made.metadata, uid: 'ep-uid', resourceVersion: '10' }
    this.created.push(made)
    return made
  }
  async update(ep: Endpoints): Promise<Endpoints> {
    const made = structuredClone(ep)
    made.metadata = {
      ...made.metadata,
      resourceVersion: String(Number(ep.metadata?.resourceVersion ?? 0) + 1),
    }
    this.updated.push(made)
    return made
  }
  async delete(_ns: string, name: string): Promise<void> {
    this.deleted.push(name)
    await Promise.resolve()
  }
}

function setup(o: { services?: Service[]; pods?: Pod[]; endpoints?: Endpoints[] }) {
  const services = new IndexedCache<Service>()
  for (const s of o.services ?? [makeService()]) services.set(s)
  const pods = IndexedCache.of<Pod>(o.pods ?? [])
  const endpoints = IndexedCache.of<Endpoints>(o.endpoints ?? [])
  const control = new FakeControl()
  const events: string[] = []
  const controller = new EndpointsController({
    services: new Lister(services),
    pods: new Lister(pods),
    endpoints: new Lister(endpoints),
    control,
    recorder: { event: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`) },
    clock: new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0)),
  })
  return { controller, control, events, pods, endpoints, services }
}

const address = (name: string, ip: string) => ({
  ip,
  nodeName: 'n1',
  targetRef: { kind: 'Pod', namespace: 'default', name, uid: `${name}-uid` },
})

test('ready pods are addresses and the others notReadyAddresses, on the ports they serve, named as the Service', async () => {
  const { controller, control } = setup({
    pods: [
      makePod('b', '10.42.0.10'),
      makePod('a', '10.42.0.9'),
      makePod('c', '10.42.0.11', { ready: false }),
    ],
  })
  await controller.reconcile('default/web')
  assert.equal(control.created.length, 1)
  const ep = control.created[0] as Endpoints
  assert.equal(ep.metadata?.name, 'web')
  assert.equal(ep.metadata?.namespace, 'default')
  assert.deepEqual(ep.metadata?.labels, { tier: 'front' })
  assert.deepEqual(ep.metadata?.annotations, {
    'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T10:00:00Z',
  })
  assert.deepEqual(ep.subsets, [
    {
      addresses: [address('a', '10.42.0.9'), address('b', '10.42.0.10')],
      notReadyAddresses: [address('c', '10.42.0.11')],
      ports: [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'metrics', port: 9100, protocol: 'TCP' },
      ],
    },
  ])
})

test('terminating pods are left out, unless the Service publishes not-ready addresses: then every pod is an address', async () => {
  const pods = [makePod('a', '10.42.0.1'), makePod('b', '10.42.0.2', { deleting: true, ready: false })]
  const plain = setup({ pods })
  await plain.controller.reconcile('default/web')
  assert.deepEqual(
    plain.control.created[0]?.subsets?.map((s) => [s.addresses?.length, s.notReadyAddresses?.length]),
    [[1, undefined]],
  )
  const publishing = setup({ services: [makeService({ publishNotReadyAddresses: true })], pods })
  await publishing.controller.reconcile('default/web')
  assert.deepEqual(
    publishing.control.created[0]?.subsets?.map((s) => [s.addresses?.length, s.notReadyAddresses?.length]),
    [[2, undefined]],
  )
})

test('unchanged endpoints are not written again; a change updates them at their resourceVersion', async () => {
  const s = setup({ pods: [makePod('a', '10.42.0.1')] })
  await s.controller.reconcile('default/web')
  s.endpoints.set(s.control.created[0] as Endpoints)
  await s.controller.reconcile('default/web')
  assert.equal(s.control.updated.length, 0)
  s.pods.set(makePod('b', '10.42.0.2'))
  await s.controller.reconcile('default/web')
  assert.equal(s.control.updated.length, 1)
  const ep = s.control.updated[0] as Endpoints
  assert.equal(ep.metadata?.uid, 'ep-uid')
  assert.deepEqual(
    ep.subsets?.[0]?.addresses?.map((a) => a.ip),
    ['10.42.0.1', '10.42.0.2'],
  )
  // The cache has not seen the update yet: the next sync waits for it.
  await assert.rejects(s.controller.reconcile('default/web'), /cache is behind/)
  s.endpoints.set(ep)
  await s.controller.reconcile('default/web')
  assert.equal(s.control.updated.length, 1)
})

test('a headless Service without ports gets its addresses alone, and the headless label', async () => {
  const { controller, control } = setup({
    services: [makeService({ clusterIP: 'None', ports: false })],
    pods: [makePod('a', '10.42.0.1')],
  })
  await controller.reconcile('default/web')
  const ep = control.created[0] as Endpoints
  assert.deepEqual(ep.subsets, [{ addresses: [address('a', '10.42.0.1')] }])
  assert.deepEqual(ep.metadata?.labels, { tier: 'front', 'service.kubernetes.io/headless': '' })
})

test('more than 1000 addresses are truncated to 1000 and annotated so', async () => {
  const pods = Array.from({ length: 1100 }, (_, i) =>
    makePod(`p${i}`, `10.42.${Math.floor(i / 250)}.${i % 250}`),
  )
  const { controller, control } = setup({ pods })
  await controller.reconcile('default/web')
  const ep = control.created[0] as Endpoints
  assert.equal(ep.subsets?.[0]?.addresses?.length, 1000)
  assert.equal(ep.metadata?.annotations?.['endpoints.kubernetes.io/over-capacity'], 'truncated')
})

const ips = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ ip: `${prefix}.${i}` }))
const truncateCases: { name: string; subsets: EndpointSubset[]; want: [number, number][] }[] = [
  {
    name: 'not-ready addresses go first',
    subsets: [{ addresses: ips(900, '10.0.0'), notReadyAddresses: ips(200, '10.0.1') }],
    want: [[900, 100]],
  },
  {
    name: 'too many ready addresses: every not-ready one goes and each subset keeps its share',
    subsets: [
      { addresses: ips(900, '10.0.0'), notReadyAddresses: ips(10, '10.0.1') },
      { addresses: ips(300, '10.0.2') },
    ],
    want: [
      [750, 0],
      [250, 0],
    ],
  },
]
for (const c of truncateCases) {
  test(`truncating: ${c.name}`, () => {
    const { subsets, truncated } = truncateSubsets(c.subsets, 1000)
    assert.equal(truncated, true)
    assert.deepEqual(
      subsets.map((s) => [s.addresses?.length ?? 0, s.notReadyAddresses?.length ?? 0]),
      c.want,
    )
  })
}

test('when the Service goes its Endpoints go; already gone is fine', async () => {
  const s = setup({ services: [] })
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.control.deleted, ['web'])
  s.control.delete = () =>
    Promise.reject(new ApiStatusError({ code: 404, reason: 'NotFound', message: 'not found' }, 404))
  await s.controller.reconcile('default/web')
})

test('a Service without a selector is left alone', async () => {
  const mine: Endpoints = {
    metadata: { name: 'web', namespace: 'default' },
    subsets: [{ addresses: [{ ip: '192.168.0.1' }] }],
  }
  const { controller, control } = setup({
    services: [makeService({ selector: null })],
    pods: [makePod('a', '10.42.0.1')],
    endpoints: [mine],
  })
  await controller.reconcile('default/web')
  assert.deepEqual([control.created, control.updated, control.deleted], [[], [], []])
})

test('Endpoints found at start are checked once, and a deleted one is looked at again', () => {
  const { controller } = setup({})
  const h = controller.endpointsHandler()
  h.add?.({ metadata: { name: 'orphan', namespace: 'default' } }, true)
  h.add?.({ metadata: { name: 'later', namespace: 'default' } }, false)
  h.add?.(
    {
      metadata: {
        name: 'lock',
        namespace: 'kube-system',
        annotations: { 'control-plane.alpha.kubernetes.io/leader': '{}' },
      },
    },
    true,
  )
  assert.equal(controller.queue.length, 1)
  h.delete?.({ metadata: { name: 'web', namespace: 'default' } }, false)
  assert.equal(controller.queue.length, 2)
})

test('a failed create is reported as an event', async () => {
  const s = setup({ pods: [makePod('a', '10.42.0.1')] })
  s.control.create = () => Promise.reject(new Error('quota'))
  await assert.rejects(s.controller.reconcile('default/web'), /quota/)
  assert.deepEqual(s.events, [
    'Warning FailedToCreateEndpoint Failed to create endpoint for service default/web: quota',
  ])
})
