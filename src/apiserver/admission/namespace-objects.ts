import type { KubeObject } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import { ApiError, forbidden } from '../errors.ts'
import type { RegistryStore } from '../registry/store.ts'
import type { AdmissionAttributes } from './admission.ts'

/** The objects of one resource in a namespace, as an admission plugin reads them. */
export type NamespaceObjects<T> = (namespace: string) => Promise<readonly Readonly<T>[]>

/** How long an empty live lookup is trusted (upstream's liveTTL). */
const liveLookupTtlMs = 30_000
/** How many namespaces' live lookups are remembered (upstream's LRU size). */
const liveLookupEntries = 10_000

/**
 * A namespace's objects from the apiserver's watch cache, the way Kubernetes' admission plugins
 * read LimitRanges from an informer's lister: what the cache holds, without waiting for it to
 * catch up (a write a moment old may be missing, as with any lister). When the cache holds none
 * and cannot tell it is current, one consistent read (a "live lookup") answers, and is trusted
 * for 30 s, so namespaces without such objects cost one read per half minute at most.
 *
 * The common case, a namespace with no LimitRanges or quotas, is answered from memory at once.
 */
export function objectsInNamespace<T extends object = KubeObject>(
  store: () => RegistryStore | undefined,
  clock: Clock,
): NamespaceObjects<T> {
  const live = new Map<string, { expires: number; items: readonly Readonly<T>[] }>()
  return async (namespace) => {
    const s = store()
    if (!s) return []
    const cached = s.cache.list(namespace)
    if (cached.length > 0) return cached.map((c) => c.object as Readonly<T>)
    if (s.cache.isCurrent()) return []
    const now = clock.now()
    const hit = live.get(namespace)
    if (hit && hit.expires > now) return hit.items
    const items = (await s.list(namespace, {})).items.map((c) => c.object as Readonly<T>)
    if (live.size >= liveLookupEntries) live.clear()
    live.set(namespace, { expires: now + liveLookupTtlMs, items })
    return items
  }
}

/**
 * One object by name from the watch cache, as from an informer's lister (a moment stale at
 * worst, never waiting); when the cache does not have it, a consistent read makes sure it really
 * is not there (upstream's NamespaceGetterFromListerAndClient).
 */
export function objectByName<T extends object = KubeObject>(
  store: () => RegistryStore | undefined,
): (namespace: string, name: string) => Promise<Readonly<T> | undefined> {
  const read = async (s: RegistryStore, namespace: string, name: string, rv: string) => {
    try {
      return (await s.get(namespace, name, rv)).object as Readonly<T>
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined
      throw err
    }
  }
  return async (namespace, name) => {
    const s = store()
    if (!s) return undefined
    return (await read(s, namespace, name, '0')) ?? read(s, namespace, name, '')
  }
}

/**
 * 403 Forbidden for an admission refusal, naming the object as admission.NewForbidden does: by
 * its name, else its generateName, else "Unknown".
 */
export function admissionForbidden(a: AdmissionAttributes, why: string) {
  const meta = a.object?.metadata
  const name = a.name || meta?.name || meta?.generateName || 'Unknown'
  return forbidden({ group: a.group, resource: a.resource }, name, why)
}

/** Several errors as one message, as utilerrors.NewAggregate prints them. */
export function aggregate(messages: readonly string[]): string {
  return messages.length === 1 ? (messages[0] ?? '') : `[${messages.join(', ')}]`
}
