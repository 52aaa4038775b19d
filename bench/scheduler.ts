// The scheduler benchmark: the workloads of Kubernetes' scheduler_perf suite
// (test/integration/scheduler_perf/ in kubernetes/kubernetes), with the same shapes: node and pod
// counts, labels, requests, namespaces and priorities. Each workload gets a fresh apiserver on the
// SQLite store, fake nodes (Node objects with allocatable resources and labels, no kubelet) and
// the scheduler in this process, binding pods through the API.
//
// The scheduler runs in a worker thread of its own (src/scheduler/thread.ts, as `k8ts up` runs
// it), talking to the apiserver over its REST and watch API only, as kube-scheduler is a process
// of its own; as in `k8ts up`, its requests take the apiserver's in-process transport (the same
// pipeline, without TCP and TLS). The load generator and the bench's watch use HTTPS. On the
// thread of the apiserver, the load generator and the bench's watch, the figure measured that
// thread's saturation, not the scheduler. --same-thread runs it on the bench's thread, as before,
// for comparison. The apiserver has a thread of its own too (apiserver-thread.ts): on the bench's,
// creating the pods and decoding the watch of their bindings took a tenth of the thread that
// served the scheduler.
//
// Throughput is counted as scheduler_perf counts it: per second of the measured phase, the pods
// of the measured namespace that the watch reports bound that second; reported as the average
// (measured pods / duration) and the p50 and p99 of the per-second counts.
//
// Last, the scheduler's own resident memory: `k8ts scheduler` as a child process (the built one,
// from dist/ when it exists: run `npm run build` first) schedules 50,000 pods onto 5,000 nodes of
// an apiserver in this process, and its VmRSS is read from /proc.
//
//   npm run --silent bench -- scheduler [--quick] [--same-thread] [workload ...]
//
// --quick runs every workload at upstream's 500-node size. --same-thread runs their scheduler on
// the bench's thread (see above). Each other argument selects the workloads of that name
// (anti_affinity), or, when none has exactly that name, those whose name contains it (`_affinity`:
// anti_affinity and node_affinity); `scheduler` selects the memory phase.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MessagePort } from 'node:worker_threads'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { pino } from 'pino'
import type { Namespace, Node, Pod, PodSpec } from '../src/api/generated/types/core-v1.ts'
import type { PriorityClass } from '../src/api/generated/types/scheduling-v1.ts'
import {
  ApiStatusError,
  builtin,
  Informer,
  loadKubeconfig,
  ResourceClient,
  RestClient,
  withoutManagedFields,
  type ClientConfig,
  type LeadingRun,
} from '../src/client/index.ts'
import { defaultProfile, startScheduler } from '../src/scheduler/index.ts'
import { startSchedulerThread, type MetricsJSON } from '../src/scheduler/thread.ts'
import { startApiServerThread } from './apiserver-thread.ts'
import { newReport, progress, quantile, result, type Result } from './report.ts'

// --- the workloads ---------------------------------------------------------------------------------

/** Pods made from one template, in one namespace. */
interface PodBatch {
  count: number
  namespace: string
  pod: (name: string) => Pod
}

/** One scheduler_perf workload: what it creates, in order, and which pods it measures. */
interface Workload {
  /** The subject in the report, without its `_<nodes>n` suffix. */
  name: string
  /** Where upstream defines it (config file, test case, workload). */
  upstream: string
  /** Plugins without which its figures would not measure what it is about. */
  needs: readonly string[]
  nodes: number
  /** Labels beside kubernetes.io/hostname: upstream's labelNodePrepareStrategy, round robin. */
  nodeLabels?: (i: number) => Record<string, string>
  /** Namespaces made before anything else (createNamespaces, and those createPods implies). */
  namespaces: readonly string[]
  priorityClasses?: readonly PriorityClass[]
  init: PodBatch
  /** scheduler_perf's churn op in create mode: one more pod every intervalMs until the end. */
  churn?: PodBatch & { intervalMs: number }
  measured: PodBatch
  /** After the run: what the result should satisfy, as sentences describing a violation. */
  check?: (run: FinishedRun) => string[]
}

/** What a finished workload left behind, for its check. */
interface FinishedRun {
  pods: (namespace: string) => readonly Readonly<Pod>[]
  nodeLabels: ReadonlyMap<string, Readonly<Record<string, string>>>
  churned: number
  deleted: ReadonlyMap<string, number>
}

/** Node, pod and measured-pod counts: upstream's 5000-node workload, or its 500-node one (--quick). */
interface Size {
  nodes: number
  init: number
  measured: number
}

