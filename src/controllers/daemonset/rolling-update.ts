import type { DaemonSet } from '../../api/generated/types/apps-v1.ts'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { scaledValue } from '../deployment/rollout.ts'
import { isPodAvailable } from '../pod-state.ts'

/**
 * The arithmetic of a DaemonSet's RollingUpdate (Kubernetes' daemon/update.go), as pure
 * functions of the pods on each node. The controller's manage loop creates missing pods and
 * trims excess ones; the rolling update only decides which old pods go (without surge) or on
 * which nodes a new pod starts next to the old one (with surge).
 *
 * Without surge (maxSurge 0): at most maxUnavailable nodes are without an available pod. An old
 * pod that is not available anyway is replaced at once (it costs nothing); available old pods
 * are deleted while the count of unavailable nodes stays under maxUnavailable.
 *
 * With surge: a new pod starts beside an old one on up to maxSurge nodes at a time (at once where
 * the old one is not available); once the new pod is available, the old one is deleted.
 */

/** The label naming the revision a daemon pod was made from (DefaultDaemonSetUniqueLabelKey). */
export const controllerRevisionHashLabel = 'controller-revision-hash'
/** The label carrying the template generation a daemon pod was made from. */
export const podTemplateGenerationLabel = 'pod-template-generation'
/** The annotation that holds a DaemonSet's template generation in apps/v1. */
export const templateGenerationAnnotation = 'deprecated.daemonset.template.generation'

/** The DaemonSet's template generation, from its annotation; undefined when absent or not a number. */
export function templateGeneration(ds: Readonly<DaemonSet>): number | undefined {
  const v = ds.metadata?.annotations?.[templateGenerationAnnotation]
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined
  return Number(v)
}

/** The pod was made from the current revision: its hash or its template generation is the current one (IsPodUpdated). */
export function isPodUpdated(pod: Readonly<Pod>, hash: string, generation: number | undefined): boolean {
  const labels = pod.metadata?.labels ?? {}
  const generationMatches =
    generation !== undefined && labels[podTemplateGenerationLabel] === String(generation)
  const hashMatches = hash !== '' && labels[controllerRevisionHashLabel] === hash
  return hashMatches || generationMatches
}

function rollingUpdateOf(ds: Readonly<DaemonSet>) {
  const s = ds.spec?.updateStrategy
  return (s?.type ?? 'RollingUpdate') === 'RollingUpdate' ? s?.rollingUpdate : undefined
}

/** maxUnavailable of `desired` nodes, percentages rounded up (UnavailableCount); 0 for OnDelete. */
export function unavailableCount(ds: Readonly<DaemonSet>, desired: number): number {
  return scaledValue(rollingUpdateOf(ds)?.maxUnavailable, desired, true)
}

/** maxSurge of `desired` nodes, percentages rounded up (SurgeCount); 0 for OnDelete. */
export function surgeCount(ds: Readonly<DaemonSet>, desired: number): number {
  return scaledValue(rollingUpdateOf(ds)?.maxSurge, desired, true)
}

/** The DaemonSet may run a second pod on a node while updating (AllowsSurge). */
export function allowsSurge(ds: Readonly<DaemonSet>): boolean {
  try {
    return surgeCount(ds, 1) !== 0
  } catch {
    return false
  }
}

/**
 * The one new and one old pod on a node, leaving out pods being deleted; undefined when there are
 * more of either, which the manage loop will trim first (findUpdatedPodsOnNode).
 */
export function updatedPodsOnNode(
  pods: readonly Readonly<Pod>[],
  hash: string,
  generation: number | undefined,
): { newPod?: Readonly<Pod>; oldPod?: Readonly<Pod> } | undefined {
  let newPod: Readonly<Pod> | undefined
  let oldPod: Readonly<Pod> | undefined
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue
    if (isPodUpdated(pod, hash, generation)) {
      if (newPod) return undefined
      newPod = pod
    } else {
      if (oldPod) return undefined
      oldPod = pod
    }
  }
  return { ...(newPod ? { newPod } : {}), ...(oldPod ? { oldPod } : {}) }
}

