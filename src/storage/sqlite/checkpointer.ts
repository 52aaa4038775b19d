import { Worker } from 'node:worker_threads'

/** What a checkpointer thread is started with (checkpointer-worker.ts). */
export interface CheckpointerData {
  path: string
  sync: 'full' | 'normal'
  /** How often the thread copies the WAL into the database. */
  intervalMs: number
  /** WAL pages after which a round ends with the WAL wholly copied, so that it starts again. */
  restartAfterPages: number
  /** Passive copies repeat while more than this many pages came in during the one before. */
  smallPages: number
}

/** What `PRAGMA wal_checkpoint` reports: frames in the WAL, and how many of them are copied. */
export interface CheckpointProgress {
  log: number
  checkpointed: number
}

/** Passive copies in one round at most, however fast writes come in. */
const maxPasses = 8

/**
 * One round of the checkpointer: passive copies while writes go on, then, once the WAL holds
 * `restartAfterPages`, a FULL checkpoint that leaves it wholly copied, so that the next write
 * starts it again from the beginning (passive copies alone never get there while writes keep
 * coming, and the WAL would grow without end).
 *
 * A FULL checkpoint holds every write back while it copies what is left and syncs it. A pass
 * reports the WAL as it was when the pass began, so each one after the first copies what came in
 * during the one before: passes repeat until that is at most `smallPages`, and FULL is left next to
 * nothing. (Run right after a single pass, FULL copied the 20-50 ms of writes that came in during
 * it and held writes back for 10-30 ms, once a second under a steady stream of updates.)
 */
export function checkpointRound(
  checkpoint: (mode: 'PASSIVE' | 'FULL') => CheckpointProgress,
  o: Pick<CheckpointerData, 'restartAfterPages' | 'smallPages'>,
): void {
  let p = checkpoint('PASSIVE')
  for (let pass = 1; pass < maxPasses; pass++) {
    const before = p.log
    p = checkpoint('PASSIVE')
    if (p.log - before <= o.smallPages) break
  }
  if (p.log >= o.restartAfterPages) checkpoint('FULL')
}

export type ToCheckpointer = { type: 'stop' }

export type FromCheckpointer = { type: 'failed'; message: string }

/** SQLITE_BUSY, in any of its extended forms: another connection holds the lock for a moment. */
export function isBusy(err: unknown): boolean {
  const code = (err as { errcode?: unknown } | undefined)?.errcode
  return typeof code === 'number' && (code & 0xff) === 5
}

/**
 * The thread that checkpoints a store's WAL (checkpointer-worker.ts), so that the store's event
 * loop never copies pages and syncs the database file itself: SQLite's own automatic checkpoint
 * runs inside a commit and held every write, read and watch of the apiserver for 100-150 ms every
 * 40 MB written. `onFailed` hears when the thread could not start or stopped by itself; the store
 * then checkpoints on its own loop again.
 */
export class Checkpointer {
  readonly #worker: Worker
  readonly #exited: Promise<void>
  #stopping = false
  #failed = false

  constructor(data: CheckpointerData, onFailed: (message: string) => void) {
    const failed = (message: string) => {
      if (this.#failed || this.#stopping) return
      this.#failed = true
      onFailed(message)
    }
    this.#worker = new Worker(workerModule, { workerData: data })
    // A store that is never closed must not keep its process alive.
    this.#worker.unref()
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()))
    this.#worker.on('message', (m: FromCheckpointer) => {
      if (m.type === 'failed') failed(m.message)
    })
    this.#worker.on('error', (err: Error) => failed(err.message))
    this.#worker.once('exit', (code) => failed(`the checkpointer thread exited with code ${code}`))
  }

  /** Stops the thread after the round it may be in; resolves once its connection is closed. */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true
      // Whoever awaits the stop keeps the process alive until the thread is gone.
      this.#worker.ref()
      this.#worker.postMessage({ type: 'stop' } satisfies ToCheckpointer)
    }
    await this.#exited
  }
}

const workerModule = new URL(
  import.meta.url.endsWith('.ts') ? './checkpointer-worker.ts' : './checkpointer-worker.js',
  import.meta.url,
)
