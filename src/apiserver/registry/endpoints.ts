import type { EndpointRegistry, ResourceEndpoint } from '../endpoint.ts'

/** The endpoints the apiserver serves, by group, version and resource, in the order they were added. */
export class Endpoints implements EndpointRegistry {
  readonly #all: ResourceEndpoint[] = []
  /**
   * group → version → resource: every request looks its endpoint up, and three lookups of the
   * strings the path was split into cost less than joining them into a key to hash.
   */
  readonly #byGroup = new Map<string, Map<string, Map<string, ResourceEndpoint>>>()

  add(ep: ResourceEndpoint): void {
    const d = ep.definition
    let versions = this.#byGroup.get(d.group)
    if (!versions) this.#byGroup.set(d.group, (versions = new Map<string, Map<string, ResourceEndpoint>>()))
    let resources = versions.get(d.version)
    if (!resources) versions.set(d.version, (resources = new Map<string, ResourceEndpoint>()))
    if (resources.has(d.resource))
      throw new Error(`resource ${d.group}/${d.version}/${d.resource} is registered twice`)
    resources.set(d.resource, ep)
    this.#all.push(ep)
  }

  lookup(group: string, version: string, resource: string): ResourceEndpoint | undefined {
    return this.#byGroup.get(group)?.get(version)?.get(resource)
  }

  all(): readonly ResourceEndpoint[] {
    return [...this.#all]
  }
}
