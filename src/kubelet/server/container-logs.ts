/**
 * The kubelet API's `GET /containerLogs/{namespace}/{pod}/{container}`: a container's log as the
 * apiserver proxies it for `kubectl logs` (upstream's getContainerLogs, GetKubeletContainerLogs
 * and the CRI log reader). The query is PodLogOptions:
 *
 *   previous     the last terminated instance (the pod status's lastState.terminated) instead
 *                of the current one
 *   sinceSeconds, sinceTime   only entries written from then on
 *   tailLines    only the last N entries already written (0: none), then what follows
 *   limitBytes   at most this many bytes in all (a cut entry ends the answer, follow or not)
 *   timestamps   each entry after its time (RFC 3339 with nanoseconds) and a space
 *   follow       keep the answer open, writing entries as the container writes them, until it
 *                exits or the client goes away
 *
 * Which container instance to read comes from the pod's status (the API's copy, which this
 * kubelet writes); its log from the runtime through a ContainerOutputReader, never from a runtime
 * directly. Errors are plain text with upstream's words: 404 for an unknown pod or container, 400
 * for a container with no log to show (waiting, no previous instance).
 */
import type { ServerResponse } from 'node:http'
import type { ContainerStatus, Pod } from '../../api/generated/types/core-v1.ts'
import {
  podLogOptionsFromQuery,
  rfc3339Ms,
  validatePodLogOptions,
  type PodLogOptions,
} from '../../api/pod-log-options.ts'
import type { Clock } from '../../base/clock.ts'
import type { ContainerLogLine, ContainerOutputReader } from '../pod/termination-message.ts'
import type { ContainerRuntime } from '../runtime/runtime.ts'

/** How often a followed log is read again for what the container wrote since. */
export const followPollMs = 200

export interface ContainerLogsDeps {
  /** The pods bound to this node, with the status this kubelet reported. */
  pods: () => readonly Pod[]
  runtime: Pick<ContainerRuntime, 'containerStatus'>
  containerOutput: ContainerOutputReader
  clock: Clock
}

/** A request the kubelet answers with a status code and a text (upstream's response.WriteError). */
export class ContainerLogsError extends Error {
  readonly status: number

  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

/**
 * Writes the log of `/containerLogs/<path>` (`path` still URL-encoded) to `res` (200,
 * text/plain), or throws a ContainerLogsError before anything is written. Ends when the log has
 * been written (with follow: when the container exits) or `signal` aborts.
 */
export async function serveContainerLogs(
  d: ContainerLogsDeps,
  request: { path: string; query: URLSearchParams; signal: AbortSignal },
  res: ServerResponse,
): Promise<void> {
  const [namespace = '', podName = '', container = ''] = request.path.split('/').map(decodeSegment)
  if (podName === '') throw new ContainerLogsError(400, '{"message": "Missing podID."}')
  if (container === '') throw new ContainerLogsError(400, '{"message": "Missing container name."}')
  if (namespace === '') throw new ContainerLogsError(400, '{"message": "Missing podNamespace."}')
  let options: PodLogOptions
  try {
    options = podLogOptionsFromQuery(request.query)
  } catch {
    throw new ContainerLogsError(400, '{"message": "Unable to decode query."}')
  }
  if (validatePodLogOptions(options).length > 0)
    throw new ContainerLogsError(422, '{"message": "Invalid request."}')
  const pod = d.pods().find((p) => p.metadata?.namespace === namespace && p.metadata.name === podName)
  if (!pod) throw new ContainerLogsError(404, `pod ${JSON.stringify(podName)} does not exist`)
  if (!specNames(pod).includes(container))
    throw new ContainerLogsError(
      404,
      `container ${JSON.stringify(container)} not found in pod ${JSON.stringify(podName)}`,
    )
  const containerId = containerIdToRead(pod, container, options.previous ?? false)
  const { status } = await d.runtime
    .containerStatus({ containerId }, { signal: request.signal })
    .catch((err: unknown) => {
      throw new ContainerLogsError(
        400,
        `failed to get container status ${JSON.stringify(containerId)}: ${(err as Error).message}`,
      )
    })
  if (!status)
    throw new ContainerLogsError(400, `failed to get container status ${JSON.stringify(containerId)}`)

  const writer = new LogWriter(res, options)
  const sinceMs =
    options.sinceSeconds !== undefined
      ? d.clock.now() - options.sinceSeconds * 1000
      : options.sinceTime !== undefined
        ? rfc3339Ms(options.sinceTime)
        : undefined
  const keep = (l: ContainerLogLine) => sinceMs === undefined || l.timeMs >= sinceMs
  let { lines, ended } = await d.containerOutput.readLogLines(status, 0)
  let read = lines.length
  if (options.tailLines !== undefined) lines = lines.slice(Math.max(0, lines.length - options.tailLines))
  writer.start()
  if (!writer.write(lines.filter(keep))) return writer.end()
  while (options.follow && !ended && !request.signal.aborted) {
    try {
      await d.clock.sleep(followPollMs, request.signal)
      ;({ lines, ended } = await d.containerOutput.readLogLines(status, read))
    } catch {
      break // the client went away, or the container was removed: its log is over
    }
    read += lines.length
    if (!writer.write(lines.filter(keep))) break
  }
  writer.end()
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new ContainerLogsError(400, `malformed path segment ${JSON.stringify(segment)}`)
  }
}

