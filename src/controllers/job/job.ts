import type { Job, JobCondition, JobStatus } from '../../api/generated/types/batch-v1.ts'
import type { Container, Pod } from '../../api/generated/types/core-v1.ts'
import { deepEqual } from '../../api/object.ts'
import { labelSelectorFromObject, type LabelSelector } from '../../api/selectors/label-selector.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import {
  builtin,
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
import { Expectations } from '../expectations.ts'
import { adoptPatch, claim, controllerRef, controllerRefTo, releasePatch } from '../owner-refs.ts'
import { compareForDeletion, isPodActive, isPodReady } from '../pod-state.ts'
import { completionIndexAnnotation, formatIndexes, parseIndexes, podIndex } from './indexes.ts'
import { matchPodFailurePolicy, type FailurePolicyMatch } from './pod-failure-policy.ts'

/**
 * The Job controller, as Kubernetes' pkg/controller/job: runs a Job's pods to completion.
 *
 * Life of a Job (conditions in capitals):
 *
 *   created ──(suspend)──▶ SUSPENDED ──(resume: startTime reset)──▶ running
 *   running ──(completions reached / successPolicy)──▶ SUCCESSCRITERIAMET ──(pods gone)──▶ COMPLETE
 *   running ──(backoffLimit, deadline, podFailurePolicy FailJob, failed indexes)──▶ FAILURETARGET
 *                                                            ──(pods gone)──▶ FAILED
 *
 * Pod tracking by finalizer: every pod the controller creates carries batch.kubernetes.io/job-tracking.
 * A pod that finishes is first recorded by UID in status.uncountedTerminatedPods, then its
 * finalizer is removed, then it moves into status.succeeded/failed (completedIndexes for Indexed
 * Jobs). A pod can therefore be deleted at any moment without its outcome being lost or counted
 * twice.
 *
 * Failures: each counted failure delays the next pod by 10 s, doubling, at most 10 minutes
 * (per index with backoffLimitPerIndex). podFailurePolicy may ignore a failure, fail the pod's
 * index, or fail the Job at once.
 */

export const jobTrackingFinalizer = 'batch.kubernetes.io/job-tracking'
/** On a pod of an Indexed Job with backoffLimitPerIndex: failures of its index before it. */
export const indexFailureCountAnnotation = 'batch.kubernetes.io/job-index-failure-count'
/** Failures of its index the podFailurePolicy ignored before it. */
export const indexIgnoredFailureCountAnnotation = 'batch.kubernetes.io/job-index-ignored-failure-count'
/** The value of spec.managedBy this controller answers to (and an absent one). */
export const jobControllerName = 'kubernetes.io/job-controller'
export const completionIndexEnv = 'JOB_COMPLETION_INDEX'

/** Condition reasons and messages, as upstream writes them (kubectl describe shows them). */
export const JobReason = {
  BackoffLimitExceeded: 'BackoffLimitExceeded',
  DeadlineExceeded: 'DeadlineExceeded',
  PodFailurePolicy: 'PodFailurePolicy',
  MaxFailedIndexesExceeded: 'MaxFailedIndexesExceeded',
  FailedIndexes: 'FailedIndexes',
  CompletionsReached: 'CompletionsReached',
  SuccessPolicy: 'SuccessPolicy',
  Suspended: 'JobSuspended',
  Resumed: 'JobResumed',
} as const

const messages: Record<string, string> = {
  BackoffLimitExceeded: 'Job has reached the specified backoff limit',
  DeadlineExceeded: 'Job was active longer than specified deadline',
  MaxFailedIndexesExceeded: 'Job has exceeded the specified maximal number of failed indexes',
  FailedIndexes: 'Job has failed indexes',
  CompletionsReached: 'Reached expected number of succeeded pods',
}

/**
 * Back-off after failures: 10 s, doubled per failure, at most 10 minutes (upstream's
 * MaxJobPodFailureBackOff; the documentation still says six).
 */
export const podFailureBackoffMs = 10_000
export const maxPodFailureBackoffMs = 10 * 60_000

/** The writes of the controller: the apiserver in production, a recording fake in tests. */
export interface JobControl {
  createPod(namespace: string, pod: Pod): Promise<Pod>
  deletePod(namespace: string, name: string): Promise<void>
  /** A strategic merge patch. */
  patchPod(namespace: string, name: string, patch: unknown): Promise<void>
  /** A fresh read (adoption and orphan clean-up must not trust a cache). */
  getJob(namespace: string, name: string): Promise<Job>
  updateStatus(job: Job): Promise<Job>
}

export interface JobControllerOptions {
  jobs: Lister<Job>
  pods: Lister<Pod>
  control: JobControl
  recorder: Recorder
  clock: Clock
  log?: Logger
  /** Most pods created or deleted in one sync (kube-controller-manager's burst of 500). */
  burst?: number
  /** How long pod events wait to be synced together (upstream's syncJobBatchPeriod, 1 s). */
  syncBatchPeriodMs?: number
}

export const defaultSyncBatchPeriodMs = 1000

/** Keys of pods whose tracking finalizer may need removing once their Job is gone or finished. */
const orphanPrefix = 'orphan-pod:'

/** The work-queue key of a pod whose finalizer may have no Job left to serve. */
export function orphanPodKey(pod: Readonly<Pod>): string {
  return orphanPrefix + objectKey(pod)
}

export class JobController implements Reconciler {
  readonly queue: WorkQueue
  readonly expectations: Expectations
  readonly #o: JobControllerOptions
  readonly #burst: number
  readonly #batchMs: number
  /** Pods (by uid) whose finalizer removal was sent and not yet seen: never counted twice. */
  readonly #finalizersLeaving = new Set<string>()

  constructor(o: JobControllerOptions, queue?: WorkQueue) {
    this.#o = o
    this.#burst = o.burst ?? 500
    this.#batchMs = o.syncBatchPeriodMs ?? defaultSyncBatchPeriodMs
    this.queue = queue ?? new WorkQueue({ clock: o.clock })
    this.expectations = new Expectations(o.clock)
  }

