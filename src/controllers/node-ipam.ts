import type { Node } from '../api/generated/types/core-v1.ts'
import type { Clock } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import {
  builtin,
  isNotFound,
  runWorkers,
  WorkQueue,
  type Lister,
  type Reconciler,
  type Requeue,
} from '../client/index.ts'
import type { ControllerDefinition, Recorder } from './controller.ts'

/** The cluster's pod network unless told otherwise (flannel's and k3s' default). */
export const defaultClusterCIDR = '10.42.0.0/16'

/**
 * The IPv4 subnets of one cluster CIDR, `maskSize` bits each (kube-controller-manager's range
 * allocator, --cluster-cidr and --node-cidr-mask-size): node n gets one, and gets it back only
 * when it is gone.
 */
export class CidrSet {
  readonly #base: number
  readonly #size: number
  readonly #count: number
  readonly #maskSize: number
  readonly #used = new Set<number>()
  #next = 0

  constructor(cidr: string, maskSize: number) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr)
    const octets = m ? m.slice(1, 5).map(Number) : []
    const prefix = Number(m?.[5])
    if (!m || octets.some((o) => o > 255) || prefix > 32) throw new Error(`${cidr} is not an IPv4 CIDR`)
    if (!Number.isInteger(maskSize) || maskSize < prefix || maskSize > 32) {
      throw new Error(`a node mask size of ${maskSize} does not fit in ${cidr}`)
    }
    const [a = 0, b = 0, c = 0, d = 0] = octets
    const address = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0
    const hostBits = 32 - prefix
    this.#base = hostBits === 32 ? 0 : ((address >>> hostBits) << hostBits) >>> 0
    this.#size = 2 ** (32 - maskSize)
    this.#count = 2 ** (maskSize - prefix)
    this.#maskSize = maskSize
  }

  /** The next free subnet, or undefined when all are taken. */
  allocate(): string | undefined {
    for (let i = 0; i < this.#count; i++) {
      const n = (this.#next + i) % this.#count
      if (this.#used.has(n)) continue
      this.#used.add(n)
      this.#next = (n + 1) % this.#count
      return this.#format(n)
    }
    return undefined
  }

  /** Marks a subnet taken (a node had it already); false when it is not one of ours. */
  occupy(cidr: string): boolean {
    const n = this.#index(cidr)
    if (n === undefined) return false
    this.#used.add(n)
    return true
  }

  release(cidr: string): void {
    const n = this.#index(cidr)
    if (n !== undefined) this.#used.delete(n)
  }

  #format(n: number): string {
    const ip = (this.#base + n * this.#size) >>> 0
    return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}/${this.#maskSize}`
  }

  #index(cidr: string): number | undefined {
    for (let n = 0; n < this.#count; n++) if (this.#format(n) === cidr) return n
    return undefined
  }
}

export interface NodeIpamOptions {
  nodes: Lister<Node>
  cidrs: CidrSet
  /** Sets spec.podCIDR and spec.podCIDRs of a node. */
  setPodCIDR(name: string, cidr: string): Promise<void>
  recorder: Recorder
  clock: Clock
  log?: Logger
}

/**
 * Node IPAM: every node gets a spec.podCIDR (and podCIDRs) of its own out of the cluster CIDR,
 * which the node's pod network (CNI host-local ranges) then uses; a deleted node's subnet is free
 * again. A podCIDR cannot change once set, so nodes that have one keep it (and mark it taken).
 */
export class NodeIpamController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: NodeIpamOptions
  /** Which node holds which subnet, to release it when the node goes. */
  readonly #held = new Map<string, string>()

  constructor(o: NodeIpamOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  /** Subnets nodes already have are taken before anything is handed out. */
  occupyExisting(): void {
    for (const node of this.#o.nodes.list()) {
      const cidr = node.spec?.podCIDR
      const name = node.metadata?.name ?? ''
      if (cidr && this.#o.cidrs.occupy(cidr)) this.#held.set(name, cidr)
    }
  }

  nodeGone(node: Readonly<Node>): void {
    const name = node.metadata?.name ?? ''
    const cidr = this.#held.get(name) ?? node.spec?.podCIDR
    if (cidr) this.#o.cidrs.release(cidr)
    this.#held.delete(name)
  }

  async reconcile(name: string): Promise<Requeue | undefined> {
    const node = this.#o.nodes.get('', name)
    if (!node || node.metadata?.deletionTimestamp) return undefined
    if (node.spec?.podCIDR) {
      if (!this.#held.has(name) && this.#o.cidrs.occupy(node.spec.podCIDR))
        this.#held.set(name, node.spec.podCIDR)
      return undefined
    }
    const held = this.#held.get(name)
    const cidr = held ?? this.#o.cidrs.allocate()
    if (!cidr) {
      this.#o.recorder.event(
        node,
        'Normal',
        'CIDRNotAvailable',
        `Node ${name} status is now: CIDRNotAvailable`,
      )
      return { afterMs: 30_000 }
    }
    this.#held.set(name, cidr)
    try {
      await this.#o.setPodCIDR(name, cidr)
    } catch (err) {
      if (isNotFound(err)) {
        this.#o.cidrs.release(cidr)
        this.#held.delete(name)
        return undefined
      }
      // The subnet stays held for the node: the next try patches the same one.
      this.#o.recorder.event(
        node,
        'Normal',
        'CIDRAssignmentFailed',
        `Node ${name} status is now: CIDRAssignmentFailed`,
      )
      throw err
    }
    // Upstream logs the assignment; it records an event only when it fails.
    this.#o.log?.info({ node: name, podCIDRs: cidr }, 'Set node PodCIDR')
    return undefined
  }
}

export function nodeIpamController(
  o: { clusterCIDR?: string; nodeCIDRMaskSize?: number } = {},
): ControllerDefinition {
  const cidr = o.clusterCIDR ?? defaultClusterCIDR
  const maskSize = o.nodeCIDRMaskSize ?? 24
  // Bad settings are refused now, at start, not when (or if) leadership comes.
  new CidrSet(cidr, maskSize)
  return {
    name: 'nodeipam',
    eventSource: 'cidrAllocator',
    serviceAccount: 'node-controller',
    setup(ctx) {
      const cidrs = new CidrSet(cidr, maskSize)
      const nodes = ctx.informers.informer<Node>(builtin('', 'v1', 'nodes'))
      const client = ctx.client<Node>(nodes.resource)
      const controller = new NodeIpamController({
        nodes: nodes.lister,
        cidrs,
        setPodCIDR: async (name, cidr) => {
          await client.patch('', name, 'merge', { spec: { podCIDR: cidr, podCIDRs: [cidr] } })
        },
        recorder: ctx.recorder,
        clock: ctx.clock,
        ...(ctx.log ? { log: ctx.log } : {}),
      })
      const enqueue = (n: Readonly<Node>) => controller.queue.add(n.metadata?.name ?? '')
      nodes.addHandler({
        add: enqueue,
        update: (_old, n) => enqueue(n),
        delete: (n) => controller.nodeGone(n),
      })
      return async (signal) => {
        controller.occupyExisting()
        // Upstream's range allocator updates 30 nodes at once (cidrUpdateWorkers): allocation is
        // in memory and synchronous, only the patch waits.
        await runWorkers(controller.queue, controller, {
          workers: 30,
          signal,
          log: ctx.log,
        })
      }
    },
  }
}
