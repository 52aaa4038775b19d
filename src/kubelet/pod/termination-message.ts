/**
 * A container's termination message (kuberuntime toKubeContainerStatus and getTerminationMessage),
 * shown in containerStatuses[].state.terminated.message once the container has exited:
 *
 *   - what the container wrote to its terminationMessagePath (default /dev/termination-log), at
 *     most the last 4096 bytes;
 *   - with terminationMessagePolicy FallbackToLogsOnError, when it exited non-zero and wrote
 *     nothing there: the last 80 lines of its log, at most the last 2048 bytes;
 *   - after the runtime's own message, if any, and ": ".
 *
 * The path and policy come from the container's annotations (./runtime-config.ts), so a listing
 * of the runtime is enough. How the file and the log are read depends on the runtime: on a node,
 * the kubelet mounts a file of its own at the path and reads the CRI log file; the fake runtime
 * answers from its in-memory container (fakeOutputReader).
 */
import type * as cri from '../runtime/runtime.ts'
import { terminationMessagePathAnnotation, terminationMessagePolicyAnnotation } from './runtime-config.ts'

/** MaxContainerTerminationMessageLength. */
export const maxTerminationMessageBytes = 4096
/** MaxContainerTerminationMessageLogLines. */
export const maxTerminationMessageLogLines = 80
/** MaxContainerTerminationMessageLogLength. */
export const maxTerminationMessageLogBytes = 2048

/**
 * One entry of a container's log, as a CRI log file holds them: when it was written (ms since the
 * epoch), on which stream, and its text: a line with its newline, or a piece of a line the
 * container has not ended yet (no newline), whose rest comes in the next entries.
 */
export interface ContainerLogLine {
  timeMs: number
  stream: 'stdout' | 'stderr'
  text: string
}

/**
 * Reads what a container left behind: its files (termination messages, for the pod workers) and
 * its log (termination messages, and the kubelet API's /containerLogs). Runtime-specific: a node
 * reads the CRI log file at status.logPath; the fake runtime answers from its containers.
 */
export interface ContainerOutputReader {
  /** The content of the container's file at `path`, or undefined when there is none. */
  readFile(status: Readonly<cri.ContainerStatus>, path: string): Promise<string | undefined>
  /** The container's log (stdout and stderr as written), or its last `lines` lines. */
  readLog(status: Readonly<cri.ContainerStatus>, lines: number): Promise<string>
  /**
   * The container's log entry by entry, oldest first, from entry `from` on (0: all of it), and
   * whether it has ended: the container exited, so no entry will follow. Entries are only ever
   * added at the end, so a caller follows the log by asking again from past what it has read.
   * Throws (the runtime's NotFound) once the container is removed.
   */
  readLogLines(
    status: Readonly<cri.ContainerStatus>,
    from: number,
  ): Promise<{ lines: ContainerLogLine[]; ended: boolean }>
}

/** The message of an exited container: the runtime's, then the termination message. */
export async function terminationMessageOf(
  status: Readonly<cri.ContainerStatus>,
  reader: ContainerOutputReader,
): Promise<string> {
  if (status.state !== 'CONTAINER_EXITED') return status.message
  const path = status.annotations[terminationMessagePathAnnotation] ?? ''
  const policy = status.annotations[terminationMessagePolicyAnnotation] ?? 'File'
  // A container that could not even start has no logs to fall back to.
  const fallbackToLogs =
    policy === 'FallbackToLogsOnError' && status.exitCode !== 0 && status.reason !== 'ContainerCannotRun'
  let message = ''
  let readLogs = fallbackToLogs
  if (path !== '') {
    try {
      const content = await reader.readFile(status, path)
      if (content !== undefined) {
        message = lastBytes(content, maxTerminationMessageBytes)
        readLogs = fallbackToLogs && message === ''
      }
    } catch (err) {
      message = `Error on reading termination log ${path}: ${(err as Error).message}`
      readLogs = false
    }
  }
  if (readLogs) {
    try {
      const log = await reader.readLog(status, maxTerminationMessageLogLines)
      message = lastBytes(lastLines(log, maxTerminationMessageLogLines), maxTerminationMessageLogBytes)
    } catch (err) {
      message = `Error on reading termination message from logs: ${(err as Error).message}`
    }
  }
  if (message === '') return status.message
  return status.message === '' ? message : `${status.message}: ${message}`
}

/** The last `n` lines (a final newline ends the last line, it does not start another). */
export function lastLines(text: string, n: number): string {
  let end = text.length
  if (text.endsWith('\n')) end--
  let start = end
  for (let seen = 0; start > 0; start--) {
    if (text[start - 1] === '\n' && ++seen === n) break
  }
  return text.slice(start)
}

/** The last `n` bytes of the UTF-8 text (a character cut in two is dropped). */
export function lastBytes(text: string, n: number): string {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= n) return text
  return bytes
    .subarray(bytes.length - n)
    .toString('utf8')
    .replace(/^\uFFFD+/, '')
}

/** The part of the fake runtime the reader needs (FakeRuntime.containerOutput and containerLog). */
export interface ContainerOutputSource {
  containerOutput(containerId: string): { file(path: string): string | undefined; log: string }
  containerLog(containerId: string): {
    writes: { atMs: number; stream: 'stdout' | 'stderr'; text: string }[]
    ended: boolean
  }
}

/** The reader for the fake runtime: its containers' in-memory files and output. */
export function fakeOutputReader(runtime: ContainerOutputSource): ContainerOutputReader {
  return {
    readFile: (status, path) => Promise.resolve(runtime.containerOutput(status.id).file(path)),
    readLog: (status, lines) => Promise.resolve(lastLines(runtime.containerOutput(status.id).log, lines)),
    readLogLines: async (status, from) => {
      const log = runtime.containerLog(status.id)
      const lines = log.writes.flatMap((w) =>
        splitLines(w.text).map((text) => ({ timeMs: w.atMs, stream: w.stream, text })),
      )
      return { lines: lines.slice(from), ended: log.ended }
    },
  }
}

/** Text cut after each newline (the last piece has none when the text does not end with one). */
export function splitLines(text: string): string[] {
  const lines: string[] = []
  let start = 0
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
    lines.push(text.slice(start, nl + 1))
    start = nl + 1
  }
  if (start < text.length) lines.push(text.slice(start))
  return lines
}