export interface RollingUpdateInput {
  ds: Readonly<DaemonSet>
  hash: string
  /**
   * The daemon pods by node, with an entry (maybe empty) for every node that should run one, in
   * the order to consider them.
   */
  podsByNode: ReadonlyMap<string, readonly Readonly<Pod>[]>
  /** How many nodes should run a daemon pod. */
  desired: number
  /** Whether a node still qualifies (for surge: old pods on nodes that no longer do). */
  shouldRun(nodeName: string): boolean
  now: number
}

/** What a rolling update step does: pods (by name) to delete and nodes to start a new pod on. */
export interface RollingUpdatePlan {
  deletePods: string[]
  createOnNodes: string[]
}

/**
 * maxSurge and maxUnavailable for `desired` nodes; when both come out as 0 on a DaemonSet with
 * nodes, one unavailable node is allowed so the update can move (updatedDesiredNodeCounts).
 */
export function rollingUpdateLimits(
  ds: Readonly<DaemonSet>,
  desired: number,
): { maxSurge: number; maxUnavailable: number } {
  const maxSurge = surgeCount(ds, desired)
  let maxUnavailable = unavailableCount(ds, desired)
  if (desired > 0 && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1
  return { maxSurge, maxUnavailable }
}

/** One step of a rolling update (rollingUpdate in daemon/update.go). */
export function planRollingUpdate(i: RollingUpdateInput): RollingUpdatePlan {
  const { maxSurge, maxUnavailable } = rollingUpdateLimits(i.ds, i.desired)
  const generation = templateGeneration(i.ds)
  const minReady = i.ds.spec?.minReadySeconds ?? 0
  const available = (p: Readonly<Pod>) => isPodAvailable(p, minReady, i.now)
  const name = (p: Readonly<Pod>) => p.metadata?.name ?? ''

  if (maxSurge === 0) {
    let unavailable = 0
    const replacements: string[] = []
    const candidates: string[] = []
    for (const pods of i.podsByNode.values()) {
      const found = updatedPodsOnNode(pods, i.hash, generation)
      if (!found) {
        unavailable++ // excess pods: the manage loop trims them first
        continue
      }
      const { newPod, oldPod } = found
      if ((!oldPod && !newPod) || (oldPod && newPod)) {
        unavailable++ // the manage loop creates or deletes here
      } else if (newPod) {
        if (!available(newPod)) unavailable++
      } else if (oldPod) {
        if (!available(oldPod)) {
          replacements.push(name(oldPod))
          unavailable++
        } else if (unavailable < maxUnavailable) {
          candidates.push(name(oldPod))
        }
      }
    }
    const room = Math.min(Math.max(maxUnavailable - unavailable, 0), candidates.length)
    return { deletePods: [...replacements, ...candidates.slice(0, room)], createOnNodes: [] }
  }

  const deletePods: string[] = []
  const shouldNotRun: string[] = []
  const candidateNodes: string[] = []
  const allowedNodes: string[] = []
  let surging = 0
  let numAvailable = 0
  for (const [nodeName, pods] of i.podsByNode) {
    const found = updatedPodsOnNode(pods, i.hash, generation)
    if (!found) {
      surging++
      continue
    }
    const { newPod, oldPod } = found
    if (oldPod ? available(oldPod) : newPod && available(newPod)) numAvailable++
    if (!oldPod) continue // nothing to replace; the manage loop creates a missing pod
    if (!newPod) {
      if (!available(oldPod)) {
        if (!i.shouldRun(nodeName)) deletePods.push(name(oldPod))
        else allowedNodes.push(nodeName)
        continue
      }
      if (!i.shouldRun(nodeName)) {
        shouldNotRun.push(name(oldPod))
        continue
      }
      if (surging >= maxSurge) continue
      candidateNodes.push(nodeName)
      continue
    }
    // Surged here already: the old pod goes once the new one is available.
    if (!available(newPod)) {
      surging++
      continue
    }
    deletePods.push(name(oldPod))
  }
  // Surge promises full availability: a pod on a node that no longer qualifies goes only once as
  // many pods are available elsewhere as are wanted.
  const deletable = Math.min(numAvailable - i.desired, shouldNotRun.length)
  if (deletable > 0) deletePods.push(...shouldNotRun.slice(0, deletable))
  const room = Math.min(Math.max(maxSurge - surging, 0), candidateNodes.length)
  return { deletePods, createOnNodes: [...allowedNodes, ...candidateNodes.slice(0, room)] }
}
