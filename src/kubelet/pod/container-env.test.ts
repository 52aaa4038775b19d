import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { containerEnv, expand, expandArgs } from './container-env.ts'

test('expand: $(NAME), $$ as $, unknown names and a lone $ as written', () => {
  const values = new Map([['A', 'x']])
  assert.equal(expand('$(A)-$(B)-$$(A)-$-$', values), 'x-$(B)-$(A)-$-$')
  assert.equal(expand('$(A', values), '$(A')
})

test('env: literals, fieldRef and references to earlier variables; command and args expanded', () => {
  const pod: Pod = {
    metadata: { name: 'web', namespace: 'prod', uid: 'u-1', labels: { app: 'shop' } },
    spec: {
      nodeName: 'node-1',
      containers: [
        {
          name: 'app',
          image: 'busybox',
          command: ['echo', '$(GREETING)'],
          args: ['$(POD_IP)', '$(MISSING)'],
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            { name: 'GREETING', value: 'hello $(POD_NAME) on $(NODE)' },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } },
          ],
        },
      ],
    },
  }
  const container = pod.spec?.containers[0]
  assert.ok(container)
  const env = containerEnv(pod, container, {
    podIPs: ['10.88.0.5'],
    hostIPs: ['192.168.1.10'],
    resolve: (_p, _c, e) => (e.name === 'FROM_CM' ? 'from-configmap' : undefined),
  })
  assert.deepEqual(env, [
    { key: 'POD_NAME', value: 'web' },
    { key: 'POD_IP', value: '10.88.0.5' },
    { key: 'APP', value: 'shop' },
    { key: 'GREETING', value: 'hello web on $(NODE)' },
    { key: 'NODE', value: 'node-1' },
    { key: 'FROM_CM', value: 'from-configmap' },
  ])
  assert.deepEqual(expandArgs(container.command ?? [], env), ['echo', 'hello web on $(NODE)'])
  assert.deepEqual(expandArgs(container.args ?? [], env), ['10.88.0.5', '$(MISSING)'])
})
