import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { isCriError, type CriErrorCode } from './errors.ts'
import { normalizeImageReference } from './image-reference.ts'
import {
  networkReady,
  runtimeReady,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerRuntime,
  type ContainerStatus,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type Proto3Partial,
} from './runtime.ts'

/**
 * The behaviour every ContainerRuntime must have (the fake, the containerd client), as one suite
 * in the manner of cri-tools' critest, reduced to what the kubelet relies on. Every test labels
 * what it creates with a label of its own and removes it at the end, so a runtime shared with
 * other work (a real containerd) is fine; only relative times are asserted.
 */
export interface RuntimeHarness {
  runtime: ContainerRuntime
  /** An image with a busybox-like userland (sh, sleep, true, false, echo, cat), pullable here. */
  image: string
  /** An image reference no registry has: pulling it fails. */
  missingImage: string
  /** Lets `ms` of the runtime's time pass: a fake clock advances, a real runtime is waited for. */
  passTime(ms: number): Promise<void>
  /** Called once when the suite ends. */
  close?(): Promise<void>
}

export function describeRuntime(
  name: string,
  makeRuntime: () => RuntimeHarness | Promise<RuntimeHarness>,
  options: { skip?: string } = {},
): void {
  describe(`runtime conformance: ${name}`, { skip: options.skip ?? false }, () => {
    let h: RuntimeHarness
    before(async () => {
      h = await makeRuntime()
      await h.runtime.pullImage({ image: { image: h.image } })
    })
    after(async () => {
      await h.close?.()
    })

    /** A test with its own label, whose sandboxes are removed at the end whatever happens. */
    const it = (title: string, body: (t: Scope) => Promise<void>): void => {
      test(title, async () => {
        const scope = new Scope(h)
        try {
          await body(scope)
        } finally {
          await scope.cleanup()
        }
      })
    }

    it('version names the runtime and CRI v1', async ({ rt }) => {
      const v = await rt.version({ version: '0.1.0' })
      assert.equal(v.runtimeApiVersion, 'v1')
      assert.notEqual(v.runtimeName, '')
      assert.notEqual(v.runtimeVersion, '')
    })

    it('status reports RuntimeReady and NetworkReady', async ({ rt }) => {
      const conditions = (await rt.status({})).status?.conditions ?? []
      for (const type of [runtimeReady, networkReady]) {
        assert.equal(conditions.find((c) => c.type === type)?.status, true, type)
      }
    })

    it('a pulled image is listed and has a status; its id is what the pull returned', async ({
      rt,
      image,
    }) => {
      const { imageRef } = await rt.pullImage({ image: { image } })
      assert.notEqual(imageRef, '')
      const status = await rt.imageStatus({ image: { image } })
      assert.equal(status.image?.id, imageRef)
      assert.ok(status.image.repoTags.includes(normalizeImageReference(image)), String(status.image.repoTags))
      assert.ok(status.image.size > 0)
      assert.equal((await rt.imageStatus({ image: { image: imageRef } })).image?.id, imageRef)
      const all = await rt.listImages({})
      assert.ok(all.images.some((i) => i.id === imageRef))
      const one = await rt.listImages({ filter: { image: { image } } })
      assert.deepEqual(
        one.images.map((i) => i.id),
        [imageRef],
      )
    })

    it('an image that is not present has a status without image, not an error', async ({ rt }) => {
      const status = await rt.imageStatus({ image: { image: h.missingImage } })
      assert.equal(status.image, undefined)
    })

    it('pulling an image no registry has fails', async ({ rt }) => {
      await assert.rejects(rt.pullImage({ image: { image: h.missingImage } }), (err) => isCriError(err))
    })

    it('removing an image is idempotent, and a pull brings it back', async ({ rt, image }) => {
      await rt.removeImage({ image: { image } })
      assert.equal((await rt.imageStatus({ image: { image } })).image, undefined)
      await rt.removeImage({ image: { image } })
      await rt.pullImage({ image: { image } })
      assert.notEqual((await rt.imageStatus({ image: { image } })).image, undefined)
    })

    it('imageFsInfo reports the image filesystem', async ({ rt }) => {
      const info = await rt.imageFsInfo({})
      const fs = info.imageFilesystems[0]
      assert.ok(fs !== undefined)
      assert.notEqual(fs.fsId?.mountpoint ?? '', '')
      assert.ok((fs.usedBytes?.value ?? 0) > 0)
    })

    it('a sandbox runs ready, with its metadata, labels, annotations and an IP', async (t) => {
      const config = t.sandboxConfig({ annotations: { 'example.com/a': 'b' } })
      const id = await t.runSandbox(config)
      const status = (await t.rt.podSandboxStatus({ podSandboxId: id })).status
      assert.ok(status !== undefined)
      assert.equal(status.id, id)
      assert.equal(status.state, 'SANDBOX_READY')
      assert.deepEqual(status.metadata, config.metadata)
      assert.equal(status.labels[t.label], t.value)
      assert.equal(status.annotations['example.com/a'], 'b')
      assert.match(status.network?.ip ?? '', /^\d+\.\d+\.\d+\.\d+$/)
      // Nanoseconds since the epoch (a fake clock may stand anywhere, so only the unit is checked).
      assert.ok(status.createdAt > 1e17, `createdAt ${status.createdAt} is in nanoseconds`)
    })

    it('two sandboxes get different IPs', async (t) => {
      const a = await t.runSandbox()
      const b = await t.runSandbox()
      const ip = async (id: string) => (await t.rt.podSandboxStatus({ podSandboxId: id })).status?.network?.ip
      assert.notEqual(await ip(a), await ip(b))
    })

    it('listPodSandbox filters by id, state and label selector', async (t) => {
      const a = await t.runSandbox(t.sandboxConfig({ labels: { role: 'a' } }))
      const b = await t.runSandbox(t.sandboxConfig({ labels: { role: 'b' } }))
      await t.rt.stopPodSandbox({ podSandboxId: b })
      const ids = async (filter: Proto3Partial<PodSandboxFilter>) =>
        (
          await t.rt.listPodSandbox({
            filter: { ...filter, labelSelector: { [t.label]: t.value, ...filter.labelSelector } },
          })
        ).items
          .map((s) => s.id)
          .sort()
      assert.deepEqual(await ids({}), [a, b].sort())
      assert.deepEqual(await ids({ id: a }), [a])
      assert.deepEqual(await ids({ state: { state: 'SANDBOX_READY' } }), [a])
      assert.deepEqual(await ids({ state: { state: 'SANDBOX_NOTREADY' } }), [b])
      assert.deepEqual(await ids({ labelSelector: { role: 'b' } }), [b])
      assert.deepEqual(await ids({ labelSelector: { role: 'c' } }), [])
      const listed = (await t.rt.listPodSandbox({ filter: { id: a } })).items[0]
      assert.equal(listed?.state, 'SANDBOX_READY')
      assert.equal(listed.labels.role, 'a')
    })

    it('a stopped sandbox is NOTREADY; stopping again is fine; removed, it is NotFound and removing again is fine', async (t) => {
      const id = await t.runSandbox()
      await t.rt.stopPodSandbox({ podSandboxId: id })
      assert.equal((await t.rt.podSandboxStatus({ podSandboxId: id })).status?.state, 'SANDBOX_NOTREADY')
      await t.rt.stopPodSandbox({ podSandboxId: id })
      await t.rt.removePodSandbox({ podSandboxId: id })
      await rejectsWith(t.rt.podSandboxStatus({ podSandboxId: id }), 'NotFound')
      assert.deepEqual((await t.rt.listPodSandbox({ filter: { id } })).items, [])
      await t.rt.removePodSandbox({ podSandboxId: id })
    })

    it('status of a sandbox or container that never existed is NotFound', async ({ rt }) => {
      const id = 'f'.repeat(64)
      await rejectsWith(rt.podSandboxStatus({ podSandboxId: id }), 'NotFound')
      await rejectsWith(rt.containerStatus({ containerId: id }), 'NotFound')
      await rt.removePodSandbox({ podSandboxId: id })
      await rt.removeContainer({ containerId: id })
    })

    it('a container goes CREATED, RUNNING, EXITED with its timestamps, then is removed', async (t) => {
      const sandbox = await t.runSandbox()
      const id = await t.createContainer(sandbox, { command: ['sleep', '3600'] })
      let s = await t.status(id)
      assert.equal(s.state, 'CONTAINER_CREATED')
      assert.ok(s.createdAt > 0)
      assert.equal(s.startedAt, 0)
      assert.equal(s.finishedAt, 0)
      assert.equal(s.metadata?.name, 'main')
      assert.equal(s.labels[t.label], t.value)
      assert.notEqual(s.imageRef, '')

      await t.rt.startContainer({ containerId: id })
      s = await t.status(id)
      assert.equal(s.state, 'CONTAINER_RUNNING')
      assert.ok(s.startedAt >= s.createdAt)
      assert.equal(s.finishedAt, 0)

      await t.rt.stopContainer({ containerId: id, timeout: 0 })
      s = await t.status(id)
      assert.equal(s.state, 'CONTAINER_EXITED')
      assert.ok(s.finishedAt >= s.startedAt)
      assert.notEqual(s.exitCode, 0, 'killed')
      assert.notEqual(s.reason, '')

      await t.rt.stopContainer({ containerId: id, timeout: 0 })
      await t.rt.removeContainer({ containerId: id })
      await rejectsWith(t.rt.containerStatus({ containerId: id }), 'NotFound')
      await t.rt.removeContainer({ containerId: id })
    })

    it('stopping a container that was created but never started is fine', async (t) => {
      const sandbox = await t.runSandbox()
      const id = await t.createContainer(sandbox, { command: ['sleep', '3600'] })
      await t.rt.stopContainer({ containerId: id, timeout: 1 })
      await t.rt.removeContainer({ containerId: id })
    })

    const exits = [
      { name: '`true` exits 0, Completed', command: ['true'], exitCode: 0, reason: 'Completed' },
      { name: '`false` exits 1, Error', command: ['false'], exitCode: 1, reason: 'Error' },
      {
        name: "`sh -c 'exit 3'` exits 3, Error",
        command: ['sh', '-c', 'exit 3'],
        exitCode: 3,
        reason: 'Error',
      },
    ]
    for (const c of exits) {
      it(c.name, async (t) => {
        const sandbox = await t.runSandbox()
        const id = await t.createContainer(sandbox, { command: c.command })
        await t.rt.startContainer({ containerId: id })
        const s = await t.exited(id)
        assert.equal(s.exitCode, c.exitCode)
        assert.equal(s.reason, c.reason)
        assert.ok(s.finishedAt >= s.startedAt && s.startedAt >= s.createdAt)
      })
    }

    it('`sleep 2` runs for two seconds, then exits 0', async (t) => {
      const sandbox = await t.runSandbox()
      const id = await t.createContainer(sandbox, { command: ['sleep', '2'] })
      await t.rt.startContainer({ containerId: id })
      assert.equal((await t.status(id)).state, 'CONTAINER_RUNNING')
      const s = await t.exited(id)
      assert.equal(s.exitCode, 0)
      assert.ok(s.finishedAt - s.startedAt >= 1.9e9, `ran ${(s.finishedAt - s.startedAt) / 1e9}s`)
    })

    it('starting a container that is not CREATED fails', async (t) => {
      const sandbox = await t.runSandbox()
      const id = await t.createContainer(sandbox, { command: ['sleep', '3600'] })
      await t.rt.startContainer({ containerId: id })
      await assert.rejects(t.rt.startContainer({ containerId: id }), (err) => isCriError(err))
    })

    it('creating a container in a sandbox that does not exist is NotFound', async (t) => {
      await rejectsWith(
        t.rt.createContainer({
          podSandboxId: 'f'.repeat(64),
          config: t.containerConfig({ command: ['true'] }),
          sandboxConfig: t.sandboxConfig(),
        }),
        'NotFound',
      )
    })

    it('listContainers filters by id, sandbox, state and label selector', async (t) => {
      const s1 = await t.runSandbox()
      const s2 = await t.runSandbox()
      const a = await t.createContainer(s1, { command: ['sleep', '3600'], labels: { role: 'a' } })
      const b = await t.createContainer(s1, {
        name: 'second',
        command: ['sleep', '3600'],
        labels: { role: 'b' },
      })
      const c = await t.createContainer(s2, { command: ['sleep', '3600'], labels: { role: 'a' } })
      await t.rt.startContainer({ containerId: a })
      const ids = async (filter: Proto3Partial<ContainerFilter>) =>
        (
          await t.rt.listContainers({
            filter: { ...filter, labelSelector: { [t.label]: t.value, ...filter.labelSelector } },
          })
        ).containers
          .map((x) => x.id)
          .sort()
      assert.deepEqual(await ids({}), [a, b, c].sort())
      assert.deepEqual(await ids({ id: b }), [b])
      assert.deepEqual(await ids({ podSandboxId: s1 }), [a, b].sort())
      assert.deepEqual(await ids({ podSandboxId: s2 }), [c])
      assert.deepEqual(await ids({ state: { state: 'CONTAINER_RUNNING' } }), [a])
      assert.deepEqual(await ids({ state: { state: 'CONTAINER_CREATED' } }), [b, c].sort())
      assert.deepEqual(await ids({ labelSelector: { role: 'a' } }), [a, c].sort())
      assert.deepEqual(await ids({ podSandboxId: s1, labelSelector: { role: 'a' } }), [a])
      const listed = (await t.rt.listContainers({ filter: { id: a } })).containers[0]
      assert.equal(listed?.podSandboxId, s1)
      assert.equal(listed.state, 'CONTAINER_RUNNING')
      assert.equal(listed.metadata?.name, 'main')
      assert.notEqual(listed.imageRef, '')
    })

    it('stopping a sandbox kills its containers; removing it removes them', async (t) => {
      const sandbox = await t.runSandbox()
      const id = await t.createContainer(sandbox, { command: ['sleep', '3600'] })
      await t.rt.startContainer({ containerId: id })
      await t.rt.stopPodSandbox({ podSandboxId: sandbox })
      assert.equal((await t.status(id)).state, 'CONTAINER_EXITED')
      await t.rt.removePodSandbox({ podSandboxId: sandbox })
      await rejectsWith(t.rt.containerStatus({ containerId: id }), 'NotFound')
    })

    it('execSync returns output and exit code', async (t) => {
      const id = await t.runningContainer()
      const r = await t.rt.execSync({
        containerId: id,
        cmd: ['sh', '-c', 'echo hello; echo oops >&2; exit 2'],
        timeout: 10,
      })
      assert.equal(Buffer.from(r.stdout).toString(), 'hello\n')
      assert.equal(Buffer.from(r.stderr).toString(), 'oops\n')
      assert.equal(r.exitCode, 2)
      assert.equal((await t.rt.execSync({ containerId: id, cmd: ['true'], timeout: 10 })).exitCode, 0)
      assert.equal((await t.rt.execSync({ containerId: id, cmd: ['false'], timeout: 10 })).exitCode, 1)
    })

    it('execSync sees the files the container and earlier execs wrote', async (t) => {
      const id = await t.runningContainer()
      const cat = () => t.rt.execSync({ containerId: id, cmd: ['cat', '/tmp/ready'], timeout: 10 })
      assert.notEqual((await cat()).exitCode, 0)
      await t.rt.execSync({ containerId: id, cmd: ['sh', '-c', 'echo yes > /tmp/ready'], timeout: 10 })
      const r = await cat()
      assert.equal(r.exitCode, 0)
      assert.equal(Buffer.from(r.stdout).toString(), 'yes\n')
    })

    it('execSync in a container that is not running fails', async (t) => {
      const sandbox = await t.runSandbox()
      const id = await t.createContainer(sandbox, { command: ['true'] })
      await t.rt.startContainer({ containerId: id })
      await t.exited(id)
      await assert.rejects(t.rt.execSync({ containerId: id, cmd: ['true'], timeout: 10 }), (err) =>
        isCriError(err),
      )
    })

    it('exec, attach and portForward hand out streaming URLs', async (t) => {
      const id = await t.runningContainer()
      const sandbox = (await t.rt.listContainers({ filter: { id } })).containers[0]?.podSandboxId ?? ''
      const exec = await t.rt.exec({ containerId: id, cmd: ['sh'], stdin: true, stdout: true, tty: true })
      const attach = await t.rt.attach({ containerId: id, stdout: true, stderr: true })
      const pf = await t.rt.portForward({ podSandboxId: sandbox, port: [8080] })
      for (const url of [exec.url, attach.url, pf.url]) assert.match(new URL(url).protocol, /^https?:$/)
    })

    it('a running container has CPU, memory and writable-layer stats; its sandbox has them too', async (t) => {
      const id = await t.runningContainer()
      await h.passTime(1000)
      const one = (await t.rt.containerStats({ containerId: id })).stats
      assert.equal(one?.attributes?.id, id)
      assert.notEqual(one.cpu?.usageCoreNanoSeconds, undefined)
      assert.ok((one.memory?.workingSetBytes?.value ?? 0) > 0)
      assert.ok(one.cpu?.timestamp !== undefined && one.cpu.timestamp > 0)
      const listed = await t.rt.listContainerStats({ filter: { labelSelector: { [t.label]: t.value } } })
      assert.deepEqual(
        listed.stats.map((s) => s.attributes?.id),
        [id],
      )
      const sandbox = (await t.rt.listContainers({ filter: { id } })).containers[0]?.podSandboxId ?? ''
      const pod = (await t.rt.podSandboxStats({ podSandboxId: sandbox })).stats
      assert.equal(pod?.attributes?.id, sandbox)
      assert.notEqual(pod.linux?.cpu, undefined)
      assert.ok(pod.linux?.containers.some((c) => c.attributes?.id === id))
      const pods = await t.rt.listPodSandboxStats({ filter: { labelSelector: { [t.label]: t.value } } })
      assert.deepEqual(
        pods.stats.map((s) => s.attributes?.id),
        [sandbox],
      )
    })

    it('an exited container has no CPU or memory stats', async (t) => {
      const sandbox = await t.runSandbox()
      const id = await t.createContainer(sandbox, { command: ['true'] })
      await t.rt.startContainer({ containerId: id })
      await t.exited(id)
      const listed = await t.rt.listContainerStats({ filter: { labelSelector: { [t.label]: t.value } } })
      for (const s of listed.stats) {
        assert.equal(s.attributes?.id, id)
        assert.equal(s.cpu?.usageCoreNanoSeconds, undefined)
        assert.equal(s.memory?.workingSetBytes, undefined)
      }
    })

    it('updateContainerResources on a running container succeeds', async (t) => {
      const id = await t.runningContainer()
      await t.rt.updateContainerResources({
        containerId: id,
        linux: { cpuShares: 512, cpuPeriod: 100000, cpuQuota: 50000, memoryLimitInBytes: 256 * 1024 * 1024 },
      })
      assert.equal((await t.status(id)).state, 'CONTAINER_RUNNING')
    })
  })
}

