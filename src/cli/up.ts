import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadKubeconfig } from '../client/index.ts'
import { superviseComponentThread, type ComponentThread } from '../client/component-thread.ts'
import { startControllerManagerThread } from '../controllers/thread.ts'
import { startSchedulerThread, type SchedulerThread } from '../scheduler/thread.ts'
import type { ApiServer } from '../apiserver/index.ts'
import { createLogger, type Logger } from '../base/log.ts'
import {
  checkRuntime,
  clusterDNSOf,
  defaultClusterDomain,
  defaultResolvConf,
  nodeNameOf,
  podDNS,
  startFakeKubelet,
} from './kubelet.ts'
import { serveHealth } from './health-server.ts'
import { apiserver, apiServerDefaults, type ApiServerCommandOptions } from './apiserver.ts'

export interface UpOptions extends ApiServerCommandOptions {
  /** The node agent's container runtime; none: no node agent (control plane only). */
  runtime?: string
  /** The node's name (default: this host's name). */
  hostnameOverride?: string
  /** Images the fake runtime cannot pull. */
  fakeMissingImages?: string[]
  /** The kubelet's --port: its HTTPS API (default 10250; 0 picks a free one, which the Node reports). */
  kubeletPort?: number
  /** The controller-manager's --cluster-cidr, --node-monitor-grace-period and --node-monitor-period. */
  clusterCidr?: string
  nodeMonitorGracePeriod?: number
  nodeMonitorPeriod?: number
  /** The kubelet's --cluster-dns (default: the 10th address of the Service range, as kubeadm). */
  clusterDns?: string[]
  /** The kubelet's --cluster-domain (cluster.local), --resolv-conf (/etc/resolv.conf), --pod-manifest-path. */
  clusterDomain?: string
  resolvConf?: string
  podManifestPath?: string
  /** The options given on the command line (camelCase), not defaulted. */
  explicit?: ReadonlySet<string>
}

export const upDefaults = (): UpOptions => apiServerDefaults()

/**
 * The controller-manager and the scheduler beside an apiserver, with their own identities, as
 * kubeadm sets them up: the kubeconfigs the apiserver writes (system:kube-controller-manager,
 * system:kube-scheduler), and each controller as its own ServiceAccount
 * (--use-service-account-credentials).
 */
export function startControlPlane(
  server: ApiServer,
  o: { dataDir: string } & Pick<UpOptions, 'clusterCidr' | 'nodeMonitorGracePeriod' | 'nodeMonitorPeriod'>,
  log: Logger,
): { manager: ComponentThread; scheduler: SchedulerThread } {
  // kube-controller-manager and kube-scheduler are processes of their own: here each a thread of
  // its own, so that the controllers, scheduling and the apiserver's serving use every core. They
  // reach the apiserver through its in-process transport: the same requests and pipeline, without
  // TCP and TLS. Their log lines go to stderr at the same level.
  const manager = superviseComponentThread(
    'controller-manager',
    () =>
      startControllerManagerThread({
        client: {
          ...loadKubeconfig(server.controllerManagerKubeconfig),
          inProcess: server.inProcessListener(),
        },
        useServiceAccountCredentials: true,
        // As kubeadm runs it: every default controller, and the bootstrap token cleaner.
        controllers: ['*', 'tokencleaner'],
        settings: {
          serviceAccountPrivateKey: readFileSync(server.serviceAccountSigningKeyFile, 'utf8'),
          rootCA: server.caPem,
          // As kubeadm sets --cluster-signing-cert-file/--cluster-signing-key-file: the cluster CA.
          clusterSigningCert: server.caPem,
          clusterSigningKey: readFileSync(join(o.dataDir, 'pki', 'ca.key'), 'utf8'),
          ...(o.clusterCidr !== undefined ? { clusterCIDR: o.clusterCidr } : {}),
          ...(o.nodeMonitorGracePeriod !== undefined
            ? { nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriod }
            : {}),
          ...(o.nodeMonitorPeriod !== undefined ? { nodeMonitorPeriodMs: o.nodeMonitorPeriod } : {}),
        },
        logLevel: log.level,
      }),
    { log },
  )
  const scheduler = superviseComponentThread(
    'scheduler',
    () =>
      startSchedulerThread({
        client: { ...loadKubeconfig(server.schedulerKubeconfig), inProcess: server.inProcessListener() },
        logLevel: log.level,
      }),
    { log },
  )
  return { manager, scheduler }
}

/**
 * A whole single-node cluster in one process: the store, the apiserver (with its admin
 * kubeconfig), the controller-manager, the scheduler and, with --runtime, one node agent.
 */
export async function up(options: UpOptions, signal: AbortSignal): Promise<void> {
  if (options.runtime !== undefined) checkRuntime(options.runtime)
  // The node's DNS flags are checked (and the host's resolv.conf read) before anything starts.
  const dns =
    options.runtime === undefined
      ? undefined
      : podDNS(
          {
            clusterDns: options.clusterDns ?? [clusterDNSOf(options.serviceClusterIpRange)],
            clusterDomain: options.clusterDomain ?? defaultClusterDomain,
            resolvConf: options.resolvConf ?? defaultResolvConf,
          },
          { explicitResolvConf: options.explicit?.has('resolvConf') ?? false, log: createLogger() },
        )
  await apiserver(options, signal, (server, log) => {
    const { manager, scheduler } = startControlPlane(server, options, log)
    // Their health and metrics where kube-scheduler and kube-controller-manager serve them, on
    // the loopback (componentstatuses asks there); a port in use is only a warning here.
    const servers = [
      { name: 'scheduler', port: 10259, metrics: scheduler.metrics },
      { name: 'controller-manager', port: 10257, metrics: manager.metrics },
    ].map((c) =>
      serveHealth({ host: '127.0.0.1', port: c.port, metrics: c.metrics, log }).catch((err: unknown) => {
        log.warn({ component: c.name, err: (err as Error).message }, 'health and metrics not served')
        return undefined
      }),
    )
    // The node agent, as system:node:<name> with its own kubeconfig (kubeadm's kubelet.conf). It
    // shares the apiserver's thread, and reaches it through the in-process transport too.
    const nodeName = nodeNameOf(options.hostnameOverride)
    const kubelet =
      options.runtime === undefined
        ? undefined
        : server.nodeKubeconfig(nodeName).then((file) =>
            startFakeKubelet({
              client: { ...loadKubeconfig(file), inProcess: server.inProcessListener() },
              nodeName,
              ...(options.fakeMissingImages ? { missingImages: options.fakeMissingImages } : {}),
              ...(dns ? { dns } : {}),
              ...(options.podManifestPath !== undefined ? { podManifestPath: options.podManifestPath } : {}),
              // Its API on the kubelet's port, trusting the cluster CA: kubectl top reads it.
              server: {
                ...(options.kubeletPort !== undefined ? { port: options.kubeletPort } : {}),
                clientCA: server.caPem,
              },
              log,
            }),
          )
    return {
      stop: async () => {
        await (await kubelet?.catch(() => undefined))?.stop()
        await Promise.all([scheduler.stop(), manager.stop(), ...servers.map(async (s) => (await s)?.close())])
      },
    }
  })
}
