import type { Lease, LeaseSpec } from '../api/generated/types/coordination-v1.ts'
import { deepEqual } from '../api/object.ts'
import { realClock, type Clock } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import { isAlreadyExists, isConflict, isNotFound } from './errors.ts'
import type { ResourceClient } from './resource.ts'

export interface LeaderElectionOptions {
  /** The Lease that is the lock: kube-system/kube-controller-manager, say. */
  namespace: string
  name: string
  /** Who we are, unique among the candidates (hostname plus a random suffix, as Kubernetes does). */
  identity: string
  /** How long a lease holds without renewal before others may take it (default 15 s). */
  leaseDurationMs?: number
  /** How long the leader keeps retrying a failed renewal before it gives up (default 10 s). */
  renewDeadlineMs?: number
  /** How often candidates try to acquire, and the leader renews (default 2 s). */
  retryPeriodMs?: number
  /** Give the lease up on stop, so a successor need not wait for it to expire (default true). */
  releaseOnCancel?: boolean
  clock?: Clock
  log?: Logger
}

export interface LeaderCallbacks {
  /** We lead: run until the signal aborts (leadership lost or stopping). */
  onStartedLeading(signal: AbortSignal): void | Promise<void>
  /** We led and no longer do. */
  onStoppedLeading?(): void
  /** Someone (maybe us) was seen holding the lease. */
  onNewLeader?(identity: string): void
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does:
 *
 *   candidate ──acquire every retryPeriod──▶ leader ──renew every retryPeriod──┐
 *       ▲                                      │ no renewal for renewDeadline   │
 *       └──────────── (process exits or runs again) ◀── lost ◀─────────────────┘
 *
 * A lease belongs to its holder until leaseDuration has passed since this candidate last saw it
 * change: expiry is judged by our own clock from when we observed the record, never by comparing
 * our clock with the renewTime another machine wrote. Writes are optimistic (resourceVersion), so
 * two candidates never both win one round.
 *
 * Resolves when the signal aborts or leadership is lost; after a loss, callers (controller-manager,
 * scheduler) exit, as Kubernetes' do, rather than compete again with stale state.
 */
export class LeaderElector {
  readonly #leases: ResourceClient<Lease>
  readonly #o: Required<Omit<LeaderElectionOptions, 'log'>> & { log?: Logger }
  #observed: LeaseSpec | undefined
  #observedAt = 0
  #resourceVersion = ''
  #leader = ''

  constructor(leases: ResourceClient<Lease>, o: LeaderElectionOptions) {
    this.#leases = leases
    this.#o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      releaseOnCancel: true,
      clock: realClock,
      ...o,
    }
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs) {
      throw new RangeError('the renew deadline must be shorter than the lease duration')
    }
  }

  /** Whether we held the lease at our last successful acquire or renewal. */
  get isLeader(): boolean {
    return this.#leader === this.#o.identity
  }

  async run(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<void> {
    const { clock, retryPeriodMs } = this.#o
    // Acquire.
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(callbacks)) break
      await clock.sleep(jitter(retryPeriodMs), signal).catch(() => undefined)
    }
    if (signal.aborted) return
    this.#o.log?.info({ lease: `${this.#o.namespace}/${this.#o.name}` }, 'acquired the lease; leading')
    const leading = new AbortController()
    const stopLeading = () => leading.abort(new Error('stopping'))
    signal.addEventListener('abort', stopLeading, { once: true })
    const work = Promise.resolve()
      .then(() => callbacks.onStartedLeading(leading.signal))
      .catch((err: unknown) => this.#o.log?.error({ err }, 'the leader’s work failed'))
    // Renew until we cannot, or stop.
    let lastRenew = clock.now()
    while (!signal.aborted) {
      await clock.sleep(retryPeriodMs, signal).catch(() => undefined)
      if (signal.aborted) break
      if (await this.#tryAcquireOrRenew(callbacks)) {
        lastRenew = clock.now()
        continue
      }
      if (clock.now() - lastRenew >= this.#o.renewDeadlineMs) {
        this.#o.log?.warn(
          { lease: `${this.#o.namespace}/${this.#o.name}` },
          'failed to renew the lease; leadership lost',
        )
        break
      }
    }
    signal.removeEventListener('abort', stopLeading)
    leading.abort(new Error('leadership lost'))
    await work
    if (signal.aborted && this.#o.releaseOnCancel && this.isLeader) await this.#release()
    this.#leader = ''
    callbacks.onStoppedLeading?.()
  }

  /** One round: take or renew the lease if it is free, expired or ours. */
  async #tryAcquireOrRenew(callbacks: LeaderCallbacks): Promise<boolean> {
    const { clock, identity, namespace, name } = this.#o
    const now = clock.now()
    const spec = (acquireTime: string, transitions: number): LeaseSpec => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
      acquireTime,
      renewTime: microTime(now),
      leaseTransitions: transitions,
    })
    let lease: Lease
    try {
      lease = await this.#leases.get(namespace, name)
    } catch (err) {
      if (!isNotFound(err)) {
        this.#o.log?.warn({ err: (err as Error).message }, 'cannot read the lease')
        return false
      }
      try {
        const created = await this.#leases.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { namespace, name },
          spec: spec(microTime(now), 0),
        })
        this.#took(created, now, callbacks)
        return true
      } catch (e) {
        if (!isAlreadyExists(e)) this.#o.log?.warn({ err: (e as Error).message }, 'cannot create the lease')
        return false
      }
    }
    const record = lease.spec ?? {}
    if (!this.#observed || !deepEqual(record, this.#observed)) {
      this.#observed = record
      this.#observedAt = now
    }
    this.#resourceVersion = lease.metadata?.resourceVersion ?? ''
    const holder = record.holderIdentity ?? ''
    const held = holder !== '' && holder !== identity
    const durationMs = (record.leaseDurationSeconds ?? 0) * 1000
    if (held && this.#observedAt + durationMs > now) {
      this.#see(holder, callbacks)
      return false
    }
    const mine = holder === identity
    const next: Lease = {
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: this.#resourceVersion },
      spec: {
        ...record,
        ...spec(
          mine ? (record.acquireTime ?? microTime(now)) : microTime(now),
          (record.leaseTransitions ?? 0) + (mine ? 0 : 1),
        ),
      },
    }
    try {
      this.#took(await this.#leases.update(next), now, callbacks)
      return true
    } catch (err) {
      if (!isConflict(err)) this.#o.log?.warn({ err: (err as Error).message }, 'cannot update the lease')
      return false
    }
  }

  #took(lease: Lease, now: number, callbacks: LeaderCallbacks): void {
    this.#observed = lease.spec ?? {}
    this.#observedAt = now
    this.#resourceVersion = lease.metadata?.resourceVersion ?? ''
    this.#see(this.#o.identity, callbacks)
  }

  #see(holder: string, callbacks: LeaderCallbacks): void {
    if (holder === this.#leader) return
    this.#leader = holder
    try {
      callbacks.onNewLeader?.(holder)
    } catch (err) {
      this.#o.log?.error({ err }, 'onNewLeader failed')
    }
  }

  /** Gives the lease up: no holder, and a one-second duration, so the next candidate takes it at once. */
  async #release(): Promise<void> {
    const now = this.#o.clock.now()
    try {
      const lease = await this.#leases.get(this.#o.namespace, this.#o.name)
      if (lease.spec?.holderIdentity !== this.#o.identity) return
      await this.#leases.update({
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
        },
      })
    } catch (err) {
      this.#o.log?.warn({ err: (err as Error).message }, 'cannot release the lease')
    }
  }
}

