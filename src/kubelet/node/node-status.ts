/**
 * The Node object as the kubelet writes it (upstream pkg/kubelet/kubelet_node_status.go and
 * pkg/kubelet/nodestatus): the object it registers, the status it computes every
 * nodeStatusUpdateFrequency, whether that status changed, and the strategic merge patch that
 * carries it. Pure functions of their inputs and the time, so tests call them directly.
 */
import type {
  ContainerImage,
  Node,
  NodeCondition,
  NodeFeatures,
  NodeRuntimeHandler,
  NodeStatus,
  Taint,
} from '../../api/generated/types/core-v1.ts'
import { copyJson, deepEqual } from '../../api/object.ts'
import { createMergePatch } from '../../api/patch/merge-patch.ts'
import { formatQuantity, parseQuantity } from '../../api/quantity.ts'
import type { MachineInfo } from './machine.ts'

/** The version the kubelet reports in nodeInfo.kubeletVersion. */
export const kubeletVersion = 'v1.35.0'
/** daemonEndpoints.kubeletEndpoint.Port: the kubelet's HTTPS API. */
export const kubeletPort = 10250
/** --max-pods default. */
export const defaultMaxPods = 110

export const labelHostname = 'kubernetes.io/hostname'
export const labelOS = 'kubernetes.io/os'
export const labelArch = 'kubernetes.io/arch'
export const labelOSBeta = 'beta.kubernetes.io/os'
export const labelArchBeta = 'beta.kubernetes.io/arch'
/** Set on registration: volumes are attached by the attach/detach controller, not the kubelet. */
export const annotationControllerManagedAttachDetach =
  'volumes.kubernetes.io/controller-managed-attach-detach'

/** Event reasons the kubelet records about its Node (pkg/kubelet/events). */
export const events = {
  starting: 'Starting',
  nodeAllocatableEnforced: 'NodeAllocatableEnforced',
  nodeReady: 'NodeReady',
  nodeNotReady: 'NodeNotReady',
  nodeHasSufficientMemory: 'NodeHasSufficientMemory',
  nodeHasInsufficientMemory: 'NodeHasInsufficientMemory',
  nodeHasNoDiskPressure: 'NodeHasNoDiskPressure',
  nodeHasDiskPressure: 'NodeHasDiskPressure',
  nodeHasSufficientPID: 'NodeHasSufficientPID',
  nodeHasInsufficientPID: 'NodeHasInsufficientPID',
  nodeSchedulable: 'NodeSchedulable',
  nodeNotSchedulable: 'NodeNotSchedulable',
} as const

/** How the node registers: what the kubelet's flags say about it. */
export interface NodeRegistration {
  nodeName: string
  machine: MachineInfo
  /** --node-labels. */
  nodeLabels?: Readonly<Record<string, string>>
  /** --register-with-taints (only on creation, as upstream). */
  registerWithTaints?: readonly Taint[]
  /** --register-schedulable=false registers the node unschedulable. */
  registerSchedulable?: boolean
}

/** What one status computation looks at besides the node itself. */
export interface NodeStatusInputs {
  machine: MachineInfo
  maxPods: number
  /** --kube-reserved and --system-reserved, as quantities by resource name. */
  kubeReserved?: Readonly<Record<string, string>>
  systemReserved?: Readonly<Record<string, string>>
  /** `<runtimeName>://<runtimeVersion>` from the runtime's version(); '' when it did not answer. */
  containerRuntimeVersion: string
  /** Why the runtime is not ready (empty when it is): become the Ready condition's message. */
  runtimeErrors: readonly string[]
  /** The runtime's handlers and features from its status(); unknown (left as they were) when absent. */
  runtimeHandlers?: readonly NodeRuntimeHandler[]
  features?: NodeFeatures
  /** The node's images, biggest first (at most 50). */
  images?: readonly ContainerImage[]
  pressure?: { memory?: boolean; disk?: boolean; pid?: boolean }
  /** The port the kubelet's API listens on (default kubeletPort; the actual one when it was 0). */
  kubeletPort?: number
}

export type RecordNodeEvent = (type: 'Normal' | 'Warning', reason: string) => void

