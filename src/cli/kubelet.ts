/**
 * `k8ts kubelet` (one node agent) and `k8ts sim` (many simulated ones in this process), both on
 * the fake runtime for now: the containerd runtime comes with its own issue.
 */
import { InvalidArgumentError } from 'commander'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { readFileSync } from 'node:fs'
import type { Node, Service, Taint } from '../api/generated/types/core-v1.ts'
import { isDNS1123Subdomain } from '../api/validation/names.ts'
import { realClock } from '../base/clock.ts'
import { createLogger, type Logger } from '../base/log.ts'
import {
  builtin,
  Informer,
  loadKubeconfig,
  ResourceClient,
  RestClient,
  withoutManagedFields,
  type ClientConfig,
} from '../client/index.ts'
import {
  KubeletPodManager,
  NodePodDemux,
  startKubelet,
  type KubeletOptions,
  type KubeletPodOptions,
  type KubeletServerConfig,
  type MachineInfo,
  type RunningKubelet,
} from '../kubelet/index.ts'
import { defaultResolvConf, parseResolvConf, type DNSConfig } from '../kubelet/pod/dns-config.ts'
import { fakeOutputReader } from '../kubelet/pod/termination-message.ts'
import { FakeRuntime } from '../kubelet/runtime/fake/fake-runtime.ts'
import { untilAborted } from './signals.ts'

export interface KubeletCommandOptions {
  kubeconfig: string
  runtime: string
  hostnameOverride?: string
  nodeIp?: string
  nodeLabels: Record<string, string>
  registerWithTaints: Taint[]
  maxPods: number
  /** Images the fake runtime cannot pull (ErrImagePull). */
  fakeMissingImages: string[]
  /** The kubelet API's --port (0: a free one) and --address. */
  port: number
  address: string
  /** --client-ca-file (default: the CA of the kubeconfig, the cluster's). */
  clientCaFile?: string
  /** --cluster-dns, --cluster-domain and --resolv-conf: the pods' DNS (see DNSFlags). */
  clusterDns: string[]
  clusterDomain: string
  resolvConf: string
  /** --pod-manifest-path: static pods, with mirror pods in the API. */
  podManifestPath?: string
}

/** The kubelet's DNS flags, as the CLI parsed them. */
export interface DNSFlags {
  /** --cluster-dns: the cluster DNS service IPs; none: ClusterFirst pods fall back to Default. */
  clusterDns: string[]
  /** --cluster-domain; '' leaves the cluster search domains out. */
  clusterDomain: string
  /** --resolv-conf: the host's resolver file; '' for none (loopback). */
  resolvConf: string
}

export const defaultClusterDomain = 'cluster.local'
export { defaultResolvConf }

/**
 * The pods' DNS for these flags, with the host's resolv.conf read now (once for however many
 * kubelets share it). A file that cannot be read fails the start when it was asked for by name;
 * the default one missing (a host with no resolver) only leaves the host's part empty, as
 * upstream's kubelet goes on with an event.
 */
export function podDNS(
  flags: DNSFlags,
  o: { explicitResolvConf: boolean; log: Logger; readFile?: (path: string) => string },
): NonNullable<KubeletPodOptions['dns']> {
  const read = o.readFile ?? ((p: string) => readFileSync(p, 'utf8'))
  let host: DNSConfig = { servers: [], searches: [], options: [] }
  if (flags.resolvConf !== '') {
    try {
      host = parseResolvConf(read(flags.resolvConf))
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      if (o.explicitResolvConf) throw new Error(`--resolv-conf ${flags.resolvConf}: cannot read it (${why})`)
      o.log.warn(
        { resolvConf: flags.resolvConf, err: why },
        'no host resolv.conf: pods get no host nameservers',
      )
    }
  }
  return {
    clusterDNS: flags.clusterDns,
    clusterDomain: flags.clusterDomain,
    resolvConf: flags.resolvConf,
    host,
  }
}

export const runtimes = ['fake'] as const

/** The node's name: --hostname-override, or this host's name, lower-cased as the kubelet does. */
export function nodeNameOf(hostnameOverride: string | undefined): string {
  return (hostnameOverride || hostname()).toLowerCase()
}

