import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Node, Pod, Service, ServiceAccount } from '../../src/api/generated/types/core-v1.ts'
import { builtin, loadKubeconfig, ResourceClient, RestClient } from '../../src/client/index.ts'
import { until } from '../support/until.ts'

const bin = join(import.meta.dirname, '../../bin/k8ts.js')

/**
 * The kubelet's DNS, service link and static pod flags as `k8ts up --runtime fake` takes them:
 * what a container sees in /etc/resolv.conf and its environment comes back as its termination
 * message (the fake runs `sh -c '... > /dev/termination-log'`); a manifest in --pod-manifest-path
 * runs as a static pod with its mirror pod in the API.
 */
describe('k8ts up --runtime fake with the kubelet flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-kubelet-cli-'))
  const manifests = join(dir, 'manifests')
  const resolvConf = join(dir, 'resolv.conf')
  const nodeName = 'kcli-node'
  let up: ChildProcess | undefined
  let output = ''
  let rest: RestClient
  let pods: ResourceClient<Pod>

  before(async () => {
    mkdirSync(manifests)
    writeFileSync(resolvConf, 'nameserver 192.0.2.53\nsearch corp.example\noptions timeout:2\n')
    up = spawn(
      process.execPath,
      [
        bin,
        'up',
        '--runtime',
        'fake',
        // A port of its own: other tests' clusters may be running beside this one.
        '--kubelet-port',
        '0',
        '--hostname-override',
        nodeName,
        '--data-dir',
        join(dir, 'data'),
        '--secure-port',
        '0',
        // No --cluster-dns: the 10th address of this range.
        '--service-cluster-ip-range',
        '10.43.0.0/16',
        '--cluster-domain',
        'cluster.local',
        '--resolv-conf',
        resolvConf,
        '--pod-manifest-path',
        manifests,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    up.stdout?.on('data', (d: Buffer) => (output += d.toString()))
    up.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    await until(
      () => {
        if (up?.exitCode !== null) throw new Error(`k8ts up exited with ${up?.exitCode}: ${output}`)
        return output.includes('apiserver serving at')
      },
      30_000,
      'k8ts up to start',
    )
    rest = new RestClient({
      ...loadKubeconfig(join(dir, 'data', 'admin.kubeconfig')),
      userAgent: 'k8ts-test/0.1',
    })
    pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    const nodes = new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes'))
    const serviceAccounts = new ResourceClient<ServiceAccount>(rest, builtin('', 'v1', 'serviceaccounts'))
    await until(
      async () => {
        const n = await nodes.get('', nodeName).catch(() => undefined)
        return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
      },
      20_000,
      `${nodeName} Ready`,
    )
    await until(
      async () => (await serviceAccounts.get('default', 'default').catch(() => undefined)) !== undefined,
      20_000,
      'the default ServiceAccount',
    )
  })

  after(async () => {
    await rest?.close()
    if (up && up.exitCode === null && up.signalCode === null) {
      const exited = new Promise((resolve) => up?.once('exit', resolve))
      up.kill('SIGTERM')
      const timer = setTimeout(() => up?.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  })

  /** Runs a pod whose one container writes `script`'s output as its termination message; resolves to it. */
  const messageOf = async (name: string, script: string, spec: Partial<NonNullable<Pod['spec']>> = {}) => {
    await pods.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          { name: 'app', image: 'busybox:1.36', command: ['sh', '-c', `${script} > /dev/termination-log`] },
        ],
        ...spec,
      },
    })
    let message: string | undefined
    await until(
      async () => {
        const terminated = (await pods.get('default', name)).status?.containerStatuses?.[0]?.state?.terminated
        message = terminated?.message
        return terminated !== undefined
      },
      20_000,
      `${name} to complete`,
    )
    return message
  }

  test("a ClusterFirst pod's /etc/resolv.conf has the cluster DNS IP and search list, then the host's searches", async () => {
    assert.equal(
      await messageOf('dns-cluster-first', 'cat /etc/resolv.conf'),
      'search default.svc.cluster.local svc.cluster.local cluster.local corp.example\n' +
        'nameserver 10.43.0.10\n' +
        'options ndots:5\n',
    )
  })

  test("a dnsPolicy Default pod gets the --resolv-conf file's nameservers, searches and options", async () => {
    assert.equal(
      await messageOf('dns-default', 'cat /etc/resolv.conf', { dnsPolicy: 'Default' }),
      'search corp.example\nnameserver 192.0.2.53\noptions timeout:2\n',
    )
  })

  test('a pod started after a Service exists gets <SVC>_SERVICE_HOST and _PORT', async () => {
    const services = new ResourceClient<Service>(rest, builtin('', 'v1', 'services'))
    const svc = await services.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: 'default' },
      spec: { selector: { app: 'backend' }, ports: [{ port: 8080 }] },
    })
    const clusterIP = svc.spec?.clusterIP ?? ''
    assert.match(clusterIP, /^10\.43\./)
    // The kubelet's service watch sees it shortly; a pod created before then would miss it.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.equal(
      await messageOf(
        'service-links',
        'echo $(BACKEND_SERVICE_HOST):$(BACKEND_SERVICE_PORT) $(BACKEND_PORT)',
      ),
      `${clusterIP}:8080 tcp://${clusterIP}:8080\n`,
    )
  })

  test('a manifest dropped into --pod-manifest-path runs as a static pod with a mirror pod <name>-<node>', async () => {
    writeFileSync(
      join(manifests, 'static-web.yaml'),
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: static-web',
        '  namespace: default',
        'spec:',
        '  containers:',
        '  - name: web',
        '    image: nginx:1.27',
      ].join('\n') + '\n',
    )
    let mirror: Pod | undefined
    await until(
      async () => {
        mirror = await pods.get('default', `static-web-${nodeName}`).catch(() => undefined)
        return mirror?.status?.phase === 'Running'
      },
      30_000,
      'the mirror pod Running',
    )
    assert.ok(mirror?.metadata?.annotations?.['kubernetes.io/config.mirror'])
    assert.equal(mirror?.spec?.nodeName, nodeName)
    assert.deepEqual(
      mirror?.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`),
      [`Node/${nodeName}`],
    )
  })

  test('k8ts sim nodes take --cluster-dns and --cluster-domain, and give pods service variables', async () => {
    let simOutput = ''
    const sim = spawn(
      process.execPath,
      [
        bin,
        'sim',
        '--kubeconfig',
        join(dir, 'data', 'admin.kubeconfig'),
        '--nodes',
        '2',
        '--name-prefix',
        'kcli-sim-',
        '--cluster-dns',
        '10.43.0.11',
        '--cluster-domain',
        'sim.example',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    sim.stdout.on('data', (d: Buffer) => (simOutput += d.toString()))
    sim.stderr.on('data', (d: Buffer) => (simOutput += d.toString()))
    const exited = new Promise((resolve) => sim.once('exit', resolve))
    try {
      const nodes = new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes'))
      await until(
        async () => {
          if (sim.exitCode !== null) throw new Error(`k8ts sim exited with ${sim.exitCode}: ${simOutput}`)
          const n = await nodes.get('', 'kcli-sim-1').catch(() => undefined)
          return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        },
        20_000,
        'kcli-sim-1 Ready',
      )
      const script = 'echo $(BACKEND_SERVICE_PORT) > /tmp/port; cat /etc/resolv.conf /tmp/port'
      const message = await messageOf('sim-dns', script, { nodeName: 'kcli-sim-1' })
      assert.match(message ?? '', /^search default\.svc\.sim\.example svc\.sim\.example sim\.example/)
      assert.match(message ?? '', /\nnameserver 10\.43\.0\.11\n/)
      assert.match(message ?? '', /\n8080\n$/)
    } finally {
      sim.kill('SIGTERM')
      await exited
    }
  })
})

test('k8ts kubelet refuses a bad --cluster-dns in one line, exit status 1', () => {
  const r = spawnSync(
    process.execPath,
    [
      bin,
      'kubelet',
      '--kubeconfig',
      '/nonexistent',
      '--runtime',
      'fake',
      '--cluster-dns',
      '10.96.0.10,kube-dns',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  )
  assert.equal(r.status, 1)
  assert.equal(r.stderr.trim().split('\n').length, 1)
  assert.match(r.stderr, /--cluster-dns.*kube-dns is not an IP address/)
})
