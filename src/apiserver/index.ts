import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { realClock, type Clock } from '../base/clock.ts'
import { createLogger } from '../base/log.ts'
import { ensureClusterPki, writeKubeconfig } from '../pki/index.ts'
import { openStorage, parseDatastore, startCompactor, type Storage } from '../storage/index.ts'
import { AdmissionChain } from './admission/admission.ts'
import { ApiResponse } from './context.ts'
import { namespaceLifecycle } from './admission/namespace-lifecycle.ts'
import { unionAuthenticator, type Authenticator } from './authn/authenticator.ts'
import { tokenFileAuthenticator } from './authn/token-file.ts'
import { x509Authenticator } from './authn/x509.ts'
import { allowAuthenticated, type Authorizer } from './authz/authorizer.ts'
import { bootstrap } from './bootstrap.ts'
import { repairServiceAllocations } from './registry/resources/services.ts'
import type { Handler } from './context.ts'
import { discoveryHandlers } from './handlers/discovery.ts'
import { healthHandler, type HealthCheck } from './handlers/health.ts'
import { metricsHandler } from './handlers/metrics.ts'
import { openapiHandlers } from './handlers/openapi.ts'
import { resourceHandler } from './handlers/resources.ts'
import { versionHandler } from './handlers/version.ts'
import { ApiMetrics } from './metrics.ts'
import { ipAllocator, nthAddress, portAllocator } from './registry/allocator.ts'
import { buildEndpoints } from './registry/build.ts'
import { createPipeline } from './server.ts'

export interface ApiServerOptions {
  /** Certificates, the admin kubeconfig and (by default) the SQLite store live here. */
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
  /** Cluster IPs of Services (default 10.96.0.0/12). */
  serviceClusterIPRange?: string
  /** NodePorts of Services (default 30000-32767). */
  serviceNodePortRange?: string
  /** How often history is compacted (default 5 minutes). */
  compactionIntervalMs?: number
  clock?: Clock
  log?: Logger
  /** Requests that are not long-running may run at most this many at once (default 400). */
  maxRequestsInFlight?: number
  /** Deadline of requests that are not long-running (default 60 s, as kube-apiserver's). */
  requestTimeoutMs?: number
}

export interface ApiServer {
  /** https://host:port */
  readonly url: string
  readonly port: number
  readonly caPem: string
  /** Path of the admin kubeconfig (CN=kubernetes-admin, O=system:masters). */
  readonly adminKubeconfig: string
  readonly storage: Storage
  stop(): Promise<void>
}

const k8tsVersion = '0.1.0'

/** Starts kube-apiserver: the store, the REST and watch API over HTTPS, and the objects every cluster has. */
export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const log = o.log ?? createLogger()
  const clock = o.clock ?? realClock
  const bindAddress = o.bindAddress ?? '127.0.0.1'
  const advertiseAddress =
    o.advertiseAddress ?? (bindAddress === '0.0.0.0' || bindAddress === '::' ? '127.0.0.1' : bindAddress)
  const serviceRange = o.serviceClusterIPRange ?? '10.96.0.0/12'
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 })

  const pki = await ensureClusterPki(o.dataDir, {
    hosts: [advertiseAddress, hostname(), nthAddress(serviceRange, 0)],
  })
  const storage =
    o.storage ??
    (await openStorage(parseDatastore(o.datastore ?? 'sqlite://state.db', { dataDir: o.dataDir })))
  const ownsStorage = o.storage === undefined
  const metrics = new ApiMetrics()

  const ips = ipAllocator(storage, serviceRange)
  const ports = portAllocator(storage, o.serviceNodePortRange ?? '30000-32767')
  const admission = new AdmissionChain([
    namespaceLifecycle(() => endpoints.lookup('', 'v1', 'namespaces')?.store),
  ])
  const { endpoints, deps } = buildEndpoints({ storage, clock, log, admission, ips, ports })
  await Promise.all(endpoints.all().map(async (ep) => ep.store?.cache.start()))

  const authenticators: Authenticator[] = [x509Authenticator()]
  if (o.tokenAuthFile) authenticators.push(tokenFileAuthenticator(o.tokenAuthFile))
  const authorizer: Authorizer = allowAuthenticated

  let bootstrapped = false
  const checks: HealthCheck[] = [
    { name: 'ping', check: async () => undefined },
    { name: 'log', check: async () => undefined },
    {
      name: 'etcd',
      check: async () => {
        await storage.currentRevision()
      },
    },
    {
      name: 'poststarthook/bootstrap-controller',
      check: async () => (bootstrapped ? undefined : Promise.reject(new Error('not yet'))),
    },
  ]
  const paths = new Map<string, Handler>([
    ['/version', versionHandler(k8tsVersion)],
    ['/healthz', healthHandler('healthz', checks)],
    ['/healthz/', healthHandler('healthz', checks)],
    ['/livez', healthHandler('livez', checks.slice(0, 3))],
    ['/livez/', healthHandler('livez', checks.slice(0, 3))],
    ['/readyz', healthHandler('readyz', checks)],
    ['/readyz/', healthHandler('readyz', checks)],
    ['/metrics', metricsHandler(metrics)],
    ...discoveryHandlers({ endpoints, serverAddress: '' }),
    ...openapiHandlers(),
  ])
  const handle = createPipeline({
    authenticator: unionAuthenticator(authenticators),
    authorizer,
    paths,
    resources: resourceHandler(deps),
    log,
    metrics,
    ...(o.maxRequestsInFlight !== undefined ? { maxInFlight: o.maxRequestsInFlight } : {}),
    ...(o.requestTimeoutMs !== undefined ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
  })
  const server: Server = createServer(
    {
      cert: pki.serving.certPem,
      key: pki.serving.keyPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
      keepAliveTimeout: 120_000,
      ServerResponse: ApiResponse,
    },
    handle,
  )
  server.headersTimeout = 60_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.securePort ?? 6443, bindAddress, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const host = advertiseAddress.includes(':') ? `[${advertiseAddress}]` : advertiseAddress
  const url = `https://${host}:${port}`

  const services = endpoints.lookup('', 'v1', 'services')?.store
  if (services) {
    const all = await services.list('', {})
    await repairServiceAllocations(
      all.items.map((c) => c.object),
      ips,
      ports,
    )
  }
  await bootstrap({
    endpoints,
    log,
    kubernetesServiceIP: nthAddress(serviceRange, 0),
    advertiseAddress,
    securePort: port,
  })
  bootstrapped = true
  const compactor = startCompactor(storage, {
    clock,
    ...(o.compactionIntervalMs !== undefined ? { intervalMs: o.compactionIntervalMs } : {}),
    onCompact: (r) =>
      'error' in r
        ? log.warn({ err: r.error }, 'compaction failed')
        : log.debug({ revision: r.revision }, 'compacted'),
  })

  const admin = await pki.clientCertificate('admin', {
    commonName: 'kubernetes-admin',
    organizations: ['system:masters'],
  })
  const adminKubeconfig = join(o.dataDir, 'admin.kubeconfig')
  writeKubeconfig(adminKubeconfig, {
    server: url,
    caPem: pki.ca.certPem,
    clientCertPem: admin.certPem,
    clientKeyPem: admin.keyPem,
    userName: 'kubernetes-admin',
  })
  log.info({ url }, 'apiserver serving')

  return {
    url,
    port,
    caPem: pki.ca.certPem,
    adminKubeconfig,
    storage,
    async stop() {
      compactor.stop()
      for (const ep of endpoints.all()) ep.store?.cache.stop()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      if (ownsStorage) await storage.close()
    },
  }
}
