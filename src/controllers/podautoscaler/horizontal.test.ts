import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  HorizontalPodAutoscaler,
  HorizontalPodAutoscalerSpec,
} from '../../api/generated/types/autoscaling-v2.ts'
import type { Scale } from '../../api/generated/types/autoscaling-v1.ts'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { IndexedCache, Lister, type ObjectLike } from '../../client/index.ts'
import { HorizontalController, type ScaleClient } from './horizontal.ts'
import { FakeMetricsClient } from './metrics-client.ts'
import { scaleTargetResource } from './podautoscaler.ts'

function makeHPA(spec: Partial<HorizontalPodAutoscalerSpec> = {}): HorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default', generation: 3, uid: 'u1' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
        },
      ],
      ...spec,
    },
  }
}

function makePod(name: string, startedAt: number): Pod {
  const t = new Date(startedAt - 10 * 60_000).toISOString()
  return {
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'web', resources: { requests: { cpu: '200m', memory: '100Mi' } } }] },
    status: {
      phase: 'Running',
      startTime: t,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }],
    },
  }
}

/** A Deployment's /scale kept in memory; updates change it (or fail, when told to). */
class FakeScales implements ScaleClient {
  replicas: number
  selector = 'app=web'
  updates: number[] = []
  failUpdate: Error | undefined
  constructor(replicas: number) {
    this.replicas = replicas
  }
  async get(_ns: string, ref: { apiVersion?: string; kind: string; name: string }): Promise<Scale> {
    await Promise.resolve()
    scaleTargetResource(ref)
    if (ref.name !== 'web') throw new Error(`deployments.apps "${ref.name}" not found`)
    return {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: this.replicas },
      status: { replicas: this.replicas, selector: this.selector },
    }
  }
  update(_ns: string, _ref: unknown, scale: Scale): Promise<Scale> {
    if (this.failUpdate) return Promise.reject(this.failUpdate)
    this.replicas = scale.spec?.replicas ?? 0
    this.updates.push(this.replicas)
    return Promise.resolve(scale)
  }
}

function setup(o: { hpa?: HorizontalPodAutoscaler; replicas?: number; usage?: number[] } = {}) {
  const clock = new FakeClock()
  const hpas = new IndexedCache<HorizontalPodAutoscaler>()
  const pods = new IndexedCache<Pod>()
  const hpa = o.hpa ?? makeHPA()
  hpas.set(hpa)
  const metrics = new FakeMetricsClient(() => clock.now())
  const replicas = o.replicas ?? 2
  const usage = o.usage ?? []
  for (let i = 0; i < replicas; i++) {
    pods.set(makePod(`web-${i}`, clock.now()))
    const u = usage[i]
    if (u !== undefined) metrics.set('default', `web-${i}`, { cpu: u, memory: 50 * 1024 * 1024 * 1000 })
  }
  const scales = new FakeScales(replicas)
  const events: string[] = []
  const statuses: HorizontalPodAutoscaler[] = []
  const controller = new HorizontalController({
    hpas: new Lister(hpas),
    pods: new Lister(pods),
    scales,
    metrics,
    updateStatus: (h) => {
      statuses.push(structuredClone(h))
      hpas.set(structuredClone(h))
      return Promise.resolve()
    },
    recorder: {
      event: (_o: ObjectLike, type, reason, message) => void events.push(`${type} ${reason} ${message}`),
    },
    clock,
  })
  const last = () => statuses.at(-1)?.status
  const conditions = () => last()?.conditions?.map((c) => [c.type, c.status, c.reason])
  return { controller, clock, scales, metrics, events, statuses, last, conditions, pods, hpas }
}

test('cpu above its target scales the Deployment out and says why', async () => {
  const s = setup({ usage: [200, 200] })
  assert.deepEqual(await s.controller.reconcile('default/web'), { afterMs: 15_000 })
  assert.deepEqual(s.scales.updates, [4])
  assert.deepEqual(s.events, [
    'Normal SuccessfulRescale New size: 4; reason: cpu resource utilization (percentage of request) above target',
  ])
  const st = s.last()
  assert.equal(st?.currentReplicas, 2)
  assert.equal(st?.desiredReplicas, 4)
  assert.equal(st?.observedGeneration, 3)
  assert.equal(st?.lastScaleTime, '2026-01-01T00:00:00Z')
  assert.deepEqual(st?.currentMetrics, [
    {
      type: 'Resource',
      resource: { name: 'cpu', current: { averageValue: '200m', averageUtilization: 100 } },
    },
  ])
  assert.deepEqual(s.conditions(), [
    ['AbleToScale', 'True', 'SucceededRescale'],
    ['ScalingActive', 'True', 'ValidMetricFound'],
    ['ScalingLimited', 'False', 'DesiredWithinRange'],
  ])
  assert.equal(
    st?.conditions?.find((c) => c.type === 'ScalingActive')?.message,
    'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
  )
})

