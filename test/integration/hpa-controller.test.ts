import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Deployment } from '../../src/api/generated/types/apps-v1.ts'
import type { HorizontalPodAutoscaler } from '../../src/api/generated/types/autoscaling-v2.ts'
import type { Event, Pod } from '../../src/api/generated/types/core-v1.ts'
import type { ResourceClient } from '../../src/client/index.ts'
import { FakeMetricsClient } from '../../src/controllers/podautoscaler/podautoscaler.ts'
import { KubeletPodManager, startKubelet, type RunningKubelet } from '../../src/kubelet/index.ts'
import { FakeRuntime } from '../../src/kubelet/runtime/fake/fake-runtime.ts'
import { kubectlMissing, nodeClientConfig, testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

const deployment = (name: string, replicas: number): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'web', image: 'nginx', resources: { requests: { cpu: '200m' } } }] },
    },
  },
})

/** The stabilization window the controller runs with here (upstream's default is 5 minutes). */
const downscaleStabilizationMs = 3_000

describe('the horizontal pod autoscaler on simulated load', { skip: kubectlMissing ?? false }, () => {
  let cp: TestControlPlane
  let deployments: ResourceClient<Deployment>
  let pods: ResourceClient<Pod>
  let hpas: ResourceClient<HorizontalPodAutoscaler>
  const metrics = new FakeMetricsClient()

  /**
   * Simulated load: `totalMillicores` of cpu spread evenly over the app's live pods, as a service
   * behind a load balancer would see it. Called on every poll, so new pods share the load.
   */
  const applyLoad = async (app: string, totalMillicores: number): Promise<number> => {
    const live = (await pods.list('default', { labelSelector: `app=${app}` })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    )
    for (const name of metrics.pods('default')) {
      if (name.startsWith(`${app}-`) && !live.some((p) => p.metadata?.name === name))
        metrics.delete('default', name)
    }
    for (const p of live) {
      metrics.set('default', p.metadata?.name ?? '', { cpu: Math.round(totalMillicores / live.length) })
    }
    return live.length
  }

  const replicasUnderLoad = (app: string, load: number, want: number, ms: number) =>
    until(
      async () => {
        await applyLoad(app, load)
        const d = await deployments.get('default', app)
        return d.spec?.replicas === want ? d : undefined
      },
      ms,
      `${app} to be scaled to ${want}`,
    )

  before(async () => {
    cp = await startTestControlPlane({
      identity: 'test',
      settings: { horizontalPodAutoscaler: { metrics, syncPeriodMs: 250, downscaleStabilizationMs } },
    })
    deployments = cp.client('apps', 'v1', 'deployments')
    pods = cp.client('', 'v1', 'pods')
    hpas = cp.client('autoscaling', 'v2', 'horizontalpodautoscalers')
  })
  after(async () => {
    await cp.stop()
  })

  test('a Deployment scales out under load and back in once the stabilization window has passed', async () => {
    await deployments.create(deployment('web', 2))
    await until(async () => (await applyLoad('web', 0)) === 2, 20_000, 'two pods of web')
    await hpas.create({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      },
    })

    // 400m over two pods of 200m requests: 100 % against a 50 % target, so twice the pods.
    await replicasUnderLoad('web', 400, 4, 20_000)
    const settled = await until(
      async () => {
        await applyLoad('web', 400)
        const h = await hpas.get('default', 'web')
        const s = h.status
        return s?.currentReplicas === 4 && s.currentMetrics?.[0]?.resource?.current.averageUtilization === 50
          ? h
          : undefined
      },
      20_000,
      'the HPA to see 4 replicas at 50 %',
    )
    assert.equal(settled.status?.desiredReplicas, 4)
    assert.ok(settled.status?.lastScaleTime)
    assert.equal(settled.status?.observedGeneration, settled.metadata?.generation)
    const byType = Object.fromEntries(
      (settled.status?.conditions ?? []).map((c) => [c.type, [c.status, c.reason]]),
    )
    assert.deepEqual(byType, {
      AbleToScale: ['True', 'ReadyForNewScale'],
      ScalingActive: ['True', 'ValidMetricFound'],
      ScalingLimited: ['False', 'DesiredWithinRange'],
    })
    const events = cp.client<Event>('', 'v1', 'events')
    const rescale = await until(
      async () =>
        (await events.list('default')).items.find(
          (e) => e.reason === 'SuccessfulRescale' && e.involvedObject.name === 'web',
        ),
      10_000,
      'a SuccessfulRescale event',
    )
    assert.equal(
      rescale.message,
      'New size: 4; reason: cpu resource utilization (percentage of request) above target',
    )
    assert.equal(rescale.source?.component, 'horizontal-pod-autoscaler')
    const get = await cp.api.kubectl(['get', 'hpa', 'web', '--no-headers'])
    assert.equal(get.code, 0, get.stderr)
    assert.match(get.stdout, /^web\s+Deployment\/web\s+cpu: 50%\/50%\s+2\s+6\s+4\s/)
    const describe = await cp.api.kubectl(['describe', 'hpa', 'web'])
    assert.equal(describe.code, 0, describe.stderr)
    assert.match(
      describe.stdout,
      /resource cpu on pods\s+\(as a percentage of request\):\s+50% \(100m\) \/ 50%/,
    )
    assert.match(
      describe.stdout,
      /ScalingActive\s+True\s+ValidMetricFound\s+the HPA was able to successfully calculate/,
    )
    assert.match(
      describe.stdout,
      /Normal\s+SuccessfulRescale\s+.*horizontal-pod-autoscaler\s+New size: 4; reason: cpu resource/,
    )

    // The load goes: 5 % each, so 2 pods (the minimum) would do, but only after the window.
    const dropped = Date.now()
    const scaledIn = await replicasUnderLoad('web', 40, 2, 20_000)
    const waited = Date.now() - dropped
    assert.ok(waited >= downscaleStabilizationMs - 500, `scaled in after ${waited} ms, inside the window`)
    assert.equal(scaledIn.spec?.replicas, 2)
    const down = await until(
      async () =>
        (await events.list('default')).items.find(
          (e) =>
            e.reason === 'SuccessfulRescale' && e.message === 'New size: 2; reason: All metrics below target',
        ),
      10_000,
      'the scale-in event',
    )
    assert.equal(down.involvedObject.kind, 'HorizontalPodAutoscaler')
  })

  test('ReplicaSets, StatefulSets and ReplicationControllers are scaled through their /scale too', async () => {
    /** Enough of a workload for its /scale: replicas, a selector and a pod template. */
    interface Workload {
      apiVersion: string
      kind: string
      metadata: { name: string; namespace: string }
      spec: { replicas: number; selector: unknown; template: unknown; serviceName?: string }
    }
    const template = (app: string) => ({
      metadata: { labels: { app } },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    })
    const targets = [
      { group: 'apps', apiVersion: 'apps/v1', kind: 'ReplicaSet', plural: 'replicasets', name: 'rs' },
      { group: 'apps', apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets', name: 'sts' },
      {
        group: '',
        apiVersion: 'v1',
        kind: 'ReplicationController',
        plural: 'replicationcontrollers',
        name: 'rc',
      },
    ]
    for (const t of targets) {
      const selector = t.kind === 'ReplicationController' ? { app: t.name } : { matchLabels: { app: t.name } }
      await cp.client<Workload>(t.group, 'v1', t.plural).create({
        apiVersion: t.apiVersion,
        kind: t.kind,
        metadata: { name: t.name, namespace: 'default' },
        spec: {
          replicas: 1,
          selector,
          template: template(t.name),
          ...(t.kind === 'StatefulSet' ? { serviceName: t.name } : {}),
        },
      })
      await hpas.create({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: t.name, namespace: 'default' },
        spec: {
          scaleTargetRef: { apiVersion: t.apiVersion, kind: t.kind, name: t.name },
          minReplicas: 3,
          maxReplicas: 5,
        },
      })
    }
    for (const t of targets) {
      const client = cp.client<Workload>(t.group, 'v1', t.plural)
      await until(
        async () => (await client.get('default', t.name)).spec.replicas === 3,
        20_000,
        `the ${t.kind} to be scaled to its minimum`,
      )
    }
  })

  test('kubectl autoscale creates an HPA whose TARGETS kubectl get shows', async () => {
    await deployments.create(deployment('api', 2))
    await until(async () => (await applyLoad('api', 0)) === 2, 20_000, 'two pods of api')
    const r = await cp.api.kubectl([
      'autoscale',
      'deployment',
      'api',
      '--min=2',
      '--max=5',
      '--cpu-percent=50',
    ])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /horizontalpodautoscaler.autoscaling\/api autoscaled/)
    const hpa = await hpas.get('default', 'api')
    assert.deepEqual(hpa.spec.metrics, [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
      },
    ])
    // 60m of a 200m request each: 30 %, within what 2 pods can carry.
    const shown = await until(
      async () => {
        await applyLoad('api', 120)
        const get = await cp.api.kubectl(['get', 'hpa', 'api', '--no-headers'])
        return /cpu: 30%\/50%/.test(get.stdout) ? get.stdout : undefined
      },
      20_000,
      'kubectl get hpa to show cpu: 30%/50%',
    )
    assert.match(shown, /^api\s+Deployment\/api\s+cpu: 30%\/50%\s+2\s+5\s+2\s/)
    assert.equal((await deployments.get('default', 'api')).spec?.replicas, 2)
  })
})

