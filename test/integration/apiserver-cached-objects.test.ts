import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Deployment } from '../../src/api/generated/types/apps-v1.ts'
import type { Pod } from '../../src/api/generated/types/core-v1.ts'
import type { TestApiServer } from '../support/cluster.ts'

// Every cached object deep-frozen (npm test sets this for the whole suite; set here too, before the
// apiserver's modules load, so that this file checks it run alone as well).
process.env.K8TS_FREEZE_CACHE = '1'
const { startTestApiServer } = await import('../support/cluster.ts')

/**
 * A write starts from the watch cache's object itself, which every reader shares: no write path
 * may change it. With the cached objects frozen, one that did would fail with a 500.
 */
describe('writes leave the cached object they start from as it was', () => {
  let c: TestApiServer
  before(async () => {
    c = await startTestApiServer()
  })
  after(async () => {
    await c.stop()
  })

  const send = async <T = Pod>(method: string, path: string, body: unknown, type = 'application/json') => {
    const r = await c.request(method, path, {
      body: JSON.stringify(body),
      headers: { 'Content-Type': type, Accept: 'application/json' },
    })
    return { code: r.code, obj: JSON.parse(r.body.toString()) as T }
  }
  const get = async <T = Pod>(path: string) => JSON.parse((await c.request('GET', path)).body.toString()) as T
  const pods = '/api/v1/namespaces/default/pods'

  test('pods: PUT of the object and its status, no-op PUT, patches of each type, binding', async () => {
    const created = await send('POST', pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'f', labels: { a: '1' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    })
    assert.equal(created.code, 201, JSON.stringify(created.obj))
    // PUT of the object with a status: the main endpoint keeps the stored status.
    const current = await get(`${pods}/f`)
    const put = await send('PUT', `${pods}/f`, {
      ...current,
      metadata: { ...current.metadata, labels: { a: '2' } },
      status: { phase: 'Running' },
    })
    assert.equal(put.code, 200, JSON.stringify(put.obj))
    assert.equal(put.obj.metadata?.labels?.a, '2')
    assert.equal(put.obj.status?.phase, 'Pending')
    // The same body again changes nothing: the answer is the object as it is.
    const same = await send('PUT', `${pods}/f`, put.obj)
    assert.equal(same.code, 200, JSON.stringify(same.obj))
    assert.equal(same.obj.metadata?.resourceVersion, put.obj.metadata?.resourceVersion)
    // The status endpoint takes the status and keeps the spec.
    const status = await send('PUT', `${pods}/f/status`, {
      ...put.obj,
      spec: { ...put.obj.spec, activeDeadlineSeconds: 5 },
      status: { ...put.obj.status, phase: 'Running' },
    })
    assert.equal(status.code, 200, JSON.stringify(status.obj))
    assert.equal(status.obj.status?.phase, 'Running')
    assert.equal(status.obj.spec?.activeDeadlineSeconds, undefined)
    for (const [type, body] of [
      ['application/json-patch+json', [{ op: 'add', path: '/metadata/labels/j', value: 'x' }]],
      ['application/merge-patch+json', { metadata: { labels: { m: 'x' } } }],
      ['application/strategic-merge-patch+json', { metadata: { labels: { s: 'x' } } }],
    ] as const) {
      const r = await send('PATCH', `${pods}/f`, body, type)
      assert.equal(r.code, 200, JSON.stringify(r.obj))
      const s = await send(
        'PATCH',
        `${pods}/f/status`,
        { status: { message: type } },
        type.includes('json-patch') ? 'application/merge-patch+json' : type,
      )
      assert.equal(s.code, 200, JSON.stringify(s.obj))
      assert.equal(s.obj.status?.message, type)
    }
    const applied = await send(
      'PATCH',
      `${pods}/f?fieldManager=test`,
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'f', annotations: { applied: 'yes' } } },
      'application/apply-patch+yaml',
    )
    assert.equal(applied.code, 200, JSON.stringify(applied.obj))
    const bound = await send('POST', `${pods}/f/binding`, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'f' },
      target: { kind: 'Node', name: 'node-1' },
    })
    assert.equal(bound.code, 201, JSON.stringify(bound.obj))
    const pod = await get(`${pods}/f`)
    assert.deepEqual(pod.metadata?.labels, { a: '2', j: 'x', m: 'x', s: 'x' })
    assert.equal(pod.metadata?.annotations?.applied, 'yes')
    assert.equal(pod.spec?.nodeName, 'node-1')
    assert.equal(pod.status?.phase, 'Running')
  })

  test('deployments: scale, and a spec change that bumps the generation', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments'
    const created = await send('POST', path, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'd' } },
        template: {
          metadata: { labels: { app: 'd' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    })
    assert.equal(created.code, 201, JSON.stringify(created.obj))
    const scaled = await send(
      'PATCH',
      `${path}/d/scale`,
      { spec: { replicas: 3 } },
      'application/merge-patch+json',
    )
    assert.equal(scaled.code, 200, JSON.stringify(scaled.obj))
    const changed = await send(
      'PATCH',
      `${path}/d`,
      { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } },
      'application/strategic-merge-patch+json',
    )
    assert.equal(changed.code, 200, JSON.stringify(changed.obj))
    const d = await get<Deployment>(`${path}/d`)
    assert.equal(d.spec?.replicas, 3)
    assert.equal(d.metadata?.generation, 3)
    assert.equal(d.spec?.template.spec?.containers[0]?.image, 'nginx:2')
  })
})
