import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { SqliteStorage } from '../../src/storage/sqlite/sqlite.ts'

test('every write the SQLite store acknowledged survives SIGKILL of its process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-crash-'))
  try {
    const path = join(dir, 'state.db')
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/crash-writer.ts'), path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const acked = new Map<string, number>()
    let buffered = ''
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    )
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8')
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) {
          const [key, rev] = line.split(' ')
          if (key && rev) acked.set(key, Number(rev))
        }
        // Kill it mid-stream, with writes in flight.
        if (acked.size >= 20_000) {
          child.kill('SIGKILL')
          resolve()
        }
      })
      void exited.then(() => resolve())
    })
    assert.equal(await exited, 'SIGKILL', 'the writer must have been killed, not have stopped by itself')
    // Lines still in the pipe were acknowledged before the kill too.
    assert.ok(acked.size >= 20_000)

    const store = SqliteStorage.open({ path })
    try {
      const all = await store.list('/crash/')
      const stored = new Map(all.items.map((kv) => [kv.key, kv.modRevision as number]))
      let missing = 0
      for (const [key, rev] of acked) {
        if (stored.get(key) !== rev) missing++
      }
      assert.equal(missing, 0, `${missing} of ${acked.size} acknowledged writes were lost or changed`)
      // The revisions are gap-free up to the newest one stored: nothing half-written remains.
      const revs = [...stored.values()].sort((a, b) => a - b)
      assert.deepEqual(
        revs,
        revs.map((_, i) => i + 1),
      )
      assert.equal(await store.currentRevision(), revs.length)
    } finally {
      await store.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
