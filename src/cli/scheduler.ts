import { readFileSync } from 'node:fs'
import { createLogger } from '../base/log.ts'
import { loadKubeconfig } from '../client/index.ts'
import {
  parseSchedulerConfiguration,
  startScheduler,
  type SchedulerConfiguration,
} from '../scheduler/index.ts'
import { serveHealth } from './health-server.ts'
import { leaderElectionSettings, superviseLeading, type LeaderElectionFlags } from './signals.ts'

export interface SchedulerCommandOptions extends LeaderElectionFlags {
  kubeconfig?: string
  config?: string
  bindAddress: string
  securePort: number
  /** The options given on the command line: these win over the config file, as in kube-scheduler. */
  explicit?: ReadonlySet<string>
}

/**
 * `k8ts scheduler`: kube-scheduler alone, against the apiserver its kubeconfig names, until
 * SIGINT or SIGTERM, with /healthz and /metrics on its secure port.
 */
export async function scheduler(o: SchedulerCommandOptions, signal: AbortSignal): Promise<void> {
  const log = createLogger()
  let config: SchedulerConfiguration | undefined
  if (o.config) {
    let text: string
    try {
      text = readFileSync(o.config, 'utf8')
    } catch (err) {
      throw new Error(`cannot read --config ${o.config}: ${(err as NodeJS.ErrnoException).code ?? ''}`, {
        cause: err,
      })
    }
    try {
      config = parseSchedulerConfiguration(text)
    } catch (err) {
      throw new Error(`invalid --config ${o.config}: ${(err as Error).message}`, { cause: err })
    }
  }
  const kubeconfig = o.kubeconfig ?? config?.kubeconfig
  if (!kubeconfig)
    throw new Error('no kubeconfig: give --kubeconfig or clientConnection.kubeconfig in --config')
  const flags = leaderElectionSettings(o)
  const given = (name: keyof LeaderElectionFlags) => o.explicit?.has(name) ?? true
  const running = startScheduler({
    client: loadKubeconfig(kubeconfig),
    leaderElect: given('leaderElect') ? flags.leaderElect : (config?.leaderElect ?? flags.leaderElect),
    leaseDurationMs: given('leaderElectLeaseDuration')
      ? flags.leaseDurationMs
      : (config?.leaseDurationMs ?? flags.leaseDurationMs),
    renewDeadlineMs: given('leaderElectRenewDeadline')
      ? flags.renewDeadlineMs
      : (config?.renewDeadlineMs ?? flags.renewDeadlineMs),
    retryPeriodMs: given('leaderElectRetryPeriod')
      ? flags.retryPeriodMs
      : (config?.retryPeriodMs ?? flags.retryPeriodMs),
    ...(config ? { configuration: config } : {}),
    log,
  })
  const server = await serveHealth({
    host: o.bindAddress,
    port: o.securePort,
    metrics: running.metrics.registry,
    log,
  }).catch(async (err: unknown) => {
    await running.stop()
    throw err
  })
  try {
    await superviseLeading('scheduler', running, signal)
  } finally {
    await server?.close()
  }
}
