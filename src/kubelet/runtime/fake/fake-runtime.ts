/**
 * FakeRuntime: a container runtime in memory, behind the same RuntimeService and ImageService as
 * containerd, for unit tests and for simulated nodes (k8ts sim, k8ts up --runtime fake). It answers
 * as containerd's CRI plugin does (states, timestamps, reasons, error codes and messages) but runs
 * nothing: what a container does comes from its command, read by a tiny interpreter (./program.ts:
 * `false` exits 1, `sleep 5` exits 0 after five seconds, unknown programs run until stopped), and
 * from rules per image, command or name that a test or the simulator sets (start failure, exit
 * code, OOM kill, CPU and memory use, exec answers).
 *
 * Time comes from the injected clock. Nothing runs in the background: a container's exit is
 * written down when it is started (one entry in a due-queue) and takes effect at the first call
 * made at or after that time, with the timestamps it would have had. A hundred thousand sleeping
 * containers therefore cost memory only, and with a FakeClock a test moves time and asks.
 *
 * For tests: every call is recorded (calls(), unless recordCalls is false), failNext queues an error
 * for the next call to a method, setCondition changes what status() says, setImageMissing makes a
 * registry lose or gain an image.
 *
 * The pod network is pretend too: pod IPs are not reachable, and nothing may ever connect to one
 * (the packets would leave the machine). `network` answers the kubelet's probes and hooks instead
 * (a ProbeNetwork, ../../prober/network.ts), from what the containers do:
 * - a connection to a pod IP and port reaches the sandbox's running container that declares that
 *   containerPort (TCP), once it listens (at once, or `listenAfterMs` after its start by a rule);
 *   otherwise it is refused (`connect: connection refused`), and an address no ready sandbox has
 *   is unreachable (`connect: no route to host`). A host-network pod's containers answer on any
 *   address that is no pod's;
 * - an HTTP GET of path P answers 200 `ok`, unless P is a file the container's program or an exec
 *   writes or removes (`touch /tmp/healthy; sleep 30; rm -f /tmp/healthy`): then it answers 200
 *   with the file's content while the file exists and 404 when it does not. So httpGet probes on
 *   such a path follow the file, as exec probes running `cat` on it do;
 * - a grpc.health.v1 Health/Check answers SERVING.
 */
import { createHash, randomBytes } from 'node:crypto'
import { realClock, type Clock } from '../../../base/clock.ts'
import {
  joinHostPort,
  type DialRequest,
  type GrpcHealthResult,
  type HttpRequest,
  type HttpResponse,
  type ProbeNetwork,
} from '../../prober/network.ts'
import { CriError } from '../errors.ts'
import { normalizeImageReference, parseImageReference, repositoryName } from '../image-reference.ts'
import {
  networkReady,
  runtimeReady,
  type CallOptions,
  type ContainerRuntime,
  type Proto3Partial,
} from '../runtime.ts'
import type * as cri from '../runtime.ts'
import { DueQueue } from './due-queue.ts'
import { IpPool } from './ip-pool.ts'
import { runProcess, type FileChange, type OutputWrite } from './program.ts'

export interface FakeRuntimeOptions {
  clock?: Clock
  /** Pod IPs come from here, as CNI's host-local gives them. Default 10.88.0.0/16, containerd's default network. */
  podCIDR?: string
  /** VersionResponse.runtimeName; the kubelet writes container IDs as `<runtimeName>://<id>`. Default 'fake'. */
  runtimeName?: string
  runtimeVersion?: string
  /** Images present from the start, as if pulled before. */
  images?: readonly string[]
  /** Images no registry has: pulling them fails with NotFound, as containerd reports it. */
  missingImages?: readonly string[]
  /** The images' own entrypoint and cmd (used when a container gives no command), and sizes. */
  imageConfigs?: Readonly<Record<string, FakeImageConfig>>
  /** How long a pull takes on the clock. Default 0. */
  pullDelayMs?: number
  /** What containers do, beyond what their command says. See FakeContainerRule. */
  rules?: readonly FakeContainerRule[]
  /** CPU and memory a container uses when no rule says. Default 1m CPU and 8 MiB. */
  defaultUsage?: { cpuNanoCores: number; memoryWorkingSetBytes: number }
  /** Where exec, attach and port-forward URLs point. Default http://127.0.0.1:10010. */
  streamingURL?: string
  /** Keep a log of calls for calls(). Default true; simulated nodes turn it off. */
  recordCalls?: boolean
}

/** One write to a fake container's log, at its time in ms since the epoch (FakeRuntime.containerLog). */
export interface FakeLogWrite {
  atMs: number
  stream: 'stdout' | 'stderr'
  text: string
}

export interface FakeImageConfig {
  entrypoint?: readonly string[]
  cmd?: readonly string[]
  sizeBytes?: number
}

/**
 * Applies `behaviour` to the containers it matches: every criterion given must hold (none given:
 * every container). When several rules match, each field comes from the first rule that sets it,
 * and their exec answers are tried in rule order.
 */
export interface FakeContainerRule {
  /** The image as given or normalised: 'nginx' matches docker.io/library/nginx:latest. */
  image?: string
  /** The container's command line (command, then args) starts with these words. */
  command?: readonly string[]
  /** The container's name (metadata.name). */
  name?: string
  behaviour: FakeContainerBehaviour
}

export interface FakeContainerBehaviour {
  /**
   * startContainer fails with this message; the container is then exited with code 128 and reason
   * StartError, as containerd leaves it (e.g. `failed to create containerd task: ... executable file not found in $PATH`).
   */
  startError?: string
  /** How the process ends on its own, instead of what its command would do. */
  exit?: { afterMs: number; exitCode?: number; oomKilled?: boolean }
  /** Time from the stop signal to its exit; Infinity ignores the signal until the kill. Default 0. */
  stopDelayMs?: number
  /**
   * Exit code when the stop signal ends it (137 when it has to be killed). Default 143: killed by
   * SIGTERM, as a process that does not handle it ends.
   */
  stopExitCode?: number
  cpuNanoCores?: number
  /** Over the container's memory limit, the container is OOM-killed as soon as it starts. */
  memoryWorkingSetBytes?: number
  /** Answers to execSync, by exact command line, before the interpreter is asked. */
  exec?: readonly FakeExecAnswer[]
  /** Time from the start until it accepts connections on its declared ports; Infinity: never. Default 0. */
  listenAfterMs?: number
}

export interface FakeExecAnswer {
  command: readonly string[]
  exitCode?: number
  stdout?: string
  stderr?: string
  /** How long it takes on the clock (beyond the timeout: DeadlineExceeded). Default 0. */
  durationMs?: number
}

export type FakeRuntimeMethod = keyof ContainerRuntime

export interface RecordedCall {
  method: FakeRuntimeMethod
  request: unknown
  atMs: number
}

/** An exec, attach or port-forward request that got a streaming URL (the streaming server is not faked). */
export type StreamingSession =
  | { kind: 'exec'; request: Proto3Partial<cri.ExecRequest> }
  | { kind: 'attach'; request: Proto3Partial<cri.AttachRequest> }
  | { kind: 'portforward'; request: Proto3Partial<cri.PortForwardRequest> }

interface ResolvedBehaviour {
  startError: string | undefined
  exit: { afterMs: number; exitCode: number; oomKilled: boolean } | undefined
  stopDelayMs: number
  stopExitCode: number
  cpuNanoCores: number
  memoryWorkingSetBytes: number
  exec: readonly FakeExecAnswer[]
  listenAfterMs: number
}

interface ImageRecord {
  id: string
  repoTags: string[]
  repoDigests: string[]
  size: number
}

interface SandboxRecord {
  id: string
  name: string
  metadata: cri.PodSandboxMetadata
  state: cri.PodSandboxState
  createdAt: number
  labels: Readonly<Record<string, string>>
  annotations: Readonly<Record<string, string>>
  runtimeHandler: string
  namespaceOptions: cri.NamespaceOption
  ip: string
  /** The pool the IP came from while the sandbox holds it (until stop). */
  ipPool: IpPool | undefined
  containers: Set<ContainerRecord>
  /**
   * The resolv.conf written from the sandbox's DNS config, which every container of the sandbox
   * sees as /etc/resolv.conf (containerd's sandbox file, bind-mounted); none without a DNS config.
   */
  resolvConf: string | undefined
}

