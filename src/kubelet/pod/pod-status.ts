/**
 * The pod status the kubelet reports, computed from what the runtime says about the pod's
 * sandboxes and containers (pkg/kubelet/kubelet_pods.go generateAPIPodStatus, getPhase,
 * convertToAPIContainerStatuses, and pkg/kubelet/status/generate.go for the conditions).
 * Pure functions: the pod worker gathers the inputs, the status manager writes the result.
 */
import type {
  Container,
  ContainerState,
  ContainerStatus,
  Pod,
  PodCondition,
  PodStatus,
} from '../../api/generated/types/core-v1.ts'
import type * as cri from '../runtime/runtime.ts'
import { qosClassOf } from './runtime-config.ts'

/** One container as the runtime reports it, with the kubelet's labels read back. */
export interface RuntimeContainer {
  name: string
  sandboxId: string
  restartCount: number
  status: cri.ContainerStatus
}

/** The runtime's view of one pod; both lists newest first. */
export interface RuntimePod {
  sandboxes: cri.PodSandboxStatus[]
  containers: RuntimeContainer[]
}

/** Why a container is waiting, when the kubelet knows better than the runtime (upstream's reasonCache). */
export interface WaitingReason {
  reason: string
  message: string
}

// Waiting reasons and condition reasons, as the kubelet writes them.
export const reasonContainerCreating = 'ContainerCreating'
export const reasonPodInitializing = 'PodInitializing'
export const reasonCrashLoopBackOff = 'CrashLoopBackOff'
export const reasonErrImagePull = 'ErrImagePull'
export const reasonImagePullBackOff = 'ImagePullBackOff'
export const reasonErrImageNeverPull = 'ErrImageNeverPull'
export const reasonCreateContainerError = 'CreateContainerError'
export const reasonRunContainerError = 'RunContainerError'
export const reasonContainersNotInitialized = 'ContainersNotInitialized'
export const reasonContainersNotReady = 'ContainersNotReady'
export const reasonPodCompleted = 'PodCompleted'
export const reasonPodFailed = 'PodFailed'

export const conditionPodReadyToStartContainers = 'PodReadyToStartContainers'
export const conditionInitialized = 'Initialized'
export const conditionContainersReady = 'ContainersReady'
export const conditionReady = 'Ready'
export const conditionPodScheduled = 'PodScheduled'

/** Conditions the kubelet owns; others (PodScheduled, DisruptionTarget, readiness gates) are kept as found. */
export const kubeletConditions: readonly string[] = [
  conditionPodReadyToStartContainers,
  conditionInitialized,
  conditionContainersReady,
  conditionReady,
]

export interface GenerateStatusInput {
  pod: Readonly<Pod>
  runtime: RuntimePod
  reasons: ReadonlyMap<string, WaitingReason>
  /** VersionResponse.runtimeName: container IDs are `<runtimeName>://<id>`. */
  runtimeName: string
  hostIPs: readonly string[]
  /** The pod has been stopped for good (terminated, or deleted): containers will not restart. */
  podIsTerminal: boolean
  /** Startup and readiness probe results (../prober); without them a running container is started and ready. */
  probes?: ContainerProbeResults
}

/** What the probes say about a running container (the prober manager's UpdatePodStatus). */
export interface ContainerProbeResults {
  /** Its startup probe succeeded, or it has none. */
  isStarted(containerName: string, containerId: string): boolean
  /** Its readiness probe succeeded, or it has none. */
  isReady(containerName: string, containerId: string): boolean
}

/** RFC 3339 at seconds, as metav1.Time marshals; CRI timestamps are nanoseconds. */
export function timeOfNanos(ns: number): string {
  return new Date(Math.floor(ns / 1e6)).toISOString().replace(/\.\d+Z$/, 'Z')
}

export function isPodPhaseTerminal(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed'
}

