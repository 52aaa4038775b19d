import { realClock, type Clock, type Timer } from '../base/clock.ts'
import { isStorageError, type Revision, type Storage } from './interface.ts'

export interface CompactorOptions {
  /** How often to compact, and how much history to keep at least (default 5 minutes, as kube-apiserver). */
  intervalMs?: number
  clock?: Clock
  /** Told of each compaction and of failures, for logs and metrics. */
  onCompact?: (result: { revision: Revision } | { error: unknown }) => void
}

/**
 * Keeps history bounded, as kube-apiserver's compactor does: at every interval it compacts up to
 * the revision it saw at the previous interval, so clients can always resume a watch from a
 * revision they learned less than one interval ago.
 */
export function startCompactor(storage: Storage, options: CompactorOptions = {}): { stop(): void } {
  const intervalMs = options.intervalMs ?? 5 * 60_000
  const clock = options.clock ?? realClock
  let previous: Revision | undefined
  let timer: Timer | undefined
  let stopped = false
  const tick = async () => {
    try {
      const now = await storage.currentRevision()
      if (previous !== undefined && previous > (await storage.compactedRevision())) {
        await storage.compact(previous)
        options.onCompact?.({ revision: previous })
      }
      previous = now
    } catch (err) {
      // Another apiserver compacting the same etcd got there first: nothing is wrong.
      if (!isStorageError(err, 'Compacted')) options.onCompact?.({ error: err })
    }
    if (!stopped) timer = clock.setTimer(intervalMs, () => void tick())
  }
  timer = clock.setTimer(intervalMs, () => void tick())
  return {
    stop() {
      stopped = true
      timer?.cancel()
    },
  }
}
