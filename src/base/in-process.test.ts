import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { describe, test } from 'node:test'
import { MessageChannel } from 'node:worker_threads'
import { Pool } from 'undici'
import { type InProcessHello, Link, LinkSocket } from './in-process.ts'

/** A link and the accepting side of it; `refuse` turns connections away. */
function link(o: { window?: number; refuse?: boolean } = {}) {
  const { port1, port2 } = new MessageChannel()
  const window = o.window === undefined ? {} : { window: o.window }
  const accepted: { hello: InProcessHello; socket: LinkSocket }[] = []
  const waiting: (() => void)[] = []
  const server = new Link(port2, {
    accept: (hello, end) => {
      if (o.refuse) return undefined
      const socket = new LinkSocket(end, window)
      accepted.push({ hello, socket })
      for (const w of waiting.splice(0)) w()
      return socket
    },
  })
  const client = new Link(port1)
  /** Opens a connection and waits for the other side to accept it. */
  const open = async (hello: InProcessHello = {}): Promise<[LinkSocket, LinkSocket]> => {
    const a = client.open(hello, window)
    const want = accepted.length + 1
    while (accepted.length < want) await new Promise<void>((r) => waiting.push(r))
    return [a, (accepted[want - 1] as { socket: LinkSocket }).socket]
  }
  return { client, server, port1, accepted, open }
}

const pair = async (window?: number) => link(window === undefined ? {} : { window }).open()

const read = (s: LinkSocket, bytes: number): Promise<string> =>
  new Promise((resolve) => {
    let text = ''
    const take = (d: Buffer) => {
      text += d.toString()
      if (text.length >= bytes) {
        s.off('data', take)
        resolve(text)
      }
    }
    s.on('data', take)
  })

describe('LinkSocket', () => {
  test('carries bytes both ways, corked writes as one', async () => {
    const [a, b] = await pair()
    const got = read(b, 11)
    a.cork()
    a.write('hello ')
    a.write(Buffer.from('world'))
    a.uncork()
    assert.equal(await got, 'hello world')
    const back = read(a, 2)
    b.write('ok')
    assert.equal(await back, 'ok')
    a.destroy()
    await once(b, 'close')
  })

  test('ends: the other side reads the end, and closing one side closes the other', async () => {
    const [a, b] = await pair()
    b.resume()
    a.end('bye')
    await once(b, 'end')
    const [c, d] = await pair()
    c.destroy()
    await once(d, 'close')
    assert.equal(d.destroyed, true)
  })

  test('holds writes past the window until the reader reads', async () => {
    const [a, b] = await pair(1000)
    b.pause()
    // A paused reader buffers up to its highWaterMark (64 KiB), then the window (1 KB) fills.
    let done = 0
    for (let i = 0; i < 100; i++) a.write(Buffer.alloc(1000, 'x'), () => done++)
    await new Promise((r) => setTimeout(r, 50))
    assert.ok(done < 100, `every write completed (${done}) while nothing was read`)
    assert.ok(a.writableLength > 0, 'what waits counts as buffered, as a socket shows it')
    let total = 0
    b.on('data', (d: Buffer) => (total += d.length))
    b.resume()
    await once(a, 'drain')
    await new Promise((r) => setTimeout(r, 20))
    assert.equal(done, 100)
    assert.equal(total, 100_000)
    a.destroy()
  })

  test('times out when idle, as setTimeout asks', async () => {
    const [a, b] = await pair()
    const t0 = Date.now()
    a.setTimeout(50)
    await once(a, 'timeout')
    assert.ok(Date.now() - t0 >= 45)
    assert.equal(a.timeout, 50)
    a.destroy()
    await once(b, 'close')
  })

  test('serves HTTP/1.1 between node:http and undici, with keep-alive', async () => {
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => res.end(JSON.stringify({ url: req.url, body })))
    })
    let connections = 0
    const pool = new Pool('http://in-process', {
      connect: (_o, done) => {
        connections++
        void pair().then(([client, serverSide]) => {
          server.emit('connection', serverSide)
          done(null, client as never)
        })
      },
    })
    for (let i = 0; i < 3; i++) {
      // (undici checks an idle connection for a moment before it reuses it.)
      await new Promise((r) => setTimeout(r, 5))
      const r = await pool.request({ method: 'POST', path: `/p${i}`, body: `b${i}` })
      assert.equal(r.statusCode, 200)
      assert.deepEqual(await r.body.json(), { url: `/p${i}`, body: `b${i}` })
    }
    assert.equal(connections, 1)
    await pool.close()
    server.closeAllConnections()
  })
})

describe('Link', () => {
  test('carries the connections of one turn in one message, each its own bytes, in order', async () => {
    const l = link()
    const pairs = [await l.open({ certificate: 'pem' }), await l.open(), await l.open()]
    assert.deepEqual(
      l.accepted.map((a) => a.hello),
      [{ certificate: 'pem' }, {}, {}],
    )
    let messages = 0
    const post = l.port1.postMessage.bind(l.port1)
    l.port1.postMessage = (...args: Parameters<typeof post>) => {
      messages++
      post(...args)
    }
    const got = pairs.map(([, b]) => read(b, 2 * 3))
    for (let round = 0; round < 3; round++) for (const [i, [a]] of pairs.entries()) a.write(`${i}${round}`)
    assert.deepEqual(await Promise.all(got), ['000102', '101112', '202122'])
    assert.equal(messages, 1)
    for (const [a] of pairs) a.destroy()
  })

  test('sends what was written even when the writer reuses its buffer once the write is done', async () => {
    const [a, b] = await link().open()
    const got = read(b, 6)
    const scratch = Buffer.from('abc')
    // (Both writes in one turn of the loop: the batch that carries them goes at its end.)
    await new Promise((done) => a.write(scratch, done))
    scratch.fill('z')
    a.write(scratch)
    assert.equal(await got, 'abczzz')
    a.destroy()
  })

  test('a connection the other side refuses closes at once', async () => {
    const l = link({ refuse: true })
    const a = l.client.open({ certificate: 'not trusted' })
    await once(a, 'close')
    assert.equal(a.destroyed, true)
  })

  test('closing a link closes its connections, and it opens no more', async () => {
    const l = link()
    const [a, b] = await l.open()
    l.server.close()
    await Promise.all([once(a, 'close'), once(b, 'close')])
    assert.equal(l.client.closed, true)
    const c = l.client.open()
    const [err] = (await once(c, 'error')) as [Error]
    assert.match(err.message, /closed/)
  })
})
