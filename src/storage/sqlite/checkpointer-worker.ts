import { DatabaseSync } from 'node:sqlite'
import { parentPort, workerData } from 'node:worker_threads'
import { isBusy, type CheckpointerData, type FromCheckpointer, type ToCheckpointer } from './checkpointer.ts'

/**
 * The entry point of a store's checkpointer thread (checkpointer.ts): a connection of its own to
 * the store's file that copies the WAL into the database on this thread, so that the event loop
 * that writes never stops for it.
 *
 * Each round first copies what it can while writes go on (PASSIVE, repeated while the writer
 * keeps up with it), and once the WAL holds `restartAfterPages`, finishes with a FULL checkpoint:
 * that one holds writes back for the little that came in meanwhile and a sync, and leaves the WAL
 * wholly copied, so the next write starts it again from the beginning. Passive copies alone never
 * get there while writes keep coming, and the WAL would grow without end.
 */
if (parentPort) run(parentPort, workerData as CheckpointerData)

interface Progress {
  /** Frames in the WAL. */
  log: number
  /** Frames of them copied into the database. */
  checkpointed: number
}

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
  const checkpoint = (mode: 'PASSIVE' | 'FULL'): Progress => {
    const row = db.prepare(`PRAGMA wal_checkpoint(${mode})`).get() ?? {}
    return { log: Number(row.log ?? 0), checkpointed: Number(row.checkpointed ?? 0) }
  }
  const round = () => {
    let p = checkpoint('PASSIVE')
    // Each pass copies what came in during the one before; a few passes leave little for FULL.
    for (let pass = 1; pass < 4 && p.log - p.checkpointed > data.smallPages; pass++) {
      const before = p.log
      p = checkpoint('PASSIVE')
      if (p.log === before) break
    }
    if (p.log >= data.restartAfterPages) checkpoint('FULL')
  }
  let open = true
  const close = () => {
    clearInterval(timer)
    if (open) db.close()
    open = false
  }
  const timer = setInterval(() => {
    try {
      round()
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
