import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FakeClock } from '../../../base/clock.ts'
import { CriError, isCriError } from '../errors.ts'
import type { ContainerStatus, Proto3Partial, PodSandboxConfig } from '../runtime.ts'
import { describeRuntime } from '../conformance.ts'
import { FakeRuntime, type FakeRuntimeOptions } from './fake-runtime.ts'

describeRuntime('fake', () => {
  const clock = new FakeClock()
  return {
    runtime: new FakeRuntime({ clock, missingImages: ['registry.example/no/such-image:1.0'] }),
    image: 'busybox:1.36',
    missingImage: 'registry.example/no/such-image:1.0',
    passTime: async (ms) => clock.advance(ms),
  }
})

/** A fake runtime on a fake clock, with one ready sandbox and the busybox image pulled. */
async function setup(options: FakeRuntimeOptions = {}) {
  const clock = new FakeClock()
  const rt = new FakeRuntime({ clock, images: ['busybox'], ...options })
  const sandboxConfig = sandbox('web-0')
  const { podSandboxId } = await rt.runPodSandbox({ config: sandboxConfig })
  let n = 0
  const container = async (o: {
    command?: string[]
    args?: string[]
    image?: string
    name?: string
    memoryLimit?: number
  }): Promise<string> => {
    const { containerId } = await rt.createContainer({
      podSandboxId,
      sandboxConfig,
      config: {
        metadata: { name: o.name ?? `c${n++}` },
        image: { image: o.image ?? 'busybox' },
        command: o.command ?? [],
        args: o.args ?? [],
        ...(o.memoryLimit === undefined
          ? {}
          : { linux: { resources: { memoryLimitInBytes: o.memoryLimit } } }),
      },
    })
    return containerId
  }
  const run = async (o: Parameters<typeof container>[0]): Promise<string> => {
    const id = await container(o)
    await rt.startContainer({ containerId: id })
    return id
  }
  const status = async (id: string): Promise<ContainerStatus> => {
    const s = (await rt.containerStatus({ containerId: id })).status
    assert.ok(s)
    return s
  }
  return { clock, rt, podSandboxId, container, run, status }
}

function sandbox(name: string, uid = `uid-${name}`): Proto3Partial<PodSandboxConfig> {
  return { metadata: { name, uid, namespace: 'default' } }
}

