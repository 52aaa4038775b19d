import { createLogger } from '../base/log.ts'
import { loadKubeconfig } from '../client/index.ts'
import { startControllerManager } from '../controllers/index.ts'

export interface ControllerManagerCommandOptions {
  kubeconfig: string
  controllers: string[]
  leaderElect: boolean
  leaderElectLeaseDuration: number
  leaderElectRenewDeadline: number
  leaderElectRetryPeriod: number
  clusterCidr: string
  nodeCidrMaskSize: number
  nodeMonitorGracePeriod: number
  nodeMonitorPeriod: number
}

/**
 * `k8ts controller-manager`: kube-controller-manager alone, against the apiserver its kubeconfig
 * names, until SIGINT or SIGTERM. Losing the lease ends it with an error, as upstream's does, so
 * that a supervisor restarts it with fresh state.
 */
export async function controllerManager(
  o: ControllerManagerCommandOptions,
  signal: AbortSignal,
): Promise<void> {
  const log = createLogger()
  const manager = startControllerManager({
    client: loadKubeconfig(o.kubeconfig),
    controllers: o.controllers,
    leaderElect: o.leaderElect,
    leaseDurationMs: o.leaderElectLeaseDuration,
    renewDeadlineMs: o.leaderElectRenewDeadline,
    retryPeriodMs: o.leaderElectRetryPeriod,
    settings: {
      clusterCIDR: o.clusterCidr,
      nodeCIDRMaskSize: o.nodeCidrMaskSize,
      nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriod,
      nodeMonitorPeriodMs: o.nodeMonitorPeriod,
    },
    log,
  })
  const onStop = () => void manager.stop()
  signal.addEventListener('abort', onStop, { once: true })
  process.stdout.write('k8ts: controller-manager started\n')
  await manager.done
  signal.removeEventListener('abort', onStop)
  if (manager.lostLeadership) throw new Error('leader election lost')
  process.stdout.write('k8ts: stopped\n')
}
