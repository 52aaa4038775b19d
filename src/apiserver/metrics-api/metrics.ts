import type { Node, Pod } from '../../api/generated/types/core-v1.ts'
import { formatQuantity } from '../../api/quantity.ts'
import type { Usage } from './store.ts'
import { metricsApiVersion, type NodeMetrics, type PodMetrics, type ResourceUsage } from './types.ts'

/**
 * The NodeMetrics and PodMetrics objects as metrics-server writes them: the node's or pod's name,
 * namespace and labels, created now; the usage's end time and window; cpu in nanocores and memory
 * in bytes as canonical quantities ("72340853n", "8Mi").
 */
export function nodeMetrics(node: Readonly<Node>, usage: Usage, nowMs: number): NodeMetrics {
  return {
    kind: 'NodeMetrics',
    apiVersion: metricsApiVersion,
    metadata: {
      name: node.metadata?.name ?? '',
      creationTimestamp: rfc3339(nowMs),
      ...(node.metadata?.labels ? { labels: { ...node.metadata.labels } } : {}),
    },
    timestamp: rfc3339(usage.timestampMs),
    window: goDuration(usage.windowMs),
    usage: resourceUsage(usage),
  }
}

/** A pod's metrics; its window and timestamp are its first container's. */
export function podMetrics(
  pod: Readonly<Pod>,
  containers: ReadonlyMap<string, Usage>,
  nowMs: number,
): PodMetrics | undefined {
  const first = containers.values().next().value
  if (!first) return undefined
  // In the pod's order of containers, then any others the kubelet reported.
  const order = [
    ...(pod.spec?.initContainers ?? []).map((c) => c.name),
    ...(pod.spec?.containers ?? []).map((c) => c.name),
  ]
  const names = [...containers.keys()].sort((a, b) => rank(order, a) - rank(order, b) || (a < b ? -1 : 1))
  return {
    kind: 'PodMetrics',
    apiVersion: metricsApiVersion,
    metadata: {
      name: pod.metadata?.name ?? '',
      namespace: pod.metadata?.namespace ?? '',
      creationTimestamp: rfc3339(nowMs),
      ...(pod.metadata?.labels ? { labels: { ...pod.metadata.labels } } : {}),
    },
    timestamp: rfc3339(first.timestampMs),
    window: goDuration(first.windowMs),
    containers: names.map((name) => {
      const u = containers.get(name) ?? first
      return { name, usage: resourceUsage(u) }
    }),
  }
}

function rank(order: readonly string[], name: string): number {
  const i = order.indexOf(name)
  return i < 0 ? order.length : i
}

function resourceUsage(u: Usage): ResourceUsage {
  return {
    cpu: formatQuantity({ nanos: BigInt(Math.max(0, Math.round(u.cpuNanoCores))), format: 'DecimalSI' }),
    memory: formatQuantity({
      nanos: BigInt(Math.max(0, Math.round(u.memoryBytes))) * 1_000_000_000n,
      format: 'BinarySI',
    }),
  }
}

/** metav1.Time: RFC 3339, UTC, whole seconds. */
function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

/** A duration as Go's time.Duration.String() writes it: "15.012s", "1m0.5s", "750ms", "0s". */
export function goDuration(ms: number): string {
  const total = Math.round(ms)
  if (total === 0) return '0s'
  if (total < 1000) return `${total}ms`
  const hours = Math.floor(total / 3_600_000)
  const minutes = Math.floor((total % 3_600_000) / 60_000)
  const millis = total % 60_000
  const whole = Math.floor(millis / 1000)
  const frac = millis % 1000
  const seconds = frac === 0 ? `${whole}` : `${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`
  if (minutes > 0) return `${minutes}m${seconds}s`
  return `${seconds}s`
}
