import { writeJson, type Handler } from '../context.ts'
import type { EndpointRegistry, ResourceEndpoint } from '../endpoint.ts'
import { pathNotFound } from '../errors.ts'
import { asKind, parseAccept } from '../media.ts'

/**
 * Discovery, in both forms kubectl uses:
 * - aggregated (apidiscovery.k8s.io/v2, or v2beta1): /api and /apis answer everything in one
 *   document when the client asks for it in Accept, with the Content-Type parameters that say so;
 * - legacy: /api (APIVersions), /apis (APIGroupList), /apis/{group} (APIGroup), and
 *   /api/v1, /apis/{group}/{version} (APIResourceList), which `auth can-i` and `drain` call
 *   even when aggregated discovery is served.
 */
export interface DiscoveryOptions {
  endpoints: EndpointRegistry
  /** The address clients reach the apiserver at (APIVersions.serverAddressByClientCIDRs). */
  serverAddress: string
}

interface GroupVersions {
  group: string
  versions: { version: string; resources: ResourceEndpoint[] }[]
}

/** Groups and their versions in the order endpoints were added; the first version is preferred. */
function groups(endpoints: EndpointRegistry): GroupVersions[] {
  const out: GroupVersions[] = []
  for (const ep of endpoints.all()) {
    const d = ep.definition
    let g = out.find((x) => x.group === d.group)
    if (!g) out.push((g = { group: d.group, versions: [] }))
    let v = g.versions.find((x) => x.version === d.version)
    if (!v) g.versions.push((v = { version: d.version, resources: [] }))
    v.resources.push(ep)
  }
  return out
}

const aggregatedType = (version: string) =>
  `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`

/** Which aggregated discovery version the client accepts, if any (before plain JSON in its preference). */
function aggregatedVersion(accept: string | undefined): string | undefined {
  for (const range of parseAccept(accept)) {
    const as = asKind(range)
    if (
      as?.as === 'APIGroupDiscoveryList' &&
      as.group === 'apidiscovery.k8s.io' &&
      (as.version === 'v2' || as.version === 'v2beta1')
    ) {
      return as.version
    }
    if (as === undefined) return undefined
  }
  return undefined
}

export function discoveryHandlers(o: DiscoveryOptions): Map<string, Handler> {
  const handlers = new Map<string, Handler>()
  handlers.set('/api', async (ctx) => {
    const agg = aggregatedVersion(ctx.req.headers.accept)
    const core = groups(o.endpoints).filter((g) => g.group === '')
    if (agg) {
      writeJson(ctx, 200, aggregatedList(core, agg), aggregatedType(agg))
      return
    }
    writeJson(ctx, 200, {
      kind: 'APIVersions',
      versions: core.flatMap((g) => g.versions.map((v) => v.version)),
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: o.serverAddress }],
    })
  })
  handlers.set('/apis', async (ctx) => {
    const agg = aggregatedVersion(ctx.req.headers.accept)
    const named = groups(o.endpoints).filter((g) => g.group !== '')
    if (agg) {
      writeJson(ctx, 200, aggregatedList(named, agg), aggregatedType(agg))
      return
    }
    writeJson(ctx, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: named.map(apiGroup) })
  })
  // /apis/{group} and /apis/{group}/{version}, /api/v1
  const perGroup: Handler = async (ctx) => {
    const parts = ctx.path.split('/').filter((p) => p !== '')
    const all = groups(o.endpoints)
    if (parts[0] === 'api') {
      const v = all.find((g) => g.group === '')?.versions.find((x) => x.version === parts[1])
      if (!v || parts.length !== 2) throw pathNotFound()
      writeJson(ctx, 200, resourceList('', v.version, v.resources))
      return
    }
    const g = all.find((x) => x.group === parts[1])
    if (!g) throw pathNotFound()
    if (parts.length === 2) {
      writeJson(ctx, 200, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) })
      return
    }
    const v = g.versions.find((x) => x.version === parts[2])
    if (!v || parts.length !== 3) throw pathNotFound()
    writeJson(ctx, 200, resourceList(g.group, v.version, v.resources))
  }
  handlers.set('/api/', perGroup)
  handlers.set('/apis/', perGroup)
  return handlers
}

function apiGroup(g: GroupVersions) {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.group}/${v.version}`, version: v.version }))
  return { name: g.group, versions, preferredVersion: versions[0] }
}

function resourceList(group: string, version: string, resources: readonly ResourceEndpoint[]) {
  const groupVersion = group === '' ? version : `${group}/${version}`
  const entries: Record<string, unknown>[] = []
  for (const ep of resources) {
    const d = ep.definition
    const entry: Record<string, unknown> = {
      name: d.resource,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs,
    }
    if (d.shortNames.length > 0) entry.shortNames = d.shortNames
    if (d.categories.length > 0) entry.categories = d.categories
    entries.push(entry)
    for (const [name, sub] of ep.subresources) {
      const s: Record<string, unknown> = {
        name: `${d.resource}/${name}`,
        singularName: '',
        namespaced: d.namespaced,
      }
      if (sub.group !== group || sub.version !== version) {
        s.group = sub.group
        s.version = sub.version
      }
      s.kind = sub.kind
      s.verbs = sub.verbs
      entries.push(s)
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources: entries }
}

function aggregatedList(gs: readonly GroupVersions[], version: string) {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: gs.map((g) => ({
      metadata: { name: g.group },
      versions: g.versions.map((v) => ({
        version: v.version,
        resources: v.resources.map((ep) => {
          const d = ep.definition
          const r: Record<string, unknown> = {
            resource: d.resource,
            responseKind: { group: d.group, version: d.version, kind: d.kind },
            scope: d.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: d.singular,
            verbs: d.verbs,
          }
          if (d.shortNames.length > 0) r.shortNames = d.shortNames
          if (d.categories.length > 0) r.categories = d.categories
          if (ep.subresources.size > 0) {
            r.subresources = [...ep.subresources].map(([name, s]) => ({
              subresource: name,
              responseKind: { group: s.group, version: s.version, kind: s.kind },
              verbs: s.verbs,
            }))
          }
          return r
        }),
        freshness: 'Current',
      })),
    })),
  }
}
