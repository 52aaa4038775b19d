// The apiserver benchmark: a trivial Node HTTPS server answering a fixed JSON body, the very bytes
// the apiserver answers to the GET measured (the floor on this machine), and k8ts' apiserver:
// GET, LIST, CREATE, UPDATE and PATCH at 1, 10 and 100 concurrent clients, LIST of 1,000 and
// 10,000 pods, and watch delivery with 1,000 watchers. The floor's GETs are measured next to the
// apiserver's, in turn (three pairs at c=100, whose median ratio is get_throughput_ratio).
//
// Each server runs in a child process of its own; the load comes from this process (undici
// connection pools over keep-alive HTTPS, client certificates as kubectl would use them).
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import type { OnReadOpts } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import { Pool } from 'undici'
import { gunzipSync } from 'node:zlib'
import { readKubeconfigCredentials } from '../src/pki/index.ts'
import { newReport, progress, quantile, result, type Result } from './report.ts'

interface Sizes {
  seconds: number
  listPods: number[]
  watchers: number
  watchEvents: number
}

const full: Sizes = { seconds: 5, listPods: [1000, 10_000], watchers: 1000, watchEvents: 100 }
const quick: Sizes = { seconds: 1, listPods: [1000, 10_000], watchers: 1000, watchEvents: 20 }
const concurrencies = [1, 10, 100]

interface Target {
  url: string
  tls: { ca: string; cert: string; key: string }
  /** A bearer token of a system:masters user (wrk cannot present client certificates). */
  token: string
}

