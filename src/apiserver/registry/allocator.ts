import { isStorageError, type Storage } from '../../storage/index.ts'

/**
 * Hands out unique values from a range (Service cluster IPs, NodePorts). Each value in use is a
 * key in the store, claimed with create-if-absent, so two apiservers on one etcd can never give
 * the same value twice; the key holds the owner (`namespace/name` of the Service), so a repair
 * pass can free what no owner uses any more.
 */
export interface RangeAllocator {
  /** Claims a specific value for `owner`; false when it is taken (by someone else) or out of range. */
  allocate(value: string, owner: string): Promise<boolean>
  /** Claims any free value; undefined when the range is full. */
  allocateNext(owner: string): Promise<string | undefined>
  /** Frees a value if `owner` holds it. */
  release(value: string, owner: string): Promise<void>
  contains(value: string): boolean
  /** Frees every value whose owner `keep` does not confirm; claims what `wanted` lists and is missing. */
  repair(keep: (value: string, owner: string) => boolean, wanted: ReadonlyMap<string, string>): Promise<void>
}

/** The values of a range, as strings, with a way to pick candidates. */
interface Range {
  size: number
  /** The i-th value of the range (0 <= i < size). */
  at(i: number): string
  contains(value: string): boolean
}

class StoredRangeAllocator implements RangeAllocator {
  readonly #storage: Storage
  readonly #prefix: string
  readonly #range: Range
  #next = 0

  constructor(storage: Storage, prefix: string, range: Range) {
    this.#storage = storage
    this.#prefix = prefix
    this.#range = range
    this.#next = Math.floor(Math.random() * range.size)
  }

  contains(value: string): boolean {
    return this.#range.contains(value)
  }

  async allocate(value: string, owner: string): Promise<boolean> {
    if (!this.#range.contains(value)) return false
    try {
      await this.#storage.create(this.#prefix + value, Buffer.from(owner))
      return true
    } catch (err) {
      if (!isStorageError(err, 'KeyExists')) throw err
      // Taken: by this very owner (a retried write) counts as ours.
      return err.current !== undefined && Buffer.from(err.current.value).toString() === owner
    }
  }

  async allocateNext(owner: string): Promise<string | undefined> {
    const taken = new Set(
      (await this.#storage.list(this.#prefix)).items.map((kv) => kv.key.slice(this.#prefix.length)),
    )
    if (taken.size >= this.#range.size) return undefined
    // Start where the last search stopped (spreads values out, as Kubernetes' random scan does).
    for (let n = 0; n < this.#range.size; n++) {
      const i = (this.#next + n) % this.#range.size
      const value = this.#range.at(i)
      if (taken.has(value)) continue
      if (await this.allocate(value, owner)) {
        this.#next = (i + 1) % this.#range.size
        return value
      }
    }
    return undefined
  }

  async release(value: string, owner: string): Promise<void> {
    const kv = await this.#storage.get(this.#prefix + value)
    if (!kv || Buffer.from(kv.value).toString() !== owner) return
    try {
      await this.#storage.delete(this.#prefix + value, { expected: kv.modRevision })
    } catch (err) {
      if (!isStorageError(err, 'Conflict') && !isStorageError(err, 'KeyNotFound')) throw err
    }
  }

  async repair(
    keep: (value: string, owner: string) => boolean,
    wanted: ReadonlyMap<string, string>,
  ): Promise<void> {
    const held = new Map<string, string>()
    for (const kv of (await this.#storage.list(this.#prefix)).items) {
      const value = kv.key.slice(this.#prefix.length)
      const owner = Buffer.from(kv.value).toString()
      held.set(value, owner)
      if (!keep(value, owner)) await this.release(value, owner)
    }
    for (const [value, owner] of wanted) {
      if (!held.has(value) && this.#range.contains(value)) await this.allocate(value, owner)
    }
  }
}

/** Cluster IPs from an IPv4 CIDR, without the network and broadcast addresses. */
export function ipAllocator(
  storage: Storage,
  cidr: string,
  prefix = '/registry/k8ts/ipallocations/',
): RangeAllocator {
  return new StoredRangeAllocator(storage, prefix, ipv4Range(cidr))
}

/** Ports from `first-last` (inclusive), e.g. 30000-32767. */
export function portAllocator(
  storage: Storage,
  range: string,
  prefix = '/registry/k8ts/portallocations/',
): RangeAllocator {
  const m = /^(\d+)-(\d+)$/.exec(range)
  const first = Number(m?.[1])
  const last = Number(m?.[2])
  if (!m || first < 1 || last > 65535 || first > last)
    throw new Error(`invalid port range ${JSON.stringify(range)}`)
  return new StoredRangeAllocator(storage, prefix, {
    size: last - first + 1,
    at: (i) => String(first + i),
    contains: (v) => /^\d+$/.test(v) && Number(v) >= first && Number(v) <= last,
  })
}

export interface Ipv4Cidr {
  /** The network address as a 32-bit number. */
  base: number
  bits: number
}

export function parseIpv4Cidr(cidr: string): Ipv4Cidr {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr)
  const octets = m ? [m[1], m[2], m[3], m[4]].map(Number) : []
  const bits = Number(m?.[5])
  if (!m || octets.some((o) => o > 255) || bits < 1 || bits > 30)
    throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`)
  const addr = octets.reduce((a, o) => a * 256 + o, 0)
  const size = 2 ** (32 - bits)
  return { base: addr - (addr % size), bits }
}

export function ipv4ToNumber(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip)
  if (!m) return undefined
  const octets = [m[1], m[2], m[3], m[4]].map(Number)
  if (octets.some((o) => o > 255)) return undefined
  return octets.reduce((a, o) => a * 256 + o, 0)
}

export function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/** The i-th usable address of a CIDR (0 is the first after the network address). */
export function nthAddress(cidr: string, i: number): string {
  const c = parseIpv4Cidr(cidr)
  return numberToIpv4(c.base + 1 + i)
}

function ipv4Range(cidr: string): Range {
  const c = parseIpv4Cidr(cidr)
  const size = 2 ** (32 - c.bits) - 2
  return {
    size,
    at: (i) => numberToIpv4(c.base + 1 + i),
    contains: (v) => {
      const n = ipv4ToNumber(v)
      return n !== undefined && n > c.base && n < c.base + size + 1
    },
  }
}
