import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { Worker } from 'node:worker_threads'
import { describeStorage, str, text } from './conformance.ts'
import { RemoteStorage, serveStorage } from './remote.ts'
import { SqliteStorage } from './sqlite/sqlite.ts'

const store = SqliteStorage.open({ path: ':memory:', progressNotifyIntervalMs: 200, ttlSweepIntervalMs: 100 })
const server = serveStorage(store)
after(async () => {
  server.stop()
  await store.close()
})

describeStorage('remote (sqlite served over a MessagePort)', () => ({
  open: () => Promise.resolve(new RemoteStorage(server.link())),
  progressIntervalMs: 200,
  ttlSlackMs: 300,
}))

test('a write acknowledged in one thread moves currentRevisionSync in every other thread at once', async () => {
  const a = new RemoteStorage(server.link())
  const b = new RemoteStorage(server.link())
  try {
    const kv = await a.create(`/remote/${Date.now()}`, text('x'))
    assert.ok(b.currentRevisionSync)
    assert.ok(b.currentRevisionSync() >= kv.modRevision)
    assert.equal(store.currentRevisionSync(), b.currentRevisionSync())
  } finally {
    await a.close()
    await b.close()
  }
})

test('a worker thread reads and writes the store through its link', async () => {
  const link = server.link()
  const key = `/remote/worker/${Date.now()}`
  const worker = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads')
    import(workerData.module).then(async ({ RemoteStorage }) => {
      const s = new RemoteStorage(workerData.link)
      const kv = await s.create(workerData.key, new TextEncoder().encode('from the worker'))
      parentPort.postMessage(kv.modRevision)
      await s.close()
    })
    `,
    {
      eval: true,
      workerData: { link, key, module: new URL('./remote.ts', import.meta.url).href },
      transferList: [link.port],
    },
  )
  const rev = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  await new Promise((r) => worker.once('exit', r))
  const kv = await store.get(key)
  assert.equal(str(kv?.value), 'from the worker')
  assert.equal(kv?.modRevision, rev)
})
