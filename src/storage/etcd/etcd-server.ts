import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Runs a single-member etcd (Debian's etcd-server) on free loopback ports with its own data
 * directory, for tests and benchmarks. Stopped by the PID it started, never by name.
 */
export interface EtcdServer {
  /** host:port for clients. */
  readonly endpoint: string
  readonly pid: number
  readonly dataDir: string
  /** Kills etcd (SIGKILL) and waits for it to exit; the data directory stays. */
  kill(): Promise<void>
  /** Starts etcd again on the same ports and data directory, and waits until it serves. */
  restart(): Promise<void>
  /** Stops etcd (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>
}

export interface EtcdServerOptions {
  dataDir: string
  /** Passed as --experimental-watch-progress-notify-interval (default 10m, etcd's own). */
  progressNotifyInterval?: string
  binary?: string
}

/** The path of the etcd binary, or undefined when it is not installed. */
export function findEtcd(): string | undefined {
  for (const candidate of ['/usr/bin/etcd', '/usr/local/bin/etcd']) {
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' })
    if (r.status === 0) return candidate
  }
  return undefined
}

export async function startEtcd(options: EtcdServerOptions): Promise<EtcdServer> {
  const binary = options.binary ?? findEtcd()
  if (!binary) throw new Error('etcd is not installed (Debian package etcd-server; run scripts/setup.sh)')
  const [clientPort, peerPort] = [await freePort(), await freePort()]
  mkdirSync(options.dataDir, { recursive: true })
  const endpoint = `127.0.0.1:${clientPort}`
  const args = [
    '--name',
    'k8ts-test',
    '--data-dir',
    join(options.dataDir, 'data'),
    '--listen-client-urls',
    `http://${endpoint}`,
    '--advertise-client-urls',
    `http://${endpoint}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-cluster',
    `k8ts-test=http://127.0.0.1:${peerPort}`,
    '--experimental-watch-progress-notify-interval',
    options.progressNotifyInterval ?? '10m',
    '--logger',
    'zap',
    '--log-level',
    'warn',
  ]
  const logPath = join(options.dataDir, 'etcd.log')
  let child: ChildProcess | undefined

  const launch = async () => {
    const log = openSync(logPath, 'a')
    try {
      child = spawn(binary, args, { stdio: ['ignore', log, log], detached: false })
    } finally {
      closeSync(log)
    }
    await waitUntilServing(endpoint, child, logPath)
  }
  const waitExit = async (signal: NodeJS.Signals, graceMs: number) => {
    const c = child
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
    c.kill(signal)
    const timer = setTimeout(() => c.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }

  await launch()
  return {
    endpoint,
    get pid() {
      return child?.pid ?? -1
    },
    dataDir: options.dataDir,
    kill: () => waitExit('SIGKILL', 0),
    restart: async () => {
      await waitExit('SIGTERM', 5000)
      await launch()
    },
    stop: () => waitExit('SIGTERM', 5000),
  }
}

async function waitUntilServing(
  endpoint: string,
  child: ChildProcess | undefined,
  logPath: string,
): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (!child || child.exitCode !== null) {
      throw new Error(`etcd exited while starting (${child?.exitCode}); its log:\n${tail(logPath)}`)
    }
    try {
      const res = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(1000) })
      if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return
    } catch {
      // not up yet
    }
    await sleep(50)
  }
  child?.kill('SIGKILL')
  throw new Error(`etcd did not serve on ${endpoint} within 20 s; its log:\n${tail(logPath)}`)
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n')
  } catch {
    return '(no log)'
  }
}

/** A TCP port nobody listens on right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}
