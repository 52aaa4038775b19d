// The scheduler benchmark, shaped after Kubernetes' scheduler_perf: an in-process apiserver on
// the SQLite store, fake nodes (Node objects with allocatable resources, no kubelet), and the
// scheduler binding pods through the API. Throughput is counted per second of the measured phase
// (pods bound that second), as scheduler_perf does, and reported as average, p50 and p99.
//
// Only SchedulingBasic exists yet; the other workloads of the issue need plugins still to come.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { startApiServer } from '../src/apiserver/index.ts'
import type { Node, Pod } from '../src/api/generated/types/core-v1.ts'
import { builtin, Informer, loadKubeconfig, ResourceClient, RestClient } from '../src/client/index.ts'
import { startScheduler } from '../src/scheduler/index.ts'
import { newReport, progress, quantile, result } from './report.ts'

interface Sizes {
  nodes: number
  initPods: number
  measuredPods: number
}

const full: Sizes = { nodes: 5000, initPods: 1000, measuredPods: 10_000 }
const quick: Sizes = { nodes: 500, initPods: 100, measuredPods: 1000 }

export async function main(args: string[]): Promise<void> {
  const sizes = args.includes('--quick') ? quick : full
  const report = newReport('scheduler')
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-scheduler-'))
  const log = pino({ level: 'silent' })
  const api = await startApiServer({
    dataDir: dir,
    securePort: 0,
    log,
    // No serviceaccount controller runs here: as scheduler_perf does, pods need no service account.
    disableAdmissionPlugins: ['ServiceAccount'],
  })
  const config = loadKubeconfig(api.adminKubeconfig)
  const rest = new RestClient(config)
  const nodes = new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes'))
  const pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
  try {
    progress(`creating ${sizes.nodes} nodes`)
    await inParallel(sizes.nodes, 50, async (i) => {
      const created = await nodes.create(fakeNode(`node-${i}`))
      await nodes.updateStatus({ ...created, status: fakeNode(`node-${i}`).status })
    })

    // Count bindings as the watch reports them.
    const bound = new Set<string>()
    const boundAt: number[] = []
    const informer = new Informer(pods)
    const seen = (p: Readonly<Pod>) => {
      const uid = p.metadata?.uid ?? ''
      if (p.spec?.nodeName && !bound.has(uid)) {
        bound.add(uid)
        boundAt.push(performance.now())
      }
    }
    informer.addHandler({ add: seen, update: (_o, p) => seen(p) })
    const ac = new AbortController()
    const watching = informer.run(ac.signal)
    await informer.waitForSync()

    const scheduler = startScheduler({ client: config, leaderElect: false, log })
    progress(`scheduling ${sizes.initPods} init pods`)
    await inParallel(sizes.initPods, 50, (i) => pods.create(fakePod(`init-${i}`)).then(() => undefined))
    await waitFor(() => bound.size >= sizes.initPods, 300_000, 'init pods')

    progress(`scheduling ${sizes.measuredPods} measured pods`)
    const from = boundAt.length
    const start = performance.now()
    await inParallel(sizes.measuredPods, 50, (i) => pods.create(fakePod(`pod-${i}`)).then(() => undefined))
    await waitFor(() => bound.size >= sizes.initPods + sizes.measuredPods, 600_000, 'measured pods')
    const times = boundAt.slice(from)
    const end = times.at(-1) ?? start
    const perSecond: number[] = []
    for (let t = start; t < end; t += 1000) perSecond.push(times.filter((x) => x >= t && x < t + 1000).length)
    const avg = sizes.measuredPods / ((end - start) / 1000)
    progress(`SchedulingBasic: ${avg.toFixed(0)} pods/s over ${((end - start) / 1000).toFixed(1)} s`)
    const subject = `scheduling_basic_${sizes.nodes}n`
    report.results.push(
      result(subject, 'pods_per_s_avg', avg),
      result(subject, 'pods_per_s_p50', quantile(perSecond, 0.5)),
      result(subject, 'pods_per_s_p99', quantile(perSecond, 0.99)),
    )
    report.results.push(result('scheduler', 'rss_bytes', process.memoryUsage().rss))
    await scheduler.stop()
    ac.abort()
    await watching
  } finally {
    await rest.close()
    await api.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n')
}

/** scheduler_perf's node-default.yaml: 4 CPUs, 32 GiB, 110 pods. */
function fakeNode(name: string): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: {
      capacity: { cpu: '4', memory: '32Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '32Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  }
}

/** scheduler_perf's pod-default.yaml: one container requesting 100m CPU and 500 MiB. */
function fakePod(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      containers: [
        {
          name: 'pause',
          image: 'registry.k8s.io/pause:3.10',
          resources: { requests: { cpu: '100m', memory: '500Mi' } },
        },
      ],
    },
  }
}

async function inParallel(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await fn(next++)
    }),
  )
}

async function waitFor(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