/** Per test: the runtime, a label only this test's objects carry, builders, and cleanup. */
class Scope {
  readonly rt: ContainerRuntime
  readonly image: string
  readonly label = 'k8ts.io/runtime-suite'
  readonly value = randomUUID()
  readonly #h: RuntimeHarness
  readonly #sandboxes: string[] = []
  readonly #configs = new Map<string, Proto3Partial<PodSandboxConfig>>()

  constructor(h: RuntimeHarness) {
    this.#h = h
    this.rt = h.runtime
    this.image = h.image
  }

  sandboxConfig(
    o: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
  ): Proto3Partial<PodSandboxConfig> & {
    metadata: { name: string; uid: string; namespace: string; attempt: number }
  } {
    const uid = randomUUID()
    return {
      metadata: { name: `suite-${uid.slice(0, 8)}`, uid, namespace: 'runtime-suite', attempt: 0 },
      hostname: `suite-${uid.slice(0, 8)}`,
      logDirectory: '',
      labels: { [this.label]: this.value, ...o.labels },
      annotations: o.annotations ?? {},
      linux: {},
    }
  }

  containerConfig(o: {
    name?: string
    command: string[]
    labels?: Record<string, string>
  }): Proto3Partial<ContainerConfig> {
    return {
      metadata: { name: o.name ?? 'main', attempt: 0 },
      image: { image: this.image },
      command: o.command,
      labels: { [this.label]: this.value, ...o.labels },
    }
  }

