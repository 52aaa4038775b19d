import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { kubectlMissing, startTestApiServer, type TestApiServer } from '../support/cluster.ts'

/**
 * The apiserver serving from worker threads (`--workers`): several fronts with their own caches on
 * one store and one port. Whatever front a connection lands on, a client sees its own writes, the
 * store decides what must be unique (Service cluster IPs), and /metrics counts every front.
 */
describe('the apiserver with two worker threads', () => {
  let c: TestApiServer

  /** One request on a connection of its own, so that requests spread over the workers. */
  const call = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ code: number; body: Record<string, unknown>; text: string }> => {
    const r = await c.request(method, path, {
      freshConnection: true,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = r.body.toString()
    let parsed: Record<string, unknown> = {}
    try {
      parsed = JSON.parse(text) as Record<string, unknown>
    } catch {
      parsed = {}
    }
    return { code: r.code, body: parsed, text }
  }

  before(async () => {
    c = await startTestApiServer({ workers: 2 })
  })
  after(async () => {
    await c.stop()
  })

  test('every write is seen at once by the next read, whichever worker serves either', async () => {
    for (let i = 0; i < 40; i++) {
      const name = `cm-${i}`
      const created = await call('POST', '/api/v1/namespaces/default/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
        data: { round: '1' },
      })
      assert.equal(created.code, 201, created.text)
      const got = await call('GET', `/api/v1/namespaces/default/configmaps/${name}`)
      assert.equal(got.code, 200, got.text)
      const updated = await call('PUT', `/api/v1/namespaces/default/configmaps/${name}`, {
        ...got.body,
        data: { round: '2' },
      })
      assert.equal(updated.code, 200, updated.text)
      const list = await call('GET', '/api/v1/namespaces/default/configmaps')
      const items = list.body.items as { metadata: { name: string }; data: { round: string } }[]
      assert.equal(items.find((o) => o.metadata.name === name)?.data.round, '2')
    }
  })

  test('Services created through both workers never share a cluster IP', async () => {
    const ips = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const r = await call('POST', '/api/v1/namespaces/default/services', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: `svc-${i}` },
          spec: { ports: [{ port: 80 }], type: 'NodePort' },
        })
        assert.equal(r.code, 201, r.text)
        const spec = r.body.spec as { clusterIP: string; ports: { nodePort: number }[] }
        return { ip: spec.clusterIP, nodePort: spec.ports[0]?.nodePort }
      }),
    )
    assert.equal(new Set(ips.map((x) => x.ip)).size, 30)
    assert.equal(new Set(ips.map((x) => x.nodePort)).size, 30)
  })

  test('/metrics counts the requests of every worker', async () => {
    const before = await call('GET', '/metrics')
    const total = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('apiserver_request_total{') && l.includes('resource="namespaces"'))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
    for (let i = 0; i < 20; i++) assert.equal((await call('GET', '/api/v1/namespaces/default')).code, 200)
    const afterText = (await call('GET', '/metrics')).text
    assert.equal(total(afterText) - total(before.text), 20)
  })

  test('/metrics gauges the open watches and times the store requests of every worker', async () => {
    const sample = (text: string, name: string, labels: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
    const watchers = (text: string) =>
      sample(text, 'apiserver_registered_watchers', 'group="",version="v1",kind="Secret"')
    const stored = (text: string, operation: string) =>
      sample(text, 'etcd_request_duration_seconds_count', `operation="${operation}",type="secrets"`)
    const before = (await call('GET', '/metrics')).text
    // Three watches on connections of their own (over both workers), ending after 2 s.
    const watches = Array.from({ length: 3 }, () =>
      call('GET', '/api/v1/namespaces/default/secrets?watch=true&timeoutSeconds=2'),
    )
    await new Promise((r) => setTimeout(r, 500))
    for (let i = 0; i < 5; i++) {
      const made = await call('POST', '/api/v1/namespaces/default/secrets', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `timed-${i}` },
      })
      assert.equal(made.code, 201, made.text)
    }
    const during = (await call('GET', '/metrics')).text
    assert.equal(watchers(during) - watchers(before), 3)
    assert.equal(stored(during, 'create') - stored(before, 'create'), 5)
    assert.match(
      during,
      /etcd_request_duration_seconds_bucket\{operation="create",type="secrets",le="0\.005"\}/,
    )
    for (const w of await Promise.all(watches)) assert.equal(w.code, 200)
    assert.equal(watchers((await call('GET', '/metrics')).text), watchers(before))
  })

  test(
    'kubectl creates, reads, waits for and deletes through the workers',
    { skip: kubectlMissing ?? false },
    async () => {
      const created = await c.kubectl(['create', 'deployment', 'web', '--image=nginx:1.25'])
      assert.equal(created.code, 0, created.stderr)
      assert.equal(created.stdout.trim(), 'deployment.apps/web created')
      const got = await c.kubectl([
        'get',
        'deployment',
        'web',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}',
      ])
      assert.equal(got.stdout, 'nginx:1.25')
      const deleted = await c.kubectl(['delete', 'deployment', 'web', '--wait=true'])
      assert.equal(deleted.code, 0, deleted.stderr)
      assert.equal(deleted.stdout.trim(), 'deployment.apps "web" deleted')
    },
  )

  test('a port another apiserver holds is refused in one line, not shared', () => {
    const r = spawnSync(
      process.execPath,
      [
        join(import.meta.dirname, '../../bin/k8ts.js'),
        'apiserver',
        '--data-dir',
        join(c.dataDir, 'second'),
        '--secure-port',
        String(c.server.port),
        '--workers',
        '2',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /^k8ts: .*EADDRINUSE.*address already in use/m)
    assert.equal(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('k8ts:')).length,
      1,
      r.stderr,
    )
  })
})