interface PendingExit {
  atMs: number
  exitCode: number
  reason: string
}

interface ContainerRecord {
  id: string
  name: string
  sandbox: SandboxRecord
  metadata: cri.ContainerMetadata
  imageSpec: cri.ImageSpec
  image: ImageRecord
  labels: Readonly<Record<string, string>>
  annotations: Readonly<Record<string, string>>
  mounts: readonly cri.Mount[]
  logPath: string
  /** What the command writes to stdout and stderr in its whole run: the container's log. */
  output: string
  /** The same output write by write, each at its time after the start. */
  writes: readonly OutputWrite[]
  resources: cri.LinuxContainerResources | undefined
  user: cri.ContainerUser | undefined
  stopSignal: cri.Signal
  behaviour: ResolvedBehaviour
  /** The command's own course: exit and file changes, relative to the start. */
  plan: { exit: { afterMs: number; exitCode: number } | undefined; fileChanges: readonly FileChange[] }
  state: cri.ContainerState
  createdAt: number
  startedAt: number
  finishedAt: number
  startedAtMs: number
  finishedAtMs: number
  exitCode: number
  reason: string
  message: string
  pendingExit: PendingExit | undefined
  /** The container's files, made when the first file change or exec needs them. */
  files: Map<string, string> | undefined
  /** How many of plan.fileChanges have been applied to files. */
  fileChangesApplied: number
  /** Paths execs have written or removed (an HTTP GET of such a path follows the file). */
  touched: Set<string> | undefined
}

const defaultPodCIDR = '10.88.0.0/16'
/**
 * The kubelet's annotation with a container's ports as JSON (its runtime-config.ts writes it):
 * the ports a pretend container listens on. Spelt out here so that the runtime needs nothing of the pod side.
 */
const containerPortsAnnotation = 'io.kubernetes.container.ports'
const snapshotterMount = '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs'
const killedExitCode = 137
const startErrorExitCode = 128
const maxStreamingSessions = 1000
const noFileChanges: readonly FileChange[] = Object.freeze([])
const empty: Readonly<Record<string, string>> = Object.freeze({})
const noMounts: readonly cri.Mount[] = Object.freeze([])

export class FakeRuntime implements ContainerRuntime {
  readonly #clock: Clock
  readonly #runtimeName: string
  readonly #runtimeVersion: string
  readonly #imageConfigs = new Map<string, FakeImageConfig>()
  readonly #pullDelayMs: number
  readonly #rules: readonly FakeContainerRule[]
  readonly #defaultBehaviour: ResolvedBehaviour
  readonly #streamingURL: string
  readonly #record: boolean
  readonly #idPrefix = randomBytes(24).toString('hex')
  #idCounter = 0
  #lastStampNs = 0
  #pool: IpPool

