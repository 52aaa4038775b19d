import type { Logger } from 'pino'
import type { Pod } from '../../../api/generated/types/core-v1.ts'
import type { ResourceSlice } from '../../../api/generated/types/resource-v1.ts'
import type { VolumeAttachment } from '../../../api/generated/types/storage-v1.ts'
import type { CacheEvent, CachedObject, WatchCache } from '../../registry/watch-cache.ts'
import type { NodeGraph } from './graph.ts'

/** The apiserver's own caches the Node authorizer's graph is built from. */
export interface NodeGraphCaches {
  readonly pods: WatchCache
  readonly persistentVolumes: WatchCache
  readonly volumeAttachments?: WatchCache
  readonly resourceSlices?: WatchCache
}

/** How the graph takes one resource's objects. */
interface Feed {
  set(c: CachedObject, previous: CachedObject | undefined): void
  remove(c: CachedObject): void
}

/**
 * Keeps the graph equal to the apiserver's watch caches of pods, PersistentVolumes,
 * VolumeAttachments and ResourceSlices (kube-apiserver's graph populator does the same from
 * informers): everything is loaded once, then each event changes the graph synchronously as the
 * cache applies it, so no request lists anything. A pod update changes the graph only when the
 * pod moved to a node (or was replaced under the same name) or its resource claim statuses changed: the
 * objects a bound pod names cannot change. When a cache ends the subscription (it relisted
 * after falling behind compaction), that resource is loaded again a moment later, and objects
 * the new list lacks are removed. Resolves once the first load is in.
 */
export async function followNodeGraphCaches(
  graph: NodeGraph,
  caches: NodeGraphCaches,
  o: { signal: AbortSignal; log: Logger; retryMs?: number },
): Promise<void> {
  const feeds: [string, WatchCache, Feed][] = [
    [
      'pods',
      caches.pods,
      {
        set(c, previous) {
          const pod = c.object as Readonly<Pod>
          if ((pod.spec?.nodeName ?? '') === '') return
          if (previous && !podReferencesChanged(previous.object, pod)) return
          graph.addPod(pod)
        },
        remove: (c) => graph.deletePod(c.namespace, c.name),
      },
    ],
    [
      'persistentvolumes',
      caches.persistentVolumes,
      {
        set: (c) => graph.addPersistentVolume(c.object),
        remove: (c) => graph.deletePersistentVolume(c.name),
      },
    ],
  ]
  if (caches.volumeAttachments) {
    feeds.push([
      'volumeattachments',
      caches.volumeAttachments,
      {
        set(c, previous) {
          const node = (c.object as Readonly<VolumeAttachment>).spec?.nodeName ?? ''
          if (previous && (previous.object as Readonly<VolumeAttachment>).spec?.nodeName === node) return
          graph.addNodeObject('volumeattachment', c.name, node)
        },
        remove: (c) => graph.deleteNodeObject('volumeattachment', c.name),
      },
    ])
  }
  if (caches.resourceSlices) {
    feeds.push([
      'resourceslices',
      caches.resourceSlices,
      {
        // spec.nodeName of a slice never changes.
        set(c, previous) {
          if (previous) return
          graph.addNodeObject(
            'resourceslice',
            c.name,
            (c.object as Readonly<ResourceSlice>).spec?.nodeName ?? '',
          )
        },
        remove: (c) => graph.deleteNodeObject('resourceslice', c.name),
      },
    ])
  }

  const follow = (resource: string, cache: WatchCache, feed: Feed, loaded: Map<string, CachedObject>) => {
    if (o.signal.aborted) return
    // What this resource had before a reload: whatever the new list lacks is gone.
    const current = new Map<string, CachedObject>()
    for (const c of cache.list()) {
      feed.set(c, undefined)
      current.set(c.key, c)
    }
    for (const [key, c] of loaded) if (!current.has(key)) feed.remove(c)
    const retry = () => setTimeout(() => follow(resource, cache, feed, current), o.retryMs ?? 1000).unref()
    const subscribed = cache.subscribe(cache.revision, o.signal, {
      event(e: CacheEvent) {
        switch (e.type) {
          case 'ADDED':
            current.set(e.current.key, e.current)
            feed.set(e.current, undefined)
            break
          case 'MODIFIED':
            current.set(e.current.key, e.current)
            feed.set(e.current, e.previous)
            break
          case 'DELETED':
            current.delete(e.previous.key)
            feed.remove(e.previous)
            break
          case 'BOOKMARK':
            break
        }
        return true
      },
      end() {
        if (o.signal.aborted) return
        o.log.info({ resource }, 'Node authorizer cache subscription ended; reloading')
        retry()
      },
    })
    if (!subscribed) retry()
  }
  await Promise.all(feeds.map(([, cache]) => cache.start()))
  for (const [resource, cache, feed] of feeds) follow(resource, cache, feed, new Map())
}

/** Whether an update of a pod can change what it grants its node (upstream's updatePod test). */
function podReferencesChanged(previous: Readonly<Pod>, pod: Readonly<Pod>): boolean {
  if ((previous.spec?.nodeName ?? '') !== (pod.spec?.nodeName ?? '')) return true
  if (previous.metadata?.uid !== pod.metadata?.uid) return true
  const a = previous.status?.resourceClaimStatuses ?? []
  const b = pod.status?.resourceClaimStatuses ?? []
  if (a.length !== b.length) return true
  if (a.some((x, i) => x.name !== b[i]?.name || x.resourceClaimName !== b[i]?.resourceClaimName)) return true
  const extended = (p: Readonly<Pod>) => p.status?.extendedResourceClaimStatus?.resourceClaimName ?? ''
  return extended(previous) !== extended(pod)
}