function workloads(quick: boolean): Workload[] {
  const size = (full: Size, small: Size): Size => (quick ? small : full)
  const zone = 'topology.kubernetes.io/zone'
  const roundRobin =
    (key: string, values: readonly string[]) =>
    (i: number): Record<string, string> => ({ [key]: values[i % values.length] ?? '' })

  // misc/performance-config.yaml, SchedulingBasic: default nodes and pods, each createPods op in
  // a namespace of its own index.
  const basic = size({ nodes: 5000, init: 1000, measured: 10_000 }, { nodes: 500, init: 500, measured: 1000 })
  // affinity/performance-config.yaml, SchedulingPodAntiAffinity: namespaces sched-0 and sched-1.
  const anti = size({ nodes: 5000, init: 1000, measured: 2000 }, { nodes: 500, init: 100, measured: 400 })
  // affinity/performance-config.yaml, SchedulingPodAffinity: every node in zone1.
  const affinity = size(
    { nodes: 5000, init: 5000, measured: 5000 },
    { nodes: 500, init: 500, measured: 1000 },
  )
  // topology_spreading/performance-config.yaml, TopologySpreading: nodes over moon-1..3.
  const spread = size({ nodes: 5000, init: 5000, measured: 5000 }, { nodes: 500, init: 1000, measured: 1000 })
  // affinity/performance-config.yaml, SchedulingNodeAffinity: every node in zone1.
  const nodeAff = size(
    { nodes: 5000, init: 5000, measured: 10_000 },
    { nodes: 500, init: 500, measured: 1000 },
  )
  // misc/performance-config.yaml, PreemptionAsync: 4 low-priority pods per node (3.6 of 4 CPUs),
  // high-priority pods of 3 CPUs churned in at 5/s, each preempting 3 of a node's 4.
  const preempt = size(
    { nodes: 5000, init: 20_000, measured: 5000 },
    { nodes: 500, init: 2000, measured: 500 },
  )

  return [
    {
      name: 'scheduling_basic',
      upstream: `misc/performance-config.yaml SchedulingBasic ${quick ? '500Nodes' : '5000Nodes_10000Pods'}`,
      needs: [],
      nodes: basic.nodes,
      namespaces: ['namespace-1', 'namespace-2'],
      init: { count: basic.init, namespace: 'namespace-1', pod: defaultPod },
      measured: { count: basic.measured, namespace: 'namespace-2', pod: defaultPod },
    },
    {
      name: 'anti_affinity',
      upstream: `affinity/performance-config.yaml SchedulingPodAntiAffinity ${quick ? '500Nodes' : '5000Nodes_2000Pods'}`,
      needs: ['InterPodAffinity'],
      nodes: anti.nodes,
      namespaces: ['sched-0', 'sched-1'],
      init: { count: anti.init, namespace: 'sched-0', pod: podWithPodAntiAffinity },
      measured: { count: anti.measured, namespace: 'sched-1', pod: podWithPodAntiAffinity },
      check: (run) => {
        const perNode = countBy([...run.pods('sched-0'), ...run.pods('sched-1')], (p) => p.spec?.nodeName)
        const crowded = [...perNode.values()].filter((n) => n > 1).length
        return crowded > 0 ? [`${crowded} nodes hold more than one pod of color green`] : []
      },
    },
    {
      name: 'affinity',
      upstream: `affinity/performance-config.yaml SchedulingPodAffinity ${quick ? '500Nodes' : '5000Nodes_5000Pods'}`,
      needs: ['InterPodAffinity'],
      nodes: affinity.nodes,
      nodeLabels: roundRobin(zone, ['zone1']),
      namespaces: ['sched-0', 'sched-1'],
      init: { count: affinity.init, namespace: 'sched-0', pod: podWithPodAffinity },
      measured: { count: affinity.measured, namespace: 'sched-1', pod: podWithPodAffinity },
      check: (run) => {
        const pods = [...run.pods('sched-0'), ...run.pods('sched-1')]
        const zones = countBy(pods, (p) => run.nodeLabels.get(p.spec?.nodeName ?? '')?.[zone])
        return zones.size > 1
          ? [`pods of color blue are spread over zones ${[...zones.keys()].join(', ')}`]
          : []
      },
    },
    {
      name: 'topology_spread',
      upstream: `topology_spreading/performance-config.yaml TopologySpreading ${quick ? '500Nodes' : '5000Nodes_5000Pods'}`,
      needs: ['PodTopologySpread'],
      nodes: spread.nodes,
      nodeLabels: roundRobin(zone, ['moon-1', 'moon-2', 'moon-3']),
      namespaces: ['namespace-1', 'namespace-2'],
      init: { count: spread.init, namespace: 'namespace-1', pod: defaultPod },
      measured: { count: spread.measured, namespace: 'namespace-2', pod: podWithTopologySpreading },
      check: (run) => {
        const zones = countBy(
          run.pods('namespace-2'),
          (p) => run.nodeLabels.get(p.spec?.nodeName ?? '')?.[zone],
        )
        const counts = ['moon-1', 'moon-2', 'moon-3'].map((z) => zones.get(z) ?? 0)
        const skew = Math.max(...counts) - Math.min(...counts)
        return skew > 5 ? [`pods of color blue per zone ${counts.join('/')}: skew ${skew} > maxSkew 5`] : []
      },
    },
    {
      name: 'node_affinity',
      upstream: `affinity/performance-config.yaml SchedulingNodeAffinity ${quick ? '500Nodes' : '5000Nodes_10000Pods'}`,
      needs: ['NodeAffinity'],
      nodes: nodeAff.nodes,
      nodeLabels: roundRobin(zone, ['zone1']),
      namespaces: ['namespace-1', 'namespace-2'],
      init: { count: nodeAff.init, namespace: 'namespace-1', pod: podWithNodeAffinity },
      measured: { count: nodeAff.measured, namespace: 'namespace-2', pod: podWithNodeAffinity },
      check: (run) => {
        const pods = [...run.pods('namespace-1'), ...run.pods('namespace-2')]
        const outside = pods.filter((p) => {
          const z = run.nodeLabels.get(p.spec?.nodeName ?? '')?.[zone]
          return z !== 'zone1' && z !== 'zone2'
        })
        return outside.length > 0 ? [`${outside.length} pods on nodes outside zone1 and zone2`] : []
      },
    },
    {
      name: 'preemption',
      upstream: `misc/performance-config.yaml PreemptionAsync ${quick ? '500Nodes' : '5000Nodes'}`,
      needs: ['DefaultPreemption'],
      nodes: preempt.nodes,
      namespaces: ['namespace-1', 'namespace-2', 'namespace-3'],
      priorityClasses: [priorityClass(lowPriority, 0), priorityClass(highPriority, 10)],
      init: { count: preempt.init, namespace: 'namespace-1', pod: lowPriorityPod },
      churn: { count: Infinity, namespace: 'namespace-2', pod: highPriorityPod, intervalMs: 200 },
      measured: { count: preempt.measured, namespace: 'namespace-3', pod: defaultPod },
      check: (run) => {
        const bound = run.pods('namespace-2').filter((p) => p.spec?.nodeName).length
        const preempted = run.deleted.get('namespace-1') ?? 0
        progress(
          `preemption: ${run.churned} high-priority pods created, ${bound} bound, ${preempted} low-priority pods preempted`,
        )
        const problems: string[] = []
        if (run.churned > 10 && bound === 0) problems.push('no high-priority pod was scheduled')
        if (bound > 0 && preempted < bound * 3)
          problems.push(`${bound} high-priority pods bound but only ${preempted} low-priority pods preempted`)
        return problems
      },
    },
  ]
}

