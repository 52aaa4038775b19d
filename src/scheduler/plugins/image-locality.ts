import type { Pod } from '../../api/generated/types/core-v1.ts'
import { stateKey, type CycleState } from '../framework/cycle-state.ts'
import { maxNodeScore, type Handle, type PreScorePlugin, type ScorePlugin } from '../framework/interfaces.ts'
import type { NodeInfo } from '../framework/node-info.ts'
import { skip, success, type Status } from '../framework/status.ts'

export const imageLocalityName = 'ImageLocality'

const mb = 1024 * 1024
/**
 * The score's range in bytes of (spread-weighted) images already on the node: below 23 MB a node
 * scores 0, at 1000 MB per container of the pod it scores maxNodeScore. Kubernetes chose them as
 * the range that most images in registries fall into.
 */
export const minThreshold = 23 * mb
export const maxContainerThreshold = 1000 * mb

/**
 * The name a container's image is looked up by in node.status.images (Kubernetes'
 * normalizedImageName): a name without a tag or digest means `:latest`. Nothing else is
 * normalised, as upstream: `nginx` does not match a node's `docker.io/library/nginx:latest`.
 */
export function normalizedImageName(name: string): string {
  return name.lastIndexOf(':') <= name.lastIndexOf('/') ? `${name}:latest` : name
}

/** One image of the pod that some node has. */
interface WantedImage {
  /** The normalised name. */
  readonly name: string
  /** How many of the pod's containers (init containers included) use it. */
  readonly containers: number
  /** The fraction of all nodes that have it: small for an image on few nodes. */
  readonly spread: number
}

interface PodImages {
  /** Empty when no node has any of the pod's images: every node then scores 0. */
  readonly wanted: readonly WantedImage[]
  /** The pod's containers, init containers included: the score's upper bound grows with them. */
  readonly containers: number
}

const podImagesKey = stateKey<PodImages>('ImageLocality/PreScore')

/**
 * The node's score for the summed, spread-weighted sizes of the pod's images it has
 * (Kubernetes' calculatePriority): clamped to [minThreshold, maxContainerThreshold × containers]
 * and scaled linearly to 0..maxNodeScore, rounded down.
 */
export function imageScore(sum: number, containers: number): number {
  const max = maxContainerThreshold * containers
  if (sum <= minThreshold || max <= minThreshold) return 0
  const clamped = Math.min(sum, max)
  return Math.trunc((maxNodeScore * (clamped - minThreshold)) / (max - minThreshold))
}

/**
 * ImageLocality: nodes that already have the pod's container images (init containers too)
 * score higher, by the images' sizes, so big pulls are avoided. Each image counts in proportion
 * to how many of the cluster's nodes have it, so that one node holding a big image does not draw
 * every such pod to itself (the "node heating problem"); an image everywhere counts fully.
 *
 * PreScore looks up, once per pod, how widely each image has spread; Score then only looks the
 * pod's images up in the node's (NodeInfo.imageSizes, made once per node). Pods whose images no
 * node has skip Score (every node scores 0), and nodes reporting no images score 0 without
 * further work. Scores are already 0..maxNodeScore, so there is no normalisation.
 */
export function imageLocality(handle: Handle): PreScorePlugin & ScorePlugin {
  return {
    name: imageLocalityName,

    preScore(state: CycleState, pod: Readonly<Pod>): Status {
      const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]
      const totalNodes = handle.snapshot.nodeList().length
      const counts = new Map<string, number>()
      for (const c of containers) {
        if (c.image === undefined) continue
        const name = normalizedImageName(c.image)
        counts.set(name, (counts.get(name) ?? 0) + 1)
      }
      const wanted: WantedImage[] = []
      for (const [name, n] of counts) {
        const nodes = handle.snapshot.nodesWithImage(name)
        if (nodes > 0) wanted.push({ name, containers: n, spread: nodes / totalNodes })
      }
      // No node has any of the pod's images: every node would score 0, so Score is not run at
      // all (the framework skips it, once per pod instead of a call per node).
      if (wanted.length === 0) return skip
      state.write(podImagesKey, { wanted, containers: containers.length })
      return success
    },

    score(state: CycleState, _pod, node: NodeInfo): number {
      const { wanted, containers } = state.read(podImagesKey)
      if (wanted.length === 0) return 0
      const images = node.imageSizes
      if (images.size === 0) return 0
      let sum = 0
      for (const w of wanted) {
        const size = images.get(w.name)
        // Truncated per container, as upstream adds up whole bytes.
        if (size !== undefined) sum += w.containers * Math.trunc(size * w.spread)
      }
      return imageScore(sum, containers)
    },
  }
}
