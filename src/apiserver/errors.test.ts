import assert from 'node:assert/strict'
import { test } from 'node:test'
import { internalError, notFound } from './errors.ts'

test('answers below 500 are made without a stack trace; errors of the server keep theirs', () => {
  const limit = Error.stackTraceLimit
  const missing = notFound({ group: '', resource: 'pods' }, 'p')
  assert.equal(missing.stack, 'ApiError: pods "p" not found')
  assert.equal(missing.status.code, 404)
  const broken = internalError(new Error('disk on fire'))
  assert.match(broken.stack ?? '', /\n\s+at /)
  // The limit is as it was, for every other error.
  assert.equal(Error.stackTraceLimit, limit)
  assert.match(new Error('x').stack ?? '', /\n\s+at /)
})
