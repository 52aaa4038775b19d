/**
 * The node's pods from both sources, merged as the kubelet's PodConfig merges its api and file
 * sources: what the pod workers run and housekeeping keeps.
 *
 *   api source (the node's pod informer) ──┐
 *                                          ├─▶ PodConfig (a PodSource) ──▶ pod workers
 *   manifest folder (StaticPodSource) ─────┘
 *
 * Mirror pods are left out of what the workers see: the static pod itself runs, and its status is
 * written to its mirror (statusWriter). Every two seconds, and when a manifest changes, the mirror
 * pods are reconciled (syncMirrorPods). When a static pod's mirror appears or is replaced, the
 * static pod is handed to the handlers again (and onMirrorChange is told) so that its status goes
 * to the new mirror.
 */
import type { Node, Pod, PodStatus } from '../../api/generated/types/core-v1.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import type { EventHandler, RestClient } from '../../client/index.ts'
import type { PodSource } from '../pod/pod-source.ts'
import type { PodRef, PodStatusWriter } from '../pod/status-manager.ts'
import { isMirrorPod, isMirrorPodOf, MirrorPodClient, syncMirrorPods } from './mirror-pods.ts'
import { configHashAnnotation, configMirrorAnnotation, StaticPodSource } from './static-pods.ts'

/** How often mirror pods are reconciled (with the kubelet's housekeeping). */
export const mirrorSyncPeriodMs = 2000

export interface PodConfigOptions {
  /** The node's pods in the API. */
  api: PodSource
  /** --pod-manifest-path. */
  manifestPath: string
  nodeName: string
  rest: RestClient
  clock: Clock
  node?: () => Readonly<Node> | undefined
  log?: Logger
  /** Told when a static pod's mirror appears or changes (the pod manager forgets its written status). */
  onMirrorChange?: (staticPod: Pod) => void
  /** --file-check-frequency (default 20 s). */
  checkFrequencyMs?: number
  /** Watch the manifest folder too (default true). */
  watch?: boolean
}

export class PodConfig implements PodSource {
  readonly #o: PodConfigOptions
  readonly #static: StaticPodSource
  readonly #mirrors: MirrorPodClient
  readonly #handlers: EventHandler<Pod>[] = []
  #started: Promise<void> | undefined

  constructor(o: PodConfigOptions) {
    this.#o = o
    this.#mirrors = new MirrorPodClient({
      rest: o.rest,
      nodeName: o.nodeName,
      ...(o.node ? { node: o.node } : {}),
      ...(o.log ? { log: o.log } : {}),
    })
    this.#static = new StaticPodSource({
      manifestPath: o.manifestPath,
      nodeName: o.nodeName,
      clock: o.clock,
      ...(o.log ? { log: o.log } : {}),
      ...(o.checkFrequencyMs !== undefined ? { checkFrequencyMs: o.checkFrequencyMs } : {}),
      ...(o.watch !== undefined ? { watch: o.watch } : {}),
      handlers: {
        add: (pod) => this.#notify((h) => h.add?.(pod, false)),
        update: (pod) => this.#notify((h) => h.update?.(pod, pod)),
        remove: (pod) => this.#notify((h) => h.delete?.(pod, false)),
      },
    })
  }

  get lister(): { list(): readonly Readonly<Pod>[] } {
    return {
      list: () => [...this.#o.api.lister.list().filter((p) => !isMirrorPod(p)), ...this.#static.pods()],
    }
  }

  addHandler(h: EventHandler<Pod>): void {
    this.#handlers.push(h)
    // As an informer does: a handler added late hears of what is there.
    for (const pod of this.#static.pods()) h.add?.(pod, true)
    // The API source replays its pods to this handler; mirror pods never reach it.
    this.#o.api.addHandler({
      add: (pod, initial) => (isMirrorPod(pod) ? this.#mirrorChanged(pod, h) : h.add?.(pod, initial)),
      update: (old, pod) => (isMirrorPod(pod) ? this.#mirrorChanged(pod, h) : h.update?.(old, pod)),
      delete: (pod, stale) => (isMirrorPod(pod) ? undefined : h.delete?.(pod, stale)),
    })
  }

  /** Synced once the API source has listed and the manifests were read once. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await this.#o.api.waitForSync(signal)
    await this.#started
  }

  /** Reads the manifests and keeps the mirror pods in sync until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    this.#started = this.#static.start()
    await this.#started
    try {
      await this.#o.api.waitForSync(signal)
      while (!signal.aborted) {
        await this.syncMirrors()
        await this.#o.clock.sleep(mirrorSyncPeriodMs, signal)
      }
    } catch (err) {
      if (!signal.aborted) throw err
    } finally {
      this.#static.stop()
    }
  }

  /** One reconcile of the mirror pods with the static pods. */
  async syncMirrors(): Promise<void> {
    await syncMirrorPods(this.#mirrors, this.#static.pods(), this.#o.api.lister.list(), this.#o.log)
  }

  /** The static pods as last read. */
  staticPods(): Pod[] {
    return this.#static.pods()
  }

  /**
   * The status writer for the merged pods: a static pod's status goes to its mirror (by the
   * mirror's uid); until the mirror exists the write fails and the pod worker tries again.
   */
  statusWriter(inner: PodStatusWriter): PodStatusWriter {
    return {
      patchStatus: (ref: PodRef, status: PodStatus) => {
        const staticPod = this.#static.pods().find((p) => p.metadata?.uid === ref.uid)
        if (staticPod === undefined) return inner.patchStatus(ref, status)
        const mirror = this.#o.api.lister
          .list()
          .find((p) => p.metadata?.namespace === ref.namespace && p.metadata.name === ref.name)
        if (mirror === undefined || !isMirrorPodOf(mirror, staticPod)) {
          return Promise.reject(
            new Error(
              `static pod ${ref.namespace}/${ref.name} has no mirror pod yet: its status is not written`,
            ),
          )
        }
        return inner.patchStatus({ ...ref, uid: mirror.metadata?.uid ?? '' }, status)
      },
      deletePod: (ref: PodRef) => {
        // A static pod goes when its manifest does; its mirror is deleted by the mirror sync.
        if (this.#static.pods().some((p) => p.metadata?.uid === ref.uid)) return Promise.resolve()
        return inner.deletePod(ref)
      },
    }
  }

  #mirrorChanged(mirror: Readonly<Pod>, h: EventHandler<Pod>): void {
    const hash = mirror.metadata?.annotations?.[configMirrorAnnotation]
    const staticPod = this.#static
      .pods()
      .find(
        (p) =>
          p.metadata?.annotations?.[configHashAnnotation] === hash &&
          p.metadata?.name === mirror.metadata?.name &&
          p.metadata?.namespace === mirror.metadata?.namespace,
      )
    if (staticPod === undefined) return
    this.#o.onMirrorChange?.(staticPod)
    h.update?.(staticPod, staticPod)
  }

  #notify(fn: (h: EventHandler<Pod>) => void): void {
    for (const h of this.#handlers) {
      try {
        fn(h)
      } catch (err) {
        this.#o.log?.error({ err }, 'a pod handler failed')
      }
    }
  }
}
