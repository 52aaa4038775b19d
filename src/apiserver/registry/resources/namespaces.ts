import type { Namespace } from '../../../api/generated/types/core-v1.ts'
import type { StoredObject } from '../../../api/object.ts'
import type { ResourceStrategy } from '../strategy.ts'

/** The finalizer the namespace controller removes once the namespace is empty. */
export const kubernetesFinalizer = 'kubernetes'
export const namespaceNameLabel = 'kubernetes.io/metadata.name'

/**
 * Namespaces: created Active with the `kubernetes` finalizer in spec.finalizers; a delete only
 * marks them Terminating, and they go away when the namespace controller has emptied them and
 * removed that finalizer through /finalize. Their spec.finalizers change only there.
 */
export const namespaceStrategy: ResourceStrategy = {
  prepareForCreate(obj) {
    const ns = obj as Namespace & StoredObject
    ns.status = { phase: 'Active' }
    const finalizers = new Set(ns.spec?.finalizers ?? [])
    finalizers.add(kubernetesFinalizer)
    ns.spec = { ...ns.spec, finalizers: [...finalizers] }
    labelWithName(ns)
  },
  prepareForUpdate(next, prev) {
    const n = next as Namespace & StoredObject
    const p = prev as Namespace
    n.status = structuredClone(p.status ?? {})
    n.spec = { ...n.spec, finalizers: [...(p.spec?.finalizers ?? [])] }
    if ((p.spec?.finalizers ?? []).length === 0) delete n.spec.finalizers
    labelWithName(n)
  },
  deletionBlocked: (obj) => ((obj as Namespace).spec?.finalizers ?? []).length > 0,
  prepareForDeletion(obj) {
    const ns = obj as Namespace & StoredObject
    ns.status = { ...ns.status, phase: 'Terminating' }
  },
}

/** /finalize: takes the new spec.finalizers and nothing else. */
export const namespaceFinalizeStrategy: ResourceStrategy = {
  prepareForUpdate(next, prev) {
    const finalizers = (next as Namespace).spec?.finalizers
    const keep = structuredClone(prev) as Namespace & StoredObject
    for (const k of Object.keys(next)) delete next[k]
    Object.assign(next, keep)
    next.metadata.resourceVersion = prev.metadata.resourceVersion
    ;(next as Namespace).spec = { ...keep.spec, finalizers: finalizers ?? [] }
    if ((finalizers ?? []).length === 0) delete (next as Namespace).spec?.finalizers
  },
  deletionBlocked: namespaceStrategy.deletionBlocked,
}

/** Every namespace carries its name as a label, so selectors can pick namespaces by name. */
function labelWithName(ns: StoredObject): void {
  const name = ns.metadata.name
  if (name) ns.metadata.labels = { ...ns.metadata.labels, [namespaceNameLabel]: name }
}
