import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Job, JobSpec } from '../../src/api/generated/types/batch-v1.ts'
import type { Event, Pod, PodCondition } from '../../src/api/generated/types/core-v1.ts'
import type { ResourceClient } from '../../src/client/index.ts'
import { ApiStatusError, Informer, isConflict, isNotFound } from '../../src/client/index.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/**
 * The Job controller on an in-process apiserver and controller-manager. No kubelet runs here:
 * the test writes pod status through the API as a kubelet would (phase, a terminated container
 * with its exit code, conditions), and fails the pods the controller deletes, as a kubelet
 * stopping them would.
 */

const ns = 'batch-work'
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

const job = (name: string, spec: Partial<JobSpec>): Job => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: ns },
  spec: {
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } },
    ...spec,
  },
})

describe('the job controller', () => {
  let cp: TestControlPlane
  let jobs: ResourceClient<Job>
  let pods: ResourceClient<Pod>
  let events: ResourceClient<Event>
  let podInformer: Informer<Pod>
  const ac = new AbortController()
  let informerRun: Promise<void>

  /** The kubelet's part: a pod being deleted stops and fails. */
  const stopDeleted = (pod: Readonly<Pod>) => {
    if (!pod.metadata?.deletionTimestamp) return
    if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') return
    finish(pod, { phase: 'Failed', exitCode: 137 }).catch(() => undefined)
  }

  /**
   * Writes a terminated status as a kubelet would, and waits until this test's informer has seen
   * it: the apiserver may answer the write before the watch event reaches the informer, and the
   * test then reads the informer.
   */
  async function finish(
    pod: Readonly<Pod>,
    o: { phase: 'Succeeded' | 'Failed'; exitCode: number; conditions?: PodCondition[] },
  ): Promise<void> {
    for (;;) {
      const fresh = await pods.get(ns, pod.metadata?.name ?? '')
      try {
        const written = await pods.updateStatus({
          ...fresh,
          status: {
            ...fresh.status,
            phase: o.phase,
            conditions: [...(fresh.status?.conditions ?? []), ...(o.conditions ?? [])],
            containerStatuses: [
              {
                name: 'main',
                image: 'busybox',
                imageID: '',
                ready: false,
                restartCount: 0,
                state: { terminated: { exitCode: o.exitCode, startedAt: now(), finishedAt: now() } },
              },
            ],
          },
        })
        const rv = Number(written.metadata?.resourceVersion)
        await until(
          () => {
            const seen = podInformer.lister.get(ns, written.metadata?.name ?? '')
            return !seen || Number(seen.metadata?.resourceVersion) >= rv
          },
          10_000,
          `the informer to see ${written.metadata?.name ?? ''} ${o.phase}`,
        )
        return
      } catch (err) {
        if (isNotFound(err)) return
        if (!isConflict(err)) throw err
      }
    }
  }

  const podsOf = (name: string) =>
    podInformer.lister.list(ns).filter((p) => p.metadata?.labels?.['batch.kubernetes.io/job-name'] === name)
  const running = (name: string) =>
    podsOf(name).filter(
      (p) =>
        !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
    )
  const runningIndex = (name: string, index: number) =>
    until(
      () =>
        running(name).find(
          (p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] === String(index),
        ),
      20_000,
      `a running pod of ${name} for index ${index}`,
    )
  const condition = (j: Job, type: string) =>
    j.status?.conditions?.find((c) => c.type === type && c.status === 'True')
  const finished = (name: string) =>
    until(
      async () => {
        const j = await jobs.get(ns, name)
        return condition(j, 'Complete') || condition(j, 'Failed') ? j : undefined
      },
      30_000,
      `${name} to finish`,
    )
  const reasonsOf = async (name: string) =>
    (await events.list(ns)).items
      .filter((e) => e.involvedObject.name === name && e.involvedObject.kind === 'Job')
      .map((e) => e.reason)

  before(async () => {
    cp = await startTestControlPlane({
      readyPods: false,
      leaderElect: false,
      controllers: ['job', 'ttl-after-finished', 'garbagecollector'],
      namespaces: [ns],
    })
    jobs = cp.client('batch', 'v1', 'jobs')
    pods = cp.client('', 'v1', 'pods')
    events = cp.client('', 'v1', 'events')
    podInformer = new Informer(pods)
    podInformer.addHandler({ add: stopDeleted, update: (_o, p) => stopDeleted(p) })
    informerRun = podInformer.run(ac.signal)
    await podInformer.waitForSync()
  })
  after(async () => {
    ac.abort()
    await informerRun
    await cp.stop()
  })

  test('a NonIndexed Job runs parallelism pods until completions succeed, then is Complete and its pods lose their finalizer', async () => {
    await jobs.create(job('pi', { completions: 3, parallelism: 2 }))
    let done = 0
    while (done < 3) {
      const pod = await until(() => running('pi')[0], 20_000, 'a running pod of pi')
      assert.ok(running('pi').length <= 2, 'never more than parallelism')
      assert.deepEqual(pod.metadata?.finalizers, ['batch.kubernetes.io/job-tracking'])
      await finish(pod, { phase: 'Succeeded', exitCode: 0 })
      done++
      await until(
        () => !running('pi').some((p) => p.metadata?.uid === pod.metadata?.uid),
        10_000,
        'the pod to finish',
      )
    }
    const j = await finished('pi')
    assert.deepEqual(
      j.status?.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['SuccessCriteriaMet', 'True', 'CompletionsReached'],
        ['Complete', 'True', 'CompletionsReached'],
      ],
    )
    assert.equal(j.status?.succeeded, 3)
    assert.equal(j.status?.active, undefined)
    assert.ok(j.status?.completionTime)
    assert.deepEqual(j.status?.uncountedTerminatedPods, {})
    await until(
      () => podsOf('pi').every((p) => (p.metadata?.finalizers ?? []).length === 0),
      10_000,
      'every finalizer removed',
    )
    await until(async () => (await reasonsOf('pi')).includes('Completed'), 10_000, 'the Completed event')
    const r = await cp.api.kubectl(['get', 'job', 'pi', '-n', ns, '--no-headers'])
    assert.match(r.stdout, /^pi\s+Complete\s+3\/3\s/)
  })

  test('an Indexed Job honours backoffLimitPerIndex (with back-off), its podFailurePolicy, and fails with FailedIndexes', async () => {
    await jobs.create(
      job('indexed', {
        completionMode: 'Indexed',
        completions: 3,
        parallelism: 3,
        backoffLimitPerIndex: 1,
        maxFailedIndexes: 1,
        podFailurePolicy: {
          rules: [
            { action: 'FailIndex', onExitCodes: { operator: 'In', values: [42] } },
            { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
          ],
        },
      }),
    )
    const first = await Promise.all([0, 1, 2].map((i) => runningIndex('indexed', i)))
    const [zero, one, two] = first as [Pod, Pod, Pod]
    assert.match(zero.metadata?.name ?? '', /^indexed-0-[a-z0-9]{5}$/)
    assert.equal(zero.spec?.hostname, 'indexed-0')
    assert.equal(zero.spec?.containers[0]?.env?.[0]?.name, 'JOB_COMPLETION_INDEX')

    // Index 0 fails with 42: FailIndex, no replacement.
    await finish(zero, { phase: 'Failed', exitCode: 42 })
    // Index 1 is disrupted: ignored, replaced at once with the ignored failure counted.
    await finish(one, {
      phase: 'Failed',
      exitCode: 137,
      conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI' }],
    })
    const oneAgain = await runningIndex('indexed', 1)
    assert.equal(oneAgain.metadata?.annotations?.['batch.kubernetes.io/job-index-ignored-failure-count'], '1')
    assert.equal(oneAgain.metadata?.annotations?.['batch.kubernetes.io/job-index-failure-count'], '0')
    // Index 2 fails once (within its limit of 1): replaced after the 10 s back-off.
    const failedAt = Date.now()
    await finish(two, { phase: 'Failed', exitCode: 1 })
    const twoAgain = await runningIndex('indexed', 2)
    assert.ok(Date.now() - failedAt >= 9_000, `replaced after the back-off (${Date.now() - failedAt} ms)`)
    assert.equal(twoAgain.metadata?.annotations?.['batch.kubernetes.io/job-index-failure-count'], '1')

    const mid = await jobs.get(ns, 'indexed')
    assert.equal(mid.status?.failedIndexes, '0')
    assert.equal(mid.status?.failed, 2, 'the ignored failure is not counted')

    await finish(oneAgain, { phase: 'Succeeded', exitCode: 0 })
    await finish(twoAgain, { phase: 'Succeeded', exitCode: 0 })
    const j = await finished('indexed')
    assert.deepEqual(
      j.status?.conditions?.map((c) => [c.type, c.reason]),
      [
        ['FailureTarget', 'FailedIndexes'],
        ['Failed', 'FailedIndexes'],
      ],
    )
    assert.equal(j.status?.completedIndexes, '1,2')
    assert.equal(j.status?.failedIndexes, '0')
    assert.equal(j.status?.succeeded, 2)
    await until(
      async () => (await reasonsOf('indexed')).includes('FailedIndexes'),
      10_000,
      'the FailedIndexes event',
    )
  })

  test('an Indexed Job with backoffLimitPerIndex fails once more indexes failed than maxFailedIndexes (Count on an exit code)', async () => {
    await jobs.create(
      job('too-many', {
        completionMode: 'Indexed',
        completions: 3,
        parallelism: 3,
        backoffLimitPerIndex: 0,
        maxFailedIndexes: 1,
        podFailurePolicy: { rules: [{ action: 'Count', onExitCodes: { operator: 'In', values: [1] } }] },
      }),
    )
    const [zero, one] = (await Promise.all([0, 1, 2].map((i) => runningIndex('too-many', i)))) as [Pod, Pod]
    await finish(zero, { phase: 'Failed', exitCode: 1 })
    await until(
      async () => (await jobs.get(ns, 'too-many')).status?.failedIndexes === '0',
      20_000,
      'index 0 to fail for good',
    )
    assert.equal(
      running('too-many').some(
        (p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] === '0',
      ),
      false,
      'a failed index is not replaced',
    )
    await finish(one, { phase: 'Failed', exitCode: 1 })
    const j = await finished('too-many')
    assert.deepEqual(
      j.status?.conditions?.map((c) => [c.type, c.reason, c.message]),
      [
        [
          'FailureTarget',
          'MaxFailedIndexesExceeded',
          'Job has exceeded the specified maximal number of failed indexes',
        ],
        [
          'Failed',
          'MaxFailedIndexesExceeded',
          'Job has exceeded the specified maximal number of failed indexes',
        ],
      ],
    )
    // The index stopped with the Job may be recorded as failed too (it failed, beyond its limit of 0).
    assert.ok(['0,1', '0-2'].includes(j.status?.failedIndexes ?? ''), j.status?.failedIndexes)
    assert.equal(j.status?.failed, 3, 'the index still running was stopped and counted')
  })

  test('an Indexed Job without per-index limits: Ignore on an exit code replaces at once, Count counts, FailJob on DisruptionTarget fails the Job', async () => {
    await jobs.create(
      job('disrupted', {
        completionMode: 'Indexed',
        completions: 3,
        parallelism: 3,
        backoffLimit: 5,
        podFailurePolicy: {
          rules: [
            { action: 'Ignore', onExitCodes: { operator: 'In', values: [143] } },
            { action: 'Count', onExitCodes: { operator: 'In', values: [7] } },
            { action: 'FailJob', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          ],
        },
      }),
    )
    const [zero, one, two] = (await Promise.all([0, 1, 2].map((i) => runningIndex('disrupted', i)))) as [
      Pod,
      Pod,
      Pod,
    ]
    await finish(zero, { phase: 'Failed', exitCode: 143 })
    const zeroAgain = await runningIndex('disrupted', 0)
    assert.notEqual(zeroAgain.metadata?.uid, zero.metadata?.uid)
    await finish(one, { phase: 'Failed', exitCode: 7 })
    await until(
      async () => (await jobs.get(ns, 'disrupted')).status?.failed === 1,
      20_000,
      'one counted failure',
    )
    await finish(two, {
      phase: 'Failed',
      exitCode: 137,
      conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }],
    })
    const j = await finished('disrupted')
    const failed = condition(j, 'Failed')
    assert.equal(failed?.reason, 'PodFailurePolicy')
    assert.equal(
      failed?.message,
      `Pod ${ns}/${two.metadata?.name ?? ''} has condition DisruptionTarget matching FailJob rule at index 2`,
    )
    assert.equal(j.status?.failed, 3, 'exit code 7, the disrupted pod and the stopped replacement of index 0')
  })

  test('an Indexed Job with failures of several indexes fails on its backoffLimit (Count on DisruptionTarget)', async () => {
    await jobs.create(
      job('limited', {
        completionMode: 'Indexed',
        completions: 2,
        parallelism: 2,
        backoffLimit: 1,
        podFailurePolicy: {
          rules: [{ action: 'Count', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
        },
      }),
    )
    const pods2 = (await Promise.all([0, 1].map((i) => runningIndex('limited', i)))) as [Pod, Pod]
    for (const pod of pods2)
      await finish(pod, {
        phase: 'Failed',
        exitCode: 137,
        conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI' }],
      })
    const j = await finished('limited')
    assert.deepEqual(
      j.status?.conditions?.map((c) => [c.type, c.reason, c.message]),
      [
        ['FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
        ['Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
      ],
    )
    assert.equal(j.status?.failed, 2)
    assert.equal(j.status?.completedIndexes, undefined)
  })

  test('the apiserver refuses the newer Job fields where they do not apply, one Status cause per field', async () => {
    const err = await jobs
      .create(
        job('refused', {
          backoffLimitPerIndex: 1,
          podReplacementPolicy: 'TerminatingOrFailed',
          podFailurePolicy: {
            rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [0, 2] } }],
          },
        }),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    assert.ok(err instanceof ApiStatusError, String(err))
    assert.equal(err.code, 422)
    assert.deepEqual(err.status.details?.causes, [
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: 1: requires indexed completion mode',
        field: 'spec.backoffLimitPerIndex',
      },
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: 0: must not be 0 for the In operator',
        field: 'spec.podFailurePolicy.rules[0].onExitCodes.values[0]',
      },
      {
        reason: 'FieldValueNotSupported',
        message: 'Unsupported value: "TerminatingOrFailed": supported values: "Failed"',
        field: 'spec.podReplacementPolicy',
      },
    ])
    const made = await jobs.create(job('immutable', { completions: 1, suspend: true }))
    const changed = await jobs
      .update({
        ...made,
        spec: { ...made.spec, template: made.spec?.template ?? {}, completionMode: 'Indexed' },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    assert.ok(changed instanceof ApiStatusError, String(changed))
    assert.match(changed.message, /spec.completionMode: Invalid value: "Indexed": field is immutable/)
  })

  test('podFailurePolicy FailJob fails the Job at once; the other pods are stopped and counted before Failed', async () => {
    await jobs.create(
      job('fatal', {
        completions: 4,
        parallelism: 2,
        podFailurePolicy: {
          rules: [{ action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [3] } }],
        },
      }),
    )
    await until(() => running('fatal').length === 2 && running('fatal'), 20_000, 'two pods of fatal')
    const [victim] = running('fatal') as [Pod]
    await finish(victim, { phase: 'Failed', exitCode: 3 })
    const j = await finished('fatal')
    const failed = condition(j, 'Failed')
    assert.equal(failed?.reason, 'PodFailurePolicy')
    assert.match(
      failed?.message ?? '',
      /^Container main for pod batch-work\/fatal-\w+ failed with exit code 3 matching FailJob rule at index 0$/,
    )
    assert.equal(j.status?.failed, 2, 'the stopped pod counts as failed too')
    assert.equal(j.status?.terminating, 0)
  })

  test('suspend deletes the pods, resume starts again with a new startTime; ttlSecondsAfterFinished removes the finished Job', async () => {
    await jobs.create(job('paused', { completions: 1, parallelism: 1, ttlSecondsAfterFinished: 0 }))
    await until(() => running('paused')[0], 20_000, 'a pod of paused')
    const started = (await jobs.get(ns, 'paused')).status?.startTime
    await jobs.patch(ns, 'paused', 'merge', { spec: { suspend: true } })
    await until(
      async () => {
        const j = await jobs.get(ns, 'paused')
        return podsOf('paused').length === 0 && condition(j, 'Suspended')?.reason === 'JobSuspended'
      },
      20_000,
      'paused to be suspended with no pods',
    )
    await new Promise((r) => setTimeout(r, 1100))
    await jobs.patch(ns, 'paused', 'merge', { spec: { suspend: false } })
    const pod = await until(() => running('paused')[0], 20_000, 'a new pod of paused')
    const resumed = await until(
      async () => {
        const j = await jobs.get(ns, 'paused')
        return j.status?.startTime !== started && j
      },
      10_000,
      'a new startTime',
    )
    assert.equal(resumed.status?.conditions?.find((c) => c.type === 'Suspended')?.reason, 'JobResumed')
    // The controller records its events in the background, after the status it wrote.
    await until(
      async () => {
        const reasons = await reasonsOf('paused')
        return reasons.includes('Suspended') && reasons.includes('Resumed')
      },
      10_000,
      'the Suspended and Resumed events of paused',
    )
    await finish(pod, { phase: 'Succeeded', exitCode: 0 })
    await until(
      async () => {
        try {
          await jobs.get(ns, 'paused')
          return false
        } catch (err) {
          return isNotFound(err)
        }
      },
      20_000,
      'the finished Job to be deleted by its TTL',
    )
  })
})
