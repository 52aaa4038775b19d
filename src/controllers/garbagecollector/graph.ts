import type { OwnerReference } from '../../api/generated/types/meta-v1.ts'
import { parseApiVersion } from '../../api/object.ts'
import type { ObjectLike } from '../../client/index.ts'

/**
 * The garbage collector's ownership graph (Kubernetes' GraphBuilder with its uidToNode): one node
 * per object uid the informers have shown, linked owner → dependents by ownerReferences.
 *
 * An ownerReference may name an owner no informer has shown (yet, or ever): the graph then keeps
 * a *virtual* node for it, with the coordinates the reference gives, until either an informer
 * shows the object (the node becomes real) or a live read proves it absent (the node goes).
 *
 *     ownerReference to an unseen uid ──▶ virtual ──informer add──▶ observed
 *                                            │                         │ informer delete, or a live
 *                                            └── live read: absent ────┴─▶ read proves it gone: removed
 *
 * The graph makes no requests. Every change returns the uids the collector should look at
 * (reconcile) because of it; the caller puts them on its work queue.
 */

/** Where an object is: the coordinates an ownerReference gives, plus the namespace. */
export interface ObjectIdentity {
  readonly apiVersion: string
  readonly kind: string
  /** '' for cluster-scoped objects. */
  readonly namespace: string
  readonly name: string
  readonly uid: string
}

export interface GraphNode {
  identity: ObjectIdentity
  /** The ownerReferences as last observed (none for a virtual node). */
  owners: readonly Readonly<OwnerReference>[]
  readonly dependents: Set<GraphNode>
  /** Known only from dependents' ownerReferences: no informer has shown the object. */
  virtual: boolean
  /** Has a deletionTimestamp. */
  beingDeleted: boolean
  /**
   * Being deleted with the foregroundDeletion finalizer: its dependents go first, and it waits
   * for those whose reference to it has blockOwnerDeletion.
   */
  deletingDependents: boolean
  /** Being deleted with the orphan finalizer: its dependents are to lose their references to it. */
  orphaningDependents: boolean
}

/** The finalizer of foreground deletion (metav1.FinalizerDeleteDependents). */
export const foregroundDeletionFinalizer = 'foregroundDeletion'
/** The finalizer of orphaning deletion (metav1.FinalizerOrphanDependents). */
export const orphanFinalizer = 'orphan'

export interface OwnershipGraphOptions {
  /**
   * Whether a kind's objects live in a namespace (undefined: a kind the collector does not know).
   * The owner of an unknown kind is assumed to share its dependent's namespace.
   */
  isNamespaced(apiVersion: string, kind: string): boolean | undefined
}

export class OwnershipGraph {
  readonly #nodes = new Map<string, GraphNode>()
  readonly #o: OwnershipGraphOptions

  constructor(o: OwnershipGraphOptions) {
    this.#o = o
  }

  get(uid: string): GraphNode | undefined {
    return this.#nodes.get(uid)
  }

  get size(): number {
    return this.#nodes.size
  }

