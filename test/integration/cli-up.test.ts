import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { get as httpsGet } from 'node:https'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { builtin, loadKubeconfig, ResourceClient, RestClient } from '../../src/client/index.ts'

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
      `clientConnection: { kubeconfig: ${join(dataDir, 'admin.kubeconfig')} }`,
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
