import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  Container,
  LimitRange,
  LimitRangeItem,
  PersistentVolumeClaim,
  Pod,
  ResourceRequirements,
} from '../../api/generated/types/core-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import { ApiError } from '../errors.ts'
import type { AdmissionAttributes, Operation } from './admission.ts'
import {
  applyDefaults,
  claimViolations,
  limitRangerAnnotation,
  limitRangerPlugin,
  podViolations,
} from './limit-ranger.ts'

const list = (cpu = '', memory = '') => ({
  ...(cpu ? { cpu } : {}),
  ...(memory ? { memory } : {}),
})
const res = (
  requests: Record<string, string>,
  limits: Record<string, string> = {},
): ResourceRequirements => ({
  ...(Object.keys(requests).length ? { requests } : {}),
  ...(Object.keys(limits).length ? { limits } : {}),
})

const limitRange = (...limits: LimitRangeItem[]): LimitRange => ({
  metadata: { name: 'abc', namespace: 'test' },
  spec: { limits },
})

/** upstream's validLimitRange: bounds for pods and containers, with defaults for containers. */
const valid = limitRange(
  { type: 'Pod', max: list('200m', '4Gi'), min: list('50m', '2Mi') },
  {
    type: 'Container',
    max: list('100m', '2Gi'),
    min: list('25m', '1Mi'),
    default: list('75m', '10Mi'),
    defaultRequest: list('50m', '5Mi'),
  },
)

function pod(
  name: string,
  n: number,
  resources: ResourceRequirements,
  init: ResourceRequirements[] = [],
): Pod {
  const containers: Container[] = []
  for (let i = 0; i < n; i++)
    containers.push({ name: `foo-${i}`, image: `foo:V${i}`, resources: structuredClone(resources) })
  return {
    metadata: { name, namespace: 'test' },
    spec: {
      containers,
      ...(init.length
        ? { initContainers: init.map((r, i) => ({ name: `foo-${i}`, image: `foo:V${i}`, resources: r })) }
        : {}),
    },
  }
}

test('defaults: a container without resources gets the default request and limit, and the pod says so', () => {
  const p = pod('empty-resources', 1, {})
  applyDefaults(valid, p)
  assert.deepEqual(p.spec?.containers[0]?.resources, res(list('50m', '5Mi'), list('75m', '10Mi')))
  assert.equal(
    p.metadata?.annotations?.[limitRangerAnnotation],
    'LimitRanger plugin set: cpu, memory request for container foo-0; cpu, memory limit for container foo-0',
  )
})

test('defaults: only what is missing is filled in, in init containers too', () => {
  const input = res(list('', '512Mi'))
  const p = pod('limit-memory', 1, input, [structuredClone(input)])
  applyDefaults(valid, p)
  const want = res({ memory: '512Mi', cpu: '50m' }, list('75m', '10Mi'))
  assert.deepEqual(p.spec?.containers[0]?.resources, want)
  assert.deepEqual(p.spec?.initContainers?.[0]?.resources, want)
  assert.equal(
    p.metadata?.annotations?.[limitRangerAnnotation],
    'LimitRanger plugin set: cpu request for container foo-0; cpu, memory limit for container foo-0; ' +
      'cpu request for init container foo-0; cpu, memory limit for init container foo-0',
  )
})

test('defaults: a pod stating everything is left alone and not annotated', () => {
  const input = res(list('100m', '512Mi'), list('200m', '1G'))
  const p = pod('limit-memory', 1, input, [res(list('200m', '1G'), list('400m', '2G'))])
  applyDefaults(valid, p)
  assert.deepEqual(p.spec?.containers[0]?.resources, input)
  assert.equal(p.metadata?.annotations, undefined)
})

const withSpec = (p: Pod, spec: Partial<NonNullable<Pod['spec']>>): Pod => ({
  ...p,
  spec: { containers: [], ...p.spec, ...spec },
})

const container = (o: Partial<LimitRangeItem>): LimitRange => limitRange({ type: 'Container', ...o })
const podItem = (o: Partial<LimitRangeItem>): LimitRange => limitRange({ type: 'Pod', ...o })

