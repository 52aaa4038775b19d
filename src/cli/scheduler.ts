import { createLogger } from '../base/log.ts'
import { loadKubeconfig } from '../client/index.ts'
import { startScheduler } from '../scheduler/index.ts'
import { leaderElectionSettings, superviseLeading, type LeaderElectionFlags } from './signals.ts'

export interface SchedulerCommandOptions extends LeaderElectionFlags {
  kubeconfig: string
}

/**
 * `k8ts scheduler`: kube-scheduler alone, against the apiserver its kubeconfig names, until
 * SIGINT or SIGTERM.
 */
export async function scheduler(o: SchedulerCommandOptions, signal: AbortSignal): Promise<void> {
  const running = startScheduler({
    client: loadKubeconfig(o.kubeconfig),
    ...leaderElectionSettings(o),
    log: createLogger(),
  })
  await superviseLeading('scheduler', running, signal)
}
