import { groups, listKinds, resources } from './generated/resources.ts'
import type { GroupVersionKind } from './schema.ts'

/**
 * The built-in resources and groups the apiserver serves, as discovery describes them. Generated
 * from the Kubernetes OpenAPI data by scripts/generate-api.ts (paths, actions and kinds of each
 * operation), with short names, categories, group order and storage from scripts/api-facts.ts.
 * Only stable group-versions are in it (core/v1, apps/v1, autoscaling/v1 and v2, ...).
 *
 * The tables are in discovery order: groups as kube-apiserver lists them (core first), versions
 * preferred first, resources by name.
 */

/** The verbs of discovery; a subresource of a connect kind (exec, proxy) lists its HTTP verbs. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection'

export interface ResourceInfo {
  readonly group: string
  readonly version: string
  /** The plural, lower-case name in URLs: pods, deployments. */
  readonly resource: string
  readonly kind: string
  /** The kind of a list response (PodList); empty for a resource without the list verb. */
  readonly listKind: string
  /** The lower-case kind: pod, deployment. */
  readonly singular: string
  readonly namespaced: boolean
  /** Sorted {@link Verb}s. */
  readonly verbs: readonly string[]
  readonly shortNames: readonly string[]
  readonly categories: readonly string[]
  /** Sorted by name. */
  readonly subresources: readonly SubresourceInfo[]
  /**
   * Where the objects live and in which version they are stored. Versions of one resource share
   * one set of objects (autoscaling/v1 and v2 horizontalpodautoscalers, stored as v2), and
   * events.k8s.io events are core events.
   */
  readonly storage: { readonly group: string; readonly resource: string; readonly version: string }
  /** Discovery's storageVersionHash of the storage version. */
  readonly storageVersionHash: string
}

export interface SubresourceInfo {
  /** status, scale, log, exec, ... */
  readonly name: string
  /** The kind read and written through the subresource (deployments/scale: autoscaling/v1 Scale). */
  readonly group: string
  readonly version: string
  readonly kind: string
  /** Sorted {@link Verb}s. */
  readonly verbs: readonly string[]
}

export interface GroupInfo {
  /** '' for the core group. */
  readonly group: string
  /** Served versions, the preferred one first. */
  readonly versions: readonly string[]
  readonly preferredVersion: string
}

/** Every resource of the served group-versions. */
export const builtinResources: readonly ResourceInfo[] = resources

/** Every served group, in discovery order. */
export const builtinGroups: readonly GroupInfo[] = groups

const byResource = new Map(builtinResources.map((r) => [`${r.group}/${r.version}/${r.resource}`, r]))
const byKind = new Map(builtinResources.map((r) => [`${r.group}/${r.version}/${r.kind}`, r]))
const lists = new Set(listKinds.map((g) => `${g.group}/${g.version}/${g.kind}`))

/** The resource of a group, version and plural name. */
export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return byResource.get(`${group}/${version}/${resource}`)
}

/** The resource whose objects have this group, version and kind. */
export function resourceForKind(group: string, version: string, kind: string): ResourceInfo | undefined {
  return byKind.get(`${group}/${version}/${kind}`)
}

/** The resources of one group-version, in discovery order. */
export function resourcesOf(group: string, version: string): readonly ResourceInfo[] {
  return builtinResources.filter((r) => r.group === group && r.version === version)
}

/** Whether a kind of the served group-versions is a list (PodList: items plus list metadata). */
export function isListKind(gvk: GroupVersionKind): boolean {
  return lists.has(`${gvk.group}/${gvk.version}/${gvk.kind}`)
}