// --- templates: upstream's templates/*.yaml ------------------------------------------------------

const pauseImage = 'registry.k8s.io/pause:3.10'

/**
 * A pod of one pause container that requests and limits `cpu` and 500Mi (Guaranteed), as every
 * template here is, with the template's labels and further spec.
 */
function pausePod(
  name: string,
  o: { cpu: string; labels?: Record<string, string>; spec?: Omit<PodSpec, 'containers'> },
): Pod {
  const resources = { cpu: o.cpu, memory: '500Mi' }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      ...o.spec,
      containers: [
        {
          name: 'pause',
          image: pauseImage,
          ports: [{ containerPort: 80 }],
          resources: { requests: resources, limits: resources },
        },
      ],
    },
  }
}

/** templates/pod-default.yaml: 100m CPU, 500Mi. */
function defaultPod(name: string): Pod {
  return pausePod(name, { cpu: '100m' })
}

/** templates/pod-with-pod-anti-affinity.yaml: color=green, never on a host with another color=green. */
function podWithPodAntiAffinity(name: string): Pod {
  return pausePod(name, {
    cpu: '100m',
    labels: { color: 'green' },
    spec: {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              labelSelector: { matchLabels: { color: 'green' } },
              topologyKey: 'kubernetes.io/hostname',
              namespaces: ['sched-1', 'sched-0'],
            },
          ],
        },
      },
    },
  })
}

/** templates/pod-with-pod-affinity.yaml: color=blue, only in a zone with color=blue pods. */
function podWithPodAffinity(name: string): Pod {
  return pausePod(name, {
    cpu: '100m',
    labels: { color: 'blue' },
    spec: {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              labelSelector: { matchLabels: { color: 'blue' } },
              topologyKey: 'topology.kubernetes.io/zone',
              namespaces: ['sched-1', 'sched-0'],
            },
          ],
        },
      },
    },
  })
}

