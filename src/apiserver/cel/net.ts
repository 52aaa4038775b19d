import { isIPv4, isIPv6 } from 'node:net'
import type { Environment } from '@marcbachmann/cel-js'

/**
 * Kubernetes' CEL IP and CIDR libraries (k8s.io/apiserver/pkg/cel/library/ip.go and cidr.go):
 * ip(), isIP(), cidr(), isCIDR() and what can be asked of them. As Kubernetes does, IPv4-mapped
 * IPv6 addresses and zones are refused.
 */
export class IPAddress {
  readonly bytes: Uint8Array
  readonly family: 4 | 6

  constructor(bytes: Uint8Array) {
    this.bytes = bytes
    this.family = bytes.length === 4 ? 4 : 6
  }

  static parse(s: string): IPAddress {
    if (s.includes('%')) throw new Error('IP Address with zone value is not allowed')
    const bytes = parseIP(s)
    if (!bytes)
      throw new Error(
        `IP Address "${s}" parse error during conversion from string: ParseAddr("${s}"): unable to parse IP`,
      )
    if (
      bytes.length === 16 &&
      bytes.slice(0, 10).every((b) => b === 0) &&
      bytes[10] === 0xff &&
      bytes[11] === 0xff
    )
      throw new Error('IPv4-mapped IPv6 address is not allowed')
    return new IPAddress(bytes)
  }

  equals(o: unknown): boolean {
    return (
      o instanceof IPAddress &&
      o.bytes.length === this.bytes.length &&
      o.bytes.every((b, i) => b === this.bytes[i])
    )
  }

  toString(): string {
    if (this.family === 4) return [...this.bytes].join('.')
    const groups: number[] = []
    for (let i = 0; i < 16; i += 2) groups.push(((this.bytes[i] ?? 0) << 8) | (this.bytes[i + 1] ?? 0))
    // The longest run of zero groups (two at least) is written ::.
    let best = -1
    let bestLen = 1
    for (let i = 0; i < 8;) {
      if (groups[i] !== 0) {
        i++
        continue
      }
      let j = i
      while (j < 8 && groups[j] === 0) j++
      if (j - i > bestLen) {
        best = i
        bestLen = j - i
      }
      i = j
    }
    const hex = groups.map((g) => g.toString(16))
    if (best < 0) return hex.join(':')
    return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
  }
}

export class CIDR {
  readonly ip: IPAddress
  readonly prefixLength: number

  constructor(ip: IPAddress, prefixLength: number) {
    this.ip = ip
    this.prefixLength = prefixLength
  }

  static parse(s: string): CIDR {
    const slash = s.indexOf('/')
    const addr = slash < 0 ? '' : s.slice(0, slash)
    const bits = slash < 0 ? NaN : Number(s.slice(slash + 1))
    const bytes = parseIP(addr)
    if (s.includes('%')) throw new Error('CIDR with zone value is not allowed')
    if (!bytes || !/^\d+$/.test(s.slice(slash + 1)) || bits > bytes.length * 8)
      throw new Error(
        `network address parse error during conversion from string: netip.ParsePrefix("${s}"): bad prefix`,
      )
    return new CIDR(IPAddress.parse(addr), bits)
  }

  masked(): CIDR {
    const bytes = Uint8Array.from(this.ip.bytes)
    for (let i = 0; i < bytes.length; i++) {
      const keep = Math.max(0, Math.min(8, this.prefixLength - i * 8))
      bytes[i] = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff)
    }
    return new CIDR(new IPAddress(bytes), this.prefixLength)
  }

  containsIP(ip: IPAddress): boolean {
    if (ip.family !== this.ip.family) return false
    return new CIDR(ip, this.prefixLength).masked().ip.equals(this.masked().ip)
  }

  containsCIDR(c: CIDR): boolean {
    return c.prefixLength >= this.prefixLength && this.containsIP(c.ip)
  }

  equals(o: unknown): boolean {
    return o instanceof CIDR && o.prefixLength === this.prefixLength && o.ip.equals(this.ip)
  }

  toString(): string {
    return `${this.ip.toString()}/${this.prefixLength}`
  }
}

function parseIP(s: string): Uint8Array | undefined {
  if (isIPv4(s)) {
    const parts = s.split('.')
    // Leading zeros are ambiguous (octal or decimal) and refused, as Go's netip does.
    if (parts.some((p) => p.length > 1 && p.startsWith('0'))) return undefined
    return Uint8Array.from(parts.map(Number))
  }
  if (!isIPv6(s)) return undefined
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (v4?.[1]) {
    const b = parseIP(v4[1])
    if (!b) return undefined
    const groups = expand(s.slice(0, -v4[1].length) + '0:0')
    groups[6] = ((b[0] ?? 0) << 8) | (b[1] ?? 0)
    groups[7] = ((b[2] ?? 0) << 8) | (b[3] ?? 0)
    return toBytes(groups)
  }
  const text = s
  return toBytes(expand(text))
}

