import type {
  Container,
  Pod,
  ServiceAccount,
  Volume,
  VolumeMount,
} from '../../api/generated/types/core-v1.ts'
import type { Clock } from '../../base/clock.ts'
import { warnOnlyBoundTokenExpirationSeconds } from '../../pki/index.ts'
import { ApiError, forbidden, notFound } from '../errors.ts'
import { generateName } from '../registry/store.ts'
import type { RegistryStore } from '../registry/store.ts'
import type { AdmissionAttributes, AdmissionPlugin } from './admission.ts'

/** The admission plugin's name, as --disable-admission-plugins knows it. */
export const serviceAccountPluginName = 'ServiceAccount'

/** The account of pods that name none. */
export const defaultServiceAccountName = 'default'

/** Where every container finds its token, the cluster CA and its namespace. */
export const serviceAccountTokenMountPath = '/var/run/secrets/kubernetes.io/serviceaccount'

/** The prefix of the projected volume the plugin adds (kube-api-access-<5 random characters>). */
export const serviceAccountVolumePrefix = 'kube-api-access-'

/** The ConfigMap the root-ca-cert-publisher keeps in every namespace. */
export const rootCAConfigMapName = 'kube-root-ca.crt'

const mirrorPodAnnotation = 'kubernetes.io/config.mirror'
const enforceMountableSecretsAnnotation = 'kubernetes.io/enforce-mountable-secrets'

/** Where the plugin reads ServiceAccounts; undefined when the account does not exist. */
export interface ServiceAccountReader {
  get(namespace: string, name: string): Promise<Readonly<ServiceAccount> | undefined>
}

/** ServiceAccounts from the apiserver's own store: its watch cache when current, else a consistent read. */
export function serviceAccountsOf(store: () => RegistryStore | undefined): ServiceAccountReader {
  return {
    async get(namespace, name) {
      const s = store()
      if (!s) return undefined
      const cached = s.peek(namespace, name)
      if (cached) return cached.object
      try {
        return (await s.get(namespace, name)).object
      } catch (err) {
        if (err instanceof ApiError && err.code === 404) return undefined
        throw err
      }
    },
  }
}

/**
 * ServiceAccount, as the Kubernetes admission plugin of that name, for new pods:
 * - a pod without spec.serviceAccountName runs as `default`; the account must exist, or the pod
 *   is refused (403, "error looking up service account <ns>/<name>: serviceaccount "<name>" not
 *   found"). The `default` account is looked for ten times over a second or two, since the
 *   serviceaccount controller makes it moments after a namespace appears;
 * - unless automountServiceAccountToken is false on the pod (or else on the account), the pod
 *   gets the projected volume kube-api-access-xxxxx (a token for the apiserver, valid 3607 s,
 *   the cluster CA from the kube-root-ca.crt ConfigMap, the namespace from the downward API),
 *   mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every init container
 *   and container that mounts nothing there itself;
 * - the account's imagePullSecrets become the pod's when it names none;
 * - an account annotated kubernetes.io/enforce-mountable-secrets=true limits the pod's secrets
 *   to those it lists.
 * Mirror pods (the kubelet's static pods) may not use service accounts or secrets at all.
 */
