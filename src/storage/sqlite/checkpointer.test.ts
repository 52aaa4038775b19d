import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { checkpointRound, type CheckpointProgress } from './checkpointer.ts'

/**
 * A WAL that writes keep growing: each checkpoint reports the frames there were when it began and
 * copies them, and `incoming[i]` frames arrive while checkpoint i runs.
 */
function growingWal(start: number, incoming: readonly number[]) {
  let frames = start
  const calls: { mode: string; copied: number }[] = []
  let copied = 0
  const checkpoint = (mode: 'PASSIVE' | 'FULL'): CheckpointProgress => {
    const p = { log: frames, checkpointed: frames }
    calls.push({ mode, copied: frames - copied })
    copied = frames
    frames += incoming[calls.length - 1] ?? 0
    return p
  }
  return { checkpoint, calls }
}

describe('checkpointRound', () => {
  test('passes repeat until little came in during the last, and FULL is left next to nothing', () => {
    const wal = growingWal(15_000, [900, 120, 40, 10])
    checkpointRound(wal.checkpoint, { restartAfterPages: 10_000, smallPages: 64 })
    assert.deepEqual(
      wal.calls.map((c) => c.mode),
      ['PASSIVE', 'PASSIVE', 'PASSIVE', 'PASSIVE', 'FULL'],
    )
    // The FULL checkpoint copies only what came in during the last pass.
    assert.equal(wal.calls.at(-1)?.copied, 10)
  })

  test('a small WAL is copied without FULL, which holds writes back', () => {
    const wal = growingWal(2_000, [30])
    checkpointRound(wal.checkpoint, { restartAfterPages: 10_000, smallPages: 64 })
    assert.deepEqual(
      wal.calls.map((c) => c.mode),
      ['PASSIVE', 'PASSIVE'],
    )
  })

  test('writes faster than the copies: the round still ends, with FULL', () => {
    const wal = growingWal(
      20_000,
      Array.from({ length: 20 }, () => 5_000),
    )
    checkpointRound(wal.checkpoint, { restartAfterPages: 10_000, smallPages: 64 })
    assert.equal(wal.calls.filter((c) => c.mode === 'PASSIVE').length, 8)
    assert.equal(wal.calls.at(-1)?.mode, 'FULL')
  })
})
