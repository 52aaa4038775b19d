import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { request as httpsRequest } from 'node:https'
import { gunzipSync } from 'node:zlib'
import { readKubeconfigCredentials } from '../../src/pki/index.ts'
import { kubectlMissing, startTestApiServer, type TestApiServer } from '../support/cluster.ts'

/**
 * Large responses are gzipped for clients that ask for it (APIResponseCompression): kubectl's
 * transport asks, and reads them unchanged; small ones and clients that do not ask get plain JSON.
 */
describe('response compression', () => {
  let c: TestApiServer

  const get = (path: string, acceptEncoding?: string) =>
    c.request('GET', path, {
      headers: {
        Accept: 'application/json',
        ...(acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {}),
      },
    })

  before(async () => {
    c = await startTestApiServer()
    // 40 ConfigMaps of 4 KiB each: a list of them is well over the 128 KiB threshold.
    for (let i = 0; i < 40; i++) {
      const r = await c.kubectl([
        'create',
        'configmap',
        `big-${i}`,
        `--from-literal=data=${'x'.repeat(4096)}`,
      ])
      assert.equal(r.code, 0, r.stderr)
    }
  })
  after(async () => {
    await c.stop()
  })

  const list = '/api/v1/namespaces/default/configmaps'
  const names = (json: Buffer) =>
    (JSON.parse(json.toString()) as { items: { metadata: { name: string } }[] }).items.map(
      (o) => o.metadata.name,
    )

  test('a large list is gzipped when the client accepts gzip', async () => {
    const r = await get(list, 'gzip')
    assert.equal(r.headers['content-encoding'], 'gzip')
    assert.equal(r.headers.vary, 'Accept-Encoding')
    // Streamed as it is compressed: chunked, without a Content-Length.
    assert.equal(r.headers['content-length'], undefined)
    assert.equal(r.headers['transfer-encoding'], 'chunked')
    assert.ok(r.body.length < 128 * 1024)
    assert.equal(names(gunzipSync(r.body)).filter((n) => n.startsWith('big-')).length, 40)
  })

  test('the same list is plain JSON without Accept-Encoding, or with gzip;q=0', async () => {
    for (const ae of [undefined, 'gzip;q=0']) {
      const r = await get(list, ae)
      assert.equal(r.headers['content-encoding'], undefined)
      assert.ok(r.body.length > 128 * 1024)
      assert.equal(Number(r.headers['content-length']), r.body.length)
      assert.equal(names(r.body).filter((n) => n.startsWith('big-')).length, 40)
    }
  })

  test('a small answer is never compressed', async () => {
    const r = await get(`${list}/big-0`, 'gzip')
    assert.equal(r.headers['content-encoding'], undefined)
    assert.equal((JSON.parse(r.body.toString()) as { metadata: { name: string } }).metadata.name, 'big-0')
  })

  test('kubectl reads compressed lists as it reads any', { skip: kubectlMissing ?? false }, async () => {
    const r = await c.kubectl(['get', 'configmaps', '-o', 'name'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('configmap/big-')).length, 40)
  })

  test('large answers streamed at once, and one left halfway, each arrive whole', async () => {
    // 300 ConfigMaps of 8 KiB, each its own text: 2.4 MB, many stream slices.
    const ns = '/api/v1/namespaces/default/configmaps'
    for (let i = 0; i < 300; i++) {
      const r = await c.request('POST', ns, {
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `many-${i}`, labels: { set: 'many' } },
          data: { d: `${i}:`.repeat(Math.ceil(8192 / `${i}:`.length)) },
        }),
        headers: { 'Content-Type': 'application/json' },
      })
      assert.equal(r.code, 201, r.body.toString())
    }
    const path = `${list}?labelSelector=set%3Dmany`
    const whole = (await get(path)).body
    assert.ok(whole.length > 2_000_000, `${whole.length} bytes`)
    // A client that reads the first bytes of an answer and hangs up.
    const creds = readKubeconfigCredentials(c.server.adminKubeconfig)
    const left = new Promise<void>((resolve, reject) => {
      const req = httpsRequest(new URL(path, c.server.url), {
        ca: creds.ca,
        cert: creds.cert,
        key: creds.key,
      })
      req.on('response', (res) => res.once('data', () => (req.destroy(), resolve())))
      req.on('error', (err) => (req.destroyed ? resolve() : reject(err)))
      req.end()
    })
    const replies = await Promise.all([
      left,
      ...Array.from({ length: 6 }, (_, i) => get(path, i % 2 === 0 ? 'gzip' : undefined)),
    ])
    for (const r of replies.slice(1)) {
      assert.ok(r)
      const body = r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.body) : r.body
      assert.ok(body.equals(whole), 'the same bytes as the answer on its own')
    }
    // And the next ones, from the slices the others gave back.
    for (const ae of ['gzip', undefined]) {
      const r = await get(path, ae)
      assert.ok((ae ? gunzipSync(r.body) : r.body).equals(whole))
    }
  })
})
