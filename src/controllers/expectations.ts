import type { Pod } from '../api/generated/types/core-v1.ts'
import type { Clock } from '../base/clock.ts'
import { objectKey, type EventHandler, type ObjectLike, type WorkQueue } from '../client/index.ts'
import { controllerRef } from './owner-refs.ts'
import { isPodReady } from './pod-state.ts'

/**
 * What a controller is waiting to see (Kubernetes' ControllerExpectations). After it asks for N
 * creations or deletions, its informer's cache still shows the old world until the watch delivers
 * them; acting on that stale cache would create or delete twice. So the controller records what
 * it expects, the informer's handlers count off what they observe, and the controller acts on a
 * key again only once its expectations are met, or have waited so long (5 minutes) that
 * something must have gone wrong (a lost watch event) and the cache is trusted again.
 */
export class Expectations {
  readonly #clock: Clock
  readonly #records = new Map<string, { adds: number; dels: Set<string>; at: number }>()
  readonly #ttlMs: number

  constructor(clock: Clock, ttlMs = 5 * 60 * 1000) {
    this.#clock = clock
    this.#ttlMs = ttlMs
  }

  /** Nothing pending for the key (or its expectations expired): the controller may act on it. */
  satisfied(key: string): boolean {
    const r = this.#records.get(key)
    if (!r) return true
    if (r.adds <= 0 && r.dels.size === 0) return true
    return this.#clock.now() - r.at > this.#ttlMs
  }

  /** Sets what the key waits for: `adds` creations and the deletion of the pods keyed `dels`. */
  expect(key: string, adds: number, dels: readonly string[] = []): void {
    this.#records.set(key, { adds, dels: new Set(dels), at: this.#clock.now() })
  }

  /** A creation was seen (or failed, and will never be seen). */
  creationObserved(key: string): void {
    const r = this.#records.get(key)
    if (r) r.adds--
  }

  /** The deletion of `podKey` was seen (or failed). */
  deletionObserved(key: string, podKey: string): void {
    this.#records.get(key)?.dels.delete(podKey)
  }

  /** Forgets the key (its owner is gone). */
  delete(key: string): void {
    this.#records.delete(key)
  }
}

/**
 * The pod handlers of a controller that makes pods and keeps expectations of them (upstream's
 * addPod, updatePod and deletePod of the ReplicaSet and DaemonSet controllers): a pod's owner (the
 * key of the owner of this controller's kind that controls it, if cached) hears of its creation
 * and deletion; an orphan wakes every owner that might adopt it; a pod that became Ready wakes its
 * owner again once it has been available for the owner's minReadySeconds (and a second more).
 */
export function ownedPodHandler(o: {
  queue: WorkQueue
  expectations: Expectations
  ownerOf: (pod: Readonly<Pod>) => string | undefined
  matchingOwners: (pod: Readonly<Pod>) => Iterable<string>
  minReadySeconds: (ownerKey: string) => number
}): EventHandler<Pod> {
  const gone = (pod: Readonly<Pod>) => {
    const owner = o.ownerOf(pod)
    if (!owner) return
    o.expectations.deletionObserved(owner, objectKey(pod))
    o.queue.add(owner)
  }
  return {
    add: (pod) => {
      if (pod.metadata?.deletionTimestamp) return gone(pod)
      const owner = o.ownerOf(pod)
      if (owner) {
        o.expectations.creationObserved(owner)
        o.queue.add(owner)
        return
      }
      if (!controllerRef(pod)) for (const k of o.matchingOwners(pod)) o.queue.add(k)
    },
    update: (old, pod) => {
      if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return
      if (pod.metadata?.deletionTimestamp) gone(pod)
      const before = o.ownerOf(old)
      const now = o.ownerOf(pod)
      if (before && before !== now) o.queue.add(before)
      if (now) {
        o.queue.add(now)
        const minReady = o.minReadySeconds(now)
        if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) o.queue.addAfter(now, minReady * 1000 + 1000)
        return
      }
      if (!controllerRef(pod)) for (const k of o.matchingOwners(pod)) o.queue.add(k)
    },
    delete: gone,
  }
}

/** The owners' handlers of such a controller: any change wakes the owner; a deleted one's expectations go. */
export function ownerHandler<T extends ObjectLike>(
  queue: WorkQueue,
  expectations: Expectations,
): EventHandler<T> {
  return {
    add: (o) => queue.add(objectKey(o)),
    update: (_old, o) => queue.add(objectKey(o)),
    delete: (o) => {
      expectations.delete(objectKey(o))
      queue.add(objectKey(o))
    },
  }
}
