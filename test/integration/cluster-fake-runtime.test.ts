import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Node, Pod } from '../../src/api/generated/types/core-v1.ts'
import { builtin, Informer, loadKubeconfig, ResourceClient, RestClient } from '../../src/client/index.ts'
import { kubectlMissing, kubectlPath } from '../support/cluster.ts'
import { until } from '../support/until.ts'

const bin = join(import.meta.dirname, '../../bin/k8ts.js')

/** Spawns a k8ts command, resolving once its output contains `ready`. */
async function startK8ts(
  args: string[],
  ready: string,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  await until(
    () => {
      if (child.exitCode !== null) throw new Error(`k8ts ${args[0]} exited with ${child.exitCode}: ${out}`)
      return out.includes(ready)
    },
    30_000,
    `k8ts ${args[0]} to start`,
  )
  return { child, output: () => out }
}

/** The keys of a JSON object's text as written, duplicates included (JSON.parse keeps the last). */
function topLevelKeys(json: string): string[] {
  const keys: string[] = []
  let depth = 0
  for (let i = 0; i < json.length; i++) {
    const c = json[i]
    if (c === '"') {
      const start = i
      for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++
      if (depth === 1 && json[i + 1] === ':') keys.push(json.slice(start + 1, i))
    } else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') depth--
  }
  return keys
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

/**
 * `k8ts up --runtime fake`: the whole cluster in one process with one kubelet on the fake
 * runtime, driven by the real kubectl as a user would; and a second node from `k8ts sim`.
 */
describe('k8ts up --runtime fake', { skip: kubectlMissing }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-up-fake-'))
  const kubeconfig = join(dir, 'admin.kubeconfig')
  let up: ChildProcess | undefined
  let upOutput = () => ''
  let sim: ChildProcess | undefined
  let rest: RestClient
  let pods: ResourceClient<Pod>
  let nodes: ResourceClient<Node>

  /** The real kubectl against the cluster, with `input` on its stdin. */
  const run = (args: string[], input?: string) => {
    const r = spawnSync(
      kubectlPath,
      ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kubectl'), ...args],
      {
        encoding: 'utf8',
        timeout: 60_000,
        ...(input !== undefined ? { input } : {}),
      },
    )
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }
  const kubectl = (...args: string[]) => run(args)
  const ok = (...args: string[]) => {
    const r = kubectl(...args)
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  /** kubectl apply -f - of one object. */
  const apply = (obj: object) => {
    const r = run(['apply', '-f', '-'], JSON.stringify(obj))
    assert.equal(r.code, 0, r.stderr)
  }
  const podStatus = async (name: string) => (await pods.get('default', name)).status

  before(async () => {
    ;({ child: up, output: upOutput } = await startK8ts(
      [
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
        '--node-monitor-grace-period',
        '4s',
        '--node-monitor-period',
        '1s',
      ],
      'apiserver serving at',
    ))
    rest = new RestClient({ ...loadKubeconfig(kubeconfig), userAgent: 'k8ts-test/0.1' })
    pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    nodes = new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes'))
    await until(
      async () => {
        const n = await nodes.get('', 'node-a').catch(() => undefined)
        return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
      },
      20_000,
      'node-a Ready',
    )
    // The default ServiceAccount the pods need.
    await until(
      () => kubectl('get', 'serviceaccount', 'default').code === 0,
      20_000,
      'the default ServiceAccount',
    )
  })

  after(async () => {
    await rest?.close()
    await stopChild(sim)
    await stopChild(up)
    rmSync(dir, { recursive: true, force: true })
  })

  test('a Deployment of 3 replicas rolls out to Running and Ready pods', () => {
    ok('create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=3')
    ok('rollout', 'status', 'deployment/web', '--timeout=60s')
    const lines = ok('get', 'pods', '-l', 'app=web', '--no-headers').trim().split('\n')
    assert.equal(lines.length, 3)
    for (const line of lines) assert.match(line, /^web-\S+\s+1\/1\s+Running\s+0\s/)
    assert.match(ok('get', 'deployment', 'web', '--no-headers'), /^web\s+3\/3\s+3\s+3\s/)
    ok('delete', 'deployment', 'web', '--wait=false')
  })

  test('init containers run in order, one at a time, before the app container', async () => {
    apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'inits' },
      spec: {
        initContainers: [
          { name: 'first', image: 'busybox:1.36', command: ['sh', '-c', 'sleep 1'] },
          { name: 'second', image: 'busybox:1.36', command: ['sh', '-c', 'sleep 1'] },
        ],
        containers: [{ name: 'app', image: 'busybox:1.36', command: ['sleep', '3600'] }],
      },
    })
    // While the first runs, kubectl shows Init:0/2.
    await until(
      () => kubectl('get', 'pod', 'inits', '--no-headers').stdout.includes('Init:0/2'),
      20_000,
      'Init:0/2',
    )
    const status = await until(
      async () => {
        const s = await podStatus('inits')
        return s?.phase === 'Running' && s.containerStatuses?.[0]?.ready === true && s
      },
      30_000,
      'the app container running',
    )
    const [first, second] = status.initContainerStatuses ?? []
    const finished = (c: typeof first) => Date.parse(c?.state?.terminated?.finishedAt ?? '')
    const started = (c: typeof first) => Date.parse(c?.state?.terminated?.startedAt ?? '')
    assert.equal(first?.state?.terminated?.reason, 'Completed')
    assert.equal(second?.state?.terminated?.reason, 'Completed')
    assert.ok(
      started(second) >= finished(first),
      'the second init container started after the first finished',
    )
    assert.ok(
      Date.parse(status.containerStatuses?.[0]?.state?.running?.startedAt ?? '') >= finished(second),
      'the app started after the init containers',
    )
    assert.equal(status.conditions?.find((c) => c.type === 'Initialized')?.status, 'True')
    ok('delete', 'pod', 'inits', '--wait=false')
  })

  test('restartPolicy Never pods complete (Completed) or fail (Error) with their exit codes', async () => {
    ok('run', 'done', '--image=busybox:1.36', '--restart=Never', '--', 'sh', '-c', 'echo hi')
    ok('run', 'broken', '--image=busybox:1.36', '--restart=Never', '--', 'sh', '-c', 'exit 3')
    const done = await until(
      async () => (await podStatus('done'))?.phase === 'Succeeded',
      20_000,
      'done Succeeded',
    )
    assert.ok(done)
    await until(async () => (await podStatus('broken'))?.phase === 'Failed', 20_000, 'broken Failed')
    const broken = await podStatus('broken')
    assert.equal(broken?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3)
    assert.equal(broken?.containerStatuses?.[0]?.state?.terminated?.reason, 'Error')
    assert.match(ok('get', 'pod', 'done', '--no-headers'), /^done\s+0\/1\s+Completed\s+0\s/)
    assert.match(ok('get', 'pod', 'broken', '--no-headers'), /^broken\s+0\/1\s+Error\s+0\s/)
    ok('delete', 'pod', 'done', 'broken', '--wait=false')
  })

  test('an image no registry has: ErrImagePull, then ImagePullBackOff', async () => {
    ok('run', 'nopull', '--image=example.invalid/missing:1.0', '--restart=Never')
    // The status may show ErrImagePull only for a moment (the next sync backs off), and the
    // kubelet writes only the latest status: the events keep both.
    await until(
      async () =>
        (await podStatus('nopull'))?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff',
      40_000,
      'ImagePullBackOff',
    )
    const messages = ok(
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=nopull',
      '-o',
      'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
    )
    assert.match(messages, /^Failed: Failed to pull image "example.invalid\/missing:1.0"/m)
    assert.match(messages, /^Failed: Error: ErrImagePull$/m)
    assert.match(messages, /^BackOff: Back-off pulling image "example.invalid\/missing:1.0"$/m)
    assert.match(messages, /^Failed: Error: ImagePullBackOff$/m)
    ok('delete', 'pod', 'nopull', '--wait=false')
  })

  /** The reasons and messages of a pod's events, one per line. */
  const eventsOf = (name: string) =>
    ok(
      'get',
      'events',
      '--field-selector',
      `involvedObject.name=${name}`,
      '-o',
      'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
    )
  // Healthy (a file the probes look for) for two seconds, then not.
  const healthyFor2s = 'touch /tmp/healthy; sleep 2; rm -f /tmp/healthy; sleep 600'

  test('a failing liveness probe restarts the container, and the next failure waits in CrashLoopBackOff', async () => {
    apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'live' },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'busybox:1.36',
            command: ['sh', '-c', healthyFor2s],
            livenessProbe: {
              exec: { command: ['cat', '/tmp/healthy'] },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          },
        ],
      },
    })
    const waiting = await until(
      async () => {
        const s = (await podStatus('live'))?.containerStatuses?.[0]
        return s?.state?.waiting?.reason === 'CrashLoopBackOff' && s
      },
      30_000,
      'CrashLoopBackOff',
    )
    assert.equal(waiting.restartCount, 1)
    assert.equal(waiting.lastState?.terminated?.reason, 'Error')
    assert.match(
      ok('get', 'pod', 'live', '--no-headers'),
      /^live\s+0\/1\s+CrashLoopBackOff\s+1 \(\S+ ago\)\s/,
    )
    const events = eventsOf('live')
    assert.match(events, /^Unhealthy: Liveness probe failed: cat: /m)
    assert.match(events, /^Killing: Container app failed liveness probe, will be restarted$/m)
    assert.match(events, /^BackOff: Back-off restarting failed container app in pod live_default\(/m)
    ok('delete', 'pod', 'live', '--wait=false')
  })

  test('a failing readiness probe turns Ready from True to False without a restart', async () => {
    apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'ready' },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'busybox:1.36',
            command: ['sh', '-c', healthyFor2s],
            readinessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1 },
          },
        ],
      },
    })
    const ready = async () => (await podStatus('ready'))?.conditions?.find((c) => c.type === 'Ready')?.status
    await until(async () => (await ready()) === 'True', 20_000, 'Ready True')
    await until(async () => (await ready()) === 'False', 20_000, 'Ready False')
    assert.match(ok('get', 'pod', 'ready', '--no-headers'), /^ready\s+0\/1\s+Running\s+0\s/)
    assert.match(eventsOf('ready'), /^Unhealthy: Readiness probe failed: cat: /m)
    ok('delete', 'pod', 'ready', '--wait=false')
  })

  test('graceful deletion runs the preStop hook before the container stops', async () => {
    apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stop' },
      spec: {
        terminationGracePeriodSeconds: 30,
        containers: [
          {
            name: 'app',
            image: 'busybox:1.36',
            command: ['sleep', '3600'],
            // What the hook writes is the container's termination message once it stops.
            lifecycle: {
              preStop: { exec: { command: ['sh', '-c', 'echo drained > /dev/termination-log'] } },
            },
          },
        ],
      },
    })
    await until(async () => (await podStatus('stop'))?.phase === 'Running', 20_000, 'the pod to run')
    const seen: Pod[] = []
    let deleted = false
    const watcher = new Informer<Pod>(pods, { namespace: 'default', fieldSelector: 'metadata.name=stop' })
    watcher.addHandler({
      update: (_old, p) => void seen.push(structuredClone(p)),
      delete: () => (deleted = true),
    })
    const ac = new AbortController()
    const watching = watcher.run(ac.signal)
    try {
      await watcher.waitForSync()
      ok('delete', 'pod', 'stop', '--wait=true', '--timeout=30s')
      // kubectl ran synchronously: the watch catches up now.
      await until(() => deleted, 10_000, 'the watch to see the pod go')
      const last = seen.map((p) => p.status?.containerStatuses?.[0]?.state?.terminated).findLast(Boolean)
      assert.equal(last?.message, 'drained\n')
      assert.equal(last?.exitCode, 143, 'ended by the stop signal, after the hook')
    } finally {
      ac.abort()
      await watching.catch(() => {})
    }
  })

  test('a node that stops heartbeating goes NotReady and its pods are replaced on the other node', async () => {
    ;({ child: sim } = await startK8ts(
      ['sim', '--nodes', '1', '--kubeconfig', kubeconfig, '--name-prefix', 'sim-'],
      'simulated nodes',
    ))
    await until(
      async () => {
        const n = await nodes.get('', 'sim-0').catch(() => undefined)
        return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
      },
      20_000,
      'sim-0 Ready',
    )
    // Everything lands on sim-0 while node-a is cordoned.
    ok('cordon', 'node-a')
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'moving' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'moving' } },
        template: {
          metadata: { labels: { app: 'moving' } },
          spec: {
            // Evicted 2 s after their node is unreachable, rather than the default 300 s.
            tolerations: ['unreachable', 'not-ready'].map((t) => ({
              key: `node.kubernetes.io/${t}`,
              operator: 'Exists',
              effect: 'NoExecute',
              tolerationSeconds: 2,
            })),
            containers: [{ name: 'app', image: 'nginx:1.27' }],
          },
        },
      },
    }
    apply(deployment)
    ok('rollout', 'status', 'deployment/moving', '--timeout=60s')
    const onSim = ok('get', 'pods', '-l', 'app=moving', '-o', 'jsonpath={.items[*].spec.nodeName}')
    assert.deepEqual(onSim.split(' '), ['sim-0', 'sim-0'])
    ok('uncordon', 'node-a')

    // The simulated node dies without a word: no more leases, no more status.
    sim?.kill('SIGKILL')
    await until(
      async () => {
        const n = await nodes.get('', 'sim-0')
        return n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown'
      },
      30_000,
      'sim-0 NotReady (Unknown)',
    )
    assert.match(ok('get', 'node', 'sim-0', '--no-headers'), /^sim-0\s+NotReady\s/)
    await until(
      async () => {
        const list = await pods.list('default', { labelSelector: 'app=moving' })
        const running = list.items.filter(
          (p) =>
            p.spec?.nodeName === 'node-a' && p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp,
        )
        return running.length === 2
      },
      60_000,
      'two replacement pods Running on node-a',
    )
    ok('delete', 'deployment', 'moving', '--wait=false')
  })

  test('every log line is one JSON object that names each field once', () => {
    const lines = upOutput()
      .split('\n')
      .filter((l) => l.startsWith('{'))
    assert.ok(lines.length > 10, `log lines: ${lines.length}`)
    for (const line of lines) {
      JSON.parse(line)
      const keys = topLevelKeys(line)
      assert.equal(new Set(keys).size, keys.length, line)
    }
  })
})
