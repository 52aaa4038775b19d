import type { CronJob, Job } from '../../api/generated/types/batch-v1.ts'
import type { ObjectReference } from '../../api/generated/types/core-v1.ts'
import { deepEqual } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  builtin,
  isAlreadyExists,
  isNotFound,
  objectKey,
  runWorkers,
  splitKey,
  WorkQueue,
  type EventHandler,
  type Lister,
  type Reconciler,
  type Requeue,
  type ResourceClient,
} from '../../client/index.ts'
import type { ControllerContext, ControllerDefinition, Recorder } from '../controller.ts'
import { controllerRef, controllerRefTo } from '../owner-refs.ts'
import { CronSyntaxError, formatInZone, parseCronSchedule, wallClock, type CronSchedule } from './schedule.ts'

/**
 * The CronJob controller, as Kubernetes' cronjob_controllerv2.go: each CronJob is looked at when
 * it or one of its Jobs changes, and again just after its next scheduled time (100 ms after, as
 * upstream). One sync:
 *
 * 1. reconciles status.active with the Jobs it controls (finished ones leave with SawCompletedJob,
 *    vanished ones with MissingJob; lastSuccessfulTime follows the newest completion);
 * 2. unless suspended, being deleted or unparseable, finds the most recent scheduled time not yet
 *    run (since lastScheduleTime, or creation, and no earlier than startingDeadlineSeconds ago);
 *    more than 100 missed is reported (TooManyMissedTimes) and only the latest one runs;
 * 3. honours the concurrency policy: Forbid skips while a Job is active, Replace deletes the
 *    active Jobs first, Allow runs alongside;
 * 4. creates the Job `<cronjob>-<scheduled time in minutes since the epoch>` from the template,
 *    annotated batch.kubernetes.io/cronjob-scheduled-timestamp (the deterministic name is what
 *    keeps a restart from running a schedule twice);
 * 5. deletes the oldest finished Jobs beyond successfulJobsHistoryLimit and failedJobsHistoryLimit.
 *
 * Time comes from the injected clock only.
 */

export const scheduledTimestampAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp'
/** Requeue this long after a scheduled time, so that the time has surely come. */
const nextScheduleDeltaMs = 100
/** More missed times than this and they are not all counted (nor run). */
const tooManyMissed = 100

export interface CronJobControl {
  createJob(namespace: string, job: Job): Promise<Job>
  getJob(namespace: string, name: string): Promise<Job>
  /** Deletes a Job in the background (its pods follow through the garbage collector). */
  deleteJob(namespace: string, name: string): Promise<void>
  getCronJob(namespace: string, name: string): Promise<CronJob>
  updateStatus(cronJob: CronJob): Promise<CronJob>
}

export interface CronJobControllerOptions {
  cronJobs: Lister<CronJob>
  jobs: Lister<Job>
  control: CronJobControl
  recorder: Recorder
  clock: Clock
  log?: Logger
}

