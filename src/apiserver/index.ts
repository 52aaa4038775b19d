import { mkdirSync, readFileSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client'
import { realClock, type Clock } from '../base/clock.ts'
import { createLogger } from '../base/log.ts'
import {
  defaultServiceAccountIssuer,
  ensureClusterPki,
  ensureServiceAccountKey,
  writeKubeconfig,
  type Subject,
} from '../pki/index.ts'
import { openStorage, parseDatastore, startCompactor, type Storage } from '../storage/index.ts'
import { serveStorage } from '../storage/remote.ts'
import { validateOidcSettings, type OidcSettings } from './authn/oidc.ts'
import { startFrontend, type Frontend, type FrontendOptions } from './frontend.ts'
import type { InProcessListenerMessage } from '../base/in-process.ts'
import { nthAddress } from './registry/allocator.ts'
import type { FromWorker, ToWorker, WorkerOptions } from './worker.ts'

export interface ApiServerOptions {
  /** Certificates, the components' kubeconfigs and (by default) the SQLite store live here. */
  dataDir: string
  /** `sqlite://...` or `etcd://...` (default sqlite://state.db in the data directory). */
  datastore?: string
  /** An open store to use instead of `datastore` (tests); the apiserver does not close it. */
  storage?: Storage
  /** Address to listen on (default 127.0.0.1). */
  bindAddress?: string
  /** Port to listen on (default 6443; 0 picks a free one). */
  securePort?: number
  /** The address clients and the `kubernetes` Service reach this apiserver at (default: the bind address, or 127.0.0.1). */
  advertiseAddress?: string
  /** Static bearer tokens (kube-apiserver's --token-auth-file format). */
  tokenAuthFile?: string
  /**
   * --anonymous-auth (default true): a request without credentials is system:anonymous, which RBAC
   * lets read /healthz, /livez, /readyz and /version (403 elsewhere); false answers it 401.
   */
  anonymousAuth?: boolean
  /**
   * --service-account-issuer: the first issues tokens, all are accepted (default
   * https://kubernetes.default.svc.cluster.local).
   */
  serviceAccountIssuers?: string[]
  /**
   * --service-account-signing-key-file: the private key (PEM) service account tokens are signed
   * with. Default: <data-dir>/pki/sa.key, made on first start.
   */
  serviceAccountSigningKeyFile?: string
  /** --service-account-key-file: PEM files of the keys that verify tokens (default: the signing key). */
  serviceAccountKeyFiles?: string[]
  /** --api-audiences (default: the service account issuers). */
  apiAudiences?: string[]
  /** --service-account-max-token-expiration, in seconds (default: no limit). */
  serviceAccountMaxTokenExpirationSeconds?: number
  /**
   * --enable-bootstrap-token-auth: bootstrap tokens (kube-system bootstrap-token-<id> Secrets)
   * authenticate (default true, as in clusters made by kubeadm or k3s).
   */
  enableBootstrapTokenAuth?: boolean
  /** --oidc-issuer-url, --oidc-client-id, --oidc-ca-file and the other --oidc-* flags. */
  oidc?: OidcOptions
  /** --disable-admission-plugins: admission plugins, by name, that do not run. */
  disableAdmissionPlugins?: string[]
  /** Cluster IPs of Services (default 10.96.0.0/12). */
  serviceClusterIPRange?: string
  /** NodePorts of Services (default 30000-32767). */
  serviceNodePortRange?: string
  /** How often history is compacted (default 5 minutes). */
  compactionIntervalMs?: number
  clock?: Clock
  log?: Logger
  /** Requests that are not long-running may run at most this many at once, in all (default 400). */
  maxRequestsInFlight?: number
  /** Deadline of requests that are not long-running (default 60 s, as kube-apiserver's). */
  requestTimeoutMs?: number
  /**
   * Serve from this many worker threads, which share the store (served by this thread) and the
   * port; 0 (the default) serves from this thread. Workers use real time (`clock` is ignored).
   */
  workers?: number
}

export interface ApiServer {
  /** https://host:port */
  readonly url: string
  readonly port: number
  readonly caPem: string
  /** Path of the admin kubeconfig (CN=kubernetes-admin, O=system:masters). */
  readonly adminKubeconfig: string
  /** Path of kube-controller-manager's kubeconfig (CN=system:kube-controller-manager). */
  readonly controllerManagerKubeconfig: string
  /** Path of kube-scheduler's kubeconfig (CN=system:kube-scheduler). */
  readonly schedulerKubeconfig: string
  /**
   * Writes (once) and returns the path of a kubelet's kubeconfig for `nodeName`
   * (CN=system:node:<nodeName>, O=system:nodes), as kubeadm writes kubelet.conf.
   */
  nodeKubeconfig(nodeName: string): Promise<string>
  /**
   * The private key service account tokens are signed with: what the controller-manager's
   * --service-account-private-key-file takes for the legacy tokens it makes.
   */
  readonly serviceAccountSigningKeyFile: string
  readonly storage: Storage
  /**
   * A listener of the in-process transport (src/base/in-process.ts), for a component that runs in
   * a thread of this process: given as its ClientConfig's `inProcess`, its requests reach this
   * apiserver, through the same pipeline, without TCP and TLS. Each thread needs one of its own
   * (a port is moved to the thread it is given to). Closed when the apiserver stops.
   */
  inProcessListener(): MessagePort
  stop(): Promise<void>
}

/** The OIDC authenticator's settings (authn/oidc.ts), with its CA as a file. */
export type OidcOptions = Omit<OidcSettings, 'caPem'> & {
  /** --oidc-ca-file (default: the system's roots). */
  caFile?: string
}

/** The serving part of the options, the same for every front. */
type CommonOptions = Omit<FrontendOptions, 'storage' | 'clock' | 'log' | 'port' | 'reusePort' | 'bootstrap'>

/** The serving part: one front in this thread, or fronts in worker threads. */
type Fronts = Pick<Frontend, 'port' | 'serveInProcess' | 'stop'>

/** Starts kube-apiserver: the store, the REST and watch API over HTTPS, and the objects every cluster has. */
export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const log = o.log ?? createLogger()
  const clock = o.clock ?? realClock
  const bindAddress = o.bindAddress ?? '127.0.0.1'
  const advertiseAddress =
    o.advertiseAddress ?? (bindAddress === '0.0.0.0' || bindAddress === '::' ? '127.0.0.1' : bindAddress)
  const serviceRange = o.serviceClusterIPRange ?? '10.96.0.0/12'
  const workers = o.workers ?? 0
  // Refused before anything starts, as kube-apiserver refuses its flags.
  const oidc = o.oidc ? oidcSettingsOf(o.oidc, o.serviceAccountIssuers) : undefined
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 })

  const pki = await ensureClusterPki(o.dataDir, {
    hosts: [advertiseAddress, hostname(), nthAddress(serviceRange, 0)],
  })
  const storage =
    o.storage ??
    (await openStorage(parseDatastore(o.datastore ?? 'sqlite://state.db', { dataDir: o.dataDir })))
  const ownsStorage = o.storage === undefined
  const signingKeyFile = o.serviceAccountSigningKeyFile ?? ensureServiceAccountKey(o.dataDir).privateKeyFile
  const maxInFlight = o.maxRequestsInFlight ?? 400
  // kubeadm's apiserver-kubelet-client: what the apiserver shows kubelets (metrics, logs, exec).
  const kubeletClient = await pki.clientCertificate('apiserver-kubelet-client', {
    commonName: 'kube-apiserver-kubelet-client',
    organizations: ['system:masters'],
  })
  const common: CommonOptions = {
    tls: { cert: pki.serving.certPem, key: pki.serving.keyPem, ca: pki.ca.certPem },
    bindAddress,
    advertiseAddress,
    serviceClusterIPRange: serviceRange,
    serviceNodePortRange: o.serviceNodePortRange ?? '30000-32767',
    maxRequestsInFlight: workers > 0 ? Math.ceil(maxInFlight / workers) : maxInFlight,
    ...(o.tokenAuthFile ? { tokenAuthFile: o.tokenAuthFile } : {}),
    ...(o.anonymousAuth !== undefined ? { anonymousAuth: o.anonymousAuth } : {}),
    authentication: {
      ...(o.serviceAccountIssuers ? { serviceAccountIssuers: o.serviceAccountIssuers } : {}),
      serviceAccountSigningKey: readFileSync(signingKeyFile, 'utf8'),
      ...(o.serviceAccountKeyFiles
        ? { serviceAccountKeys: o.serviceAccountKeyFiles.map((f) => readFileSync(f, 'utf8')) }
        : {}),
      ...(o.apiAudiences ? { apiAudiences: o.apiAudiences } : {}),
      ...(o.serviceAccountMaxTokenExpirationSeconds !== undefined
        ? { serviceAccountMaxTokenExpirationSeconds: o.serviceAccountMaxTokenExpirationSeconds }
        : {}),
      enableBootstrapTokenAuth: o.enableBootstrapTokenAuth ?? true,
      ...(oidc ? { oidc } : {}),
    },
    ...(o.disableAdmissionPlugins ? { disableAdmissionPlugins: o.disableAdmissionPlugins } : {}),
    ...(o.requestTimeoutMs !== undefined ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
    kubeletClient: { cert: kubeletClient.certPem, key: kubeletClient.keyPem },
    metricsApi: {},
  }

  let fronts: Fronts
  try {
    fronts =
      workers > 0
        ? await startWorkers(workers, storage, common, o.securePort ?? 6443, log)
        : await startFrontend({
            ...common,
            storage,
            clock,
            log,
            port: o.securePort ?? 6443,
            reusePort: false,
            bootstrap: true,
          })
  } catch (err) {
    if (ownsStorage) await storage.close()
    throw err
  }
  const port = fronts.port
  const host = advertiseAddress.includes(':') ? `[${advertiseAddress}]` : advertiseAddress
  const url = `https://${host}:${port}`
  const compactor = startCompactor(storage, {
    clock,
    ...(o.compactionIntervalMs !== undefined ? { intervalMs: o.compactionIntervalMs } : {}),
    onCompact: (r) =>
      'error' in r
        ? log.warn({ err: r.error }, 'compaction failed')
        : log.debug({ revision: r.revision }, 'compacted'),
  })

  // Each component its own identity, as kubeadm's kubeconfig phase makes them: a client certificate
  // from the cluster CA, kept (and reused) in the pki directory, in a kubeconfig of the data directory.
  const kubeconfigOf = async (file: string, subject: Subject): Promise<string> => {
    const pair = await pki.clientCertificate(file, subject)
    const path = join(o.dataDir, `${file}.kubeconfig`)
    writeKubeconfig(path, {
      server: url,
      caPem: pki.ca.certPem,
      clientCertPem: pair.certPem,
      clientKeyPem: pair.keyPem,
      userName: subject.commonName,
    })
    return path
  }
  const [adminKubeconfig, controllerManagerKubeconfig, schedulerKubeconfig] = await Promise.all([
    kubeconfigOf('admin', { commonName: 'kubernetes-admin', organizations: ['system:masters'] }),
    kubeconfigOf('controller-manager', { commonName: 'system:kube-controller-manager' }),
    kubeconfigOf('scheduler', { commonName: 'system:kube-scheduler' }),
  ])
  log.info({ url, workers }, 'apiserver serving')
  const listeners = new Set<MessagePort>()

  return {
    url,
    port,
    caPem: pki.ca.certPem,
    adminKubeconfig,
    controllerManagerKubeconfig,
    schedulerKubeconfig,
    nodeKubeconfig: (nodeName) =>
      kubeconfigOf(`kubelet-${nodeName}`, {
        commonName: `system:node:${nodeName}`,
        organizations: ['system:nodes'],
      }),
    serviceAccountSigningKeyFile: signingKeyFile,
    storage,
    inProcessListener() {
      const { port1, port2 } = new MessageChannel()
      port1.on('message', (m: InProcessListenerMessage) => fronts.serveInProcess(m.link))
      // Listening does not keep the process alive; the connections do, while they are open.
      port1.unref()
      listeners.add(port1)
      port1.once('close', () => listeners.delete(port1))
      return port2
    },
    async stop() {
      for (const l of listeners) l.close()
      compactor.stop()
      await fronts.stop()
      if (ownsStorage) await storage.close()
    },
  }
}

