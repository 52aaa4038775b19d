import { copyJson, deepEqual } from '../../api/object.ts'
import type { FieldError } from '../../api/field-errors.ts'
import type { KubeObject, StoredObject } from '../../api/object.ts'
import type { UserInfo } from '../authn/authenticator.ts'

/** What a strategy may know about the request it serves. */
export interface StrategyContext {
  readonly user: UserInfo
  readonly namespace: string
  /** Milliseconds since the epoch, from the apiserver's clock. */
  readonly now: number
}

/**
 * What one resource does differently (STYLE.md: "one strategy per resource"). The generic
 * registry owns the order of the steps:
 *
 *   create: defaults → prepareForCreate → metadata checks → validate → admission → store
 *   update: defaults → preconditions → prepareForUpdate → metadata checks → validateUpdate
 *           → admission → store (skipped when nothing changed)
 *   delete: preconditions → gracefulDeletion / finalizers → store
 *
 * Every hook is optional; a resource with no hooks is stored as sent, with Kubernetes' generic
 * metadata rules.
 */
export interface ResourceStrategy {
  /** Sets fields the server owns on a new object: status reset, generation, cluster-assigned values. */
  prepareForCreate?: (obj: StoredObject, ctx: StrategyContext) => void | Promise<void>
  /** Carries over what a client may not change through this endpoint (status on the main resource, spec on /status). */
  prepareForUpdate?: (
    next: StoredObject,
    prev: Readonly<StoredObject>,
    ctx: StrategyContext,
  ) => void | Promise<void>
  validate?: (obj: Readonly<StoredObject>, ctx: StrategyContext) => FieldError[]
  validateUpdate?: (
    next: Readonly<StoredObject>,
    prev: Readonly<StoredObject>,
    ctx: StrategyContext,
  ) => FieldError[]
  /**
   * An update through the status subresource, where the kind validates it apart (pods: the spec,
   * kept as stored, is not validated again); statusStrategyOf makes it the validateUpdate there.
   */
  validateStatusUpdate?: ResourceStrategy['validateUpdate']
  /** What the kind's status strategy does beyond keeping all but the status (see statusStrategyOf). */
  prepareForStatusUpdate?: (next: StoredObject, prev: Readonly<StoredObject>) => void
  /** Warnings for the client about a valid object (deprecated fields, odd values). */
  warnings?: (obj: Readonly<StoredObject>, prev: Readonly<StoredObject> | undefined) => string[]
  /** Last touch before storing (sorting lists, normalizing values). */
  canonicalize?: (obj: StoredObject) => void
  /** The object may be created by an update (PUT, or an apply patch always may). Default false. */
  allowCreateOnUpdate?: boolean
  /** An update without metadata.resourceVersion is accepted. Default true, as for most built-in kinds. */
  allowUnconditionalUpdate?: boolean
  /**
   * Graceful deletion: the grace period in seconds this delete should get (0 deletes now), given
   * what the client asked for (undefined when it did not say). Resources without it are deleted
   * at once (unless finalizers hold them).
   */
  gracePeriodSeconds?: (obj: Readonly<StoredObject>, requested: number | undefined) => number
  /** Deletion also waits while this holds (Namespaces: until spec.finalizers is empty). */
  deletionBlocked?: (obj: Readonly<StoredObject>) => boolean
  /** Marks an object whose deletion has started (Namespaces: status.phase Terminating). */
  prepareForDeletion?: (obj: StoredObject) => void
  /** The store deletes the key this many seconds after the last write (Events: 3600). */
  ttlSeconds?: (obj: Readonly<StoredObject>) => number | undefined
  /**
   * The watch cache starts when a client first reads (get, list, watch), not with the server:
   * kube-apiserver keeps no watch cache for Events, which are written all the time and seldom
   * read. Until then writes go to the store alone, and an update reads the current object there.
   */
  cacheOnFirstRead?: boolean
  /**
   * A DELETE that removed the object answers with the object as it was (the generic registry's
   * ReturnDeletedObject), not with a Status naming it. Default false, as for most built-in kinds;
   * a delete that only marks the object (finalizers, grace period) answers with it either way.
   */
  returnDeletedObject?: boolean
  /** Called after the object was deleted from the store (allocations released, ...). */
  afterDelete?: (obj: Readonly<StoredObject>) => void | Promise<void>
  /** Called after a create was stored, or when it failed after prepareForCreate (to release allocations). */
  afterCreate?: (obj: Readonly<StoredObject>, stored: boolean) => void | Promise<void>
  /** Called after an update was stored or failed after prepareForUpdate. */
  afterUpdate?: (
    next: Readonly<StoredObject>,
    prev: Readonly<StoredObject>,
    stored: boolean,
  ) => void | Promise<void>
}

