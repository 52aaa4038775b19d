import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Container, Pod, PodSpec } from '../../../api/generated/types/core-v1.ts'
import {
  forbiddenDetail,
  parseVersion,
  PodSecurityEvaluator,
  policyToEvaluate,
  type Level,
} from './policy.ts'

/**
 * Every check of the Pod Security Standards, with a pod that passes and one that fails, at the
 * baseline and restricted levels; the failing pods are checked against upstream's messages.
 */

const evaluator = new PodSecurityEvaluator()

/** A pod that passes baseline (nothing special). */
function baselinePod(): Pod {
  return { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }
}

/** A pod that passes restricted. */
function restrictedPod(): Pod {
  return {
    metadata: { name: 'p' },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'c',
          image: 'nginx',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  }
}

const first = (spec: PodSpec): Container => {
  const c = spec.containers[0]
  if (!c) throw new Error('no container')
  return c
}

interface Case {
  name: string
  level: Exclude<Level, 'privileged'>
  version?: string
  change: (p: Pod & { spec: PodSpec }) => void
  /** The whole verdict, `reason (detail), ...`; undefined: allowed. */
  want: string | undefined
}

const cases: Case[] = [
  // hostNamespaces
  {
    name: 'host namespaces left false pass',
    level: 'baseline',
    change: (p) => void (p.spec.hostNetwork = false),
    want: undefined,
  },
  {
    name: 'host network and PID are refused',
    level: 'baseline',
    change: (p) => Object.assign(p.spec, { hostNetwork: true, hostPID: true }),
    want: 'host namespaces (hostNetwork=true, hostPID=true)',
  },
  {
    name: 'host IPC is refused at restricted too',
    level: 'restricted',
    change: (p) => void (p.spec.hostIPC = true),
    want: 'host namespaces (hostIPC=true)',
  },
  // privileged
  {
    name: 'privileged=false passes',
    level: 'baseline',
    change: (p) => void (first(p.spec).securityContext = { privileged: false }),
    want: undefined,
  },
  {
    name: 'a privileged container is refused',
    level: 'baseline',
    change: (p) => void (first(p.spec).securityContext = { privileged: true }),
    want: 'privileged (container "c" must not set securityContext.privileged=true)',
  },
  // capabilities_baseline
  {
    name: 'default capabilities may be added',
    level: 'baseline',
    change: (p) =>
      void (first(p.spec).securityContext = { capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'] } }),
    want: undefined,
  },
  {
    name: 'other capabilities may not be added',
    level: 'baseline',
    change: (p) => {
      p.spec.containers = [
        { name: 'a', securityContext: { capabilities: { add: ['SYS_TIME', 'CHOWN'] } } },
        { name: 'b', securityContext: { capabilities: { add: ['NET_ADMIN'] } } },
      ]
    },
    want: 'non-default capabilities (containers "a", "b" must not include "NET_ADMIN", "SYS_TIME" in securityContext.capabilities.add)',
  },
  // hostPathVolumes
  {
    name: 'an emptyDir volume passes',
    level: 'baseline',
    change: (p) => void (p.spec.volumes = [{ name: 'scratch', emptyDir: {} }]),
    want: undefined,
  },
  {
    name: 'hostPath volumes are refused',
    level: 'baseline',
    change: (p) =>
      void (p.spec.volumes = [
        { name: 'a', hostPath: { path: '/a' } },
        { name: 'b', hostPath: { path: '/b' } },
      ]),
    want: 'hostPath volumes (volumes "a", "b")',
  },
  // hostPorts
  {
    name: 'container ports without a host port pass',
    level: 'baseline',
    change: (p) => void (first(p.spec).ports = [{ containerPort: 80, hostPort: 0 }]),
    want: undefined,
  },
  {
    name: 'host ports are refused, sorted as text',
    level: 'baseline',
    change: (p) =>
      void (first(p.spec).ports = [
        { containerPort: 80, hostPort: 8080 },
        { containerPort: 443, hostPort: 443 },
      ]),
    want: 'hostPort (container "c" uses hostPorts 443, 8080)',
  },
  // appArmorProfile
  {
    name: 'the runtime default and localhost AppArmor profiles pass',
    level: 'baseline',
    change: (p) => {
      p.spec.securityContext = { appArmorProfile: { type: 'RuntimeDefault' } }
      p.metadata = {
        name: 'p',
        annotations: { 'container.apparmor.security.beta.kubernetes.io/c': 'localhost/x' },
      }
    },
    want: undefined,
  },
  {
    name: 'unconfined AppArmor, by field or annotation, is refused',
    level: 'baseline',
    change: (p) => {
      p.spec.securityContext = { appArmorProfile: { type: 'Unconfined' } }
      p.metadata = {
        name: 'p',
        annotations: { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' },
      }
    },
    want: 'forbidden AppArmor profiles (pod and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/c="unconfined"")',
  },
  {
    name: 'a container with an unconfined AppArmor profile is refused',
    level: 'restricted',
    change: (p) =>
      void (first(p.spec).securityContext = {
        ...first(p.spec).securityContext,
        appArmorProfile: { type: 'Unconfined' },
      }),
    want: 'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")',
  },
  // seLinuxOptions
  {
    name: 'container_engine_t is an allowed SELinux type since v1.31',
    level: 'baseline',
    change: (p) => void (p.spec.securityContext = { seLinuxOptions: { type: 'container_engine_t' } }),
    want: undefined,
  },
  {
    name: 'container_engine_t was not allowed before v1.31',
    level: 'baseline',
    version: 'v1.30',
    change: (p) => void (p.spec.securityContext = { seLinuxOptions: { type: 'container_engine_t' } }),
    want: 'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "container_engine_t")',
  },
  {
    name: 'SELinux user, role and other types are refused',
    level: 'baseline',
    change: (p) => {
      p.spec.securityContext = { seLinuxOptions: { type: 'spc_t', user: 'root' } }
      first(p.spec).securityContext = { seLinuxOptions: { role: 'sysadm_r' } }
    },
    want: 'seLinuxOptions (pod and container "c" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set; role may not be set)',
  },
  // procMount
  {
    name: 'the default proc mount passes',
    level: 'baseline',
    change: (p) => void (first(p.spec).securityContext = { procMount: 'Default' }),
    want: undefined,
  },
  {
    name: 'an unmasked proc mount is refused',
    level: 'baseline',
    change: (p) => void (first(p.spec).securityContext = { procMount: 'Unmasked' }),
    want: 'procMount (container "c" must not set securityContext.procMount to "Unmasked")',
  },
  {
    name: 'baseline allows an unmasked proc mount in a user namespace since v1.35',
    level: 'baseline',
    change: (p) => {
      p.spec.hostUsers = false
      first(p.spec).securityContext = { procMount: 'Unmasked' }
    },
    want: undefined,
  },
  {
    name: 'before v1.35 the user namespace did not help',
    level: 'baseline',
    version: 'v1.34',
    change: (p) => {
      p.spec.hostUsers = false
      first(p.spec).securityContext = { procMount: 'Unmasked' }
    },
    want: 'procMount (container "c" must not set securityContext.procMount to "Unmasked")',
  },
  {
    name: 'restricted refuses an unmasked proc mount even in a user namespace',
    level: 'restricted',
    change: (p) => {
      p.spec.hostUsers = false
      first(p.spec).securityContext = { ...first(p.spec).securityContext, procMount: 'Unmasked' }
    },
    want: 'procMount (container "c" must not set securityContext.procMount to "Unmasked")',
  },
  // seccompProfile_baseline
  {
    name: 'a localhost seccomp profile passes',
    level: 'baseline',
    change: (p) =>
      void (p.spec.securityContext = { seccompProfile: { type: 'Localhost', localhostProfile: 'x' } }),
    want: undefined,
  },
  {
    name: 'an unconfined seccomp profile is refused',
    level: 'baseline',
    change: (p) => void (p.spec.securityContext = { seccompProfile: { type: 'Unconfined' } }),
    want: 'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
  },
  {
    name: 'before v1.19 seccomp annotations were checked',
    level: 'baseline',
    version: 'v1.18',
    change: (p) =>
      void (p.metadata = {
        name: 'p',
        annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' },
      }),
    want: 'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")',
  },
  // sysctls
  {
    name: 'safe sysctls pass',
    level: 'baseline',
    change: (p) =>
      void (p.spec.securityContext = {
        sysctls: [
          { name: 'kernel.shm_rmid_forced', value: '1' },
          { name: 'net.ipv4.tcp_rmem', value: '4096 87380 6291456' },
        ],
      }),
    want: undefined,
  },
  {
    name: 'net.ipv4.tcp_rmem was not safe before v1.32',
    level: 'baseline',
    version: 'v1.31',
    change: (p) => void (p.spec.securityContext = { sysctls: [{ name: 'net.ipv4.tcp_rmem', value: '1' }] }),
    want: 'forbidden sysctls (net.ipv4.tcp_rmem)',
  },
  {
    name: 'unsafe sysctls are refused in order',
    level: 'baseline',
    change: (p) =>
      void (p.spec.securityContext = {
        sysctls: [
          { name: 'kernel.msgmax', value: '1' },
          { name: 'net.core.somaxconn', value: '1' },
        ],
      }),
    want: 'forbidden sysctls (kernel.msgmax, net.core.somaxconn)',
  },
  // windowsHostProcess
  {
    name: 'hostProcess=false passes',
    level: 'baseline',
    change: (p) => void (p.spec.securityContext = { windowsOptions: { hostProcess: false } }),
    want: undefined,
  },
  {
    name: 'host process containers are refused',
    level: 'baseline',
    change: (p) => {
      p.spec.securityContext = { windowsOptions: { hostProcess: true } }
      first(p.spec).securityContext = { windowsOptions: { hostProcess: true } }
    },
    want: 'hostProcess (pod and container "c" must not set securityContext.windowsOptions.hostProcess=true)',
  },
  // hostProbesAndHostLifecycle
  {
    name: 'probes of the pod itself pass',
    level: 'baseline',
    change: (p) => void (first(p.spec).livenessProbe = { httpGet: { port: 80, path: '/' } }),
    want: undefined,
  },
  {
    name: 'probes and hooks aimed at other hosts are refused',
    level: 'baseline',
    change: (p) => {
      first(p.spec).readinessProbe = { tcpSocket: { port: 80, host: 'example.com' } }
      first(p.spec).lifecycle = { preStop: { httpGet: { port: 80, host: '10.0.0.1' } } }
    },
    want: 'probe or lifecycle host (container "c" uses probe or lifecycle hosts "10.0.0.1", "example.com")',
  },
  {
    name: 'probe hosts were allowed before v1.34',
    level: 'baseline',
    version: 'v1.33',
    change: (p) => void (first(p.spec).readinessProbe = { tcpSocket: { port: 80, host: 'example.com' } }),
    want: undefined,
  },
  // allowPrivilegeEscalation
  {
    name: 'restricted needs allowPrivilegeEscalation=false',
    level: 'restricted',
    change: (p) => void (first(p.spec).securityContext = { capabilities: { drop: ['ALL'] } }),
    want: 'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)',
  },
  {
    name: 'baseline does not care about privilege escalation',
    level: 'baseline',
    change: (p) => void (first(p.spec).securityContext = { allowPrivilegeEscalation: true }),
    want: undefined,
  },
  {
    name: 'Windows pods are exempt from the Linux-only restricted rules since v1.25',
    level: 'restricted',
    change: (p) => {
      p.spec.os = { name: 'windows' }
      p.spec.securityContext = { runAsNonRoot: true }
      first(p.spec).securityContext = {}
    },
    want: undefined,
  },
  {
    name: 'before v1.25 Windows pods were not exempt',
    level: 'restricted',
    version: 'v1.24',
    change: (p) => {
      p.spec.os = { name: 'windows' }
      first(p.spec).securityContext = { capabilities: { drop: ['ALL'] } }
    },
    want: 'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)',
  },
  // capabilities_restricted
  {
    name: 'restricted allows adding NET_BIND_SERVICE after dropping ALL',
    level: 'restricted',
    change: (p) =>
      void (first(p.spec).securityContext = {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
      }),
    want: undefined,
  },
  {
    name: 'restricted needs drop ALL and nothing else added (replacing the baseline capability check)',
    level: 'restricted',
    change: (p) =>
      void (first(p.spec).securityContext = {
        allowPrivilegeEscalation: false,
        capabilities: { add: ['SYS_ADMIN'] },
      }),
    want: 'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]; container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add)',
  },
  // restrictedVolumes
  {
    name: 'restricted allows the inline volume types it lists',
    level: 'restricted',
    change: (p) =>
      void (p.spec.volumes = [
        { name: 'a', configMap: { name: 'x' } },
        { name: 'b', secret: { secretName: 'x' } },
        { name: 'c', persistentVolumeClaim: { claimName: 'x' } },
        { name: 'd', projected: { sources: [] } },
        { name: 'e', downwardAPI: {} },
        { name: 'f', emptyDir: {} },
        { name: 'g', csi: { driver: 'x' } },
        { name: 'h', ephemeral: {} },
        { name: 'i', image: { reference: 'x' } },
      ]),
    want: undefined,
  },
  {
    name: 'restricted refuses other volume types (and reports hostPath once, as one of them)',
    level: 'restricted',
    change: (p) =>
      void (p.spec.volumes = [
        { name: 'a', nfs: { server: 's', path: '/' } },
        { name: 'b', hostPath: { path: '/' } },
      ]),
    want: 'restricted volume types (volumes "a", "b" use restricted volume types "hostPath", "nfs")',
  },
  {
    name: 'baseline allows an nfs volume',
    level: 'baseline',
    change: (p) => void (p.spec.volumes = [{ name: 'a', nfs: { server: 's', path: '/' } }]),
    want: undefined,
  },
  // runAsNonRoot
  {
    name: 'runAsNonRoot may be set on each container instead of the pod',
    level: 'restricted',
    change: (p) => {
      p.spec.securityContext = { seccompProfile: { type: 'RuntimeDefault' } }
      first(p.spec).securityContext = { ...first(p.spec).securityContext, runAsNonRoot: true }
    },
    want: undefined,
  },
  {
    name: 'restricted needs runAsNonRoot',
    level: 'restricted',
    change: (p) => void (p.spec.securityContext = { seccompProfile: { type: 'RuntimeDefault' } }),
    want: 'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)',
  },
  {
    name: 'runAsNonRoot=false is refused where it is set',
    level: 'restricted',
    change: (p) => {
      p.spec.securityContext = { runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } }
      first(p.spec).securityContext = { ...first(p.spec).securityContext, runAsNonRoot: false }
    },
    want: 'runAsNonRoot != true (pod and container "c" must not set securityContext.runAsNonRoot=false)',
  },
  {
    name: 'a pod in a user namespace may run as root since v1.35',
    level: 'restricted',
    change: (p) => {
      p.spec.hostUsers = false
      p.spec.securityContext = { runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } }
    },
    want: undefined,
  },
  // runAsUser
  {
    name: 'a non-zero runAsUser passes',
    level: 'restricted',
    change: (p) =>
      void (first(p.spec).securityContext = { ...first(p.spec).securityContext, runAsUser: 1000 }),
    want: undefined,
  },
  {
    name: 'runAsUser=0 is refused',
    level: 'restricted',
    change: (p) => void (p.spec.securityContext = { ...p.spec.securityContext, runAsUser: 0 }),
    want: 'runAsUser=0 (pod must not set runAsUser=0)',
  },
  {
    name: 'runAsUser was not checked before v1.23',
    level: 'restricted',
    version: 'v1.22',
    change: (p) => void (p.spec.securityContext = { ...p.spec.securityContext, runAsUser: 0 }),
    want: undefined,
  },
  // seccompProfile_restricted
  {
    name: 'a seccomp profile on each container will do',
    level: 'restricted',
    change: (p) => {
      p.spec.securityContext = { runAsNonRoot: true }
      first(p.spec).securityContext = {
        ...first(p.spec).securityContext,
        seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' },
      }
    },
    want: undefined,
  },
  {
    name: 'restricted needs a seccomp profile',
    level: 'restricted',
    change: (p) => void (p.spec.securityContext = { runAsNonRoot: true }),
    want: 'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  },
  {
    name: 'restricted refuses an unconfined container profile',
    level: 'restricted',
    change: (p) =>
      void (first(p.spec).securityContext = {
        ...first(p.spec).securityContext,
        seccompProfile: { type: 'Unconfined' },
      }),
    want: 'seccompProfile (container "c" must not set securityContext.seccompProfile.type to "Unconfined")',
  },
]

for (const c of cases) {
  test(`${c.level}${c.version ? ` ${c.version}` : ''}: ${c.name}`, () => {
    const pod = (c.level === 'baseline' ? baselinePod() : restrictedPod()) as Pod & { spec: PodSpec }
    c.change(pod)
    const version = parseVersion(c.version ?? 'latest')
    if (!version) throw new Error(`bad version ${c.version}`)
    const r = evaluator.evaluate({ level: c.level, version }, pod.metadata ?? {}, pod.spec)
    assert.equal(r.allowed ? undefined : forbiddenDetail(r), c.want)
  })
}

test('a plain pod at restricted:latest fails four checks, in upstream order', () => {
  const pod = baselinePod()
  const r = evaluator.evaluate({ level: 'restricted', version: 'latest' }, {}, pod.spec ?? { containers: [] })
  assert.equal(
    forbiddenDetail(r),
    'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  )
})

test('baseline checks come first, and init and ephemeral containers are checked too', () => {
  const spec: PodSpec = {
    initContainers: [{ name: 'init', securityContext: { privileged: true } }],
    containers: [{ name: 'c' }],
    ephemeralContainers: [{ name: 'debug', securityContext: { privileged: true } }],
  }
  const r = evaluator.evaluate({ level: 'restricted', version: 'latest' }, {}, spec)
  assert.equal(r.forbidden[0]?.reason, 'privileged')
  assert.equal(
    r.forbidden[0]?.detail,
    'containers "init", "debug" must not set securityContext.privileged=true',
  )
})

test('privileged allows anything; versions past the newest check use the newest', () => {
  const spec: PodSpec = { hostNetwork: true, containers: [{ name: 'c' }] }
  assert.equal(evaluator.evaluate({ level: 'privileged', version: 'latest' }, {}, spec).allowed, true)
  const future = evaluator.evaluate({ level: 'baseline', version: { minor: 99 } }, {}, spec)
  assert.equal(forbiddenDetail(future), 'host namespaces (hostNetwork=true)')
})

// --- namespace labels --------------------------------------------------------------------------

test('labels: no labels means privileged everywhere', () => {
  const { policy, errors } = policyToEvaluate({})
  assert.deepEqual(errors, [])
  assert.equal(policy.enforce.level, 'privileged')
})

test('labels: warn follows a stricter enforce level and its version, unless set itself', () => {
  const a = policyToEvaluate({
    'pod-security.kubernetes.io/enforce': 'baseline',
    'pod-security.kubernetes.io/enforce-version': 'v1.30',
  }).policy
  assert.deepEqual(a.warn, { level: 'baseline', version: { minor: 30 } })
  const b = policyToEvaluate({
    'pod-security.kubernetes.io/enforce': 'baseline',
    'pod-security.kubernetes.io/warn': 'privileged',
  }).policy
  assert.equal(b.warn.level, 'privileged')
  const c = policyToEvaluate({
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/warn-version': 'v1.29',
  }).policy
  assert.deepEqual(c.warn, { level: 'restricted', version: { minor: 29 } })
})

test('labels: a bad enforce level fails closed, bad audit and warn levels fail open, bad versions mean latest', () => {
  const { policy, errors } = policyToEvaluate({
    'pod-security.kubernetes.io/enforce': 'strict',
    'pod-security.kubernetes.io/audit': 'loud',
    'pod-security.kubernetes.io/warn-version': '1.30',
  })
  assert.equal(policy.enforce.level, 'restricted')
  assert.equal(policy.audit.level, 'privileged')
  assert.equal(policy.warn.version, 'latest')
  assert.deepEqual(
    errors.map((e) => `${e.field}: ${e.detail}`),
    [
      'metadata.labels[pod-security.kubernetes.io/enforce]: must be one of privileged, baseline, restricted',
      'metadata.labels[pod-security.kubernetes.io/audit]: must be one of privileged, baseline, restricted',
      'metadata.labels[pod-security.kubernetes.io/warn-version]: must be "latest" or "v1.x"',
    ],
  )
})
