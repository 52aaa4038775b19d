import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { columns, meta, row } from './testing.ts'

type O = Record<string, unknown>

describe('services', () => {
  const svc = (spec: O, status: O = {}) => row('', 'services', { metadata: meta('web'), spec, status })

  test('columns', () => {
    assert.deepEqual(columns('', 'services'), [
      'Name',
      'Type',
      'Cluster-IP',
      'External-IP',
      'Port(s)',
      'Age',
      '(Selector)',
    ])
  })

  test('cluster IP services, dual stack and headless', () => {
    assert.deepEqual(
      svc({
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
        selector: { 'k8s-app': 'kube-dns' },
      }),
      ['web', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP,9153/TCP', '5m30s', 'k8s-app=kube-dns'],
    )
    const dual = svc({
      type: 'ClusterIP',
      clusterIP: 'fd00:10:96::a',
      clusterIPs: ['fd00:10:96::a', '10.96.0.12'],
      ipFamilies: ['IPv6', 'IPv4'],
      ports: [{ port: 443, protocol: 'TCP' }],
    })
    assert.deepEqual(dual.slice(1, 5), ['ClusterIP', 'fd00:10:96::a', '<none>', '443/TCP'])
    assert.equal(dual[6], '<none>', 'no selector')
    const headless = svc({
      type: 'ClusterIP',
      clusterIP: 'None',
      clusterIPs: ['None'],
      selector: { app: 'db' },
    })
    assert.deepEqual(headless.slice(1, 5), ['ClusterIP', 'None', '<none>', '<none>'])
    assert.equal(
      svc({ type: 'ClusterIP', clusterIP: '10.96.0.20', externalIPs: ['198.51.100.7', '198.51.100.8'] })[3],
      '198.51.100.7,198.51.100.8',
    )
  })

  test('node ports', () => {
    assert.deepEqual(
      svc({
        type: 'NodePort',
        clusterIP: '10.96.0.11',
        clusterIPs: ['10.96.0.11'],
        ports: [
          { port: 80, nodePort: 30080, protocol: 'TCP' },
          { port: 443, nodePort: 30443, protocol: 'TCP' },
          { port: 8125, protocol: 'SCTP' },
        ],
      }).slice(1, 5),
      ['NodePort', '10.96.0.11', '<none>', '80:30080/TCP,443:30443/TCP,8125/SCTP'],
    )
  })

  test('load balancers: pending, their ingress points sorted, external IPs after them', () => {
    const lb = {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.30',
      ports: [{ port: 80, nodePort: 31000, protocol: 'TCP' }],
    }
    assert.deepEqual(svc(lb).slice(1, 5), ['LoadBalancer', '10.96.0.30', '<pending>', '80:31000/TCP'])
    const ingress = [
      { ip: '192.0.2.9' },
      { hostname: 'lb.example.com' },
      { ip: '192.0.2.10', hostname: 'x' },
      { ip: '192.0.2.9' },
    ]
    assert.equal(svc(lb, { loadBalancer: { ingress } })[3], '192.0.2.10,192.0.2.9,lb.example.com')
    assert.equal(
      svc({ ...lb, externalIPs: ['198.51.100.7'] }, { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } })[3],
      '192.0.2.1,198.51.100.7',
    )
    assert.equal(svc({ ...lb, externalIPs: ['198.51.100.7'] })[3], '198.51.100.7')
  })

  test('external names', () => {
    assert.deepEqual(svc({ type: 'ExternalName', externalName: 'db.example.com' }).slice(1, 5), [
      'ExternalName',
      '<none>',
      'db.example.com',
      '<none>',
    ])
  })
})

describe('endpoints and endpoint slices', () => {
  test('endpoints: address:port pairs, three at most', () => {
    assert.deepEqual(columns('', 'endpoints'), ['Name', 'Endpoints', 'Age'])
    const ep = {
      metadata: meta('web'),
      subsets: [
        {
          addresses: [{ ip: '10.244.1.5' }, { ip: '10.244.2.7' }],
          notReadyAddresses: [{ ip: '10.244.3.9' }],
          ports: [
            { name: 'http', port: 8080, protocol: 'TCP' },
            { name: 'metrics', port: 9090, protocol: 'TCP' },
          ],
        },
      ],
    }
    assert.deepEqual(row('', 'endpoints', ep), [
      'web',
      '10.244.1.5:8080,10.244.2.7:8080,10.244.1.5:9090 + 1 more...',
      '5m30s',
    ])
    const v6 = { metadata: meta('v6'), subsets: [{ addresses: [{ ip: 'fd00::5' }], ports: [{ port: 80 }] }] }
    assert.equal(row('', 'endpoints', v6)[1], '[fd00::5]:80')
    const portless = { metadata: meta('headless'), subsets: [{ addresses: [{ ip: '10.244.1.5' }] }] }
    assert.equal(row('', 'endpoints', portless)[1], '10.244.1.5')
    assert.equal(row('', 'endpoints', { metadata: meta('none') })[1], '<none>')
    assert.equal(row('', 'endpoints', { metadata: meta('empty'), subsets: [{ addresses: [] }] })[1], '')
  })

  test('endpoint slices: ports and addresses, three at most, <unset> for none', () => {
    assert.deepEqual(columns('discovery.k8s.io', 'endpointslices'), [
      'Name',
      'AddressType',
      'Ports',
      'Endpoints',
      'Age',
    ])
    const slice = {
      metadata: meta('web-abc12'),
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'grpc' }, {}, { port: 9090 }],
      endpoints: [
        { addresses: ['10.244.1.5'], conditions: { ready: true } },
        { addresses: ['10.244.2.7', '10.244.2.8'] },
        { addresses: ['10.244.3.9'] },
      ],
    }
    assert.deepEqual(row('discovery.k8s.io', 'endpointslices', slice), [
      'web-abc12',
      'IPv4',
      '8080,grpc,* + 1 more...',
      '10.244.1.5,10.244.2.7,10.244.2.8 + 1 more...',
      '5m30s',
    ])
    const empty = { metadata: meta('e'), addressType: 'IPv6', ports: [{ name: '' }], endpoints: [] }
    assert.deepEqual(row('discovery.k8s.io', 'endpointslices', empty).slice(1, 4), [
      'IPv6',
      '<unset>',
      '<unset>',
    ])
  })
})

