import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Event } from '../api/generated/types/core-v1.ts'
import type { Lease } from '../api/generated/types/coordination-v1.ts'
import { realClock, type Clock } from '../base/clock.ts'
import { createLogger, type Logger } from '../base/log.ts'
import {
  builtin,
  electorFor,
  EventRecorder,
  InformerFactory,
  ResourceClient,
  runLeading,
  RestClient,
  withoutManagedFields,
  type ClientConfig,
  type LeaderElectionSettings,
  type LeadingRun,
  type Informer,
  type ObjectLike,
  type ResourceRef,
} from '../client/index.ts'
import { ServiceAccountClients } from './client-builder.ts'
import type { ControllerContext, ControllerDefinition } from './controller.ts'
import { clusterRoleAggregationController } from './clusterrole-aggregation.ts'
import { cronJobController } from './cronjob/cronjob.ts'
import { daemonSetController } from './daemonset/daemonset.ts'
import { deploymentController } from './deployment/deployment.ts'
import { disruptionController } from './disruption/disruption.ts'
import { endpointsController } from './endpointslice/endpoints.ts'
import { endpointSliceController } from './endpointslice/endpointslice.ts'
import { garbageCollectorController } from './garbagecollector/garbagecollector.ts'
import { jobController } from './job/job.ts'
import { namespaceController } from './namespace.ts'
import { nodeIpamController } from './node-ipam.ts'
import { nodeLifecycleController } from './node-lifecycle.ts'
import { podGCController } from './podgc.ts'
import {
  horizontalPodAutoscalerController,
  type HorizontalPodAutoscalerSettings,
} from './podautoscaler/podautoscaler.ts'
import { replicaSetController, replicationController } from './replicaset/replicaset.ts'
import { resourceQuotaController } from './resourcequota.ts'
import { serviceAccountController } from './serviceaccount.ts'
import { serviceAccountTokensController } from './serviceaccount-tokens.ts'
import { statefulSetController } from './statefulset/statefulset.ts'
import { rootCACertPublisher } from './root-ca-publisher.ts'
import { tokenCleanerController } from './bootstrap-token-cleaner.ts'
import { csrApprovingController } from './certificates/approver.ts'
import { csrCleanerController } from './certificates/cleaner.ts'
import { csrSigningController } from './certificates/signer.ts'
import { ttlAfterFinishedController } from './ttl-after-finished.ts'

/** The settings of kube-controller-manager's flags that controllers take. */
export interface ControllerSettings {
  /** --cluster-cidr: the pod network, cut into one subnet per node (default 10.42.0.0/16). */
  clusterCIDR?: string
  /** --node-cidr-mask-size (default 24). */
  nodeCIDRMaskSize?: number
  /** --node-monitor-grace-period: a node silent this long is Unknown (default 40 s). */
  nodeMonitorGracePeriodMs?: number
  /** --node-monitor-period (default 5 s). */
  nodeMonitorPeriodMs?: number
  /** --service-account-private-key-file, read: signs the tokens of legacy token Secrets. */
  serviceAccountPrivateKey?: string
  /** --root-ca-file, read: the CA of token Secrets and kube-root-ca.crt (default: the kubeconfig's CA). */
  rootCA?: string
  /**
   * --cluster-signing-cert-file and --cluster-signing-key-file, read (PEM): the CA csrsigning
   * signs kubernetes.io requests with; without them csrsigning signs nothing.
   */
  clusterSigningCert?: string
  clusterSigningKey?: string
  /** --cluster-signing-duration: the longest lifetime csrsigning gives (default a year). */
  clusterSigningDurationMs?: number
  /** The --horizontal-pod-autoscaler-* flags, and the metrics source (tests inject fake metrics). */
  horizontalPodAutoscaler?: HorizontalPodAutoscalerSettings
}

/** Every controller k8ts has, in the order they start. */
export function controllerDefinitions(s: ControllerSettings = {}): readonly ControllerDefinition[] {
  return [
    serviceAccountController,
    replicaSetController,
    replicationController,
    deploymentController,
    statefulSetController,
    daemonSetController,
    jobController,
    cronJobController,
    disruptionController,
    namespaceController,
    garbageCollectorController,
    clusterRoleAggregationController,
    endpointSliceController,
    endpointsController,
    nodeIpamController({
      ...(s.clusterCIDR !== undefined ? { clusterCIDR: s.clusterCIDR } : {}),
      ...(s.nodeCIDRMaskSize !== undefined ? { nodeCIDRMaskSize: s.nodeCIDRMaskSize } : {}),
    }),
    nodeLifecycleController({
      ...(s.nodeMonitorGracePeriodMs !== undefined ? { gracePeriodMs: s.nodeMonitorGracePeriodMs } : {}),
      ...(s.nodeMonitorPeriodMs !== undefined ? { monitorPeriodMs: s.nodeMonitorPeriodMs } : {}),
    }),
    podGCController,
    horizontalPodAutoscalerController(s.horizontalPodAutoscaler),
    resourceQuotaController(),
    ttlAfterFinishedController,
    serviceAccountTokensController({
      ...(s.serviceAccountPrivateKey !== undefined ? { privateKey: s.serviceAccountPrivateKey } : {}),
      ...(s.rootCA !== undefined ? { rootCA: s.rootCA } : {}),
    }),
    rootCACertPublisher(s.rootCA !== undefined ? { rootCA: s.rootCA } : {}),
    tokenCleanerController,
    csrSigningController({
      ...(s.clusterSigningCert !== undefined ? { clusterSigningCert: s.clusterSigningCert } : {}),
      ...(s.clusterSigningKey !== undefined ? { clusterSigningKey: s.clusterSigningKey } : {}),
      ...(s.clusterSigningDurationMs !== undefined ? { durationMs: s.clusterSigningDurationMs } : {}),
    }),
    csrApprovingController,
    csrCleanerController,
  ]
}

