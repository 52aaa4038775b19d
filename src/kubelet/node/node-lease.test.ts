import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import type { Lease } from '../../api/generated/types/coordination-v1.ts'
import type { Node } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiStatusError } from '../../client/index.ts'
import { NodeLeaseController } from './node-lease.ts'

const apiError = (code: number, reason: string) =>
  new ApiStatusError(
    { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code, message: reason },
    code,
  )

/** Leases and Nodes in memory, with resourceVersion preconditions; records writes; can fail the next writes. */
class FakeApi {
  leases = new Map<string, Lease>()
  nodes = new Map<string, Node>()
  writes: string[] = []
  failWrites = 0
  #rv = 1

  readonly leaseClient = {
    get: async (_ns: string, name: string): Promise<Lease> => {
      const l = this.leases.get(name)
      if (!l) throw apiError(404, 'NotFound')
      return structuredClone(l)
    },
    create: async (l: Lease): Promise<Lease> => {
      this.#maybeFail()
      const name = l.metadata?.name ?? ''
      if (this.leases.has(name)) throw apiError(409, 'AlreadyExists')
      this.writes.push('create')
      const stored = {
        ...structuredClone(l),
        metadata: { ...l.metadata, resourceVersion: String(this.#rv++) },
      }
      this.leases.set(name, stored)
      return structuredClone(stored)
    },
    update: async (l: Lease): Promise<Lease> => {
      this.#maybeFail()
      const name = l.metadata?.name ?? ''
      const current = this.leases.get(name)
      if (!current) throw apiError(404, 'NotFound')
      if (l.metadata?.resourceVersion !== current.metadata?.resourceVersion) throw apiError(409, 'Conflict')
      this.writes.push('update')
      const stored = {
        ...structuredClone(l),
        metadata: { ...l.metadata, resourceVersion: String(this.#rv++) },
      }
      this.leases.set(name, stored)
      return structuredClone(stored)
    },
  }

  readonly nodeClient = {
    get: async (_ns: string, name: string): Promise<Node> => {
      const n = this.nodes.get(name)
      if (!n) throw apiError(404, 'NotFound')
      return structuredClone(n)
    },
  }

  /** Someone else writes the Lease (its resourceVersion moves). */
  touch(name: string): void {
    const l = this.leases.get(name)
    if (l?.metadata) l.metadata.resourceVersion = String(this.#rv++)
  }

  #maybeFail(): void {
    if (this.failWrites > 0) {
      this.failWrites--
      throw apiError(500, 'InternalError')
    }
  }
}

const abort = new AbortController()
after(() => abort.abort())

/** Lets the controller's pending promises run (the fake API answers in microtasks). */
const settle = () => new Promise((r) => setImmediate(r))

test('the lease is created at once, renewed every 10 s, and gets its Node as owner once the Node exists', async () => {
  const api = new FakeApi()
  const clock = new FakeClock()
  const c = new NodeLeaseController({ nodeName: 'n1', leases: api.leaseClient, nodes: api.nodeClient, clock })
  const running = c.run(abort.signal)
  await settle()
  const created = api.leases.get('n1')
  assert.deepEqual(created?.spec, {
    holderIdentity: 'n1',
    leaseDurationSeconds: 40,
    renewTime: '2026-01-01T00:00:00.000000Z',
  })
  assert.equal(created?.metadata?.namespace, 'kube-node-lease')
  assert.equal(created?.metadata?.ownerReferences, undefined, 'no Node yet: no owner')

  api.nodes.set('n1', { metadata: { name: 'n1', uid: 'uid-1' } })
  clock.advance(9_999)
  await settle()
  assert.deepEqual(api.writes, ['create'], 'not renewed before 10 s')
  clock.advance(1)
  await settle()
  assert.deepEqual(api.writes, ['create', 'update'])
  const renewed = api.leases.get('n1')
  assert.equal(renewed?.spec?.renewTime, '2026-01-01T00:00:10.000000Z')
  assert.deepEqual(renewed?.metadata?.ownerReferences, [
    { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-1' },
  ])

  // Someone else wrote the Lease: the next renewal conflicts, reads it again and succeeds.
  api.touch('n1')
  clock.advance(10_000)
  await settle()
  assert.deepEqual(api.writes, ['create', 'update', 'update'])
  assert.equal(api.leases.get('n1')?.spec?.renewTime, '2026-01-01T00:00:20.000000Z')
  abort.abort()
  clock.advance(10_000)
  await running
})

test('a renewal that fails is retried after 200 ms, 400 ms, 800 ms, then on the interval again', async () => {
  const api = new FakeApi()
  const clock = new FakeClock()
  const stop = new AbortController()
  api.nodes.set('n2', { metadata: { name: 'n2', uid: 'uid-2' } })
  api.failWrites = 3
  const c = new NodeLeaseController({ nodeName: 'n2', leases: api.leaseClient, nodes: api.nodeClient, clock })
  const running = c.run(stop.signal)
  await settle()
  assert.equal(api.leases.size, 0)
  clock.advance(200)
  await settle()
  clock.advance(400)
  await settle()
  assert.equal(api.leases.size, 0)
  clock.advance(799)
  await settle()
  assert.equal(api.leases.size, 0, 'the third retry waits 800 ms')
  clock.advance(1)
  await settle()
  assert.equal(api.leases.get('n2')?.spec?.renewTime, '2026-01-01T00:00:01.400000Z')
  stop.abort()
  await running
})

test("a kubelet that watches its Node takes the Lease's owner from there, without a GET", async () => {
  const api = new FakeApi()
  const clock = new FakeClock()
  const gets: string[] = []
  const nodes = { get: (ns: string, name: string) => (gets.push(name), api.nodeClient.get(ns, name)) }
  const cache = new Map<string, Node>([['n1', { metadata: { name: 'n1', uid: 'uid-1' } }]])
  const c = new NodeLeaseController({
    nodeName: 'n1',
    leases: api.leaseClient,
    nodes,
    nodeCache: { get: (_ns, name) => cache.get(name) },
    clock,
  })
  const ac = new AbortController()
  const running = c.run(ac.signal)
  await settle()
  assert.deepEqual(api.leases.get('n1')?.metadata?.ownerReferences, [
    { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-1' },
  ])
  assert.deepEqual(gets, [])
  ac.abort()
  await running
})
