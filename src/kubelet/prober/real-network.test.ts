import assert from 'node:assert/strict'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { realProbeNetwork } from './real-network.ts'

/** The real network against servers on loopback only. */
describe('real probe network (loopback)', () => {
  let server: http.Server
  let port = 0
  const seen: http.IncomingHttpHeaders[] = []
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers)
      if (req.url === '/moved') res.writeHead(302, { location: '/ok' }).end()
      else res.writeHead(req.url === '/ok' ? 200 : 500).end('body')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  })
  after(() => new Promise<void>((r) => server.close(() => r())))

  test('httpGet: status, body, Location, and the headers given', async () => {
    const headers = new Map([['User-Agent', ['kube-probe/1.35']]])
    const r = await realProbeNetwork.httpGet({
      scheme: 'http',
      host: '127.0.0.1',
      port,
      path: '/moved',
      headers,
      timeoutMs: 2000,
    })
    assert.deepEqual(r, { statusCode: 302, location: '/ok', body: '' })
    const ok = await realProbeNetwork.httpGet({
      scheme: 'http',
      host: '127.0.0.1',
      port,
      path: '/ok',
      headers,
      timeoutMs: 2000,
    })
    assert.deepEqual(ok, { statusCode: 200, location: undefined, body: 'body' })
    assert.equal(seen.at(-1)?.['user-agent'], 'kube-probe/1.35')
  })

  test('dialTcp: a listening port connects; a closed one is refused in Go wording', async () => {
    await realProbeNetwork.dialTcp({ host: '127.0.0.1', port, timeoutMs: 2000 })
    const closed = http.createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const closedPort = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    await assert.rejects(realProbeNetwork.dialTcp({ host: '127.0.0.1', port: closedPort, timeoutMs: 2000 }), {
      message: `dial tcp 127.0.0.1:${closedPort}: connect: connection refused`,
    })
  })
})
