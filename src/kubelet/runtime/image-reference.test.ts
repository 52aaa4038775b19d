import assert from 'node:assert/strict'
import { test } from 'node:test'
import { normalizeImageReference } from './image-reference.ts'

const digest = 'sha256:' + 'a'.repeat(64)
const cases = [
  ['nginx', 'docker.io/library/nginx:latest'],
  ['nginx:1.27', 'docker.io/library/nginx:1.27'],
  ['bitnami/redis', 'docker.io/bitnami/redis:latest'],
  ['index.docker.io/library/busybox:1.36', 'docker.io/library/busybox:1.36'],
  ['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10'],
  ['localhost:5000/app', 'localhost:5000/app:latest'],
  ['localhost/app:v1', 'localhost/app:v1'],
  [`nginx@${digest}`, `docker.io/library/nginx@${digest}`],
  [`nginx:1.27@${digest}`, `docker.io/library/nginx@${digest}`],
] as const

for (const [ref, want] of cases) {
  test(`${ref} normalises to ${want}`, () => assert.equal(normalizeImageReference(ref), want))
}

for (const ref of ['', 'Nginx', 'nginx:', 'a//b', 'nginx@sha256:short']) {
  test(`${JSON.stringify(ref)} is not a reference`, () =>
    assert.throws(() => normalizeImageReference(ref), /invalid reference format/))
}
