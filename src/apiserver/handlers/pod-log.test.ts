import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { ApiError } from '../errors.ts'
import { kubeletError, logContainer } from './pod-log.ts'

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

const answers: {
  name: string
  code: number
  body: string
  want: { code: number; reason: string; message: string }
}[] = [
  {
    name: "the kubelet's 400 is a BadRequest in its words",
    code: 400,
    body: 'container "app" in pod "p" is waiting to start: ContainerCreating',
    want: {
      code: 400,
      reason: 'BadRequest',
      message: 'container "app" in pod "p" is waiting to start: ContainerCreating',
    },
  },
  {
    name: "the kubelet's 500 is an InternalError",
    code: 500,
    body: 'disk on fire',
    want: { code: 500, reason: 'InternalError', message: 'Internal error occurred: disk on fire' },
  },
  {
    name: "the kubelet's 404 is a NotFound on pods/log",
    code: 404,
    body: 'pod "p" does not exist',
    want: {
      code: 404,
      reason: 'NotFound',
      message: 'the server could not find the requested resource ( pods/log p)',
    },
  },
]
for (const c of answers) {
  test(c.name, async () => {
    const err = await kubeletError(Readable.from([Buffer.from(c.body)]), c.code, 'p')
    const { code, reason, message } = err.status
    assert.deepEqual({ code, reason, message }, c.want)
  })
}
