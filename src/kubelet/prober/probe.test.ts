import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Container, Probe } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { FakeRuntime } from '../runtime/fake/fake-runtime.ts'
import {
  noNetwork,
  type DialRequest,
  type GrpcHealthResult,
  type HttpRequest,
  type HttpResponse,
  type ProbeNetwork,
} from './network.ts'
import { canonicalHeaderKey, resolvePort, runProbe, type ProbeOutcome } from './probe.ts'

const podIP = '10.88.0.5'

/** A ProbeNetwork that answers from a script and records what it was asked. */
class ScriptedNetwork implements ProbeNetwork {
  requests: HttpRequest[] = []
  dials: DialRequest[] = []
  readonly o: {
    http?: (r: HttpRequest) => HttpResponse
    dial?: (r: DialRequest) => void
    grpc?: (r: DialRequest & { service: string }) => GrpcHealthResult
  }
  constructor(o: ScriptedNetwork['o']) {
    this.o = o
  }
  async httpGet(r: HttpRequest): Promise<HttpResponse> {
    this.requests.push(r)
    if (!this.o.http) throw new Error('no http')
    return this.o.http(r)
  }
  async dialTcp(r: DialRequest): Promise<void> {
    this.dials.push(r)
    this.o.dial?.(r)
  }
  async grpcHealthCheck(r: DialRequest & { service: string }): Promise<GrpcHealthResult> {
    if (!this.o.grpc) throw new Error('no grpc')
    return this.o.grpc(r)
  }
}

const answer = (statusCode: number, body = '', location?: string): HttpResponse => ({
  statusCode,
  body,
  location,
})
const refused = (r: DialRequest) => {
  throw new Error(`dial tcp ${r.host}:${r.port}: connect: connection refused`)
}

const container: Container = {
  name: 'app',
  image: 'busybox',
  ports: [
    { name: 'http', containerPort: 8080 },
    { name: 'grpc', containerPort: 9000 },
  ],
}

async function probeWith(network: ProbeNetwork, probe: Probe): Promise<ProbeOutcome> {
  const clock = new FakeClock()
  return runProbe(probe, {
    runtime: new FakeRuntime({ clock }),
    network,
    clock,
    container,
    containerId: 'none',
    podIP,
  })
}

