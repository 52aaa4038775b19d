import type {
  Container,
  LifecycleHandler,
  PodSpec,
  Probe,
  SELinuxOptions,
  Volume,
} from '../../../api/generated/types/core-v1.ts'
import type { ObjectMeta } from '../../../api/generated/types/meta-v1.ts'

/**
 * The checks of the Pod Security Standards, as Kubernetes' pod-security-admission policy package
 * defines them at v1.35: each looks at one aspect of a pod (or a pod template), and tells why it
 * is forbidden, in upstream's words, since `kubectl` users see them verbatim:
 *
 *   violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false
 *     (container "c" must set securityContext.allowPrivilegeEscalation=false), ...
 *
 * A check has one or more versions: the policy version of a namespace (v1.0 ... v1.35, latest)
 * picks the newest version of each check not newer than it. A restricted check may override
 * baseline checks (the restricted level then runs it instead of them).
 */
export type Level = 'privileged' | 'baseline' | 'restricted'

/** Why a pod is refused: a short reason, and the details that name what is wrong. */
export interface Forbidden {
  readonly reason: string
  readonly detail: string
}

/** Undefined when the pod passes. */
export type CheckPod = (meta: Readonly<ObjectMeta>, spec: Readonly<PodSpec>) => Forbidden | undefined

export interface VersionedCheck {
  /** The first policy version (v1.<minor>) this version of the check applies to. */
  readonly minimumMinor: number
  readonly check: CheckPod
  /** Baseline checks this restricted check replaces at the restricted level. */
  readonly overrides?: readonly string[]
}

export interface Check {
  readonly id: string
  readonly level: 'baseline' | 'restricted'
  /** Strictly increasing minimum versions. */
  readonly versions: readonly VersionedCheck[]
}

// --- helpers -----------------------------------------------------------------------------------

/** `"a", "b"`, as upstream quotes lists. */
export function joinQuote(items: readonly string[]): string {
  return items.length === 0 ? '' : `"${items.join('", "')}"`
}

export function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural
}

/** Go's %q for the plain strings of labels and annotations. */
const quote = (s: string) => JSON.stringify(s)

/** Sorted, without duplicates (sets.String.List). */
const sortedSet = (items: Iterable<string>) => [...new Set(items)].sort()

/** A pod in a user namespace (hostUsers: false) may relax the root and /proc rules. */
function inUserNamespace(spec: Readonly<PodSpec>): boolean {
  return spec.hostUsers === false
}

function isWindows(spec: Readonly<PodSpec>): boolean {
  return spec.os?.name === 'windows'
}

/** Init containers, then containers, then ephemeral containers, as upstream visits them. */
function containersOf(spec: Readonly<PodSpec>): readonly Readonly<Container>[] {
  return [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...((spec.ephemeralContainers ?? []) as readonly Readonly<Container>[]),
  ]
}

/** "container "a"" or "containers "a", "b"". */
const containersPhrase = (names: readonly string[]) =>
  `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`

// --- baseline ----------------------------------------------------------------------------------

const appArmorAnnotationPrefix = 'container.apparmor.security.beta.kubernetes.io/'
const allowedAppArmorTypes = new Set(['RuntimeDefault', 'Localhost'])

const appArmorProfile: CheckPod = (meta, spec) => {
  const setters: string[] = []
  const badValues = new Set<string>()
  const podProfile = spec.securityContext?.appArmorProfile
  if (podProfile != null && !allowedAppArmorTypes.has(podProfile.type)) {
    setters.push('pod')
    badValues.add(podProfile.type)
  }
  const badContainers: string[] = []
  for (const c of containersOf(spec)) {
    const p = c.securityContext?.appArmorProfile
    if (p != null && !allowedAppArmorTypes.has(p.type)) {
      badContainers.push(c.name)
      badValues.add(p.type)
    }
  }
  if (badContainers.length > 0) setters.push(containersPhrase(badContainers))
  const badAnnotations: string[] = []
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    const allowed = v === '' || v === 'runtime/default' || v.startsWith('localhost/')
    if (k.startsWith(appArmorAnnotationPrefix) && !allowed) badAnnotations.push(`${k}=${quote(v)}`)
  }
  const values = [...sortedSet(badValues), ...badAnnotations.sort()]
  if (badAnnotations.length > 0) setters.push(pluralize('annotation', 'annotations', badAnnotations.length))
  if (setters.length === 0) return undefined
  return {
    reason: pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', values.length),
    detail: `${setters.join(' and ')} must not set AppArmor profile type to ${joinQuote(values)}`,
  }
}

