import type { Job } from '../api/generated/types/batch-v1.ts'
import type { Clock } from '../base/clock.ts'
import {
  builtin,
  isNotFound,
  objectKey,
  runWorkers,
  splitKey,
  WorkQueue,
  type Lister,
  type Reconciler,
  type Requeue,
} from '../client/index.ts'
import type { ControllerDefinition } from './controller.ts'

export interface TTLAfterFinishedOptions {
  jobs: Lister<Job>
  /** A live read: the TTL may have changed since the cache saw the Job. */
  getJob(namespace: string, name: string): Promise<Job>
  /** Deletes the Job (and, in the foreground, its pods) if it is still at `resourceVersion`. */
  deleteJob(namespace: string, name: string, resourceVersion: string): Promise<void>
  clock: Clock
}

/** When a finished Job finished: its Complete or Failed condition's transition time. */
export function finishedAt(job: Readonly<Job>): number | undefined {
  const c = job.status?.conditions?.find(
    (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
  )
  if (!c) return undefined
  const t = Date.parse(c.lastTransitionTime ?? job.status?.completionTime ?? '')
  return Number.isFinite(t) ? t : undefined
}

/**
 * The TTL-after-finished controller: a Job with spec.ttlSecondsAfterFinished is deleted (with
 * its pods, foreground) that many seconds after it completed or failed. The decision is made
 * again on a live read, so a TTL changed at the last moment is honoured, and the delete is
 * conditional on the resourceVersion read.
 */
export class TTLAfterFinishedController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: TTLAfterFinishedOptions

  constructor(o: TTLAfterFinishedOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  /** Jobs worth a look: those with a TTL that have finished. */
  interesting(job: Readonly<Job>): boolean {
    return (
      job.spec?.ttlSecondsAfterFinished !== undefined &&
      finishedAt(job) !== undefined &&
      !job.metadata?.deletionTimestamp
    )
  }

  async reconcile(key: string): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const cached = this.#o.jobs.get(namespace, name)
    if (!cached || !this.interesting(cached)) return undefined
    const wait = this.#remaining(cached)
    if (wait > 0) return { afterMs: wait }
    let fresh: Job
    try {
      fresh = await this.#o.getJob(namespace, name)
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
    if (!this.interesting(fresh)) return undefined
    const again = this.#remaining(fresh)
    if (again > 0) return { afterMs: again }
    try {
      await this.#o.deleteJob(namespace, name, fresh.metadata?.resourceVersion ?? '')
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
    return undefined
  }

  #remaining(job: Readonly<Job>): number {
    const at = (finishedAt(job) ?? 0) + (job.spec?.ttlSecondsAfterFinished ?? 0) * 1000
    return Math.max(0, at - this.#o.clock.now())
  }
}

export const ttlAfterFinishedController: ControllerDefinition = {
  name: 'ttl-after-finished',
  eventSource: 'ttl-after-finished-controller',
  serviceAccount: 'ttl-after-finished-controller',
  setup(ctx) {
    const jobs = ctx.informers.informer<Job>(builtin('batch', 'v1', 'jobs'))
    const client = ctx.client<Job>(jobs.resource)
    const controller = new TTLAfterFinishedController({
      jobs: jobs.lister,
      getJob: (ns, name) => client.get(ns, name),
      deleteJob: async (ns, name, resourceVersion) => {
        await client.delete(ns, name, { propagationPolicy: 'Foreground', preconditions: { resourceVersion } })
      },
      clock: ctx.clock,
    })
    const enqueue = (j: Readonly<Job>) => {
      if (controller.interesting(j)) controller.queue.add(objectKey(j))
    }
    jobs.addHandler({ add: enqueue, update: (_old, j) => enqueue(j) })
    return (signal) =>
      runWorkers(controller.queue, controller, {
        workers: 5,
        signal,
        log: ctx.log,
      })
  },
}
