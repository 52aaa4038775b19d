/**
 * Things due at a time, earliest first: a binary min-heap on (atMs, insertion order). The fake
 * runtime keeps every pending container exit in one of these and takes what is due whenever it is
 * called, so a hundred thousand sleeping containers cost no timers at all.
 */
export class DueQueue<T> {
  readonly #heap: { atMs: number; seq: number; item: T }[] = []
  #seq = 0

  get size(): number {
    return this.#heap.length
  }

  push(atMs: number, item: T): void {
    const heap = this.#heap
    heap.push({ atMs, seq: this.#seq++, item })
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#less(i, parent)) break
      this.#swap(i, parent)
      i = parent
    }
  }

  /** Removes and returns the earliest item due at or before `nowMs`, if any. */
  popDue(nowMs: number): { atMs: number; item: T } | undefined {
    const heap = this.#heap
    const top = heap[0]
    if (top === undefined || top.atMs > nowMs) return undefined
    const last = heap.pop()
    if (last !== undefined && heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let min = i
        if (l < heap.length && this.#less(l, min)) min = l
        if (r < heap.length && this.#less(r, min)) min = r
        if (min === i) break
        this.#swap(i, min)
        i = min
      }
    }
    return { atMs: top.atMs, item: top.item }
  }

  /** When the earliest item is due; undefined when empty. */
  peekAt(): number | undefined {
    return this.#heap[0]?.atMs
  }

  #less(a: number, b: number): boolean {
    const x = this.#heap[a]
    const y = this.#heap[b]
    if (x === undefined || y === undefined) return false
    return x.atMs < y.atMs || (x.atMs === y.atMs && x.seq < y.seq)
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap
    const x = heap[a]
    const y = heap[b]
    if (x === undefined || y === undefined) return
    heap[a] = y
    heap[b] = x
  }
}
