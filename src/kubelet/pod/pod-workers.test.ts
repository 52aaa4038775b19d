import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Container, Pod, PodCondition, PodStatus } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { FakeRuntime, type FakeRuntimeOptions } from '../runtime/fake/fake-runtime.ts'
import type * as cri from '../runtime/runtime.ts'
import { admitPod } from './admission.ts'
import { PodWorkers, type PodWorkersOptions } from './pod-workers.ts'
import type { PodRef, PodStatusWriter } from './status-manager.ts'
import { deepFreeze } from '../../api/object.ts'

const uid = '6f1c2a3e-0000-4000-8000-000000000001'

/** A status writer that records instead of calling the apiserver. */
class RecordingWriter implements PodStatusWriter {
  patches: { ref: PodRef; status: PodStatus }[] = []
  deletes: PodRef[] = []
  async patchStatus(ref: PodRef, status: PodStatus): Promise<void> {
    this.patches.push({ ref, status: structuredClone(status) })
  }
  async deletePod(ref: PodRef): Promise<void> {
    this.deletes.push(ref)
  }
}

function makePod(o: {
  containers: Container[]
  initContainers?: Container[]
  restartPolicy?: string
  terminationGracePeriodSeconds?: number
}): Pod {
  // Frozen, as the informer's pods the workers are handed (shared, never changed).
  return deepFreeze({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid, labels: { app: 'web' } },
    spec: {
      nodeName: 'node-1',
      restartPolicy: o.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: o.terminationGracePeriodSeconds ?? 30,
      containers: o.containers,
      ...(o.initContainers ? { initContainers: o.initContainers } : {}),
    },
    status: {
      phase: 'Pending',
      qosClass: 'BestEffort',
      conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-12-31T23:59:00Z' }],
    },
  })
}

async function setup(options: FakeRuntimeOptions = {}, admit?: PodWorkersOptions['admit']) {
  const clock = new FakeClock()
  const runtime = new FakeRuntime({ clock, runtimeName: 'containerd', ...options })
  const writer = new RecordingWriter()
  const events: string[] = []
  const workers = new PodWorkers({
    runtime,
    clock,
    statusWriter: writer,
    events: { event: (_pod, type, reason, message) => void events.push(`${type} ${reason} ${message}`) },
    hostIPs: ['192.168.1.10'],
    ...(admit ? { admit } : {}),
  })
  await workers.start()
  /** Lets every promise chain that does not wait on the clock run to its end. */
  const flush = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
  }
  /** Moves the clock one second at a time (the PLEG relists each second). */
  const tick = async (seconds: number) => {
    for (let i = 0; i < seconds; i++) {
      clock.advance(1000)
      await flush()
    }
  }
  const status = () => {
    const s = workers.statusManager.status(uid)
    assert.ok(s, 'a status was generated')
    return s
  }
  const container = (name: string) => {
    const s = status().containerStatuses?.find((c) => c.name === name)
    assert.ok(s, `status of ${name}`)
    return s
  }
  const condition = (type: string): PodCondition | undefined =>
    status().conditions?.find((c) => c.type === type)
  const startTimes = (name: string) =>
    runtime
      .calls('createContainer')
      .filter((c) => (c.request as Proto3Container).config?.metadata?.name === name)
      .map((c) => c.atMs - clock.now())
  return { events, clock, runtime, writer, workers, flush, tick, status, container, condition, startTimes }
}

type Proto3Container = cri.Proto3Partial<cri.CreateContainerRequest>

const busybox = (name: string, command: string[], extra: Partial<Container> = {}): Container => ({
  name,
  image: 'busybox:1.36',
  command,
  ...extra,
})

