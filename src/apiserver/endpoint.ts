import type { KubeObject } from '../api/object.ts'
import type { TableConvertor } from '../api/printers/index.ts'
import type { Handler, RequestContext } from './context.ts'
import type { RegistryStore, ResourceDefinition } from './registry/store.ts'
import type { CachedObject } from './registry/watch-cache.ts'

export type { TableColumn, TableConvertor } from '../api/printers/index.ts'

/** A subresource with its own handling (scale, binding, eviction, log, ...). */
export interface Subresource {
  /** The kind the subresource reads and writes (discovery shows it). */
  readonly group: string
  readonly version: string
  readonly kind: string
  readonly verbs: readonly string[]
  readonly handle: (ctx: RequestContext, ep: ResourceEndpoint) => Promise<void>
}

/**
 * Everything the apiserver serves for one resource of one group-version: its definition for
 * discovery and errors, the registry store (absent for resources that are not stored, such as
 * reviews), subresources, the Table printer and the fields its field selectors accept.
 */
export interface ResourceEndpoint {
  readonly definition: ResourceDefinition & {
    readonly singular: string
    readonly listKind: string
    readonly shortNames: readonly string[]
    readonly categories: readonly string[]
    readonly verbs: readonly string[]
  }
  readonly store?: RegistryStore
  /** For resources that are not stored: handles every verb itself. */
  readonly handle?: Handler
  readonly subresources: ReadonlyMap<string, Subresource>
  readonly table: TableConvertor
  /** The values field selectors match against; metadata.name and metadata.namespace at least. */
  readonly fields: (o: Readonly<KubeObject>) => Record<string, string>
}

/** Finds the endpoint of a request's group, version and resource. */
export interface EndpointRegistry {
  lookup(group: string, version: string, resource: string): ResourceEndpoint | undefined
  all(): readonly ResourceEndpoint[]
}

export type { CachedObject }