  // --- events to keys --------------------------------------------------------------------------
  //
  // A new or deleted Job, or a change of its spec (a new generation), is synced at once. Pod
  // events and the Job's own status writes are batched: the Job is synced a second after the
  // first of them, once for the whole burst (the queue keeps the earliest pending time), as
  // upstream's enqueueSyncJobBatched does. Pods of a finished or vanished Job that still carry
  // the finalizer are queued at once.

  #enqueueBatched(key: string): void {
    this.queue.addAfter(key, this.#batchMs)
  }

  jobHandler(): EventHandler<Job> {
    return {
      add: (j) => this.queue.add(objectKey(j)),
      update: (old, j) => {
        if (old.metadata?.generation !== j.metadata?.generation) this.queue.add(objectKey(j))
        else this.#enqueueBatched(objectKey(j))
        // A finished Job's pods keep no finalizer (a backstop: the sync removes them first).
        if (isJobFinished(j)) this.#releasePodsOf(j)
      },
      delete: (j) => {
        this.expectations.delete(objectKey(j))
        this.queue.add(objectKey(j))
        this.#releasePodsOf(j)
      },
    }
  }

  /** Queues the pods the Job controls that still carry the finalizer, to have it removed. */
  #releasePodsOf(job: Readonly<Job>): void {
    const uid = job.metadata?.uid
    for (const pod of this.#o.pods.list(job.metadata?.namespace ?? ''))
      if (hasTrackingFinalizer(pod) && controllerRef(pod)?.uid === uid)
        this.queue.add(orphanPrefix + objectKey(pod))
  }

  podHandler(): EventHandler<Pod> {
    return {
      add: (pod) => {
        const job = this.#jobOf(pod)
        if (job) this.expectations.creationObserved(job)
        this.#podChanged(pod)
      },
      update: (old, pod) => {
        if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return
        const before = this.#jobOf(old)
        if (before && before !== this.#jobOf(pod)) this.#enqueueBatched(before)
        if (pod.metadata?.deletionTimestamp && !old.metadata?.deletionTimestamp && before)
          this.expectations.deletionObserved(before, objectKey(pod))
        this.#podChanged(pod)
      },
      delete: (pod) => {
        this.#finalizersLeaving.delete(pod.metadata?.uid ?? '')
        const job = this.#jobOf(pod)
        if (!job) return
        this.expectations.deletionObserved(job, objectKey(pod))
        this.#enqueueBatched(job)
      },
    }
  }

  #podChanged(pod: Readonly<Pod>): void {
    if (!hasTrackingFinalizer(pod)) this.#finalizersLeaving.delete(pod.metadata?.uid ?? '')
    const job = this.#jobOf(pod)
    if (job) {
      this.#enqueueBatched(job)
      const { namespace, name } = splitKey(job)
      const cached = this.#o.jobs.get(namespace, name)
      if (cached && isJobFinished(cached) && hasTrackingFinalizer(pod))
        this.queue.add(orphanPrefix + objectKey(pod))
      return
    }
    if (hasTrackingFinalizer(pod)) this.queue.add(orphanPrefix + objectKey(pod))
    else if (!controllerRef(pod)) for (const k of this.#matchingJobs(pod)) this.#enqueueBatched(k)
  }

  /** The key of the Job in the cache that controls the pod. */
  #jobOf(pod: Readonly<Pod>): string | undefined {
    const ref = controllerRef(pod)
    if (!ref || ref.kind !== 'Job') return undefined
    const job = this.#o.jobs.get(pod.metadata?.namespace ?? '', ref.name)
    return job?.metadata?.uid === ref.uid ? objectKey(job) : undefined
  }