/** The kubelet's flags that say what its runtime is; only the fake one exists yet. */
export function checkRuntime(runtime: string): void {
  if (!(runtimes as readonly string[]).includes(runtime))
    throw new Error(
      `--runtime ${runtime} is not available: the runtimes built so far are ${runtimes.join(', ')}`,
    )
}

/** One kubelet on the fake runtime, as `nodeName`. */
export function startFakeKubelet(o: {
  client: ClientConfig | RestClient
  heartbeatClient?: RestClient
  eventClient?: RestClient
  nodeName: string
  machine?: Partial<MachineInfo>
  nodeLabels?: Readonly<Record<string, string>>
  registerWithTaints?: readonly Taint[]
  maxPods?: number
  missingImages?: readonly string[]
  podSource?: NodePodDemux
  nodeCache?: KubeletOptions['nodeCache']
  /** Simulated nodes keep no call log. */
  simulated?: boolean
  /** The kubelet's HTTPS API (stats and metrics for kubectl top); not served without it. */
  server?: KubeletServerConfig
  /** The pods' DNS (podDNS); none: sandboxes get no DNS config. */
  dns?: KubeletPodOptions['dns']
  podManifestPath?: string
  /** All services, watched once for many simulated kubelets; none: the kubelet watches them itself. */
  services?: Informer<Service>
  log: Logger
}): RunningKubelet {
  const runtime = new FakeRuntime({
    ...(o.missingImages ? { missingImages: o.missingImages } : {}),
    recordCalls: !o.simulated,
  })
  return startKubelet({
    client: o.client,
    ...(o.heartbeatClient ? { heartbeatClient: o.heartbeatClient } : {}),
    ...(o.eventClient ? { eventClient: o.eventClient } : {}),
    nodeName: o.nodeName,
    runtime,
    // Probes reach the fake's pretend pods through its own network, never a socket; termination
    // messages come from its containers' files and output.
    podManager: new KubeletPodManager({
      network: runtime.network,
      containerOutput: fakeOutputReader(runtime),
      ...(o.dns ? { dns: o.dns } : {}),
      ...(o.podManifestPath !== undefined ? { podManifestPath: o.podManifestPath } : {}),
      ...(o.services ? { services: o.services } : {}),
    }),
    ...(o.podSource ? { podSource: o.podSource.forNode(o.nodeName) } : {}),
    ...(o.nodeCache ? { nodeCache: o.nodeCache } : {}),
    ...(o.machine ? { machine: o.machine } : {}),
    ...(o.nodeLabels ? { nodeLabels: o.nodeLabels } : {}),
    ...(o.registerWithTaints ? { registerWithTaints: o.registerWithTaints } : {}),
    ...(o.maxPods !== undefined ? { maxPods: o.maxPods } : {}),
    ...(o.server ? { server: o.server } : {}),
    clock: realClock,
    log: o.log,
  })
}

/** `k8ts kubelet`: one node agent until SIGINT or SIGTERM. */
export async function kubelet(
  o: KubeletCommandOptions & { explicit?: ReadonlySet<string> },
  signal: AbortSignal,
): Promise<void> {
  checkRuntime(o.runtime)
  const log = createLogger()
  const dns = podDNS(o, { explicitResolvConf: o.explicit?.has('resolvConf') ?? false, log })
  const client = loadKubeconfig(o.kubeconfig)
  const clientCA = o.clientCaFile ? readFileSync(o.clientCaFile, 'utf8') : client.ca
  if (!clientCA) throw new Error('--client-ca-file is required when the kubeconfig names no CA')
  const running = startFakeKubelet({
    client,
    server: { port: o.port, address: o.address, clientCA },
    nodeName: nodeNameOf(o.hostnameOverride),
    ...(o.nodeIp ? { machine: { internalIP: o.nodeIp } } : {}),
    nodeLabels: o.nodeLabels,
    registerWithTaints: o.registerWithTaints,
    maxPods: o.maxPods,
    missingImages: o.fakeMissingImages,
    dns,
    ...(o.podManifestPath !== undefined ? { podManifestPath: o.podManifestPath } : {}),
    log,
  })
  process.stderr.write(`k8ts: kubelet ${running.nodeName} running on the ${o.runtime} runtime\n`)
  await untilAborted(signal)
  await running.stop()
}

