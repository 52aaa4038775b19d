import { closeSync, fdatasync, fdatasyncSync, openSync, readSync, statSync } from 'node:fs'
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { realClock, type Clock, type Timer } from '../../base/clock.ts'
import {
  prefixEnd,
  revision,
  StorageError,
  type DeleteOptions,
  type DeleteResult,
  type GetOptions,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Revision,
  type Storage,
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from '../interface.ts'
import { Checkpointer, isBusy } from './checkpointer.ts'
import { WatcherSet, type Watcher } from './watchers.ts'

/**
 * The embedded store: one SQLite file (node:sqlite), shaped like kine's log. Every write appends a
 * row whose primary key is its revision; a delete appends a tombstone row. A key's value at
 * revision r is its newest row at or before r, so history, point-in-time reads and watch catch-up
 * are all plain range queries. Compaction deletes rows that later rows superseded.
 *
 * This process is the only writer (a lock file beside it is held exclusively), which buys three things:
 * - revisions are assigned here, in memory, and never reused (the sequence survives restarts);
 * - writes that arrive together share one transaction and one fsync (group commit), and the fsync
 *   runs on libuv's thread pool while the next batch is being applied;
 * - watchers are told of each change right after its commit, without polling.
 *
 * node:sqlite is synchronous, so every statement runs on the event loop. Each unit of work is
 * kept small (a write batch, a page of a list, a slice of compaction) so that no caller waits
 * long behind another.
 */

export interface SqliteStorageOptions {
  /** The database file, or ':memory:' for a store that lives only as long as the process. */
  path: string
  clock?: Clock
  /** How often quiet watchers that asked for it get a progress notification (default 5 s). */
  progressNotifyIntervalMs?: number
  /** How often expired keys are looked for (default 1 s). */
  ttlSweepIntervalMs?: number
  /** 'full' fsyncs every commit (survives power loss, the default); 'normal' survives process crashes only. */
  sync?: 'full' | 'normal'
  /** Most writes committed in one transaction (default 1000). */
  maxBatch?: number
  /** Rows examined per compaction step, between which writes go ahead (default 250). */
  compactBatch?: number
  /** SQLite's page cache (default 64 MiB): big lists read their values from it. */
  cacheMiB?: number
  /**
   * WAL pages after which the WAL is wholly copied into the database file and starts again
   * (default 10,000: 40 MB). The copying runs on a thread of its own (checkpointer.ts) for a file;
   * for ':memory:', or should that thread fail, a commit does it on the event loop.
   */
  walCheckpointPages?: number
  /** How often the checkpointer thread copies the WAL into the database (default 1 s). */
  checkpointIntervalMs?: number
  /**
   * With sync 'full' on a file: the WAL is fdatasync'ed on the event loop, right after the batch
   * commits, while that takes at most this long (default 2 ms); once one takes longer, the next
   * ones go to libuv's thread pool for a second before the loop tries again. 0: always the pool.
   */
  fsyncOnLoopMs?: number
}

const SQLITE_HEADER = 'SQLite format 3\0'
/** Written into the file header so that we never mistake another program's database for ours. */
const APPLICATION_ID = 0x6b387473 // 'k8ts'
const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  revision INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  version INTEGER NOT NULL,
  expires_at INTEGER,
  value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_key_revision ON kv (key, revision);
CREATE INDEX IF NOT EXISTS kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`

interface Row {
  revision: number
  key: string
  deleted: number
  create_revision: number
  prev_revision: number
  version: number
  value: Uint8Array
}

interface RowWithPrev extends Row {
  prev_value: Uint8Array | null
  prev_create_revision: number | null
  prev_version: number | null
}

type Write =
  | { op: 'create'; key: string; value: Uint8Array; ttlSeconds: number | undefined }
  | { op: 'update'; key: string; value: Uint8Array; expected: Revision; ttlSeconds: number | undefined }
  | { op: 'delete'; key: string; expected: Revision | undefined }

interface PendingWrite {
  write: Write
  resolve: (r: KeyValue | DeleteResult) => void
  reject: (e: unknown) => void
}

/** A committed batch whose callers and watchers hear of it once the WAL holding it is on disk. */
interface CommittedBatch {
  batch: PendingWrite[]
  outcomes: { ok: boolean; value: unknown }[]
  events: WatchEvent[]
  /** The store's revision once the batch committed. */
  revision: number
}

export class SqliteStorage implements Storage {
  readonly backend = 'sqlite'
  readonly path: string
  readonly #db: DatabaseSync
  /** Held open, exclusively locked, for as long as the store is: see openDatabase. */
  readonly #lock: DatabaseSync | undefined
  readonly #checkpointer: Checkpointer | undefined
  readonly #clock: Clock
  readonly #options: Required<
    Omit<
      SqliteStorageOptions,
      'path' | 'clock' | 'cacheMiB' | 'walCheckpointPages' | 'checkpointIntervalMs' | 'fsyncOnLoopMs'
    >
  >
  readonly #watchers = new WatcherSet()
  readonly #stmt: ReturnType<typeof prepareStatements>
  /** The last revision assigned (committed, or being committed). */
  #revision: number
  /**
   * The last revision callers and watchers have heard of: reads at "now" and watch catch-up stop
   * here, so nobody sees a commit before it is durable.
   */
  #published: number
  #compacted: number
  #pending: PendingWrite[] = []
  #flushScheduled = false
  /**
   * With sync 'full' on a file, SQLite commits without syncing (synchronous=NORMAL) and the WAL is
   * fdatasync'ed here, once per batch (#sync): on the loop when the disk is fast, else from the
   * thread pool, while batches committed meanwhile wait for the next sync.
   */
  readonly #syncOffLoop: boolean
  #walFd: number | undefined
  #committed: CommittedBatch[] = []
  #syncing: Promise<void> | undefined
  readonly #fsyncOnLoopMs: number
  /** Until when fdatasync goes to the thread pool (after one on the loop was too slow). */
  #fsyncOffLoopUntil = 0
  #closed = false
  #compaction: Promise<void> = Promise.resolve()
  readonly #timers: Timer[] = []

  /** Opens (creating if needed) the store at options.path. Throws 'Unavailable' naming the file. */
  static open(options: SqliteStorageOptions): SqliteStorage {
    return new SqliteStorage(options)
  }

  private constructor(options: SqliteStorageOptions) {
    this.path = options.path
    this.#clock = options.clock ?? realClock
    this.#options = {
      progressNotifyIntervalMs: options.progressNotifyIntervalMs ?? 5000,
      ttlSweepIntervalMs: options.ttlSweepIntervalMs ?? 1000,
      sync: options.sync ?? 'full',
      maxBatch: options.maxBatch ?? 1000,
      compactBatch: options.compactBatch ?? 250,
    }
    const onFile = options.path !== ':memory:'
    this.#syncOffLoop = this.#options.sync === 'full' && onFile
    this.#fsyncOnLoopMs = options.fsyncOnLoopMs ?? 2
    const sync = this.#syncOffLoop ? 'normal' : this.#options.sync
    const walCheckpointPages = Math.max(1, Math.round(options.walCheckpointPages ?? 10_000))
    const opened = openDatabase(options.path, sync, options.cacheMiB ?? 64, onFile ? 0 : walCheckpointPages)
    this.#db = opened.db
    this.#lock = opened.lock
    try {
      this.#stmt = prepareStatements(this.#db)
      this.#revision = (this.#stmt.sequence.get()?.seq as number | undefined) ?? 0
      this.#published = this.#revision
      this.#compacted = readMeta(this.#stmt, 'compacted_revision')
    } catch (err) {
      this.#db.close()
      this.#lock?.close()
      throw this.#failure('cannot read the store', err)
    }
    this.#checkpointer = onFile
      ? new Checkpointer(
          {
            path: options.path,
            sync,
            intervalMs: options.checkpointIntervalMs ?? 1000,
            restartAfterPages: walCheckpointPages,
            smallPages: Math.max(1, Math.round(walCheckpointPages / 128)),
          },
          // Without the thread, commits copy the WAL themselves again, as SQLite does by default.
          () => {
            if (!this.#closed) this.#db.exec(`PRAGMA wal_autocheckpoint = ${walCheckpointPages}`)
          },
        )
      : undefined
    this.#schedule(this.#options.ttlSweepIntervalMs, () => this.#sweepExpired())
    this.#schedule(this.#options.progressNotifyIntervalMs, () =>
      this.#watchers.notifyProgress(
        revision(this.#published),
        this.#clock.now(),
        this.#options.progressNotifyIntervalMs,
      ),
    )
  }

  // --- reads -------------------------------------------------------------------------------

  async get(key: string, options: GetOptions = {}): Promise<KeyValue | undefined> {
    return this.#run(() => {
      const at = this.#readRevision(options.revision)
      const row = this.#stmt.getAt.get(key, at) as Row | undefined
      return row === undefined || row.deleted ? undefined : toKeyValue(row)
    })
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    return this.#run(() => {
      const at = this.#readRevision(options.revision)
      const start = options.startKey !== undefined && options.startKey > prefix ? options.startKey : prefix
      const end = prefixEnd(prefix)
      const limit = options.limit !== undefined && options.limit > 0 ? options.limit : -1
      const rows = (end === ''
        ? this.#stmt.listOpen.all(start, at, limit === -1 ? -1 : limit + 1)
        : this.#stmt.list.all(start, end, at, limit === -1 ? -1 : limit + 1)) as unknown as Row[]
      const more = limit !== -1 && rows.length > limit
      if (more) rows.length = limit
      const count = more
        ? Number((end === '' ? this.#stmt.countOpen.get(start, at) : this.#stmt.count.get(start, end, at))?.n)
        : rows.length
      return { items: rows.map(toKeyValue), revision: revision(at), more, count }
    })
  }

  currentRevisionSync(): Revision {
    return revision(this.#published)
  }

  async currentRevision(): Promise<Revision> {
    return this.#run(() => revision(this.#published))
  }

  async requestProgress(): Promise<void> {
    this.#run(() => this.#watchers.requestProgress(revision(this.#published), this.#clock.now()))
  }

  async compactedRevision(): Promise<Revision> {
    return this.#run(() => revision(this.#compacted))
  }

  // --- writes --------------------------------------------------------------------------------

  create(key: string, value: Uint8Array, options: WriteOptions = {}): Promise<KeyValue> {
    return this.#enqueue({ op: 'create', key, value, ttlSeconds: options.ttlSeconds }) as Promise<KeyValue>
  }

  update(key: string, value: Uint8Array, expected: Revision, options: WriteOptions = {}): Promise<KeyValue> {
    return this.#enqueue({
      op: 'update',
      key,
      value,
      expected,
      ttlSeconds: options.ttlSeconds,
    }) as Promise<KeyValue>
  }

  delete(key: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    return this.#enqueue({ op: 'delete', key, expected: options.expected }) as Promise<DeleteResult>
  }

  #enqueue(write: Write): Promise<KeyValue | DeleteResult> {
    if (this.#closed) return Promise.reject(this.#closedError())
    if (write.key === '') return Promise.reject(new StorageError('InvalidArgument', 'a key cannot be empty'))
    return new Promise((resolve, reject) => {
      this.#pending.push({ write, resolve, reject })
      if (!this.#flushScheduled) {
        this.#flushScheduled = true
        setImmediate(() => this.#flush())
      }
    })
  }

  /**
   * Group commit: every write queued since the last flush, in arrival order, in one transaction.
   * A write whose precondition fails gets its error; the others still commit. Callers hear back,
   * and watchers see the changes, only after the commit is durable (in commit order).
   */
  #flush(): void {
    this.#flushScheduled = false
    while (this.#pending.length > 0) {
      try {
        this.#db.exec('BEGIN IMMEDIATE')
      } catch (err) {
        if (isBusy(err)) {
          // The checkpointer thread holds writes back for a moment (the end of a FULL
          // checkpoint): the writes wait for it, the event loop does not.
          this.#flushScheduled = true
          setTimeout(() => this.#flush(), 1)
          break
        }
        const failure = this.#failure('write failed', err)
        for (const p of this.#pending.splice(0, this.#options.maxBatch)) p.reject(failure)
        continue
      }
      const batch = this.#pending.splice(0, this.#options.maxBatch)
      const startRevision = this.#revision
      const outcomes: { ok: boolean; value: unknown }[] = []
      const events: WatchEvent[] = []
      try {
        try {
          for (const p of batch) outcomes.push(this.#apply(p.write, events))
          this.#db.exec('COMMIT')
        } catch (err) {
          this.#db.exec('ROLLBACK')
          throw err
        }
      } catch (err) {
        this.#revision = startRevision
        const failure = this.#failure('write failed', err)
        for (const p of batch) p.reject(failure)
        continue
      }
      const committed = { batch, outcomes, events, revision: this.#revision }
      if (this.#syncOffLoop) this.#committed.push(committed)
      else this.#deliver(committed, undefined)
    }
    if (this.#committed.length > 0 && this.#syncing === undefined) this.#sync()
  }

  /**
   * fdatasync of the WAL for every batch committed so far; the ones after it wait for the next.
   *
   * On the event loop when the disk syncs fast: the batch's callers are then answered in the turn
   * their writes arrived in. From the thread pool, the answer waits for the loop to poll again,
   * after everything else that arrived meanwhile: a turn more under load (PUT and PATCH at c=100
   * on 20,000 pods: p99 45-64 ms on the loop against 45-101 ms from the pool, at the same rate or
   * better). A disk that takes longer than fsyncOnLoopMs would stall reads with it: then
   * the pool syncs, and the loop keeps applying writes meanwhile.
   */
  #sync(): void {
    const ready = this.#committed
    this.#committed = []
    const finish = (err: Error | null) => {
      const failure = err ? this.#failure('fsync failed', err) : undefined
      for (const c of ready) this.#deliver(c, failure)
    }
    try {
      this.#walFd ??= openSync(`${this.path}-wal`, 'r')
    } catch (err) {
      finish(err as Error)
      return
    }
    const fd = this.#walFd
    const now = performance.now()
    if (this.#fsyncOnLoopMs > 0 && now >= this.#fsyncOffLoopUntil) {
      let failed: Error | null = null
      try {
        fdatasyncSync(fd)
      } catch (err) {
        failed = err as Error
      }
      if (performance.now() - now > this.#fsyncOnLoopMs) this.#fsyncOffLoopUntil = performance.now() + 1000
      finish(failed)
      return
    }
    this.#syncing = new Promise<void>((done) => {
      fdatasync(fd, (err) => {
        finish(err)
        this.#syncing = undefined
        if (this.#committed.length > 0) this.#sync()
        done()
      })
    })
  }

  /**
   * Answers a committed batch's callers and tells watchers. After a failed fsync the callers get
   * the error (the write may not survive a power loss), yet watchers still see what the store
   * now holds, so that they stay consistent with its reads.
   */
  #deliver(c: CommittedBatch, failure: StorageError | undefined): void {
    this.#published = c.revision
    c.batch.forEach((p, i) => {
      const o = c.outcomes[i]
      if (failure) p.reject(failure)
      else if (o?.ok) p.resolve(o.value as KeyValue | DeleteResult)
      else p.reject(o?.value)
    })
    this.#watchers.publish(c.events, this.#clock.now())
  }

  /** One write inside the open transaction. Precondition failures are returned, not thrown. */
  #apply(w: Write, events: WatchEvent[]): { ok: boolean; value: unknown } {
    const latest = this.#stmt.latest.get(w.key) as Row | undefined
    const live = latest !== undefined && !latest.deleted ? latest : undefined
    if (w.op === 'create') {
      if (live) {
        return fail(
          new StorageError('KeyExists', `${w.key} already exists`, { key: w.key, current: toKeyValue(live) }),
        )
      }
      const rev = ++this.#revision
      this.#stmt.insert.run(rev, w.key, 0, rev, 0, 1, this.#expiry(w.ttlSeconds), w.value)
      const kv: KeyValue = {
        key: w.key,
        value: w.value,
        createRevision: revision(rev),
        modRevision: revision(rev),
        version: 1,
      }
      events.push({ type: 'put', kv })
      return { ok: true, value: kv }
    }
    if (!live) return fail(new StorageError('KeyNotFound', `${w.key} not found`, { key: w.key }))
    const prev = toKeyValue(live)
    if (w.expected !== undefined && live.revision !== w.expected) {
      return fail(
        new StorageError('Conflict', `${w.key} is at revision ${live.revision}, not ${w.expected}`, {
          key: w.key,
          current: prev,
        }),
      )
    }
    const rev = ++this.#revision
    if (w.op === 'update') {
      this.#stmt.insert.run(
        rev,
        w.key,
        0,
        live.create_revision,
        live.revision,
        live.version + 1,
        this.#expiry(w.ttlSeconds),
        w.value,
      )
      const kv: KeyValue = {
        key: w.key,
        value: w.value,
        createRevision: revision(live.create_revision),
        modRevision: revision(rev),
        version: live.version + 1,
      }
      events.push({ type: 'put', kv, prev })
      return { ok: true, value: kv }
    }
    this.#stmt.insert.run(rev, w.key, 1, live.create_revision, live.revision, 0, null, EMPTY)
    const result: DeleteResult = { revision: revision(rev), prev }
    events.push({ type: 'delete', key: w.key, revision: revision(rev), prev })
    return { ok: true, value: result }
  }

  #expiry(ttlSeconds: number | undefined): number | null {
    return ttlSeconds === undefined ? null : this.#clock.now() + ttlSeconds * 1000
  }

  /** Deletes keys whose TTL has passed, as ordinary guarded deletes (watchers see them). */
  #sweepExpired(): void {
    if (this.#closed) return
    let expired: { key: string; revision: number }[]
    try {
      expired = this.#stmt.expired.all(this.#clock.now()) as unknown as { key: string; revision: number }[]
    } catch {
      return // the next sweep tries again; a broken file shows up in the calls that need it
    }
    for (const { key, revision: rev } of expired) {
      // A write in between (a new TTL, or a delete) wins: that outcome is not an error here.
      this.delete(key, { expected: revision(rev) }).catch(() => undefined)
    }
  }

  // --- watch -----------------------------------------------------------------------------------

  watch(prefix: string, options: WatchOptions): AsyncIterable<WatchEvent> {
    return { [Symbol.asyncIterator]: () => this.#watchIterator(prefix, options) }
  }

  /**
   * A watch as a hand-written iterator rather than an async generator: with a thousand watchers
   * on a prefix, every commit resumes every one of them, and a plain resolved promise per event
   * costs a fraction of a generator's round trip. The watcher registers on the first next().
   */
  #watchIterator(prefix: string, options: WatchOptions): AsyncIterator<WatchEvent> {
    let watcher: Watcher | undefined
    let finished = false
    const onAbort = () => watcher?.wake()
    const finish = (): IteratorReturnResult<undefined> => {
      if (!finished) {
        finished = true
        options.signal.removeEventListener('abort', onAbort)
        if (watcher) this.#watchers.remove(watcher)
      }
      return { done: true, value: undefined }
    }
    const step = (): IteratorResult<WatchEvent> | undefined => {
      if (finished || options.signal.aborted) return finish()
      if (!watcher) {
        if (this.#closed) throw this.#closedError()
        this.#checkNotCompacted(options.after)
        watcher = this.#watchers.add({
          prefix,
          after: options.after,
          progressNotify: options.progressNotify ?? false,
          now: this.#clock.now(),
          caughtUp: options.after >= this.#published,
        })
        options.signal.addEventListener('abort', onAbort, { once: true })
      }
      if (watcher.closed) throw this.#closedError()
      if (!watcher.caughtUp && watcher.pending === 0) this.#catchUp(watcher)
      const e = watcher.take()
      return e === undefined ? undefined : { done: false, value: e }
    }
    const next = (): Promise<IteratorResult<WatchEvent>> => {
      try {
        const r = step()
        if (r !== undefined) return Promise.resolve(r)
      } catch (err) {
        finish()
        return Promise.reject(err instanceof Error ? err : new Error(String(err)))
      }
      return (watcher?.wait() ?? Promise.resolve()).then(next)
    }
    return { next, return: () => Promise.resolve(finish()) }
  }

  /**
   * Queues the next page of history a lagging watcher has not seen. When the page reaches the
   * store's revision the watcher switches to live events in the same synchronous step, so no
   * commit can fall between the two.
   */
  #catchUp(watcher: Watcher): void {
    const after = watcher.queuedUpTo
    this.#checkNotCompacted(after)
    const end = prefixEnd(watcher.prefix)
    const page = 1000
    const rows = this.#run(
      () =>
        (end === ''
          ? this.#stmt.historyOpen.all(after, this.#published, page)
          : this.#stmt.history.all(
              after,
              this.#published,
              watcher.prefix,
              end,
              page,
            )) as unknown as RowWithPrev[],
    )
    watcher.pushHistory(rows.map(toEvent))
    if (rows.length < page) watcher.markCaughtUp(this.#published)
  }

  #checkNotCompacted(after: number): void {
    if (after < this.#compacted) {
      throw new StorageError(
        'Compacted',
        `revision ${after + 1} has been compacted (compacted up to ${this.#compacted})`,
        {
          compactedRevision: revision(this.#compacted),
        },
      )
    }
  }

  // --- compaction ------------------------------------------------------------------------------

  compact(upTo: Revision): Promise<void> {
    const run = this.#compaction.then(() => this.#compact(upTo))
    this.#compaction = run.catch(() => undefined)
    return run
  }

  /**
   * Marks history up to `upTo` as gone at once (reads and watches before it fail from now on),
   * then deletes the superseded rows in small steps with the event loop free between them, so
   * writes never queue behind more than one step. Every row in (last compaction, upTo]
   * supersedes the row it points back to; tombstones supersede themselves.
   */
  async #compact(upTo: Revision): Promise<void> {
    if (this.#closed) throw this.#closedError()
    if (upTo > this.#published) {
      throw new StorageError(
        'InvalidArgument',
        `cannot compact to revision ${upTo}: the store is at ${this.#published}`,
      )
    }
    if (upTo <= this.#compacted) {
      throw new StorageError('Compacted', `revision ${upTo} is already compacted`, {
        compactedRevision: revision(this.#compacted),
      })
    }
    await this.#whenNotBusy(() => this.#run(() => writeMeta(this.#stmt, 'compacted_revision', upTo)))
    this.#compacted = upTo
    let cursor = readMeta(this.#stmt, 'compact_cursor')
    while (cursor < upTo && !this.#closed) {
      cursor = await this.#whenNotBusy(() =>
        this.#run(() => {
          this.#db.exec('BEGIN IMMEDIATE')
          try {
            const rows = this.#stmt.compactScan.all(
              cursor,
              upTo,
              this.#options.compactBatch,
            ) as unknown as Pick<Row, 'revision' | 'prev_revision' | 'deleted'>[]
            const last = rows.at(-1)?.revision ?? upTo
            for (const r of rows) {
              if (r.prev_revision !== 0) this.#stmt.deleteRow.run(r.prev_revision)
              if (r.deleted) this.#stmt.deleteRow.run(r.revision)
            }
            const next = rows.length < this.#options.compactBatch ? upTo : last
            writeMeta(this.#stmt, 'compact_cursor', next)
            this.#db.exec('COMMIT')
            return next
          } catch (err) {
            this.#db.exec('ROLLBACK')
            throw err
          }
        }),
      )
      await nextTurn()
    }
  }

  /** Runs a write, again after a moment for as long as the checkpointer thread holds writes back. */
  async #whenNotBusy<T>(write: () => T): Promise<T> {
    for (;;) {
      try {
        return write()
      } catch (err) {
        if (!(err instanceof StorageError && isBusy(err.cause))) throw err
      }
      await sleep(1)
    }
  }

  // --- lifecycle -------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#closed) return
    await this.#compaction
    // Before anything is refused: the watches end only as close() does.
    await this.#checkpointer?.stop()
    // Let queued writes finish: their callers were promised an answer.
    if (this.#pending.length > 0) this.#flush()
    while (this.#syncing) await this.#syncing
    this.#closed = true
    if (this.#walFd !== undefined) closeSync(this.#walFd)
    for (const t of this.#timers) t.cancel()
    this.#watchers.closeAll()
    // The last connection to close copies what is left of the WAL and removes it.
    this.#db.close()
    this.#lock?.close()
  }

  /** Runs `fn` every `intervalMs` until close. */
  #schedule(intervalMs: number, fn: () => void): void {
    const slot = this.#timers.length
    const tick = () => {
      if (this.#closed) return
      fn()
      this.#timers[slot] = this.#clock.setTimer(intervalMs, tick)
    }
    this.#timers.push(this.#clock.setTimer(intervalMs, tick))
  }

  #readRevision(at: Revision | undefined): number {
    if (at === undefined || at === 0) return this.#published
    if (at > this.#published) {
      throw new StorageError(
        'InvalidArgument',
        `revision ${at} is in the future (the store is at ${this.#published})`,
      )
    }
    if (at < this.#compacted) {
      throw new StorageError('Compacted', `revision ${at} has been compacted`, {
        compactedRevision: revision(this.#compacted),
      })
    }
    return at
  }

  /** Runs a synchronous read, turning SQLite failures into 'Unavailable' errors that name the file. */
  #run<T>(fn: () => T): T {
    if (this.#closed) throw this.#closedError()
    try {
      return fn()
    } catch (err) {
      if (err instanceof StorageError) throw err
      throw this.#failure('read failed', err)
    }
  }

  #failure(what: string, err: unknown): StorageError {
    const detail = err instanceof Error ? err.message : String(err)
    return new StorageError('Unavailable', `sqlite store ${this.path}: ${what}: ${detail}`, { cause: err })
  }

  #closedError(): StorageError {
    return new StorageError('Unavailable', `sqlite store ${this.path} is closed`)
  }
}