  #matchingJobs(pod: Readonly<Pod>): string[] {
    const labels = pod.metadata?.labels ?? {}
    return this.#o.jobs
      .list(pod.metadata?.namespace ?? '')
      .filter((j) => j.spec?.selector && safeSelector(j)?.matches(labels))
      .map((j) => objectKey(j))
  }

  // --- reconcile -------------------------------------------------------------------------------

  async reconcile(key: string): Promise<Requeue | undefined> {
    if (key.startsWith(orphanPrefix)) {
      await this.#releaseOrphan(key.slice(orphanPrefix.length))
      return undefined
    }
    const { namespace, name } = splitKey(key)
    const cached = this.#o.jobs.get(namespace, name)
    if (!cached) {
      this.expectations.delete(key)
      return undefined
    }
    const managedBy = cached.spec?.managedBy
    if (managedBy !== undefined && managedBy !== jobControllerName) return undefined
    if (isJobFinished(cached)) return undefined
    const selector = safeSelector(cached)
    if (!selector) throw new TerminalError(`${key} has an invalid selector`)
    const job = structuredClone(cached) as Job
    const pods = await claim<Pod>(job, selector, this.#o.pods.list(namespace), {
      adopt: (pod) => this.#adopt(job, pod),
      release: (pod) => this.#patchIgnoringGone(pod, releasePatch(pod, job.metadata?.uid ?? '')),
    })
    return await this.#sync(key, job, pods)
  }

  async #sync(key: string, job: Job, pods: readonly Readonly<Pod>[]): Promise<Requeue | undefined> {
    const now = this.#o.clock.now()
    const spec = job.spec ?? { template: {} }
    const old = job.status ?? {}
    const indexed = spec.completionMode === 'Indexed'
    const completions = spec.completions
    const parallelism = spec.parallelism ?? 1
    const perIndex = indexed && spec.backoffLimitPerIndex !== undefined
    const indexLimit = indexed ? (completions ?? 0) : 0
    const suspended = spec.suspend === true
    const replaceOnlyFailed = spec.podReplacementPolicy === 'Failed' || spec.podFailurePolicy !== undefined
    const conditions = structuredClone(old.conditions ?? [])
    const stamp = isoSeconds(now)
    const changeCondition = (type: string, status: string, reason: string, message: string) =>
      setCondition(conditions, { type, status, reason, message, stamp })

    // 1. Pods that finished since the last sync: recorded by uid until their finalizer is gone
    // (an Indexed Job records a success by its index, which cannot be counted twice).
    const uncountedSucceeded = new Set(old.uncountedTerminatedPods?.succeeded ?? [])
    const uncountedFailed = new Set(old.uncountedTerminatedPods?.failed ?? [])
    const completed = parseIndexes(old.completedIndexes, indexLimit)
    const failedIndexes = perIndex ? parseIndexes(old.failedIndexes, indexLimit) : new Set<number>()
    /** Pods whose finalizer goes without a uid recorded: counted by index, or not at all. */
    const released: Readonly<Pod>[] = []
    /** Pods with the finalizer still running: what happens to them depends on the outcome. */
    const unfinished: Readonly<Pod>[] = []
    let failJob: FailurePolicyMatch | undefined
    for (const pod of pods) {
      const uid = pod.metadata?.uid ?? ''
      if (!hasTrackingFinalizer(pod) || this.#finalizersLeaving.has(uid)) continue
      if (uncountedSucceeded.has(uid) || uncountedFailed.has(uid)) continue
      if (pod.status?.phase === 'Succeeded') {
        if (indexed) {
          // A pod without a valid index counts for nothing.
          const i = podIndex(pod, indexLimit)
          if (i !== undefined && !failedIndexes.has(i)) completed.add(i)
          released.push(pod)
        } else uncountedSucceeded.add(uid)
        continue
      }
      if (!isPodFailed(pod, replaceOnlyFailed)) {
        unfinished.push(pod)
        continue
      }
      const match =
        pod.status?.phase === 'Failed' ? matchPodFailurePolicy(spec.podFailurePolicy, pod) : undefined
      if (match?.action === 'Ignore') {
        released.push(pod)
        continue
      }
      uncountedFailed.add(uid)
      if (match?.action === 'FailJob') failJob ??= match
      const index = indexed ? podIndex(pod, indexLimit) : undefined
      if (perIndex && index !== undefined) {
        const failures = annotationCount(pod, indexFailureCountAnnotation) + 1
        if (match?.action === 'FailIndex' || failures > (spec.backoffLimitPerIndex ?? 0))
          failedIndexes.add(index)
      }
    }
    const podsByUid = new Map(pods.map((p) => [p.metadata?.uid ?? '', p]))
    const succeededIndexes: ReadonlySet<number> = completed
    const succeeded = indexed ? completed.size : (old.succeeded ?? 0) + uncountedSucceeded.size
    const failed = (old.failed ?? 0) + uncountedFailed.size

    let active = pods.filter(isPodActive)
    const terminating = pods.filter((p) => p.metadata?.deletionTimestamp && !isTerminal(p)).length
    let startTime = old.startTime
    if (!suspended && startTime === undefined) startTime = stamp

    // 2. Suspension, both ways.
    if (suspended && !isFinishing(conditions)) {
      if (changeCondition('Suspended', 'True', JobReason.Suspended, 'Job suspended'))
        this.#o.recorder.event(job, 'Normal', 'Suspended', 'Job suspended')
    } else if (!suspended && findCondition(conditions, 'Suspended')?.status === 'True') {
      changeCondition('Suspended', 'False', JobReason.Resumed, 'Job resumed')
      this.#o.recorder.event(job, 'Normal', 'Resumed', 'Job resumed')
      // activeDeadlineSeconds counts the time the Job is continuously active.
      startTime = stamp
    }

    // 3. Has it failed, or succeeded?
    let requeueMs: number | undefined
    const soonest = (ms: number) => (requeueMs = requeueMs === undefined ? ms : Math.min(requeueMs, ms))
    let failure = trueCondition(conditions, 'FailureTarget')
    if (!failure && failJob) failure = { reason: JobReason.PodFailurePolicy, message: failJob.message }
    if (!failure) {
      const reason = failureReason({
        job,
        active,
        failed,
        failedIndexes,
        succeededIndexes,
        startTime,
        now,
        suspended,
      })
      if (reason) failure = { reason, message: messages[reason] ?? reason }
      else if (spec.activeDeadlineSeconds !== undefined && startTime !== undefined && !suspended)
        soonest(Date.parse(startTime) + spec.activeDeadlineSeconds * 1000 - now)
    }
    if (failure) changeCondition('FailureTarget', 'True', failure.reason, failure.message)
    let success = failure ? undefined : trueCondition(conditions, 'SuccessCriteriaMet')
    if (!failure && !success) {
      const policy = indexed ? matchSuccessPolicy(job, succeededIndexes) : undefined
      if (policy !== undefined)
        success = { reason: JobReason.SuccessPolicy, message: `Matched rules at index ${policy}` }
      else if (completionsReached({ job, succeeded, active: active.length }))
        success = { reason: JobReason.CompletionsReached, message: messages.CompletionsReached ?? '' }
      if (success) changeCondition('SuccessCriteriaMet', 'True', success.reason, success.message)
    }

    // 4. Pods: none once the Job is decided or suspended; otherwise as many as it wants.
    let deleted = 0
    let deletionsIssued = false
    let manageError: Error | undefined
    if (this.expectations.satisfied(key)) {
      if (failure || success) {
        deletionsIssued = true
        deleted = await this.#deletePods(key, job, active, { keepFinalizers: true })
        active = []
      } else if (suspended) {
        deleted = await this.#deletePods(key, job, active, { keepFinalizers: false })
        active = []
      } else {
        const r = await this.#manage(key, job, {
          pods,
          active,
          terminating,
          succeeded,
          succeededIndexes,
          failedIndexes,
          replaceOnlyFailed,
          now,
          parallelism,
        })
        deleted = r.deleted
        manageError = r.error
        if (r.requeueMs !== undefined) soonest(r.requeueMs)
        active = active.filter((p) => !r.removed.has(p.metadata?.uid ?? ''))
      }
    }

    // Once the Job has failed, every pod still running counts as failed (unless the policy
    // ignores it); once it has succeeded, they count for nothing. Their finalizers go now.
    if ((failure || success) && deletionsIssued)
      for (const pod of unfinished) {
        const ignoredByPolicy = matchPodFailurePolicy(spec.podFailurePolicy, pod)?.action === 'Ignore'
        if (failure && !ignoredByPolicy) uncountedFailed.add(pod.metadata?.uid ?? '')
        else released.push(pod)
      }
    const terminatingNow = terminating + deleted

    // 5. Status: first the newly finished pods by uid, then finalizers off, then the counts.
    const ready = active.filter(isPodReady).length
    const draft = (s: { succeeded: Set<string>; failed: Set<string> }, counts: Counts): JobStatus =>
      buildStatus({
        conditions,
        startTime,
        completionTime: old.completionTime,
        active: active.length,
        ready,
        terminating: terminatingNow,
        counts,
        indexed,
        perIndex,
        uncounted: s,
        failedIndexes,
      })
    const finalizerPods = pods.filter(
      (p) =>
        hasTrackingFinalizer(p) &&
        !this.#finalizersLeaving.has(p.metadata?.uid ?? '') &&
        (uncountedSucceeded.has(p.metadata?.uid ?? '') || uncountedFailed.has(p.metadata?.uid ?? '')),
    )
    let current = job
    const counted: Counts = {
      succeeded: indexed ? completed.size : (old.succeeded ?? 0),
      failed: old.failed ?? 0,
      completed,
    }
    const pending = { succeeded: uncountedSucceeded, failed: uncountedFailed }
    if (finalizerPods.length > 0 || released.length > 0) {
      const first = draft(pending, counted)
      if (!deepEqual(first, old)) current = await this.#writeStatus(current, first)
      await this.#removeFinalizers([...finalizerPods, ...released])
    }
    // Every uncounted pod whose finalizer is now gone (or going) moves into the counts.
    const flushed: Counts = {
      succeeded: counted.succeeded,
      failed: counted.failed,
      completed: new Set(completed),
    }
    const still = { succeeded: new Set<string>(), failed: new Set<string>() }
    for (const uid of uncountedSucceeded) {
      const pod = podsByUid.get(uid)
      if (pod && hasTrackingFinalizer(pod) && !this.#finalizersLeaving.has(uid)) {
        still.succeeded.add(uid)
        continue
      }
      const i = pod && indexed ? podIndex(pod, indexLimit) : undefined
      if (i !== undefined && !failedIndexes.has(i)) flushed.completed.add(i)
      flushed.succeeded++
    }
    for (const uid of uncountedFailed) {
      const pod = podsByUid.get(uid)
      if (pod && hasTrackingFinalizer(pod) && !this.#finalizersLeaving.has(uid)) still.failed.add(uid)
      else flushed.failed++
    }
    if (indexed) flushed.succeeded = flushed.completed.size

    // 6. The terminal condition, once no pod is left running, terminating or uncounted.
    const settled = active.length === 0 && terminatingNow === 0
    const allCounted = still.succeeded.size === 0 && still.failed.size === 0
    let completionTime = old.completionTime
    if (settled && allCounted && failure) {
      changeCondition('Failed', 'True', failure.reason, failure.message)
      this.#o.recorder.event(job, 'Warning', failure.reason, failure.message)
    } else if (settled && allCounted && success) {
      changeCondition('Complete', 'True', success.reason, success.message)
      completionTime = stamp
      this.#o.recorder.event(job, 'Normal', 'Completed', 'Job completed')
    }
    const final = buildStatus({
      conditions,
      startTime,
      completionTime,
      active: active.length,
      ready,
      terminating: terminatingNow,
      counts: flushed,
      indexed,
      perIndex,
      uncounted: still,
      failedIndexes,
    })
    if (!deepEqual(final, current.status ?? {})) await this.#writeStatus(current, final)
    if (manageError) throw manageError
    return requeueMs !== undefined ? { afterMs: Math.max(0, requeueMs) } : undefined
  }

  /** Creates the pods the Job lacks and deletes the ones it has too many of. */
  async #manage(
    key: string,
    job: Job,
    s: {
      pods: readonly Readonly<Pod>[]
      active: readonly Readonly<Pod>[]
      terminating: number
      succeeded: number
      succeededIndexes: ReadonlySet<number>
      failedIndexes: ReadonlySet<number>
      replaceOnlyFailed: boolean
      now: number
      parallelism: number
    },
  ): Promise<{ deleted: number; removed: Set<string>; requeueMs?: number; error?: Error }> {
    const spec = job.spec ?? { template: {} }
    const indexed = spec.completionMode === 'Indexed'
    // Pods still terminating hold their place when only failed pods are replaced.
    const busy = s.active.length + (s.replaceOnlyFailed ? s.terminating : 0)
    if (!indexed) {
      const want = wantActive({
        completions: spec.completions,
        parallelism: s.parallelism,
        succeeded: s.succeeded,
        active: s.active.length,
      })
      if (s.active.length > want) {
        const victims = [...s.active].sort(compareForDeletion).slice(0, s.active.length - want)
        const deleted = await this.#deletePods(key, job, victims, { keepFinalizers: false })
        return { deleted, removed: new Set(victims.map((p) => p.metadata?.uid ?? '')) }
      }
      const missing = Math.min(want - busy, this.#burst)
      if (missing <= 0) return { deleted: 0, removed: new Set() }
      const wait = remainingBackoff(failuresSinceSuccess(s.pods, spec), s.now)
      if (wait > 0) return { deleted: 0, removed: new Set(), requeueMs: wait }
      const error = await this.#createPods(
        key,
        job,
        Array.from({ length: missing }, () => podForJob(job)),
      )
      return { deleted: 0, removed: new Set(), ...(error ? { error } : {}) }
    }
    // Indexed: one pod per index not yet succeeded or failed, lowest indexes first.
    const completions = spec.completions ?? 0
    const byIndex = new Map<number, Readonly<Pod>[]>()
    const surplus: Readonly<Pod>[] = []
    for (const pod of s.active) {
      const i = podIndex(pod, completions)
      if (i === undefined || s.succeededIndexes.has(i) || s.failedIndexes.has(i)) {
        surplus.push(pod)
        continue
      }
      const list = byIndex.get(i) ?? []
      list.push(pod)
      byIndex.set(i, list)
    }
    for (const list of byIndex.values()) {
      // Duplicates of an index: the oldest stays.
      list.sort((a, b) => compareForDeletion(b, a))
      surplus.push(...list.slice(1))
    }
    const kept = [...byIndex.entries()].map(([i, list]) => [i, list[0]] as const).sort((a, b) => b[0] - a[0])
    // More than parallelism: the highest indexes go.
    for (const [, pod] of kept.slice(0, Math.max(0, kept.length - s.parallelism))) if (pod) surplus.push(pod)
    if (surplus.length > 0) {
      const deleted = await this.#deletePods(key, job, surplus, { keepFinalizers: false })
      return { deleted, removed: new Set(surplus.map((p) => p.metadata?.uid ?? '')) }
    }
    const occupied = new Set(byIndex.keys())
    if (s.replaceOnlyFailed)
      for (const p of s.pods)
        if (p.metadata?.deletionTimestamp && !isTerminal(p)) {
          const i = podIndex(p, completions)
          if (i !== undefined) occupied.add(i)
        }
    const room = Math.min(s.parallelism - busy, this.#burst)
    if (room <= 0) return { deleted: 0, removed: new Set() }
    if (spec.backoffLimitPerIndex === undefined) {
      const wait = remainingBackoff(failuresSinceSuccess(s.pods, spec), s.now)
      if (wait > 0) return { deleted: 0, removed: new Set(), requeueMs: wait }
    }
    const pods: Pod[] = []
    let requeueMs: number | undefined
    const history = indexHistory(s.pods, spec)
    for (let i = 0; i < completions && pods.length < room; i++) {
      if (s.succeededIndexes.has(i) || s.failedIndexes.has(i) || occupied.has(i)) continue
      const h = history.get(i)
      if (h) {
        const wait = remainingBackoff(h, s.now)
        if (wait > 0) {
          requeueMs = requeueMs === undefined ? wait : Math.min(requeueMs, wait)
          continue
        }
      }
      pods.push(podForJob(job, { index: i, failures: h?.counted ?? 0, ignored: h?.ignored ?? 0 }))
    }
    const error = pods.length > 0 ? await this.#createPods(key, job, pods) : undefined
    return {
      deleted: 0,
      removed: new Set(),
      ...(requeueMs !== undefined ? { requeueMs } : {}),
      ...(error ? { error } : {}),
    }
  }

  /** Creates pods in slow-start batches (1, 2, 4, ...); returns the first error. */
  async #createPods(key: string, job: Job, pods: readonly Pod[]): Promise<Error | undefined> {
    this.expectations.expect(key, pods.length)
    const namespace = job.metadata?.namespace ?? ''
    let made = 0
    let error: Error | undefined
    for (let batch = 1; made < pods.length && !error; batch *= 2) {
      const slice = pods.slice(made, made + batch)
      made += slice.length
      const results = await Promise.allSettled(slice.map((p) => this.#o.control.createPod(namespace, p)))
      for (const r of results) {
        if (r.status === 'fulfilled') {
          this.#o.recorder.event(
            job,
            'Normal',
            'SuccessfulCreate',
            `Created pod: ${r.value.metadata?.name ?? ''}`,
          )
          continue
        }
        this.expectations.creationObserved(key)
        const err = r.reason as Error
        // A namespace being deleted refuses new pods; nothing to retry.
        error ??= err
        this.#o.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${err.message}`)
      }
    }
    for (let i = made; i < pods.length; i++) this.expectations.creationObserved(key)
    return error
  }

  /**
   * Deletes pods. Pods deleted because the Job has too many or is suspended lose their
   * finalizer first (they count neither as succeeded nor failed); pods deleted because the Job
   * is finishing keep it, and are counted as they terminate.
   */
  async #deletePods(
    key: string,
    job: Job,
    pods: readonly Readonly<Pod>[],
    o: { keepFinalizers: boolean },
  ): Promise<number> {
    const victims = pods.slice(0, this.#burst)
    if (victims.length === 0) return 0
    this.expectations.expect(
      key,
      0,
      victims.map((p) => objectKey(p)),
    )
    let deleted = 0
    let error: Error | undefined
    await Promise.all(
      victims.map(async (pod) => {
        const ns = pod.metadata?.namespace ?? ''
        const podName = pod.metadata?.name ?? ''
        try {
          if (!o.keepFinalizers && hasTrackingFinalizer(pod)) {
            this.#finalizersLeaving.add(pod.metadata?.uid ?? '')
            await this.#o.control.patchPod(ns, podName, removeFinalizerPatch())
          }
          await this.#o.control.deletePod(ns, podName)
          deleted++
          this.#o.recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${podName}`)
        } catch (err) {
          this.expectations.deletionObserved(key, objectKey(pod))
          if (isNotFound(err)) return
          this.#finalizersLeaving.delete(pod.metadata?.uid ?? '')
          error ??= err as Error
          this.#o.recorder.event(job, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`)
        }
      }),
    )
    if (error) throw error
    return deleted
  }

  async #removeFinalizers(pods: readonly Readonly<Pod>[]): Promise<void> {
    let error: Error | undefined
    await Promise.all(
      pods.map(async (pod) => {
        const uid = pod.metadata?.uid ?? ''
        this.#finalizersLeaving.add(uid)
        try {
          await this.#o.control.patchPod(
            pod.metadata?.namespace ?? '',
            pod.metadata?.name ?? '',
            removeFinalizerPatch(),
          )
        } catch (err) {
          if (isNotFound(err)) return
          this.#finalizersLeaving.delete(uid)
          error ??= err as Error
        }
      }),
    )
    if (error) throw error
  }

  /** A pod with the finalizer whose Job is gone or finished: the finalizer has no one to serve. */
  async #releaseOrphan(podKey: string): Promise<void> {
    const { namespace, name } = splitKey(podKey)
    const pod = this.#o.pods.get(namespace, name)
    if (!pod || !hasTrackingFinalizer(pod)) return
    const ref = controllerRef(pod)
    if (ref?.kind === 'Job') {
      try {
        const job = await this.#o.control.getJob(namespace, ref.name)
        if (job.metadata?.uid === ref.uid && !isJobFinished(job)) return
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
    }
    await this.#removeFinalizers([pod])
  }

  async #adopt(job: Readonly<Job>, pod: Readonly<Pod>): Promise<boolean> {
    const fresh = await this.#o.control.getJob(job.metadata?.namespace ?? '', job.metadata?.name ?? '')
    if (fresh.metadata?.uid !== job.metadata?.uid || fresh.metadata?.deletionTimestamp) return false
    const patch = adoptPatch(pod, controllerRefTo(job, 'batch/v1', 'Job')) as {
      metadata: Record<string, unknown>
    }
    if (!isTerminal(pod) && !hasTrackingFinalizer(pod)) patch.metadata.finalizers = [jobTrackingFinalizer]
    return this.#patchIgnoringGone(pod, patch)
  }

  async #patchIgnoringGone(pod: Readonly<Pod>, patch: unknown): Promise<boolean> {
    try {
      await this.#o.control.patchPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', patch)
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  /**
   * Writes the status. A conflict is not retried here: the status rests on the Job as read, so a
   * newer Job is synced again from scratch (the work queue retries the key).
   */
  async #writeStatus(job: Job, status: JobStatus): Promise<Job> {
    return await this.#o.control.updateStatus({ ...job, status })
  }
}

