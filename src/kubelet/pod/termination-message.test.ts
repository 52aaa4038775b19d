import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod, PodStatus } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { FakeRuntime } from '../runtime/fake/fake-runtime.ts'
import type * as cri from '../runtime/runtime.ts'
import { PodWorkers } from './pod-workers.ts'
import { terminationMessagePathAnnotation, terminationMessagePolicyAnnotation } from './runtime-config.ts'
import {
  fakeOutputReader,
  lastBytes,
  lastLines,
  terminationMessageOf,
  type ContainerOutputReader,
} from './termination-message.ts'

const exited = (o: {
  exitCode?: number
  reason?: string
  message?: string
  policy?: string
  path?: string
}): cri.ContainerStatus =>
  ({
    id: 'c1',
    state: 'CONTAINER_EXITED',
    exitCode: o.exitCode ?? 1,
    reason: o.reason ?? 'Error',
    message: o.message ?? '',
    annotations: {
      [terminationMessagePathAnnotation]: o.path ?? '/dev/termination-log',
      [terminationMessagePolicyAnnotation]: o.policy ?? 'File',
    },
  }) as unknown as cri.ContainerStatus

const reader = (files: Record<string, string>, log: string): ContainerOutputReader => ({
  readFile: (_s, path) => Promise.resolve(files[path]),
  readLog: (_s, lines) => Promise.resolve(lastLines(log, lines)),
  readLogLines: () => Promise.reject(new Error('termination messages read no log lines')),
})

const hundredLines = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`).join('\n') + '\n'

const cases: {
  name: string
  status: cri.ContainerStatus
  files?: Record<string, string>
  log?: string
  want: string
}[] = [
  {
    name: 'File: what the container wrote to the path',
    status: exited({}),
    files: { '/dev/termination-log': 'bye\n' },
    log: 'oops\n',
    want: 'bye\n',
  },
  { name: 'File: nothing written, no message even on error', status: exited({}), log: 'oops\n', want: '' },
  {
    name: 'a custom terminationMessagePath',
    status: exited({ path: '/tmp/why' }),
    files: { '/tmp/why': 'custom', '/dev/termination-log': 'not this' },
    want: 'custom',
  },
  {
    name: 'FallbackToLogsOnError on error without a file: the log',
    status: exited({ policy: 'FallbackToLogsOnError' }),
    log: 'starting\noops\n',
    want: 'starting\noops\n',
  },
  {
    name: 'FallbackToLogsOnError with an empty file: the log',
    status: exited({ policy: 'FallbackToLogsOnError' }),
    files: { '/dev/termination-log': '' },
    log: 'oops\n',
    want: 'oops\n',
  },
  {
    name: 'FallbackToLogsOnError: the file wins over the log',
    status: exited({ policy: 'FallbackToLogsOnError' }),
    files: { '/dev/termination-log': 'bye' },
    log: 'oops\n',
    want: 'bye',
  },
  {
    name: 'FallbackToLogsOnError on success: no log',
    status: exited({ policy: 'FallbackToLogsOnError', exitCode: 0, reason: 'Completed' }),
    log: 'done\n',
    want: '',
  },
  {
    name: 'FallbackToLogsOnError for a container that could not run: no log',
    status: exited({ policy: 'FallbackToLogsOnError', exitCode: 128, reason: 'ContainerCannotRun' }),
    log: 'x\n',
    want: '',
  },
  {
    name: 'the log fallback keeps the last 80 lines',
    status: exited({ policy: 'FallbackToLogsOnError' }),
    log: hundredLines,
    want: hundredLines.split('\n').slice(20).join('\n'),
  },
  {
    name: 'the log fallback keeps the last 2048 bytes',
    status: exited({ policy: 'FallbackToLogsOnError' }),
    log: `${'a'.repeat(3000)}\n`,
    want: `${'a'.repeat(2047)}\n`,
  },
  {
    name: 'the file keeps its last 4096 bytes',
    status: exited({}),
    files: { '/dev/termination-log': `head${'b'.repeat(4096)}` },
    want: 'b'.repeat(4096),
  },
  {
    name: "the runtime's own message comes first",
    status: exited({ message: 'failed to start', policy: 'FallbackToLogsOnError' }),
    log: 'oops\n',
    want: 'failed to start: oops\n',
  },
]

for (const c of cases) {
  test(`termination message: ${c.name}`, async () => {
    assert.equal(await terminationMessageOf(c.status, reader(c.files ?? {}, c.log ?? '')), c.want)
  })
}

test('lastLines and lastBytes', () => {
  assert.equal(lastLines('a\nb\nc\n', 2), 'b\nc\n')
  assert.equal(lastLines('a\nb\nc', 2), 'b\nc')
  assert.equal(lastLines('a\n', 5), 'a\n')
  assert.equal(lastBytes('héllo', 4), 'llo')
})

test('pod workers on the fake runtime report the termination message in state.terminated', async () => {
  const clock = new FakeClock()
  const runtime = new FakeRuntime({ clock, runtimeName: 'containerd' })
  const statuses: PodStatus[] = []
  const workers = new PodWorkers({
    runtime,
    clock,
    statusWriter: {
      patchStatus: (_ref, status) => Promise.resolve(void statuses.push(structuredClone(status))),
      deletePod: () => Promise.resolve(),
    },
    containerOutput: fakeOutputReader(runtime),
  })
  await workers.start()
  const pod: Pod = {
    metadata: { name: 'job', namespace: 'default', uid: 'u-term' },
    spec: {
      nodeName: 'node-1',
      restartPolicy: 'Never',
      containers: [
        {
          name: 'file',
          image: 'busybox:1.36',
          command: ['sh', '-c', 'echo bye > /dev/termination-log; exit 1'],
        },
        {
          name: 'logs',
          image: 'busybox:1.36',
          command: ['sh', '-c', 'echo starting; echo oops >&2; exit 2'],
          terminationMessagePolicy: 'FallbackToLogsOnError',
        },
        { name: 'quiet', image: 'busybox:1.36', command: ['sh', '-c', 'echo ignored; exit 3'] },
      ],
    },
  }
  workers.updatePod(pod)
  for (let i = 0; i < 5; i++) {
    await workers.idle()
    clock.advance(1000)
    for (let j = 0; j < 20; j++) await new Promise((r) => setImmediate(r))
  }
  await workers.idle()
  workers.stop()
  const last = workers.statusManager.status('u-term')
  const terminated = Object.fromEntries(
    (last?.containerStatuses ?? []).map((s) => [s.name, s.state?.terminated?.message]),
  )
  assert.deepEqual(terminated, { file: 'bye\n', logs: 'starting\noops\n', quiet: undefined })
  assert.equal(last?.phase, 'Failed')
})
