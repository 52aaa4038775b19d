import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SqliteStorage } from '../../storage/sqlite/sqlite.ts'
import { ipAllocator, nthAddress, portAllocator } from './allocator.ts'
import { repairServiceAllocations } from './resources/services.ts'

test('cluster IPs come from the CIDR, never the network or broadcast address, and never twice', async () => {
  const s = SqliteStorage.open({ path: ':memory:' })
  const ips = ipAllocator(s, '10.96.0.0/29') // 6 usable: .1 - .6
  assert.equal(await ips.allocate('10.96.0.1', 'default/kubernetes'), true)
  assert.equal(await ips.allocate('10.96.0.1', 'default/other'), false)
  assert.equal(
    await ips.allocate('10.96.0.1', 'default/kubernetes'),
    true,
    'a retry by the same owner is fine',
  )
  assert.equal(await ips.allocate('10.96.0.0', 'x/y'), false)
  assert.equal(await ips.allocate('10.96.0.7', 'x/y'), false)
  const owners = new Map<string, string>()
  for (let i = 0; i < 5; i++) owners.set((await ips.allocateNext(`ns/s${i}`)) ?? 'none', `ns/s${i}`)
  assert.deepEqual([...owners.keys()].sort(), [
    '10.96.0.2',
    '10.96.0.3',
    '10.96.0.4',
    '10.96.0.5',
    '10.96.0.6',
  ])
  assert.equal(await ips.allocateNext('ns/full'), undefined)
  await ips.release('10.96.0.4', 'ns/wrong-owner')
  assert.equal(await ips.allocateNext('ns/again'), undefined)
  await ips.release('10.96.0.4', owners.get('10.96.0.4') ?? '')
  assert.equal(await ips.allocateNext('ns/again'), '10.96.0.4')
  assert.equal(nthAddress('10.96.0.0/12', 0), '10.96.0.1')
  await s.close()
})

test('repair frees values without an owner and claims the ones services hold', async () => {
  const s = SqliteStorage.open({ path: ':memory:' })
  const ports = portAllocator(s, '30000-30010')
  assert.equal(await ports.allocate('30001', 'ns/gone'), true)
  assert.equal(await ports.allocate('30002', 'ns/kept'), true)
  await ports.repair((_v, owner) => owner === 'ns/kept', new Map([['30005', 'ns/unrecorded']]))
  assert.equal(await ports.allocate('30001', 'ns/new'), true)
  assert.equal(await ports.allocate('30002', 'ns/new'), false)
  assert.equal(await ports.allocate('30005', 'ns/new'), false)
  assert.throws(() => portAllocator(s, '40000-30000'), /invalid port range/)
  await s.close()
})

test('at start, the allocations are made to agree with the stored services', async () => {
  const s = SqliteStorage.open({ path: ':memory:' })
  const ips = ipAllocator(s, '10.96.0.0/24')
  const ports = portAllocator(s, '30000-30010')
  await ips.allocate('10.96.0.9', 'ns/deleted-while-down')
  await ports.allocate('30009', 'ns/deleted-while-down')
  const svc = {
    metadata: { namespace: 'ns', name: 'web' },
    spec: { clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5'], ports: [{ port: 80, nodePort: 30003 }] },
  }
  await repairServiceAllocations([svc], ips, ports)
  assert.equal(await ips.allocate('10.96.0.5', 'ns/other'), false, 'the IP the service holds is recorded')
  assert.equal(await ports.allocate('30003', 'ns/other'), false, 'so is its node port')
  assert.equal(await ips.allocate('10.96.0.9', 'ns/other'), true, 'the IP of a service that is gone is free')
  assert.equal(await ports.allocate('30009', 'ns/other'), true)
  await s.close()
})
