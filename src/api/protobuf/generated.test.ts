import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { defaultProtoPath, generateProtobuf } from '../../../scripts/generate-protobuf.ts'

test(
  'the protobuf descriptor is what the generator makes of the .proto data (else: npm run generate)',
  { skip: existsSync(defaultProtoPath) ? false : `${defaultProtoPath} is absent` },
  () => {
    const out = mkdtempSync(join(tmpdir(), 'k8ts-protobuf-'))
    try {
      generateProtobuf(defaultProtoPath, out)
      const fresh = readFileSync(join(out, 'descriptor.json'))
      const committed = readFileSync(join(import.meta.dirname, '../generated/protobuf/descriptor.json'))
      assert.ok(
        fresh.equals(committed),
        'src/api/generated/protobuf/descriptor.json is stale: run npm run generate',
      )
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  },
)
