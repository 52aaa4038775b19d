/**
 * The probe manager (pkg/kubelet/prober): one worker per container and probe type (startup,
 * liveness, readiness) of each pod that has probes, probing on the injected clock and keeping the
 * result for the container it last saw. The pod workers read the results:
 * - generating the status: a running container is `started` once its startup probe succeeded
 *   (at once without one), and `ready` once started and its readiness probe succeeded (at once
 *   without one);
 * - syncing: a running container whose liveness or startup probe failed is killed (and restarted
 *   under the pod's restartPolicy and the CrashLoopBackOff back-off).
 * When a result changes, onChange(uid) asks the pod worker to sync the pod again.
 *
 * A worker's life, once per period (the first probe when the pod is added):
 *
 *   no status / no container yet ──▶ wait
 *   new container id ──▶ result := initial (readiness failure, liveness success, startup unknown)
 *   on hold (liveness/startup failed this container) ──▶ wait for the next container
 *   not running ──▶ result := failure; stop for good if it exited under restartPolicy Never
 *   pod deleting ──▶ liveness/startup: result := success and stop (a quiet shutdown)
 *   within initialDelaySeconds of the start ──▶ wait
 *   startup probe of a started container, or other probes before it started ──▶ wait
 *   probe ──▶ after successThreshold successes or failureThreshold failures in a row, the result
 *
 * Upstream also delays each worker's first probe by a random part of its period just after the
 * kubelet starts (spreading the load); we leave that out so that timing stays deterministic.
 */
import type { Container, ContainerStatus, Pod, PodStatus, Probe } from '../../api/generated/types/core-v1.ts'
import type { Clock, Timer } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import type { RuntimeService } from '../runtime/runtime.ts'
import { noNetwork, type ProbeNetwork } from './network.ts'
import { probeDefaults, runProbe } from './probe.ts'

export type ProbeType = 'startup' | 'liveness' | 'readiness'
type Result = 'success' | 'failure' | 'unknown'

export const reasonUnhealthy = 'Unhealthy'
export const reasonProbeWarning = 'ProbeWarning'

export interface ProbeEventRecorder {
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void
}

export interface ProbeManagerOptions {
  runtime: Pick<RuntimeService, 'execSync'>
  clock: Clock
  /** Where httpGet, tcpSocket and grpc probes connect; without one they fail (./network.ts). */
  network?: ProbeNetwork
  events?: ProbeEventRecorder
  /** The pod's status as the kubelet last generated it: container ids, states, started. */
  statusOf: (uid: string) => PodStatus | undefined
  /** A probe result changed: the pod should be synced again. */
  onChange: (uid: string) => void
  log?: Logger
}

/** Why a running container must be killed: its liveness or startup probe failed. */
export interface FailedProbe {
  probeType: 'liveness' | 'startup'
  probe: Readonly<Probe>
}

export class ProbeManager {
  readonly #o: ProbeManagerOptions
  readonly #network: ProbeNetwork
  /** Workers by pod uid, then `${containerName}/${probeType}`. */
  readonly #pods = new Map<string, Map<string, ProbeWorker>>()

  constructor(o: ProbeManagerOptions) {
    this.#o = o
    this.#network = o.network ?? noNetwork
  }

