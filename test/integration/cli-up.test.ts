import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
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
    err: /^error: required option '--kubeconfig <file>' not specified/,
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
