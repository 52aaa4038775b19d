import { readFileSync } from 'node:fs'
import { createLogger } from '../base/log.ts'
import { loadKubeconfig, processMetrics } from '../client/index.ts'
import { startControllerManager } from '../controllers/index.ts'
import { serveHealth } from './health-server.ts'
import { leaderElectionSettings, superviseLeading, type LeaderElectionFlags } from './signals.ts'

export interface ControllerManagerCommandOptions extends LeaderElectionFlags {
  kubeconfig: string
  controllers: string[]
  clusterCidr: string
  nodeCidrMaskSize: number
  nodeMonitorGracePeriod: number
  nodeMonitorPeriod: number
  serviceAccountPrivateKeyFile?: string
  rootCaFile?: string
  useServiceAccountCredentials: boolean
  clusterSigningCertFile?: string
  clusterSigningKeyFile?: string
  clusterSigningDuration: number
  horizontalPodAutoscalerSyncPeriod: number
  horizontalPodAutoscalerDownscaleStabilization: number
  horizontalPodAutoscalerTolerance: number
  horizontalPodAutoscalerCpuInitializationPeriod: number
  horizontalPodAutoscalerInitialReadinessDelay: number
  bindAddress: string
  securePort: number
}

/**
 * `k8ts controller-manager`: kube-controller-manager alone, against the apiserver its kubeconfig
 * names, until SIGINT or SIGTERM.
 */
export async function controllerManager(
  o: ControllerManagerCommandOptions,
  signal: AbortSignal,
): Promise<void> {
  const signing = signingSettings(o)
  const log = createLogger()
  const manager = startControllerManager({
    client: loadKubeconfig(o.kubeconfig),
    controllers: o.controllers,
    useServiceAccountCredentials: o.useServiceAccountCredentials,
    ...leaderElectionSettings(o),
    settings: {
      clusterCIDR: o.clusterCidr,
      nodeCIDRMaskSize: o.nodeCidrMaskSize,
      nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriod,
      nodeMonitorPeriodMs: o.nodeMonitorPeriod,
      ...(o.serviceAccountPrivateKeyFile
        ? { serviceAccountPrivateKey: readFileSync(o.serviceAccountPrivateKeyFile, 'utf8') }
        : {}),
      ...(o.rootCaFile ? { rootCA: readFileSync(o.rootCaFile, 'utf8') } : {}),
      ...signing,
      horizontalPodAutoscaler: {
        syncPeriodMs: o.horizontalPodAutoscalerSyncPeriod,
        downscaleStabilizationMs: o.horizontalPodAutoscalerDownscaleStabilization,
        tolerance: o.horizontalPodAutoscalerTolerance,
        cpuInitializationPeriodMs: o.horizontalPodAutoscalerCpuInitializationPeriod,
        initialReadinessDelayMs: o.horizontalPodAutoscalerInitialReadinessDelay,
      },
    },
    log,
  })
  const server = await serveHealth({
    host: o.bindAddress,
    port: o.securePort,
    metrics: processMetrics(),
    log,
  }).catch(async (err: unknown) => {
    await manager.stop()
    throw err
  })
  try {
    await superviseLeading('controller-manager', manager, signal)
  } finally {
    await server?.close()
  }
}

/** --cluster-signing-cert-file and --cluster-signing-key-file: both or neither, as files that can be read. */
function signingSettings(
  o: Pick<
    ControllerManagerCommandOptions,
    'clusterSigningCertFile' | 'clusterSigningKeyFile' | 'clusterSigningDuration'
  >,
): { clusterSigningCert?: string; clusterSigningKey?: string; clusterSigningDurationMs: number } {
  const duration = { clusterSigningDurationMs: o.clusterSigningDuration }
  if (!o.clusterSigningCertFile && !o.clusterSigningKeyFile) return duration
  if (!o.clusterSigningCertFile || !o.clusterSigningKeyFile)
    throw new Error('--cluster-signing-cert-file and --cluster-signing-key-file must be given together')
  return {
    ...duration,
    clusterSigningCert: readFileSync(o.clusterSigningCertFile, 'utf8'),
    clusterSigningKey: readFileSync(o.clusterSigningKeyFile, 'utf8'),
  }
}
