import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { defaultDataPath, generateApi } from '../../scripts/generate-api.ts'

const committed = join(import.meta.dirname, 'generated')

test(
  'src/api/generated is what the generator makes of the OpenAPI data (else: npm run generate)',
  { skip: existsSync(defaultDataPath) ? false : `${defaultDataPath} is absent` },
  () => {
    const out = mkdtempSync(join(tmpdir(), 'k8ts-generated-'))
    try {
      generateApi(defaultDataPath, out)
      const want = files(out)
      const have = files(committed)
      assert.deepEqual(have, want, 'the set of generated files differs: run npm run generate')
      for (const f of want) {
        const same = readFileSync(join(out, f)).equals(readFileSync(join(committed, f)))
        assert.ok(same, `${f} is stale: run npm run generate`)
      }
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  },
)

function files(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(relative(dir, p))
    }
  }
  walk(dir)
  return out.sort()
}
