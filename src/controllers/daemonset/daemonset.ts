import type { ControllerRevision, DaemonSet, DaemonSetStatus } from '../../api/generated/types/apps-v1.ts'
import type { Node, Pod, PodTemplateSpec } from '../../api/generated/types/core-v1.ts'
import { labelSelectorFromObject, type LabelSelector } from '../../api/selectors/label-selector.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  builtin,
  isAlreadyExists,
  isConflict,
  isNotFound,
  objectKey,
  runWorkers,
  splitKey,
  TerminalError,
  WorkQueue,
  type EventHandler,
  type Lister,
  type Reconciler,
  type Requeue,
  type ResourceClient,
} from '../../client/index.ts'
import type { ControllerContext, ControllerDefinition, Recorder } from '../controller.ts'
import { Expectations, ownedPodHandler, ownerHandler } from '../expectations.ts'
import { ControllerHistory, nextRevision, sortRevisions, type RevisionClient } from '../history/history.ts'
import { adoptPatch, claim, controllerRef, controllerRefTo, releasePatch } from '../owner-refs.ts'
import { isPodAvailable, isPodReady } from '../pod-state.ts'
import { nodeShouldRunDaemonPod, pinToNode, targetNodeName, withDaemonPodTolerations } from './eligibility.ts'
import { daemonSetKind, daemonSetRevision, matchesRevision } from './revisions.ts'
import {
  allowsSurge,
  controllerRevisionHashLabel,
  isPodUpdated,
  planRollingUpdate,
  podTemplateGenerationLabel,
  templateGeneration,
} from './rolling-update.ts'

/**
 * The DaemonSet controller (Kubernetes' pkg/controller/daemon): one pod of the template on every
 * node that qualifies (eligibility.ts).
 *
 * Each sync of a DaemonSet:
 *   1. claims its ControllerRevisions and pods (adopting orphans its selector matches);
 *   2. finds the revision of the current template, creating it (revisions.ts) or renumbering it
 *      to come after all others; its hash labels the pods made from it;
 *   3. manage: creates a pod for each qualifying node without one (slow-start batches, at most
 *      burstReplicas), deletes pods on nodes that no longer qualify, excess pods on a node
 *      (oldest stays), succeeded pods, and failed pods (with a per-node back-off, since a kubelet
 *      that rejects a pod would otherwise fight the controller in a hot loop);
 *   4. RollingUpdate (once the informer has seen manage's writes): deletes or surges per
 *      rolling-update.ts; OnDelete replaces nothing, new pods come as users delete old ones;
 *   5. deletes old revisions beyond revisionHistoryLimit that no pod uses;
 *   6. writes the status.
 *
 * A pod is never given spec.nodeName: like upstream since 1.12, it is created with a required node
 * affinity naming its node by metadata.name, and the scheduler binds it there (so preemption,
 * resource fit and ports are the scheduler's business).
 */

/** Event reasons, as upstream's. */
export const reasons = {
  successfulCreate: 'SuccessfulCreate',
  failedCreate: 'FailedCreate',
  successfulDelete: 'SuccessfulDelete',
  failedDelete: 'FailedDelete',
  failedDaemonPod: 'FailedDaemonPod',
  selectingAll: 'SelectingAll',
} as const

/** The writes of the controller: the apiserver in production, a recording fake in tests. */
export interface DaemonSetControl {
  createPod(namespace: string, pod: Pod): Promise<Pod>
  deletePod(namespace: string, name: string): Promise<void>
  patchPod(namespace: string, name: string, patch: unknown): Promise<void>
  /** A fresh read (adoption and collision counting must not trust a cache). */
  getDaemonSet(namespace: string, name: string): Promise<DaemonSet>
  updateStatus(ds: DaemonSet): Promise<DaemonSet>
  revisions: RevisionClient
}

export interface DaemonSetControllerOptions {
  daemonSets: Lister<DaemonSet>
  pods: Lister<Pod>
  nodes: Lister<Node>
  revisions: Lister<ControllerRevision>
  control: DaemonSetControl
  recorder: Recorder
  clock: Clock
  log?: Logger
  /** Most pods created or deleted in one sync (kube-controller-manager's burstReplicas, 250 here). */
  burstReplicas?: number
}

