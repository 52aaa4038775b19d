import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defaultPullPolicy, imageTag } from './image.ts'

const sha = 'a'.repeat(64)

test('the tag of an image reference', () => {
  const cases: [string, string][] = [
    ['nginx', 'latest'],
    ['nginx:latest', 'latest'],
    ['nginx:1.27', '1.27'],
    ['library/nginx:1.27-alpine', '1.27-alpine'],
    ['registry:5000/team/app', 'latest'],
    ['registry:5000/team/app:v2', 'v2'],
    ['localhost/app:dev', 'dev'],
    ['[::1]:5000/app:Tag_1', 'Tag_1'],
    [`nginx@sha256:${sha}`, ''],
    [`nginx:1.27@sha256:${sha}`, '1.27'],
    [`nginx:latest@sha256:${sha}`, 'latest'],
    // Not references at all: no tag.
    ['', ''],
    ['Nginx', ''],
    ['nginx@sha256:abcd', ''],
    [`nginx@md5:${sha}`, ''],
    [sha, ''],
    ['nginx:', ''],
    ['-nginx', ''],
  ]
  for (const [image, tag] of cases) assert.equal(imageTag(image), tag, image)
})

test('pull policy: Always for latest, IfNotPresent otherwise', () => {
  assert.equal(defaultPullPolicy('busybox'), 'Always')
  assert.equal(defaultPullPolicy('busybox:latest'), 'Always')
  assert.equal(defaultPullPolicy('busybox:1.36'), 'IfNotPresent')
  assert.equal(defaultPullPolicy(`busybox@sha256:${sha}`), 'IfNotPresent')
  assert.equal(defaultPullPolicy(undefined), 'IfNotPresent')
})
