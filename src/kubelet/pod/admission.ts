/**
 * The kubelet's own admission of a pod bound to its node (pkg/kubelet/lifecycle/predicate.go,
 * the scheduler's AdmissionCheck): the pod must fit what is left of the node's allocatable
 * resources after the pods already admitted, and match the node's labels. A pod that does not is
 * rejected: phase Failed, reason OutOfcpu / OutOfmemory / OutOfpods / NodeAffinity, and the
 * message "Pod was rejected: " with the first failure, as upstream words it.
 */
import type { Node, Pod, PodStatus } from '../../api/generated/types/core-v1.ts'
import { addInto, podRequests, resourceListOf, type ResourceList } from '../../api/pod-resources.ts'
import { matchesNodeSelectorTerms } from '../../api/selectors/node-selector.ts'
import { qosClassOf } from './runtime-config.ts'

export type AdmitResult = { admit: true } | { admit: false; reason: string; message: string }

export interface AdmitInput {
  node: Readonly<Node>
  pod: Readonly<Pod>
  /** The pods already admitted and not terminal on this node. */
  admitted: readonly Readonly<Pod>[]
}

const checkedResources = ['cpu', 'memory', 'ephemeral-storage'] as const

export function admitPod({ node, pod, admitted }: AdmitInput): AdmitResult {
  const allocatable = resourceListOf(node.status?.allocatable ?? node.status?.capacity)
  const maxPods = amount('pods', allocatable.get('pods')?.nanos ?? 0n)
  if (admitted.length + 1 > maxPods) {
    return insufficient('pods', { requested: 1, used: admitted.length, capacity: maxPods })
  }
  const request = podRequests(pod)
  const used: ResourceList = new Map()
  for (const p of admitted) addInto(used, podRequests(p))
  for (const name of checkedResources) {
    const want = amount(name, request.get(name)?.nanos ?? 0n)
    if (want === 0) continue
    const have = amount(name, allocatable.get(name)?.nanos ?? 0n)
    const taken = amount(name, used.get(name)?.nanos ?? 0n)
    if (want > have - taken) return insufficient(name, { requested: want, used: taken, capacity: have })
  }
  for (const [name, q] of request) {
    if ((checkedResources as readonly string[]).includes(name) || q.nanos === 0n) continue
    if (!name.includes('/') && !name.startsWith('hugepages-')) continue
    const want = amount(name, q.nanos)
    const have = amount(name, allocatable.get(name)?.nanos ?? 0n)
    const taken = amount(name, used.get(name)?.nanos ?? 0n)
    if (want > have - taken) return insufficient(name, { requested: want, used: taken, capacity: have })
  }
  if (!matchesNodeAffinity(pod, node)) {
    return {
      admit: false,
      reason: 'NodeAffinity',
      message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
    }
  }
  return { admit: true }
}

/** The status of a rejected pod (kubelet.rejectPod). */
export function rejectedStatus(
  pod: Readonly<Pod>,
  result: Extract<AdmitResult, { admit: false }>,
): PodStatus {
  return {
    phase: 'Failed',
    reason: result.reason,
    message: `Pod was rejected: ${result.message}`,
    qosClass: pod.status?.qosClass ?? qosClassOf(pod),
  }
}

/** nodeSelector labels and required node affinity terms. */
export function matchesNodeAffinity(pod: Readonly<Pod>, node: Readonly<Node>): boolean {
  const labels = node.metadata?.labels ?? {}
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
  return terms === undefined || terms.length === 0 || matchesNodeSelectorTerms(node, terms)
}

/** CPU in millicores, everything else in whole units, rounded up (Quantity.MilliValue and Value). */
function amount(name: string, nanos: bigint): number {
  const unit = name === 'cpu' ? 1_000_000n : 1_000_000_000n
  return Number((nanos + unit - 1n) / unit)
}

function insufficient(name: string, n: { requested: number; used: number; capacity: number }): AdmitResult {
  return {
    admit: false,
    reason: `OutOf${name}`,
    message: `Node didn't have enough resource: ${name}, requested: ${n.requested}, used: ${n.used}, capacity: ${n.capacity}`,
  }
}
