import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApiServer, type TestApiServer } from '../support/cluster.ts'

/** Secret stringData: written into data as Kubernetes' v1 conversion does, and never stored. */
describe('Secrets', () => {
  let c: TestApiServer
  before(async () => {
    c = await startTestApiServer()
  })
  after(async () => {
    await c.stop()
  })

  const json = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const r = await c.request(method, path, {
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      headers: { 'Content-Type': type, Accept: 'application/json' },
    })
    return { code: r.code, body: JSON.parse(r.body.toString()) as Record<string, unknown> }
  }
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
  const secrets = '/api/v1/namespaces/default/secrets'

  test('stringData goes into data (over a key of the same name) and is not kept', async () => {
    const created = await json('POST', secrets, {
      metadata: { name: 's1' },
      data: { a: b64('from data'), b: b64('kept') },
      stringData: { a: 'from stringData', c: 'ünïcode' },
    })
    assert.equal(created.code, 201, JSON.stringify(created.body))
    assert.deepEqual(created.body.data, { a: b64('from stringData'), b: b64('kept'), c: b64('ünïcode') })
    assert.equal(created.body.stringData, undefined)
    const got = await json('GET', `${secrets}/s1`)
    assert.deepEqual(got.body.data, created.body.data)
    assert.equal(got.body.stringData, undefined)

    const patched = await json(
      'PATCH',
      `${secrets}/s1`,
      { stringData: { b: 'changed' } },
      'application/merge-patch+json',
    )
    assert.equal(patched.code, 200, JSON.stringify(patched.body))
    assert.deepEqual(patched.body.data, { a: b64('from stringData'), b: b64('changed'), c: b64('ünïcode') })
    assert.equal(patched.body.stringData, undefined)
  })

  test('a stringData key that is not a valid key is refused as data keys are', async () => {
    const r = await json('POST', secrets, { metadata: { name: 's2' }, stringData: { 'bad/key': 'x' } })
    assert.equal(r.code, 422, JSON.stringify(r.body))
    assert.match(String(r.body.message), /bad\/key/)
  })
})