/** templates/pod-with-node-affinity.yaml: required zone In (zone1, zone2). */
function podWithNodeAffinity(name: string): Pod {
  return pausePod(name, {
    cpu: '100m',
    spec: {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone1', 'zone2'] },
                ],
              },
            ],
          },
        },
      },
    },
  })
}

/** templates/pod-with-topology-spreading.yaml: color=blue, zones at most 5 apart (DoNotSchedule). */
function podWithTopologySpreading(name: string): Pod {
  return pausePod(name, {
    cpu: '100m',
    labels: { color: 'blue' },
    spec: {
      topologySpreadConstraints: [
        {
          maxSkew: 5,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { color: 'blue' } },
        },
      ],
    },
  })
}

// Upstream's preemption templates set spec.priority directly (its test apiserver runs without the
// Priority admission plugin, whose job that is); ours name PriorityClasses of those values and
// give the same priority, which Priority admission accepts and which works without it too.
const lowPriority = 'low-priority'
const highPriority = 'high-priority'

function priorityClass(name: string, value: number): PriorityClass {
  return { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value }
}

/** templates/pod-low-priority.yaml: 900m CPU, 500Mi, priority 0, deleted at once when preempted. */
function lowPriorityPod(name: string): Pod {
  return pausePod(name, {
    cpu: '900m',
    spec: { terminationGracePeriodSeconds: 0, priorityClassName: lowPriority, priority: 0 },
  })
}

/** templates/pod-high-priority.yaml: 3 CPUs, 500Mi, priority 10. */
function highPriorityPod(name: string): Pod {
  return pausePod(name, { cpu: '3000m', spec: { priorityClassName: highPriority, priority: 10 } })
}

/** templates/node-default.yaml: 4 CPUs, 32 GiB, 110 pods, Ready; named as upstream's node preparer does. */
function fakeNode(name: string, labels: Record<string, string>): Node {
  const resources = { cpu: '4', memory: '32Gi', pods: '110' }
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { ...labels, 'kubernetes.io/hostname': name } },
    status: {
      capacity: resources,
      allocatable: resources,
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  }
}

// --- running ---------------------------------------------------------------------------------------

/** The memory phase: SchedulingBasic's nodes and pods, scheduled by `k8ts scheduler` as a child. */
const memory = { full: { nodes: 5000, pods: 50_000 }, quick: { nodes: 500, pods: 5000 } }
const memoryPhase = 'scheduler'

/** No binding for this long means the scheduler is stuck (or a plugin it needs is missing). */
const stallMs = 120_000

export async function main(args: string[]): Promise<void> {
  const quick = args.includes('--quick')
  const thread: SchedulerThread = args.includes('--same-thread') ? 'same' : 'worker'
  const filters = args.filter((a) => !a.startsWith('--'))
  const all = workloads(quick)
  const names = [...all.map((w) => w.name), memoryPhase]
  const selected = new Set<string>(filters.length === 0 ? names : [])
  for (const f of filters) {
    const matches = names.includes(f) ? [f] : names.filter((n) => n.includes(f))
    if (matches.length === 0)
      throw new Error(`no scheduler workload matches ${f}; they are ${names.join(', ')}`)
    for (const m of matches) selected.add(m)
  }

  const report = newReport('scheduler')
  const enabled = new Set(defaultProfile.plugins.map((p) => p.name))
  for (const w of all) {
    if (!selected.has(w.name)) continue
    const missing = w.needs.filter((p) => !enabled.has(p))
    if (missing.length > 0) {
      progress(`${w.name}: skipped, the default profile has no ${missing.join(', ')} yet`)
      continue
    }
    report.results.push(...(await runWorkload(w, thread)))
  }
  if (selected.has(memoryPhase))
    report.results.push(...(await measureMemory(quick ? memory.quick : memory.full)))
  process.stdout.write(JSON.stringify(report, null, 2) + '\n')
}

