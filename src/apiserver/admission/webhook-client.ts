import { Agent, request } from 'undici'
import type { WebhookClientConfig } from '../../api/generated/types/admissionregistration-v1.ts'

/**
 * How the apiserver calls admission webhooks: HTTPS POST of a JSON AdmissionReview to the
 * configuration's URL, or to a Service, trusting the configuration's caBundle (or the system's
 * roots when it has none), with the webhook's timeout (told to the webhook as `?timeout=Ns`).
 */

/** Where a Service reference points: an address and port to connect to. */
export interface ServiceAddress {
  readonly host: string
  readonly port: number
}

/**
 * Resolves a Service reference (kube-apiserver's ServiceResolver); throws when it cannot. The
 * certificate is checked against `<service>.<namespace>.svc`, whatever address this gives.
 */
export type ServiceResolver = (namespace: string, name: string, port: number) => Promise<ServiceAddress>

/** A failure to call a webhook (not a webhook's refusal): what failurePolicy decides on. */
export class WebhookCallError extends Error {
  override readonly name = 'WebhookCallError'
}

export class WebhookClient {
  readonly #resolve: ServiceResolver
  /** One connection pool per trust anchor and server name. */
  readonly #agents = new Map<string, Agent>()

  constructor(resolve: ServiceResolver) {
    this.#resolve = resolve
  }

  /** POSTs the review and resolves to the decoded answer; throws WebhookCallError on any failure. */
  async post(config: WebhookClientConfig, body: unknown, timeoutSeconds: number): Promise<unknown> {
    let url: URL
    let servername: string | undefined
    if (config.url !== undefined) {
      try {
        url = new URL(config.url)
      } catch {
        throw new WebhookCallError(`invalid URL ${JSON.stringify(config.url)}`)
      }
    } else if (config.service) {
      const s = config.service
      let address: ServiceAddress
      try {
        address = await this.#resolve(s.namespace, s.name, s.port ?? 443)
      } catch (err) {
        throw new WebhookCallError(`failed to resolve the service: ${(err as Error).message}`, { cause: err })
      }
      const host = address.host.includes(':') ? `[${address.host}]` : address.host
      url = new URL(`https://${host}:${address.port}${s.path ?? ''}`)
      servername = `${s.name}.${s.namespace}.svc`
    } else {
      throw new WebhookCallError('the webhook has neither a URL nor a service')
    }
    url.searchParams.set('timeout', `${timeoutSeconds}s`)
    const where = `Post "${url.toString()}"`
    const signal = AbortSignal.timeout(timeoutSeconds * 1000)
    let text: string
    let code: number
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.#agent(config.caBundle, servername),
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal,
      })
      code = res.statusCode
      text = await res.body.text()
    } catch (err) {
      throw new WebhookCallError(`${where}: ${describe(err, url, signal)}`, { cause: err })
    }
    if (code < 200 || code > 299) {
      throw new WebhookCallError(
        `the server responded with the status code ${code} but did not return more information`,
      )
    }
    try {
      return JSON.parse(text) as unknown
    } catch {
      throw new WebhookCallError(`the webhook's answer is not JSON: ${text.slice(0, 200)}`)
    }
  }

  close(): void {
    for (const a of this.#agents.values()) void a.close()
    this.#agents.clear()
  }

  #agent(caBundle: string | undefined, servername: string | undefined): Agent {
    const key = `${caBundle ?? ''}\n${servername ?? ''}`
    let agent = this.#agents.get(key)
    if (!agent) {
      const ca = caBundle ? Buffer.from(caBundle, 'base64').toString('utf8') : undefined
      agent = new Agent({
        connect: { ...(ca ? { ca } : {}), ...(servername ? { servername } : {}) },
        keepAliveTimeout: 30_000,
      })
      this.#agents.set(key, agent)
    }
    return agent
  }
}

/** A transport failure in the words of Go's HTTP client, which kube-apiserver's messages carry. */
function describe(err: unknown, url: URL, signal: AbortSignal): string {
  if (signal.aborted) return 'context deadline exceeded'
  const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string }
  const code = e.code ?? e.cause?.code
  const address = `${url.hostname.replace(/^\[|\]$/g, '')}:${url.port || '443'}`
  if (code === 'ECONNREFUSED') return `dial tcp ${address}: connect: connection refused`
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'EOF'
  if (code === 'ENOTFOUND') return `dial tcp: lookup ${url.hostname}: no such host`
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `tls: failed to verify certificate: x509: certificate is not valid for ${url.hostname}`
  if (
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
  )
    return 'tls: failed to verify certificate: x509: certificate signed by unknown authority'
  if (code === 'CERT_HAS_EXPIRED') return 'tls: failed to verify certificate: x509: certificate has expired'
  return e.cause?.message ?? e.message ?? String(err)
}
