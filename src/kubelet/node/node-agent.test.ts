import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node } from '../../api/generated/types/core-v1.ts'
import { applyMergePatch } from '../../api/patch/merge-patch.ts'
import { applyStrategicMergePatch } from '../../api/patch/strategic-merge-patch.ts'
import { schemaForKind } from '../../api/schema.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiStatusError, type PatchOptions, type PatchType } from '../../client/index.ts'
import { FakeRuntime } from '../runtime/fake/fake-runtime.ts'
import { deepFreeze } from '../../api/object.ts'
import type { MachineInfo } from './machine.ts'
import { NodeStatusAgent, type NodeStatusOptions } from './node-agent.ts'

const apiError = (code: number, reason: string) =>
  new ApiStatusError(
    { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code, message: reason },
    code,
  )

const nodeSchema = schemaForKind({ group: '', version: 'v1', kind: 'Node' })

/** Nodes in memory; records every write as `verb[/subresource]`; can fail the next writes. */
class FakeNodes {
  nodes = new Map<string, Node>()
  writes: string[] = []
  failWrites = 0

  get = async (_ns: string, name: string): Promise<Node> => {
    const n = this.nodes.get(name)
    if (!n) throw apiError(404, 'NotFound')
    return structuredClone(n)
  }

  create = async (n: Node): Promise<Node> => {
    this.#maybeFail()
    const name = n.metadata?.name ?? ''
    if (this.nodes.has(name)) throw apiError(409, 'AlreadyExists')
    this.writes.push('create')
    this.nodes.set(name, { ...structuredClone(n), metadata: { ...n.metadata, uid: `uid-${name}` } })
    return structuredClone(n)
  }

  patch = async (
    _ns: string,
    name: string,
    type: PatchType,
    patch: unknown,
    o: PatchOptions = {},
  ): Promise<Node> => {
    this.#maybeFail()
    const current = this.nodes.get(name)
    if (!current) throw apiError(404, 'NotFound')
    assert.equal(type, 'strategic')
    const next = applyStrategicMergePatch(current, patch, nodeSchema) as Node
    // nodes/status takes only the status; the Node itself keeps its status.
    const stored =
      o.subresource === 'status' ? { ...current, status: next.status } : { ...next, status: current.status }
    this.writes.push(o.subresource ? `patch/${o.subresource}` : 'patch')
    this.nodes.set(name, stored)
    return structuredClone(stored)
  }

  patchUnread = async (
    ns: string,
    name: string,
    type: PatchType,
    patch: unknown,
    o: PatchOptions = {},
  ): Promise<void> => {
    await this.patch(ns, name, type, patch, o)
  }

  #maybeFail(): void {
    if (this.failWrites > 0) {
      this.failWrites--
      throw apiError(503, 'ServiceUnavailable')
    }
  }
}

const machine: MachineInfo = {
  cpus: 2,
  memoryBytes: 4 * 1024 ** 3,
  ephemeralStorageBytes: 20 * 1024 ** 3,
  hugePageSizes: [],
  machineID: 'm',
  systemUUID: 'u',
  bootID: 'b',
  kernelVersion: '6.1.0',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  operatingSystem: 'linux',
  architecture: 'amd64',
  hostname: 'n1',
  internalIP: '10.0.0.1',
}

const recorded: string[] = []
const setup = (nodes: FakeNodes, extra: Partial<NodeStatusOptions> = {}) => {
  const clock = new FakeClock()
  const runtime = new FakeRuntime({ clock })
  const agent = new NodeStatusAgent({
    nodeName: 'n1',
    nodes,
    runtime,
    recorder: { event: (_obj, _type, reason) => void recorded.push(reason) },
    clock,
    machine,
    nodeLabels: { tier: 'gold' },
    registerWithTaints: [{ key: 'dedicated', effect: 'NoSchedule' }],
    ...extra,
  })
  return { clock, runtime, agent }
}

const settle = () => new Promise((r) => setImmediate(r))

