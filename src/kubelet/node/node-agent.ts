import type {
  ContainerImage,
  Node,
  NodeFeatures,
  NodeRuntimeHandler,
  Taint,
} from '../../api/generated/types/core-v1.ts'
import { copyJson } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import { isAlreadyExists, type EventRecorder, type ResourceClient } from '../../client/index.ts'
import { networkReady, runtimeReady, type ContainerRuntime } from '../runtime/runtime.ts'
import type { MachineInfo } from './machine.ts'
import {
  defaultLabels,
  events,
  initialNode,
  labelArch,
  labelOS,
  nodeReference,
  nodeStatusHasChanged,
  nodeStatusPatch,
  reconcileExistingNode,
  setNodeStatus,
  type NodeStatusInputs,
} from './node-status.ts'

export interface NodeStatusOptions {
  nodeName: string
  /** The nodes resource, as the node's own identity. */
  nodes: Pick<ResourceClient<Node>, 'get' | 'create' | 'patch' | 'patchUnread'>
  runtime: ContainerRuntime
  recorder: Pick<EventRecorder, 'event'>
  clock: Clock
  machine: MachineInfo
  /** The kubelet's logger, which names the node. */
  log?: Logger
  nodeLabels?: Readonly<Record<string, string>>
  registerWithTaints?: readonly Taint[]
  registerSchedulable?: boolean
  maxPods?: number
  kubeReserved?: Readonly<Record<string, string>>
  systemReserved?: Readonly<Record<string, string>>
  /** --node-status-update-frequency: how often the status is computed (10 s). */
  statusUpdateFrequencyMs?: number
  /** --node-status-report-frequency: the longest an unchanged status goes unwritten (5 min). */
  statusReportFrequencyMs?: number
  /** The port the kubelet's API serves on, once it listens (daemonEndpoints). */
  kubeletPort?: () => Promise<number>
  /**
   * Nodes as a watch shows them (simulated kubelets share one): a status round's first try reads
   * its Node here, as upstream's first try reads the apiserver's cache (resourceVersion 0); retries
   * GET it.
   */
  nodeCache?: { get(namespace: string, name: string): Readonly<Node> | undefined }
}

/**
 * The kubelet's Node (upstream's registerWithAPIServer and updateNodeStatus):
 *
 *   register ── create the Node with its status; if it exists, keep it and reconcile the
 *               kubelet's default labels (retried with backoff 100 ms doubling to 7 s)
 *   every statusUpdateFrequency ── read the Node, hand a new podCIDR to the runtime, compute
 *               the status; PATCH nodes/status when it changed (heartbeat times aside), the
 *               podCIDR changed, or statusReportFrequency passed since the last write
 */
export class NodeStatusAgent {
  readonly #o: NodeStatusOptions
  #registered = false
  /** The Node as this agent last read or wrote it (admission on the node reads it). */
  #node: Node | undefined
  #lastReportAt = Number.NEGATIVE_INFINITY
  #podCIDR = ''
  /** spec.unschedulable as last seen, for the NodeSchedulable and NodeNotSchedulable events. */
  #lastUnschedulable: boolean
  /** Status rounds completed, and how many of them PATCHed nodes/status (tests, metrics). */
  rounds = 0
  patches = 0

  constructor(o: NodeStatusOptions) {
    this.#o = o
    this.#lastUnschedulable = o.registerSchedulable === false
  }

  get registered(): boolean {
    return this.#registered
  }

  /** The Node as last registered or read, with the status computed then; undefined before registration. */
  get node(): Readonly<Node> | undefined {
    return this.#node
  }

