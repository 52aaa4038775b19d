import { MessagePort, parentPort, Worker, workerData } from 'node:worker_threads'
import { pino, type Logger } from 'pino'
import { Registry } from 'prom-client'
import { realClock, type Clock, type Timer } from '../base/clock.ts'
import { createLogger } from '../base/log.ts'
import type { MetricsSource } from './component-server.ts'
import type { LeadingRun } from './leader-election.ts'

/**
 * A component that is a process of its own in Kubernetes (kube-scheduler, kube-controller-manager)
 * run in a worker thread of its own, as `k8ts up` runs them: it gets an event loop of its own, so
 * that it and the apiserver's serving use two cores, and it reaches the apiserver over the API
 * only, like every component. The parent and the thread talk through messages:
 *
 *   parent ─▶ metrics { id, as }    thread ─▶ metrics { id, value } | metrics-failed { id, message }
 *   parent ─▶ stop                  thread ─▶ done { lostLeadership } | failed { message }
 *   thread ─▶ log { line }          each log line, when the parent takes them (onLog)
 *
 * (each message is `{ type, ...fields }`: ToThread and FromThread below).
 *
 * The thread's module calls runComponentThread with how to start the component.
 */

/** The metrics as a registry's getMetricsAsJSON() gives them: plain data a message can carry. */
export type MetricsJSON = Awaited<ReturnType<Registry['getMetricsAsJSON']>>

/** The component's metrics, read from its thread: what serveHealth's /metrics needs, and JSON. */
export interface ThreadMetrics extends MetricsSource {
  getMetricsAsJSON(): Promise<MetricsJSON>
}

export interface ComponentThread extends LeadingRun {
  readonly metrics: ThreadMetrics
}

/** How the thread runs, beside what the component is started with. */
export interface ThreadSettings {
  /** The thread's log level (default: K8TS_LOG_LEVEL, else info). */
  logLevel?: string
  /** Each log line (JSON) of the thread; without it the thread writes them to stderr itself. */
  onLog?: (line: string) => void
  /** How long the thread may take to end after stop() before it is terminated (default 30 s). */
  stopTimeoutMs?: number
}

interface ThreadData<D> {
  data: D
  logLevel?: string
  forwardLog: boolean
}

type ToThread = { type: 'metrics'; id: number; as: 'text' | 'json' } | { type: 'stop' }

type FromThread =
  | { type: 'log'; line: string }
  | { type: 'metrics'; id: number; value: string | MetricsJSON }
  | { type: 'metrics-failed'; id: number; message: string }
  | { type: 'done'; lostLeadership: boolean }
  | { type: 'failed'; message: string }

/**
 * Starts the thread of the component `name` (for messages: `the scheduler`), whose `module` calls
 * runComponentThread, with `o` less the thread settings as what the component is started with
 * (structured-cloneable). `done` resolves when the component stops (stop(), or its lease lost)
 * and rejects when the thread fails or ends before it was told to.
 */
