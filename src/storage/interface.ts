/**
 * The store: a revisioned key/value map with watch, with the semantics of etcd v3 because that is
 * what Kubernetes is built on. The apiserver is its only user (DESIGN.md).
 *
 * Revisions. Every successful write (create, update, delete) gets the next cluster-wide revision,
 * starting at 1. A key remembers the revision that created it (createRevision), the revision of
 * its latest write (modRevision) and how many times it has been written since it was created
 * (version, 1 after create). Deleting a key ends its life: creating it again starts a new one.
 *
 *   absent ──create──▶ live (version 1) ──update──▶ live (version n+1) ──delete──▶ absent
 *
 * History. Every past revision can be read (get/list at a revision, watch from a revision) until
 * it is compacted away: compact(r) forgets every value that was superseded at or before r. Reads
 * at or watches from a revision older than the compacted one fail with StorageError 'Compacted'.
 *
 * Consistency. A call that has resolved is durable and visible to every later read. A list is
 * consistent at the single revision it reports. Watches deliver every change after the revision
 * they start from, in revision order, with no gap and no duplicate.
 */

/** A store revision: a positive integer in storage, a decimal string on the wire (resourceVersion). */
export type Revision = number & { readonly __brand: 'Revision' }

/** Makes a Revision of a number that is known to be one. */
export function revision(n: number): Revision {
  return n as Revision
}

export interface KeyValue {
  readonly key: string
  readonly value: Uint8Array
  readonly createRevision: Revision
  readonly modRevision: Revision
  /** 1 right after create, plus one for each update since. */
  readonly version: number
}

/**
 * One change seen by a watch. A put with `prev` absent created the key (kv.version === 1); a put
 * with `prev` updated it. A delete carries the revision of the deletion and the value the key had
 * just before it. A progress notification says that no change in the watched range at or before
 * `revision` is still to come (it becomes a watch bookmark).
 */
export type WatchEvent =
  | { readonly type: 'put'; readonly kv: KeyValue; readonly prev?: KeyValue }
  | { readonly type: 'delete'; readonly key: string; readonly revision: Revision; readonly prev: KeyValue }
  | { readonly type: 'progress'; readonly revision: Revision }

/** The revision an event happened at. */
export function eventRevision(e: WatchEvent): Revision {
  switch (e.type) {
    case 'put':
      return e.kv.modRevision
    case 'delete':
    case 'progress':
      return e.revision
  }
}

export interface GetOptions {
  /** Read the key as it was at this revision (default: now). */
  revision?: Revision
}

export interface ListOptions {
  /** Read the range as it was at this revision (default: now). */
  revision?: Revision
  /** At most this many keys (default: all). */
  limit?: number
  /** Start at this key (inclusive) instead of the prefix itself: how a paged list continues. */
  startKey?: string
}

export interface ListResult {
  /** The live keys in key order. */
  items: KeyValue[]
  /** The revision the list is consistent at: pass it back to continue at the same point. */
  revision: Revision
  /** True when the limit cut the list short. */
  more: boolean
  /** How many keys the range [startKey or prefix, end of prefix) holds in all, ignoring the limit. */
  count: number
}

export interface WriteOptions {
  /**
   * The key is deleted (with a delete event, as any delete) about this many seconds after this
   * write, unless written again before. Kubernetes gives Events a TTL of one hour.
   */
  ttlSeconds?: number
}

export interface DeleteOptions {
  /** Delete only if the key's modRevision is still this one. */
  expected?: Revision
}

export interface DeleteResult {
  /** The revision of the deletion. */
  revision: Revision
  /** The key's value just before it was deleted. */
  prev: KeyValue
}

export interface WatchOptions {
  /** Deliver every change after this revision (0: every change still in history). */
  after: Revision
  /** Aborting ends the watch: the iteration finishes without an error. */
  signal: AbortSignal
  /**
   * Also deliver progress notifications while the range is quiet. The interval is the
   * backend's: its own option for SQLite, the server's --experimental-watch-progress-notify-interval
   * for etcd (as kube-apiserver relies on).
   */
  progressNotify?: boolean
}

