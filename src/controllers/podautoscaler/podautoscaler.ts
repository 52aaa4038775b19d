import type {
  CrossVersionObjectReference,
  HorizontalPodAutoscaler,
} from '../../api/generated/types/autoscaling-v2.ts'
import type { Scale } from '../../api/generated/types/autoscaling-v1.ts'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { builtin, objectKey, runWorkers, type ResourceRef } from '../../client/index.ts'
import type { ControllerContext, ControllerDefinition } from '../controller.ts'
import { HorizontalController, type ScaleClient } from './horizontal.ts'
import { ResourceMetricsClient, type MetricsClient } from './metrics-client.ts'

export { HorizontalController, type ScaleClient } from './horizontal.ts'
export { FakeMetricsClient, ResourceMetricsClient, type MetricsClient } from './metrics-client.ts'

export interface HorizontalPodAutoscalerSettings {
  /** --horizontal-pod-autoscaler-sync-period (default 15 s). */
  syncPeriodMs?: number
  /** --horizontal-pod-autoscaler-downscale-stabilization (default 5 min). */
  downscaleStabilizationMs?: number
  /** --horizontal-pod-autoscaler-tolerance (default 0.1). */
  tolerance?: number
  /** --horizontal-pod-autoscaler-cpu-initialization-period (default 5 min). */
  cpuInitializationPeriodMs?: number
  /** --horizontal-pod-autoscaler-initial-readiness-delay (default 30 s). */
  initialReadinessDelayMs?: number
  /** Where usage is read (default: metrics.k8s.io/v1beta1 through the apiserver). */
  metrics?: MetricsClient
}

/**
 * The workloads whose /scale the autoscaler knows, by group and kind (upstream asks the REST
 * mapper, which also knows custom resources with a scale subresource; ours are the built-ins).
 */
const scalable: Record<string, Record<string, ResourceRef>> = {
  '': { ReplicationController: builtin('', 'v1', 'replicationcontrollers') },
  apps: {
    Deployment: builtin('apps', 'v1', 'deployments'),
    ReplicaSet: builtin('apps', 'v1', 'replicasets'),
    StatefulSet: builtin('apps', 'v1', 'statefulsets'),
  },
}

/** The resource of a scale target; throws the REST mapper's words for one it cannot scale. */
export function scaleTargetResource(ref: Readonly<CrossVersionObjectReference>): ResourceRef {
  const apiVersion = ref.apiVersion ?? ''
  const parts = apiVersion.split('/')
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new Error(`unexpected GroupVersion string: ${apiVersion}`)
  }
  const group = parts.length === 2 ? (parts[0] ?? '') : ''
  const found = scalable[group]?.[ref.kind]
  if (!found) throw new Error(`no matches for kind "${ref.kind}" in group "${group}"`)
  return found
}

/** The /scale subresource through the API. */
export function apiScaleClient(ctx: Pick<ControllerContext, 'client'>): ScaleClient {
  const target = (namespace: string, ref: Readonly<CrossVersionObjectReference>) => ({
    client: ctx.client(scaleTargetResource(ref)),
    at: { namespace, name: ref.name, subresource: 'scale' },
  })
  return {
    get(namespace, ref, signal) {
      const t = target(namespace, ref)
      return t.client.subresource<Scale>('GET', t.at, signal ? { signal } : {})
    },
    update(namespace, ref, scale, signal) {
      const t = target(namespace, ref)
      return t.client.subresource<Scale>('PUT', t.at, { body: scale, ...(signal ? { signal } : {}) })
    },
  }
}

/** kube-controller-manager's horizontalpodautoscaling controller. */
export function horizontalPodAutoscalerController(
  s: HorizontalPodAutoscalerSettings = {},
): ControllerDefinition {
  return {
    name: 'horizontalpodautoscaling',
    eventSource: 'horizontal-pod-autoscaler',
    serviceAccount: 'horizontal-pod-autoscaler',
    setup(ctx) {
      const hpas = ctx.informers.informer<HorizontalPodAutoscaler>(
        builtin('autoscaling', 'v2', 'horizontalpodautoscalers'),
      )
      const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
      const client = ctx.client<HorizontalPodAutoscaler>(hpas.resource)
      const controller = new HorizontalController({
        hpas: hpas.lister,
        pods: pods.lister,
        scales: apiScaleClient(ctx),
        metrics: s.metrics ?? new ResourceMetricsClient(ctx.rest),
        updateStatus: async (hpa) => {
          await client.updateStatus(hpa)
        },
        recorder: ctx.recorder,
        clock: ctx.clock,
        log: ctx.log,
        ...(s.syncPeriodMs !== undefined ? { syncPeriodMs: s.syncPeriodMs } : {}),
        ...(s.downscaleStabilizationMs !== undefined
          ? { downscaleStabilizationMs: s.downscaleStabilizationMs }
          : {}),
        ...(s.tolerance !== undefined ? { tolerance: s.tolerance } : {}),
        ...(s.cpuInitializationPeriodMs !== undefined
          ? { cpuInitializationPeriodMs: s.cpuInitializationPeriodMs }
          : {}),
        ...(s.initialReadinessDelayMs !== undefined
          ? { delayOfInitialReadinessStatusMs: s.initialReadinessDelayMs }
          : {}),
      })
      hpas.addHandler({
        add: (hpa) => controller.enqueue(objectKey(hpa)),
        update: (_old, hpa) => controller.enqueue(objectKey(hpa)),
        delete: (hpa) => controller.forget(objectKey(hpa)),
      })
      return (signal) =>
        runWorkers(controller.queue, controller, {
          workers: 5,
          signal,
          log: ctx.log,
        })
    },
  }
}
