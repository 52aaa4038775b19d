import type { PodFailurePolicy, PodFailurePolicyRule } from '../../api/generated/types/batch-v1.ts'
import type { ContainerStatus, Pod } from '../../api/generated/types/core-v1.ts'

/**
 * A Job's podFailurePolicy, applied to one failed pod. The rules are tried in order and the first
 * that matches decides:
 * - FailJob: the whole Job fails (the FailureTarget condition, reason PodFailurePolicy);
 * - FailIndex: the pod's index fails at once (Indexed Jobs with backoffLimitPerIndex);
 * - Ignore: the failure counts towards no backoff limit; the pod is replaced;
 * - Count: the failure counts as usual (what happens when no rule matches too).
 * onExitCodes looks at the terminated containers (then the init containers) with a non-zero exit
 * code, optionally only the one named; onPodConditions at the pod's conditions (a DisruptionTarget left
 * by preemption or eviction, say).
 */

export type FailurePolicyAction = 'FailJob' | 'FailIndex' | 'Ignore' | 'Count'

export interface FailurePolicyMatch {
  action: FailurePolicyAction
  /** Why, as the FailureTarget condition's message says it. */
  message: string
}

/** What the policy says of a failed pod; undefined when no rule matches (the failure counts). */
export function matchPodFailurePolicy(
  policy: Readonly<PodFailurePolicy> | undefined,
  pod: Readonly<Pod>,
): FailurePolicyMatch | undefined {
  if (!policy) return undefined
  const podName = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`
  for (const [i, rule] of policy.rules.entries()) {
    const action = rule.action as FailurePolicyAction
    if (rule.onExitCodes) {
      const container = matchingContainer(rule, pod)
      if (container) {
        const code = container.state?.terminated?.exitCode ?? 0
        return {
          action,
          message: `Container ${container.name} for pod ${podName} failed with exit code ${code} matching ${action} rule at index ${i}`,
        }
      }
      continue
    }
    // The pod's conditions in their order: the first one any pattern matches is named.
    const patterns = rule.onPodConditions ?? []
    const condition = pod.status?.conditions?.find((c) =>
      patterns.some((p) => c.type === p.type && c.status === (p.status ?? 'True')),
    )
    if (condition)
      return {
        action,
        message: `Pod ${podName} has condition ${condition.type} matching ${action} rule at index ${i}`,
      }
  }
  return undefined
}

function matchingContainer(
  rule: Readonly<PodFailurePolicyRule>,
  pod: Readonly<Pod>,
): Readonly<ContainerStatus> | undefined {
  const req = rule.onExitCodes
  if (!req) return undefined
  // The app containers first, then the init containers, as upstream looks at them.
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]
  return statuses.find((s) => {
    if (req.containerName !== undefined && req.containerName !== s.name) return false
    const code = s.state?.terminated?.exitCode
    // Exit code 0 is success: no rule is about it.
    if (code === undefined || code === 0) return false
    const listed = req.values.includes(code)
    return req.operator === 'In' ? listed : req.operator === 'NotIn' ? !listed : false
  })
}
