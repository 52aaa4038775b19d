/**
 * Mirror pods (the kubelet's pod/mirror_client.go and the mirror steps of syncPod and
 * HandlePodCleanups): for each static pod, a copy in the API so that kubectl shows it. The mirror
 * carries kubernetes.io/config.mirror=<the static pod's config.hash> and, as since 1.35 upstream, a
 * controller ownerReference to the Node, so that deleting the Node removes it.
 *
 * syncMirrorPods is the reconcile step, called with the static pods and the node's pods as the API
 * shows them (the kubelet's pod informer):
 *   - a static pod without a mirror gets one (unless the Node is missing or being deleted);
 *   - a mirror being deleted, or of another hash (the manifest changed), is deleted (with a uid
 *     precondition and no grace period) and created again;
 *   - a mirror whose static pod is gone is deleted.
 * The pod workers never run a mirror pod: they run the static pod itself.
 */
import type { Node, Pod } from '../../api/generated/types/core-v1.ts'
import {
  builtin,
  isAlreadyExists,
  isConflict,
  isNotFound,
  ResourceClient,
  type RestClient,
} from '../../client/index.ts'
import type { Logger } from '../../base/log.ts'
import { configHashAnnotation, configMirrorAnnotation } from './static-pods.ts'

export interface MirrorPodClientOptions {
  rest: RestClient
  nodeName: string
  /** The Node as last seen (its uid for the ownerReference); read from the API when missing. */
  node?: () => Readonly<Node> | undefined
  log?: Logger
}

/** A pod the kubelet made in the API for a static pod. */
export function isMirrorPod(pod: Readonly<Pod>): boolean {
  return pod.metadata?.annotations?.[configMirrorAnnotation] !== undefined
}

/** The mirror pod is of this static pod as it is now: same name and namespace, same hash. */
export function isMirrorPodOf(mirror: Readonly<Pod>, staticPod: Readonly<Pod>): boolean {
  const hash = staticPod.metadata?.annotations?.[configHashAnnotation]
  return (
    hash !== undefined &&
    mirror.metadata?.annotations?.[configMirrorAnnotation] === hash &&
    mirror.metadata.name === staticPod.metadata?.name &&
    mirror.metadata.namespace === staticPod.metadata?.namespace
  )
}

export class MirrorPodClient {
  readonly #o: MirrorPodClientOptions
  readonly #pods: ResourceClient<Pod>
  readonly #nodes: ResourceClient<Node>

  constructor(o: MirrorPodClientOptions) {
    this.#o = o
    this.#pods = new ResourceClient<Pod>(o.rest, builtin('', 'v1', 'pods'))
    this.#nodes = new ResourceClient<Node>(o.rest, builtin('', 'v1', 'nodes'))
  }

  /** The Node, or undefined when it does not exist. */
  async node(): Promise<Readonly<Node> | undefined> {
    const known = this.#o.node?.()
    if (known?.metadata?.uid) return known
    try {
      return await this.#nodes.get('', this.#o.nodeName)
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  /**
   * Creates the mirror of a static pod: its copy with the config.mirror annotation and the Node as
   * controller owner. A mirror of the same hash already there is success.
   */
  async create(staticPod: Readonly<Pod>, node: Readonly<Node>): Promise<void> {
    const meta = staticPod.metadata ?? {}
    const hash = meta.annotations?.[configHashAnnotation] ?? ''
    const mirror: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: meta.name ?? '',
        namespace: meta.namespace ?? 'default',
        ...(meta.labels ? { labels: { ...meta.labels } } : {}),
        annotations: { ...meta.annotations, [configMirrorAnnotation]: hash },
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Node',
            name: this.#o.nodeName,
            uid: node.metadata?.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: structuredClone(staticPod.spec ?? { containers: [] }),
    }
    try {
      await this.#pods.create(mirror)
    } catch (err) {
      if (isAlreadyExists(err)) {
        const existing = await this.#pods.get(mirror.metadata?.namespace ?? '', mirror.metadata?.name ?? '')
        if (existing.metadata?.annotations?.[configMirrorAnnotation] === hash) return
      }
      throw err
    }
  }

  /**
   * Deletes a mirror pod at once (grace period 0), only if it still has `uid`. Resolves false when
   * it was already gone or replaced (NotFound, Conflict), which upstream does not treat as errors.
   */
  async delete(namespace: string, name: string, uid: string | undefined): Promise<boolean> {
    try {
      await this.#pods.delete(namespace, name, {
        gracePeriodSeconds: 0,
        ...(uid ? { preconditions: { uid } } : {}),
      })
      return true
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return false
      throw err
    }
  }
}

/** What one reconcile did, by pod full name (<namespace>/<name>). */
export interface MirrorSyncResult {
  created: string[]
  deleted: string[]
}

/** The reconcile step described at the top; errors for one pod are logged and do not stop the others. */
export async function syncMirrorPods(
  client: MirrorPodClient,
  staticPods: readonly Readonly<Pod>[],
  apiPods: readonly Readonly<Pod>[],
  log?: Logger,
): Promise<MirrorSyncResult> {
  const result: MirrorSyncResult = { created: [], deleted: [] }
  const fullName = (p: Readonly<Pod>) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`
  const mirrors = new Map(apiPods.filter(isMirrorPod).map((p) => [fullName(p), p]))
  const wanted = new Set(staticPods.map(fullName))
  let node: Readonly<Node> | undefined | null = null
  for (const staticPod of staticPods) {
    const name = fullName(staticPod)
    try {
      // Only mirrors count: an API pod of the same name that is no mirror is left alone.
      let mirror = mirrors.get(name)
      if (mirror !== undefined && (mirror.metadata?.deletionTimestamp || !isMirrorPodOf(mirror, staticPod))) {
        if (
          await client.delete(
            staticPod.metadata?.namespace ?? '',
            staticPod.metadata?.name ?? '',
            mirror.metadata?.uid,
          )
        ) {
          result.deleted.push(name)
          mirror = undefined
        }
      }
      if (mirror !== undefined) continue
      if (node === null) node = await client.node()
      if (node === undefined || node.metadata?.deletionTimestamp) continue
      await client.create(staticPod, node)
      result.created.push(name)
    } catch (err) {
      log?.error({ err, pod: name }, 'Failed creating a mirror pod')
    }
  }
  for (const [name, mirror] of mirrors) {
    if (wanted.has(name)) continue
    try {
      const [namespace = '', podName = ''] = name.split('/')
      if (await client.delete(namespace, podName, mirror.metadata?.uid)) result.deleted.push(name)
    } catch (err) {
      log?.error({ err, pod: name }, 'Failed deleting a mirror pod')
    }
  }
  return result
}