describe('ingresses and the rest of networking', () => {
  test('ingresses', () => {
    assert.deepEqual(columns('networking.k8s.io', 'ingresses'), [
      'Name',
      'Class',
      'Hosts',
      'Address',
      'Ports',
      'Age',
    ])
    const ing = {
      metadata: meta('shop'),
      spec: {
        ingressClassName: 'nginx',
        rules: ['a', 'b', 'c', 'd', 'e'].map((h) => ({ host: `${h}.example.com` })),
        tls: [{ hosts: ['a.example.com'], secretName: 'tls' }],
      },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.2' }, { ip: '192.0.2.1' }] } },
    }
    assert.deepEqual(row('networking.k8s.io', 'ingresses', ing), [
      'shop',
      'nginx',
      'a.example.com,b.example.com,c.example.com + 2 more...',
      '192.0.2.1,192.0.2.2',
      '80, 443',
      '5m30s',
    ])
    const catchAll = {
      metadata: meta('any'),
      spec: { defaultBackend: { service: { name: 'web' } }, rules: [{}] },
    }
    assert.deepEqual(row('networking.k8s.io', 'ingresses', catchAll).slice(1, 5), ['<none>', '*', '', '80'])
  })

  test('ingress classes', () => {
    assert.deepEqual(columns('networking.k8s.io', 'ingressclasses'), [
      'Name',
      'Controller',
      'Parameters',
      'Age',
    ])
    const ic = (parameters?: O) =>
      row('networking.k8s.io', 'ingressclasses', {
        metadata: meta('nginx'),
        spec: { controller: 'k8s.io/ingress-nginx', parameters },
      })
    assert.deepEqual(ic(), ['nginx', 'k8s.io/ingress-nginx', '<none>', '5m30s'])
    assert.equal(
      ic({ apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p' })[2],
      'IngressParameters.k8s.example.com/p',
    )
    assert.equal(
      ic({ kind: 'ConfigMap', name: 'cfg', scope: 'Namespace', namespace: 'x' })[2],
      'ConfigMap/cfg',
    )
  })

  test('network policies', () => {
    assert.deepEqual(columns('networking.k8s.io', 'networkpolicies'), ['Name', 'Pod-Selector', 'Age'])
    const np = (podSelector: O) =>
      row('networking.k8s.io', 'networkpolicies', { metadata: meta('deny'), spec: { podSelector } })
    assert.deepEqual(np({}), ['deny', '<none>', '5m30s'])
    assert.equal(
      np({
        matchLabels: { app: 'db' },
        matchExpressions: [{ key: 'env', operator: 'In', values: ['qa', 'prod'] }],
      })[1],
      'app=db,env in (prod,qa)',
    )
  })

  test('service CIDRs and IP addresses', () => {
    assert.deepEqual(
      row('networking.k8s.io', 'servicecidrs', {
        metadata: meta('kubernetes'),
        spec: { cidrs: ['10.96.0.0/16', 'fd00:10:96::/112'] },
      }),
      ['kubernetes', '10.96.0.0/16,fd00:10:96::/112', '5m30s'],
    )
    assert.deepEqual(columns('networking.k8s.io', 'ipaddresses'), ['Name', 'ParentRef'])
    const ip = (parentRef?: O) =>
      row('networking.k8s.io', 'ipaddresses', { metadata: meta('10.96.0.1'), spec: { parentRef } })
    assert.deepEqual(ip({ group: '', resource: 'services', namespace: 'default', name: 'kubernetes' }), [
      '10.96.0.1',
      'services/default/kubernetes',
    ])
    assert.equal(
      ip({ group: 'Gateway.networking.k8s.io', resource: 'Gateways', name: 'gw' })[1],
      'gateways.gateway.networking.k8s.io/gw',
    )
    assert.equal(ip()[1], '<none>')
  })
})
