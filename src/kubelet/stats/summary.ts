/**
 * The Summary API's figures (GET /stats/summary) from the container runtime, as upstream's CRI
 * stats provider gathers them when the runtime reports pod and container stats itself: one
 * ListPodSandboxStats (each ready sandbox with its running containers' CPU, memory and writable
 * layer), ListPodSandbox and ListContainers for names and start times, ImageFsInfo for the image
 * filesystem.
 *
 * The node's own figures come from what runs on it (there is no cAdvisor here): its CPU counter is
 * the growth of every container's counter added up (CumulativeCounter, so it never goes back when
 * a container exits), its memory the pods' working sets; capacity comes from the machine.
 *
 * CPU rates (usageNanoCores) are computed from the cumulative counters between two calls, per
 * container, pod and node (CpuUsageTracker), as cAdvisor does.
 */
import type { Clock } from '../../base/clock.ts'
import type * as cri from '../runtime/runtime.ts'
import type { ContainerRuntime } from '../runtime/runtime.ts'
import { CpuUsageTracker, CumulativeCounter } from './cpu-usage.ts'
import type {
  ContainerStats,
  CPUStats,
  FsStats,
  MemoryStats,
  NetworkStats,
  PodStats,
  Summary,
} from './types.ts'

export interface StatsProviderOptions {
  nodeName: string
  runtime: ContainerRuntime
  /** The node's capacity, from its MachineInfo. */
  machine: { memoryBytes: number; ephemeralStorageBytes: number }
  clock: Clock
}

/** What the Summary API and the resource metrics read; one per kubelet. */
export class StatsProvider {
  readonly #o: StatsProviderOptions
  readonly #startTime: string
  readonly #rates = new CpuUsageTracker()
  readonly #nodeCpu = new CumulativeCounter()

  constructor(o: StatsProviderOptions) {
    this.#o = o
    this.#startTime = statsTime(o.clock.now())
  }

  /** The node and every pod with a ready sandbox, with their running containers. */
  async summary(signal?: AbortSignal): Promise<Summary> {
    const rt = this.#o.runtime
    const options = signal ? { signal } : {}
    const [sandboxes, containers, stats, imageFs] = await Promise.all([
      rt.listPodSandbox({ filter: { state: { state: 'SANDBOX_READY' } } }, options),
      rt.listContainers({}, options),
      rt.listPodSandboxStats({}, options),
      rt.imageFsInfo({}, options),
    ])
    const nowMs = this.#o.clock.now()
    return summarize({
      nodeName: this.#o.nodeName,
      nodeStartTime: this.#startTime,
      machine: this.#o.machine,
      nowMs,
      sandboxes: sandboxes.items,
      containers: containers.containers,
      stats: stats.stats,
      imageFs,
      rates: this.#rates,
      nodeCpu: this.#nodeCpu,
    })
  }
}

export interface SummarizeInput {
  nodeName: string
  nodeStartTime: string
  machine: { memoryBytes: number; ephemeralStorageBytes: number }
  nowMs: number
  sandboxes: readonly cri.PodSandbox[]
  containers: readonly cri.Container[]
  stats: readonly cri.PodSandboxStats[]
  imageFs: cri.ImageFsInfoResponse
  rates: CpuUsageTracker
  nodeCpu: CumulativeCounter
}