/** The newest container of `name` (in any sandbox). */
export function latestContainer(runtime: RuntimePod, name: string): RuntimeContainer | undefined {
  return runtime.containers.find((c) => c.name === name)
}

/** kubecontainer.ShouldContainerBeRestarted: whether the next sync (re)starts this container. */
export function shouldContainerBeRestarted(
  pod: Readonly<Pod>,
  container: Readonly<Container>,
  runtime: RuntimePod,
): boolean {
  if (pod.metadata?.deletionTimestamp) return false
  const latest = latestContainer(runtime, container.name)
  if (latest === undefined) return true
  const state = latest.status.state
  if (state === 'CONTAINER_RUNNING') return false
  if (state !== 'CONTAINER_EXITED') return true
  const policy = container.restartPolicy ?? pod.spec?.restartPolicy ?? 'Always'
  if (policy === 'Never') return false
  if (policy === 'OnFailure' && latest.status.exitCode === 0) return false
  return true
}

/**
 * Whether the runtime needs a new sandbox (PodSandboxChanged): none, more than one ready, the
 * newest not ready, or no IP for a pod that is not on the host network.
 */
export function podSandboxChanged(pod: Readonly<Pod>, runtime: RuntimePod): boolean {
  const latest = runtime.sandboxes[0]
  if (latest === undefined) return true
  if (runtime.sandboxes.filter((s) => s.state === 'SANDBOX_READY').length > 1) return true
  if (latest.state !== 'SANDBOX_READY') return true
  if (!pod.spec?.hostNetwork && !latest.network?.ip) return true
  return false
}

export function generatePodStatus(input: GenerateStatusInput): PodStatus {
  const { pod, runtime } = input
  const spec = pod.spec
  const old = pod.status ?? {}
  const hasInit = (spec?.initContainers ?? []).length > 0
  const initContainerStatuses = containerStatuses(input, spec?.initContainers ?? [], {
    hasInit,
    isInit: true,
  })
  const appStatuses = containerStatuses(input, spec?.containers ?? [], { hasInit, isInit: false })
  const phase = podPhase(pod, initContainerStatuses, appStatuses, input.podIsTerminal)

  const sandbox = runtime.sandboxes.find((s) => s.state === 'SANDBOX_READY') ?? runtime.sandboxes[0]
  const ips = spec?.hostNetwork
    ? [...input.hostIPs]
    : sandbox?.network?.ip
      ? [sandbox.network.ip, ...(sandbox.network.additionalIps ?? []).map((a) => a.ip)]
      : (old.podIPs ?? []).map((p) => p.ip ?? '').filter((ip) => ip !== '')

  const all = [...initContainerStatuses, ...appStatuses]
  const conditions: PodCondition[] = [
    { type: conditionPodReadyToStartContainers, status: podSandboxChanged(pod, runtime) ? 'False' : 'True' },
    initializedCondition(pod, all, phase),
    readyCondition(pod, all, phase),
    containersReadyCondition(pod, all, phase),
  ]
  const status: PodStatus = {
    phase,
    conditions,
    ...(input.hostIPs.length > 0
      ? { hostIP: input.hostIPs[0], hostIPs: input.hostIPs.map((ip) => ({ ip })) }
      : {}),
    ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
    ...(old.startTime ? { startTime: old.startTime } : {}),
    ...(hasInit ? { initContainerStatuses } : {}),
    containerStatuses: appStatuses,
    qosClass: old.qosClass ?? qosClassOf(pod),
  }
  return status
}

