import type { Pod, Volume } from '../../api/generated/types/core-v1.ts'
import { stateKey, type CycleState } from '../framework/cycle-state.ts'
import type { FilterPlugin, Handle, PreFilterPlugin, PreFilterResult } from '../framework/interfaces.ts'
import type { NodeInfo, PodInfo } from '../framework/node-info.ts'
import { skip, success, unresolvable, unschedulable, type Status } from '../framework/status.ts'

export const volumeRestrictionsName = 'VolumeRestrictions'

export const diskConflictReason = 'node(s) had no available disk'
export const readWriteOncePodConflictReason =
  'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode'

/** What PreFilter found out about the pod, for Filter and for preemption's what-ifs. */
interface PreFilterState {
  /** The pod's in-tree disk volumes (GCE PD, AWS EBS, RBD, iSCSI), checked against each node's pods. */
  readonly diskVolumes: readonly Volume[]
  readonly namespace: string
  /** The pod's claims (by name, in its namespace) whose PVC has the ReadWriteOncePod access mode. */
  readonly readWriteOncePodClaims: ReadonlySet<string>
  /**
   * How many uses of those claims by scheduled pods stand in the way: one per claim some pod
   * uses, then one up or down per pod volume that AddPod and RemovePod add or take away.
   */
  conflicts: number
}

const preFilterKey = stateKey<PreFilterState>('VolumeRestrictions/PreFilter', (s) => ({ ...s }))

/** Volumes of the kinds that cannot be mounted by two pods of one node (read-only aside). */
function isDiskVolume(v: Readonly<Volume>): boolean {
  return !!(v.gcePersistentDisk || v.awsElasticBlockStore || v.rbd || v.iscsi)
}

function overlap(a: readonly string[], b: readonly string[]): boolean {
  return a.some((m) => b.includes(m))
}

/**
 * Whether `v` and an existing pod's volume are the same disk in a way the node cannot mount twice
 * (Kubernetes' isVolumeConflict):
 * - a GCE PD by name, unless both mount it read-only;
 * - an AWS EBS volume by ID, always (EBS attaches to one mount);
 * - an iSCSI volume by IQN, unless both are read-only;
 * - an RBD image by a shared Ceph monitor, the same pool and image, unless both are read-only.
 */
function sameDisk(v: Readonly<Volume>, e: Readonly<Volume>): boolean {
  if (v.gcePersistentDisk && e.gcePersistentDisk) {
    const [a, b] = [v.gcePersistentDisk, e.gcePersistentDisk]
    if (a.pdName === b.pdName && !(a.readOnly && b.readOnly)) return true
  }
  if (v.awsElasticBlockStore && e.awsElasticBlockStore) {
    if (v.awsElasticBlockStore.volumeID === e.awsElasticBlockStore.volumeID) return true
  }
  if (v.iscsi && e.iscsi) {
    if (v.iscsi.iqn === e.iscsi.iqn && !(v.iscsi.readOnly && e.iscsi.readOnly)) return true
  }
  if (v.rbd && e.rbd) {
    const [a, b] = [v.rbd, e.rbd]
    // An unset pool is the API's default, "rbd".
    if (
      overlap(a.monitors, b.monitors) &&
      (a.pool || 'rbd') === (b.pool || 'rbd') &&
      a.image === b.image &&
      !(a.readOnly && b.readOnly)
    )
      return true
  }
  return false
}

/** Whether any of the volumes is a disk that some pod on the node already mounts in a clashing way. */
function diskConflict(volumes: readonly Volume[], node: NodeInfo): boolean {
  for (const v of volumes) {
    for (const p of node.pods) {
      for (const e of p.pod.spec?.volumes ?? []) if (sameDisk(v, e)) return true
    }
  }
  return false
}

/** How many of the pod's volumes use one of the claims (0 for a pod of another namespace). */
function claimUses(pod: Readonly<Pod>, namespace: string, claims: ReadonlySet<string>): number {
  if ((pod.metadata?.namespace ?? '') !== namespace) return 0
  let n = 0
  for (const v of pod.spec?.volumes ?? []) {
    const claim = v.persistentVolumeClaim?.claimName
    if (claim !== undefined && claims.has(claim)) n++
  }
  return n
}