const defaultCapabilities = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
])

const capabilitiesBaseline: CheckPod = (_meta, spec) => {
  const badContainers: string[] = []
  const added = new Set<string>()
  for (const c of containersOf(spec)) {
    let bad = false
    for (const cap of c.securityContext?.capabilities?.add ?? []) {
      if (!defaultCapabilities.has(cap)) {
        bad = true
        added.add(cap)
      }
    }
    if (bad) badContainers.push(c.name)
  }
  if (badContainers.length === 0) return undefined
  return {
    reason: 'non-default capabilities',
    detail: `${containersPhrase(badContainers)} must not include ${joinQuote(sortedSet(added))} in securityContext.capabilities.add`,
  }
}

const hostNamespaces: CheckPod = (_meta, spec) => {
  const used: string[] = []
  if (spec.hostNetwork === true) used.push('hostNetwork=true')
  if (spec.hostPID === true) used.push('hostPID=true')
  if (spec.hostIPC === true) used.push('hostIPC=true')
  return used.length === 0 ? undefined : { reason: 'host namespaces', detail: used.join(', ') }
}

const hostPathVolumes: CheckPod = (_meta, spec) => {
  const names = (spec.volumes ?? []).filter((v) => v.hostPath != null).map((v) => v.name)
  if (names.length === 0) return undefined
  return {
    reason: 'hostPath volumes',
    detail: `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)}`,
  }
}

const hostPorts: CheckPod = (_meta, spec) => {
  const badContainers: string[] = []
  const ports = new Set<string>()
  for (const c of containersOf(spec)) {
    let bad = false
    for (const p of c.ports ?? []) {
      if ((p.hostPort ?? 0) !== 0) {
        bad = true
        ports.add(String(p.hostPort))
      }
    }
    if (bad) badContainers.push(c.name)
  }
  if (badContainers.length === 0) return undefined
  const list = sortedSet(ports)
  return {
    reason: 'hostPort',
    detail: `${containersPhrase(badContainers)} ${pluralize('uses', 'use', badContainers.length)} ${pluralize('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`,
  }
}

function probeHosts(p: Readonly<Probe | LifecycleHandler> | undefined): string[] {
  if (p == null) return []
  const hosts: string[] = []
  if (p.httpGet?.host) hosts.push(p.httpGet.host)
  if (p.tcpSocket?.host) hosts.push(p.tcpSocket.host)
  return hosts
}

const hostProbesAndHostLifecycle: CheckPod = (_meta, spec) => {
  const badContainers = new Set<string>()
  const hosts = new Set<string>()
  for (const c of containersOf(spec)) {
    const handlers = [
      c.livenessProbe,
      c.readinessProbe,
      c.startupProbe,
      c.lifecycle?.postStart,
      c.lifecycle?.preStop,
    ]
    for (const h of handlers) {
      const found = probeHosts(h)
      if (found.length === 0) continue
      badContainers.add(c.name)
      for (const x of found) hosts.add(x)
    }
  }
  if (badContainers.size === 0) return undefined
  const names = sortedSet(badContainers)
  const hostList = sortedSet(hosts)
  return {
    reason: 'probe or lifecycle host',
    detail: `${containersPhrase(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('probe or lifecycle host', 'probe or lifecycle hosts', hostList.length)} ${joinQuote(hostList)}`,
  }
}

const privileged: CheckPod = (_meta, spec) => {
  const bad = containersOf(spec)
    .filter((c) => c.securityContext?.privileged === true)
    .map((c) => c.name)
  if (bad.length === 0) return undefined
  return {
    reason: 'privileged',
    detail: `${containersPhrase(bad)} must not set securityContext.privileged=true`,
  }
}

const procMount: CheckPod = (_meta, spec) => {
  const bad: string[] = []
  const types = new Set<string>()
  for (const c of containersOf(spec)) {
    const pm = c.securityContext?.procMount
    if (pm == null || pm === 'Default') continue
    bad.push(c.name)
    types.add(pm)
  }
  if (bad.length === 0) return undefined
  return {
    reason: 'procMount',
    detail: `${containersPhrase(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`,
  }
}

const procMountRelaxedInUserNamespace: CheckPod = (meta, spec) =>
  inUserNamespace(spec) ? undefined : procMount(meta, spec)

