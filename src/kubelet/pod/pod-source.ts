/**
 * Where the pod workers learn about their pods: an informer on the pods bound to this node
 * (fieldSelector spec.nodeName=<node>), as the kubelet's apiserver config source, feeding
 * updatePod and removePod; and the housekeeping pass every two seconds that removes what the
 * runtime still holds of pods the API no longer has (HandlePodCleanups).
 */
import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import { builtin, Informer, ResourceClient, type RestClient } from '../../client/index.ts'
import type { PodWorkers } from './pod-workers.ts'

export const housekeepingPeriodMs = 2000

export interface PodSourceOptions {
  rest: RestClient
  nodeName: string
  workers: PodWorkers
  clock: Clock
  log?: Logger
}

/** Runs until the signal aborts; resolves then. */
export async function runPodSource(o: PodSourceOptions, signal: AbortSignal): Promise<void> {
  const informer = new Informer<Pod>(new ResourceClient<Pod>(o.rest, builtin('', 'v1', 'pods')), {
    fieldSelector: `spec.nodeName=${o.nodeName}`,
    clock: o.clock,
    ...(o.log ? { log: o.log } : {}),
  })
  informer.addHandler({
    add: (pod) => o.workers.updatePod(structuredClone(pod)),
    update: (_old, pod) => o.workers.updatePod(structuredClone(pod)),
    delete: (pod) => o.workers.removePod(structuredClone(pod)),
  })
  const running = informer.run(signal)
  const housekeeping = (async () => {
    try {
      await informer.waitForSync(signal)
      while (!signal.aborted) {
        const known = new Set(informer.lister.list().map((p) => p.metadata?.uid ?? ''))
        try {
          await o.workers.removeOrphanedPods(known)
        } catch (err) {
          o.log?.warn({ err }, 'Failed cleaning up orphaned pods')
        }
        await o.clock.sleep(housekeepingPeriodMs, signal)
      }
    } catch (err) {
      if (!signal.aborted) throw err
    }
  })()
  await Promise.all([running, housekeeping])
}