/** Failed-pod back-off per DaemonSet and node: 1 s doubling to 15 minutes (flowcontrol.Backoff). */
export class FailedPodsBackoff {
  static readonly initialMs = 1000
  static readonly maxMs = 15 * 60 * 1000
  readonly #entries = new Map<string, { delayMs: number; updatedAt: number }>()

  /** Whether `now` is still within the back-off that the last `next` started. */
  inBackoff(key: string, now: number): boolean {
    const e = this.#entries.get(key)
    return e !== undefined && now - e.updatedAt < e.delayMs
  }

  delayMs(key: string): number {
    return this.#entries.get(key)?.delayMs ?? 0
  }

  /** Starts the next, doubled, back-off (the first after a quiet spell of 2 × max starts over). */
  next(key: string, now: number): void {
    for (const [k, e] of this.#entries)
      if (now - e.updatedAt > 2 * FailedPodsBackoff.maxMs) this.#entries.delete(k)
    const e = this.#entries.get(key)
    const delayMs = e ? Math.min(e.delayMs * 2, FailedPodsBackoff.maxMs) : FailedPodsBackoff.initialMs
    this.#entries.set(key, { delayMs, updatedAt: now })
  }
}

type PodsByNode = Map<string, Readonly<Pod>[]>

export class DaemonSetController implements Reconciler {
  readonly queue: WorkQueue
  readonly expectations: Expectations
  readonly failedPodsBackoff = new FailedPodsBackoff()
  readonly #o: DaemonSetControllerOptions
  readonly #burst: number
  readonly #history: ControllerHistory

  constructor(o: DaemonSetControllerOptions, queue?: WorkQueue) {
    this.#o = o
    this.#burst = o.burstReplicas ?? 250
    this.queue = queue ?? new WorkQueue({ clock: o.clock })
    this.expectations = new Expectations(o.clock)
    this.#history = new ControllerHistory({ client: o.control.revisions, lister: o.revisions })
  }

  // --- events to keys --------------------------------------------------------------------------

  daemonSetHandler(): EventHandler<DaemonSet> {
    return ownerHandler(this.queue, this.expectations)
  }

  podHandler(): EventHandler<Pod> {
    return ownedPodHandler({
      queue: this.queue,
      expectations: this.expectations,
      ownerOf: (pod) => this.#ownerOf(pod),
      matchingOwners: (pod) => this.#matching(pod),
      minReadySeconds: (key) => {
        const { namespace, name } = splitKey(key)
        return this.#o.daemonSets.get(namespace, name)?.spec?.minReadySeconds ?? 0
      },
    })
  }

  /** Nodes joining, changing or leaving: the DaemonSets whose verdict on the node may change. */
  nodeHandler(): EventHandler<Node> {
    const all = () => this.#o.daemonSets.list().map((ds) => objectKey(ds))
    return {
      add: (node) => {
        for (const ds of this.#o.daemonSets.list())
          if (nodeShouldRunDaemonPod(node, ds).shouldRun) this.queue.add(objectKey(ds))
      },
      update: (old, node) => {
        if (old.metadata?.resourceVersion === node.metadata?.resourceVersion) return
        for (const ds of this.#o.daemonSets.list()) {
          const a = nodeShouldRunDaemonPod(old, ds)
          const b = nodeShouldRunDaemonPod(node, ds)
          if (a.shouldRun !== b.shouldRun || a.shouldContinueRunning !== b.shouldContinueRunning)
            this.queue.add(objectKey(ds))
        }
      },
      // Not in upstream (which waits for podgc to delete the node's pods): desiredNumberScheduled
      // changes at once.
      delete: () => {
        for (const k of all()) this.queue.add(k)
      },
    }
  }

  revisionHandler(): EventHandler<ControllerRevision> {
    const enqueue = (r: Readonly<ControllerRevision>) => {
      const ref = controllerRef(r)
      if (ref) {
        if (ref.kind !== daemonSetKind.kind) return
        const ds = this.#o.daemonSets.get(r.metadata?.namespace ?? '', ref.name)
        if (ds?.metadata?.uid === ref.uid) this.queue.add(objectKey(ds))
        return
      }
      for (const k of this.#matching(r)) this.queue.add(k)
    }
    return { add: enqueue, update: (_old, r) => enqueue(r), delete: enqueue }
  }

  #ownerOf(obj: Readonly<Pod>): string | undefined {
    const ref = controllerRef(obj)
    if (!ref || ref.kind !== daemonSetKind.kind) return undefined
    const ds = this.#o.daemonSets.get(obj.metadata?.namespace ?? '', ref.name)
    return ds?.metadata?.uid === ref.uid ? objectKey(ds) : undefined
  }

  #matching(obj: Readonly<Pod | ControllerRevision>): string[] {
    const labels = obj.metadata?.labels ?? {}
    return this.#o.daemonSets
      .list(obj.metadata?.namespace ?? '')
      .filter((ds) => selectorOf(ds)?.matches(labels))
      .map((ds) => objectKey(ds))
  }