// --- pure helpers ------------------------------------------------------------------------------

interface Counts {
  succeeded: number
  failed: number
  completed: Set<number>
}

function buildStatus(o: {
  conditions: JobCondition[]
  startTime: string | undefined
  completionTime: string | undefined
  active: number
  ready: number
  terminating: number
  counts: Counts
  indexed: boolean
  perIndex: boolean
  uncounted: { succeeded: Set<string>; failed: Set<string> }
  failedIndexes: ReadonlySet<number>
}): JobStatus {
  const s: JobStatus = {}
  if (o.conditions.length > 0) s.conditions = o.conditions
  if (o.startTime !== undefined) s.startTime = o.startTime
  if (o.completionTime !== undefined) s.completionTime = o.completionTime
  if (o.active > 0) s.active = o.active
  if (o.counts.succeeded > 0) s.succeeded = o.counts.succeeded
  if (o.counts.failed > 0) s.failed = o.counts.failed
  s.terminating = o.terminating
  if (o.indexed && o.counts.completed.size > 0) s.completedIndexes = formatIndexes(o.counts.completed)
  if (o.perIndex) s.failedIndexes = formatIndexes(o.failedIndexes)
  s.uncountedTerminatedPods = {
    ...(o.uncounted.succeeded.size > 0 ? { succeeded: [...o.uncounted.succeeded].sort() } : {}),
    ...(o.uncounted.failed.size > 0 ? { failed: [...o.uncounted.failed].sort() } : {}),
  }
  s.ready = o.ready
  return s
}