export async function main(args: string[]): Promise<void> {
  if (args.includes('--trivial-server')) {
    const at = args.indexOf('--trivial-server')
    return trivialServer(args[at + 1] ?? '', args[at + 2] ?? '')
  }
  if (args.includes('--watch-client')) return watchClient()
  const sizes = args.includes('--quick') ? quick : full
  // The apiserver's own default unless --workers says otherwise.
  const workers = args.includes('--workers') ? ['--workers', args[args.indexOf('--workers') + 1] ?? ''] : []
  const report = newReport('apiserver')
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-apiserver-'))
  try {
    progress('apiserver: starting')
    const dataDir = join(dir, 'k8ts')
    const bin = join(import.meta.dirname, '../bin/k8ts.js')
    mkdirSync(dataDir, { recursive: true })
    const token = randomBytes(16).toString('hex')
    writeFileSync(join(dir, 'tokens.csv'), `${token},bench,bench,"system:masters"\n`)
    const api = await startChild(
      process.execPath,
      [
        // BENCH_CPU_PROF=dir: the apiserver writes a CPU profile there when it stops.
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
        bin,
        'apiserver',
        '--data-dir',
        dataDir,
        '--secure-port',
        '0',
        '--token-auth-file',
        join(dir, 'tokens.csv'),
        ...workers,
      ],
      /serving at (\S+)/,
    )
    try {
      const target = {
        url: api.match,
        tls: readKubeconfigCredentials(join(dataDir, 'admin.kubeconfig')),
        token,
      }
      // The floor answers the very bytes the apiserver answers to the GET measured below, so that
      // both send the same: the ratio is then what the apiserver adds to serving them.
      const bodyFile = join(dir, 'pod.json')
      writeFileSync(bodyFile, await preparePod(target))
      const trivial = await startTrivial(join(dir, 'trivial'), bodyFile)
      try {
        const settle = () => quiet(api.child.pid)
        report.results.push(...(await measureApiServer(target, sizes, trivial, settle)))
      } finally {
        await trivial.stop()
      }
    } finally {
      api.child.kill('SIGTERM')
      await new Promise((r) => api.child.once('exit', r))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n')
}

/** The trivial server, running beside the apiserver, warmed up (JIT, TLS session state). */
interface Trivial {
  /** GET of the same path as the apiserver's, on a quiet server. */
  get(c: number, seconds: number): Promise<LoadResult>
  stop(): Promise<void>
}

async function startTrivial(dir: string, bodyFile: string): Promise<Trivial> {
  progress('trivial-https: starting')
  const trivial = await startChild(
    process.execPath,
    [join(import.meta.dirname, 'run.ts'), 'apiserver', '--trivial-server', dir, bodyFile],
    /listening (\S+)/,
  )
  const target = { url: trivial.match, tls: tlsOf(dir), token: 'none' }
  const stop = async () => {
    trivial.child.kill('SIGTERM')
    await new Promise((r) => trivial.child.once('exit', r))
  }
  try {
    await load(target, 100, 2, () => ({ method: 'GET', path: `${podsPath}/p` }))
  } catch (err) {
    await stop()
    throw err
  }
  return {
    async get(c, seconds) {
      // As for the apiserver: each measurement starts on a quiet server.
      await quiet(trivial.child.pid)
      return load(target, c, seconds, () => ({ method: 'GET', path: `${podsPath}/p` }))
    },
    stop,
  }
}

const podsPath = '/api/v1/namespaces/default/pods'

/**
 * What the apiserver needs before it is measured: the default ServiceAccount, and pod p, whose
 * JSON (as a GET answers it) it returns.
 */
async function preparePod(t: Target): Promise<Buffer> {
  const client = pool(t, 1)
  try {
    const call = bytesCaller(client)
    await defaultAccount(call, 'default')
    await call('POST', podsPath, pod('p'))
    return await call('GET', `${podsPath}/p`)
  } finally {
    await client.close()
  }
}

/**
 * The apiserver runs alone: the default ServiceAccount that pods need is made here, as the
 * controller-manager would.
 */
function defaultAccount(
  call: (method: string, path: string, body?: unknown) => Promise<unknown>,
  namespace: string,
): Promise<unknown> {
  return call('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'default' },
  })
}

async function measureApiServer(
  t: Target,
  sizes: Sizes,
  trivial: Trivial,
  settle: () => Promise<void>,
): Promise<Result[]> {
  const out: Result[] = []
  const ns = podsPath
  const client = pool(t, 100)
  const call = caller(client)
  // Warm up every code path once before anything counts.
  await load(t, 100, 2, () => ({ method: 'GET', path: `${ns}/p` }))
  await load(t, 100, 2, () => ({ method: 'POST', path: ns, body: JSON.stringify(pod('warm-__NAME__')) }))

  // Each phase starts on a quiet server: the collector's and the store checkpoint's work left by
  // the phase before (thousands of writes) is not what the next verb costs.
  for (const c of concurrencies) {
    out.push(...(await getBesideTrivial(t, trivial, c, c === 100 ? 3 : 1, sizes.seconds, settle)))
    await settle()
    const create = await load(t, c, sizes.seconds, () => ({
      method: 'POST',
      path: ns,
      body: JSON.stringify(pod(`c${c}-__NAME__`)),
    }))
    progress(`apiserver: CREATE c=${c}: ${describe(create)}`)
    out.push(...figures('apiserver', 'create', c, create))

    // Updates and patches go to c different objects, so optimistic concurrency does not collide.
    // A PUT carries the whole pod as created, with what admission added to its spec (the service
    // account's token volume), since a pod's spec cannot change.
    const specs = new Map<string, unknown>()
    for (let i = 0; i < c; i++) {
      const created = (await call('POST', ns, pod(`u${c}-${i}`))) as unknown as { spec: unknown }
      specs.set(`u${c}-${i}`, created.spec)
    }
    let n = 0
    await settle()
    const update = await load(t, c, sizes.seconds, () => {
      const name = `u${c}-${n++ % c}`
      const body: Record<string, unknown> = { ...pod(name), spec: specs.get(name) }
      ;(body.metadata as Record<string, unknown>).labels = { app: 'bench', round: String(n) }
      return { method: 'PUT', path: `${ns}/${name}`, body: JSON.stringify(body) }
    })
    progress(`apiserver: UPDATE c=${c}: ${describe(update)}`)
    out.push(...figures('apiserver', 'update', c, update))
    await settle()
    const patch = await load(t, c, sizes.seconds, () => ({
      method: 'PATCH',
      path: `${ns}/u${c}-${n++ % c}`,
      body: JSON.stringify({ metadata: { annotations: { round: String(n) } } }),
      contentType: 'application/strategic-merge-patch+json',
    }))
    progress(`apiserver: PATCH c=${c}: ${describe(patch)}`)
    out.push(...figures('apiserver', 'patch', c, patch))
  }

  for (const count of sizes.listPods) {
    const nsPath = `/api/v1/namespaces/list-${count}/pods`
    await call('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: `list-${count}` },
    })
    await defaultAccount(call, `list-${count}`)
    progress(`apiserver: creating ${count} pods to list`)
    let made = 0
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (made < count) {
          const i = made++
          await call('POST', nsPath, pod(`l${i}`))
        }
      }),
    )
    // Measured on a quiet server: the burst of creates just before leaves the collector and the
    // store's checkpoint busy for a moment, which is not what a LIST costs.
    await settle()
    const times: number[] = []
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now()
      // As kubectl asks (Go's transport adds Accept-Encoding: gzip), and unzipped within the time.
      const res = await client.request({
        method: 'GET',
        path: nsPath,
        headers: { accept: 'application/json', 'accept-encoding': 'gzip' },
      })
      const raw = Buffer.from(await res.body.arrayBuffer())
      const body = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString()
      times.push(performance.now() - t0)
      const items = (JSON.parse(body) as { items: unknown[] }).items.length
      if (items !== count) throw new Error(`LIST returned ${items} pods, not ${count}`)
    }
    progress(`apiserver: LIST ${count} pods: ${quantile(times, 0.5).toFixed(1)} ms`)
    out.push(
      result(
        'apiserver',
        count === 1000 ? 'list_1k_pods_ms' : count === 10_000 ? 'list_10k_pods_ms' : `list_${count}_pods_ms`,
        quantile(times, 0.5),
      ),
    )
  }

  await settle()
  progress(`apiserver: watch delivery with ${sizes.watchers} watchers`)
  const watch = await watchInChild(t, sizes)
  out.push(result('apiserver', 'watch_latency_p50_ms', watch.p50))
  out.push(result('apiserver', 'watch_latency_p99_ms', watch.p99))
  await client.close()
  return out
}

