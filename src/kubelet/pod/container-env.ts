/**
 * A container's environment as the kubelet makes it (kubelet_pods.go makeEnvironmentVariables),
 * in upstream's precedence:
 *
 *   1. envFrom, in order (configMapRef / secretRef, every key with the prefix: since 1.34's
 *      relaxed variable names the kubelet no longer skips keys, nor reports them);
 *   2. env, in order, replacing what envFrom set: literal values with $(NAME) expanded from the
 *      variables so far and the service variables, or valueFrom (fieldRef, resourceFieldRef,
 *      configMapKeyRef, secretKeyRef);
 *   3. the service links (<SVC>_SERVICE_HOST, docker-link variables) not set by 1 or 2.
 *
 * Then $(NAME) in command and args expands from the result (expansion.Expand: $$ is a literal $,
 * unknown names stay as written). ConfigMaps, Secrets, Services and the node's allocatable come
 * from an EnvResolver (./pod-resources.ts reads them through the API). Any failure, such as a
 * missing ConfigMap that is not optional, is a ContainerConfigError: the container is not
 * created and waits with reason CreateContainerConfigError and the error as its message.
 */
import type {
  ConfigMap,
  Container,
  EnvVar,
  Pod,
  ResourceFieldSelector,
  Secret,
  Service,
} from '../../api/generated/types/core-v1.ts'
import { parseQuantity, type Quantity } from '../../api/quantity.ts'

/** The waiting reason of a container whose config (here: its environment) could not be made. */
export const reasonCreateContainerConfigError = 'CreateContainerConfigError'

/** Why a container's config could not be made; the message is what the pod status shows. */
export class ContainerConfigError extends Error {
  readonly code = reasonCreateContainerConfigError
}

/** Where the environment's lookups go. Errors other than "not found" fail the container. */
export interface EnvResolver {
  /** The ConfigMap, or undefined when the API says it does not exist. */
  configMap(namespace: string, name: string): Promise<Readonly<ConfigMap> | undefined>
  /** The Secret, or undefined when the API says it does not exist. */
  secret(namespace: string, name: string): Promise<Readonly<Secret> | undefined>
  /**
   * The service variables for a pod of `namespace` (see serviceEnv): an empty map without an API.
   * Throws when the services have not been read yet and the pod is not a static pod.
   */
  serviceEnv(pod: Readonly<Pod>): Record<string, string>
  /** The node's allocatable, for resourceFieldRef limits that the container does not set. */
  nodeAllocatable(): Readonly<Record<string, string>> | undefined
}

export interface EnvContext {
  podIPs: readonly string[]
  hostIPs: readonly string[]
  /** ConfigMaps, Secrets, services and the node; without it those sources are errors (no services). */
  resolver?: EnvResolver
}

export async function containerEnv(
  pod: Readonly<Pod>,
  container: Readonly<Container>,
  ctx: EnvContext,
): Promise<{ key: string; value: string }[]> {
  const namespace = pod.metadata?.namespace ?? ''
  const serviceVars = ctx.resolver?.serviceEnv(pod) ?? {}
  const configMaps = new Map<string, Readonly<ConfigMap> | undefined>()
  const secrets = new Map<string, Readonly<Secret> | undefined>()
  const resolver = () => {
    if (ctx.resolver === undefined)
      throw new ContainerConfigError('no API client to read ConfigMaps and Secrets')
    return ctx.resolver
  }
  const configMap = async (name: string) => {
    if (!configMaps.has(name)) configMaps.set(name, await lookup(() => resolver().configMap(namespace, name)))
    return configMaps.get(name)
  }
  const secret = async (name: string) => {
    if (!secrets.has(name)) secrets.set(name, await lookup(() => resolver().secret(namespace, name)))
    return secrets.get(name)
  }

  const values = new Map<string, string>()
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? ''
    let data: Record<string, string>
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? ''
      const cm = await configMap(name)
      if (cm === undefined) {
        if (from.configMapRef.optional === true) continue
        throw notFound('configmap', name)
      }
      data = { ...cm.data }
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? ''
      const s = await secret(name)
      if (s === undefined) {
        if (from.secretRef.optional === true) continue
        throw notFound('secret', name)
      }
      data = secretData(s)
    } else continue
    for (const [k, v] of Object.entries(data)) values.set(prefix + k, v)
  }

  // $(NAME) in a value: the variables so far, then the service variables.
  const mapping = { get: (k: string) => values.get(k) ?? serviceVars[k] }
  for (const e of container.env ?? []) {
    let value = e.value ?? ''
    if (value !== '') value = expand(value, mapping)
    else if (e.valueFrom) {
      const resolved = await valueFrom(pod, container, e, { ctx, configMap, secret, namespace })
      if (resolved === undefined) continue
      value = resolved
    }
    values.set(e.name, value)
  }
  for (const [k, v] of Object.entries(serviceVars)) if (!values.has(k)) values.set(k, v)
  return [...values].map(([key, value]) => ({ key, value }))
}

