/**
 * metrics.k8s.io/v1beta1 served by the apiserver itself, where a cluster would run metrics-server
 * behind an APIService: `nodes` (NodeMetrics, cluster-scoped) and `pods` (PodMetrics, namespaced),
 * get and list (label and field selectors, all namespaces), read-only. They are listed in discovery
 * like any group; authorization is the usual one (RBAC: system:aggregated-metrics-reader, rbac.ts).
 *
 * A node or pod appears when the API has it and its kubelet reported usage for it; one that is
 * known but has no usage yet is NotFound on get and left out of lists, as metrics-server does.
 */
import type { Node, Pod } from '../../api/generated/types/core-v1.ts'
import type { StoredObject } from '../../api/object.ts'
import { fieldsOf } from '../../api/selectors/field-selector.ts'
import type { Clock } from '../../base/clock.ts'
import type { ResourceEndpoint } from '../endpoint.ts'
import { methodNotSupported, notFound } from '../errors.ts'
import { ResourceRequest, type ResourceHandlerDeps } from '../handlers/resources.ts'
import { encoded, type CachedObject } from '../registry/watch-cache.ts'
import type { ResourceRequestInfo } from '../request-info.ts'
import { defaultTable } from '../table.ts'
import { nodeMetrics, podMetrics } from './metrics.ts'
import type { MetricsStore } from './store.ts'
import { metricsGroup, metricsVersion } from './types.ts'

export interface MetricsApiOptions {
  deps: ResourceHandlerDeps
  /** The store, filled (see source.ts). */
  metrics: () => Promise<MetricsStore>
  /** Nodes and pods as the API has them now (the watch caches). */
  nodes: () => readonly Readonly<Node>[]
  pods: (namespace: string) => readonly Readonly<Pod>[]
  clock: Clock
}

const nodesResource = { group: metricsGroup, resource: 'nodes' }
const podsResource = { group: metricsGroup, resource: 'pods' }

export function metricsApiEndpoints(o: MetricsApiOptions): ResourceEndpoint[] {
  const nodes: ResourceEndpoint = {
    definition: {
      group: metricsGroup,
      version: metricsVersion,
      resource: 'nodes',
      kind: 'NodeMetrics',
      listKind: 'NodeMetricsList',
      singular: 'node',
      namespaced: false,
      verbs: ['get', 'list'],
      shortNames: [],
      categories: [],
    },
    subresources: new Map(),
    table: defaultTable,
    fields: fieldsOf(metricsGroup, 'nodes', false),
    handle: async (ctx) => {
      const info = ctx.info as ResourceRequestInfo
      const r = new ResourceRequest(ctx, nodes, o.deps)
      if (info.verb !== 'get' && info.verb !== 'list') throw methodNotSupported(nodesResource, info.verb)
      const store = await o.metrics()
      const now = o.clock.now()
      const of = (node: Readonly<Node>) => {
        const usage = store.nodeUsage(node.metadata?.name ?? '')
        return usage ? nodeMetrics(node, usage, now) : undefined
      }
      if (info.verb === 'get') {
        const node = o.nodes().find((n) => n.metadata?.name === info.name)
        const m = node && of(node)
        if (!m) throw notFound(nodesResource, info.name)
        r.respondObject(200, cachedObject(m as unknown as StoredObject))
        return
      }
      const matches = selectorsOf(r, nodes)
      const items: CachedObject[] = []
      for (const node of o.nodes()) {
        if (!matches.labels(node.metadata?.labels ?? {})) continue
        const m = of(node) as unknown as StoredObject | undefined
        if (m && matches.fields(m)) items.push(cachedObject(m))
      }
      r.respondList(sortByName(items), {})
    },
  }
  const pods: ResourceEndpoint = {
    definition: {
      group: metricsGroup,
      version: metricsVersion,
      resource: 'pods',
      kind: 'PodMetrics',
      listKind: 'PodMetricsList',
      singular: 'pod',
      namespaced: true,
      verbs: ['get', 'list'],
      shortNames: [],
      categories: [],
    },
    subresources: new Map(),
    table: defaultTable,
    fields: fieldsOf(metricsGroup, 'pods', true),
    handle: async (ctx) => {
      const info = ctx.info as ResourceRequestInfo
      const r = new ResourceRequest(ctx, pods, o.deps)
      if (info.verb !== 'get' && info.verb !== 'list') throw methodNotSupported(podsResource, info.verb)
      const store = await o.metrics()
      const now = o.clock.now()
      const of = (pod: Readonly<Pod>) => {
        const usage = store.podUsage(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '')
        return usage ? podMetrics(pod, usage, now) : undefined
      }
      if (info.verb === 'get') {
        const pod = o.pods(info.namespace).find((p) => p.metadata?.name === info.name)
        const m = pod && of(pod)
        // metrics-server names the pod with its namespace in the message.
        if (!m) throw notFound(podsResource, `${info.namespace}/${info.name}`)
        r.respondObject(200, cachedObject(m as unknown as StoredObject))
        return
      }
      const matches = selectorsOf(r, pods)
      const items: CachedObject[] = []
      for (const pod of o.pods(info.namespace)) {
        if (!matches.labels(pod.metadata?.labels ?? {})) continue
        const m = of(pod) as unknown as StoredObject | undefined
        if (m && matches.fields(m)) items.push(cachedObject(m))
      }
      r.respondList(sortByName(items), {})
    },
  }
  return [nodes, pods]
}

function selectorsOf(r: ResourceRequest, ep: ResourceEndpoint) {
  const q = r.ctx.query
  const labelSelector = q.get('labelSelector') ?? ''
  const fieldSelector = q.get('fieldSelector') ?? ''
  const labels = labelSelector === '' ? () => true : r.deps.labelSelector(labelSelector)
  const fieldTest = fieldSelector === '' ? undefined : r.deps.fieldSelector(ep, fieldSelector)
  return {
    labels,
    fields: (m: Readonly<StoredObject>) => (fieldTest ? fieldTest(ep.fields(m)) : true),
  }
}

function cachedObject(object: StoredObject): CachedObject {
  const namespace = object.metadata.namespace ?? ''
  const name = object.metadata.name ?? ''
  return { key: `${namespace}/${name}`, namespace, name, revision: 0, object, json: encoded(object) }
}

function sortByName(items: CachedObject[]): CachedObject[] {
  return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}