  /** Starts the workers of a pod's probes (sidecars' and app containers'); a pod added before is only updated. */
  addPod(pod: Readonly<Pod>): void {
    const uid = pod.metadata?.uid ?? ''
    if (this.#pods.has(uid)) return this.updatePod(pod)
    const workers = new Map<string, ProbeWorker>()
    const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')
    for (const container of [...sidecars, ...(pod.spec?.containers ?? [])]) {
      const probes: [ProbeType, Probe | undefined][] = [
        ['startup', container.startupProbe],
        ['liveness', container.livenessProbe],
        ['readiness', container.readinessProbe],
      ]
      for (const [type, probe] of probes) {
        if (probe === undefined) continue
        workers.set(
          `${container.name}/${type}`,
          new ProbeWorker(this.#o, this.#network, { pod, container, type, probe }),
        )
      }
    }
    if (workers.size === 0) return
    this.#pods.set(uid, workers)
    for (const w of workers.values()) w.start()
  }

  /** The pod changed (a deletionTimestamp stops liveness and startup probes). */
  updatePod(pod: Readonly<Pod>): void {
    for (const w of this.#pods.get(pod.metadata?.uid ?? '')?.values() ?? []) w.pod = pod
  }

  /** Stops the pod's workers and forgets their results. */
  removePod(uid: string): void {
    for (const w of this.#pods.get(uid)?.values() ?? []) w.stop()
    this.#pods.delete(uid)
  }

  /** Whether a running container has started: its startup probe succeeded, or it has none. */
  isStarted(uid: string, containerName: string, containerId: string): boolean {
    const w = this.#worker(uid, containerName, 'startup')
    if (w === undefined) return true
    return w.containerId === containerId && w.result === 'success'
  }

  /** Whether a running, started container is ready: its readiness probe succeeded, or it has none. */
  isReady(uid: string, containerName: string, containerId: string): boolean {
    const w = this.#worker(uid, containerName, 'readiness')
    if (w === undefined) return true
    return w.containerId === containerId && w.result === 'success'
  }

  /**
   * The pod's status was written: the readiness probe of a running, started container that is not
   * ready runs at once (upstream's manual trigger), so a container need not wait a period to be ready.
   */
  statusUpdated(uid: string): void {
    const status = this.#o.statusOf(uid)
    for (const w of this.#pods.get(uid)?.values() ?? []) {
      if (w.type !== 'readiness') continue
      const c = [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])].find(
        (s) => s.name === w.container.name,
      )
      if (!c?.state?.running || !c.started || !c.containerID) continue
      if (!c.containerID.endsWith(`://${w.containerId}`) || w.result !== 'success') w.trigger()
    }
  }

  /** Stops every worker (the kubelet stops). */
  stop(): void {
    for (const uid of [...this.#pods.keys()]) this.removePod(uid)
  }

  /** The probe whose failure means this running container must be killed, if any. */
  failedProbe(uid: string, containerName: string, containerId: string): FailedProbe | undefined {
    for (const type of ['liveness', 'startup'] as const) {
      const w = this.#worker(uid, containerName, type)
      if (w !== undefined && w.containerId === containerId && w.result === 'failure') {
        return { probeType: type, probe: w.probe }
      }
    }
    return undefined
  }

  /** How many workers run (tests, housekeeping). */
  get workerCount(): number {
    let n = 0
    for (const workers of this.#pods.values()) n += workers.size
    return n
  }

  #worker(uid: string, containerName: string, type: ProbeType): ProbeWorker | undefined {
    return this.#pods.get(uid)?.get(`${containerName}/${type}`)
  }
}

const initialResult: Record<ProbeType, Result> = {
  readiness: 'failure',
  liveness: 'success',
  startup: 'unknown',
}

const typeName: Record<ProbeType, string> = {
  startup: 'Startup',
  liveness: 'Liveness',
  readiness: 'Readiness',
}

class ProbeWorker {
  pod: Readonly<Pod>
  readonly container: Readonly<Container>
  readonly type: ProbeType
  readonly probe: Readonly<Probe>
  /** The CRI id of the container the result is about. */
  containerId: string | undefined
  result: Result
  readonly #o: ProbeManagerOptions
  readonly #network: ProbeNetwork
  readonly #uid: string
  #lastResult: Result = 'unknown'
  #resultRun = 0
  #onHold = false
  #timer: Timer | undefined
  #running = false
  #stopped = false

  constructor(
    o: ProbeManagerOptions,
    network: ProbeNetwork,
    w: { pod: Readonly<Pod>; container: Readonly<Container>; type: ProbeType; probe: Readonly<Probe> },
  ) {
    this.#o = o
    this.#network = network
    this.pod = w.pod
    this.container = w.container
    this.type = w.type
    this.probe = w.probe
    this.result = initialResult[w.type]
    this.#uid = w.pod.metadata?.uid ?? ''
  }

  start(): void {
    this.#run()
  }

  stop(): void {
    this.#stopped = true
    this.#timer?.cancel()
    this.#timer = undefined
  }

  /** Probe now instead of at the next period (readiness of a new container). */
  trigger(): void {
    if (this.#running || this.#stopped) return
    this.#timer?.cancel()
    this.#run()
  }

  #run(): void {
    this.#timer = undefined
    if (this.#running || this.#stopped) return
    this.#running = true
    const startedMs = this.#o.clock.now()
    const periodMs = probeDefaults(this.probe).periodSeconds * 1000
    this.#doProbe()
      .catch((err: unknown) => {
        this.#o.log?.error(
          { err, pod: this.pod.metadata?.name, container: this.container.name },
          'probe worker failed',
        )
        return true
      })
      .then((keepGoing) => {
        this.#running = false
        if (!keepGoing || this.#stopped) return
        const waitMs = Math.max(0, startedMs + periodMs - this.#o.clock.now())
        this.#timer = this.#o.clock.setTimer(waitMs, () => this.#run())
      })
      .catch(() => {})
  }

  /** One round; false when the worker should stop for good. */
  async #doProbe(): Promise<boolean> {
    const status = this.#o.statusOf(this.#uid)
    const isSidecar = (this.pod.spec?.initContainers ?? []).some((c) => c.name === this.container.name)
    const statuses = (isSidecar ? status?.initContainerStatuses : status?.containerStatuses) ?? []
    const c: ContainerStatus | undefined = statuses.find((s) => s.name === this.container.name)
    if (c === undefined || !c.containerID) return true
    const id = c.containerID.slice(c.containerID.indexOf('://') + 3)
    if (this.containerId !== id) {
      this.containerId = id
      this.result = initialResult[this.type]
      this.#lastResult = 'unknown'
      this.#resultRun = 0
      this.#onHold = false
    }
    if (this.#onHold) return true
    const running = c.state?.running
    if (running === undefined) {
      this.result = 'failure'
      return c.state?.terminated === undefined || this.pod.spec?.restartPolicy !== 'Never'
    }
    if (this.pod.metadata?.deletionTimestamp && this.type !== 'readiness') {
      this.#set('success')
      return false
    }
    const d = probeDefaults(this.probe)
    const startedAtMs = Date.parse(running.startedAt ?? '')
    if (Number.isFinite(startedAtMs) && this.#o.clock.now() - startedAtMs < d.initialDelaySeconds * 1000) {
      return true
    }
    if (c.started === true ? this.type === 'startup' : this.type !== 'startup') return true

    let outcome
    try {
      outcome = await runProbe(this.probe, {
        runtime: this.#o.runtime,
        network: this.#network,
        clock: this.#o.clock,
        container: this.container,
        containerId: id,
        podIP: status?.podIP ?? '',
      })
    } catch (err) {
      // Not a result: keep the last one (upstream's probe error).
      this.#event(
        'Warning',
        reasonUnhealthy,
        `${typeName[this.type]} probe errored and resulted in unknown state: ${(err as Error).message}`,
      )
      return true
    }
    if (this.#stopped || this.containerId !== id) return true
    if (outcome.result === 'failure') {
      this.#event('Warning', reasonUnhealthy, `${typeName[this.type]} probe failed: ${outcome.output}`)
    } else if (outcome.result === 'warning') {
      this.#event('Warning', reasonProbeWarning, `${typeName[this.type]} probe warning: ${outcome.output}`)
    }
    const result: Result = outcome.result === 'failure' ? 'failure' : 'success'
    if (result === this.#lastResult) this.#resultRun++
    else {
      this.#lastResult = result
      this.#resultRun = 1
    }
    const threshold = result === 'failure' ? d.failureThreshold : d.successThreshold
    if (this.#resultRun < threshold) return true
    this.#set(result)
    if (result === 'failure' && this.type !== 'readiness') {
      // The container will be killed: probe no more until the next one is seen.
      this.#onHold = true
      this.#resultRun = 0
    }
    return true
  }

  #set(result: Result): void {
    if (this.result === result) return
    this.result = result
    this.#o.onChange(this.#uid)
  }

  #event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#o.events?.event(this.pod, type, reason, message)
  }
}