export interface SimCommandOptions {
  kubeconfig: string
  nodes: number
  namePrefix: string
  maxPods: number
  /** --cluster-dns and --cluster-domain of every simulated node. */
  clusterDns: string[]
  clusterDomain: string
}

/** What a simulated node reports about its machine (kwok's defaults: 32 CPUs, 256 GiB). */
export function simulatedMachine(index: number): Partial<MachineInfo> {
  return {
    cpus: 32,
    memoryBytes: 256 * 2 ** 30,
    ephemeralStorageBytes: 1024 * 2 ** 30,
    hugePageSizes: [],
    // Loopback addresses, one per node: whatever reaches for a node reaches this machine.
    internalIP: loopbackAddress(index),
  }
}

/** 127.1.0.1, 127.1.0.2, ...: the index-th address of 127.1.0.0/16 and up, never .0 or .255. */
export function loopbackAddress(index: number): string {
  const n = Math.floor(index / 254) * 256 + (index % 254) + 1
  return `127.${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`
}

export interface Simulation {
  readonly kubelets: readonly RunningKubelet[]
  stop(): Promise<void>
}

/**
 * Connections of the simulated kubelets' shared heartbeat client, and as many for their events:
 * one per 40 nodes (5,000 nodes renew 500 Leases a second, and a busy apiserver answers each in
 * tens of milliseconds). Each real kubelet writes its events at once on a client of its own (50
 * a second at most); behind 8 shared connections, 5,000 nodes' events waited: 60,000 of them were
 * still queued when the pods of bench sim were all running.
 */
const heartbeatConnections = (nodes: number) => Math.min(128, Math.max(4, Math.ceil(nodes / 40)))
const eventConnections = heartbeatConnections

/**
 * N kubelets on fake runtimes in this process: one client (and one each for heartbeats and
 * events) and one pod watch shared by all, each with its own Node, Lease, status and pod workers.
 */
export function startSimulation(o: {
  client: ClientConfig
  nodes: number
  namePrefix: string
  maxPods?: number
  /** The pods' DNS, the same for every node (the host file read once). */
  dns?: KubeletPodOptions['dns']
  log: Logger
}): Simulation {
  const clientWith = (maxConnections?: number) =>
    new RestClient(
      { userAgent: 'k8ts-sim', ...o.client, ...(maxConnections !== undefined ? { maxConnections } : {}) },
      { clock: realClock },
    )
  const rest = clientWith()
  // Leases and node status, and events, on connections of their own, as each kubelet's heartbeat
  // and event clients: with thousands of nodes behind one pool, a renewal queued behind the pods'
  // writes came later than the node monitor's grace period (the node went Unknown), and the pods'
  // status waited behind the nodes' registration events.
  const heartbeat = clientWith(heartbeatConnections(o.nodes))
  const eventClient = clientWith(eventConnections(o.nodes))
  const abort = new AbortController()
  const pods = new NodePodDemux({ rest, clock: realClock, log: o.log })
  // One watch of the nodes too: each status round reads its Node there instead of a GET. (Without
  // managedFields, half of a Node: the status rounds patch the status and never write a Node whole.)
  const nodeWatch = new Informer<Node>(new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes')), {
    transform: withoutManagedFields,
    clock: realClock,
    log: o.log,
  })
  // And one of the services, for the containers' service links.
  const services = new Informer<Service>(new ResourceClient<Service>(rest, builtin('', 'v1', 'services')), {
    clock: realClock,
    log: o.log,
  })
  const watching = Promise.all([
    pods.run(abort.signal),
    nodeWatch.run(abort.signal),
    services.run(abort.signal),
  ])
  const kubelets: RunningKubelet[] = []
  for (let i = 0; i < o.nodes; i++) {
    kubelets.push(
      startFakeKubelet({
        client: rest,
        heartbeatClient: heartbeat,
        eventClient,
        nodeName: `${o.namePrefix}${i}`,
        machine: simulatedMachine(i),
        nodeLabels: { type: 'kwok' },
        ...(o.maxPods !== undefined ? { maxPods: o.maxPods } : {}),
        podSource: pods,
        nodeCache: nodeWatch.lister,
        services,
        ...(o.dns ? { dns: o.dns } : {}),
        simulated: true,
        log: o.log,
      }),
    )
  }
  return {
    kubelets,
    async stop() {
      await Promise.all(kubelets.map((k) => k.stop()))
      abort.abort()
      await watching.catch(() => {})
      await Promise.all([rest, heartbeat, eventClient].map((c) => c.close()))
    },
  }
}