  async runSandbox(config: Proto3Partial<PodSandboxConfig> = this.sandboxConfig()): Promise<string> {
    const { podSandboxId } = await this.rt.runPodSandbox({ config })
    this.#sandboxes.push(podSandboxId)
    this.#configs.set(podSandboxId, config)
    return podSandboxId
  }

  async createContainer(
    sandbox: string,
    o: { name?: string; command: string[]; labels?: Record<string, string> },
  ): Promise<string> {
    const { containerId } = await this.rt.createContainer({
      podSandboxId: sandbox,
      config: this.containerConfig(o),
      sandboxConfig: this.#configs.get(sandbox) ?? {},
    })
    return containerId
  }

  /** A started `sleep 3600` in a sandbox of its own. */
  async runningContainer(): Promise<string> {
    const id = await this.createContainer(await this.runSandbox(), { command: ['sleep', '3600'] })
    await this.rt.startContainer({ containerId: id })
    return id
  }

  async status(id: string): Promise<ContainerStatus> {
    const s = (await this.rt.containerStatus({ containerId: id })).status
    assert.ok(s !== undefined, `container ${id} has a status`)
    return s
  }

  /** Waits (in the runtime's time) until the container has exited; 60 s at most. */
  async exited(id: string): Promise<ContainerStatus> {
    for (let waited = 0; ; waited += 100) {
      const s = await this.status(id)
      if (s.state === 'CONTAINER_EXITED') return s
      assert.ok(waited < 60_000, `container ${id} still ${s.state} after 60s`)
      await this.#h.passTime(100)
    }
  }

  async cleanup(): Promise<void> {
    for (const id of this.#sandboxes) await this.rt.removePodSandbox({ podSandboxId: id })
  }
}

async function rejectsWith(p: Promise<unknown>, code: CriErrorCode): Promise<void> {
  await assert.rejects(p, (err) => {
    assert.ok(isCriError(err), `a CriError, not ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return true
  })
}