/** The labels the kubelet owns (upstream's default labels) for this machine. */
export function defaultLabels(nodeName: string, machine: MachineInfo): Record<string, string> {
  return {
    [labelHostname]: nodeName,
    [labelOS]: machine.operatingSystem,
    [labelArch]: machine.architecture,
    [labelOSBeta]: machine.operatingSystem,
    [labelArchBeta]: machine.architecture,
  }
}

/** The Node the kubelet creates (upstream's initialNode), without status: callers set it. */
export function initialNode(r: NodeRegistration): Node {
  const taints = (r.registerWithTaints ?? []).map((t) => ({ ...t }))
  if (r.registerSchedulable === false && !taints.some((t) => t.key === 'node.kubernetes.io/unschedulable'))
    taints.push({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: r.nodeName,
      labels: { ...defaultLabels(r.nodeName, r.machine), ...r.nodeLabels },
      annotations: { [annotationControllerManagedAttachDetach]: 'true' },
    },
    spec: {
      ...(r.registerSchedulable === false ? { unschedulable: true } : {}),
      ...(taints.length > 0 ? { taints } : {}),
    },
  }
}

/**
 * Brings an existing Node's kubelet-owned metadata in line with the one the kubelet would have
 * created (upstream's updateDefaultLabels and reconcileCMADAnnotationWithExistingNode): the
 * default labels and the attach/detach annotation. Taints and --node-labels are left as the
 * cluster has them. Returns whether anything changed.
 */
export function reconcileExistingNode(existing: Node, initial: Readonly<Node>): boolean {
  let changed = false
  const labels = ((existing.metadata ??= {}).labels ??= {})
  for (const [key, value] of Object.entries(initial.metadata?.labels ?? {})) {
    if (!(key in defaultLabelKeys)) continue
    if (labels[key] !== value) {
      labels[key] = value
      changed = true
    }
  }
  const annotations = ((existing.metadata ??= {}).annotations ??= {})
  if (annotations[annotationControllerManagedAttachDetach] !== 'true') {
    annotations[annotationControllerManagedAttachDetach] = 'true'
    changed = true
  }
  return changed
}

const defaultLabelKeys: Record<string, true> = {
  [labelHostname]: true,
  [labelOS]: true,
  [labelArch]: true,
  [labelOSBeta]: true,
  [labelArchBeta]: true,
}

/**
 * Computes the node's status in place (upstream's setNodeStatus with the default setters, in their
 * order): addresses, capacity and allocatable, nodeInfo, daemonEndpoints, images, and the
 * conditions MemoryPressure, DiskPressure, PIDPressure and Ready. Every condition's
 * lastHeartbeatTime is now; lastTransitionTime moves only when its status does. Events for
 * condition changes go to `record`.
 */
