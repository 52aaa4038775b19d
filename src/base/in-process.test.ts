import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { describe, test } from 'node:test'
import { MessageChannel } from 'node:worker_threads'
import { Pool } from 'undici'
import { PortSocket } from './in-process.ts'

function pair(window?: number): [PortSocket, PortSocket] {
  const { port1, port2 } = new MessageChannel()
  const o = window === undefined ? {} : { window }
  return [new PortSocket(port1, o), new PortSocket(port2, o)]
}

const read = (s: PortSocket, bytes: number): Promise<string> =>
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

describe('PortSocket', () => {
  test('carries bytes both ways, corked writes as one', async () => {
    const [a, b] = pair()
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
    const [a, b] = pair()
    b.resume()
    a.end('bye')
    await once(b, 'end')
    const [c, d] = pair()
    c.destroy()
    await once(d, 'close')
    assert.equal(d.destroyed, true)
  })

  test('holds writes past the window until the reader reads', async () => {
    const [a, b] = pair(1000)
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
    const [a, b] = pair()
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
        const [client, serverSide] = pair()
        server.emit('connection', serverSide)
        process.nextTick(() => done(null, client as never))
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
