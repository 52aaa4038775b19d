import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { FilterPlugin } from '../framework/interfaces.ts'
import type { NodeInfo } from '../framework/node-info.ts'
import { success, unresolvable, type Status } from '../framework/status.ts'

export const nodeNameReason = "node(s) didn't match the requested node name"

/** NodeName: a pod that names its node fits only there. */
export const nodeName: FilterPlugin = {
  name: 'NodeName',
  filter(_state, pod: Readonly<Pod>, node: NodeInfo): Status {
    const wanted = pod.spec?.nodeName
    return !wanted || wanted === node.name ? success : unresolvable(nodeNameReason)
  },
}