/** `k8ts sim`: N simulated nodes until SIGINT or SIGTERM. */
export async function sim(o: SimCommandOptions, signal: AbortSignal): Promise<void> {
  const log = createLogger()
  const simulation = startSimulation({
    client: loadKubeconfig(o.kubeconfig),
    nodes: o.nodes,
    namePrefix: o.namePrefix,
    maxPods: o.maxPods,
    dns: podDNS(
      { clusterDns: o.clusterDns, clusterDomain: o.clusterDomain, resolvConf: defaultResolvConf },
      { explicitResolvConf: false, log },
    ),
    log,
  })
  process.stderr.write(`k8ts: ${o.nodes} simulated nodes (${o.namePrefix}0...) running\n`)
  await untilAborted(signal)
  await simulation.stop()
}

/** --cluster-dns: IP addresses, comma-separated. */
export function parseClusterDNS(v: string): string[] {
  const ips = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  for (const ip of ips) {
    if (isIP(ip) === 0) throw new InvalidArgumentError(`${ip} is not an IP address`)
  }
  return ips
}

/** --cluster-domain: a DNS subdomain (a trailing dot is dropped), or '' for none. */
export function parseClusterDomain(v: string): string {
  const domain = v.trim().replace(/\.$/, '')
  if (domain === '') return ''
  const errors = isDNS1123Subdomain(domain)
  if (errors.length > 0) throw new InvalidArgumentError(`${domain} is not a DNS domain: ${errors.join('; ')}`)
  return domain
}

/**
 * The cluster DNS IP kubeadm gives a cluster: the 10th address of the (first) Service range, so
 * 10.96.0.10 for 10.96.0.0/12.
 */
export function clusterDNSOf(serviceClusterIpRange: string): string {
  const cidr = serviceClusterIpRange.split(',')[0]?.trim() ?? ''
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr)
  const octets = m ? [m[1], m[2], m[3], m[4]].map(Number) : []
  const bits = Number(m?.[5])
  if (!m || octets.some((n) => n > 255) || bits > 28)
    throw new Error(`--service-cluster-ip-range ${cidr}: not an IPv4 CIDR with room for a cluster DNS IP`)
  const size = 2 ** (32 - bits)
  const address = octets.reduce((a, n) => a * 256 + n, 0)
  const dns = address - (address % size) + 10
  return [dns >>> 24, (dns >>> 16) & 255, (dns >>> 8) & 255, dns & 255].join('.')
}

/** --register-with-taints: key=value:Effect or key:Effect, comma-separated. */
export function parseTaints(v: string): Taint[] {
  const effects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute']
  return v
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => {
      const m = /^([^=:]+)(?:=([^:]*))?:(.+)$/.exec(s.trim())
      if (!m || !effects.includes(m[3] ?? ''))
        throw new InvalidArgumentError(
          `invalid taint spec: ${s.trim()} (want key=value:Effect, Effect one of ${effects.join(', ')})`,
        )
      return { key: m[1] ?? '', ...(m[2] ? { value: m[2] } : {}), effect: m[3] ?? '' }
    })
}

/** --node-labels: key=value, comma-separated. */
export function parseLabels(v: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const s of v.split(',')) {
    if (s.trim() === '') continue
    const eq = s.indexOf('=')
    if (eq <= 0) throw new InvalidArgumentError(`invalid label ${s.trim()}: want key=value`)
    out[s.slice(0, eq).trim()] = s.slice(eq + 1).trim()
  }
  return out
}