/** A fresh apiserver on SQLite in a temporary directory, and clients of it. */
async function withApiServer<T>(
  fn: (c: {
    config: ClientConfig
    kubeconfig: string
    nodes: ResourceClient<Node>
    pods: ResourceClient<Pod>
    rest: RestClient
    /** A listener of the apiserver's in-process transport, for the scheduler's thread. */
    inProcessListener: () => Promise<MessagePort>
  }) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-scheduler-'))
  // The apiserver gets a thread of its own, as the scheduler does: creating the pods and watching
  // them bind is the bench's work, not the apiserver's.
  const api = await startApiServerThread({
    dataDir: dir,
    // No serviceaccount controller runs here: as scheduler_perf does, pods need no service account.
    disableAdmissionPlugins: ['ServiceAccount'],
  })
  const config = loadKubeconfig(api.adminKubeconfig)
  const rest = new RestClient(config)
  try {
    return await fn({
      config,
      kubeconfig: api.adminKubeconfig,
      nodes: new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes')),
      pods: new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods')),
      rest,
      inProcessListener: () => api.inProcessListener(),
    })
  } finally {
    await rest.close()
    await api.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Watches pods and remembers when each was first seen bound, per namespace; and how many were
 * deleted per namespace (preemption's victims).
 */
class BindingWatch {
  readonly informer: Informer<Pod>
  readonly #bound = new Set<string>()
  readonly boundAt = new Map<string, number[]>()
  readonly deleted = new Map<string, number>()
  /** PodScheduled=False messages (each pod's each message once), by message. */
  readonly unschedulable = new Map<string, number>()
  readonly #unschedulableSeen = new Set<string>()
  readonly #ac = new AbortController()
  #running: Promise<void> | undefined

  constructor(pods: ResourceClient<Pod>) {
    // It reads names, nodes and conditions: managedFields are not even decoded (as the scheduler's
    // own informer does), so that measuring costs the machine less.
    this.informer = new Informer(pods, { transform: withoutManagedFields })
    const seen = (p: Readonly<Pod>) => {
      const uid = p.metadata?.uid ?? ''
      const c = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
      if (c) {
        const message = (c.message ?? '').slice(0, 120)
        if (!this.#unschedulableSeen.has(`${uid} ${message}`)) {
          this.#unschedulableSeen.add(`${uid} ${message}`)
          this.unschedulable.set(message, (this.unschedulable.get(message) ?? 0) + 1)
        }
      }
      if (!p.spec?.nodeName || this.#bound.has(uid)) return
      this.#bound.add(uid)
      const ns = p.metadata?.namespace ?? ''
      let times = this.boundAt.get(ns)
      if (!times) this.boundAt.set(ns, (times = []))
      times.push(performance.now())
    }
    this.informer.addHandler({
      add: seen,
      update: (_o, p) => seen(p),
      delete: (p) => {
        const ns = p.metadata?.namespace ?? ''
        this.deleted.set(ns, (this.deleted.get(ns) ?? 0) + 1)
      },
    })
  }

  async start(): Promise<void> {
    this.#running = this.informer.run(this.#ac.signal)
    await this.informer.waitForSync()
  }

  bound(namespace: string): number {
    return this.boundAt.get(namespace)?.length ?? 0
  }

  async stop(): Promise<void> {
    this.#ac.abort()
    await this.#running
  }
}

async function runWorkload(w: Workload, thread: SchedulerThread): Promise<Result[]> {
  const subject = `${w.name}_${w.nodes}n`
  progress(`${subject}: ${w.upstream} (load average ${loadAverage()})`)
  return withApiServer(async ({ config, rest, nodes, pods, inProcessListener }) => {
    const warnings = new Map<string, number>()
    for (const name of w.namespaces) await createNamespace(rest, name)
    const classes = new ResourceClient<PriorityClass>(
      rest,
      builtin('scheduling.k8s.io', 'v1', 'priorityclasses'),
    )
    for (const pc of w.priorityClasses ?? []) await classes.create(pc)

    const nodeLabels = await createNodes(nodes, w.nodes, w.nodeLabels)
    const watch = new BindingWatch(pods)
    await watch.start()
    const onLog = (line: string) => countWarning(warnings, line)
    const scheduler =
      thread === 'worker'
        ? threadScheduler({ ...config, inProcess: await inProcessListener() }, onLog)
        : sameThreadScheduler(config, onLog)
    let churn: { stop(): Promise<number> } | undefined
    try {
      progress(`${subject}: scheduling ${w.init.count} init pods (scheduler in ${scheduler.where})`)
      await createPods(pods, w.init, 'init')
      await waitForBound(watch, w.init, `${subject} init pods`, scheduler.failure)

      if (w.churn) churn = startChurn(pods, w.churn)
      progress(`${subject}: scheduling ${w.measured.count} measured pods (scheduler in ${scheduler.where})`)
      // The apiserver and this bench (and, with --same-thread, the scheduler) share this thread's
      // event loop: a long delay means one of them held it and the others waited.
      const before = attemptFigures(await scheduler.metrics())
      const loopDelay = monitorEventLoopDelay({ resolution: 10 })
      loopDelay.enable()
      const start = performance.now()
      await createPods(pods, w.measured, 'pod')
      const created = (performance.now() - start) / 1000
      progress(`${subject}: ${w.measured.count} measured pods created in ${created.toFixed(1)} s`)
      await waitForBound(watch, w.measured, `${subject} measured pods`, scheduler.failure)
      loopDelay.disable()
      progress(
        `${subject}: bench thread's event loop delay p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
      )
      progress(
        `${subject}: scheduler (in ${scheduler.where}), measured phase: ${describeAttempts(before, attemptFigures(await scheduler.metrics()))}`,
      )
      const churned = (await churn?.stop()) ?? 0
      for (const [message, n] of [...warnings].sort((a, b) => b[1] - a[1]).slice(0, 3))
        progress(`${subject}: scheduler warned ${n} times: ${message}`)
      for (const [message, n] of [...watch.unschedulable].sort((a, b) => b[1] - a[1]).slice(0, 3))
        progress(`${subject}: ${n} pods marked unschedulable: ${message}`)
      churn = undefined

      const times = watch.boundAt.get(w.measured.namespace) ?? []
      const { avg, perSecond, seconds } = throughput(times, start)
      progress(
        `${subject}: ${avg.toFixed(0)} pods/s over ${seconds.toFixed(1)} s, scheduler in ${scheduler.where} (load average ${loadAverage()})`,
      )
      progress(`${subject}: pods bound per second: ${perSecond.join(' ')}`)
      const problems =
        w.check?.({
          pods: (ns) => watch.informer.lister.list(ns),
          nodeLabels,
          churned,
          deleted: watch.deleted,
        }) ?? []
      for (const p of problems) progress(`${subject}: CHECK FAILED: ${p}`)
      return [
        result(subject, 'pods_per_s_avg', avg),
        result(subject, 'pods_per_s_p50', quantile(perSecond, 0.5)),
        result(subject, 'pods_per_s_p99', quantile(perSecond, 0.99)),
      ]
    } finally {
      await churn?.stop()
      await scheduler.stop()
      await watch.stop()
    }
  })
}

/** Where the workloads' scheduler runs: a worker thread of its own (default), or the bench's thread. */
type SchedulerThread = 'worker' | 'same'

/** The scheduler under test, wherever it runs. */
interface BenchScheduler {
  /** Where it runs, for the progress lines. */
  readonly where: string
  /** Its metrics, as getMetricsAsJSON() gives them. */
  metrics(): Promise<MetricsJSON>
  /** Why it failed, once it has: it ended (or its thread did) before stop. */
  failure: () => string | undefined
  /** Stops it; a worker thread always ends, terminated when it doesn't end by itself. */
  stop(): Promise<void>
}

/**
 * The scheduler on the bench's thread, sharing its event loop with the apiserver and the load;
 * its warnings go to onLog.
 */
function sameThreadScheduler(config: ClientConfig, onLog: (line: string) => void): BenchScheduler {
  const log = pino({ level: 'warn' }, { write: onLog })
  const scheduler = startScheduler({ client: config, leaderElect: false, log })
  return benchScheduler(scheduler, 'the bench thread', () => scheduler.metrics.registry.getMetricsAsJSON())
}

/**
 * The scheduler in a worker thread of its own (src/scheduler/thread.ts, as `k8ts up` runs it); its
 * warnings go to onLog.
 */
function threadScheduler(config: ClientConfig, onLog: (line: string) => void): BenchScheduler {
  const scheduler = startSchedulerThread({ client: config, leaderElect: false, logLevel: 'warn', onLog })
  return benchScheduler(scheduler, 'a worker thread', () => scheduler.metrics.getMetricsAsJSON())
}

/** A running scheduler as the bench sees it: ending (or its thread failing) before stop fails it. */
function benchScheduler(run: LeadingRun, where: string, metrics: () => Promise<MetricsJSON>): BenchScheduler {
  let stopping = false
  let failed: string | undefined
  run.done.then(
    () => {
      if (!stopping) failed = 'the scheduler stopped before it was told to'
    },
    (err: unknown) => {
      if (!stopping) failed = `the scheduler failed: ${errorText(err)}`
    },
  )
  return {
    where,
    metrics: () => (failed ? Promise.reject(new Error(failed)) : metrics()),
    failure: () => failed,
    async stop() {
      stopping = true
      await run.stop()
    },
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err)
}

/**
 * The scheduler's resident memory at the given size: `k8ts scheduler` in a child process against
 * an apiserver in this one, which would otherwise be counted too.
 */
async function measureMemory(size: { nodes: number; pods: number }): Promise<Result[]> {
  warnIfBuildIsStale()
  progress(`${memoryPhase}: resident memory at ${size.nodes} nodes and ${size.pods} pods, as a child process`)
  return withApiServer(async ({ kubeconfig, rest, nodes, pods }) => {
    const batch: PodBatch = { count: size.pods, namespace: 'namespace-1', pod: defaultPod }
    await createNamespace(rest, batch.namespace)
    await createNodes(nodes, size.nodes)
    const watch = new BindingWatch(pods)
    await watch.start()

    const bin = join(import.meta.dirname, '../bin/k8ts.js')
    const child = spawn(
      process.execPath,
      [bin, 'scheduler', '--kubeconfig', kubeconfig, '--leader-elect=false', '--secure-port', '0'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)))
    let exited: string | undefined
    const exit = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        exited = `k8ts scheduler exited (${signal ?? code}): ${stderr}`
        resolve()
      }),
    )
    try {
      const start = performance.now()
      await createPods(pods, batch, 'pod')
      await waitForBound(watch, batch, `${memoryPhase} pods`, () => exited).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; k8ts scheduler's last words: ${stderr}`, { cause: err })
      })
      const seconds = (performance.now() - start) / 1000
      progress(`${memoryPhase}: ${size.pods} pods bound in ${seconds.toFixed(1)} s`)
      await new Promise((r) => setTimeout(r, 2000))
      if (exited) throw new Error(exited)
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      const kib = (field: string) =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
      const rss = kib('VmRSS') * 1024
      progress(
        `${memoryPhase}: VmRSS ${(rss / 2 ** 20).toFixed(0)} MiB, VmHWM ${(kib('VmHWM') / 1024).toFixed(0)} MiB, ${openSockets(child.pid ?? 0)} open sockets`,
      )
      return [result(memoryPhase, 'rss_bytes', rss)]
    } finally {
      if (!exited) {
        child.kill('SIGTERM')
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exit
        clearTimeout(killer)
      }
      await watch.stop()
    }
  })
}

/** How many sockets the process holds (connections to the apiserver, mostly). */
function openSockets(pid: number): number {
  const dir = `/proc/${pid}/fd`
  return readdirSync(dir).filter((fd) => {
    try {
      return readlinkSync(join(dir, fd)).startsWith('socket:')
    } catch {
      return false // closed meanwhile
    }
  }).length
}

/** bin/k8ts.js runs dist/ when it exists: say so when src/ has changed since the last build. */
function warnIfBuildIsStale(): void {
  const root = join(import.meta.dirname, '..')
  const built = join(root, 'dist/cli/main.js')
  if (!existsSync(built)) return
  const builtAt = statSync(built).mtimeMs
  const newer = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && statSync(join(root, 'src', f)).mtimeMs > builtAt,
  )
  if (newer.length > 0)
    progress(
      `WARNING: the child scheduler runs dist/, older than ${newer.length} file(s) in src/ (${newer.slice(0, 3).join(', ')}); run \`npm run build\` first`,
    )
}

async function createNamespace(rest: RestClient, name: string): Promise<void> {
  const namespaces = new ResourceClient<Namespace>(rest, builtin('', 'v1', 'namespaces'))
  await namespaces.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
}

/** Creates the nodes (hostname label and the given ones) with their status; returns their labels. */
async function createNodes(
  nodes: ResourceClient<Node>,
  count: number,
  labelsOf: (i: number) => Record<string, string> = () => ({}),
): Promise<Map<string, Record<string, string>>> {
  progress(`creating ${count} nodes`)
  const labels = new Map<string, Record<string, string>>()
  await inParallel(count, 50, async (i) => {
    const node = fakeNode(`scheduler-perf-${i}`, labelsOf(i))
    labels.set(node.metadata?.name ?? '', node.metadata?.labels ?? {})
    const created = await retryTooManyRequests(() => nodes.create(node))
    await retryTooManyRequests(() => nodes.updateStatus({ ...created, status: node.status }))
  })
  return labels
}

async function createPods(pods: ResourceClient<Pod>, batch: PodBatch, prefix: string): Promise<void> {
  await inParallel(batch.count, 50, async (i) => {
    const pod = batch.pod(`${prefix}-${i}`)
    pod.metadata = { ...pod.metadata, namespace: batch.namespace }
    await retryTooManyRequests(() => pods.create(pod))
  })
}

/** Creates one pod every intervalMs; stop() ends it and says how many were created. */
function startChurn(
  pods: ResourceClient<Pod>,
  batch: PodBatch & { intervalMs: number },
): { stop(): Promise<number> } {
  let n = 0
  const inFlight = new Set<Promise<void>>()
  const timer = setInterval(() => {
    if (n >= batch.count) return
    const pod = batch.pod(`churn-${n++}`)
    pod.metadata = { ...pod.metadata, namespace: batch.namespace }
    const p = retryTooManyRequests(() => pods.create(pod)).then(
      () => undefined,
      (err: unknown) => progress(`churn: ${(err as Error).message}`),
    )
    inFlight.add(p)
    void p.finally(() => inFlight.delete(p))
  }, batch.intervalMs)
  return {
    async stop() {
      clearInterval(timer)
      await Promise.all(inFlight)
      return n
    },
  }
}

/**
 * The call, again after the Retry-After the apiserver gave, while it answers 429 Too Many Requests
 * (its max-requests-in-flight is full), as client-go does for every request.
 */
async function retryTooManyRequests<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call()
    } catch (err) {
      if (!(err instanceof ApiStatusError) || err.code !== 429) throw err
      await new Promise((r) => setTimeout(r, (err.status.details?.retryAfterSeconds ?? 1) * 1000))
    }
  }
}