/** The OIDC settings of the options, with the CA file read; throws kube-apiserver's refusal. */
function oidcSettingsOf(o: OidcOptions, serviceAccountIssuers: readonly string[] | undefined): OidcSettings {
  const { caFile, ...rest } = o
  const settings: OidcSettings = { ...rest, ...(caFile ? { caPem: readFileSync(caFile, 'utf8') } : {}) }
  const invalid = validateOidcSettings(
    settings,
    serviceAccountIssuers?.length ? serviceAccountIssuers : [defaultServiceAccountIssuer],
  )
  if (invalid !== undefined) throw new Error(invalid)
  return settings
}

/**
 * `n` fronts in worker threads on one port. The first picks the port (when asked for 0) and
 * bootstraps the cluster before the others start. A worker that dies is logged and replaced.
 * /metrics asked of any worker answers for all of them, summed as prom-client's cluster
 * aggregation does.
 */
async function startWorkers(
  n: number,
  storage: Storage,
  common: CommonOptions,
  port: number,
  log: Logger,
): Promise<Fronts> {
  const served = serveStorage(storage)
  const running = new Set<Worker>()
  /** The workers that serve, in turn for in-process links. */
  const serving: Worker[] = []
  let nextServing = 0
  let stopping = false
  let nextCollect = 1
  const collecting = new Map<number, { want: number; got: Collected[]; done: (all: Collected[]) => void }>()

  const metricsOfAll = async (): Promise<string> => {
    const id = nextCollect++
    const all = await new Promise<Collected[]>((resolve) => {
      collecting.set(id, { want: running.size, got: [], done: resolve })
      for (const w of running) w.postMessage({ collect: id } satisfies ToWorker)
    })
    collecting.delete(id)
    return AggregatorRegistry.aggregate(all).metrics()
  }

  const start = (bootstrap: boolean, at: number): Promise<{ worker: Worker; port: number }> => {
    const options: WorkerOptions = {
      ...common,
      link: served.link(),
      port: at,
      reusePort: true,
      bootstrap,
      logLevel: log.level,
    }
    const worker = new Worker(workerModule, { workerData: options, transferList: [options.link.port] })
    running.add(worker)
    return new Promise((resolve, reject) => {
      let ready = false
      worker.on('message', (m: FromWorker) => {
        if ('ready' in m) {
          ready = true
          serving.push(worker)
          resolve({ worker, port: m.ready })
        } else if ('failed' in m) {
          reject(new Error(`apiserver worker failed to start: ${m.failed}`))
        } else if ('metricsOf' in m) {
          void metricsOfAll().then((text) =>
            worker.postMessage({ metricsText: m.metricsOf, text } satisfies ToWorker),
          )
        } else {
          const c = collecting.get(m.collected)
          if (!c) return
          c.got.push(m.json as Collected)
          if (c.got.length >= c.want) c.done(c.got)
        }
      })
      worker.on('error', (err) => log.error({ err }, 'apiserver worker failed'))
      worker.once('exit', (code) => {
        running.delete(worker)
        if (serving.includes(worker)) serving.splice(serving.indexOf(worker), 1)
        for (const c of collecting.values()) if (c.got.length >= --c.want) c.done(c.got)
        if (!ready) return reject(new Error(`apiserver worker exited with ${code} before serving`))
        if (stopping) return
        log.error({ code }, 'apiserver worker exited; starting another')
        setTimeout(
          () =>
            void start(false, servingPort).catch((err: unknown) =>
              log.error({ err }, 'cannot restart an apiserver worker'),
            ),
          1000,
        ).unref()
      })
    })
  }

  const stop = async () => {
    stopping = true
    await Promise.all(
      [...running].map(async (w) => {
        const exited = new Promise((r) => w.once('exit', r))
        w.postMessage({ stop: true } satisfies ToWorker)
        await exited
      }),
    )
    served.stop()
  }

  let servingPort = port
  try {
    // Sharing the port must not extend to another process: a port someone else holds is refused
    // here, as kube-apiserver refuses it, before the workers bind it with SO_REUSEPORT.
    if (port !== 0) await probePort(common.bindAddress, port)
    servingPort = (await start(true, port)).port
    await Promise.all(Array.from({ length: n - 1 }, () => start(false, servingPort)))
  } catch (err) {
    await stop()
    throw err
  }
  const serveInProcess = (link: MessagePort) => {
    const w = serving[nextServing++ % Math.max(1, serving.length)]
    if (w) w.postMessage({ inProcess: link } satisfies ToWorker, [link])
    else link.close()
  }
  return { port: servingPort, serveInProcess, stop }
}

/** Fails with EADDRINUSE (or whatever else stops a bind) when the port cannot be had. */
function probePort(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer()
    probe.once('error', reject)
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()))
  })
}

/** The worker's module, beside this one (.ts when run from the sources, .js from dist/). */
const workerModule = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url)

/** One worker's metrics, as registry.getMetricsAsJSON() gives them. */
type Collected = MetricObjectWithValues<MetricValue<string>>[]
