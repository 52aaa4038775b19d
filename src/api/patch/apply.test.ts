import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { KubeObject, StoredObject } from '../object.ts'
import { schemaForKind, type SchemaNode } from '../schema.ts'
import { applyConfiguration, ApplyConflictError, recordUpdate } from './apply.ts'
import { PatchError } from './json-patch.ts'

const configMapSchema = schemaForKind({ group: '', version: 'v1', kind: 'ConfigMap' })
const deploymentSchema = schemaForKind({ group: 'apps', version: 'v1', kind: 'Deployment' })
const podSchema = schemaForKind({ group: '', version: 'v1', kind: 'Pod' })
const time = '2026-11-22T12:00:00Z'

interface Write {
  schema?: SchemaNode | undefined
  apiVersion?: string
  subresource?: string
}

const options = (manager: string, w: Write = {}) => ({
  manager,
  apiVersion: w.apiVersion ?? 'v1',
  subresource: w.subresource ?? '',
  time,
  schema: 'schema' in w ? w.schema : configMapSchema,
})

/** A server-side apply of `config` by `manager`. */
function apply(
  live: StoredObject | undefined,
  manager: string,
  config: KubeObject,
  w: Write & { force?: boolean } = {},
): StoredObject {
  return applyConfiguration(live, structuredClone(config), w.force ?? false, options(manager, w))
}

/** An update (PUT, or a non-apply patch) by `manager` that makes `change` to `prev`. */
function update(prev: StoredObject, manager: string, change: (o: Obj) => void, w: Write = {}): StoredObject {
  const next = structuredClone(prev)
  change(next as Obj)
  recordUpdate(next, prev, options(manager, w))
  return next
}

/** The fields of the test objects, for reading them back. */
type Obj = StoredObject & {
  data?: Record<string, string>
  spec: {
    replicas?: number
    nodeName?: string
    selector?: unknown
    tolerations?: unknown
    strategy: { type?: string; rollingUpdate: Record<string, unknown> }
    containers: { name: string; image?: string; ports?: { containerPort: number; protocol?: string }[] }[]
  }
  status?: unknown
}

/** The managed fields by manager/operation[/subresource]. */
function owners(o: StoredObject): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const e of o.metadata.managedFields ?? [])
    out[[e.manager, e.operation, e.subresource].filter((x) => x).join('/')] = e.fieldsV1
  return out
}

function conflictOf(fn: () => unknown): ApplyConflictError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ApplyConflictError) return err
    throw err
  }
  throw new assert.AssertionError({ message: 'expected an apply conflict' })
}

/** A ConfigMap `test-cm` with these data and labels (neither field when undefined). */
const cm = (data?: Record<string, string>, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'test-cm', namespace: 'default', ...(labels ? { labels } : {}) },
  ...(data ? { data } : {}),
})
const dataOf = (o: StoredObject) => (o as Obj).data