/** A finished Job: Complete or Failed is True. */
export function isJobFinished(job: Readonly<Job>): boolean {
  return (job.status?.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  )
}

function isFinishing(conditions: readonly JobCondition[]): boolean {
  return conditions.some(
    (c) => (c.type === 'FailureTarget' || c.type === 'SuccessCriteriaMet') && c.status === 'True',
  )
}

function findCondition(conditions: readonly JobCondition[], type: string): JobCondition | undefined {
  return conditions.find((c) => c.type === type)
}

function trueCondition(
  conditions: readonly JobCondition[],
  type: string,
): { reason: string; message: string } | undefined {
  const c = findCondition(conditions, type)
  return c?.status === 'True' ? { reason: c.reason ?? '', message: c.message ?? '' } : undefined
}

/**
 * Sets a condition; returns whether its status changed. A condition that is absent is not added
 * as False (a Job never suspended has no Suspended condition).
 */
function setCondition(
  conditions: JobCondition[],
  c: { type: string; status: string; reason: string; message: string; stamp: string },
): boolean {
  const existing = conditions.find((x) => x.type === c.type)
  if (!existing) {
    if (c.status === 'False') return false
    conditions.push({
      type: c.type,
      status: c.status,
      lastProbeTime: c.stamp,
      lastTransitionTime: c.stamp,
      reason: c.reason,
      message: c.message,
    })
    return true
  }
  if (existing.status === c.status && existing.reason === c.reason && existing.message === c.message)
    return false
  const transitioned = existing.status !== c.status
  existing.status = c.status
  existing.reason = c.reason
  existing.message = c.message
  existing.lastProbeTime = c.stamp
  if (transitioned) existing.lastTransitionTime = c.stamp
  return transitioned
}

