import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod, PodSpec } from '../../api/generated/types/core-v1.ts'
import { dnsConfigFor, parseResolvConf, type DNSConfig, type DNSConfigOptions } from './dns-config.ts'
import { sandboxHostname } from './runtime-config.ts'

const hostResolvConf = `# generated
nameserver 192.168.1.1
nameserver 192.168.1.2 ; second
search example.com. corp.example.com .
options timeout:2 ndots:1
options attempts:3 timeout:4
`

const makePod = (spec: Partial<PodSpec> = {}, name = 'web'): Pod => ({
  metadata: { name, namespace: 'prod' },
  spec: { containers: [], ...spec },
})

const cluster: DNSConfigOptions = {
  clusterDNS: ['10.96.0.10'],
  clusterDomain: 'cluster.local',
  resolvConf: '/etc/resolv.conf',
  readFile: () => hostResolvConf,
}
const clusterSearch = ['prod.svc.cluster.local', 'svc.cluster.local', 'cluster.local']
const many = (n: number, len = 10) => Array.from({ length: n }, (_, i) => `d${i}`.padEnd(len, 'x'))

const cases: {
  name: string
  spec?: Partial<PodSpec>
  options?: Partial<DNSConfigOptions>
  want: DNSConfig
  events?: string[]
}[] = [
  {
    name: 'ClusterFirst (the default): cluster DNS, cluster then host search domains, ndots:5',
    want: {
      servers: ['10.96.0.10'],
      searches: [...clusterSearch, 'example.com', 'corp.example.com'],
      options: ['ndots:5'],
    },
  },
  {
    name: 'ClusterFirst on the host network falls back to Default',
    spec: { dnsPolicy: 'ClusterFirst', hostNetwork: true },
    want: {
      servers: ['192.168.1.1', '192.168.1.2'],
      searches: ['example.com', 'corp.example.com'],
      options: ['timeout:4', 'ndots:1', 'attempts:3'],
    },
  },
  {
    name: 'ClusterFirstWithHostNet uses cluster DNS on the host network',
    spec: { dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true },
    want: {
      servers: ['10.96.0.10'],
      searches: [...clusterSearch, 'example.com', 'corp.example.com'],
      options: ['ndots:5'],
    },
  },
  {
    name: 'Default: the host resolv.conf',
    spec: { dnsPolicy: 'Default' },
    want: {
      servers: ['192.168.1.1', '192.168.1.2'],
      searches: ['example.com', 'corp.example.com'],
      options: ['timeout:4', 'ndots:1', 'attempts:3'],
    },
  },
  {
    name: 'Default with --resolv-conf="": the node loopback and search "."',
    spec: { dnsPolicy: 'Default' },
    options: { resolvConf: '', nodeIPs: ['192.168.1.10', 'fd00::10'] },
    want: { servers: ['127.0.0.1', '::1'], searches: ['.'], options: [] },
  },
  {
    name: 'None: only the pod dnsConfig',
    spec: {
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: ['1.1.1.1'],
        searches: ['a.example'],
        options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
      },
    },
    want: { servers: ['1.1.1.1'], searches: ['a.example'], options: ['ndots:2', 'edns0'] },
  },
  {
    name: 'ClusterFirst merged with the pod dnsConfig: duplicates dropped, the pod option wins',
    spec: {
      dnsConfig: {
        nameservers: ['10.96.0.10', '8.8.8.8'],
        searches: ['svc.cluster.local', 'mine.example'],
        options: [{ name: 'ndots', value: '2' }, { name: 'single-request-reopen' }],
      },
    },
    want: {
      servers: ['10.96.0.10', '8.8.8.8'],
      searches: [...clusterSearch, 'example.com', 'corp.example.com', 'mine.example'],
      options: ['ndots:2', 'single-request-reopen'],
    },
  },
  {
    name: 'no cluster DNS: ClusterFirst falls back to Default with a MissingClusterDNS event',
    options: { clusterDNS: [] },
    want: {
      servers: ['192.168.1.1', '192.168.1.2'],
      searches: ['example.com', 'corp.example.com'],
      options: ['timeout:4', 'ndots:1', 'attempts:3'],
    },
    events: [
      'MissingClusterDNS pod: "web_prod". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.',
    ],
  },
  {
    name: 'more than 3 nameservers are cut with a DNSConfigForming event',
    spec: { dnsConfig: { nameservers: ['1.1.1.1', '8.8.8.8', '9.9.9.9'] } },
    want: {
      servers: ['10.96.0.10', '1.1.1.1', '8.8.8.8'],
      searches: [...clusterSearch, 'example.com', 'corp.example.com'],
      options: ['ndots:5'],
    },
    events: [
      'DNSConfigForming Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.96.0.10 1.1.1.1 8.8.8.8',
    ],
  },
  {
    name: 'more than 32 search domains are cut to 32',
    spec: { dnsPolicy: 'None', dnsConfig: { searches: many(40) } },
    want: { servers: [], searches: many(32), options: [] },
    events: [
      `DNSConfigForming Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${many(32).join(' ')}`,
    ],
  },
  {
    name: 'a search line over 2048 characters loses domains from the end',
    spec: { dnsPolicy: 'None', dnsConfig: { searches: many(30, 100) } },
    want: { servers: [], searches: many(20, 100), options: [] },
    events: [
      `DNSConfigForming Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${many(20, 100).join(' ')}`,
    ],
  },
  {
    name: 'a search domain over 253 characters is left out',
    spec: { dnsPolicy: 'None', dnsConfig: { searches: ['ok.example', 'x'.repeat(254)] } },
    want: { servers: [], searches: ['ok.example'], options: [] },
    events: [
      'DNSConfigForming Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ok.example',
    ],
  },
]

