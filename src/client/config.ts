import { readFileSync } from 'node:fs'
import type { MessagePort } from 'node:worker_threads'
import { dirname, isAbsolute, join } from 'node:path'
import { parse } from 'yaml'

/**
 * How a component reaches the apiserver: where it is, how to trust it, who we are. Made from a
 * kubeconfig (loadKubeconfig) or directly (tests, in-cluster callers).
 */
export interface ClientConfig {
  /** https://host:port of the apiserver. */
  server: string
  /** PEM of the CA that signed the apiserver's certificate (the system roots when absent). */
  ca?: string
  /** PEM client certificate and key (x509 authentication). */
  cert?: string
  key?: string
  /** A bearer token (token file, service account token). */
  token?: string
  /** Do not verify the apiserver's certificate (kubeconfig's insecure-skip-tls-verify). */
  insecureSkipTLSVerify?: boolean
  /**
   * Sent as User-Agent. The apiserver names the field manager of a write after its first word
   * (`kube-controller-manager/v1.35.0 (...)` manages fields as kube-controller-manager).
   */
  userAgent?: string
  /** Client-side rate limit, as client-go's QPS and Burst; unlimited when absent. */
  qps?: number
  burst?: number
  /** Deadline of each request that is not a watch (default 60 s). */
  timeoutMs?: number
  /**
   * Connections open at once for requests other than watches (default 32); more requests wait
   * their turn in the client, as client-go's requests share its HTTP/2 connection, instead of
   * opening a TLS connection each and meeting the apiserver's in-flight limit.
   */
  maxConnections?: number
  /**
   * The apiserver's in-process listener (ApiServer.inProcessListener), for a component that runs
   * in the apiserver's process: its connections then go through it, without TCP and TLS, instead
   * of to `server` (which still names the apiserver). A port belongs to one thread: each thread
   * needs one of its own.
   */
  inProcess?: MessagePort
}

/** A kubeconfig that cannot be used, with the reason in one line. */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError'
}

interface Named<T> {
  name?: string
  [key: string]: unknown
  value?: T
}

interface KubeconfigFile {
  clusters?: Named<unknown>[]
  users?: Named<unknown>[]
  contexts?: Named<unknown>[]
  'current-context'?: string
}

/**
 * Reads a kubeconfig as kubectl does: the current context (or `context`), its cluster and its
 * user. Certificates and keys may be inline (`*-data`, base64) or files (relative to the
 * kubeconfig's directory); tokens inline or in a `tokenFile`.
 */
export function loadKubeconfig(path: string, o: { context?: string } = {}): ClientConfig {
  let file: KubeconfigFile
  try {
    file = parse(readFileSync(path, 'utf8')) as KubeconfigFile
  } catch (err) {
    throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(err as Error).message}`)
  }
  if (file === null || typeof file !== 'object') throw new KubeconfigError(`kubeconfig ${path} is empty`)
  const contextName = o.context ?? file['current-context'] ?? ''
  const context = pick(file.contexts, contextName, 'context', path) as { cluster?: string; user?: string }
  const cluster = pick(file.clusters, context.cluster ?? '', 'cluster', path) as Record<string, unknown>
  const user = (
    context.user === undefined || context.user === '' ? {} : pick(file.users, context.user, 'user', path)
  ) as Record<string, unknown>
  const base = dirname(path)
  const server = str(cluster.server)
  if (server === '') throw new KubeconfigError(`cluster ${context.cluster ?? ''} in ${path} has no server`)
  const config: ClientConfig = { server }
  const ca = material(cluster, 'certificate-authority', base)
  if (ca !== undefined) config.ca = ca
  if (cluster['insecure-skip-tls-verify'] === true) config.insecureSkipTLSVerify = true
  const cert = material(user, 'client-certificate', base)
  const key = material(user, 'client-key', base)
  if (cert !== undefined) config.cert = cert
  if (key !== undefined) config.key = key
  const token =
    str(user.token) ||
    (str(user.tokenFile) ? readFileSync(resolve(base, str(user.tokenFile)), 'utf8').trim() : '')
  if (token !== '') config.token = token
  return config
}

function pick(list: Named<unknown>[] | undefined, name: string, what: string, path: string): unknown {
  const found = (list ?? []).find((e) => e.name === name)
  const value = found?.[what]
  if (value === undefined || value === null || typeof value !== 'object') {
    throw new KubeconfigError(
      name === ''
        ? `kubeconfig ${path} has no current context`
        : `${what} "${name}" is not in kubeconfig ${path}`,
    )
  }
  return value
}

/** Inline `<name>-data` (base64) or the file `<name>`. */
function material(section: Record<string, unknown>, name: string, base: string): string | undefined {
  const inline = str(section[`${name}-data`])
  if (inline !== '') return Buffer.from(inline, 'base64').toString('utf8')
  const file = str(section[name])
  if (file === '') return undefined
  try {
    return readFileSync(resolve(base, file), 'utf8')
  } catch (err) {
    throw new KubeconfigError(`cannot read ${name} ${file}: ${(err as Error).message}`)
  }
}

function resolve(base: string, file: string): string {
  return isAbsolute(file) ? file : join(base, file)
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}