export const allControllers: readonly ControllerDefinition[] = controllerDefinitions()

export interface ControllerManagerOptions extends LeaderElectionSettings {
  /** How to reach the apiserver. */
  client: ClientConfig
  /**
   * Which controllers run, as kube-controller-manager's --controllers: names, `*` for all,
   * `-name` to leave one out (default: all).
   */
  controllers?: readonly string[]
  /** Settings of the controllers themselves. */
  settings?: ControllerSettings
  /**
   * --use-service-account-credentials: each controller runs as its own ServiceAccount in
   * kube-system (client-builder.ts), not as the controller-manager (default false, as upstream's;
   * `k8ts up` turns it on, as kubeadm does).
   */
  useServiceAccountCredentials?: boolean
  clock?: Clock
  log?: Logger
}

export type ControllerManager = LeadingRun

/** The user agent the apiserver names our writes after: managedFields say kube-controller-manager. */
const userAgent = 'kube-controller-manager/v1.35.0 (linux/amd64) k8ts'

/**
 * kube-controller-manager: runs the selected controllers against the apiserver, one leader at a
 * time when leader election is on. Controllers share informers (one watch per resource).
 */
export function startControllerManager(o: ControllerManagerOptions): ControllerManager {
  const clock = o.clock ?? realClock
  const log = o.log ?? createLogger()
  const settings: ControllerSettings = {
    ...o.settings,
    ...(o.settings?.rootCA === undefined && o.client.ca !== undefined ? { rootCA: o.client.ca } : {}),
  }
  const selected = selectControllers(o.controllers ?? ['*'], controllerDefinitions(settings))
  const rest = new RestClient({ userAgent, ...o.client }, { clock })
  const client = <T extends ObjectLike>(ref: ResourceRef) => new ResourceClient<T>(rest, ref)
  const identities = o.useServiceAccountCredentials
    ? new ServiceAccountClients({ root: rest, config: { userAgent, ...o.client }, clock, log })
    : undefined
  const host = hostname()
  const recorders: EventRecorder[] = []

  const lead = async (signal: AbortSignal): Promise<void> => {
    // As kube-controller-manager's shared informers do, the cached objects are kept without their
    // managedFields, which no controller reads (a write of a cached object leaves the stored ones
    // as they are): they are not even decoded from the watch.
    const informers = new InformerFactory(rest, { clock, log, transform: withoutManagedFields })
    const runs = selected.map((d) => {
      const own = identities && d.serviceAccount ? identities.client(d.serviceAccount) : rest
      const ownClient = <T extends ObjectLike>(ref: ResourceRef) => new ResourceClient<T>(own, ref)
      const events = ownClient<Event>(builtin('', 'v1', 'events'))
      const recorder = new EventRecorder(events, { component: d.eventSource, host, clock, log })
      recorders.push(recorder)
      // Each controller starts once the informers it uses have synced, so a resource that cannot
      // be listed holds back only the controllers that need it.
      const mine: Informer<ObjectLike>[] = []
      const ctx: ControllerContext = {
        rest: own,
        informers: {
          informer: <T extends ObjectLike>(ref: ResourceRef) => {
            const i = informers.informer<T>(ref)
            mine.push(i as unknown as Informer<ObjectLike>)
            return i
          },
        },
        recorder,
        clock,
        log: log.child({ controller: d.name }),
        client: ownClient,
      }
      const run = d.setup(ctx)
      return async () => {
        try {
          await Promise.all(mine.map((i) => i.waitForSync(signal)))
        } catch {
          return // stopped before its caches filled
        }
        ctx.log.info('caches synced; controller running')
        await run(signal)
      }
    })
    informers.start(signal)
    await Promise.all(runs.map((run) => run()))
    await informers.stopped()
  }

  const leases = client<Lease>(builtin('coordination.k8s.io', 'v1', 'leases'))
  const elector = electorFor(leases, 'kube-controller-manager', o, {
    identity: `${host}_${randomUUID()}`,
    clock,
    log,
  })
  return runLeading(lead, {
    ...(elector ? { elector } : {}),
    cleanup: async () => {
      await Promise.all(recorders.map((r) => r.flush()))
      await identities?.close()
      await rest.close()
    },
  })
}

/** kube-controller-manager's --controllers: `*`, names, and `-name` to leave one out. */
export function selectControllers(
  spec: readonly string[],
  definitions: readonly ControllerDefinition[] = allControllers,
): ControllerDefinition[] {
  const known = new Set(definitions.map((d) => d.name))
  for (const s of spec) {
    const name = s.startsWith('-') ? s.slice(1) : s
    if (name !== '*' && !known.has(name)) {
      throw new Error(`"${name}" is not a known controller (known: ${[...known].join(', ')})`)
    }
  }
  const all = spec.includes('*')
  return definitions.filter(
    (d) => !spec.includes(`-${d.name}`) && ((all && !d.disabledByDefault) || spec.includes(d.name)),
  )
}
