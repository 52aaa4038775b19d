import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FakeClock } from '../../base/clock.ts'
import { FakeRuntime } from '../runtime/fake/fake-runtime.ts'
import { Pleg, type PodLifecycleEvent } from './pleg.ts'
import { podUIDLabel } from './runtime-config.ts'

test('the PLEG relists every second and reports changes by pod uid', async () => {
  const clock = new FakeClock()
  const runtime = new FakeRuntime({ clock, images: ['busybox'] })
  const events: PodLifecycleEvent[] = []
  const pleg = new Pleg({ runtime, clock, onEvent: (e) => events.push(e) })
  const flush = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r))
  }
  const labels = { [podUIDLabel]: 'pod-a' }
  const sandboxConfig = { metadata: { name: 'a', namespace: 'default', uid: 'pod-a' }, labels }
  const { podSandboxId } = await runtime.runPodSandbox({ config: sandboxConfig })
  const { containerId } = await runtime.createContainer({
    podSandboxId,
    sandboxConfig,
    config: { metadata: { name: 'app' }, image: { image: 'busybox' }, command: ['sleep', '3'], labels },
  })
  await runtime.startContainer({ containerId })
  pleg.start()

  clock.advance(999)
  await flush()
  assert.equal(events.length, 0, 'nothing before the first relist')
  clock.advance(1)
  await flush()
  assert.deepEqual(
    events.map((e) => [e.type, e.podUID, e.id]),
    [
      ['ContainerStarted', 'pod-a', podSandboxId],
      ['ContainerStarted', 'pod-a', containerId],
    ],
  )
  assert.deepEqual(pleg.sandboxIdsOf('pod-a'), [podSandboxId])
  events.length = 0
  clock.advance(1000)
  await flush()
  assert.equal(events.length, 0, 'no change, no event')
  assert.deepEqual(
    pleg.sandboxIdsOf('pod-a'),
    [podSandboxId],
    'an unchanged listing keeps what the last one found',
  )
  clock.advance(2000)
  await flush()
  assert.deepEqual(
    events.map((e) => [e.type, e.id]),
    [['ContainerDied', containerId]],
  )
  events.length = 0
  await runtime.removePodSandbox({ podSandboxId })
  clock.advance(1000)
  await flush()
  assert.deepEqual(
    events.map((e) => e.type),
    ['ContainerRemoved', 'ContainerRemoved'],
  )
  assert.deepEqual(pleg.sandboxIdsOf('pod-a'), [])
  pleg.stop()
})

test('a failed relist is reported, and the PLEG relists on', async () => {
  const clock = new FakeClock()
  const runtime = new FakeRuntime({ clock, images: ['busybox'] })
  const errors: string[] = []
  const pleg = new Pleg({
    runtime,
    clock,
    onEvent: () => {},
    onError: (err) => errors.push((err as Error).message),
  })
  const flush = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r))
  }
  runtime.failNext('listPodSandbox', new Error('runtime down'))
  const labels = { [podUIDLabel]: 'pod-b' }
  const sandboxConfig = { metadata: { name: 'b', namespace: 'default', uid: 'pod-b' }, labels }
  pleg.start()
  clock.advance(1000)
  await flush()
  assert.deepEqual(errors, ['runtime down'])
  const { podSandboxId } = await runtime.runPodSandbox({ config: sandboxConfig })
  clock.advance(1000)
  await flush()
  assert.deepEqual(pleg.sandboxIdsOf('pod-b'), [podSandboxId], 'the next relist ran')
  pleg.stop()
})