const EMPTY = new Uint8Array(0)

function fail(err: StorageError): { ok: false; value: StorageError } {
  return { ok: false, value: err }
}

function toKeyValue(row: Row): KeyValue {
  return {
    key: row.key,
    value: row.value,
    createRevision: revision(row.create_revision),
    modRevision: revision(row.revision),
    version: row.version,
  }
}

function toEvent(row: RowWithPrev): WatchEvent {
  const prev: KeyValue | undefined =
    row.prev_value === null
      ? undefined
      : {
          key: row.key,
          value: row.prev_value,
          createRevision: revision(row.prev_create_revision ?? 0),
          modRevision: revision(row.prev_revision),
          version: row.prev_version ?? 0,
        }
  if (row.deleted) {
    // Compaction keeps the newest value at or before the compacted revision, so a tombstone
    // after it always finds the value it removed.
    if (prev === undefined)
      throw new StorageError('Unavailable', `${row.key}: the value deleted at ${row.revision} is missing`)
    return { type: 'delete', key: row.key, revision: revision(row.revision), prev }
  }
  const kv = toKeyValue(row)
  return prev === undefined ? { type: 'put', kv } : { type: 'put', kv, prev }
}

/**
 * Opens the file for this process alone. Checks happen before anything is written, so a file
 * that is not a k8ts store is left exactly as it was.
 *
 * The store's own file is opened in SQLite's normal locking mode, so that the checkpointer thread
 * can open it too; what keeps a second process out is `<path>-lock`, a small database of its own
 * held in exclusive locking mode until close: a second opener fails fast instead of writing beside
 * us. `walAutocheckpoint` 0 leaves checkpoints to the checkpointer thread.
 */
