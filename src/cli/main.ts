import { Command, CommanderError, InvalidArgumentError, type Command as CommandType } from 'commander'
import { readFileSync } from 'node:fs'
import { parseGoDuration } from '../base/duration.ts'
import { apiserver, apiServerDefaults, type ApiServerCommandOptions } from './apiserver.ts'
import { controllerManager, type ControllerManagerCommandOptions } from './controller-manager.ts'
import { oneLine } from './errors.ts'
import { scheduler, type SchedulerCommandOptions } from './scheduler.ts'
import { stopSignal } from './signals.ts'
import { up, type UpOptions } from './up.ts'
import {
  defaultClusterDomain,
  defaultResolvConf,
  clusterDNSOf,
  kubelet,
  parseClusterDNS,
  parseClusterDomain,
  parseLabels,
  parseTaints,
  runtimes,
  sim,
  type KubeletCommandOptions,
  type SimCommandOptions,
} from './kubelet.ts'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string
}

/** Runs the k8ts command line; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('k8ts')
    .description('Kubernetes, rebuilt in TypeScript on Node.js')
    .version(pkg.version, '--version', 'print the k8ts version')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) })

  serverFlags(program.command('up').description('run a whole single-node cluster in this process'))
    .option('--runtime <name>', `the node agent's container runtime (${runtimes.join(', ')}); none: no node`)
    .option('--hostname-override <name>', "the node's name (default: this host's name)")
    .option('--fake-missing-images <list>', 'images the fake runtime cannot pull', list, [])
    .option('--kubelet-port <port>', "HTTPS port of the node's kubelet API (0: a free one)", port, 10250)
    .option('--cluster-cidr <cidr>', 'the pod network, one subnet of it per node', '10.42.0.0/16')
    .option('--node-monitor-grace-period <duration>', 'a node silent this long is Unknown', duration, 40_000)
    .option('--node-monitor-period <duration>', 'how often node health is checked', duration, 5_000)
    .option(
      '--cluster-dns <ips>',
      "the node's cluster DNS IPs, comma-separated (default: the 10th address of --service-cluster-ip-range)",
      parseClusterDNS,
    )
    .option('--cluster-domain <domain>', "the cluster's DNS domain", parseClusterDomain, defaultClusterDomain)
    .option(
      '--resolv-conf <file>',
      "the host's resolver config, for dnsPolicy Default ('' for none)",
      defaultResolvConf,
    )
    .option('--pod-manifest-path <dir>', 'static pods: a folder of Pod manifests (or one file) the node runs')
    .action(async (opts: UpOptions, cmd: CommandType) =>
      up({ ...opts, explicit: explicitOptions(cmd) }, stopSignal()),
    )
  serverFlags(program.command('apiserver').description('run kube-apiserver alone')).action(
    async (opts: ApiServerCommandOptions) => apiserver(opts, stopSignal()),
  )

  leaderElectionFlags(
    program
      .command('controller-manager')
      .description('run kube-controller-manager alone, against the apiserver of a kubeconfig')
      .exitOverride()
      .requiredOption('--kubeconfig <file>', 'how to reach the apiserver, and as whom'),
  )
    .option(
      '--controllers <list>',
      'controllers to run: * for all, names, -name to leave one out',
      (v: string) => v.split(',').map((s) => s.trim()),
      ['*'],
    )
    .option('--cluster-cidr <cidr>', 'the pod network, one subnet of it per node', '10.42.0.0/16')
    .option('--node-cidr-mask-size <bits>', 'the size of each node subnet', maskSize, 24)
    .option('--node-monitor-grace-period <duration>', 'a node silent this long is Unknown', duration, 40_000)
    .option('--node-monitor-period <duration>', 'how often node health is checked', duration, 5_000)
    .option(
      '--service-account-private-key-file <file>',
      'PEM private key that signs the tokens of service account token Secrets',
    )
    .option(
      '--root-ca-file <file>',
      'CA put in service account token Secrets and kube-root-ca.crt ConfigMaps',
    )
    .option(
      '--use-service-account-credentials [bool]',
      'run each controller as its own ServiceAccount in kube-system',
      bool,
      false,
    )
    .option(
      '--cluster-signing-cert-file <file>',
      'PEM CA certificate that signs the kubernetes.io certificate signing requests',
    )
    .option('--cluster-signing-key-file <file>', 'PEM private key of --cluster-signing-cert-file')
    .option(
      '--cluster-signing-duration <duration>',
      'the longest lifetime of a signed certificate',
      duration,
      365 * 24 * 3600_000,
    )
    .option(
      '--horizontal-pod-autoscaler-sync-period <duration>',
      'how often each HorizontalPodAutoscaler is synced',
      duration,
      15_000,
    )
    .option(
      '--horizontal-pod-autoscaler-downscale-stabilization <duration>',
      'how far back the autoscaler looks for a higher recommendation before scaling down',
      duration,
      300_000,
    )
    .option(
      '--horizontal-pod-autoscaler-tolerance <fraction>',
      'how far usage may stray from the target before the autoscaler acts',
      fraction,
      0.1,
    )
    .option(
      '--horizontal-pod-autoscaler-cpu-initialization-period <duration>',
      'after a pod starts, how long its cpu samples may be skipped',
      duration,
      300_000,
    )
    .option(
      '--horizontal-pod-autoscaler-initial-readiness-delay <duration>',
      'after a pod starts, how long its readiness changes are taken as its first readiness',
      duration,
      30_000,
    )
    .option('--bind-address <ip>', 'address of /healthz and /metrics', '0.0.0.0')
    .option('--secure-port <port>', 'HTTPS port of /healthz and /metrics (0: not served)', port, 10257)
    .action(async (opts: ControllerManagerCommandOptions) => controllerManager(opts, stopSignal()))

  leaderElectionFlags(
    program
      .command('scheduler')
      .description('run kube-scheduler alone, against the apiserver of a kubeconfig')
      .exitOverride()
      .option('--kubeconfig <file>', 'how to reach the apiserver, and as whom'),
  )
    .option('--config <file>', 'a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) file')
    .option('--bind-address <ip>', 'address of /healthz and /metrics', '0.0.0.0')
    .option('--secure-port <port>', 'HTTPS port of /healthz and /metrics (0: not served)', port, 10259)
    .action(async (opts: SchedulerCommandOptions, cmd: CommandType) =>
      scheduler({ ...opts, explicit: explicitOptions(cmd) }, stopSignal()),
    )

  program
    .command('kubelet')
    .description('run a node agent, against the apiserver of a kubeconfig')
    .exitOverride()
    .requiredOption('--kubeconfig <file>', 'how to reach the apiserver, as system:node:<name>')
    .requiredOption('--runtime <name>', `the container runtime (${runtimes.join(', ')})`)
    .option('--hostname-override <name>', "the node's name (default: this host's name)")
    .option('--node-ip <ip>', "the node's InternalIP (default: the first non-loopback IPv4 address)")
    .option('--node-labels <list>', 'labels the Node registers with: key=value,...', parseLabels, {})
    .option(
      '--register-with-taints <list>',
      'taints the Node registers with: key=value:Effect,...',
      parseTaints,
      [],
    )
    .option('--max-pods <n>', 'pods this node runs at most', positive, 110)
    .option('--fake-missing-images <list>', 'images the fake runtime cannot pull', list, [])
    .option('--port <port>', 'HTTPS port of the kubelet API (0: a free one)', port, 10250)
    .option('--address <ip>', 'address the kubelet API listens on', '0.0.0.0')
    .option('--client-ca-file <file>', "CA of the client certificates it accepts (default: the kubeconfig's)")
    .option(
      '--cluster-dns <ips>',
      'cluster DNS IPs, comma-separated (none: ClusterFirst pods fall back to Default)',
      parseClusterDNS,
      [],
    )
    .option('--cluster-domain <domain>', "the cluster's DNS domain", parseClusterDomain, defaultClusterDomain)
    .option(
      '--resolv-conf <file>',
      "the host's resolver config, for dnsPolicy Default ('' for none)",
      defaultResolvConf,
    )
    .option('--pod-manifest-path <dir>', 'static pods: a folder of Pod manifests (or one file) the node runs')
    .action(async (opts: KubeletCommandOptions, cmd: CommandType) =>
      kubelet({ ...opts, explicit: explicitOptions(cmd) }, stopSignal()),
    )

  program
    .command('sim')
    .description('run simulated nodes (kubelets on the fake runtime) in this process')
    .exitOverride()
    .requiredOption('--kubeconfig <file>', 'how to reach the apiserver, and as whom')
    .requiredOption('--nodes <n>', 'how many nodes', positive)
    .option('--name-prefix <prefix>', 'node names: <prefix>0, <prefix>1, ...', 'sim-node-')
    .option('--max-pods <n>', 'pods each node runs at most', positive, 110)
    .option(
      '--cluster-dns <ips>',
      "cluster DNS IPs, comma-separated (default: k8ts up's, for the default Service range)",
      parseClusterDNS,
      [clusterDNSOf(apiServerDefaults().serviceClusterIpRange)],
    )
    .option('--cluster-domain <domain>', "the cluster's DNS domain", parseClusterDomain, defaultClusterDomain)
    .action(async (opts: SimCommandOptions) => sim(opts, stopSignal()))

  try {
    await program.parseAsync(argv, { from: 'user' })
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    process.stderr.write(`k8ts: ${oneLine(err)}\n`)
    return 1
  }
}

/** The options given on the command line (not defaulted), by their camelCase names. */
function explicitOptions(cmd: CommandType): Set<string> {
  return new Set(Object.keys(cmd.opts()).filter((k) => cmd.getOptionValueSource(k) === 'cli'))
}