function seLinuxOptionsWith(allowedTypes: ReadonlySet<string>): CheckPod {
  return (_meta, spec) => {
    const setters: string[] = []
    const badTypes = new Set<string>()
    let setUser = false
    let setRole = false
    const valid = (o: Readonly<SELinuxOptions>) => {
      let ok = true
      if (!allowedTypes.has(o.type ?? '')) {
        ok = false
        badTypes.add(o.type ?? '')
      }
      if (o.user) {
        ok = false
        setUser = true
      }
      if (o.role) {
        ok = false
        setRole = true
      }
      return ok
    }
    const podOptions = spec.securityContext?.seLinuxOptions
    if (podOptions != null && !valid(podOptions)) setters.push('pod')
    const bad = containersOf(spec)
      .filter((c) => c.securityContext?.seLinuxOptions != null && !valid(c.securityContext.seLinuxOptions))
      .map((c) => c.name)
    if (bad.length > 0) setters.push(containersPhrase(bad))
    if (setters.length === 0) return undefined
    const what: string[] = []
    if (badTypes.size > 0) {
      const types = sortedSet(badTypes)
      what.push(`${pluralize('type', 'types', types.length)} ${joinQuote(types)}`)
    }
    if (setUser) what.push('user may not be set')
    if (setRole) what.push('role may not be set')
    return {
      reason: 'seLinuxOptions',
      detail: `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${what.join('; ')}`,
    }
  }
}

const seLinuxTypes1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t'])
const seLinuxTypes1_31 = new Set([...seLinuxTypes1_0, 'container_engine_t'])

const seccompPodAnnotation = 'seccomp.security.alpha.kubernetes.io/pod'
const seccompContainerAnnotationPrefix = 'container.seccomp.security.alpha.kubernetes.io/'
const validSeccompType = (t: string) => t === 'Localhost' || t === 'RuntimeDefault'
const validSeccompAnnotation = (v: string) =>
  v === 'runtime/default' || v === 'docker/default' || v.startsWith('localhost/')

/** Before v1.19 seccomp was set by annotations. */
const seccompProfileBaseline1_0: CheckPod = (meta, spec) => {
  const annotations = meta.annotations ?? {}
  const forbidden = new Set<string>()
  const podValue = annotations[seccompPodAnnotation]
  if (podValue !== undefined && !validSeccompAnnotation(podValue))
    forbidden.add(`${seccompPodAnnotation}=${quote(podValue)}`)
  for (const c of containersOf(spec)) {
    const key = seccompContainerAnnotationPrefix + c.name
    const v = annotations[key]
    if (v !== undefined && !validSeccompAnnotation(v)) forbidden.add(`${key}=${quote(v)}`)
  }
  if (forbidden.size === 0) return undefined
  const list = sortedSet(forbidden)
  return {
    reason: 'seccompProfile',
    detail: `forbidden ${pluralize('annotation', 'annotations', list.length)} ${list.join(', ')}`,
  }
}