/**
 * GET at c on the trivial server and on the apiserver in turn, `pairs` times each. How fast this
 * machine serves varies by up to twice from one few-second stretch to the next (the same server
 * under the same load), so measuring the floor once, half a minute before the apiserver, made the
 * ratio anything from 0.35 to 1.25: each pair here is measured side by side. Each server's
 * figures are those of its median run by rate; at c=100, get_throughput_ratio is the median of
 * the pairs' ratios.
 */
async function getBesideTrivial(
  t: Target,
  trivial: Trivial,
  c: number,
  pairs: number,
  seconds: number,
  settle: () => Promise<void>,
): Promise<Result[]> {
  const floors: LoadResult[] = []
  const gets: LoadResult[] = []
  const ratios: number[] = []
  for (let i = 0; i < pairs; i++) {
    const floor = await trivial.get(c, seconds)
    await settle()
    const get = await load(t, c, seconds, () => ({ method: 'GET', path: `${podsPath}/p` }))
    floors.push(floor)
    gets.push(get)
    ratios.push(floor.perSecond > 0 ? get.perSecond / floor.perSecond : 0)
    progress(
      `GET c=${c}, pair ${i + 1}: trivial-https ${describe(floor)}; apiserver ${describe(get)}; ratio ${ratios.at(-1)?.toFixed(3)}`,
    )
  }
  const median = (runs: LoadResult[]) =>
    [...runs].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(runs.length / 2)] as LoadResult
  return [
    ...figures('trivial-https', 'get', c, median(floors)),
    ...figures('apiserver', 'get', c, median(gets)),
    ...(c === 100 ? [result('apiserver', 'get_throughput_ratio', quantile(ratios, 0.5))] : []),
  ]
}