export function serviceAccountPlugin(o: { accounts: ServiceAccountReader; clock: Clock }): AdmissionPlugin {
  const lookup = async (a: AdmissionAttributes, name: string): Promise<Readonly<ServiceAccount>> => {
    // The default account is made by a controller right after its namespace: wait for it a little.
    const attempts = name === defaultServiceAccountName ? 10 : 1
    const interval = 100 + Math.floor(Math.random() * 100)
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await o.clock.sleep(interval)
      const sa = await o.accounts.get(a.namespace, name)
      if (sa) return sa
    }
    throw refuse(
      a,
      `error looking up service account ${a.namespace}/${name}: ${notFound({ group: '', resource: 'serviceaccount' }, name).message}`,
    )
  }
  return {
    name: serviceAccountPluginName,
    handles: (a) =>
      a.group === '' &&
      a.resource === 'pods' &&
      a.object !== undefined &&
      ((a.operation === 'CREATE' && a.subresource === '') ||
        (a.operation === 'UPDATE' && a.subresource === 'ephemeralcontainers')),
    async admit(a) {
      if (a.operation !== 'CREATE') return
      const pod = a.object as Pod
      if (isMirrorPod(pod)) return
      const spec = (pod.spec ??= { containers: [] })
      if (!spec.serviceAccountName) spec.serviceAccountName = defaultServiceAccountName
      const sa = await lookup(a, spec.serviceAccountName)
      if (shouldAutomount(sa, pod)) mountServiceAccountToken(pod)
      if (!spec.imagePullSecrets || spec.imagePullSecrets.length === 0) {
        const secrets = sa.imagePullSecrets ?? []
        if (secrets.length > 0) spec.imagePullSecrets = secrets.map((s) => ({ name: s.name ?? '' }))
      }
    },
    async validate(a) {
      const pod = a.object as Pod
      const spec = pod.spec ?? { containers: [] }
      if (a.operation === 'UPDATE') {
        // Ephemeral containers: only the mountable-secrets rule applies.
        if (!spec.serviceAccountName)
          throw refuse(a, `no service account specified for pod ${a.namespace}/${pod.metadata?.name ?? ''}`)
        const sa = await lookup(a, spec.serviceAccountName)
        if (enforcesMountableSecrets(sa)) {
          const why = secretReferenceViolation(sa, {
            containers: [],
            ephemeralContainers: spec.ephemeralContainers ?? [],
          })
          if (why) throw refuse(a, why)
        }
        return
      }
      if (isMirrorPod(pod)) {
        if (spec.serviceAccountName) throw refuse(a, 'a mirror pod may not reference service accounts')
        if (referencesSecrets(pod)) throw refuse(a, 'a mirror pod may not reference secrets')
        if ((spec.volumes ?? []).some((v) => (v.projected?.sources ?? []).some((s) => s.serviceAccountToken)))
          throw refuse(a, 'a mirror pod may not use ServiceAccountToken volume projections')
        return
      }
      if (!spec.serviceAccountName)
        throw refuse(a, `no service account specified for pod ${a.namespace}/${pod.metadata?.name ?? ''}`)
      const sa = await lookup(a, spec.serviceAccountName)
      if (enforcesMountableSecrets(sa)) {
        const why = secretReferenceViolation(sa, spec)
        if (why) throw refuse(a, why)
      }
    },
  }
}

function isMirrorPod(pod: Pod): boolean {
  return pod.metadata?.annotations?.[mirrorPodAnnotation] !== undefined
}

/** The pod's choice wins, then the account's; tokens are mounted by default. */
function shouldAutomount(sa: Readonly<ServiceAccount>, pod: Pod): boolean {
  return pod.spec?.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true
}