  readonly #sandboxes = new Map<string, SandboxRecord>()
  readonly #containers = new Map<string, ContainerRecord>()
  /**
   * The unfiltered listings as last made, frozen, handed out again until a sandbox or container
   * comes, goes or changes state: the PLEG lists everything every second, on every simulated
   * node, and most of the time finds what it found before.
   */
  #listings: { sandboxes?: readonly cri.PodSandbox[]; containers?: readonly cri.Container[] } = {}
  /** Reserved names (containerd's name registrar): sandbox and container names to ids. */
  readonly #names = new Map<string, string>()
  /** Images by id and by every repo tag and digest. */
  readonly #images = new Map<string, ImageRecord>()
  readonly #missingImages = new Set<string>()
  readonly #exits = new DueQueue<{ container: ContainerRecord; exit: PendingExit }>()
  readonly #streaming = new Map<string, StreamingSession>()
  readonly #conditions = new Map<string, cri.RuntimeCondition>([
    [runtimeReady, { type: runtimeReady, status: true, reason: '', message: '' }],
    [networkReady, { type: networkReady, status: true, reason: '', message: '' }],
  ])
  readonly #calls: RecordedCall[] = []
  readonly #failures = new Map<FakeRuntimeMethod, Error[]>()

  /** Answers probes and hooks from the pretend containers; see the file comment. Never dials. */
  readonly network: ProbeNetwork = {
    httpGet: async (r) => this.#httpGet(r),
    dialTcp: async (r) => void this.#endpoint(r),
    grpcHealthCheck: async (r) => this.#grpcHealthCheck(r),
  }

  constructor(options: FakeRuntimeOptions = {}) {
    this.#clock = options.clock ?? realClock
    this.#runtimeName = options.runtimeName ?? 'fake'
    this.#runtimeVersion = options.runtimeVersion ?? '0.1.0'
    this.#pool = new IpPool(options.podCIDR ?? defaultPodCIDR)
    this.#pullDelayMs = options.pullDelayMs ?? 0
    this.#rules = options.rules ?? []
    this.#streamingURL = (options.streamingURL ?? 'http://127.0.0.1:10010').replace(/\/$/, '')
    this.#record = options.recordCalls ?? true
    this.#defaultBehaviour = Object.freeze({
      startError: undefined,
      exit: undefined,
      stopDelayMs: 0,
      stopExitCode: 143,
      cpuNanoCores: options.defaultUsage?.cpuNanoCores ?? 1_000_000,
      memoryWorkingSetBytes: options.defaultUsage?.memoryWorkingSetBytes ?? 8 * 1024 * 1024,
      exec: [],
      listenAfterMs: 0,
    })
    for (const [ref, config] of Object.entries(options.imageConfigs ?? {})) {
      this.#imageConfigs.set(normalizeImageReference(ref), config)
    }
    for (const ref of options.missingImages ?? []) this.#missingImages.add(normalizeImageReference(ref))
    for (const ref of options.images ?? []) this.#addImage(normalizeImageReference(ref))
  }

  // ---- test and simulator controls ----

  /** The calls made so far, oldest first; only those to `method` when given. */
  calls(method?: FakeRuntimeMethod): RecordedCall[] {
    return method === undefined ? [...this.#calls] : this.#calls.filter((c) => c.method === method)
  }

  clearCalls(): void {
    this.#calls.length = 0
  }

  /**
   * What a container left behind, as the kubelet reads it on a real node from the termination
   * message file it mounts and from the container's log: its files now, and its whole output
   * (the log as it will be when the command ends). NotFound once the container is removed.
   */
  containerOutput(containerId: string): { file(path: string): string | undefined; log: string } {
    const c = this.#container(containerId)
    return { file: (path) => this.#files(c).get(path), log: c.output }
  }

  /**
   * The container's log as it stands now, as the kubelet reads the CRI log file on a node: the
   * writes of its command made by this time (by its exit, once it exited), each at its time in
   * ms since the epoch, and whether it has ended (exited: nothing more will come). A container
   * that never started has written nothing. NotFound once the container is removed.
   */
  containerLog(containerId: string): { writes: FakeLogWrite[]; ended: boolean } {
    this.#settle()
    const c = this.#container(containerId)
    const ended = c.state === 'CONTAINER_EXITED'
    if (c.startedAt === 0) return { writes: [], ended }
    const untilMs = ended ? c.finishedAtMs : this.#clock.now()
    const writes: FakeLogWrite[] = []
    for (const w of c.writes) {
      const atMs = c.startedAtMs + w.afterMs
      if (atMs > untilMs) break
      writes.push({ atMs, stream: w.stream, text: w.text })
    }
    return { writes, ended }
  }

  /** The next call to `method` throws `error` (queued: several calls fail in turn). */
  failNext(method: FakeRuntimeMethod, error: Error): void {
    const queue = this.#failures.get(method) ?? []
    queue.push(error)
    this.#failures.set(method, queue)
  }

  /** What status() reports for a runtime condition (RuntimeReady, NetworkReady). */
  setCondition(condition: { type: string; status: boolean; reason?: string; message?: string }): void {
    this.#conditions.set(condition.type, {
      type: condition.type,
      status: condition.status,
      reason: condition.reason ?? '',
      message: condition.message ?? '',
    })
  }

  /** Makes pulls of `ref` fail (missing) or succeed again. */
  setImageMissing(ref: string, missing: boolean): void {
    const name = normalizeImageReference(ref)
    if (missing) this.#missingImages.add(name)
    else this.#missingImages.delete(name)
  }

  /** The request behind a streaming URL this runtime handed out. */
  streamingSession(url: string): StreamingSession | undefined {
    const token = url.slice(url.lastIndexOf('/') + 1)
    return this.#streaming.get(token)
  }

  /** How many sandboxes and containers exist (for the simulator's accounting). */
  get counts(): { sandboxes: number; containers: number; pendingExits: number } {
    return {
      sandboxes: this.#sandboxes.size,
      containers: this.#containers.size,
      pendingExits: this.#exits.size,
    }
  }

  // ---- RuntimeService ----

  async version(
    request: Proto3Partial<cri.VersionRequest>,
    options?: CallOptions,
  ): Promise<cri.VersionResponse> {
    this.#begin('version', request, options)
    // containerd answers version "0.1.0", the kubelet-facing API version it was built for.
    return {
      version: '0.1.0',
      runtimeName: this.#runtimeName,
      runtimeVersion: this.#runtimeVersion,
      runtimeApiVersion: 'v1',
    }
  }

  async status(
    request: Proto3Partial<cri.StatusRequest>,
    options?: CallOptions,
  ): Promise<cri.StatusResponse> {
    this.#begin('status', request, options)
    return {
      status: { conditions: [...this.#conditions.values()].map((c) => ({ ...c })) },
      info: {},
      runtimeHandlers: [{ name: '', features: { recursiveReadOnlyMounts: false, userNamespaces: false } }],
      features: { supplementalGroupsPolicy: false },
    }
  }

  async updateRuntimeConfig(
    request: Proto3Partial<cri.UpdateRuntimeConfigRequest>,
    options?: CallOptions,
  ): Promise<cri.UpdateRuntimeConfigResponse> {
    this.#begin('updateRuntimeConfig', request, options)
    // The kubelet sends every pod CIDR of the node, comma-separated (dual-stack): as host-local
    // with one range, the fake hands out addresses from the first (an IPv6 second is left unused).
    const cidr = (request.runtimeConfig?.networkConfig?.podCidr ?? '').split(',')[0]?.trim() ?? ''
    if (cidr === '' || cidr === this.#pool.cidr) return {}
    try {
      this.#pool = new IpPool(cidr)
    } catch (err) {
      throw new CriError('Unknown', `failed to update pod CIDR: ${(err as Error).message}`, { cause: err })
    }
    return {}
  }

  async runPodSandbox(
    request: Proto3Partial<cri.RunPodSandboxRequest>,
    options?: CallOptions,
  ): Promise<cri.RunPodSandboxResponse> {
    this.#begin('runPodSandbox', request, options)
    const config = request.config ?? {}
    if (config.metadata === undefined) {
      throw new CriError('InvalidArgument', 'sandbox config must include metadata')
    }
    const metadata = Object.freeze(podSandboxMetadata(config.metadata))
    const name = [metadata.name, metadata.namespace, metadata.uid, metadata.attempt].join('_')
    const id = this.#newId()
    this.#reserve('sandbox', name, id)
    const namespaceOptions = namespaceOption(config.linux?.securityContext?.namespaceOptions)
    let ip = ''
    let ipPool: IpPool | undefined
    // A sandbox in the node's network namespace gets no address of its own (the kubelet uses the node's).
    if (namespaceOptions.network !== 'NODE') {
      ipPool = this.#pool
      const allocated = ipPool.allocate()
      if (allocated === undefined) {
        this.#names.delete(name)
        throw new CriError(
          'Unknown',
          `failed to setup network for sandbox "${id}": plugin type="host-local" failed (add): ` +
            `failed to allocate for range 0: no IP addresses available in range set: ${ipPool.range}`,
        )
      }
      ip = allocated
    }
    this.#listings = {}
    this.#sandboxes.set(id, {
      id,
      name,
      metadata,
      state: 'SANDBOX_READY',
      createdAt: this.#stamp(),
      labels: stringMap(config.labels),
      annotations: stringMap(config.annotations),
      runtimeHandler: request.runtimeHandler ?? '',
      namespaceOptions,
      ip,
      ipPool,
      containers: new Set(),
      resolvConf: resolvConfOf(config.dnsConfig),
    })
    return { podSandboxId: id }
  }

  async stopPodSandbox(
    request: Proto3Partial<cri.StopPodSandboxRequest>,
    options?: CallOptions,
  ): Promise<cri.StopPodSandboxResponse> {
    this.#begin('stopPodSandbox', request, options)
    // Idempotent, as CRI asks: a sandbox that is gone has nothing left to reclaim.
    const sandbox = this.#sandboxes.get(request.podSandboxId ?? '')
    if (sandbox !== undefined) this.#stopSandbox(sandbox)
    return {}
  }

  async removePodSandbox(
    request: Proto3Partial<cri.RemovePodSandboxRequest>,
    options?: CallOptions,
  ): Promise<cri.RemovePodSandboxResponse> {
    this.#begin('removePodSandbox', request, options)
    const sandbox = this.#sandboxes.get(request.podSandboxId ?? '')
    if (sandbox === undefined) return {}
    this.#stopSandbox(sandbox)
    for (const c of sandbox.containers) this.#deleteContainer(c)
    this.#names.delete(sandbox.name)
    this.#sandboxes.delete(sandbox.id)
    this.#listings = {}
    return {}
  }

  async podSandboxStatus(
    request: Proto3Partial<cri.PodSandboxStatusRequest>,
    options?: CallOptions,
  ): Promise<cri.PodSandboxStatusResponse> {
    this.#begin('podSandboxStatus', request, options)
    const s = this.#sandbox(request.podSandboxId)
    return {
      status: {
        id: s.id,
        metadata: s.metadata,
        state: s.state,
        createdAt: s.createdAt,
        network: { ip: s.ip, additionalIps: [] },
        linux: { namespaces: { options: s.namespaceOptions } },
        labels: s.labels,
        annotations: s.annotations,
        runtimeHandler: s.runtimeHandler,
      },
      info: {},
      containersStatuses: [],
      timestamp: 0,
    }
  }

  async listPodSandbox(
    request: Proto3Partial<cri.ListPodSandboxRequest>,
    options?: CallOptions,
  ): Promise<cri.ListPodSandboxResponse> {
    this.#begin('listPodSandbox', request, options)
    const f = request.filter
    const all = f === undefined || (!f.id && f.state === undefined && !hasLabels(f.labelSelector))
    if (all && this.#listings.sandboxes) return { items: this.#listings.sandboxes as cri.PodSandbox[] }
    const state = f?.state === undefined ? undefined : (f.state.state ?? 'SANDBOX_READY')
    const candidates = f?.id ? [this.#sandboxes.get(f.id)] : this.#sandboxes.values()
    const items: cri.PodSandbox[] = []
    for (const s of candidates) {
      if (s === undefined) continue
      if (state !== undefined && s.state !== state) continue
      if (!matchesLabels(s.labels, f?.labelSelector)) continue
      items.push({
        id: s.id,
        metadata: s.metadata,
        state: s.state,
        createdAt: s.createdAt,
        labels: s.labels,
        annotations: s.annotations,
        runtimeHandler: s.runtimeHandler,
      })
    }
    if (all) this.#listings.sandboxes = frozenListing(items)
    return { items }
  }

  async createContainer(
    request: Proto3Partial<cri.CreateContainerRequest>,
    options?: CallOptions,
  ): Promise<cri.CreateContainerResponse> {
    this.#begin('createContainer', request, options)
    const sandboxId = request.podSandboxId ?? ''
    const sandbox = this.#sandboxes.get(sandboxId)
    if (sandbox === undefined)
      throw new CriError('NotFound', `failed to find sandbox id "${sandboxId}": not found`)
    const config = request.config ?? {}
    if (config.metadata === undefined) {
      throw new CriError('InvalidArgument', 'container config must include metadata')
    }
    const metadata = Object.freeze(containerMetadata(config.metadata))
    const imageName = config.image?.image ?? ''
    const image = this.#findImage(imageName)
    if (image === undefined)
      throw new CriError('NotFound', `failed to resolve image "${imageName}": not found`)
    const pod = sandbox.metadata
    const name = [metadata.name, pod.name, pod.namespace, pod.uid, metadata.attempt].join('_')
    const id = this.#newId()
    this.#reserve('container', name, id)

    const argv = this.#commandLine(image, config.command ?? [], config.args ?? [])
    const behaviour = this.#behaviourFor({ image: imageName, imageRecord: image, argv, name: metadata.name })
    const outcome = runProcess(argv, { mode: 'main', files: sandboxFiles(sandbox) })
    const linux = config.linux
    const security = linux?.securityContext
    const c: ContainerRecord = {
      id,
      name,
      sandbox,
      metadata,
      imageSpec: Object.freeze(imageSpec(config.image)),
      image,
      labels: stringMap(config.labels),
      annotations: stringMap(config.annotations),
      mounts: config.mounts?.length ? Object.freeze(config.mounts.map(mount)) : noMounts,
      logPath: joinLogPath(request.sandboxConfig?.logDirectory ?? '', config.logPath ?? ''),
      output: outcome.stdout + outcome.stderr,
      writes: outcome.writes,
      resources: linux?.resources === undefined ? undefined : linuxResources(linux.resources),
      user:
        security === undefined
          ? undefined
          : {
              linux: {
                uid: security.runAsUser?.value ?? 0,
                gid: security.runAsGroup?.value ?? 0,
                supplementalGroups: [...(security.supplementalGroups ?? [])],
              },
            },
      stopSignal: config.stopSignal ?? 'RUNTIME_DEFAULT',
      behaviour,
      plan: {
        exit: outcome.exit,
        fileChanges: outcome.fileChanges.length === 0 ? noFileChanges : outcome.fileChanges,
      },
      state: 'CONTAINER_CREATED',
      createdAt: this.#stamp(),
      startedAt: 0,
      finishedAt: 0,
      startedAtMs: 0,
      finishedAtMs: 0,
      exitCode: 0,
      reason: '',
      message: '',
      pendingExit: undefined,
      files: undefined,
      fileChangesApplied: 0,
      touched: undefined,
    }
    this.#containers.set(id, c)
    sandbox.containers.add(c)
    this.#listings = {}
    return { containerId: id }
  }

  async startContainer(
    request: Proto3Partial<cri.StartContainerRequest>,
    options?: CallOptions,
  ): Promise<cri.StartContainerResponse> {
    this.#begin('startContainer', request, options)
    const c = this.#container(request.containerId)
    if (c.state !== 'CONTAINER_CREATED') {
      throw new CriError(
        'Unknown',
        `failed to set starting state for container "${c.id}": container is in ${c.state} state`,
      )
    }
    const nowMs = this.#clock.now()
    // Past this point a failure leaves the container exited with StartError, as containerd does.
    const failure =
      c.sandbox.state !== 'SANDBOX_READY'
        ? `sandbox container "${c.sandbox.id}" is not running`
        : c.behaviour.startError
    this.#listings = {}
    if (failure !== undefined) {
      c.state = 'CONTAINER_EXITED'
      c.finishedAtMs = nowMs
      c.finishedAt = this.#stamp()
      c.exitCode = startErrorExitCode
      c.reason = 'StartError'
      c.message = failure
      throw new CriError('Unknown', failure)
    }
    c.state = 'CONTAINER_RUNNING'
    c.startedAtMs = nowMs
    c.startedAt = this.#stamp()
    const b = c.behaviour
    const limit = c.resources?.memoryLimitInBytes ?? 0
    if (limit > 0 && b.memoryWorkingSetBytes > limit) {
      this.#scheduleExit(c, { atMs: nowMs, exitCode: killedExitCode, reason: 'OOMKilled' })
    } else if (b.exit !== undefined) {
      this.#scheduleExit(c, {
        atMs: nowMs + b.exit.afterMs,
        exitCode: b.exit.oomKilled ? killedExitCode : b.exit.exitCode,
        reason: b.exit.oomKilled ? 'OOMKilled' : '',
      })
    } else if (c.plan.exit !== undefined) {
      this.#scheduleExit(c, { atMs: nowMs + c.plan.exit.afterMs, exitCode: c.plan.exit.exitCode, reason: '' })
    }
    this.#settle()
    return {}
  }

  async stopContainer(
    request: Proto3Partial<cri.StopContainerRequest>,
    options?: CallOptions,
  ): Promise<cri.StopContainerResponse> {
    this.#begin('stopContainer', request, options)
    const c = this.#container(request.containerId)
    if (c.state !== 'CONTAINER_RUNNING') return {}
    const nowMs = this.#clock.now()
    const timeoutMs = Math.max(0, request.timeout ?? 0) * 1000
    const { stopDelayMs, stopExitCode } = c.behaviour
    // With a timeout the stop signal comes first and the kill after the timeout; without one, the kill at once.
    const exit: PendingExit =
      timeoutMs > 0 && stopDelayMs <= timeoutMs
        ? { atMs: nowMs + stopDelayMs, exitCode: stopExitCode, reason: '' }
        : { atMs: nowMs + timeoutMs, exitCode: killedExitCode, reason: '' }
    this.#scheduleExit(c, exit)
    this.#settle()
    const waitMs = exit.atMs - nowMs
    if (c.state === 'CONTAINER_RUNNING' && waitMs > 0) {
      await this.#clock.sleep(waitMs, options?.signal)
      this.#settle()
    }
    return {}
  }

  async removeContainer(
    request: Proto3Partial<cri.RemoveContainerRequest>,
    options?: CallOptions,
  ): Promise<cri.RemoveContainerResponse> {
    this.#begin('removeContainer', request, options)
    const c = this.#containers.get(request.containerId ?? '')
    if (c !== undefined) this.#deleteContainer(c)
    return {}
  }

  async listContainers(
    request: Proto3Partial<cri.ListContainersRequest>,
    options?: CallOptions,
  ): Promise<cri.ListContainersResponse> {
    this.#begin('listContainers', request, options)
    const f = request.filter
    const all =
      f === undefined || (!f.id && !f.podSandboxId && f.state === undefined && !hasLabels(f.labelSelector))
    if (all && this.#listings.containers) return { containers: this.#listings.containers as cri.Container[] }
    const state = f?.state === undefined ? undefined : (f.state.state ?? 'CONTAINER_CREATED')
    const containers: cri.Container[] = []
    for (const c of this.#candidates(f?.id, f?.podSandboxId)) {
      if (state !== undefined && c.state !== state) continue
      if (!matchesLabels(c.labels, f?.labelSelector)) continue
      containers.push({
        id: c.id,
        podSandboxId: c.sandbox.id,
        metadata: c.metadata,
        image: c.imageSpec,
        imageRef: c.image.id,
        state: c.state,
        createdAt: c.createdAt,
        labels: c.labels,
        annotations: c.annotations,
        imageId: c.image.id,
      })
    }
    if (all) this.#listings.containers = frozenListing(containers)
    return { containers }
  }

  async containerStatus(
    request: Proto3Partial<cri.ContainerStatusRequest>,
    options?: CallOptions,
  ): Promise<cri.ContainerStatusResponse> {
    this.#begin('containerStatus', request, options)
    const c = this.#container(request.containerId)
    const exited = c.state === 'CONTAINER_EXITED'
    const reason = exited && c.reason === '' ? (c.exitCode === 0 ? 'Completed' : 'Error') : c.reason
    return {
      status: {
        id: c.id,
        metadata: c.metadata,
        state: c.state,
        createdAt: c.createdAt,
        startedAt: c.state === 'CONTAINER_CREATED' ? 0 : c.startedAt,
        finishedAt: exited ? c.finishedAt : 0,
        exitCode: c.exitCode,
        // As containerd: the image by its tag, and imageRef as its repo digest.
        image: {
          image: c.image.repoTags[0] ?? c.imageSpec.image,
          annotations: {},
          userSpecifiedImage: c.imageSpec.userSpecifiedImage,
          runtimeHandler: '',
        },
        imageRef: c.image.repoDigests[0] ?? c.image.id,
        reason,
        message: c.message,
        labels: c.labels,
        annotations: c.annotations,
        mounts: [...c.mounts],
        logPath: c.logPath,
        ...(c.resources === undefined ? {} : { resources: { linux: { ...c.resources } } }),
        imageId: c.image.id,
        ...(c.user === undefined ? {} : { user: c.user }),
        stopSignal: c.stopSignal,
      },
      info: {},
    }
  }

  async updateContainerResources(
    request: Proto3Partial<cri.UpdateContainerResourcesRequest>,
    options?: CallOptions,
  ): Promise<cri.UpdateContainerResourcesResponse> {
    this.#begin('updateContainerResources', request, options)
    const c = this.#container(request.containerId)
    if (c.state === 'CONTAINER_EXITED') {
      throw new CriError(
        'Unknown',
        `failed to update resources: container "${c.id}" is in CONTAINER_EXITED state`,
      )
    }
    if (request.linux === undefined) return {}
    c.resources = linuxResources(request.linux)
    const limit = c.resources.memoryLimitInBytes
    if (c.state === 'CONTAINER_RUNNING' && limit > 0 && c.behaviour.memoryWorkingSetBytes > limit) {
      this.#scheduleExit(c, { atMs: this.#clock.now(), exitCode: killedExitCode, reason: 'OOMKilled' })
      this.#settle()
    }
    return {}
  }

  async reopenContainerLog(
    request: Proto3Partial<cri.ReopenContainerLogRequest>,
    options?: CallOptions,
  ): Promise<cri.ReopenContainerLogResponse> {
    this.#begin('reopenContainerLog', request, options)
    const c = this.#container(request.containerId)
    if (c.state !== 'CONTAINER_RUNNING') throw new CriError('Unknown', 'container is not running')
    return {}
  }

  async execSync(
    request: Proto3Partial<cri.ExecSyncRequest>,
    options?: CallOptions,
  ): Promise<cri.ExecSyncResponse> {
    this.#begin('execSync', request, options)
    const id = request.containerId ?? ''
    const c = this.#containers.get(id)
    if (c === undefined) {
      throw new CriError(
        'NotFound',
        `failed to exec in container: failed to find container "${id}" in store: not found`,
      )
    }
    if (c.state !== 'CONTAINER_RUNNING') {
      throw new CriError('Unknown', `failed to exec in container: container is in ${c.state} state`)
    }
    const argv = [...(request.cmd ?? [])]
    const answer = c.behaviour.exec.find((a) => sameWords(a.command, argv))
    let result: { durationMs: number; exitCode: number; stdout: string; stderr: string }
    if (answer !== undefined) {
      result = {
        durationMs: answer.durationMs ?? 0,
        exitCode: answer.exitCode ?? 0,
        stdout: answer.stdout ?? '',
        stderr: answer.stderr ?? '',
      }
    } else {
      const files = this.#files(c)
      const run = runProcess(argv, { mode: 'exec', files })
      for (const change of run.fileChanges) {
        if (change.content === undefined) files.delete(change.path)
        else files.set(change.path, change.content)
        ;(c.touched ??= new Set()).add(change.path)
      }
      result = {
        durationMs: run.exit?.afterMs ?? Infinity,
        exitCode: run.exit?.exitCode ?? 0,
        stdout: run.stdout,
        stderr: run.stderr,
      }
    }
    const timeoutSeconds = request.timeout ?? 0
    if (timeoutSeconds > 0 && result.durationMs > timeoutSeconds * 1000) {
      await this.#clock.sleep(timeoutSeconds * 1000, options?.signal)
      throw new CriError(
        'DeadlineExceeded',
        `failed to exec in container: timeout ${goDuration(timeoutSeconds)} exceeded: context deadline exceeded`,
      )
    }
    if (result.durationMs === Infinity) await never(options?.signal)
    if (result.durationMs > 0) await this.#clock.sleep(result.durationMs, options?.signal)
    return {
      stdout: Buffer.from(result.stdout),
      stderr: Buffer.from(result.stderr),
      exitCode: result.exitCode,
    }
  }

  async exec(request: Proto3Partial<cri.ExecRequest>, options?: CallOptions): Promise<cri.ExecResponse> {
    this.#begin('exec', request, options)
    this.#streamable(request)
    const c = this.#container(request.containerId)
    if (c.state !== 'CONTAINER_RUNNING') throw new CriError('Unknown', `container is in ${c.state} state`)
    if ((request.cmd ?? []).length === 0) throw new CriError('InvalidArgument', 'cmd must not be empty')
    return { url: this.#streamingUrl({ kind: 'exec', request }) }
  }

  async attach(
    request: Proto3Partial<cri.AttachRequest>,
    options?: CallOptions,
  ): Promise<cri.AttachResponse> {
    this.#begin('attach', request, options)
    this.#streamable(request)
    const c = this.#container(request.containerId)
    if (c.state !== 'CONTAINER_RUNNING') throw new CriError('Unknown', `container is in ${c.state} state`)
    return { url: this.#streamingUrl({ kind: 'attach', request }) }
  }

  async portForward(
    request: Proto3Partial<cri.PortForwardRequest>,
    options?: CallOptions,
  ): Promise<cri.PortForwardResponse> {
    this.#begin('portForward', request, options)
    const s = this.#sandbox(request.podSandboxId)
    if (s.state !== 'SANDBOX_READY') throw new CriError('Unknown', 'sandbox container is not running')
    return { url: this.#streamingUrl({ kind: 'portforward', request }) }
  }

  async containerStats(
    request: Proto3Partial<cri.ContainerStatsRequest>,
    options?: CallOptions,
  ): Promise<cri.ContainerStatsResponse> {
    this.#begin('containerStats', request, options)
    const c = this.#container(request.containerId)
    // containerd reads stats from the container's task, which an exited container no longer has.
    if (c.state !== 'CONTAINER_RUNNING') throw new CriError('Unknown', 'unexpected metrics response: []')
    return { stats: this.#containerStats(c, this.#clock.now()) }
  }

  async listContainerStats(
    request: Proto3Partial<cri.ListContainerStatsRequest>,
    options?: CallOptions,
  ): Promise<cri.ListContainerStatsResponse> {
    this.#begin('listContainerStats', request, options)
    const f = request.filter
    const nowMs = this.#clock.now()
    const stats: cri.ContainerStats[] = []
    // As containerd: every container that matches, with CPU and memory only where a process runs.
    for (const c of this.#candidates(f?.id, f?.podSandboxId)) {
      if (!matchesLabels(c.labels, f?.labelSelector)) continue
      stats.push(this.#containerStats(c, nowMs))
    }
    return { stats }
  }

  async podSandboxStats(
    request: Proto3Partial<cri.PodSandboxStatsRequest>,
    options?: CallOptions,
  ): Promise<cri.PodSandboxStatsResponse> {
    this.#begin('podSandboxStats', request, options)
    const s = this.#sandbox(request.podSandboxId)
    if (s.state !== 'SANDBOX_READY') throw new CriError('Unknown', `sandbox "${s.id}" is not running`)
    return { stats: this.#sandboxStats(s, this.#clock.now()) }
  }

  async listPodSandboxStats(
    request: Proto3Partial<cri.ListPodSandboxStatsRequest>,
    options?: CallOptions,
  ): Promise<cri.ListPodSandboxStatsResponse> {
    this.#begin('listPodSandboxStats', request, options)
    const f = request.filter
    const nowMs = this.#clock.now()
    const candidates = f?.id ? [this.#sandboxes.get(f.id)] : this.#sandboxes.values()
    const stats: cri.PodSandboxStats[] = []
    for (const s of candidates) {
      if (s === undefined || s.state !== 'SANDBOX_READY' || !matchesLabels(s.labels, f?.labelSelector))
        continue
      stats.push(this.#sandboxStats(s, nowMs))
    }
    return { stats }
  }

  // ---- ImageService ----

  async listImages(
    request: Proto3Partial<cri.ListImagesRequest>,
    options?: CallOptions,
  ): Promise<cri.ListImagesResponse> {
    this.#begin('listImages', request, options)
    const wanted = request.filter?.image?.image ?? ''
    if (wanted !== '') {
      const image = this.#findImage(wanted)
      return { images: image === undefined ? [] : [criImage(image)] }
    }
    const seen = new Set<ImageRecord>(this.#images.values())
    return { images: [...seen].map(criImage) }
  }

  async imageStatus(
    request: Proto3Partial<cri.ImageStatusRequest>,
    options?: CallOptions,
  ): Promise<cri.ImageStatusResponse> {
    this.#begin('imageStatus', request, options)
    const image = this.#findImage(request.image?.image ?? '')
    return image === undefined ? { info: {} } : { image: criImage(image), info: {} }
  }

  async pullImage(
    request: Proto3Partial<cri.PullImageRequest>,
    options?: CallOptions,
  ): Promise<cri.PullImageResponse> {
    this.#begin('pullImage', request, options)
    const ref = request.image?.image ?? ''
    let name: string
    try {
      name = normalizeImageReference(ref)
    } catch (err) {
      throw new CriError('Unknown', `failed to parse image reference "${ref}": ${(err as Error).message}`)
    }
    if (this.#pullDelayMs > 0) await this.#clock.sleep(this.#pullDelayMs, options?.signal)
    if (this.#missingImages.has(name)) {
      throw new CriError(
        'NotFound',
        `failed to pull and unpack image "${name}": failed to resolve reference "${name}": ${name}: not found`,
      )
    }
    return { imageRef: (this.#images.get(name) ?? this.#addImage(name)).id }
  }

  async removeImage(
    request: Proto3Partial<cri.RemoveImageRequest>,
    options?: CallOptions,
  ): Promise<cri.RemoveImageResponse> {
    this.#begin('removeImage', request, options)
    const image = this.#findImage(request.image?.image ?? '')
    if (image === undefined) return {}
    for (const [key, value] of this.#images) if (value === image) this.#images.delete(key)
    return {}
  }

  async imageFsInfo(
    request: Proto3Partial<cri.ImageFsInfoRequest>,
    options?: CallOptions,
  ): Promise<cri.ImageFsInfoResponse> {
    this.#begin('imageFsInfo', request, options)
    const images = new Set(this.#images.values())
    let used = 0
    for (const image of images) used += image.size
    return {
      imageFilesystems: [
        {
          timestamp: this.#clock.now() * 1e6,
          fsId: { mountpoint: snapshotterMount },
          usedBytes: { value: used },
          inodesUsed: { value: images.size * 1000 },
        },
      ],
      containerFilesystems: [],
    }
  }

  // ---- internals ----

  /** Every call starts here: record it, fail it if asked to, and let due exits happen. */
  #begin(method: FakeRuntimeMethod, request: unknown, options: CallOptions | undefined): void {
    if (this.#record) this.#calls.push({ method, request, atMs: this.#clock.now() })
    const queued = this.#failures.get(method)?.shift()
    if (queued !== undefined) throw queued
    if (options?.signal?.aborted)
      throw new CriError('Canceled', 'context canceled', { cause: options.signal.reason })
    this.#settle()
  }

  /** Applies every exit that has fallen due, at the time it was due. */
  #settle(): void {
    const nowMs = this.#clock.now()
    for (let due = this.#exits.popDue(nowMs); due !== undefined; due = this.#exits.popDue(nowMs)) {
      const { container: c, exit } = due.item
      if (c.pendingExit !== exit || c.state !== 'CONTAINER_RUNNING') continue
      this.#exit(c, exit)
    }
  }

  /** Keeps the earlier of the container's pending exit and this one. */
  #scheduleExit(c: ContainerRecord, exit: PendingExit): void {
    if (c.pendingExit !== undefined && c.pendingExit.atMs <= exit.atMs) return
    c.pendingExit = exit
    this.#exits.push(exit.atMs, { container: c, exit })
  }

  #exit(c: ContainerRecord, exit: PendingExit): void {
    this.#listings = {}
    c.state = 'CONTAINER_EXITED'
    c.pendingExit = undefined
    c.finishedAtMs = Math.max(exit.atMs, c.startedAtMs)
    // Nanoseconds from the clock's milliseconds, never before the start.
    c.finishedAt = Math.max(c.finishedAtMs * 1e6, c.startedAt)
    c.exitCode = exit.exitCode
    c.reason = exit.reason
  }

  /** Kill everything in the sandbox now (containerd stops them with no grace) and release its IP. */
  #stopSandbox(s: SandboxRecord): void {
    const nowMs = this.#clock.now()
    for (const c of s.containers) {
      if (c.state === 'CONTAINER_RUNNING')
        this.#exit(c, { atMs: nowMs, exitCode: killedExitCode, reason: '' })
    }
    if (s.ipPool !== undefined) {
      s.ipPool.release(s.ip)
      s.ipPool = undefined
    }
    s.state = 'SANDBOX_NOTREADY'
    this.#listings = {}
  }

  #deleteContainer(c: ContainerRecord): void {
    this.#listings = {}
    c.pendingExit = undefined
    c.sandbox.containers.delete(c)
    this.#containers.delete(c.id)
    this.#names.delete(c.name)
  }

  #sandbox(id: string | undefined): SandboxRecord {
    const s = this.#sandboxes.get(id ?? '')
    if (s === undefined)
      throw new CriError('NotFound', `an error occurred when try to find sandbox: not found`)
    return s
  }

  #container(id: string | undefined): ContainerRecord {
    const c = this.#containers.get(id ?? '')
    if (c === undefined) {
      throw new CriError('NotFound', `an error occurred when try to find container "${id ?? ''}": not found`)
    }
    return c
  }

  /** The containers a filter's id and podSandboxId leave, without walking all of them when it can. */
  #candidates(id: string | undefined, sandboxId: string | undefined): Iterable<ContainerRecord> {
    if (id) {
      const c = this.#containers.get(id)
      return c !== undefined && (!sandboxId || c.sandbox.id === sandboxId) ? [c] : []
    }
    if (sandboxId) return this.#sandboxes.get(sandboxId)?.containers ?? []
    return this.#containers.values()
  }

  #reserve(kind: 'sandbox' | 'container', name: string, id: string): void {
    const holder = this.#names.get(name)
    if (holder !== undefined) {
      throw new CriError(
        'AlreadyExists',
        `failed to reserve ${kind} name "${name}": name "${name}" is reserved for "${holder}"`,
      )
    }
    this.#names.set(name, id)
  }

  /** 64 hex digits, as containerd's ids: a random prefix per runtime and a counter. */
  #newId(): string {
    return this.#idPrefix + (this.#idCounter++).toString(16).padStart(16, '0')
  }

  /**
   * Now in nanoseconds, strictly after the last stamp: a fake clock does not move between calls,
   * and the kubelet orders containers by createdAt. Steps of 1 µs, since numbers this large
   * cannot tell nanoseconds apart.
   */
  #stamp(): number {
    const ns = this.#clock.now() * 1e6
    this.#lastStampNs = ns > this.#lastStampNs ? ns : this.#lastStampNs + 1000
    return this.#lastStampNs
  }

  #findImage(ref: string): ImageRecord | undefined {
    if (ref === '') return undefined
    const direct = this.#images.get(ref)
    if (direct !== undefined) return direct
    try {
      return this.#images.get(normalizeImageReference(ref))
    } catch {
      return undefined
    }
  }

  #addImage(name: string): ImageRecord {
    const config = this.#imageConfigs.get(name)
    const ref = parseImageReference(name)
    // Pulled by tag, an image has that tag and a digest made up for it; pulled by digest, only the digest.
    const digest = ref.digest ?? `sha256:${sha256(`manifest ${name}`)}`
    const hash = sha256(`config ${name}`)
    const image: ImageRecord = {
      id: `sha256:${hash}`,
      repoTags: ref.digest === undefined ? [name] : [],
      repoDigests: [`${repositoryName(ref)}@${digest}`],
      // A plausible size, fixed per name: 2 to 130 MB.
      size: config?.sizeBytes ?? 2_000_000 + (Number.parseInt(hash.slice(0, 6), 16) % 128) * 1_000_000,
    }
    this.#images.set(image.id, image)
    for (const key of [...image.repoTags, ...image.repoDigests]) this.#images.set(key, image)
    return image
  }

  /** What runs: command (or the image's entrypoint), then args (or, without a command, the image's cmd). */
  #commandLine(image: ImageRecord, command: readonly string[], args: readonly string[]): string[] {
    if (command.length > 0) return [...command, ...args]
    const config = this.#imageConfigFor(image)
    return [...(config?.entrypoint ?? []), ...(args.length > 0 ? args : (config?.cmd ?? []))]
  }

  #imageConfigFor(image: ImageRecord): FakeImageConfig | undefined {
    for (const ref of [...image.repoTags, ...image.repoDigests]) {
      const config = this.#imageConfigs.get(ref)
      if (config !== undefined) return config
    }
    return undefined
  }

  #behaviourFor(c: {
    image: string
    imageRecord: ImageRecord
    argv: readonly string[]
    name: string
  }): ResolvedBehaviour {
    const matching = this.#rules.filter((r) => this.#matches(r, c))
    if (matching.length === 0) return this.#defaultBehaviour
    const pick = <K extends keyof FakeContainerBehaviour>(key: K): FakeContainerBehaviour[K] =>
      matching.find((r) => r.behaviour[key] !== undefined)?.behaviour[key]
    const d = this.#defaultBehaviour
    const exit = pick('exit')
    return {
      startError: pick('startError'),
      exit:
        exit === undefined
          ? undefined
          : { afterMs: exit.afterMs, exitCode: exit.exitCode ?? 0, oomKilled: exit.oomKilled ?? false },
      stopDelayMs: pick('stopDelayMs') ?? d.stopDelayMs,
      stopExitCode: pick('stopExitCode') ?? d.stopExitCode,
      cpuNanoCores: pick('cpuNanoCores') ?? d.cpuNanoCores,
      memoryWorkingSetBytes: pick('memoryWorkingSetBytes') ?? d.memoryWorkingSetBytes,
      exec: matching.flatMap((r) => r.behaviour.exec ?? []),
      listenAfterMs: pick('listenAfterMs') ?? d.listenAfterMs,
    }
  }

  #matches(
    rule: FakeContainerRule,
    c: { image: string; imageRecord: ImageRecord; argv: readonly string[]; name: string },
  ): boolean {
    if (rule.name !== undefined && rule.name !== c.name) return false
    if (rule.command !== undefined && !rule.command.every((w, i) => c.argv[i] === w)) return false
    if (rule.image !== undefined && rule.image !== c.image) {
      let name: string
      try {
        name = normalizeImageReference(rule.image)
      } catch {
        return false
      }
      if (!c.imageRecord.repoTags.includes(name) && !c.imageRecord.repoDigests.includes(name)) return false
    }
    return true
  }

  // ---- the pretend network ----

  /** The running container listening at host:port, or a Go-worded dial error. */
  #endpoint(r: DialRequest): ContainerRecord {
    this.#settle()
    const addr = joinHostPort(r.host, r.port)
    let sandboxes = [...this.#sandboxes.values()].filter((s) => s.state === 'SANDBOX_READY')
    const byIP = sandboxes.filter((s) => s.ip !== '' && s.ip === r.host)
    sandboxes = byIP.length > 0 ? byIP : sandboxes.filter((s) => s.namespaceOptions.network === 'NODE')
    if (sandboxes.length === 0) throw new Error(`dial tcp ${addr}: connect: no route to host`)
    const nowMs = this.#clock.now()
    for (const s of sandboxes) {
      for (const c of s.containers) {
        if (c.state !== 'CONTAINER_RUNNING') continue
        if (nowMs < c.startedAtMs + c.behaviour.listenAfterMs) continue
        if (declaredTcpPorts(c.annotations).includes(r.port)) return c
      }
    }
    throw new Error(`dial tcp ${addr}: connect: connection refused`)
  }

  #httpGet(r: HttpRequest): HttpResponse {
    const c = this.#endpoint(r)
    const path = r.path.replace(/[?#].*$/, '')
    const files = this.#files(c)
    const fileBacked =
      files.has(path) || c.plan.fileChanges.some((f) => f.path === path) || c.touched?.has(path)
    if (!fileBacked) return { statusCode: 200, location: undefined, body: 'ok' }
    const content = files.get(path)
    return content === undefined
      ? { statusCode: 404, location: undefined, body: '404 page not found\n' }
      : { statusCode: 200, location: undefined, body: content }
  }

  #grpcHealthCheck(r: DialRequest): GrpcHealthResult {
    try {
      this.#endpoint(r)
    } catch (err) {
      return { kind: 'connectFailed', timedOut: false, message: (err as Error).message }
    }
    return { kind: 'status', status: 'SERVING' }
  }

  /** The container's files now: what its command has written by this time, and what execs changed. */
  #files(c: ContainerRecord): Map<string, string> {
    c.files ??= new Map(sandboxFiles(c.sandbox))
    const untilMs = c.state === 'CONTAINER_RUNNING' ? this.#clock.now() : c.finishedAtMs
    const changes = c.plan.fileChanges
    while (c.fileChangesApplied < changes.length) {
      const change = changes[c.fileChangesApplied]
      if (change === undefined || c.startedAtMs + change.afterMs > untilMs) break
      if (change.content === undefined) c.files.delete(change.path)
      else c.files.set(change.path, change.content)
      c.fileChangesApplied++
    }
    return c.files
  }

  #containerStats(c: ContainerRecord, nowMs: number): cri.ContainerStats {
    const timestamp = nowMs * 1e6
    const b = c.behaviour
    const limit = c.resources?.memoryLimitInBytes ?? 0
    const ws = b.memoryWorkingSetBytes
    // The sandbox's files are mounted in, not in the container's writable layer.
    let written = 0
    let count = 0
    for (const [path, content] of c.files ?? []) {
      if (path === resolvConfPath && content === c.sandbox.resolvConf) continue
      written += content.length
      count++
    }
    const attributes = { id: c.id, metadata: c.metadata, labels: c.labels, annotations: c.annotations }
    const writableLayer = {
      timestamp,
      fsId: { mountpoint: snapshotterMount },
      usedBytes: { value: 4096 * (1 + count) + written },
      inodesUsed: { value: 1 + count },
    }
    if (c.state !== 'CONTAINER_RUNNING') return { attributes, writableLayer }
    return {
      attributes,
      cpu: {
        timestamp,
        // nanocores × ms / 1000 = core-nanoseconds
        usageCoreNanoSeconds: {
          value: Math.round((b.cpuNanoCores * Math.max(0, nowMs - c.startedAtMs)) / 1000),
        },
        usageNanoCores: { value: b.cpuNanoCores },
      },
      memory: {
        timestamp,
        workingSetBytes: { value: ws },
        availableBytes: { value: limit > 0 ? Math.max(0, limit - ws) : 0 },
        usageBytes: { value: ws },
        rssBytes: { value: ws },
        pageFaults: { value: 0 },
        majorPageFaults: { value: 0 },
      },
      writableLayer,
    }
  }

  #sandboxStats(s: SandboxRecord, nowMs: number): cri.PodSandboxStats {
    const timestamp = nowMs * 1e6
    const containers: cri.ContainerStats[] = []
    let cpu = 0
    let cpuRate = 0
    let memory = 0
    for (const c of s.containers) {
      if (c.state !== 'CONTAINER_RUNNING') continue
      const stats = this.#containerStats(c, nowMs)
      containers.push(stats)
      cpu += stats.cpu?.usageCoreNanoSeconds?.value ?? 0
      cpuRate += stats.cpu?.usageNanoCores?.value ?? 0
      memory += stats.memory?.workingSetBytes?.value ?? 0
    }
    const zero = { value: 0 }
    const eth0 = { name: 'eth0', rxBytes: zero, rxErrors: zero, txBytes: zero, txErrors: zero }
    return {
      attributes: { id: s.id, metadata: s.metadata, labels: s.labels, annotations: s.annotations },
      linux: {
        cpu: { timestamp, usageCoreNanoSeconds: { value: cpu }, usageNanoCores: { value: cpuRate } },
        memory: {
          timestamp,
          workingSetBytes: { value: memory },
          availableBytes: zero,
          usageBytes: { value: memory },
          rssBytes: { value: memory },
          pageFaults: zero,
          majorPageFaults: zero,
        },
        network: { timestamp, defaultInterface: eth0, interfaces: [eth0] },
        // The sandbox's pause process, and one per running container.
        process: { timestamp, processCount: { value: containers.length + 1 } },
        containers,
      },
    }
  }

  /** Checks as containerd's streaming server does before handing out a URL. */
  #streamable(request: { tty?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean }): void {
    if (request.tty && request.stderr)
      throw new CriError('InvalidArgument', 'tty and stderr cannot both be true')
    if (!request.stdin && !request.stdout && !request.stderr) {
      throw new CriError('InvalidArgument', 'one of stdin, stdout, or stderr must be set')
    }
  }

  #streamingUrl(session: StreamingSession): string {
    const token = randomBytes(6).toString('base64url')
    this.#streaming.set(token, session)
    if (this.#streaming.size > maxStreamingSessions) {
      const oldest = this.#streaming.keys().next().value
      if (oldest !== undefined) this.#streaming.delete(oldest)
    }
    return `${this.#streamingURL}/${session.kind}/${token}`
  }
}

