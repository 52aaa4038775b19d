/**
 * The DNS config of a pod's sandbox (the kubelet's network/dns Configurer, GetPodDNS): what goes
 * into the resolv.conf the runtime writes for the pod.
 *
 *   dnsPolicy                 base
 *   ClusterFirst              cluster DNS IPs, search <ns>.svc.<domain> svc.<domain> <domain> + host's,
 *                             options ndots:5 (a host-network pod falls back to Default)
 *   ClusterFirstWithHostNet   the same, also for host-network pods
 *   Default                   the host's resolv.conf (--resolv-conf); with --resolv-conf="" the
 *                             node's loopback and search "."
 *   None                      nothing
 *
 * Then pod.spec.dnsConfig is merged in (nameservers and searches appended without duplicates,
 * options by name, the pod's winning), and the result cut to what libc reads: 3 nameservers,
 * 32 search domains of at most 253 characters and 2048 characters in all, each cut reported as a
 * DNSConfigForming warning event. ClusterFirst without cluster DNS IPs falls back to Default with
 * a MissingClusterDNS warning.
 */
import { readFileSync } from 'node:fs'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import type * as cri from '../runtime/runtime.ts'
import type { PodEventRecorder } from './pod-workers.ts'

export const maxDNSNameservers = 3
export const maxDNSSearchPaths = 32
export const maxDNSSearchListChars = 2048
/** A search domain longer than a DNS subdomain makes some resolvers (glibc 2.28) abort. */
export const maxDNSSearchDomainLength = 253
export const defaultResolvConf = '/etc/resolv.conf'
export const reasonDNSConfigForming = 'DNSConfigForming'
export const reasonMissingClusterDNS = 'MissingClusterDNS'

export interface DNSConfigOptions {
  /** --cluster-dns: the cluster DNS service IPs. */
  clusterDNS: string[]
  /** --cluster-domain, e.g. cluster.local; '' leaves the cluster search domains out. */
  clusterDomain: string
  /** --resolv-conf: the host's resolver file for Default (default /etc/resolv.conf); '' for none. */
  resolvConf?: string
  /** The node's addresses: loopback of their family when resolvConf is ''. */
  nodeIPs?: readonly string[]
  /** Warning events about pods (DNSConfigForming, MissingClusterDNS). */
  events?: PodEventRecorder
  /** How the host file is read (tests); readFileSync by default. */
  readFile?: (path: string) => string
  /**
   * The host file's config, already read (k8ts sim reads it once for all its nodes): resolvConf
   * is then not read again, only checked for '' (no host resolver).
   */
  host?: DNSConfig
}

export type DNSConfig = Pick<cri.DNSConfig, 'servers' | 'searches' | 'options'>

/** The PodWorkersOptions.dnsConfig function for these kubelet flags. */
export function dnsConfigFor(o: DNSConfigOptions): (pod: Readonly<Pod>) => DNSConfig {
  const path = o.resolvConf ?? defaultResolvConf
  const read = o.readFile ?? ((p: string) => readFileSync(p, 'utf8'))
  let host: DNSConfig | undefined = o.host
  // The host file is read once (upstream reads it for every sandbox; a simulated node runs
  // thousands); a failure is not kept, so the next sandbox tries again.
  const hostConfig = (): DNSConfig => {
    if (path === '') return { servers: [], searches: [], options: [] }
    host ??= parseResolvConf(read(path))
    return { servers: [...host.servers], searches: [...host.searches], options: [...host.options] }
  }
  return (pod) => podDNSConfig(pod, { ...o, resolvConf: path, hostConfig })
}