export function hasTrackingFinalizer(pod: Readonly<Pod>): boolean {
  return pod.metadata?.finalizers?.includes(jobTrackingFinalizer) ?? false
}

function isTerminal(pod: Readonly<Pod>): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'
}

/**
 * A failed pod. A pod being deleted counts as failed too (it will never finish by itself), unless
 * only failed pods are replaced (podReplacementPolicy Failed, or a podFailurePolicy): then it is
 * failed once its phase says so.
 */
export function isPodFailed(pod: Readonly<Pod>, replaceOnlyFailed: boolean): boolean {
  if (pod.status?.phase === 'Failed') return true
  if (replaceOnlyFailed) return false
  return Boolean(pod.metadata?.deletionTimestamp) && pod.status?.phase !== 'Succeeded'
}

/** The strategic merge patch removing the tracking finalizer from a pod. */
export function removeFinalizerPatch(): unknown {
  return { metadata: { '$deleteFromPrimitiveList/finalizers': [jobTrackingFinalizer] } }
}

function annotationCount(pod: Readonly<Pod>, annotation: string): number {
  const v = pod.metadata?.annotations?.[annotation]
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : 0
}

function safeSelector(job: Readonly<Job>): LabelSelector | undefined {
  try {
    return labelSelectorFromObject(job.spec?.selector)
  } catch {
    return undefined
  }
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
}