test('an existing Node is kept: the default labels come back, --node-labels and taints stay as the cluster has them', async () => {
  const nodes = new FakeNodes()
  nodes.nodes.set('n1', {
    metadata: { name: 'n1', uid: 'old', labels: { 'kubernetes.io/hostname': 'other', custom: 'x' } },
    spec: { taints: [{ key: 'admin', effect: 'NoExecute' }] },
  })
  const { agent } = setup(nodes)
  await agent.register()
  assert.deepEqual(nodes.writes, ['patch', 'patch/status'])
  const node = nodes.nodes.get('n1')
  assert.equal(node?.metadata?.uid, 'old')
  assert.deepEqual(node?.metadata?.labels, {
    'kubernetes.io/hostname': 'n1',
    custom: 'x',
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
  })
  assert.deepEqual(node?.metadata?.annotations, {
    'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
  })
  assert.deepEqual(node?.spec?.taints, [{ key: 'admin', effect: 'NoExecute' }])
  assert.equal(node?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True')
})

test('registration is retried with backoff (100 ms doubling) while the apiserver fails', async () => {
  const nodes = new FakeNodes()
  nodes.failWrites = 2
  const { agent, clock } = setup(nodes)
  const stop = new AbortController()
  let registered = false
  const running = agent.run(stop.signal, () => (registered = true))
  await settle()
  clock.advance(100)
  await settle()
  assert.equal(registered, false)
  clock.advance(199)
  await settle()
  assert.equal(registered, false)
  clock.advance(1)
  await settle()
  assert.equal(registered, true)
  assert.deepEqual(nodes.writes, ['create'])
  assert.deepEqual(nodes.nodes.get('n1')?.spec?.taints, [{ key: 'dedicated', effect: 'NoSchedule' }])
  stop.abort()
  await running
})

test('a new podCIDR goes to the runtime (again next round if refused) and the status is written even if nothing else changed', async () => {
  const nodes = new FakeNodes()
  const { agent, runtime } = setup(nodes)
  await agent.register()
  await agent.updateNodeStatus()
  assert.equal(agent.patches, 0)
  const node = nodes.nodes.get('n1')
  nodes.nodes.set(
    'n1',
    applyMergePatch(node, { spec: { podCIDR: '10.1.0.0/24', podCIDRs: ['10.1.0.0/24'] } }) as Node,
  )
  runtime.failNext('updateRuntimeConfig', new Error('runtime busy'))
  await agent.updateNodeStatus()
  assert.equal(agent.patches, 0, 'a refused podCIDR does not stop the status round')
  await agent.updateNodeStatus()
  assert.equal(agent.patches, 1)
  assert.deepEqual(
    runtime.calls('updateRuntimeConfig').map((c) => c.request),
    [1, 2].map(() => ({ runtimeConfig: { networkConfig: { podCidr: '10.1.0.0/24' } } })),
  )
  await agent.updateNodeStatus()
  assert.equal(agent.patches, 1, 'the same podCIDR is not handed over again')
})

test('with a node cache, a status round reads the Node there first, and GETs it when the cache lacks it or the write failed', async () => {
  const nodes = new FakeNodes()
  let gets = 0
  const counting = { ...nodes, get: (ns: string, name: string) => (gets++, nodes.get(ns, name)) }
  const cache = new Map<string, Node>()
  const { agent, clock } = setup(counting as unknown as FakeNodes, {
    nodeCache: { get: (_ns, name) => cache.get(name) },
  })
  await agent.register()
  gets = 0
  await agent.updateNodeStatus()
  assert.equal(gets, 1, 'not in the cache yet: read from the apiserver')
  // The cache's objects are shared: a status round must not change them (frozen, a change throws).
  const cached = deepFreeze(structuredClone(nodes.nodes.get('n1') as Node))
  cache.set('n1', cached)
  clock.advance(6 * 60_000)
  await agent.updateNodeStatus()
  assert.equal(gets, 1, 'in the cache: no GET')
  assert.equal(agent.patches, 1, 'the report fell due: written from the cached copy')
  // A stale cached copy still gives a right status: the patch is computed against it.
  clock.advance(6 * 60_000)
  nodes.failWrites = 1
  await agent.updateNodeStatus()
  assert.equal(gets, 2, 'the retry after the failed write GETs the Node')
  assert.equal(agent.patches, 2)
})

test('a removed os or arch label is put back', async () => {
  const nodes = new FakeNodes()
  const { agent } = setup(nodes)
  await agent.register()
  const node = nodes.nodes.get('n1')
  delete node?.metadata?.labels?.['kubernetes.io/os']
  await agent.updateNodeStatus()
  assert.equal(nodes.nodes.get('n1')?.metadata?.labels?.['kubernetes.io/os'], 'linux')
})

test('pulled images and the runtime handlers show in the status; a new image is a change worth a write', async () => {
  const nodes = new FakeNodes()
  const { agent, runtime } = setup(nodes)
  await agent.register()
  assert.deepEqual(nodes.nodes.get('n1')?.status?.runtimeHandlers, [
    { name: '', features: { recursiveReadOnlyMounts: false, userNamespaces: false } },
  ])
  assert.equal(nodes.nodes.get('n1')?.status?.images, undefined)
  await runtime.pullImage({ image: { image: 'nginx:1.27' } })
  await agent.updateNodeStatus()
  assert.equal(agent.patches, 1)
  const images = nodes.nodes.get('n1')?.status?.images ?? []
  assert.equal(images.length, 1)
  assert.ok(images[0]?.names?.includes('docker.io/library/nginx:1.27'), JSON.stringify(images))
  assert.ok((images[0]?.sizeBytes ?? 0) > 0)
})
