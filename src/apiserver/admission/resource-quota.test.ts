import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  Container,
  PersistentVolumeClaim,
  Pod,
  ResourceQuota,
  ScopedResourceSelectorRequirement,
  Service,
} from '../../api/generated/types/core-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiError, conflict } from '../errors.ts'
import type { AdmissionAttributes, Operation } from './admission.ts'
import { resourceQuotaPlugin, type QuotaAccess } from './resource-quota.ts'

/** Quotas in memory, with resourceVersions: a status write at an old one is a conflict. */
class FakeQuotas implements QuotaAccess {
  readonly stored = new Map<string, ResourceQuota>()
  /** Lets a test change a quota behind the cache's back before the next write. */
  beforeWrite?: (q: ResourceQuota) => void
  writes = 0
  #rv = 1

  add(q: ResourceQuota): void {
    this.stored.set(q.metadata?.name ?? '', {
      ...q,
      metadata: { ...q.metadata, resourceVersion: String(this.#rv++) },
    })
  }

  cached(namespace: string) {
    return [...this.stored.values()].filter((q) => q.metadata?.namespace === namespace)
  }

  async fresh(namespace: string) {
    return this.cached(namespace)
  }

  async updateStatus(q: Readonly<ResourceQuota>) {
    this.writes++
    const name = q.metadata?.name ?? ''
    const before = this.stored.get(name)
    if (before) this.beforeWrite?.(before)
    this.beforeWrite = undefined
    const current = this.stored.get(name)
    if (!current || current.metadata?.resourceVersion !== q.metadata?.resourceVersion) {
      throw conflict({ group: '', resource: 'resourcequotas' }, name)
    }
    const next = { ...structuredClone(q), metadata: { ...q.metadata, resourceVersion: String(this.#rv++) } }
    this.stored.set(name, next)
    return next
  }

  used(name: string) {
    return this.stored.get(name)?.status?.used
  }
}

function quota(
  name: string,
  hard: Record<string, string>,
  used: Record<string, string> = Object.fromEntries(Object.keys(hard).map((k) => [k, '0'])),
  o: { scopes?: string[]; selector?: ScopedResourceSelectorRequirement[] } = {},
): ResourceQuota {
  return {
    metadata: { name, namespace: 'test' },
    spec: {
      hard,
      ...(o.scopes ? { scopes: o.scopes } : {}),
      ...(o.selector ? { scopeSelector: { matchExpressions: o.selector } } : {}),
    },
    status: { hard, used },
  }
}

function pod(
  name: string,
  containers: Partial<Container>[] = [{}],
  spec: Partial<NonNullable<Pod['spec']>> = {},
): Pod {
  return {
    metadata: { name, namespace: 'test' },
    spec: { ...spec, containers: containers.map((c, i) => ({ name: `c${i}`, image: 'nginx', ...c })) },
  }
}

const resources = (requests: Record<string, string>, limits: Record<string, string> = {}) => ({
  resources: { requests, limits },
})

function attrs(
  object: unknown,
  o: { resource?: string; group?: string; operation?: Operation; oldObject?: unknown; dryRun?: boolean } = {},
): AdmissionAttributes {
  const obj = object as KubeObject
  return {
    operation: o.operation ?? 'CREATE',
    group: o.group ?? '',
    version: 'v1',
    resource: o.resource ?? 'pods',
    subresource: '',
    kind: '',
    namespace: 'test',
    name: obj.metadata?.name ?? '',
    object: obj,
    oldObject: o.oldObject as KubeObject | undefined,
    dryRun: o.dryRun ?? false,
    user: { name: 'u', groups: [] },
  }
}

function setup(...quotas: ResourceQuota[]) {
  const store = new FakeQuotas()
  for (const q of quotas) store.add(q)
  const plugin = resourceQuotaPlugin({ quotas: store, clock: new FakeClock() })
  const admit = async (a: AdmissionAttributes) => {
    if (plugin.handles(a)) await plugin.validate?.(a)
  }
  return { store, plugin, admit }
}

const refusal = (message: string) => (err: unknown) =>
  err instanceof ApiError && err.code === 403 && err.message === message

test('a pod within quota is admitted and charged', async () => {
  const { store, admit } = setup(
    quota(
      'q',
      { pods: '3', 'requests.cpu': '1', 'limits.memory': '1Gi', 'count/pods': '5' },
      {
        pods: '1',
        'requests.cpu': '100m',
        'limits.memory': '100Mi',
        'count/pods': '1',
      },
    ),
  )
  await admit(attrs(pod('p', [resources({ cpu: '200m', memory: '64Mi' }, { cpu: '1', memory: '128Mi' })])))
  assert.deepEqual(store.used('q'), {
    'count/pods': '2',
    'limits.memory': '228Mi',
    pods: '2',
    'requests.cpu': '300m',
  })
})

test('a pod over quota is refused with what it asked, what is used and the limit', async () => {
  const { store, admit } = setup(quota('q', { pods: '2' }, { pods: '2' }))
  await assert.rejects(
    admit(attrs(pod('x'))),
    refusal('pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'),
  )
  assert.equal(store.writes, 0)
})

test('every exceeded resource is listed, sorted', async () => {
  const { admit } = setup(
    quota(
      'compute',
      { 'requests.cpu': '1', 'requests.memory': '1Gi', pods: '10' },
      {
        'requests.cpu': '900m',
        'requests.memory': '1000Mi',
        pods: '1',
      },
    ),
  )
  await assert.rejects(
    admit(attrs(pod('x', [resources({ cpu: '200m', memory: '100Mi' })]))),
    refusal(
      'pods "x" is forbidden: exceeded quota: compute, requested: requests.cpu=200m,requests.memory=100Mi, used: requests.cpu=900m,requests.memory=1000Mi, limited: requests.cpu=1,requests.memory=1Gi',
    ),
  )
})

test('a quota on cpu and memory makes every container state them', async () => {
  const { admit } = setup(quota('q', { 'limits.cpu': '4', 'requests.memory': '4Gi' }))
  await assert.rejects(
    admit(attrs(pod('x', [resources({ cpu: '1' }), resources({ memory: '1Gi' }, { cpu: '1' })]))),
    refusal(
      'pods "x" is forbidden: failed quota: q: must specify limits.cpu for: c0; requests.memory for: c0',
    ),
  )
})

test('a quota the controller has not measured refuses what it limits', async () => {
  const unmeasured = quota('q', { pods: '2', services: '1' })
  delete unmeasured.status?.used
  const { admit } = setup(unmeasured)
  await assert.rejects(
    admit(attrs(pod('x'))),
    refusal('pods "x" is forbidden: status unknown for quota: q, resources: pods'),
  )
})

test('namespaces without quotas, and quotas on other things, cost nothing', async () => {
  const none = setup()
  await none.admit(attrs(pod('x')))
  const services = setup(quota('q', { services: '0' }))
  await services.admit(attrs(pod('x')))
  assert.equal(services.store.writes, 0)
})

test('scopes: BestEffort counts only pods without resources, NotBestEffort the others', async () => {
  const { store, admit } = setup(
    quota('best', { pods: '1' }, { pods: '0' }, { scopes: ['BestEffort'] }),
    quota('burst', { pods: '5' }, { pods: '0' }, { scopes: ['NotBestEffort'] }),
  )
  await admit(attrs(pod('a', [resources({ cpu: '100m' })])))
  await admit(attrs(pod('b')))
  await assert.rejects(
    admit(attrs(pod('c'))),
    refusal('pods "c" is forbidden: exceeded quota: best, requested: pods=1, used: pods=1, limited: pods=1'),
  )
  assert.deepEqual(store.used('best'), { pods: '1' })
  assert.deepEqual(store.used('burst'), { pods: '1' })
})

test('scopes: Terminating is a pod with an active deadline', async () => {
  const { store, admit } = setup(quota('t', { pods: '5' }, { pods: '0' }, { scopes: ['Terminating'] }))
  await admit(attrs(pod('long')))
  await admit(attrs(pod('job', [{}], { activeDeadlineSeconds: 60 })))
  assert.deepEqual(store.used('t'), { pods: '1' })
})

test('scopes: a PriorityClass selector counts the pods of the classes it names', async () => {
  const { store, admit } = setup(
    quota(
      'high',
      { pods: '5' },
      { pods: '0' },
      {
        selector: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }],
      },
    ),
    quota(
      'unclassed',
      { pods: '5' },
      { pods: '0' },
      {
        selector: [{ scopeName: 'PriorityClass', operator: 'DoesNotExist' }],
      },
    ),
  )
  await admit(attrs(pod('a', [{}], { priorityClassName: 'high' })))
  await admit(attrs(pod('b', [{}], { priorityClassName: 'low' })))
  await admit(attrs(pod('c')))
  assert.deepEqual(store.used('high'), { pods: '1' })
  assert.deepEqual(store.used('unclassed'), { pods: '1' })
})

test('finished pods do not count their compute resources, only the object', async () => {
  const { store, admit } = setup(
    quota('q', { pods: '1', 'count/pods': '5' }, { pods: '1', 'count/pods': '1' }),
  )
  const done = { ...pod('done'), status: { phase: 'Succeeded' } }
  await admit(attrs(done))
  assert.deepEqual(store.used('q'), { 'count/pods': '2', pods: '1' })
})

test('pod updates are charged only when they move the pod between Terminating scopes', async () => {
  const { store, admit } = setup(quota('t', { pods: '5' }, { pods: '0' }, { scopes: ['Terminating'] }))
  const old = { ...pod('p'), metadata: { name: 'p', namespace: 'test', resourceVersion: '7' } }
  await admit(attrs(pod('p', [{ image: 'nginx:2' }]), { operation: 'UPDATE', oldObject: old }))
  assert.equal(store.writes, 0)
  await admit(attrs(pod('p', [{}], { activeDeadlineSeconds: 5 }), { operation: 'UPDATE', oldObject: old }))
  assert.deepEqual(store.used('t'), { pods: '1' })
})

test('services: node ports and load balancers count by type, and type changes are charged', async () => {
  const { store, admit } = setup(
    quota('s', { services: '10', 'services.nodeports': '3', 'services.loadbalancers': '1' }),
  )
  const svc = (name: string, type: string, ports = 1): Service => ({
    metadata: { name, namespace: 'test' },
    spec: { type, ports: Array.from({ length: ports }, (_, i) => ({ port: 80 + i })) },
  })
  await admit(attrs(svc('a', 'ClusterIP'), { resource: 'services' }))
  await admit(attrs(svc('b', 'NodePort', 2), { resource: 'services' }))
  assert.deepEqual(store.used('s'), {
    services: '2',
    'services.loadbalancers': '0',
    'services.nodeports': '2',
  })
  const old = { ...svc('a', 'ClusterIP'), metadata: { name: 'a', namespace: 'test', resourceVersion: '3' } }
  await assert.rejects(
    admit(attrs(svc('a', 'LoadBalancer', 2), { resource: 'services', operation: 'UPDATE', oldObject: old })),
    refusal(
      'services "a" is forbidden: exceeded quota: s, requested: services.nodeports=2, used: services.nodeports=2, limited: services.nodeports=3',
    ),
  )
  await admit(
    attrs(svc('a', 'LoadBalancer', 1), { resource: 'services', operation: 'UPDATE', oldObject: old }),
  )
  assert.deepEqual(store.used('s'), {
    services: '2',
    'services.loadbalancers': '1',
    'services.nodeports': '3',
  })
})

test('claims: storage is charged in total and per storage class', async () => {
  const { store, admit } = setup(
    quota('st', {
      'requests.storage': '10Gi',
      persistentvolumeclaims: '5',
      'gold.storageclass.storage.k8s.io/requests.storage': '3Gi',
    }),
  )
  const pvc = (name: string, storage: string, cls?: string): PersistentVolumeClaim => ({
    metadata: { name, namespace: 'test' },
    spec: { resources: { requests: { storage } }, ...(cls ? { storageClassName: cls } : {}) },
  })
  await admit(attrs(pvc('a', '2Gi', 'gold'), { resource: 'persistentvolumeclaims' }))
  await admit(attrs(pvc('b', '4Gi'), { resource: 'persistentvolumeclaims' }))
  assert.deepEqual(store.used('st'), {
    'gold.storageclass.storage.k8s.io/requests.storage': '2Gi',
    persistentvolumeclaims: '2',
    'requests.storage': '6Gi',
  })
  await assert.rejects(
    admit(attrs(pvc('c', '2Gi', 'gold'), { resource: 'persistentvolumeclaims' })),
    refusal(
      'persistentvolumeclaims "c" is forbidden: exceeded quota: st, requested: gold.storageclass.storage.k8s.io/requests.storage=2Gi, used: gold.storageclass.storage.k8s.io/requests.storage=2Gi, limited: gold.storageclass.storage.k8s.io/requests.storage=3Gi',
    ),
  )
})

test('object counts: legacy names and count/<resource>.<group> for any resource', async () => {
  const { store, admit } = setup(
    quota('objects', { configmaps: '1', 'count/secrets': '5', 'count/deployments.apps': '1' }),
  )
  const cm = { metadata: { name: 'cm', namespace: 'test' } }
  await admit(attrs(cm, { resource: 'configmaps' }))
  await assert.rejects(
    admit(attrs({ metadata: { name: 'cm2', namespace: 'test' } }, { resource: 'configmaps' })),
    refusal(
      'configmaps "cm2" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1',
    ),
  )
  await admit(attrs({ metadata: { name: 's', namespace: 'test' } }, { resource: 'secrets' }))
  await admit(
    attrs({ metadata: { name: 'd', namespace: 'test' } }, { resource: 'deployments', group: 'apps' }),
  )
  await assert.rejects(
    admit(attrs({ metadata: { name: 'd2', namespace: 'test' } }, { resource: 'deployments', group: 'apps' })),
    refusal(
      'deployments.apps "d2" is forbidden: exceeded quota: objects, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1',
    ),
  )
  assert.deepEqual(store.used('objects'), {
    configmaps: '1',
    'count/deployments.apps': '1',
    'count/secrets': '1',
  })
})

test('events and namespaces are never charged', () => {
  const { plugin } = setup(quota('q', { 'count/events': '0' }))
  assert.equal(plugin.handles(attrs({ metadata: { name: 'e' } }, { resource: 'events' })), false)
  assert.equal(
    plugin.handles({ ...attrs({ metadata: { name: 'n' } }, { resource: 'namespaces' }), namespace: 'n' }),
    false,
  )
})

test('a dry run is checked but not charged', async () => {
  const { store, admit } = setup(quota('q', { pods: '1' }, { pods: '0' }))
  await admit(attrs(pod('x'), { dryRun: true }))
  assert.equal(store.writes, 0)
})

test('writes racing for the last unit: one wins, the other is refused', async () => {
  const { store, admit } = setup(quota('q', { pods: '1' }, { pods: '0' }))
  const results = await Promise.allSettled([admit(attrs(pod('a'))), admit(attrs(pod('b')))])
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected'],
  )
  assert.deepEqual(store.used('q'), { pods: '1' })
  assert.equal(store.writes, 1)
})

test('a batch charges each quota once', async () => {
  const { store, admit } = setup(quota('q', { pods: '10' }, { pods: '0' }))
  await Promise.all(['a', 'b', 'c', 'd'].map((n) => admit(attrs(pod(n)))))
  assert.deepEqual(store.used('q'), { pods: '4' })
  assert.ok(store.writes <= 2, `${store.writes} writes`)
})

test('a status write that loses to another writer is checked again on a fresh read', async () => {
  const { store, admit } = setup(quota('q', { pods: '2' }, { pods: '0' }))
  // Another apiserver charges a pod between our read and our write.
  store.beforeWrite = (q) => {
    store.stored.set('q', {
      ...q,
      metadata: { ...q.metadata, resourceVersion: '100' },
      status: { ...q.status, used: { pods: '1' } },
    })
  }
  await admit(attrs(pod('a')))
  assert.deepEqual(store.used('q'), { pods: '2' })
  store.beforeWrite = (q) => {
    store.stored.set('q', { ...q, metadata: { ...q.metadata, resourceVersion: '200' } })
  }
  await assert.rejects(
    admit(attrs(pod('b'))),
    refusal('pods "b" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'),
  )
})
