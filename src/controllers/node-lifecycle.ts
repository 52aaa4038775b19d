import type { Lease } from '../api/generated/types/coordination-v1.ts'
import type { Node, NodeCondition, Pod, Taint } from '../api/generated/types/core-v1.ts'
import { deepEqual } from '../api/object.ts'
import { tolerates } from '../api/taints.ts'
import type { Clock } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import {
  builtin,
  isNotFound,
  runWorkers,
  WorkQueue,
  type Lister,
  type Reconciler,
  type Requeue,
} from '../client/index.ts'
import type { ControllerDefinition, Recorder } from './controller.ts'
import { disruptionTargetPatch } from './pod-state.ts'

export const taintNotReady = 'node.kubernetes.io/not-ready'
export const taintUnreachable = 'node.kubernetes.io/unreachable'
export const taintUnschedulable = 'node.kubernetes.io/unschedulable'

/** NoSchedule taints that mirror node conditions (TaintNodesByCondition). */
const conditionTaints: readonly { type: string; status: string; key: string }[] = [
  { type: 'MemoryPressure', status: 'True', key: 'node.kubernetes.io/memory-pressure' },
  { type: 'DiskPressure', status: 'True', key: 'node.kubernetes.io/disk-pressure' },
  { type: 'PIDPressure', status: 'True', key: 'node.kubernetes.io/pid-pressure' },
  { type: 'NetworkUnavailable', status: 'True', key: 'node.kubernetes.io/network-unavailable' },
]

/** The taint keys this controller owns: it adds and removes them, and leaves every other taint alone. */
const managedKeys = new Set([
  taintNotReady,
  taintUnreachable,
  taintUnschedulable,
  ...conditionTaints.map((c) => c.key),
])

/** The conditions the kubelet reports, which become Unknown when it falls silent. */
const kubeletConditions = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']

export interface NodeLifecycleControl {
  updateNodeStatus(node: Node): Promise<void>
  /** Replaces the node's taints (spec.taints). */
  setTaints(name: string, taints: Taint[], resourceVersion: string): Promise<void>
  /** Evicts a pod: marks it with the DisruptionTarget condition, then deletes it. */
  evict(pod: Readonly<Pod>): Promise<void>
}

export interface NodeLifecycleOptions {
  nodes: Lister<Node>
  /** The nodes' heartbeat Leases, in kube-node-lease. */
  leases: Lister<Lease>
  pods: Lister<Pod>
  control: NodeLifecycleControl
  recorder: Recorder
  clock: Clock
  log?: Logger
  /** A node silent this long is Unknown (kube-controller-manager's --node-monitor-grace-period). */
  gracePeriodMs?: number
  /** A node that never reported gets this long (--node-startup-grace-period, 60 s). */
  startupGracePeriodMs?: number
}

/**
 * The node lifecycle controller, as Kubernetes' (pkg/controller/nodelifecycle) with taint-based
 * eviction:
 *
 *   heartbeat (Lease renewTime or the Ready condition's lastHeartbeatTime) seen ── probe time
 *   no heartbeat for the grace period ──▶ Ready, MemoryPressure, DiskPressure, PIDPressure Unknown
 *   Ready False ──▶ taint not-ready (NoSchedule, NoExecute)
 *   Ready Unknown ──▶ taint unreachable (NoSchedule, NoExecute)
 *   Ready True ──▶ those taints removed
 *
 * and, for NoExecute taints, the taint manager: a pod that does not tolerate one is evicted at
 * once; one that tolerates it for tolerationSeconds is evicted that long after the taint was
 * added (DefaultTolerationSeconds gives every pod 300 s for not-ready and unreachable); one that
 * tolerates it without a limit stays. A heartbeat is judged by when this controller saw it
 * change, never by comparing clocks with the node.
 */
export class NodeLifecycleController implements Reconciler {
  /** Node names whose pods the taint manager looks at. */
  readonly queue: WorkQueue
  readonly #o: NodeLifecycleOptions
  readonly #health = new Map<string, { heartbeat: string; lease: string; probeAt: number }>()

