import type { Lease } from '../api/generated/types/coordination-v1.ts'
import type { Event, Node, Taint } from '../api/generated/types/core-v1.ts'
import { realClock, type Clock } from '../base/clock.ts'
import { createLogger, type Logger } from '../base/log.ts'
import { builtin, EventRecorder, ResourceClient, RestClient, type ClientConfig } from '../client/index.ts'
import { readMachineInfo, type MachineInfo } from './node/machine.ts'
import { NodeLeaseController } from './node/node-lease.ts'
import {
  NodeStatusAgent,
  recordAllocatableEnforced,
  recordStarting,
  type NodeStatusOptions,
} from './node/node-agent.ts'
import { kubeletVersion } from './node/node-status.ts'
import { nodePodInformer, type PodSource } from './pod/pod-source.ts'
import { fakeOutputReader, type ContainerOutputReader } from './pod/termination-message.ts'
import { FakeRuntime } from './runtime/fake/fake-runtime.ts'
import { serveKubeletApi, type KubeletServerConfig } from './server/index.ts'
import type { ContainerRuntime } from './runtime/runtime.ts'

export { readMachineInfo, type MachineInfo } from './node/machine.ts'
export { NodeLeaseController, nodeLeaseNamespace } from './node/node-lease.ts'
export { NodeStatusAgent } from './node/node-agent.ts'
export { kubeletVersion } from './node/node-status.ts'
export type { ContainerRuntime } from './runtime/runtime.ts'
export { KubeletPodManager, type KubeletPodOptions } from './pod/pod-manager.ts'
export { NodePodDemux, type PodSource } from './pod/pod-source.ts'
export type { KubeletServerConfig } from './server/index.ts'

/** What the pod side of the kubelet (pod workers, PLEG, status) gets when the node is registered. */
export interface PodManagerContext {
  nodeName: string
  rest: RestClient
  /**
   * The pods bound to this node (field selector spec.nodeName=<node>), as the kubelet's API pod
   * source watches them; running, and announcing what it has to handlers added later.
   */
  pods: PodSource
  /** The Node as the kubelet last read or wrote it (admission on the node). */
  node: () => Readonly<Node> | undefined
  /** The node's addresses: the pods' hostIP(s). */
  hostIPs: string[]
  runtime: ContainerRuntime
  recorder: EventRecorder
  clock: Clock
  log: Logger
}

/**
 * The seam where the kubelet's pod side plugs in: started once the Node is registered (pods can be
 * bound to it from then on), stopped before the kubelet's clients close.
 */
export interface PodManager {
  start(ctx: PodManagerContext): void
  stop(): Promise<void>
}

export interface KubeletOptions {
  /**
   * How to reach the apiserver, as system:node:<nodeName> (group system:nodes); or a RestClient
   * shared by many simulated kubelets, which stop() leaves open.
   */
  client: ClientConfig | RestClient
  /**
   * The clients of the Node's status and Lease (upstream's heartbeatClient) and of events (its
   * EventClient). Default: RestClients of their own from `client`'s config, or `client` itself
   * when it is a shared RestClient.
   */
  heartbeatClient?: RestClient
  eventClient?: RestClient
  nodeName: string
  runtime: ContainerRuntime
  /** The machine reported in capacity and nodeInfo (default: this host, with values given here taking precedence). */
  machine?: Partial<MachineInfo>
  /** --node-labels. */
  nodeLabels?: Readonly<Record<string, string>>
  /** --register-with-taints. */
  registerWithTaints?: readonly Taint[]
  /** --register-schedulable (default true). */
  registerSchedulable?: boolean
  /** --max-pods (default 110). */
  maxPods?: number
  kubeReserved?: Readonly<Record<string, string>>
  systemReserved?: Readonly<Record<string, string>>
  /** --node-status-update-frequency (default 10 s). */
  nodeStatusUpdateFrequencyMs?: number
  /** --node-status-report-frequency (default 5 min). */
  nodeStatusReportFrequencyMs?: number
  /** --node-lease-duration-seconds (default 40); renewed every quarter of it. */
  nodeLeaseDurationSeconds?: number
  podManager?: PodManager
  /**
   * Where the pod manager reads the node's pods (default: a watch of its own). Simulated kubelets
   * share one watch through NodePodDemux.
   */
  podSource?: PodSource
  /** Nodes as a shared watch shows them: the status rounds read their Node there first. */
  nodeCache?: NodeStatusOptions['nodeCache']
  /** The kubelet's HTTPS API (stats, metrics, pods, container logs); not served without it. */
  server?: KubeletServerConfig
  /**
   * How the API reads containers' logs (default: the fake runtime's own reader when the runtime
   * is a FakeRuntime; otherwise, without one, /containerLogs is not served).
   */
  containerOutput?: ContainerOutputReader
  clock?: Clock
  log?: Logger
}

export interface RunningKubelet {
  readonly nodeName: string
  /** The Node's status writer (tests read `patches`). */
  readonly nodeStatus: NodeStatusAgent
  stop(): Promise<void>
}

/**
 * The kubelet's node side: registers the Node, keeps its status and Lease, and starts the pod
 * manager once the Node exists. Everything goes through the API as the node's own identity, so
 * the Node authorizer and NodeRestriction hold it to what a node may do.
 */