describe('httpGet probes', () => {
  const cases: {
    name: string
    probe: Probe['httpGet']
    http: (r: HttpRequest) => HttpResponse
    want: ProbeOutcome
    requests?: number
  }[] = [
    {
      name: 'a 200 succeeds with the body as output',
      probe: { port: 8080, path: '/healthz' },
      http: () => answer(200, 'ok'),
      want: { result: 'success', output: 'ok' },
    },
    {
      name: 'a 399 still succeeds… as a warning, since it is a redirect status the prober did not follow',
      probe: { port: 8080 },
      http: () => answer(399, 'odd'),
      want: { result: 'warning', output: 'Probe terminated redirects, Response body: odd' },
    },
    {
      name: 'a 500 fails without the body in the message',
      probe: { port: 8080, path: '/healthz' },
      http: () => answer(500, 'secret stack trace'),
      want: { result: 'failure', output: 'HTTP probe failed with statuscode: 500' },
    },
    {
      name: 'a 404 fails',
      probe: { port: 'http', path: '/missing' },
      http: () => answer(404),
      want: { result: 'failure', output: 'HTTP probe failed with statuscode: 404' },
    },
    {
      name: 'a redirect to the same host is followed',
      probe: { port: 8080, path: '/old' },
      http: (r) => (r.path === '/old' ? answer(302, '', '/new') : answer(200, 'moved')),
      want: { result: 'success', output: 'moved' },
      requests: 2,
    },
    {
      name: 'a redirect to another host is not followed: a warning with the body',
      probe: { port: 8080 },
      http: () => answer(301, 'go away', 'http://example.com/'),
      want: { result: 'warning', output: 'Probe terminated redirects, Response body: go away' },
      requests: 1,
    },
    {
      name: 'redirects stop after ten',
      probe: { port: 8080, path: '/loop' },
      http: () => answer(302, '', '/loop'),
      want: { result: 'failure', output: `Get "http://${podIP}:8080/loop": stopped after 10 redirects` },
      requests: 10,
    },
    {
      name: 'a refused connection fails with Go client wording',
      probe: { port: 8080, path: '/healthz' },
      http: (r) => refused(r),
      want: {
        result: 'failure',
        output: `Get "http://${podIP}:8080/healthz": dial tcp ${podIP}:8080: connect: connection refused`,
      },
    },
  ]
  for (const c of cases) {
    test(c.name, async () => {
      const network = new ScriptedNetwork({ http: c.http })
      assert.deepEqual(await probeWith(network, { httpGet: c.probe }), c.want)
      assert.equal(network.requests.length, c.requests ?? 1)
    })
  }

  test('the request: pod IP, named port, default path, kube-probe User-Agent, Accept */*, timeout', async () => {
    const network = new ScriptedNetwork({ http: () => answer(200) })
    await probeWith(network, { httpGet: { port: 'http' }, timeoutSeconds: 3 })
    const [r] = network.requests
    assert.deepEqual(r, {
      scheme: 'http',
      host: podIP,
      port: 8080,
      path: '/',
      headers: new Map([
        ['User-Agent', ['kube-probe/1.35']],
        ['Accept', ['*/*']],
      ]),
      timeoutMs: 3000,
    })
  })

  test('the probe may set host, scheme and headers; an empty Accept removes it', async () => {
    const network = new ScriptedNetwork({ http: () => answer(200) })
    await probeWith(network, {
      httpGet: {
        host: '127.0.0.1',
        port: 8443,
        scheme: 'HTTPS',
        path: 'status?full=1',
        httpHeaders: [
          { name: 'user-agent', value: 'mine' },
          { name: 'accept', value: '' },
          { name: 'x-custom', value: 'a' },
          { name: 'X-Custom', value: 'b' },
        ],
      },
    })
    const [r] = network.requests
    assert.equal(r?.scheme, 'https')
    assert.equal(r?.host, '127.0.0.1')
    assert.equal(r?.path, '/status?full=1')
    assert.deepEqual(
      r?.headers,
      new Map([
        ['User-Agent', ['mine']],
        ['X-Custom', ['a', 'b']],
      ]),
    )
  })

  test('without a network, nothing is dialed and the probe fails saying why', async () => {
    const out = await probeWith(noNetwork, { httpGet: { port: 8080 } })
    assert.equal(out.result, 'failure')
    assert.match(out.output, /no probe network configured/)
  })
})