function expand(text: string): number[] {
  const [head = '', rest] = text.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = rest === undefined || rest === '' ? [] : rest.split(':')
  const zeros = rest === undefined ? 0 : 8 - left.length - right.length
  return [...left, ...Array<string>(zeros).fill('0'), ...right].map((g) => parseInt(g, 16))
}

function toBytes(groups: number[]): Uint8Array {
  const out = new Uint8Array(16)
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8
    out[i * 2 + 1] = g & 0xff
  })
  return out
}

function isLoopback(ip: IPAddress): boolean {
  if (ip.family === 4) return ip.bytes[0] === 127
  return ip.bytes.slice(0, 15).every((b) => b === 0) && ip.bytes[15] === 1
}

function isUnspecified(ip: IPAddress): boolean {
  return ip.bytes.every((b) => b === 0)
}

function isLinkLocalUnicast(ip: IPAddress): boolean {
  if (ip.family === 4) return ip.bytes[0] === 169 && ip.bytes[1] === 254
  return ip.bytes[0] === 0xfe && ((ip.bytes[1] ?? 0) & 0xc0) === 0x80
}

function isLinkLocalMulticast(ip: IPAddress): boolean {
  if (ip.family === 4) return ip.bytes[0] === 224 && ip.bytes[1] === 0 && ip.bytes[2] === 0
  return ip.bytes[0] === 0xff && ((ip.bytes[1] ?? 0) & 0x0f) === 0x02
}

function isMulticast(ip: IPAddress): boolean {
  return ip.family === 4 ? ((ip.bytes[0] ?? 0) & 0xf0) === 0xe0 : ip.bytes[0] === 0xff
}

/** Go's netip.Addr.IsGlobalUnicast: not unspecified, loopback, multicast, link-local or broadcast. */
function isGlobalUnicast(ip: IPAddress): boolean {
  if (ip.family === 4 && ip.bytes.every((b) => b === 255)) return false
  return !isUnspecified(ip) && !isLoopback(ip) && !isMulticast(ip) && !isLinkLocalUnicast(ip)
}

export function registerNet(env: Environment): void {
  const I = 'net.IP'
  const C = 'net.CIDR'
  env.registerType(I, { ctor: IPAddress })
  env.registerType(C, { ctor: CIDR })
  const valid = (f: () => unknown) => {
    try {
      f()
      return true
    } catch {
      return false
    }
  }
  env.registerFunction(`ip(string): ${I}`, (s: string) => IPAddress.parse(s))
  env.registerFunction('isIP(string): bool', (s: string) => valid(() => IPAddress.parse(s)))
  env.registerFunction(`${I}.family(): int`, (ip: IPAddress) => BigInt(ip.family))
  env.registerFunction(`${I}.isUnspecified(): bool`, isUnspecified)
  env.registerFunction(`${I}.isLoopback(): bool`, isLoopback)
  env.registerFunction(`${I}.isLinkLocalMulticast(): bool`, isLinkLocalMulticast)
  env.registerFunction(`${I}.isLinkLocalUnicast(): bool`, isLinkLocalUnicast)
  env.registerFunction(`${I}.isGlobalUnicast(): bool`, isGlobalUnicast)
  env.registerFunction(`string(${I}): string`, (ip: IPAddress) => ip.toString())
  env.registerOperator(`${I} == ${I}`, (a: IPAddress, b: IPAddress) => a.equals(b))

  env.registerFunction(`cidr(string): ${C}`, (s: string) => CIDR.parse(s))
  env.registerFunction('isCIDR(string): bool', (s: string) => valid(() => CIDR.parse(s)))
  env.registerFunction(`${C}.containsIP(${I}): bool`, (c: CIDR, ip: IPAddress) => c.containsIP(ip))
  env.registerFunction(`${C}.containsIP(string): bool`, (c: CIDR, s: string) =>
    c.containsIP(IPAddress.parse(s)),
  )
  env.registerFunction(`${C}.containsCIDR(${C}): bool`, (c: CIDR, o: CIDR) => c.containsCIDR(o))
  env.registerFunction(`${C}.containsCIDR(string): bool`, (c: CIDR, s: string) =>
    c.containsCIDR(CIDR.parse(s)),
  )
  env.registerFunction(`${C}.ip(): ${I}`, (c: CIDR) => c.ip)
  env.registerFunction(`${C}.masked(): ${C}`, (c: CIDR) => c.masked())
  env.registerFunction(`${C}.prefixLength(): int`, (c: CIDR) => BigInt(c.prefixLength))
  env.registerFunction(`string(${C}): string`, (c: CIDR) => c.toString())
  env.registerOperator(`${C} == ${C}`, (a: CIDR, b: CIDR) => a.equals(b))
}
