import type { Node, NodeSelectorRequirement, NodeSelectorTerm } from '../generated/types/core-v1.ts'

/**
 * Node selector terms as the scheduler and the DaemonSet controller match them (Kubernetes'
 * nodeaffinity helpers): terms are ORed; within a term, matchExpressions (on labels) and
 * matchFields (on metadata.name only) are ANDed; a term with neither matches nothing.
 */
export function matchesNodeSelectorTerms(node: Readonly<Node>, terms: readonly NodeSelectorTerm[]): boolean {
  return terms.some((t) => matchesNodeSelectorTerm(node, t))
}

export function matchesNodeSelectorTerm(node: Readonly<Node>, term: Readonly<NodeSelectorTerm>): boolean {
  const expressions = term.matchExpressions ?? []
  const fields = term.matchFields ?? []
  if (expressions.length === 0 && fields.length === 0) return false
  const labels = node.metadata?.labels ?? {}
  if (!expressions.every((r) => matchesRequirement(r, Object.hasOwn(labels, r.key), labels[r.key] ?? '')))
    return false
  return fields.every(
    (r) => r.key === 'metadata.name' && matchesRequirement(r, true, node.metadata?.name ?? ''),
  )
}

function matchesRequirement(r: Readonly<NodeSelectorRequirement>, present: boolean, value: string): boolean {
  const values = r.values ?? []
  switch (r.operator) {
    case 'In':
      return present && values.includes(value)
    case 'NotIn':
      return !present || !values.includes(value)
    case 'Exists':
      return present
    case 'DoesNotExist':
      return !present
    case 'Gt':
    case 'Lt': {
      // One integer value each side; anything else never matches.
      if (!present || values.length !== 1 || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(values[0] ?? ''))
        return false
      const a = BigInt(value)
      const b = BigInt(values[0] ?? '0')
      return r.operator === 'Gt' ? a > b : a < b
    }
    default:
      return false
  }
}
