import type { ControllerRevision } from '../../api/generated/types/apps-v1.ts'
import type { LabelSelector } from '../../api/selectors/label-selector.ts'
import {
  isAlreadyExists,
  isConflict,
  isNotFound,
  type Lister,
  type ObjectLike,
  type ResourceClient,
} from '../../client/index.ts'
import { adoptPatch, controllerRef, controllerRefTo, releasePatch } from '../owner-refs.ts'

/**
 * ControllerRevision history, shared by the StatefulSet and DaemonSet controllers (Kubernetes'
 * pkg/controller/history). A ControllerRevision is an immutable snapshot of the part of a
 * workload's spec that its pods are made from (for both: a patch that replaces spec.template),
 * numbered in the order the workload used them. `kubectl rollout history` lists them and
 * `kubectl rollout undo` applies one's data back to the workload as a strategic merge patch.
 *
 * A revision is named `<parent>-<hash>` where the hash covers its data and the parent's
 * collisionCount; when that name is taken by a revision with other data (a hash collision), the
 * collision count goes up by one and a new name is tried.
 */

/** The label carrying a revision's hash (upstream's ControllerRevisionHashLabel). */
export const controllerRevisionHashLabel = 'controller.kubernetes.io/hash'

/** Names longer than this are cut so that `<prefix>-<hash>` stays a valid DNS subdomain. */
const maxNamePrefixLength = 223

/** Consonants and digits that never spell words (upstream's rand.SafeEncodeString alphabet). */
const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789'

