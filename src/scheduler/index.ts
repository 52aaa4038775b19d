import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Lease } from '../api/generated/types/coordination-v1.ts'
import type { ReplicaSet, StatefulSet } from '../api/generated/types/apps-v1.ts'
import type {
  Event,
  Namespace,
  Node,
  PersistentVolumeClaim,
  Pod,
  ReplicationController,
  Service,
} from '../api/generated/types/core-v1.ts'
import { LabelSelector, labelSelectorFromObject, type Requirement } from '../api/selectors/label-selector.ts'
import type { PodDisruptionBudget } from '../api/generated/types/policy-v1.ts'
import { realClock, type Clock } from '../base/clock.ts'
import { createLogger, type Logger } from '../base/log.ts'
import {
  builtin,
  electorFor,
  EventRecorder,
  Informer,
  ResourceClient,
  RestClient,
  runLeading,
  withoutManagedFields,
  type ClientConfig,
  type LeaderElectionSettings,
  type LeadingRun,
  type ObjectLike,
} from '../client/index.ts'
import type { SchedulerConfiguration } from './config.ts'
import { SchedulerMetrics } from './metrics.ts'
import { defaultSchedulerName, Scheduler } from './scheduler.ts'

export { SchedulerMetrics } from './metrics.ts'
export { parseSchedulerConfiguration, SchedulerConfigError, type SchedulerConfiguration } from './config.ts'
export { defaultProfile, defaultSchedulerName, Scheduler, type SchedulerControl } from './scheduler.ts'

export interface SchedulerOptions extends LeaderElectionSettings {
  client: ClientConfig
  /** Profiles and queue settings from a KubeSchedulerConfiguration (default: the default profile). */
  configuration?: Pick<SchedulerConfiguration, 'profiles' | 'podInitialBackoffMs' | 'podMaxBackoffMs'>
  clock?: Clock
  log?: Logger
}

export interface RunningScheduler extends LeadingRun {
  /** kube-scheduler's Prometheus metrics (the CLI serves them on /metrics). */
  readonly metrics: SchedulerMetrics
}

/** The apiserver names our writes after this: managedFields say kube-scheduler. */
const userAgent = 'kube-scheduler/v1.35.0 (linux/amd64) k8ts'

