import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Pod } from '../../src/api/generated/types/core-v1.ts'
import { realClock } from '../../src/base/clock.ts'
import { builtin, isNotFound, loadKubeconfig, ResourceClient, RestClient } from '../../src/client/index.ts'
import { ApiPodStatusWriter, PodWorkers, runPodSource } from '../../src/kubelet/pod/index.ts'
import { FakeRuntime } from '../../src/kubelet/runtime/fake/fake-runtime.ts'
import { startTestApiServer, testLog, type TestApiServer } from '../support/cluster.ts'
import { until } from '../support/until.ts'

/** Pod workers on the fake runtime, fed by a pod informer and writing status to a real apiserver (no node side, no scheduler). */
describe('kubelet pod lifecycle against an apiserver', () => {
  let c: TestApiServer
  let pods: ResourceClient<Pod>
  let workers: PodWorkers
  let source: Promise<void>
  const stopSource = new AbortController()

  before(async () => {
    c = await startTestApiServer()
    const rest = new RestClient({ ...loadKubeconfig(c.server.adminKubeconfig), userAgent: 'k8ts-test/0.1' })
    pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    const runtime = new FakeRuntime({ runtimeName: 'containerd' })
    workers = new PodWorkers({
      runtime,
      clock: realClock,
      statusWriter: new ApiPodStatusWriter(pods),
      hostIPs: ['127.0.0.1'],
      log: testLog,
    })
    await workers.start()
    source = runPodSource(
      { rest, nodeName: 'node-1', workers, clock: realClock, log: testLog },
      stopSource.signal,
    )
  })

  after(async () => {
    stopSource.abort()
    await source.catch(() => {})
    workers.stop()
    await workers.idle()
    await c.stop()
  })

  const pod = (name: string, restartPolicy: string, command: string[]): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      restartPolicy,
      terminationGracePeriodSeconds: 5,
      containers: [{ name: 'app', image: 'busybox:1.36', command }],
    },
  })

  test('a restartPolicy Never pod running true completes: Succeeded, Completed', async () => {
    await pods.create(pod('done', 'Never', ['true']))
    const done = await until(
      async () => {
        const p = await pods.get('default', 'done')
        const sandboxGone = p.status?.conditions?.some(
          (x) => x.type === 'PodReadyToStartContainers' && x.status === 'False',
        )
        return p.status?.phase === 'Succeeded' && sandboxGone && p
      },
      10_000,
      'the pod to succeed and its sandbox to stop',
    )
    const app = done.status?.containerStatuses?.[0]
    assert.equal(app?.state?.terminated?.reason, 'Completed')
    assert.match(app?.containerID ?? '', /^containerd:\/\//)
    assert.equal(done.status?.qosClass, 'BestEffort')
    assert.equal(done.status?.hostIP, '127.0.0.1')
    assert.deepEqual(
      done.status?.conditions?.map((x) => [x.type, x.status, x.reason ?? '']),
      [
        ['PodReadyToStartContainers', 'False', ''],
        ['Initialized', 'True', ''],
        ['Ready', 'False', 'PodCompleted'],
        ['ContainersReady', 'False', 'PodCompleted'],
      ],
    )
  })

  test('a running pod, deleted gracefully, is stopped and then removed from the API', async () => {
    await pods.create(pod('web', 'Always', ['sleep', '3600']))
    const running = await until(
      async () => {
        const p = await pods.get('default', 'web')
        return p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') && p
      },
      10_000,
      'the pod to be Ready',
    )
    assert.equal(running.status?.phase, 'Running')
    assert.match(running.status?.podIP ?? '', /^10\.88\./)
    await pods.delete('default', 'web')
    await until(
      async () => {
        try {
          await pods.get('default', 'web')
          return false
        } catch (err) {
          return isNotFound(err)
        }
      },
      10_000,
      'the kubelet to delete the pod',
    )
    await until(
      () => workers.state(running.metadata?.uid ?? '') === undefined,
      5000,
      'the worker to forget the pod',
    )
  })

  test('a status write for another pod of the same name (other uid) changes nothing', async () => {
    const created = await pods.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'other', namespace: 'default' },
      spec: { nodeName: 'node-2', containers: [{ name: 'app', image: 'busybox:1.36' }] },
    })
    const writer = new ApiPodStatusWriter(pods)
    // Refused (the apiserver answers 422: metadata.uid is immutable), so nothing lands on the wrong pod.
    await assert.rejects(
      writer.patchStatus({ namespace: 'default', name: 'other', uid: 'not-this-one' }, { phase: 'Failed' }),
    )
    const after = await pods.get('default', 'other')
    assert.equal(after.metadata?.uid, created.metadata?.uid)
    assert.equal(after.status?.phase, 'Pending')
  })
})
