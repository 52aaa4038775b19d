import type { PersistentVolume, Pod } from '../../../api/generated/types/core-v1.ts'
import {
  persistentVolumeSecretReferences,
  podConfigMapNames,
  podResourceClaimNames,
  podSecretNames,
  podVolumeClaimNames,
} from '../../../api/pod-references.ts'

/** The kinds of objects the graph knows. */
export type VertexType =
  | 'configmap'
  | 'node'
  | 'pod'
  | 'pv'
  | 'pvc'
  | 'resourceclaim'
  | 'resourceslice'
  | 'secret'
  | 'serviceaccount'
  | 'volumeattachment'

/** The annotation of the kubelet's mirror pods (its static pods, as the API shows them). */
export const mirrorPodAnnotation = 'kubernetes.io/config.mirror'

/**
 * One object of the graph. Its outgoing edges point toward nodes, each remembering the node it
 * leads to when it is known (a pod's edge, or an edge into a pod: the pod's node) or undefined
 * (pv → pvc and secret → pv, whose far end may be any node, or none yet).
 */
interface Vertex {
  readonly type: VertexType
  readonly namespace: string
  readonly name: string
  readonly out: Map<Vertex, Vertex | undefined>
  readonly in: Set<Vertex>
  /**
   * How many outgoing edges lead to each node, kept only while the vertex has many edges (a
   * Secret or ConfigMap every pod of a namespace mounts): the question "does it reach node n?"
   * is then one lookup instead of a walk over thousands of pods.
   */
  destinations: Map<Vertex, number> | undefined
}

/** Vertices with at least this many outgoing edges keep a destination index (as upstream). */
const destinationIndexThreshold = 200

/**
 * Types whose every outgoing edge names its node: for them the destination index, when kept, is
 * the whole answer. Secrets (→ pv) and PersistentVolumes (→ pvc) have edges that do not.
 */
const indexIsComplete: ReadonlySet<VertexType> = new Set<VertexType>([
  'configmap',
  'pod',
  'pvc',
  'resourceclaim',
  'resourceslice',
  'serviceaccount',
  'volumeattachment',
])

/**
 * What each node may reach, the graph of kube-apiserver's Node authorizer. Edges point toward
 * the nodes:
 *
 *   secret, configmap, pvc, serviceaccount, resourceclaim ──▶ pod ──▶ node
 *   secret ──▶ pv ──▶ pvc
 *   volumeattachment, resourceslice ──▶ node
 *
 * A node may read an object when a path leads from the object to the node without passing
 * through another node's pods. The graph is fed from the apiserver's watch caches (follow.ts),
 * one object at a time: adding an object first removes what it had, then adds its edges;
 * removing one removes its edges and the neighbours left with no edge at all. Mirror pods get
 * the edge to their node only: a node must not grant itself anything by making a pod.
 *
 * Not thread-safe and needs not be: the apiserver's thread applies events and answers requests.
 */
export class NodeGraph {
  readonly #vertices = new Map<string, Vertex>()

  /** How many objects the graph holds (for tests and metrics). */
  get size(): number {
    return this.#vertices.size
  }

  /** Whether the graph holds this object. */
  has(type: VertexType, namespace: string, name: string): boolean {
    return this.#vertices.has(keyOf(type, namespace, name))
  }

  /**
   * A pod bound to a node (spec.nodeName set; the references of a bound pod do not change):
   * pod → node, and everything it uses → pod.
   */
  addPod(pod: Readonly<Pod>): void {
    const namespace = pod.metadata?.namespace ?? ''
    const name = pod.metadata?.name ?? ''
    const nodeName = pod.spec?.nodeName ?? ''
    this.#removeVertex(this.#get('pod', namespace, name))
    if (nodeName === '') return
    const podVertex = this.#getOrCreate('pod', namespace, name)
    const node = this.#getOrCreate('node', '', nodeName)
    this.#addEdge(podVertex, node, node)
    if (pod.metadata?.annotations?.[mirrorPodAnnotation] !== undefined) return
    const from = (type: VertexType, n: string) =>
      this.#addEdge(this.#getOrCreate(type, namespace, n), podVertex, node)
    const account = pod.spec?.serviceAccountName ?? ''
    if (account !== '') from('serviceaccount', account)
    for (const n of podSecretNames(pod)) from('secret', n)
    for (const n of podConfigMapNames(pod)) from('configmap', n)
    for (const n of podVolumeClaimNames(pod)) from('pvc', n)
    for (const n of podResourceClaimNames(pod)) from('resourceclaim', n)
  }

  deletePod(namespace: string, name: string): void {
    this.#removeVertex(this.#get('pod', namespace, name))
  }

