import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { ApiStatusError } from './errors.ts'
import { RestClient, withoutManagedFieldsText } from './rest.ts'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

async function serve(handler: Handler): Promise<{ url: string; server: Server; sockets: () => number }> {
  const server = createServer(handler)
  let open = 0
  let most = 0
  server.on('connection', (s) => {
    open++
    most = Math.max(most, open)
    s.on('close', () => open--)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, server, sockets: () => most }
}

async function close(server: Server, rest: RestClient): Promise<void> {
  await rest.close()
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

const status = (code: number, reason: string) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message: reason })

test('a 429 with Retry-After is tried again after the time it names, body and all', async () => {
  const bodies: string[] = []
  const { url, server } = await serve((req, res) => {
    let b = ''
    req.on('data', (c: Buffer) => (b += c.toString()))
    req.on('end', () => {
      bodies.push(b)
      if (bodies.length === 1) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
        res.end(status(429, 'TooManyRequests'))
      } else {
        res.writeHead(201, { 'content-type': 'application/json' })
        res.end(b)
      }
    })
  })
  const rest = new RestClient({ server: url })
  try {
    const out = await rest.request<{ a: number }>('POST', '/api/v1/things', { body: { a: 1 } })
    assert.deepEqual(out, { a: 1 })
    assert.deepEqual(bodies, ['{"a":1}', '{"a":1}'])
  } finally {
    await close(server, rest)
  }
})

test('a 429 without Retry-After (an eviction a budget refuses) is the caller’s, at once', async () => {
  let calls = 0
  const { url, server } = await serve((_req, res) => {
    calls++
    res.writeHead(429, { 'content-type': 'application/json' })
    res.end(status(429, 'TooManyRequests'))
  })
  const rest = new RestClient({ server: url })
  try {
    await assert.rejects(rest.request('POST', '/api/v1/namespaces/d/pods/p/eviction', { body: {} }), (e) => {
      assert.ok(e instanceof ApiStatusError)
      assert.equal(e.code, 429)
      return true
    })
    assert.equal(calls, 1)
  } finally {
    await close(server, rest)
  }
})

test('requests share a bounded set of connections, and open watches do not take them', async () => {
  const { url, server, sockets } = await serve((req, res) => {
    if (req.url?.includes('watch=true')) {
      // A watch: headers now, events never; it lasts until the client goes.
      res.writeHead(200, { 'content-type': 'application/json' })
      res.flushHeaders()
      return
    }
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    }, 5)
  })
  const rest = new RestClient({ server: url, maxConnections: 2 })
  const ac = new AbortController()
  try {
    const watches = [1, 2, 3].map(async () => {
      for await (const _ of rest.watch('/api/v1/pods', {}, ac.signal)) void _
    })
    const answers = await Promise.all(Array.from({ length: 40 }, () => rest.request('GET', '/api/v1/pods/x')))
    assert.equal(answers.length, 40)
    assert.ok(sockets() <= 2 + 3, `at most 2 request connections beside 3 watches, saw ${sockets()} sockets`)
    ac.abort()
    await Promise.allSettled(watches)
  } finally {
    await close(server, rest)
  }
})

test('send reads a successful answer to its end undecoded, large or small, on one kept connection; an abort rejects', async () => {
  const large = JSON.stringify({ data: 'x'.repeat(300_000) })
  const { url, server, sockets } = await serve((req, res) => {
    req.resume()
    req.on('end', () => {
      if (req.url === '/slow') {
        // Headers and a first part now, the rest never: the caller gives up.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
        res.write('{"a":')
        return
      }
      res.writeHead(201, { 'content-type': 'application/json' })
      res.end(req.url === '/large' ? large : 'not JSON, and not read as JSON')
    })
  })
  const rest = new RestClient({ server: url, maxConnections: 1 })
  try {
    for (const path of ['/small', '/large', '/small', '/large']) {
      assert.equal(await rest.send('POST', path, { body: {} }), undefined)
    }
    assert.equal(sockets(), 1, 'the answers were read off the connection, which was used again')
    const ac = new AbortController()
    const slow = rest.send('POST', '/slow', { body: {}, signal: ac.signal })
    setTimeout(() => ac.abort(), 50)
    await assert.rejects(slow)
  } finally {
    await close(server, rest)
  }
})

test('watch events split anywhere across chunks, inside a character too, arrive whole', async () => {
  const events = [
    { type: 'ADDED', object: { metadata: { name: 'a' }, data: { note: 'größer → 🚀' } } },
    { type: 'MODIFIED', object: { metadata: { name: 'a' }, data: { note: 'ünïcödé' } } },
    { type: 'DELETED', object: { metadata: { name: 'b' } } },
  ]
  const bytes = Buffer.from(events.map((e) => JSON.stringify(e) + '\n').join(''))
  const { url, server } = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    // Three bytes at a time (a multi-byte character is cut), each written on its own, with the
    // last event's newline left out: the end of the stream ends it.
    let at = 0
    const next = () => {
      if (at >= bytes.length - 1) return void res.end()
      res.write(bytes.subarray(at, Math.min(at + 3, bytes.length - 1)), () => setImmediate(next))
      at += 3
    }
    next()
  })
  const rest = new RestClient({ server: url })
  try {
    const got: unknown[] = []
    for await (const e of rest.watch('/api/v1/configmaps', {})) got.push(e)
    assert.deepEqual(got, events)
  } finally {
    await close(server, rest)
  }
})

test('withoutManagedFieldsText takes out the object’s metadata.managedFields and nothing else', () => {
  const fields = { 'f:metadata': { 'f:labels': { 'f:a]"{': {} } }, 'f:spec': { 'k:{"name":"[x]\\\\"}': {} } }
  const managed = [{ manager: 'm', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: fields }]
  const line = (metadata: Record<string, unknown>, spec: Record<string, unknown> = {}) =>
    JSON.stringify({ type: 'MODIFIED', object: { kind: 'Pod', metadata, spec } })
  const strip = (l: string) => JSON.parse(withoutManagedFieldsText(l)) as unknown

  // First, last and only member of metadata; strings with brackets, quotes and backslashes inside.
  for (const metadata of [
    { managedFields: managed, name: 'a' },
    { name: 'a', labels: { managedFields: 'x' }, managedFields: managed },
    { managedFields: managed },
  ]) {
    const { managedFields: _, ...rest } = metadata
    assert.deepEqual(strip(line(metadata)), JSON.parse(line(rest)))
  }
  // Only there: the same key deeper down, or a string that reads like it, is left alone.
  const deeper = line({ name: 'a' }, { template: { metadata: { managedFields: managed } } })
  assert.equal(withoutManagedFieldsText(deeper), deeper)
  const inString = line({ name: 'a', annotations: { note: '"managedFields":[1]' } })
  assert.equal(withoutManagedFieldsText(inString), inString)
})
