import { createServer as createHttpServer } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { MessagePort } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { Clock } from '../base/clock.ts'
import type { Storage } from '../storage/index.ts'
import { resourceForKind } from '../api/resources.ts'
import type { Namespace, Node, Pod } from '../api/generated/types/core-v1.ts'
import { AdmissionChain, type AdmissionPlugin } from './admission/admission.ts'
import {
  certificateApprovalPlugin,
  certificateSigningPlugin,
  certificateSubjectRestrictionPlugin,
} from './admission/certificates.ts'
import { defaultStorageClassPlugin } from './admission/default-storage-class.ts'
import { defaultTolerationSecondsPlugin } from './admission/default-toleration-seconds.ts'
import { limitRangerPlugin } from './admission/limit-ranger.ts'
import { namespaceLifecycle } from './admission/namespace-lifecycle.ts'
import { nodeRestrictionPlugin } from './admission/node-restriction.ts'
import { objectByName, objectsInNamespace } from './admission/namespace-objects.ts'
import { podSecurityPlugin } from './admission/pod-security.ts'
import { priorityClassesOf, priorityPlugin } from './admission/priority.ts'
import { quotaAccessIn, resourceQuotaPlugin } from './admission/resource-quota.ts'
import { serviceAccountPlugin, serviceAccountsOf } from './admission/service-account.ts'
import { validatingAdmissionPolicyPlugin } from './admission/validating-admission-policy.ts'
import { WebhookClient } from './admission/webhook-client.ts'
import {
  configurationsIn,
  mutatingWebhookPlugin,
  clusterObjectIn,
  namespaceLabelsIn,
  serviceResolverIn,
  validatingWebhookPlugin,
} from './admission/webhooks.ts'
import { unionAuthenticator, type Authenticator } from './authn/authenticator.ts'
import { setUpAuthentication, type AuthenticationSettings } from './authentication.ts'
import {
  privilegedGroupsAuthorizer,
  unionAuthorizer,
  unionRuleResolver,
  type Authorizer,
} from './authz/authorizer.ts'
import { authorizationReviewHandlers } from './handlers/authorization-reviews.ts'
import { NodeAuthorizer } from './authz/node/authorizer.ts'
import { followNodeGraphCaches, type NodeGraphCaches } from './authz/node/follow.ts'
import { NodeGraph } from './authz/node/graph.ts'
import { RbacAuthorizer } from './authz/rbac/authorizer.ts'
import { nodeRules } from './authz/rbac/bootstrap-policy.ts'
import { followRbacCaches, type RbacCaches } from './authz/rbac/follow.ts'
import { PolicyCache } from './authz/rbac/policy-cache.ts'
import { apiserverUser, bootstrap } from './bootstrap.ts'
import { ApiResponse, type Handler } from './context.ts'
import type { EndpointRegistry } from './endpoint.ts'
import { discoveryHandlers } from './handlers/discovery.ts'
import { healthHandler, type HealthCheck } from './handlers/health.ts'
import { metricsHandler } from './handlers/metrics.ts'
import { openapiHandlers } from './handlers/openapi.ts'
import { resourceHandler } from './handlers/resources.ts'
import { versionHandler } from './handlers/version.ts'
import { ApiMetrics } from './metrics.ts'
import { ipAllocator, nthAddress, portAllocator } from './registry/allocator.ts'
import { buildEndpoints } from './registry/build.ts'
import { serveMetricsApi, type MetricsApiSettings } from './metrics-api/index.ts'
import { KubeletClient, type KubeletClientOptions } from './kubelet-client.ts'
import { repairServiceAllocations } from './registry/resources/services.ts'
import { createPipeline } from './server.ts'
import { inProcessServer } from './in-process.ts'

/**
 * One HTTPS front of the apiserver: the registry with its watch caches, the request pipeline and
 * the listening socket. A server runs one in its own thread, or several in worker threads that
 * share the store and the port (SO_REUSEPORT: the kernel spreads connections over them), the way
 * several kube-apiservers share one etcd: each keeps its own caches, fed by its own store watches,
 * and everything they must agree on (resource versions, allocated IPs and ports) is decided by
 * the store.
 */
