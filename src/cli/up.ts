import { mkdirSync } from 'node:fs'
import { createLogger } from '../base/log.ts'
import { openStorage, parseDatastore, startCompactor, type Datastore } from '../storage/index.ts'
import { defaultDataDir, defaultDatastore } from './defaults.ts'

export interface UpOptions {
  dataDir: string
  datastore: string
}

export const upDefaults = (): UpOptions => ({ dataDir: defaultDataDir(), datastore: defaultDatastore })

/**
 * A whole single-node cluster in one process. For now that is the store: it opens (creating it
 * on first start), keeps its history compacted, reports itself, and runs until SIGINT or
 * SIGTERM. The apiserver and the other components join it as they are built.
 */
export async function up(options: UpOptions, signal: AbortSignal): Promise<void> {
  const log = createLogger()
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
  const datastore = parseDatastore(options.datastore, { dataDir: options.dataDir })
  const started = performance.now()
  const storage = await openStorage(datastore)
  const compactor = startCompactor(storage, {
    onCompact: (r) =>
      'error' in r
        ? log.warn({ err: r.error }, 'compaction failed')
        : log.info({ revision: r.revision }, 'compacted'),
  })
  try {
    const rev = await storage.currentRevision()
    const ms = Math.round(performance.now() - started)
    process.stdout.write(
      `k8ts: store ready: ${describe(datastore)} at revision ${rev} (${ms} ms); Ctrl-C stops it\n`,
    )
    await untilAborted(signal)
  } finally {
    compactor.stop()
    await storage.close()
    process.stdout.write('k8ts: stopped\n')
  }
}

function describe(ds: Datastore): string {
  return ds.backend === 'sqlite' ? `sqlite ${ds.path}` : `etcd ${ds.endpoints.join(',')}`
}

/** Waits for the signal, keeping the process alive meanwhile (nothing else may hold the event loop). */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve()
    const keepAlive = setInterval(() => undefined, 1 << 30)
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(keepAlive)
        resolve()
      },
      { once: true },
    )
  })
}
