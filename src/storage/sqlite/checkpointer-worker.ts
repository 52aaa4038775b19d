import { DatabaseSync } from 'node:sqlite'
import { parentPort, workerData } from 'node:worker_threads'
import {
  checkpointRound,
  isBusy,
  type CheckpointerData,
  type CheckpointProgress,
  type FromCheckpointer,
  type ToCheckpointer,
} from './checkpointer.ts'

/**
 * The entry point of a store's checkpointer thread (checkpointer.ts): a connection of its own to
 * the store's file that copies the WAL into the database on this thread, so that the event loop
 * that writes never stops for it.
 *
 * Each round (checkpointRound) copies what it can while writes go on and, once the WAL is large,
 * leaves it wholly copied so that it starts again.
 */
if (parentPort) run(parentPort, workerData as CheckpointerData)

function run(parent: NonNullable<typeof parentPort>, data: CheckpointerData): void {
  const send = (m: FromCheckpointer) => parent.postMessage(m)
  let db: DatabaseSync
  try {
    // The writer's transactions are short; a FULL checkpoint waits that long for one to end.
    db = new DatabaseSync(data.path, { timeout: 5000 })
    db.exec(`PRAGMA synchronous = ${data.sync === 'full' ? 'FULL' : 'NORMAL'}`)
  } catch (err) {
    send({ type: 'failed', message: (err as Error).message })
    return
  }
  const checkpoint = (mode: 'PASSIVE' | 'FULL'): CheckpointProgress => {
    const row = db.prepare(`PRAGMA wal_checkpoint(${mode})`).get() ?? {}
    return { log: Number(row.log ?? 0), checkpointed: Number(row.checkpointed ?? 0) }
  }
  let open = true
  const close = () => {
    clearInterval(timer)
    if (open) db.close()
    open = false
  }
  const timer = setInterval(() => {
    try {
      checkpointRound(checkpoint, data)
    } catch (err) {
      // SQLITE_BUSY (a FULL checkpoint that waited too long) only postpones this round.
      if (!isBusy(err)) {
        close()
        send({ type: 'failed', message: (err as Error).message })
      }
    }
  }, data.intervalMs)
  parent.on('message', (m: ToCheckpointer) => {
    if (m.type === 'stop') {
      close()
      parent.close()
    }
  })
}
