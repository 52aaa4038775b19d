import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { describeStorage, str, text, withTimeout } from '../conformance.ts'
import { eventRevision, isStorageError, type WatchEvent } from '../interface.ts'
import { EtcdStorage } from './etcd.ts'
import { findEtcd, startEtcd, type EtcdServer } from './etcd-server.ts'

const missing = findEtcd()
  ? undefined
  : 'etcd is not installed here (Debian package etcd-server; scripts/setup.sh installs it)'
const dir = mkdtempSync(join(tmpdir(), 'k8ts-etcd-'))
let server: EtcdServer | undefined

before(async () => {
  if (!missing) server = await startEtcd({ dataDir: join(dir, 'shared'), progressNotifyInterval: '500ms' })
})
after(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describeStorage(
  'etcd',
  () => ({
    open: () => EtcdStorage.open({ endpoints: [server?.endpoint ?? ''] }),
    progressIntervalMs: 500,
    // Leases are granted for at least 2 s (etcd's minimum) and expire on etcd's lessor tick.
    ttlSlackMs: 3000,
  }),
  missing ? { skip: missing } : {},
)

describe('etcd store faults', { skip: missing ?? false }, () => {
  test('an unreachable etcd fails calls with Unavailable after the bounded wait', async () => {
    const s = await EtcdStorage.open({ endpoints: ['127.0.0.1:1'], requestTimeoutMs: 500 })
    const started = Date.now()
    await assert.rejects(
      s.get('/a'),
      (err) => isStorageError(err, 'Unavailable') && /127\.0\.0\.1:1/.test(err.message),
    )
    await assert.rejects(s.create('/a', text('1')), (err) => isStorageError(err, 'Unavailable'))
    assert.ok(Date.now() - started < 10_000)
    await s.close()
  })

  test('a malformed endpoint is refused with InvalidArgument', async () => {
    await assert.rejects(EtcdStorage.open({ endpoints: ['nope'] }), (err) =>
      isStorageError(err, 'InvalidArgument'),
    )
  })

  test('across an etcd restart, calls fail then recover and the watch resumes without gap or duplicate', async () => {
    const own = await startEtcd({ dataDir: join(dir, 'restart') })
    try {
      const s = await EtcdStorage.open({ endpoints: [own.endpoint], requestTimeoutMs: 1000 })
      const ac = new AbortController()
      const start = await s.currentRevision()
      const seen: WatchEvent[] = []
      const watching = (async () => {
        for await (const e of s.watch('/r/', { after: start, signal: ac.signal })) {
          seen.push(e)
          if (seen.length === 4) break
        }
      })()
      const a = await s.create('/r/a', text('1'))
      const b = await s.create('/r/b', text('1'))
      await withTimeout(
        (async () => {
          while (seen.length < 2) await sleep(20)
        })(),
        5000,
        'events before the restart did not arrive',
      )

      await own.kill()
      await assert.rejects(s.create('/r/c', text('1')), (err) => isStorageError(err, 'Unavailable'))
      await own.restart()

      const c = await retry(() => s.create('/r/c', text('1')))
      const d = await s.update('/r/a', text('2'), a.modRevision)
      await withTimeout(watching, 15_000, 'the watch did not resume after the restart')
      ac.abort()
      assert.deepEqual(seen.map(eventRevision), [a.modRevision, b.modRevision, c.modRevision, d.modRevision])
      assert.equal(str((await s.get('/r/a'))?.value), '2')
      await s.close()
    } finally {
      await own.stop()
    }
  })
})

async function retry<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (Date.now() > deadline || !isStorageError(err, 'Unavailable')) throw err
      await sleep(100)
    }
  }
}