/** The Server-Side Apply page of kubernetes.io, example by example. */
describe('the Server-Side Apply page', () => {
  const created = () => apply(undefined, 'kubectl', cm({ key: 'some value' }, { 'test-label': 'test' }))

  test('an applied ConfigMap records one Apply entry with the fields it sets', () => {
    const live = created()
    assert.deepEqual(live.metadata.managedFields, [
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'v1',
        time,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:key': {} }, 'f:metadata': { 'f:labels': { 'f:test-label': {} } } },
      },
    ])
    assert.deepEqual(dataOf(live), { key: 'some value' })
    assert.deepEqual(live.metadata.labels, { 'test-label': 'test' })
  })

  test('an update of a field moves it to the updater, and an apply changing it back conflicts', () => {
    const live = update(created(), 'kube-controller-manager', (o) => (o.data = { key: 'new value' }))
    assert.deepEqual(owners(live), {
      'kubectl/Apply': { 'f:metadata': { 'f:labels': { 'f:test-label': {} } } },
      'kube-controller-manager/Update': { 'f:data': { 'f:key': {} } },
    })
    const err = conflictOf(() => apply(live, 'kubectl', cm({ key: 'some value' }, { 'test-label': 'test' })))
    assert.equal(
      err.message,
      'Apply failed with 1 conflict: conflict with "kube-controller-manager" using v1: .data.key',
    )
    assert.deepEqual(
      err.conflicts.map((c) => [c.manager, c.operation, c.field, c.managerDescription]),
      [['kube-controller-manager', 'Update', '.data.key', '"kube-controller-manager" using v1']],
    )
  })

  test('overwrite value, become sole manager: force takes the field from everyone', () => {
    const live = update(created(), 'kube-controller-manager', (o) => (o.data = { key: 'new value' }))
    const forced = apply(live, 'kubectl', cm({ key: 'some value' }, { 'test-label': 'test' }), {
      force: true,
    })
    assert.deepEqual(dataOf(forced), { key: 'some value' })
    assert.deepEqual(owners(forced), {
      'kubectl/Apply': { 'f:data': { 'f:key': {} }, 'f:metadata': { 'f:labels': { 'f:test-label': {} } } },
    })
  })

  test("don't overwrite value, give up management claim: omit the field and it stays", () => {
    const live = update(created(), 'kube-controller-manager', (o) => (o.data = { key: 'new value' }))
    const out = apply(live, 'kubectl', cm(undefined, { 'test-label': 'test' }))
    assert.deepEqual(dataOf(out), { key: 'new value' })
    assert.deepEqual(owners(out), {
      'kubectl/Apply': { 'f:metadata': { 'f:labels': { 'f:test-label': {} } } },
      'kube-controller-manager/Update': { 'f:data': { 'f:key': {} } },
    })
  })

  test("don't overwrite value, become shared manager: apply the live value", () => {
    const live = update(created(), 'kube-controller-manager', (o) => (o.data = { key: 'new value' }))
    const out = apply(live, 'kubectl', cm({ key: 'new value' }, { 'test-label': 'test' }))
    assert.deepEqual(owners(out), {
      'kube-controller-manager/Update': { 'f:data': { 'f:key': {} } },
      'kubectl/Apply': { 'f:data': { 'f:key': {} }, 'f:metadata': { 'f:labels': { 'f:test-label': {} } } },
    })
  })

  test('appliers of the same value share it; then either changing it conflicts with the other', () => {
    const live = apply(apply(undefined, 'alice', cm({ a: '1' })), 'bob', cm({ a: '1' }))
    assert.deepEqual(Object.keys(owners(live)), ['alice/Apply', 'bob/Apply'])
    assert.equal(
      conflictOf(() => apply(live, 'alice', cm({ a: '2' }))).message,
      'Apply failed with 1 conflict: conflict with "bob": .data.a',
    )
    assert.equal(
      conflictOf(() => apply(live, 'bob', cm({ a: '2' }))).message,
      'Apply failed with 1 conflict: conflict with "alice": .data.a',
    )
  })

  test('transferring ownership: share the field, then the old owner drops it', () => {
    const shared = apply(apply(undefined, 'alice', cm({ a: '1', b: '2' })), 'bob', cm({ a: '1' }))
    const out = apply(shared, 'alice', cm({ b: '2' }))
    assert.deepEqual(dataOf(out), { a: '1', b: '2' })
    assert.deepEqual(owners(out), {
      'bob/Apply': { 'f:data': { 'f:a': {} } },
      'alice/Apply': { 'f:data': { 'f:b': {} } },
    })
  })

  test('a field removed from the manifest is deleted when no one else manages it; so are emptied maps', () => {
    const live = apply(undefined, 'alice', cm({ a: '1', b: '2' }, { team: 'x' }))
    const fewer = apply(live, 'alice', cm({ a: '1' }, { team: 'x' }))
    assert.deepEqual(dataOf(fewer), { a: '1' })
    const none = apply(fewer, 'alice', cm())
    assert.equal(dataOf(none), undefined, 'data, left empty, goes')
    assert.equal(none.metadata.labels, undefined, 'labels, left empty, go')
    assert.deepEqual(none.metadata, { name: 'test-cm', namespace: 'default' })
  })

  test('an applied empty map is a field of its own: the applier keeps it', () => {
    const live = apply(undefined, 'alice', cm({ a: '1' }))
    const out = apply(live, 'alice', cm({}))
    assert.deepEqual(dataOf(out), {})
    assert.deepEqual(owners(out), { 'alice/Apply': { 'f:data': {} } })
  })

  test('the replicas handover to the HPA: a private manager keeps the field until the HPA takes it', () => {
    const nginx = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'nginx-deployment', labels: { app: 'nginx' } },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'nginx' } },
        template: {
          metadata: { labels: { app: 'nginx' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2' }] },
        },
      },
    }
    const w = { schema: deploymentSchema, apiVersion: 'apps/v1' }
    const { replicas: _r, ...withoutReplicas } = nginx.spec
    let live = apply(undefined, 'kubectl', nginx, w)
    const replicasOnly = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'nginx-deployment' },
      spec: { replicas: 3 },
    }
    live = apply(live, 'handover-to-hpa', replicasOnly, w)
    live = apply(live, 'kubectl', { ...nginx, spec: withoutReplicas }, w)
    assert.equal((live as Obj).spec.replicas, 3, 'replicas stays: handover-to-hpa still manages it')
    assert.deepEqual(owners(live)['handover-to-hpa/Apply'], { 'f:spec': { 'f:replicas': {} } })
    live = update(live, 'kube-controller-manager', (o) => (o.spec.replicas = 5), {
      ...w,
      subresource: 'scale',
    })
    assert.deepEqual(Object.keys(owners(live)), ['kubectl/Apply', 'kube-controller-manager/Update/scale'])
  })

  test('an applied configuration may not carry managedFields', () => {
    assert.throws(
      () => apply(undefined, 'alice', { ...cm(), metadata: { name: 'x', managedFields: [] } }),
      (err: unknown) =>
        err instanceof PatchError &&
        err.kind === 'decode' &&
        err.message === 'metadata.managedFields must be nil',
    )
  })
})

