/**
 * The kubelet's Summary API (GET /stats/summary), group stats/v1alpha1: what the kubelet knows of
 * the node's and its pods' resource use. The types are the kubelet's own (k8s.io/kubelet
 * pkg/apis/stats/v1alpha1), which the OpenAPI document of the apiserver does not carry, so they are
 * written here; field names and JSON shape are the upstream ones. Times are RFC 3339 strings;
 * optional values are left out when unknown, as Go's omitempty pointers are.
 */

export interface Summary {
  node: NodeStats
  pods: PodStats[]
}

export interface NodeStats {
  nodeName: string
  /** Stats of system daemons (kubelet, runtime, pods cgroup); left out when not tracked. */
  systemContainers?: ContainerStats[]
  startTime: string
  cpu?: CPUStats
  memory?: MemoryStats
  network?: NetworkStats
  /** The filesystem holding the kubelet's root directory (nodefs). */
  fs?: FsStats
  runtime?: RuntimeStats
  rlimit?: RlimitStats
}

export interface RlimitStats {
  time: string
  maxpid?: number
  curproc?: number
}

export interface RuntimeStats {
  /** Where images live (imagefs). */
  imageFs?: FsStats
  /** Where containers' writable layers live; the same filesystem as imageFs unless split. */
  containerFs?: FsStats
}

export interface PodReference {
  name: string
  namespace: string
  uid: string
}

export interface PodStats {
  podRef: PodReference
  startTime: string
  containers: ContainerStats[]
  cpu?: CPUStats
  memory?: MemoryStats
  network?: NetworkStats
  volume?: VolumeStats[]
  'ephemeral-storage'?: FsStats
  process_stats?: ProcessStats
}

export interface ProcessStats {
  process_count?: number
}

export interface ContainerStats {
  name: string
  startTime: string
  cpu?: CPUStats
  memory?: MemoryStats
  /** The container's writable layer. */
  rootfs?: FsStats
  logs?: FsStats
}

export interface CPUStats {
  time: string
  /** Average usage over the last sampling interval, in billionths of a core. */
  usageNanoCores?: number
  /** Cumulative usage since the container (or node) started, in core-nanoseconds. */
  usageCoreNanoSeconds?: number
}

export interface MemoryStats {
  time: string
  availableBytes?: number
  usageBytes?: number
  /** What the OOM killer and eviction look at: usage minus inactive file pages. */
  workingSetBytes?: number
  rssBytes?: number
  pageFaults?: number
  majorPageFaults?: number
}

export interface InterfaceStats {
  name: string
  rxBytes?: number
  rxErrors?: number
  txBytes?: number
  txErrors?: number
}

/** The default interface's figures inline, and every interface. */
export interface NetworkStats extends InterfaceStats {
  time: string
  interfaces?: InterfaceStats[]
}

export interface FsStats {
  time: string
  availableBytes?: number
  capacityBytes?: number
  usedBytes?: number
  inodesFree?: number
  inodes?: number
  inodesUsed?: number
}

export interface VolumeStats extends FsStats {
  name: string
  pvcRef?: { name: string; namespace: string }
}
