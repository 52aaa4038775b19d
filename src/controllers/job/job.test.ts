import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Job, JobSpec, JobStatus } from '../../api/generated/types/batch-v1.ts'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { IndexedCache, Lister, objectKey } from '../../client/index.ts'
import { formatIndexes, parseIndexes } from './indexes.ts'
import {
  backoffDelayMs,
  JobController,
  jobTrackingFinalizer,
  orphanPodKey,
  removeFinalizerPatch,
  wantActive,
  type JobControl,
} from './job.ts'
import { matchPodFailurePolicy } from './pod-failure-policy.ts'

const start = Date.UTC(2026, 0, 1, 12, 0, 0)
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')

function makeJob(spec: Partial<JobSpec> = {}, status: JobStatus = {}): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid: 'job-uid', resourceVersion: '7', generation: 1 },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'job-uid' } },
      template: {
        metadata: { labels: { 'batch.kubernetes.io/controller-uid': 'job-uid', 'job-name': 'pi' } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'perl' }] },
      },
      ...spec,
    },
    status,
  }
}

interface PodOptions {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed'
  index?: number
  finalizer?: boolean
  exitCode?: number
  finishedAt?: number
  deleting?: boolean
  ready?: boolean
  failures?: number
  conditions?: { type: string; status: string }[]
}

function makePod(name: string, o: PodOptions = {}): Pod {
  const annotations: Record<string, string> = {}
  if (o.index !== undefined) annotations['batch.kubernetes.io/job-completion-index'] = String(o.index)
  if (o.failures !== undefined)
    annotations['batch.kubernetes.io/job-index-failure-count'] = String(o.failures)
  const terminated =
    o.phase === 'Succeeded' || o.phase === 'Failed'
      ? {
          terminated: {
            exitCode: o.exitCode ?? (o.phase === 'Succeeded' ? 0 : 1),
            finishedAt: iso(o.finishedAt ?? start - 60_000),
          },
        }
      : undefined
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      resourceVersion: '3',
      creationTimestamp: iso(start - 120_000),
      labels: { 'batch.kubernetes.io/controller-uid': 'job-uid' },
      annotations,
      ...(o.finalizer === false ? {} : { finalizers: [jobTrackingFinalizer] }),
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid: 'job-uid', controller: true },
      ],
      ...(o.deleting ? { deletionTimestamp: iso(start - 1000) } : {}),
    },
    spec: { containers: [{ name: 'main', image: 'perl' }] },
    status: {
      phase: o.phase ?? 'Running',
      ...(terminated ? { containerStatuses: [{ name: 'main', state: terminated } as never] } : {}),
      conditions: [...(o.ready ? [{ type: 'Ready', status: 'True' }] : []), ...(o.conditions ?? [])],
    },
  }
}

/** Records every write. */
class FakeControl implements JobControl {
  created: Pod[] = []
  deleted: string[] = []
  patched: { name: string; patch: unknown }[] = []
  statuses: JobStatus[] = []
  job: Job = makeJob()

  async createPod(_ns: string, pod: Pod): Promise<Pod> {
    const made = {
      ...pod,
      metadata: { ...pod.metadata, name: `${pod.metadata?.generateName ?? ''}${this.created.length}` },
    }
    this.created.push(made)
    return made
  }
  async deletePod(_ns: string, name: string): Promise<void> {
    this.deleted.push(name)
  }
  async patchPod(_ns: string, name: string, patch: unknown): Promise<void> {
    this.patched.push({ name, patch })
  }
  async getJob(): Promise<Job> {
    return this.job
  }
  async updateStatus(job: Job): Promise<Job> {
    this.statuses.push(structuredClone(job.status ?? {}))
    return { ...job, metadata: { ...job.metadata, resourceVersion: String(this.statuses.length + 10) } }
  }
  /** The last status written. */
  get status(): JobStatus {
    return this.statuses.at(-1) ?? {}
  }
}