describe('conflicts', () => {
  test('several conflicts are grouped by manager in name order', () => {
    let live = apply(undefined, 'carol', cm({ c: '1' }))
    live = apply(live, 'alice', cm({ b: '1', a: '1' }))
    const err = conflictOf(() => apply(live, 'bob', cm({ a: '2', b: '2', c: '2' })))
    assert.equal(
      err.message,
      'Apply failed with 3 conflicts: conflicts with "alice":\n- .data.a\n- .data.b\nconflicts with "carol":\n- .data.c',
    )
  })

  test('a subresource manager is named with its subresource', () => {
    const w = { schema: podSchema }
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    }
    let live = apply(undefined, 'ctl', pod, w)
    live = update(live, 'kubelet', (o) => (o.status = { phase: 'Running' }), { ...w, subresource: 'status' })
    assert.deepEqual(owners(live)['kubelet/Update/status'], { 'f:status': { 'f:phase': {} } })
    assert.equal(
      conflictOf(() => apply(live, 'ctl', { ...pod, status: { phase: 'Failed' } }, w)).message,
      'Apply failed with 1 conflict: conflict with "kubelet" with subresource "status" using v1: .status.phase',
    )
  })

  test('only the fields an update changed conflict; forcing takes just those', () => {
    let live = apply(undefined, 'default', cm({ numeric: '1', string: 'string' }))
    live = update(
      live,
      'controller',
      (o) => (o.data = { numeric: '1', string: 'controller string', bool: 'true' }),
    )
    const err = conflictOf(() => apply(live, 'default', cm({ numeric: '2', string: 'user string' })))
    assert.deepEqual(
      err.conflicts.map((c) => c.field),
      ['.data.string'],
    )
    const forced = apply(live, 'default', cm({ numeric: '2', string: 'user string' }), { force: true })
    assert.deepEqual(dataOf(forced), { numeric: '2', string: 'user string', bool: 'true' })
    assert.deepEqual(owners(forced), {
      'controller/Update': { 'f:data': { 'f:bool': {} } },
      'default/Apply': { 'f:data': { 'f:numeric': {}, 'f:string': {} } },
    })
  })

  test('an applier that drops a field an updater took leaves it to the updater', () => {
    let live = apply(undefined, 'default', cm({ numeric: '2' }))
    live = update(live, 'controller', (o) => (o.data = { numeric: '1' }))
    const out = apply(live, 'default', cm())
    assert.deepEqual(dataOf(out), { numeric: '1' })
    assert.deepEqual(Object.keys(owners(out)), ['controller/Update'])
  })

  test('a refused apply changes nothing', () => {
    const live = apply(undefined, 'alice', cm({ a: '1' }))
    const before = structuredClone(live)
    conflictOf(() => apply(live, 'bob', cm({ a: '2' })))
    assert.deepEqual(live, before)
  })
})

