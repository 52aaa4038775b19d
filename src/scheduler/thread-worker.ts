import { parentPort, workerData } from 'node:worker_threads'
import { pino } from 'pino'
import { createLogger } from '../base/log.ts'
import { startScheduler } from './index.ts'
import type { FromSchedulerThread, SchedulerThreadData, ToSchedulerThread } from './thread.ts'

/**
 * The entry point of a scheduler thread (thread.ts): kube-scheduler on an event loop of its own,
 * reaching the apiserver over the API only, as kube-scheduler is a process of its own. It answers
 * the parent's metrics requests, tells the parent when the scheduler stops, and stops when told.
 */
if (parentPort) run(parentPort, workerData as SchedulerThreadData)

function run(parent: NonNullable<typeof parentPort>, data: SchedulerThreadData): void {
  const send = (m: FromSchedulerThread) => parent.postMessage(m)
  const { forwardLog, logLevel, ...options } = data
  const log = (
    forwardLog
      ? pino(
          { level: logLevel ?? 'info', base: undefined },
          { write: (line: string) => send({ type: 'log', line }) },
        )
      : createLogger(logLevel !== undefined ? { level: logLevel } : {})
  ).child({ component: 'scheduler' })
  const scheduler = startScheduler({ ...options, log })
  // When the scheduler ends by itself (its lease lost), the parent learns why before the thread ends.
  scheduler.done.then(
    () => send({ type: 'done', lostLeadership: scheduler.lostLeadership }),
    (err: unknown) =>
      send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  )
  parent.on('message', (m: ToSchedulerThread) => {
    switch (m.type) {
      case 'metrics': {
        const registry = scheduler.metrics.registry
        const value = m.as === 'text' ? registry.metrics() : registry.getMetricsAsJSON()
        value.then(
          (v) => send({ type: 'metrics', id: m.id, value: v }),
          (err: unknown) => send({ type: 'metrics-failed', id: m.id, message: (err as Error).message }),
        )
        break
      }
      case 'stop':
        // Nothing is left to answer once the scheduler has stopped: the thread ends when its
        // handles are closed.
        void scheduler.stop().finally(() => parent.close())
        break
      default:
        m satisfies never
    }
  })
}
