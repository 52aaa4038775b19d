import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { CronJob, Job } from '../../src/api/generated/types/batch-v1.ts'
import type { Event, Pod } from '../../src/api/generated/types/core-v1.ts'
import { FakeClock } from '../../src/base/clock.ts'
import { isConflict, isNotFound, loadKubeconfig, type ResourceClient } from '../../src/client/index.ts'
import { startControllerManager, type ControllerManager } from '../../src/controllers/index.ts'
import { kubectlMissing, testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/**
 * The CronJob controller on an in-process apiserver, driven by a fake clock: it runs in a
 * controller-manager of its own whose clock only the test moves, next to one running the Job
 * controller (real time) and the garbage collector. No kubelet: the test finishes the Jobs' pods
 * by writing their status, as a kubelet would.
 */

const ns = 'cron-work'
const minute = 60_000

const cronJob = (
  name: string,
  policy: string,
  o: { successfulJobsHistoryLimit?: number; failedJobsHistoryLimit?: number; backoffLimit?: number } = {},
): CronJob => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name, namespace: ns },
  spec: {
    schedule: '* * * * *',
    concurrencyPolicy: policy,
    ...(o.successfulJobsHistoryLimit !== undefined
      ? { successfulJobsHistoryLimit: o.successfulJobsHistoryLimit }
      : {}),
    ...(o.failedJobsHistoryLimit !== undefined ? { failedJobsHistoryLimit: o.failedJobsHistoryLimit } : {}),
    jobTemplate: {
      metadata: { labels: { cron: name } },
      spec: {
        ...(o.backoffLimit !== undefined ? { backoffLimit: o.backoffLimit } : {}),
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } },
      },
    },
  },
})