/** The container ID (without its runtime's scheme) whose log to read: validateContainerLogStatus. */
export function containerIdToRead(pod: Readonly<Pod>, container: string, previous: boolean): string {
  const podName = pod.metadata?.name ?? ''
  const where = `${JSON.stringify(container)} in pod ${JSON.stringify(podName)}`
  const s = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ].find((c: ContainerStatus) => c.name === container)
  if (!s) throw new ContainerLogsError(400, `container ${where} is not available`)
  const last = s.lastState?.terminated
  const { waiting, running, terminated } = s.state ?? {}
  let id: string | undefined
  if (previous) {
    if (!last?.containerID)
      throw new ContainerLogsError(400, `previous terminated container ${where} not found`)
    id = last.containerID
  } else if (running) {
    id = s.containerID
  } else if (terminated) {
    // A container that could not start again has no ID of its own: the last one that ran.
    id = terminated.containerID || last?.containerID
    if (!id) throw new ContainerLogsError(400, `container ${where} is terminated`)
  } else if (last) {
    id = last.containerID
    if (!id) throw new ContainerLogsError(400, `container ${where} is terminated`)
  } else if (waiting) {
    const why =
      waiting.reason === 'ErrImagePull'
        ? "image can't be pulled"
        : waiting.reason === 'ImagePullBackOff'
          ? 'trying and failing to pull image'
          : (waiting.reason ?? '')
    throw new ContainerLogsError(400, `container ${where} is waiting to start: ${why}`)
  }
  if (!id) throw new ContainerLogsError(400, `container ${where} is in an unknown state`)
  const scheme = id.indexOf('://')
  return scheme < 0 ? id : id.slice(scheme + 3)
}

/** The names of the pod's containers, init containers and ephemeral containers. */
function specNames(pod: Readonly<Pod>): string[] {
  return [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []),
    ...(pod.spec?.ephemeralContainers ?? []),
  ].map((c) => c.name)
}

/** RFC 3339 with nine fractional digits (upstream's RFC3339NanoFixed), in UTC. */
export function logTimestamp(timeMs: number): string {
  return new Date(timeMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')
}

/** Writes entries as the options shape them, and stops at limitBytes. */
class LogWriter {
  readonly #res: ServerResponse
  readonly #timestamps: boolean
  #left: number

  constructor(res: ServerResponse, options: PodLogOptions) {
    this.#res = res
    this.#timestamps = options.timestamps ?? false
    this.#left = options.limitBytes ?? Infinity
  }

  start(): void {
    this.#res.statusCode = 200
    this.#res.setHeader('Content-Type', 'text/plain')
    this.#res.flushHeaders()
  }

  /** Writes the entries; false once limitBytes is reached (nothing more may be written). */
  write(lines: readonly ContainerLogLine[]): boolean {
    if (lines.length === 0) return this.#left > 0
    let text = ''
    for (const l of lines) text += this.#timestamps ? `${logTimestamp(l.timeMs)} ${l.text}` : l.text
    let bytes = Buffer.from(text, 'utf8')
    if (bytes.length >= this.#left) bytes = bytes.subarray(0, this.#left)
    this.#left -= bytes.length
    this.#res.write(bytes)
    return this.#left > 0
  }

  end(): void {
    this.#res.end()
  }
}
