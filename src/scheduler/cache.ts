import type { Node, Pod } from '../api/generated/types/core-v1.ts'
import { AffinityIndex } from './framework/affinity-index.ts'
import type { NodeSnapshot } from './framework/interfaces.ts'
import { NodeInfo, podInfo, type PodInfo } from './framework/node-info.ts'

/**
 * What the scheduler believes is on each node (Kubernetes' scheduler cache): the nodes and the
 * pods bound to them from the informers, plus the pods this scheduler has assumed, that is
 * placed, while their binding is still on its way. The next pod's cycle sees an assumed pod at
 * once, so two pods never squeeze into the room for one; the watch later confirms the binding,
 * or a failed binding forgets it.
 *
 * The scheduling cycle is synchronous, so it reads these NodeInfos directly, without copies.
 */
export class SchedulerCache implements NodeSnapshot {
  readonly #nodes = new Map<string, NodeInfo>()
  /** Pods on nodes, by uid: which node, and whether only assumed so far. */
  readonly #pods = new Map<string, { nodeName: string; assumed: boolean }>()
  /** Pods seen bound to nodes the cache does not know yet, added when the node arrives. */
  readonly #waiting = new Map<string, Readonly<Pod>[]>()
  #list: NodeInfo[] | undefined
  /** The names of changed nodes, in order: `#changeBase` is the sequence number of the first. */
  #changes: string[] = []
  #changeBase = 0
  /** How many nodes have each image name in status.images. */
  readonly #imageNodes = new Map<string, number>()
  /** The pods grouped for InterPodAffinity, kept current with the nodes. */
  readonly #affinity = new AffinityIndex((name) => this.#nodes.get(name)?.node.metadata?.labels)

  /** Every node, in a stable order (rebuilt only when nodes come or go). */
  nodeList(): NodeInfo[] {
    if (!this.#list) {
      this.#list = [...this.#nodes.values()]
      this.#list.forEach((info, i) => (info.index = i))
    }
    return this.#list
  }

  node(name: string): NodeInfo | undefined {
    return this.#nodes.get(name)
  }

  affinityIndex(): AffinityIndex {
    return this.#affinity
  }

  changeSequence(): number {
    return this.#changeBase + this.#changes.length
  }

  changedSince(sequence: number): readonly string[] | undefined {
    if (sequence < this.#changeBase || sequence > this.changeSequence()) return undefined
    return this.#changes.slice(sequence - this.#changeBase)
  }

  /** Notes a change to the node or its pods; a long log starts again (its readers recount). */
  #changed(name: string): void {
    if (this.#changes.length >= maxChanges) {
      this.#changeBase += this.#changes.length
      this.#changes = []
    }
    this.#changes.push(name)
  }

  nodesWithImage(image: string): number {
    return this.#imageNodes.get(image) ?? 0
  }

  /** Counts each image name once per node, however many times the node lists it. */
  #countImages(node: Readonly<Node> | undefined, sign: 1 | -1): void {
    const names = new Set<string>()
    for (const image of node?.status?.images ?? []) for (const name of image.names ?? []) names.add(name)
    for (const name of names) {
      const n = (this.#imageNodes.get(name) ?? 0) + sign
      if (n > 0) this.#imageNodes.set(name, n)
      else this.#imageNodes.delete(name)
    }
  }

  /** A node was added or changed: its pods move over to the new NodeInfo. */
  setNode(node: Readonly<Node>): void {
    const name = node.metadata?.name ?? ''
    const info = new NodeInfo(node)
    const old = this.#nodes.get(name)
    this.#countImages(old?.node, -1)
    this.#countImages(node, 1)
    for (const p of old?.pods ?? []) info.addPod(p)
    this.#nodes.set(name, info)
    if (old && !sameLabels(old.node.metadata?.labels, node.metadata?.labels)) this.#affinity.relabel()
    for (const p of this.#waiting.get(name) ?? []) {
      this.#addTo(info, podInfo(p))
      this.#pods.set(p.metadata?.uid ?? '', { nodeName: name, assumed: false })
    }
    this.#waiting.delete(name)
    this.#changed(name)
    if (!old) this.#list = undefined
    else if (this.#list && old.index >= 0) {
      info.index = old.index
      this.#list[old.index] = info
    }
  }

  removeNode(name: string): void {
    const info = this.#nodes.get(name)
    if (!info) return
    this.#countImages(info.node, -1)
    for (const p of info.pods) {
      this.#pods.delete(p.pod.metadata?.uid ?? '')
      this.#affinity.add(p, name, -1)
    }
    this.#nodes.delete(name)
    this.#changed(name)
    this.#list = undefined
  }

  /** The pod is placed on the node before its binding is confirmed. */
  assume(pod: Readonly<Pod>, nodeName: string): void {
    this.#place(pod, nodeName, true)
  }

  /** The binding failed: the room the assumed pod took is free again. */
  forget(pod: Readonly<Pod>): void {
    const uid = pod.metadata?.uid ?? ''
    const entry = this.#pods.get(uid)
    if (!entry?.assumed) return
    this.#removeFrom(entry.nodeName, uid)
    this.#pods.delete(uid)
  }

  /** A pod seen bound (by the informer): confirms an assumption, or places it. */
  addPod(pod: Readonly<Pod>): void {
    const nodeName = pod.spec?.nodeName
    if (!nodeName) return
    this.#place(pod, nodeName, false)
  }

  /** A pod that left its node (deleted, or finished). */
  removePod(pod: Readonly<Pod>): void {
    const uid = pod.metadata?.uid ?? ''
    const entry = this.#pods.get(uid)
    if (entry) this.#removeFrom(entry.nodeName, uid)
    this.#pods.delete(uid)
    const waiting = this.#waiting.get(pod.spec?.nodeName ?? '')
    if (waiting)
      this.#waiting.set(
        pod.spec?.nodeName ?? '',
        waiting.filter((p) => p.metadata?.uid !== uid),
      )
  }

  isAssumed(pod: Readonly<Pod>): boolean {
    return this.#pods.get(pod.metadata?.uid ?? '')?.assumed ?? false
  }

  #place(pod: Readonly<Pod>, nodeName: string, assumed: boolean): void {
    const uid = pod.metadata?.uid ?? ''
    const entry = this.#pods.get(uid)
    if (entry) {
      // Known: replace its version (requests do not change once bound; the node may, after a re-bind).
      this.#removeFrom(entry.nodeName, uid)
    }
    const info = this.#nodes.get(nodeName)
    if (!info) {
      const list = this.#waiting.get(nodeName) ?? []
      this.#waiting.set(nodeName, [...list.filter((p) => p.metadata?.uid !== uid), pod])
      this.#pods.delete(uid)
      return
    }
    this.#addTo(info, podInfo(pod))
    this.#pods.set(uid, { nodeName, assumed })
  }

  #addTo(info: NodeInfo, p: PodInfo): void {
    info.addPod(p)
    this.#affinity.add(p, info.name, 1)
    this.#changed(info.name)
  }

  #removeFrom(nodeName: string, uid: string): void {
    const p = this.#nodes.get(nodeName)?.removePod(uid)
    if (p) {
      this.#affinity.add(p, nodeName, -1)
      this.#changed(nodeName)
    }
  }
}

/** Changes the log holds before it starts again. */
const maxChanges = 65_536

function sameLabels(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): boolean {
  const ka = Object.keys(a ?? {})
  if (ka.length !== Object.keys(b ?? {}).length) return false
  for (const k of ka) if (a?.[k] !== b?.[k]) return false
  return true
}