export class CronJobController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: CronJobControllerOptions

  constructor(o: CronJobControllerOptions, queue?: WorkQueue) {
    this.#o = o
    this.queue = queue ?? new WorkQueue({ clock: o.clock })
  }

  // --- events to keys --------------------------------------------------------------------------

  cronJobHandler(): EventHandler<CronJob> {
    return {
      add: (cj) => this.queue.add(objectKey(cj)),
      update: (_old, cj) => this.queue.add(objectKey(cj)),
      delete: (cj) => this.queue.add(objectKey(cj)),
    }
  }

  jobHandler(): EventHandler<Job> {
    const enqueueOwner = (job: Readonly<Job>) => {
      const ref = controllerRef(job)
      if (ref?.kind !== 'CronJob') return
      const cj = this.#o.cronJobs.get(job.metadata?.namespace ?? '', ref.name)
      if (cj?.metadata?.uid === ref.uid) this.queue.add(objectKey(cj))
    }
    return {
      add: enqueueOwner,
      update: (old, job) => {
        if (old.metadata?.resourceVersion === job.metadata?.resourceVersion) return
        enqueueOwner(old)
        enqueueOwner(job)
      },
      delete: enqueueOwner,
    }
  }

  // --- reconcile -------------------------------------------------------------------------------

  async reconcile(key: string): Promise<Requeue | undefined> {
    const { namespace, name } = splitKey(key)
    const cached = this.#o.cronJobs.get(namespace, name)
    if (!cached) return undefined
    const cj = structuredClone(cached) as CronJob
    const uid = cj.metadata?.uid
    const jobs = this.#o.jobs.list(namespace).filter((j) => {
      const ref = controllerRef(j)
      return ref?.kind === 'CronJob' && ref.name === name && ref.uid === uid
    })
    const before = structuredClone(cj.status ?? {})
    // As upstream: whatever the sync got done is cleaned up after and written, even if it failed.
    let requeueMs: number | undefined
    let syncError: Error | undefined
    try {
      requeueMs = await this.#syncCronJob(cj, jobs)
    } catch (err) {
      syncError = err instanceof Error ? err : new Error(String(err))
    }
    await this.#cleanupFinishedJobs(cj, jobs)
    if (!deepEqual(cj.status ?? {}, before)) {
      try {
        await this.#o.control.updateStatus(cj)
      } catch (err) {
        if (isNotFound(err)) return undefined
        throw err
      }
    }
    if (requeueMs !== undefined) return { afterMs: Math.max(0, requeueMs) }
    if (syncError !== undefined) throw syncError
    return undefined
  }

  /**
   * One sync of `cj` (changed in place: its status, or all of it when a fresh read replaces a
   * stale cache); resolves to when to look again.
   */
  async #syncCronJob(cj: CronJob, jobs: readonly Readonly<Job>[]): Promise<number | undefined> {
    cj.status ??= {}
    const now = this.#o.clock.now()
    const children = new Set<string>()
    for (const j of jobs) {
      const jobUid = j.metadata?.uid ?? ''
      children.add(jobUid)
      const found = inActiveList(cj, jobUid)
      const finished = finishedCondition(j)
      if (!found && !finished) {
        // Maybe our own status write is newer than the cache: read it before complaining.
        const fresh = await this.#o.control.getCronJob(cj.metadata?.namespace ?? '', cj.metadata?.name ?? '')
        if (inActiveList(fresh, jobUid)) {
          Object.assign(cj, structuredClone(fresh))
          continue
        }
        this.#o.recorder.event(
          cj,
          'Warning',
          'UnexpectedJob',
          `Saw a job that the controller did not create or forgot: ${j.metadata?.name ?? ''}`,
        )
      } else if (found && finished) {
        removeFromActive(cj, jobUid)
        this.#o.recorder.event(
          cj,
          'Normal',
          'SawCompletedJob',
          `Saw completed job: ${j.metadata?.name ?? ''}, condition: ${finished}`,
        )
      } else if (finished) {
        const done = j.status?.completionTime
        const s = (cj.status ??= {})
        if (
          done !== undefined &&
          (s.lastSuccessfulTime === undefined || Date.parse(done) > Date.parse(s.lastSuccessfulTime))
        )
          s.lastSuccessfulTime = done
      }
    }
    // A Job in the active list that no longer exists (read live: the cache may trail).
    for (const ref of [...(cj.status?.active ?? [])]) {
      if (children.has(ref.uid ?? '')) continue
      try {
        await this.#o.control.getJob(ref.namespace ?? '', ref.name ?? '')
      } catch (err) {
        if (!isNotFound(err)) throw err
        this.#o.recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name ?? ''}`)
        removeFromActive(cj, ref.uid ?? '')
      }
    }
    if (cj.metadata?.deletionTimestamp) return undefined
    const timeZone = cj.spec.timeZone
    if (timeZone !== undefined) {
      try {
        wallClock(timeZone)
      } catch (err) {
        this.#o.recorder.event(
          cj,
          'Warning',
          'UnknownTimeZone',
          `invalid timeZone: "${timeZone}": ${(err as Error).message}`,
        )
        return undefined
      }
    }
    if (cj.spec.suspend === true) return undefined
    let schedule: CronSchedule
    try {
      if (cj.spec.schedule.includes('TZ'))
        this.#o.recorder.event(
          cj,
          'Warning',
          'UnsupportedSchedule',
          `CRON_TZ or TZ used in schedule "${cj.spec.schedule}" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`,
        )
      schedule = parseCronSchedule(cj.spec.schedule, timeZone)
    } catch (err) {
      if (!(err instanceof CronSyntaxError)) throw err
      this.#o.recorder.event(
        cj,
        'Warning',
        'UnparseableSchedule',
        `unparseable schedule: "${cj.spec.schedule}" : ${err.message}`,
      )
      return undefined
    }
    const recent = mostRecentScheduleTime(cj, now, schedule, { withStartingDeadline: true })
    if (recent.missed === 'many')
      this.#o.recorder.event(
        cj,
        'Warning',
        'TooManyMissedTimes',
        'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew',
      )
    const requeueMs = nextScheduleIn(cj, now, schedule)
    const scheduled = recent.mostRecent
    if (scheduled === undefined) return requeueMs
    const deadline = cj.spec.startingDeadlineSeconds
    if (deadline !== undefined && scheduled + deadline * 1000 < now) {
      this.#o.recorder.event(
        cj,
        'Warning',
        'MissSchedule',
        `Missed scheduled time to start a job: ${rfc1123z(scheduled)}`,
      )
      return requeueMs
    }
    const jobName = jobNameFor(cj, scheduled)
    const last = cj.status?.lastScheduleTime
    if (
      (cj.status?.active ?? []).some((r) => r.name === jobName) ||
      (last !== undefined && Date.parse(last) === scheduled)
    )
      return requeueMs
    const policy = cj.spec.concurrencyPolicy ?? 'Allow'
    if (policy === 'Forbid' && (cj.status?.active ?? []).length > 0) {
      this.#o.recorder.event(
        cj,
        'Normal',
        'JobAlreadyActive',
        'Not starting job because prior execution is running and concurrency policy is Forbid',
      )
      return requeueMs
    }
    if (policy === 'Replace') {
      for (const ref of [...(cj.status?.active ?? [])]) {
        let job: Job
        try {
          job = await this.#o.control.getJob(ref.namespace ?? '', ref.name ?? '')
        } catch (err) {
          this.#o.recorder.event(cj, 'Warning', 'FailedGet', `Get job: ${(err as Error).message}`)
          throw err
        }
        if (!(await this.#deleteJob(cj, job)))
          throw new Error(
            `could not replace job ${job.metadata?.namespace ?? ''}/${job.metadata?.name ?? ''}`,
          )
      }
    }
    const request = jobFromTemplate(cj, scheduled)
    let created: Job
    try {
      created = await this.#o.control.createJob(cj.metadata?.namespace ?? '', request)
      this.#o.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata?.name ?? ''}`)
    } catch (err) {
      if (!isAlreadyExists(err)) {
        this.#o.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(err as Error).message}`)
        throw err
      }
      // Made before (a restart between creating it and writing the status) or by someone else.
      const existing = await this.#o.control.getJob(cj.metadata?.namespace ?? '', jobName)
      const ref = controllerRef(existing)
      if (ref?.uid !== cj.metadata?.uid) return undefined
      if (inActiveList(cj, existing.metadata?.uid ?? '')) return undefined
      created = existing
    }
    const s = (cj.status ??= {})
    s.active = [...(s.active ?? []), jobReference(created)]
    s.lastScheduleTime = isoSeconds(scheduled)
    return requeueMs
  }

  /** Deletes the oldest finished Jobs beyond the history limits. */
  async #cleanupFinishedJobs(cj: CronJob, jobs: readonly Readonly<Job>[]): Promise<void> {
    const successfulLimit = cj.spec.successfulJobsHistoryLimit
    const failedLimit = cj.spec.failedJobsHistoryLimit
    if (successfulLimit === undefined && failedLimit === undefined) return
    const succeeded = jobs.filter((j) => finishedCondition(j) === 'Complete')
    const failed = jobs.filter((j) => finishedCondition(j) === 'Failed')
    for (const [list, limit] of [
      [succeeded, successfulLimit],
      [failed, failedLimit],
    ] as const) {
      if (limit === undefined || list.length <= limit) continue
      const oldest = [...list].sort(byStartTime).slice(0, list.length - limit)
      for (const job of oldest) await this.#deleteJob(cj, job)
    }
  }

  /** Deletes a Job and its place in the active list; false (with an event) when it could not. */
  async #deleteJob(cj: CronJob, job: Readonly<Job>): Promise<boolean> {
    const name = job.metadata?.name ?? ''
    try {
      await this.#o.control.deleteJob(job.metadata?.namespace ?? '', name)
    } catch (err) {
      this.#o.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(err as Error).message}`)
      return false
    }
    removeFromActive(cj, job.metadata?.uid ?? '')
    this.#o.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${name}`)
    return true
  }
}