/** MicroTime on the wire: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

function jitter(ms: number): number {
  return ms * (1 + Math.random() * 0.2)
}

/** A component's main work, run while it leads (or at once, without leader election). */
export interface LeadingRun {
  /** Resolves when the work stops: stop() was called, or leadership was lost. */
  readonly done: Promise<void>
  /** Whether it stopped because the lease was lost (not because it was told to). */
  readonly lostLeadership: boolean
  stop(): Promise<void>
}

/**
 * Runs `lead` while `elector` holds its lease, or at once when there is no elector; `cleanup`
 * runs after either way (flush events, close the client). The controller-manager and the
 * scheduler both start this way.
 */
export function runLeading(
  lead: (signal: AbortSignal) => Promise<void>,
  o: { elector?: LeaderElector; cleanup?: () => Promise<void> } = {},
): LeadingRun {
  const stopping = new AbortController()
  let lost = false
  const run = o.elector
    ? o.elector.run(stopping.signal, {
        onStartedLeading: lead,
        onStoppedLeading: () => {
          if (!stopping.signal.aborted) lost = true
        },
      })
    : lead(stopping.signal)
  const done = run.finally(async () => {
    await o.cleanup?.()
  })
  return {
    done,
    get lostLeadership() {
      return lost
    },
    async stop() {
      stopping.abort(new Error('stopping'))
      await done
    },
  }
}

/** The leader election settings of a component (kube-controller-manager's and kube-scheduler's flags). */
export interface LeaderElectionSettings {
  /** Run only while holding the lease (default true). */
  leaderElect?: boolean
  /** This instance's name in the Lease (default: hostname_uuid, as Kubernetes names it). */
  identity?: string
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
}

/** The elector for a component's lock (kube-system/<name>), or undefined when election is off. */
export function electorFor(
  leases: ResourceClient<Lease>,
  name: string,
  s: LeaderElectionSettings,
  o: { identity: string; clock?: Clock; log?: Logger },
): LeaderElector | undefined {
  if (s.leaderElect === false) return undefined
  return new LeaderElector(leases, {
    namespace: 'kube-system',
    name,
    identity: s.identity ?? o.identity,
    ...(s.leaseDurationMs !== undefined ? { leaseDurationMs: s.leaseDurationMs } : {}),
    ...(s.renewDeadlineMs !== undefined ? { renewDeadlineMs: s.renewDeadlineMs } : {}),
    ...(s.retryPeriodMs !== undefined ? { retryPeriodMs: s.retryPeriodMs } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.log ? { log: o.log } : {}),
  })
}