/** kube-controller-manager's and kube-scheduler's leader election flags, with their defaults. */
function leaderElectionFlags(cmd: CommandType): CommandType {
  return cmd
    .option('--leader-elect <bool>', 'run only while holding the leader lease', bool, true)
    .option(
      '--leader-elect-lease-duration <duration>',
      'how long a lease holds without renewal',
      duration,
      15_000,
    )
    .option(
      '--leader-elect-renew-deadline <duration>',
      'how long the leader retries renewing',
      duration,
      10_000,
    )
    .option(
      '--leader-elect-retry-period <duration>',
      'how often candidates try and the leader renews',
      duration,
      2_000,
    )
}

/** The flags of commands that run the apiserver, with kube-apiserver's names where they exist. */
function serverFlags(cmd: CommandType): CommandType {
  const d = apiServerDefaults()
  return cmd
    .exitOverride()
    .option('--data-dir <dir>', 'where state, certificates and kubeconfigs live', d.dataDir)
    .option(
      '--datastore <url>',
      'sqlite://<path> (relative to the data dir) or etcd://host:port[,host:port...]',
      d.datastore,
    )
    .option('--bind-address <ip>', 'address to serve on', d.bindAddress)
    .option('--secure-port <port>', 'HTTPS port (0 picks a free one)', port, d.securePort)
    .option('--advertise-address <ip>', 'address clients reach the apiserver at')
    .option('--token-auth-file <file>', 'static bearer tokens: token,user,uid,"group1,group2"')
    .option(
      '--anonymous-auth [bool]',
      'requests without credentials are system:anonymous (false: 401)',
      bool,
      d.anonymousAuth,
    )
    .option(
      '--oidc-issuer-url <url>',
      'https URL of the OpenID Connect provider whose ID tokens authenticate users',
    )
    .option('--oidc-client-id <id>', 'the audience ID tokens must have (with --oidc-issuer-url)')
    .option(
      '--oidc-ca-file <file>',
      "PEM roots the provider's certificate is checked against (default: the system's)",
    )
    .option('--oidc-username-claim <claim>', 'the claim that is the user name (default sub)')
    .option(
      '--oidc-username-prefix <prefix>',
      "prefix of user names (default: the issuer URL and '#' unless the claim is email; '-' for none)",
    )
    .option('--oidc-groups-claim <claim>', 'the claim that holds the groups (a string or a list)')
    .option('--oidc-groups-prefix <prefix>', 'prefix of group names')
    .option(
      '--oidc-required-claim <key=value>',
      'a claim ID tokens must have, with that value (repeatable)',
      keyValue,
      d.oidcRequiredClaim,
    )
    .option('--oidc-signing-algs <list>', 'algorithms ID tokens may be signed with (default RS256)', list)
    .option(
      '--service-account-issuer <url>',
      'issuer of service account tokens (repeat to accept old issuers; the first issues)',
      repeated,
      d.serviceAccountIssuer,
    )
    .option(
      '--service-account-signing-key-file <file>',
      'PEM private key that signs service account tokens (default: <data-dir>/pki/sa.key)',
    )
    .option(
      '--service-account-key-file <file>',
      'PEM keys that verify service account tokens (repeatable; default: the signing key)',
      repeated,
      d.serviceAccountKeyFile,
    )
    .option(
      '--api-audiences <list>',
      'audiences of tokens for the apiserver (default: the issuers)',
      list,
      d.apiAudiences,
    )
    .option(
      '--service-account-max-token-expiration <duration>',
      'the longest a requested service account token may live (0: no limit)',
      duration,
      d.serviceAccountMaxTokenExpiration,
    )
    .option(
      '--enable-bootstrap-token-auth <bool>',
      'bootstrap token Secrets authenticate',
      bool,
      d.enableBootstrapTokenAuth,
    )
    .option(
      '--disable-admission-plugins <list>',
      'admission plugins that do not run',
      list,
      d.disableAdmissionPlugins,
    )
    .option('--service-cluster-ip-range <cidr>', 'cluster IPs of Services', d.serviceClusterIpRange)
    .option('--service-node-port-range <range>', 'NodePorts of Services', d.serviceNodePortRange)
    .option(
      '--workers <n>',
      'serve from this many threads sharing the store and the port (0: the main thread)',
      count,
      d.workers,
    )
}