  /**
   * An informer added or changed an object. Returns the uids to look at: new virtual owners,
   * owners a removed or unblocked reference may release, the object itself when it is being
   * deleted in the foreground or with orphaning, and its dependents when foreground deletion
   * has just begun.
   */
  observe(obj: Readonly<ObjectLike>): string[] {
    const identity = identityOf(obj)
    if (identity.uid === '') return []
    const work = new Set<string>()
    let node = this.#nodes.get(identity.uid)
    if (node?.virtual) {
      // Dependents that named the owner by other coordinates may have named something that does
      // not exist: let each of them check its own reference again.
      if (!sameIdentity(node.identity, identity)) for (const d of node.dependents) work.add(uidOf(d))
      node.identity = identity
      node.virtual = false
    }
    if (!node) {
      node = newNode(identity, false)
      this.#nodes.set(identity.uid, node)
    } else {
      node.identity = identity
    }

    const next = obj.metadata?.ownerReferences ?? []
    const { added, removed, unblocked } = diffOwnerReferences(node.owners, next)
    node.owners = next
    for (const ref of [...removed, ...unblocked]) {
      // A dependent that stops blocking may be the last one its owner was waiting for.
      const owner = this.#nodes.get(ref.uid)
      if (owner?.deletingDependents && ref.blockOwnerDeletion === true) work.add(ref.uid)
    }
    for (const ref of removed) this.#nodes.get(ref.uid)?.dependents.delete(node)
    for (const ref of added) {
      let owner = this.#nodes.get(ref.uid)
      if (!owner) {
        owner = newNode(this.#ownerIdentity(ref, identity.namespace), true)
        this.#nodes.set(ref.uid, owner)
        work.add(ref.uid)
      } else if (!owner.virtual && !refersTo(ref, identity.namespace, owner.identity, this.#o)) {
        // The reference names the uid by wrong coordinates: the object must check it.
        work.add(identity.uid)
      }
      owner.dependents.add(node)
      // A dependent that appears while its owner waits in foreground deletion goes too.
      if (owner.deletingDependents) work.add(identity.uid)
    }

    const finalizers = obj.metadata?.finalizers ?? []
    const wasDeletingDependents = node.deletingDependents
    node.beingDeleted = obj.metadata?.deletionTimestamp !== undefined
    node.deletingDependents = node.beingDeleted && finalizers.includes(foregroundDeletionFinalizer)
    node.orphaningDependents = node.beingDeleted && finalizers.includes(orphanFinalizer)
    if (node.deletingDependents) {
      work.add(identity.uid)
      if (!wasDeletingDependents) for (const d of node.dependents) work.add(uidOf(d))
    }
    if (node.orphaningDependents) work.add(identity.uid)
    return [...work]
  }

  /**
   * An informer saw an object deleted. Returns its dependents (their owner is gone) and its
   * owners that wait in foreground deletion (it may have been the last they waited for).
   */
  observeDeletion(obj: Readonly<ObjectLike>): string[] {
    const node = this.#nodes.get(obj.metadata?.uid ?? '')
    return node ? this.#remove(node) : []
  }

  /**
   * A live read found no object with this uid at these coordinates (Kubernetes' virtual delete
   * event). A node the informers have shown elsewhere stays, but the dependents are told to look
   * again; otherwise the node goes, as if deleted.
   */
  verifiedAbsent(identity: ObjectIdentity): string[] {
    const node = this.#nodes.get(identity.uid)
    if (!node) return []
    if (!node.virtual && !sameIdentity(node.identity, identity)) return [...node.dependents].map(uidOf)
    return this.#remove(node)
  }

  /** The dependents whose reference to `node` has blockOwnerDeletion: foreground deletion waits for them. */
  blockingDependents(node: GraphNode): GraphNode[] {
    const uid = uidOf(node)
    return [...node.dependents].filter((d) =>
      d.owners.some((r) => r.uid === uid && r.blockOwnerDeletion === true),
    )
  }

  #remove(node: GraphNode): string[] {
    const uid = uidOf(node)
    this.#nodes.delete(uid)
    const work = new Set<string>()
    for (const ref of node.owners) {
      const owner = this.#nodes.get(ref.uid)
      if (!owner) continue
      owner.dependents.delete(node)
      if (owner.deletingDependents) work.add(ref.uid)
    }
    for (const d of node.dependents) work.add(uidOf(d))
    return [...work]
  }

  #ownerIdentity(ref: Readonly<OwnerReference>, dependentNamespace: string): ObjectIdentity {
    const namespaced = this.#o.isNamespaced(ref.apiVersion, ref.kind) ?? true
    return {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      namespace: namespaced ? dependentNamespace : '',
      name: ref.name,
      uid: ref.uid,
    }
  }
}

function newNode(identity: ObjectIdentity, virtual: boolean): GraphNode {
  return {
    identity,
    owners: [],
    dependents: new Set(),
    virtual,
    beingDeleted: false,
    deletingDependents: false,
    orphaningDependents: false,
  }
}

function uidOf(node: GraphNode): string {
  return node.identity.uid
}

/** The identity an informer's object has (informers fill in kind and apiVersion). */
export function identityOf(obj: Readonly<ObjectLike>): ObjectIdentity {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    uid: obj.metadata?.uid ?? '',
  }
}

/** Same object at the same place; versions of one group name the same object. */
export function sameIdentity(a: ObjectIdentity, b: ObjectIdentity): boolean {
  return (
    a.uid === b.uid &&
    a.name === b.name &&
    a.namespace === b.namespace &&
    a.kind === b.kind &&
    parseApiVersion(a.apiVersion).group === parseApiVersion(b.apiVersion).group
  )
}

function refersTo(
  ref: Readonly<OwnerReference>,
  dependentNamespace: string,
  owner: ObjectIdentity,
  o: OwnershipGraphOptions,
): boolean {
  const namespaced = o.isNamespaced(ref.apiVersion, ref.kind) ?? true
  return sameIdentity(
    {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      namespace: namespaced ? dependentNamespace : '',
      name: ref.name,
      uid: ref.uid,
    },
    owner,
  )
}

/**
 * How a list of ownerReferences changed, by uid: references added, removed, and those whose
 * blockOwnerDeletion went from true to false.
 */
export function diffOwnerReferences(
  before: readonly Readonly<OwnerReference>[],
  after: readonly Readonly<OwnerReference>[],
): {
  added: Readonly<OwnerReference>[]
  removed: Readonly<OwnerReference>[]
  unblocked: Readonly<OwnerReference>[]
} {
  const old = new Map(before.map((r) => [r.uid, r]))
  const now = new Map(after.map((r) => [r.uid, r]))
  return {
    added: after.filter((r) => !old.has(r.uid)),
    removed: before.filter((r) => !now.has(r.uid)),
    unblocked: before.filter((r) => {
      const next = now.get(r.uid)
      return r.blockOwnerDeletion === true && next !== undefined && next.blockOwnerDeletion !== true
    }),
  }
}
