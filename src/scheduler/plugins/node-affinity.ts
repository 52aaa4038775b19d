import type { Pod } from '../../api/generated/types/core-v1.ts'
import { matchesNodeSelectorTerm, matchesNodeSelectorTerms } from '../../api/selectors/node-selector.ts'
import {
  highestScore,
  maxNodeScore,
  type FilterPlugin,
  type NodeScore,
  type PreFilterPlugin,
  type ScorePlugin,
} from '../framework/interfaces.ts'
import type { NodeInfo } from '../framework/node-info.ts'
import { success, unresolvable, type Status } from '../framework/status.ts'

export const nodeAffinityReason = "node(s) didn't match Pod's node affinity/selector"

/**
 * NodeAffinity: a pod fits only nodes whose labels carry its nodeSelector and match one of its
 * required node affinity terms; among those, nodes matching more (by weight) of its preferred
 * terms score higher. When every required term names nodes by metadata.name, only those nodes
 * are looked at (as for DaemonSet pods).
 */
export const nodeAffinity: PreFilterPlugin & FilterPlugin & ScorePlugin = {
  name: 'NodeAffinity',

  preFilter(_state, pod: Readonly<Pod>) {
    const terms =
      pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ??
      []
    if (terms.length === 0) return { status: success }
    const names = new Set<string>()
    for (const t of terms) {
      const byName = (t.matchFields ?? []).find((f) => f.key === 'metadata.name' && f.operator === 'In')
      if (!byName) return { status: success }
      for (const n of byName.values ?? []) names.add(n)
    }
    return { status: success, nodeNames: names }
  },

  filter(_state, pod: Readonly<Pod>, node: NodeInfo): Status {
    const selector = pod.spec?.nodeSelector
    if (selector !== undefined) {
      const labels = node.node.metadata?.labels
      for (const k in selector) {
        if (labels?.[k] !== selector[k]) return unresolvable(nodeAffinityReason)
      }
    }
    const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    if (required && !matchesNodeSelectorTerms(node.node, required.nodeSelectorTerms ?? [])) {
      return unresolvable(nodeAffinityReason)
    }
    return success
  },

  score(_state, pod: Readonly<Pod>, node: NodeInfo): number {
    let total = 0
    for (const p of pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (p.weight !== 0 && matchesNodeSelectorTerm(node.node, p.preference)) total += p.weight
    }
    return total
  },

  /** Scaled so the best node gets maxNodeScore (DefaultNormalizeScore). */
  normalizeScores(_state, _pod, scores: NodeScore[]): void {
    const most = highestScore(scores)
    if (most === 0) return
    for (const s of scores) s.score = Math.floor((s.score * maxNodeScore) / most)
  },
}
