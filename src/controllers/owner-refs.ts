import type { OwnerReference } from '../api/generated/types/meta-v1.ts'
import type { LabelSelector } from '../api/selectors/label-selector.ts'
import type { ObjectLike } from '../client/index.ts'

/** The owner that controls an object: its ownerReference with controller: true. */
export function controllerRef(obj: Readonly<ObjectLike>): Readonly<OwnerReference> | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true)
}

/** The ownerReference by which `owner` controls what it creates. */
export function controllerRefTo(
  owner: Readonly<ObjectLike>,
  apiVersion: string,
  kind: string,
): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  }
}

/** A strategic merge patch that adds `ref` to an object's ownerReferences; `uid` guards against a namesake. */
export function adoptPatch(obj: Readonly<ObjectLike>, ref: OwnerReference): unknown {
  return { metadata: { ownerReferences: [ref], uid: obj.metadata?.uid } }
}

/** A strategic merge patch that removes the ownerReference to `ownerUid`. */
export function releasePatch(obj: Readonly<ObjectLike>, ownerUid: string): unknown {
  return { metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], uid: obj.metadata?.uid } }
}

export interface ClaimActions<T> {
  /** Makes the owner the controller of an orphan; resolves to false when the orphan is gone. */
  adopt(obj: Readonly<T>): Promise<boolean>
  /** Drops the owner's controller reference; resolves to false when the object is gone. */
  release(obj: Readonly<T>): Promise<boolean>
}

/**
 * The objects `owner` controls, after adopting orphans its selector matches and releasing the
 * ones it controls that no longer match (Kubernetes' ControllerRefManager.Claim). An owner being
 * deleted adopts nothing and releases nothing. Objects being deleted are never adopted.
 */
export async function claim<T extends ObjectLike>(
  owner: Readonly<ObjectLike>,
  selector: LabelSelector,
  candidates: readonly Readonly<T>[],
  actions: ClaimActions<T>,
): Promise<Readonly<T>[]> {
  const ownerUid = owner.metadata?.uid ?? ''
  const ownerDeleting = Boolean(owner.metadata?.deletionTimestamp)
  const claimed: Readonly<T>[] = []
  for (const obj of candidates) {
    const ref = controllerRef(obj)
    const matches = selector.matches(obj.metadata?.labels ?? {})
    if (ref) {
      if (ref.uid !== ownerUid) continue
      if (matches || ownerDeleting) {
        claimed.push(obj)
        continue
      }
      await actions.release(obj)
      continue
    }
    if (ownerDeleting || !matches || obj.metadata?.deletionTimestamp) continue
    if (await actions.adopt(obj)) claimed.push(obj)
  }
  return claimed
}

/** Objects by the uid of their controller, orphans by `orphan/<namespace>` (upstream's PodControllerUIDIndex). */
export const controllerUIDIndex = 'controllerUID'

/** Adds controllerUIDIndex to an informer's cache, once however many controllers ask. */
export function indexByController<T extends ObjectLike>(cache: {
  hasIndex(name: string): boolean
  addIndex(name: string, fn: (o: Readonly<T>) => string[]): void
}): void {
  if (cache.hasIndex(controllerUIDIndex)) return
  cache.addIndex(controllerUIDIndex, (o) => {
    const ref = controllerRef(o)
    return [ref ? ref.uid : `orphan/${o.metadata?.namespace ?? ''}`]
  })
}

/**
 * What an owner may claim (upstream's FilterPodsByOwner): the objects it controls and the orphans
 * of its namespace, from a cache indexed by indexByController, instead of every object of the
 * namespace.
 */
export function ownedOrOrphaned<T extends ObjectLike>(
  cache: { byIndex(index: string, value: string): Readonly<T>[] },
  owner: Readonly<ObjectLike>,
): Readonly<T>[] {
  return [
    ...cache.byIndex(controllerUIDIndex, owner.metadata?.uid ?? ''),
    ...cache.byIndex(controllerUIDIndex, `orphan/${owner.metadata?.namespace ?? ''}`),
  ]
}
