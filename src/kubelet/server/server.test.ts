import assert from 'node:assert/strict'
import { request } from 'node:https'
import { after, before, describe, test } from 'node:test'
import type { SubjectAccessReview } from '../../api/generated/types/authorization-v1.ts'
import type { ContainerStatus, Pod } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { createLogger } from '../../base/log.ts'
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../pki/index.ts'
import { fakeOutputReader } from '../pod/termination-message.ts'
import { FakeRuntime } from '../runtime/fake/fake-runtime.ts'
import { StatsProvider } from '../stats/summary.ts'
import { KubeletAuth } from './auth.ts'
import { selfSignedServingCertificate } from './serving-cert.ts'
import { startKubeletServer, type KubeletServer } from './server.ts'

/**
 * The kubelet's HTTPS API on 127.0.0.1 with a fake runtime and a stand-in for the apiserver's
 * SubjectAccessReview: `reader` may read stats and metrics, `stranger` nothing.
 */
describe('the kubelet API server', () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1))
  const runtime = new FakeRuntime({ clock, images: ['busybox'] })
  /** The containers whose logs are read (kept apart from the stats' runtime). */
  const logsRuntime = new FakeRuntime({ clock, images: ['busybox'] })
  const reviews: SubjectAccessReview[] = []
  let server: KubeletServer
  let reader: KeyPair
  let stranger: KeyPair
  let untrusted: KeyPair
  const pods: Pod[] = []
  /** Runs a container of `pod` with `script` (attempt `attempt`); its ID. */
  const run = async (pod: string, script: string, attempt = 0) => {
    const sandboxConfig = { metadata: { name: pod, uid: `uid-${pod}`, namespace: 'default', attempt } }
    const { podSandboxId } = await logsRuntime.runPodSandbox({ config: sandboxConfig })
    const { containerId } = await logsRuntime.createContainer({
      podSandboxId,
      sandboxConfig,
      config: {
        metadata: { name: 'app', attempt },
        image: { image: 'busybox' },
        command: ['sh', '-c', script],
      },
    })
    await logsRuntime.startContainer({ containerId })
    return containerId
  }
  const podWith = (name: string, app: Partial<ContainerStatus>): Pod => ({
    metadata: { namespace: 'default', name },
    spec: { containers: [{ name: 'app', image: 'busybox' }] },
    status: {
      containerStatuses: [
        { name: 'app', image: 'busybox', imageID: '', ready: false, restartCount: 0, lastState: {}, ...app },
      ],
    },
  })

  before(async () => {
    const ca = await createCertificateAuthority('cluster-ca')
    reader = await issueCertificate(ca, {
      subject: { commonName: 'reader', organizations: ['readers'] },
      usage: 'client',
    })
    stranger = await issueCertificate(ca, { subject: { commonName: 'stranger' }, usage: 'client' })
    const otherCa = await createCertificateAuthority('other-ca')
    untrusted = await issueCertificate(otherCa, { subject: { commonName: 'reader' }, usage: 'client' })
    const sandboxConfig = { metadata: { name: 'web', uid: 'uid-web', namespace: 'default' } }
    const { podSandboxId } = await runtime.runPodSandbox({ config: sandboxConfig })
    const { containerId } = await runtime.createContainer({
      podSandboxId,
      sandboxConfig,
      config: { metadata: { name: 'app' }, image: { image: 'busybox' }, command: ['sleep', '3600'] },
    })
    await runtime.startContainer({ containerId })
    const logged = await run('logged', 'echo one; echo two; sleep 5; echo three; sleep 3600')
    const old = await run('restarted', 'echo old; exit 1')
    clock.advance(1000)
    const current = await run('restarted', 'echo new; sleep 3600', 1)
    clock.advance(29_000)
    pods.push(
      podWith('logged', { state: { running: {} }, containerID: `fake://${logged}` }),
      podWith('restarted', {
        state: { running: {} },
        containerID: `fake://${current}`,
        restartCount: 1,
        lastState: { terminated: { exitCode: 1, containerID: `fake://${old}` } },
      }),
      podWith('pending', { state: { waiting: { reason: 'ContainerCreating' } } }),
    )
    const cert = await selfSignedServingCertificate('node-1', ['127.0.0.1'], clock.now())
    server = await startKubeletServer({
      nodeName: 'node-1',
      address: '127.0.0.1',
      port: 0,
      clientCA: ca.certPem,
      tls: { cert: cert.chainPem, key: cert.serving.keyPem },
      auth: new KubeletAuth({
        clock,
        reviews: {
          createTokenReview: async (r) => ({ ...r, status: { authenticated: false } }),
          createSubjectAccessReview: async (r) => {
            reviews.push(r)
            const a = r.spec.resourceAttributes
            const allowed =
              r.spec.user === 'reader' && a?.resource === 'nodes' && a.name === 'node-1' && a.verb === 'get'
            return { ...r, status: { allowed } }
          },
        },
      }),
      stats: new StatsProvider({
        nodeName: 'node-1',
        runtime,
        machine: { memoryBytes: 1024 ** 3, ephemeralStorageBytes: 10 * 1024 ** 3 },
        clock,
      }),
      pods: () => pods,
      logs: { runtime: logsRuntime, containerOutput: fakeOutputReader(logsRuntime), clock },
      log: createLogger({ level: 'silent' }),
    })
  })

  after(async () => {
    await server?.stop()
  })

  const get = (path: string, as?: KeyPair, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path,
          headers,
          rejectUnauthorized: false,
          ...(as ? { cert: as.certPem, key: as.keyPem } : {}),
          agent: false,
        },
        (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => (body += c))
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
          )
        },
      )
      req.on('error', reject)
      req.end()
    })

  test('a request without credentials is 401 Unauthorized', async () => {
    const r = await get('/stats/summary')
    assert.equal(r.status, 401)
    assert.equal(r.body, 'Unauthorized')
  })

  test('a certificate from another CA is not an identity: 401', async () => {
    assert.equal((await get('/stats/summary', untrusted)).status, 401)
  })

  test('an unknown bearer token is 401', async () => {
    assert.equal((await get('/stats/summary', undefined, { Authorization: 'Bearer nope' })).status, 401)
  })

  test('an identity the API does not allow is 403, naming what it asked', async () => {
    const r = await get('/metrics/resource', stranger)
    assert.equal(r.status, 403)
    assert.equal(r.body, 'Forbidden (user=stranger, verb=get, resource=nodes, subresource=metrics)')
  })

  test('the summary, as the reader, after a SubjectAccessReview for nodes/stats', async () => {
    const r = await get('/stats/summary', reader)
    assert.equal(r.status, 200)
    const summary = JSON.parse(r.body) as { node: { nodeName: string }; pods: { podRef: { name: string } }[] }
    assert.equal(summary.node.nodeName, 'node-1')
    assert.deepEqual(
      summary.pods.map((p) => p.podRef.name),
      ['web'],
    )
    const review = reviews.find((x) => x.spec.user === 'reader')
    assert.deepEqual(review?.spec.groups, ['readers', 'system:authenticated'])
    assert.deepEqual(review?.spec.resourceAttributes, {
      verb: 'get',
      group: '',
      version: 'v1',
      resource: 'nodes',
      subresource: 'stats',
      name: 'node-1',
    })
  })

  test('the resource metrics in Prometheus text', async () => {
    const r = await get('/metrics/resource', reader)
    assert.equal(r.status, 200)
    assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8')
    assert.match(
      r.body,
      /^container_cpu_usage_seconds_total\{container="app",namespace="default",pod="web"\} 0\.03 \d+$/m,
    )
    assert.match(r.body, /^node_memory_working_set_bytes 8\.388608e\+06 \d+$/m)
    assert.match(r.body, /^resource_scrape_error 0$/m)
  })

  test('healthz and pods', async () => {
    assert.equal((await get('/healthz', reader)).body, 'ok')
    const list = JSON.parse((await get('/pods', reader)).body) as { kind: string; items: Pod[] }
    assert.equal(list.kind, 'PodList')
    assert.deepEqual(
      list.items.map((p) => p.metadata?.name),
      ['logged', 'restarted', 'pending'],
    )
    assert.equal((await get('/nothing-here', reader)).status, 404)
  })

  const logCases: { name: string; path: string; status: number; body: string | RegExp }[] = [
    {
      name: 'a running container: its whole log',
      path: '/containerLogs/default/logged/app',
      status: 200,
      body: 'one\ntwo\nthree\n',
    },
    {
      name: 'tailLines: the last lines',
      path: '/containerLogs/default/logged/app?tailLines=1',
      status: 200,
      body: 'three\n',
    },
    {
      name: 'tailLines=0: nothing',
      path: '/containerLogs/default/logged/app?tailLines=0',
      status: 200,
      body: '',
    },
    {
      name: 'limitBytes cuts the log',
      path: '/containerLogs/default/logged/app?limitBytes=5',
      status: 200,
      body: 'one\nt',
    },
    {
      name: 'sinceSeconds: what was written since (three, 5 s after the start, 25 s ago)',
      path: '/containerLogs/default/logged/app?sinceSeconds=26',
      status: 200,
      body: 'three\n',
    },
    {
      name: 'sinceTime: the same by time',
      path: `/containerLogs/default/logged/app?sinceTime=${new Date(Date.UTC(2026, 0, 1, 0, 0, 4)).toISOString()}`,
      status: 200,
      body: 'three\n',
    },
    {
      name: 'timestamps: each line after its time, in RFC 3339 with nanoseconds',
      path: '/containerLogs/default/logged/app?timestamps=true&tailLines=2',
      status: 200,
      body: '2026-01-01T00:00:00.000000000Z two\n2026-01-01T00:00:05.000000000Z three\n',
    },
    {
      name: 'a restarted container: the current instance',
      path: '/containerLogs/default/restarted/app',
      status: 200,
      body: 'new\n',
    },
    {
      name: 'previous: the last terminated instance',
      path: '/containerLogs/default/restarted/app?previous=true',
      status: 200,
      body: 'old\n',
    },
    {
      name: 'previous without a terminated instance is a 400',
      path: '/containerLogs/default/logged/app?previous=true',
      status: 400,
      body: 'previous terminated container "app" in pod "logged" not found',
    },
    {
      name: 'a waiting container is a 400 with its reason',
      path: '/containerLogs/default/pending/app',
      status: 400,
      body: 'container "app" in pod "pending" is waiting to start: ContainerCreating',
    },
    {
      name: 'an unknown pod is a 404',
      path: '/containerLogs/default/nope/app',
      status: 404,
      body: 'pod "nope" does not exist',
    },
    {
      name: 'an unknown container is a 404',
      path: '/containerLogs/default/logged/web',
      status: 404,
      body: 'container "web" not found in pod "logged"',
    },
    {
      name: 'a container name is required',
      path: '/containerLogs/default/logged/',
      status: 400,
      body: '{"message": "Missing container name."}',
    },
    {
      name: 'a path that does not decode is a 400',
      path: '/containerLogs/default/%zz/app',
      status: 400,
      body: 'malformed path segment "%zz"',
    },
    {
      name: 'options that do not validate are a 422',
      path: '/containerLogs/default/logged/app?tailLines=-1',
      status: 422,
      body: '{"message": "Invalid request."}',
    },
    {
      name: 'options that do not decode are a 400',
      path: '/containerLogs/default/logged/app?limitBytes=many',
      status: 400,
      body: '{"message": "Unable to decode query."}',
    },
  ]
  for (const c of logCases) {
    test(`container logs: ${c.name}`, async () => {
      const r = await get(c.path, reader)
      assert.equal(r.status, c.status, r.body)
      if (typeof c.body === 'string') assert.equal(r.body, c.body)
      else assert.match(r.body, c.body)
      if (c.status === 200) assert.equal(r.type, 'text/plain')
    })
  }

  test('container logs are authorized as nodes/proxy', async () => {
    const r = await get('/containerLogs/default/logged/app', stranger)
    assert.equal(r.status, 403)
    assert.equal(r.body, 'Forbidden (user=stranger, verb=get, resource=nodes, subresource=proxy)')
  })

  test('follow: lines come as the container writes them, and the answer ends when it exits', async () => {
    const id = await run('followed', 'echo a; sleep 2; echo b; sleep 1; exit 0')
    pods.push(podWith('followed', { state: { running: {} }, containerID: `fake://${id}` }))
    const chunks: string[] = []
    let ended = false
    const done = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/containerLogs/default/followed/app?follow=true',
          rejectUnauthorized: false,
          cert: reader.certPem,
          key: reader.keyPem,
          agent: false,
        },
        (res) => {
          res.setEncoding('utf8')
          res.on('data', (c: string) => chunks.push(c))
          res.on('end', () => {
            ended = true
            resolve(res.statusCode ?? 0)
          })
        },
      )
      req.on('error', reject)
      req.end()
    })
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 5))
      assert.ok(what(), `now: ${JSON.stringify(chunks)}`)
    }
    await until(() => chunks.join('') === 'a\n')
    for (let i = 0; i < 10; i++) {
      clock.advance(200)
      await new Promise((r) => setTimeout(r, 5))
    }
    await until(() => chunks.join('') === 'a\nb\n')
    assert.equal(ended, false)
    for (let i = 0; i < 10 && !ended; i++) {
      clock.advance(200)
      await new Promise((r) => setTimeout(r, 5))
    }
    assert.equal(await done, 200)
    assert.equal(chunks.join(''), 'a\nb\n')
  })
})
