import type { ClusterRoleBinding, RoleBinding } from '../../../api/generated/types/rbac-v1.ts'
import type { Logger } from 'pino'
import type { CacheEvent, CachedObject, WatchCache } from '../../registry/watch-cache.ts'
import type { PolicyCache } from './policy-cache.ts'

/** The apiserver's own caches of the four RBAC resources. */
export interface RbacCaches {
  readonly roles: WatchCache
  readonly clusterRoles: WatchCache
  readonly roleBindings: WatchCache
  readonly clusterRoleBindings: WatchCache
}

/**
 * Keeps the policy cache equal to the apiserver's watch caches of Roles, ClusterRoles,
 * RoleBindings and ClusterRoleBindings (kube-apiserver's RBAC authorizer reads informers the
 * same way): everything is loaded once, then each event updates one entry, synchronously as the
 * cache applies it. When a cache ends the subscription (it relisted after falling behind
 * compaction), that resource is loaded again a moment later. Resolves once the first load is in.
 */
export async function followRbacCaches(
  policy: PolicyCache,
  caches: RbacCaches,
  o: { signal: AbortSignal; log: Logger; retryMs?: number },
): Promise<void> {
  const apply = {
    roles: (c: CachedObject, gone: boolean) =>
      policy.setRole(c.namespace, c.name, gone ? undefined : c.object),
    clusterRoles: (c: CachedObject, gone: boolean) =>
      policy.setClusterRole(c.name, gone ? undefined : c.object),
    roleBindings: (c: CachedObject, gone: boolean) =>
      policy.setRoleBinding(c.namespace, c.name, gone ? undefined : (c.object as Readonly<RoleBinding>)),
    clusterRoleBindings: (c: CachedObject, gone: boolean) =>
      policy.setClusterRoleBinding(c.name, gone ? undefined : (c.object as Readonly<ClusterRoleBinding>)),
  }
  const follow = (which: keyof RbacCaches, loaded: Set<string>) => {
    if (o.signal.aborted) return
    const cache = caches[which]
    const set = apply[which]
    // What this resource had before a reload: whatever the new list lacks is gone.
    const seen = new Set<string>()
    for (const c of cache.list()) {
      set(c, false)
      seen.add(c.key)
    }
    for (const key of loaded) if (!seen.has(key)) set(gone(cache, key), true)
    const subscribed = cache.subscribe(cache.revision, o.signal, {
      event(e: CacheEvent) {
        switch (e.type) {
          case 'ADDED':
          case 'MODIFIED':
            seen.add(e.current.key)
            set(e.current, false)
            break
          case 'DELETED':
            seen.delete(e.previous.key)
            set(e.previous, true)
            break
          case 'BOOKMARK':
            break
        }
        return true
      },
      end() {
        if (o.signal.aborted) return
        o.log.info({ resource: which }, 'RBAC cache subscription ended; reloading')
        setTimeout(() => follow(which, seen), o.retryMs ?? 1000).unref()
      },
    })
    if (!subscribed) setTimeout(() => follow(which, seen), o.retryMs ?? 1000).unref()
  }
  await Promise.all(Object.values(caches).map((c: WatchCache) => c.start()))
  for (const which of Object.keys(caches) as (keyof RbacCaches)[]) follow(which, new Set())
}

/** A stand-in for an object known only by its key (to remove it). */
function gone(cache: WatchCache, key: string): CachedObject {
  const rest = key.slice(cache.prefix.length)
  const slash = rest.indexOf('/')
  const namespaced = cache.keyFor('a', 'b').slice(cache.prefix.length).includes('/')
  return {
    key,
    namespace: namespaced && slash >= 0 ? rest.slice(0, slash) : '',
    name: namespaced && slash >= 0 ? rest.slice(slash + 1) : rest,
    revision: 0,
    object: { metadata: {} },
    json: Buffer.alloc(0),
  }
}