function openDatabase(
  path: string,
  sync: 'full' | 'normal',
  cacheMiB: number,
  walAutocheckpoint: number,
): { db: DatabaseSync; lock: DatabaseSync | undefined } {
  const fail = (why: string, cause?: unknown) =>
    new StorageError('Unavailable', `sqlite store ${path}: ${why}`, cause === undefined ? {} : { cause })
  if (path !== ':memory:') checkHeader(path, fail)
  const lock = path !== ':memory:' ? lockFile(`${path}-lock`, fail) : undefined
  let db: DatabaseSync
  try {
    // No waiting on locks: when a FULL checkpoint of the checkpointer thread holds writes back
    // for a moment, the writes are tried again on a timer instead of stopping the event loop.
    db = new DatabaseSync(path, { timeout: 0 })
  } catch (err) {
    lock?.close()
    throw fail(`cannot open: ${(err as Error).message}`, err)
  }
  try {
    db.exec('BEGIN')
    const appId = (db.prepare('PRAGMA application_id').get()?.application_id as number | undefined) ?? 0
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((r) => r.name as string)
    db.exec('COMMIT')
    const ours = appId === APPLICATION_ID
    if (!ours && tables.length > 0) {
      throw fail(
        `the file is a SQLite database of another program (tables: ${tables.slice(0, 5).join(', ')}); not touching it`,
      )
    }
    if (ours) {
      const userVersion = db.prepare('PRAGMA user_version').get()?.user_version as number
      if (userVersion > SCHEMA_VERSION) {
        throw fail(
          `the store was written by a newer k8ts (schema ${userVersion}, this one knows ${SCHEMA_VERSION})`,
        )
      }
    }
    db.exec('PRAGMA journal_mode = WAL')
    db.exec(`PRAGMA synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`)
    db.exec(`PRAGMA cache_size = ${-Math.round(cacheMiB * 1024)}`)
    db.exec(`PRAGMA wal_autocheckpoint = ${walAutocheckpoint}`)
    db.exec(SCHEMA)
    db.exec(`PRAGMA application_id = ${APPLICATION_ID}`)
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
    return { db, lock }
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK')
    db.close()
    lock?.close()
    if (err instanceof StorageError) throw err
    throw fail(`cannot open: ${(err as Error).message}`, err)
  }
}