/** GetPodDNS for one pod, given the host's config. */
export function podDNSConfig(
  pod: Readonly<Pod>,
  o: DNSConfigOptions & { hostConfig: () => DNSConfig },
): DNSConfig {
  const warn = (reason: string, message: string) => o.events?.event(pod, 'Warning', reason, message)
  let config = o.hostConfig()
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst'
  let type: 'none' | 'cluster' | 'host'
  switch (policy) {
    case 'None':
      type = 'none'
      break
    case 'ClusterFirstWithHostNet':
      type = 'cluster'
      break
    case 'ClusterFirst':
      type = pod.spec?.hostNetwork ? 'host' : 'cluster'
      break
    case 'Default':
      type = 'host'
      break
    default:
      // The API rejects other policies; upstream falls back to ClusterFirst.
      type = 'cluster'
  }
  if (type === 'none') config = { servers: [], searches: [], options: [] }
  if (type === 'cluster') {
    if (o.clusterDNS.length > 0) {
      config.servers = [...o.clusterDNS]
      config.searches = clusterSearches(pod, o.clusterDomain, config.searches)
      config.options = ['ndots:5']
    } else {
      const message = `kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`
      warn(reasonMissingClusterDNS, `pod: "${podFullName(pod)}". ${message}`)
      type = 'host'
    }
  }
  if (type === 'host' && o.resolvConf === '') {
    // No host resolver: the local machine's nameserver, as bind does without a nameserver line.
    const ips = o.nodeIPs ?? []
    config.servers = ips.map((ip) => (ip.includes(':') ? '::1' : '127.0.0.1'))
    if (config.servers.length === 0) config.servers = ['127.0.0.1']
    config.searches = ['.']
  }
  const own = pod.spec?.dnsConfig
  if (own !== undefined) {
    config.servers = unique([...config.servers, ...(own.nameservers ?? [])])
    config.searches = unique([...config.searches, ...(own.searches ?? [])])
    config.options = mergeOptions(
      config.options,
      (own.options ?? []).map((op) =>
        op.value !== undefined ? `${op.name ?? ''}:${op.value}` : (op.name ?? ''),
      ),
    )
  }
  return fitLimits(config, warn)
}

function clusterSearches(pod: Readonly<Pod>, domain: string, hostSearches: readonly string[]): string[] {
  if (domain === '') return [...hostSearches]
  const ns = pod.metadata?.namespace ?? ''
  return unique([`${ns}.svc.${domain}`, `svc.${domain}`, domain, ...hostSearches])
}

/** Options by name (the part before ':'), later ones replacing earlier ones in place. */
function mergeOptions(base: readonly string[], more: readonly string[]): string[] {
  const byName = new Map<string, string>()
  for (const op of [...base, ...more]) {
    const i = op.indexOf(':')
    const name = i < 0 ? op : op.slice(0, i)
    const value = i < 0 ? '' : op.slice(i + 1)
    byName.set(name, value)
  }
  return [...byName].map(([name, value]) => (value === '' ? name : `${name}:${value}`))
}

/** formDNSConfigFitsLimits: at most 3 nameservers and a search line libc accepts. */
function fitLimits(config: DNSConfig, warn: (reason: string, message: string) => void): DNSConfig {
  let servers = config.servers
  if (servers.length > maxDNSNameservers) {
    servers = servers.slice(0, maxDNSNameservers)
    warn(
      reasonDNSConfigForming,
      `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${servers.join(' ')}`,
    )
  }
  let searches = config.searches
  let exceeded = false
  if (searches.length > maxDNSSearchPaths) {
    searches = searches.slice(0, maxDNSSearchPaths)
    exceeded = true
  }
  const short = searches.filter((s) => s.length <= maxDNSSearchDomainLength)
  if (short.length !== searches.length) exceeded = true
  searches = short
  let lineLength = searches.join(' ').length
  if (lineLength > maxDNSSearchListChars) {
    // Drop domains from the end until the line fits.
    while (searches.length > 0 && lineLength > maxDNSSearchListChars) {
      const last = searches[searches.length - 1] ?? ''
      lineLength -= last.length + 1
      searches = searches.slice(0, -1)
    }
    exceeded = true
  }
  if (exceeded) {
    warn(
      reasonDNSConfigForming,
      `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}`,
    )
  }
  return { servers, searches, options: config.options }
}

/**
 * A resolv.conf's nameserver, search and options lines (dns.parseResolvConf): comments start
 * with # or ;, the last search line wins (with trailing dots removed and "." left out), options
 * accumulate by name.
 */
export function parseResolvConf(text: string): DNSConfig {
  const servers: string[] = []
  let searches: string[] = []
  let options: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim()
    const [key, ...fields] = line.split(/\s+/)
    if (key === 'nameserver' && fields[0] !== undefined) servers.push(fields[0])
    else if (key === 'search') searches = fields.filter((f) => f !== '.').map((f) => f.replace(/\.$/, ''))
    else if (key === 'options') options = mergeOptions(options, fields)
  }
  return { servers, searches, options }
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)]
}

function podFullName(pod: Readonly<Pod>): string {
  return `${pod.metadata?.name ?? ''}_${pod.metadata?.namespace ?? ''}`
}