type Call = (
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
) => Promise<{ metadata: { resourceVersion: string } }>

/** Requests on the pool, answered with the body's bytes; an error status throws. */
function bytesCaller(
  client: Pool,
): (method: string, path: string, body?: unknown, contentType?: string) => Promise<Buffer> {
  return async (method, path, body, contentType = 'application/json') => {
    const res = await client.request({
      method,
      path,
      headers: { 'content-type': contentType, accept: 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const bytes = Buffer.from(await res.body.arrayBuffer())
    if (res.statusCode >= 300)
      throw new Error(`${method} ${path}: ${res.statusCode} ${bytes.toString().slice(0, 300)}`)
    return bytes
  }
}

/** Requests on the pool whose answers are JSON objects; an error status throws. */
function caller(client: Pool): Call {
  const call = bytesCaller(client)
  return async (method, path, body, contentType) =>
    JSON.parse((await call(method, path, body, contentType)).toString()) as {
      metadata: { resourceVersion: string }
    }
}

interface WatchLatency {
  p50: number
  p99: number
}

/**
 * The watch phase runs in a process of its own (this script with --watch-client), on a fresh
 * heap: by now this process holds what the earlier phases left (nine LISTs of 10,000 pods
 * decoded), and a major collection of that heap while the thousand watchers read would be a
 * pause of the client's, counted as the server's latency. Its collector runs on its one thread:
 * the server under test and the watchers already keep both cores of these machines busy, and
 * the helper threads of a parallel collection wait for a core while the watchers stand still.
 */
async function watchInChild(t: Target, sizes: Sizes): Promise<WatchLatency> {
  const out = await run(
    process.execPath,
    ['--single-threaded-gc', join(import.meta.dirname, 'run.ts'), 'apiserver', '--watch-client'],
    { K8TS_BENCH_WATCH: JSON.stringify({ target: t, sizes }) },
  )
  const line = /^watch (\{.*\})$/m.exec(out)?.[1]
  if (!line) throw new Error(`the watch client answered no figures: ${out.slice(-500)}`)
  return JSON.parse(line) as WatchLatency
}

/** The watch client's process: measures, prints `watch {"p50":…,"p99":…}` and ends. */
async function watchClient(): Promise<void> {
  const { target, sizes } = JSON.parse(process.env.K8TS_BENCH_WATCH ?? '') as { target: Target; sizes: Sizes }
  const client = pool(target, 1)
  try {
    const figures = await watchLatency(target, sizes, caller(client))
    process.stdout.write(`watch ${JSON.stringify(figures)}\n`)
  } finally {
    await client.close()
  }
}

/**
 * Each watcher's delay from issuing a create to receiving its ADDED event. The watchers are raw
 * TLS connections that only look for the marker of each pod's name in the bytes as they arrive:
 * a full HTTP client decoding a thousand streams would spend more CPU than the server sending
 * them, and measure itself. They read into one shared buffer (`onread`), not a new one per read
 * handed through a stream, for the same reason.
 */
async function watchLatency(t: Target, sizes: Sizes, call: Call): Promise<WatchLatency> {
  await call('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'watch' },
  })
  await call('POST', '/api/v1/namespaces/watch/serviceaccounts', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'default' },
  })
  const path = '/api/v1/namespaces/watch/pods'
  const rv = (await call('GET', path)).metadata.resourceVersion
  const issuedAt: number[] = []
  const samples: number[] = []
  let received = 0
  const url = new URL(t.url)
  const marker = Buffer.from('"name":"wpod-')
  const readBuffer = Buffer.alloc(64 * 1024)
  const sockets = await Promise.all(
    Array.from({ length: sizes.watchers }, async () => {
      let tail: Buffer = Buffer.alloc(0)
      const read = (chunk: Buffer) => {
        const now = performance.now()
        const buf = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk
        let at = buf.indexOf(marker)
        let done = 0
        while (at >= 0) {
          const start = at + marker.length
          let end = start
          while (end < buf.length && buf[end] !== 0x22) end++
          if (end >= buf.length) break // the name goes on in the next chunk
          const t0 = issuedAt[Number(buf.subarray(start, end).toString())]
          if (t0 !== undefined) samples.push(now - t0)
          received++
          done = end
          at = buf.indexOf(marker, end)
        }
        // Keep (a copy: the buffer is read into again) what may hold the start of a marker that
        // is not complete yet.
        tail = Buffer.from(buf.subarray(at >= 0 ? at : Math.max(done, buf.length - marker.length)))
      }
      // Node's TLS sockets take `onread` as its plain sockets do (documented); the types omit it.
      const options: ConnectionOptions & { onread: OnReadOpts } = {
        host: url.hostname,
        port: Number(url.port),
        ...t.tls,
        servername: 'localhost',
        onread: {
          buffer: readBuffer,
          callback: (n: number, buf: Uint8Array) => {
            read((buf as Buffer).subarray(0, n))
            return true
          },
        },
      }
      const socket = tlsConnect(options)
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', () => resolve())
        socket.once('error', reject)
      })
      socket.write(
        `GET ${path}?watch=true&resourceVersion=${rv} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n`,
      )
      socket.on('error', () => undefined)
      return socket
    }),
  )
  await sleep(300)
  // Warm up as every other phase does: the first events a thousand watchers are sent run code the
  // earlier phases never ran (on both sides), and would be what the p99 measures. Their names lack
  // the marker, so the watchers do not count them.
  for (let i = 0; i < 20; i++) {
    await call('POST', path, pod(`warm-${i}`))
    await sleep(20)
  }
  await sleep(200)
  for (let i = 0; i < sizes.watchEvents; i++) {
    issuedAt[i] = performance.now()
    await call('POST', path, pod(`wpod-${i}`))
    await sleep(20)
  }
  const deadline = Date.now() + 60_000
  while (received < sizes.watchers * sizes.watchEvents && Date.now() < deadline) await sleep(20)
  for (const s of sockets) s.destroy()
  if (received < sizes.watchers * sizes.watchEvents) {
    throw new Error(`watchers received ${received} of ${sizes.watchers * sizes.watchEvents} events`)
  }
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) }
}

