import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import { realClock } from '../base/clock.ts'
import { createLogger } from '../base/log.ts'
import { RemoteStorage, type StorageLink } from '../storage/remote.ts'
import { startFrontend, type FrontendOptions } from './frontend.ts'
import type { ApiMetrics } from './metrics.ts'

/**
 * The entry point of an apiserver worker thread: one front (frontend.ts) on the store the main
 * thread serves. The main thread and the worker talk through `parentPort`:
 *
 *   worker ─▶ { ready: port } | { failed: message }     once, after start
 *   main   ─▶ { stop: true }                             the worker stops and exits
 *   worker ─▶ { metricsOf: id }                         /metrics was asked for here: collect all
 *   main   ─▶ { collect: id }  worker ─▶ { collected: id, json }   each worker's metrics
 *   main   ─▶ { metricsText: id, text }                 the answer to metricsOf
 *   main   ─▶ { inProcess: port }                       a link of the in-process transport
 */
export type WorkerOptions = Omit<FrontendOptions, 'storage' | 'clock' | 'log' | 'metricsText'> & {
  link: StorageLink
  logLevel?: string
}

export type ToWorker =
  { stop: true } | { collect: number } | { metricsText: number; text: string } | { inProcess: MessagePort }

export type FromWorker =
  { ready: number } | { failed: string } | { metricsOf: number } | { collected: number; json: unknown }

if (parentPort) await run(parentPort, workerData as WorkerOptions)

async function run(parent: NonNullable<typeof parentPort>, o: WorkerOptions): Promise<void> {
  const log = createLogger(o.logLevel !== undefined ? { level: o.logLevel } : {})
  const storage = new RemoteStorage(o.link)
  const send = (m: FromWorker) => parent.postMessage(m)
  const pendingText = new Map<number, (text: string) => void>()
  let nextId = 1
  let front: Awaited<ReturnType<typeof startFrontend>> | undefined
  let own: ApiMetrics | undefined

  parent.on('message', (m: ToWorker) => {
    if ('stop' in m) {
      void (async () => {
        await front?.stop()
        await storage.close()
        parent.close()
      })()
    } else if ('collect' in m) {
      // A worker still starting has no metrics yet: it adds nothing to the sum.
      void (async () =>
        send({ collected: m.collect, json: own ? await own.registry.getMetricsAsJSON() : [] }))()
    } else if ('inProcess' in m) {
      // The main thread sends them to workers that serve; one stopping closes them.
      if (front) front.serveInProcess(m.inProcess)
      else m.inProcess.close()
    } else {
      pendingText.get(m.metricsText)?.(m.text)
      pendingText.delete(m.metricsText)
    }
  })

  try {
    const { link: _link, logLevel: _level, ...rest } = o
    front = await startFrontend({
      ...rest,
      storage,
      clock: realClock,
      log,
      metricsText: (metrics) => {
        own = metrics
        const id = nextId++
        return new Promise((resolve) => {
          pendingText.set(id, resolve)
          send({ metricsOf: id })
        })
      },
    })
    own = front.metrics
    send({ ready: front.port })
  } catch (err) {
    log.error({ err }, 'apiserver worker failed to start')
    send({ failed: err instanceof Error ? err.message : String(err) })
    await storage.close()
    parent.close()
  }
}