describe('pod workers', () => {
  test('init containers run in order, then the app container; Running with every condition True', async () => {
    const t = await setup()
    const pod = makePod({
      initContainers: [busybox('init-1', ['sleep', '2']), busybox('init-2', ['true'])],
      containers: [
        busybox('app', ['sleep'], {
          ports: [{ containerPort: 80, hostPort: 8080 }],
          env: [
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'DURATION', value: '3600' },
          ],
          args: ['$(DURATION)'],
        }),
      ],
    })
    t.workers.updatePod(pod)
    await t.flush()

    // The sandbox: hostname, the kubelet's labels, port mappings, the BestEffort cgroup.
    const [sandbox] = t.runtime.calls('runPodSandbox')
    const config = (sandbox?.request as cri.Proto3Partial<cri.RunPodSandboxRequest>).config
    assert.equal(config?.hostname, 'web')
    assert.deepEqual(config?.metadata, { name: 'web', namespace: 'default', uid, attempt: 0 })
    assert.deepEqual(config?.labels, {
      app: 'web',
      'io.kubernetes.pod.name': 'web',
      'io.kubernetes.pod.namespace': 'default',
      'io.kubernetes.pod.uid': uid,
    })
    assert.deepEqual(config?.portMappings, [
      { protocol: 'TCP', containerPort: 80, hostPort: 8080, hostIp: '' },
    ])
    assert.equal(config?.linux?.cgroupParent, `/kubepods/besteffort/pod${uid}`)

    let s = t.status()
    assert.equal(s.phase, 'Pending')
    assert.deepEqual(
      s.initContainerStatuses?.map((c) => Object.keys(c.state ?? {})[0]),
      ['running', 'waiting'],
    )
    assert.deepEqual(t.container('app').state, { waiting: { reason: 'PodInitializing' } })
    assert.deepEqual(
      { ...t.condition('Initialized'), lastTransitionTime: undefined },
      {
        type: 'Initialized',
        status: 'False',
        reason: 'ContainersNotInitialized',
        message: 'containers with incomplete status: [init-1 init-2]',
        lastTransitionTime: undefined,
      },
    )
    assert.equal(t.condition('PodReadyToStartContainers')?.status, 'True')

    await t.tick(5)
    const created = t.runtime
      .calls('createContainer')
      .map((c) => (c.request as Proto3Container).config?.metadata?.name)
    assert.deepEqual(created, ['init-1', 'init-2', 'app'])
    const appCreate = t.runtime.calls('createContainer')[2]?.request as Proto3Container
    assert.equal(appCreate.config?.labels?.['io.kubernetes.container.name'], 'app')
    assert.equal(appCreate.config?.labels?.['io.kubernetes.pod.uid'], uid)
    assert.equal(appCreate.config?.annotations?.['io.kubernetes.container.restartCount'], '0')
    assert.deepEqual(appCreate.config?.envs, [
      { key: 'POD_IP', value: t.status().podIP },
      { key: 'DURATION', value: '3600' },
    ])
    assert.deepEqual(appCreate.config?.args, ['3600'])

    s = t.status()
    assert.equal(s.phase, 'Running')
    assert.deepEqual(
      s.conditions?.map((c) => [c.type, c.status]),
      [
        ['PodReadyToStartContainers', 'True'],
        ['Initialized', 'True'],
        ['Ready', 'True'],
        ['ContainersReady', 'True'],
        ['PodScheduled', 'True'],
      ],
    )
    assert.equal(t.condition('PodScheduled')?.lastTransitionTime, '2025-12-31T23:59:00Z')
    for (const init of s.initContainerStatuses ?? []) {
      assert.equal(init.state?.terminated?.reason, 'Completed')
      assert.equal(init.state?.terminated?.exitCode, 0)
    }
    const app = t.container('app')
    assert.ok(app.state?.running?.startedAt)
    assert.equal(app.ready, true)
    assert.equal(app.started, true)
    assert.equal(app.restartCount, 0)
    assert.match(app.containerID ?? '', /^containerd:\/\/[0-9a-f]+$/)
    assert.equal(app.image, 'docker.io/library/busybox:1.36')
    assert.ok(app.imageID)
    assert.deepEqual(app.lastState, {})
    assert.match(s.podIP ?? '', /^10\.88\./)
    assert.deepEqual(s.podIPs, [{ ip: s.podIP }])
    assert.equal(s.hostIP, '192.168.1.10')
    assert.deepEqual(s.hostIPs, [{ ip: '192.168.1.10' }])
    assert.equal(s.qosClass, 'BestEffort')
    assert.equal(s.startTime, '2026-01-01T00:00:00Z')
    assert.equal(t.writer.patches.at(-1)?.ref.uid, uid)

    assert.deepEqual(t.events.slice(0, 4), [
      'Normal Pulling Pulling image "busybox:1.36"',
      'Normal Pulled Successfully pulled image "busybox:1.36" in 0s (0s including waiting). Image size: 53000000 bytes.',
      'Normal Created Created container: init-1',
      'Normal Started Started container init-1',
    ])
    // Nothing changes: nothing is written.
    const writes = t.writer.patches.length
    await t.tick(10)
    assert.equal(t.writer.patches.length, writes)
    t.workers.stop()
  })

  test('restartPolicy Never with false: Failed, terminated with Error and exit code 1', async () => {
    const t = await setup()
    t.workers.updatePod(makePod({ restartPolicy: 'Never', containers: [busybox('app', ['false'])] }))
    await t.tick(3)
    const s = t.status()
    assert.equal(s.phase, 'Failed')
    const terminated = t.container('app').state?.terminated
    assert.equal(terminated?.reason, 'Error')
    assert.equal(terminated?.exitCode, 1)
    assert.match(terminated?.containerID ?? '', /^containerd:\/\//)
    assert.ok(terminated?.startedAt && terminated.finishedAt)
    assert.equal(t.container('app').ready, false)
    assert.equal(t.container('app').started, false)
    assert.deepEqual([t.condition('Ready')?.status, t.condition('Ready')?.reason], ['False', 'PodFailed'])
    assert.equal(t.condition('PodReadyToStartContainers')?.status, 'False')
    assert.equal(t.runtime.calls('createContainer').length, 1, 'never restarted')
    assert.equal(t.runtime.calls('stopPodSandbox').length, 1, 'the sandbox is stopped')
    assert.equal(t.workers.state(uid)?.phase, 'terminated')
    await t.tick(30)
    assert.equal(t.status().phase, 'Failed')
    t.workers.stop()
  })

  test('restartPolicy Never with true: Succeeded, terminated with Completed', async () => {
    const t = await setup()
    t.workers.updatePod(makePod({ restartPolicy: 'Never', containers: [busybox('app', ['true'])] }))
    await t.tick(3)
    assert.equal(t.status().phase, 'Succeeded')
    assert.equal(t.container('app').state?.terminated?.reason, 'Completed')
    assert.equal(t.container('app').state?.terminated?.exitCode, 0)
    assert.deepEqual([t.condition('Ready')?.status, t.condition('Ready')?.reason], ['False', 'PodCompleted'])
    t.workers.stop()
  })

  test('restartPolicy Always with a crashing container: CrashLoopBackOff of 10 s, then 20 s, then 40 s', async () => {
    const t = await setup()
    const start = t.clock.now()
    t.workers.updatePod(makePod({ containers: [busybox('app', ['false'])] }))
    await t.flush()
    assert.equal(t.container('app').state?.terminated?.reason, 'Error')
    // The PLEG sees the exit; the first restart comes at once (no back-off yet), and crashes too.
    await t.tick(1)
    let app = t.container('app')
    assert.equal(app.restartCount, 1)
    assert.deepEqual(app.state, {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off 10s restarting failed container=app pod=web_default(${uid})`,
      },
    })
    assert.equal(app.lastState?.terminated?.reason, 'Error')
    assert.equal(app.lastState?.terminated?.exitCode, 1)
    assert.ok(
      t.events.includes(
        `Warning BackOff Back-off restarting failed container app in pod web_default(${uid})`,
      ),
    )
    assert.equal(t.status().phase, 'Running')
    assert.equal(t.condition('Ready')?.status, 'False')
    assert.equal(t.condition('Ready')?.message, 'containers with unready status: [app]')

    await t.tick(60)
    app = t.container('app')
    assert.equal(app.restartCount, 3)
    assert.equal(
      app.state?.waiting?.message,
      `back-off 40s restarting failed container=app pod=web_default(${uid})`,
    )
    await t.tick(11)
    app = t.container('app')
    assert.equal(app.restartCount, 4)
    assert.equal(
      app.state?.waiting?.message,
      `back-off 1m20s restarting failed container=app pod=web_default(${uid})`,
    )
    const starts = t.runtime.calls('startContainer').map((c) => (c.atMs - start) / 1000)
    assert.deepEqual(starts, [0, 1, 11, 31, 71])
    // Only the newest dead container is kept (for lastState).
    assert.equal((await t.runtime.listContainers({})).containers.length, 2)
    t.workers.stop()
  })

  test('a missing image: ErrImagePull, then ImagePullBackOff', async () => {
    const image = 'registry.example/no/such-image:1.0'
    const t = await setup({ missingImages: [image] })
    t.workers.updatePod(makePod({ containers: [{ name: 'app', image, command: ['sleep', '3600'] }] }))
    await t.flush()
    assert.deepEqual(t.container('app').state, {
      waiting: {
        reason: 'ErrImagePull',
        message:
          'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example/no/such-image:1.0": ' +
          'failed to resolve reference "registry.example/no/such-image:1.0": registry.example/no/such-image:1.0: not found',
      },
    })
    assert.equal(t.status().phase, 'Pending')
    // A failed sync is tried again after workerBackOffPeriod (10 s): the first back-off (10 s) has
    // just ended, so it pulls again, fails again, and backs off 20 s.
    await t.tick(9)
    assert.equal(t.runtime.calls('pullImage').length, 1)
    await t.tick(1)
    assert.equal(t.container('app').state?.waiting?.reason, 'ErrImagePull')
    assert.equal(t.runtime.calls('pullImage').length, 2)
    // Ten seconds on, the pull is backing off.
    await t.tick(10)
    assert.deepEqual(t.container('app').state, {
      waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` },
    })
    assert.equal(t.runtime.calls('pullImage').length, 2)
    assert.deepEqual(t.events.slice(0, 3), [
      `Normal Pulling Pulling image "${image}"`,
      `Warning Failed Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`,
      'Warning Failed Error: ErrImagePull',
    ])
    assert.deepEqual(t.events.slice(-2), [
      `Normal BackOff Back-off pulling image "${image}"`,
      'Warning Failed Error: ImagePullBackOff',
    ])
    // When the 20 s back-off ends, the pull is tried again.
    t.runtime.setImageMissing(image, false)
    await t.tick(10)
    assert.ok(t.container('app').state?.running)
    assert.equal(t.status().phase, 'Running')
    t.workers.stop()
  })

  test('deletion stops containers within the grace period, removes the sandbox, then deletes the pod', async () => {
    const t = await setup({
      rules: [
        { name: 'slow', behaviour: { stopDelayMs: 5000 } },
        { name: 'stubborn', behaviour: { stopDelayMs: Infinity } },
      ],
    })
    const pod = makePod({
      terminationGracePeriodSeconds: 10,
      containers: [busybox('slow', ['sleep', '3600']), busybox('stubborn', ['sleep', '3600'])],
    })
    t.workers.updatePod(pod)
    await t.tick(2)
    assert.equal(t.status().phase, 'Running')
    const deleted = structuredClone(pod)
    deleted.metadata = {
      ...deleted.metadata,
      deletionTimestamp: '2026-01-01T00:00:02Z',
      deletionGracePeriodSeconds: 10,
    }
    t.workers.updatePod(deleted)
    await t.flush()
    assert.deepEqual(
      t.runtime
        .calls('stopContainer')
        .map((c) => (c.request as cri.Proto3Partial<cri.StopContainerRequest>).timeout),
      [10, 10],
    )
    await t.tick(9)
    assert.equal(t.runtime.calls('removePodSandbox').length, 0, 'still within the grace period')
    assert.equal(t.writer.deletes.length, 0)
    await t.tick(1)
    assert.equal(t.runtime.calls('removePodSandbox').length, 1)
    assert.deepEqual(t.events.filter((e) => e.includes('Killing')).sort(), [
      'Normal Killing Stopping container slow',
      'Normal Killing Stopping container stubborn',
    ])
    assert.deepEqual(t.writer.deletes, [{ namespace: 'default', name: 'web', uid }])
    assert.equal(t.runtime.counts.sandboxes, 0)
    assert.equal(t.runtime.counts.containers, 0)
    // The last status before the delete: both containers terminated, the stubborn one killed.
    const last = t.writer.patches.at(-1)?.status
    const byName = (n: string) => last?.containerStatuses?.find((c) => c.name === n)?.state?.terminated
    assert.equal(byName('slow')?.exitCode, 143, 'ended by SIGTERM')
    assert.equal(byName('stubborn')?.exitCode, 137)
    assert.equal(last?.phase, 'Failed')

    t.workers.removePod(deleted)
    await t.flush()
    assert.equal(t.workers.state(uid), undefined)
    t.workers.stop()
  })

  test('a pod that does not fit the node is rejected: Failed with OutOfcpu, nothing run', async () => {
    const node = {
      metadata: { name: 'node-1' },
      status: { allocatable: { cpu: '1', memory: '1Gi', pods: '110' } },
    }
    const t = await setup({}, (pod, admitted) => admitPod({ node, pod, admitted }))
    t.workers.updatePod(
      makePod({ containers: [busybox('app', ['sleep', '3600'], { resources: { requests: { cpu: '2' } } })] }),
    )
    await t.tick(2)
    const s = t.status()
    assert.equal(s.phase, 'Failed')
    assert.equal(s.reason, 'OutOfcpu')
    assert.equal(
      s.message,
      "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 0, capacity: 1000",
    )
    assert.equal(t.runtime.calls('runPodSandbox').length, 0)
    assert.equal(t.writer.patches.length, 1)
    t.workers.stop()
  })

  test('a failing init container under restartPolicy Never fails the pod; the app container never starts', async () => {
    const t = await setup()
    t.workers.updatePod(
      makePod({
        restartPolicy: 'Never',
        initContainers: [busybox('init', ['false'])],
        containers: [busybox('app', ['sleep', '3600'])],
      }),
    )
    await t.tick(3)
    const s = t.status()
    assert.equal(s.phase, 'Failed')
    assert.equal(s.initContainerStatuses?.[0]?.state?.terminated?.reason, 'Error')
    assert.deepEqual(t.container('app').state, { waiting: { reason: 'PodInitializing' } })
    assert.deepEqual(
      [t.condition('Initialized')?.status, t.condition('Initialized')?.message],
      ['False', 'containers with incomplete status: [init]'],
    )
    assert.equal(t.runtime.calls('createContainer').length, 1)
    t.workers.stop()
  })

  test('restartPolicy OnFailure: a failure restarts, a success completes the pod', async () => {
    const t = await setup({ rules: [{ name: 'app', behaviour: { exit: { afterMs: 500, exitCode: 0 } } }] })
    // The first start fails (RunContainerError), the next container runs and exits 0.
    t.runtime.failNext('startContainer', new Error('boom'))
    t.workers.updatePod(
      makePod({ restartPolicy: 'OnFailure', containers: [busybox('app', ['sleep', '3600'])] }),
    )
    await t.flush()
    assert.equal(t.container('app').state?.waiting?.reason, 'RunContainerError')
    await t.tick(15)
    assert.equal(t.status().phase, 'Succeeded')
    assert.equal(t.container('app').state?.terminated?.reason, 'Completed')
    assert.equal(t.container('app').restartCount, 1)
    t.workers.stop()
  })

  test('imagePullPolicy: IfNotPresent pulls once, Never refuses a missing image', async () => {
    const t = await setup({ images: ['busybox:1.36'] })
    t.workers.updatePod(
      makePod({
        containers: [
          busybox('present', ['sleep', '3600'], { imagePullPolicy: 'IfNotPresent' }),
          { name: 'absent', image: 'nginx:1.27', imagePullPolicy: 'Never', command: ['sleep', '3600'] },
        ],
      }),
    )
    await t.tick(1)
    assert.equal(t.runtime.calls('pullImage').length, 0)
    assert.ok(t.container('present').state?.running)
    assert.deepEqual(t.container('absent').state, {
      waiting: {
        reason: 'ErrImageNeverPull',
        message: 'Container image "nginx:1.27" is not present with pull policy of Never',
      },
    })
    assert.equal(t.status().phase, 'Pending')
    t.workers.stop()
  })

  test('housekeeping stops and removes the sandboxes of pods nobody knows', async () => {
    const t = await setup()
    t.workers.updatePod(makePod({ containers: [busybox('app', ['sleep', '3600'])] }))
    await t.tick(1)
    const stray = { metadata: { name: 'gone', namespace: 'default', uid: 'gone-uid', attempt: 0 } }
    await t.runtime.runPodSandbox({ config: { ...stray, labels: { 'io.kubernetes.pod.uid': 'gone-uid' } } })
    assert.equal(t.runtime.counts.sandboxes, 2)
    assert.equal(await t.workers.removeOrphanedPods(new Set([uid])), 1)
    assert.equal(t.runtime.counts.sandboxes, 1)
    assert.ok(t.container('app').state?.running, 'the known pod is left alone')
    t.workers.stop()
  })

  test('a sidecar starts first and keeps running through the init container; stopped when the pod completes', async () => {
    const t = await setup()
    t.workers.updatePod(
      makePod({
        restartPolicy: 'Never',
        initContainers: [
          busybox('proxy', ['sleep', '3600'], { restartPolicy: 'Always' }),
          busybox('setup', ['sleep', '1']),
        ],
        containers: [busybox('app', ['sleep', '3'])],
      }),
    )
    await t.flush()
    await t.tick(3)
    assert.deepEqual(
      t.runtime.calls('createContainer').map((c) => (c.request as Proto3Container).config?.metadata?.name),
      ['proxy', 'setup', 'app'],
    )
    let s = t.status()
    assert.equal(s.phase, 'Running')
    assert.ok(s.initContainerStatuses?.[0]?.state?.running)
    assert.equal(s.initContainerStatuses?.[0]?.ready, true)
    assert.equal(t.condition('Initialized')?.status, 'True')
    assert.equal(t.condition('ContainersReady')?.status, 'True')
    await t.tick(5)
    s = t.status()
    assert.equal(s.phase, 'Succeeded')
    assert.ok(s.initContainerStatuses?.[0]?.state?.terminated, 'the sidecar was stopped')
    t.workers.stop()
  })

  test('a container over its memory limit is OOMKilled; limits reach the runtime; Burstable cgroup', async () => {
    const t = await setup({
      rules: [{ name: 'app', behaviour: { memoryWorkingSetBytes: 128 * 1024 * 1024 } }],
    })
    const pod = structuredClone(
      makePod({
        restartPolicy: 'Never',
        containers: [
          busybox('app', ['sleep', '3600'], {
            resources: { requests: { cpu: '250m' }, limits: { memory: '64Mi' } },
          }),
        ],
      }),
    )
    delete pod.status?.qosClass
    t.workers.updatePod(deepFreeze(pod))
    await t.tick(2)
    const config = (
      t.runtime.calls('runPodSandbox')[0]?.request as cri.Proto3Partial<cri.RunPodSandboxRequest>
    ).config
    assert.equal(config?.linux?.cgroupParent, `/kubepods/burstable/pod${uid}`)
    const created = t.runtime.calls('createContainer')[0]?.request as Proto3Container
    assert.equal(created.config?.linux?.resources?.memoryLimitInBytes, 64 * 1024 * 1024)
    assert.equal(created.config?.linux?.resources?.cpuShares, 256)
    const terminated = t.container('app').state?.terminated
    assert.equal(terminated?.reason, 'OOMKilled')
    assert.equal(terminated?.exitCode, 137)
    assert.equal(t.status().phase, 'Failed')
    assert.equal(t.status().qosClass, 'Burstable')
    t.workers.stop()
  })

  test('a pod removed from the API while its containers stop is cleaned up and forgotten', async () => {
    const t = await setup({ rules: [{ name: 'app', behaviour: { stopDelayMs: Infinity } }] })
    const pod = makePod({ terminationGracePeriodSeconds: 5, containers: [busybox('app', ['sleep', '3600'])] })
    t.workers.updatePod(pod)
    await t.tick(1)
    const deleted = structuredClone(pod)
    deleted.metadata = {
      ...deleted.metadata,
      deletionTimestamp: '2026-01-01T00:00:01Z',
      deletionGracePeriodSeconds: 5,
    }
    t.workers.updatePod(deleted)
    await t.tick(1)
    assert.equal(t.workers.state(uid)?.phase, 'terminating')
    t.workers.removePod(deleted)
    await t.tick(5)
    assert.equal(t.workers.state(uid), undefined)
    assert.equal(t.runtime.counts.sandboxes, 0)
    t.workers.stop()
  })

  test('on deletion, app containers stop first, then sidecars in reverse order with what is left of the grace period', async () => {
    const t = await setup({ rules: [{ name: 'app', behaviour: { stopDelayMs: 4000 } }] })
    const pod = makePod({
      terminationGracePeriodSeconds: 30,
      initContainers: [
        busybox('logs', ['sleep', '3600'], { restartPolicy: 'Always' }),
        busybox('proxy', ['sleep', '3600'], { restartPolicy: 'Always' }),
      ],
      containers: [busybox('app', ['sleep', '3600'])],
    })
    t.workers.updatePod(pod)
    await t.flush()
    await t.tick(3)
    assert.equal(t.status().phase, 'Running')
    const deleted = structuredClone(pod)
    deleted.metadata = {
      ...deleted.metadata,
      deletionTimestamp: '2026-01-01T00:00:03Z',
      deletionGracePeriodSeconds: 30,
    }
    t.workers.updatePod(deleted)
    await t.tick(6)
    assert.deepEqual(
      t.runtime.calls('createContainer').map((c) => (c.request as Proto3Container).config?.metadata?.name),
      ['logs', 'proxy', 'app'],
    )
    const timeouts = t.runtime
      .calls('stopContainer')
      .map((c) => (c.request as cri.Proto3Partial<cri.StopContainerRequest>).timeout)
    assert.deepEqual(
      t.events.filter((e) => e.includes('Killing')),
      [
        'Normal Killing Stopping container app',
        'Normal Killing Stopping container proxy',
        'Normal Killing Stopping container logs',
      ],
    )
    // The app took 4 s of the 30: each sidecar gets the 26 left.
    assert.deepEqual(timeouts, [30, 26, 26])
    assert.equal(t.runtime.counts.sandboxes, 0)
    t.workers.stop()
  })

  test('activeDeadlineSeconds: the pod is stopped and Failed with DeadlineExceeded', async () => {
    const t = await setup()
    const pod = structuredClone(makePod({ containers: [busybox('app', ['sleep', '3600'])] }))
    if (pod.spec) pod.spec.activeDeadlineSeconds = 30
    t.workers.updatePod(deepFreeze(pod))
    await t.flush()
    assert.equal(t.status().phase, 'Running')
    await t.tick(29)
    assert.equal(t.status().phase, 'Running')
    await t.tick(1)
    const s = t.status()
    assert.equal(s.phase, 'Failed')
    assert.equal(s.reason, 'DeadlineExceeded')
    assert.equal(s.message, 'Pod was active on the node longer than the specified deadline')
    assert.equal(t.container('app').state?.terminated?.exitCode, 143)
    assert.equal(t.runtime.calls('stopPodSandbox').length, 1)
    t.workers.stop()
  })
})
