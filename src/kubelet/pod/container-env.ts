/**
 * A container's environment as the kubelet makes it (kubelet_pods.go makeEnvironmentVariables):
 * literal values and valueFrom.fieldRef, in order, each value able to refer to the ones before it
 * as $(NAME); then $(NAME) in command and args (expansion.Expand: $$ is a literal $, unknown
 * names stay as written). configMapKeyRef, secretKeyRef, resourceFieldRef, envFrom and service
 * links need the API or the node and are asked of an optional resolver.
 */
import type { Container, EnvVar, Pod } from '../../api/generated/types/core-v1.ts'

export interface EnvContext {
  podIPs: readonly string[]
  hostIPs: readonly string[]
  /** Values the kubelet looks up elsewhere (configMapKeyRef, secretKeyRef, resourceFieldRef); undefined leaves the variable out. */
  resolve?: (pod: Readonly<Pod>, container: Readonly<Container>, env: Readonly<EnvVar>) => string | undefined
}

export function containerEnv(
  pod: Readonly<Pod>,
  container: Readonly<Container>,
  ctx: EnvContext,
): { key: string; value: string }[] {
  const values = new Map<string, string>()
  for (const e of container.env ?? []) {
    let value: string | undefined
    if (e.value !== undefined) value = expand(e.value, values)
    else if (e.valueFrom?.fieldRef) value = fieldValue(pod, e.valueFrom.fieldRef.fieldPath, ctx)
    else if (e.valueFrom) value = ctx.resolve?.(pod, container, e)
    else value = ''
    if (value !== undefined) values.set(e.name, value)
  }
  return [...values].map(([key, value]) => ({ key, value }))
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
export function expand(input: string, values: ReadonlyMap<string, string>): string {
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
export function fieldValue(pod: Readonly<Pod>, path: string, ctx: EnvContext): string | undefined {
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
