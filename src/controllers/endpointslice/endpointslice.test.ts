import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node, Pod, Service } from '../../api/generated/types/core-v1.ts'
import type { EndpointSlice } from '../../api/generated/types/discovery-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { IndexedCache, Lister } from '../../client/index.ts'
import {
  EndpointSliceController,
  endpointSliceControllerName,
  planEndpointSlices,
  type EndpointSliceControl,
} from './endpointslice.ts'

function makeService(
  o: {
    name?: string
    uid?: string
    selector?: Record<string, string> | null
    clusterIP?: string
    type?: string
    publishNotReadyAddresses?: boolean
    labels?: Record<string, string>
    ports?: NonNullable<Service['spec']>['ports']
  } = {},
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: o.name ?? 'web',
      namespace: 'default',
      uid: o.uid ?? 'svc-uid',
      creationTimestamp: '2026-01-01T10:00:00Z',
      ...(o.labels ? { labels: o.labels } : {}),
    },
    spec: {
      ...(o.selector === null ? {} : { selector: o.selector ?? { app: 'web' } }),
      clusterIP: o.clusterIP ?? '10.43.0.10',
      ipFamilies: ['IPv4'],
      ports: o.ports ?? [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }],
      ...(o.type ? { type: o.type } : {}),
      ...(o.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
    },
  }
}

