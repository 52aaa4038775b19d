import { Heap } from '../../../base/heap.ts'

interface Entry<T> {
  atMs: number
  seq: number
  item: T
}

/**
 * Things due at a time, earliest first (in insertion order among equals). The fake runtime keeps
 * every pending container exit in one of these and takes what is due whenever it is called, so a
 * hundred thousand sleeping containers cost no timers at all.
 */
export class DueQueue<T> {
  readonly #heap = new Heap<Entry<T>>((x, y) => x.atMs < y.atMs || (x.atMs === y.atMs && x.seq < y.seq))
  #seq = 0

  get size(): number {
    return this.#heap.size
  }

  push(atMs: number, item: T): void {
    this.#heap.push({ atMs, seq: this.#seq++, item })
  }

  /** Removes and returns the earliest item due at or before `nowMs`, if any. */
  popDue(nowMs: number): { atMs: number; item: T } | undefined {
    const top = this.#heap.peek()
    if (top === undefined || top.atMs > nowMs) return undefined
    this.#heap.pop()
    return { atMs: top.atMs, item: top.item }
  }

  /** When the earliest item is due; undefined when empty. */
  peekAt(): number | undefined {
    return this.#heap.peek()?.atMs
  }
}
