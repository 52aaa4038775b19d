import type { Lease } from '../../api/generated/types/coordination-v1.ts'
import type { Node } from '../../api/generated/types/core-v1.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import { isConflict, isNotFound, microTime, type ResourceClient } from '../../client/index.ts'

/** Where node Leases live. */
export const nodeLeaseNamespace = 'kube-node-lease'
/** --node-lease-duration-seconds default. */
export const defaultLeaseDurationSeconds = 40

export interface NodeLeaseOptions {
  nodeName: string
  leases: Pick<ResourceClient<Lease>, 'get' | 'create' | 'update'>
  /** Read for the Node's uid (the Lease's owner). */
  nodes: Pick<ResourceClient<Node>, 'get'>
  /** Where the Node is looked up first, when the kubelet watches it (simulated nodes do). */
  nodeCache?: { get(namespace: string, name: string): Readonly<Node> | undefined }
  clock: Clock
  /** The kubelet's logger, which names the node. */
  log?: Logger
  leaseDurationSeconds?: number
  /** How often the Lease is renewed (upstream: a quarter of the duration, 10 s). */
  renewIntervalMs?: number
}

/**
 * The kubelet's heartbeat (upstream's component-helpers nodelease controller): the Lease
 * kube-node-lease/<node> with holderIdentity the node name and leaseDurationSeconds 40, its
 * renewTime set to now every renew interval. The Lease is owned by the Node (so it goes with it);
 * while the Node does not exist yet the Lease is created without the owner and gets it on a later
 * renewal. A renewal that fails is retried with backoff (200 ms doubling to 7 s) until it works,
 * then the interval starts again.
 */
export class NodeLeaseController {
  readonly #o: NodeLeaseOptions
  /** The Lease as last written: renewed from it without a GET while nobody else writes it. */
  #latest: Lease | undefined

  constructor(o: NodeLeaseOptions) {
    this.#o = o
  }

  /** Renews until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const interval =
      this.#o.renewIntervalMs ?? ((this.#o.leaseDurationSeconds ?? defaultLeaseDurationSeconds) * 1000) / 4
    while (!signal.aborted) {
      let backoff = 200
      for (;;) {
        try {
          await this.sync()
          break
        } catch (err) {
          if (signal.aborted) return
          this.#o.log?.warn({ err: (err as Error).message }, 'failed to renew the node lease')
          if (!(await this.#sleep(backoff, signal))) return
          backoff = Math.min(backoff * 2, 7000)
        }
      }
      if (!(await this.#sleep(interval, signal))) return
    }
  }

  /** One renewal: creates the Lease if it is missing, else sets renewTime (and the owner, once the Node exists). */
  async sync(): Promise<void> {
    const { leases, nodeName } = this.#o
    for (let attempt = 0; attempt < 5; attempt++) {
      let lease = this.#latest
      if (!lease) {
        try {
          lease = await leases.get(nodeLeaseNamespace, nodeName)
        } catch (err) {
          if (!isNotFound(err)) throw err
          this.#latest = await leases.create(await this.#newLease(undefined))
          return
        }
      }
      try {
        this.#latest = await leases.update(await this.#newLease(lease))
        return
      } catch (err) {
        // Someone else wrote it (or it is gone): read it again.
        this.#latest = undefined
        if (!isConflict(err) && !isNotFound(err)) throw err
      }
    }
    throw new Error(`failed 5 attempts to update the lease of node ${nodeName}`)
  }

  async #newLease(base: Lease | undefined): Promise<Lease> {
    const { nodeName } = this.#o
    // The spec and the owner are replaced below, never changed in place: a shallow copy will do.
    const lease: Lease = base
      ? { ...base, ...(base.metadata ? { metadata: { ...base.metadata } } : {}) }
      : {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: nodeName, namespace: nodeLeaseNamespace },
        }
    lease.spec = {
      ...lease.spec,
      holderIdentity: nodeName,
      leaseDurationSeconds: this.#o.leaseDurationSeconds ?? defaultLeaseDurationSeconds,
      renewTime: microTime(this.#o.clock.now()),
    }
    if (!lease.metadata?.ownerReferences?.length) {
      try {
        const node = this.#o.nodeCache?.get('', nodeName) ?? (await this.#o.nodes.get('', nodeName))
        if (node.metadata?.uid) {
          lease.metadata = {
            ...lease.metadata,
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata?.uid }],
          }
        }
      } catch (err) {
        // Not registered yet: the owner comes on a later renewal.
        if (!isNotFound(err))
          this.#o.log?.debug({ err: (err as Error).message }, 'cannot read the node for the lease owner')
      }
    }
    return lease
  }

  async #sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.#o.clock.sleep(ms, signal)
      return true
    } catch {
      return false
    }
  }
}