function makePod(
  name: string,
  o: {
    ip?: string | null
    ready?: boolean
    deleting?: boolean
    node?: string
    phase?: string
    labels?: Record<string, string>
    hostname?: string
    subdomain?: string
    containerPort?: number | null
  } = {},
): Pod {
  const ip = o.ip === undefined ? `10.42.0.${name.replace(/\D/g, '') || '1'}` : o.ip
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      resourceVersion: '1',
      labels: o.labels ?? { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T11:59:00Z' } : {}),
    },
    spec: {
      containers: [
        {
          name: 'c',
          image: 'nginx',
          ...(o.containerPort === null
            ? {}
            : { ports: [{ name: 'http', containerPort: o.containerPort ?? 8080, protocol: 'TCP' }] }),
        },
      ],
      ...(o.node ? { nodeName: o.node } : {}),
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
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

/** Stores what it is given, as an apiserver would (name from generateName, uid, resourceVersion). */
class FakeControl implements EndpointSliceControl {
  created: EndpointSlice[] = []
  updated: EndpointSlice[] = []
  deleted: string[] = []
  #n = 0

  async create(_ns: string, slice: EndpointSlice): Promise<EndpointSlice> {
    const n = this.#n++
    const made = structuredClone(slice)
    made.metadata = {
      ...made.metadata,
      name: `${slice.metadata?.generateName ?? ''}${'abcde'.slice(0, 4)}${n}`,
      uid: `slice-uid-${n}`,
      resourceVersion: String(100 + n),
    }
    this.created.push(made)
    return made
  }
  async update(slice: EndpointSlice): Promise<EndpointSlice> {
    const made = structuredClone(slice)
    made.metadata = { ...made.metadata, resourceVersion: String(200 + this.#n++) }
    this.updated.push(made)
    return made
  }
  async delete(_ns: string, name: string): Promise<void> {
    this.deleted.push(name)
  }
}

function setup(o: { services?: Service[]; pods?: Pod[]; slices?: EndpointSlice[]; nodes?: Node[] }) {
  const services = new IndexedCache<Service>()
  for (const s of o.services ?? [makeService()]) services.set(s)
  const pods = IndexedCache.of<Pod>(o.pods ?? [])
  const slices = IndexedCache.of<EndpointSlice>(o.slices ?? [])
  const nodes = IndexedCache.of<Node>(o.nodes ?? [])
  const control = new FakeControl()
  const events: string[] = []
  const controller = new EndpointSliceController({
    services: new Lister(services),
    pods: new Lister(pods),
    nodes: new Lister(nodes),
    slices: new Lister(slices),
    control,
    recorder: { event: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`) },
    clock: new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0)),
  })
  return { controller, control, events, services, pods, slices }
}

const readyEndpoint = (name: string, ip: string) => ({
  addresses: [ip],
  conditions: { ready: true, serving: true, terminating: false },
  targetRef: { kind: 'Pod', namespace: 'default', name, uid: `${name}-uid` },
})

test('a Service selecting three ready pods gets one slice of three ready endpoints, its port resolved by name', async () => {
  const { controller, control } = setup({ pods: [makePod('p1'), makePod('p2'), makePod('p3')] })
  await controller.reconcile('default/web')
  assert.equal(control.created.length, 1)
  const slice = control.created[0] as EndpointSlice
  assert.equal(slice.metadata?.generateName, 'web-')
  assert.deepEqual(slice.metadata?.labels, {
    'kubernetes.io/service-name': 'web',
    'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
  })
  assert.deepEqual(slice.metadata?.ownerReferences, [
    {
      apiVersion: 'v1',
      kind: 'Service',
      name: 'web',
      uid: 'svc-uid',
      controller: true,
      blockOwnerDeletion: true,
    },
  ])
  // First sync of a Service: its creation is the trigger.
  assert.deepEqual(slice.metadata?.annotations, {
    'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T10:00:00Z',
  })
  assert.equal(slice.addressType, 'IPv4')
  assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }])
  assert.deepEqual(slice.endpoints, [
    readyEndpoint('p1', '10.42.0.1'),
    readyEndpoint('p2', '10.42.0.2'),
    readyEndpoint('p3', '10.42.0.3'),
  ])
})

const conditionCases = [
  {
    name: 'a pod that is not ready is neither ready nor serving',
    pod: makePod('p1', { ready: false }),
    want: { ready: false, serving: false, terminating: false },
  },
  {
    name: 'a ready pod being deleted is serving and terminating but not ready',
    pod: makePod('p1', { deleting: true }),
    want: { ready: false, serving: true, terminating: true },
  },
  {
    name: 'with publishNotReadyAddresses a pod that is not ready is published ready',
    pod: makePod('p1', { ready: false }),
    svc: makeService({ publishNotReadyAddresses: true }),
    want: { ready: true, serving: false, terminating: false },
  },
  {
    name: 'with publishNotReadyAddresses even a terminating pod is ready',
    pod: makePod('p1', { ready: false, deleting: true }),
    svc: makeService({ publishNotReadyAddresses: true }),
    want: { ready: true, serving: false, terminating: true },
  },
]
for (const c of conditionCases) {
  test(c.name, () => {
    const plan = planEndpointSlices({
      service: c.svc ?? makeService(),
      pods: [c.pod],
      slices: [],
      node: () => undefined,
      maxEndpointsPerSlice: 100,
      triggerTime: undefined,
    })
    assert.deepEqual(plan.create[0]?.endpoints?.[0]?.conditions, c.want)
  })
}

test('pods without an IP and finished pods are left out; the Service keeps an empty slice', () => {
  const plan = planEndpointSlices({
    service: makeService(),
    pods: [
      makePod('p1', { ip: null }),
      makePod('p2', { phase: 'Succeeded' }),
      makePod('p3', { phase: 'Failed' }),
    ],
    slices: [],
    node: () => undefined,
    maxEndpointsPerSlice: 100,
    triggerTime: undefined,
  })
  assert.equal(plan.create.length, 1)
  assert.deepEqual(plan.create[0]?.endpoints, [])
  assert.deepEqual(plan.create[0]?.ports, [])
  assert.equal(
    plan.create[0]?.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'],
    undefined,
  )
})

test('an endpoint names its node and the node zone, and the hostname when the pod sets the Service as subdomain', () => {
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
  }
  const plan = planEndpointSlices({
    service: makeService(),
    pods: [
      makePod('p1', { node: 'n1', hostname: 'db-0', subdomain: 'web' }),
      makePod('p2', { node: 'n1', hostname: 'other', subdomain: 'elsewhere' }),
    ],
    slices: [],
    node: (n) => (n === 'n1' ? node : undefined),
    maxEndpointsPerSlice: 100,
    triggerTime: undefined,
  })
  const [e1, e2] = plan.create[0]?.endpoints ?? []
  assert.equal(e1?.nodeName, 'n1')
  assert.equal(e1?.zone, 'zone-a')
  assert.equal(e1?.hostname, 'db-0')
  assert.equal(e2?.hostname, undefined)
})

test('a pod on a Node not known yet is left out and the sync fails to be retried', async () => {
  const { controller, control } = setup({ pods: [makePod('p1'), makePod('p2', { node: 'ghost' })] })
  await assert.rejects(controller.reconcile('default/web'), /Node ghost not found/)
  assert.deepEqual(
    control.created[0]?.endpoints?.map((e) => e.targetRef?.name),
    ['p1'],
  )
})

test('250 endpoints fill slices of at most 100', () => {
  const pods = Array.from({ length: 250 }, (_, i) =>
    makePod(`p${i}`, { ip: `10.42.${Math.floor(i / 200)}.${i % 200}` }),
  )
  const plan = planEndpointSlices({
    service: makeService(),
    pods,
    slices: [],
    node: () => undefined,
    maxEndpointsPerSlice: 100,
    triggerTime: undefined,
  })
  assert.deepEqual(
    plan.create.map((s) => s.endpoints?.length),
    [100, 100, 50],
  )
})

test('pods serving different ports get a slice per set of ports', () => {
  const plan = planEndpointSlices({
    service: makeService(),
    pods: [makePod('p1'), makePod('p2', { containerPort: 9090 }), makePod('p3', { containerPort: null })],
    slices: [],
    node: () => undefined,
    maxEndpointsPerSlice: 100,
    triggerTime: undefined,
  })
  assert.deepEqual(
    plan.create.map((s) => [s.ports, s.endpoints?.map((e) => e.targetRef?.name)]),
    [
      [[{ name: 'http', port: 8080, protocol: 'TCP' }], ['p1']],
      [[{ name: 'http', port: 9090, protocol: 'TCP' }], ['p2']],
      [[], ['p3']],
    ],
  )
})

/** The slice the controller wrote, as the informer would hold it. */
async function firstSync(pods: Pod[], svc = makeService()) {
  const s = setup({ services: [svc], pods })
  await s.controller.reconcile('default/web')
  for (const c of s.control.created) s.slices.set(c)
  return s
}

test('scaling up adds the new endpoints to the same slice', async () => {
  const s = await firstSync([makePod('p1'), makePod('p2'), makePod('p3')])
  const name = s.control.created[0]?.metadata?.name
  s.pods.set(makePod('p4'))
  s.pods.set(makePod('p5'))
  await s.controller.reconcile('default/web')
  assert.equal(s.control.created.length, 1, 'no new slice')
  assert.equal(s.control.updated.length, 1)
  const updated = s.control.updated[0] as EndpointSlice
  assert.equal(updated.metadata?.name, name)
  assert.equal(updated.metadata?.resourceVersion?.startsWith('2'), true)
  assert.deepEqual(
    updated.endpoints?.map((e) => e.targetRef?.name),
    ['p1', 'p2', 'p3', 'p4', 'p5'],
  )
})

test('a sync that changes nothing writes nothing', async () => {
  const s = await firstSync([makePod('p1')])
  await s.controller.reconcile('default/web')
  assert.equal(s.control.updated.length, 0)
  assert.equal(s.control.deleted.length, 0)
  assert.equal(s.control.created.length, 1)
})

test('a pod that starts terminating is updated in place, and when it is gone it is removed', async () => {
  const s = await firstSync([makePod('p1'), makePod('p2')])
  s.pods.set({
    ...makePod('p2', { deleting: true }),
    metadata: { ...makePod('p2', { deleting: true }).metadata, resourceVersion: '2' },
  })
  await s.controller.reconcile('default/web')
  const terminating = s.control.updated[0] as EndpointSlice
  assert.deepEqual(terminating.endpoints?.[1]?.conditions, { ready: false, serving: true, terminating: true })
  s.slices.set(terminating)
  s.pods.delete('default/p2')
  await s.controller.reconcile('default/web')
  assert.deepEqual(
    s.control.updated[1]?.endpoints?.map((e) => e.targetRef?.name),
    ['p1'],
  )
})

test('when every pod goes, the slice is emptied in place rather than deleted and created again', async () => {
  const s = await firstSync([makePod('p1')])
  const name = s.control.created[0]?.metadata?.name
  s.pods.delete('default/p1')
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.control.deleted, [])
  assert.equal(s.control.created.length, 1)
  const emptied = s.control.updated[0] as EndpointSlice
  assert.equal(emptied.metadata?.name, name)
  assert.deepEqual(emptied.endpoints, [])
  assert.deepEqual(emptied.ports, [])
  // And the placeholder, once seen, is left as it is.
  s.slices.set(emptied)
  await s.controller.reconcile('default/web')
  assert.equal(s.control.updated.length, 1)
})

test('a placeholder slice takes the first endpoints in place', async () => {
  const s = await firstSync([])
  const name = s.control.created[0]?.metadata?.name
  s.pods.set(makePod('p1'))
  await s.controller.reconcile('default/web')
  assert.equal(s.control.created.length, 1)
  assert.deepEqual(s.control.deleted, [])
  assert.equal(s.control.updated[0]?.metadata?.name, name)
  assert.deepEqual(
    s.control.updated[0]?.endpoints?.map((e) => e.targetRef?.name),
    ['p1'],
  )
})

test('the Service labels are copied onto its slices, and a headless Service is marked so', async () => {
  const s = await firstSync([makePod('p1')], makeService({ clusterIP: 'None', labels: { tier: 'front' } }))
  assert.deepEqual(s.control.created[0]?.metadata?.labels, {
    tier: 'front',
    'service.kubernetes.io/headless': '',
    'kubernetes.io/service-name': 'web',
    'endpointslice.kubernetes.io/managed-by': endpointSliceControllerName,
  })
  s.services.set(makeService({ clusterIP: 'None', labels: { tier: 'back' } }))
  await s.controller.reconcile('default/web')
  assert.equal(s.control.updated[0]?.metadata?.labels?.tier, 'back')
})

test('a slice left by a namesake Service (another uid) is deleted', async () => {
  const s = await firstSync([makePod('p1')], makeService({ uid: 'old-uid' }))
  const old = s.control.created[0] as EndpointSlice
  s.services.set(makeService({ uid: 'new-uid' }))
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.control.deleted, [old.metadata?.name])
  assert.equal(s.control.created.length, 2)
  assert.equal(s.control.created[1]?.metadata?.ownerReferences?.[0]?.uid, 'new-uid')
})

test('Services without a selector, and ExternalName ones, are left alone', async () => {
  for (const svc of [makeService({ selector: null }), makeService({ type: 'ExternalName' })]) {
    const stray: EndpointSlice = {
      addressType: 'IPv4',
      metadata: { name: 'web-manual', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      endpoints: [{ addresses: ['192.168.1.1'] }],
    }
    const { controller, control } = setup({ services: [svc], pods: [makePod('p1')], slices: [stray] })
    await controller.reconcile('default/web')
    assert.deepEqual([control.created, control.updated, control.deleted], [[], [], []])
  }
})

test('a deleted Service writes nothing: its slices go with it through their ownerReferences', async () => {
  const { controller, control } = setup({ services: [], pods: [makePod('p1')] })
  await controller.reconcile('default/web')
  assert.deepEqual([control.created, control.updated, control.deleted], [[], [], []])
})

test('until the informer has seen a slice it created, the controller does not act again', async () => {
  const s = setup({ pods: [makePod('p1')] })
  await s.controller.reconcile('default/web')
  await assert.rejects(s.controller.reconcile('default/web'), /cache is behind/)
  assert.equal(s.control.created.length, 1)
  s.slices.set(s.control.created[0] as EndpointSlice)
  await s.controller.reconcile('default/web')
  assert.equal(s.control.created.length, 1)
})

test('a failed write is reported as an event on the Service and retried', async () => {
  const s = setup({ pods: [makePod('p1')] })
  s.control.create = () => Promise.reject(new Error('etcd is down'))
  await assert.rejects(s.controller.reconcile('default/web'), /etcd is down/)
  assert.deepEqual(s.events, [
    'Warning FailedToUpdateEndpointSlices Error updating Endpoint Slices for Service default/web: etcd is down',
  ])
})

test('a pod whose labels change queues the Services it left and joined; other updates of a member queue its Services', () => {
  const api = makeService({ name: 'api', uid: 'api-uid', selector: { app: 'api' } })
  const { controller } = setup({ services: [makeService(), api] })
  const handler = controller.podHandler()
  const before = makePod('p1')
  const after = {
    ...makePod('p1', { labels: { app: 'api' } }),
    metadata: { ...makePod('p1', { labels: { app: 'api' } }).metadata, resourceVersion: '2' },
  }
  handler.update?.(before, after)
  assert.equal(controller.queue.length, 2)
  const notReady = {
    ...makePod('p1', { ready: false }),
    metadata: { ...before.metadata, resourceVersion: '3' },
  }
  const c2 = setup({ services: [makeService(), api] }).controller
  c2.podHandler().update?.(before, notReady)
  assert.equal(c2.queue.length, 1)
  const c3 = setup({ services: [makeService(), api] }).controller
  // An annotation change shows in no endpoint.
  const annotated = {
    ...before,
    metadata: { ...before.metadata, resourceVersion: '4', annotations: { a: 'b' } },
  }
  c3.podHandler().update?.(before, annotated)
  assert.equal(c3.queue.length, 0)
})