// --- pure helpers ------------------------------------------------------------------------------

/** Complete or Failed when the Job has finished so (the condition type), else undefined. */
export function finishedCondition(job: Readonly<Job>): 'Complete' | 'Failed' | undefined {
  const c = job.status?.conditions?.find(
    (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
  )
  return c ? (c.type as 'Complete' | 'Failed') : undefined
}

function inActiveList(cj: Readonly<CronJob>, uid: string): boolean {
  return (cj.status?.active ?? []).some((r) => r.uid === uid)
}

function removeFromActive(cj: CronJob, uid: string): void {
  const s = (cj.status ??= {})
  const rest = (s.active ?? []).filter((r) => r.uid !== uid)
  if (rest.length > 0) s.active = rest
  else delete s.active
}

function byStartTime(a: Readonly<Job>, b: Readonly<Job>): number {
  const t = (j: Readonly<Job>) => (j.status?.startTime ? Date.parse(j.status.startTime) : Infinity)
  if (t(a) !== t(b)) return t(a) < t(b) ? -1 : 1
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
}

/** Go's time.RFC1123Z in UTC: "Mon, 02 Jan 2006 15:04:05 +0000". */
function rfc1123z(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000')
}

/** `<cronjob>-<scheduled time in minutes since the epoch>`. */
export function jobNameFor(cj: Readonly<CronJob>, scheduled: number): string {
  return `${cj.metadata?.name ?? ''}-${Math.floor(scheduled / 60_000)}`
}

/** The Job a CronJob runs at `scheduled`: its template, named and annotated for that time. */
export function jobFromTemplate(cj: Readonly<CronJob>, scheduled: number): Job {
  const t = structuredClone(cj.spec.jobTemplate)
  const zone = cj.spec.timeZone ?? 'UTC'
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobNameFor(cj, scheduled),
      namespace: cj.metadata?.namespace ?? '',
      ...(t.metadata?.labels ? { labels: t.metadata.labels } : {}),
      annotations: {
        ...(t.metadata?.annotations ?? {}),
        [scheduledTimestampAnnotation]: formatInZone(scheduled, zone),
      },
      ownerReferences: [controllerRefTo(cj, 'batch/v1', 'CronJob')],
    },
    spec: t.spec ?? { template: {} },
  }
}