/**
 * The strategy of a `/status` subresource derived from the main one: an update there takes the
 * new status and keeps everything else as it was, metadata included except managedFields (as
 * Kubernetes' ResetObjectMetaForStatus: labels, annotations, finalizers, ownerReferences,
 * generation and the deletion timestamp stay). Validation is the main strategy's.
 */
export function statusStrategyOf(
  main: ResourceStrategy,
  resetMetadata: readonly StatusResetField[] = statusResetMetadata,
): ResourceStrategy {
  const {
    prepareForCreate: _create,
    prepareForUpdate: _update,
    prepareForStatusUpdate,
    validateStatusUpdate,
    ...rest
  } = main
  return {
    ...rest,
    ...(validateStatusUpdate ? { validateUpdate: validateStatusUpdate } : {}),
    prepareForUpdate(next, prev) {
      // All but the status and metadata as stored: the stored parts themselves, shared with the
      // stored object as Kubernetes' status strategies assign them (newPod.Spec = oldPod.Spec).
      // Nothing after this step writes into them (normalizing leaves shared members alone), and
      // comparing them with the request's first walked the whole spec of every status update.
      for (const k of Object.keys(next))
        if (k !== 'status' && k !== 'metadata' && k !== 'apiVersion' && k !== 'kind' && !(k in prev))
          delete next[k]
      for (const k in prev) if (k !== 'status' && k !== 'metadata') next[k] = prev[k]
      const m = next.metadata as Record<string, unknown>
      const p = prev.metadata
      for (const field of resetMetadata) {
        if (p[field] === undefined) delete m[field]
        else if (!deepEqual(m[field], p[field])) m[field] = copyJson(p[field])
      }
      prepareForStatusUpdate?.(next, prev)
    },
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  }
}

const statusResetMetadata = [
  'labels',
  'annotations',
  'finalizers',
  'ownerReferences',
  'generation',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const

type StatusResetField = (typeof statusResetMetadata)[number]

/**
 * What the status endpoint of a kind keeps of the stored metadata, where Kubernetes' status
 * strategy lets more through: a node's status update may change its labels and annotations (the
 * kubelet reconciles them through its status patch), a pod's all but its owners.
 */
export const statusResetMetadataOf: Readonly<Record<string, readonly StatusResetField[]>> = {
  '/nodes': ['generation', 'deletionTimestamp', 'deletionGracePeriodSeconds'],
  '/pods': ['ownerReferences', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds'],
}

/**
 * For resources with spec and status: the main endpoint ignores status changes. The stored status
 * itself, shared as Kubernetes' strategies assign it (newPod.Status = oldPod.Status): nothing
 * after prepareForUpdate writes into it.
 */
export function keepStatus(next: KubeObject, prev: Readonly<KubeObject>): void {
  if (prev.status === undefined) delete next.status
  else next.status = prev.status
}

/** Bumps metadata.generation when anything but metadata and status changed (the spec, in effect). */
export function bumpGenerationOnSpecChange(next: StoredObject, prev: Readonly<StoredObject>): void {
  const prevGen = prev.metadata.generation ?? 1
  next.metadata.generation = specChanged(next, prev) ? prevGen + 1 : prevGen
}

function specChanged(next: KubeObject, prev: Readonly<KubeObject>): boolean {
  const keys = new Set([...Object.keys(next), ...Object.keys(prev)])
  for (const k of keys) {
    if (k === 'metadata' || k === 'status' || k === 'apiVersion' || k === 'kind') continue
    if (!deepEqual(next[k], prev[k])) return true
  }
  return false
}
