/**
 * Pod IPs from one IPv4 CIDR, handed out as CNI's host-local plugin does behind a bridge: from
 * the second address on (the first is the bridge's gateway), up to the one before broadcast,
 * round-robin from the last one given, so a released address is not reused at once.
 */
export class IpPool {
  readonly cidr: string
  readonly #first: number
  readonly #last: number
  readonly #used = new Set<number>()
  #cursor: number

  constructor(cidr: string) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr)
    const bits = Number(m?.[5])
    const octets = m ? m.slice(1, 5).map(Number) : []
    if (!m || bits > 30 || octets.some((o) => o > 255))
      throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`)
    const size = 2 ** (32 - bits)
    const network = octets.reduce((n, o) => n * 256 + o, 0)
    const base = network - (network % size)
    this.cidr = `${formatIp(base)}/${bits}`
    this.#first = base + 2
    this.#last = base + size - 2
    this.#cursor = this.#first - 1
  }

  /** The range, as host-local prints it in its errors: 10.88.0.2-10.88.255.254. */
  get range(): string {
    return `${formatIp(this.#first)}-${formatIp(this.#last)}`
  }

  /** The next free address, or undefined when every one is taken. */
  allocate(): string | undefined {
    const size = this.#last - this.#first + 1
    if (this.#used.size >= size) return undefined
    let ip = this.#cursor
    for (let i = 0; i < size; i++) {
      ip = ip >= this.#last ? this.#first : ip + 1
      if (!this.#used.has(ip)) {
        this.#used.add(ip)
        this.#cursor = ip
        return formatIp(ip)
      }
    }
    return undefined
  }

  /** Gives an address back; addresses outside the pool are ignored (the CIDR may have changed). */
  release(ip: string): void {
    const n = parseIp(ip)
    if (n !== undefined) this.#used.delete(n)
  }

  get allocated(): number {
    return this.#used.size
  }
}

function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

function parseIp(ip: string): number | undefined {
  const parts = ip.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
  return parts.reduce((n, o) => n * 256 + o, 0)
}