const accepted: { name: string; pod: Pod; lr: LimitRange }[] = [
  {
    name: 'a container request above the minimum',
    pod: pod('a', 1, res(list('100m'))),
    lr: container({ min: list('50m') }),
  },
  {
    name: 'a container request and limit above the minimum',
    pod: pod('a', 1, res(list('100m'), list('200m'))),
    lr: container({ min: list('50m') }),
  },
  {
    name: 'memory above the minimum',
    pod: pod('a', 1, res(list('', '60Mi'))),
    lr: container({ min: list('', '50Mi') }),
  },
  {
    name: 'a container limit under the maximum',
    pod: pod('a', 1, res(list('500m'), list('1'))),
    lr: container({ max: list('2') }),
  },
  {
    name: 'a limit alone under the maximum',
    pod: pod('a', 1, res({}, list('1'))),
    lr: container({ max: list('2') }),
  },
  {
    name: 'a limit-to-request ratio within the bound',
    pod: pod('a', 1, res(list('500m'), list('750m'))),
    lr: container({ maxLimitRequestRatio: list('1.5') }),
  },
  {
    name: 'two containers whose sum is above the pod minimum',
    pod: pod('a', 2, res(list('75m'))),
    lr: podItem({ min: list('100m') }),
  },
  {
    name: 'an init container above the pod minimum counts as the pod request',
    pod: pod('a', 2, res(list('', '60Mi')), [res(list('', '100Mi'))]),
    lr: podItem({ min: list('', '100Mi') }),
  },
  {
    name: 'init containers run one at a time: their limits do not add up',
    pod: pod('a', 2, res({}, list('1')), [res({}, list('2')), res({}, list('2'))]),
    lr: podItem({ max: list('2') }),
  },
  {
    name: 'two containers whose memory sum is under the pod maximum',
    pod: pod('a', 2, res(list('', '250Mi'), list('', '500Mi'))),
    lr: podItem({ max: list('', '1Gi') }),
  },
  {
    name: 'pod-level resources replace the sum of the containers',
    pod: withSpec(pod('a', 2, res({}, list('1'))), { resources: { limits: list('1500m') } }),
    lr: podItem({ max: list('1500m') }),
  },
]

for (const c of accepted) test(`accepted: ${c.name}`, () => assert.deepEqual(podViolations(c.lr, c.pod), []))

const refused: { name: string; pod: Pod; lr: LimitRange; want: string[] }[] = [
  {
    name: 'a container without a request under a minimum',
    pod: pod('a', 1, res({}, list('1'))),
    lr: container({ min: list('50m') }),
    want: ['minimum cpu usage per Container is 50m.  No request is specified'],
  },
  {
    name: 'a container request under the minimum',
    pod: pod('a', 1, res(list('40m'))),
    lr: container({ min: list('50m') }),
    want: ['minimum cpu usage per Container is 50m, but request is 40m'],
  },
  {
    name: 'a container limit under the minimum',
    pod: pod('a', 1, res(list('', '60Mi'), list('', '40Mi'))),
    lr: container({ min: list('', '50Mi') }),
    want: ['minimum memory usage per Container is 50Mi, but limit is 40Mi'],
  },
  {
    name: 'a container without a limit under a maximum',
    pod: pod('a', 1, res(list('1'))),
    lr: container({ max: list('2') }),
    want: ['maximum cpu usage per Container is 2.  No limit is specified'],
  },
  {
    name: 'a container limit over the maximum',
    pod: pod('a', 1, res(list('1'), list('3'))),
    lr: container({ max: list('2') }),
    want: ['maximum cpu usage per Container is 2, but limit is 3'],
  },
  {
    name: 'a limit over the ratio',
    pod: pod('a', 1, res(list('250m'), list('1'))),
    lr: container({ maxLimitRequestRatio: list('2') }),
    want: ['cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000'],
  },
  {
    name: 'a ratio without a request',
    pod: pod('a', 1, res({}, list('1'))),
    lr: container({ maxLimitRequestRatio: list('2') }),
    want: ['cpu max limit to request ratio per Container is 2, but no request is specified or request is 0'],
  },
  {
    name: 'a ratio without a limit',
    pod: pod('a', 1, res(list('1'))),
    lr: container({ maxLimitRequestRatio: list('2') }),
    want: ['cpu max limit to request ratio per Container is 2, but no limit is specified or limit is 0'],
  },
  {
    name: 'two containers each within bounds but over the pod maximum',
    pod: pod('a', 2, res(list('1'), list('1500m'))),
    lr: podItem({ max: list('2') }),
    want: ['maximum cpu usage per Pod is 2, but limit is 3'],
  },
  {
    name: 'init containers run one at a time, but the largest still counts',
    pod: pod('a', 1, res({}, list('1')), [res({}, list('3'))]),
    lr: podItem({ max: list('2') }),
    want: ['maximum cpu usage per Pod is 2, but limit is 3'],
  },
  {
    name: 'sidecars add up with the containers',
    pod: withSpec(pod('a', 1, res({}, list('1500m'))), {
      initContainers: [{ name: 's', image: 'x', restartPolicy: 'Always', resources: res({}, list('1')) }],
    }),
    lr: podItem({ max: list('2') }),
    want: ['maximum cpu usage per Pod is 2, but limit is 2500m'],
  },
  {
    name: 'every violation of every container is listed',
    pod: pod('a', 2, res(list('10m', '1Gi'), list('3', '4Gi'))),
    lr: valid,
    want: [
      'minimum cpu usage per Pod is 50m, but request is 20m',
      'maximum cpu usage per Pod is 200m, but limit is 6',
      'maximum memory usage per Pod is 4Gi, but limit is 8Gi',
      'minimum cpu usage per Container is 25m, but request is 10m',
      'maximum cpu usage per Container is 100m, but limit is 3',
      'maximum memory usage per Container is 2Gi, but limit is 4Gi',
      'minimum cpu usage per Container is 25m, but request is 10m',
      'maximum cpu usage per Container is 100m, but limit is 3',
      'maximum memory usage per Container is 2Gi, but limit is 4Gi',
    ],
  },
]

