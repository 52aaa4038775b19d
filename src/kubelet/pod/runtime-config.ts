/**
 * What the kubelet hands the runtime for a pod (kuberuntime_sandbox.go, kuberuntime_container.go):
 * the sandbox config with the pod's hostname, labels, port mappings and cgroup parent, and each
 * container's config with the labels and annotations that let the kubelet find its pods again
 * from a plain listing of the runtime (io.kubernetes.pod.uid, io.kubernetes.container.name, ...).
 */
import type { Container, Pod } from '../../api/generated/types/core-v1.ts'
import { parseQuantity } from '../../api/quantity.ts'
import type * as cri from '../runtime/runtime.ts'
import type { Proto3Partial } from '../runtime/runtime.ts'
import { expandArgs } from './container-env.ts'

export const podNameLabel = 'io.kubernetes.pod.name'
export const podNamespaceLabel = 'io.kubernetes.pod.namespace'
export const podUIDLabel = 'io.kubernetes.pod.uid'
export const containerNameLabel = 'io.kubernetes.container.name'
export const containerRestartCountAnnotation = 'io.kubernetes.container.restartCount'
export const containerHashAnnotation = 'io.kubernetes.container.hash'
export const terminationMessagePathAnnotation = 'io.kubernetes.container.terminationMessagePath'
export const terminationMessagePolicyAnnotation = 'io.kubernetes.container.terminationMessagePolicy'
export const terminationGracePeriodAnnotation = 'io.kubernetes.pod.terminationGracePeriod'
export const containerPortsAnnotation = 'io.kubernetes.container.ports'

export type QOSClass = 'Guaranteed' | 'Burstable' | 'BestEffort'

/** The pod's QoS class as qos.GetPodQOS decides it (requests default to limits). */
export function qosClassOf(pod: Readonly<Pod>): QOSClass {
  const podLevel = pod.spec?.resources
  const all = podLevel
    ? [podLevel]
    : [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.resources ?? {})
  let any = false
  let guaranteed = true
  for (const r of all) {
    for (const name of ['cpu', 'memory']) {
      const lim = parseQuantity(r.limits?.[name])
      const req = parseQuantity(r.requests?.[name]) ?? lim
      if ((req && req.nanos !== 0n) || (lim && lim.nanos !== 0n)) any = true
      if (!lim || !req || lim.nanos !== req.nanos) guaranteed = false
    }
  }
  if (!any) return 'BestEffort'
  return guaranteed ? 'Guaranteed' : 'Burstable'
}

/**
 * The pod's cgroup under the cgroupfs driver: /kubepods/pod<uid> for Guaranteed pods,
 * /kubepods/burstable/pod<uid> and /kubepods/besteffort/pod<uid> for the others.
 * (The systemd driver spells these kubepods-burstable-pod<uid>.slice; not modelled yet.)
 */
export function cgroupParentOf(pod: Readonly<Pod>): string {
  const uid = pod.metadata?.uid ?? ''
  const qos = pod.status?.qosClass ?? qosClassOf(pod)
  switch (qos) {
    case 'Guaranteed':
      return `/kubepods/pod${uid}`
    case 'Burstable':
      return `/kubepods/burstable/pod${uid}`
    default:
      return `/kubepods/besteffort/pod${uid}`
  }
}

/** The labels every sandbox and container of the pod carries (newPodLabels). */
export function podLabels(pod: Readonly<Pod>): Record<string, string> {
  return {
    ...(pod.metadata?.labels ?? {}),
    [podNameLabel]: pod.metadata?.name ?? '',
    [podNamespaceLabel]: pod.metadata?.namespace ?? '',
    [podUIDLabel]: pod.metadata?.uid ?? '',
  }
}

/** The pod's hostname: spec.hostname, or the pod name cut to 63 characters (and no trailing - or .). */
export function podHostname(pod: Readonly<Pod>): string {
  if (pod.spec?.hostname) return pod.spec.hostname
  return (pod.metadata?.name ?? '').slice(0, 63).replace(/[-.]+$/, '')
}

/** The kernel's limit on a hostname (HOST_NAME_MAX + 1). */
export const maxKernelHostnameLength = 64

/**
 * The hostname the sandbox gets (GeneratePodHostNameAndDomain, then GetNodenameForKernel):
 * spec.hostname or the pod name (cut to 63 characters), and with setHostnameAsFQDN the whole
 * <hostname>.<subdomain>.<namespace>.svc.<cluster domain> when the pod has a subdomain. Errors
 * (an invalid hostname or subdomain, an FQDN over 64 characters) fail the sandbox's creation.
 */
