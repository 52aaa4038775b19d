import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ConfigMap, Pod, Service } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiStatusError, IndexedCache, Lister, RestClient, type RequestOptions } from '../../client/index.ts'
import { PodResources } from './pod-resources.ts'

/** A RestClient that answers GETs from a map (never connects) and counts them. */
class MapRest extends RestClient {
  readonly objects = new Map<string, unknown>()
  gets: string[] = []
  constructor() {
    super({ server: 'https://127.0.0.1:9' })
  }
  override request<T>(method: string, path: string, _o?: RequestOptions): Promise<T> {
    assert.equal(method, 'GET')
    this.gets.push(path)
    const found = this.objects.get(path)
    if (found === undefined) {
      const name = path.slice(path.lastIndexOf('/') + 1)
      return Promise.reject(
        new ApiStatusError(
          { status: 'Failure', reason: 'NotFound', code: 404, message: `configmaps "${name}" not found` },
          404,
        ),
      )
    }
    return Promise.resolve(structuredClone(found) as T)
  }
}

const cmPath = '/api/v1/namespaces/prod/configmaps/cfg'
const configMap: ConfigMap = { metadata: { name: 'cfg', namespace: 'prod' }, data: { a: '1' } }

test('PodResources: a ConfigMap read is used again within the TTL, then read again', async () => {
  const rest = new MapRest()
  rest.objects.set(cmPath, configMap)
  const clock = new FakeClock()
  const r = new PodResources({ rest, clock, ttlMs: 10_000 })
  assert.deepEqual((await r.configMap('prod', 'cfg'))?.data, { a: '1' })
  assert.deepEqual((await r.configMap('prod', 'cfg'))?.data, { a: '1' })
  assert.equal(rest.gets.length, 1)
  clock.advance(10_000)
  rest.objects.set(cmPath, { ...configMap, data: { a: '2' } })
  assert.deepEqual((await r.configMap('prod', 'cfg'))?.data, { a: '2' })
  assert.equal(rest.gets.length, 2)
})

test('PodResources: a missing object is undefined and not remembered (created later, found at once)', async () => {
  const rest = new MapRest()
  const r = new PodResources({ rest, clock: new FakeClock() })
  assert.equal(await r.configMap('prod', 'cfg'), undefined)
  rest.objects.set(cmPath, configMap)
  assert.deepEqual((await r.configMap('prod', 'cfg'))?.data, { a: '1' })
  assert.equal(await r.secret('prod', 'nope'), undefined)
  assert.deepEqual(rest.gets, [cmPath, cmPath, '/api/v1/namespaces/prod/secrets/nope'])
})

test('PodResources: service variables wait for the first list, except for static pods', () => {
  const cache = new IndexedCache<Service>()
  const services = { hasSynced: false, lister: new Lister(cache) }
  const r = new PodResources({ rest: new MapRest(), clock: new FakeClock(), services })
  const pod: Pod = { metadata: { name: 'p', namespace: 'prod' } }
  assert.throws(
    () => r.serviceEnv(pod),
    /services have not yet been read at least once, cannot construct envvars/,
  )
  const staticPod: Pod = {
    metadata: { name: 'p', namespace: 'prod', annotations: { 'kubernetes.io/config.source': 'file' } },
  }
  assert.deepEqual(r.serviceEnv(staticPod), {})
  services.hasSynced = true
  assert.deepEqual(r.serviceEnv(pod), {})
  assert.deepEqual(new PodResources({ rest: new MapRest(), clock: new FakeClock() }).serviceEnv(pod), {})
})

test('PodResources: the node allocatable as last seen', () => {
  const r = new PodResources({
    rest: new MapRest(),
    clock: new FakeClock(),
    node: () => ({ status: { allocatable: { cpu: '4', memory: '8Gi' } } }),
  })
  assert.deepEqual(r.nodeAllocatable(), { cpu: '4', memory: '8Gi' })
})
