// The store benchmark: the SQLite backend, the etcd backend, and a plain etcd client talking
// straight to etcd (the floor for the etcd backend), measured in one run on one machine.
//
// Each subject runs in a child process of its own (so memory and garbage collection do not leak
// between them) against a fresh store: a SQLite file in a temporary directory, or a fresh etcd
// (Debian's etcd-server) on loopback. The parent gathers the figures and prints the JSON.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Storage } from '../src/storage/index.ts'
import { revision } from '../src/storage/index.ts'
import { EtcdClient } from '../src/storage/etcd/client.ts'
import { EtcdStorage } from '../src/storage/etcd/etcd.ts'
import { findEtcd, startEtcd } from '../src/storage/etcd/etcd-server.ts'
import { int64, rpc, type WatchResponse } from '../src/storage/etcd/rpc.ts'
import { SqliteStorage } from '../src/storage/sqlite/sqlite.ts'
import { newReport, progress, quantile, result, type Result } from './report.ts'

const subjects = ['sqlite', 'etcd', 'etcd-direct'] as const
type Subject = (typeof subjects)[number]

interface Sizes {
  sequentialCreates: number
  concurrentCreates: number
  inFlight: number
  rangeKeys: number
  watchers: number
  watchWrites: number
  historyKeys: number
  historyUpdatesPerKey: number
}

const full: Sizes = {
  sequentialCreates: 2000,
  concurrentCreates: 30_000,
  inFlight: 100,
  rangeKeys: 10_000,
  watchers: 1000,
  watchWrites: 200,
  historyKeys: 1000,
  historyUpdatesPerKey: 100,
}
const quick: Sizes = {
  sequentialCreates: 300,
  concurrentCreates: 3000,
  inFlight: 100,
  rangeKeys: 10_000,
  watchers: 1000,
  watchWrites: 30,
  historyKeys: 200,
  historyUpdatesPerKey: 20,
}

/** What a subject must offer the measurements: the operations, nothing of their semantics. */
interface Driver {
  create(key: string, value: Uint8Array): Promise<void>
  /** Writes a key whether or not it exists (history building). */
  put(key: string, value: Uint8Array): Promise<void>
  count(prefix: string): Promise<number>
  /** Starts `n` watchers on a prefix; resolves once all are established. */
  watch(prefix: string, n: number, onEvent: (key: string) => void): Promise<() => void>
  compactToCurrent(): Promise<void>
  close(): Promise<void>
}

