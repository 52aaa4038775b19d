import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import * as k8s from '@kubernetes/client-node'
import { SqliteStorage } from '../../src/storage/sqlite/sqlite.ts'
import { startTestApiServer, type TestApiServer } from '../support/cluster.ts'
import { until } from '../support/until.ts'

let current: TestApiServer | undefined
after(async () => {
  await current?.stop()
})

test('@kubernetes/client-node lists, and its informer follows changes and relists after a 410', async () => {
  const first = await startTestApiServer()
  current = first
  const kc = new k8s.KubeConfig()
  kc.loadFromFile(first.server.adminKubeconfig)
  const core = kc.makeApiClient(k8s.CoreV1Api)

  await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name: 'a' }, data: { k: 'a' } },
  })
  const list = await core.listNamespacedConfigMap({ namespace: 'default' })
  assert.deepEqual(
    list.items.map((c) => c.metadata?.name),
    ['a'],
  )
  assert.match(list.metadata?.resourceVersion ?? '', /^\d+$/)

  const seen: string[] = []
  const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
    core.listNamespacedConfigMap({ namespace: 'default' }),
  )
  informer.on('add', (cm) => seen.push(`add ${cm.metadata?.name}`))
  informer.on('update', (cm) => seen.push(`update ${cm.metadata?.name} ${cm.data?.k}`))
  informer.on('delete', (cm) => seen.push(`delete ${cm.metadata?.name}`))
  // The usual pattern: restart the informer when its connection fails.
  let stopped = false
  informer.on('error', () => {
    if (!stopped) setTimeout(() => void informer.start().catch(() => undefined), 200)
  })
  await informer.start()
  await until(() => seen.includes('add a'), 5000, 'the initial list')

  await core.replaceNamespacedConfigMap({
    name: 'a',
    namespace: 'default',
    body: { metadata: { name: 'a' }, data: { k: 'a2' } },
  })
  await until(() => seen.includes('update a a2'), 5000, 'the update event')

  // The apiserver restarts while something is written meanwhile: its fresh watch cache cannot
  // replay the gap, so the informer's watch from its old resourceVersion gets 410 Expired and the
  // informer lists again, finding the object it missed.
  const port = first.server.port
  await first.stop({ keepData: true })
  const store = SqliteStorage.open({ path: join(first.dataDir, 'state.db') })
  const missed = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'b', namespace: 'default', uid: 'b-uid', creationTimestamp: '2026-01-01T00:00:00Z' },
    data: { k: 'b' },
  }
  await store.create('/registry/core/configmaps/default/b', Buffer.from(JSON.stringify(missed)))
  await store.close()
  const second = await startTestApiServer({ dataDir: first.dataDir, securePort: port })
  current = second

  await until(() => seen.includes('add b'), 15_000, 'the relist after 410')
  await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'default' })
  await until(() => seen.includes('delete a'), 5000, 'the delete event')
  stopped = true
  await informer.stop()
  assert.deepEqual(seen, ['add a', 'update a a2', 'add b', 'delete a'])
  await second.stop()
  current = undefined
  rmSync(first.dataDir, { recursive: true, force: true })
})