export function setNodeStatus(
  node: Node,
  inputs: NodeStatusInputs,
  now: number,
  record: RecordNodeEvent,
): void {
  const status: NodeStatus = (node.status ??= {})
  const m = inputs.machine
  const nodeName = node.metadata?.name ?? ''
  status.addresses = [
    ...(m.internalIP ? [{ type: 'InternalIP', address: m.internalIP }] : []),
    { type: 'Hostname', address: m.hostname || nodeName },
  ]
  const capacity = nodeCapacity(inputs)
  status.capacity = capacity
  status.allocatable = nodeAllocatable(capacity, inputs)
  status.nodeInfo = {
    machineID: m.machineID,
    systemUUID: m.systemUUID,
    bootID: m.bootID,
    kernelVersion: m.kernelVersion,
    osImage: m.osImage,
    containerRuntimeVersion: inputs.containerRuntimeVersion,
    kubeletVersion: kubeletVersion,
    // Deprecated: the kubelet no longer reports kube-proxy's version (DisableNodeKubeProxyVersion).
    kubeProxyVersion: '',
    operatingSystem: m.operatingSystem,
    architecture: m.architecture,
  }
  status.daemonEndpoints = { kubeletEndpoint: { Port: inputs.kubeletPort ?? kubeletPort } }
  if (inputs.runtimeHandlers) status.runtimeHandlers = inputs.runtimeHandlers.map((h) => copyJson(h))
  if (inputs.features) status.features = { ...inputs.features }
  // An empty list is left out, as Go's omitempty does; unknown images (the runtime failed) keep the old list.
  if (inputs.images?.length) status.images = inputs.images.slice(0, maxImagesInNodeStatus)
  else if (inputs.images) delete status.images
  const t = iso(now)
  const conditions = (status.conditions ??= [])
  const p = inputs.pressure ?? {}
  setPressureCondition(conditions, t, record, {
    type: 'MemoryPressure',
    pressure: p.memory ?? false,
    on: [
      'KubeletHasInsufficientMemory',
      'kubelet has insufficient memory available',
      events.nodeHasInsufficientMemory,
    ],
    off: [
      'KubeletHasSufficientMemory',
      'kubelet has sufficient memory available',
      events.nodeHasSufficientMemory,
    ],
  })
  setPressureCondition(conditions, t, record, {
    type: 'DiskPressure',
    pressure: p.disk ?? false,
    on: ['KubeletHasDiskPressure', 'kubelet has disk pressure', events.nodeHasDiskPressure],
    off: ['KubeletHasNoDiskPressure', 'kubelet has no disk pressure', events.nodeHasNoDiskPressure],
  })
  setPressureCondition(conditions, t, record, {
    type: 'PIDPressure',
    pressure: p.pid ?? false,
    on: [
      'KubeletHasInsufficientPID',
      'kubelet has insufficient PID available',
      events.nodeHasInsufficientPID,
    ],
    off: ['KubeletHasSufficientPID', 'kubelet has sufficient PID available', events.nodeHasSufficientPID],
  })
  setReadyCondition(conditions, t, record, readyErrors(inputs, capacity))
}

/** upstream's MaxNamesPerImageInNodeStatus sibling: at most 50 images are reported. */
const maxImagesInNodeStatus = 50

/** capacity: cpu, memory, pods, ephemeral-storage and a zero for each huge page size. */
export function nodeCapacity(inputs: NodeStatusInputs): Record<string, string> {
  const m = inputs.machine
  const capacity: Record<string, string> = {
    cpu: formatQuantity({ nanos: BigInt(m.cpus) * nano, format: 'DecimalSI' }),
    memory: bytes(BigInt(m.memoryBytes)),
    pods: String(inputs.maxPods),
  }
  if (m.ephemeralStorageBytes > 0) capacity['ephemeral-storage'] = bytes(BigInt(m.ephemeralStorageBytes))
  for (const size of m.hugePageSizes) capacity[`hugepages-${size}`] = '0'
  return capacity
}

/**
 * allocatable = capacity − kube-reserved − system-reserved − the hard eviction thresholds
 * (upstream's defaults: memory.available<100Mi, nodefs.available<10%), never below zero; memory
 * also loses what huge pages take.
 */
export function nodeAllocatable(
  capacity: Readonly<Record<string, string>>,
  inputs: NodeStatusInputs,
): Record<string, string> {
  const allocatable: Record<string, string> = {}
  for (const [name, value] of Object.entries(capacity)) {
    const q = parseQuantity(value)
    if (!q) continue
    let reserved = 0n
    for (const r of [inputs.kubeReserved, inputs.systemReserved]) {
      const v = parseQuantity(r?.[name])
      if (v) reserved += v.nanos
    }
    if (name === 'memory') {
      reserved += evictionHardMemoryBytes * nano
      for (const [hp, hv] of Object.entries(capacity))
        if (hp.startsWith('hugepages-')) reserved += parseQuantity(hv)?.nanos ?? 0n
    }
    if (name === 'ephemeral-storage') {
      reserved += BigInt(Math.floor(Number(q.nanos / nano) * evictionHardNodefsFraction)) * nano
    }
    const left = q.nanos - reserved
    allocatable[name] = formatQuantity({ nanos: left > 0n ? left : 0n, format: q.format })
  }
  return allocatable
}

const nano = 1_000_000_000n
const evictionHardMemoryBytes = 100n * 1024n * 1024n
const evictionHardNodefsFraction = 0.1