function setup(job: Job, pods: Pod[] = [], clock = new FakeClock(start)) {
  const jobs = new IndexedCache<Job>()
  jobs.set(job)
  const control = new FakeControl()
  control.job = job
  const events: string[] = []
  const controller = new JobController({
    jobs: new Lister(jobs),
    pods: new Lister(IndexedCache.of<Pod>(pods)),
    control,
    recorder: { event: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`) },
    clock,
  })
  return { controller, control, events, clock, key: objectKey(job) }
}

const conditionsOf = (s: JobStatus) => (s.conditions ?? []).map((c) => [c.type, c.status, c.reason])

test('a new Job creates parallelism pods with the tracking finalizer and its controller reference, and starts', async () => {
  const { controller, control, events, key } = setup(makeJob({ completions: 5, parallelism: 2 }))
  await controller.reconcile(key)
  assert.equal(control.created.length, 2)
  const pod = control.created[0] as Pod
  assert.equal(pod.metadata?.generateName, 'pi-')
  assert.deepEqual(pod.metadata?.finalizers, [jobTrackingFinalizer])
  assert.deepEqual(pod.metadata?.ownerReferences, [
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      name: 'pi',
      uid: 'job-uid',
      controller: true,
      blockOwnerDeletion: true,
    },
  ])
  assert.deepEqual(events, [
    'Normal SuccessfulCreate Created pod: pi-0',
    'Normal SuccessfulCreate Created pod: pi-1',
  ])
  assert.deepEqual(control.status, {
    startTime: iso(start),
    terminating: 0,
    uncountedTerminatedPods: {},
    ready: 0,
  })
})

test('an Indexed Job names pods <job>-<index>- and gives them the index as annotation, label, hostname and JOB_COMPLETION_INDEX', async () => {
  const { controller, control, key } = setup(
    makeJob({ completionMode: 'Indexed', completions: 3, parallelism: 3 }),
    [makePod('pi-1-abc', { index: 1 })],
  )
  await controller.reconcile(key)
  assert.deepEqual(
    control.created.map((p) => p.metadata?.generateName),
    ['pi-0-', 'pi-2-'],
  )
  const pod = control.created[1] as Pod
  assert.equal(pod.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'], '2')
  assert.equal(pod.metadata?.labels?.['batch.kubernetes.io/job-completion-index'], '2')
  assert.equal(pod.spec?.hostname, 'pi-2')
  assert.deepEqual(pod.spec?.containers[0]?.env, [
    {
      name: 'JOB_COMPLETION_INDEX',
      valueFrom: {
        fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" },
      },
    },
  ])
  assert.equal(control.status.active, 1)
})

test('a finished pod of a NonIndexed Job is recorded by uid, loses its finalizer, then is counted', async () => {
  const job = makeJob({ completions: 3, parallelism: 1 })
  const { controller, control, key } = setup(job, [makePod('a', { phase: 'Succeeded' })])
  await controller.reconcile(key)
  assert.deepEqual(control.statuses[0]?.uncountedTerminatedPods, { succeeded: ['a-uid'] })
  assert.deepEqual(control.patched, [{ name: 'a', patch: removeFinalizerPatch() }])
  const last = control.status
  assert.deepEqual([last.succeeded, last.uncountedTerminatedPods], [1, {}])
  assert.equal(control.created.length, 1, 'the next pod starts')
})

test('a succeeded pod of an Indexed Job is recorded by its index before its finalizer goes', async () => {
  const job = makeJob({ completionMode: 'Indexed', completions: 3, parallelism: 1 })
  const { controller, control, key } = setup(job, [makePod('pi-0-a', { phase: 'Succeeded', index: 0 })])
  await controller.reconcile(key)
  assert.deepEqual(
    [
      control.statuses[0]?.completedIndexes,
      control.statuses[0]?.succeeded,
      control.statuses[0]?.uncountedTerminatedPods,
    ],
    ['0', 1, {}],
  )
  assert.deepEqual(control.patched, [{ name: 'pi-0-a', patch: removeFinalizerPatch() }])
  assert.equal(control.created[0]?.metadata?.generateName, 'pi-1-', 'the next index starts')
})

test('reaching completions sets SuccessCriteriaMet, then Complete with completionTime, once nothing runs', async () => {
  const job = makeJob({ completions: 2, parallelism: 2 }, { startTime: iso(start - 300_000), succeeded: 1 })
  const { controller, control, events, key } = setup(job, [
    makePod('a', { phase: 'Succeeded', finalizer: false }),
    makePod('b', { phase: 'Succeeded' }),
  ])
  await controller.reconcile(key)
  const s = control.status
  assert.deepEqual(conditionsOf(s), [
    ['SuccessCriteriaMet', 'True', 'CompletionsReached'],
    ['Complete', 'True', 'CompletionsReached'],
  ])
  assert.equal(s.conditions?.[1]?.message, 'Reached expected number of succeeded pods')
  assert.equal(s.succeeded, 2)
  assert.equal(s.completionTime, iso(start))
  assert.deepEqual(events, ['Normal Completed Job completed'])
  assert.equal(control.created.length, 0)
})

test('failures beyond backoffLimit fail the Job: FailureTarget, running pods deleted and counted as failed, then Failed', async () => {
  const job = makeJob(
    { completions: 3, parallelism: 2, backoffLimit: 1 },
    { startTime: iso(start - 300_000), failed: 1 },
  )
  const { controller, control, events, key } = setup(job, [
    makePod('a', { phase: 'Failed', exitCode: 2 }),
    makePod('b', { phase: 'Running' }),
  ])
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['b'])
  assert.deepEqual(
    control.patched.map((p) => p.name).sort(),
    ['a', 'b'],
    'finalizers go once the deletion is issued; the pod counts as failed',
  )
  assert.deepEqual(conditionsOf(control.status), [['FailureTarget', 'True', 'BackoffLimitExceeded']])
  assert.equal(control.status.failed, 3)
  assert.equal(control.status.terminating, 1, 'the deleted pod is terminating')
  assert.deepEqual(
    events.filter((e) => e.includes('Delete')),
    ['Normal SuccessfulDelete Deleted pod: b'],
  )

  // The deleted pod is gone: the Job has failed.
  const after = makeJob(job.spec, control.status)
  const again = setup(after, [makePod('a', { phase: 'Failed', finalizer: false })])
  await again.controller.reconcile(again.key)
  assert.deepEqual(conditionsOf(again.control.status), [
    ['FailureTarget', 'True', 'BackoffLimitExceeded'],
    ['Failed', 'True', 'BackoffLimitExceeded'],
  ])
  assert.deepEqual(again.events, ['Warning BackoffLimitExceeded Job has reached the specified backoff limit'])
  assert.equal(again.control.status.completionTime, undefined)
  assert.equal(again.control.status.failed, 3)
})

const backoffCases = [
  { name: 'one failure 5 s ago waits 5 s more', failures: 1, agoMs: 5_000, wantWait: 5_000 },
  { name: 'one failure 10 s ago creates the replacement', failures: 1, agoMs: 10_000, wantWait: 0 },
  { name: 'three failures wait 40 s from the last', failures: 3, agoMs: 1_000, wantWait: 39_000 },
]
for (const c of backoffCases) {
  test(`back-off: ${c.name}`, async () => {
    const job = makeJob(
      { completions: 1, parallelism: 1 },
      { startTime: iso(start - 600_000), failed: c.failures },
    )
    const pods = Array.from({ length: c.failures }, (_, i) =>
      makePod(`f${i}`, {
        phase: 'Failed',
        finalizer: false,
        finishedAt: start - c.agoMs - (c.failures - 1 - i) * 1000,
      }),
    )
    const { controller, control, key } = setup(job, pods)
    const next = await controller.reconcile(key)
    if (c.wantWait === 0) {
      assert.equal(control.created.length, 1)
    } else {
      assert.equal(control.created.length, 0)
      assert.deepEqual(next, { afterMs: c.wantWait })
    }
  })
}

test('backoffDelayMs doubles from 10 s and stops at 10 minutes, as upstream', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 30].map(backoffDelayMs),
    [10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000],
  )
})

test('podFailurePolicy FailJob on an exit code fails the Job at once, whatever the backoffLimit', async () => {
  const job = makeJob({
    completions: 2,
    parallelism: 2,
    backoffLimit: 6,
    podReplacementPolicy: 'Failed',
    podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }] },
  })
  const { controller, control, key } = setup(job, [
    makePod('a', { phase: 'Failed', exitCode: 42 }),
    makePod('b'),
  ])
  await controller.reconcile(key)
  const target = control.status.conditions?.find((c) => c.type === 'FailureTarget')
  assert.equal(target?.reason, 'PodFailurePolicy')
  assert.equal(
    target?.message,
    'Container main for pod default/a failed with exit code 42 matching FailJob rule at index 0',
  )
  assert.deepEqual(control.deleted, ['b'])
})

test('podFailurePolicy Ignore: the failure counts for nothing, the finalizer goes and the pod is replaced', async () => {
  const job = makeJob({
    backoffLimit: 0,
    podFailurePolicy: {
      rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
    },
  })
  const { controller, control, key } = setup(job, [
    makePod('a', { phase: 'Failed', conditions: [{ type: 'DisruptionTarget', status: 'True' }] }),
  ])
  await controller.reconcile(key)
  assert.deepEqual(control.patched, [{ name: 'a', patch: removeFinalizerPatch() }])
  assert.equal(control.status.failed, undefined)
  assert.equal(control.created.length, 1)
  assert.deepEqual(conditionsOf(control.status), [])
})

test('backoffLimitPerIndex: an index failing beyond its limit is failed; the others go on; the replacement carries the count', async () => {
  const job = makeJob({
    completionMode: 'Indexed',
    completions: 3,
    parallelism: 3,
    backoffLimit: 2147483647,
    backoffLimitPerIndex: 1,
  })
  const { controller, control, key } = setup(job, [
    makePod('pi-0-b', { phase: 'Failed', index: 0, failures: 1, finishedAt: start - 60_000 }),
    makePod('pi-1-a', { phase: 'Failed', index: 1, failures: 0, finishedAt: start - 60_000 }),
    makePod('pi-2-a', { index: 2 }),
  ])
  await controller.reconcile(key)
  const s = control.status
  assert.equal(s.failedIndexes, '0')
  assert.equal(s.failed, 2)
  assert.deepEqual(
    control.created.map((p) => [
      p.metadata?.generateName,
      p.metadata?.annotations?.['batch.kubernetes.io/job-index-failure-count'],
    ]),
    [['pi-1-', '1']],
    'index 0 failed for good; index 1 failed once (within its limit, after 10 s of back-off)',
  )
})

test('podFailurePolicy FailIndex fails the index at once; past maxFailedIndexes the Job fails', async () => {
  const job = makeJob({
    completionMode: 'Indexed',
    completions: 4,
    parallelism: 2,
    backoffLimitPerIndex: 3,
    maxFailedIndexes: 0,
    podReplacementPolicy: 'Failed',
    podFailurePolicy: { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [3] } }] },
  })
  const { controller, control, key } = setup(job, [
    makePod('pi-0-a', { phase: 'Failed', index: 0, exitCode: 3 }),
  ])
  await controller.reconcile(key)
  assert.equal(control.status.failedIndexes, '0')
  assert.deepEqual(conditionsOf(control.status), [
    ['FailureTarget', 'True', 'MaxFailedIndexesExceeded'],
    ['Failed', 'True', 'MaxFailedIndexesExceeded'],
  ])
  assert.equal(control.created.length, 0)
})

test('with every index finished and some failed, the Job fails with FailedIndexes', async () => {
  const job = makeJob(
    { completionMode: 'Indexed', completions: 2, parallelism: 2, backoffLimitPerIndex: 0 },
    { completedIndexes: '1', succeeded: 1, failedIndexes: '' },
  )
  const { controller, control, key } = setup(job, [makePod('pi-0-a', { phase: 'Failed', index: 0 })])
  await controller.reconcile(key)
  assert.equal(control.status.conditions?.at(-1)?.reason, 'FailedIndexes')
  assert.equal(control.status.conditions?.at(-1)?.message, 'Job has failed indexes')
})

test('suspending deletes the running pods without counting them; resuming resets startTime', async () => {
  const job = makeJob({ completions: 2, parallelism: 2, suspend: true }, { startTime: iso(start - 600_000) })
  const { controller, control, events, key } = setup(job, [makePod('a'), makePod('b')])
  await controller.reconcile(key)
  assert.deepEqual(control.deleted.sort(), ['a', 'b'])
  assert.equal(control.patched.length, 2, 'finalizers removed first')
  assert.deepEqual(conditionsOf(control.status), [['Suspended', 'True', 'JobSuspended']])
  assert.ok(events.includes('Normal Suspended Job suspended'))
  assert.equal(control.status.failed, undefined)

  const resumed = makeJob({ completions: 2, parallelism: 2, suspend: false }, control.status)
  const clock = new FakeClock(start + 60_000)
  const r = setup(resumed, [], clock)
  await r.controller.reconcile(r.key)
  assert.deepEqual(conditionsOf(r.control.status), [['Suspended', 'False', 'JobResumed']])
  assert.equal(r.control.status.startTime, iso(start + 60_000))
  assert.deepEqual(r.events.slice(0, 1), ['Normal Resumed Job resumed'])
  assert.equal(r.control.created.length, 2)
})

test('a Job created suspended has no startTime and no pods', async () => {
  const { controller, control, key } = setup(makeJob({ suspend: true }))
  await controller.reconcile(key)
  assert.equal(control.status.startTime, undefined)
  assert.equal(control.created.length, 0)
})

test('activeDeadlineSeconds: looked at again when it will pass; past it the Job fails with DeadlineExceeded', async () => {
  const job = makeJob({ activeDeadlineSeconds: 100 }, { startTime: iso(start - 40_000) })
  const early = setup(job, [makePod('a')])
  assert.deepEqual(await early.controller.reconcile(early.key), { afterMs: 60_000 })
  const late = setup(makeJob({ activeDeadlineSeconds: 100 }, { startTime: iso(start - 100_000) }), [
    makePod('a'),
  ])
  await late.controller.reconcile(late.key)
  assert.deepEqual(conditionsOf(late.control.status), [['FailureTarget', 'True', 'DeadlineExceeded']])
  assert.deepEqual(late.control.deleted, ['a'])
})

test('successPolicy: the named indexes succeeding meet the success criteria, and the rest are deleted', async () => {
  const job = makeJob({
    completionMode: 'Indexed',
    completions: 3,
    parallelism: 3,
    successPolicy: { rules: [{ succeededIndexes: '0' }] },
  })
  const { controller, control, key } = setup(job, [
    makePod('pi-0-a', { phase: 'Succeeded', index: 0 }),
    makePod('pi-1-a', { index: 1 }),
  ])
  await controller.reconcile(key)
  const met = control.status.conditions?.find((c) => c.type === 'SuccessCriteriaMet')
  assert.deepEqual([met?.reason, met?.message], ['SuccessPolicy', 'Matched rules at index 0'])
  assert.deepEqual(control.deleted, ['pi-1-a'])
  assert.equal(control.created.length, 0)
})

test('a NonIndexed Job without completions stops creating after the first success and completes when the rest end', async () => {
  assert.equal(wantActive({ completions: undefined, parallelism: 3, succeeded: 1, active: 2 }), 2)
  assert.equal(wantActive({ completions: undefined, parallelism: 3, succeeded: 0, active: 1 }), 3)
  assert.equal(wantActive({ completions: 5, parallelism: 3, succeeded: 4, active: 1 }), 1)
})

test('with too many pods the not-ready one goes, losing its finalizer first', async () => {
  const job = makeJob({ completions: 1, parallelism: 1 })
  const { controller, control, key } = setup(job, [makePod('a', { ready: true }), makePod('b')])
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['b'], 'the not-ready pod goes')
  assert.deepEqual(control.patched, [{ name: 'b', patch: removeFinalizerPatch() }])
  assert.equal(control.status.ready, 1)
})

test('a pod with the finalizer whose Job is gone (or another of that name) loses the finalizer', async () => {
  const orphan = makePod('left')
  const replaced = makeJob()
  replaced.metadata = { ...replaced.metadata, uid: 'another-uid' }
  const { controller, control } = setup(replaced, [orphan])
  await controller.reconcile(orphanPodKey(orphan))
  assert.deepEqual(control.patched, [{ name: 'left', patch: removeFinalizerPatch() }])
})

test('a pod of a Job still running keeps its finalizer when looked at as an orphan', async () => {
  const pod = makePod('mine')
  const { controller, control } = setup(makeJob(), [pod])
  await controller.reconcile(orphanPodKey(pod))
  assert.deepEqual(control.patched, [])
})

const intervalCases = [
  { name: 'nothing', set: [], text: '' },
  { name: 'one', set: [4], text: '4' },
  { name: 'two in a row stay apart', set: [1, 2], text: '1,2' },
  { name: 'three or more make a range', set: [0, 1, 2, 5, 7, 8, 9, 10], text: '0-2,5,7-10' },
]
for (const c of intervalCases) {
  test(`index intervals: ${c.name}`, () => {
    assert.equal(formatIndexes(c.set), c.text)
    assert.deepEqual(
      [...parseIndexes(c.text)].sort((a, b) => a - b),
      c.set,
    )
  })
}

test('an interval list that is not one is refused clearly', () => {
  assert.throws(() => parseIndexes('1,x'), /"x" is not an index or range/)
  assert.throws(() => parseIndexes('5-2'), /ends before it starts/)
})

const policyCases = [
  {
    name: 'NotIn matches an exit code outside the list',
    rule: { action: 'Count', onExitCodes: { operator: 'NotIn', values: [1] } },
    pod: makePod('p', { phase: 'Failed', exitCode: 2 }),
    want: 'Count',
  },
  {
    name: 'a rule naming another container does not match',
    rule: { action: 'FailJob', onExitCodes: { containerName: 'side', operator: 'In', values: [2] } },
    pod: makePod('p', { phase: 'Failed', exitCode: 2 }),
    want: undefined,
  },
  {
    name: 'a condition with the wrong status does not match',
    rule: { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    pod: makePod('p', { phase: 'Failed', conditions: [{ type: 'DisruptionTarget', status: 'False' }] }),
    want: undefined,
  },
]
for (const c of policyCases) {
  test(`podFailurePolicy: ${c.name}`, () => {
    assert.equal(matchPodFailurePolicy({ rules: [c.rule] }, c.pod)?.action, c.want)
  })
}

test('podFailurePolicy names the app container before an init container that matches too', () => {
  const pod = makePod('p', { phase: 'Failed', exitCode: 3 })
  const failed = { name: 'setup', state: { terminated: { exitCode: 3 } } }
  pod.status = { ...pod.status, initContainerStatuses: [failed as never] }
  const match = matchPodFailurePolicy(
    { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [3] } }] },
    pod,
  )
  assert.equal(
    match?.message,
    'Container main for pod default/p failed with exit code 3 matching FailJob rule at index 0',
  )
})

test('podFailurePolicy names the first of the pod’s conditions that a pattern matches', () => {
  const pod = makePod('p', {
    phase: 'Failed',
    conditions: [
      { type: 'DisruptionTarget', status: 'True' },
      { type: 'ConfigIssue', status: 'True' },
    ],
  })
  const match = matchPodFailurePolicy(
    {
      rules: [
        {
          action: 'FailJob',
          onPodConditions: [
            { type: 'ConfigIssue', status: 'True' },
            { type: 'DisruptionTarget', status: 'True' },
          ],
        },
      ],
    },
    pod,
  )
  assert.equal(
    match?.message,
    'Pod default/p has condition DisruptionTarget matching FailJob rule at index 0',
  )
})

test('an Indexed Job without backoffLimitPerIndex fails on its backoffLimit, counting failures of every index; Count rules count', async () => {
  const job = makeJob({
    completionMode: 'Indexed',
    completions: 3,
    parallelism: 3,
    backoffLimit: 1,
    podReplacementPolicy: 'Failed',
    podFailurePolicy: {
      rules: [
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        { action: 'Count', onExitCodes: { operator: 'In', values: [7] } },
      ],
    },
  })
  const ignored = makePod('pi-0-a', {
    phase: 'Failed',
    index: 0,
    exitCode: 7,
    conditions: [{ type: 'DisruptionTarget', status: 'True' }],
  })
  const once = setup(job, [
    ignored,
    makePod('pi-1-a', { phase: 'Failed', index: 1, exitCode: 7 }),
    makePod('pi-2-a', { index: 2 }),
  ])
  await once.controller.reconcile(once.key)
  assert.equal(once.control.status.failed, 1, 'the disrupted pod is ignored, the exit code 7 counted')
  assert.deepEqual(conditionsOf(once.control.status), [])

  const twice = setup(job, [
    makePod('pi-0-b', { phase: 'Failed', index: 0, exitCode: 7 }),
    makePod('pi-1-a', { phase: 'Failed', index: 1, exitCode: 7 }),
    makePod('pi-2-a', { index: 2 }),
  ])
  await twice.controller.reconcile(twice.key)
  assert.deepEqual(conditionsOf(twice.control.status)[0], ['FailureTarget', 'True', 'BackoffLimitExceeded'])
  assert.equal(twice.control.status.conditions?.[0]?.message, 'Job has reached the specified backoff limit')
  assert.deepEqual(twice.control.deleted, ['pi-2-a'])
})

test('pod events sync their Job once, a second after the first of a burst; a spec change syncs it at once', () => {
  const job = makeJob()
  const clock = new FakeClock(start)
  const { controller } = setup(job, [], clock)
  const pods = controller.podHandler()
  const jobs = controller.jobHandler()
  const pod = makePod('a')
  pods.add?.(pod, false)
  clock.advance(500)
  pods.update?.(pod, { ...pod, metadata: { ...pod.metadata, resourceVersion: '4' } })
  pods.delete?.(pod, false)
  assert.equal(controller.queue.length, 0, 'nothing yet')
  clock.advance(499)
  assert.equal(controller.queue.length, 0, 'still batching')
  clock.advance(1)
  assert.equal(controller.queue.length, 1, 'the burst is one sync, 1 s after its first event')

  const other = setup(job, [], new FakeClock(start))
  other.controller.jobHandler().update?.(job, { ...job, status: { active: 1 } })
  assert.equal(other.controller.queue.length, 0, 'a status write is batched like pod events')
  other.clock.advance(1000)
  assert.equal(other.controller.queue.length, 1)

  const changed = { ...job, metadata: { ...job.metadata, generation: 2 } }
  const third = setup(job, [], new FakeClock(start))
  third.controller.jobHandler().update?.(job, changed)
  assert.equal(third.controller.queue.length, 1, 'a new generation is synced at once')
  jobs.add?.(job, false)
  assert.equal(controller.queue.length, 1, 'a new Job is queued at once (and collapses with the waiting key)')
})