export interface FrontendOptions {
  storage: Storage
  tls: { cert: string; key: string; ca: string }
  bindAddress: string
  /** The address the `kubernetes` Service points at. */
  advertiseAddress: string
  /** 0 picks a free port. */
  port: number
  /** Share the port with the other fronts of this server. */
  reusePort: boolean
  /**
   * Repair the Service IP and port allocations and create the objects every cluster has: done by
   * exactly one front, before the others start.
   */
  bootstrap: boolean
  tokenAuthFile?: string
  /** --anonymous-auth (default true): requests without credentials are system:anonymous. */
  anonymousAuth?: boolean
  /** Service account tokens, bootstrap tokens and the authentication flags (authentication.ts). */
  authentication?: AuthenticationSettings
  /** --disable-admission-plugins: plugins, by name, that do not run. */
  disableAdmissionPlugins?: readonly string[]
  serviceClusterIPRange: string
  serviceNodePortRange: string
  clock: Clock
  log: Logger
  maxRequestsInFlight?: number
  requestTimeoutMs?: number
  /** The text of /metrics (default: this front's own metrics). */
  metricsText?: (own: ApiMetrics) => Promise<string>
  /**
   * How the apiserver reaches kubelets (pods/log, and metrics.k8s.io); without it, pods/log
   * answers 503 and metrics.k8s.io is not served.
   */
  kubeletClient?: KubeletClientOptions
  /** Serve metrics.k8s.io from the kubelets (metrics-api/), through the kubelet client. */
  metricsApi?: MetricsApiSettings
}

export interface Frontend {
  readonly port: number
  readonly metrics: ApiMetrics
  /** Serves the connections of an in-process transport's link (in-process.ts). */
  serveInProcess(link: MessagePort): void
  stop(): Promise<void>
}

const k8tsVersion = '0.1.0'

