import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { FakeMetricsClient } from './metrics-client.ts'
import { podRequests, ReplicaCalculator } from './replica-calculator.ts'

const now = Date.parse('2026-01-01T12:00:00Z')
const iso = (ms: number) => new Date(ms).toISOString()
const minutes = 60_000

interface PodSpec {
  /** The pod's request of the resource, as a quantity (default 1 core / 1Gi). */
  request?: string
  phase?: string
  /** The Ready condition's status (default True). */
  ready?: 'True' | 'False'
  /** When the pod started, relative to now (default 10 minutes ago: past the cpu initialization). */
  startedAgoMs?: number
  /** When Ready last changed, relative to now (default: 5 s after the start). */
  readyAgoMs?: number
  deleted?: boolean
  /** Its sample in milli-units; no sample when undefined. */
  usage?: number
}

function makePods(resource: string, specs: PodSpec[]): { pods: Pod[]; metrics: FakeMetricsClient } {
  const metrics = new FakeMetricsClient(() => now)
  metrics.windowMs = 30_000
  const pods = specs.map((s, i): Pod => {
    const started = now - (s.startedAgoMs ?? 10 * minutes)
    const name = `pod-${i}`
    if (s.usage !== undefined) metrics.set('default', name, { [resource]: s.usage })
    return {
      metadata: {
        name,
        namespace: 'default',
        labels: { app: 'web' },
        ...(s.deleted ? { deletionTimestamp: iso(now) } : {}),
      },
      spec: {
        containers: [
          {
            name: 'web',
            resources: { requests: { [resource]: s.request ?? (resource === 'cpu' ? '1' : '1Gi') } },
          },
        ],
      },
      status: {
        phase: s.phase ?? 'Running',
        startTime: iso(started),
        conditions: [
          {
            type: 'Ready',
            status: s.ready ?? 'True',
            lastTransitionTime: iso(s.readyAgoMs !== undefined ? now - s.readyAgoMs : started + 5_000),
          },
        ],
      },
    }
  })
  return { pods, metrics }
}

function calculator(pods: Pod[], metrics: FakeMetricsClient): ReplicaCalculator {
  return new ReplicaCalculator({ metrics, pods: () => pods, now: () => now })
}

const tolerances = { scaleUp: 0.1, scaleDown: 0.1 }

interface UtilizationCase {
  name: string
  resource?: string
  current: number
  target: number
  pods: PodSpec[]
  want: { replicas: number; utilization: number; rawUtilization: number }
}

const ready = (usage: number | undefined, more: PodSpec = {}): PodSpec => ({
  ...(usage !== undefined ? { usage } : {}),
  ...more,
})
const unready = (usage: number, more: PodSpec = {}): PodSpec => ({
  usage,
  ready: 'False',
  startedAgoMs: 60_000,
  readyAgoMs: 50_000,
  ...more,
})
/** Started a minute ago and ready only since just now: its sample covers time before it was ready. */
const hot = (usage: number): PodSpec => ({ usage, startedAgoMs: 60_000, readyAgoMs: 1_000 })

