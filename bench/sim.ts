// The simulated-node benchmark, as kwok's own benchmark measures a cluster of fake nodes: the
// cluster runs as `k8ts up` does (store, apiserver, controller-manager, scheduler) in a process of
// its own, and `k8ts sim`'s kubelets on the fake runtime run in this one, against it:
//
//   register_5000_nodes_s  from starting 5,000 kubelets until a watch sees every Node Ready
//   run_10000_pods_s       from creating 100 Deployments of 100 replicas until a watch sees all
//                          10,000 pods Running with Ready=True
//   rss_bytes              the simulating process's resident memory at the end
//   cluster_rss_bytes      the cluster process's, at the same time
//
//   npm run --silent bench -- sim [--quick] [--workers N]
//
// --quick: 500 nodes and 10 Deployments (1,000 pods). --workers: the apiserver's serving threads.
import { spawn, type ChildProcess } from 'node:child_process'
import { request as httpsRequest } from 'node:https'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Deployment } from '../src/api/generated/types/apps-v1.ts'
import type { Node, Pod } from '../src/api/generated/types/core-v1.ts'
import {
  builtin,
  type ClientConfig,
  Informer,
  loadKubeconfig,
  ResourceClient,
  RestClient,
} from '../src/client/index.ts'
import { startSimulation } from '../src/cli/kubelet.ts'
import { newReport, progress, result } from './report.ts'

const subject = 'k8ts'

/** CPU seconds (user + system) of a process, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  return statSeconds(`/proc/${pid}/stat`)
}

/** utime + stime of a /proc stat file (a process's or a thread's), in seconds. */
function statSeconds(path: string): number {
  const fields = readFileSync(path, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * Each thread's CPU seconds, by thread id, with its name: Node names its threads MainThread,
 * WorkerThread (the apiserver's helpers, the controller-manager, the scheduler) and V8Worker (V8's
 * own: garbage collection and compiling). A CPU profile cannot tell this: it samples by wall time
 * and charges a thread's time off the CPU to the frame it stopped in.
 */
function threadSeconds(pid: number): Map<string, { name: string; seconds: number }> {
  const out = new Map<string, { name: string; seconds: number }>()
  let tids: string[] = []
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()
      out.set(tid, { name, seconds: statSeconds(`/proc/${pid}/task/${tid}/stat`) })
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out
}

/** What each thread used between two readings, by name, the busiest first: `V8Worker 2.9/2.8 s`. */
function describeThreads(
  before: Map<string, { seconds: number }>,
  now: Map<string, { name: string; seconds: number }>,
): string {
  const byName = new Map<string, number[]>()
  for (const [tid, t] of now) {
    const used = t.seconds - (before.get(tid)?.seconds ?? 0)
    if (used < 0.1) continue
    byName.set(t.name, [...(byName.get(t.name) ?? []), used])
  }
  return [...byName]
    .map(([name, used]) => [name, used.sort((a, b) => b - a)] as const)
    .sort((a, b) => (b[1][0] ?? 0) - (a[1][0] ?? 0))
    .map(([name, used]) => `${name} ${used.map((u) => u.toFixed(1)).join('/')} s`)
    .join(', ')
}

function residentBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : 0
}

/** CPU time the simulation (this process) and the cluster (and each of its threads) used since the last call. */
function cpuMeter(clusterPid: number): () => string {
  let sim = cpuSeconds(process.pid)
  let cluster = cpuSeconds(clusterPid)
  let threads = threadSeconds(clusterPid)
  return () => {
    const [simNow, clusterNow, threadsNow] = [
      cpuSeconds(process.pid),
      cpuSeconds(clusterPid),
      threadSeconds(clusterPid),
    ]
    const text = `${(simNow - sim).toFixed(1)} s of CPU simulating, ${(clusterNow - cluster).toFixed(1)} s in the cluster: ${describeThreads(threads, threadsNow)}`
    ;[sim, cluster, threads] = [simNow, clusterNow, threadsNow]
    return text
  }
}

/** The apiserver's request counts by verb and resource, from its /metrics. */
function requestCounts(config: ClientConfig): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL('/metrics', config.server),
      {
        ...(config.ca ? { ca: config.ca } : {}),
        ...(config.cert ? { cert: config.cert, key: config.key } : {}),
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (text += d))
        res.on('end', () => {
          const counts = new Map<string, number>()
          for (const line of text.split('\n')) {
            if (!line.startsWith('apiserver_request_total{')) continue
            const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(line)?.[1] ?? ''
            const sub = label('subresource')
            const key = `${label('verb')} ${label('resource')}${sub ? `/${sub}` : ''}`
            counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)))
          }
          resolve(counts)
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** The requests since the last call, most first: what a phase asked of the apiserver. */
function requestMeter(config: ClientConfig): () => Promise<string> {
  let last = new Map<string, number>()
  return async () => {
    const now = await requestCounts(config)
    const delta = [...now].map(([k, v]) => [k, v - (last.get(k) ?? 0)] as const).filter(([, v]) => v > 0)
    last = now
    delta.sort((a, b) => b[1] - a[1])
    const total = delta.reduce((n, [, v]) => n + v, 0)
    return `${total} requests: ${delta
      .slice(0, 12)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`
  }
}