/** How many pods a NonIndexed Job wants running now. */
export function wantActive(o: {
  completions: number | undefined
  parallelism: number
  succeeded: number
  active: number
}): number {
  // Without completions, the first success means the work is done: no new pods, and those
  // running are left to finish.
  if (o.completions === undefined) return o.succeeded > 0 ? o.active : o.parallelism
  return Math.max(0, Math.min(o.completions - o.succeeded, o.parallelism))
}

/**
 * Enough pods succeeded. A NonIndexed Job also waits for its other pods: without completions
 * they finish by themselves; with completions the surplus is deleted first.
 */
function completionsReached(o: { job: Readonly<Job>; succeeded: number; active: number }): boolean {
  const completions = o.job.spec?.completions
  if (o.job.spec?.completionMode === 'Indexed') return o.succeeded >= (completions ?? 0)
  if (completions === undefined) return o.succeeded > 0 && o.active === 0
  return o.succeeded >= completions && o.active === 0
}

/** Why the Job fails now, if it does (apart from a podFailurePolicy FailJob). */
function failureReason(o: {
  job: Readonly<Job>
  active: readonly Readonly<Pod>[]
  failed: number
  failedIndexes: ReadonlySet<number>
  succeededIndexes: ReadonlySet<number>
  startTime: string | undefined
  now: number
  suspended: boolean
}): string | undefined {
  const spec = o.job.spec
  const backoffLimit = spec?.backoffLimit ?? 6
  if (o.failed > backoffLimit) return JobReason.BackoffLimitExceeded
  // With restartPolicy OnFailure pods restart instead of failing: their restarts count.
  if (spec?.template.spec?.restartPolicy === 'OnFailure') {
    const restarts = o.active
      .filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending')
      .flatMap((p) => [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])])
      .reduce((n, c) => n + (c.restartCount ?? 0), 0)
    if (backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit) return JobReason.BackoffLimitExceeded
  }
  if (
    !o.suspended &&
    spec?.activeDeadlineSeconds !== undefined &&
    o.startTime !== undefined &&
    o.now - Date.parse(o.startTime) >= spec.activeDeadlineSeconds * 1000
  )
    return JobReason.DeadlineExceeded
  if (spec?.completionMode === 'Indexed' && spec.backoffLimitPerIndex !== undefined) {
    if (spec.maxFailedIndexes !== undefined && o.failedIndexes.size > spec.maxFailedIndexes)
      return JobReason.MaxFailedIndexesExceeded
    const done = o.failedIndexes.size + [...o.succeededIndexes].filter((i) => !o.failedIndexes.has(i)).length
    if (o.failedIndexes.size > 0 && done >= (spec.completions ?? 0)) return JobReason.FailedIndexes
  }
  return undefined
}

/** The index of the first successPolicy rule the succeeded indexes satisfy, if any. */
export function matchSuccessPolicy(job: Readonly<Job>, succeeded: ReadonlySet<number>): number | undefined {
  const rules = job.spec?.successPolicy?.rules ?? []
  const limit = job.spec?.completions ?? 0
  for (const [i, rule] of rules.entries()) {
    let candidates: number
    let required: number
    if (rule.succeededIndexes !== undefined) {
      const wanted = parseIndexes(rule.succeededIndexes, limit)
      candidates = [...wanted].filter((x) => succeeded.has(x)).length
      required = rule.succeededCount ?? wanted.size
    } else {
      candidates = succeeded.size
      required = rule.succeededCount ?? limit
    }
    if (required > 0 && candidates >= required) return i
  }
  return undefined
}

/** Failures to back off from: how many, and when the last one ended. */
export interface FailureHistory {
  /** Failures counted since the last success (NonIndexed), or of the index (per index). */
  counted: number
  ignored: number
  lastFailureAt: number
}

/** The back-off after `failures` failures: 10 s, 20 s, 40 s, ... at most 10 minutes. */
export function backoffDelayMs(failures: number): number {
  if (failures <= 0) return 0
  return Math.min(maxPodFailureBackoffMs, podFailureBackoffMs * 2 ** Math.min(failures - 1, 30))
}

function remainingBackoff(h: FailureHistory | undefined, now: number): number {
  if (!h || h.counted <= 0) return 0
  return Math.max(0, h.lastFailureAt + backoffDelayMs(h.counted) - now)
}

/** When a pod finished: its containers' last finishedAt, else its deletion or creation time. */
function finishedAt(pod: Readonly<Pod>): number {
  const ends = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    .map((c) => Date.parse(c.state?.terminated?.finishedAt ?? ''))
    .filter(Number.isFinite)
  if (ends.length > 0) return Math.max(...ends)
  const t = Date.parse(pod.metadata?.deletionTimestamp ?? pod.metadata?.creationTimestamp ?? '')
  return Number.isFinite(t) ? t : 0
}

