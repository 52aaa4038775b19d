import type { Pod } from '../../api/generated/types/core-v1.ts'
import { stateKey } from '../framework/cycle-state.ts'
import type { FilterPlugin, PreFilterPlugin } from '../framework/interfaces.ts'
import { hostPortsOf, type HostPort, type NodeInfo } from '../framework/node-info.ts'
import { skip, success, unschedulable, type Status } from '../framework/status.ts'

export const nodePortsReason = "node(s) didn't have free ports for the requested pod ports"

const wantedKey = stateKey<readonly HostPort[]>('NodePorts/PreFilter')

/** Two host ports clash on one protocol and port when either listens on all addresses or both on the same one. */
function clash(a: HostPort, b: HostPort): boolean {
  return (
    a.port === b.port &&
    a.protocol === b.protocol &&
    (a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0')
  )
}

/**
 * NodePorts: a pod's hostPorts must be free on the node. PreFilter works out the pod's host ports
 * once per cycle, and says Skip for a pod without any (so Filter does not run), as upstream's does.
 */
export const nodePorts: PreFilterPlugin & FilterPlugin = {
  name: 'NodePorts',

  preFilter(state, pod: Readonly<Pod>) {
    const wanted = hostPortsOf(pod)
    if (wanted.length === 0) return { status: skip }
    state.write(wantedKey, wanted)
    return { status: success }
  },

  filter(state, pod: Readonly<Pod>, node: NodeInfo): Status {
    // A state PreFilter did not prepare (a plugin's own what-if) works them out here.
    const wanted = state.find(wantedKey) ?? hostPortsOf(pod)
    for (const w of wanted) {
      for (const u of node.usedPorts) if (clash(w, u)) return unschedulable(nodePortsReason)
    }
    return success
  },
}
