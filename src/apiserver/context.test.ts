import assert from 'node:assert/strict'
import { test } from 'node:test'
import { acceptsGzip } from './context.ts'

const cases = [
  { name: 'no Accept-Encoding asks for nothing', header: undefined, want: false },
  { name: "Go's transport default asks for gzip", header: 'gzip', want: true },
  { name: 'gzip among others, with spaces and any case', header: 'br, GZip, deflate', want: true },
  { name: 'a wildcard accepts gzip', header: '*', want: true },
  { name: 'gzip with q=0 refuses it', header: 'gzip;q=0, deflate', want: false },
  { name: 'gzip with a positive weight accepts it', header: 'deflate, gzip; q=0.5', want: true },
  { name: 'only other encodings', header: 'deflate, br', want: false },
  { name: 'a name that merely contains gzip is not gzip', header: 'x-gzip-like', want: false },
]
for (const c of cases) test(c.name, () => assert.equal(acceptsGzip(c.header), c.want))