function containerStatuses(
  input: GenerateStatusInput,
  containers: readonly Container[],
  o: { hasInit: boolean; isInit: boolean },
): ContainerStatus[] {
  const { pod, runtime } = input
  return containers.map((container) => {
    const seen = runtime.containers.filter((c) => c.name === container.name)
    const latest = seen[0]
    const previous = seen[1]
    const status: ContainerStatus = {
      name: container.name,
      state: { waiting: { reason: o.hasInit ? reasonPodInitializing : reasonContainerCreating } },
      ready: false,
      restartCount: 0,
      image: container.image ?? '',
      imageID: '',
      started: false,
    }
    if (latest !== undefined) {
      Object.assign(status, {
        restartCount: latest.restartCount,
        image: latest.status.image?.image || container.image || '',
        imageID: latest.status.imageRef,
        containerID: `${input.runtimeName}://${latest.status.id}`,
        state: stateOf(latest, input.runtimeName),
      })
      if (previous !== undefined) status.lastState = stateOf(previous, input.runtimeName)
      const running = latest.status.state === 'CONTAINER_RUNNING'
      const id = latest.status.id
      const sidecar = o.isInit && container.restartPolicy === 'Always'
      // A container is started once its startup probe succeeded, and ready once started and its
      // readiness probe succeeded; a plain init container is ready once it completed.
      status.started = running && (input.probes?.isStarted(container.name, id) ?? true)
      if (o.isInit && !sidecar) {
        status.ready = latest.status.state === 'CONTAINER_EXITED' && latest.status.exitCode === 0
      } else {
        status.ready = status.started && (input.probes?.isReady(container.name, id) ?? true)
      }
    }
    if (!status.lastState) status.lastState = {}
    // A container the next sync would (re)start is waiting, with the reason the kubelet last gave.
    const completedInit =
      o.isInit && latest?.status.state === 'CONTAINER_EXITED' && latest.status.exitCode === 0
    const reason = input.reasons.get(container.name)
    if (!completedInit && reason !== undefined && shouldContainerBeRestarted(pod, container, runtime)) {
      if (status.state?.terminated) status.lastState = status.state
      status.state = { waiting: { reason: reason.reason, message: reason.message } }
    }
    return status
  })
}

function stateOf(c: RuntimeContainer, runtimeName: string): ContainerState {
  const s = c.status
  switch (s.state) {
    case 'CONTAINER_RUNNING':
      return { running: { startedAt: timeOfNanos(s.startedAt) } }
    case 'CONTAINER_EXITED':
      return {
        terminated: {
          exitCode: s.exitCode,
          ...(s.reason ? { reason: s.reason } : {}),
          ...(s.message ? { message: s.message } : {}),
          ...(s.startedAt ? { startedAt: timeOfNanos(s.startedAt) } : {}),
          finishedAt: timeOfNanos(s.finishedAt),
          containerID: `${runtimeName}://${s.id}`,
        },
      }
    default:
      return { waiting: {} }
  }
}

/** getPhase: Pending, Running, Succeeded or Failed from the container statuses. */
export function podPhase(
  pod: Readonly<Pod>,
  initStatuses: readonly ContainerStatus[],
  statuses: readonly ContainerStatus[],
  podIsTerminal: boolean,
): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  const spec = pod.spec
  const policy = spec?.restartPolicy ?? 'Always'
  let pendingInit = 0
  let failedInit = 0
  for (const c of spec?.initContainers ?? []) {
    if (c.restartPolicy === 'Always') continue // sidecars do not decide the phase
    const s = initStatuses.find((x) => x.name === c.name)
    if (s === undefined || s.state?.running) pendingInit++
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++
    } else if (s.lastState?.terminated) {
      if (s.lastState.terminated.exitCode !== 0) failedInit++
    } else pendingInit++
  }
  let unknown = 0
  let running = 0
  let waiting = 0
  let stopped = 0
  let succeeded = 0
  for (const c of spec?.containers ?? []) {
    const s = statuses.find((x) => x.name === c.name)
    if (s === undefined) unknown++
    else if (s.state?.running) running++
    else if (s.state?.terminated) {
      stopped++
      if (s.state.terminated.exitCode === 0) succeeded++
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++
      else waiting++
    } else unknown++
  }
  if (failedInit > 0 && policy === 'Never') return 'Failed'
  const anyRegularStarted = statuses.some(
    (s) => s.state?.running || s.state?.terminated || s.lastState?.terminated,
  )
  if ((pendingInit > 0 && !anyRegularStarted) || waiting > 0) return 'Pending'
  if (running > 0 && unknown === 0) return 'Running'
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed'
    if (policy === 'Always') return 'Running'
    if (stopped === succeeded) return 'Succeeded'
    if (policy === 'Never') return 'Failed'
    return 'Running'
  }
  return 'Pending'
}

