import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'

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
]
for (const c of bad) {
  test(`${c.name} gets one line on stderr and exit status 1`, () => {
    const r = k8ts([...c.args, '--data-dir', join(dir, 'bad')])
    assert.equal(r.status, 1)
    assert.match(r.stderr, c.err)
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  })
}