function jobReference(job: Readonly<Job>): ObjectReference {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    name: job.metadata?.name ?? '',
    namespace: job.metadata?.namespace ?? '',
    ...(job.metadata?.resourceVersion ? { resourceVersion: job.metadata.resourceVersion } : {}),
    uid: job.metadata?.uid ?? '',
  }
}

export type Missed = 'none' | 'one' | 'few' | 'many'

/**
 * The most recent scheduled time at or before `now` that has not run (upstream's
 * mostRecentScheduleTime): counted from lastScheduleTime, else the CronJob's creation, and with
 * startingDeadlineSeconds no earlier than that long ago. Counting every missed time of a CronJob
 * silent for years would cost a lot, so the count is estimated from the interval between the
 * first two; more than 100 is "many".
 */
export function mostRecentScheduleTime(
  cj: Readonly<CronJob>,
  now: number,
  schedule: CronSchedule,
  o: { withStartingDeadline: boolean },
): { earliest: number; mostRecent?: number; missed: Missed } {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata?.creationTimestamp ?? '')
  if (!Number.isFinite(earliest)) earliest = now
  const deadline = cj.spec.startingDeadlineSeconds
  if (o.withStartingDeadline && deadline !== undefined) earliest = Math.max(earliest, now - deadline * 1000)
  const t1 = schedule.next(earliest)
  if (t1 === undefined || now < t1) return { earliest, missed: 'none' }
  const t2 = schedule.next(t1)
  if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, missed: 'one' }
  const interval = Math.round((t2 - t1) / 1000)
  if (interval < 1) return { earliest, missed: 'none' }
  const missedCount = Math.floor((now - t1) / 1000 / interval) + 1
  // Start a little before the estimate, so that an irregular schedule is walked exactly.
  let t = schedule.next(t1 + (missedCount - 2) * interval * 1000)
  let mostRecent: number | undefined
  while (t !== undefined && t <= now) {
    mostRecent = t
    t = schedule.next(t)
  }
  const missed: Missed = missedCount > tooManyMissed ? 'many' : 'few'
  return { earliest, ...(mostRecent !== undefined ? { mostRecent } : {}), missed }
}