export async function main(args: string[]): Promise<void> {
  const sizes = args.includes('--quick') ? quick : full
  const subjectArg = args[args.indexOf('--subject') + 1]
  if (args.includes('--subject')) {
    const results = await runSubject(subjectArg as Subject, sizes, args[args.indexOf('--target') + 1] ?? '')
    process.stdout.write(JSON.stringify(results))
    return
  }
  const etcdBinary = findEtcd()
  if (!etcdBinary) throw new Error('etcd is not installed (Debian package etcd-server; run scripts/setup.sh)')
  const report = newReport('store')
  for (const subject of subjects) {
    const dir = mkdtempSync(join(tmpdir(), `k8ts-bench-store-${subject}-`))
    const etcd = subject === 'sqlite' ? undefined : await startEtcd({ dataDir: dir })
    try {
      progress(`${subject}: running`)
      const target = etcd ? etcd.endpoint : join(dir, 'state.db')
      const { results, rss } = await runChild(subject, args, target)
      const serverRss = etcd ? residentBytes(etcd.pid) : 0
      report.results.push(...results, result(subject, 'rss_bytes', rss + serverRss))
    } finally {
      await etcd?.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n')
}

function runChild(
  subject: Subject,
  args: string[],
  target: string,
): Promise<{ results: Result[]; rss: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, 'run.ts'), 'store', ...args, '--subject', subject, '--target', target],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')))
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${subject}: the benchmark child exited with ${code}`))
      const results = JSON.parse(out) as Result[]
      const rss = results.find((r) => r.metric === 'rss_bytes')?.value ?? 0
      resolve({ results: results.filter((r) => r.metric !== 'rss_bytes'), rss })
    })
  })
}

async function runSubject(subject: Subject, sizes: Sizes, target: string): Promise<Result[]> {
  const driver = await openDriver(subject, target)
  const out: Result[] = []
  const value = payload(1024)

  progress(`${subject}: ${sizes.sequentialCreates} sequential creates`)
  const seq: number[] = []
  for (let i = 0; i < sizes.sequentialCreates; i++) {
    const t0 = performance.now()
    await driver.create(`/bench/seq/${i}`, value)
    seq.push(performance.now() - t0)
  }
  out.push(result(subject, 'create_latency_p50_ms', quantile(seq, 0.5)))
  out.push(result(subject, 'create_latency_p99_ms', quantile(seq, 0.99)))

  progress(`${subject}: ${sizes.concurrentCreates} creates, ${sizes.inFlight} in flight`)
  const started = performance.now()
  await inParallel(sizes.concurrentCreates, sizes.inFlight, (i) => driver.create(`/bench/conc/${i}`, value))
  out.push(result(subject, 'creates_per_s', sizes.concurrentCreates / ((performance.now() - started) / 1000)))

  progress(`${subject}: range of ${sizes.rangeKeys} keys`)
  await inParallel(sizes.rangeKeys, sizes.inFlight, (i) =>
    driver.create(`/bench/range/${String(i).padStart(6, '0')}`, value),
  )
  const ranges: number[] = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    const n = await driver.count('/bench/range/')
    ranges.push(performance.now() - t0)
    if (n !== sizes.rangeKeys) throw new Error(`${subject}: the range held ${n} keys, not ${sizes.rangeKeys}`)
  }
  out.push(result(subject, 'range_10k_ms', quantile(ranges, 0.5)))

  progress(`${subject}: watch delivery with ${sizes.watchers} watchers`)
  const { p50, p99 } = await watchLatency(driver, sizes)
  out.push(result(subject, 'watch_latency_p50_ms', p50))
  out.push(result(subject, 'watch_latency_p99_ms', p99))

  progress(
    `${subject}: write stall during compaction of ${sizes.historyKeys * sizes.historyUpdatesPerKey} revisions`,
  )
  out.push(result(subject, 'compaction_stall_max_ms', await compactionStall(driver, sizes, value)))

  await driver.close()
  out.push(result(subject, 'rss_bytes', process.memoryUsage().rss))
  return out
}

/** Each watcher's delay from the moment a write is issued to the moment the watcher has the event. */
async function watchLatency(driver: Driver, sizes: Sizes): Promise<{ p50: number; p99: number }> {
  const issuedAt = new Map<string, number>()
  const samples: number[] = []
  let expected = 0
  const stop = await driver.watch('/bench/watch/', sizes.watchers, (key) => {
    const t0 = issuedAt.get(key)
    if (t0 !== undefined) samples.push(performance.now() - t0)
    expected--
  })
  // Warm-up: one write every watcher must see before measuring.
  expected = sizes.watchers
  await driver.create('/bench/watch/warmup', payload(16))
  await until(() => expected <= 0, 30_000, 'the watchers did not all see the warm-up write')
  expected = sizes.watchers * sizes.watchWrites
  const value = payload(1024)
  for (let i = 0; i < sizes.watchWrites; i++) {
    const key = `/bench/watch/${i}`
    issuedAt.set(key, performance.now())
    await driver.create(key, value)
    await sleep(10)
  }
  await until(() => expected <= 0, 60_000, 'the watchers did not receive every write')
  stop()
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) }
}

/** The longest single write while the store compacts a long history. */
async function compactionStall(driver: Driver, sizes: Sizes, value: Uint8Array): Promise<number> {
  await inParallel(sizes.historyKeys * sizes.historyUpdatesPerKey, 100, (i) =>
    driver.put(`/bench/history/${i % sizes.historyKeys}`, value),
  )
  let compacting = true
  let worst = 0
  let n = 0
  const writer = (async () => {
    while (compacting) {
      const t0 = performance.now()
      await driver.create(`/bench/during-compaction/${n++}`, value)
      worst = Math.max(worst, performance.now() - t0)
    }
  })()
  await driver.compactToCurrent()
  compacting = false
  await writer
  progress(`  ${n} writes went through during compaction`)
  return worst
}

async function openDriver(subject: Subject, target: string): Promise<Driver> {
  switch (subject) {
    case 'sqlite':
      return storageDriver(SqliteStorage.open({ path: target }))
    case 'etcd':
      return storageDriver(await EtcdStorage.open({ endpoints: [target] }))
    case 'etcd-direct':
      return directDriver(await EtcdClient.connect({ endpoints: [target] }))
  }
}

function storageDriver(s: Storage): Driver {
  return {
    create: async (key, value) => void (await s.create(key, value)),
    put: async (key, value) => {
      const cur = await s.get(key)
      if (cur) await s.update(key, value, cur.modRevision)
      else await s.create(key, value)
    },
    count: async (prefix) => (await s.list(prefix)).items.length,
    watch: async (prefix, n, onEvent) => {
      const ac = new AbortController()
      const after = await s.currentRevision()
      for (let i = 0; i < n; i++) {
        void (async () => {
          for await (const e of s.watch(prefix, { after, signal: ac.signal })) {
            if (e.type === 'put') onEvent(e.kv.key)
          }
        })()
      }
      return () => ac.abort()
    },
    compactToCurrent: async () => s.compact(await s.currentRevision()),
    close: () => s.close(),
  }
}

/** A plain etcd client: bare Put, Range and Watch calls, none of the store's semantics. */
function directDriver(c: EtcdClient): Driver {
  const bytes = (s: string) => Buffer.from(s)
  const end = (prefix: string) => {
    const b = Buffer.from(prefix)
    b[b.length - 1] = (b[b.length - 1] ?? 0) + 1
    return b
  }
  return {
    create: async (key, value) => void (await c.write(rpc.put, { key: bytes(key), value })),
    put: async (key, value) => void (await c.write(rpc.put, { key: bytes(key), value })),
    count: async (prefix) =>
      (await c.read(rpc.range, { key: bytes(prefix), rangeEnd: end(prefix) })).kvs.length,
    watch: async (prefix, n, onEvent) => {
      // As etcd's own client does, all watchers share one gRPC stream.
      const stream = c.watchStream()
      let created = 0
      stream.on('data', (res: WatchResponse) => {
        if (res.created) created++
        for (const e of res.events) if (e.type === 0 && e.kv) onEvent(Buffer.from(e.kv.key).toString())
      })
      stream.on('error', () => undefined)
      for (let i = 0; i < n; i++)
        stream.write({ createRequest: { key: bytes(prefix), rangeEnd: end(prefix) } })
      await until(() => created === n, 30_000, 'the watches were not all created')
      return () => stream.cancel()
    },
    compactToCurrent: async () => {
      const rev = int64((await c.read(rpc.range, { key: bytes('/'), countOnly: true })).header.revision)
      await c.write(rpc.compact, { revision: revision(rev), physical: true })
    },
    close: async () => c.close(),
  }
}

async function inParallel(total: number, width: number, op: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(width, total) }, async () => {
      while (next < total) await op(next++)
    }),
  )
}

async function until(done: () => boolean, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(message)
    await sleep(5)
  }
}

function payload(size: number): Uint8Array {
  return Buffer.from('x'.repeat(size))
}

function residentBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : 0
}