describe('merging by the schema', () => {
  const w = { schema: podSchema }
  const pod = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', ...metadata },
    spec,
  })
  const containers = (...cs: [string, string][]) => ({
    containers: cs.map(([name, image]) => ({ name, image })),
  })
  const spec = (o: StoredObject) =>
    (o as Obj).spec as Record<string, unknown> & { containers: { name: string }[] }
  const containerNames = (o: StoredObject) => spec(o).containers.map((c) => c.name)

  test('containers of two appliers merge by name, and each owns its own', () => {
    const live = apply(
      apply(undefined, 'alice', pod(containers(['a', 'a:1'])), w),
      'bob',
      pod(containers(['b', 'b:1'])),
      w,
    )
    assert.deepEqual(containerNames(live), ['a', 'b'])
    assert.deepEqual(owners(live)['bob/Apply'], {
      'f:spec': { 'f:containers': { 'k:{"name":"b"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
    })
    assert.equal(
      conflictOf(() => apply(live, 'bob', pod(containers(['a', 'a:2'])), w)).message,
      'Apply failed with 1 conflict: conflict with "alice": .spec.containers[name="a"].image',
    )
    const dropped = apply(live, 'alice', pod({ containers: [] }), w)
    assert.deepEqual(containerNames(dropped), ['b'], "alice's container goes, bob's stays")
  })

  test('ports are keyed by containerPort and protocol: TCP 53 and UDP 53 are two ports', () => {
    const c = (ports: object[]) => pod({ containers: [{ name: 'dns', image: 'coredns', ports }] })
    let live = apply(undefined, 'alice', c([{ containerPort: 53, protocol: 'UDP' }]), w)
    live = apply(live, 'bob', c([{ containerPort: 53, protocol: 'TCP', name: 'dns-tcp' }]), w)
    assert.deepEqual(spec(live).containers, [
      {
        name: 'dns',
        image: 'coredns',
        ports: [
          { containerPort: 53, protocol: 'UDP' },
          { containerPort: 53, protocol: 'TCP', name: 'dns-tcp' },
        ],
      },
    ])
  })

  test('a port applied without protocol is the live port defaulted to TCP, not a second port', () => {
    const manifest = pod({ containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] })
    const live = apply(undefined, 'kubectl', manifest, w)
    // What defaulting does on create.
    for (const p of (live as Obj).spec.containers.flatMap((c) => c.ports ?? [])) p.protocol = 'TCP'
    const again = apply(live, 'kubectl', manifest, w)
    assert.deepEqual(
      (again as Obj).spec.containers.map((c) => c.ports),
      [[{ containerPort: 80, protocol: 'TCP' }]],
    )
    assert.deepEqual(again.metadata.managedFields, live.metadata.managedFields)
  })

  test('finalizers are a set: each manager owns the values it applies and removes only those', () => {
    const withFinalizers = (...f: string[]) => pod(containers(['c', 'i']), { finalizers: f })
    let live = apply(undefined, 'alice', withFinalizers('example.com/a'), w)
    live = apply(live, 'bob', { ...withFinalizers('example.com/b'), spec: undefined }, w)
    assert.deepEqual(live.metadata.finalizers, ['example.com/a', 'example.com/b'])
    assert.deepEqual(owners(live)['bob/Apply'], {
      'f:metadata': { 'f:finalizers': { 'v:"example.com/b"': {} } },
    })
    const out = apply(live, 'alice', withFinalizers(), w)
    assert.deepEqual(out.metadata.finalizers, ['example.com/b'])
  })

  test('an atomic list (tolerations) is one field: a different list conflicts, and force replaces it whole', () => {
    const t = (...keys: string[]) =>
      pod({ ...containers(['c', 'i']), tolerations: keys.map((key) => ({ key, operator: 'Exists' })) })
    const live = apply(undefined, 'alice', t('a', 'b'), w)
    assert.deepEqual((owners(live)['alice/Apply'] as { 'f:spec': object })['f:spec'], {
      'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:name': {} } },
      'f:tolerations': {},
    })
    assert.equal(
      conflictOf(() =>
        apply(live, 'bob', { ...t('c'), spec: { tolerations: [{ key: 'c', operator: 'Exists' }] } }, w),
      ).message,
      'Apply failed with 1 conflict: conflict with "alice": .spec.tolerations',
    )
    const forced = apply(
      live,
      'bob',
      { ...t('c'), spec: { tolerations: [{ key: 'c', operator: 'Exists' }] } },
      { ...w, force: true },
    )
    assert.deepEqual(spec(forced).tolerations, [{ key: 'c', operator: 'Exists' }])
  })

  test('an atomic map (a Deployment selector) is one field', () => {
    const d = (matchLabels: Record<string, string>) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { selector: { matchLabels } },
    })
    const dw = { schema: deploymentSchema, apiVersion: 'apps/v1' }
    const live = apply(undefined, 'alice', d({ app: 'a' }), dw)
    assert.deepEqual(owners(live)['alice/Apply'], { 'f:spec': { 'f:selector': {} } })
    assert.equal(
      conflictOf(() => apply(live, 'bob', d({ app: 'a', tier: 'x' }), dw)).message,
      'Apply failed with 1 conflict: conflict with "alice": .spec.selector',
    )
    const forced = apply(live, 'bob', d({ tier: 'x' }), { ...dw, force: true })
    assert.deepEqual((forced as Obj).spec.selector, { matchLabels: { tier: 'x' } }, 'replaced, not merged')
  })

  test('the applied order of list items wins', () => {
    let live = apply(undefined, 'alice', pod(containers(['a', '1'], ['b', '1'], ['c', '1'], ['d', '1'])), w)
    live = apply(live, 'alice', pod(containers(['a', '1'], ['d', '1'], ['c', '1'], ['b', '1'])), w)
    assert.deepEqual(containerNames(live), ['a', 'd', 'c', 'b'])
  })

  test('an added item lands where the configuration puts it', () => {
    let live = apply(undefined, 'alice', pod(containers(['a', '1'], ['c', '1'])), w)
    live = apply(live, 'alice', pod(containers(['a', '1'], ['b', '1'], ['c', '1'])), w)
    assert.deepEqual(containerNames(live), ['a', 'b', 'c'])
  })

  test("another manager's items keep their places among the applied ones", () => {
    let live = apply(undefined, 'alice', pod(containers(['a', '1'], ['b', '1'])), w)
    live = apply(live, 'bob', pod(containers(['x', '1'])), w)
    assert.deepEqual(containerNames(live), ['a', 'b', 'x'])
    live = apply(live, 'alice', pod(containers(['b', '1'], ['a', '1'])), w)
    assert.deepEqual(containerNames(live), ['b', 'x', 'a'])
  })

  test('a struct the applier no longer sets goes with its fields', () => {
    const dw = { schema: deploymentSchema, apiVersion: 'apps/v1' }
    const d = (strategy: object) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { strategy },
    })
    let live = apply(undefined, 'alice', d({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } }), dw)
    live = apply(live, 'alice', d({ type: 'RollingUpdate' }), dw)
    assert.deepEqual((live as Obj).spec.strategy, { type: 'RollingUpdate' })
  })

  test('a struct stays while an updater owns a field in it', () => {
    const dw = { schema: deploymentSchema, apiVersion: 'apps/v1' }
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { strategy: { rollingUpdate: { maxSurge: 1 } } },
    }
    let live = apply(undefined, 'alice', d, dw)
    live = update(live, 'controller', (o) => (o.spec.strategy.rollingUpdate.maxUnavailable = 0), dw)
    live = apply(live, 'alice', { ...d, spec: {} }, dw)
    assert.deepEqual((live as Obj).spec.strategy, { rollingUpdate: { maxUnavailable: 0 } })
  })

  test('applying the same configuration twice changes nothing', () => {
    const manifest = pod(containers(['a', '1']), { labels: { app: 'x' } })
    const once = apply(undefined, 'alice', manifest, w)
    assert.deepEqual(apply(once, 'alice', manifest, w), once)
  })

  test('an empty configuration gives up every field, and the entry goes', () => {
    const live = apply(apply(undefined, 'alice', cm({ a: '1' })), 'bob', cm({ b: '1' }))
    const out = apply(live, 'alice', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'test-cm' } })
    assert.deepEqual(dataOf(out), { b: '1' })
    assert.deepEqual(Object.keys(owners(out)), ['bob/Apply'])
  })
})