/**
 * VolumeRestrictions: volumes that only one pod may use.
 * - In-tree disks (GCE PD, AWS EBS, RBD, iSCSI) already mounted by a pod on the node in a
 *   clashing way reject the node: "node(s) had no available disk".
 * - A PersistentVolumeClaim with the ReadWriteOncePod access mode that some scheduled pod, on
 *   any node, already uses makes the pod unschedulable everywhere, Unschedulable so that
 *   preemption may evict that pod; AddPod/RemovePod keep the count right for its what-ifs.
 * A claim the pod names that does not exist makes it UnschedulableAndUnresolvable until it is
 * created. PreFilter skips pods with neither kind of volume (and those whose ReadWriteOncePod
 * claims nobody uses); Filter then passes them at the cost of one lookup.
 */
export function volumeRestrictions(
  handle: Handle,
): PreFilterPlugin & Required<Pick<PreFilterPlugin, 'addPod' | 'removePod'>> & FilterPlugin {
  /** How many of the claims some pod in the cluster (bound or assumed) already uses. */
  const claimsInUse = (namespace: string, claims: ReadonlySet<string>): number => {
    const used = new Set<string>()
    for (const node of handle.snapshot.nodeList()) {
      for (const p of node.pods) {
        if ((p.pod.metadata?.namespace ?? '') !== namespace) continue
        for (const v of p.pod.spec?.volumes ?? []) {
          const claim = v.persistentVolumeClaim?.claimName
          if (claim !== undefined && claims.has(claim)) used.add(claim)
        }
        if (used.size === claims.size) return used.size
      }
    }
    return used.size
  }

  const update = (state: CycleState, pod: Readonly<Pod>, sign: 1 | -1): Status => {
    // No state: PreFilter skipped the pod, and upstream runs no extensions for it either.
    if (!state.has(preFilterKey)) return success
    const s = state.read(preFilterKey)
    if (s.readWriteOncePodClaims.size > 0)
      s.conflicts += sign * claimUses(pod, s.namespace, s.readWriteOncePodClaims)
    return success
  }

  return {
    name: volumeRestrictionsName,

    preFilter(state: CycleState, pod: Readonly<Pod>): PreFilterResult {
      const volumes = pod.spec?.volumes
      if (!volumes?.length) return { status: skip }
      const namespace = pod.metadata?.namespace ?? ''
      const diskVolumes: Volume[] = []
      let claims: Set<string> | undefined
      for (const v of volumes) {
        if (isDiskVolume(v)) diskVolumes.push(v)
        const claim = v.persistentVolumeClaim?.claimName
        if (claim === undefined) continue
        const pvc = handle.persistentVolumeClaim(namespace, claim)
        // The lister's NotFound, worded as Kubernetes' error.
        if (!pvc) return { status: unresolvable(`persistentvolumeclaim "${claim}" not found`) }
        if (pvc.spec?.accessModes?.includes('ReadWriteOncePod')) (claims ??= new Set()).add(claim)
      }
      const readWriteOncePodClaims: ReadonlySet<string> = claims ?? new Set()
      const conflicts = claims ? claimsInUse(namespace, claims) : 0
      if (diskVolumes.length === 0 && conflicts === 0) return { status: skip }
      state.write(preFilterKey, { diskVolumes, namespace, readWriteOncePodClaims, conflicts })
      return { status: success }
    },

    addPod(state: CycleState, _pod, toAdd: PodInfo): Status {
      return update(state, toAdd.pod, 1)
    },

    removePod(state: CycleState, _pod, toRemove: PodInfo): Status {
      return update(state, toRemove.pod, -1)
    },

    filter(state: CycleState, _pod, node: NodeInfo): Status {
      if (!state.has(preFilterKey)) return success
      const s = state.read(preFilterKey)
      if (s.diskVolumes.length > 0 && diskConflict(s.diskVolumes, node))
        return unschedulable(diskConflictReason)
      return s.conflicts > 0 ? unschedulable(readWriteOncePodConflictReason) : success
    },
  }
}
