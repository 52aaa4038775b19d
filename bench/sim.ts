// The simulated-node benchmark: a whole cluster in this one process, as `k8ts up` runs it (store,
// apiserver, controller-manager, scheduler) with `k8ts sim`'s kubelets on the fake runtime beside
// it, as kwok's own benchmark measures a cluster of fake nodes:
//
//   register_5000_nodes_s  from starting 5,000 kubelets until a watch sees every Node Ready
//   run_10000_pods_s       from creating 100 Deployments of 100 replicas until a watch sees all
//                          10,000 pods Running with Ready=True
//   rss_bytes              the whole process's resident memory at the end
//
//   npm run --silent bench -- sim [--quick]
//
// --quick: 500 nodes and 10 Deployments (1,000 pods).
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Deployment } from '../src/api/generated/types/apps-v1.ts'
import type { Node, Pod } from '../src/api/generated/types/core-v1.ts'
import { startApiServer } from '../src/apiserver/index.ts'
import { builtin, Informer, loadKubeconfig, ResourceClient, RestClient } from '../src/client/index.ts'
import { startSimulation } from '../src/cli/kubelet.ts'
import { startControlPlane } from '../src/cli/up.ts'
import { newReport, progress, result } from './report.ts'

const subject = 'k8ts'

let lastCpu = process.cpuUsage()
/** CPU time this process used since the last call. */
function cpuSince(): string {
  const now = process.cpuUsage()
  const us = now.user - lastCpu.user + now.system - lastCpu.system
  lastCpu = now
  return `${(us / 1e6).toFixed(1)} s of CPU`
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
  const api = await startApiServer({ dataDir: dir, securePort: 0, log })
  // A cluster CIDR with room for a /24 per node.
  const plane = startControlPlane(api, { dataDir: dir, clusterCidr: '10.0.0.0/8' }, log)
  const rest = new RestClient(loadKubeconfig(api.adminKubeconfig))
  const abort = new AbortController()
  const nodeWatch = new Informer<Node>(new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes')))
  const podWatch = new Informer<Pod>(new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods')), {
    namespace: 'default',
  })
  const watching = [nodeWatch.run(abort.signal), podWatch.run(abort.signal)]
  await Promise.all([nodeWatch.waitForSync(), podWatch.waitForSync()])

  const ready = new Set<string>()
  const readyNodes = countWhen(nodeWatch, ready, isReadyNode)
  cpuSince()
  const t0 = performance.now()
  const simulation = startSimulation({
    client: loadKubeconfig(api.adminKubeconfig),
    nodes,
    namePrefix: 'sim-node-',
    log,
  })
  await readyNodes(nodes, `${nodes} nodes Ready`)
  const registerS = (performance.now() - t0) / 1000
  progress(`${nodes} nodes Ready in ${registerS.toFixed(1)} s (${cpuSince()})`)
  // What idle nodes cost (leases, status, PLEG), for the person reading the figures.
  await new Promise((r) => setTimeout(r, 10_000))
  progress(`${nodes} idle nodes for 10 s: ${cpuSince()}`)
  report.results.push(result(subject, `register_${nodes}_nodes_s`, registerS))

  const running = new Set<string>()
  const runningPods = countWhen(podWatch, running, isRunningAndReady)
  const deploymentsClient = new ResourceClient<Deployment>(rest, builtin('apps', 'v1', 'deployments'))
  const t1 = performance.now()
  await inBatches(deployments, 10, (i) => deploymentsClient.create(deployment(`sim-${i}`, replicas)))
  await runningPods(deployments * replicas, `${deployments * replicas} pods Running and Ready`)
  const runS = (performance.now() - t1) / 1000
  progress(`${deployments * replicas} pods Running and Ready in ${runS.toFixed(1)} s (${cpuSince()})`)
  report.results.push(result(subject, `run_${deployments * replicas}_pods_s`, runS))
  const rss = process.memoryUsage().rss
  progress(`rss ${(rss / 2 ** 20).toFixed(0)} MiB`)
  report.results.push(result(subject, 'rss_bytes', rss))

  await simulation.stop()
  abort.abort()
  await Promise.allSettled(watching)
  await rest.close()
  await Promise.all([plane.scheduler.stop(), plane.manager.stop()])
  await api.stop()
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
        progress(`${what}: ${seen.size} of ${n} after ${((lastReport - start) / 1000).toFixed(0)} s`)
      }
      if (performance.now() - start > 600_000)
        throw new Error(`${what}: only ${seen.size} of ${n} after 10 minutes`)
    }
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