for (const c of cases) {
  test(`dns: ${c.name}`, () => {
    const events: string[] = []
    const config = dnsConfigFor({
      ...cluster,
      ...c.options,
      events: { event: (_pod, type, reason, message) => events.push(`${reason} ${message}`) },
    })
    assert.deepEqual(config(makePod(c.spec)), c.want)
    assert.deepEqual(events, c.events ?? [])
  })
}

test('dns: the host file is read once; a missing file fails the sandbox with the read error', () => {
  let reads = 0
  const config = dnsConfigFor({
    ...cluster,
    readFile: () => {
      reads++
      return hostResolvConf
    },
  })
  config(makePod())
  config(makePod())
  assert.equal(reads, 1)
  const broken = dnsConfigFor({ ...cluster, resolvConf: '/nonexistent/resolv.conf', readFile: undefined })
  assert.throws(() => broken(makePod({ dnsPolicy: 'Default' })), /ENOENT/)
})

test('parseResolvConf: nameservers in order, the last search line, options by name', () => {
  assert.deepEqual(parseResolvConf(hostResolvConf), {
    servers: ['192.168.1.1', '192.168.1.2'],
    searches: ['example.com', 'corp.example.com'],
    options: ['timeout:4', 'ndots:1', 'attempts:3'],
  })
})

const hostnameCases: { name: string; spec: Partial<PodSpec>; podName?: string; want: string | RegExp }[] = [
  { name: 'the pod name', spec: {}, want: 'web' },
  { name: 'spec.hostname', spec: { hostname: 'db-0' }, want: 'db-0' },
  {
    name: 'a long pod name cut to 63 without a trailing dash',
    spec: {},
    podName: `${'a'.repeat(62)}-b`,
    want: 'a'.repeat(62),
  },
  {
    name: 'setHostnameAsFQDN with a subdomain: the FQDN',
    spec: { hostname: 'db-0', subdomain: 'db', setHostnameAsFQDN: true },
    want: 'db-0.db.prod.svc.cluster.local',
  },
  {
    name: 'setHostnameAsFQDN without a subdomain: the short name',
    spec: { setHostnameAsFQDN: true },
    want: 'web',
  },
  {
    name: 'an FQDN over 64 characters is an error',
    spec: { hostname: 'h'.repeat(40), subdomain: 'db', setHostnameAsFQDN: true },
    want: /FQDN h+\.db\.prod\.svc\.cluster\.local is too long \(64 characters is the max, 66 characters requested\)/,
  },
  {
    name: 'an invalid subdomain is an error',
    spec: { subdomain: 'Not_Valid' },
    want: /pod Subdomain "Not_Valid" is not a valid DNS label/,
  },
]

for (const c of hostnameCases) {
  test(`sandbox hostname: ${c.name}`, () => {
    const pod = makePod(c.spec, c.podName)
    if (typeof c.want === 'string') assert.equal(sandboxHostname(pod, 'cluster.local'), c.want)
    else assert.throws(() => sandboxHostname(pod, 'cluster.local'), c.want)
  })
}

test('dns: a host config given already read is used without reading the file', () => {
  const config = dnsConfigFor({
    ...cluster,
    host: parseResolvConf(hostResolvConf),
    readFile: () => assert.fail('the host file is read'),
  })
  assert.deepEqual(config(makePod({ dnsPolicy: 'Default' })).servers, ['192.168.1.1', '192.168.1.2'])
})