interface Lookups {
  ctx: EnvContext
  namespace: string
  configMap(name: string): Promise<Readonly<ConfigMap> | undefined>
  secret(name: string): Promise<Readonly<Secret> | undefined>
}

/** One env valueFrom; undefined leaves the variable out (an optional reference that is missing). */
async function valueFrom(
  pod: Readonly<Pod>,
  container: Readonly<Container>,
  e: Readonly<EnvVar>,
  l: Lookups,
): Promise<string | undefined> {
  const from = e.valueFrom ?? {}
  if (from.fieldRef) {
    const v = fieldValue(pod, from.fieldRef.fieldPath, l.ctx)
    if (v === undefined) throw new ContainerConfigError(`unsupported fieldPath: ${from.fieldRef.fieldPath}`)
    return v
  }
  if (from.resourceFieldRef) {
    return resourceFieldValue(pod, container, from.resourceFieldRef, l.ctx.resolver?.nodeAllocatable())
  }
  if (from.configMapKeyRef) {
    const { name = '', key, optional } = from.configMapKeyRef
    const cm = await l.configMap(name)
    if (cm === undefined) {
      if (optional === true) return undefined
      throw notFound('configmap', name)
    }
    const v = cm.data?.[key]
    if (v !== undefined) return v
    if (optional === true) return undefined
    throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${l.namespace}/${name}`)
  }
  if (from.secretKeyRef) {
    const { name = '', key, optional } = from.secretKeyRef
    const s = await l.secret(name)
    if (s === undefined) {
      if (optional === true) return undefined
      throw notFound('secret', name)
    }
    const v = secretData(s)[key]
    if (v !== undefined) return v
    if (optional === true) return undefined
    throw new ContainerConfigError(`couldn't find key ${key} in Secret ${l.namespace}/${name}`)
  }
  return ''
}

/** The kubelet's object caches answer a missing object with the singular resource name. */
function notFound(resource: 'configmap' | 'secret', name: string): ContainerConfigError {
  return new ContainerConfigError(`${resource} "${name}" not found`)
}

async function lookup<T>(get: () => Promise<T>): Promise<T> {
  try {
    return await get()
  } catch (err) {
    if (err instanceof ContainerConfigError) throw err
    throw new ContainerConfigError((err as Error).message, { cause: err })
  }
}

/** A Secret's data (base64 on the wire) and stringData as strings. */
export function secretData(s: Readonly<Secret>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8')
  return out
}

/**
 * resourceFieldRef (ExtractContainerResourceValue): the container's limit or request for cpu,
 * memory, ephemeral-storage or hugepages-*, over the divisor (1 by default), rounded up. Limits the
 * container does not set are the node's allocatable (defaultPodLimitsForDownwardAPI).
 */
export function resourceFieldValue(
  pod: Readonly<Pod>,
  container: Readonly<Container>,
  ref: Readonly<ResourceFieldSelector>,
  allocatable: Readonly<Record<string, string>> | undefined,
): string {
  let target = container
  if (ref.containerName) {
    const named = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
      (c) => c.name === ref.containerName,
    )
    if (named === undefined) throw new ContainerConfigError(`container ${ref.containerName} not found`)
    target = named
  }
  const dot = ref.resource.indexOf('.')
  const kind = ref.resource.slice(0, dot)
  const name = ref.resource.slice(dot + 1)
  const known =
    name === 'cpu' || name === 'memory' || name === 'ephemeral-storage' || name.startsWith('hugepages-')
  if ((kind !== 'limits' && kind !== 'requests') || !known) {
    throw new ContainerConfigError(`unsupported container resource : ${ref.resource}`)
  }
  let raw: string | undefined
  if (kind === 'limits') {
    raw = target.resources?.limits?.[name]
    if (raw === undefined && !name.startsWith('hugepages-')) raw = allocatable?.[name]
  } else raw = target.resources?.requests?.[name]
  const value = parseQuantity(raw ?? '0') ?? zero
  const divisor = parseQuantity(ref.divisor ?? '0')
  const by = divisor === undefined || divisor.nanos === 0n ? one : divisor
  if (name === 'cpu') {
    // MilliValue over MilliValue, rounded up.
    return String(ceilDiv(ceilDiv(value.nanos, 1_000_000n), ceilDiv(by.nanos, 1_000_000n)))
  }
  // Value over Value (whole units, rounded up).
  return String(ceilDiv(ceilDiv(value.nanos, 1_000_000_000n), ceilDiv(by.nanos, 1_000_000_000n)))
}

const zero: Quantity = { nanos: 0n, format: 'DecimalSI' }
const one: Quantity = { nanos: 1_000_000_000n, format: 'DecimalSI' }

function ceilDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n
  const q = a / b
  return a % b > 0n ? q + 1n : q
}

/** command or args with $(NAME) expanded from the container's environment. */
export function expandArgs(
  args: readonly string[],
  env: readonly { key: string; value: string }[],
): string[] {
  const values = new Map(env.map((e) => [e.key, e.value]))
  return args.map((a) => expand(a, values))
}

/** expansion.Expand: $(NAME) from `values`, $$ to $, anything else as written. */
export function expand(input: string, values: Pick<ReadonlyMap<string, string>, 'get'>): string {
  let out = ''
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch
      continue
    }
    const next = input[i + 1]
    if (next === '$') {
      out += '$'
      i++
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2)
      if (close < 0) {
        out += input.slice(i)
        break
      }
      const name = input.slice(i + 2, close)
      const v = values.get(name)
      out += v ?? `$(${name})`
      i = close
    } else {
      out += ch
    }
  }
  return out
}

/** The downward API's fieldRef paths (podutil.ConvertDownwardAPIFieldLabel and the kubelet's own). */
export function fieldValue(
  pod: Readonly<Pod>,
  path: string,
  ctx: Pick<EnvContext, 'podIPs' | 'hostIPs'>,
): string | undefined {
  const meta = pod.metadata ?? {}
  const subscript = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path)
  if (subscript) {
    const map = subscript[1] === 'labels' ? meta.labels : meta.annotations
    return map?.[subscript[2] ?? ''] ?? ''
  }
  switch (path) {
    case 'metadata.name':
      return meta.name ?? ''
    case 'metadata.namespace':
      return meta.namespace ?? ''
    case 'metadata.uid':
      return meta.uid ?? ''
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? ''
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? ''
    case 'status.podIP':
      return ctx.podIPs[0] ?? ''
    case 'status.podIPs':
      return ctx.podIPs.join(',')
    case 'status.hostIP':
      return ctx.hostIPs[0] ?? ''
    case 'status.hostIPs':
      return ctx.hostIPs.join(',')
    default:
      return undefined
  }
}

/** The services whose variables every pod gets, from the default namespace (masterServices). */
export const masterServiceNames: readonly string[] = ['kubernetes']

/**
 * The service variables of a pod (getServiceEnvVarMap with envvars.FromServices): the services of
 * its namespace when enableServiceLinks is on (the default), and the master `kubernetes` service
 * of the default namespace always; a service of the pod's namespace wins over a master service of
 * the same name. Services without a cluster IP (headless, ExternalName) give none.
 */
export function serviceLinkEnv(
  services: readonly Readonly<Service>[],
  pod: Readonly<Pod>,
): Record<string, string> {
  const namespace = pod.metadata?.namespace ?? ''
  const links = pod.spec?.enableServiceLinks ?? true
  const chosen = new Map<string, Readonly<Service>>()
  for (const s of services) {
    const ip = s.spec?.clusterIP ?? ''
    if (ip === '' || ip === 'None') continue
    const name = s.metadata?.name ?? ''
    const ns = s.metadata?.namespace ?? ''
    if (ns === 'default' && masterServiceNames.includes(name)) {
      if (!chosen.has(name)) chosen.set(name, s)
    } else if (ns === namespace && links) chosen.set(name, s)
  }
  const out: Record<string, string> = {}
  const sorted = [...chosen.values()].sort((a, b) =>
    (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
  )
  for (const s of sorted) Object.assign(out, serviceVariables(s))
  return out
}

/** One service's variables: <SVC>_SERVICE_HOST, _SERVICE_PORT(_<PORT NAME>), and the docker-link ones. */
export function serviceVariables(s: Readonly<Service>): Record<string, string> {
  const prefix = envName(s.metadata?.name ?? '')
  const ip = s.spec?.clusterIP ?? ''
  const ports = s.spec?.ports ?? []
  const out: Record<string, string> = { [`${prefix}_SERVICE_HOST`]: ip }
  if (ports[0] !== undefined) out[`${prefix}_SERVICE_PORT`] = String(ports[0].port)
  for (const p of ports) {
    if (p.name) out[`${prefix}_SERVICE_PORT_${envName(p.name)}`] = String(p.port)
  }
  ports.forEach((p, i) => {
    const protocol = p.protocol || 'TCP'
    const lower = protocol.toLowerCase()
    const url = `${lower}://${ip.includes(':') ? `[${ip}]` : ip}:${p.port}`
    if (i === 0) out[`${prefix}_PORT`] = url
    const portPrefix = `${prefix}_PORT_${p.port}_${protocol.toUpperCase()}`
    out[portPrefix] = url
    out[`${portPrefix}_PROTO`] = lower
    out[`${portPrefix}_PORT`] = String(p.port)
    out[`${portPrefix}_ADDR`] = ip
  })
  return out
}

function envName(s: string): string {
  return s.replaceAll('-', '_').toUpperCase()
}
