import type { TokenRequest } from '../api/generated/types/authentication-v1.ts'
import type { ServiceAccount } from '../api/generated/types/core-v1.ts'
import { realClock, type Clock } from '../base/clock.ts'
import { createLogger, type Logger } from '../base/log.ts'
import {
  ApiStatusError,
  builtin,
  isAlreadyExists,
  isNotFound,
  ResourceClient,
  RestClient,
  type ClientConfig,
  type Query,
  type RequestOptions,
  type WatchEvent,
} from '../client/index.ts'
import { serviceAccountUsername } from '../pki/index.ts'

/**
 * kube-controller-manager's --use-service-account-credentials (upstream's dynamic client builder):
 * each controller reaches the apiserver as its own ServiceAccount in kube-system, bound by the
 * default policy to its ClusterRole system:controller:<name>, instead of as the controller-manager.
 *
 * The controller-manager's own identity (system:kube-controller-manager) only makes the service
 * accounts and asks for their tokens (serviceaccounts/token, TokenRequest). A token lives an hour
 * and is replaced once 80% of its life is gone; a 401 drops it, so the next request gets another
 * (the account may have been deleted and made again). As upstream makes each controller's account
 * when the controller starts, a client gets its account and first token as soon as it is made.
 */
export interface ServiceAccountClientsOptions {
  /** The controller-manager's own client: makes the service accounts and requests their tokens. */
  root: RestClient
  /** Where the apiserver is and how to trust it; the credentials in it are not used. */
  config: ClientConfig
  /** Where the controllers' service accounts live (default kube-system). */
  namespace?: string
  /** Lifetime asked for each token (default 3600 s, as upstream). */
  expirationSeconds?: number
  /** Share of a token's life left when it is replaced (default 20%, as upstream). */
  leewayPercent?: number
  clock?: Clock
  log?: Logger
}

type ClientsOptions = Required<Omit<ServiceAccountClientsOptions, 'log'>> & { log: Logger }

/** Upstream's shortest lifetime of a token; a shorter one (clock skew) is taken as this. */
const minTokenLifetimeMs = 10 * 60_000
/** Attempts at getting a token before a request fails: waits of 0.5, 1 and 2 s between them. */
const tokenAttempts = 4

/** One client per service account name, made on first use and kept until close(). */
export class ServiceAccountClients {
  readonly #o: ClientsOptions
  readonly #clients = new Map<string, ServiceAccountRestClient>()
  /** Aborted by close(): stops waits between attempts at getting a token. */
  readonly #closing = new AbortController()