/**
 * What every backend implements. Each call is atomic; none takes locks that outlive it.
 *
 * Errors are StorageErrors:
 * - 'KeyExists': create of a live key;
 * - 'KeyNotFound': update or delete of an absent key;
 * - 'Conflict': update or delete whose expected modRevision is not the key's (the error carries
 *   the current value, so a retry needs no extra read);
 * - 'Compacted': a read at or a watch from a revision that compaction has removed;
 * - 'Unavailable': the backend cannot be reached or has failed; the call may or may not have
 *   taken effect (as with any timeout), so callers re-read before retrying a write;
 * - 'InvalidArgument': a call that no state of the store could satisfy.
 */
export interface Storage {
  /** 'sqlite' or 'etcd', for logs and metrics. */
  readonly backend: string

  get(key: string, options?: GetOptions): Promise<KeyValue | undefined>
  /** The live keys under `prefix` (every key that starts with it; '' is every key). */
  list(prefix: string, options?: ListOptions): Promise<ListResult>
  /** Creates a key that is absent. */
  create(key: string, value: Uint8Array, options?: WriteOptions): Promise<KeyValue>
  /** Replaces a key's value if its modRevision is `expected`. */
  update(key: string, value: Uint8Array, expected: Revision, options?: WriteOptions): Promise<KeyValue>
  /** Deletes a key, if its modRevision is `options.expected` when that is given. */
  delete(key: string, options?: DeleteOptions): Promise<DeleteResult>
  /**
   * Every change to keys under `prefix` after `options.after`, then live changes, until the
   * signal aborts. Throws 'Compacted' (at the start, or later if the watcher falls so far behind
   * that the history it still needs is compacted) and 'Unavailable' (the store was closed).
   */
  watch(prefix: string, options: WatchOptions): AsyncIterable<WatchEvent>
  /** The revision of the latest write. */
  currentRevision(): Promise<Revision>
  /** The same, at once, for backends that hold it in this process (SQLite); absent for remote ones. */
  currentRevisionSync?(): Revision
  /**
   * Where the backend can do it exactly: every watch that asked for progress notifications gets
   * one at the current revision right after the events it has yet to receive, so that a cache fed
   * by a watch can tell when it has caught up with a read that happened now (consistent reads
   * from cache). Backends that cannot guarantee the ordering leave it out (etcd 3.4's
   * RequestProgress may run ahead of undelivered events), and callers read from the store instead.
   */
  requestProgress?(): Promise<void>
  /** The newest revision that compaction has removed history up to (0 when none). */
  compactedRevision(): Promise<Revision>
  /**
   * Forgets every value superseded at or before `upTo`. Reads at older revisions then fail with
   * 'Compacted'. Throws 'Compacted' when `upTo` is not newer than the last compaction.
   */
  compact(upTo: Revision): Promise<void>
  /** Releases the backend; pending watches end with 'Unavailable'. */
  close(): Promise<void>
}

export type StorageErrorCode =
  'KeyNotFound' | 'KeyExists' | 'Conflict' | 'Compacted' | 'Unavailable' | 'InvalidArgument'

export interface StorageErrorDetails {
  key?: string
  /** With 'Conflict' and 'KeyExists': the key's value now. */
  current?: KeyValue
  /** With 'Compacted': the revision history is now compacted up to. */
  compactedRevision?: Revision
  cause?: unknown
}

export class StorageError extends Error {
  override readonly name = 'StorageError'
  readonly code: StorageErrorCode
  readonly key: string | undefined
  readonly current: KeyValue | undefined
  readonly compactedRevision: Revision | undefined

  constructor(code: StorageErrorCode, message: string, details: StorageErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.key = details.key
    this.current = details.current
    this.compactedRevision = details.compactedRevision
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code)
}

/** The first key after every key that starts with `prefix` ('' when there is none: the range is open). */
export function prefixEnd(prefix: string): string {
  if (prefix === '') return ''
  const last = prefix.charCodeAt(prefix.length - 1)
  // Keys compare as UTF-8 bytes. Below 0x7f, bumping the last character gives the next prefix;
  // otherwise append the highest code point, which sorts after any character a key can hold.
  if (last < 0x7f) return prefix.slice(0, -1) + String.fromCharCode(last + 1)
  return prefix + '\u{10FFFF}'
}
