import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Lease } from '../../src/api/generated/types/coordination-v1.ts'
import type { Node } from '../../src/api/generated/types/core-v1.ts'
import { RestClient, type ClientConfig } from '../../src/client/index.ts'
import { startKubelet, type RunningKubelet } from '../../src/kubelet/index.ts'
import { FakeRuntime } from '../../src/kubelet/runtime/fake/fake-runtime.ts'
import { nodeClientConfig, testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/**
 * The kubelet's heartbeat (its Node's status and Lease) goes through a client of its own, as
 * upstream's heartbeatClient: here the pods' client reaches a server that accepts connections and
 * never answers, like an apiserver whose every connection is busy, and the node still registers,
 * takes its Lease and reports Ready.
 */
describe('the kubelet heartbeat client', () => {
  let plane: TestControlPlane
  let nodeClient: ClientConfig
  let silent: Server
  const sockets = new Set<Socket>()
  let kubelet: RunningKubelet | undefined
  const nodeName = 'heartbeat-node-1'

  before(async () => {
    plane = await startTestControlPlane({ readyPods: false, controllers: [] })
    nodeClient = await nodeClientConfig(plane.api, nodeName)
    silent = createServer((s) => {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  })

  after(async () => {
    await kubelet?.stop()
    for (const s of sockets) s.destroy()
    if (silent.listening) await new Promise((resolve) => silent.close(resolve))
    await plane?.stop()
  })

  test('registers the Node and takes its Lease while the pods’ client gets no answer', async () => {
    const port = (silent.address() as { port: number }).port
    const stuck = new RestClient({ ...nodeClient, server: `https://127.0.0.1:${port}`, timeoutMs: 3_000 })
    const heartbeat = new RestClient(nodeClient)
    try {
      kubelet = startKubelet({
        client: stuck,
        heartbeatClient: heartbeat,
        nodeName,
        runtime: new FakeRuntime(),
        log: testLog,
        machine: { cpus: 2, memoryBytes: 4 * 1024 ** 3, internalIP: '127.0.0.1', hostname: nodeName },
      })
      const node = await until(
        () =>
          plane
            .client<Node>('', 'v1', 'nodes')
            .get('', nodeName)
            .catch(() => undefined),
        20_000,
        'the Node to be registered',
      )
      const lease = await until(
        () =>
          plane
            .client<Lease>('coordination.k8s.io', 'v1', 'leases')
            .get('kube-node-lease', nodeName)
            .catch(() => undefined),
        20_000,
        'the node’s Lease',
      )
      assert.equal(lease.spec?.holderIdentity, nodeName)
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready')
      assert.equal(ready?.status, 'True')
      assert.ok(sockets.size > 0, 'the pods’ client did try its server (events, the pod watch)')
    } finally {
      // The pods' client's requests now fail at once, so that stop() need not wait for them.
      const closed = new Promise((resolve) => silent.close(resolve))
      for (const s of sockets) s.destroy()
      await closed
      await kubelet?.stop()
      kubelet = undefined
      await stuck.close()
      await heartbeat.close()
    }
  })
})
