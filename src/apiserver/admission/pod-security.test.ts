import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Namespace, Pod } from '../../api/generated/types/core-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import { FakeClock } from '../../base/clock.ts'
import { ApiError } from '../errors.ts'
import type { AdmissionAttributes, Operation } from './admission.ts'
import { isSignificantPodUpdate, podSecurityPlugin, type PodSecurityConfiguration } from './pod-security.ts'

const ns = (name: string, labels: Record<string, string> = {}): Namespace => ({ metadata: { name, labels } })

const pod = (
  name: string,
  o: { privileged?: boolean; image?: string; owner?: string; runtimeClass?: string } = {},
): Pod => ({
  metadata: {
    name,
    namespace: 'team',
    ...(o.owner
      ? {
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: o.owner, controller: true },
          ],
        }
      : {}),
  },
  spec: {
    ...(o.runtimeClass ? { runtimeClassName: o.runtimeClass } : {}),
    containers: [
      {
        name: 'c',
        image: o.image ?? 'nginx',
        ...(o.privileged ? { securityContext: { privileged: true } } : {}),
      },
    ],
  },
})

function setup(namespaces: Namespace[], pods: Pod[] = [], configuration?: PodSecurityConfiguration) {
  return podSecurityPlugin({
    namespace: async (name) => namespaces.find((n) => n.metadata?.name === name),
    pods: async () => pods,
    clock: new FakeClock(),
    ...(configuration ? { configuration } : {}),
  })
}

function attrs(
  object: KubeObject,
  o: {
    group?: string
    resource?: string
    operation?: Operation
    oldObject?: KubeObject
    namespace?: string
    user?: string
  } = {},
): AdmissionAttributes & { warnings: string[]; auditAnnotations: Map<string, string> } {
  return {
    operation: o.operation ?? 'CREATE',
    group: o.group ?? '',
    version: 'v1',
    resource: o.resource ?? 'pods',
    subresource: '',
    kind: 'Pod',
    namespace: o.namespace ?? 'team',
    name: object.metadata?.name ?? '',
    object,
    oldObject: o.oldObject,
    dryRun: false,
    user: { name: o.user ?? 'alice', groups: [] },
    warnings: [],
    auditAnnotations: new Map(),
  }
}

const restricted = { 'pod-security.kubernetes.io/enforce': 'restricted' }

test('enforce: a privileged pod in a restricted namespace is refused with every violation', async () => {
  const plugin = setup([ns('team', restricted)])
  const a = attrs(pod('x', { privileged: true }) as KubeObject)
  await assert.rejects(
    async () => plugin.validate?.(a),
    (err: unknown) =>
      err instanceof ApiError &&
      err.code === 403 &&
      err.message ===
        'pods "x" is forbidden: violates PodSecurity "restricted:latest": ' +
          'privileged (container "c" must not set securityContext.privileged=true), ' +
          'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
          'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
          'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
          'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  )
  assert.deepEqual(a.warnings, [], 'a refused pod gets no warning')
  assert.equal(a.auditAnnotations.get('pod-security.kubernetes.io/enforce-policy'), 'restricted:latest')
})

test('warn: the pod is created and the client is warned; audit: the annotation says it', async () => {
  const plugin = setup([
    ns('team', {
      'pod-security.kubernetes.io/warn': 'baseline',
      'pod-security.kubernetes.io/warn-version': 'v1.30',
      'pod-security.kubernetes.io/audit': 'baseline',
    }),
  ])
  const a = attrs(pod('x', { privileged: true }) as KubeObject)
  await plugin.validate?.(a)
  assert.deepEqual(a.warnings, [
    'would violate PodSecurity "baseline:v1.30": privileged (container "c" must not set securityContext.privileged=true)',
  ])
  assert.equal(
    a.auditAnnotations.get('pod-security.kubernetes.io/audit-violations'),
    'would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)',
  )
  assert.equal(a.auditAnnotations.get('pod-security.kubernetes.io/enforce-policy'), 'privileged:latest')
})

test('a namespace without labels costs nothing: privileged, no warnings', async () => {
  const a = attrs(pod('x', { privileged: true }) as KubeObject)
  await setup([ns('team')]).validate?.(a)
  assert.deepEqual(a.warnings, [])
})

test('workloads are never refused, but their templates are warned about', async () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'team' },
    spec: { selector: {}, template: { metadata: {}, spec: pod('t', { privileged: true }).spec } },
  } as KubeObject
  const plugin = setup([ns('team', { 'pod-security.kubernetes.io/enforce': 'baseline' })])
  const a = attrs(deployment, { group: 'apps', resource: 'deployments' })
  assert.equal(plugin.handles(a), true)
  await plugin.validate?.(a)
  assert.deepEqual(a.warnings, [
    'would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)',
  ])
  const cronJob = {
    metadata: { name: 'cj', namespace: 'team' },
    spec: {
      schedule: '* * * * *',
      jobTemplate: { spec: { template: { spec: pod('t', { privileged: true }).spec } } },
    },
  } as KubeObject
  const b = attrs(cronJob, { group: 'batch', resource: 'cronjobs' })
  await plugin.validate?.(b)
  assert.equal(b.warnings.length, 1)
})

