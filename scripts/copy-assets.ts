// Copies what the built JavaScript reads from disk next to it: the generated OpenAPI documents
// and protobuf descriptors.
import { cpSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
cpSync(join(root, 'src/api/generated'), join(root, 'dist/api/generated'), {
  recursive: true,
  filter: (src) => !src.endsWith('.ts'),
})