  // --- reconcile -------------------------------------------------------------------------------

  async reconcile(key: string): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const ds = this.#o.daemonSets.get(namespace, name)
    if (!ds) {
      this.expectations.delete(key)
      return undefined
    }
    const sel = ds.spec?.selector
    if (Object.keys(sel?.matchLabels ?? {}).length === 0 && (sel?.matchExpressions ?? []).length === 0) {
      this.#o.recorder.event(
        ds,
        'Warning',
        reasons.selectingAll,
        'This daemon set is selecting all pods. A non-empty selector is required.',
      )
      return undefined
    }
    const selector = selectorOf(ds)
    if (!selector) throw new TerminalError(`${key} has an invalid selector`)
    if (ds.metadata?.deletionTimestamp) return undefined

    const nodes = this.#o.nodes.list()
    const { current, old } = await this.#constructHistory(ds, selector)
    const hash = current.metadata?.labels?.[controllerRevisionHashLabel] ?? ''
    const requeue: Requeue[] = []
    // Claimed once: the writes of this sync show in the cache only as the informer brings them.
    const podsByNode = await this.#claimPods(ds, selector)
    if (!this.expectations.satisfied(key)) {
      await this.#writeStatus(ds, nodes, hash, podsByNode, false, requeue)
      return earliest(requeue)
    }

    // As upstream's updateDaemonSet: a failure stops the sync there (no rolling update, no
    // history clean-up), and the status is written all the same.
    let error: Error | undefined
    try {
      await this.#manage(key, ds, nodes, hash, podsByNode, requeue)
      if (
        this.expectations.satisfied(key) &&
        (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate'
      )
        await this.#rollingUpdate(key, ds, nodes, hash, new Map(podsByNode))
      await this.#cleanupHistory(ds, old, podsByNode)
    } catch (err) {
      error = err as Error
    }
    try {
      await this.#writeStatus(ds, nodes, hash, podsByNode, true, requeue)
    } catch (err) {
      if (isNotFound(err)) return undefined
      error ??= err as Error
    }
    if (error) throw error
    return earliest(requeue)
  }

  /** The DaemonSet's pods by node (getNodesToDaemonPods): pods terminal and being deleted are left out. */
  async #claimPods(ds: Readonly<DaemonSet>, selector: LabelSelector): Promise<PodsByNode> {
    const candidates = this.#o.pods.list(ds.metadata?.namespace ?? '')
    const pods = await claim<Pod>(ds, selector, candidates, {
      adopt: async (pod) => {
        if (!(await this.#canAdopt(ds))) return false
        return this.#patchPodIgnoringGone(
          pod,
          adoptPatch(pod, controllerRefTo(ds, daemonSetKind.apiVersion, daemonSetKind.kind)),
        )
      },
      release: (pod) => this.#patchPodIgnoringGone(pod, releasePatch(pod, ds.metadata?.uid ?? '')),
    })
    const byNode: PodsByNode = new Map()
    for (const pod of pods) {
      const phase = pod.status?.phase
      if (pod.metadata?.deletionTimestamp && (phase === 'Succeeded' || phase === 'Failed')) continue
      const node = targetNodeName(pod)
      if (node === undefined) {
        this.#o.log?.warn({ pod: objectKey(pod) }, 'daemon pod names no node; left alone')
        continue
      }
      const list = byNode.get(node)
      if (list) list.push(pod)
      else byNode.set(node, [pod])
    }
    return byNode
  }