describe('updates', () => {
  test('a create by an Update owns every field it sets, the maps themselves included', () => {
    const created = cm({ key: 'v' }, { app: 'x' }) as StoredObject
    recordUpdate(created, undefined, options('kubectl-create'))
    assert.deepEqual(owners(created), {
      'kubectl-create/Update': {
        'f:data': { '.': {}, 'f:key': {} },
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      },
    })
  })

  test('an update that changes nothing takes nothing', () => {
    const live = apply(undefined, 'alice', cm({ a: '1' }))
    const out = update(live, 'bob', () => undefined)
    assert.deepEqual(out.metadata.managedFields, live.metadata.managedFields)
  })

  test('a field an update removes leaves every owner', () => {
    const live = apply(undefined, 'alice', cm({ a: '1', b: '2' }))
    const out = update(live, 'bob', (o) => (o.data = { a: '1' }))
    assert.deepEqual(owners(out), { 'alice/Apply': { 'f:data': { 'f:a': {} } } })
  })

  test('changing a field of a list item takes the field, not the item', () => {
    const w = { schema: podSchema }
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'i:1' }] },
    }
    const live = apply(undefined, 'alice', pod, w)
    const out = update(live, 'bob', (o) => (o.spec.containers = [{ name: 'c', image: 'i:2' }]), w)
    assert.deepEqual(owners(out), {
      'alice/Apply': { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:name': {} } } } },
      'bob/Update': { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { 'f:image': {} } } } },
    })
  })

  test('without a manager the managed fields stay as they were', () => {
    const live = apply(undefined, 'alice', cm({ a: '1' }))
    const out = update(live, '', (o) => (o.data = { a: '2' }))
    assert.deepEqual(out.metadata.managedFields, live.metadata.managedFields)
  })

  test('[{}] clears managedFields, and the updater then owns just what it changed', () => {
    const live = apply(undefined, 'alice', cm({ a: '1', b: '2' }, { app: 'x' }))
    const cleared = update(live, 'bob', (o) => (o.metadata.managedFields = [{}]))
    assert.equal(cleared.metadata.managedFields, undefined, 'stripped entirely')
    const changed = update(live, 'bob', (o) => {
      o.metadata.managedFields = [{}]
      o.data = { a: '1', b: '3' }
    })
    assert.deepEqual(owners(changed), { 'bob/Update': { 'f:data': { 'f:b': {} } } })
  })

  test('managedFields an update sends replace the live ones (how kubectl moves client-side fields to apply)', () => {
    const live = apply(undefined, 'alice', cm({ a: '1' }))
    const edited = update(live, 'kubectl', (o) => {
      o.metadata.managedFields = [
        {
          manager: 'kubectl',
          operation: 'Apply',
          apiVersion: 'v1',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:data': { 'f:a': {} } },
        },
      ]
    })
    assert.deepEqual(owners(edited), { 'kubectl/Apply': { 'f:data': { 'f:a': {} } } })
  })

  test('managedFields that are left out, unreadable, or sent to a subresource leave the live ones', () => {
    const live = apply(undefined, 'alice', cm({ a: '1' }))
    const dropped = update(live, 'bob', (o) => delete o.metadata.managedFields)
    assert.deepEqual(dropped.metadata.managedFields, live.metadata.managedFields)
    const garbled = update(
      live,
      'bob',
      (o) => (o.metadata.managedFields = [{ manager: 'x', fieldsType: 'FieldsV2' }]),
    )
    assert.deepEqual(garbled.metadata.managedFields, live.metadata.managedFields)
    const viaStatus = update(live, 'bob', (o) => (o.metadata.managedFields = [{}]), { subresource: 'status' })
    assert.deepEqual(viaStatus.metadata.managedFields, live.metadata.managedFields)
  })

  test('the same manager through a subresource is a separate entry', () => {
    const w = { schema: podSchema }
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    }
    let live = update({ ...structuredClone(pod), metadata: { name: 'p' } }, 'kubelet', () => undefined, w)
    live = update(live, 'kubelet', (o) => (o.spec.nodeName = 'n1'), w)
    live = update(live, 'kubelet', (o) => (o.status = { phase: 'Running' }), { ...w, subresource: 'status' })
    assert.deepEqual(Object.keys(owners(live)), ['kubelet/Update', 'kubelet/Update/status'])
    assert.equal(live.metadata.managedFields?.[1]?.subresource, 'status')
  })
})