/** Counted failures of a NonIndexed Job after its last success. */
function failuresSinceSuccess(pods: readonly Readonly<Pod>[], spec: Job['spec']): FailureHistory | undefined {
  const replaceOnlyFailed = spec?.podReplacementPolicy === 'Failed' || spec?.podFailurePolicy !== undefined
  const lastSuccess = Math.max(
    0,
    ...pods.filter((p) => p.status?.phase === 'Succeeded').map((p) => finishedAt(p)),
  )
  const failures = pods.filter(
    (p) =>
      isPodFailed(p, replaceOnlyFailed) &&
      finishedAt(p) >= lastSuccess &&
      matchPodFailurePolicy(spec?.podFailurePolicy, p)?.action !== 'Ignore',
  )
  if (failures.length === 0) return undefined
  return {
    counted: failures.length,
    ignored: 0,
    lastFailureAt: Math.max(...failures.map((p) => finishedAt(p))),
  }
}

/** Per index, the failures so far (from the latest failed pod's annotations) and when. */
function indexHistory(pods: readonly Readonly<Pod>[], spec: Job['spec']): Map<number, FailureHistory> {
  const out = new Map<number, FailureHistory>()
  const completions = spec?.completions ?? 0
  const replaceOnlyFailed = spec?.podReplacementPolicy === 'Failed' || spec?.podFailurePolicy !== undefined
  for (const pod of pods) {
    if (!isPodFailed(pod, replaceOnlyFailed)) continue
    const i = podIndex(pod, completions)
    if (i === undefined) continue
    const ignoredNow = matchPodFailurePolicy(spec?.podFailurePolicy, pod)?.action === 'Ignore'
    const counted = annotationCount(pod, indexFailureCountAnnotation) + (ignoredNow ? 0 : 1)
    const ignored = annotationCount(pod, indexIgnoredFailureCountAnnotation) + (ignoredNow ? 1 : 0)
    const at = finishedAt(pod)
    const prev = out.get(i)
    if (!prev || counted + ignored > prev.counted + prev.ignored)
      out.set(i, { counted, ignored, lastFailureAt: Math.max(at, prev?.lastFailureAt ?? 0) })
  }
  // Without backoffLimitPerIndex the back-off is the Job's, not the index's.
  if (spec?.backoffLimitPerIndex === undefined) for (const [i, h] of out) out.set(i, { ...h, counted: 0 })
  return out
}

/**
 * A pod of the Job's template (upstream's pod from template, plus what the Job adds): the
 * tracking finalizer, the controller reference and, for Indexed Jobs, the completion index as
 * annotation and label, the name `<job>-<index>-<random>`, the hostname `<job>-<index>` and the
 * JOB_COMPLETION_INDEX variable read from the annotation through the downward API.
 */
export function podForJob(
  job: Readonly<Job>,
  index?: { index: number; failures: number; ignored: number },
): Pod {
  const t = structuredClone(job.spec?.template ?? {})
  const jobName = job.metadata?.name ?? ''
  const labels = { ...(t.metadata?.labels ?? {}) }
  const annotations = { ...(t.metadata?.annotations ?? {}) }
  const spec = t.spec ?? { containers: [] }
  let generateName = `${jobName}-`
  if (index) {
    const i = String(index.index)
    labels[completionIndexAnnotation] = i
    annotations[completionIndexAnnotation] = i
    if (job.spec?.backoffLimitPerIndex !== undefined) {
      annotations[indexFailureCountAnnotation] = String(index.failures)
      if (index.ignored > 0) annotations[indexIgnoredFailureCountAnnotation] = String(index.ignored)
    }
    const suffix = `-${i}-`
    generateName = `${jobName}${suffix}`
    // Generated names are at most 63 characters, five of them random.
    if (generateName.length > 58) generateName = jobName.slice(0, 58 - suffix.length) + suffix
    spec.hostname = `${jobName}-${i}`
    const addEnv = (c: Container) => {
      if (c.env?.some((e) => e.name === completionIndexEnv)) return
      c.env = [
        ...(c.env ?? []),
        {
          name: completionIndexEnv,
          valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${completionIndexAnnotation}']` } },
        },
      ]
    }
    spec.containers.forEach(addEnv)
    spec.initContainers?.forEach(addEnv)
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName,
      namespace: job.metadata?.namespace ?? '',
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      finalizers: [
        ...(t.metadata?.finalizers ?? []).filter((f) => f !== jobTrackingFinalizer),
        jobTrackingFinalizer,
      ],
      ownerReferences: [controllerRefTo(job, 'batch/v1', 'Job')],
    },
    spec,
  }
}

/** The writes, through the apiserver. */
export function apiJobControl(pods: ResourceClient<Pod>, jobs: ResourceClient<Job>): JobControl {
  return {
    createPod: (_ns, pod) => pods.create(pod),
    deletePod: async (ns, name) => {
      await pods.delete(ns, name)
    },
    patchPod: async (ns, name, patch) => {
      await pods.patch(ns, name, 'strategic', patch)
    },
    getJob: (ns, name) => jobs.get(ns, name),
    updateStatus: (job) => jobs.updateStatus(job),
  }
}

/** kube-controller-manager's job controller (--concurrent-job-syncs defaults to 5). */
export const jobController: ControllerDefinition = {
  name: 'job',
  eventSource: 'job-controller',
  serviceAccount: 'job-controller',
  setup(ctx: ControllerContext) {
    const jobs = ctx.informers.informer<Job>(builtin('batch', 'v1', 'jobs'))
    const pods = ctx.informers.informer<Pod>(builtin('', 'v1', 'pods'))
    const controller = new JobController({
      jobs: jobs.lister,
      pods: pods.lister,
      control: apiJobControl(ctx.client<Pod>(pods.resource), ctx.client<Job>(jobs.resource)),
      recorder: ctx.recorder,
      clock: ctx.clock,
      log: ctx.log,
    })
    jobs.addHandler(controller.jobHandler())
    pods.addHandler(controller.podHandler())
    return (signal) => runWorkers(controller.queue, controller, { workers: 5, signal, log: ctx.log })
  },
}