function criImage(image: ImageRecord): cri.Image {
  return {
    id: image.id,
    repoTags: [...image.repoTags],
    repoDigests: [...image.repoDigests],
    size: image.size,
    username: '',
    pinned: false,
  }
}

/** A label selector that selects something less than everything. */
function hasLabels(selector: Proto3Partial<Record<string, string>> | undefined): boolean {
  if (selector === undefined) return false
  for (const _ in selector) return true
  return false
}

/** A listing to hand out again: callers may read it, never change it. */
function frozenListing<T extends object>(items: T[]): readonly T[] {
  for (const item of items) Object.freeze(item)
  return Object.freeze(items)
}

function matchesLabels(
  labels: Readonly<Record<string, string>>,
  selector: Proto3Partial<Record<string, string>> | undefined,
): boolean {
  if (selector === undefined) return true
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== (v ?? '')) return false
  return true
}

function stringMap(m: Proto3Partial<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  if (m === undefined) return empty
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(m)) out[k] = v ?? ''
  return Object.freeze(out)
}

function podSandboxMetadata(m: Proto3Partial<cri.PodSandboxMetadata>): cri.PodSandboxMetadata {
  return { name: m.name ?? '', uid: m.uid ?? '', namespace: m.namespace ?? '', attempt: m.attempt ?? 0 }
}

