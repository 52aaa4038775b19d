import type { Pod } from '../api/generated/types/core-v1.ts'
import { podInfo, type PodInfo } from './framework/node-info.ts'

/** What nominatedPods gives for a node without nominations: one list, shared, never changed. */
const none: readonly PodInfo[] = Object.freeze([])

/**
 * The pods nominated to run on each node (Kubernetes' nominator): preemption made room for them
 * there, and they wait, unbound, until the victims are gone. The Filter phase counts a node's
 * nominated pods of higher or equal priority as if they were running there, so that no other pod
 * takes the room made for them.
 *
 * A nomination comes from the pod's status.nominatedNodeName (seen by the informer), or from this
 * scheduler's own preemption, before its write of that status comes back. An update that does not
 * carry a nominatedNodeName, of a pod whose previous version did not either, keeps the nomination
 * made here (the write is on its way); one that removes it withdraws it.
 */
export class Nominator {
  /** Per node, its nominated pods, higher priority first (equal priorities in nomination order). */
  readonly #byNode = new Map<string, PodInfo[]>()
  /** Per pod uid: where it is nominated, and the nominatedNodeName its last seen version had. */
  readonly #byUid = new Map<string, { nodeName: string; inStatus: string }>()

  /** How many pods are nominated. */
  get size(): number {
    return this.#byUid.size
  }

  /** Pods nominated to the node, higher priority first. */
  nominatedPods(nodeName: string): readonly PodInfo[] {
    // Asked for every node a filter runs on, hundreds per cycle: most clusters nominate nothing.
    if (this.#byNode.size === 0) return none
    return this.#byNode.get(nodeName) ?? none
  }

  /** Where the pod is nominated, if anywhere. */
  nominatedNodeOf(pod: Readonly<Pod>): string | undefined {
    return this.#byUid.get(uidOf(pod))?.nodeName
  }

  /**
   * Nominates the pod to `nodeName` (preemption chose it; '' withdraws the nomination), or, when
   * no node is given, to the node its status names (an informer event); a pod already bound is
   * never nominated.
   */
  nominate(pod: Readonly<Pod>, nodeName?: string): void {
    const inStatus = pod.status?.nominatedNodeName ?? ''
    const target = nodeName ?? inStatus
    this.delete(pod)
    if (target === '' || pod.spec?.nodeName) return
    const info = podInfo(pod)
    const list = this.#byNode.get(target) ?? []
    const priority = pod.spec?.priority ?? 0
    let i = list.length
    while (i > 0 && (list[i - 1]?.pod.spec?.priority ?? 0) < priority) i--
    list.splice(i, 0, info)
    this.#byNode.set(target, list)
    this.#byUid.set(uidOf(pod), { nodeName: target, inStatus })
  }

  /** A newer version of the pod (informer): see the class comment for what it keeps. */
  update(pod: Readonly<Pod>): void {
    const known = this.#byUid.get(uidOf(pod))
    const inStatus = pod.status?.nominatedNodeName ?? ''
    if (known && inStatus === '' && known.inStatus === '') this.nominate(pod, known.nodeName)
    else this.nominate(pod)
  }

  /** The pod is no longer nominated anywhere (bound, assumed, or deleted). */
  delete(pod: Readonly<Pod>): void {
    const uid = uidOf(pod)
    const known = this.#byUid.get(uid)
    if (!known) return
    this.#byUid.delete(uid)
    const list = this.#byNode.get(known.nodeName) ?? []
    const rest = list.filter((p) => p.pod.metadata?.uid !== uid)
    if (rest.length > 0) this.#byNode.set(known.nodeName, rest)
    else this.#byNode.delete(known.nodeName)
  }
}

function uidOf(pod: Readonly<Pod>): string {
  return pod.metadata?.uid ?? ''
}