/** A Go duration as Kubernetes flags take them (40s, 5m, 1m30s, 500ms), in milliseconds. */
export function duration(v: string): number {
  if (v === '') throw new InvalidArgumentError('an empty duration')
  const ms = parseGoDuration(v)
  if (ms === undefined) throw new InvalidArgumentError(`${v} is not a duration (like 40s, 5m or 1m30s)`)
  return ms
}

/** A flag given more than once collects its values. */
function repeated(v: string, previous: string[]): string[] {
  return [...previous, v]
}

/** key=value, repeatable, as kube-apiserver's map flags that do not split on commas. */
function keyValue(v: string, previous: Readonly<Record<string, string>>): Record<string, string> {
  const eq = v.indexOf('=')
  if (eq < 0) throw new InvalidArgumentError('malformed pair, expect string=string')
  return { ...previous, [v.slice(0, eq).trim()]: v.slice(eq + 1).trim() }
}

/** A comma-separated list. */
function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

function maskSize(v: string): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || n > 32) throw new InvalidArgumentError(`${v} is not a mask size from 0 to 32`)
  return n
}

function bool(v: string): boolean {
  if (v === 'true') return true
  if (v === 'false') return false
  throw new InvalidArgumentError(`${v} is not true or false`)
}

function count(v: string): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || n > 64) throw new InvalidArgumentError(`${v} is not a number from 0 to 64`)
  return n
}

function positive(v: string): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || n < 1 || n > 1_000_000)
    throw new InvalidArgumentError(`${v} is not a number from 1 to 1000000`)
  return n
}

/** A non-negative decimal, as the autoscaler's tolerance. */
function fraction(v: string): number {
  const n = Number(v)
  if (!/^\d+(\.\d+)?$/.test(v) || !Number.isFinite(n))
    throw new InvalidArgumentError(`${v} is not a non-negative number`)
  return n
}

function port(v: string): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError(`${v} is not a port number`)
  return n
}
