/**
 * The apiserver's client for kubelets' HTTPS APIs: what metrics.k8s.io scrapes (/metrics/resource)
 * and what pods/log proxies (/containerLogs), with kubeadm's apiserver-kubelet-client
 * certificate (--kubelet-client-certificate/-key).
 */
import type { IncomingMessage } from 'node:http'
import { Agent, request } from 'node:https'
import type { Node } from '../api/generated/types/core-v1.ts'

/** The kubelet's port when the Node does not say (daemonEndpoints.kubeletEndpoint.Port). */
export const defaultKubeletPort = 10250

/**
 * Where the apiserver reaches a node's kubelet, as --kubelet-preferred-address-types orders the
 * node's addresses (here InternalIP, ExternalIP, Hostname) and its daemonEndpoints give the port.
 * Undefined when the node has no address yet.
 */
export function kubeletUrl(node: Readonly<Node>, path: string): string | undefined {
  const addresses = node.status?.addresses ?? []
  const pick = (type: string) => addresses.find((a) => a.type === type && a.address !== '')?.address
  const host = pick('InternalIP') ?? pick('ExternalIP') ?? pick('Hostname')
  if (!host) return undefined
  const given = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0
  const port = given > 0 ? given : defaultKubeletPort
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}${path}`
}

export interface KubeletClientOptions {
  /** The apiserver's client certificate for kubelets (--kubelet-client-certificate/-key). */
  cert: string
  key: string
  /** Verify the kubelet's serving certificate against this CA; without it, not verified (no --kubelet-certificate-authority). */
  ca?: string
  /** How long a short request (get) may wait for the kubelet (default 5 s); streams have no limit. */
  timeoutMs?: number
}

/** Talks to kubelets over HTTPS as the apiserver's kubelet client. */
export class KubeletClient {
  readonly #o: KubeletClientOptions
  /** Short requests, on a few kept-alive connections per kubelet. */
  readonly #agent: Agent
  /** Streams (a followed log may stay open for hours): a connection each, never pooled. */
  readonly #streams: Agent

  constructor(o: KubeletClientOptions) {
    this.#o = o
    const tls = {
      cert: o.cert,
      key: o.key,
      ...(o.ca ? { ca: o.ca } : {}),
      rejectUnauthorized: o.ca !== undefined,
    }
    this.#agent = new Agent({ keepAlive: true, maxSockets: 4, ...tls })
    this.#streams = new Agent({ keepAlive: false, ...tls })
  }

  /** The body of a 200 answer to GET `url`; any other status is an error naming it. */
  get(url: string, signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          agent: this.#agent,
          headers: { Accept: 'text/plain' },
          timeout: this.#o.timeoutMs ?? 5000,
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', reject)
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8')
            if (res.statusCode === 200) resolve(body)
            else reject(new Error(`GET ${url}: ${res.statusCode ?? 0} ${body.slice(0, 200).trim()}`))
          })
        },
      )
      req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)))
      req.on('error', reject)
      req.end()
    })
  }

  /**
   * GET `url` as a stream: the kubelet's answer once its headers arrive, whatever its status,
   * with the body still to read. Aborting `signal` ends it (and the body) at any time.
   */
  stream(url: string, signal: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(url, { agent: this.#streams, headers: { Accept: '*/*' }, signal }, resolve)
      req.on('error', reject)
      req.end()
    })
  }

  close(): void {
    this.#agent.destroy()
    this.#streams.destroy()
  }
}