for (const c of refused)
  test(`refused: ${c.name}`, () => assert.deepEqual(podViolations(c.lr, c.pod), c.want))

const claim = (storage?: string): PersistentVolumeClaim => ({
  metadata: { name: 'c', namespace: 'test' },
  spec: { accessModes: ['ReadWriteOnce'], resources: storage ? { requests: { storage } } : {} },
})
const claimLimits = limitRange({
  type: 'PersistentVolumeClaim',
  min: { storage: '1Gi' },
  max: { storage: '10Gi' },
})

test('claims: a storage request between min and max is accepted', () => {
  assert.deepEqual(claimViolations(claimLimits, claim('5Gi')), [])
})
test('claims: too little, too much, or no request at all are refused', () => {
  assert.deepEqual(claimViolations(claimLimits, claim('500Mi')), [
    'minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi',
  ])
  assert.deepEqual(claimViolations(claimLimits, claim('20Gi')), [
    'maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi',
  ])
  assert.deepEqual(claimViolations(claimLimits, claim()), [
    'minimum storage usage per PersistentVolumeClaim is 1Gi.  No request is specified',
    'maximum storage usage per PersistentVolumeClaim is 10Gi.  No request is specified',
  ])
})

// --- the plugin --------------------------------------------------------------------------------

const attributes = (
  object: KubeObject,
  o: { resource?: string; operation?: Operation; oldObject?: KubeObject } = {},
): AdmissionAttributes => ({
  operation: o.operation ?? 'CREATE',
  group: '',
  version: 'v1',
  resource: o.resource ?? 'pods',
  subresource: '',
  kind: o.resource === 'persistentvolumeclaims' ? 'PersistentVolumeClaim' : 'Pod',
  namespace: 'test',
  name: object.metadata?.name ?? '',
  object,
  oldObject: o.oldObject,
  dryRun: false,
  user: { name: 'u', groups: [] },
})

const plugin = (...ranges: LimitRange[]) => limitRangerPlugin(async () => ranges)

test('plugin: a pod is defaulted, then refused with every violation as one 403', async () => {
  const lr = container({ max: list('1', '1Gi'), default: list('500m', '256Mi') })
  const p = pod('x', 1, res({}, list('2', '2Gi')))
  const a = attributes(p as KubeObject)
  const lrPlugin = plugin(lr)
  assert.equal(lrPlugin.handles(a), true)
  await lrPlugin.admit?.(a)
  await assert.rejects(
    async () => lrPlugin.validate?.(a),
    (err: unknown) =>
      err instanceof ApiError &&
      err.code === 403 &&
      err.message ===
        'pods "x" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, maximum memory usage per Container is 1Gi, but limit is 2Gi]',
  )
})

test('plugin: one violation is not bracketed; a pod without a name is named by generateName', async () => {
  const p = pod('', 1, res({}, list('2')))
  p.metadata = { generateName: 'web-', namespace: 'test' }
  const a = attributes(p as KubeObject)
  await assert.rejects(async () => plugin(container({ max: list('1') })).validate?.(a), {
    message: 'pods "web-" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
  })
})

test('plugin: without LimitRanges nothing changes', async () => {
  const p = pod('x', 1, {})
  const before = structuredClone(p)
  const a = attributes(p as KubeObject)
  await plugin().admit?.(a)
  await plugin().validate?.(a)
  assert.deepEqual(p, before)
})

test('plugin: pod updates and subresources are not its business; claim updates are', () => {
  const lr = plugin(valid)
  const p = pod('x', 1, {}) as KubeObject
  assert.equal(lr.handles(attributes(p, { operation: 'UPDATE', oldObject: p })), false)
  assert.equal(lr.handles({ ...attributes(p), subresource: 'status' }), false)
  const c = claim('1Gi') as KubeObject
  assert.equal(
    lr.handles(attributes(c, { resource: 'persistentvolumeclaims', operation: 'UPDATE', oldObject: c })),
    true,
  )
})

test('plugin: a claim being deleted is not checked', async () => {
  const c = claim('20Gi') as KubeObject
  const old = {
    ...claim('20Gi'),
    metadata: { name: 'c', deletionTimestamp: '2026-01-01T00:00:00Z' },
  } as KubeObject
  await plugin(claimLimits).validate?.(
    attributes(c, { resource: 'persistentvolumeclaims', operation: 'UPDATE', oldObject: old }),
  )
})