function bytes(n: bigint): string {
  return formatQuantity({ nanos: n * nano, format: 'BinarySI' })
}

/** Why the node is not ready: the runtime's errors and any required capacity that is missing. */
function readyErrors(inputs: NodeStatusInputs, capacity: Readonly<Record<string, string>>): string[] {
  const errors = [...inputs.runtimeErrors]
  const missing = ['cpu', 'memory', 'pods'].filter((r) => !(r in capacity))
  if (missing.length > 0) errors.push(`missing node capacity for resources: ${missing.join(', ')}`)
  return errors
}

function setPressureCondition(
  conditions: NodeCondition[],
  now: string,
  record: RecordNodeEvent,
  c: { type: string; pressure: boolean; on: readonly string[]; off: readonly string[] },
): void {
  let condition = conditions.find((x) => x.type === c.type)
  if (!condition) {
    condition = { type: c.type, status: 'Unknown' }
    conditions.push(condition)
  }
  condition.lastHeartbeatTime = now
  const want = c.pressure ? 'True' : 'False'
  if (condition.status === want) return
  const [reason = '', message = '', event = ''] = c.pressure ? c.on : c.off
  Object.assign(condition, { status: want, reason, message, lastTransitionTime: now })
  record('Normal', event)
}

function setReadyCondition(
  conditions: NodeCondition[],
  now: string,
  record: RecordNodeEvent,
  errors: readonly string[],
): void {
  const next: NodeCondition =
    errors.length === 0
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'KubeletNotReady',
          // apimachinery's aggregate error: one message as is, several in brackets.
          message: errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]`,
        }
  next.lastHeartbeatTime = now
  const i = conditions.findIndex((x) => x.type === 'Ready')
  const current = conditions[i]
  if (!current) {
    next.lastTransitionTime = now
    conditions.push(next)
    return
  }
  next.lastTransitionTime = current.status === next.status ? current.lastTransitionTime : now
  conditions[i] = next
  if (current.status !== next.status) {
    record('Normal', next.status === 'True' ? events.nodeReady : events.nodeNotReady)
  }
}

/**
 * Whether the status differs in anything but heartbeat times (upstream's nodeStatusHasChanged):
 * a status that only beats is not written until nodeStatusReportFrequency has passed.
 */
export function nodeStatusHasChanged(
  old: Readonly<NodeStatus> | undefined,
  next: Readonly<NodeStatus>,
): boolean {
  const strip = (s: Readonly<NodeStatus> | undefined) => ({
    ...s,
    conditions: (s?.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: undefined })),
  })
  return !deepEqual(strip(old), strip(next))
}

/**
 * The strategic merge patch of nodes/status from `old` to `next` (upstream's PatchNodeStatus
 * builds a two-way patch the same way): maps as a merge patch; conditions merged by type, only
 * the changed ones sent, with `$setElementOrder/conditions`; addresses replaced as a whole (their
 * merge key, type, is not unique); images replaced (an atomic list).
 */
export function nodeStatusPatch(
  old: Readonly<NodeStatus> | undefined,
  next: Readonly<NodeStatus>,
): { status: Record<string, unknown> } {
  const { conditions: oldConditions, addresses: oldAddresses, ...oldRest } = old ?? {}
  const { conditions, addresses, ...rest } = next
  const patch = createMergePatch(oldRest, rest) as Record<string, unknown>
  if (!deepEqual(oldAddresses ?? [], addresses ?? [])) {
    patch.addresses = [{ $patch: 'replace' }, ...(addresses ?? [])]
  }
  const changed = (conditions ?? []).filter(
    (c) =>
      !deepEqual(
        c,
        oldConditions?.find((o) => o.type === c.type),
      ),
  )
  if (changed.length > 0) {
    patch['$setElementOrder/conditions'] = (conditions ?? []).map((c) => ({ type: c.type }))
    patch.conditions = changed
  }
  return { status: patch }
}

/** The Node's reference for its events: the kubelet names it with the node name as uid (upstream's nodeRef). */
export function nodeReference(nodeName: string): Node {
  return { kind: 'Node', metadata: { name: nodeName, uid: nodeName } }
}

/** metav1.Time: seconds, UTC. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
}