  async #canAdopt(ds: Readonly<DaemonSet>): Promise<boolean> {
    const fresh = await this.#o.control.getDaemonSet(ds.metadata?.namespace ?? '', ds.metadata?.name ?? '')
    return fresh.metadata?.uid === ds.metadata?.uid && !fresh.metadata?.deletionTimestamp
  }

  async #patchPodIgnoringGone(pod: Readonly<Pod>, patch: unknown): Promise<boolean> {
    try {
      await this.#o.control.patchPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', patch)
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  /** Creates and deletes pods so that each qualifying node runs one (manage). */
  async #manage(
    key: string,
    ds: Readonly<DaemonSet>,
    nodes: readonly Readonly<Node>[],
    hash: string,
    podsByNode: PodsByNode,
    requeue: Requeue[],
  ): Promise<void> {
    const needing: string[] = []
    const deleting: Readonly<Pod>[] = []
    let failed = 0
    const now = this.#o.clock.now()
    for (const node of nodes) {
      const nodeName = node.metadata?.name ?? ''
      const pods = podsByNode.get(nodeName)
      const verdict = nodeShouldRunDaemonPod(node, ds)
      if (verdict.shouldRun && !pods) {
        needing.push(nodeName)
        continue
      }
      if (!pods) continue
      if (!verdict.shouldContinueRunning) {
        deleting.push(...pods.filter((p) => !p.metadata?.deletionTimestamp))
        continue
      }
      const running: Readonly<Pod>[] = []
      for (const pod of pods) {
        if (pod.metadata?.deletionTimestamp) continue
        const phase = pod.status?.phase
        if (phase === 'Failed') {
          const backoffKey = `${ds.metadata?.uid ?? ''}/${nodeName}`
          if (this.failedPodsBackoff.inBackoff(backoffKey, now)) {
            requeue.push({ afterMs: this.failedPodsBackoff.delayMs(backoffKey) })
            continue
          }
          this.failedPodsBackoff.next(backoffKey, now)
          this.#o.recorder.event(
            ds,
            'Warning',
            reasons.failedDaemonPod,
            `Found failed daemon pod ${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''} on node ${nodeName}, will try to kill it`,
          )
          deleting.push(pod)
          failed++
        } else if (phase === 'Succeeded') {
          deleting.push(pod)
        } else {
          running.push(pod)
        }
      }
      deleting.push(...excessPods(ds, running, hash, now))
      if (allowsSurge(ds) && running.length === 0 && verdict.shouldRun) needing.push(nodeName)
    }
    // Pods waiting for a node that is gone (bound pods on a gone node are podgc's).
    const known = new Set(nodes.map((n) => n.metadata?.name ?? ''))
    for (const [nodeName, pods] of podsByNode) {
      if (known.has(nodeName)) continue
      deleting.push(...pods.filter((p) => !p.spec?.nodeName && !p.metadata?.deletionTimestamp))
    }
    await this.#syncNodes(key, ds, deleting, needing, hash)
    if (failed > 0) {
      throw new Error(
        `deleted ${failed} failed pods of DaemonSet ${ds.metadata?.namespace ?? ''}/${ds.metadata?.name ?? ''}`,
      )
    }
  }

  async #rollingUpdate(
    key: string,
    ds: Readonly<DaemonSet>,
    nodes: readonly Readonly<Node>[],
    hash: string,
    podsByNode: PodsByNode,
  ): Promise<void> {
    let desired = 0
    const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]))
    for (const node of nodes) {
      if (!nodeShouldRunDaemonPod(node, ds).shouldRun) continue
      desired++
      if (!podsByNode.has(node.metadata?.name ?? '')) podsByNode.set(node.metadata?.name ?? '', [])
    }
    const plan = planRollingUpdate({
      ds,
      hash,
      podsByNode,
      desired,
      shouldRun: (n) => {
        const node = byName.get(n)
        return node !== undefined && nodeShouldRunDaemonPod(node, ds).shouldRun
      },
      now: this.#o.clock.now(),
    })
    const pods = new Map([...podsByNode.values()].flat().map((p) => [p.metadata?.name ?? '', p]))
    const deleting = plan.deletePods.flatMap((n) => pods.get(n) ?? [])
    await this.#syncNodes(key, ds, deleting, plan.createOnNodes, hash)
  }

  /** Deletes `deleting` and creates a pod on each of `needing`, recording expectations (syncNodes). */
  async #syncNodes(
    key: string,
    ds: Readonly<DaemonSet>,
    deleting: readonly Readonly<Pod>[],
    needing: readonly string[],
    hash: string,
  ): Promise<void> {
    const creates = needing.slice(0, this.#burst)
    const deletes = deleting.slice(0, this.#burst)
    if (creates.length === 0 && deletes.length === 0) return
    this.expectations.expect(
      key,
      creates.length,
      deletes.map((p) => objectKey(p)),
    )
    const template = daemonPodTemplate(ds.spec?.template, templateGeneration(ds), hash)
    let error: Error | undefined
    let made = 0
    // Slow start: 1, 2, 4, ... so that a create that fails (a quota, a webhook) fails few times.
    for (let batch = 1; made < creates.length; batch *= 2) {
      const size = Math.min(batch, creates.length - made)
      const results = await Promise.allSettled(
        creates.slice(made, made + size).map((nodeName) => this.#createPod(ds, template, nodeName)),
      )
      made += size
      let failedHere = false
      for (const r of results) {
        if (r.status === 'fulfilled') continue
        this.expectations.creationObserved(key)
        error ??= r.reason as Error
        failedHere = true
      }
      if (failedHere) break
    }
    for (let i = made; i < creates.length; i++) this.expectations.creationObserved(key)

    await Promise.all(
      deletes.map(async (pod) => {
        const podName = pod.metadata?.name ?? ''
        try {
          await this.#o.control.deletePod(pod.metadata?.namespace ?? '', podName)
          this.#o.recorder.event(ds, 'Normal', reasons.successfulDelete, `Deleted pod: ${podName}`)
        } catch (err) {
          this.expectations.deletionObserved(key, objectKey(pod))
          if (isNotFound(err)) return
          error ??= err as Error
          this.#o.recorder.event(
            ds,
            'Warning',
            reasons.failedDelete,
            `Error deleting: ${(err as Error).message}`,
          )
        }
      }),
    )
    if (error) throw error
  }

  async #createPod(ds: Readonly<DaemonSet>, template: PodTemplateSpec, nodeName: string): Promise<void> {
    const pod = daemonPod(ds, template, nodeName)
    try {
      const created = await this.#o.control.createPod(ds.metadata?.namespace ?? '', pod)
      this.#o.recorder.event(
        ds,
        'Normal',
        reasons.successfulCreate,
        `Created pod: ${created.metadata?.name ?? ''}`,
      )
    } catch (err) {
      this.#o.recorder.event(ds, 'Warning', reasons.failedCreate, `Error creating: ${(err as Error).message}`)
      throw err
    }
  }

  // --- history ---------------------------------------------------------------------------------

  /**
   * The revision of the current template and the older ones (constructHistory): revisions
   * claimed like pods, the current one created when missing, duplicates of it merged into the
   * newest, and renumbered to come after every older one.
   */
  async #constructHistory(
    ds: Readonly<DaemonSet>,
    selector: LabelSelector,
  ): Promise<{ current: Readonly<ControllerRevision>; old: Readonly<ControllerRevision>[] }> {
    const candidates = this.#o.revisions.list(ds.metadata?.namespace ?? '')
    const claimed = await claim<ControllerRevision>(ds, selector, candidates, {
      adopt: async (r) => (await this.#canAdopt(ds)) && this.#history.adopt(ds, daemonSetKind, r),
      release: (r) => this.#history.release(ds, r),
    })
    const currents: Readonly<ControllerRevision>[] = []
    const old: Readonly<ControllerRevision>[] = []
    for (let r of claimed) {
      if (r.metadata?.labels?.[controllerRevisionHashLabel] === undefined) {
        // Revisions from before the label: their name stands in for the hash.
        const next = structuredClone(r) as ControllerRevision
        next.metadata = {
          ...next.metadata,
          labels: { ...next.metadata?.labels, [controllerRevisionHashLabel]: next.metadata?.name ?? '' },
        }
        r = await this.#o.control.revisions.update(next)
      }
      if (matchesRevision(ds, r)) currents.push(r)
      else old.push(r)
    }
    const number = nextRevision(old)
    if (currents.length === 0) return { current: await this.#snapshot(ds, number), old }
    let current = await this.#dedup(ds, currents, selector)
    if (current.revision < number) current = await this.#history.updateRevision(current, number)
    return { current, old }
  }

  /**
   * Stores the current template as a revision (snapshot). When its name is taken by a revision of
   * another template (a hash collision), status.collisionCount goes up by one and the sync fails,
   * to be tried again with the new count (unless the count it used was stale already).
   */
  async #snapshot(ds: Readonly<DaemonSet>, revision: number): Promise<ControllerRevision> {
    const r = daemonSetRevision(ds, revision)
    try {
      return await this.#o.control.revisions.create(r)
    } catch (err) {
      if (!isAlreadyExists(err)) throw err
      const ns = ds.metadata?.namespace ?? ''
      const existing = await this.#o.control.revisions.get(ns, r.metadata?.name ?? '')
      if (matchesRevision(ds, existing)) return existing
      const fresh = await this.#o.control.getDaemonSet(ns, ds.metadata?.name ?? '')
      if (fresh.status?.collisionCount !== ds.status?.collisionCount) {
        throw new Error(
          `found a stale collision count (${ds.status?.collisionCount ?? 0}, expected ${fresh.status?.collisionCount ?? 0}) of DaemonSet "${ds.metadata?.name ?? ''}" while processing; will retry until it is updated`,
          { cause: err },
        )
      }
      const status: DaemonSetStatus = {
        ...emptyStatus(),
        ...fresh.status,
        collisionCount: (fresh.status?.collisionCount ?? 0) + 1,
      }
      await this.#o.control.updateStatus({ ...fresh, status })
      throw err
    }
  }

  /**
   * Keeps the newest of several revisions of the current template; pods labelled with another's
   * hash are relabelled first (dedupCurHistories; upstream relabels every pod not on the kept
   * hash, which would count old pods as updated: only the duplicates' pods are relabelled here).
   */
  async #dedup(
    ds: Readonly<DaemonSet>,
    currents: readonly Readonly<ControllerRevision>[],
    selector: LabelSelector,
  ): Promise<Readonly<ControllerRevision>> {
    const sorted = sortRevisions(currents)
    const keep = sorted[sorted.length - 1] as Readonly<ControllerRevision>
    if (sorted.length === 1) return keep
    const keepHash = keep.metadata?.labels?.[controllerRevisionHashLabel] ?? ''
    const pods = [...(await this.#claimPods(ds, selector)).values()].flat()
    for (const dup of sorted.slice(0, -1)) {
      const dupHash = dup.metadata?.labels?.[controllerRevisionHashLabel]
      for (const pod of pods) {
        if (dupHash === keepHash || pod.metadata?.labels?.[controllerRevisionHashLabel] !== dupHash) continue
        await this.#patchPodIgnoringGone(pod, {
          metadata: { labels: { [controllerRevisionHashLabel]: keepHash } },
        })
      }
      await this.#history.delete(dup)
    }
    return keep
  }

  /** Deletes the oldest revisions beyond revisionHistoryLimit that no pod is labelled with (cleanupHistory). */
  async #cleanupHistory(
    ds: Readonly<DaemonSet>,
    old: readonly Readonly<ControllerRevision>[],
    podsByNode: PodsByNode,
  ): Promise<void> {
    let toKill = old.length - (ds.spec?.revisionHistoryLimit ?? 10)
    if (toKill <= 0) return
    const live = new Set<string>()
    for (const pods of podsByNode.values())
      for (const p of pods) {
        const h = p.metadata?.labels?.[controllerRevisionHashLabel]
        if (h) live.add(h)
      }
    for (const r of sortRevisions(old)) {
      if (toKill <= 0) break
      if (live.has(r.metadata?.labels?.[controllerRevisionHashLabel] ?? '')) continue
      await this.#history.delete(r)
      toKill--
    }
  }

  // --- status ----------------------------------------------------------------------------------

  async #writeStatus(
    ds: Readonly<DaemonSet>,
    nodes: readonly Readonly<Node>[],
    hash: string,
    podsByNode: PodsByNode,
    observeGeneration: boolean,
    requeue: Requeue[],
  ): Promise<void> {
    const now = this.#o.clock.now()
    const counts = computeStatus(ds, nodes, podsByNode, hash, now)
    const s = ds.status
    const same =
      s !== undefined &&
      (Object.keys(counts) as (keyof typeof counts)[]).every((k) => (s[k] ?? 0) === counts[k]) &&
      (s.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 0)
    if (!same) {
      const build = (from: Readonly<DaemonSet>): DaemonSet => ({
        ...from,
        status: {
          ...from.status,
          ...counts,
          ...(observeGeneration && from.metadata?.generation !== undefined
            ? { observedGeneration: from.metadata.generation }
            : {}),
        },
      })
      try {
        await this.#o.control.updateStatus(build(ds))
      } catch (err) {
        if (!isConflict(err)) throw err
        const fresh = await this.#o.control.getDaemonSet(
          ds.metadata?.namespace ?? '',
          ds.metadata?.name ?? '',
        )
        await this.#o.control.updateStatus(build(fresh))
      }
    }
    const minReady = ds.spec?.minReadySeconds ?? 0
    if (minReady > 0 && counts.numberReady !== counts.numberAvailable)
      requeue.push({ afterMs: minReady * 1000 })
  }
}