function containerMetadata(m: Proto3Partial<cri.ContainerMetadata>): cri.ContainerMetadata {
  return { name: m.name ?? '', attempt: m.attempt ?? 0 }
}

function imageSpec(s: Proto3Partial<cri.ImageSpec> | undefined): cri.ImageSpec {
  return {
    image: s?.image ?? '',
    annotations: stringMap(s?.annotations),
    userSpecifiedImage: s?.userSpecifiedImage ?? '',
    runtimeHandler: s?.runtimeHandler ?? '',
  }
}

function idMapping(m: Proto3Partial<cri.IDMapping>): cri.IDMapping {
  return { hostId: m.hostId ?? 0, containerId: m.containerId ?? 0, length: m.length ?? 0 }
}

function mount(m: Proto3Partial<cri.Mount>): cri.Mount {
  return {
    containerPath: m.containerPath ?? '',
    hostPath: m.hostPath ?? '',
    readonly: m.readonly ?? false,
    selinuxRelabel: m.selinuxRelabel ?? false,
    propagation: m.propagation ?? 'PROPAGATION_PRIVATE',
    uidMappings: (m.uidMappings ?? []).map(idMapping),
    gidMappings: (m.gidMappings ?? []).map(idMapping),
    recursiveReadOnly: m.recursiveReadOnly ?? false,
    ...(m.image === undefined ? {} : { image: imageSpec(m.image) }),
    imageSubPath: m.imageSubPath ?? '',
  }
}

