import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FakeClock } from '../../../base/clock.ts'
import type { HttpRequest } from '../../prober/network.ts'
import { FakeRuntime, type FakeRuntimeOptions } from './fake-runtime.ts'

const portsAnnotation = 'io.kubernetes.container.ports'

/** A fake runtime with one ready sandbox; run() starts a container declaring `ports`. */
async function setup(options: FakeRuntimeOptions = {}, hostNetwork = false) {
  const clock = new FakeClock()
  const rt = new FakeRuntime({ clock, images: ['busybox'], ...options })
  const sandboxConfig = {
    metadata: { name: 'web', namespace: 'default', uid: 'u1', attempt: 0 },
    ...(hostNetwork
      ? { linux: { securityContext: { namespaceOptions: { network: 'NODE' as const } } } }
      : {}),
  }
  const { podSandboxId } = await rt.runPodSandbox({ config: sandboxConfig })
  const ip = (await rt.podSandboxStatus({ podSandboxId })).status?.network?.ip ?? ''
  const run = async (o: { name: string; command: string[]; ports?: number[] }) => {
    const { containerId } = await rt.createContainer({
      podSandboxId,
      sandboxConfig,
      config: {
        metadata: { name: o.name },
        image: { image: 'busybox' },
        command: o.command,
        annotations: o.ports
          ? { [portsAnnotation]: JSON.stringify(o.ports.map((p) => ({ containerPort: p }))) }
          : {},
      },
    })
    await rt.startContainer({ containerId })
    return containerId
  }
  const get = (path: string, port = 8080, host = ip): Promise<{ statusCode: number; body: string }> => {
    const r: HttpRequest = { scheme: 'http', host, port, path, headers: new Map(), timeoutMs: 1000 }
    return rt.network.httpGet(r)
  }
  return { clock, rt, podSandboxId, ip, run, get }
}

describe('fake runtime network', () => {
  test('a running container listens on its declared ports only; others are refused', async () => {
    const t = await setup()
    await t.run({ name: 'app', command: ['sleep', '3600'], ports: [8080] })
    await t.rt.network.dialTcp({ host: t.ip, port: 8080, timeoutMs: 1000 })
    await assert.rejects(t.rt.network.dialTcp({ host: t.ip, port: 9090, timeoutMs: 1000 }), {
      message: `dial tcp ${t.ip}:9090: connect: connection refused`,
    })
  })

  test('an address no ready sandbox has is unreachable; a stopped sandbox no longer answers', async () => {
    const t = await setup()
    await t.run({ name: 'app', command: ['sleep', '3600'], ports: [8080] })
    await assert.rejects(t.rt.network.dialTcp({ host: '10.99.0.1', port: 8080, timeoutMs: 1000 }), {
      message: 'dial tcp 10.99.0.1:8080: connect: no route to host',
    })
    await t.rt.stopPodSandbox({ podSandboxId: t.podSandboxId })
    await assert.rejects(
      t.rt.network.dialTcp({ host: t.ip, port: 8080, timeoutMs: 1000 }),
      /no route to host/,
    )
  })

  test('a container that exited stops listening', async () => {
    const t = await setup()
    await t.run({ name: 'app', command: ['sleep', '5'], ports: [8080] })
    await t.rt.network.dialTcp({ host: t.ip, port: 8080, timeoutMs: 1000 })
    t.clock.advance(5000)
    await assert.rejects(
      t.rt.network.dialTcp({ host: t.ip, port: 8080, timeoutMs: 1000 }),
      /connection refused/,
    )
  })

  test('listenAfterMs delays listening after the start', async () => {
    const t = await setup({ rules: [{ name: 'slow', behaviour: { listenAfterMs: 3000 } }] })
    await t.run({ name: 'slow', command: ['sleep', '3600'], ports: [8080] })
    await assert.rejects(
      t.rt.network.dialTcp({ host: t.ip, port: 8080, timeoutMs: 1000 }),
      /connection refused/,
    )
    t.clock.advance(3000)
    await t.rt.network.dialTcp({ host: t.ip, port: 8080, timeoutMs: 1000 })
  })

  test('HTTP: 200 ok on any path the program never writes', async () => {
    const t = await setup()
    await t.run({ name: 'app', command: ['nginx'], ports: [8080] })
    assert.deepEqual(await t.get('/healthz?verbose=1'), { statusCode: 200, location: undefined, body: 'ok' })
  })

  test('HTTP: a path the program writes and removes follows the file (200 with content, then 404)', async () => {
    const t = await setup()
    await t.run({
      name: 'app',
      command: ['sh', '-c', 'echo fine > /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600'],
      ports: [8080],
    })
    assert.deepEqual(await t.get('/tmp/healthy'), { statusCode: 200, location: undefined, body: 'fine\n' })
    t.clock.advance(30_000)
    assert.equal((await t.get('/tmp/healthy')).statusCode, 404)
    assert.equal((await t.get('/other')).statusCode, 200)
  })

  test('HTTP: a path an exec creates or removes follows the file too', async () => {
    const t = await setup()
    const id = await t.run({ name: 'app', command: ['sleep', '3600'], ports: [8080] })
    await t.rt.execSync({ containerId: id, cmd: ['touch', '/ready'] })
    assert.equal((await t.get('/ready')).statusCode, 200)
    await t.rt.execSync({ containerId: id, cmd: ['rm', '-f', '/ready'] })
    assert.equal((await t.get('/ready')).statusCode, 404)
  })

  test('gRPC: SERVING from a listening container; a connect failure otherwise', async () => {
    const t = await setup()
    await t.run({ name: 'app', command: ['sleep', '3600'], ports: [9000] })
    const check = (port: number) =>
      t.rt.network.grpcHealthCheck({
        host: t.ip,
        port,
        service: '',
        timeoutMs: 1000,
        userAgent: 'kube-probe/1.35',
      })
    assert.deepEqual(await check(9000), { kind: 'status', status: 'SERVING' })
    assert.deepEqual(await check(9001), {
      kind: 'connectFailed',
      timedOut: false,
      message: `dial tcp ${t.ip}:9001: connect: connection refused`,
    })
  })

  test('a host-network pod answers on an address that is no pod IP (the node)', async () => {
    const t = await setup({}, true)
    assert.equal(t.ip, '')
    await t.run({ name: 'app', command: ['sleep', '3600'], ports: [10250] })
    await t.rt.network.dialTcp({ host: '192.168.1.10', port: 10250, timeoutMs: 1000 })
  })
})