export function startKubelet(o: KubeletOptions): RunningKubelet {
  const clock = o.clock ?? realClock
  const log = (o.log ?? createLogger()).child({ component: 'kubelet', node: o.nodeName })
  // As upstream's kubelet: one client for the pods, one for events and one for the heartbeat
  // (Node status and Lease, with no client-side rate limit), each on connections of its own, so
  // that a heartbeat never waits behind the pods' writes nor a pod's status behind events. A
  // shared RestClient (simulated kubelets) stands for all three unless they are given too; what
  // is given is shared and left open on stop().
  const own: RestClient[] = []
  const clientOf = (given: RestClient | undefined, maxConnections?: number): RestClient => {
    if (given) return given
    if (o.client instanceof RestClient) return o.client
    const userAgent = `kubelet/${kubeletVersion} (linux/amd64) k8ts`
    const made = new RestClient(
      { userAgent, ...o.client, ...(maxConnections !== undefined ? { maxConnections } : {}) },
      { clock },
    )
    own.push(made)
    return made
  }
  const rest = clientOf(undefined)
  const heartbeat = clientOf(o.heartbeatClient, 2)
  const eventClient = clientOf(o.eventClient, 2)
  const nodes = new ResourceClient<Node>(heartbeat, builtin('', 'v1', 'nodes'))
  const leases = new ResourceClient<Lease>(heartbeat, builtin('coordination.k8s.io', 'v1', 'leases'))
  const recorder = new EventRecorder(new ResourceClient<Event>(eventClient, builtin('', 'v1', 'events')), {
    component: 'kubelet',
    host: o.nodeName,
    clock,
    log,
  })
  const machine: MachineInfo = { ...readMachineInfo(), hostname: o.nodeName, ...o.machine }
  // The node's own watch, unless it reads a shared one.
  const ownPods = o.podSource ? undefined : nodePodInformer({ rest, nodeName: o.nodeName, clock, log })
  const pods = o.podSource ?? ownPods
  const containerOutput =
    o.containerOutput ?? (o.runtime instanceof FakeRuntime ? fakeOutputReader(o.runtime) : undefined)
  const api = o.server
    ? serveKubeletApi({
        config: o.server,
        nodeName: o.nodeName,
        machine,
        runtime: o.runtime,
        ...(containerOutput ? { containerOutput } : {}),
        rest,
        pods: () => pods?.lister.list() ?? [],
        clock,
        log,
      })
    : undefined
  const nodeStatus = new NodeStatusAgent({
    nodeName: o.nodeName,
    nodes,
    runtime: o.runtime,
    recorder,
    clock,
    machine,
    log,
    ...(o.nodeLabels ? { nodeLabels: o.nodeLabels } : {}),
    ...(o.registerWithTaints ? { registerWithTaints: o.registerWithTaints } : {}),
    ...(o.registerSchedulable !== undefined ? { registerSchedulable: o.registerSchedulable } : {}),
    ...(o.maxPods !== undefined ? { maxPods: o.maxPods } : {}),
    ...(o.nodeCache ? { nodeCache: o.nodeCache } : {}),
    ...(o.kubeReserved ? { kubeReserved: o.kubeReserved } : {}),
    ...(o.systemReserved ? { systemReserved: o.systemReserved } : {}),
    ...(o.nodeStatusUpdateFrequencyMs !== undefined
      ? { statusUpdateFrequencyMs: o.nodeStatusUpdateFrequencyMs }
      : {}),
    ...(o.nodeStatusReportFrequencyMs !== undefined
      ? { statusReportFrequencyMs: o.nodeStatusReportFrequencyMs }
      : {}),
    ...(api ? { kubeletPort: () => api.port } : {}),
  })
  const lease = new NodeLeaseController({
    nodeName: o.nodeName,
    leases,
    nodes,
    ...(o.nodeCache ? { nodeCache: o.nodeCache } : {}),
    clock,
    log,
    ...(o.nodeLeaseDurationSeconds !== undefined ? { leaseDurationSeconds: o.nodeLeaseDurationSeconds } : {}),
  })
  const abort = new AbortController()
  let podsRunning: Promise<void> | undefined
  recordStarting(recorder, o.nodeName)
  // The pod manager starts once the Node exists.
  const running = Promise.all([
    lease.run(abort.signal),
    nodeStatus.run(abort.signal, () => {
      recordAllocatableEnforced(recorder, o.nodeName)
      if (!o.podManager || !pods) return
      podsRunning = ownPods?.run(abort.signal)
      o.podManager.start({
        nodeName: o.nodeName,
        rest,
        pods,
        node: () => nodeStatus.node,
        hostIPs: machine.internalIP ? [machine.internalIP] : [],
        runtime: o.runtime,
        recorder,
        clock,
        log,
      })
    }),
  ])
  return {
    nodeName: o.nodeName,
    nodeStatus,
    async stop() {
      abort.abort()
      await o.podManager?.stop()
      await api?.stop()
      await podsRunning
      await running.catch((err: unknown) =>
        log.warn({ err: (err as Error).message }, 'kubelet stopped with an error'),
      )
      await recorder.close()
      await Promise.all(own.map((c) => c.close()))
    },
  }
}
