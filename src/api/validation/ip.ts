import { invalid, type FieldError, type FieldPath } from '../field-errors.ts'

/**
 * IP addresses as Kubernetes' "legacy" IP fields read them (pod and host IPs, among others):
 * with netutils.ParseIPSloppy, Go 1.16's net.ParseIP kept for values stored before Go 1.17
 * tightened it. It takes IPv4 octets with leading zeros ("010.0.0.1" is 10.0.0.1), IPv6 groups
 * with more than four hex digits while they stay below 0x10000, IPv4-mapped IPv6 addresses
 * ("::ffff:1.2.3.4", which count as IPv4) and any hex case; it refuses zones ("fe80::1%eth0"),
 * CIDRs, ports, brackets and blanks.
 */

/** The address in 16 bytes (IPv4 as IPv4-mapped IPv6), undefined for a string that is not one. */
export function parseIPSloppy(s: string): Uint8Array | undefined {
  for (const c of s) {
    if (c === '.') return parseIPv4(s)
    if (c === ':') return parseIPv6(s)
  }
  return undefined
}

/** 4 for IPv4 (IPv4-mapped IPv6 included, as Go's To4 sees it), 6 for IPv6. */
export function ipFamily(ip: Uint8Array): 4 | 6 {
  return ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff ? 4 : 6
}

/**
 * IsValidIPForLegacyField as kube-apiserver v1.35 runs it (the StrictIPCIDRValidation gate is
 * alpha and off there, so leading zeros and IPv4-mapped addresses pass): an IP that was already
 * in the old object passes whatever it is, so objects stored with a bad one can still be updated.
 */
export function validateLegacyIP(
  path: FieldPath,
  value: string,
  validOldIPs: readonly string[],
): FieldError[] {
  if (validOldIPs.includes(value) || parseIPSloppy(value)) return []
  return [invalid(path, value, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')]
}

/** Go's dtoi and xtoi give up at this value. */
const big = 0xffffff

/** Digits at the start of s: their value and how many there are (none: undefined). */
function leadingNumber(s: string, base: 10 | 16): { n: number; length: number } | undefined {
  let n = 0
  let i = 0
  for (; i < s.length; i++) {
    const d = digitValue(s.charCodeAt(i), base)
    if (d === undefined) break
    n = n * base + d
    if (n >= big) return undefined
  }
  return i === 0 ? undefined : { n, length: i }
}

function digitValue(code: number, base: 10 | 16): number | undefined {
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  if (base === 10) return undefined
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10
  return undefined
}

function parseIPv4(s: string): Uint8Array | undefined {
  const ip = new Uint8Array(16)
  ip[10] = 0xff
  ip[11] = 0xff
  let rest = s
  for (let i = 0; i < 4; i++) {
    if (rest === '') return undefined
    if (i > 0) {
      if (rest[0] !== '.') return undefined
      rest = rest.slice(1)
    }
    const octet = leadingNumber(rest, 10)
    if (!octet || octet.n > 0xff) return undefined
    rest = rest.slice(octet.length)
    ip[12 + i] = octet.n
  }
  return rest === '' ? ip : undefined
}

function parseIPv6(s: string): Uint8Array | undefined {
  const ip = new Uint8Array(16)
  let ellipsis = -1
  let rest = s
  if (rest.startsWith('::')) {
    ellipsis = 0
    rest = rest.slice(2)
    if (rest === '') return ip
  }
  let i = 0
  while (i < 16) {
    const group = leadingNumber(rest, 16)
    if (!group || group.n > 0xffff) return undefined
    if (rest[group.length] === '.') {
      // An IPv4 address in the last 32 bits.
      if ((ellipsis < 0 && i !== 12) || i + 4 > 16) return undefined
      const v4 = parseIPv4(rest)
      if (!v4) return undefined
      ip.set(v4.subarray(12), i)
      rest = ''
      i += 4
      break
    }
    ip[i] = group.n >> 8
    ip[i + 1] = group.n & 0xff
    i += 2
    rest = rest.slice(group.length)
    if (rest === '') break
    if (rest[0] !== ':' || rest.length === 1) return undefined
    rest = rest.slice(1)
    if (rest[0] === ':') {
      if (ellipsis >= 0) return undefined
      ellipsis = i
      rest = rest.slice(1)
      if (rest === '') break
    }
  }
  if (rest !== '') return undefined
  if (i < 16) {
    if (ellipsis < 0) return undefined
    const shift = 16 - i
    ip.copyWithin(ellipsis + shift, ellipsis, i)
    ip.fill(0, ellipsis, ellipsis + shift)
  } else if (ellipsis >= 0) {
    // "::" stands for at least one group of zeros.
    return undefined
  }
  return ip
}
