import type { Pod } from '../../api/generated/types/core-v1.ts'
import { tolerates } from '../../api/taints.ts'
import type { FilterPlugin } from '../framework/interfaces.ts'
import type { NodeInfo } from '../framework/node-info.ts'
import { success, unresolvable, type Status } from '../framework/status.ts'

export const nodeUnschedulableReason = 'node(s) were unschedulable'

const unschedulableTaint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }

/** NodeUnschedulable: a cordoned node (spec.unschedulable) takes only pods that tolerate it. */
export const nodeUnschedulable: FilterPlugin = {
  name: 'NodeUnschedulable',
  filter(_state, pod: Readonly<Pod>, node: NodeInfo): Status {
    if (!node.node.spec?.unschedulable) return success
    const tolerated = (pod.spec?.tolerations ?? []).some((t) => tolerates(t, unschedulableTaint))
    return tolerated ? success : unresolvable(nodeUnschedulableReason)
  },
}
