import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'node:tls'
import { readKubeconfigCredentials } from '../../src/pki/index.ts'
import { startTestApiServer, type TestApiServer } from '../support/cluster.ts'

/**
 * Bad input gets a Status with Kubernetes' code and reason, never a crash or a hang: bodies that
 * are too large or malformed in each encoding, the wrong kind or apiVersion for the URL, a name
 * that does not match the URL, unknown resources, missing credentials, too many requests.
 */
interface Reply {
  code: number
  headers: Record<string, string | string[] | undefined>
  body: Record<string, unknown>
}

describe('the apiserver refuses bad input with a Status', () => {
  let c: TestApiServer

  const call = async (
    method: string,
    path: string,
    o: { body?: Buffer | string; type?: string; anonymous?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Reply> => {
    const r = await c.request(method, path, {
      ...(o.body !== undefined ? { body: o.body } : {}),
      ...(o.anonymous ? { anonymous: true } : {}),
      headers: { 'Content-Type': o.type ?? 'application/json', Accept: 'application/json', ...o.headers },
    })
    const text = r.body.toString()
    let body: Record<string, unknown> = {}
    try {
      body = JSON.parse(text) as Record<string, unknown>
    } catch {
      body = { raw: text }
    }
    return { code: r.code, headers: r.headers, body }
  }

  const expectStatus = (r: Reply, code: number, reason: string, message?: RegExp) => {
    assert.equal(r.code, code, JSON.stringify(r.body))
    assert.equal(r.body.kind, 'Status')
    assert.equal(r.body.status, 'Failure')
    assert.equal(r.body.code, code)
    assert.equal(r.body.reason, reason)
    if (message) assert.match(String(r.body.message), message)
  }

  before(async () => {
    c = await startTestApiServer({ maxRequestsInFlight: 2, requestTimeoutMs: 1000 })
  })
  after(async () => {
    await c.stop()
  })

  const cms = '/api/v1/namespaces/default/configmaps'

  test('a body over 3 MiB is refused with 413', async () => {
    const big = JSON.stringify({ metadata: { name: 'big' }, data: { k: 'x'.repeat(3 * 1024 * 1024 + 10) } })
    expectStatus(await call('POST', cms, { body: big }), 413, 'RequestEntityTooLarge')
  })

  /** Writes `parts` on a connection of its own; resolves with what came back once it closes. */
  const raw = async (parts: (string | Buffer)[], end: 'wait' | 'hang up'): Promise<string> => {
    const creds = readKubeconfigCredentials(c.server.adminKubeconfig)
    const url = new URL(c.server.url)
    const socket = connect({ host: url.hostname, port: Number(url.port), ...creds, servername: 'localhost' })
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve())
      socket.once('error', reject)
    })
    let reply = ''
    socket.on('data', (d: Buffer) => (reply += d.toString()))
    socket.on('error', () => undefined)
    const closed = new Promise((resolve) => socket.once('close', resolve))
    for (const p of parts) socket.write(p)
    if (end === 'hang up') socket.destroy()
    await closed
    return reply
  }

  test('a chunked body that grows past 3 MiB is refused with 413 as it arrives', async () => {
    const head =
      `POST ${cms} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
      'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
    const chunk = Buffer.alloc(1024 * 1024, 'x')
    const framed = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    ])
    const reply = await raw([head, framed, framed, framed, framed, '0\r\n\r\n'], 'wait')
    assert.match(reply, /^HTTP\/1\.1 413 /)
    assert.match(reply, /"reason":"RequestEntityTooLarge"/)
  })

  test('a client that hangs up halfway through its body leaves nothing behind, and the server goes on', async () => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'half' } })
    await raw(
      [
        `POST ${cms} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\n\r\n`,
        body.slice(0, 20),
      ],
      'hang up',
    )
    await sleep(100)
    // Its request let go of its in-flight slot (this server has two): two at once both get in.
    const both = await Promise.all([call('GET', `${cms}/half`), call('GET', `${cms}/half`)])
    for (const r of both) expectStatus(r, 404, 'NotFound')
  })

  test('malformed JSON, YAML and protobuf are 400 BadRequest', async () => {
    expectStatus(await call('POST', cms, { body: '{"metadata": {' }), 400, 'BadRequest')
    expectStatus(
      await call('POST', cms, { body: 'metadata: [unclosed', type: 'application/yaml' }),
      400,
      'BadRequest',
    )
    expectStatus(
      await call('POST', cms, {
        body: Buffer.from([0x6b, 0x38, 0x73, 0x00, 0xff, 0xff]),
        type: 'application/vnd.kubernetes.protobuf',
      }),
      400,
      'BadRequest',
    )
    expectStatus(await call('POST', cms, { body: 'hello', type: 'text/plain' }), 415, 'UnsupportedMediaType')
  })

  test('the wrong kind or apiVersion for the URL is 400', async () => {
    expectStatus(
      await call('POST', cms, {
        body: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k' } }),
      }),
      400,
      'BadRequest',
      /does not match the expected kind \(ConfigMap\)/,
    )
    expectStatus(
      await call('POST', cms, {
        body: JSON.stringify({ apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'k' } }),
      }),
      400,
      'BadRequest',
    )
  })

  test('fieldValidation: Strict refuses unknown and duplicate fields, Warn warns, Ignore is silent', async () => {
    const body = '{"metadata":{"name":"fv","name":"fv"},"bogus":1}'
    const strict = await call('POST', `${cms}?fieldValidation=Strict`, { body })
    expectStatus(
      strict,
      400,
      'BadRequest',
      /strict decoding error: duplicate field "metadata\.name", unknown field "bogus"/,
    )
    const warn = await call('POST', `${cms}?fieldValidation=Warn`, { body })
    assert.equal(warn.code, 201)
    assert.match(String(warn.headers.warning), /299 - "duplicate field \\"metadata\.name\\""/)
    assert.match(String(warn.headers.warning), /299 - "unknown field \\"bogus\\""/)
    const ignore = await call('POST', `${cms}?fieldValidation=Ignore`, {
      body: '{"metadata":{"name":"fv2"},"bogus":1}',
    })
    assert.equal(ignore.code, 201)
    assert.equal(ignore.headers.warning, undefined)
    expectStatus(
      await call('POST', `${cms}?fieldValidation=Loose`, { body }),
      400,
      'BadRequest',
      /fieldValidation must be one of/,
    )
  })

  test('a value of the wrong JSON type is 400, as Go decoding refuses it, whatever fieldValidation says', async () => {
    for (const [body, message] of [
      [
        '{"metadata":{"name":"wt1"},"data":{"k":1}}',
        'json: cannot unmarshal number into Go struct field ConfigMap.data of type string',
      ],
      [
        '{"metadata":{"name":"wt2"},"data":"x"}',
        'json: cannot unmarshal string into Go struct field ConfigMap.data of type map[string]string',
      ],
      [
        '{"metadata":{"name":"wt3","labels":{"a":["b"]}}}',
        'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type string',
      ],
    ] as const) {
      for (const validation of ['Strict', 'Ignore']) {
        const r = await call('POST', `${cms}?fieldValidation=${validation}`, { body })
        expectStatus(r, 400, 'BadRequest')
        assert.equal(r.body.message, `ConfigMap in version "v1" cannot be handled as a ConfigMap: ${message}`)
      }
    }
    // A PUT as well; nothing of it is stored.
    assert.equal(
      (await call('POST', cms, { body: '{"metadata":{"name":"wt4"},"data":{"k":"v"}}' })).code,
      201,
    )
    expectStatus(
      await call('PUT', `${cms}/wt4`, { body: '{"metadata":{"name":"wt4"},"data":{"k":true}}' }),
      400,
      'BadRequest',
      /cannot unmarshal bool into Go struct field ConfigMap\.data of type string/,
    )
    assert.deepEqual((await call('GET', `${cms}/wt4`)).body.data, { k: 'v' })
    expectStatus(await call('GET', `${cms}/wt1`), 404, 'NotFound')
  })

  test('a patch that gives a field a value of the wrong type is refused and nothing is stored, in each kind of patch', async () => {
    const deployments = '/apis/apps/v1/namespaces/default/deployments'
    const deployment = {
      metadata: { name: 'typed' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'typed' } },
        template: {
          metadata: { labels: { app: 'typed' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    }
    assert.equal((await call('POST', deployments, { body: JSON.stringify(deployment) })).code, 201)
    const path = `${deployments}/typed`
    const patch = (type: string, body: unknown, query = '') =>
      call('PATCH', `${path}${query}`, { body: JSON.stringify(body), type: `application/${type}` })
    // JSON and merge patches: Go decodes the patched object; the bad value is its JSON.
    for (const [type, body] of [
      ['merge-patch+json', { spec: { replicas: '3' } }],
      ['json-patch+json', [{ op: 'replace', path: '/spec/replicas', value: '3' }]],
    ] as const) {
      const r = await patch(type, body)
      expectStatus(r, 422, 'Invalid')
      const detail =
        'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32'
      const details = r.body.details as { causes: { reason: string; field: string; message: string }[] }
      assert.deepEqual(Object.keys(details), ['causes'], 'no kind or name, as patch.go gives none')
      const [cause] = details.causes
      assert.equal(cause?.reason, 'FieldValueInvalid')
      assert.equal(cause?.field, 'patch')
      assert.match(cause?.message ?? '', /^Invalid value: "\{.*\\"replicas\\":\\"3\\".*\}": json: cannot/)
      assert.ok(cause?.message.endsWith(detail), cause?.message)
      assert.match(String(r.body.message), /^ "" is invalid: patch: Invalid value: /)
    }
    // Strategic merge patches go through the unstructured converter; the bad value is the patch.
    const smp = await patch('strategic-merge-patch+json', {
      spec: { template: { spec: { containers: [{ name: 'c', ports: 'http' }] } } },
    })
    expectStatus(smp, 422, 'Invalid')
    assert.equal(
      (smp.body.details as { causes: { message: string }[] }).causes[0]?.message,
      'Invalid value: "map[spec:map[template:map[spec:map[containers:[map[name:c ports:http]]]]]]": cannot restore slice from string',
    )
    expectStatus(
      await patch('strategic-merge-patch+json', { spec: { replicas: true } }),
      422,
      'Invalid',
      /: unrecognized type: int32$/,
    )
    expectStatus(
      await patch('merge-patch+json', { metadata: { labels: { a: 1 } } }),
      422,
      'Invalid',
      /cannot unmarshal number into Go struct field ObjectMeta\.metadata\.labels of type string$/,
    )
    // Apply: structured-merge-diff names every bad value by its path.
    const applied = await patch(
      'apply-patch+yaml',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'typed' },
        spec: { replicas: 'three', template: { spec: { containers: [{ name: 'c', image: 5 }] } } },
      },
      '?fieldManager=applier&force=true',
    )
    expectStatus(applied, 400, 'BadRequest')
    assert.equal(
      applied.body.message,
      'failed to create typed patch object (apps/v1, Kind=Deployment): errors:\n' +
        '  .spec.replicas: expected numeric (int or float), got string\n' +
        '  .spec.template.spec.containers[name="c"].image: expected string, got &value.valueUnstructured{Value:5}',
    )
    // Nothing of them was stored; a patch of the right type still goes through.
    const stored = (await call('GET', path)).body as typeof deployment & { metadata: { generation: number } }
    assert.equal(stored.spec.replicas, 1)
    assert.equal(stored.metadata.generation, 1)
    assert.equal((await patch('merge-patch+json', { spec: { replicas: 2 } })).code, 200)
  })

  test('a body nested deeper than 1,000 levels is 400, not a 500 from a walk that ran out of stack', async () => {
    const revisions = '/apis/apps/v1/namespaces/default/controllerrevisions'
    // A ControllerRevision's data is a RawExtension: anything goes there but depth.
    const revision = (name: string, depth: number) =>
      `{"metadata":{"name":"${name}"},"revision":1,"data":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`
    assert.equal((await call('POST', revisions, { body: revision('deep-ok', 990) })).code, 201)
    for (const depth of [1000, 5000, 50_000]) {
      expectStatus(
        await call('POST', revisions, { body: revision(`deep-${depth}`, depth) }),
        400,
        'BadRequest',
        /error decoding body: nested deeper than the limit of 1000 levels/,
      )
    }
    const deepPatch = `{"data":{"b":${'['.repeat(5000)}${']'.repeat(5000)}}}`
    expectStatus(
      await call('PATCH', `${revisions}/deep-ok`, { body: deepPatch, type: 'application/merge-patch+json' }),
      400,
      'BadRequest',
      /nested deeper than the limit/,
    )
  })

  test('unknown fields that Warn lets through are dropped, as Go decoding drops them: not stored, not managed', async () => {
    const created = await call('POST', `${cms}?fieldManager=tester`, {
      body: '{"metadata":{"name":"dropped","bogus":1},"bogus":{"a":1},"data":{"k":"v"}}',
    })
    assert.equal(created.code, 201)
    assert.match(String(created.headers.warning), /299 - "unknown field \\"metadata\.bogus\\""/)
    const patched = await call('PATCH', `${cms}/dropped?fieldManager=tester`, {
      body: '{"data":{"k2":"v2"},"spare":true}',
      type: 'application/merge-patch+json',
    })
    assert.equal(patched.code, 200)
    assert.match(String(patched.headers.warning), /299 - "unknown field \\"spare\\""/)
    for (const r of [created, patched, await call('GET', `${cms}/dropped`)]) {
      const o = r.body as { metadata: Record<string, unknown>; data: unknown }
      assert.equal(Object.hasOwn(r.body as object, 'bogus'), false, JSON.stringify(r.body))
      assert.equal(Object.hasOwn(r.body as object, 'spare'), false)
      assert.equal(Object.hasOwn(o.metadata, 'bogus'), false)
      assert.match(JSON.stringify(o.metadata.managedFields), /"manager":"tester"/)
      assert.doesNotMatch(JSON.stringify(o.metadata.managedFields), /bogus|spare/)
    }
    assert.deepEqual((patched.body as { data: unknown }).data, { k: 'v', k2: 'v2' })
    // A null deletes: deleting a field the kind does not have is not reported.
    const deleting = await call('PATCH', `${cms}/dropped`, {
      body: '{"data":{"k3":"v3"},"ghost":null,"metadata":{"labels":{"a":"b"},"phantom":null}}',
      type: 'application/merge-patch+json',
    })
    assert.equal(deleting.code, 200)
    assert.equal(deleting.headers.warning, undefined)
    const strict = await call('PATCH', `${cms}/dropped?fieldValidation=Strict`, {
      body: '{"data":{"k4":"v4"},"metadata":{"extra":{"x":1}}}',
      type: 'application/merge-patch+json',
    })
    expectStatus(strict, 422, 'Invalid', /strict decoding error: unknown field "metadata\.extra"/)
  })

  test('a name that does not match the URL is 400; an unknown resource 404', async () => {
    const created = await call('POST', cms, { body: JSON.stringify({ metadata: { name: 'a' } }) })
    assert.equal(created.code, 201, JSON.stringify(created.body))
    expectStatus(
      await call('PUT', `${cms}/a`, { body: JSON.stringify({ metadata: { name: 'b' } }) }),
      400,
      'BadRequest',
      /the name of the object \(b\) does not match the name on the URL \(a\)/,
    )
    expectStatus(await call('GET', '/api/v1/namespaces/default/nothings'), 404, 'NotFound')
    expectStatus(await call('GET', `${cms}/missing`), 404, 'NotFound', /configmaps "missing" not found/)
  })

  test('an Audit-ID the client names is echoed back; a malformed one is 400', async () => {
    const named = await call('GET', `${cms}`, { headers: { 'Audit-ID': 'bench-42-a' } })
    assert.equal(named.code, 200)
    assert.equal(named.headers['audit-id'], 'bench-42-a')
    const own = await call('GET', `${cms}`)
    assert.match(String(own.headers['audit-id']), /^[0-9a-f-]{36}$/)
    for (const bad of ['-lead', 'has space', 'x'.repeat(257), 'trail-']) {
      const r = await call('GET', cms, { headers: { 'Audit-ID': bad } })
      expectStatus(r, 400, 'BadRequest', /Audit-ID/)
      assert.notEqual(r.headers['audit-id'], bad)
    }
  })

  test('requests without credentials are system:anonymous: 403 but for health and version', async () => {
    expectStatus(
      await call('GET', cms, { anonymous: true }),
      403,
      'Forbidden',
      /^configmaps is forbidden: User "system:anonymous" cannot list resource "configmaps"/,
    )
    assert.equal((await call('GET', '/version', { anonymous: true })).code, 200)
    assert.equal((await call('GET', '/healthz', { anonymous: true })).code, 200)
  })

  test('a request that runs past the deadline gets 504 Timeout', async () => {
    // The deadline is 1 s here (60 s by default); a list at a revision the store has not reached
    // would wait 3 s for it.
    const t0 = performance.now()
    const r = await call('GET', `${cms}?resourceVersion=99999999&resourceVersionMatch=NotOlderThan`)
    expectStatus(r, 504, 'Timeout', /request did not complete within the allotted timeout/)
    assert.ok(performance.now() - t0 < 2900, 'answered at the deadline, not after the 3 s wait')
  })

  test('beyond the in-flight limit, requests get 429 with Retry-After', async () => {
    // Lists at a resourceVersion the store has not reached wait for it (and meet the 1 s
    // deadline): two of them fill the limit of 2.
    const slow = () => call('GET', `${cms}?resourceVersion=99999999&resourceVersionMatch=NotOlderThan`)
    const waiting = [slow(), slow()]
    await new Promise((r) => setTimeout(r, 200))
    const refused = await call('GET', cms)
    expectStatus(refused, 429, 'TooManyRequests')
    assert.equal(refused.headers['retry-after'], '1')
    for (const r of await Promise.all(waiting)) {
      expectStatus(r, 504, 'Timeout', /request did not complete within the allotted timeout/)
    }
    assert.equal((await call('GET', cms)).code, 200, 'served again once the slow ones are done')
  })
})