/** kube-scheduler: watches pods and nodes, and binds each pod without a node to the best one. */
export function startScheduler(o: SchedulerOptions): RunningScheduler {
  const clock = o.clock ?? realClock
  const log = o.log ?? createLogger()
  const rest = new RestClient({ userAgent, ...o.client }, { clock })
  const pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
  const nodes = new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes'))
  const recorder = new EventRecorder(new ResourceClient<Event>(rest, builtin('', 'v1', 'events')), {
    component: defaultSchedulerName,
    host: hostname(),
    clock,
    log,
  })

  const namespaces = new ResourceClient<Namespace>(rest, builtin('', 'v1', 'namespaces'))
  const pdbs = new ResourceClient<PodDisruptionBudget>(rest, builtin('policy', 'v1', 'poddisruptionbudgets'))
  const now = () => new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z')
  const keyOf = (pod: Readonly<Pod>) => ({
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
  })

  let current: Scheduler | undefined
  const metrics = new SchedulerMetrics(() => current?.queue)

  const lead = async (signal: AbortSignal): Promise<void> => {
    const nodeInformer = new Informer(nodes, { clock, log })
    // As kube-scheduler's pod informer does, managedFields are dropped: nothing here reads them.
    const podInformer = new Informer(pods, { clock, log, transform: withoutManagedFields })
    const namespaceInformer = new Informer(namespaces, { clock, log })
    const pdbInformer = new Informer(pdbs, { clock, log })
    const informer = <T extends ObjectLike>(group: string, version: string, resource: string) =>
      new Informer(new ResourceClient<T>(rest, builtin(group, version, resource)), { clock, log })
    const services = informer<Service>('', 'v1', 'services')
    const rcs = informer<ReplicationController>('', 'v1', 'replicationcontrollers')
    const rss = informer<ReplicaSet>('apps', 'v1', 'replicasets')
    const sss = informer<StatefulSet>('apps', 'v1', 'statefulsets')
    const pvcs = informer<PersistentVolumeClaim>('', 'v1', 'persistentvolumeclaims')
    /** Kubernetes' helper.DefaultSelector: what selects the pod among its namespace's owners, ANDed. */
    const defaultSelector = (pod: Readonly<Pod>): LabelSelector | undefined => {
      const ns = pod.metadata?.namespace ?? ''
      const labels = pod.metadata?.labels ?? {}
      const reqs: Requirement[] = []
      const mapSelector = (sel: Readonly<Record<string, string>> | undefined) => {
        const entries = Object.entries(sel ?? {})
        if (entries.length === 0 || !entries.every(([k, v]) => labels[k] === v)) return
        for (const [key, v] of entries) reqs.push({ key, operator: '=', values: [v] })
      }
      for (const s of services.lister.list(ns)) mapSelector(s.spec?.selector)
      for (const rc of rcs.lister.list(ns)) mapSelector(rc.spec?.selector)
      for (const owners of [rss.lister.list(ns), sss.lister.list(ns)]) {
        for (const owner of owners) {
          const sel = ownerSelector(owner)
          if (sel && !sel.empty && sel.matches(labels)) reqs.push(...sel.requirements)
        }
      }
      return reqs.length === 0 ? undefined : new LabelSelector(reqs)
    }
    // Parsed once per object (the informers hand out a new object for every change): this runs for
    // every pod, over all ReplicaSets of its namespace.
    const ownerSelectors = new WeakMap<object, LabelSelector | null>()
    const ownerSelector = (owner: Readonly<ReplicaSet | StatefulSet>): LabelSelector | null => {
      let sel = ownerSelectors.get(owner)
      if (sel === undefined) {
        try {
          sel = labelSelectorFromObject(owner.spec?.selector)
        } catch {
          sel = null // An invalid selector selects nothing.
        }
        ownerSelectors.set(owner, sel)
      }
      return sel
    }
    const scheduler = new Scheduler({
      clock,
      log,
      recorder,
      observer: metrics,
      ...(o.configuration ? { profiles: o.configuration.profiles } : {}),
      ...(o.configuration?.podInitialBackoffMs !== undefined
        ? { initialBackoffMs: o.configuration.podInitialBackoffMs }
        : {}),
      ...(o.configuration?.podMaxBackoffMs !== undefined
        ? { maxBackoffMs: o.configuration.podMaxBackoffMs }
        : {}),
      namespaceLabels: (ns) => namespaceInformer.lister.get('', ns)?.metadata?.labels,
      pdbs: (ns) => pdbInformer.lister.list(ns),
      defaultSelector,
      persistentVolumeClaim: (ns, name) => pvcs.lister.get(ns, name),
      control: {
        deleteVictim: async (victim, preemptor, node) => {
          const { namespace, name } = keyOf(victim)
          const message = `${preemptor.spec?.schedulerName ?? defaultSchedulerName}: preempting to accommodate a higher priority pod`
          await pods.patch(
            namespace,
            name,
            'strategic',
            {
              status: {
                conditions: [
                  {
                    type: 'DisruptionTarget',
                    status: 'True',
                    reason: 'PreemptionByScheduler',
                    message,
                    lastTransitionTime: now(),
                  },
                ],
              },
            },
            { subresource: 'status' },
          )
          await pods.delete(namespace, name, { preconditions: { uid: victim.metadata?.uid ?? '' } })
          recorder.event(
            victim,
            'Normal',
            'Preempted',
            `Preempted by pod ${preemptor.metadata?.uid ?? ''} on node ${node}`,
          )
        },
        setNominatedNodeName: async (pod, node) => {
          const { namespace, name } = keyOf(pod)
          await pods.patch(
            namespace,
            name,
            'merge',
            { status: { nominatedNodeName: node ?? null } },
            {
              subresource: 'status',
            },
          )
        },
        bind: async (pod, node) => {
          await pods.subresource(
            'POST',
            {
              namespace: pod.metadata?.namespace ?? '',
              name: pod.metadata?.name ?? '',
              subresource: 'binding',
            },
            {
              body: {
                apiVersion: 'v1',
                kind: 'Binding',
                metadata: {
                  name: pod.metadata?.name,
                  namespace: pod.metadata?.namespace,
                  uid: pod.metadata?.uid,
                },
                target: { apiVersion: 'v1', kind: 'Node', name: node },
              },
            },
          )
        },
        markUnschedulable: async (pod, message) => {
          // As kube-scheduler: no write when the condition already says this; the transition
          // time moves only when the status does.
          const old = pod.status?.conditions?.find((c) => c.type === 'PodScheduled')
          if (old?.status === 'False' && old.reason === 'Unschedulable' && old.message === message) return
          const since = old?.status === 'False' && old.lastTransitionTime ? old.lastTransitionTime : now()
          await pods.patch(
            pod.metadata?.namespace ?? '',
            pod.metadata?.name ?? '',
            'strategic',
            {
              status: {
                conditions: [
                  {
                    type: 'PodScheduled',
                    status: 'False',
                    reason: 'Unschedulable',
                    message,
                    lastTransitionTime: since,
                  },
                ],
              },
            },
            { subresource: 'status' },
          )
        },
      },
    })
    nodeInformer.addHandler(scheduler.nodeHandler())
    podInformer.addHandler(scheduler.podHandler())
    const all = [nodeInformer, podInformer, namespaceInformer, pdbInformer, services, rcs, rss, sss, pvcs]
    const informers = all.map((i) => i.run(signal))
    try {
      await Promise.all(all.map((i) => i.waitForSync(signal)))
    } catch {
      return
    }
    current = scheduler
    log.info('caches synced; scheduling')
    await scheduler.run(signal)
    await Promise.all(informers)
  }

  const leases = new ResourceClient<Lease>(rest, builtin('coordination.k8s.io', 'v1', 'leases'))
  const elector = electorFor(leases, 'kube-scheduler', o, {
    identity: `${hostname()}_${randomUUID()}`,
    clock,
    log,
  })
  const run = runLeading(lead, {
    ...(elector ? { elector } : {}),
    cleanup: async () => {
      await recorder.flush()
      await rest.close()
    },
  })
  return Object.assign(run, { metrics })
}
