// The scheduler of bench/scheduler.ts in a worker thread of its own: kube-scheduler is its own
// process, and it talks to the apiserver only over the API, so here it gets an event loop of its
// own and a ClientConfig from the admin kubeconfig, nothing else. Its warnings go to the parent as
// log lines; the parent asks for its metrics and tells it to stop.
import { parentPort, workerData } from 'node:worker_threads'
import { pino } from 'pino'
import { loadKubeconfig } from '../src/client/index.ts'
import { startScheduler, type RunningScheduler } from '../src/scheduler/index.ts'

/** What the parent hands the worker. */
export interface SchedulerWorkerData {
  /** The apiserver's admin kubeconfig (ApiServer.adminKubeconfig). */
  kubeconfig: string
}

/** The metrics as getMetricsAsJSON() gives them: plain data, which a message can carry. */
export type MetricsJSON = Awaited<ReturnType<RunningScheduler['metrics']['registry']['getMetricsAsJSON']>>

export type ToSchedulerWorker = { type: 'metrics'; id: number } | { type: 'stop' }

export type FromSchedulerWorker =
  | { type: 'log'; line: string }
  | { type: 'metrics'; id: number; metrics: MetricsJSON }
  | { type: 'metrics-failed'; id: number; message: string }
  | { type: 'stopped' }

function isWorkerData(d: unknown): d is SchedulerWorkerData {
  return typeof d === 'object' && d !== null && typeof (d as { kubeconfig?: unknown }).kubeconfig === 'string'
}

if (!parentPort || !isWorkerData(workerData))
  throw new Error(
    'bench/scheduler-worker.ts runs as a worker thread of bench/scheduler.ts, given { kubeconfig }',
  )
const port = parentPort
const post = (m: FromSchedulerWorker) => port.postMessage(m)

const log = pino({ level: 'warn' }, { write: (line: string) => post({ type: 'log', line }) })
const scheduler = startScheduler({ client: loadKubeconfig(workerData.kubeconfig), leaderElect: false, log })

// The scheduler ending before it was told to is a failure: thrown here, it ends the thread with an
// 'error' event in the parent.
let stopping = false
scheduler.done.then(
  () => {
    if (!stopping) throw new Error('the scheduler stopped before it was told to')
  },
  (err: unknown) => {
    if (!stopping) throw err
  },
)

port.on('message', (m: ToSchedulerWorker) => {
  switch (m.type) {
    case 'metrics':
      void scheduler.metrics.registry.getMetricsAsJSON().then(
        (metrics) => post({ type: 'metrics', id: m.id, metrics }),
        (err: unknown) => post({ type: 'metrics-failed', id: m.id, message: (err as Error).message }),
      )
      break
    case 'stop':
      stopping = true
      void scheduler.stop().then(() => {
        post({ type: 'stopped' })
        port.close() // nothing left to answer: the thread ends once the scheduler's handles are closed
      })
      break
    default:
      m satisfies never
  }
})
