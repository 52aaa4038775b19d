import type { DaemonSet } from '../../api/generated/types/apps-v1.ts'
import type { Affinity, Node, Pod, PodSpec, Toleration } from '../../api/generated/types/core-v1.ts'
import { matchesNodeSelectorTerms } from '../../api/selectors/node-selector.ts'
import { untoleratedTaint } from '../../api/taints.ts'

/**
 * Which nodes a DaemonSet runs on, and how its pods are pinned to them (Kubernetes'
 * NodeShouldRunDaemonPod and the daemon util helpers).
 *
 * A node is eligible when the pod template's nodeName (if any) names it, its labels carry the
 * template's nodeSelector, it matches the template's required node affinity, and it has no
 * NoSchedule or NoExecute taint that the pod does not tolerate. The tolerations counted are the
 * template's plus those every daemon pod gets (daemonPodTolerations): daemons keep running on
 * nodes that are not ready, unreachable, under pressure or cordoned.
 *
 * A pod already on a node whose taints it does not tolerate may keep running there as long as
 * the untolerated taints are only NoSchedule: NoSchedule keeps new pods away, NoExecute evicts.
 */

/** The pod-node name field of node selector terms (metav1.ObjectNameField). */
export const objectNameField = 'metadata.name'

/** Tolerations added to every daemon pod (AddOrUpdateDaemonPodTolerations). */
export function daemonPodTolerations(spec: Readonly<PodSpec>): Toleration[] {
  const exists = (key: string, effect: string): Toleration => ({ key, operator: 'Exists', effect })
  return [
    exists('node.kubernetes.io/not-ready', 'NoExecute'),
    exists('node.kubernetes.io/unreachable', 'NoExecute'),
    exists('node.kubernetes.io/disk-pressure', 'NoSchedule'),
    exists('node.kubernetes.io/memory-pressure', 'NoSchedule'),
    exists('node.kubernetes.io/pid-pressure', 'NoSchedule'),
    exists('node.kubernetes.io/unschedulable', 'NoSchedule'),
    // A host-network daemon (a CNI plugin, say) is what makes the node's network available.
    ...(spec.hostNetwork ? [exists('node.kubernetes.io/network-unavailable', 'NoSchedule')] : []),
  ]
}

/**
 * The spec's tolerations with the daemon tolerations added; one equal in key, operator, value and
 * effect to a daemon toleration is replaced in place (its tolerationSeconds goes), the others are
 * appended (AddOrUpdateTolerationInPodSpec).
 */
export function withDaemonPodTolerations(spec: Readonly<PodSpec>): Toleration[] {
  const result = (spec.tolerations ?? []).map((t) => ({ ...t }))
  for (const d of daemonPodTolerations(spec)) {
    const i = result.findIndex(
      (t) =>
        (t.key ?? '') === d.key &&
        (t.operator ?? 'Equal') === d.operator &&
        (t.value ?? '') === '' &&
        (t.effect ?? '') === d.effect,
    )
    if (i >= 0) result[i] = d
    else result.push(d)
  }
  return result
}

export interface NodeVerdict {
  /** A daemon pod should be created on the node if it has none. */
  shouldRun: boolean
  /** A daemon pod already there may stay. */
  shouldContinueRunning: boolean
}

/** Whether the DaemonSet's pod belongs on the node (NodeShouldRunDaemonPod). */
export function nodeShouldRunDaemonPod(node: Readonly<Node>, ds: Readonly<DaemonSet>): NodeVerdict {
  const spec = ds.spec?.template?.spec
  const nodeName = node.metadata?.name ?? ''
  if (spec?.nodeName && spec.nodeName !== nodeName) return { shouldRun: false, shouldContinueRunning: false }
  if (!matchesRequiredNodeAffinity(spec, node)) return { shouldRun: false, shouldContinueRunning: false }
  const tolerations = withDaemonPodTolerations(spec ?? { containers: [] })
  const taints = node.spec?.taints ?? []
  if (!untoleratedTaint(taints, tolerations, ['NoSchedule', 'NoExecute'])) {
    return { shouldRun: true, shouldContinueRunning: true }
  }
  return { shouldRun: false, shouldContinueRunning: !untoleratedTaint(taints, tolerations, ['NoExecute']) }
}

/** The pod's nodeSelector and required node affinity both match the node (GetRequiredNodeAffinity). */
function matchesRequiredNodeAffinity(spec: Readonly<PodSpec> | undefined, node: Readonly<Node>): boolean {
  const labels = node.metadata?.labels ?? {}
  for (const [k, v] of Object.entries(spec?.nodeSelector ?? {})) if (labels[k] !== v) return false
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
  return !required || matchesNodeSelectorTerms(node, required.nodeSelectorTerms ?? [])
}

/**
 * The affinity with its required node selector replaced by one term naming the node by
 * metadata.name, so that the scheduler binds the pod there and nowhere else
 * (ReplaceDaemonSetPodNodeNameNodeAffinity). Other required terms may go: the controller has
 * already checked them against this node. Preferred terms and pod (anti-)affinity stay.
 */
export function pinToNode(affinity: Readonly<Affinity> | undefined, nodeName: string): Affinity {
  const required = {
    nodeSelectorTerms: [{ matchFields: [{ key: objectNameField, operator: 'In', values: [nodeName] }] }],
  }
  const next = structuredClone(affinity ?? {}) as Affinity
  next.nodeAffinity = { ...next.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: required }
  return next
}

/**
 * The node a daemon pod is for: its spec.nodeName once bound, else the node its required affinity
 * names by metadata.name (GetTargetNodeName); undefined for a pod that names no single node.
 */
export function targetNodeName(pod: Readonly<Pod>): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === objectNameField && f.operator === 'In') {
        return f.values?.length === 1 ? f.values[0] : undefined
      }
    }
  }
  return undefined
}
