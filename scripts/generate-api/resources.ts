import { categories, shortNames } from '../api-facts.ts'
import { methods, pathGroupVersion, servedGroupVersions, type OpenApiV2 } from './openapi-v2.ts'

/**
 * The resource table: every resource of the served group-versions, read off the OpenAPI paths
 * (path shape, x-kubernetes-action, the GVK of each operation), plus the short names and
 * categories of api-facts.ts. The row shape is ResourceInfo in src/api/resources.ts.
 */
interface Row {
  group: string
  version: string
  resource: string
  kind: string
  listKind: string
  singular: string
  namespaced: boolean
  verbs: Set<string>
  shortNames: string[]
  categories: string[]
  subresources: Map<string, { group: string; version: string; kind: string; verbs: Set<string> }>
}

const actionVerbs: Record<string, string> = {
  get: 'get',
  list: 'list',
  watch: 'watch',
  watchlist: 'watch',
  post: 'create',
  put: 'update',
  patch: 'patch',
  delete: 'delete',
  deletecollection: 'deletecollection',
}

const connectVerbs: Record<string, string> = {
  get: 'get',
  post: 'create',
  put: 'update',
  patch: 'patch',
  delete: 'delete',
  head: 'get',
  options: 'get',
}

export function generateResources(doc: OpenApiV2): Record<string, unknown>[] {
  const served = new Set(servedGroupVersions)
  const rows = new Map<string, Row>()
  for (const path of Object.keys(doc.paths).sort()) {
    const gvKey = pathGroupVersion(path)
    if (!served.has(gvKey)) continue
    const [group, version] =
      gvKey === 'api/v1' ? ['', 'v1'] : [gvKey.split('/')[1] ?? '', gvKey.split('/')[2] ?? '']
    let rest = path.replace(/^\/+/, '').split('/').slice(gvKey.split('/').length)
    if (rest[0] === 'watch') rest = rest.slice(1)
    let namespaced = false
    if (rest[0] === 'namespaces' && rest[1] === '{namespace}' && rest.length > 2) {
      namespaced = true
      rest = rest.slice(2)
    }
    const resource = rest[0]
    if (!resource || resource.startsWith('{')) continue
    const hasName = rest[1] !== undefined && rest[1].startsWith('{')
    const sub = hasName ? rest[2] : undefined
    const item = doc.paths[path] ?? {}
    for (const m of methods) {
      const op = item[m]
      const gvk = op?.['x-kubernetes-group-version-kind']
      const action = op?.['x-kubernetes-action']
      if (!op || !gvk || !action) continue
      const key = `${group}/${version}/${resource}`
      let row = rows.get(key)
      if (!sub) {
        if (!row) {
          row = {
            group,
            version,
            resource,
            kind: gvk.kind,
            listKind: `${gvk.kind}List`,
            singular: gvk.kind.toLowerCase(),
            namespaced,
            verbs: new Set(),
            shortNames: shortNames[`${group}/${resource}`] ?? [],
            categories: categories[`${group}/${resource}`] ?? [],
            subresources: new Map(),
          }
          rows.set(key, row)
        }
        if (row.kind === '') {
          row.kind = gvk.kind
          row.listKind = `${gvk.kind}List`
          row.singular = gvk.kind.toLowerCase()
        }
        if (namespaced) row.namespaced = true
        const verb = actionVerbs[action]
        if (verb) row.verbs.add(verb)
        continue
      }
      if (!row) {
        // A subresource before its resource (paths sort that way only for odd names): make the row
        // from the resource's own operations later; remember the subresource now.
        row = {
          group,
          version,
          resource,
          kind: '',
          listKind: '',
          singular: '',
          namespaced,
          verbs: new Set(),
          shortNames: shortNames[`${group}/${resource}`] ?? [],
          categories: categories[`${group}/${resource}`] ?? [],
          subresources: new Map(),
        }
        rows.set(key, row)
      }
      let s = row.subresources.get(sub)
      if (!s)
        row.subresources.set(
          sub,
          (s = { group: gvk.group, version: gvk.version, kind: gvk.kind, verbs: new Set() }),
        )
      const verb = action === 'connect' ? connectVerbs[m] : actionVerbs[action]
      if (verb) s.verbs.add(verb)
    }
  }
  return [...rows.values()]
    .filter((r) => r.kind !== '')
    .sort(
      (a, b) =>
        a.group.localeCompare(b.group) ||
        a.version.localeCompare(b.version) ||
        a.resource.localeCompare(b.resource),
    )
    .map((r) => ({
      group: r.group,
      version: r.version,
      resource: r.resource,
      kind: r.kind,
      listKind: r.listKind,
      singular: r.singular,
      namespaced: r.namespaced,
      verbs: [...r.verbs].sort(),
      shortNames: r.shortNames,
      categories: r.categories,
      subresources: [...r.subresources]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, s]) => ({
          name,
          group: s.group,
          version: s.version,
          kind: s.kind,
          verbs: [...s.verbs].sort(),
        })),
    }))
}
