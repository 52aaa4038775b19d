import { categories, servedGroups, sharedStorage, shortNames } from '../api-facts.ts'
import { compareStrings, storageVersionHash } from './json.ts'
import {
  documentKey,
  groupVersionOfKey,
  methods,
  refName,
  type GroupVersionKindV2,
  type Method,
  type OpenApiV2,
} from './input.ts'

/**
 * The resource table (rows shaped as ResourceInfo in src/api/resources.ts): every resource of the
 * served group-versions, read off the paths of the served v2 document.
 *
 * - A path `/api/v1[/watch][/namespaces/{namespace}]/<resource>[/{name}[/<subresource>...]]`
 *   (or `/apis/<group>/<version>/...`) names a resource, its scope (a {namespace} segment makes it
 *   namespaced) and possibly a subresource.
 * - Each operation's x-kubernetes-action gives a verb (list, watch and watchlist, post = create,
 *   put = update, ...; a connect action takes the verb of its HTTP method), and its
 *   x-kubernetes-group-version-kind the kind read and written there: deployments/scale is
 *   autoscaling/v1 Scale, pods/eviction policy/v1 Eviction.
 * - The list kind is the kind of the list operation's response.
 * - Short names, categories, the group order and shared storage come from api-facts.ts.
 */
export interface GeneratedResources {
  groups: { group: string; versions: string[]; preferredVersion: string }[]
  resources: Row[]
  listKinds: GroupVersionKindV2[]
}

interface Row {
  group: string
  version: string
  resource: string
  kind: string
  listKind: string
  singular: string
  namespaced: boolean
  verbs: string[]
  shortNames: string[]
  categories: string[]
  subresources: { name: string; group: string; version: string; kind: string; verbs: string[] }[]
  storage: { group: string; resource: string; version: string }
  storageVersionHash: string
}

interface Draft {
  group: string
  version: string
  resource: string
  namespaced: boolean
  kind?: string
  listKind?: string
  verbs: Set<string>
  subresources: Map<string, GroupVersionKindV2 & { verbs: Set<string> }>
}

export function generateResources(doc: OpenApiV2): GeneratedResources {
  const drafts = new Map<string, Draft>()
  for (const path of Object.keys(doc.paths).sort()) {
    const at = parseResourcePath(path)
    const item = doc.paths[path]
    if (!at || !item) continue
    const key = `${at.group}/${at.version}/${at.resource}`
    const draft: Draft = drafts.get(key) ?? {
      group: at.group,
      version: at.version,
      resource: at.resource,
      namespaced: false,
      verbs: new Set(),
      subresources: new Map(),
    }
    drafts.set(key, draft)
    if (at.namespaced) draft.namespaced = true
    for (const m of methods) {
      const op = item[m]
      const gvk = op?.['x-kubernetes-group-version-kind']
      const action = op?.['x-kubernetes-action']
      if (!op || !gvk || !action) continue
      const verb = verbOf(action, m)
      if (at.subresource === undefined) {
        if (gvk.group !== at.group || gvk.version !== at.version) {
          throw new Error(`generate-api: ${m} ${path} has kind ${gvk.group}/${gvk.version} ${gvk.kind}`)
        }
        draft.kind ??= gvk.kind
        if (draft.kind !== gvk.kind) {
          throw new Error(`generate-api: ${path} has kinds ${draft.kind} and ${gvk.kind}`)
        }
        if (verb) draft.verbs.add(verb)
        if (action === 'list') draft.listKind = listKindOf(doc, op.responses?.['200']?.schema?.$ref, path)
      } else {
        const sub = draft.subresources.get(at.subresource) ?? { ...gvk, verbs: new Set<string>() }
        draft.subresources.set(at.subresource, sub)
        if (verb) sub.verbs.add(verb)
      }
    }
  }

  const resources = [...drafts.values()].sort(byDiscoveryOrder).map(toRow)
  checkFacts(resources)
  return {
    groups: servedGroups.map((g) => ({
      group: g.group,
      versions: [...g.versions],
      preferredVersion: g.versions[0] ?? '',
    })),
    resources,
    listKinds: listKindsOf(doc),
  }
}