  constructor(o: NodeLifecycleOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  /** One pass over every node (every nodeMonitorPeriod). */
  async monitor(): Promise<void> {
    const now = this.#o.clock.now()
    const names = new Set<string>()
    for (const node of this.#o.nodes.list()) {
      const name = node.metadata?.name ?? ''
      names.add(name)
      try {
        await this.#monitorNode(node, now)
      } catch (err) {
        if (!isNotFound(err))
          this.#o.log?.warn({ node: name, err: (err as Error).message }, 'cannot update node health')
      }
    }
    for (const name of this.#health.keys()) if (!names.has(name)) this.#health.delete(name)
  }

  async #monitorNode(node: Readonly<Node>, now: number): Promise<void> {
    const name = node.metadata?.name ?? ''
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')
    const heartbeat = ready?.lastHeartbeatTime ?? ''
    const lease = this.#o.leases.get('kube-node-lease', name)?.spec?.renewTime ?? ''
    const seen = this.#health.get(name)
    if (!seen) {
      // First sight: the node counts from its creation if it never reported, else from now.
      const created = Date.parse(node.metadata?.creationTimestamp ?? '')
      this.#health.set(name, {
        heartbeat,
        lease,
        probeAt: ready || !Number.isFinite(created) ? now : created,
      })
    } else if (seen.heartbeat !== heartbeat || seen.lease !== lease) {
      this.#health.set(name, { heartbeat, lease, probeAt: now })
    }
    const probeAt = this.#health.get(name)?.probeAt ?? now
    const grace = ready ? (this.#o.gracePeriodMs ?? 40_000) : (this.#o.startupGracePeriodMs ?? 60_000)
    let current = node
    if (now > probeAt + grace && ready?.status !== 'Unknown') {
      current = markUnknown(node, Boolean(ready), now)
      await this.#o.control.updateNodeStatus(structuredClone(current))
      this.#o.recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`)
    }
    await this.#syncTaints(current, now)
  }

  /** Sets the taints the node's conditions and spec.unschedulable call for. */
  async #syncTaints(node: Readonly<Node>, now: number): Promise<void> {
    const existing = node.spec?.taints ?? []
    const want = desiredTaints(node)
    const kept = existing.filter((t) => !managedKeys.has(t.key) || want.some((w) => sameTaint(w, t)))
    const added = want
      .filter((w) => !existing.some((t) => sameTaint(w, t)))
      .map((t) => (t.effect === 'NoExecute' ? { ...t, timeAdded: iso(now) } : t))
    const next = [...kept, ...added]
    if (deepEqual(next, existing)) return
    await this.#o.control.setTaints(node.metadata?.name ?? '', next, node.metadata?.resourceVersion ?? '')
    this.queue.add(node.metadata?.name ?? '')
  }

  /** The taint manager for one node: evict what must go now, look again when the next must. */
  async reconcile(nodeName: string): Promise<Requeue | undefined> {
    const node = this.#o.nodes.get('', nodeName)
    const taints = (node?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute')
    if (!node || taints.length === 0) return undefined
    const now = this.#o.clock.now()
    let next: number | undefined
    for (const pod of this.#o.pods.list().filter((p) => p.spec?.nodeName === nodeName)) {
      if (pod.metadata?.deletionTimestamp) continue
      const at = evictionTime(pod, taints)
      if (at === undefined) continue
      if (at <= now) {
        await this.#evict(pod)
      } else {
        next = Math.min(next ?? at, at)
      }
    }
    return next === undefined ? undefined : { afterMs: next - now }
  }

  async #evict(pod: Readonly<Pod>): Promise<void> {
    const ref = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`
    this.#o.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${ref}`)
    try {
      await this.#o.control.evict(pod)
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
  }
}

/** The node with its kubelet conditions Unknown, as when the kubelet stopped posting status. */
export function markUnknown(node: Readonly<Node>, everReported: boolean, now: number): Node {
  const next = structuredClone(node) as Node
  const conditions: NodeCondition[] = next.status?.conditions ?? []
  const reason = everReported ? 'NodeStatusUnknown' : 'NodeStatusNeverUpdated'
  const message = everReported ? 'Kubelet stopped posting node status.' : 'Kubelet never posted node status.'
  for (const type of kubeletConditions) {
    const c = conditions.find((x) => x.type === type)
    if (c) {
      if (c.status === 'Unknown') continue
      Object.assign(c, { status: 'Unknown', reason, message, lastTransitionTime: iso(now) })
    } else {
      conditions.push({
        type,
        status: 'Unknown',
        reason,
        message,
        lastHeartbeatTime: node.metadata?.creationTimestamp ?? iso(now),
        lastTransitionTime: iso(now),
      })
    }
  }
  next.status = { ...next.status, conditions }
  return next
}