function earliest(requeue: readonly Requeue[]): Requeue | undefined {
  if (requeue.length === 0) return undefined
  return { afterMs: Math.max(1, Math.min(...requeue.map((r) => r.afterMs))) }
}

function selectorOf(ds: Readonly<DaemonSet>): LabelSelector | undefined {
  try {
    return labelSelectorFromObject(ds.spec?.selector)
  } catch {
    return undefined
  }
}

function emptyStatus(): DaemonSetStatus {
  return { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 }
}

/** Scheduled pods first, then the oldest, then by name (podByCreationTimestampAndPhase). */
export function compareDaemonPods(a: Readonly<Pod>, b: Readonly<Pod>): number {
  const sa = a.spec?.nodeName ? 0 : 1
  const sb = b.spec?.nodeName ? 0 : 1
  if (sa !== sb) return sa - sb
  const ta = Date.parse(a.metadata?.creationTimestamp ?? '') || 0
  const tb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0
  if (ta !== tb) return ta - tb
  const na = a.metadata?.name ?? ''
  const nb = b.metadata?.name ?? ''
  return na < nb ? -1 : na > nb ? 1 : 0
}

/**
 * Of the running pods on a node that keeps its daemon, those to delete (the rest of
 * podsShouldBeOnNode). Without surge, all but the oldest. With surge, at most the oldest new and
 * the oldest old pod stay, and the old one only while the new one is not yet available (or the
 * old one is ready and the new one is not).
 */