  /** A PersistentVolume: pv → its claim, and the Secrets the kubelet reads for it → pv. */
  addPersistentVolume(pv: Readonly<PersistentVolume>): void {
    const name = pv.metadata?.name ?? ''
    this.#removeVertex(this.#get('pv', '', name))
    const claim = pv.spec?.claimRef
    if (!claim?.name) return
    const pvVertex = this.#getOrCreate('pv', '', name)
    this.#addEdge(pvVertex, this.#getOrCreate('pvc', claim.namespace ?? '', claim.name), undefined)
    for (const s of persistentVolumeSecretReferences(pv)) {
      if (s.kubeletVisible)
        this.#addEdge(this.#getOrCreate('secret', s.namespace, s.name), pvVertex, undefined)
    }
  }

  deletePersistentVolume(name: string): void {
    this.#removeVertex(this.#get('pv', '', name))
  }

  /** A VolumeAttachment or a ResourceSlice of a node: it → node. */
  addNodeObject(type: 'volumeattachment' | 'resourceslice', name: string, nodeName: string): void {
    this.#removeVertex(this.#get(type, '', name))
    if (nodeName === '') return
    const node = this.#getOrCreate('node', '', nodeName)
    this.#addEdge(this.#getOrCreate(type, '', name), node, node)
  }

  deleteNodeObject(type: 'volumeattachment' | 'resourceslice', name: string): void {
    this.#removeVertex(this.#get(type, '', name))
  }

  /**
   * Whether a path leads from the object to the node. Edges that lead to other nodes are not
   * followed, so the walk stays among the objects of this node and the pv/pvc links between them.
   */
  hasPathFrom(nodeName: string, type: VertexType, namespace: string, name: string): boolean {
    const node = this.#get('node', '', nodeName)
    const start = this.#get(type, namespace, name)
    if (!node || !start) return false
    const seen = new Set<Vertex>([start])
    const stack = [start]
    for (let v = stack.pop(); v; v = stack.pop()) {
      if (v.destinations) {
        if (v.destinations.has(node)) return true
        if (indexIsComplete.has(v.type)) continue
      }
      for (const [to, destination] of v.out) {
        if (destination !== undefined) {
          if (destination === node) return true
          continue
        }
        if (!seen.has(to)) {
          seen.add(to)
          stack.push(to)
        }
      }
    }
    return false
  }

  #get(type: VertexType, namespace: string, name: string): Vertex | undefined {
    return this.#vertices.get(keyOf(type, namespace, name))
  }

  #getOrCreate(type: VertexType, namespace: string, name: string): Vertex {
    const key = keyOf(type, namespace, name)
    let v = this.#vertices.get(key)
    if (!v) {
      v = { type, namespace, name, out: new Map(), in: new Set(), destinations: undefined }
      this.#vertices.set(key, v)
    }
    return v
  }

  #addEdge(from: Vertex, to: Vertex, destination: Vertex | undefined): void {
    if (from.out.has(to)) {
      if (from.out.get(to) === destination) return
      this.#removeEdge(from, to)
    }
    from.out.set(to, destination)
    to.in.add(from)
    if (from.destinations) {
      if (destination) from.destinations.set(destination, (from.destinations.get(destination) ?? 0) + 1)
    } else if (from.out.size >= destinationIndexThreshold) {
      from.destinations = new Map()
      for (const d of from.out.values()) if (d) from.destinations.set(d, (from.destinations.get(d) ?? 0) + 1)
    }
  }

  #removeEdge(from: Vertex, to: Vertex): void {
    const destination = from.out.get(to)
    from.out.delete(to)
    to.in.delete(from)
    if (!from.destinations) return
    if (from.out.size < destinationIndexThreshold) {
      from.destinations = undefined
    } else if (destination) {
      const n = (from.destinations.get(destination) ?? 0) - 1
      if (n > 0) from.destinations.set(destination, n)
      else from.destinations.delete(destination)
    }
  }

  /** Removes the vertex and its edges, then the neighbours it was the only neighbour of. */
  #removeVertex(v: Vertex | undefined): void {
    if (!v) return
    const neighbours = [...v.out.keys(), ...v.in]
    for (const to of [...v.out.keys()]) this.#removeEdge(v, to)
    for (const from of [...v.in]) this.#removeEdge(from, v)
    this.#vertices.delete(keyOf(v.type, v.namespace, v.name))
    for (const n of neighbours) {
      if (n.out.size === 0 && n.in.size === 0) this.#vertices.delete(keyOf(n.type, n.namespace, n.name))
    }
  }
}

function keyOf(type: VertexType, namespace: string, name: string): string {
  return `${type}/${namespace}/${name}`
}
