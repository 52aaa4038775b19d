import { availableParallelism } from 'node:os'
import { createLogger } from '../base/log.ts'
import { startApiServer, type ApiServer, type OidcOptions } from '../apiserver/index.ts'
import type { Logger } from '../base/log.ts'
import { defaultDataDir, defaultDatastore } from './defaults.ts'
import { UsageError } from './errors.ts'
import { untilAborted } from './signals.ts'

export interface ApiServerCommandOptions {
  dataDir: string
  datastore: string
  bindAddress: string
  securePort: number
  advertiseAddress?: string
  tokenAuthFile?: string
  anonymousAuth: boolean
  oidcIssuerUrl?: string
  oidcClientId?: string
  oidcCaFile?: string
  oidcUsernameClaim?: string
  oidcUsernamePrefix?: string
  oidcGroupsClaim?: string
  oidcGroupsPrefix?: string
  oidcRequiredClaim: Record<string, string>
  oidcSigningAlgs?: string[]
  serviceAccountIssuer: string[]
  serviceAccountSigningKeyFile?: string
  serviceAccountKeyFile: string[]
  apiAudiences: string[]
  /** Milliseconds; 0 for no limit. */
  serviceAccountMaxTokenExpiration: number
  enableBootstrapTokenAuth: boolean
  disableAdmissionPlugins: string[]
  serviceClusterIpRange: string
  serviceNodePortRange: string
  workers: number
}

export const apiServerDefaults = (): ApiServerCommandOptions => ({
  dataDir: defaultDataDir(),
  datastore: defaultDatastore,
  bindAddress: '127.0.0.1',
  securePort: 6443,
  anonymousAuth: true,
  oidcRequiredClaim: {},
  serviceAccountIssuer: [],
  serviceAccountKeyFile: [],
  apiAudiences: [],
  serviceAccountMaxTokenExpiration: 0,
  enableBootstrapTokenAuth: true,
  disableAdmissionPlugins: [],
  serviceClusterIpRange: '10.96.0.0/12',
  serviceNodePortRange: '30000-32767',
  // The store keeps the main thread and a serving thread takes each other core (at most four), from
  // four cores up. On two cores the main thread serves alone: measured there (bench apiserver), the
  // hop between threads costs writes more than the second core gives reads.
  workers: availableParallelism() >= 4 ? Math.min(availableParallelism() - 1, 4) : 0,
})

/** Components that run beside the apiserver in one process (`k8ts up`); stopped before it. */
export type Alongside = (server: ApiServer, log: Logger) => { stop(): Promise<void> }

/** `k8ts apiserver`: kube-apiserver alone (or with `alongside`), until SIGINT or SIGTERM. */
export async function apiserver(
  o: ApiServerCommandOptions,
  signal: AbortSignal,
  alongside?: Alongside,
): Promise<void> {
  const oidc = oidcOptionsOf(o)
  const log = createLogger()
  const started = performance.now()
  const server = await startApiServer({
    dataDir: o.dataDir,
    datastore: o.datastore,
    bindAddress: o.bindAddress,
    securePort: o.securePort,
    ...(o.advertiseAddress ? { advertiseAddress: o.advertiseAddress } : {}),
    ...(o.tokenAuthFile ? { tokenAuthFile: o.tokenAuthFile } : {}),
    anonymousAuth: o.anonymousAuth,
    ...(oidc ? { oidc } : {}),
    ...(o.serviceAccountIssuer.length > 0 ? { serviceAccountIssuers: o.serviceAccountIssuer } : {}),
    ...(o.serviceAccountSigningKeyFile
      ? { serviceAccountSigningKeyFile: o.serviceAccountSigningKeyFile }
      : {}),
    ...(o.serviceAccountKeyFile.length > 0 ? { serviceAccountKeyFiles: o.serviceAccountKeyFile } : {}),
    ...(o.apiAudiences.length > 0 ? { apiAudiences: o.apiAudiences } : {}),
    ...(o.serviceAccountMaxTokenExpiration > 0
      ? { serviceAccountMaxTokenExpirationSeconds: Math.floor(o.serviceAccountMaxTokenExpiration / 1000) }
      : {}),
    enableBootstrapTokenAuth: o.enableBootstrapTokenAuth,
    ...(o.disableAdmissionPlugins.length > 0 ? { disableAdmissionPlugins: o.disableAdmissionPlugins } : {}),
    serviceClusterIPRange: o.serviceClusterIpRange,
    serviceNodePortRange: o.serviceNodePortRange,
    workers: o.workers,
    log,
  })
  const ms = Math.round(performance.now() - started)
  process.stdout.write(
    `k8ts: apiserver serving at ${server.url} (${ms} ms)\n` +
      `k8ts: kubectl --kubeconfig ${server.adminKubeconfig} get namespaces\n`,
  )
  const others = alongside?.(server, log)
  try {
    await untilAborted(signal)
  } finally {
    await others?.stop()
    await server.stop()
    process.stdout.write('k8ts: stopped\n')
  }
}

/**
 * The --oidc-* flags as the apiserver's OIDC options; none given is none. The issuer and the client
 * id go together, as kube-apiserver requires.
 */
function oidcOptionsOf(o: ApiServerCommandOptions): OidcOptions | undefined {
  const any =
    [
      o.oidcIssuerUrl,
      o.oidcClientId,
      o.oidcCaFile,
      o.oidcUsernameClaim,
      o.oidcUsernamePrefix,
      o.oidcGroupsClaim,
      o.oidcGroupsPrefix,
      o.oidcSigningAlgs,
    ].some((v) => v !== undefined) || Object.keys(o.oidcRequiredClaim).length > 0
  if (!any) return undefined
  if (!o.oidcIssuerUrl || !o.oidcClientId) {
    throw new UsageError(
      'oidc-issuer-url and oidc-client-id must be specified together when any oidc-* flags are set',
    )
  }
  return {
    issuerUrl: o.oidcIssuerUrl,
    clientId: o.oidcClientId,
    ...(o.oidcCaFile !== undefined ? { caFile: o.oidcCaFile } : {}),
    ...(o.oidcUsernameClaim !== undefined ? { usernameClaim: o.oidcUsernameClaim } : {}),
    ...(o.oidcUsernamePrefix !== undefined ? { usernamePrefix: o.oidcUsernamePrefix } : {}),
    ...(o.oidcGroupsClaim !== undefined ? { groupsClaim: o.oidcGroupsClaim } : {}),
    ...(o.oidcGroupsPrefix !== undefined ? { groupsPrefix: o.oidcGroupsPrefix } : {}),
    ...(Object.keys(o.oidcRequiredClaim).length > 0 ? { requiredClaims: o.oidcRequiredClaim } : {}),
    ...(o.oidcSigningAlgs !== undefined ? { signingAlgs: o.oidcSigningAlgs } : {}),
  }
}
