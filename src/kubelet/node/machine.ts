import { readdirSync, readFileSync, statfsSync } from 'node:fs'
import { arch, cpus, hostname, networkInterfaces, platform, release, totalmem } from 'node:os'

/**
 * What the kubelet reports about the machine it runs on (upstream gets it from cAdvisor's
 * MachineInfo and the host's files). `readMachineInfo()` reads this host; simulated nodes pass
 * their own values.
 */
export interface MachineInfo {
  /** Logical CPUs. */
  cpus: number
  memoryBytes: number
  /** Size of the filesystem holding the kubelet's root directory (nodefs). */
  ephemeralStorageBytes: number
  /** Huge page sizes the kernel offers, as resource suffixes: '2Mi', '1Gi'. */
  hugePageSizes: string[]
  machineID: string
  systemUUID: string
  bootID: string
  kernelVersion: string
  osImage: string
  /** GOOS and GOARCH names: linux, amd64. */
  operatingSystem: string
  architecture: string
  hostname: string
  /** The node's InternalIP. */
  internalIP: string
}

let host: MachineInfo | undefined

/**
 * This host, as the kubelet sees it; whatever cannot be read is left empty (as upstream). Read
 * once per process: simulated nodes start by the thousand.
 */
export function readMachineInfo(): MachineInfo {
  host ??= {
    cpus: cpus().length || 1,
    memoryBytes: totalmem(),
    ephemeralStorageBytes: filesystemBytes('/'),
    hugePageSizes: hugePageSizes(),
    machineID: readTrimmed('/etc/machine-id') || readTrimmed('/var/lib/dbus/machine-id'),
    systemUUID: readTrimmed('/sys/class/dmi/id/product_uuid').toLowerCase(),
    bootID: readTrimmed('/proc/sys/kernel/random/boot_id'),
    kernelVersion: release(),
    osImage: osImage(),
    operatingSystem: goOS(platform()),
    architecture: goArch(arch()),
    hostname: hostname().toLowerCase(),
    internalIP: firstIPv4(),
  }
  return structuredClone(host)
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return ''
  }
}

function filesystemBytes(path: string): number {
  try {
    const s = statfsSync(path)
    return Number(s.blocks) * Number(s.bsize)
  } catch {
    return 0
  }
}

/** /sys/kernel/mm/hugepages/hugepages-2048kB → '2Mi'. */
function hugePageSizes(): string[] {
  let names: string[]
  try {
    names = readdirSync('/sys/kernel/mm/hugepages')
  } catch {
    return []
  }
  const sizes: string[] = []
  for (const name of names) {
    const m = /^hugepages-(\d+)kB$/.exec(name)
    if (!m) continue
    const kb = Number(m[1])
    sizes.push(
      kb % (1024 * 1024) === 0 ? `${kb / 1024 / 1024}Gi` : kb % 1024 === 0 ? `${kb / 1024}Mi` : `${kb}Ki`,
    )
  }
  return sizes.sort()
}

/** PRETTY_NAME of /etc/os-release, as upstream's osImage. */
function osImage(): string {
  const text = readTrimmed('/etc/os-release')
  const m = /^PRETTY_NAME=(.*)$/m.exec(text)
  return m?.[1]?.replace(/^"(.*)"$/, '$1') ?? 'Unknown'
}

function goOS(p: string): string {
  return p === 'win32' ? 'windows' : p
}

function goArch(a: string): string {
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a
}

/** The first non-internal IPv4 address, as the kubelet picks a node IP without --node-ip. */
function firstIPv4(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}