/** How long until just after the next scheduled time (upstream's nextScheduleTimeDuration). */
export function nextScheduleIn(
  cj: Readonly<CronJob>,
  now: number,
  schedule: CronSchedule,
): number | undefined {
  const r = mostRecentScheduleTime(cj, now, schedule, { withStartingDeadline: false })
  const from = r.mostRecent ?? (r.missed === 'none' ? r.earliest : now)
  const next = schedule.next(from)
  return next === undefined ? undefined : next + nextScheduleDeltaMs - now
}

/** The writes, through the apiserver. */
export function apiCronJobControl(
  jobs: ResourceClient<Job>,
  cronJobs: ResourceClient<CronJob>,
): CronJobControl {
  return {
    createJob: (_ns, job) => jobs.create(job),
    getJob: (ns, name) => jobs.get(ns, name),
    deleteJob: async (ns, name) => {
      await jobs.delete(ns, name, { propagationPolicy: 'Background' })
    },
    getCronJob: (ns, name) => cronJobs.get(ns, name),
    updateStatus: (cj) => cronJobs.updateStatus(cj),
  }
}

/** kube-controller-manager's cronjob controller (--concurrent-cron-job-syncs defaults to 5). */
export const cronJobController: ControllerDefinition = {
  name: 'cronjob',
  eventSource: 'cronjob-controller',
  serviceAccount: 'cronjob-controller',
  setup(ctx: ControllerContext) {
    const cronJobs = ctx.informers.informer<CronJob>(builtin('batch', 'v1', 'cronjobs'))
    const jobs = ctx.informers.informer<Job>(builtin('batch', 'v1', 'jobs'))
    const controller = new CronJobController({
      cronJobs: cronJobs.lister,
      jobs: jobs.lister,
      control: apiCronJobControl(ctx.client<Job>(jobs.resource), ctx.client<CronJob>(cronJobs.resource)),
      recorder: ctx.recorder,
      clock: ctx.clock,
      log: ctx.log,
    })
    cronJobs.addHandler(controller.cronJobHandler())
    jobs.addHandler(controller.jobHandler())
    return (signal) => runWorkers(controller.queue, controller, { workers: 5, signal, log: ctx.log })
  },
}