  /** Registers, calls `onRegistered`, then keeps the status until the signal aborts. */
  async run(signal: AbortSignal, onRegistered?: () => void): Promise<void> {
    let backoff = 100
    while (!signal.aborted && !this.#registered) {
      try {
        await this.register()
      } catch (err) {
        this.#o.log?.warn({ err: (err as Error).message }, 'unable to register node with the API server')
        if (!(await this.#sleep(backoff, signal))) return
        backoff = Math.min(backoff * 2, 7000)
      }
    }
    if (signal.aborted) return
    onRegistered?.()
    const every = this.#o.statusUpdateFrequencyMs ?? 10_000
    while (!signal.aborted) {
      if (!(await this.#sleep(every, signal))) return
      try {
        await this.updateNodeStatus()
      } catch (err) {
        if (signal.aborted) return
        this.#o.log?.warn({ err: (err as Error).message }, 'error updating node status')
      }
    }
  }

  /** Creates the Node, or reconciles the existing one; then the node is registered. */
  async register(): Promise<void> {
    const o = this.#o
    const node = initialNode({
      nodeName: o.nodeName,
      machine: o.machine,
      ...(o.nodeLabels ? { nodeLabels: o.nodeLabels } : {}),
      ...(o.registerWithTaints ? { registerWithTaints: o.registerWithTaints } : {}),
      ...(o.registerSchedulable !== undefined ? { registerSchedulable: o.registerSchedulable } : {}),
    })
    setNodeStatus(node, await this.#inputs(), o.clock.now(), this.#record)
    try {
      this.#node = await o.nodes.create(node)
      o.log?.info('successfully registered node')
      this.#registered = true
      this.#lastReportAt = o.clock.now()
      return
    } catch (err) {
      if (!isAlreadyExists(err)) throw err
    }
    const existing = await o.nodes.get('', o.nodeName)
    const reconciled = copyJson(existing)
    if (reconcileExistingNode(reconciled, node)) {
      // Our nodes/status keeps metadata as it was (ResetObjectMetaForStatus), so labels and
      // annotations go to the Node itself; upstream sends them with the status patch.
      await o.nodes.patch('', o.nodeName, 'strategic', {
        metadata: { labels: reconciled.metadata?.labels, annotations: reconciled.metadata?.annotations },
      })
    }
    this.#registered = true
    await this.updateNodeStatus()
  }

  /** One status round, tried up to 5 times (upstream's nodeStatusUpdateRetry). */
  async updateNodeStatus(): Promise<void> {
    let last: unknown
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.#tryUpdateNodeStatus(attempt)
        return
      } catch (err) {
        last = err
        this.#o.log?.debug({ err: (err as Error).message }, 'error updating node status, will retry')
      }
    }
    throw new Error('update node status exceeds retry count', { cause: last })
  }

  async #tryUpdateNodeStatus(attempt: number): Promise<void> {
    const o = this.#o
    const cached = attempt === 0 ? o.nodeCache?.get('', o.nodeName) : undefined
    const original = cached ?? (await o.nodes.get('', o.nodeName))
    // Only the status is set below: the rest (managedFields are half of a Node) is shared, not copied.
    const node: Node = {
      ...original,
      ...(original.status ? { status: copyJson(original.status) } : {}),
    }
    const podCIDR = (node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : [])).join(',')
    let podCIDRChanged = false
    if (podCIDR !== '' && podCIDR !== this.#podCIDR) {
      // A runtime that refuses it is logged and asked again next round; the status goes on (upstream).
      try {
        await o.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: podCIDR } } })
        o.log?.info({ podCIDR }, 'updated the runtime pod CIDR')
        this.#podCIDR = podCIDR
        podCIDRChanged = true
      } catch (err) {
        o.log?.error({ podCIDR, err: (err as Error).message }, 'error updating pod CIDR')
      }
    }
    // The os and arch labels must always be there (upstream re-adds them when removed).
    const labels = node.metadata?.labels ?? {}
    const defaults = defaultLabels(o.nodeName, o.machine)
    const required = { [labelOS]: defaults[labelOS] ?? '', [labelArch]: defaults[labelArch] ?? '' }
    if (labels[labelOS] !== required[labelOS] || labels[labelArch] !== required[labelArch]) {
      await o.nodes.patch('', o.nodeName, 'strategic', { metadata: { labels: required } })
    }
    setNodeStatus(node, await this.#inputs(), o.clock.now(), this.#record)
    this.#node = node
    const unschedulable = node.spec?.unschedulable ?? false
    if (unschedulable !== this.#lastUnschedulable) {
      this.#record('Normal', unschedulable ? events.nodeNotSchedulable : events.nodeSchedulable)
      this.#lastUnschedulable = unschedulable
    }
    const now = o.clock.now()
    const reportDue = now >= this.#lastReportAt + (o.statusReportFrequencyMs ?? 5 * 60_000)
    if (reportDue || podCIDRChanged || nodeStatusHasChanged(original.status, node.status ?? {})) {
      const patch = nodeStatusPatch(original.status, node.status ?? {})
      await o.nodes.patchUnread('', o.nodeName, 'strategic', patch, { subresource: 'status' })
      this.patches++
      this.#lastReportAt = now
    }
    this.rounds++
  }

  /** What the status is computed from: the runtime's version, status and images. */
  async #inputs(): Promise<NodeStatusInputs> {
    const o = this.#o
    let containerRuntimeVersion = ''
    const runtimeErrors: string[] = []
    try {
      const v = await o.runtime.version({})
      containerRuntimeVersion = `${v.runtimeName}://${v.runtimeVersion}`
    } catch (err) {
      o.log?.debug({ err: (err as Error).message }, 'cannot read the runtime version')
    }
    let runtimeHandlers: NodeRuntimeHandler[] | undefined
    let features: NodeFeatures | undefined
    try {
      const s = await o.runtime.status({})
      runtimeHandlers = s.runtimeHandlers.map((h) => ({
        name: h.name,
        features: {
          recursiveReadOnlyMounts: h.features?.recursiveReadOnlyMounts ?? false,
          userNamespaces: h.features?.userNamespaces ?? false,
        },
      }))
      if (s.features) features = { supplementalGroupsPolicy: s.features.supplementalGroupsPolicy }
      const conditions = s.status?.conditions ?? []
      // Upstream names the failing condition as kubecontainer.RuntimeCondition prints it.
      for (const [type, what] of [
        [runtimeReady, 'container runtime not ready'],
        [networkReady, 'container runtime network not ready'],
      ] as const) {
        const c = conditions.find((x) => x.type === type)
        if (!c) runtimeErrors.push(`${what}: <nil>`)
        else if (!c.status)
          runtimeErrors.push(`${what}: ${type}=false reason:${c.reason} message:${c.message}`)
      }
    } catch {
      runtimeErrors.push('container runtime is down')
    }
    let images: ContainerImage[] | undefined
    try {
      const list = await o.runtime.listImages({})
      // Digests first, then tags, at most 5 names an image (upstream's MaxNamesPerImageInNodeStatus).
      images = list.images
        .map((i) => ({ names: [...i.repoDigests, ...i.repoTags].slice(0, 5), sizeBytes: Number(i.size) }))
        .sort((a, b) => b.sizeBytes - a.sizeBytes)
    } catch {
      images = undefined
    }
    return {
      machine: o.machine,
      maxPods: o.maxPods ?? 110,
      ...(o.kubeletPort ? { kubeletPort: await o.kubeletPort() } : {}),
      ...(o.kubeReserved ? { kubeReserved: o.kubeReserved } : {}),
      ...(o.systemReserved ? { systemReserved: o.systemReserved } : {}),
      containerRuntimeVersion,
      runtimeErrors,
      ...(runtimeHandlers ? { runtimeHandlers } : {}),
      ...(features ? { features } : {}),
      ...(images ? { images } : {}),
    }
  }

  readonly #record = (type: 'Normal' | 'Warning', reason: string): void => {
    const n = this.#o.nodeName
    this.#o.recorder.event(nodeReference(n), type, reason, `Node ${n} status is now: ${reason}`)
  }

  async #sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.#o.clock.sleep(ms, signal)
      return true
    } catch {
      return false
    }
  }
}

/** Events the kubelet records once at start, about its node. */
export function recordStarting(recorder: Pick<EventRecorder, 'event'>, nodeName: string): void {
  recorder.event(nodeReference(nodeName), 'Normal', events.starting, 'Starting kubelet.')
}

/** After start, as the container manager does once node allocatable is enforced on the pods' cgroup. */
export function recordAllocatableEnforced(recorder: Pick<EventRecorder, 'event'>, nodeName: string): void {
  recorder.event(
    nodeReference(nodeName),
    'Normal',
    events.nodeAllocatableEnforced,
    'Updated Node Allocatable limit across pods',
  )
}
