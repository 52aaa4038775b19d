/**
 * The kubelet's pod side put together (the PodManager that startKubelet starts once the Node is
 * registered): pod workers on the node's runtime, fed by the node's pod source, admitting each
 * new pod against the Node as last seen, writing status through pods/status and events through
 * the kubelet's recorder.
 */
import type { Pod, Service } from '../../api/generated/types/core-v1.ts'
import { builtin, Informer, ResourceClient } from '../../client/index.ts'
import { PodConfig } from '../config/pod-config.ts'
import type { PodManager, PodManagerContext } from '../index.ts'
import { admitPod } from './admission.ts'
import { ApiPodStatusWriter } from './api-status-writer.ts'
import { dnsConfigFor, type DNSConfigOptions } from './dns-config.ts'
import { feedPodWorkers } from './pod-source.ts'
import { PodResources } from './pod-resources.ts'
import { PodWorkers, type PodWorkersOptions } from './pod-workers.ts'

/** What the kubelet's flags decide about pods (DNS, probes' network, env lookups). */
export type KubeletPodOptions = Pick<
  PodWorkersOptions,
  'dnsConfig' | 'resolveEnv' | 'clusterDomain' | 'containerOutput' | 'network'
> & {
  /**
   * --cluster-dns, --cluster-domain and --resolv-conf: the sandboxes' DNS config (./dns-config.ts),
   * with the kubelet's events and the node's addresses. An explicit dnsConfig wins.
   */
  dns?: Omit<DNSConfigOptions, 'events' | 'nodeIPs'>
  /** --pod-manifest-path: static pods run from this folder, with mirror pods in the API. */
  podManifestPath?: string
  /**
   * The services (all namespaces) for the containers' service links, running; shared by
   * simulated kubelets. Without it the pod manager watches them itself with the node's client,
   * as upstream's kubelet does (the system:node role may list and watch services).
   */
  services?: Informer<Service>
}

export class KubeletPodManager implements PodManager {
  readonly #options: KubeletPodOptions
  #workers: PodWorkers | undefined
  #abort = new AbortController()
  #running: Promise<void> | undefined

  constructor(options: KubeletPodOptions = {}) {
    this.#options = options
  }

  /** The pod workers, once started (tests and the kubelet's server read them). */
  get workers(): PodWorkers | undefined {
    return this.#workers
  }

  start(ctx: PodManagerContext): void {
    const log = ctx.log.child({ subsystem: 'pod-workers' })
    const { podManifestPath, dns, services: given, ...options } = this.#options
    const ownServices =
      given === undefined && options.resolveEnv === undefined
        ? new Informer<Service>(new ResourceClient<Service>(ctx.rest, builtin('', 'v1', 'services')), {
            clock: ctx.clock,
            log: ctx.log.child({ subsystem: 'services' }),
          })
        : undefined
    const services = given ?? ownServices
    const apiWriter = new ApiPodStatusWriter(new ResourceClient<Pod>(ctx.rest, builtin('', 'v1', 'pods')))
    // Static pods join the API's pods; a new mirror pod gets the status written again.
    const config =
      podManifestPath === undefined
        ? undefined
        : new PodConfig({
            api: ctx.pods,
            manifestPath: podManifestPath,
            nodeName: ctx.nodeName,
            rest: ctx.rest,
            clock: ctx.clock,
            node: ctx.node,
            log: ctx.log.child({ subsystem: 'static-pods' }),
            onMirrorChange: (pod) => this.#workers?.statusManager.forget(pod.metadata?.uid ?? ''),
          })
    const workers = new PodWorkers({
      ...(dns ? { dnsConfig: dnsConfigFor({ ...dns, nodeIPs: ctx.hostIPs, events: ctx.recorder }) } : {}),
      ...(dns && dns.clusterDomain !== '' ? { clusterDomain: dns.clusterDomain } : {}),
      ...options,
      resolveEnv:
        options.resolveEnv ??
        new PodResources({
          rest: ctx.rest,
          clock: ctx.clock,
          node: ctx.node,
          ...(services ? { services } : {}),
        }),
      runtime: ctx.runtime,
      clock: ctx.clock,
      statusWriter: config ? config.statusWriter(apiWriter) : apiWriter,
      hostIPs: ctx.hostIPs,
      admit: (pod, admitted) => {
        const node = ctx.node()
        // Not read yet (cannot happen once registered): admit, as upstream does without a node lister.
        return node === undefined ? { admit: true } : admitPod({ node, pod, admitted })
      },
      events: { event: (pod, type, reason, message) => ctx.recorder.event(pod, type, reason, message) },
      log,
    })
    this.#workers = workers
    const signal = this.#abort.signal
    this.#running = (async () => {
      await workers.start()
      await Promise.all([
        ownServices?.run(signal),
        config?.run(signal),
        feedPodWorkers(config ?? ctx.pods, { workers, clock: ctx.clock, log }, signal),
      ])
    })().catch((err: unknown) => {
      if (!signal.aborted) log.error({ err }, 'the pod workers stopped')
    })
  }

  async stop(): Promise<void> {
    this.#abort.abort()
    await this.#running
    this.#workers?.stop()
    await this.#workers?.idle()
  }
}