/** Go prints a []string as [a b]. */
const goList = (names: readonly string[]) => `[${names.join(' ')}]`

function initializedCondition(
  pod: Readonly<Pod>,
  all: readonly ContainerStatus[],
  phase: string,
): PodCondition {
  const inits = pod.spec?.initContainers ?? []
  if (inits.length === 0) return { type: conditionInitialized, status: 'True' }
  const unknown: string[] = []
  const incomplete: string[] = []
  for (const c of inits) {
    const s = all.find((x) => x.name === c.name)
    if (s === undefined) unknown.push(c.name)
    else if (c.restartPolicy === 'Always') {
      if (!s.started) incomplete.push(c.name)
    } else if (!s.state?.terminated || s.state.terminated.exitCode !== 0) incomplete.push(c.name)
  }
  if (phase === 'Succeeded' && unknown.length === 0) {
    return { type: conditionInitialized, status: 'True', reason: reasonPodCompleted }
  }
  const regular = new Set((pod.spec?.containers ?? []).map((c) => c.name))
  if (
    all.some(
      (s) => regular.has(s.name) && (s.state?.running || s.state?.terminated || s.lastState?.terminated),
    )
  ) {
    return { type: conditionInitialized, status: 'True' }
  }
  const messages: string[] = []
  if (unknown.length > 0) messages.push(`containers with unknown status: ${goList(unknown)}`)
  if (incomplete.length > 0) messages.push(`containers with incomplete status: ${goList(incomplete)}`)
  if (messages.length > 0) {
    return {
      type: conditionInitialized,
      status: 'False',
      reason: reasonContainersNotInitialized,
      message: messages.join(', '),
    }
  }
  return { type: conditionInitialized, status: 'True' }
}

function containersReadyCondition(
  pod: Readonly<Pod>,
  statuses: readonly ContainerStatus[],
  phase: string,
): PodCondition {
  return { ...readiness(pod, statuses, phase), type: conditionContainersReady }
}

/** Ready follows ContainersReady (readiness gates would be checked here). */
function readyCondition(
  pod: Readonly<Pod>,
  statuses: readonly ContainerStatus[],
  phase: string,
): PodCondition {
  return { ...readiness(pod, statuses, phase), type: conditionReady }
}

function readiness(pod: Readonly<Pod>, statuses: readonly ContainerStatus[], phase: string): PodCondition {
  // statuses: sidecars' (from initContainerStatuses) and the app containers'.
  const unknown: string[] = []
  const unready: string[] = []
  const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')
  for (const c of [...sidecars, ...(pod.spec?.containers ?? [])]) {
    const s = statuses.find((x) => x.name === c.name)
    if (s === undefined) unknown.push(c.name)
    else if (!s.ready) unready.push(c.name)
  }
  if (phase === 'Succeeded' && unknown.length === 0)
    return { type: '', status: 'False', reason: reasonPodCompleted }
  if (phase === 'Failed') return { type: '', status: 'False', reason: reasonPodFailed }
  const messages: string[] = []
  if (unknown.length > 0) messages.push(`containers with unknown status: ${goList(unknown)}`)
  if (unready.length > 0) messages.push(`containers with unready status: ${goList(unready)}`)
  if (messages.length > 0) {
    return { type: '', status: 'False', reason: reasonContainersNotReady, message: messages.join(', ') }
  }
  return { type: '', status: 'True' }
}