describe('tcpSocket and grpc probes', () => {
  test('tcpSocket: a connection succeeds, a refusal fails with its message', async () => {
    const ok = new ScriptedNetwork({})
    assert.deepEqual(await probeWith(ok, { tcpSocket: { port: 'grpc' } }), { result: 'success', output: '' })
    assert.deepEqual(ok.dials, [{ host: podIP, port: 9000, timeoutMs: 1000 }])
    const no = new ScriptedNetwork({ dial: refused })
    assert.deepEqual(await probeWith(no, { tcpSocket: { port: 8080, host: '10.0.0.1' } }), {
      result: 'failure',
      output: 'dial tcp 10.0.0.1:8080: connect: connection refused',
    })
  })

  const grpcCases: { name: string; reply: GrpcHealthResult; want: ProbeOutcome }[] = [
    {
      name: 'SERVING is healthy',
      reply: { kind: 'status', status: 'SERVING' },
      want: { result: 'success', output: 'service healthy' },
    },
    {
      name: 'NOT_SERVING is unhealthy',
      reply: { kind: 'status', status: 'NOT_SERVING' },
      want: { result: 'failure', output: 'service unhealthy (responded with "NOT_SERVING")' },
    },
    {
      name: 'a connect timeout names the address and the timeout',
      reply: { kind: 'connectFailed', timedOut: true, message: 'context deadline exceeded' },
      want: {
        result: 'failure',
        output: `timeout: failed to connect service "${podIP}:9000" within 1s: context deadline exceeded`,
      },
    },
    {
      name: 'a server without the health service',
      reply: { kind: 'callFailed', code: 'UNIMPLEMENTED', message: 'unknown service grpc.health.v1.Health' },
      want: {
        result: 'failure',
        output:
          'error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health',
      },
    },
    {
      name: 'another call failure',
      reply: { kind: 'callFailed', code: 'PERMISSION_DENIED', message: 'no' },
      want: {
        result: 'failure',
        output: 'error: health rpc probe failed: rpc error: code = PermissionDenied desc = no',
      },
    },
  ]
  for (const c of grpcCases) {
    test(`grpc: ${c.name}`, async () => {
      const network = new ScriptedNetwork({ grpc: () => c.reply })
      assert.deepEqual(await probeWith(network, { grpc: { port: 9000 } }), c.want)
    })
  }
})

describe('exec probes', () => {
  async function execProbe(command: string[], timeoutSeconds?: number) {
    const clock = new FakeClock()
    const runtime = new FakeRuntime({ clock, images: ['busybox'] })
    const sandboxConfig = { metadata: { name: 'web', namespace: 'default', uid: 'u1' } }
    const { podSandboxId } = await runtime.runPodSandbox({ config: sandboxConfig })
    const { containerId } = await runtime.createContainer({
      podSandboxId,
      sandboxConfig,
      config: {
        metadata: { name: 'app' },
        image: { image: 'busybox' },
        command: ['sh', '-c', 'echo hi > /tmp/ok; sleep 3600'],
      },
    })
    await runtime.startContainer({ containerId })
    const p = runProbe(
      { exec: { command }, ...(timeoutSeconds ? { timeoutSeconds } : {}) },
      { runtime, network: noNetwork, clock, container, containerId, podIP },
    )
    // Let the exec reach the clock, then move time past any timeout.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
    clock.advance(10_000)
    return p
  }

  test('exit 0 succeeds with the output', async () => {
    assert.deepEqual(await execProbe(['cat', '/tmp/ok']), { result: 'success', output: 'hi\n' })
  })
  test('a non-zero exit fails with stdout and stderr', async () => {
    assert.deepEqual(await execProbe(['cat', '/tmp/missing']), {
      result: 'failure',
      output: "cat: can't open '/tmp/missing': No such file or directory\n",
    })
  })
  test('a command running past timeoutSeconds fails as timed out', async () => {
    assert.deepEqual(await execProbe(['sleep', '5'], 2), {
      result: 'failure',
      output: 'command "sleep 5" timed out',
    })
  })
})

describe('ports and headers', () => {
  test('resolvePort: numbers, names, numeric names; unknown names and bad numbers throw', () => {
    assert.equal(resolvePort(8080, container), 8080)
    assert.equal(resolvePort('grpc', container), 9000)
    assert.equal(resolvePort('7000', container), 7000)
    assert.throws(() => resolvePort('metrics', container), {
      message: "couldn't find port: metrics in [http:8080 grpc:9000]",
    })
    assert.throws(() => resolvePort(70000, container), { message: 'invalid port number: 70000' })
    assert.throws(() => resolvePort(0, container), { message: 'invalid port number: 0' })
  })
  test('canonicalHeaderKey as Go', () => {
    assert.equal(canonicalHeaderKey('x-forwarded-for'), 'X-Forwarded-For')
    assert.equal(canonicalHeaderKey('HOST'), 'Host')
    assert.equal(canonicalHeaderKey('bad header'), 'bad header')
  })
})