const utilizationCases: UtilizationCase[] = [
  {
    name: 'usage above the target scales up in proportion',
    current: 3,
    target: 30,
    pods: [ready(300), ready(500), ready(700)],
    want: { replicas: 5, utilization: 50, rawUtilization: 500 },
  },
  {
    name: 'an unready pod counts as idle on scale up, so the step is smaller',
    current: 3,
    target: 30,
    pods: [unready(300), ready(500), ready(700)],
    want: { replicas: 4, utilization: 60, rawUtilization: 600 },
  },
  {
    name: 'a pod still warming up (sample from before it was ready) counts as idle on scale up',
    current: 3,
    target: 30,
    pods: [hot(300), ready(500), ready(700)],
    want: { replicas: 4, utilization: 60, rawUtilization: 600 },
  },
  {
    name: 'unready pods that would turn a scale up into a scale down leave the replicas alone',
    current: 3,
    target: 30,
    pods: [ready(400), unready(500), unready(700)],
    want: { replicas: 3, utilization: 40, rawUtilization: 400 },
  },
  {
    name: 'failed pods are ignored',
    current: 2,
    target: 30,
    pods: [ready(500), ready(700), ready(100, { phase: 'Failed' }), ready(100, { phase: 'Failed' })],
    want: { replicas: 4, utilization: 60, rawUtilization: 600 },
  },
  {
    name: 'pods being deleted are ignored',
    current: 2,
    target: 30,
    pods: [ready(500), ready(700), ready(100, { deleted: true }), ready(100, { deleted: true })],
    want: { replicas: 4, utilization: 60, rawUtilization: 600 },
  },
  {
    name: 'pending pods count as unready',
    current: 3,
    target: 30,
    pods: [ready(500), ready(700), ready(undefined, { phase: 'Pending' })],
    want: { replicas: 4, utilization: 60, rawUtilization: 600 },
  },
  {
    name: 'usage below the target scales down in proportion',
    current: 5,
    target: 50,
    pods: [ready(100), ready(300), ready(500), ready(250), ready(250)],
    want: { replicas: 3, utilization: 28, rawUtilization: 280 },
  },
  {
    name: 'unready pods are left out of a scale down',
    current: 5,
    target: 50,
    pods: [ready(100), ready(300), ready(500), unready(250), unready(250)],
    want: { replicas: 2, utilization: 30, rawUtilization: 300 },
  },
  {
    name: 'usage within 10% of the target changes nothing',
    current: 3,
    target: 100,
    pods: [ready(1010, { request: '900m' }), ready(1030), ready(1020, { request: '1100m' })],
    want: { replicas: 3, utilization: 102, rawUtilization: 1020 },
  },
  {
    name: 'a pod without a sample at exactly the target changes nothing',
    current: 2,
    target: 100,
    pods: [ready(1000), ready(undefined)],
    want: { replicas: 2, utilization: 100, rawUtilization: 1000 },
  },
  {
    name: 'a pod without a sample counts as idle on scale up: here that lands within tolerance',
    current: 2,
    target: 100,
    pods: [ready(1900), ready(undefined)],
    want: { replicas: 2, utilization: 190, rawUtilization: 1900 },
  },
  {
    name: 'a pod without a sample counts as fully used on scale down: here that keeps the replicas',
    current: 2,
    target: 100,
    pods: [ready(600), ready(undefined)],
    want: { replicas: 2, utilization: 60, rawUtilization: 600 },
  },
  {
    name: 'missing and unready pods both count as idle on scale up',
    current: 3,
    target: 50,
    pods: [unready(100), ready(2000), ready(undefined)],
    want: { replicas: 4, utilization: 200, rawUtilization: 2000 },
  },
  {
    name: 'a missing pod counts as fully used on scale down, and unready ones are left out',
    current: 4,
    target: 50,
    pods: [unready(100), ready(100), ready(100), ready(undefined)],
    want: { replicas: 3, utilization: 10, rawUtilization: 100 },
  },
  {
    name: 'past its initialization period, a pod that was ready before counts though not ready now',
    current: 2,
    target: 50,
    pods: [ready(1000), ready(1000, { ready: 'False', readyAgoMs: 60_000 })],
    want: { replicas: 4, utilization: 100, rawUtilization: 1000 },
  },
  {
    name: 'past its initialization period, a pod never ready is unready (idle on scale up: no change here)',
    current: 2,
    target: 50,
    pods: [
      ready(1000),
      ready(1000, { ready: 'False', startedAgoMs: 10 * minutes, readyAgoMs: 10 * minutes - 10_000 }),
    ],
    want: { replicas: 2, utilization: 100, rawUtilization: 1000 },
  },
  {
    name: 'memory has no initialization period: an unready pod with a sample counts',
    resource: 'memory',
    current: 2,
    target: 50,
    pods: [ready(1024 ** 3 * 1000), unready(1024 ** 3 * 1000)],
    want: { replicas: 4, utilization: 100, rawUtilization: 1024 ** 3 * 1000 },
  },
]

for (const c of utilizationCases) {
  test(`utilization: ${c.name}`, async () => {
    const resource = c.resource ?? 'cpu'
    const { pods, metrics } = makePods(resource, c.pods)
    const got = await calculator(pods, metrics).resourceReplicas({
      currentReplicas: c.current,
      resource,
      namespace: 'default',
      selector: 'app=web',
      tolerances,
      targetUtilization: c.target,
    })
    assert.deepEqual(
      { replicas: got.replicas, utilization: got.utilization, rawUtilization: got.rawUtilization },
      c.want,
    )
  })
}

