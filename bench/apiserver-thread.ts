// An apiserver in a worker thread of its own, for benchmarks whose load generator and watches
// would otherwise share its event loop: in a cluster the apiserver is a process of its own, and
// what the bench itself does (creating pods, decoding watch events) should not take its thread.
import { isMainThread, type MessagePort, parentPort, Worker, workerData } from 'node:worker_threads'
import { pino } from 'pino'
import { startApiServer } from '../src/apiserver/index.ts'

export interface ApiServerThreadOptions {
  dataDir: string
  disableAdmissionPlugins?: string[]
}

export interface ApiServerThread {
  readonly adminKubeconfig: string
  /** A listener of the apiserver's in-process transport, for a thread of this process. */
  inProcessListener(): Promise<MessagePort>
  /** Stops the apiserver and ends the thread. */
  stop(): Promise<void>
}

type Message =
  | { type: 'ready'; adminKubeconfig: string }
  | { type: 'failed'; error: string }
  | { type: 'listener'; port: MessagePort }

type ToThread = 'stop' | 'listener'

export function startApiServerThread(o: ApiServerThreadOptions): Promise<ApiServerThread> {
  const worker = new Worker(new URL(import.meta.url), { workerData: o })
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    worker.once('error', reject)
    void ended.then(() => reject(new Error('the apiserver thread ended before it served')))
    worker.on('message', (m: Message) => {
      if (m.type === 'failed') reject(new Error(`the apiserver thread failed: ${m.error}`))
      if (m.type !== 'ready') return
      resolve({
        adminKubeconfig: m.adminKubeconfig,
        inProcessListener() {
          return new Promise((resolve) => {
            const take = (reply: Message) => {
              if (reply.type !== 'listener') return
              worker.off('message', take)
              resolve(reply.port)
            }
            worker.on('message', take)
            worker.postMessage('listener' satisfies ToThread)
          })
        },
        async stop() {
          worker.postMessage('stop' satisfies ToThread)
          const killer = setTimeout(() => void worker.terminate(), 30_000)
          await ended
          clearTimeout(killer)
        },
      })
    })
  })
}

if (!isMainThread && parentPort) {
  const port = parentPort
  const o = workerData as ApiServerThreadOptions
  try {
    const api = await startApiServer({
      dataDir: o.dataDir,
      securePort: 0,
      log: pino({ level: 'silent' }),
      ...(o.disableAdmissionPlugins ? { disableAdmissionPlugins: o.disableAdmissionPlugins } : {}),
    })
    port.on('message', (m: ToThread) => {
      if (m === 'listener') {
        const listener = api.inProcessListener()
        port.postMessage({ type: 'listener', port: listener } satisfies Message, [listener])
        return
      }
      // Asked to stop: the thread ends once the apiserver has (stop() waits for that).
      void api.stop().finally(() => port.close())
    })
    port.postMessage({ type: 'ready', adminKubeconfig: api.adminKubeconfig } satisfies Message)
  } catch (err) {
    port.postMessage({
      type: 'failed',
      error: err instanceof Error ? err.message : String(err),
    } satisfies Message)
    port.close()
  }
}