export function sandboxHostname(pod: Readonly<Pod>, clusterDomain: string): string {
  const spec = pod.spec
  for (const [field, value] of [
    ['Hostname', spec?.hostname],
    ['Subdomain', spec?.subdomain],
  ] as const) {
    if (value && !isDNS1123Label(value)) {
      throw new Error(
        `pod ${field} "${value}" is not a valid DNS label: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      )
    }
  }
  const hostname = podHostname(pod)
  if (hostname === '') throw new Error(`hostname for pod:"${pod.metadata?.name ?? ''}" was invalid: ""`)
  if (!spec?.setHostnameAsFQDN || !spec.subdomain) return hostname
  const fqdn = `${hostname}.${spec.subdomain}.${pod.metadata?.namespace ?? ''}.svc.${clusterDomain}`
  if (fqdn.length > maxKernelHostnameLength) {
    throw new Error(
      `failed to construct FQDN from pod hostname and cluster domain, FQDN ${fqdn} is too long (${maxKernelHostnameLength} characters is the max, ${fqdn.length} characters requested)`,
    )
  }
  return fqdn
}

function isDNS1123Label(s: string): boolean {
  return s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s)
}

export interface SandboxConfigOptions {
  attempt: number
  /** DNS for the sandbox (cluster DNS for ClusterFirst); the node side decides it. */
  dnsConfig?: Proto3Partial<cri.DNSConfig>
  /** --cluster-domain, for setHostnameAsFQDN (default cluster.local). */
  clusterDomain?: string
}

export function sandboxConfig(
  pod: Readonly<Pod>,
  o: SandboxConfigOptions,
): Proto3Partial<cri.PodSandboxConfig> {
  const meta = pod.metadata ?? {}
  const spec = pod.spec
  const portMappings: Proto3Partial<cri.PortMapping>[] = []
  for (const c of spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      portMappings.push({
        protocol: protocolOf(p.protocol),
        containerPort: p.containerPort,
        hostPort: p.hostPort ?? 0,
        hostIp: p.hostIP ?? '',
      })
    }
  }
  const node = 'NODE' as const
  const pod_ = 'POD' as const
  return {
    metadata: {
      name: meta.name ?? '',
      namespace: meta.namespace ?? '',
      uid: meta.uid ?? '',
      attempt: o.attempt,
    },
    hostname: spec?.hostNetwork ? '' : sandboxHostname(pod, o.clusterDomain ?? 'cluster.local'),
    logDirectory: `/var/log/pods/${meta.namespace ?? ''}_${meta.name ?? ''}_${meta.uid ?? ''}`,
    ...(o.dnsConfig ? { dnsConfig: o.dnsConfig } : {}),
    portMappings,
    labels: podLabels(pod),
    annotations: { ...(meta.annotations ?? {}) },
    linux: {
      cgroupParent: cgroupParentOf(pod),
      sysctls: Object.fromEntries((spec?.securityContext?.sysctls ?? []).map((s) => [s.name, s.value])),
      securityContext: {
        namespaceOptions: {
          network: spec?.hostNetwork ? node : pod_,
          pid: spec?.hostPID ? node : spec?.shareProcessNamespace ? pod_ : 'CONTAINER',
          ipc: spec?.hostIPC ? node : pod_,
        },
      },
    },
  }
}

function protocolOf(p: string | undefined): cri.Protocol {
  return p === 'UDP' ? 'UDP' : p === 'SCTP' ? 'SCTP' : 'TCP'
}

export interface ContainerConfigOptions {
  restartCount: number
  /** The image id the pull resolved to. */
  imageRef: string
  gracePeriodSeconds: number
  /** The container's environment (./container-env.ts); $(NAME) in command and args expands from it. */
  env: readonly { key: string; value: string }[]
}

/** A container's config (generateContainerConfig): names, image, command, env, labels, resources. */
export function containerConfig(
  pod: Readonly<Pod>,
  container: Readonly<Container>,
  o: ContainerConfigOptions,
): Proto3Partial<cri.ContainerConfig> {
  const limits = container.resources?.limits ?? {}
  const requests = container.resources?.requests ?? {}
  const memoryLimit = parseQuantity(limits.memory)
  const cpuLimit = parseQuantity(limits.cpu)
  const cpuRequest = parseQuantity(requests.cpu) ?? cpuLimit
  const milli = (q: { nanos: bigint } | undefined) => (q ? Number(q.nanos / 1_000_000n) : 0)
  return {
    metadata: { name: container.name, attempt: o.restartCount },
    image: { image: o.imageRef, userSpecifiedImage: container.image ?? '' },
    command: expandArgs(container.command ?? [], o.env),
    args: expandArgs(container.args ?? [], o.env),
    workingDir: container.workingDir ?? '',
    envs: o.env.map((e) => ({ ...e })),
    labels: {
      [containerNameLabel]: container.name,
      [podNameLabel]: pod.metadata?.name ?? '',
      [podNamespaceLabel]: pod.metadata?.namespace ?? '',
      [podUIDLabel]: pod.metadata?.uid ?? '',
    },
    annotations: {
      [containerRestartCountAnnotation]: String(o.restartCount),
      [terminationMessagePathAnnotation]: container.terminationMessagePath ?? '/dev/termination-log',
      [terminationMessagePolicyAnnotation]: container.terminationMessagePolicy ?? 'File',
      [terminationGracePeriodAnnotation]: String(o.gracePeriodSeconds),
      ...(container.ports?.length ? { [containerPortsAnnotation]: JSON.stringify(container.ports) } : {}),
    },
    logPath: `${container.name}/${o.restartCount}.log`,
    stdin: container.stdin ?? false,
    stdinOnce: container.stdinOnce ?? false,
    tty: container.tty ?? false,
    linux: {
      resources: {
        memoryLimitInBytes: memoryLimit ? Number(memoryLimit.nanos / 1_000_000_000n) : 0,
        // cpu.shares from the request (2 at least), cpu quota from the limit over a 100 ms period.
        cpuShares: Math.max(2, Math.floor((milli(cpuRequest) * 1024) / 1000)),
        cpuPeriod: cpuLimit ? 100_000 : 0,
        cpuQuota: cpuLimit ? Math.floor((milli(cpuLimit) * 100_000) / 1000) : 0,
      },
    },
  }
}