/** The taints this controller wants on a node, from its conditions and spec.unschedulable. */
export function desiredTaints(node: Readonly<Node>): Taint[] {
  const out: Taint[] = []
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status
  if (ready === 'False')
    out.push({ key: taintNotReady, effect: 'NoSchedule' }, { key: taintNotReady, effect: 'NoExecute' })
  if (ready === 'Unknown')
    out.push({ key: taintUnreachable, effect: 'NoSchedule' }, { key: taintUnreachable, effect: 'NoExecute' })
  if (node.spec?.unschedulable) out.push({ key: taintUnschedulable, effect: 'NoSchedule' })
  for (const ct of conditionTaints) {
    if (node.status?.conditions?.some((c) => c.type === ct.type && c.status === ct.status))
      out.push({ key: ct.key, effect: 'NoSchedule' })
  }
  return out
}

function sameTaint(a: Readonly<Taint>, b: Readonly<Taint>): boolean {
  return a.key === b.key && a.effect === b.effect && (a.value ?? '') === (b.value ?? '')
}

/**
 * When a pod must leave a node with these NoExecute taints: now (a taint it does not tolerate),
 * tolerationSeconds after the taint was added (the soonest, over all taints), or never (undefined).
 */
export function evictionTime(pod: Readonly<Pod>, taints: readonly Readonly<Taint>[]): number | undefined {
  const tolerations = pod.spec?.tolerations ?? []
  let at: number | undefined
  for (const taint of taints) {
    const matching = tolerations.filter((t) => tolerates(t, taint))
    const added = Date.parse(taint.timeAdded ?? '') || 0
    if (matching.length === 0) return added > 0 ? Math.min(added, at ?? added) : 0
    // Tolerated for the shortest of the matching limits; forever if one has none.
    if (matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null)) continue
    const seconds = Math.max(0, Math.min(...matching.map((t) => t.tolerationSeconds ?? 0)))
    const when = added + seconds * 1000
    at = Math.min(at ?? when, when)
  }
  return at
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
}

/** kube-controller-manager's --node-monitor-period. */
const monitorPeriodMs = 5_000

export function nodeLifecycleController(
  o: { gracePeriodMs?: number; monitorPeriodMs?: number } = {},
): ControllerDefinition {
  return {
    name: 'nodelifecycle',
    eventSource: 'node-controller',
    serviceAccount: 'node-controller',
    setup(ctx) {
      const nodes = ctx.informers.informer<Node>(builtin('', 'v1', 'nodes'))
      const leases = ctx.informers.informer<Lease>(builtin('coordination.k8s.io', 'v1', 'leases'))
      const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
      const nodeClient = ctx.client<Node>(nodes.resource)
      const podClient = ctx.client<Pod>(pods.resource)
      const controller = new NodeLifecycleController({
        nodes: nodes.lister,
        leases: leases.lister,
        pods: pods.lister,
        recorder: ctx.recorder,
        clock: ctx.clock,
        log: ctx.log,
        ...(o.gracePeriodMs !== undefined ? { gracePeriodMs: o.gracePeriodMs } : {}),
        control: {
          updateNodeStatus: async (node) => {
            await nodeClient.updateStatus(node)
          },
          setTaints: async (name, taints, resourceVersion) => {
            await nodeClient.patch('', name, 'merge', { metadata: { resourceVersion }, spec: { taints } })
          },
          evict: async (pod) => {
            const ns = pod.metadata?.namespace ?? ''
            const name = pod.metadata?.name ?? ''
            const patch = disruptionTargetPatch({
              reason: 'DeletionByTaintManager',
              message: 'Taint manager: deleting due to NoExecute taint',
              now: iso(ctx.clock.now()),
            })
            await podClient.patch(ns, name, 'strategic', patch, { subresource: 'status' })
            await podClient.delete(ns, name)
          },
        },
      })
      const onNode = (n: Readonly<Node>) => controller.queue.add(n.metadata?.name ?? '')
      nodes.addHandler({ add: onNode, update: (_old, n) => onNode(n) })
      const onPod = (p: Readonly<Pod>) => {
        if (p.spec?.nodeName) controller.queue.add(p.spec.nodeName)
      }
      pods.addHandler({ add: onPod, update: (_old, p) => onPod(p) })
      return async (signal) => {
        const monitor = (async () => {
          while (!signal.aborted) {
            await controller.monitor()
            await ctx.clock.sleep(o.monitorPeriodMs ?? monitorPeriodMs, signal).catch(() => undefined)
          }
        })()
        await Promise.all([
          monitor,
          // Eight nodes' evictions at once, as upstream's taint manager (UpdateWorkerSize).
          runWorkers(controller.queue, controller, { workers: 8, signal, log: ctx.log }),
        ])
      }
    },
  }
}