/** The Summary from one round of runtime answers (pure apart from the trackers it updates). */
export function summarize(input: SummarizeInput): Summary {
  const sandboxById = new Map(input.sandboxes.map((s) => [s.id, s]))
  const containerById = new Map(input.containers.map((c) => [c.id, c]))
  input.rates.beginRound()
  // A pod may have several ready sandboxes for a moment (one being replaced): the newest counts.
  const newest = new Map<string, { sandbox: cri.PodSandbox; stats: cri.PodSandboxStats }>()
  for (const s of input.stats) {
    const sandbox = sandboxById.get(s.attributes?.id ?? '')
    const uid = sandbox?.metadata?.uid
    if (!sandbox || !uid) continue
    const seen = newest.get(uid)
    if (!seen || seen.sandbox.createdAt < sandbox.createdAt) newest.set(uid, { sandbox, stats: s })
  }
  const pods: PodStats[] = []
  const counters = new Map<string, number>()
  // When the counters were read: the node's sample carries that time, so its rate has no skew.
  let countersReadNs = 0
  let memory = 0
  let rootfsUsed = 0
  let haveMemory = false
  for (const [uid, { sandbox, stats }] of newest) {
    const linux = stats.linux
    const containers: ContainerStats[] = []
    for (const cs of linux?.containers ?? []) {
      const id = cs.attributes?.id ?? ''
      const c = containerById.get(id)
      const name = cs.attributes?.metadata?.name ?? c?.metadata?.name ?? ''
      const out: ContainerStats = { name, startTime: statsTime(nsToMs(c?.createdAt ?? sandbox.createdAt)) }
      const cpu = cpuStats(input.rates, `container/${id}`, cs.cpu)
      if (cpu) out.cpu = cpu
      const mem = memoryStats(cs.memory)
      if (mem) out.memory = mem
      if (cs.writableLayer) {
        out.rootfs = fsStats(cs.writableLayer, input.machine.ephemeralStorageBytes)
        rootfsUsed += cs.writableLayer.usedBytes?.value ?? 0
      }
      if (cs.cpu?.usageCoreNanoSeconds) {
        counters.set(id, cs.cpu.usageCoreNanoSeconds.value)
        countersReadNs = Math.max(countersReadNs, cs.cpu.timestamp)
      }
      containers.push(out)
    }
    const pod: PodStats = {
      podRef: {
        name: sandbox.metadata?.name ?? '',
        namespace: sandbox.metadata?.namespace ?? '',
        uid,
      },
      startTime: statsTime(nsToMs(sandbox.createdAt)),
      containers,
    }
    const cpu = cpuStats(input.rates, `pod/${uid}`, linux?.cpu)
    if (cpu) pod.cpu = cpu
    const mem = memoryStats(linux?.memory)
    if (mem) {
      pod.memory = mem
      memory += mem.workingSetBytes ?? 0
      haveMemory = true
    }
    const network = networkStats(linux?.network)
    if (network) pod.network = network
    const used = containers.reduce((n, c) => n + (c.rootfs?.usedBytes ?? 0), 0)
    pod['ephemeral-storage'] = {
      time: statsTime(input.nowMs),
      usedBytes: used,
      inodesUsed: containers.reduce((n, c) => n + (c.rootfs?.inodesUsed ?? 0), 0),
    }
    const processes = linux?.process?.processCount?.value
    if (processes !== undefined) pod.process_stats = { process_count: processes }
    pods.push(pod)
  }

  const now = statsTime(input.nowMs)
  const nodeCpuTotal = input.nodeCpu.update(counters)
  const cpuReadNs = countersReadNs > 0 ? countersReadNs : input.nowMs * 1e6
  const nodeCpu: CPUStats = { time: statsTime(nsToMs(cpuReadNs)), usageCoreNanoSeconds: nodeCpuTotal }
  const nodeRate = input.rates.observe('node', { timestampNs: cpuReadNs, usageCoreNanoSeconds: nodeCpuTotal })
  if (nodeRate !== undefined) nodeCpu.usageNanoCores = nodeRate
  input.rates.prune()

  const imageFsUsed = input.imageFs.imageFilesystems.reduce((n, f) => n + (f.usedBytes?.value ?? 0), 0)
  const imageInodes = input.imageFs.imageFilesystems.reduce((n, f) => n + (f.inodesUsed?.value ?? 0), 0)
  const capacity = input.machine.ephemeralStorageBytes
  const imageFs: FsStats = {
    time: now,
    capacityBytes: capacity,
    usedBytes: imageFsUsed,
    availableBytes: Math.max(0, capacity - imageFsUsed - rootfsUsed),
    inodesUsed: imageInodes,
  }
  const nodeMemory: MemoryStats = {
    time: now,
    availableBytes: Math.max(0, input.machine.memoryBytes - memory),
    usageBytes: memory,
    workingSetBytes: memory,
    rssBytes: memory,
    pageFaults: 0,
    majorPageFaults: 0,
  }
  const nodeNetwork = sumNetworks(
    now,
    pods.map((p) => p.network),
  )
  return {
    node: {
      nodeName: input.nodeName,
      startTime: input.nodeStartTime,
      cpu: nodeCpu,
      ...(haveMemory || pods.length === 0 ? { memory: nodeMemory } : {}),
      network: nodeNetwork,
      fs: {
        time: now,
        capacityBytes: capacity,
        usedBytes: imageFsUsed + rootfsUsed,
        availableBytes: Math.max(0, capacity - imageFsUsed - rootfsUsed),
      },
      runtime: { imageFs, containerFs: imageFs },
    },
    pods,
  }
}