/** The seccomp rules of both levels: explicit bad types, and (restricted) profiles that must be set. */
function seccompProfile(spec: Readonly<PodSpec>, required: boolean): Forbidden | undefined {
  const setters: string[] = []
  const badValues = new Set<string>()
  let podSet = false
  const podProfile = spec.securityContext?.seccompProfile
  if (podProfile != null) {
    if (!validSeccompType(podProfile.type)) {
      setters.push('pod')
      badValues.add(podProfile.type)
    } else podSet = true
  }
  const explicit: string[] = []
  const implicit: string[] = []
  for (const c of containersOf(spec)) {
    const p = c.securityContext?.seccompProfile
    if (p != null) {
      if (!validSeccompType(p.type)) {
        explicit.push(c.name)
        badValues.add(p.type)
      }
    } else if (!podSet) implicit.push(c.name)
  }
  if (explicit.length > 0) setters.push(containersPhrase(explicit))
  if (setters.length > 0) {
    return {
      reason: 'seccompProfile',
      detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}`,
    }
  }
  if (required && implicit.length > 0) {
    return {
      reason: 'seccompProfile',
      detail: `pod or ${containersPhrase(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    }
  }
  return undefined
}

const seccompProfileBaseline1_19: CheckPod = (_meta, spec) => seccompProfile(spec, false)

const sysctls1_0 = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
]
const sysctls1_27 = [...sysctls1_0, 'net.ipv4.ip_local_reserved_ports']
const sysctls1_29 = [
  ...sysctls1_27,
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]
const sysctls1_32 = [...sysctls1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']

function sysctlsWith(allowed: readonly string[]): CheckPod {
  const safe = new Set(allowed)
  return (_meta, spec) => {
    const bad = (spec.securityContext?.sysctls ?? []).map((s) => s.name).filter((n) => !safe.has(n))
    return bad.length === 0 ? undefined : { reason: 'forbidden sysctls', detail: bad.join(', ') }
  }
}

const windowsHostProcess: CheckPod = (_meta, spec) => {
  const setters: string[] = []
  if (spec.securityContext?.windowsOptions?.hostProcess === true) setters.push('pod')
  const bad = containersOf(spec)
    .filter((c) => c.securityContext?.windowsOptions?.hostProcess === true)
    .map((c) => c.name)
  if (bad.length > 0) setters.push(containersPhrase(bad))
  if (setters.length === 0) return undefined
  return {
    reason: 'hostProcess',
    detail: `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`,
  }
}

// --- restricted --------------------------------------------------------------------------------

const allowPrivilegeEscalation1_8: CheckPod = (_meta, spec) => {
  const bad = containersOf(spec)
    .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
    .map((c) => c.name)
  if (bad.length === 0) return undefined
  return {
    reason: 'allowPrivilegeEscalation != false',
    detail: `${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false`,
  }
}

/** Since v1.25 Windows pods are exempt from the Linux-only restricted rules (validation refuses those fields). */
const exceptWindows =
  (check: CheckPod): CheckPod =>
  (meta, spec) =>
    isWindows(spec) ? undefined : check(meta, spec)

const capabilitiesRestricted1_22: CheckPod = (_meta, spec) => {
  const missingDropAll: string[] = []
  const addingForbidden: string[] = []
  const forbiddenCaps = new Set<string>()
  for (const c of containersOf(spec)) {
    const caps = c.securityContext?.capabilities
    if (caps == null) {
      missingDropAll.push(c.name)
      continue
    }
    if (!(caps.drop ?? []).includes('ALL')) missingDropAll.push(c.name)
    let bad = false
    for (const cap of caps.add ?? []) {
      if (cap !== 'NET_BIND_SERVICE') {
        bad = true
        forbiddenCaps.add(cap)
      }
    }
    if (bad) addingForbidden.push(c.name)
  }
  const details: string[] = []
  if (missingDropAll.length > 0)
    details.push(`${containersPhrase(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`)
  if (addingForbidden.length > 0)
    details.push(
      `${containersPhrase(addingForbidden)} must not include ${joinQuote(sortedSet(forbiddenCaps))} in securityContext.capabilities.add`,
    )
  return details.length === 0
    ? undefined
    : { reason: 'unrestricted capabilities', detail: details.join('; ') }
}

/** The inline volume sources the restricted level allows. */
const allowedVolumeSources = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'image',
  'persistentVolumeClaim',
  'projected',
  'secret',
] as const satisfies readonly (keyof Volume)[]
/** The restricted sources, in the order upstream names the first one a volume has. */
const restrictedVolumeSources = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'nfs',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
] as const satisfies readonly (keyof Volume)[]

const restrictedVolumes: CheckPod = (_meta, spec) => {
  const bad: string[] = []
  const types = new Set<string>()
  for (const v of spec.volumes ?? []) {
    if (allowedVolumeSources.some((s) => v[s] != null)) continue
    bad.push(v.name)
    types.add(restrictedVolumeSources.find((s) => v[s] != null) ?? 'unknown')
  }
  if (bad.length === 0) return undefined
  const typeList = sortedSet(types)
  return {
    reason: 'restricted volume types',
    detail: `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('restricted volume type', 'restricted volume types', typeList.length)} ${joinQuote(typeList)}`,
  }
}

const runAsNonRoot1_0: CheckPod = (_meta, spec) => {
  const setters: string[] = []
  let podNonRoot = false
  const podValue = spec.securityContext?.runAsNonRoot
  if (podValue != null) {
    if (!podValue) setters.push('pod')
    else podNonRoot = true
  }
  const explicit: string[] = []
  const implicit: string[] = []
  for (const c of containersOf(spec)) {
    const v = c.securityContext?.runAsNonRoot
    if (v != null) {
      if (!v) explicit.push(c.name)
    } else if (!podNonRoot) implicit.push(c.name)
  }
  if (explicit.length > 0) setters.push(containersPhrase(explicit))
  if (setters.length > 0) {
    return {
      reason: 'runAsNonRoot != true',
      detail: `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false`,
    }
  }
  if (implicit.length > 0) {
    return {
      reason: 'runAsNonRoot != true',
      detail: `pod or ${containersPhrase(implicit)} must set securityContext.runAsNonRoot=true`,
    }
  }
  return undefined
}

