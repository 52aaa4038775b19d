import { resources } from './generated/resources.ts'

/**
 * A built-in resource as discovery describes it: generated from the OpenAPI data
 * (scripts/generate-api.ts), with short names and categories from scripts/api-facts.ts.
 */
export interface ResourceInfo {
  readonly group: string
  readonly version: string
  /** The plural, lower-case name in URLs: pods, deployments. */
  readonly resource: string
  readonly kind: string
  readonly listKind: string
  readonly singular: string
  readonly namespaced: boolean
  /** get, list, watch, create, update, patch, delete, deletecollection. */
  readonly verbs: readonly string[]
  readonly shortNames: readonly string[]
  readonly categories: readonly string[]
  readonly subresources: readonly SubresourceInfo[]
}

export interface SubresourceInfo {
  readonly name: string
  /** The kind read and written through the subresource (deployments/scale: autoscaling/v1 Scale). */
  readonly group: string
  readonly version: string
  readonly kind: string
  readonly verbs: readonly string[]
}

/** Every resource of the group-versions the apiserver serves. */
export const builtinResources: readonly ResourceInfo[] = resources

/** The resource of a group, version and plural name. */
export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return builtinResources.find((r) => r.group === group && r.version === version && r.resource === resource)
}

/** The resource whose objects have this group, version and kind. */
export function resourceForKind(group: string, version: string, kind: string): ResourceInfo | undefined {
  return builtinResources.find((r) => r.group === group && r.version === version && r.kind === kind)
}
