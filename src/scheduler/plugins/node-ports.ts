import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { FilterPlugin } from '../framework/interfaces.ts'
import { hostPortsOf, type HostPort, type NodeInfo } from '../framework/node-info.ts'
import { success, unschedulable, type Status } from '../framework/status.ts'

export const nodePortsReason = "node(s) didn't have free ports for the requested pod ports"

/** Two host ports clash on one protocol and port when either listens on all addresses or both on the same one. */
function clash(a: HostPort, b: HostPort): boolean {
  return (
    a.port === b.port &&
    a.protocol === b.protocol &&
    (a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0')
  )
}

/** NodePorts: a pod's hostPorts must be free on the node. */
export const nodePorts: FilterPlugin = {
  name: 'NodePorts',
  filter(_state, pod: Readonly<Pod>, node: NodeInfo): Status {
    const wanted = hostPortsOf(pod)
    if (wanted.length === 0) return success
    return wanted.some((w) => node.usedPorts.some((u) => clash(w, u)))
      ? unschedulable(nodePortsReason)
      : success
  },
}