function namespaceOption(o: Proto3Partial<cri.NamespaceOption> | undefined): cri.NamespaceOption {
  return {
    network: o?.network ?? 'POD',
    pid: o?.pid ?? 'POD',
    ipc: o?.ipc ?? 'POD',
    targetId: o?.targetId ?? '',
  }
}

function linuxResources(r: Proto3Partial<cri.LinuxContainerResources>): cri.LinuxContainerResources {
  return {
    cpuPeriod: r.cpuPeriod ?? 0,
    cpuQuota: r.cpuQuota ?? 0,
    cpuShares: r.cpuShares ?? 0,
    memoryLimitInBytes: r.memoryLimitInBytes ?? 0,
    oomScoreAdj: r.oomScoreAdj ?? 0,
    cpusetCpus: r.cpusetCpus ?? '',
    cpusetMems: r.cpusetMems ?? '',
    hugepageLimits: (r.hugepageLimits ?? []).map((h) => ({
      pageSize: h.pageSize ?? '',
      limit: h.limit ?? 0,
    })),
    unified: { ...stringMap(r.unified) },
    memorySwapLimitInBytes: r.memorySwapLimitInBytes ?? 0,
  }
}

/** containerd keeps the log path as the sandbox's log directory joined with the container's. */
function joinLogPath(directory: string, path: string): string {
  if (path === '') return ''
  if (directory === '') return path
  return `${directory.replace(/\/$/, '')}/${path.replace(/^\//, '')}`
}

