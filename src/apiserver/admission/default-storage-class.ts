import type { PersistentVolumeClaim } from '../../api/generated/types/core-v1.ts'
import type { StorageClass } from '../../api/generated/types/storage-v1.ts'
import type { AdmissionPlugin } from './admission.ts'
import type { NamespaceObjects } from './namespace-objects.ts'

export const defaultStorageClassPluginName = 'DefaultStorageClass'

/** The annotation that makes a StorageClass the default one, and its beta predecessor. */
export const isDefaultClassAnnotation = 'storageclass.kubernetes.io/is-default-class'
export const betaIsDefaultClassAnnotation = 'storageclass.beta.kubernetes.io/is-default-class'
/** The claim annotation that named a class before spec.storageClassName existed. */
export const betaStorageClassAnnotation = 'volume.beta.kubernetes.io/storage-class'

/** Whether the class is marked as the default (either annotation set to "true"). */
export function isDefaultClass(sc: Readonly<StorageClass>): boolean {
  const a = sc.metadata?.annotations ?? {}
  return a[isDefaultClassAnnotation] === 'true' || a[betaIsDefaultClassAnnotation] === 'true'
}

/**
 * The default StorageClass, or undefined. When several are marked, the newest wins (ties by
 * name), as Kubernetes chooses since v1.26 so that adding a new default takes over at once.
 */
export function defaultClassOf(
  classes: readonly Readonly<StorageClass>[],
): Readonly<StorageClass> | undefined {
  const created = (sc: Readonly<StorageClass>) => Date.parse(sc.metadata?.creationTimestamp ?? '') || 0
  return classes
    .filter(isDefaultClass)
    .sort(
      (a, b) =>
        created(b) - created(a) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '', 'en'),
    )[0]
}

/**
 * DefaultStorageClass, as the Kubernetes admission plugin of that name: a new claim that names
 * no class (no spec.storageClassName, not even "", and no beta annotation) gets the default
 * StorageClass's name. Without a default class the claim is left alone; it may get one later
 * from the volume controller, once a default exists.
 */
export function defaultStorageClassPlugin(classes: NamespaceObjects<StorageClass>): AdmissionPlugin {
  return {
    name: defaultStorageClassPluginName,
    handles: (a) =>
      a.operation === 'CREATE' &&
      a.group === '' &&
      a.resource === 'persistentvolumeclaims' &&
      a.subresource === '',
    async admit(a) {
      const pvc = a.object as PersistentVolumeClaim | undefined
      if (!pvc) return
      if (pvc.metadata?.annotations?.[betaStorageClassAnnotation] !== undefined) return
      if (pvc.spec?.storageClassName != null) return
      // StorageClasses are cluster-scoped: all of them are in namespace ''.
      const def = defaultClassOf(await classes(''))
      if (!def?.metadata?.name) return
      pvc.spec = { ...pvc.spec, storageClassName: def.metadata.name }
    },
  }
}
