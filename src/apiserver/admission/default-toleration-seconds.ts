import type { Toleration } from '../../api/generated/types/core-v1.ts'
import type { AdmissionPlugin } from './admission.ts'

/** How long pods stay on a not-ready or unreachable node before they are evicted, by default. */
export const defaultTolerationSeconds = 300

const taints = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']

/**
 * DefaultTolerationSeconds, as the Kubernetes admission plugin of that name: a new pod that does
 * not tolerate the not-ready and unreachable NoExecute taints gets tolerations for them with
 * tolerationSeconds 300, so that a node that stops answering has its pods evicted after five
 * minutes rather than at once.
 */
export const defaultTolerationSecondsPlugin: AdmissionPlugin = {
  name: 'DefaultTolerationSeconds',
  handles: (a) => a.operation === 'CREATE' && a.group === '' && a.resource === 'pods' && a.subresource === '',
  admit(a) {
    const pod = a.object
    if (!pod) return
    const spec = (pod.spec ?? {}) as { tolerations?: Toleration[] }
    const tolerations = spec.tolerations ?? []
    const added: Toleration[] = []
    for (const key of taints) {
      const tolerated = tolerations.some(
        (t) =>
          (t.effect === 'NoExecute' || !t.effect) && (t.key === key || (!t.key && t.operator === 'Exists')),
      )
      if (!tolerated) {
        added.push({
          key,
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: defaultTolerationSeconds,
        })
      }
    }
    if (added.length === 0) return
    spec.tolerations = [...tolerations, ...added]
    pod.spec = spec
  },
}
