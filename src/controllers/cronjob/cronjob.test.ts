import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CronJob, CronJobSpec, CronJobStatus, Job } from '../../api/generated/types/batch-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiStatusError, IndexedCache, Lister, objectKey } from '../../client/index.ts'
import { CronJobController, type CronJobControl } from './cronjob.ts'

const created = Date.parse('2026-01-01T12:00:00Z')
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
const minute = 60_000
/** Names of the Jobs of 12:10 and 12:15 (minutes since the epoch). */
const at1210 = `tick-${(created + 10 * minute) / minute}`
const at1215 = `tick-${(created + 15 * minute) / minute}`

function makeCronJob(spec: Partial<CronJobSpec> = {}, status: CronJobStatus = {}): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      name: 'tick',
      namespace: 'default',
      uid: 'cj-uid',
      resourceVersion: '4',
      creationTimestamp: iso(created),
    },
    spec: {
      schedule: '*/5 * * * *',
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { app: 'tick' }, annotations: { note: 'n' } },
        spec: {
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
        },
      },
      ...spec,
    },
    status,
  }
}

function childJob(
  name: string,
  o: { finished?: 'Complete' | 'Failed'; startedMin?: number; completedMin?: number } = {},
): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      resourceVersion: '9',
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'CronJob', name: 'tick', uid: 'cj-uid', controller: true },
      ],
    },
    spec: { template: {} },
    status: {
      ...(o.startedMin !== undefined ? { startTime: iso(created + o.startedMin * minute) } : {}),
      ...(o.completedMin !== undefined ? { completionTime: iso(created + o.completedMin * minute) } : {}),
      ...(o.finished ? { conditions: [{ type: o.finished, status: 'True' }] } : {}),
    },
  }
}

const ref = (name: string) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  name,
  namespace: 'default',
  uid: `${name}-uid`,
})

/** Records every write; jobs it knows answer get, others are 404. */
class FakeControl implements CronJobControl {
  created: Job[] = []
  deleted: string[] = []
  statuses: CronJobStatus[] = []
  existing = new Map<string, Job>()
  cronJob: CronJob = makeCronJob()

  async createJob(_ns: string, job: Job): Promise<Job> {
    const name = job.metadata?.name ?? ''
    if (this.existing.has(name))
      throw new ApiStatusError(
        { code: 409, reason: 'AlreadyExists', message: `jobs.batch "${name}" already exists` },
        409,
      )
    const made = { ...job, metadata: { ...job.metadata, uid: `${name}-uid`, resourceVersion: '11' } }
    this.created.push(made)
    return made
  }
  async getJob(_ns: string, name: string): Promise<Job> {
    const j = this.existing.get(name)
    if (!j)
      throw new ApiStatusError(
        { code: 404, reason: 'NotFound', message: `jobs.batch "${name}" not found` },
        404,
      )
    return j
  }
  async deleteJob(_ns: string, name: string): Promise<void> {
    this.deleted.push(name)
  }
  async getCronJob(): Promise<CronJob> {
    return this.cronJob
  }
  async updateStatus(cj: CronJob): Promise<CronJob> {
    this.statuses.push(structuredClone(cj.status ?? {}))
    return cj
  }
}

