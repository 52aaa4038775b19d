import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Node, Pod } from '../../src/api/generated/types/core-v1.ts'
import { builtin, loadKubeconfig, ResourceClient, RestClient } from '../../src/client/index.ts'
import { kubectlMissing, kubectlPath } from '../support/cluster.ts'
import { until } from '../support/until.ts'

const bin = join(import.meta.dirname, '../../bin/k8ts.js')

/** Stops a child process this test started, and waits for it. */
async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

/** Whether `ip` is this machine's own: a loopback address or one of its interfaces'. */
function isLocalAddress(ip: string): boolean {
  if (ip.startsWith('127.') || ip === '::1') return true
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address === ip))
}

/**
 * `kubectl logs` against `k8ts up --runtime fake`: the apiserver proxies pods/log to the kubelet's
 * /containerLogs at the node's address, which reads the fake containers' output. Needs
 * `npm run build` first (bin/k8ts.js runs dist/).
 */
describe('kubectl logs on k8ts up --runtime fake', { skip: kubectlMissing }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-logs-'))
  const kubeconfig = join(dir, 'admin.kubeconfig')
  let up: ChildProcess | undefined
  let follower: ChildProcess | undefined
  let rest: RestClient
  let pods: ResourceClient<Pod>

  const kubectlArgs = (args: string[]) => [
    '--kubeconfig',
    kubeconfig,
    '--cache-dir',
    join(dir, 'kubectl'),
    ...args,
  ]
  const kubectl = (...args: string[]) => {
    const r = spawnSync(kubectlPath, kubectlArgs(args), { encoding: 'utf8', timeout: 60_000 })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }
  const ok = (...args: string[]) => {
    const r = kubectl(...args)
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const fails = (...args: string[]) => {
    const r = kubectl(...args)
    assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} succeeded: ${r.stdout}`)
    return r.stderr.trim()
  }
  const createPod = (name: string, spec: Pod['spec']) => {
    const r = spawnSync(kubectlPath, kubectlArgs(['apply', '-f', '-']), {
      encoding: 'utf8',
      timeout: 60_000,
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec }),
    })
    assert.equal(r.status, 0, r.stderr)
  }
  const sh = (name: string, script: string) => ({
    name,
    image: 'busybox:1.36',
    command: ['sh', '-c', script],
  })
  const running = (name: string) =>
    until(
      async () => (await pods.get('default', name).catch(() => undefined))?.status?.phase === 'Running',
      30_000,
      `${name} Running`,
    )

  before(async () => {
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
        'node-a',
        '--data-dir',
        dir,
        '--secure-port',
        '0',
        '--fake-missing-images',
        'example.invalid/missing:1.0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    up.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    up.stderr?.on('data', (d: Buffer) => (out += d.toString()))
    await until(
      () => {
        if (up?.exitCode !== null) throw new Error(`k8ts up exited: ${out}`)
        return out.includes('apiserver serving at')
      },
      30_000,
      'k8ts up to start',
    )
    rest = new RestClient({ ...loadKubeconfig(kubeconfig), userAgent: 'k8ts-test/0.1' })
    pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    const nodes = new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes'))
    const node = await until(
      async () => {
        const n = await nodes.get('', 'node-a').catch(() => undefined)
        const ready = n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        return ready && n?.status?.daemonEndpoints?.kubeletEndpoint?.Port ? n : undefined
      },
      20_000,
      'node-a Ready with its kubelet port',
    )
    // --kubelet-port 0: a free port, which the Node reports and the apiserver dials.
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0
    assert.ok(port > 0 && port !== 10250, `kubelet port ${port}`)
    // The apiserver dials the node's InternalIP: it must be this machine, so nothing leaves it.
    const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? ''
    assert.ok(isLocalAddress(ip), `node-a's InternalIP ${ip} is not an address of this machine`)
    await until(
      () => kubectl('get', 'serviceaccount', 'default').code === 0,
      20_000,
      'the default ServiceAccount',
    )
    createPod('hello', { containers: [sh('hello', 'echo hello; echo world; sleep 3600')] })
    createPod('two', { containers: [sh('a', 'echo from-a; sleep 3600'), sh('b', 'echo from-b; sleep 3600')] })
    createPod('crash', { containers: [sh('crash', 'echo run; sleep 1; exit 1')] })
    createPod('pulling', { containers: [{ name: 'app', image: 'example.invalid/missing:1.0' }] })
    await Promise.all([running('hello'), running('two')])
  })

  after(async () => {
    await stopChild(follower)
    await rest?.close()
    await stopChild(up)
    rmSync(dir, { recursive: true, force: true })
  })

  test('kubectl logs prints what the container wrote', () => {
    assert.equal(ok('logs', 'hello'), 'hello\nworld\n')
    assert.equal(ok('logs', 'pod/hello', '-c', 'hello'), 'hello\nworld\n')
  })

  test('--tail, --limit-bytes and --timestamps', () => {
    assert.equal(ok('logs', 'hello', '--tail=1'), 'world\n')
    assert.equal(ok('logs', 'hello', '--limit-bytes=3'), 'hel')
    assert.match(
      ok('logs', 'hello', '--timestamps'),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z hello\n\S+ world\n$/,
    )
    assert.equal(ok('logs', 'hello', '--since=1h'), 'hello\nworld\n')
  })

  test('a pod of two containers: -c picks one; without it the apiserver asks for a name', () => {
    assert.equal(ok('logs', 'two', '-c', 'b'), 'from-b\n')
    // kubectl itself picks the first container (and says so); the API wants one named.
    const raw = kubectl('get', '--raw', '/api/v1/namespaces/default/pods/two/log')
    assert.notEqual(raw.code, 0)
    assert.match(
      raw.stderr,
      /Error from server \(BadRequest\): a container name must be specified for pod two, choose one of: \[a b\]/,
    )
    assert.equal(fails('logs', 'two', '-c', 'nope'), 'error: container nope is not valid for pod two')
  })

  test('options the API refuses', () => {
    const r = kubectl('get', '--raw', '/api/v1/namespaces/default/pods/hello/log?tailLines=-2')
    assert.match(
      r.stderr,
      /PodLogOptions "hello" is invalid: tailLines: Invalid value: -2: must be greater than or equal to 0/,
    )
  })

  test('--previous reads the instance before the last restart', async () => {
    await until(
      async () =>
        ((await pods.get('default', 'crash')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      30_000,
      'crash restarted',
    )
    assert.equal(ok('logs', 'crash', '--previous'), 'run\n')
    assert.equal(
      fails('logs', 'hello', '--previous'),
      'Error from server (BadRequest): previous terminated container "hello" in pod "hello" not found',
    )
  })

  test('a container still waiting to start has no logs', async () => {
    await until(
      async () =>
        (
          await pods.get('default', 'pulling')
        ).status?.containerStatuses?.[0]?.state?.waiting?.reason?.includes('ImagePull'),
      30_000,
      'pulling waits on its image',
    )
    assert.match(
      fails('logs', 'pulling'),
      /^Error from server \(BadRequest\): container "app" in pod "pulling" is waiting to start: (image can't be pulled|trying and failing to pull image)$/,
    )
  })

  test('kubectl logs -f streams lines as the container writes them', async () => {
    createPod('follow', { containers: [sh('follow', 'echo a; sleep 6; echo b; sleep 3600')] })
    await running('follow')
    follower = spawn(kubectlPath, kubectlArgs(['logs', '-f', 'follow']), {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    follower.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    follower.stderr?.on('data', (d: Buffer) => (err += d.toString()))
    await until(() => out !== '', 10_000, `the first line (${err})`)
    assert.equal(out, 'a\n', 'only what was written so far')
    await until(() => out === 'a\nb\n', 15_000, `the line written later (now ${JSON.stringify(out)})`)
    assert.equal(follower.exitCode, null, 'kubectl still follows')
    await stopChild(follower)
  })
})