describe('the cronjob controller, on a fake clock', () => {
  let cp: TestControlPlane
  let cron: ControllerManager
  let cronJobs: ResourceClient<CronJob>
  let jobs: ResourceClient<Job>
  let pods: ResourceClient<Pod>
  let events: ResourceClient<Event>
  const clock = new FakeClock(Date.now())
  /** The first scheduled minute after the CronJobs were made. */
  let firstMinute = 0

  const jobsOf = async (name: string) =>
    (await jobs.list(ns, { labelSelector: `cron=${name}` })).items
      .filter((j) => !j.metadata?.deletionTimestamp)
      .map((j) => j.metadata?.name ?? '')
      .sort()
  const jobAt = (name: string, minuteIndex: number) =>
    `${name}-${(firstMinute + minuteIndex * minute) / minute}`
  const reasonsOf = async (name: string) =>
    (await events.list(ns)).items
      .filter((e) => e.involvedObject.name === name && e.involvedObject.kind === 'CronJob')
      .map((e) => e.reason ?? '')
  /** Events are written in the background: wait for one rather than expect it already there. */
  const eventSeen = (name: string, reason: string) =>
    until(async () => (await reasonsOf(name)).includes(reason), 10_000, `the ${reason} event of ${name}`)
  /** Moves the fake clock to one second past the scheduled minute `i`. */
  const tickTo = (i: number) => clock.advance(firstMinute + i * minute + 1000 - clock.now())

  /** Succeeds (or fails) the pods of a Job, as their kubelet would. */
  async function complete(jobName: string, outcome: 'Complete' | 'Failed' = 'Complete'): Promise<void> {
    const list = await until(
      async () => {
        const items = (await pods.list(ns, { labelSelector: `batch.kubernetes.io/job-name=${jobName}` }))
          .items
        return items.length > 0 && items
      },
      20_000,
      `a pod of ${jobName}`,
    )
    for (const pod of list) {
      for (;;) {
        const fresh = await pods.get(ns, pod.metadata?.name ?? '')
        const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
        try {
          await pods.updateStatus({
            ...fresh,
            status: {
              phase: outcome === 'Complete' ? 'Succeeded' : 'Failed',
              containerStatuses: [
                {
                  name: 'main',
                  image: 'busybox',
                  imageID: '',
                  ready: false,
                  restartCount: 0,
                  state: {
                    terminated: {
                      exitCode: outcome === 'Complete' ? 0 : 1,
                      startedAt: stamp,
                      finishedAt: stamp,
                    },
                  },
                },
              ],
            },
          })
          break
        } catch (err) {
          if (isNotFound(err)) break
          if (!isConflict(err)) throw err
        }
      }
    }
    await until(
      async () =>
        (await jobs.get(ns, jobName)).status?.conditions?.some(
          (c) => c.type === outcome && c.status === 'True',
        ),
      20_000,
      `${jobName} to be ${outcome}`,
    )
  }

  before(async () => {
    cp = await startTestControlPlane({
      readyPods: false,
      leaderElect: false,
      controllers: ['job', 'garbagecollector'],
      namespaces: [ns],
    })
    cron = startControllerManager({
      client: loadKubeconfig(cp.api.server.controllerManagerKubeconfig),
      useServiceAccountCredentials: true,
      leaderElect: false,
      controllers: ['cronjob'],
      clock,
      log: testLog,
    })
    cronJobs = cp.client('batch', 'v1', 'cronjobs')
    jobs = cp.client('batch', 'v1', 'jobs')
    pods = cp.client('', 'v1', 'pods')
    events = cp.client('', 'v1', 'events')
    let latest = 0
    for (const [name, policy, limit] of [
      ['allow', 'Allow', 1],
      ['forbid', 'Forbid', undefined],
      ['replace', 'Replace', undefined],
    ] as const) {
      const made = await cronJobs.create(
        cronJob(name, policy, limit !== undefined ? { successfulJobsHistoryLimit: limit } : {}),
      )
      latest = Math.max(latest, Date.parse(made.metadata?.creationTimestamp ?? ''))
    }
    firstMinute = Math.floor(latest / minute) * minute + minute
    // Whatever the fake clock said when they were made, the first run is the minute after.
    if (clock.now() > firstMinute) throw new Error('the fake clock ran ahead of the CronJobs')
  })
  after(async () => {
    await cron.stop()
    await cp.stop()
  })

  test('at the first scheduled minute each CronJob creates its Job, named after the minute and annotated with it', async () => {
    await new Promise((r) => setTimeout(r, 500)) // the controller's caches fill
    tickTo(0)
    for (const name of ['allow', 'forbid', 'replace'])
      await until(async () => (await jobsOf(name)).length === 1, 20_000, `the first Job of ${name}`)
    const j = await jobs.get(ns, jobAt('allow', 0))
    assert.equal(
      j.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'],
      new Date(firstMinute).toISOString().replace(/\.\d+Z$/, 'Z'),
    )
    assert.equal(j.metadata?.ownerReferences?.[0]?.kind, 'CronJob')
    const cj = await until(
      async () => {
        const c = await cronJobs.get(ns, 'allow')
        return c.status?.active?.length === 1 && c
      },
      10_000,
      'allow to list its Job as active',
    )
    assert.equal(cj.status?.lastScheduleTime, new Date(firstMinute).toISOString().replace(/\.\d+Z$/, 'Z'))
    await eventSeen('allow', 'SuccessfulCreate')
  })

  test('at the next minute, with the first Jobs still running: Allow adds one, Forbid waits, Replace replaces', async () => {
    tickTo(1)
    await until(
      async () => (await jobsOf('allow')).join() === [jobAt('allow', 0), jobAt('allow', 1)].join(),
      20_000,
      'allow to run two Jobs',
    )
    await until(
      async () => (await jobsOf('replace')).join() === jobAt('replace', 1),
      20_000,
      'replace to run only its new Job',
    )
    await until(
      async () => (await reasonsOf('forbid')).includes('JobAlreadyActive'),
      20_000,
      'forbid to hold back',
    )
    assert.deepEqual(await jobsOf('forbid'), [jobAt('forbid', 0)])
    await eventSeen('replace', 'SuccessfulDelete')
    const replace = await until(
      async () => {
        const c = await cronJobs.get(ns, 'replace')
        return c.status?.active?.length === 1 && c
      },
      10_000,
      'replace to list one active Job',
    )
    assert.equal(replace.status?.active?.[0]?.name, jobAt('replace', 1))
  })

  test('once its Job completes, Forbid runs the held-back time late; finished Jobs leave the active list and beyond the history limit are deleted', async () => {
    // As upstream: the second minute stays unmet (lastScheduleTime is the first), so with no
    // startingDeadlineSeconds it runs as soon as nothing is active any more.
    await complete(jobAt('forbid', 0))
    const forbid = await until(
      async () => {
        const c = await cronJobs.get(ns, 'forbid')
        return c.status?.active?.[0]?.name === jobAt('forbid', 1) && c
      },
      20_000,
      'forbid to run its held-back Job',
    )
    assert.equal(forbid.status?.active?.length, 1)
    assert.deepEqual(await jobsOf('forbid'), [jobAt('forbid', 0), jobAt('forbid', 1)])
    await eventSeen('forbid', 'SawCompletedJob')
    tickTo(2)
    await until(
      async () => (await jobsOf('allow')).includes(jobAt('allow', 2)),
      20_000,
      'the third minute to be run (by allow)',
    )
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual(
      await jobsOf('forbid'),
      [jobAt('forbid', 0), jobAt('forbid', 1)],
      'forbid holds back again',
    )

    // allow keeps one successful Job: the older of two completed goes.
    await complete(jobAt('allow', 0))
    await complete(jobAt('allow', 1))
    await until(
      async () =>
        !(await jobsOf('allow')).includes(jobAt('allow', 0)) &&
        (await jobsOf('allow')).includes(jobAt('allow', 1)),
      20_000,
      'the oldest successful Job of allow to be deleted',
    )
    const allow = await until(
      async () => {
        const c = await cronJobs.get(ns, 'allow')
        return c.status?.lastSuccessfulTime !== undefined && c
      },
      20_000,
      'allow to record its last success',
    )
    assert.ok(allow.status?.lastSuccessfulTime)
  })

  test('failed Jobs beyond failedJobsHistoryLimit are deleted, oldest first, and leave the active list', async () => {
    await cronJobs.create(cronJob('failing', 'Allow', { failedJobsHistoryLimit: 1, backoffLimit: 0 }))
    // The fake clock is past minute 2 already: that missed time runs at once.
    await until(async () => (await jobsOf('failing')).length === 1, 20_000, 'the first Job of failing')
    assert.deepEqual(await jobsOf('failing'), [jobAt('failing', 2)])
    await complete(jobAt('failing', 2), 'Failed')
    tickTo(3)
    await until(
      async () => (await jobsOf('failing')).includes(jobAt('failing', 3)),
      20_000,
      'the second Job of failing',
    )
    await complete(jobAt('failing', 3), 'Failed')
    await until(
      async () => (await jobsOf('failing')).join() === jobAt('failing', 3),
      20_000,
      'the older failed Job to be deleted',
    )
    const cj = await until(
      async () => {
        const c = await cronJobs.get(ns, 'failing')
        return c.status?.active === undefined && c
      },
      20_000,
      'failing to list no active Job',
    )
    assert.equal(cj.status?.lastSuccessfulTime, undefined, 'no Job of it succeeded')
    await eventSeen('failing', 'SawCompletedJob')
  })

  test(
    'kubectl create job --from=cronjob makes a Job of the template, owned by the CronJob',
    { skip: kubectlMissing ?? false },
    async () => {
      const r = await cp.api.kubectl(['create', 'job', 'by-hand', '--from=cronjob/replace', '-n', ns])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /job.batch\/by-hand created/)
      const j = await jobs.get(ns, 'by-hand')
      assert.equal(j.metadata?.annotations?.['cronjob.kubernetes.io/instantiate'], 'manual')
      assert.equal(j.metadata?.ownerReferences?.[0]?.name, 'replace')
      assert.equal(j.metadata?.labels?.cron, 'replace')
      await until(
        async () =>
          (await pods.list(ns, { labelSelector: 'batch.kubernetes.io/job-name=by-hand' })).items.length === 1,
        20_000,
        'its pod',
      )
    },
  )
})