export function excessPods(
  ds: Readonly<DaemonSet>,
  running: readonly Readonly<Pod>[],
  hash: string,
  now: number,
): Readonly<Pod>[] {
  if (running.length <= 1) return []
  const sorted = [...running].sort(compareDaemonPods)
  if (!allowsSurge(ds)) return sorted.slice(1)
  const generation = templateGeneration(ds)
  const excess: Readonly<Pod>[] = []
  let oldestNew: Readonly<Pod> | undefined
  let oldestOld: Readonly<Pod> | undefined
  for (const pod of sorted) {
    if (isPodUpdated(pod, hash, generation)) {
      if (!oldestNew) {
        oldestNew = pod
        continue
      }
    } else if (!oldestOld) {
      oldestOld = pod
      continue
    }
    excess.push(pod)
  }
  if (oldestNew && oldestOld) {
    if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, now))
      excess.push(oldestOld)
  }
  return excess
}

/** The template daemon pods are made from (CreatePodTemplate): daemon tolerations, generation and hash labels. */
export function daemonPodTemplate(
  template: Readonly<PodTemplateSpec> | undefined,
  generation: number | undefined,
  hash: string,
): PodTemplateSpec {
  const t = structuredClone(template ?? {}) as PodTemplateSpec
  const spec = t.spec ?? { containers: [] }
  spec.tolerations = withDaemonPodTolerations(spec)
  t.spec = spec
  t.metadata = {
    ...t.metadata,
    labels: {
      ...t.metadata?.labels,
      ...(generation !== undefined ? { [podTemplateGenerationLabel]: String(generation) } : {}),
      ...(hash !== '' ? { [controllerRevisionHashLabel]: hash } : {}),
    },
  }
  return t
}