function cpuStats(rates: CpuUsageTracker, key: string, cpu: cri.CpuUsage | undefined): CPUStats | undefined {
  if (!cpu) return undefined
  const out: CPUStats = { time: statsTime(nsToMs(cpu.timestamp)) }
  const total = cpu.usageCoreNanoSeconds?.value
  if (total !== undefined) {
    out.usageCoreNanoSeconds = total
    const rate = rates.observe(
      key,
      { timestampNs: cpu.timestamp, usageCoreNanoSeconds: total },
      cpu.usageNanoCores?.value,
    )
    if (rate !== undefined) out.usageNanoCores = rate
  } else if (cpu.usageNanoCores) {
    out.usageNanoCores = cpu.usageNanoCores.value
  }
  return out
}

function memoryStats(m: cri.MemoryUsage | undefined): MemoryStats | undefined {
  if (!m) return undefined
  const out: MemoryStats = { time: statsTime(nsToMs(m.timestamp)) }
  // An unlimited container has no available bytes: left out, as upstream does.
  if (m.availableBytes && m.availableBytes.value > 0) out.availableBytes = m.availableBytes.value
  if (m.usageBytes) out.usageBytes = m.usageBytes.value
  if (m.workingSetBytes) out.workingSetBytes = m.workingSetBytes.value
  if (m.rssBytes) out.rssBytes = m.rssBytes.value
  if (m.pageFaults) out.pageFaults = m.pageFaults.value
  if (m.majorPageFaults) out.majorPageFaults = m.majorPageFaults.value
  return out
}

function fsStats(f: cri.FilesystemUsage, capacityBytes: number): FsStats {
  const used = f.usedBytes?.value ?? 0
  return {
    time: statsTime(nsToMs(f.timestamp)),
    capacityBytes,
    availableBytes: Math.max(0, capacityBytes - used),
    usedBytes: used,
    ...(f.inodesUsed ? { inodesUsed: f.inodesUsed.value } : {}),
  }
}

function networkStats(n: cri.NetworkUsage | undefined): NetworkStats | undefined {
  if (!n) return undefined
  const iface = (i: cri.NetworkInterfaceUsage) => ({
    name: i.name,
    rxBytes: i.rxBytes?.value ?? 0,
    rxErrors: i.rxErrors?.value ?? 0,
    txBytes: i.txBytes?.value ?? 0,
    txErrors: i.txErrors?.value ?? 0,
  })
  const d = n.defaultInterface
  return {
    time: statsTime(nsToMs(n.timestamp)),
    ...(d ? iface(d) : { name: '' }),
    interfaces: n.interfaces.map(iface),
  }
}

/** The node's traffic as what its pods send and receive, on one interface named eth0. */
function sumNetworks(time: string, networks: readonly (NetworkStats | undefined)[]): NetworkStats {
  const total = { name: 'eth0', rxBytes: 0, rxErrors: 0, txBytes: 0, txErrors: 0 }
  for (const n of networks) {
    total.rxBytes += n?.rxBytes ?? 0
    total.rxErrors += n?.rxErrors ?? 0
    total.txBytes += n?.txBytes ?? 0
    total.txErrors += n?.txErrors ?? 0
  }
  return { time, ...total, interfaces: [{ ...total }] }
}

function nsToMs(ns: number): number {
  return Math.floor(ns / 1e6)
}

/**
 * A stats time: RFC 3339 in UTC with milliseconds, so the resource metrics keep the precision of
 * the samples (their rates depend on it). metav1.Time on the wire has whole seconds; the Summary
 * API's JSON is written with summaryJson(), which cuts them there.
 */
export function statsTime(ms: number): string {
  return new Date(ms).toISOString()
}

/** The Summary as the kubelet's JSON: times in whole seconds, as metav1.Time marshals them. */
export function summaryJson(summary: Summary): string {
  return JSON.stringify(summary, (key, value: unknown) =>
    (key === 'time' || key === 'startTime') && typeof value === 'string'
      ? value.replace(/\.\d+Z$/, 'Z')
      : value,
  )
}
