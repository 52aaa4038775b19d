import type { EndpointRegistry, ResourceEndpoint } from '../endpoint.ts'

/** The endpoints the apiserver serves, by group, version and resource, in the order they were added. */
export class Endpoints implements EndpointRegistry {
  readonly #byKey = new Map<string, ResourceEndpoint>()

  add(ep: ResourceEndpoint): void {
    const d = ep.definition
    const key = `${d.group}/${d.version}/${d.resource}`
    if (this.#byKey.has(key)) throw new Error(`resource ${key} is registered twice`)
    this.#byKey.set(key, ep)
  }

  lookup(group: string, version: string, resource: string): ResourceEndpoint | undefined {
    return this.#byKey.get(`${group}/${version}/${resource}`)
  }

  all(): readonly ResourceEndpoint[] {
    return [...this.#byKey.values()]
  }
}
