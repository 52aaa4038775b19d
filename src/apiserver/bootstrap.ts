import type { Logger } from 'pino'
import type { StoredObject } from '../api/object.ts'
import { systemPriorityClasses } from './admission/priority.ts'
import type { UserInfo } from './authn/authenticator.ts'
import { nodeBootstrapBindings } from './authz/rbac/node-bootstrap-bindings.ts'
import { reconcileBootstrapPolicy } from './authz/rbac/reconcile.ts'
import type { EndpointRegistry } from './endpoint.ts'
import { ApiError } from './errors.ts'
import { aggregatedMetricsReader, metricsGroup, metricsVersion } from './metrics-api/index.ts'

/** The identity the apiserver writes its own objects as. */
export const apiserverUser: UserInfo = {
  name: 'system:apiserver',
  groups: ['system:masters', 'system:authenticated'],
}

/** Namespaces that exist from the start, as in every Kubernetes cluster. */
export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease']

export interface BootstrapOptions {
  endpoints: EndpointRegistry
  log: Logger
  /** The `kubernetes` Service's cluster IP (the first address of the service range). */
  kubernetesServiceIP: string
  /** Where clients reach this apiserver: the `kubernetes` Endpoints point there. */
  advertiseAddress: string
  securePort: number
}

/**
 * The objects every cluster has, made (or repaired) at start: the system namespaces, the
 * `kubernetes` Service in `default` with Endpoints and an EndpointSlice pointing at the apiserver,
 * the system PriorityClasses (system-node-critical, system-cluster-critical), the default RBAC
 * policy (roles and bindings, reconciled: see authz/rbac/reconcile.ts) and kubeadm's bindings for
 * node bootstrap tokens (authz/rbac/node-bootstrap-bindings.ts).
 */
export async function bootstrap(o: BootstrapOptions): Promise<void> {
  const store = (group: string, version: string, resource: string) => {
    const s = o.endpoints.lookup(group, version, resource)?.store
    if (!s) throw new Error(`bootstrap: no store for ${group}/${version}/${resource}`)
    return s
  }
  const ensure = async (
    group: string,
    version: string,
    resource: string,
    namespace: string,
    obj: StoredObject,
    reconcile?: (current: Readonly<StoredObject>) => StoredObject | undefined,
  ) => {
    const s = store(group, version, resource)
    try {
      await s.create(namespace, structuredClone(obj), { user: apiserverUser })
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 409)) throw err
      if (!reconcile) return
      await s.update(
        namespace,
        obj.metadata.name ?? '',
        (cur) => reconcile(cur ?? obj) ?? structuredClone(cur ?? obj),
        {
          user: apiserverUser,
        },
      )
    }
  }
  for (const name of systemNamespaces) {
    await ensure('', 'v1', 'namespaces', '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  }
  const port = { name: 'https', port: 443, protocol: 'TCP', targetPort: o.securePort }
  await ensure('', 'v1', 'services', 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: { type: 'ClusterIP', clusterIP: o.kubernetesServiceIP, ports: [port], sessionAffinity: 'None' },
  })
  const endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
    },
    subsets: [
      {
        addresses: [{ ip: o.advertiseAddress }],
        ports: [{ name: 'https', port: o.securePort, protocol: 'TCP' }],
      },
    ],
  }
  await ensure('', 'v1', 'endpoints', 'default', endpoints, (cur) => ({
    ...(structuredClone(cur) as StoredObject),
    subsets: endpoints.subsets,
  }))
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: {
        'kubernetes.io/service-name': 'kubernetes',
        'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io',
      },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [o.advertiseAddress], conditions: { ready: true } }],
    ports: [{ name: 'https', port: o.securePort, protocol: 'TCP' }],
  }
  if (o.endpoints.lookup('discovery.k8s.io', 'v1', 'endpointslices')) {
    await ensure('discovery.k8s.io', 'v1', 'endpointslices', 'default', slice, (cur) => ({
      ...(structuredClone(cur) as StoredObject),
      endpoints: slice.endpoints,
      ports: slice.ports,
    }))
  }
  // kube-apiserver's post-start hook scheduling/bootstrap-system-priority-classes: created when
  // missing, left alone when present (their value and globalDefault cannot change anyway).
  if (o.endpoints.lookup('scheduling.k8s.io', 'v1', 'priorityclasses')) {
    for (const pc of systemPriorityClasses) {
      await ensure('scheduling.k8s.io', 'v1', 'priorityclasses', '', {
        ...structuredClone(pc),
        metadata: { name: pc.metadata?.name ?? '' },
      })
    }
  }
  // kube-apiserver's post-start hook rbac/bootstrap-roles.
  if (o.endpoints.lookup('rbac.authorization.k8s.io', 'v1', 'clusterroles')) {
    await reconcileBootstrapPolicy({ endpoints: o.endpoints, user: apiserverUser, log: o.log })
    // What kubeadm adds for TLS bootstrapping of nodes: made when missing, never overwritten.
    for (const b of nodeBootstrapBindings) {
      await ensure('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', '', b as unknown as StoredObject)
    }
    // What metrics-server's manifest adds, where this apiserver serves metrics.k8s.io itself.
    if (o.endpoints.lookup(metricsGroup, metricsVersion, 'pods')) {
      const role = aggregatedMetricsReader as unknown as StoredObject
      await ensure('rbac.authorization.k8s.io', 'v1', 'clusterroles', '', role)
    }
  }
  o.log.debug('bootstrap objects in place')
}
