import assert from 'node:assert/strict'
import { request } from 'node:https'
import { after, before, describe, test } from 'node:test'
import type { SubjectAccessReview } from '../../api/generated/types/authorization-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { createLogger } from '../../base/log.ts'
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../pki/index.ts'
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
  const reviews: SubjectAccessReview[] = []
  let server: KubeletServer
  let reader: KeyPair
  let stranger: KeyPair
  let untrusted: KeyPair

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
    clock.advance(30_000)
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
      pods: () => [],
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
    const pods = JSON.parse((await get('/pods', reader)).body) as { kind: string; items: unknown[] }
    assert.equal(pods.kind, 'PodList')
    assert.deepEqual(pods.items, [])
    assert.equal((await get('/nothing-here', reader)).status, 404)
  })
})
