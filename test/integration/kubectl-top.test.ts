import assert from 'node:assert/strict'
import { request } from 'node:https'
import { after, before, describe, test } from 'node:test'
import type { Node, Pod } from '../../src/api/generated/types/core-v1.ts'
import type { ClientConfig } from '../../src/client/index.ts'
import { KubeletPodManager, startKubelet, type RunningKubelet } from '../../src/kubelet/index.ts'
import { FakeRuntime } from '../../src/kubelet/runtime/fake/fake-runtime.ts'
import { issueCertificate, readKubeconfigCredentials, type KeyPair } from '../../src/pki/index.ts'
import { kubectlMissing, testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const mib = 1024 * 1024

/**
 * `kubectl top` end to end: a kubelet on the fake runtime (its containers use what the runtime's
 * rules say) serving its API on a free port of 127.0.0.1, which its Node reports in
 * daemonEndpoints; the apiserver scrapes it with its kubelet client certificate and serves
 * metrics.k8s.io; the real kubectl 1.33 reads it.
 */
describe('kubectl top', { skip: kubectlMissing }, () => {
  let plane: TestControlPlane
  let kubelet: RunningKubelet | undefined
  let ca: KeyPair
  const nodeName = 'top-node-1'
  const runtime = new FakeRuntime({
    rules: [
      { name: 'busy', behaviour: { cpuNanoCores: 250_000_000, memoryWorkingSetBytes: 96 * mib } },
      { name: 'idle', behaviour: { cpuNanoCores: 2_000_000, memoryWorkingSetBytes: 12 * mib } },
    ],
  })

  const pod = (namespace: string, name: string, containers: string[]): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      nodeName,
      containers: containers.map((c) => ({ name: c, image: 'registry.k8s.io/pause:3.10' })),
    },
  })

  before(async () => {
    plane = await startTestControlPlane({ readyPods: false, controllers: [] })
    const pki = join(plane.api.dataDir, 'pki')
    ca = {
      certPem: readFileSync(join(pki, 'ca.crt'), 'utf8'),
      keyPem: readFileSync(join(pki, 'ca.key'), 'utf8'),
    }
    const pair = await issueCertificate(ca, {
      subject: { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] },
      usage: 'client',
    })
    const client: ClientConfig = {
      server: plane.api.server.url,
      ca: plane.api.server.caPem,
      cert: pair.certPem,
      key: pair.keyPem,
    }
    kubelet = startKubelet({
      client,
      nodeName,
      runtime,
      podManager: new KubeletPodManager(),
      log: testLog,
      machine: { cpus: 4, memoryBytes: 8 * 1024 * mib, internalIP: '127.0.0.1', hostname: nodeName },
      server: { port: 0, address: '127.0.0.1', clientCA: plane.api.server.caPem },
    })
    const pods = plane.client<Pod>('', 'v1', 'pods')
    await pods.create(pod('default', 'web', ['busy', 'idle']))
    await pods.create(pod('kube-system', 'dns', ['idle']))
    await until(
      async () => {
        const list = await pods.list('')
        return list.items.length === 2 && list.items.every((p) => p.status?.phase === 'Running')
      },
      30_000,
      'both pods to run',
    )
  })

  after(async () => {
    await kubelet?.stop()
    await plane?.stop()
  })

  const kubeletPort = async () => {
    const node = await until(
      () =>
        plane
          .client<Node>('', 'v1', 'nodes')
          .get('', nodeName)
          .catch(() => undefined),
      20_000,
      'the Node',
    )
    return node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0
  }

  const getKubelet = async (path: string, as?: KeyPair) => {
    const port = await kubeletPort()
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          rejectUnauthorized: false,
          agent: false,
          ...(as ? { cert: as.certPem, key: as.keyPem } : {}),
        },
        (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => (body += c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        },
      )
      req.on('error', reject)
      req.end()
    })
  }

  test('the Node reports the port its kubelet API was given', async () => {
    const port = await kubeletPort()
    assert.ok(port > 0 && port !== 10250, `port ${port}`)
  })

  test('the kubelet refuses a request without credentials (401) and one RBAC does not allow (403)', async () => {
    const none = await getKubelet('/stats/summary')
    assert.equal(none.status, 401)
    const stranger = await issueCertificate(ca, { subject: { commonName: 'stranger' }, usage: 'client' })
    const denied = await getKubelet('/metrics/resource', stranger)
    assert.equal(denied.status, 403)
    assert.equal(denied.body, 'Forbidden (user=stranger, verb=get, resource=nodes, subresource=metrics)')
    const creds = readKubeconfigCredentials(plane.api.server.adminKubeconfig)
    const admin = await getKubelet('/stats/summary', { certPem: creds.cert, keyPem: creds.key })
    assert.equal(admin.status, 200)
    const summary = JSON.parse(admin.body) as { pods: { podRef: { name: string } }[] }
    assert.deepEqual(summary.pods.map((p) => p.podRef.name).sort(), ['dns', 'web'])
  })

  test('metrics.k8s.io is in discovery', async () => {
    const r = await plane.api.kubectl(['api-resources', '--api-group=metrics.k8s.io'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^nodes\s+metrics\.k8s\.io\/v1beta1\s+false\s+NodeMetrics$/m)
    assert.match(r.stdout, /^pods\s+metrics\.k8s\.io\/v1beta1\s+true\s+PodMetrics$/m)
  })

  test('kubectl top nodes shows the node with cpu and memory', async () => {
    const r = await plane.api.kubectl(['top', 'nodes'])
    assert.equal(r.code, 0, r.stderr)
    const [header, ...rows] = r.stdout.trimEnd().split('\n')
    assert.deepEqual(header?.trim().split(/\s+/), [
      'NAME',
      'CPU(cores)',
      'CPU(%)',
      'MEMORY(bytes)',
      'MEMORY(%)',
    ])
    assert.equal(rows.length, 1)
    const [name, cpu, cpuPercent, memory, memoryPercent] = rows[0]?.trim().split(/\s+/) ?? []
    assert.equal(name, nodeName)
    // busy 250m, idle 2m twice: 254m of 4 cores; 96 + 12 + 12 MiB of 8 GiB.
    assert.match(cpu ?? '', /^25[0-9]m$/)
    assert.equal(cpuPercent, '6%')
    assert.equal(memory, '120Mi')
    assert.equal(memoryPercent, '1%')
  })

  test('kubectl top pods -A shows each pod', async () => {
    const r = await plane.api.kubectl(['top', 'pods', '-A'])
    assert.equal(r.code, 0, r.stderr)
    const [header, ...rows] = r.stdout.trimEnd().split('\n')
    assert.deepEqual(header?.trim().split(/\s+/), ['NAMESPACE', 'NAME', 'CPU(cores)', 'MEMORY(bytes)'])
    const cells = rows.map((row) => row.trim().split(/\s+/))
    assert.deepEqual(
      cells.map((c) => `${c[0]}/${c[1]}`),
      ['default/web', 'kube-system/dns'],
    )
    assert.match(cells[0]?.[2] ?? '', /^25[0-9]m$/)
    assert.equal(cells[0]?.[3], '108Mi')
    assert.match(cells[1]?.[2] ?? '', /^[1-3]m$/)
    assert.equal(cells[1]?.[3], '12Mi')
  })

  test('kubectl top pod with containers and a label selector', async () => {
    const r = await plane.api.kubectl(['top', 'pod', '-n', 'default', '-l', 'app=web', '--containers'])
    assert.equal(r.code, 0, r.stderr)
    const [header, ...rows] = r.stdout.trimEnd().split('\n')
    assert.deepEqual(header?.trim().split(/\s+/), ['POD', 'NAME', 'CPU(cores)', 'MEMORY(bytes)'])
    assert.deepEqual(
      rows.map((row) => row.trim().split(/\s+/).slice(0, 2).join(' ')),
      ['web busy', 'web idle'],
    )
  })

  test('a pod without metrics is NotFound in metrics.k8s.io', async () => {
    const r = await plane.api.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope')
    assert.equal(r.code, 404)
    assert.match(r.body.toString(), /pods.metrics.k8s.io \\"default\/nope\\" not found/)
  })
})