/** Takes `path` (a database of its own) for this process until it is closed, or fails at once. */
function lockFile(path: string, fail: (why: string, cause?: unknown) => StorageError): DatabaseSync {
  let lock: DatabaseSync
  try {
    lock = new DatabaseSync(path, { timeout: 0 })
  } catch (err) {
    throw fail(`cannot open its lock file ${path}: ${(err as Error).message}`, err)
  }
  try {
    lock.exec('PRAGMA locking_mode = EXCLUSIVE')
    // The first write takes the exclusive lock, and this locking mode keeps it until close.
    lock.exec('BEGIN EXCLUSIVE')
    lock.exec('COMMIT')
    return lock
  } catch (err) {
    lock.close()
    throw (err as { errcode?: number }).errcode === 5
      ? fail('the file is in use by another process (is another k8ts running on this data directory?)', err)
      : fail(`cannot lock ${path}: ${(err as Error).message}`, err)
  }
}

/** A file that exists must be a regular file that starts like a SQLite database (or be empty). */
function checkHeader(path: string, fail: (why: string, cause?: unknown) => StorageError): void {
  let size: number
  try {
    const st = statSync(path)
    if (!st.isFile()) throw fail('not a regular file')
    size = st.size
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    if (err instanceof StorageError) throw err
    throw fail(`cannot read: ${(err as Error).message}`, err)
  }
  if (size === 0) return
  const header = Buffer.alloc(SQLITE_HEADER.length)
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    readSync(fd, header, 0, header.length, 0)
  } catch (err) {
    throw fail(`cannot read: ${(err as Error).message}`, err)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  if (header.toString('latin1') !== SQLITE_HEADER) {
    throw fail('the file is not a SQLite database (corrupt, or some other file); not touching it')
  }
}

function prepareStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql)
  // The newest row per key at or before a revision: GROUP BY walks the (key, revision) index in
  // key order and MAX() picks the row whose other columns are returned.
  const newestPerKey = (where: string) =>
    `SELECT key, MAX(revision) AS revision, deleted, create_revision, prev_revision, version, value
       FROM kv WHERE ${where} AND revision <= ? GROUP BY key HAVING deleted = 0 ORDER BY key LIMIT ?`
  const countPerKey = (where: string) =>
    `SELECT COUNT(*) AS n FROM (SELECT MAX(revision) AS revision, deleted FROM kv WHERE ${where} AND revision <= ?
       GROUP BY key HAVING deleted = 0)`
  const history = (where: string) =>
    `SELECT c.revision, c.key, c.deleted, c.create_revision, c.prev_revision, c.version, c.value,
            p.value AS prev_value, p.create_revision AS prev_create_revision, p.version AS prev_version
       FROM kv c LEFT JOIN kv p ON p.revision = c.prev_revision
      WHERE c.revision > ? AND c.revision <= ? ${where} ORDER BY c.revision LIMIT ?`
  return {
    sequence: p("SELECT seq FROM sqlite_sequence WHERE name = 'kv'"),
    readMeta: p('SELECT value FROM meta WHERE name = ?'),
    writeMeta: p(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    ),
    latest: p('SELECT * FROM kv WHERE key = ? ORDER BY revision DESC LIMIT 1'),
    getAt: p('SELECT * FROM kv WHERE key = ? AND revision <= ? ORDER BY revision DESC LIMIT 1'),
    list: p(newestPerKey('key >= ? AND key < ?')),
    listOpen: p(newestPerKey('key >= ?')),
    count: p(countPerKey('key >= ? AND key < ?')),
    countOpen: p(countPerKey('key >= ?')),
    history: p(history('AND c.key >= ? AND c.key < ?')),
    historyOpen: p(history('')),
    insert: p(
      `INSERT INTO kv (revision, key, deleted, create_revision, prev_revision, version, expires_at, value)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    expired: p(
      `SELECT k.key, k.revision FROM kv k
        WHERE k.expires_at IS NOT NULL AND k.expires_at <= ? AND k.deleted = 0
          AND NOT EXISTS (SELECT 1 FROM kv n WHERE n.key = k.key AND n.revision > k.revision)
        LIMIT 1000`,
    ),
    compactScan: p(
      'SELECT revision, prev_revision, deleted FROM kv WHERE revision > ? AND revision <= ? ORDER BY revision LIMIT ?',
    ),
    deleteRow: p('DELETE FROM kv WHERE revision = ?'),
  }
}

function readMeta(stmt: ReturnType<typeof prepareStatements>, name: string): number {
  return (stmt.readMeta.get(name)?.value as number | undefined) ?? 0
}

function writeMeta(stmt: ReturnType<typeof prepareStatements>, name: string, value: number): void {
  stmt.writeMeta.run(name, value satisfies SQLInputValue)
}
