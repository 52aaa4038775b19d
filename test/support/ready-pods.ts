import type { Pod } from '../../src/api/generated/types/core-v1.ts'
import {
  builtin,
  Informer,
  isConflict,
  isNotFound,
  ResourceClient,
  type RestClient,
} from '../../src/client/index.ts'

/**
 * Stands in for kubelets until the kubelet exists: every pod that appears is reported Running and
 * Ready (with a pod IP), as a node would once its containers started. Returns a function that
 * stops it.
 */
export function markPodsReady(rest: RestClient): { stop(): Promise<void> } {
  const pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
  const informer = new Informer(pods)
  const ac = new AbortController()
  let n = 0
  const pending = new Set<Promise<void>>()
  const ready = (pod: Readonly<Pod>) => {
    if (pod.metadata?.deletionTimestamp) return
    if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    const ip = `10.42.0.${(n++ % 250) + 2}`
    const p = pods
      .updateStatus({
        ...pod,
        status: {
          ...pod.status,
          phase: 'Running',
          podIP: ip,
          podIPs: [{ ip }],
          startTime: now,
          conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
            type,
            status: 'True',
            lastTransitionTime: now,
          })),
        },
      })
      .then(
        () => undefined,
        (err: unknown) => {
          // Deleted meanwhile, or changed meanwhile (the next event brings it back).
          if (!isNotFound(err) && !isConflict(err)) throw err
        },
      )
      .finally(() => pending.delete(p))
    pending.add(p)
  }
  informer.addHandler({ add: ready, update: (_old, pod) => ready(pod) })
  const running = informer.run(ac.signal)
  return {
    async stop() {
      ac.abort()
      await running
      await Promise.allSettled(pending)
    },
  }
}