/** `k8ts up` (no node of its own) on a fresh data directory; resolves once it serves. */
function startCluster(dataDir: string, extra: string[]): Promise<ChildProcess> {
  const bin = join(import.meta.dirname, '..', 'bin', 'k8ts.js')
  const args = ['up', '--data-dir', dataDir, '--secure-port', '0', '--cluster-cidr', '10.0.0.0/8', ...extra]
  // BENCH_CPU_PROF=dir: the cluster writes CPU profiles there (one per thread) when it stops.
  const prof = process.env.BENCH_CPU_PROF
  const node = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []
  const child = spawn(process.execPath, [...node, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    // Until it serves, its output is searched for the line that says so; after, only the last
    // lines are kept, for the error should it exit. (It logs a line per node: searching all it
    // said at every chunk would take CPU from the simulation, seconds of it once it warns a lot.)
    let serving = false
    let out = ''
    const seen = (d: Buffer) => {
      out += d.toString()
      if (!serving && out.includes('apiserver serving at')) {
        serving = true
        resolve(child)
      }
      if (out.length > 64 * 1024) out = out.slice(-16 * 1024)
    }
    child.stdout?.on('data', seen)
    child.stderr?.on('data', seen)
    child.once('exit', (code) => reject(new Error(`k8ts up exited with ${code}: ${out}`)))
  })
}

async function stopCluster(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  // Writing CPU profiles of a few minutes takes a while.
  const timer = setTimeout(() => child.kill('SIGKILL'), process.env.BENCH_CPU_PROF ? 120_000 : 10_000)
  await exited
  clearTimeout(timer)
}

export async function main(args: string[]): Promise<void> {
  const quick = args.includes('--quick')
  const nodes = quick ? 500 : 5000
  const deployments = quick ? 10 : 100
  const replicas = 100
  const report = newReport('sim')
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-sim-'))
  const log = pino({ level: process.env.K8TS_LOG_LEVEL ?? 'silent' })
  progress(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  )
  // --workers N: the apiserver's own option, passed on (its default otherwise).
  const workers = args.includes('--workers') ? ['--workers', args[args.indexOf('--workers') + 1] ?? ''] : []
  // A cluster CIDR with room for a /24 per node.
  const cluster = await startCluster(dir, workers)
  const clusterPid = cluster.pid ?? 0
  const cpuSince = cpuMeter(clusterPid)
  const kubeconfig = loadKubeconfig(join(dir, 'admin.kubeconfig'))
  const rest = new RestClient(kubeconfig)
  const requestsSince = requestMeter(kubeconfig)
  const abort = new AbortController()
  const nodesAbort = new AbortController()
  // The bench's own watches take as little as they can of the CPU the cluster and the kubelets
  // share with them. They read names, conditions and phases only: managedFields are not decoded,
  // and what they cache is that little, so the rest of each object dies young instead of living
  // in the cache (the kubelets' process) until the next version of the object comes. The nodes
  // are watched until they are Ready, the pods only once Running (what the count waits for).
  const nodeWatch = new Informer<Node>(new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes')), {
    withoutManagedFields: true,
    transform: nodeProgress,
  })
  const podWatch = new Informer<Pod>(new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods')), {
    namespace: 'default',
    fieldSelector: 'status.phase=Running',
    withoutManagedFields: true,
    transform: podProgress,
  })
  const watching = [nodeWatch.run(nodesAbort.signal), podWatch.run(abort.signal)]
  await Promise.all([nodeWatch.waitForSync(), podWatch.waitForSync()])

  const ready = new Set<string>()
  const readyNodes = countWhen(nodeWatch, ready, isReadyNode)
  cpuSince()
  await requestsSince()
  const t0 = performance.now()
  const simulation = startSimulation({
    client: kubeconfig,
    nodes,
    namePrefix: 'sim-node-',
    log,
  })
  await readyNodes(nodes, `${nodes} nodes Ready`)
  const registerS = (performance.now() - t0) / 1000
  nodesAbort.abort()
  progress(`${nodes} nodes Ready in ${registerS.toFixed(1)} s (${cpuSince()})`)
  progress(`  ${await requestsSince()}`)
  // What idle nodes cost (leases, status, PLEG), for the person reading the figures.
  await new Promise((r) => setTimeout(r, 10_000))
  progress(`${nodes} idle nodes for 10 s: ${cpuSince()}`)
  progress(`  ${await requestsSince()}`)
  report.results.push(result(subject, `register_${nodes}_nodes_s`, registerS))

  const running = new Set<string>()
  const runningPods = countWhen(podWatch, running, isRunningAndReady, await podStages(kubeconfig))
  const deploymentsClient = new ResourceClient<Deployment>(rest, builtin('apps', 'v1', 'deployments'))
  const t1 = performance.now()
  await inBatches(deployments, 10, (i) => deploymentsClient.create(deployment(`sim-${i}`, replicas)))
  await runningPods(deployments * replicas, `${deployments * replicas} pods Running and Ready`)
  const runS = (performance.now() - t1) / 1000
  progress(`${deployments * replicas} pods Running and Ready in ${runS.toFixed(1)} s (${cpuSince()})`)
  progress(`  ${await requestsSince()}`)
  report.results.push(result(subject, `run_${deployments * replicas}_pods_s`, runS))
  const rss = process.memoryUsage().rss
  const clusterRss = residentBytes(clusterPid)
  progress(
    `rss ${(rss / 2 ** 20).toFixed(0)} MiB simulating, ${(clusterRss / 2 ** 20).toFixed(0)} MiB the cluster`,
  )
  report.results.push(result(subject, 'rss_bytes', rss), result(subject, 'cluster_rss_bytes', clusterRss))

  const stopping = performance.now()
  await simulation.stop()
  // What the kubelets still had to write when they stopped (events they had not sent yet).
  progress(
    `the simulation stopped in ${((performance.now() - stopping) / 1000).toFixed(1)} s: ${await requestsSince()}`,
  )
  abort.abort()
  await Promise.allSettled(watching)
  await rest.close()
  await stopCluster(cluster)
  rmSync(dir, { recursive: true, force: true })
  process.stdout.write(JSON.stringify(report, null, 2) + '\n')
}

