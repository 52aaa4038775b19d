import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { PriorityClass } from '../../api/generated/types/scheduling-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import { ApiError } from '../errors.ts'
import type { AdmissionAttributes, Operation } from './admission.ts'
import { priorityPlugin, systemPriorityClasses, type PriorityClassReader } from './priority.ts'

const pc = (name: string, value: number, o: Partial<PriorityClass> = {}): PriorityClass => ({
  apiVersion: 'scheduling.k8s.io/v1',
  kind: 'PriorityClass',
  metadata: { name },
  value,
  preemptionPolicy: 'PreemptLowerPriority',
  ...o,
})

/** A reader over a fixed list, as an informer's lister would answer. */
function reader(list: readonly PriorityClass[]): PriorityClassReader {
  return {
    get: async (name) => list.find((c) => c.metadata?.name === name),
    list: async () => list,
  }
}

const podAttributes = (
  object: Pod,
  o: { operation?: Operation; oldObject?: Pod } = {},
): AdmissionAttributes => ({
  operation: o.operation ?? 'CREATE',
  group: '',
  version: 'v1',
  resource: 'pods',
  subresource: '',
  kind: 'Pod',
  namespace: 'default',
  name: object.metadata?.name ?? '',
  object: object as KubeObject,
  oldObject: o.oldObject as KubeObject | undefined,
  dryRun: false,
  user: { name: 'u', uid: '', groups: [] },
})

const classAttributes = (
  object: PriorityClass | undefined,
  operation: Operation,
  name = '',
): AdmissionAttributes => ({
  operation,
  group: 'scheduling.k8s.io',
  version: 'v1',
  resource: 'priorityclasses',
  subresource: '',
  kind: 'PriorityClass',
  namespace: '',
  name: object?.metadata?.name ?? name,
  object: object as KubeObject | undefined,
  oldObject: undefined,
  dryRun: false,
  user: { name: 'u', uid: '', groups: [] },
})

const pod = (spec: Partial<NonNullable<Pod['spec']>> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec },
})

const high = pc('high', 1000)
const never = pc('never', 500, { preemptionPolicy: 'Never' })
const defaultClass = pc('default', 10, { globalDefault: true })

const podCases: {
  name: string
  classes: PriorityClass[]
  pod: Pod
  want?: { priority: number | undefined; preemptionPolicy: string | undefined; priorityClassName?: string }
  refused?: string
}[] = [
  {
    name: 'a pod naming a class gets its value and preemption policy',
    classes: [high, never],
    pod: pod({ priorityClassName: 'high' }),
    want: { priority: 1000, preemptionPolicy: 'PreemptLowerPriority', priorityClassName: 'high' },
  },
  {
    name: 'a class with preemptionPolicy Never gives its pods that policy',
    classes: [high, never],
    pod: pod({ priorityClassName: 'never' }),
    want: { priority: 500, preemptionPolicy: 'Never', priorityClassName: 'never' },
  },
  {
    name: 'a pod naming no class gets the global default class, its name included',
    classes: [high, defaultClass],
    pod: pod(),
    want: { priority: 10, preemptionPolicy: 'PreemptLowerPriority', priorityClassName: 'default' },
  },
  {
    name: 'without a default class a pod gets priority 0 and PreemptLowerPriority',
    classes: [high],
    pod: pod(),
    want: { priority: 0, preemptionPolicy: 'PreemptLowerPriority' },
  },
  {
    name: 'of two default classes (a race) the lower value is the default',
    classes: [defaultClass, pc('other-default', 5, { globalDefault: true })],
    pod: pod(),
    want: { priority: 5, preemptionPolicy: 'PreemptLowerPriority', priorityClassName: 'other-default' },
  },
  {
    name: 'the system classes resolve like any other',
    classes: [...systemPriorityClasses],
    pod: pod({ priorityClassName: 'system-node-critical' }),
    want: { priority: 2_000_001_000, preemptionPolicy: undefined, priorityClassName: 'system-node-critical' },
  },
  {
    name: 'a priority that matches the class is accepted',
    classes: [high],
    pod: pod({ priorityClassName: 'high', priority: 1000 }),
    want: { priority: 1000, preemptionPolicy: 'PreemptLowerPriority', priorityClassName: 'high' },
  },
  {
    name: 'an unknown class is refused',
    classes: [high],
    pod: pod({ priorityClassName: 'nope' }),
    refused: 'pods "p" is forbidden: no PriorityClass with name nope was found',
  },
  {
    name: 'a priority that differs from the class is refused',
    classes: [high],
    pod: pod({ priorityClassName: 'high', priority: 7 }),
    refused:
      'pods "p" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name',
  },
  {
    name: 'a priority set without any class must be the default 0',
    classes: [],
    pod: pod({ priority: 3 }),
    refused:
      'pods "p" is forbidden: the integer value of priority (3) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name',
  },
  {
    name: 'a preemption policy that differs from the class is refused',
    classes: [never],
    pod: pod({ priorityClassName: 'never', preemptionPolicy: 'PreemptLowerPriority' }),
    refused:
      'pods "p" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name',
  },
]