/** The projected volume of the token, the cluster CA and the namespace, as Kubernetes makes it. */
export function tokenVolumeSource(): NonNullable<Volume['projected']> {
  return {
    defaultMode: 0o644,
    sources: [
      { serviceAccountToken: { path: 'token', expirationSeconds: warnOnlyBoundTokenExpirationSeconds } },
      { configMap: { name: rootCAConfigMapName, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      {
        downwardAPI: {
          items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
        },
      },
    ],
  }
}

/**
 * Mounts the token volume in every init container and container that has nothing at the mount
 * path, adding the volume when one of them needs it. A pod that has a kube-api-access- volume
 * already (a second round of admission) keeps it.
 */
export function mountServiceAccountToken(pod: Pod): void {
  const spec = (pod.spec ??= { containers: [] })
  const existing = (spec.volumes ?? []).find((v) => v.name.startsWith(serviceAccountVolumePrefix))
  const volumeName = existing?.name ?? generateName(serviceAccountVolumePrefix)
  const mount: VolumeMount = { name: volumeName, readOnly: true, mountPath: serviceAccountTokenMountPath }
  let needed = false
  const addTo = (containers: Container[] | undefined) => {
    for (const c of containers ?? []) {
      if ((c.volumeMounts ?? []).some((m) => m.mountPath === serviceAccountTokenMountPath)) continue
      c.volumeMounts = [...(c.volumeMounts ?? []), { ...mount }]
      needed = true
    }
  }
  addTo(spec.initContainers)
  addTo(spec.containers)
  if (!existing && needed)
    spec.volumes = [...(spec.volumes ?? []), { name: volumeName, projected: tokenVolumeSource() }]
}

function enforcesMountableSecrets(sa: Readonly<ServiceAccount>): boolean {
  const v = sa.metadata?.annotations?.[enforceMountableSecretsAnnotation]
  return v !== undefined && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)
}

/** Why the pod may not use the secrets it names, under an account that limits them; undefined when it may. */
function secretReferenceViolation(
  sa: Readonly<ServiceAccount>,
  spec: Pick<
    NonNullable<Pod['spec']>,
    'volumes' | 'initContainers' | 'containers' | 'ephemeralContainers' | 'imagePullSecrets'
  >,
): string | undefined {
  const mountable = new Set((sa.secrets ?? []).map((s) => s.name))
  const account = sa.metadata?.name ?? ''
  for (const v of spec.volumes ?? []) {
    const secretName = v.secret?.secretName
    if (v.secret && !mountable.has(secretName)) {
      return `volume with secret.secretName="${secretName ?? ''}" is not allowed because service account ${account} does not reference that secret`
    }
  }
  const groups: [string, Container[] | undefined][] = [
    ['init container', spec.initContainers],
    ['container', spec.containers],
    ['ephemeral container', spec.ephemeralContainers],
  ]
  for (const [what, containers] of groups) {
    for (const c of containers ?? []) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef
        if (ref && !mountable.has(ref.name)) {
          return `${what} ${c.name} with envVar ${e.name} referencing secret.secretName="${ref.name ?? ''}" is not allowed because service account ${account} does not reference that secret`
        }
      }
      for (const f of c.envFrom ?? []) {
        if (f.secretRef && !mountable.has(f.secretRef.name)) {
          return `${what} ${c.name} with envFrom referencing secret.secretName="${f.secretRef.name ?? ''}" is not allowed because service account ${account} does not reference that secret`
        }
      }
    }
  }
  const pullSecrets = new Set((sa.imagePullSecrets ?? []).map((s) => s.name))
  for (const [i, r] of (spec.imagePullSecrets ?? []).entries()) {
    if (!pullSecrets.has(r.name)) {
      return `imagePullSecrets[${i}].name="${r.name ?? ''}" is not allowed because service account ${account} does not reference that imagePullSecret`
    }
  }
  return undefined
}

/** Whether the pod names any Secret (volumes, projections, env, envFrom, image pull secrets). */
function referencesSecrets(pod: Pod): boolean {
  const spec = pod.spec
  if (!spec) return false
  if ((spec.imagePullSecrets ?? []).length > 0) return true
  for (const v of spec.volumes ?? []) {
    if (v.secret || (v.projected?.sources ?? []).some((s) => s.secret)) return true
    const withSecretRef = [v.azureFile, v.cephfs, v.cinder, v.flexVolume, v.rbd, v.scaleIO, v.iscsi, v.csi]
    if (
      withSecretRef.some((s) => s && ('secretRef' in s || 'secretName' in s || 'nodePublishSecretRef' in s))
    )
      return true
  }
  const containers = [
    ...(spec.initContainers ?? []),
    ...spec.containers,
    ...((spec.ephemeralContainers ?? []) as Container[]),
  ]
  return containers.some(
    (c) => (c.env ?? []).some((e) => e.valueFrom?.secretKeyRef) || (c.envFrom ?? []).some((f) => f.secretRef),
  )
}

/** 403 Forbidden naming the pod (its generateName when it has no name yet), as admission.NewForbidden does. */
function refuse(a: AdmissionAttributes, why: string): ApiError {
  const meta = (a.object as Pod | undefined)?.metadata
  const name = meta?.name || meta?.generateName || a.name || 'Unknown'
  return forbidden({ group: '', resource: 'pods' }, name, why)
}
