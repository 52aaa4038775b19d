import { Worker } from 'node:worker_threads'
import { Registry } from 'prom-client'
import type { LeadingRun, MetricsSource } from '../client/index.ts'
import type { SchedulerOptions } from './index.ts'
import type { SchedulerMetrics } from './metrics.ts'

/** The metrics as the registry's getMetricsAsJSON() gives them: plain data a message can carry. */
export type MetricsJSON = Awaited<ReturnType<SchedulerMetrics['registry']['getMetricsAsJSON']>>

export interface SchedulerThreadOptions extends Omit<SchedulerOptions, 'clock' | 'log'> {
  /** The thread's log level (default: K8TS_LOG_LEVEL, else info). */
  logLevel?: string
  /** Each log line (JSON) of the thread; without it the thread writes them to stderr itself. */
  onLog?: (line: string) => void
  /** How long the thread may take to end after stop() before it is terminated (default 30 s). */
  stopTimeoutMs?: number
}

/** What the thread is given (thread-worker.ts). */
export type SchedulerThreadData = Omit<SchedulerThreadOptions, 'onLog' | 'stopTimeoutMs'> & {
  forwardLog: boolean
}

export type ToSchedulerThread = { type: 'metrics'; id: number; as: 'text' | 'json' } | { type: 'stop' }

export type FromSchedulerThread =
  | { type: 'log'; line: string }
  | { type: 'metrics'; id: number; value: string | MetricsJSON }
  | { type: 'metrics-failed'; id: number; message: string }
  | { type: 'done'; lostLeadership: boolean }
  | { type: 'failed'; message: string }

/** The scheduler's metrics, read from its thread: what serveComponent's /metrics needs, and JSON. */
export interface ThreadMetrics extends MetricsSource {
  getMetricsAsJSON(): Promise<MetricsJSON>
}

export interface SchedulerThread extends LeadingRun {
  readonly metrics: ThreadMetrics
}

/**
 * kube-scheduler in a worker thread of its own (thread-worker.ts), as `k8ts up` runs it: it is a
 * process of its own in Kubernetes, and here it gets an event loop of its own, so that scheduling
 * and the apiserver's serving use two cores. It talks to the apiserver over the API only, like
 * every component. `done` resolves when the scheduler stops (stop(), or its lease lost) and
 * rejects when the thread fails or ends before it was told to.
 */
export function startSchedulerThread(o: SchedulerThreadOptions): SchedulerThread {
  const { onLog, stopTimeoutMs = 30_000, ...options } = o
  const data: SchedulerThreadData = { ...options, forwardLog: onLog !== undefined }
  const worker = new Worker(workerModule, { workerData: data })
  const send = (m: ToSchedulerThread) => worker.postMessage(m)
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

  worker.on('message', (m: FromSchedulerThread) => {
    switch (m.type) {
      case 'log':
        onLog?.(m.line)
        break
      case 'metrics':
        pending.get(m.id)?.resolve(m.value)
        pending.delete(m.id)
        break
      case 'metrics-failed':
        pending.get(m.id)?.reject(new Error(`the scheduler's metrics: ${m.message}`))
        pending.delete(m.id)
        break
      case 'done':
        // Stopped, or its lease lost: the thread stays until stop() ends it.
        lostLeadership = m.lostLeadership
        done.resolve()
        break
      case 'failed':
        fail(`the scheduler failed: ${m.message}`)
        break
      default:
        m satisfies never
    }
  })
  worker.on('error', (err: Error) => fail(`the scheduler's thread failed: ${err.stack ?? err.message}`))
  worker.on('messageerror', (err) => fail(`a message from the scheduler's thread: ${err.message}`))
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      gone = true
      if (!stopping) fail(`the scheduler's thread exited (code ${code}) before it was told to stop`)
      rejectPending(new Error(`the scheduler's thread has ended`))
      done.resolve()
      resolve()
    }),
  )

  const ask = <T extends string | MetricsJSON>(as: 'text' | 'json'): Promise<T> => {
    if (failed) return Promise.reject(failed)
    if (gone) return Promise.reject(new Error(`the scheduler's thread has ended`))
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

const workerModule = new URL(
  import.meta.url.endsWith('.ts') ? './thread-worker.ts' : './thread-worker.js',
  import.meta.url,
)