/** Waits until the batch's namespace has count pods bound; fails when nothing binds for stallMs. */
async function waitForBound(
  watch: BindingWatch,
  batch: PodBatch,
  what: string,
  failure: () => string | undefined = () => undefined,
): Promise<void> {
  let last = -1
  let lastChange = Date.now()
  let lastReport = Date.now()
  for (;;) {
    const n = watch.bound(batch.namespace)
    if (n >= batch.count) return
    const why = failure()
    if (why) throw new Error(why)
    if (n !== last) {
      last = n
      lastChange = Date.now()
    } else if (Date.now() - lastChange > stallMs) {
      throw new Error(`${what}: only ${n} of ${batch.count} bound, none for ${stallMs / 1000} s`)
    }
    if (Date.now() - lastReport > 10_000) {
      progress(`${what}: ${n} of ${batch.count} bound`)
      lastReport = Date.now()
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Pods bound per second from start (the last second may be partial), and the average rate. */
function throughput(
  times: readonly number[],
  start: number,
): { avg: number; perSecond: number[]; seconds: number } {
  const end = times.at(-1) ?? start
  const seconds = (end - start) / 1000
  const perSecond = new Array<number>(Math.max(1, Math.ceil(seconds))).fill(0)
  for (const t of times) {
    const i = Math.min(perSecond.length - 1, Math.floor((t - start) / 1000))
    if (i >= 0) perSecond[i] = (perSecond[i] ?? 0) + 1
  }
  return { avg: seconds > 0 ? times.length / seconds : NaN, perSecond, seconds }
}

/** Cumulative figures from the scheduler's metrics: attempts by result, time in attempts, preemption attempts. */
function attemptFigures(metrics: MetricsJSON): Map<string, number> {
  const figures = new Map<string, number>()
  for (const m of metrics) {
    for (const v of m.values as {
      value: number
      labels: Record<string, string | number>
      metricName?: string
    }[]) {
      const name = v.metricName ?? m.name
      if (name === 'scheduler_schedule_attempts_total') figures.set(`attempts ${v.labels.result}`, v.value)
      if (name === 'scheduler_scheduling_attempt_duration_seconds_sum')
        figures.set(`seconds ${v.labels.result}`, (figures.get(`seconds ${v.labels.result}`) ?? 0) + v.value)
      if (name === 'scheduler_preemption_attempts_total') figures.set('preemption attempts', v.value)
    }
  }
  return figures
}

/** What changed between two attemptFigures, in words. */
function describeAttempts(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): string {
  const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0)
  const each = ['scheduled', 'unschedulable', 'error'].map((result) => {
    const n = d(`attempts ${result}`)
    const seconds = d(`seconds ${result}`)
    return `${n} ${result} (${seconds.toFixed(1)} s, ${n > 0 ? ((1000 * seconds) / n).toFixed(2) : '-'} ms each)`
  })
  return `attempts ${each.join(', ')}; ${d('preemption attempts')} preemption attempts`
}

/** Counts a log line of the scheduler by its message and error (the start of it). */
function countWarning(counts: Map<string, number>, line: string): void {
  let key = line.slice(0, 160)
  try {
    const entry = JSON.parse(line) as { msg?: string; err?: unknown }
    const err = typeof entry.err === 'string' ? entry.err : JSON.stringify(entry.err ?? '')
    // One key for every pod: names and node names out.
    const general = err.replace(/\/namespaces\/[^/\s]+\/pods\/[^/\s]+/g, '/namespaces/*/pods/*')
    key = `${entry.msg ?? ''}: ${general.replace(/scheduler-perf-\d+/g, '*').slice(0, 140)}`
  } catch {
    // Not JSON: counted by its text.
  }
  counts.set(key, (counts.get(key) ?? 0) + 1)
}

/** The machine's 1-minute load average: on a shared machine, a figure taken at 6 on 2 cores is noise. */
function loadAverage(): string {
  return (loadavg()[0] ?? 0).toFixed(1)
}

function countBy<T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, number> {
  const m = new Map<string, number>()
  for (const item of items) {
    const k = key(item)
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1)
  }
  return m
}

async function inParallel(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await fn(next++)
    }),
  )
}