function setup(cj: CronJob, jobs: Job[], nowMs: number) {
  const cronJobs = new IndexedCache<CronJob>()
  cronJobs.set(cj)
  const control = new FakeControl()
  control.cronJob = cj
  for (const j of jobs) control.existing.set(j.metadata?.name ?? '', j)
  const events: string[] = []
  const controller = new CronJobController({
    cronJobs: new Lister(cronJobs),
    jobs: new Lister(IndexedCache.of<Job>(jobs)),
    control,
    recorder: { event: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`) },
    clock: new FakeClock(nowMs),
  })
  return { controller, control, events, key: objectKey(cj) }
}

test('at its scheduled time a Job named after the time in minutes is created from the template, and the CronJob waits for the next', async () => {
  const now = created + 5 * minute + 30_000
  const { controller, control, events, key } = setup(makeCronJob(), [], now)
  const next = await controller.reconcile(key)
  const scheduled = created + 5 * minute
  const name = `tick-${scheduled / minute}`
  assert.equal(control.created.length, 1)
  const job = control.created[0] as Job
  assert.equal(job.metadata?.name, name)
  assert.deepEqual(job.metadata?.labels, { app: 'tick' })
  assert.deepEqual(job.metadata?.annotations, {
    note: 'n',
    'batch.kubernetes.io/cronjob-scheduled-timestamp': '2026-01-01T12:05:00Z',
  })
  assert.deepEqual(job.metadata?.ownerReferences, [
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      name: 'tick',
      uid: 'cj-uid',
      controller: true,
      blockOwnerDeletion: true,
    },
  ])
  assert.deepEqual(job.spec?.template.spec?.containers, [{ name: 'c', image: 'busybox' }])
  assert.deepEqual(events, [`Normal SuccessfulCreate Created job ${name}`])
  assert.deepEqual(control.statuses, [
    { active: [{ ...ref(name), resourceVersion: '11' }], lastScheduleTime: '2026-01-01T12:05:00Z' },
  ])
  assert.deepEqual(next, { afterMs: 4 * minute + 30_000 + 100 })
})

test('before its first scheduled time nothing runs, and the CronJob is looked at again just after it', async () => {
  const { controller, control, key } = setup(makeCronJob(), [], created + 3 * minute)
  assert.deepEqual(await controller.reconcile(key), { afterMs: 2 * minute + 100 })
  assert.equal(control.created.length, 0)
  assert.equal(control.statuses.length, 0)
})

const concurrencyCases = [
  {
    policy: 'Allow',
    wantCreated: 1,
    wantDeleted: [],
    wantEvent: `Normal SuccessfulCreate Created job ${at1215}`,
  },
  {
    policy: 'Forbid',
    wantCreated: 0,
    wantDeleted: [],
    wantEvent:
      'Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid',
  },
  {
    policy: 'Replace',
    wantCreated: 1,
    wantDeleted: [at1210],
    wantEvent: `Normal SuccessfulDelete Deleted job ${at1210}`,
  },
]
for (const c of concurrencyCases) {
  test(`concurrencyPolicy ${c.policy} with a Job still running at the next time`, async () => {
    const running = childJob(at1210, { startedMin: 10 })
    const cj = makeCronJob(
      { concurrencyPolicy: c.policy },
      { active: [ref(at1210)], lastScheduleTime: iso(created + 10 * minute) },
    )
    const { controller, control, events, key } = setup(cj, [running], created + 15 * minute + 1000)
    await controller.reconcile(key)
    assert.equal(control.created.length, c.wantCreated)
    assert.deepEqual(control.deleted, c.wantDeleted)
    assert.ok(events.includes(c.wantEvent), events.join('\n'))
    const active = control.statuses.at(-1)?.active?.map((r) => r.name) ?? [at1210]
    assert.deepEqual(active, { Allow: [at1210, at1215], Forbid: [at1210], Replace: [at1215] }[c.policy])
  })
}

test('a scheduled time older than startingDeadlineSeconds is not run late', async () => {
  // The controller was away: 12:05 was due and it is 12:07 with a deadline of 60 s.
  const cj = makeCronJob({ startingDeadlineSeconds: 60, schedule: '5 12 * * *' })
  const { controller, control, key } = setup(cj, [], created + 7 * minute)
  await controller.reconcile(key)
  assert.equal(control.created.length, 0)
  // Within the deadline it still runs.
  const late = setup(
    makeCronJob({ startingDeadlineSeconds: 200, schedule: '5 12 * * *' }),
    [],
    created + 7 * minute,
  )
  await late.controller.reconcile(late.key)
  assert.equal(late.control.created.length, 1)
})

test('more than 100 missed times: a warning, and only the most recent runs', async () => {
  const cj = makeCronJob({ schedule: '* * * * *' })
  const { controller, control, events, key } = setup(cj, [], created + 200 * minute + 10_000)
  await controller.reconcile(key)
  assert.ok(
    events.includes(
      'Warning TooManyMissedTimes too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew',
    ),
  )
  assert.deepEqual(
    control.created.map((j) => j.metadata?.name),
    [`tick-${(created + 200 * minute) / minute}`],
  )
})

test('a suspended CronJob runs nothing', async () => {
  const { controller, control, key } = setup(makeCronJob({ suspend: true }), [], created + 6 * minute)
  assert.equal(await controller.reconcile(key), undefined)
  assert.equal(control.created.length, 0)
})

test('finished Jobs leave the active list; the newest completion is lastSuccessfulTime; missing Jobs leave too', async () => {
  const done = childJob('tick-1', { finished: 'Complete', startedMin: 0, completedMin: 2 })
  const older = childJob('tick-0', { finished: 'Complete', startedMin: -5, completedMin: -4 })
  const cj = makeCronJob(
    { suspend: true },
    { active: [ref('tick-1'), ref('tick-gone')], lastSuccessfulTime: iso(created - 4 * minute) },
  )
  const { controller, control, events, key } = setup(cj, [done, older], created + 3 * minute)
  await controller.reconcile(key)
  assert.deepEqual(events, [
    'Normal SawCompletedJob Saw completed job: tick-1, condition: Complete',
    'Normal MissingJob Active job went missing: tick-gone',
  ])
  assert.deepEqual(control.statuses.at(-1), { lastSuccessfulTime: iso(created - 4 * minute) })
  // Next time round the finished Job is no longer active, and its completion counts.
  const next = setup(
    makeCronJob({ suspend: true }, control.statuses.at(-1)),
    [done, older],
    created + 3 * minute,
  )
  await next.controller.reconcile(next.key)
  assert.deepEqual(next.control.statuses.at(-1), { lastSuccessfulTime: iso(created + 2 * minute) })
})

test('an unfinished Job the CronJob did not list is reported as unexpected', async () => {
  const { controller, events, key } = setup(
    makeCronJob({ suspend: true }),
    [childJob('tick-manual')],
    created,
  )
  await controller.reconcile(key)
  assert.deepEqual(events, [
    'Warning UnexpectedJob Saw a job that the controller did not create or forgot: tick-manual',
  ])
})

test('finished Jobs beyond the history limits are deleted, oldest first', async () => {
  const jobs = [
    childJob('ok-1', { finished: 'Complete', startedMin: 1 }),
    childJob('ok-2', { finished: 'Complete', startedMin: 2 }),
    childJob('ok-3', { finished: 'Complete', startedMin: 3 }),
    childJob('bad-1', { finished: 'Failed', startedMin: 1 }),
    childJob('bad-2', { finished: 'Failed', startedMin: 2 }),
  ]
  const cj = makeCronJob({ suspend: true, successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 })
  const { controller, control, events, key } = setup(cj, jobs, created + 10 * minute)
  await controller.reconcile(key)
  assert.deepEqual(control.deleted, ['ok-1', 'ok-2', 'bad-1'])
  assert.ok(events.includes('Normal SuccessfulDelete Deleted job ok-1'))
})

test('timeZone: the schedule reads the zone’s clock and the annotation carries its offset', async () => {
  const cj = makeCronJob({ schedule: '0 21 * * *', timeZone: 'Asia/Tokyo' })
  // 21:00 in Tokyo is 12:00 UTC; the CronJob was made at 12:00 UTC, so the first run is a day later.
  const { controller, control, key } = setup(cj, [], created + 24 * 60 * minute + 5000)
  await controller.reconcile(key)
  assert.equal(
    control.created[0]?.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'],
    '2026-01-02T21:00:00+09:00',
  )
})

test('an unknown time zone or an unparseable schedule is reported and nothing runs', async () => {
  const tz = setup(makeCronJob({ timeZone: 'Mars/Olympus' }), [], created + 6 * minute)
  await tz.controller.reconcile(tz.key)
  assert.match(tz.events[0] ?? '', /^Warning UnknownTimeZone invalid timeZone: "Mars\/Olympus"/)
  const bad = setup(makeCronJob({ schedule: '61 * * * *' }), [], created + 6 * minute)
  assert.equal(await bad.controller.reconcile(bad.key), undefined)
  assert.match(
    bad.events[0] ?? '',
    /^Warning UnparseableSchedule unparseable schedule: "61 \* \* \* \*" : end of range/,
  )
  assert.equal(tz.control.created.length + bad.control.created.length, 0)
})

test('a Job of that time that already exists and is ours joins the active list without a second creation', async () => {
  const name = `tick-${(created + 5 * minute) / minute}`
  const existing = childJob(name)
  const { controller, control, events, key } = setup(makeCronJob(), [], created + 5 * minute + 1000)
  control.existing.set(name, existing)
  await controller.reconcile(key)
  assert.equal(control.created.length, 0)
  assert.deepEqual(events, [])
  assert.deepEqual(
    control.statuses.at(-1)?.active?.map((r) => r.name),
    [name],
  )
})

test('Replace that cannot delete the running Job creates nothing and says why', async () => {
  const running = childJob(at1210, { startedMin: 10 })
  const cj = makeCronJob(
    { concurrencyPolicy: 'Replace' },
    { active: [ref(at1210)], lastScheduleTime: iso(created + 10 * minute) },
  )
  const { controller, control, events, key } = setup(cj, [running], created + 15 * minute + 1000)
  control.deleteJob = async () => {
    throw new ApiStatusError({ code: 500, reason: 'InternalError', message: 'etcd is down' }, 500)
  }
  // An error: the key is retried with back-off.
  await assert.rejects(controller.reconcile(key), /could not replace job default\/tick-\d+/)
  assert.equal(control.created.length, 0)
  assert.ok(events.includes('Warning FailedDelete Deleted job: etcd is down'), events.join('\n'))
})
