import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidArgumentError } from 'commander'
import { createLogger } from '../base/log.ts'
import { clusterDNSOf, parseClusterDNS, parseClusterDomain, podDNS } from './kubelet.ts'

const log = createLogger({ level: 'silent' })

const clusterDNSCases = [
  { name: 'one address', flag: '10.96.0.10', want: ['10.96.0.10'] },
  {
    name: 'a list, spaces and empty entries left out',
    flag: '10.96.0.10, fd00::a,',
    want: ['10.96.0.10', 'fd00::a'],
  },
  { name: 'nothing', flag: '', want: [] },
]
for (const c of clusterDNSCases) {
  test(`--cluster-dns: ${c.name}`, () => assert.deepEqual(parseClusterDNS(c.flag), c.want))
}

test('--cluster-dns: a name or a malformed address is refused, naming it', () => {
  assert.throws(() => parseClusterDNS('10.96.0.10,kube-dns'), {
    name: InvalidArgumentError.name,
    message: 'kube-dns is not an IP address',
  })
  assert.throws(() => parseClusterDNS('10.96.0.300'), /10\.96\.0\.300 is not an IP address/)
})

const domainCases = [
  { name: 'the usual domain', flag: 'cluster.local', want: 'cluster.local' },
  { name: 'a trailing dot is dropped', flag: 'cluster.local.', want: 'cluster.local' },
  { name: "'' means none", flag: '', want: '' },
]
for (const c of domainCases) {
  test(`--cluster-domain: ${c.name}`, () => assert.equal(parseClusterDomain(c.flag), c.want))
}

test('--cluster-domain: something that is not a DNS domain is refused', () => {
  assert.throws(
    () => parseClusterDomain('Cluster_Local'),
    /^InvalidArgumentError: Cluster_Local is not a DNS domain/,
  )
})

const serviceRangeCases = [
  { name: "k8ts's default range", range: '10.96.0.0/12', want: '10.96.0.10' },
  { name: "k3s's range", range: '10.43.0.0/16', want: '10.43.0.10' },
  { name: 'a range given by a host address in it', range: '192.168.7.77/24', want: '192.168.7.10' },
  { name: 'the first of a dual-stack list', range: '10.0.0.0/24,fd00::/108', want: '10.0.0.10' },
]
for (const c of serviceRangeCases) {
  test(`cluster DNS IP of ${c.name}: the 10th address`, () => assert.equal(clusterDNSOf(c.range), c.want))
}

test('cluster DNS IP: a range too small or not IPv4 is refused', () => {
  assert.throws(
    () => clusterDNSOf('10.0.0.0/29'),
    /--service-cluster-ip-range 10\.0\.0\.0\/29: not an IPv4 CIDR/,
  )
  assert.throws(() => clusterDNSOf('fd00::/108'), /not an IPv4 CIDR/)
})

const hostFile = 'nameserver 192.0.2.1\nsearch corp.example\n'
const flags = { clusterDns: ['10.96.0.10'], clusterDomain: 'cluster.local', resolvConf: '/etc/resolv.conf' }

test('podDNS: the host file is read once, now', () => {
  let reads = 0
  const dns = podDNS(flags, {
    explicitResolvConf: false,
    log,
    readFile: () => {
      reads++
      return hostFile
    },
  })
  assert.equal(reads, 1)
  assert.deepEqual(dns, {
    clusterDNS: ['10.96.0.10'],
    clusterDomain: 'cluster.local',
    resolvConf: '/etc/resolv.conf',
    host: { servers: ['192.0.2.1'], searches: ['corp.example'], options: [] },
  })
})

test('podDNS: a --resolv-conf given that cannot be read fails; the default missing is only empty', () => {
  const missing = (path: string): string => {
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' })
  }
  assert.throws(
    () => podDNS({ ...flags, resolvConf: '/nope' }, { explicitResolvConf: true, log, readFile: missing }),
    { message: '--resolv-conf /nope: cannot read it (ENOENT)' },
  )
  const dns = podDNS(flags, { explicitResolvConf: false, log, readFile: missing })
  assert.deepEqual(dns.host, { servers: [], searches: [], options: [] })
})

test("podDNS: --resolv-conf '' reads nothing", () => {
  const dns = podDNS(
    { ...flags, resolvConf: '' },
    { explicitResolvConf: true, log, readFile: () => assert.fail('read') },
  )
  assert.equal(dns.resolvConf, '')
})