test('at its target nothing is written to the scale, and an unchanged status is not written again', async () => {
  const s = setup({ usage: [100, 100] })
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.scales.updates, [])
  assert.equal(s.statuses.length, 1)
  assert.deepEqual(s.conditions(), [
    ['AbleToScale', 'True', 'ReadyForNewScale'],
    ['ScalingActive', 'True', 'ValidMetricFound'],
    ['ScalingLimited', 'False', 'DesiredWithinRange'],
  ])
  s.clock.advance(15_000)
  await s.controller.reconcile('default/web')
  assert.equal(s.statuses.length, 1)
})

test('a scale in waits out the 5-minute stabilization window', async () => {
  const s = setup({ replicas: 4, usage: [20, 20, 20, 20] })
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.scales.updates, [])
  assert.equal(s.last()?.conditions?.find((c) => c.type === 'AbleToScale')?.reason, 'ScaleDownStabilized')
  s.clock.advance(5 * 60_000 + 1)
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.scales.updates, [1])
  assert.deepEqual(s.events, ['Normal SuccessfulRescale New size: 1; reason: All metrics below target'])
})

test('memory by average value: the status carries the average usage', async () => {
  const s = setup({
    hpa: makeHPA({
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } },
        },
      ],
    }),
    usage: [1, 1],
  })
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.last()?.currentMetrics, [
    { type: 'Resource', resource: { name: 'memory', current: { averageValue: '52428800' } } },
  ])
  assert.deepEqual(s.scales.updates, [], 'half the target is held by the downscale window')
})

test('without metrics, the HPA says so and keeps its replicas', async () => {
  const s = setup({ usage: [] })
  assert.deepEqual(await s.controller.reconcile('default/web'), { afterMs: 15_000 })
  const inner =
    'failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API'
  assert.deepEqual(s.events, [
    `Warning FailedGetResourceMetric ${inner}`,
    `Warning FailedComputeMetricsReplicas invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: ${inner}`,
  ])
  assert.deepEqual(s.conditions(), [
    ['AbleToScale', 'True', 'SucceededGetScale'],
    ['ScalingActive', 'False', 'FailedGetResourceMetric'],
  ])
  assert.equal(
    s.last()?.conditions?.[1]?.message,
    `the HPA was unable to compute the replica count: ${inner}`,
  )
  assert.deepEqual(s.last()?.currentMetrics, [{ type: '' }])
  assert.deepEqual(s.scales.updates, [])
})

test('a target that cannot be read: FailedGetScale', async () => {
  const cases = [
    {
      ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gone' },
      err: 'deployments.apps "gone" not found',
    },
    {
      ref: { apiVersion: 'apps/v1', kind: 'Frobnicator', name: 'web' },
      err: 'no matches for kind "Frobnicator" in group "apps"',
    },
  ]
  for (const c of cases) {
    const s = setup({ hpa: makeHPA({ scaleTargetRef: c.ref }) })
    await s.controller.reconcile('default/web')
    assert.deepEqual(s.events, [`Warning FailedGetScale ${c.err}`])
    assert.deepEqual(s.conditions(), [['AbleToScale', 'False', 'FailedGetScale']])
    assert.equal(
      s.last()?.conditions?.[0]?.message,
      `the HPA controller was unable to get the target's current scale: ${c.err}`,
    )
  }
})

test('replicas outside [min, max] are brought in without looking at metrics', async () => {
  const above = setup({ hpa: makeHPA({ maxReplicas: 3 }), replicas: 5 })
  await above.controller.reconcile('default/web')
  assert.deepEqual(above.scales.updates, [3])
  assert.equal(above.last()?.currentMetrics, undefined)
  assert.deepEqual(above.events, [
    'Normal SuccessfulRescale New size: 3; reason: Current number of replicas above Spec.MaxReplicas',
  ])
  const below = setup({ hpa: makeHPA({ minReplicas: 3 }), replicas: 1 })
  await below.controller.reconcile('default/web')
  assert.deepEqual(below.scales.updates, [3])
  assert.deepEqual(below.events, [
    'Normal SuccessfulRescale New size: 3; reason: Current number of replicas below Spec.MinReplicas',
  ])
})

