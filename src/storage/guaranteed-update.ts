import { isStorageError, StorageError, type KeyValue, type Storage, type WriteOptions } from './interface.ts'

/**
 * Decides the next value of a key from its current one: a new value to write, or `undefined` to
 * leave the key as it is. `current` is undefined when the key is absent. May throw to give up;
 * the error reaches the caller unchanged.
 */
export type TryUpdate = (
  current: KeyValue | undefined,
) => Uint8Array | undefined | Promise<Uint8Array | undefined>

export interface GuaranteedUpdateOptions extends WriteOptions {
  /** A value believed to be current (from a cache): saves the first read when it is right. */
  cached?: KeyValue
  /** Give up with the last 'Conflict' after this many attempts (default 100). */
  maxAttempts?: number
}

/**
 * Read-modify-write with optimistic concurrency, as the apiserver's GuaranteedUpdate: apply
 * `tryUpdate` to the current value and write the result only if nobody wrote in between; on a
 * conflict, start again from the value that won. When `tryUpdate` returns the same bytes or
 * `undefined`, nothing is written and the current value is returned. When the key is absent and
 * `tryUpdate` returns a value, the key is created.
 *
 * Resolves to the key as stored afterwards, or `undefined` if it is absent and stays absent.
 */
export async function guaranteedUpdate(
  storage: Storage,
  key: string,
  tryUpdate: TryUpdate,
  options: GuaranteedUpdateOptions = {},
): Promise<KeyValue | undefined> {
  const maxAttempts = options.maxAttempts ?? 100
  const write: WriteOptions = options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }
  let current = options.cached ?? (await storage.get(key))
  let fromCache = options.cached !== undefined
  let lastConflict: StorageError | undefined
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const next = await tryUpdate(current)
    if (next === undefined || (current !== undefined && sameBytes(next, current.value))) {
      if (!fromCache) return current
      // A cached value may be stale: confirm that "nothing to do" holds for the real one.
      current = await storage.get(key)
      fromCache = false
      continue
    }
    try {
      return current === undefined
        ? await storage.create(key, next, write)
        : await storage.update(key, next, current.modRevision, write)
    } catch (err) {
      if (isStorageError(err, 'Conflict') || isStorageError(err, 'KeyExists')) {
        lastConflict = err
        current = err.current ?? (await storage.get(key))
      } else if (isStorageError(err, 'KeyNotFound')) {
        lastConflict = err
        current = undefined
      } else {
        throw err
      }
      fromCache = false
    }
  }
  throw (
    lastConflict ??
    new StorageError('Conflict', `${key}: gave up after ${maxAttempts} conflicting attempts`, { key })
  )
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}