const runAsUser1_23: CheckPod = (_meta, spec) => {
  const setters: string[] = []
  if (spec.securityContext?.runAsUser === 0) setters.push('pod')
  const bad = containersOf(spec)
    .filter((c) => c.securityContext?.runAsUser === 0)
    .map((c) => c.name)
  if (bad.length > 0) setters.push(containersPhrase(bad))
  if (setters.length === 0) return undefined
  return { reason: 'runAsUser=0', detail: `${setters.join(' and ')} must not set runAsUser=0` }
}

/** Since v1.35 a pod in a user namespace (hostUsers: false) may run as root inside it. */
const exceptUserNamespace =
  (check: CheckPod): CheckPod =>
  (meta, spec) =>
    inUserNamespace(spec) ? undefined : check(meta, spec)

const seccompProfileRestricted1_19: CheckPod = (_meta, spec) => seccompProfile(spec, true)

// --- the catalogue -----------------------------------------------------------------------------

/** Every check of the v1.35 policy, with its versions. */
export const podSecurityChecks: readonly Check[] = [
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    versions: [
      { minimumMinor: 8, check: allowPrivilegeEscalation1_8 },
      { minimumMinor: 25, check: exceptWindows(allowPrivilegeEscalation1_8) },
    ],
  },
  { id: 'appArmorProfile', level: 'baseline', versions: [{ minimumMinor: 0, check: appArmorProfile }] },
  {
    id: 'capabilities_baseline',
    level: 'baseline',
    versions: [{ minimumMinor: 0, check: capabilitiesBaseline }],
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    versions: [
      { minimumMinor: 22, check: capabilitiesRestricted1_22, overrides: ['capabilities_baseline'] },
      {
        minimumMinor: 25,
        check: exceptWindows(capabilitiesRestricted1_22),
        overrides: ['capabilities_baseline'],
      },
    ],
  },
  { id: 'hostNamespaces', level: 'baseline', versions: [{ minimumMinor: 0, check: hostNamespaces }] },
  { id: 'hostPathVolumes', level: 'baseline', versions: [{ minimumMinor: 0, check: hostPathVolumes }] },
  { id: 'hostPorts', level: 'baseline', versions: [{ minimumMinor: 0, check: hostPorts }] },
  {
    id: 'hostProbesAndHostLifecycle',
    level: 'baseline',
    versions: [{ minimumMinor: 34, check: hostProbesAndHostLifecycle }],
  },
  { id: 'privileged', level: 'baseline', versions: [{ minimumMinor: 0, check: privileged }] },
  {
    id: 'procMount',
    level: 'baseline',
    versions: [
      { minimumMinor: 0, check: procMount },
      { minimumMinor: 35, check: procMountRelaxedInUserNamespace },
    ],
  },
  {
    id: 'procMount_restricted',
    level: 'restricted',
    versions: [{ minimumMinor: 35, check: procMount, overrides: ['procMount'] }],
  },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    versions: [{ minimumMinor: 0, check: restrictedVolumes, overrides: ['hostPathVolumes'] }],
  },
  {
    id: 'runAsNonRoot',
    level: 'restricted',
    versions: [
      { minimumMinor: 0, check: runAsNonRoot1_0 },
      { minimumMinor: 35, check: exceptUserNamespace(runAsNonRoot1_0) },
    ],
  },
  {
    id: 'runAsUser',
    level: 'restricted',
    versions: [
      { minimumMinor: 23, check: runAsUser1_23 },
      { minimumMinor: 35, check: exceptUserNamespace(runAsUser1_23) },
    ],
  },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    versions: [
      { minimumMinor: 0, check: seLinuxOptionsWith(seLinuxTypes1_0) },
      { minimumMinor: 31, check: seLinuxOptionsWith(seLinuxTypes1_31) },
    ],
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    versions: [
      { minimumMinor: 0, check: seccompProfileBaseline1_0 },
      { minimumMinor: 19, check: seccompProfileBaseline1_19 },
    ],
  },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    versions: [
      { minimumMinor: 19, check: seccompProfileRestricted1_19, overrides: ['seccompProfile_baseline'] },
      {
        minimumMinor: 25,
        check: exceptWindows(seccompProfileRestricted1_19),
        overrides: ['seccompProfile_baseline'],
      },
    ],
  },
  {
    id: 'sysctls',
    level: 'baseline',
    versions: [
      { minimumMinor: 0, check: sysctlsWith(sysctls1_0) },
      { minimumMinor: 27, check: sysctlsWith(sysctls1_27) },
      { minimumMinor: 29, check: sysctlsWith(sysctls1_29) },
      { minimumMinor: 32, check: sysctlsWith(sysctls1_32) },
    ],
  },
  { id: 'windowsHostProcess', level: 'baseline', versions: [{ minimumMinor: 0, check: windowsHostProcess }] },
]