test('a target scaled to zero turns autoscaling off', async () => {
  const s = setup({ replicas: 0 })
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.scales.updates, [])
  assert.deepEqual(s.conditions(), [
    ['AbleToScale', 'True', 'SucceededGetScale'],
    ['ScalingActive', 'False', 'ScalingDisabled'],
  ])
  assert.equal(s.last()?.desiredReplicas, 0)
})

test('a failed scale update is an event and AbleToScale False', async () => {
  const s = setup({ usage: [200, 200] })
  s.scales.failUpdate = new Error('the server is on fire')
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.events, [
    'Warning FailedRescale New size: 4; reason: cpu resource utilization (percentage of request) above target; error: the server is on fire',
  ])
  assert.equal(s.last()?.conditions?.[0]?.reason, 'FailedUpdateScale')
  assert.equal(s.last()?.lastScaleTime, undefined)
})

test('a target without a selector cannot be autoscaled', async () => {
  const s = setup({ usage: [100, 100] })
  s.scales.selector = ''
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.events, [
    'Warning SelectorRequired selector is required',
    'Warning FailedComputeMetricsReplicas selector is required',
  ])
  assert.deepEqual(s.conditions()?.[1], ['ScalingActive', 'False', 'InvalidSelector'])
})

test('the highest proposal among the metrics wins; one failing metric does not stop a scale up', async () => {
  const s = setup({
    hpa: makeHPA({
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
        },
        {
          type: 'Pods',
          pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } },
        },
        {
          type: 'Resource',
          resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 10 } },
        },
      ],
    }),
    usage: [100, 100],
  })
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.scales.updates, [4])
  assert.match(
    s.events.at(-1) ?? '',
    /New size: 4; reason: memory resource utilization \(percentage of request\) above target/,
  )
  assert.equal(s.last()?.currentMetrics?.[1]?.type, '')
})

test('a deleted HPA is forgotten and not looked at again', async () => {
  const s = setup({ usage: [100, 100] })
  s.hpas.delete('default/web')
  assert.equal(await s.controller.reconcile('default/web'), undefined)
  assert.deepEqual(s.statuses, [])
})

test('a ContainerResource metric names the container in its status and reason', async () => {
  const s = setup({
    hpa: makeHPA({
      metrics: [
        {
          type: 'ContainerResource',
          containerResource: {
            name: 'cpu',
            container: 'web',
            target: { type: 'Utilization', averageUtilization: 50 },
          },
        },
      ],
    }),
    usage: [200, 200],
  })
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.events, [
    'Normal SuccessfulRescale New size: 4; reason: cpu container resource utilization (percentage of request) above target',
  ])
  assert.deepEqual(s.last()?.currentMetrics, [
    {
      type: 'ContainerResource',
      containerResource: {
        name: 'cpu',
        container: 'web',
        current: { averageValue: '200m', averageUtilization: 100 },
      },
    },
  ])
})

test('spec.behavior limits the rate: one pod a minute', async () => {
  const s = setup({
    hpa: makeHPA({
      behavior: {
        scaleUp: {
          stabilizationWindowSeconds: 0,
          selectPolicy: 'Max',
          policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
        },
        scaleDown: { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
      },
    }),
    usage: [300, 300],
  })
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.scales.updates, [3])
  assert.deepEqual(s.conditions()?.at(-1), ['ScalingLimited', 'True', 'ScaleUpLimit'])
  s.clock.advance(30_000)
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.scales.updates, [3], 'the minute is not over')
  s.clock.advance(31_000)
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.scales.updates, [3, 4])
})

test('two HPAs over the same pods both stop with AmbiguousSelector', async () => {
  const s = setup({ usage: [100, 100] })
  const other = makeHPA()
  other.metadata = { ...other.metadata, name: 'web-too' }
  s.hpas.set(other)
  await s.controller.reconcile('default/web')
  await s.controller.reconcile('default/web-too')
  const message = 'pods by selector app=web are controlled by multiple HPAs: [default/web default/web-too]'
  assert.ok(s.events.includes(`Warning AmbiguousSelector ${message}`), s.events.join('\n'))
  const last = s.statuses.at(-1)
  assert.equal(last?.metadata?.name, 'web-too')
  assert.deepEqual(
    last?.status?.conditions?.find((c) => c.type === 'ScalingActive'),
    {
      type: 'ScalingActive',
      status: 'False',
      reason: 'AmbiguousSelector',
      message,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  )
  s.hpas.delete('default/web-too')
  await s.controller.reconcile('default/web-too')
  s.events.length = 0
  await s.controller.reconcile('default/web')
  assert.deepEqual(s.events, [], 'alone again, it scales on its metrics')
})
