/**
 * Pod workers (pkg/kubelet/pod_workers.go with kuberuntime's SyncPod): one worker per pod, never
 * two syncs of a pod at once, a sync asked for while one runs happens right after it. A worker
 * holds one state of the PodWork union:
 *
 *   syncing ──(terminal phase, or deletionTimestamp, or removed from the API)──▶ terminating
 *   terminating ──(containers stopped within the grace period, sandbox stopped)──▶ terminated
 *
 * A sync reads the pod's sandboxes and containers from the runtime, does the next steps (sandbox,
 * image pulls, init containers one at a time, app containers, restarts under CrashLoopBackOff),
 * then generates the pod status and hands it to the status manager. The PLEG wakes a worker when
 * its pod's containers change; back-offs wake it with a timer on the injected clock; the probe
 * manager (../prober) wakes it when a probe result changes: readiness and startup results go into
 * the status (ready, started), and a failed liveness or startup probe has the sync kill the
 * container. postStart hooks run after a container starts, preStop hooks before it is stopped.
 */
import type { Container, LifecycleHandler, Pod, PodStatus } from '../../api/generated/types/core-v1.ts'
import type { Clock, Timer } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  noNetwork,
  ProbeManager,
  reasonFailedPostStartHook,
  reasonFailedPreStopHook,
  reasonPostStartHookError,
  runLifecycleHandler,
  type ProbeNetwork,
} from '../prober/index.ts'
import { isCriError } from '../runtime/errors.ts'
import type * as cri from '../runtime/runtime.ts'
import type { ContainerRuntime, Proto3Partial } from '../runtime/runtime.ts'
import { rejectedStatus, type AdmitResult } from './admission.ts'
import { Backoff } from './backoff.ts'
import { containerEnv, reasonCreateContainerConfigError, type EnvResolver } from './container-env.ts'
import { Pleg, type PodLifecycleEvent } from './pleg.ts'
import {
  generatePodStatus,
  isPodPhaseTerminal,
  latestContainer,
  podSandboxChanged,
  reasonCrashLoopBackOff,
  reasonCreateContainerError,
  reasonErrImageNeverPull,
  reasonErrImagePull,
  reasonImagePullBackOff,
  reasonRunContainerError,
  shouldContainerBeRestarted,
  type RuntimeContainer,
  type RuntimePod,
  type WaitingReason,
} from './pod-status.ts'
import {
  containerConfig,
  containerNameLabel,
  containerRestartCountAnnotation,
  podUIDLabel,
  sandboxConfig,
  terminationGracePeriodAnnotation,
} from './runtime-config.ts'
import { podRefOf, StatusManager, type PodStatusWriter } from './status-manager.ts'
import { terminationMessageOf, type ContainerOutputReader } from './termination-message.ts'

/** One pod's place in its lifecycle. */
export type PodWork =
  | { phase: 'syncing'; pod: Pod }
  | { phase: 'terminating'; pod: Pod; gracePeriodSeconds: number; removed: boolean }
  | { phase: 'terminated'; pod: Pod; finishedAt: number; removed: boolean; sandboxRemoved: boolean }

export interface PodWorkersOptions {
  runtime: ContainerRuntime
  clock: Clock
  statusWriter: PodStatusWriter
  /** The node's addresses: status.hostIP(s), and the pod IPs of host-network pods. */
  hostIPs?: readonly string[]
  /** The sandbox DNS config for a pod (cluster DNS for ClusterFirst); none by default. */
  dnsConfig?: (pod: Readonly<Pod>) => Proto3Partial<cri.DNSConfig> | undefined
  log?: Logger
  /**
   * Admission on the node (./admission.ts admitPod with the current Node): asked once for each
   * new pod with the pods admitted before it; a pod refused is never run and reported Failed.
   */
  admit?: (pod: Readonly<Pod>, admitted: readonly Pod[]) => AdmitResult
  /**
   * ConfigMaps, Secrets, services and the node's allocatable for containers' environments
   * (./pod-resources.ts PodResources); without it, such references fail the container.
   */
  resolveEnv?: EnvResolver
  /** --cluster-domain: the pods' subdomain FQDN (<subdomain>.<ns>.svc.<domain>). */
  clusterDomain?: string
  /** Reads exited containers' termination message files and logs (./termination-message.ts); none: no messages. */
  containerOutput?: ContainerOutputReader
  /** Where the kubelet's events about pods go (the client's EventRecorder); none by default. */
  events?: PodEventRecorder
  /**
   * Where httpGet, tcpSocket and grpc probes and httpGet hooks connect: the prober's
   * realProbeNetwork for a real runtime, FakeRuntime.network for the fake (its pod IPs are not
   * real and must never be dialed). Without one, such probes and hooks fail and nothing is dialed.
   */
  network?: ProbeNetwork
}