/** Where a path points in the resource tree, or undefined for discovery and non-resource paths. */
export function parseResourcePath(
  path: string,
):
  | { group: string; version: string; resource: string; namespaced: boolean; subresource?: string }
  | undefined {
  const key = documentKey(path)
  const gv = groupVersionOfKey(key)
  if (!gv) return undefined
  let rest = path
    .split('/')
    .filter((p) => p !== '')
    .slice(key.split('/').length)
  if (rest[0] === 'watch') rest = rest.slice(1)
  let namespaced = false
  if (rest[0] === 'namespaces' && rest[1] === '{namespace}' && rest.length > 2) {
    namespaced = true
    rest = rest.slice(2)
  }
  const [resource, name, subresource] = rest
  if (resource === undefined || resource.startsWith('{')) return undefined
  if (name !== undefined && !name.startsWith('{')) {
    throw new Error(`generate-api: ${path} does not have the shape of a resource path`)
  }
  return subresource === undefined
    ? { ...gv, resource, namespaced }
    : { ...gv, resource, namespaced, subresource }
}

const actionVerbs: Readonly<Record<string, string>> = {
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

const connectVerbs: Readonly<Partial<Record<Method, string>>> = {
  get: 'get',
  post: 'create',
  put: 'update',
  patch: 'patch',
  delete: 'delete',
}

function verbOf(action: string, method: Method): string | undefined {
  return action === 'connect' ? connectVerbs[method] : actionVerbs[action]
}

function listKindOf(doc: OpenApiV2, ref: string | undefined, path: string): string {
  const gvk =
    ref === undefined ? undefined : doc.definitions[refName(ref)]?.['x-kubernetes-group-version-kind']?.[0]
  if (!gvk) throw new Error(`generate-api: the list operation of ${path} returns no kind`)
  return gvk.kind
}

const groupOrder = new Map(servedGroups.map((g, i) => [g.group, i]))

function byDiscoveryOrder(a: Draft, b: Draft): number {
  const versions = (g: string) => servedGroups.find((s) => s.group === g)?.versions ?? []
  return (
    (groupOrder.get(a.group) ?? 0) - (groupOrder.get(b.group) ?? 0) ||
    versions(a.group).indexOf(a.version) - versions(b.group).indexOf(b.version) ||
    compareStrings(a.resource, b.resource)
  )
}

function toRow(d: Draft): Row {
  const name = `${d.group}/${d.resource}`
  if (d.kind === undefined) throw new Error(`generate-api: ${d.group}/${d.version} ${d.resource} has no kind`)
  const shared = sharedStorage[name] ?? { group: d.group, resource: d.resource }
  const storageVersion = servedGroups.find((g) => g.group === shared.group)?.versions[0]
  if (storageVersion === undefined) throw new Error(`generate-api: ${name} is stored in an unserved group`)
  return {
    group: d.group,
    version: d.version,
    resource: d.resource,
    kind: d.kind,
    listKind: d.listKind ?? '',
    singular: d.kind.toLowerCase(),
    namespaced: d.namespaced,
    verbs: [...d.verbs].sort(),
    shortNames: [...(shortNames[name] ?? [])],
    categories: [...(categories[name] ?? [])],
    subresources: [...d.subresources]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([sub, s]) => ({
        name: sub,
        group: s.group,
        version: s.version,
        kind: s.kind,
        verbs: [...s.verbs].sort(),
      })),
    storage: { ...shared, version: storageVersion },
    storageVersionHash: storageVersionHash(shared.group, storageVersion, d.kind),
  }
}

/** A fact about a resource the data does not have is a typo: fail rather than drop it. */
function checkFacts(rows: readonly Row[]): void {
  const known = new Set(rows.map((r) => `${r.group}/${r.resource}`))
  for (const facts of [shortNames, categories, sharedStorage]) {
    for (const name of Object.keys(facts)) {
      if (!known.has(name)) throw new Error(`generate-api: api-facts.ts names ${name}, which is not served`)
    }
  }
  for (const g of servedGroups) {
    for (const v of g.versions) {
      if (!rows.some((r) => r.group === g.group && r.version === v)) {
        throw new Error(`generate-api: the data has no resources for ${g.group}/${v}`)
      }
    }
  }
}

/** Kinds of the served data that are lists: an `items` array and list metadata. */
function listKindsOf(doc: OpenApiV2): GroupVersionKindV2[] {
  const out: GroupVersionKindV2[] = []
  for (const def of Object.values(doc.definitions)) {
    const metadata = def.properties?.metadata?.$ref
    if (
      def.properties?.items?.type !== 'array' ||
      metadata !== '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta'
    ) {
      continue
    }
    for (const g of def['x-kubernetes-group-version-kind'] ?? [])
      out.push({ group: g.group, version: g.version, kind: g.kind })
  }
  return out.sort(
    (a, b) =>
      compareStrings(a.group, b.group) ||
      compareStrings(a.version, b.version) ||
      compareStrings(a.kind, b.kind),
  )
}