test('pod updates are checked only when an image changes', async () => {
  const plugin = setup([ns('team', restricted)])
  const old = pod('x', { privileged: true })
  const labelled = { ...pod('x', { privileged: true }), metadata: { name: 'x', labels: { a: 'b' } } }
  await plugin.validate?.(attrs(labelled, { operation: 'UPDATE', oldObject: old as KubeObject }))
  const newImage = pod('x', { privileged: true, image: 'nginx:2' })
  await assert.rejects(async () =>
    plugin.validate?.(attrs(newImage as KubeObject, { operation: 'UPDATE', oldObject: old as KubeObject })),
  )
  assert.equal(isSignificantPodUpdate(pod('x'), pod('x')), false)
})

test('exemptions: namespaces, users and runtime classes are not checked', async () => {
  const configuration = {
    exemptions: { namespaces: ['team'], usernames: ['system:admin'], runtimeClasses: ['kata'] },
  }
  const byNamespace = attrs(pod('x', { privileged: true }) as KubeObject)
  await setup([ns('team', restricted)], [], configuration).validate?.(byNamespace)
  assert.equal(byNamespace.auditAnnotations.get('pod-security.kubernetes.io/exempt'), 'namespace')
  const other = [ns('other', restricted)]
  const byUser = attrs(pod('x', { privileged: true }) as KubeObject, {
    namespace: 'other',
    user: 'system:admin',
  })
  await setup(other, [], configuration).validate?.(byUser)
  assert.equal(byUser.auditAnnotations.get('pod-security.kubernetes.io/exempt'), 'user')
  const byClass = attrs(pod('x', { privileged: true, runtimeClass: 'kata' }) as KubeObject, {
    namespace: 'other',
  })
  await setup(other, [], configuration).validate?.(byClass)
  assert.equal(byClass.auditAnnotations.get('pod-security.kubernetes.io/exempt'), 'runtimeClass')
})

test('configured defaults apply to namespaces without labels', async () => {
  const plugin = setup([ns('team')], [], { defaults: { enforce: 'baseline', 'enforce-version': 'v1.30' } })
  await assert.rejects(async () => plugin.validate?.(attrs(pod('x', { privileged: true }) as KubeObject)), {
    message:
      'pods "x" is forbidden: violates PodSecurity "baseline:v1.30": privileged (container "c" must not set securityContext.privileged=true)',
  })
})

test('namespaces: labels that do not parse are refused', async () => {
  const bad = ns('team', { 'pod-security.kubernetes.io/enforce': 'strict' })
  await assert.rejects(
    async () => setup([]).validate?.(attrs(bad as KubeObject, { resource: 'namespaces', namespace: '' })),
    {
      message:
        'Namespace "team" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
    },
  )
})

test('namespaces: a stricter enforce level warns about the pods it would refuse', async () => {
  const pods = [
    pod('b-priv', { privileged: true }),
    pod('a-priv', { privileged: true }),
    pod('web-1', { privileged: true, owner: 'rs' }),
    pod('web-2', { privileged: true, owner: 'rs' }),
    pod('fine'),
  ]
  const hostNet = pod('host')
  hostNet.spec = { ...hostNet.spec, containers: hostNet.spec?.containers ?? [], hostNetwork: true }
  const plugin = setup([], [...pods, hostNet])
  const a = attrs(ns('team', { 'pod-security.kubernetes.io/enforce': 'baseline' }) as KubeObject, {
    resource: 'namespaces',
    operation: 'UPDATE',
    oldObject: ns('team') as KubeObject,
    namespace: '',
  })
  await plugin.validate?.(a)
  assert.deepEqual(a.warnings, [
    'existing pods in namespace "team" violate the new PodSecurity enforce level "baseline:latest"',
    'a-priv (and 3 other pods): privileged',
    'host: host namespaces',
  ])
})

test('namespaces: a looser or unchanged enforce level says nothing', async () => {
  const plugin = setup([], [pod('p', { privileged: true })])
  const a = attrs(ns('team', { 'pod-security.kubernetes.io/enforce': 'baseline', x: 'y' }) as KubeObject, {
    resource: 'namespaces',
    operation: 'UPDATE',
    oldObject: ns('team', restricted) as KubeObject,
    namespace: '',
  })
  await plugin.validate?.(a)
  assert.deepEqual(a.warnings, [])
})

test('namespaces: an exempt namespace with a policy is told it will be ignored', async () => {
  const plugin = setup([], [], { exemptions: { namespaces: ['kube-system'] } })
  const a = attrs(ns('kube-system', restricted) as KubeObject, {
    resource: 'namespaces',
    namespace: 'kube-system',
  })
  await plugin.validate?.(a)
  assert.deepEqual(a.warnings, [
    'namespace "kube-system" is exempt from Pod Security, and the policy (enforce=restricted:latest) will be ignored',
  ])
})