  constructor(o: ServiceAccountClientsOptions) {
    this.#o = {
      namespace: 'kube-system',
      expirationSeconds: 3600,
      leewayPercent: 20,
      clock: realClock,
      ...o,
      log: o.log ?? createLogger(),
    }
  }

  /** The client of service account `name` (in the namespace of the options). */
  client(name: string): RestClient {
    let c = this.#clients.get(name)
    if (!c) {
      c = new ServiceAccountRestClient(this.#o, name, this.#closing.signal)
      this.#clients.set(name, c)
      // Failures are logged by the client; its first request tries again.
      c.prepare().catch(() => undefined)
    }
    return c
  }

  async close(): Promise<void> {
    this.#closing.abort(new Error('the controller-manager is stopping'))
    await Promise.all([...this.#clients.values()].map((c) => c.close()))
    this.#clients.clear()
  }
}

interface Current {
  rest: RestClient
  /** When the token is to be replaced (ms since the epoch, by the clock of the options). */
  refreshAt: number
}

/**
 * A RestClient that sends a service account's token, replaced as it ages. A RestClient's
 * credentials are fixed when it is made, so each token gets a RestClient of its own, to which this
 * one hands every request and watch; the one before is closed at the next replacement (so requests
 * and watches started with it finish undisturbed). The connections of this one itself stay unused.
 */
class ServiceAccountRestClient extends RestClient {
  readonly #o: ClientsOptions
  readonly #name: string
  readonly #closing: AbortSignal
  readonly #config: ClientConfig
  #current: Current | undefined
  #previous: RestClient | undefined
  #fetching: Promise<Current> | undefined

  constructor(o: ClientsOptions, name: string, closing: AbortSignal) {
    const user = serviceAccountUsername(o.namespace, name)
    // The root's address and trust, none of its credentials; the user agent names the account, as
    // upstream's does (the field manager, its first word, stays the controller-manager's).
    const { cert: _cert, key: _key, token: _token, ...anonymous } = o.config
    const config: ClientConfig = {
      ...anonymous,
      userAgent: `${o.config.userAgent ?? 'k8ts'}/${user}`,
    }
    super(config, { clock: o.clock })
    this.#o = o
    this.#name = name
    this.#closing = closing
    this.#config = config
  }

  /** Makes the account and gets its first token. */
  async prepare(): Promise<void> {
    await this.#ensure()
  }

  protected override async exchange(
    method: string,
    path: string,
    o: RequestOptions,
    decode: boolean,
  ): Promise<unknown> {
    const current = await this.#ensure()
    try {
      return decode ? await current.rest.request(method, path, o) : await current.rest.send(method, path, o)
    } catch (err) {
      this.#dropOn401(err, current)
      throw err
    }
  }

  override async *watch<T>(path: string, query: Query, signal?: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const current = await this.#ensure()
    try {
      yield* current.rest.watch<T>(path, query, signal)
    } catch (err) {
      this.#dropOn401(err, current)
      throw err
    }
  }

  override async close(): Promise<void> {
    const clients = [this.#current?.rest, this.#previous]
    this.#current = undefined
    this.#previous = undefined
    await Promise.all([super.close(), ...clients.map((c) => c?.close())])
  }

  /** A rejected token (expired, or its account deleted): the next request gets a new one. */
  #dropOn401(err: unknown, used: Current): void {
    if (!(err instanceof ApiStatusError) || err.code !== 401 || this.#current !== used) return
    this.#o.log.info({ serviceAccount: this.#name }, 'token refused; getting another')
    this.#current = { ...used, refreshAt: 0 }
  }

  async #ensure(): Promise<Current> {
    const current = this.#current
    if (current && this.#o.clock.now() < current.refreshAt) return current
    this.#fetching ??= this.#fetch().finally(() => (this.#fetching = undefined))
    return this.#fetching
  }

  async #fetch(): Promise<Current> {
    const { clock, log } = this.#o
    let lastError: unknown
    for (let attempt = 0; attempt < tokenAttempts; attempt++) {
      if (attempt > 0) await clock.sleep(500 * 2 ** (attempt - 1), this.#closing)
      try {
        const { token, expiresAt } = await this.#requestToken()
        // A client made after close() would never be closed.
        this.#closing.throwIfAborted()
        const lifetime = Math.max(expiresAt - clock.now(), minTokenLifetimeMs)
        const next: Current = {
          rest: new RestClient({ ...this.#config, token }, { clock }),
          refreshAt: clock.now() + lifetime - (lifetime * this.#o.leewayPercent) / 100,
        }
        // The client before the one replaced now has had a whole token's life to finish.
        const retired = this.#previous
        this.#previous = this.#current?.rest
        this.#current = next
        void retired?.close().catch(() => undefined)
        return next
      } catch (err) {
        lastError = err
        if (this.#closing.aborted) break
        log.info({ serviceAccount: this.#name, err }, 'cannot get a token for the service account')
      }
    }
    throw new Error(
      `failed to get token for ${this.#o.namespace}/${this.#name}: ${(lastError as Error).message}`,
      { cause: lastError },
    )
  }

  /** Makes the service account if it is missing, then asks for a token of it. */
  async #requestToken(): Promise<{ token: string; expiresAt: number }> {
    const { root, namespace, expirationSeconds } = this.#o
    const accounts = new ResourceClient<ServiceAccount>(root, builtin('', 'v1', 'serviceaccounts'))
    try {
      await accounts.get(namespace, this.#name)
    } catch (err) {
      if (!isNotFound(err)) throw err
      try {
        await accounts.create({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { namespace, name: this.#name },
        })
      } catch (err) {
        if (!isAlreadyExists(err)) throw err
      }
    }
    const answer = await accounts.subresource<TokenRequest>(
      'POST',
      { namespace, name: this.#name, subresource: 'token' },
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds },
        },
      },
    )
    const token = answer.status?.token ?? ''
    const expiresAt = Date.parse(answer.status?.expirationTimestamp ?? '')
    if (token === '' || Number.isNaN(expiresAt)) {
      throw new Error(`the TokenRequest for ${namespace}/${this.#name} came back without a token`)
    }
    return { token, expiresAt }
  }
}