/** The part of the client's EventRecorder the pod workers use. */
export interface PodEventRecorder {
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void
}

/** After a failed sync, the worker tries again this much later (workerBackOffPeriod). */
export const workerBackOffPeriodMs = 10_000
export const reasonDeadlineExceeded = 'DeadlineExceeded'
export const deadlineExceededMessage = 'Pod was active on the node longer than the specified deadline'
/** kuberuntime's minimumGracePeriodInSeconds. */
export const minimumGracePeriodSeconds = 2
export const defaultTerminationGracePeriodSeconds = 30

interface Worker {
  uid: string
  work: PodWork
  /** Why containers wait, as the last sync found (upstream's reasonCache), by container name. */
  reasons: Map<string, WaitingReason>
  running: Promise<void> | undefined
  again: boolean
  timer: { at: number; timer: Timer } | undefined
  /** The pod's sandboxes this worker knows of (created, or seen by the PLEG); none until the first sync. */
  sandboxIds: Set<string>
  /** Why the kubelet ended a pod itself (activeDeadlineSeconds): phase Failed with this reason. */
  terminalReason?: WaitingReason
  /** The status of a pod refused by admission, still to be written. */
  rejection: PodStatus | undefined
}

export class PodWorkers {
  readonly #o: PodWorkersOptions
  readonly #runtime: ContainerRuntime
  readonly #clock: Clock
  readonly #workers = new Map<string, Worker>()
  readonly #crashBackoff: Backoff
  readonly #imageBackoff: Backoff
  readonly statusManager: StatusManager
  readonly pleg: Pleg
  readonly prober: ProbeManager
  readonly #network: ProbeNetwork
  #runtimeName = 'containerd'
  #stopped = false

  constructor(o: PodWorkersOptions) {
    this.#o = o
    this.#runtime = o.runtime
    this.#clock = o.clock
    this.#crashBackoff = new Backoff({ clock: o.clock })
    this.#imageBackoff = new Backoff({ clock: o.clock })
    this.statusManager = new StatusManager({ writer: o.statusWriter, clock: o.clock })
    this.#network = o.network ?? noNetwork
    this.prober = new ProbeManager({
      runtime: o.runtime,
      clock: o.clock,
      network: this.#network,
      ...(o.events ? { events: o.events } : {}),
      ...(o.log ? { log: o.log } : {}),
      statusOf: (uid) => this.statusManager.status(uid),
      onChange: (uid) => {
        const w = this.#workers.get(uid)
        if (w !== undefined) this.#wake(w)
      },
    })
    this.pleg = new Pleg({
      runtime: o.runtime,
      clock: o.clock,
      onEvent: (e) => this.#onPlegEvent(e),
      onError: (err) => o.log?.warn({ err }, 'PLEG relist failed'),
    })
  }

  /** Learns the runtime's name (container IDs are `<name>://<id>`) and starts the PLEG. */
  async start(): Promise<void> {
    this.#runtimeName = (await this.#runtime.version({})).runtimeName || this.#runtimeName
    // A first relist before any worker runs: workers find their pods' sandboxes from it.
    await this.pleg.relist()
    this.pleg.start()
  }

