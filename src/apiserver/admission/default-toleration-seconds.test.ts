import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { KubeObject } from '../../api/object.ts'
import type { AdmissionAttributes } from './admission.ts'
import { defaultTolerationSecondsPlugin as plugin } from './default-toleration-seconds.ts'

const attributes = (object: KubeObject, operation: 'CREATE' | 'UPDATE' = 'CREATE'): AdmissionAttributes => ({
  operation,
  group: '',
  version: 'v1',
  resource: 'pods',
  subresource: '',
  kind: 'Pod',
  namespace: 'default',
  name: 'p',
  object,
  oldObject: undefined,
  dryRun: false,
  user: { name: 'u', uid: '', groups: [] },
})

test('a new pod tolerates not-ready and unreachable nodes for 300 seconds', async () => {
  const pod: KubeObject = { metadata: { name: 'p' }, spec: { containers: [] } }
  const a = attributes(pod)
  assert.ok(plugin.handles(a))
  await plugin.admit?.(a)
  assert.deepEqual((pod.spec as { tolerations: unknown }).tolerations, [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    {
      key: 'node.kubernetes.io/unreachable',
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: 300,
    },
  ])
})

test('a pod that already tolerates a taint keeps its own toleration; tolerating everything adds nothing', async () => {
  const own = {
    key: 'node.kubernetes.io/not-ready',
    operator: 'Exists',
    effect: 'NoExecute',
    tolerationSeconds: 10,
  }
  const pod: KubeObject = { spec: { containers: [], tolerations: [own] } }
  await plugin.admit?.(attributes(pod))
  assert.deepEqual((pod.spec as { tolerations: unknown[] }).tolerations, [
    own,
    {
      key: 'node.kubernetes.io/unreachable',
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: 300,
    },
  ])
  const everything: KubeObject = { spec: { containers: [], tolerations: [{ operator: 'Exists' }] } }
  await plugin.admit?.(attributes(everything))
  assert.deepEqual((everything.spec as { tolerations: unknown[] }).tolerations, [{ operator: 'Exists' }])
  assert.equal(plugin.handles(attributes(pod, 'UPDATE')), false, 'only on create')
})
