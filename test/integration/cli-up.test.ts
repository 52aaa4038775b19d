import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import { get as httpsGet } from 'node:https'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { Event, Pod } from '../../src/api/generated/types/core-v1.ts'
import type { ReplicaSet } from '../../src/api/generated/types/apps-v1.ts'
import type { ClusterRole } from '../../src/api/generated/types/rbac-v1.ts'
import {
  builtin,
  loadKubeconfig,
  ResourceClient,
  RestClient,
  type ObjectLike,
} from '../../src/client/index.ts'
import { createCertificateRequest } from '../../src/pki/certificate-requests.ts'
import { readKubeconfigCredentials } from '../../src/pki/index.ts'
import { kubectlMissing, kubectlPath } from '../support/cluster.ts'
import { until } from '../support/until.ts'

const bin = join(import.meta.dirname, '../../bin/k8ts.js')
const dir = mkdtempSync(join(tmpdir(), 'k8ts-cli-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function k8ts(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 })
}

/** Starts `k8ts up` and resolves once it reports the store ready. */
async function startUp(
  dataDir: string,
): Promise<{ child: ChildProcessWithoutNullStreams; output: () => string }> {
  const child = spawn(process.execPath, [bin, 'up', '--data-dir', dataDir])
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`k8ts up did not get ready: ${out}`)), 20_000)
    const check = () => {
      if (out.includes('apiserver serving at')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout.on('data', check)
    child.once('exit', (code) => reject(new Error(`k8ts up exited with ${code}: ${out}`)))
  })
  return { child, output: () => out }
}

