#!/usr/bin/env node
// The k8ts command. Kept to syntax that old Node versions can parse, so that running it with
// the machine's own Node prints a useful message instead of a syntax error.
import { existsSync } from 'node:fs'

const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  process.stderr.write(
    `k8ts: needs Node.js 24 or newer, this is ${process.version}; run it as "npx k8ts" in the project, which uses the Node 24 that scripts/setup.sh installs\n`,
  )
  process.exit(1)
}

// The built JavaScript in production; the TypeScript sources (run by Node's type stripping) in a
// checkout that has not been built yet.
const built = new URL('../dist/cli/main.js', import.meta.url)
const entry = existsSync(built) ? built : new URL('../src/cli/main.ts', import.meta.url)
const { main } = await import(entry.href)
process.exitCode = await main(process.argv.slice(2))
