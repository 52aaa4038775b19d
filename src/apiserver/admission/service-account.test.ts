import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod, ServiceAccount } from '../../api/generated/types/core-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import { realClock } from '../../base/clock.ts'
import type { AdmissionAttributes } from './admission.ts'
import { serviceAccountPlugin, tokenVolumeSource } from './service-account.ts'

/** A clock whose sleeps end at once, counting them. */
function instantClock(): Clock & { sleeps: number } {
  const c = { ...realClock, sleeps: 0, sleep: async () => void c.sleeps++ }
  return c
}

function setup(accounts: ServiceAccount[]) {
  const clock = instantClock()
  const plugin = serviceAccountPlugin({
    accounts: {
      get: async (ns, name) => accounts.find((a) => a.metadata?.namespace === ns && a.metadata.name === name),
    },
    clock,
  })
  return { plugin, clock }
}

const account = (name: string, extra: Partial<ServiceAccount> = {}): ServiceAccount => ({
  metadata: { name, namespace: 'ns' },
  ...extra,
})

function create(pod: Pod): AdmissionAttributes {
  return {
    operation: 'CREATE',
    group: '',
    version: 'v1',
    resource: 'pods',
    subresource: '',
    kind: 'Pod',
    namespace: 'ns',
    name: pod.metadata?.name ?? '',
    object: pod as KubeObject,
    oldObject: undefined,
    dryRun: false,
    user: { name: 'alice', groups: [] },
  }
}

const pod = (spec: Partial<NonNullable<Pod['spec']>> = {}, meta: Pod['metadata'] = { name: 'p' }): Pod => ({
  metadata: { namespace: 'ns', ...meta },
  spec: { containers: [{ name: 'c', image: 'i' }], ...spec },
})

async function admit(plugin: ReturnType<typeof serviceAccountPlugin>, a: AdmissionAttributes): Promise<void> {
  if (plugin.handles(a)) {
    await plugin.admit?.(a)
    await plugin.validate?.(a)
  }
}

test('a pod runs as default and gets the token volume in each container, once across two rounds', async () => {
  const { plugin } = setup([account('default', { imagePullSecrets: [{ name: 'registry' }] })])
  const p = pod({ initContainers: [{ name: 'init', image: 'i' }] })
  const a = create(p)
  await admit(plugin, a)
  await admit(plugin, a) // the mutating phase may run again (reinvocation)
  const spec = p.spec
  assert.ok(spec)
  assert.equal(spec.serviceAccountName, 'default')
  assert.equal(spec.volumes?.length, 1)
  const volume = spec.volumes?.[0]
  assert.match(volume?.name ?? '', /^kube-api-access-[a-z0-9]{5}$/)
  assert.deepEqual(volume?.projected, tokenVolumeSource())
  const mount = {
    name: volume?.name,
    readOnly: true,
    mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
  }
  assert.deepEqual(spec.containers[0]?.volumeMounts, [mount])
  assert.deepEqual(spec.initContainers?.[0]?.volumeMounts, [mount])
  assert.deepEqual(spec.imagePullSecrets, [{ name: 'registry' }])
})

test('automount false on the pod wins over the account, and the account over the default', async () => {
  const { plugin } = setup([account('off', { automountServiceAccountToken: false }), account('on')])
  const podOff = pod({ serviceAccountName: 'on', automountServiceAccountToken: false })
  await admit(plugin, create(podOff))
  assert.equal(podOff.spec?.volumes, undefined)
  const accountOff = pod({ serviceAccountName: 'off' })
  await admit(plugin, create(accountOff))
  assert.equal(accountOff.spec?.volumes, undefined)
  const podOn = pod({ serviceAccountName: 'off', automountServiceAccountToken: true })
  await admit(plugin, create(podOn))
  assert.equal(podOn.spec?.volumes?.length, 1)
})

test('a missing account is refused with the pod named by its generateName; default is waited for', async () => {
  const { plugin, clock } = setup([])
  await assert.rejects(admit(plugin, create(pod({}, { generateName: 'web-' }))), (err: Error) => {
    assert.equal(
      err.message,
      'pods "web-" is forbidden: error looking up service account ns/default: serviceaccount "default" not found',
    )
    return true
  })
  assert.equal(clock.sleeps, 9)
  await assert.rejects(
    admit(plugin, create(pod({ serviceAccountName: 'builder' }))),
    /pods "p" is forbidden: error looking up service account ns\/builder: serviceaccount "builder" not found/,
  )
  assert.equal(clock.sleeps, 9)
})

test('an account enforcing mountable secrets limits the secrets a pod may use', async () => {
  const strict = account('strict', {
    metadata: {
      name: 'strict',
      namespace: 'ns',
      annotations: { 'kubernetes.io/enforce-mountable-secrets': 'true' },
    },
    secrets: [{ name: 'allowed' }],
  })
  const { plugin } = setup([strict])
  await admit(
    plugin,
    create(
      pod({ serviceAccountName: 'strict', volumes: [{ name: 'v', secret: { secretName: 'allowed' } }] }),
    ),
  )
  await assert.rejects(
    admit(
      plugin,
      create(
        pod({ serviceAccountName: 'strict', volumes: [{ name: 'v', secret: { secretName: 'other' } }] }),
      ),
    ),
    /volume with secret.secretName="other" is not allowed because service account strict does not reference that secret/,
  )
  await assert.rejects(
    admit(
      plugin,
      create(
        pod({
          serviceAccountName: 'strict',
          containers: [{ name: 'c', image: 'i', envFrom: [{ secretRef: { name: 'other' } }] }],
        }),
      ),
    ),
    /container c with envFrom referencing secret.secretName="other" is not allowed/,
  )
})

test('mirror pods are left as they are, and may not use accounts or secrets', async () => {
  const { plugin } = setup([account('default')])
  const mirror = { name: 'static', annotations: { 'kubernetes.io/config.mirror': 'hash' } }
  const p = pod({}, mirror)
  await admit(plugin, create(p))
  assert.equal(p.spec?.serviceAccountName, undefined)
  assert.equal(p.spec?.volumes, undefined)
  await assert.rejects(
    admit(plugin, create(pod({ serviceAccountName: 'default' }, mirror))),
    /a mirror pod may not reference service accounts/,
  )
  await assert.rejects(
    admit(plugin, create(pod({ volumes: [{ name: 'v', secret: { secretName: 's' } }] }, mirror))),
    /a mirror pod may not reference secrets/,
  )
})

test('only new pods are mutated', () => {
  const { plugin } = setup([])
  assert.equal(plugin.handles({ ...create(pod()), operation: 'UPDATE' }), false)
  assert.equal(plugin.handles({ ...create(pod()), subresource: 'status' }), false)
  assert.equal(plugin.handles({ ...create(pod()), resource: 'configmaps' }), false)
})