test('k8ts up serves the API with an admin kubeconfig, and stops cleanly on SIGTERM', async () => {
  const dataDir = join(dir, 'up')
  const { child, output } = await startUp(dataDir)
  assert.match(output(), /apiserver serving at https:\/\/127\.0\.0\.1:\d+/)
  assert.match(output(), new RegExp(`kubectl --kubeconfig ${join(dataDir, 'admin.kubeconfig')}`))

  // A second k8ts on the same data directory is refused while the first holds the store.
  const second = k8ts(['up', '--data-dir', dataDir, '--secure-port', '0'])
  assert.equal(second.status, 1)
  assert.match(second.stderr, /^k8ts: sqlite store .*state\.db: the file is in use by another process/)
  assert.equal(second.stderr.trim().split('\n').length, 1)

  // The controller-manager runs beside the apiserver: the default namespace gets its ServiceAccount.
  const rest = new RestClient(loadKubeconfig(join(dataDir, 'admin.kubeconfig')))
  const sas = new ResourceClient(rest, builtin('', 'v1', 'serviceaccounts'))
  const deadline = Date.now() + 15_000
  while (!(await sas.get('default', 'default').catch(() => undefined))) {
    assert.ok(Date.now() < deadline, `no default ServiceAccount: ${output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  await rest.close()

  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  assert.equal(await exited, 0)
  assert.match(output(), /k8ts: stopped/)
})

test('k8ts up runs the controller-manager, each controller and the scheduler as their own users', async (t) => {
  const dataDir = join(dir, 'identities')
  const { child, output } = await startUp(dataDir)
  const admin = new RestClient(loadKubeconfig(join(dataDir, 'admin.kubeconfig')))
  const client = <T extends ObjectLike>(group: string, resource: string) =>
    new ResourceClient<T>(admin, builtin(group, 'v1', resource))
  try {
    for (const [file, user] of [
      ['controller-manager.kubeconfig', 'CN=system:kube-controller-manager'],
      ['scheduler.kubeconfig', 'CN=system:kube-scheduler'],
    ] as const) {
      const cert = readKubeconfigCredentials(join(dataDir, file)).cert
      assert.equal(new X509Certificate(cert).subject, user, file)
    }
    // --use-service-account-credentials: the controllers' accounts are made as they start.
    const accounts = client<ObjectLike>('', 'serviceaccounts')
    for (const name of [
      'replicaset-controller',
      'deployment-controller',
      'node-controller',
      'token-cleaner',
    ]) {
      await until(() => accounts.get('kube-system', name).catch(() => undefined), 20_000, `account ${name}`)
    }

    // The scheduler and the controller-manager serve their health where componentstatuses asks,
    // and the metrics their threads keep.
    const fetchLocal = (port: number, path: string) =>
      new Promise<string>((resolve, reject) => {
        const req = httpsGet({ host: '127.0.0.1', port, path, rejectUnauthorized: false }, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => (body += d.toString()))
          res.on('end', () => resolve(`${res.statusCode ?? 0} ${body}`))
        })
        req.on('error', reject)
      })
    for (const port of [10259, 10257])
      assert.equal(await fetchLocal(port, '/healthz'), '200 ok', `port ${port}`)
    assert.match(await fetchLocal(10259, '/metrics'), /^200 [^]*scheduler_schedule_attempts_total/)
    assert.match(await fetchLocal(10257, '/metrics'), /^200 [^]*nodejs_eventloop_lag_seconds/)

    // The cluster CA signs approved requests, as kubeadm gives the controller-manager
    // --cluster-signing-cert-file and --cluster-signing-key-file.
    const { csrPem } = await createCertificateRequest({ subject: { commonName: 'jane' } })
    const csrs = '/apis/certificates.k8s.io/v1/certificatesigningrequests'
    await admin.request('POST', csrs, {
      body: {
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name: 'jane' },
        spec: {
          request: Buffer.from(csrPem).toString('base64'),
          signerName: 'kubernetes.io/kube-apiserver-client',
          usages: ['client auth'],
        },
      },
    })
    const csr = await admin.request<ObjectLike & { status?: unknown }>('GET', `${csrs}/jane`)
    csr.status = { conditions: [{ type: 'Approved', status: 'True', reason: 'Test', message: 'approved' }] }
    await admin.request('PUT', `${csrs}/jane/approval`, { body: csr })
    const issued = await until(
      async () =>
        (await admin.request<{ status?: { certificate?: string } }>('GET', `${csrs}/jane`)).status
          ?.certificate,
      20_000,
      `the certificate of an approved request: ${output()}`,
    )
    assert.equal(new X509Certificate(Buffer.from(issued, 'base64')).subject, 'CN=jane')

    if (kubectlMissing) {
      t.diagnostic(`kubectl auth can-i not run: ${kubectlMissing}`)
    } else {
      const canI = (...args: string[]) =>
        spawnSync(
          kubectlPath,
          ['--kubeconfig', join(dataDir, 'admin.kubeconfig'), 'auth', 'can-i', ...args],
          { encoding: 'utf8', timeout: 30_000 },
        ).stdout.trim()
      // (pods/binding would be the pod named binding: kubectl names subresources by flag.)
      assert.equal(canI('--as', 'system:kube-scheduler', 'create', 'pods', '--subresource=binding'), 'yes')
      assert.equal(canI('--as', 'system:kube-scheduler', 'delete', 'secrets'), 'no')
      assert.equal(canI('--as', 'system:kube-controller-manager', 'create', 'pods'), 'no')
      const rsController = 'system:serviceaccount:kube-system:replicaset-controller'
      assert.equal(canI('--as', rsController, 'create', 'pods'), 'yes')
      assert.equal(canI('--as', rsController, 'create', 'deployments.apps'), 'no')
    }

    // Who really acts shows when their roles lose a rule. The replicaset controller, without pod
    // creation, is refused as its service account...
    const roles = client<ClusterRole>('rbac.authorization.k8s.io', 'clusterroles')
    const dropRule = async (name: string, resource: string, verb: string) => {
      const role = await roles.get('', name)
      role.rules = (role.rules ?? []).map((r) =>
        r.resources?.includes(resource) ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r,
      )
      await roles.update(role)
    }
    await dropRule('system:controller:replicaset-controller', 'pods', 'create')
    await client<ReplicaSet>('apps', 'replicasets').create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }] },
        },
      },
    })
    const events = client<Event>('', 'events')
    const failed = await until(
      async () =>
        (await events.list('default')).items.find(
          (e) => e.involvedObject.name === 'web' && e.reason === 'FailedCreate',
        ),
      20_000,
      `a FailedCreate event: ${output()}`,
    )
    assert.match(
      failed.message ?? '',
      /User "system:serviceaccount:kube-system:replicaset-controller" cannot create resource "pods"/,
    )

    // ...and the scheduler, without pod status writes, as system:kube-scheduler (with no node, the
    // pod is unschedulable and the scheduler says so in its status).
    await dropRule('system:kube-scheduler', 'pods/status', 'patch')
    await client<Pod>('', 'pods').create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'lonely', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
    })
    await until(
      () => /User \\"system:kube-scheduler\\" cannot patch resource \\"pods\/status\\"/.test(output()),
      20_000,
      `the scheduler refused: ${output()}`,
    )
  } finally {
    await admin.close()
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
  }
})

test('k8ts scheduler serves /healthz and /metrics on its secure port', async () => {
  const dataDir = join(dir, 'sched')
  const { child: up } = await startUp(dataDir)
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port
      probe.close(() => resolve(p))
    })
  })
  const config = join(dir, 'scheduler.yaml')
  writeFileSync(
    config,
    [
      'apiVersion: kubescheduler.config.k8s.io/v1',
      'kind: KubeSchedulerConfiguration',
      `clientConnection: { kubeconfig: ${join(dataDir, 'scheduler.kubeconfig')} }`,
      'leaderElection: { leaderElect: false }',
      'profiles: [{ schedulerName: second-scheduler }]',
    ].join('\n'),
  )
  const child = spawn(process.execPath, [
    bin,
    'scheduler',
    '--config',
    config,
    '--bind-address',
    '127.0.0.1',
    '--secure-port',
    String(port),
  ])
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsGet({ host: '127.0.0.1', port, path, rejectUnauthorized: false }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('error', reject)
    })
  try {
    const deadline = Date.now() + 15_000
    let health: { status: number; body: string } | undefined
    while (!health) {
      health = await get('/healthz').catch(() => undefined)
      if (!health) {
        assert.ok(Date.now() < deadline, `no /healthz: ${out}`)
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    assert.deepEqual(health, { status: 200, body: 'ok' })
    assert.equal((await get('/readyz?verbose')).body, '[+]ping ok\nreadyz check passed\n')
    const metrics = await get('/metrics')
    assert.equal(metrics.status, 200)
    assert.match(metrics.body, /^# TYPE scheduler_schedule_attempts_total counter$/m)
    assert.match(metrics.body, /^scheduler_pending_pods\{queue="active"\} 0$/m)
    assert.equal((await get('/nope')).status, 404)
  } finally {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    assert.equal(await exited, 0, out)
    const upExited = new Promise((resolve) => up.once('exit', resolve))
    up.kill('SIGTERM')
    await upExited
  }
})

const bad = [
  {
    name: 'an unknown datastore scheme',
    args: ['up', '--datastore', 'mysql://x'],
    err: /^k8ts: invalid datastore "mysql:\/\/x": unknown scheme/,
  },
  {
    name: 'a worker count that is not a number',
    args: ['up', '--workers', 'many'],
    err: /^error: option '--workers <n>' argument 'many' is invalid\. many is not a number from 0 to 64/,
  },
  { name: 'an unknown command', args: ['frobnicate'], err: /unknown command 'frobnicate'/ },
  { name: 'an unknown flag', args: ['up', '--no-such-flag'], err: /unknown option '--no-such-flag'/ },
  {
    name: 'a controller-manager without a kubeconfig',
    args: ['controller-manager'],
    err: /^error: required option '--kubeconfig <file>' not specified/,
  },
  {
    name: 'a controller-manager with a kubeconfig that is not there',
    args: ['controller-manager', '--kubeconfig', '/nonexistent/kubeconfig'],
    err: /^k8ts: cannot read kubeconfig \/nonexistent\/kubeconfig: ENOENT/,
  },
  {
    name: 'a controller-manager asked for an unknown controller',
    args: [
      'controller-manager',
      '--kubeconfig',
      join(import.meta.dirname, 'fixtures/kubeconfig.yaml'),
      '--controllers',
      'replicaset,warpdrive',
    ],
    err: /^k8ts: "warpdrive" is not a known controller \(known: serviceaccount, replicaset, replicationcontroller, /,
  },
  {
    name: 'a controller-manager with a grace period that is not a duration',
    args: ['controller-manager', '--kubeconfig', 'x', '--node-monitor-grace-period', 'forty'],
    err: /argument 'forty' is invalid\. forty is not a duration \(like 40s, 5m or 1m30s\)/,
  },
  {
    name: 'a controller-manager with a cluster CIDR that is not one',
    args: [
      'controller-manager',
      '--kubeconfig',
      join(import.meta.dirname, 'fixtures/kubeconfig.yaml'),
      '--cluster-cidr',
      '10.42.0.0',
    ],
    err: /^k8ts: 10\.42\.0\.0 is not an IPv4 CIDR/,
  },
  {
    name: 'a controller-manager whose renew deadline is not shorter than its lease',
    args: [
      'controller-manager',
      '--kubeconfig',
      join(import.meta.dirname, 'fixtures/kubeconfig.yaml'),
      '--leader-elect-renew-deadline',
      '20s',
    ],
    err: /^k8ts: the renew deadline must be shorter than the lease duration/,
  },
  {
    name: 'a scheduler without a kubeconfig',
    args: ['scheduler'],
    err: /^k8ts: no kubeconfig: give --kubeconfig or clientConnection\.kubeconfig in --config/,
  },
  {
    name: 'a scheduler whose --config is not there',
    args: ['scheduler', '--config', '/nonexistent/scheduler.yaml'],
    err: /^k8ts: cannot read --config \/nonexistent\/scheduler\.yaml: ENOENT/,
  },
  {
    name: 'a scheduler whose --config names an unknown plugin',
    args: ['scheduler', '--config', join(import.meta.dirname, 'fixtures/scheduler-bad-plugin.yaml')],
    err: /^k8ts: invalid --config .*scheduler-bad-plugin\.yaml: profiles\[0\]\.plugins\.score\.enabled\[0\]\.name: Invalid value: "Warp": no such plugin/,
  },
  {
    name: 'a scheduler with a port that is not one',
    args: ['scheduler', '--kubeconfig', 'x', '--secure-port', '99999'],
    err: /argument '99999' is invalid\. 99999 is not a port number/,
  },
  {
    name: 'a controller-manager with --use-service-account-credentials maybe',
    args: ['controller-manager', '--kubeconfig', 'x', '--use-service-account-credentials', 'maybe'],
    err: /argument 'maybe' is invalid\. maybe is not true or false/,
  },
  {
    name: 'a controller-manager with a signing certificate and no key',
    args: ['controller-manager', '--kubeconfig', 'x', '--cluster-signing-cert-file', 'ca.crt'],
    err: /^k8ts: --cluster-signing-cert-file and --cluster-signing-key-file must be given together/,
  },
  {
    name: 'a controller-manager with --leader-elect maybe',
    args: ['controller-manager', '--kubeconfig', 'x', '--leader-elect', 'maybe'],
    err: /argument 'maybe' is invalid\. maybe is not true or false/,
  },
]
for (const c of bad) {
  test(`${c.name} gets one line on stderr and exit status 1`, () => {
    const r = k8ts(c.args[0] === 'up' ? [...c.args, '--data-dir', join(dir, 'bad')] : c.args)
    assert.equal(r.status, 1)
    assert.match(r.stderr, c.err)
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  })
}
