import type { TokenReview } from '../../api/generated/types/authentication-v1.ts'
import type { SubjectAccessReview } from '../../api/generated/types/authorization-v1.ts'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { Clock } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'
import { builtin, ResourceClient, type RestClient } from '../../client/index.ts'
import type { MachineInfo } from '../node/machine.ts'
import type { ContainerOutputReader } from '../pod/termination-message.ts'
import type { ContainerRuntime } from '../runtime/runtime.ts'
import { StatsProvider } from '../stats/summary.ts'
import { KubeletAuth } from './auth.ts'
import { selfSignedServingCertificate } from './serving-cert.ts'
import { defaultKubeletPort, startKubeletServer, type KubeletServer } from './server.ts'

export { defaultKubeletPort } from './server.ts'

/** The kubelet's API server settings (--port, --address, --client-ca-file). */
export interface KubeletServerConfig {
  /** Default 10250; 0 picks a free port, which the Node's daemonEndpoints then report. */
  port?: number
  /** Default 0.0.0.0. */
  address?: string
  /** PEM of the CA whose client certificates are accepted (the cluster CA). */
  clientCA: string
}

export interface KubeletApiOptions {
  config: KubeletServerConfig
  nodeName: string
  machine: MachineInfo
  runtime: ContainerRuntime
  /** Where /containerLogs reads the containers' logs; without it, they are not served. */
  containerOutput?: ContainerOutputReader
  /** The kubelet's client, as the node: TokenReviews and SubjectAccessReviews go through it. */
  rest: RestClient
  pods: () => readonly Pod[]
  clock: Clock
  log: Logger
}

export interface KubeletApi {
  /** The port it listens on, once it does (the configured one, and an error logged, if it cannot). */
  readonly port: Promise<number>
  stop(): Promise<void>
}

/** Starts the kubelet's HTTPS API with a self-signed serving certificate; see server.ts. */
export function serveKubeletApi(o: KubeletApiOptions): KubeletApi {
  const tokenReviews = new ResourceClient<TokenReview>(
    o.rest,
    builtin('authentication.k8s.io', 'v1', 'tokenreviews'),
  )
  const accessReviews = new ResourceClient<SubjectAccessReview>(
    o.rest,
    builtin('authorization.k8s.io', 'v1', 'subjectaccessreviews'),
  )
  const auth = new KubeletAuth({
    reviews: {
      createTokenReview: (r) => tokenReviews.create(r),
      createSubjectAccessReview: (r) => accessReviews.create(r),
    },
    clock: o.clock,
  })
  const stats = new StatsProvider({
    nodeName: o.nodeName,
    runtime: o.runtime,
    machine: o.machine,
    clock: o.clock,
  })
  const configured = o.config.port ?? defaultKubeletPort
  const starting: Promise<KubeletServer | undefined> = (async () => {
    const cert = await selfSignedServingCertificate(
      o.nodeName,
      [o.machine.internalIP, o.machine.hostname],
      o.clock.now(),
    )
    return startKubeletServer({
      nodeName: o.nodeName,
      port: configured,
      ...(o.config.address ? { address: o.config.address } : {}),
      clientCA: o.config.clientCA,
      tls: { cert: cert.chainPem, key: cert.serving.keyPem },
      auth,
      stats,
      pods: o.pods,
      ...(o.containerOutput
        ? { logs: { runtime: o.runtime, containerOutput: o.containerOutput, clock: o.clock } }
        : {}),
      log: o.log,
    })
  })().catch((err: unknown) => {
    o.log.error({ err: (err as Error).message, port: configured }, 'the kubelet API cannot serve')
    return undefined
  })
  return {
    port: starting.then((s) => s?.port ?? configured),
    async stop() {
      await (await starting)?.stop()
    },
  }
}