interface LoadResult {
  perSecond: number
  /** Each request's own latency, from its first byte sent to its last byte received. */
  p50: number
  p99: number
  /** wrk's own p99, corrected for coordinated omission (see load()). */
  p99Corrected: number
}

/**
 * `c` clients in a closed loop for `seconds`, each sending its next request when the last one
 * returns: wrk (C, one thread) does the sending, so that the load generator costs far less CPU
 * than the server it measures on these 2-core machines. Requests come from a Lua function that
 * makes each one (unique names for creates).
 *
 * wrk's own percentiles are corrected for coordinated omission: each sample longer than the mean
 * interval adds synthetic samples for the requests a fixed-rate client would have queued behind
 * it, so one 30 ms pause at c=1 weighs as hundreds of requests. The issue's targets were set with
 * a Node client that times each request, so the script times each request too: every request
 * carries an Audit-ID, which both servers echo (as kube-apiserver does), and the response with
 * that ID closes its sample. wrk's corrected p99 is reported beside it.
 */
async function load(t: Target, c: number, seconds: number, next: () => Req): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-wrk-'))
  try {
    // A pool of prepared requests the Lua script cycles through (wrk has no way to call back here).
    const requests = Array.from({ length: Math.max(200, c * 4) }, next)
    // Bodies holding __NAME__ get a name of their own on every request (creates); the others are
    // formatted once. Every request gets its Audit-ID in place of the AUDITID placeholder.
    const lua = [
      `local prefix = "r${Math.floor(Math.random() * 1e6)}-"`,
      'local ffi = require("ffi")',
      'ffi.cdef[[ typedef struct { long sec; long nsec; } k8ts_timespec; int clock_gettime(int, k8ts_timespec *); ]]',
      'local ts = ffi.new("k8ts_timespec")',
      // CLOCK_MONOTONIC, in microseconds.
      'local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.sec) * 1e6 + tonumber(ts.nsec) / 1e3 end',
      // wrk.headers carries Host; a custom header table would leave it out.
      'wrk.headers["Accept"] = "application/json"',
      `wrk.headers["Content-Type"] = ${luaString(requests[0]?.contentType ?? 'application/json')}`,
      `wrk.headers["Authorization"] = ${luaString(`Bearer ${t.token}`)}`,
      'wrk.headers["Audit-ID"] = "AUDITID"',
      // Requests are formatted in init(): only then does wrk know the Host header.
      'local reqs = {}',
      'init = function(args)',
      ...requests.map((r, i) => {
        const body = r.body === undefined ? 'nil' : luaString(r.body)
        return r.body?.includes('__NAME__')
          ? `reqs[${i + 1}] = { method = ${luaString(r.method)}, path = ${luaString(r.path)}, body = ${body} }`
          : `reqs[${i + 1}] = wrk.format(${luaString(r.method)}, ${luaString(r.path)}, nil, ${body})`
      }),
      'end',
      'local n = 0',
      'local sent = {}',
      // Global: done() runs in wrk's main Lua state and reads it from the thread's with get().
      'took = {}',
      'local threads = {}',
      'setup = function(thread) threads[#threads + 1] = thread end',
      'request = function()',
      '  n = n + 1',
      `  local r = reqs[((n - 1) % ${requests.length}) + 1]`,
      '  if type(r) ~= "string" then',
      '    r = wrk.format(r.method, r.path, nil, (string.gsub(r.body, "__NAME__", prefix .. n)))',
      '  end',
      '  local id = prefix .. n',
      '  sent[id] = now()',
      '  return (string.gsub(r, "AUDITID", id, 1))',
      'end',
      'response = function(status, headers, body)',
      '  local id = headers["Audit-Id"] or headers["audit-id"]',
      '  local t0 = id and sent[id]',
      '  if t0 then took[#took + 1] = now() - t0; sent[id] = nil end',
      'end',
      'done = function(summary, latency, requests)',
      '  local took = threads[1]:get("took")',
      '  table.sort(took)',
      '  local function q(p) if #took == 0 then return 0 end return took[math.max(1, math.ceil(p * #took))] end',
      '  io.write(string.format("K8TS %d %d %f %f %f %d %d\\n", summary.requests, summary.duration, q(0.5), q(0.99), latency:percentile(99), summary.errors.status, #took))',
      'end',
    ].join('\n')
    const script = join(dir, 'load.lua')
    writeFileSync(script, lua)
    const out = await run('wrk', ['-t1', `-c${c}`, `-d${seconds}s`, '-s', script, t.url])
    const m = /K8TS (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)/.exec(out)
    if (!m) throw new Error(`wrk gave no summary: ${out}`)
    const [total = 0, micros = 1, p50 = 0, p99 = 0, corrected = 0, bad = 0, timed = 0] = m
      .slice(1)
      .map(Number)
    const sample = requests[0] ?? { method: '', path: '' }
    if (bad > 0) throw new Error(`${bad} of ${total} ${sample.method} ${sample.path} requests failed`)
    // Every answer must carry its request's Audit-ID, or the samples would be a biased subset.
    if (timed < total)
      throw new Error(`only ${timed} of ${total} ${sample.method} answers echoed their Audit-ID`)
    return {
      perSecond: total / (micros / 1e6),
      p50: p50 / 1000,
      p99: p99 / 1000,
      p99Corrected: corrected / 1000,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

interface Req {
  method: string
  path: string
  body?: string
  contentType?: string
}

function luaString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

function run(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.once('error', (err) =>
      reject(new Error(`${cmd} could not run (${err.message}); scripts/setup.sh installs it`)),
    )
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}: ${out}`)),
    )
  })
}

function describe(r: LoadResult): string {
  return `${r.perSecond.toFixed(0)}/s p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms (wrk, corrected: ${r.p99Corrected.toFixed(1)} ms)`
}

function figures(subject: string, verb: string, c: number, r: LoadResult): Result[] {
  const out = [
    result(subject, `${verb}_per_s_c${c}`, r.perSecond),
    result(subject, `${verb}_p50_ms_c${c}`, r.p50),
    result(subject, `${verb}_p99_ms_c${c}`, r.p99),
    result(subject, `${verb}_p99_corrected_ms_c${c}`, r.p99Corrected),
  ]
  return out
}

function pool(t: Target, connections: number): Pool {
  return new Pool(t.url, {
    connections,
    pipelining: 1,
    connect: { ...t.tls, rejectUnauthorized: true, servername: 'localhost' },
  })
}

function pod(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { app: 'bench', tier: 'web' },
      annotations: { 'bench.k8ts.io/note': 'a pod of typical size' },
    },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'registry.k8s.io/nginx:1.27',
          ports: [{ containerPort: 80, name: 'http' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
          env: [
            { name: 'MODE', value: 'production' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          readinessProbe: { httpGet: { path: '/healthz', port: 80 }, periodSeconds: 5 },
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      // What DefaultTolerationSeconds gives every pod: with them in the body, an update (PUT of the
      // whole pod) does not read as removing them, which Kubernetes forbids.
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
    },
  }
}

/** The CA and client certificate the trivial server made in its directory. */
function tlsOf(d: string): Target['tls'] {
  return {
    ca: readFileSync(join(d, 'pki/ca.crt'), 'utf8'),
    cert: readFileSync(join(d, 'pki/admin.crt'), 'utf8'),
    key: readFileSync(join(d, 'pki/admin.key'), 'utf8'),
  }
}

/** The floor: a Node HTTPS server that answers every request with the same JSON (the file's bytes). */
async function trivialServer(dir: string, bodyFile: string): Promise<void> {
  const { ensureClusterPki } = await import('../src/pki/index.ts')
  const pki = await ensureClusterPki(dir, { hosts: [] })
  await pki.clientCertificate('admin', { commonName: 'bench' })
  const body = readFileSync(bodyFile)
  const server = createServer(
    {
      cert: pki.serving.certPem,
      key: pki.serving.keyPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      req.resume()
      const auditId = req.headers['audit-id']
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': body.length,
        ...(typeof auditId === 'string' ? { 'Audit-Id': auditId } : {}),
      })
      res.end(body)
    },
  )
  server.keepAliveTimeout = 120_000
  server.listen(0, '127.0.0.1', () => {
    const a = server.address()
    process.stdout.write(`listening https://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}\n`)
  })
  process.once('SIGTERM', () => process.exit(0))
}

/**
 * Waits until the process has been quiet (at most a tenth of a core over 200 ms), for at most 5 s.
 * Its CPU time is read from /proc; where there is none, it waits a second.
 */
async function quiet(pid: number | undefined): Promise<void> {
  const ticks = (): number | undefined => {
    try {
      // utime and stime, fields 14 and 15 (after the command name, which may hold spaces).
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
      return Number(fields[11]) + Number(fields[12])
    } catch {
      return undefined
    }
  }
  const deadline = Date.now() + 5000
  let before = ticks()
  if (pid === undefined || before === undefined) return sleep(1000)
  while (Date.now() < deadline) {
    await sleep(200)
    const now: number = ticks() ?? before
    // Clock ticks are hundredths of a second on Linux: 2 in 200 ms is a tenth of a core.
    if (now - before <= 2) return
    before = now
  }
}

async function startChild(
  cmd: string,
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = ready.exec(out)
      if (m?.[1]) resolve({ child, match: m[1] })
    })
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)))
  })
}
