import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { ApiError } from '../errors.ts'
import { logContainer } from './pod-log.ts'

const pod = (containers: string[], initContainers: string[] = []): Pod => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: {
    containers: containers.map((name) => ({ name, image: 'busybox' })),
    initContainers: initContainers.map((name) => ({ name, image: 'busybox' })),
  },
})

const cases: {
  name: string
  pod: Pod
  container?: string
  want: string | { code: number; message: string }
}[] = [
  { name: 'the only container, when none is named', pod: pod(['app']), want: 'app' },
  { name: 'the container named', pod: pod(['a', 'b']), container: 'b', want: 'b' },
  { name: 'an init container, named', pod: pod(['a'], ['setup']), container: 'setup', want: 'setup' },
  {
    name: 'several containers and none named: a 400 listing them all, init containers first',
    pod: pod(['a', 'b'], ['setup']),
    want: { code: 400, message: 'a container name must be specified for pod p, choose one of: [setup a b]' },
  },
  {
    name: 'a container the pod does not have: a 400',
    pod: pod(['app']),
    container: 'x',
    want: { code: 400, message: 'container x is not valid for pod p' },
  },
]
for (const c of cases) {
  test(c.name, () => {
    if (typeof c.want === 'string') return assert.equal(logContainer(c.pod, c.container), c.want)
    const want = c.want
    assert.throws(
      () => logContainer(c.pod, c.container),
      (err: unknown) =>
        err instanceof ApiError &&
        err.status.code === want.code &&
        err.status.reason === 'BadRequest' &&
        err.status.message === want.message,
    )
  })
}