/** The pod for one node: the template pinned to the node by required node affinity (GetPodFromTemplate). */
export function daemonPod(
  ds: Readonly<DaemonSet>,
  template: Readonly<PodTemplateSpec>,
  nodeName: string,
): Pod {
  const t = structuredClone(template) as PodTemplateSpec
  const m = t.metadata ?? {}
  const spec = t.spec ?? { containers: [] }
  spec.affinity = pinToNode(spec.affinity, nodeName)
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ds.metadata?.name ?? ''}-`,
      namespace: ds.metadata?.namespace ?? '',
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
      ...(m.finalizers ? { finalizers: m.finalizers } : {}),
      ownerReferences: [controllerRefTo(ds, daemonSetKind.apiVersion, daemonSetKind.kind)],
    },
    spec,
  }
}

/** The counts of the status (updateDaemonSetStatus): by node, the oldest daemon pod on it speaks for it. */
export function computeStatus(
  ds: Readonly<DaemonSet>,
  nodes: readonly Readonly<Node>[],
  podsByNode: ReadonlyMap<string, readonly Readonly<Pod>[]>,
  hash: string,
  now: number,
): Required<
  Pick<
    DaemonSetStatus,
    | 'desiredNumberScheduled'
    | 'currentNumberScheduled'
    | 'numberMisscheduled'
    | 'numberReady'
    | 'updatedNumberScheduled'
    | 'numberAvailable'
    | 'numberUnavailable'
  >
> {
  const generation = templateGeneration(ds)
  const minReady = ds.spec?.minReadySeconds ?? 0
  let desired = 0
  let current = 0
  let misscheduled = 0
  let ready = 0
  let available = 0
  let updated = 0
  for (const node of nodes) {
    const pods = podsByNode.get(node.metadata?.name ?? '') ?? []
    if (!nodeShouldRunDaemonPod(node, ds).shouldRun) {
      if (pods.length > 0) misscheduled++
      continue
    }
    desired++
    const pod = [...pods].sort(compareDaemonPods)[0]
    if (!pod) continue
    current++
    if (isPodReady(pod)) {
      ready++
      if (isPodAvailable(pod, minReady, now)) available++
    }
    if (isPodUpdated(pod, hash, generation)) updated++
  }
  return {
    desiredNumberScheduled: desired,
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    numberReady: ready,
    updatedNumberScheduled: updated,
    numberAvailable: available,
    numberUnavailable: desired - available,
  }
}

/** The writes, through the apiserver. */
export function apiDaemonSetControl(
  pods: ResourceClient<Pod>,
  daemonSets: ResourceClient<DaemonSet>,
  revisions: ResourceClient<ControllerRevision>,
): DaemonSetControl {
  return {
    createPod: (_ns, pod) => pods.create(pod),
    deletePod: async (ns, name) => {
      await pods.delete(ns, name)
    },
    patchPod: async (ns, name, patch) => {
      await pods.patch(ns, name, 'strategic', patch)
    },
    getDaemonSet: (ns, name) => daemonSets.get(ns, name),
    updateStatus: (ds) => daemonSets.updateStatus(ds),
    revisions,
  }
}

/** kube-controller-manager's daemonset controller (--concurrent-daemonset-syncs defaults to 2). */
export const daemonSetController: ControllerDefinition = {
  name: 'daemonset',
  eventSource: 'daemonset-controller',
  serviceAccount: 'daemon-set-controller',
  setup(ctx: ControllerContext) {
    const daemonSets = ctx.informers.informer<DaemonSet>(builtin('apps', 'v1', 'daemonsets'))
    const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
    const nodes = ctx.informers.informer<Node>(builtin('', 'v1', 'nodes'))
    const revisions = ctx.informers.informer<ControllerRevision>(builtin('apps', 'v1', 'controllerrevisions'))
    const controller = new DaemonSetController({
      daemonSets: daemonSets.lister,
      pods: pods.lister,
      nodes: nodes.lister,
      revisions: revisions.lister,
      control: apiDaemonSetControl(
        ctx.client<Pod>(pods.resource),
        ctx.client<DaemonSet>(daemonSets.resource),
        ctx.client<ControllerRevision>(revisions.resource),
      ),
      recorder: ctx.recorder,
      clock: ctx.clock,
      log: ctx.log,
    })
    daemonSets.addHandler(controller.daemonSetHandler())
    pods.addHandler(controller.podHandler())
    nodes.addHandler(controller.nodeHandler())
    revisions.addHandler(controller.revisionHandler())
    return (signal) => runWorkers(controller.queue, controller, { workers: 2, signal, log: ctx.log })
  },
}