/**
 * Counts the objects for which `is` has held, from now on: `wait(n)` resolves once n of them have,
 * reporting progress every 5 s and giving up after 10 minutes.
 */
function countWhen<T extends { metadata?: { name?: string; namespace?: string } }>(
  informer: Informer<T>,
  seen: Set<string>,
  is: (o: Readonly<T>) => boolean,
  detail?: () => Promise<string>,
): (n: number, what: string) => Promise<void> {
  let notify = () => {}
  const check = (o: Readonly<T>) => {
    if (!is(o)) return
    seen.add(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`)
    notify()
  }
  informer.addHandler({ add: check, update: (_old, o) => check(o) })
  return async (n, what) => {
    const start = performance.now()
    let lastReport = start
    while (seen.size < n) {
      await new Promise<void>((resolve) => {
        notify = resolve
        setTimeout(resolve, 1000)
      })
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now()
        const more = detail ? ` (${await detail()})` : ''
        progress(`${what}: ${seen.size} of ${n} after ${((lastReport - start) / 1000).toFixed(0)} s${more}`)
      }
      if (performance.now() - start > 600_000)
        throw new Error(`${what}: only ${seen.size} of ${n} after 10 minutes`)
    }
  }
}

/**
 * How far the pods have come since now, for the progress lines: created, and bound by the
 * scheduler (the apiserver's request counts, as the bench watches only Running pods); with the
 * Running count beside them, a stage that holds the others up shows.
 */
async function podStages(config: ClientConfig): Promise<() => Promise<string>> {
  const start = await requestCounts(config)
  const since = (counts: Map<string, number>, key: string) => (counts.get(key) ?? 0) - (start.get(key) ?? 0)
  return async () => {
    const counts = await requestCounts(config)
    return `${since(counts, 'CREATE pods')} created, ${since(counts, 'CREATE pods/binding')} bound`
  }
}

/** What the bench reads of a Node: its name and Ready condition. */
function nodeProgress(n: Node): Node {
  return {
    metadata: { name: n.metadata?.name ?? '' },
    status: { conditions: (n.status?.conditions ?? []).filter((c) => c.type === 'Ready') },
  }
}

/** What the bench reads of a Pod: its name, phase and Ready condition. */
function podProgress(p: Pod): Pod {
  return {
    metadata: { name: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? '' },
    status: {
      ...(p.status?.phase ? { phase: p.status.phase } : {}),
      conditions: (p.status?.conditions ?? []).filter((c) => c.type === 'Ready'),
    },
  }
}

function isReadyNode(n: Readonly<Node>): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
}

function isRunningAndReady(p: Readonly<Pod>): boolean {
  return (
    p.status?.phase === 'Running' &&
    (p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false)
  )
}

function deployment(name: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.k8s.io/pause:3.10',
              resources: { requests: { cpu: '10m', memory: '16Mi' } },
            },
          ],
        },
      },
    },
  }
}

async function inBatches(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += width) {
    await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => fn(i + j)))
  }
}