const averageValueCases = [
  {
    name: 'average usage below the target value scales down',
    current: 5,
    target: 500,
    pods: [ready(100), ready(300), ready(500), ready(250), ready(250)],
    want: { replicas: 3, usage: 280 },
  },
  {
    name: 'average usage above the target value scales up',
    current: 3,
    target: 300,
    pods: [ready(300), ready(500), ready(700)],
    want: { replicas: 5, usage: 500 },
  },
  {
    name: 'a pod without a sample counts as at the target on scale down',
    current: 3,
    target: 1000,
    pods: [ready(100), ready(100), ready(undefined)],
    want: { replicas: 2, usage: 100 },
  },
  {
    name: 'usage within tolerance of the target value changes nothing',
    current: 4,
    target: 1000,
    pods: [ready(1050), ready(1050), ready(1050), ready(1050)],
    want: { replicas: 4, usage: 1050 },
  },
]

for (const c of averageValueCases) {
  test(`average value: ${c.name}`, async () => {
    const { pods, metrics } = makePods('cpu', c.pods)
    const got = await calculator(pods, metrics).rawResourceReplicas({
      currentReplicas: c.current,
      resource: 'cpu',
      namespace: 'default',
      selector: 'app=web',
      tolerances,
      targetUsage: c.target,
    })
    assert.deepEqual({ replicas: got.replicas, usage: got.usage }, c.want)
  })
}

const errorCases = [
  {
    name: 'no metrics at all',
    pods: [ready(undefined)],
    want: 'unable to get metrics for resource cpu: no metrics returned from resource metrics API',
  },
  {
    name: 'every measured pod unready',
    pods: [unready(100), ready(undefined, { phase: 'Pending' })],
    want: 'did not receive metrics for targeted pods (pods might be unready)',
  },
  {
    name: 'a container without a cpu request',
    pods: [ready(100, { request: 'none' })],
    want: 'missing request for cpu in container web of Pod pod-0',
  },
]

for (const c of errorCases) {
  test(`utilization fails with upstream's words: ${c.name}`, async () => {
    const { pods, metrics } = makePods('cpu', c.pods)
    if (c.pods[0]?.request === 'none') delete pods[0]?.spec?.containers[0]?.resources?.requests?.cpu
    await assert.rejects(
      calculator(pods, metrics).resourceReplicas({
        currentReplicas: 1,
        resource: 'cpu',
        namespace: 'default',
        selector: 'app=web',
        tolerances,
        targetUtilization: 50,
      }),
      { message: c.want },
    )
  })
}

test('no pods for the selector is an error', async () => {
  const metrics = new FakeMetricsClient(() => now)
  metrics.set('default', 'other', { cpu: 100 })
  await assert.rejects(
    calculator([], metrics).resourceReplicas({
      currentReplicas: 1,
      resource: 'cpu',
      namespace: 'default',
      selector: 'app=web',
      tolerances,
      targetUtilization: 50,
    }),
    { message: 'no pods returned by selector while calculating replica count' },
  )
})

test('a tolerance of its own per direction (HPAConfigurableTolerance)', async () => {
  const { pods, metrics } = makePods('cpu', [ready(600), ready(600)])
  const got = await calculator(pods, metrics).resourceReplicas({
    currentReplicas: 2,
    resource: 'cpu',
    namespace: 'default',
    selector: 'app=web',
    tolerances: { scaleUp: 0.25, scaleDown: 0.1 },
    targetUtilization: 50,
  })
  assert.equal(got.replicas, 2, '120% of the target is within a 25% scale-up tolerance')
})

test("a pod's request counts its sidecars (restartable init containers) but not its other init containers", () => {
  const pod: Pod = {
    metadata: { name: 'p' },
    spec: {
      initContainers: [
        { name: 'setup', resources: { requests: { cpu: '1' } } },
        { name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
      ],
      containers: [{ name: 'web', resources: { requests: { cpu: '200m' } } }],
    },
  }
  assert.deepEqual([...podRequests([pod], 'cpu')], [['p', 300]])
  assert.deepEqual([...podRequests([pod], 'cpu', 'proxy')], [['p', 100]])
})