export async function startFrontend(o: FrontendOptions): Promise<Frontend> {
  const { storage, log } = o
  const metrics = new ApiMetrics()
  const ips = ipAllocator(storage, o.serviceClusterIPRange)
  const ports = portAllocator(storage, o.serviceNodePortRange)
  // The registry stores admission plugins read (each resource is served from one v1 store).
  const store = (group: string, resource: string) => endpoints.lookup(group, 'v1', resource)?.store
  const webhookClient = new WebhookClient(
    serviceResolverIn(
      () => store('', 'services'),
      () => store('discovery.k8s.io', 'endpointslices'),
    ),
  )
  const namespaces = objectByName<Namespace>(() => store('', 'namespaces'))
  const nodes = objectByName<Node>(() => store('', 'nodes'))
  const admission = new AdmissionChain([
    // Kubernetes' order (AllOrderedPlugins): NamespaceLifecycle, LimitRanger, ServiceAccount,
    // NodeRestriction, PodSecurity, Priority, DefaultTolerationSeconds, DefaultStorageClass,
    // CertificateApproval, CertificateSigning, CertificateSubjectRestriction, the webhooks and
    // policies, ResourceQuota last.
    namespaceLifecycle(() => endpoints.lookup('', 'v1', 'namespaces')?.store),
    ...unlessDisabled(o.disableAdmissionPlugins, [
      limitRangerPlugin(objectsInNamespace(() => store('', 'limitranges'), o.clock)),
      serviceAccountPlugin({
        accounts: serviceAccountsOf(() => endpoints.lookup('', 'v1', 'serviceaccounts')?.store),
        clock: o.clock,
      }),
      nodeRestrictionPlugin({
        pods: objectByName<Pod>(() => store('', 'pods')),
        nodes: (name) => nodes('', name),
      }),
      podSecurityPlugin({
        namespace: (name) => namespaces('', name),
        pods: objectsInNamespace(() => store('', 'pods'), o.clock),
        clock: o.clock,
      }),
    ]),
    priorityPlugin(
      priorityClassesOf(() => endpoints.lookup('scheduling.k8s.io', 'v1', 'priorityclasses')?.store),
    ),
    defaultTolerationSecondsPlugin,
    ...unlessDisabled(o.disableAdmissionPlugins, [
      defaultStorageClassPlugin(objectsInNamespace(() => store('storage.k8s.io', 'storageclasses'), o.clock)),
      certificateApprovalPlugin(() => authorizer),
      certificateSigningPlugin(() => authorizer),
      certificateSubjectRestrictionPlugin,
    ]),
    mutatingWebhookPlugin({
      configurations: configurationsIn(() =>
        store('admissionregistration.k8s.io', 'mutatingwebhookconfigurations'),
      ),
      namespaceLabels: namespaceLabelsIn(() => store('', 'namespaces')),
      client: webhookClient,
      authorizer: () => authorizer,
    }),
    validatingAdmissionPolicyPlugin({
      policies: configurationsIn(() => store('admissionregistration.k8s.io', 'validatingadmissionpolicies')),
      bindings: configurationsIn(() =>
        store('admissionregistration.k8s.io', 'validatingadmissionpolicybindings'),
      ),
      namespaceLabels: namespaceLabelsIn(() => store('', 'namespaces')),
      namespace: clusterObjectIn(() => store('', 'namespaces')),
      paramStore: (kind) => {
        const [group, version] = (kind.apiVersion ?? '').includes('/')
          ? (kind.apiVersion ?? '').split('/')
          : ['', kind.apiVersion ?? '']
        const r = resourceForKind(group ?? '', version ?? '', kind.kind ?? '')
        return r ? endpoints.lookup(r.group, r.version, r.resource)?.store : undefined
      },
      authorizer: () => authorizer,
    }),
    validatingWebhookPlugin({
      configurations: configurationsIn(() =>
        store('admissionregistration.k8s.io', 'validatingwebhookconfigurations'),
      ),
      namespaceLabels: namespaceLabelsIn(() => store('', 'namespaces')),
      client: webhookClient,
      authorizer: () => authorizer,
    }),
    ...unlessDisabled(o.disableAdmissionPlugins, [
      resourceQuotaPlugin({
        quotas: quotaAccessIn(() => store('', 'resourcequotas'), apiserverUser),
        clock: o.clock,
      }),
    ]),
  ])
  let servingPort = o.port
  const authentication = setUpAuthentication({
    settings: { ...o.authentication, ...(o.tokenAuthFile ? { tokenAuthFile: o.tokenAuthFile } : {}) },
    endpoints: () => endpoints,
    admission,
    externalAddress: () =>
      `${o.advertiseAddress.includes(':') ? `[${o.advertiseAddress}]` : o.advertiseAddress}:${servingPort}`,
    clock: o.clock,
    log,
  })
  // --authorization-mode=Node,RBAC as kube-apiserver runs it: system:masters first (allowed at
  // once), then the Node authorizer over the graph of this front's pod, volume, attachment and
  // slice caches, then RBAC over the RBAC objects of its caches.
  const nodeGraph = new NodeGraph()
  const node = new NodeAuthorizer(nodeGraph, nodeRules())
  const rbacPolicy = new PolicyCache()
  const rbac = new RbacAuthorizer(rbacPolicy)
  const authorizer: Authorizer = unionAuthorizer([privilegedGroupsAuthorizer(['system:masters']), node, rbac])
  const ruleResolver = unionRuleResolver([node, rbac])
  const reviews = new Map([
    ...authentication.reviews,
    ...authorizationReviewHandlers({ authorizer, ruleResolver }),
  ])
  const kubelets = o.kubeletClient ? new KubeletClient(o.kubeletClient) : undefined
  const { endpoints, deps } = buildEndpoints({
    storage,
    metrics,
    clock: o.clock,
    log,
    admission,
    ips,
    ports,
    tokenRequest: authentication.tokenRequest,
    reviews,
    rbac: { authorizer, policy: rbacPolicy },
    ...(kubelets ? { kubelets } : {}),
  })
  const metricsApi =
    o.metricsApi && kubelets
      ? serveMetricsApi({ settings: o.metricsApi, kubelets, endpoints, deps, clock: o.clock, log })
      : undefined
  // Some caches start on first read (Events, and views through a conversion): until a client
  // reads them, each Event written goes to the store alone.
  await Promise.all(
    endpoints.all().map(async (ep) => (ep.store?.cachedOnFirstRead ? undefined : ep.store?.cache.start())),
  )
  const following = new AbortController()
  await followRbacCaches(rbacPolicy, rbacCachesOf(endpoints), { signal: following.signal, log })
  await followNodeGraphCaches(nodeGraph, nodeGraphCachesOf(endpoints), { signal: following.signal, log })

  const authenticators: Authenticator[] = [...authentication.authenticators]

  let bootstrapped = !o.bootstrap
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
    {
      name: 'poststarthook/rbac/bootstrap-roles',
      check: async () => (bootstrapped ? undefined : Promise.reject(new Error('not yet'))),
    },
    {
      name: 'poststarthook/scheduling/bootstrap-system-priority-classes',
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
    ['/metrics', metricsHandler(metrics, o.metricsText)],
    ...discoveryHandlers({ endpoints, serverAddress: '' }),
    ...openapiHandlers(),
    ...authentication.paths,
  ])
  const handle = createPipeline({
    authenticator: unionAuthenticator(authenticators),
    authorizer,
    ...(o.anonymousAuth !== undefined ? { anonymousAuth: o.anonymousAuth } : {}),
    paths,
    resources: resourceHandler(deps),
    log,
    metrics,
    ...(o.maxRequestsInFlight !== undefined ? { maxInFlight: o.maxRequestsInFlight } : {}),
    ...(o.requestTimeoutMs !== undefined ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
  })
  const server: Server = createServer(
    {
      cert: o.tls.cert,
      key: o.tls.key,
      ca: o.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
      keepAliveTimeout: 120_000,
      ServerResponse: ApiResponse,
    },
    handle,
  )
  server.headersTimeout = 60_000
  // The same pipeline for the in-process transport's connections, which no port brings.
  const inProcess = inProcessServer(
    createHttpServer({ keepAliveTimeout: 120_000, ServerResponse: ApiResponse }, handle),
    o.tls.ca,
    log,
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: o.port, host: o.bindAddress, reusePort: o.reusePort }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  servingPort = port
  const stopCaches = () => {
    metricsApi?.stop()
    kubelets?.close()
    following.abort()
    for (const ep of endpoints.all()) ep.store?.cache.stop()
  }

  if (o.bootstrap) {
    try {
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
        kubernetesServiceIP: nthAddress(o.serviceClusterIPRange, 0),
        advertiseAddress: o.advertiseAddress,
        securePort: port,
      })
    } catch (err) {
      stopCaches()
      server.close()
      await authentication.stop()
      throw err
    }
    bootstrapped = true
  }

  return {
    port,
    metrics,
    serveInProcess: (link) => inProcess.serve(link),
    async stop() {
      stopCaches()
      webhookClient.close()
      await authentication.stop()
      server.closeAllConnections()
      inProcess.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The watch caches the RBAC authorizer follows. */
function rbacCachesOf(endpoints: EndpointRegistry): RbacCaches {
  const cache = (resource: string) => {
    const c = endpoints.lookup('rbac.authorization.k8s.io', 'v1', resource)?.store?.cache
    if (!c) throw new Error(`no rbac.authorization.k8s.io/v1 ${resource} served`)
    return c
  }
  return {
    roles: cache('roles'),
    clusterRoles: cache('clusterroles'),
    roleBindings: cache('rolebindings'),
    clusterRoleBindings: cache('clusterrolebindings'),
  }
}

/** The watch caches the Node authorizer's graph is built from. */
function nodeGraphCachesOf(endpoints: EndpointRegistry): NodeGraphCaches {
  const cache = (group: string, resource: string) => endpoints.lookup(group, 'v1', resource)?.store?.cache
  const pods = cache('', 'pods')
  const persistentVolumes = cache('', 'persistentvolumes')
  if (!pods || !persistentVolumes) throw new Error('no v1 pods or persistentvolumes served')
  const volumeAttachments = cache('storage.k8s.io', 'volumeattachments')
  const resourceSlices = cache('resource.k8s.io', 'resourceslices')
  return {
    pods,
    persistentVolumes,
    ...(volumeAttachments ? { volumeAttachments } : {}),
    ...(resourceSlices ? { resourceSlices } : {}),
  }
}

/** The plugins --disable-admission-plugins does not name. */
function unlessDisabled(
  disabled: readonly string[] | undefined,
  plugins: AdmissionPlugin[],
): AdmissionPlugin[] {
  return disabled ? plugins.filter((p) => !disabled.includes(p.name)) : plugins
}
