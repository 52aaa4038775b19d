/**
 * What a pod's containers read from the API besides the pod: ConfigMaps and Secrets (env
 * configMapKeyRef / secretKeyRef / envFrom), the Services (service links) and the node's
 * allocatable (resourceFieldRef limits that a container leaves out).
 *
 * ConfigMaps and Secrets are read as the kubelet's "Get" change-detection strategy reads them:
 * a GET per object through the node's client, the answer kept for a short TTL so that the
 * containers of one pod, and the pods started together, share it. A missing object is not
 * remembered: the next sync (10 s on) asks again, so a ConfigMap created late is found. Services
 * come from an informer the caller runs (the kubelet's service lister).
 */
import type { ConfigMap, Node, Pod, Secret, Service } from '../../api/generated/types/core-v1.ts'
import type { Clock } from '../../base/clock.ts'
import { builtin, isNotFound, ResourceClient, type Informer, type RestClient } from '../../client/index.ts'
import { serviceLinkEnv, type EnvResolver } from './container-env.ts'

/** How long a ConfigMap or Secret read from the API is used again. */
export const defaultObjectTTLMs = 10_000

/** The annotation a static pod carries (kubernetes.io/config.source=file); the API's pods say api. */
export const configSourceAnnotation = 'kubernetes.io/config.source'

export interface PodResourcesOptions {
  /** The node's client (system:node:<name>; the node authorizer lets it read what its pods use). */
  rest: RestClient
  clock: Clock
  /** All services (the kubelet watches every namespace); none: no service links, as a kubelet without an API. */
  services?: Pick<Informer<Service>, 'hasSynced' | 'lister'>
  /** The Node as last seen (its allocatable). */
  node?: () => Readonly<Node> | undefined
  ttlMs?: number
}

export class PodResources implements EnvResolver {
  readonly #configMaps: ResourceClient<ConfigMap>
  readonly #secrets: ResourceClient<Secret>
  readonly #o: PodResourcesOptions
  readonly #cache = new Map<string, { at: number; value: Promise<unknown> }>()

  constructor(o: PodResourcesOptions) {
    this.#o = o
    this.#configMaps = new ResourceClient<ConfigMap>(o.rest, builtin('', 'v1', 'configmaps'))
    this.#secrets = new ResourceClient<Secret>(o.rest, builtin('', 'v1', 'secrets'))
  }

  configMap(namespace: string, name: string): Promise<Readonly<ConfigMap> | undefined> {
    return this.#get(`configmaps/${namespace}/${name}`, () => this.#configMaps.get(namespace, name))
  }

  secret(namespace: string, name: string): Promise<Readonly<Secret> | undefined> {
    return this.#get(`secrets/${namespace}/${name}`, () => this.#secrets.get(namespace, name))
  }

  serviceEnv(pod: Readonly<Pod>): Record<string, string> {
    const informer = this.#o.services
    if (informer === undefined) return {}
    // Static pods run before the API may be reachable; the others wait for a first list, so
    // that a pod does not start without the variables of services that exist.
    const isStatic = (pod.metadata?.annotations?.[configSourceAnnotation] ?? 'api') !== 'api'
    if (!informer.hasSynced) {
      if (isStatic) return {}
      throw new Error('services have not yet been read at least once, cannot construct envvars')
    }
    return serviceLinkEnv(informer.lister.list(), pod)
  }

  nodeAllocatable(): Readonly<Record<string, string>> | undefined {
    return this.#o.node?.()?.status?.allocatable
  }

  /** Forgets what was read (a pod's objects changed and must be read again now). */
  invalidate(): void {
    this.#cache.clear()
  }

  async #get<T>(key: string, read: () => Promise<T>): Promise<T | undefined> {
    const now = this.#o.clock.now()
    const hit = this.#cache.get(key)
    if (hit !== undefined && now - hit.at < (this.#o.ttlMs ?? defaultObjectTTLMs)) {
      return (await hit.value) as T | undefined
    }
    const value = read().then(
      (v) => v as T | undefined,
      (err: unknown) => {
        this.#cache.delete(key)
        if (isNotFound(err)) return undefined
        throw err
      },
    )
    this.#cache.set(key, { at: now, value })
    const v = await value
    if (v === undefined) this.#cache.delete(key)
    return v
  }
}
