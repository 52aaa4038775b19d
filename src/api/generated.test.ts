import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { defaultDataPath, defaultOutDir, generateApi, generatedPaths } from '../../scripts/generate-api.ts'

const missing = existsSync(defaultDataPath)
  ? false
  : `${defaultDataPath} is absent, so the generator cannot run`

test(
  'src/api/generated is what the generator makes of the Kubernetes OpenAPI data',
  { skip: missing },
  () => {
    const out = mkdtempSync(join(tmpdir(), 'k8ts-generated-'))
    try {
      generateApi(defaultDataPath, out)
      const want = generatedFiles(out)
      const have = generatedFiles(defaultOutDir)
      const extra = have.filter((f) => !want.includes(f))
      const absent = want.filter((f) => !have.includes(f))
      assert.deepEqual(
        { extra, absent },
        { extra: [], absent: [] },
        'the generated files differ from the committed ones: run npm run generate',
      )
      const stale = want.filter(
        (f) => !readFileSync(join(out, f)).equals(readFileSync(join(defaultOutDir, f))),
      )
      assert.deepEqual(stale, [], `stale generated files: run npm run generate`)
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  },
)

/** The files under the generator's own paths (other generators own the rest of the folder). */
function generatedFiles(dir: string): string[] {
  const out: string[] = []
  const walk = (p: string) => {
    if (!existsSync(p)) return
    if (!statSync(p).isDirectory()) {
      out.push(relative(dir, p))
      return
    }
    for (const e of readdirSync(p)) walk(join(p, e))
  }
  for (const p of generatedPaths) walk(join(dir, p))
  return out.sort()
}