export function startComponentThread<D extends object>(
  name: string,
  module: URL,
  o: D & ThreadSettings,
): ComponentThread {
  const { logLevel, onLog, stopTimeoutMs = 30_000, ...rest } = o
  const data: ThreadData<Omit<D, keyof ThreadSettings>> = {
    data: rest,
    ...(logLevel !== undefined ? { logLevel } : {}),
    forwardLog: onLog !== undefined,
  }
  // Ports in what the component is started with (its client's in-process listener) move to it.
  const worker = new Worker(module, { workerData: data, transferList: messagePortsIn(rest) })
  const send = (m: ToThread) => worker.postMessage(m)
  const pending = new Map<number, PromiseWithResolvers<string | MetricsJSON>>()
  const done = Promise.withResolvers<void>()
  // A failure before anyone waits on done is not an unhandled rejection: done is observed here.
  done.promise.catch(() => undefined)
  let nextId = 0
  let stopping = false
  let gone = false
  let lostLeadership = false
  let failed: Error | undefined
  const rejectPending = (err: Error) => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }
  // done settles once: whichever of these comes first decides it.
  const fail = (why: string) => {
    failed ??= new Error(why)
    rejectPending(failed)
    done.reject(failed)
    void worker.terminate()
  }

  worker.on('message', (m: FromThread) => {
    switch (m.type) {
      case 'log':
        onLog?.(m.line)
        break
      case 'metrics':
        pending.get(m.id)?.resolve(m.value)
        pending.delete(m.id)
        break
      case 'metrics-failed':
        pending.get(m.id)?.reject(new Error(`the ${name}'s metrics: ${m.message}`))
        pending.delete(m.id)
        break
      case 'done':
        // Stopped, or its lease lost: the thread stays until stop() ends it.
        lostLeadership = m.lostLeadership
        done.resolve()
        break
      case 'failed':
        fail(`the ${name} failed: ${m.message}`)
        break
      default:
        m satisfies never
    }
  })
  worker.on('error', (err: Error) => fail(`the ${name}'s thread failed: ${err.stack ?? err.message}`))
  worker.on('messageerror', (err) => fail(`a message from the ${name}'s thread: ${err.message}`))
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      gone = true
      if (!stopping) fail(`the ${name}'s thread exited (code ${code}) before it was told to stop`)
      rejectPending(new Error(`the ${name}'s thread has ended`))
      done.resolve()
      resolve()
    }),
  )

  const ask = <T extends string | MetricsJSON>(as: 'text' | 'json'): Promise<T> => {
    if (failed) return Promise.reject(failed)
    if (gone) return Promise.reject(new Error(`the ${name}'s thread has ended`))
    const id = nextId++
    const request = Promise.withResolvers<string | MetricsJSON>()
    pending.set(id, request)
    send({ type: 'metrics', id, as })
    return request.promise as Promise<T>
  }

  return {
    done: done.promise,
    get lostLeadership() {
      return lostLeadership
    },
    metrics: {
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      metrics: () => ask<string>('text'),
      getMetricsAsJSON: () => ask<MetricsJSON>('json'),
    },
    async stop() {
      stopping = true
      send({ type: 'stop' })
      const timer = setTimeout(() => void worker.terminate(), stopTimeoutMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/** The MessagePorts in plain data: objects and arrays, a few levels down. */
function messagePortsIn(value: unknown, depth = 4): MessagePort[] {
  if (value instanceof MessagePort) return [value]
  if (depth === 0 || value === null || typeof value !== 'object') return []
  return Object.values(value).flatMap((v) => messagePortsIn(v, depth - 1))
}

/** CrashLoopBackOff's delays, as the kubelet restarts a static pod's container. */
export const restartBackoff = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 }

/**
 * Keeps a component thread running, as the kubelet keeps a static pod's kube-scheduler running:
 * when the thread ends by itself (it failed, or it lost its lease, after which kube-scheduler and
 * kube-controller-manager exit), it is stopped and started again: at once the first time, then
 * after CrashLoopBackOff's delays, back to at once after ten minutes of running. The metrics are
 * the current thread's; `done` resolves once stop() has stopped it and any restart to come.
 */
export function superviseComponentThread(
  name: string,
  start: () => ComponentThread,
  o: { log: Pick<Logger, 'warn' | 'error'>; clock?: Clock },
): ComponentThread {
  const clock = o.clock ?? realClock
  const stopped = Promise.withResolvers<void>()
  let stopping = false
  let current = start()
  let startedAt = clock.now()
  let restarts = 0
  let timer: Timer | undefined

  const watch = (t: ComponentThread) => {
    const ended = t.done.then(
      () => (t.lostLeadership ? 'lost its lease' : 'stopped by itself'),
      (err: unknown) => `failed: ${err instanceof Error ? err.message : String(err)}`,
    )
    void ended.then(async (why) => {
      if (stopping) return
      if (clock.now() - startedAt >= restartBackoff.resetAfterMs) restarts = 0
      const delayMs =
        restarts === 0 ? 0 : Math.min(restartBackoff.initialMs * 2 ** (restarts - 1), restartBackoff.maxMs)
      restarts++
      const fields = { component: name, restartInMs: delayMs }
      if (t.lostLeadership) o.log.warn(fields, `the ${name} ${why}: starting it again`)
      else o.log.error(fields, `the ${name} ${why}: starting it again`)
      // A thread whose lease was lost stays until it is told to stop.
      await t.stop().catch(() => undefined)
      if (stopping) return
      timer = clock.setTimer(delayMs, () => {
        timer = undefined
        if (stopping) return
        current = start()
        startedAt = clock.now()
        watch(current)
      })
    })
  }
  watch(current)

  return {
    done: stopped.promise,
    lostLeadership: false,
    metrics: {
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      metrics: () => current.metrics.metrics(),
      getMetricsAsJSON: () => current.metrics.getMetricsAsJSON(),
    },
    async stop() {
      stopping = true
      timer?.cancel()
      await current.stop()
      stopped.resolve()
    },
  }
}

/**
 * The thread's side: starts the component with the parent's data and a logger (its lines go to
 * the parent when it takes them, else to stderr), answers the parent's metrics requests from the
 * component's registry, tells the parent when the component stops, and stops when told. Does
 * nothing outside a worker thread.
 */
export function runComponentThread<D>(
  start: (
    data: D,
    log: Logger,
  ) => { run: LeadingRun; registry: Pick<Registry, 'metrics' | 'getMetricsAsJSON'> },
): void {
  const parent = parentPort
  if (!parent) return
  const { data, logLevel, forwardLog } = workerData as ThreadData<D>
  const send = (m: FromThread) => parent.postMessage(m)
  const log = forwardLog
    ? pino(
        { level: logLevel ?? 'info', base: undefined },
        { write: (line: string) => send({ type: 'log', line }) },
      )
    : createLogger(logLevel !== undefined ? { level: logLevel } : {})
  const { run, registry } = start(data, log)
  // When the component ends by itself (its lease lost), the parent learns why before the thread ends.
  run.done.then(
    () => send({ type: 'done', lostLeadership: run.lostLeadership }),
    (err: unknown) =>
      send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  )
  parent.on('message', (m: ToThread) => {
    switch (m.type) {
      case 'metrics': {
        const value = m.as === 'text' ? registry.metrics() : registry.getMetricsAsJSON()
        value.then(
          (v) => send({ type: 'metrics', id: m.id, value: v }),
          (err: unknown) => send({ type: 'metrics-failed', id: m.id, message: (err as Error).message }),
        )
        break
      }
      case 'stop':
        // Nothing is left to answer once the component has stopped: the thread ends when its
        // handles are closed.
        void run.stop().finally(() => parent.close())
        break
      default:
        m satisfies never
    }
  })
}