  stop(): void {
    this.#stopped = true
    this.pleg.stop()
    this.prober.stop()
    for (const w of this.#workers.values()) w.timer?.timer.cancel()
  }

  /** Resolves when no worker is syncing (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.#workers.values()].map((w) => w.running).filter((p) => p !== undefined)
      if (running.length === 0) return
      await Promise.all(running)
    }
  }

  /** The worker state of a pod, by uid. */
  state(uid: string): PodWork | undefined {
    return this.#workers.get(uid)?.work
  }

  /** A pod bound to this node was added or changed (or got its deletionTimestamp). */
  updatePod(pod: Pod): void {
    const uid = pod.metadata?.uid ?? ''
    let w = this.#workers.get(uid)
    if (w === undefined) {
      w = {
        uid,
        work: { phase: 'syncing', pod },
        reasons: new Map(),
        running: undefined,
        again: false,
        timer: undefined,
        rejection: undefined,
        sandboxIds: new Set(),
      }
      const terminal = isPodPhaseTerminal(pod.status?.phase)
      const result = terminal ? undefined : this.#o.admit?.(pod, this.#admittedPods())
      if (terminal || result?.admit === false) {
        // Already finished (before a restart of the kubelet), or refused: never run.
        w.work = {
          phase: 'terminated',
          pod,
          finishedAt: this.#clock.now(),
          removed: false,
          sandboxRemoved: false,
        }
        if (result?.admit === false) {
          w.rejection = rejectedStatus(pod, result)
          this.#o.events?.event(pod, 'Warning', result.reason, result.message)
        }
      }
      this.#workers.set(uid, w)
      if (w.work.phase !== 'terminated') this.prober.addPod(pod)
    } else {
      w.work = { ...w.work, pod }
      this.prober.updatePod(pod)
    }
    if (pod.metadata?.deletionTimestamp && w.work.phase === 'syncing') {
      w.work = { phase: 'terminating', pod, gracePeriodSeconds: gracePeriodOf(pod), removed: false }
    }
    this.#wake(w)
  }

  /**
   * A pod whose change was only its status (RECONCILE upstream, often the kubelet's own write):
   * the worker keeps the newer object but is not woken, so a status write does not sync the pod
   * again.
   */
  reconcilePod(pod: Pod): void {
    const w = this.#workers.get(pod.metadata?.uid ?? '')
    if (w === undefined) this.updatePod(pod)
    else w.work = { ...w.work, pod }
  }

  /**
   * Housekeeping (HandlePodCleanups): sandboxes of pods that neither the API (`knownUIDs`) nor a
   * worker knows, such as pods deleted while the kubelet was down, are stopped and removed.
   */
  async removeOrphanedPods(knownUIDs: ReadonlySet<string>): Promise<number> {
    const orphans = (await this.#runtime.listPodSandbox({})).items.filter((s) => {
      const uid = s.labels[podUIDLabel] ?? ''
      return uid !== '' && !knownUIDs.has(uid) && !this.#workers.has(uid)
    })
    for (const s of orphans) {
      const { containers } = await this.#runtime.listContainers({ filter: { podSandboxId: s.id } })
      await Promise.all(
        containers
          .filter((c) => c.state === 'CONTAINER_RUNNING')
          .map((c) => {
            const grace = Number(c.annotations[terminationGracePeriodAnnotation] ?? minimumGracePeriodSeconds)
            return this.#runtime.stopContainer({
              containerId: c.id,
              timeout: Math.max(grace, minimumGracePeriodSeconds),
            })
          }),
      )
      await this.#runtime.stopPodSandbox({ podSandboxId: s.id })
      await this.#runtime.removePodSandbox({ podSandboxId: s.id })
    }
    return orphans.length
  }

  /** The pods admitted and not (yet) terminated, for admission of the next one. */
  #admittedPods(): Pod[] {
    return [...this.#workers.values()].filter((w) => w.work.phase !== 'terminated').map((w) => w.work.pod)
  }

  /** The pod is gone from the API: stop what is left of it and forget it. */
  removePod(pod: Pod): void {
    const w = this.#workers.get(pod.metadata?.uid ?? '')
    if (w === undefined) return
    if (w.work.phase === 'syncing') {
      w.work = { phase: 'terminating', pod, gracePeriodSeconds: gracePeriodOf(pod), removed: true }
    } else w.work = { ...w.work, removed: true }
    this.#wake(w)
  }

  #onPlegEvent(e: PodLifecycleEvent): void {
    const w = this.#workers.get(e.podUID)
    if (w !== undefined) this.#wake(w)
  }

  #wake(w: Worker): void {
    if (this.#stopped) return
    w.again = true
    if (w.running === undefined) w.running = this.#loop(w)
  }

  /**
   * Syncs while asked to. `running` is cleared in the same step as the last look at `again` (a
   * `.finally` would leave a gap in which a wake-up is lost); the first sync always awaits, so
   * the loop never ends before #wake has stored it.
   */
  async #loop(w: Worker): Promise<void> {
    try {
      while (w.again && !this.#stopped) {
        w.again = false
        try {
          await this.#sync(w)
        } catch (err) {
          this.#o.log?.error({ err, pod: podRefOf(w.work.pod) }, 'Error syncing pod, skipping')
          this.#requeue(w, this.#clock.now() + workerBackOffPeriodMs)
        }
      }
    } finally {
      w.running = undefined
    }
  }

  /** Wakes the worker at `atMs` (the earliest such wish wins). */
  #requeue(w: Worker, atMs: number): void {
    if (w.timer !== undefined && w.timer.at <= atMs && w.timer.at > this.#clock.now()) return
    w.timer?.timer.cancel()
    w.timer = {
      at: atMs,
      timer: this.#clock.setTimer(Math.max(0, atMs - this.#clock.now()), () => {
        w.timer = undefined
        this.#wake(w)
      }),
    }
  }

  async #sync(w: Worker): Promise<void> {
    const work = w.work
    switch (work.phase) {
      case 'syncing':
        return this.#syncPod(w, work.pod)
      case 'terminating':
        return this.#terminatePod(w, work)
      case 'terminated':
        return this.#cleanUp(w, work)
      default:
        return assertNever(work)
    }
  }

  // ---- syncing ----

  async #syncPod(w: Worker, pod: Pod): Promise<void> {
    if (this.#pastActiveDeadline(w, pod)) {
      w.terminalReason = { reason: reasonDeadlineExceeded, message: deadlineExceededMessage }
      w.work = { phase: 'terminating', pod, gracePeriodSeconds: gracePeriodOf(pod), removed: false }
      w.again = true
      return
    }
    await this.#syncContainers(w, pod, await this.#runtimePod(w))
    const status = await this.#writeStatus(w, pod, await this.#runtimePod(w), false)
    if (isPodPhaseTerminal(status) && w.work.phase === 'syncing') {
      w.work = { phase: 'terminating', pod, gracePeriodSeconds: gracePeriodOf(pod), removed: false }
      w.again = true
      return
    }
    this.#pastActiveDeadline(w, pod)
  }

  /**
   * spec.activeDeadlineSeconds, counted from the status' startTime (the kubelet's
   * activeDeadlineHandler): whether it has passed; if not, the worker wakes when it does.
   */
  #pastActiveDeadline(w: Worker, pod: Pod): boolean {
    const seconds = pod.spec?.activeDeadlineSeconds
    const startTime = this.statusManager.status(w.uid)?.startTime ?? pod.status?.startTime
    if (seconds === undefined || startTime === undefined) return false
    const deadlineMs = Date.parse(startTime) + seconds * 1000
    if (this.#clock.now() >= deadlineMs) return true
    this.#requeue(w, deadlineMs)
    return false
  }

  /** computePodActions and their execution: sandbox, then init containers in order, then app containers. */
  async #syncContainers(w: Worker, pod: Pod, runtime: RuntimePod): Promise<void> {
    const policy = pod.spec?.restartPolicy ?? 'Always'
    let sandboxId: string
    const config = (attempt: number) => {
      const dnsConfig = this.#o.dnsConfig?.(pod)
      return sandboxConfig(pod, {
        attempt,
        ...(dnsConfig ? { dnsConfig } : {}),
        ...(this.#o.clusterDomain ? { clusterDomain: this.#o.clusterDomain } : {}),
      })
    }
    if (podSandboxChanged(pod, runtime)) {
      // A pod that ran to its end under restartPolicy Never gets no new sandbox.
      if (policy === 'Never' && runtime.sandboxes.length > 0 && runtime.containers.length > 0) return
      await this.#killContainers(pod, runtime, gracePeriodOf(pod))
      for (const s of runtime.sandboxes) {
        if (s.state === 'SANDBOX_READY') await this.#runtime.stopPodSandbox({ podSandboxId: s.id })
      }
      const attempt = (runtime.sandboxes[0]?.metadata?.attempt ?? -1) + 1
      sandboxId = (await this.#runtime.runPodSandbox({ config: config(attempt) })).podSandboxId
      w.sandboxIds.add(sandboxId)
    } else {
      sandboxId = runtime.sandboxes[0]?.id ?? ''
    }
    const sandbox =
      runtime.sandboxes.find((s) => s.id === sandboxId) ??
      (await this.#runtime.podSandboxStatus({ podSandboxId: sandboxId })).status
    const network = sandbox?.network
    const podIPs = pod.spec?.hostNetwork
      ? [...(this.#o.hostIPs ?? [])]
      : network?.ip
        ? [network.ip, ...(network.additionalIps ?? []).map((a) => a.ip)]
        : []
    const ctx: StartContext = {
      w,
      pod,
      runtime,
      sandboxId,
      sandboxConfig: config(sandbox?.metadata?.attempt ?? 0),
      podIPs,
    }
    // Containers of an older sandbox do not count as having run in this one.
    const current = (name: string) =>
      runtime.containers.find((c) => c.name === name && c.sandboxId === sandboxId)

    // Once an app container has run in this sandbox the pod is initialized: plain init containers
    // are done, and sidecars (init containers with restartPolicy Always) only restart when they exit.
    const appNames = new Set((pod.spec?.containers ?? []).map((c) => c.name))
    const initialized = runtime.containers.some((c) => c.sandboxId === sandboxId && appNames.has(c.name))
    for (const c of pod.spec?.initContainers ?? []) {
      const latest = current(c.name)
      const state = latest?.status.state
      if (c.restartPolicy === 'Always') {
        // The next init container waits until the sidecar runs and its startup probe succeeded.
        if (latest !== undefined && state === 'CONTAINER_RUNNING') {
          if (await this.#killOnFailedProbe(ctx, c, latest)) {
            w.again = true
            return
          }
          if (initialized || this.prober.isStarted(w.uid, c.name, latest.status.id)) continue
          return
        }
        if (state === undefined || state === 'CONTAINER_EXITED') await this.#startContainer(ctx, c)
        if (initialized) continue
        return
      }
      if (initialized) continue
      if (latest === undefined) return void (await this.#startContainer(ctx, c))
      if (state === 'CONTAINER_EXITED' && latest.status.exitCode === 0) continue
      if (state !== 'CONTAINER_EXITED') return
      if (policy === 'Never') return
      return void (await this.#startContainer(ctx, c))
    }
    const inSandbox: RuntimePod = {
      ...runtime,
      containers: runtime.containers.filter((c) => c.sandboxId === sandboxId),
    }
    for (const c of pod.spec?.containers ?? []) {
      const latest = current(c.name)
      if (latest?.status.state === 'CONTAINER_RUNNING' && (await this.#killOnFailedProbe(ctx, c, latest))) {
        // Restarted by the next sync, which sees it exited (and applies the back-off).
        w.again = true
        continue
      }
      if (shouldContainerBeRestarted(pod, c, inSandbox)) await this.#startContainer(ctx, c)
    }
  }

  /**
   * A running container whose liveness or startup probe failed is killed (with the probe's
   * terminationGracePeriodSeconds when it has one); whether it was.
   */
  async #killOnFailedProbe(
    ctx: StartContext,
    c: Readonly<Container>,
    latest: RuntimeContainer,
  ): Promise<boolean> {
    const failed = this.prober.failedProbe(ctx.w.uid, c.name, latest.status.id)
    if (failed === undefined) return false
    const policy = c.restartPolicy ?? ctx.pod.spec?.restartPolicy ?? 'Always'
    const message = `Container ${c.name} failed ${failed.probeType} probe${policy === 'Never' ? '' : ', will be restarted'}`
    await this.#killContainer(ctx.pod, latest, {
      gracePeriodSeconds: failed.probe.terminationGracePeriodSeconds ?? gracePeriodOf(ctx.pod),
      message,
      podIP: ctx.podIPs[0] ?? '',
    })
    return true
  }

  async #startContainer(ctx: StartContext, container: Readonly<Container>): Promise<void> {
    const { w, pod, runtime } = ctx
    const name = container.name
    const latest = latestContainer(runtime, name)
    const meta = pod.metadata ?? {}
    if (latest !== undefined && latest.status.state === 'CONTAINER_EXITED') {
      const key = `${meta.name}_${meta.namespace}_${meta.uid}_${name}`
      const finishedMs = Math.floor(latest.status.finishedAt / 1e6)
      if (this.#crashBackoff.isInBackOffSince(key, finishedMs)) {
        const backoff = goDuration(this.#crashBackoff.get(key))
        w.reasons.set(name, {
          reason: reasonCrashLoopBackOff,
          message: `back-off ${backoff} restarting failed container=${name} pod=${meta.name}_${meta.namespace}(${meta.uid})`,
        })
        this.#requeue(w, this.#crashBackoff.endsAt(key, finishedMs))
        this.#event(
          pod,
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${name} in pod ${meta.name}_${meta.namespace}(${meta.uid})`,
        )
        return
      }
      this.#crashBackoff.next(key, finishedMs)
    }
    const imageRef = await this.#ensureImage(w, pod, container)
    if (imageRef === undefined) return
    const restartCount = latest === undefined ? 0 : latest.restartCount + 1
    let env: { key: string; value: string }[]
    try {
      env = await containerEnv(pod, container, {
        podIPs: ctx.podIPs,
        hostIPs: this.#o.hostIPs ?? [],
        ...(this.#o.resolveEnv ? { resolver: this.#o.resolveEnv } : {}),
      })
    } catch (err) {
      // generateContainerConfig failed: the container waits with CreateContainerConfigError.
      w.reasons.set(name, { reason: reasonCreateContainerConfigError, message: (err as Error).message })
      this.#event(pod, 'Warning', 'Failed', `Error: ${(err as Error).message}`)
      this.#requeue(w, this.#clock.now() + workerBackOffPeriodMs)
      return
    }
    let containerId: string
    try {
      const created = await this.#runtime.createContainer({
        podSandboxId: ctx.sandboxId,
        config: containerConfig(pod, container, {
          restartCount,
          imageRef,
          gracePeriodSeconds: gracePeriodOf(pod),
          env,
        }),
        sandboxConfig: ctx.sandboxConfig,
      })
      containerId = created.containerId
    } catch (err) {
      w.reasons.set(name, { reason: reasonCreateContainerError, message: (err as Error).message })
      this.#event(pod, 'Warning', 'Failed', `Error: ${(err as Error).message}`)
      this.#requeue(w, this.#clock.now() + workerBackOffPeriodMs)
      return
    }
    try {
      this.#event(pod, 'Normal', 'Created', `Created container: ${name}`)
      await this.#runtime.startContainer({ containerId })
    } catch (err) {
      w.reasons.set(name, { reason: reasonRunContainerError, message: (err as Error).message })
      this.#event(pod, 'Warning', 'Failed', `Error: ${(err as Error).message}`)
      this.#requeue(w, this.#clock.now() + workerBackOffPeriodMs)
      return
    }
    this.#event(pod, 'Normal', 'Started', `Started container ${name}`)
    w.reasons.delete(name)
    // As the container GC with maxPerPodContainer 1: the newest dead one stays for lastState.
    for (const old of runtime.containers.filter((c) => c.name === name).slice(1)) {
      await this.#runtime.removeContainer({ containerId: old.status.id })
    }
    const postStart = container.lifecycle?.postStart
    if (postStart === undefined) return
    const podIP = ctx.podIPs[0] ?? ''
    const failure = await this.#runHook(postStart, { pod, container, containerId, podIP })
    if (failure === undefined) return
    // A failed postStart hook kills the container; it is restarted under the back-off.
    this.#event(pod, 'Warning', reasonFailedPostStartHook, failure)
    await this.#killContainer(
      pod,
      { name, containerId, running: true },
      { gracePeriodSeconds: gracePeriodOf(pod), message: reasonFailedPostStartHook, podIP },
    )
    w.reasons.set(name, { reason: reasonPostStartHookError, message: failure })
    w.again = true
  }

  #runHook(
    handler: Readonly<LifecycleHandler>,
    o: { pod: Pod; container: Readonly<Container>; containerId: string; podIP: string; signal?: AbortSignal },
  ): Promise<string | undefined> {
    return runLifecycleHandler(handler, {
      runtime: this.#runtime,
      network: this.#network,
      clock: this.#clock,
      ...o,
    })
  }

  /** EnsureImageExists: the image id to create the container from, or undefined with the reason set. */
  async #ensureImage(w: Worker, pod: Pod, container: Readonly<Container>): Promise<string | undefined> {
    const image = container.image ?? ''
    const policy = container.imagePullPolicy ?? defaultPullPolicy(image)
    const present = (await this.#runtime.imageStatus({ image: { image } })).image
    if (present !== undefined && policy !== 'Always') {
      this.#event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`)
      return present.id
    }
    if (policy === 'Never') {
      const message = `Container image "${image}" is not present with pull policy of Never`
      w.reasons.set(container.name, { reason: reasonErrImageNeverPull, message })
      this.#event(pod, 'Warning', 'ErrImageNeverPull', message)
      this.#event(pod, 'Warning', 'Failed', `Error: ${reasonErrImageNeverPull}`)
      this.#requeue(w, this.#clock.now() + workerBackOffPeriodMs)
      return undefined
    }
    const imgRef = applyDefaultImageTag(image)
    const key = `${pod.metadata?.uid ?? ''}_${imgRef}`
    if (this.#imageBackoff.isInBackOffSinceUpdate(key)) {
      w.reasons.set(container.name, {
        reason: reasonImagePullBackOff,
        message: `Back-off pulling image "${imgRef}"`,
      })
      this.#requeue(w, this.#imageBackoff.endsAtSinceUpdate(key))
      this.#event(pod, 'Normal', 'BackOff', `Back-off pulling image "${imgRef}"`)
      this.#event(pod, 'Warning', 'Failed', `Error: ${reasonImagePullBackOff}`)
      return undefined
    }
    this.#event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`)
    const startedMs = this.#clock.now()
    try {
      const pulled = await this.#runtime.pullImage({ image: { image } })
      if (this.#o.events !== undefined) {
        const took = goDurationPrecise(this.#clock.now() - startedMs)
        const size = (await this.#runtime.imageStatus({ image: { image: pulled.imageRef } })).image?.size ?? 0
        this.#event(
          pod,
          'Normal',
          'Pulled',
          `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${size} bytes.`,
        )
      }
      return pulled.imageRef
    } catch (err) {
      this.#imageBackoff.next(key, this.#clock.now())
      w.reasons.set(container.name, { reason: reasonErrImagePull, message: (err as Error).message })
      this.#event(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${(err as Error).message}`)
      this.#event(pod, 'Warning', 'Failed', `Error: ${reasonErrImagePull}`)
      // A failed sync is tried again after workerBackOffPeriod, as upstream's pod workers do: the
      // pod shows ErrImagePull until then, and ImagePullBackOff while later pulls back off.
      this.#requeue(w, this.#clock.now() + workerBackOffPeriodMs)
      return undefined
    }
  }

  // ---- terminating ----

  async #terminatePod(w: Worker, work: Extract<PodWork, { phase: 'terminating' }>): Promise<void> {
    const runtime = await this.#runtimePod(w)
    await this.#killContainers(work.pod, runtime, work.gracePeriodSeconds)
    for (const s of runtime.sandboxes) {
      if (s.state === 'SANDBOX_READY') await this.#runtime.stopPodSandbox({ podSandboxId: s.id })
    }
    this.prober.removePod(w.uid)
    if (!work.removed) await this.#writeStatus(w, work.pod, await this.#runtimePod(w), true)
    // Read the state again: removePod or updatePod may have come in while containers stopped.
    const now = w.work
    w.work = {
      phase: 'terminated',
      pod: now.pod,
      finishedAt: this.#clock.now(),
      removed: now.phase !== 'syncing' && now.removed,
      sandboxRemoved: false,
    }
    w.again = true
  }

  /**
   * Stops the running containers within the grace period (at least two seconds): the regular ones
   * at once, then the sidecars one by one in reverse order, each with what is left of the period.
   */
  async #killContainers(pod: Pod, runtime: RuntimePod, gracePeriodSeconds: number): Promise<void> {
    const startedMs = this.#clock.now()
    const live = runtime.containers.filter(
      (c) => c.status.state === 'CONTAINER_RUNNING' || c.status.state === 'CONTAINER_CREATED',
    )
    const sidecarNames = (pod.spec?.initContainers ?? [])
      .filter((c) => c.restartPolicy === 'Always')
      .map((c) => c.name)
    const podIP = podIPOf(pod, runtime, this.#o.hostIPs ?? [])
    const stop = (c: RuntimeContainer) => {
      const leftSeconds = gracePeriodSeconds - Math.floor((this.#clock.now() - startedMs) / 1000)
      return this.#killContainer(pod, c, { gracePeriodSeconds: leftSeconds, podIP })
    }
    await Promise.all(live.filter((c) => !sidecarNames.includes(c.name)).map(stop))
    for (const name of sidecarNames.reverse()) {
      await Promise.all(live.filter((c) => c.name === name).map(stop))
    }
  }

  /**
   * killContainer: the Killing event, the preStop hook (given the grace period at most; what it
   * used is taken off the period), then the stop with what is left of the period (two seconds at
   * least). A container not running is only stopped (CRI's stop is idempotent).
   */
  async #killContainer(
    pod: Pod,
    c: RuntimeContainer | { name: string; containerId: string; running: boolean },
    o: { gracePeriodSeconds: number; message?: string; podIP: string },
  ): Promise<void> {
    const containerId = 'status' in c ? c.status.id : c.containerId
    const running = 'status' in c ? c.status.state === 'CONTAINER_RUNNING' : c.running
    let grace = o.gracePeriodSeconds
    if (running) {
      this.#event(pod, 'Normal', 'Killing', o.message ?? `Stopping container ${c.name}`)
      const container = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
        (x) => x.name === c.name,
      )
      const preStop = container?.lifecycle?.preStop
      if (container !== undefined && preStop !== undefined && grace > 0) {
        const startedMs = this.#clock.now()
        const abort = new AbortController()
        const timer = this.#clock.setTimer(grace * 1000, () => abort.abort())
        const failure = await this.#runHook(preStop, {
          pod,
          container,
          containerId,
          podIP: o.podIP,
          signal: abort.signal,
        })
        timer.cancel()
        if (failure !== undefined) this.#event(pod, 'Warning', reasonFailedPreStopHook, failure)
        grace -= Math.floor((this.#clock.now() - startedMs) / 1000)
      }
    }
    await this.#runtime.stopContainer({ containerId, timeout: Math.max(grace, minimumGracePeriodSeconds) })
  }

  #event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#o.events?.event(pod, type, reason, message)
  }

  // ---- terminated ----

  /** Once the pod is being deleted (or gone): remove its containers and sandbox, then the API object. */
  async #cleanUp(w: Worker, work: Extract<PodWork, { phase: 'terminated' }>): Promise<void> {
    if (w.rejection !== undefined && !work.removed) {
      await this.statusManager.setPodStatus(work.pod, w.rejection)
      w.rejection = undefined
    }
    const deleting = work.removed || work.pod.metadata?.deletionTimestamp != null
    if (!deleting) return
    if (!work.sandboxRemoved) {
      const runtime = await this.#runtimePod(w)
      for (const c of runtime.containers) await this.#runtime.removeContainer({ containerId: c.status.id })
      for (const s of runtime.sandboxes) await this.#runtime.removePodSandbox({ podSandboxId: s.id })
      if (w.work.phase === 'terminated') w.work = { ...w.work, sandboxRemoved: true }
      if (!work.removed) await this.#o.statusWriter.deletePod(podRefOf(work.pod))
    }
    if (work.removed) {
      w.timer?.timer.cancel()
      this.#workers.delete(w.uid)
      this.prober.removePod(w.uid)
      this.statusManager.forget(w.uid)
      const meta = work.pod.metadata ?? {}
      this.#crashBackoff.forget(`${meta.name}_${meta.namespace}_${meta.uid}_`)
      this.#imageBackoff.forget(`${meta.uid}_`)
    }
  }

  // ---- shared ----

  async #writeStatus(
    w: Worker,
    pod: Pod,
    runtime: RuntimePod,
    podIsTerminal: boolean,
  ): Promise<string | undefined> {
    const known = { ...pod, status: this.statusManager.status(w.uid) ?? pod.status ?? {} }
    const generated = generatePodStatus({
      pod: known,
      runtime,
      reasons: w.reasons,
      runtimeName: this.#runtimeName,
      hostIPs: this.#o.hostIPs ?? [],
      podIsTerminal,
      probes: {
        isStarted: (name, id) => this.prober.isStarted(w.uid, name, id),
        isReady: (name, id) => this.prober.isReady(w.uid, name, id),
      },
    })
    if (w.terminalReason !== undefined) Object.assign(generated, { phase: 'Failed' }, w.terminalReason)
    const written = await this.statusManager.setPodStatus(pod, generated)
    this.prober.statusUpdated(w.uid)
    return written.phase
  }

  /**
   * The pod's sandboxes and containers, newest first, with their full statuses. The sandboxes are
   * those the worker made or the PLEG last saw for the pod, so a sync costs the pod's own size,
   * not the node's.
   */
  async #runtimePod(w: Worker): Promise<RuntimePod> {
    for (const id of this.pleg.sandboxIdsOf(w.uid)) w.sandboxIds.add(id)
    const sandboxes: cri.PodSandboxStatus[] = []
    const containers: RuntimeContainer[] = []
    for (const id of [...w.sandboxIds]) {
      const status = (await ignoreNotFound(this.#runtime.podSandboxStatus({ podSandboxId: id })))?.status
      if (status === undefined) {
        w.sandboxIds.delete(id)
        continue
      }
      sandboxes.push(status)
      const list = await this.#runtime.listContainers({ filter: { podSandboxId: id } })
      for (const c of list.containers) {
        const r = await ignoreNotFound(this.#runtime.containerStatus({ containerId: c.id }))
        if (r?.status === undefined) continue
        const reader = this.#o.containerOutput
        const status =
          reader && r.status.state === 'CONTAINER_EXITED'
            ? { ...r.status, message: await terminationMessageOf(r.status, reader) }
            : r.status
        containers.push({
          name: c.labels[containerNameLabel] ?? c.metadata?.name ?? '',
          sandboxId: c.podSandboxId,
          restartCount: Number(c.annotations[containerRestartCountAnnotation] ?? c.metadata?.attempt ?? 0),
          status,
        })
      }
    }
    sandboxes.sort((a, b) => b.createdAt - a.createdAt)
    containers.sort((a, b) => b.status.createdAt - a.status.createdAt)
    return { sandboxes, containers }
  }
}

interface StartContext {
  w: Worker
  pod: Pod
  runtime: RuntimePod
  sandboxId: string
  sandboxConfig: Proto3Partial<cri.PodSandboxConfig>
  podIPs: readonly string[]
}

/** The pod's first IP: its ready sandbox's (or the node's, on the host network). */
function podIPOf(pod: Readonly<Pod>, runtime: RuntimePod, hostIPs: readonly string[]): string {
  if (pod.spec?.hostNetwork) return hostIPs[0] ?? ''
  const sandbox = runtime.sandboxes.find((s) => s.state === 'SANDBOX_READY') ?? runtime.sandboxes[0]
  return sandbox?.network?.ip ?? ''
}

/** deletionGracePeriodSeconds while deleting, else spec.terminationGracePeriodSeconds (30 by default). */
export function gracePeriodOf(pod: Readonly<Pod>): number {
  return (
    pod.metadata?.deletionGracePeriodSeconds ??
    pod.spec?.terminationGracePeriodSeconds ??
    defaultTerminationGracePeriodSeconds
  )
}

/** Always for :latest or untagged images, IfNotPresent otherwise (the API's defaulting). */
export function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent'
  const lastPart = image.slice(image.lastIndexOf('/') + 1)
  const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : ''
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent'
}

/** The image with :latest when it names neither tag nor digest (the kubelet's applyDefaultImageTag). */
export function applyDefaultImageTag(image: string): string {
  if (image.includes('@')) return image
  const lastPart = image.slice(image.lastIndexOf('/') + 1)
  return lastPart.includes(':') ? image : `${image}:latest`
}

/** Go's time.Duration String below a minute, as the Pulled event prints it: 0s, 350ms, 1.234s. */
export function goDurationPrecise(ms: number): string {
  if (ms === 0) return '0s'
  if (ms < 1000) return `${ms}ms`
  if (ms < 60_000) return `${String(ms / 1000)}s`
  return goDuration(ms)
}

/** Go's time.Duration String for whole seconds: 10s, 1m20s, 5m0s. */
export function goDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${s % 60}s`
  return `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`
}

async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p
  } catch (err) {
    if (isCriError(err, 'NotFound')) return undefined
    throw err
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected pod work ${JSON.stringify(x)}`)
}
