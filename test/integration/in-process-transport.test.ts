import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { ConfigMap } from '../../src/api/generated/types/core-v1.ts'
import {
  builtin,
  loadKubeconfig,
  ResourceClient,
  RestClient,
  TransportError,
  type WatchEvent,
} from '../../src/client/index.ts'
import { startTestApiServer, type TestApiServer } from '../support/cluster.ts'

/**
 * The in-process transport (src/base/in-process.ts): what components in the apiserver's process
 * use instead of HTTPS. The same requests get the same answers, watches stream, a component
 * when the apiserver stops its clients fail rather than hang. (Identities and refused
 * certificates: authentication.test.ts; a component thread on it: scheduler-thread.test.ts.)
 */
for (const workers of [0, 2]) {
  describe(`the in-process transport (${workers === 0 ? 'one front' : `${workers} worker fronts`})`, () => {
    let c: TestApiServer
    let rest: RestClient

    before(async () => {
      c = await startTestApiServer({ workers })
      rest = new RestClient({
        ...loadKubeconfig(c.server.adminKubeconfig),
        inProcess: c.server.inProcessListener(),
      })
    })
    after(async () => {
      await rest.close()
      await c.stop()
    })

    test('answers as HTTPS does, errors included, and streams watches', async () => {
      const configmaps = new ResourceClient<ConfigMap>(rest, builtin('', 'v1', 'configmaps'))
      const ac = new AbortController()
      const seen: WatchEvent<ConfigMap>[] = []
      const watching = (async () => {
        for await (const e of rest.watch<ConfigMap>('/api/v1/namespaces/default/configmaps', {}, ac.signal)) {
          seen.push(e)
          if (seen.length === 5) ac.abort()
        }
      })().catch((err: unknown) => {
        if (!ac.signal.aborted) throw err
      })
      const big = 'x'.repeat(900_000)
      const created = await configmaps.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cm1', namespace: 'default' },
        data: { big },
      })
      assert.equal(created.data?.big?.length, big.length)
      const viaHttps = await c.request('GET', '/api/v1/namespaces/default/configmaps/cm1')
      const viaInProcess = await rest.request<ConfigMap>('GET', '/api/v1/namespaces/default/configmaps/cm1')
      assert.deepEqual(viaInProcess, JSON.parse(viaHttps.body.toString()))
      // An answer larger than the flow-control window (1 MiB) comes whole.
      await configmaps.create({ ...created, metadata: { name: 'cm2', namespace: 'default' } })
      const list = await configmaps.list('default')
      assert.deepEqual(
        list.items.map((cm) => cm.data?.big?.length),
        [big.length, big.length],
      )
      await configmaps.delete('default', 'cm2')
      await configmaps.update({ ...created, data: { small: 'y' } })
      await configmaps.delete('default', 'cm1')
      await assert.rejects(configmaps.get('default', 'cm1'), /configmaps "cm1" not found/)
      await watching
      assert.deepEqual(
        seen.map((e) => e.type),
        ['ADDED', 'ADDED', 'DELETED', 'MODIFIED', 'DELETED'],
      )
    })
  })
}

describe('the in-process transport when the apiserver stops', () => {
  test('its clients fail at once instead of waiting', async () => {
    const other = await startTestApiServer()
    const rest = new RestClient({
      ...loadKubeconfig(other.server.adminKubeconfig),
      inProcess: other.server.inProcessListener(),
    })
    try {
      await rest.request('GET', '/api/v1/namespaces')
      await other.stop()
      await assert.rejects(
        rest.request('GET', '/api/v1/namespaces'),
        (err: unknown) => err instanceof TransportError,
      )
    } finally {
      await rest.close()
    }
  })
})