/** FNV-1a, 32 bits. */
function fnv32a(bytes: Uint8Array): number {
  let h = 0x811c9dc5
  for (const b of bytes) {
    h ^= b
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** JSON with object keys sorted and undefined members left out: the same data, the same text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

/**
 * A stable hash of a revision's data: FNV-1a over its canonical JSON, then (when given) the
 * collision count in decimal, spelled in the safe alphabet digit by digit as upstream does. A
 * collision count of 0 hashes differently from none, as upstream's probe pointer does.
 */
export function controllerRevisionHash(data: unknown, collisionCount?: number): string {
  let text = canonicalJson(data ?? null)
  if (collisionCount !== undefined) text += String(collisionCount)
  const digits = String(fnv32a(Buffer.from(text)))
  return [...digits].map((c) => safeAlphabet[c.charCodeAt(0) % safeAlphabet.length]).join('')
}

/** `<prefix>-<hash>`, the prefix cut to keep the name valid. */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.slice(0, maxNamePrefixLength)}-${hash}`
}

/**
 * A new revision of `parent` (not yet stored): named after the parent and the hash of `data`,
 * labelled with `labels` (the pod template's, so the parent's selector finds it) and the hash,
 * controlled by the parent with blockOwnerDeletion (upstream's NewControllerRevision).
 */
export function newControllerRevision(o: {
  parent: Readonly<ObjectLike>
  parentKind: { apiVersion: string; kind: string }
  labels: Readonly<Record<string, string>>
  data: unknown
  revision: number
  collisionCount?: number
}): ControllerRevision {
  const hash = controllerRevisionHash(o.data, o.collisionCount)
  const parentName = o.parent.metadata?.name ?? ''
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: controllerRevisionName(parentName, hash),
      namespace: o.parent.metadata?.namespace ?? '',
      labels: { ...o.labels, [controllerRevisionHashLabel]: hash },
      ownerReferences: [controllerRefTo(o.parent, o.parentKind.apiVersion, o.parentKind.kind)],
    },
    data: structuredClone(o.data ?? {}) as ControllerRevision['data'] & object,
    revision: o.revision,
  }
}

/** One more than the highest revision number (1 for none). */
export function nextRevision(revisions: readonly Readonly<ControllerRevision>[]): number {
  return revisions.reduce((max, r) => Math.max(max, r.revision), 0) + 1
}

/** Oldest first: by revision number, then creationTimestamp, then name. */
export function sortRevisions<R extends Readonly<ControllerRevision>>(revisions: readonly R[]): R[] {
  return [...revisions].sort((a, b) => {
    if (a.revision !== b.revision) return a.revision - b.revision
    const ta = a.metadata?.creationTimestamp ?? ''
    const tb = b.metadata?.creationTimestamp ?? ''
    if (ta !== tb) return ta < tb ? -1 : 1
    const na = a.metadata?.name ?? ''
    const nb = b.metadata?.name ?? ''
    return na < nb ? -1 : na > nb ? 1 : 0
  })
}

/**
 * The two revisions hold the same data. Revisions whose hash labels differ are different without
 * looking further (upstream's EqualRevision).
 */
export function equalRevision(
  a: Readonly<ControllerRevision> | undefined,
  b: Readonly<ControllerRevision> | undefined,
): boolean {
  if (!a || !b) return a === b
  const ha = a.metadata?.labels?.[controllerRevisionHashLabel]
  const hb = b.metadata?.labels?.[controllerRevisionHashLabel]
  if (ha !== undefined && hb !== undefined && ha !== hb) return false
  return canonicalJson(a.data ?? {}) === canonicalJson(b.data ?? {})
}

/** The revisions equal to `needle`, in the order given. */
export function findEqualRevisions<R extends Readonly<ControllerRevision>>(
  revisions: readonly R[],
  needle: Readonly<ControllerRevision>,
): R[] {
  return revisions.filter((r) => equalRevision(r, needle))
}

/** The writes ControllerHistory makes: a ResourceClient<ControllerRevision> is one. */
export type RevisionClient = Pick<
  ResourceClient<ControllerRevision>,
  'create' | 'get' | 'update' | 'delete' | 'patch'
>

/**
 * The revisions of workloads, read from an informer's lister and written through the apiserver
 * (upstream's realHistory). Revisions are immutable except for their revision number, labels
 * and ownerReferences.
 */
export class ControllerHistory {
  readonly #client: RevisionClient
  readonly #lister: Lister<ControllerRevision>

  constructor(o: { client: RevisionClient; lister: Lister<ControllerRevision> }) {
    this.#client = o.client
    this.#lister = o.lister
  }

  /**
   * The revisions in the parent's namespace that its selector matches and that it controls or
   * that no one controls (orphans it may adopt); the caller claims them (`adopt`/`release`).
   */
  listRevisions(parent: Readonly<ObjectLike>, selector: LabelSelector): Readonly<ControllerRevision>[] {
    const uid = parent.metadata?.uid ?? ''
    return this.#lister.list(parent.metadata?.namespace ?? '', selector).filter((r) => {
      const ref = controllerRef(r)
      return ref === undefined || ref.uid === uid
    })
  }

  /** The revisions the parent controls, whatever their labels (to clean up or count). */
  ownedRevisions(parent: Readonly<ObjectLike>): Readonly<ControllerRevision>[] {
    const uid = parent.metadata?.uid ?? ''
    return this.#lister.list(parent.metadata?.namespace ?? '').filter((r) => controllerRef(r)?.uid === uid)
  }

  /**
   * Stores `revision` as a revision of `parent`, named after its data hashed with
   * `collisionCount`. When that name is taken by a revision with the same data, that one is the
   * answer; taken by other data, the collision count goes up and the next name is tried. Resolves
   * to the stored revision and the collision count it took, which the caller writes to the
   * parent's status.collisionCount.
   */
  async create(
    parent: Readonly<ObjectLike>,
    revision: Readonly<ControllerRevision>,
    collisionCount: number,
  ): Promise<{ revision: ControllerRevision; collisionCount: number }> {
    let count = collisionCount
    // Each failed try means a real name collision with other data; a few in a row mean a bug.
    for (let attempt = 0; attempt < 100; attempt++) {
      const hash = controllerRevisionHash(revision.data, count)
      const clone = structuredClone(revision) as ControllerRevision
      clone.metadata = {
        ...clone.metadata,
        name: controllerRevisionName(parent.metadata?.name ?? '', hash),
        namespace: parent.metadata?.namespace ?? '',
        labels: { ...clone.metadata?.labels, [controllerRevisionHashLabel]: hash },
      }
      try {
        return { revision: await this.#client.create(clone), collisionCount: count }
      } catch (err) {
        if (!isAlreadyExists(err)) throw err
        const existing = await this.#client.get(clone.metadata.namespace ?? '', clone.metadata.name ?? '')
        if (canonicalJson(existing.data ?? {}) === canonicalJson(clone.data ?? {})) {
          return { revision: existing, collisionCount: count }
        }
        count++
      }
    }
    throw new Error(`could not find a free name for a revision of ${parent.metadata?.name ?? ''}`)
  }

  /**
   * Gives a revision a new revision number (a rollback re-uses an old revision). A conflict (the
   * copy was stale) reads the revision afresh and tries again, as upstream's
   * UpdateControllerRevision does.
   */
  async updateRevision(
    revision: Readonly<ControllerRevision>,
    newRevision: number,
  ): Promise<ControllerRevision> {
    let current = structuredClone(revision) as ControllerRevision
    for (let attempt = 0; ; attempt++) {
      if (current.revision === newRevision) return current
      current.revision = newRevision
      try {
        return await this.#client.update(current)
      } catch (err) {
        if (!isConflict(err) || attempt >= 4) throw err
        current = await this.#client.get(revision.metadata?.namespace ?? '', revision.metadata?.name ?? '')
      }
    }
  }

  /** Deletes a revision; one already gone is fine. */
  async delete(revision: Readonly<ControllerRevision>): Promise<void> {
    try {
      await this.#client.delete(revision.metadata?.namespace ?? '', revision.metadata?.name ?? '')
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
  }

  /** Makes `parent` the controller of an orphan revision; resolves to false when it is gone. */
  async adopt(
    parent: Readonly<ObjectLike>,
    parentKind: { apiVersion: string; kind: string },
    revision: Readonly<ControllerRevision>,
  ): Promise<boolean> {
    const ref = controllerRefTo(parent, parentKind.apiVersion, parentKind.kind)
    return this.#patch(revision, adoptPatch(revision, ref))
  }

  /** Drops `parent`'s controller reference from a revision; resolves to false when it is gone. */
  async release(parent: Readonly<ObjectLike>, revision: Readonly<ControllerRevision>): Promise<boolean> {
    return this.#patch(revision, releasePatch(revision, parent.metadata?.uid ?? ''))
  }

  async #patch(revision: Readonly<ControllerRevision>, patch: unknown): Promise<boolean> {
    try {
      await this.#client.patch(
        revision.metadata?.namespace ?? '',
        revision.metadata?.name ?? '',
        'strategic',
        patch,
      )
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }
}
