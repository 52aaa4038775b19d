/**
 * The resource metrics API, metrics.k8s.io/v1beta1 (k8s.io/metrics): what `kubectl top` and the
 * HorizontalPodAutoscaler read. The kinds are not in the apiserver's OpenAPI document (an
 * aggregated server, metrics-server, serves them upstream), so they are written here with the
 * upstream field names.
 */
import type { ObjectMeta } from '../../api/generated/types/meta-v1.ts'

export const metricsGroup = 'metrics.k8s.io'
export const metricsVersion = 'v1beta1'
export const metricsApiVersion = `${metricsGroup}/${metricsVersion}`

/** cpu in cores, memory in bytes, as quantities. */
export type ResourceUsage = Record<'cpu' | 'memory', string>

export interface NodeMetrics {
  kind: 'NodeMetrics'
  apiVersion: typeof metricsApiVersion
  metadata: ObjectMeta
  /** The end of the interval the usage was measured over. */
  timestamp: string
  /** The interval's length, as a Go duration ("15.001s"). */
  window: string
  usage: ResourceUsage
}

export interface ContainerMetrics {
  name: string
  usage: ResourceUsage
}

export interface PodMetrics {
  kind: 'PodMetrics'
  apiVersion: typeof metricsApiVersion
  metadata: ObjectMeta
  timestamp: string
  window: string
  containers: ContainerMetrics[]
}