describe('FakeRuntime', () => {
  test('`sleep 5` runs for exactly five seconds of the clock', async () => {
    const { clock, run, status } = await setup()
    const id = await run({ command: ['sleep', '5'] })
    const startMs = clock.now()
    clock.advance(4999)
    assert.equal((await status(id)).state, 'CONTAINER_RUNNING')
    clock.advance(1)
    const s = await status(id)
    assert.equal(s.state, 'CONTAINER_EXITED')
    assert.equal(s.exitCode, 0)
    assert.equal(s.reason, 'Completed')
    assert.equal(s.finishedAt, (startMs + 5000) * 1e6)
  })

  test('unfiltered listings are handed out again, frozen, until something comes, goes or changes state', async () => {
    const { clock, rt, podSandboxId, container, run } = await setup()
    const sleeper = await run({ command: ['sleep', '5'] })
    const sandboxes = (await rt.listPodSandbox({})).items
    const containers = (await rt.listContainers({ filter: {} })).containers
    assert.ok(Object.isFrozen(sandboxes) && Object.isFrozen(containers[0]))
    assert.equal((await rt.listPodSandbox({ filter: {} })).items, sandboxes)
    assert.equal((await rt.listContainers({})).containers, containers)
    // A filter lists afresh.
    assert.notEqual((await rt.listContainers({ filter: { podSandboxId } })).containers, containers)
    const states = async () => (await rt.listContainers({})).containers.map((c) => `${c.id} ${c.state}`)
    // Created, started, exited on the clock, removed: each shows at once.
    const other = await container({ command: ['sleep', '60'] })
    assert.deepEqual(await states(), [`${sleeper} CONTAINER_RUNNING`, `${other} CONTAINER_CREATED`])
    await rt.startContainer({ containerId: other })
    clock.advance(5000)
    assert.deepEqual(await states(), [`${sleeper} CONTAINER_EXITED`, `${other} CONTAINER_RUNNING`])
    await rt.removeContainer({ containerId: sleeper })
    assert.deepEqual(await states(), [`${other} CONTAINER_RUNNING`])
    await rt.stopPodSandbox({ podSandboxId })
    assert.equal((await rt.listPodSandbox({})).items[0]?.state, 'SANDBOX_NOTREADY')
    await rt.removePodSandbox({ podSandboxId })
    assert.deepEqual((await rt.listPodSandbox({})).items, [])
    assert.deepEqual(await states(), [])
  })

  test('an exit is dated when it happened, not when it was noticed', async () => {
    const { clock, run, status } = await setup()
    const id = await run({ command: ['sh', '-c', 'sleep 2; exit 7'] })
    const startMs = clock.now()
    clock.advance(60_000)
    const s = await status(id)
    assert.equal(s.exitCode, 7)
    assert.equal(s.finishedAt, (startMs + 2000) * 1e6)
  })

  test('a command the fake does not know runs until it is stopped', async () => {
    const { clock, run, status } = await setup()
    const id = await run({ command: ['/usr/sbin/nginx', '-g', 'daemon off;'] })
    clock.advance(86_400_000)
    assert.equal((await status(id)).state, 'CONTAINER_RUNNING')
  })

  test("without a command, the image's entrypoint and cmd run; args replace cmd", async () => {
    const { clock, run, status } = await setup({
      images: ['job:1'],
      imageConfigs: { 'job:1': { entrypoint: ['sh', '-c'], cmd: ['exit 4'] } },
    })
    const a = await run({ image: 'job:1' })
    const b = await run({ image: 'job:1', args: ['exit 5'] })
    clock.advance(1)
    assert.equal((await status(a)).exitCode, 4)
    assert.equal((await status(b)).exitCode, 5)
  })

  test('pulling a missing image fails with NotFound and containerd-like text', async () => {
    const { rt } = await setup({ missingImages: ['nope'] })
    await assert.rejects(rt.pullImage({ image: { image: 'nope' } }), (err) => {
      assert.ok(isCriError(err, 'NotFound'))
      assert.equal(
        err.message,
        'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nope:latest": ' +
          'failed to resolve reference "docker.io/library/nope:latest": docker.io/library/nope:latest: not found',
      )
      return true
    })
    rt.setImageMissing('nope', false)
    assert.match((await rt.pullImage({ image: { image: 'nope' } })).imageRef, /^sha256:[0-9a-f]{64}$/)
  })

  test('creating a container from an image that was never pulled is NotFound', async () => {
    const { container } = await setup()
    await assert.rejects(container({ image: 'nginx', command: ['true'] }), (err) =>
      isCriError(err, 'NotFound'),
    )
  })

  test('a container can name its image by the id the pull returned, and reports tag, digest and id', async () => {
    const { rt, run, status } = await setup()
    const { imageRef } = await rt.pullImage({ image: { image: 'nginx:1.27' } })
    const s = await status(await run({ image: imageRef, command: ['nginx'] }))
    assert.equal(s.image?.image, 'docker.io/library/nginx:1.27')
    assert.match(s.imageRef, /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/)
    assert.equal(s.imageId, imageRef)
  })

  test('a rule can OOM-kill a container: exit code 137, reason OOMKilled', async () => {
    const { clock, run, status } = await setup({
      rules: [{ name: 'hog', behaviour: { exit: { afterMs: 3000, oomKilled: true } } }],
    })
    const id = await run({ name: 'hog', command: ['sleep', '3600'] })
    clock.advance(3000)
    const s = await status(id)
    assert.equal(s.state, 'CONTAINER_EXITED')
    assert.equal(s.exitCode, 137)
    assert.equal(s.reason, 'OOMKilled')
  })

  test('a container using more memory than its limit is OOM-killed when it starts', async () => {
    const { run, status } = await setup({
      rules: [{ image: 'busybox', behaviour: { memoryWorkingSetBytes: 64 * 1024 * 1024 } }],
    })
    const s = await status(await run({ command: ['sleep', '3600'], memoryLimit: 32 * 1024 * 1024 }))
    assert.equal(s.reason, 'OOMKilled')
    assert.equal(s.exitCode, 137)
  })

  test('a start failure leaves the container exited with 128 and StartError, as containerd does', async () => {
    const message =
      'failed to create containerd task: exec: "nope": executable file not found in $PATH: unknown'
    const { rt, container, status } = await setup({
      rules: [{ command: ['nope'], behaviour: { startError: message } }],
    })
    const id = await container({ command: ['nope'] })
    await assert.rejects(rt.startContainer({ containerId: id }), (err) => isCriError(err, 'Unknown'))
    const s = await status(id)
    assert.equal(s.state, 'CONTAINER_EXITED')
    assert.equal(s.exitCode, 128)
    assert.equal(s.reason, 'StartError')
    assert.equal(s.message, message)
    assert.equal(s.startedAt, 0)
  })

  test('stop: the signal ends a container at once with its stop exit code; timeout 0 kills it (137)', async () => {
    const { rt, run, status } = await setup({ rules: [{ name: 'term', behaviour: { stopExitCode: 143 } }] })
    const a = await run({ name: 'term', command: ['sleep', '3600'] })
    await rt.stopContainer({ containerId: a, timeout: 30 })
    assert.equal((await status(a)).exitCode, 143)
    const b = await run({ command: ['sleep', '3600'] })
    await rt.stopContainer({ containerId: b, timeout: 0 })
    assert.equal((await status(b)).exitCode, 137)
  })

  test('stop: a container slower than the grace period is killed when it runs out', async () => {
    const { clock, rt, run, status } = await setup({
      rules: [
        { name: 'slow', behaviour: { stopDelayMs: 10_000 } },
        { name: 'deaf', behaviour: { stopDelayMs: Infinity } },
      ],
    })
    const slow = await run({ name: 'slow', command: ['sleep', '3600'] })
    const deaf = await run({ name: 'deaf', command: ['sleep', '3600'] })
    const startedAt = clock.now()
    const stops = [
      rt.stopContainer({ containerId: slow, timeout: 30 }),
      rt.stopContainer({ containerId: deaf, timeout: 30 }),
    ]
    clock.advance(10_000)
    await stops[0]
    assert.equal((await status(slow)).exitCode, 143, 'ended by SIGTERM')
    assert.equal((await status(deaf)).state, 'CONTAINER_RUNNING')
    clock.advance(20_000)
    await stops[1]
    const s = await status(deaf)
    assert.equal(s.exitCode, 137)
    assert.equal(s.finishedAt, (startedAt + 30_000) * 1e6)
  })

  test('CPU usage grows with running time; memory is what the rule says', async () => {
    const { clock, rt, run } = await setup({
      rules: [
        { image: 'busybox', behaviour: { cpuNanoCores: 250_000_000, memoryWorkingSetBytes: 100 << 20 } },
      ],
    })
    const id = await run({ command: ['sleep', '3600'] })
    clock.advance(10_000)
    const stats = (await rt.containerStats({ containerId: id })).stats
    assert.equal(stats?.cpu?.usageCoreNanoSeconds?.value, 2.5e9)
    assert.equal(stats.cpu.usageNanoCores?.value, 250_000_000)
    assert.equal(stats.memory?.workingSetBytes?.value, 100 << 20)
    clock.advance(10_000)
    assert.equal((await rt.containerStats({ containerId: id })).stats?.cpu?.usageCoreNanoSeconds?.value, 5e9)
  })

  test('sandbox IPs come from the CIDR from .2 on, round-robin; updateRuntimeConfig changes the CIDR', async () => {
    const clock = new FakeClock()
    const rt = new FakeRuntime({ clock, podCIDR: '10.244.3.0/30' })
    const ip = async (id: string) => (await rt.podSandboxStatus({ podSandboxId: id })).status?.network?.ip
    const a = (await rt.runPodSandbox({ config: sandbox('a') })).podSandboxId
    assert.equal(await ip(a), '10.244.3.2')
    await assert.rejects(rt.runPodSandbox({ config: sandbox('b') }), (err) => {
      assert.ok(isCriError(err, 'Unknown'))
      assert.match(err.message, /no IP addresses available in range set: 10\.244\.3\.2-10\.244\.3\.2$/)
      return true
    })
    await rt.stopPodSandbox({ podSandboxId: a })
    assert.equal(await ip(a), '10.244.3.2', 'a stopped sandbox still reports its address')
    const b = (await rt.runPodSandbox({ config: sandbox('b') })).podSandboxId
    assert.equal(await ip(b), '10.244.3.2')
    await rt.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: '10.244.7.0/24' } } })
    const c = (await rt.runPodSandbox({ config: sandbox('c') })).podSandboxId
    assert.equal(await ip(c), '10.244.7.2')
    const d = (await rt.runPodSandbox({ config: sandbox('d') })).podSandboxId
    assert.equal(await ip(d), '10.244.7.3')
    // Dual-stack nodes send both CIDRs, comma-separated: addresses come from the first.
    await rt.updateRuntimeConfig({
      runtimeConfig: { networkConfig: { podCidr: '10.244.9.0/24,fd00:9::/64' } },
    })
    const e = (await rt.runPodSandbox({ config: sandbox('e') })).podSandboxId
    assert.equal(await ip(e), '10.244.9.2')
  })

  test('a sandbox in the node network gets no IP of its own', async () => {
    const rt = new FakeRuntime({ clock: new FakeClock() })
    const { podSandboxId } = await rt.runPodSandbox({
      config: { ...sandbox('host'), linux: { securityContext: { namespaceOptions: { network: 'NODE' } } } },
    })
    const status = (await rt.podSandboxStatus({ podSandboxId })).status
    assert.equal(status?.network?.ip, '')
    assert.equal(status.linux?.namespaces?.options?.network, 'NODE')
  })

  test('the same sandbox or container name twice is AlreadyExists, as containerd reserves names', async () => {
    const { rt, container } = await setup()
    await assert.rejects(rt.runPodSandbox({ config: sandbox('web-0') }), (err) =>
      isCriError(err, 'AlreadyExists'),
    )
    await container({ name: 'app', command: ['true'] })
    await assert.rejects(container({ name: 'app', command: ['true'] }), (err) =>
      isCriError(err, 'AlreadyExists'),
    )
  })

  test('execSync answers configured commands, and times out past its timeout', async () => {
    const { clock, rt, run } = await setup({
      rules: [
        {
          behaviour: {
            exec: [
              { command: ['/healthz'], exitCode: 1, stdout: 'unhealthy\n' },
              { command: ['/slow'], durationMs: 5000 },
            ],
          },
        },
      ],
    })
    const id = await run({ command: ['sleep', '3600'] })
    const r = await rt.execSync({ containerId: id, cmd: ['/healthz'] })
    assert.equal(r.exitCode, 1)
    assert.equal(Buffer.from(r.stdout).toString(), 'unhealthy\n')
    const slow = rt.execSync({ containerId: id, cmd: ['/slow'], timeout: 1 })
    clock.advance(1000)
    await assert.rejects(slow, (err) => {
      assert.ok(isCriError(err, 'DeadlineExceeded'))
      assert.equal(
        err.description,
        'failed to exec in container: timeout 1s exceeded: context deadline exceeded',
      )
      return true
    })
    const fine = rt.execSync({ containerId: id, cmd: ['/slow'], timeout: 10 })
    clock.advance(5000)
    assert.equal((await fine).exitCode, 0)
  })

  test('the liveness example: the file the command touches, then removes, is what `cat` sees', async () => {
    const { clock, rt, run, status } = await setup()
    const id = await run({
      command: ['/bin/sh', '-c', 'touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600'],
    })
    const probe = async () =>
      (await rt.execSync({ containerId: id, cmd: ['cat', '/tmp/healthy'], timeout: 1 })).exitCode
    assert.equal(await probe(), 0)
    clock.advance(29_999)
    assert.equal(await probe(), 0)
    clock.advance(1)
    assert.equal(await probe(), 1)
    clock.advance(600_000)
    assert.equal((await status(id)).state, 'CONTAINER_EXITED')
  })

  test("a container sees its sandbox's DNS config as /etc/resolv.conf, as containerd writes it", async () => {
    const clock = new FakeClock()
    const rt = new FakeRuntime({ clock, images: ['busybox'] })
    const sandboxConfig: Proto3Partial<PodSandboxConfig> = {
      ...sandbox('dns-0'),
      dnsConfig: {
        servers: ['10.96.0.10', '192.0.2.53'],
        searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
        options: ['ndots:5'],
      },
    }
    const { podSandboxId } = await rt.runPodSandbox({ config: sandboxConfig })
    const { containerId } = await rt.createContainer({
      podSandboxId,
      sandboxConfig,
      config: {
        metadata: { name: 'app' },
        image: { image: 'busybox' },
        command: ['sh', '-c', 'cat /etc/resolv.conf > /dev/termination-log; sleep 600'],
      },
    })
    await rt.startContainer({ containerId })
    const want =
      'search default.svc.cluster.local svc.cluster.local cluster.local\n' +
      'nameserver 10.96.0.10\nnameserver 192.0.2.53\noptions ndots:5\n'
    assert.equal(rt.containerOutput(containerId).file('/dev/termination-log'), want)
    const exec = await rt.execSync({ containerId, cmd: ['cat', '/etc/resolv.conf'], timeout: 1 })
    assert.equal(Buffer.from(exec.stdout).toString(), want)
    // Mounted from the sandbox, so not counted in the container's writable layer.
    const stats = (await rt.containerStats({ containerId })).stats
    assert.equal(stats?.writableLayer?.inodesUsed?.value, 2)
    // Without a DNS config there is no file (containerd would copy the host's; the fake has none).
    const other = await setup()
    const plain = await other.run({ command: ['sh', '-c', 'cat /etc/resolv.conf; sleep 600'] })
    assert.match(other.rt.containerOutput(plain).log, /can't open '\/etc\/resolv.conf'/)
  })

  test('calls are recorded, and failNext makes the next call to a method fail', async () => {
    const { rt, run, podSandboxId } = await setup()
    rt.clearCalls()
    rt.failNext('startContainer', new CriError('Unavailable', 'connection refused'))
    await assert.rejects(run({ command: ['true'] }), (err) => isCriError(err, 'Unavailable'))
    assert.deepEqual(
      rt.calls().map((c) => c.method),
      ['createContainer', 'startContainer'],
    )
    assert.deepEqual(rt.calls('createContainer')[0]?.request, {
      podSandboxId,
      sandboxConfig: sandbox('web-0'),
      config: { metadata: { name: 'c0' }, image: { image: 'busybox' }, command: ['true'], args: [] },
    })
    await run({ command: ['true'] })
  })

  test('containerLog: the writes made by now, and all of them up to the exit', async () => {
    const { rt, clock, run } = await setup()
    const id = await run({ command: ['sh', '-c', 'echo a; sleep 2; echo b; sleep 2; echo c; sleep 600'] })
    const texts = () => rt.containerLog(id).writes.map((w) => w.text)
    assert.deepEqual(rt.containerLog(id), {
      writes: [{ atMs: clock.now(), stream: 'stdout', text: 'a\n' }],
      ended: false,
    })
    clock.advance(2000)
    assert.deepEqual(texts(), ['a\n', 'b\n'])
    await rt.stopContainer({ containerId: id, timeout: 0 })
    clock.advance(10_000)
    // Stopped before it wrote c: its log ends there.
    assert.equal(rt.containerLog(id).ended, true)
    assert.deepEqual(texts(), ['a\n', 'b\n'])
  })

  test('setCondition changes what status reports', async () => {
    const rt = new FakeRuntime({ clock: new FakeClock() })
    rt.setCondition({
      type: 'NetworkReady',
      status: false,
      reason: 'NetworkPluginNotReady',
      message: 'cni plugin not initialized',
    })
    const network = (await rt.status({})).status?.conditions.find((c) => c.type === 'NetworkReady')
    assert.deepEqual(network, {
      type: 'NetworkReady',
      status: false,
      reason: 'NetworkPluginNotReady',
      message: 'cni plugin not initialized',
    })
  })

  test('exec and attach check their streams as containerd does', async () => {
    const { rt, run } = await setup()
    const id = await run({ command: ['sleep', '3600'] })
    await assert.rejects(
      rt.exec({ containerId: id, cmd: ['sh'], tty: true, stderr: true, stdout: true }),
      (err) => isCriError(err, 'InvalidArgument'),
    )
    await assert.rejects(rt.attach({ containerId: id }), (err) => isCriError(err, 'InvalidArgument'))
    const { url } = await rt.exec({ containerId: id, cmd: ['sh'], stdin: true, stdout: true, tty: true })
    assert.match(url, /^http:\/\/127\.0\.0\.1:10010\/exec\/[\w-]+$/)
    assert.deepEqual(rt.streamingSession(url)?.kind, 'exec')
  })

  test('150,000 containers cost no timers and little time', async () => {
    const clock = new FakeClock()
    const rt = new FakeRuntime({ clock, images: ['busybox'], recordCalls: false })
    const started = performance.now()
    const sandboxes: string[] = []
    for (let p = 0; p < 15_000; p++) {
      const config = sandbox(`p${p}`)
      const { podSandboxId } = await rt.runPodSandbox({ config })
      sandboxes.push(podSandboxId)
      for (let i = 0; i < 10; i++) {
        const { containerId } = await rt.createContainer({
          podSandboxId,
          sandboxConfig: config,
          config: {
            metadata: { name: `c${i}` },
            image: { image: 'busybox' },
            command: ['sleep', String(1 + (i % 5))],
          },
        })
        await rt.startContainer({ containerId })
      }
    }
    assert.equal(rt.counts.containers, 150_000)
    assert.equal(clock.pendingTimers(), 0)
    clock.advance(3000)
    const exited = await rt.listContainers({ filter: { state: { state: 'CONTAINER_EXITED' } } })
    assert.equal(exited.containers.length, 90_000)
    clock.advance(2000)
    assert.equal(
      (await rt.listContainers({ filter: { state: { state: 'CONTAINER_RUNNING' } } })).containers.length,
      0,
    )
    for (const id of sandboxes) await rt.removePodSandbox({ podSandboxId: id })
    assert.deepEqual(rt.counts, { sandboxes: 0, containers: 0, pendingExits: 0 })
    const seconds = (performance.now() - started) / 1000
    assert.ok(seconds < 20, `took ${seconds.toFixed(1)} s`)
  })
})