for (const c of podCases) {
  test(c.name, async () => {
    const plugin = priorityPlugin(reader(c.classes))
    const a = podAttributes(c.pod)
    assert.ok(plugin.handles(a))
    if (c.refused) {
      await assert.rejects(
        async () => plugin.admit?.(a),
        (err: unknown) => {
          assert.ok(err instanceof ApiError)
          assert.equal(err.code, 403)
          assert.equal(err.status.reason, 'Forbidden')
          assert.equal(err.status.message, c.refused)
          return true
        },
      )
      return
    }
    await plugin.admit?.(a)
    const spec = c.pod.spec
    assert.deepEqual(
      {
        priority: spec?.priority,
        preemptionPolicy: spec?.preemptionPolicy,
        priorityClassName: spec?.priorityClassName,
      },
      { priorityClassName: undefined, ...c.want },
    )
  })
}

test('an update that leaves out priority and preemption policy keeps the pod’s', async () => {
  const plugin = priorityPlugin(reader([high]))
  const old = pod({ priorityClassName: 'high', priority: 1000, preemptionPolicy: 'PreemptLowerPriority' })
  const next = pod({ priorityClassName: 'high' })
  await plugin.admit?.(podAttributes(next, { operation: 'UPDATE', oldObject: old }))
  assert.equal(next.spec?.priority, 1000)
  assert.equal(next.spec?.preemptionPolicy, 'PreemptLowerPriority')
})

test('subresources (status, binding) are not the plugin’s business', () => {
  const plugin = priorityPlugin(reader([]))
  assert.equal(plugin.handles({ ...podAttributes(pod()), subresource: 'status' }), false)
})

test('a second global default class is refused, naming the first', async () => {
  const plugin = priorityPlugin(reader([defaultClass]))
  const second = pc('second', 1, { globalDefault: true })
  await assert.rejects(
    async () => plugin.validate?.(classAttributes(second, 'CREATE')),
    (err: unknown) =>
      err instanceof ApiError &&
      err.code === 403 &&
      err.status.message ===
        'priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass default is already marked as default. Only one default can exist',
  )
  // The default itself may be updated; a class that is not the default may be created.
  await plugin.validate?.(classAttributes(defaultClass, 'UPDATE'))
  await plugin.validate?.(classAttributes(pc('plain', 1), 'CREATE'))
  // Marking another class default on update is refused too.
  await assert.rejects(async () =>
    plugin.validate?.(classAttributes(pc('plain', 1, { globalDefault: true }), 'UPDATE')),
  )
})

test('the system priority classes cannot be deleted; others can', async () => {
  const plugin = priorityPlugin(reader([...systemPriorityClasses, high]))
  await assert.rejects(
    async () => plugin.validate?.(classAttributes(undefined, 'DELETE', 'system-node-critical')),
    (err: unknown) =>
      err instanceof ApiError &&
      err.status.message ===
        'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted',
  )
  await plugin.validate?.(classAttributes(undefined, 'DELETE', 'high'))
})