/** The TCP containerPorts the kubelet declared for a container (from its ports annotation). */
function declaredTcpPorts(annotations: Readonly<Record<string, string>>): number[] {
  const json = annotations[containerPortsAnnotation]
  if (json === undefined) return []
  let ports: unknown
  try {
    ports = JSON.parse(json)
  } catch {
    return []
  }
  if (!Array.isArray(ports)) return []
  return ports
    .filter((p): p is { containerPort: number; protocol?: string } => {
      if (typeof p !== 'object' || p === null) return false
      const port = (p as { containerPort?: unknown }).containerPort
      const protocol = (p as { protocol?: unknown }).protocol
      return typeof port === 'number' && (protocol === undefined || protocol === 'TCP')
    })
    .map((p) => p.containerPort)
}

function sameWords(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((w, i) => w === b[i])
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** Seconds as Go prints a time.Duration: 1s, 1m30s, 2h0m0s. */
function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  if (h > 0) return `${h}h${m}m${s}s`
  if (m > 0) return `${m}m${s}s`
  return `${s}s`
}

/** A command that never ends: waits until the call is given up. */
function never(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener('abort', () => reject(new CriError('Canceled', 'context canceled')), {
      once: true,
    })
  })
}

/**
 * A resolv.conf as containerd writes it for a sandbox's DNS config: the search line, one
 * nameserver line each, the options line. Without a DNS config containerd copies the host's;
 * the fake has no host to copy, so there is none.
 */
function resolvConfOf(dns: Proto3Partial<cri.DNSConfig> | undefined): string | undefined {
  if (dns === undefined) return undefined
  const searches = dns.searches ?? []
  const servers = dns.servers ?? []
  const options = dns.options ?? []
  if (searches.length + servers.length + options.length === 0) return undefined
  let text = ''
  if (searches.length > 0) text += `search ${searches.join(' ')}\n`
  for (const server of servers) text += `nameserver ${server}\n`
  if (options.length > 0) text += `options ${options.join(' ')}\n`
  return text
}

const resolvConfPath = '/etc/resolv.conf'

/** The files a sandbox gives each of its containers. */
function sandboxFiles(sandbox: SandboxRecord): ReadonlyMap<string, string> | undefined {
  return sandbox.resolvConf === undefined ? undefined : new Map([[resolvConfPath, sandbox.resolvConf]])
}
