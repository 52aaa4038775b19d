import { createLogger } from '../base/log.ts'
import { loadKubeconfig } from '../client/index.ts'
import { startScheduler } from '../scheduler/index.ts'

export interface SchedulerCommandOptions {
  kubeconfig: string
  leaderElect: boolean
  leaderElectLeaseDuration: number
  leaderElectRenewDeadline: number
  leaderElectRetryPeriod: number
}

/**
 * `k8ts scheduler`: kube-scheduler alone, against the apiserver its kubeconfig names, until
 * SIGINT or SIGTERM. Losing the lease ends it with an error, as upstream's does.
 */
export async function scheduler(o: SchedulerCommandOptions, signal: AbortSignal): Promise<void> {
  const running = startScheduler({
    client: loadKubeconfig(o.kubeconfig),
    leaderElect: o.leaderElect,
    leaseDurationMs: o.leaderElectLeaseDuration,
    renewDeadlineMs: o.leaderElectRenewDeadline,
    retryPeriodMs: o.leaderElectRetryPeriod,
    log: createLogger(),
  })
  const onStop = () => void running.stop()
  signal.addEventListener('abort', onStop, { once: true })
  process.stdout.write('k8ts: scheduler started\n')
  await running.done
  signal.removeEventListener('abort', onStop)
  if (running.lostLeadership) throw new Error('leader election lost')
  process.stdout.write('k8ts: stopped\n')
}
