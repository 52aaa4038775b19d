import type { Node, Pod } from '../api/generated/types/core-v1.ts'
import type { Clock } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import { builtin, isNotFound, type Lister } from '../client/index.ts'
import type { ControllerDefinition } from './controller.ts'
import { disruptionTargetPatch } from './pod-state.ts'

/** The pod garbage collector's writes: the apiserver in production, a recording fake in tests. */
export interface PodGCControl {
  /** Marks a pod Failed with the DisruptionTarget condition, as Kubernetes does before deleting it. */
  markFailed(pod: Readonly<Pod>, message: string): Promise<void>
  /** Deletes a pod at once (grace period 0). */
  forceDelete(namespace: string, name: string): Promise<void>
  /** Whether the node exists, read from the apiserver (not a cache). */
  nodeExists(name: string): Promise<boolean>
}

export interface PodGCOptions {
  pods: Lister<Pod>
  nodes: Lister<Node>
  control: PodGCControl
  clock: Clock
  log?: Logger
  /** Terminated pods kept at most (kube-controller-manager's --terminated-pod-gc-threshold, 12500). */
  terminatedThreshold?: number
  /** How long a node must be missing before its pods are collected (40 s, as upstream). */
  quarantineMs?: number
}

/**
 * PodGC (Kubernetes' pod garbage collector), run every 20 seconds:
 * - terminated pods (Succeeded or Failed) beyond the threshold go, oldest first;
 * - pods bound to a node that no longer exists go, once the node has been missing for the
 *   quarantine period and a live read confirms it (a node informer may trail a re-registration);
 * - pods being deleted that were never scheduled go at once (no kubelet will ever finish them);
 * - pods being deleted on a node tainted out-of-service that is not Ready go at once.
 * Orphaned and out-of-service pods are first marked Failed with a DisruptionTarget condition.
 */
export class PodGC {
  readonly #o: PodGCOptions
  /** When each missing node was first noticed. */
  readonly #missingSince = new Map<string, number>()

  constructor(o: PodGCOptions) {
    this.#o = o
  }

  async collect(): Promise<void> {
    const pods = this.#o.pods.list()
    await this.#terminated(pods)
    await this.#orphaned(pods)
    await this.#unscheduledTerminating(pods)
    await this.#outOfService(pods)
  }

  async #terminated(pods: readonly Readonly<Pod>[]): Promise<void> {
    const threshold = this.#o.terminatedThreshold ?? 12_500
    const done = pods.filter((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed')
    if (done.length <= threshold) return
    const oldestFirst = [...done].sort((a, b) =>
      (a.metadata?.creationTimestamp ?? '') < (b.metadata?.creationTimestamp ?? '') ? -1 : 1,
    )
    for (const p of oldestFirst.slice(0, done.length - threshold)) await this.#delete(p)
  }

  async #orphaned(pods: readonly Readonly<Pod>[]): Promise<void> {
    const now = this.#o.clock.now()
    const quarantine = this.#o.quarantineMs ?? 40_000
    const missing = new Set<string>()
    for (const p of pods) {
      const node = p.spec?.nodeName
      if (node && !this.#o.nodes.get('', node)) missing.add(node)
    }
    for (const name of this.#missingSince.keys()) if (!missing.has(name)) this.#missingSince.delete(name)
    for (const name of missing) {
      const since = this.#missingSince.get(name)
      if (since === undefined) this.#missingSince.set(name, now)
    }
    const gone = new Set<string>()
    for (const [name, since] of this.#missingSince) {
      if (now - since < quarantine) continue
      if (await this.#o.control.nodeExists(name)) {
        this.#missingSince.delete(name)
        continue
      }
      gone.add(name)
    }
    for (const p of pods) {
      if (!gone.has(p.spec?.nodeName ?? '')) continue
      await this.#failAndDelete(p, 'PodGC: node no longer exists')
    }
  }

  async #unscheduledTerminating(pods: readonly Readonly<Pod>[]): Promise<void> {
    for (const p of pods) if (p.metadata?.deletionTimestamp && !p.spec?.nodeName) await this.#delete(p)
  }

  async #outOfService(pods: readonly Readonly<Pod>[]): Promise<void> {
    for (const p of pods) {
      if (!p.metadata?.deletionTimestamp || !p.spec?.nodeName) continue
      const node = this.#o.nodes.get('', p.spec.nodeName)
      if (!node) continue
      const outOfService = node.spec?.taints?.some(
        (t) => t.key === 'node.kubernetes.io/out-of-service' && t.effect === 'NoExecute',
      )
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True'
      if (outOfService && !ready) await this.#failAndDelete(p, 'PodGC: node is out of service')
    }
  }

  async #failAndDelete(p: Readonly<Pod>, message: string): Promise<void> {
    try {
      if (p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
        await this.#o.control.markFailed(p, message)
    } catch (err) {
      if (isNotFound(err)) return
      throw err
    }
    await this.#delete(p)
  }

  async #delete(p: Readonly<Pod>): Promise<void> {
    try {
      await this.#o.control.forceDelete(p.metadata?.namespace ?? '', p.metadata?.name ?? '')
      this.#o.log?.info(
        { pod: `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}` },
        'PodGC deleted a pod',
      )
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
  }
}

/** kube-controller-manager's gcCheckPeriod. */
const gcPeriodMs = 20_000

export const podGCController: ControllerDefinition = {
  name: 'podgc',
  eventSource: 'pod-garbage-collector',
  serviceAccount: 'pod-garbage-collector',
  setup(ctx) {
    const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
    const nodes = ctx.informers.informer<Node>(builtin('', 'v1', 'nodes'))
    const podClient = ctx.client<Pod>(pods.resource)
    const nodeClient = ctx.client<Node>(nodes.resource)
    const gc = new PodGC({
      pods: pods.lister,
      nodes: nodes.lister,
      clock: ctx.clock,
      log: ctx.log,
      control: {
        markFailed: async (pod, message) => {
          const now = new Date(ctx.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z')
          const patch = disruptionTargetPatch({ reason: 'DeletionByPodGC', message, now, failed: true })
          await podClient.patch(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', 'strategic', patch, {
            subresource: 'status',
          })
        },
        forceDelete: async (ns, name) => {
          await podClient.delete(ns, name, { gracePeriodSeconds: 0 })
        },
        nodeExists: async (name) => {
          try {
            await nodeClient.get('', name)
            return true
          } catch (err) {
            if (isNotFound(err)) return false
            throw err
          }
        },
      },
    })
    return async (signal) => {
      while (!signal.aborted) {
        try {
          await gc.collect()
        } catch (err) {
          ctx.log.warn({ err: (err as Error).message }, 'pod garbage collection failed')
        }
        await ctx.clock.sleep(gcPeriodMs, signal).catch(() => undefined)
      }
    }
  },
}