/**
 * The same controller reading metrics.k8s.io for real: a kubelet on the fake runtime whose `busy`
 * containers use 250m, the apiserver scraping it, the controller listing PodMetrics as its own
 * ServiceAccount (so its RBAC is exercised too).
 */
describe('the horizontal pod autoscaler on the metrics API', { skip: kubectlMissing ?? false }, () => {
  let cp: TestControlPlane
  let kubelet: RunningKubelet | undefined
  const nodeName = 'hpa-node-1'

  before(async () => {
    cp = await startTestControlPlane({
      identity: 'test',
      readyPods: false,
      controllers: ['deployment', 'replicaset', 'horizontalpodautoscaling'],
      // Until the kubelet has usage to report, each sync records two warnings on the HPA, and an
      // object gets 25 events before the spam filter drops the rest (SuccessfulRescale too): a
      // slow start on a loaded machine must not use them up.
      settings: { horizontalPodAutoscaler: { syncPeriodMs: 4_000 } },
    })
    kubelet = startKubelet({
      client: await nodeClientConfig(cp.api, nodeName),
      nodeName,
      runtime: new FakeRuntime({
        rules: [
          { name: 'busy', behaviour: { cpuNanoCores: 250_000_000, memoryWorkingSetBytes: 64 * 1024 * 1024 } },
        ],
      }),
      podManager: new KubeletPodManager(),
      log: testLog,
      machine: { cpus: 4, memoryBytes: 8 * 1024 ** 3, internalIP: '127.0.0.1', hostname: nodeName },
      server: { port: 0, address: '127.0.0.1', clientCA: cp.api.server.caPem },
    })
  })
  after(async () => {
    await kubelet?.stop()
    await cp?.stop()
  })

  test('250m used of a 250m request against a 50 % target doubles the Deployment', async () => {
    const deployments = cp.client<Deployment>('apps', 'v1', 'deployments')
    const d = deployment('busy', 1)
    const template = d.spec?.template.spec
    assert.ok(template)
    template.nodeName = nodeName
    template.containers = [
      { name: 'busy', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '250m' } } },
    ]
    await deployments.create(d)
    await cp.client<HorizontalPodAutoscaler>('autoscaling', 'v2', 'horizontalpodautoscalers').create({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'busy', namespace: 'default' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'busy' },
        minReplicas: 1,
        maxReplicas: 2,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      },
    })
    await until(
      async () => (await deployments.get('default', 'busy')).spec?.replicas === 2,
      60_000,
      'the HPA to scale busy to 2',
    )
    const rescale = await until(
      async () =>
        (await cp.client<Event>('', 'v1', 'events').list('default')).items.find(
          (e) => e.reason === 'SuccessfulRescale' && e.involvedObject.name === 'busy',
        ),
      10_000,
      'the SuccessfulRescale event',
    )
    assert.equal(
      rescale.message,
      'New size: 2; reason: cpu resource utilization (percentage of request) above target',
    )
    const get = await cp.api.kubectl(['get', 'hpa', 'busy', '--no-headers'])
    assert.match(get.stdout, /^busy\s+Deployment\/busy\s+cpu: \d+%\/50%\s+1\s+2\s+[12]\s/)
  })
})
