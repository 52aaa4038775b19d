import type { Container, PersistentVolume, Pod, SecretReference } from './generated/types/core-v1.ts'

/**
 * The API objects a pod or a PersistentVolume names, as Kubernetes' pod and persistentvolume
 * helpers list them (VisitPodSecretNames, VisitPodConfigmapNames, VisitPVSecretNames,
 * ephemeral.VolumeClaimName, resourceclaim.Name). The Node authorizer grants a node what its
 * pods name; NodeRestriction refuses mirror pods that name anything. Each is a generator, so a
 * caller that only asks "any?" stops at the first. Empty names are skipped.
 */

/** Every container of the pod: init containers, containers and ephemeral containers. */
function* allContainers(pod: Readonly<Pod>): Generator<Readonly<Container>> {
  const spec = pod.spec
  if (!spec) return
  yield* spec.initContainers ?? []
  yield* spec.containers ?? []
  yield* (spec.ephemeralContainers ?? []) as Container[]
}

/**
 * The Secrets a pod names: image pull secrets, env and envFrom of every container, secret and
 * projected secret volumes, and the secret references of volume plugins (azureFile, cephfs,
 * cinder, flexVolume, rbd, scaleIO, iscsi, storageos, csi's nodePublishSecretRef). A name may
 * come more than once.
 */
export function* podSecretNames(pod: Readonly<Pod>): Generator<string> {
  for (const ref of pod.spec?.imagePullSecrets ?? []) if (ref.name) yield ref.name
  for (const c of allContainers(pod)) {
    for (const from of c.envFrom ?? []) if (from.secretRef?.name) yield from.secretRef.name
    for (const env of c.env ?? []) {
      const name = env.valueFrom?.secretKeyRef?.name
      if (name) yield name
    }
  }
  for (const v of pod.spec?.volumes ?? []) {
    const name =
      v.secret?.secretName ??
      v.azureFile?.secretName ??
      v.cephfs?.secretRef?.name ??
      v.cinder?.secretRef?.name ??
      v.flexVolume?.secretRef?.name ??
      v.rbd?.secretRef?.name ??
      v.scaleIO?.secretRef.name ??
      v.iscsi?.secretRef?.name ??
      v.storageos?.secretRef?.name ??
      v.csi?.nodePublishSecretRef?.name
    if (name) yield name
    for (const source of v.projected?.sources ?? []) if (source.secret?.name) yield source.secret.name
  }
}

/** The ConfigMaps a pod names: env and envFrom of every container, configMap and projected volumes. */
export function* podConfigMapNames(pod: Readonly<Pod>): Generator<string> {
  for (const c of allContainers(pod)) {
    for (const from of c.envFrom ?? []) if (from.configMapRef?.name) yield from.configMapRef.name
    for (const env of c.env ?? []) {
      const name = env.valueFrom?.configMapKeyRef?.name
      if (name) yield name
    }
  }
  for (const v of pod.spec?.volumes ?? []) {
    if (v.configMap?.name) yield v.configMap.name
    for (const source of v.projected?.sources ?? []) if (source.configMap?.name) yield source.configMap.name
  }
}

/**
 * The PersistentVolumeClaims a pod's volumes use: those it names, and those of its ephemeral
 * volumes (`<pod name>-<volume name>`, made by the ephemeral volume controller).
 */
export function* podVolumeClaimNames(pod: Readonly<Pod>): Generator<string> {
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) yield v.persistentVolumeClaim.claimName
    else if (v.ephemeral) yield `${pod.metadata?.name ?? ''}-${v.name}`
  }
}

/**
 * The ResourceClaims a pod uses: those it names, those made for it from a template (named in
 * status.resourceClaimStatuses once made; not yet made ones are skipped), and the claim of its
 * extended resources.
 */
export function* podResourceClaimNames(pod: Readonly<Pod>): Generator<string> {
  const statuses = pod.status?.resourceClaimStatuses ?? []
  for (const claim of pod.spec?.resourceClaims ?? []) {
    if (claim.resourceClaimName) {
      yield claim.resourceClaimName
    } else if (claim.resourceClaimTemplateName) {
      const made = statuses.find((s) => s.name === claim.name)?.resourceClaimName
      if (made) yield made
    }
  }
  const extended = pod.status?.extendedResourceClaimStatus?.resourceClaimName
  if (extended) yield extended
}

/** A Secret a PersistentVolume names, and whether the kubelet reads it (rather than a controller). */
export interface VolumeSecretReference {
  readonly namespace: string
  readonly name: string
  readonly kubeletVisible: boolean
}

/**
 * The Secrets a PersistentVolume names. Older volume plugins' references without a namespace
 * (azureFile, cephfs, flexVolume, rbd, scaleIO, iscsi) are in the namespace of the volume's claim;
 * cinder, storageos and CSI references carry their own. CSI's controller publish and expand
 * secrets are for the controllers only.
 */
export function* persistentVolumeSecretReferences(
  pv: Readonly<PersistentVolume>,
): Generator<VolumeSecretReference> {
  const spec = pv.spec
  if (!spec) return
  const claimNamespace = spec.claimRef?.namespace ?? ''
  const ref = (
    r: Readonly<SecretReference> | undefined,
    o: { kubeletVisible?: boolean; ownNamespace?: boolean } = {},
  ) =>
    r?.name
      ? {
          namespace: o.ownNamespace ? (r.namespace ?? '') : r.namespace || claimNamespace,
          name: r.name,
          kubeletVisible: o.kubeletVisible ?? true,
        }
      : undefined
  const found = [
    spec.azureFile?.secretName
      ? {
          namespace: spec.azureFile.secretNamespace || claimNamespace,
          name: spec.azureFile.secretName,
          kubeletVisible: true,
        }
      : undefined,
    ref(spec.cephfs?.secretRef),
    ref(spec.cinder?.secretRef, { ownNamespace: true }),
    ref(spec.flexVolume?.secretRef),
    ref(spec.rbd?.secretRef),
    ref(spec.scaleIO?.secretRef),
    ref(spec.iscsi?.secretRef),
    ref(spec.storageos?.secretRef, { ownNamespace: true }),
    ref(spec.csi?.controllerPublishSecretRef, { kubeletVisible: false, ownNamespace: true }),
    ref(spec.csi?.controllerExpandSecretRef, { kubeletVisible: false, ownNamespace: true }),
    ref(spec.csi?.nodePublishSecretRef, { ownNamespace: true }),
    ref(spec.csi?.nodeStageSecretRef, { ownNamespace: true }),
    ref(spec.csi?.nodeExpandSecretRef, { ownNamespace: true }),
  ]
  for (const f of found) if (f) yield f
}
