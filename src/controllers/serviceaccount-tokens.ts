import type { Secret, ServiceAccount } from '../api/generated/types/core-v1.ts'
import type { Clock } from '../base/clock.ts'
import {
  builtin,
  isConflict,
  isNotFound,
  runWorkers,
  WorkQueue,
  type Lister,
  type Reconciler,
  type Requeue,
} from '../client/index.ts'
import { legacyTokenClaims, legacyTokenIssuer, signingKeyFromPem, TokenGenerator } from '../pki/index.ts'
import type { ControllerDefinition } from './controller.ts'

/** The Secret type whose token the controller fills in, and its annotations and keys. */
export const serviceAccountTokenSecretType = 'kubernetes.io/service-account-token'
export const serviceAccountNameAnnotation = 'kubernetes.io/service-account.name'
export const serviceAccountUIDAnnotation = 'kubernetes.io/service-account.uid'
export const tokenKey = 'token'
export const rootCAKey = 'ca.crt'
export const namespaceKey = 'namespace'

/** The writes of the tokens controller: the apiserver in production, a recording fake in tests. */
export interface TokensControl {
  getSecret(namespace: string, name: string): Promise<Secret | undefined>
  updateSecret(secret: Secret): Promise<void>
  /** Deletes the Secret if it still has this UID (a precondition). */
  deleteSecret(namespace: string, name: string, uid: string): Promise<void>
  getServiceAccount(namespace: string, name: string): Promise<ServiceAccount | undefined>
  updateServiceAccount(sa: ServiceAccount): Promise<void>
}

export interface TokensControllerOptions {
  serviceAccounts: Lister<ServiceAccount>
  secrets: Lister<Secret>
  control: TokensControl
  /** Signs legacy tokens (issuer kubernetes/serviceaccount). */
  generator: TokenGenerator
  /** The cluster CA (PEM) every token Secret carries as ca.crt; none when empty. */
  rootCA: string
  clock: Clock
}

/** What a Secret event says about the Secret, kept in the key: enough to clean up after it is gone. */
interface SecretKey {
  namespace: string
  name: string
  uid: string
  serviceAccountName: string
  serviceAccountUID: string
}

/**
 * The tokens controller of kube-controller-manager (serviceaccount-token): keeps the Secrets of
 * type kubernetes.io/service-account-token in step with their service accounts.
 *
 * - A token Secret (it names its account in the kubernetes.io/service-account.name annotation)
 *   gets the account's UID annotation and, where missing, its data: a signed legacy token, the
 *   cluster CA (ca.crt, replaced when it differs) and the namespace.
 * - A token Secret whose account does not exist (or has another UID) is deleted.
 * - When an account goes, so do its token Secrets; when a token Secret goes, the account stops
 *   listing it in .secrets.
 *
 * Two queues, as upstream: accounts by namespace/name/uid, Secrets by what their events said.
 */
export class TokensController {
  readonly serviceAccountQueue: WorkQueue
  readonly secretQueue: WorkQueue
  readonly #o: TokensControllerOptions

  constructor(o: TokensControllerOptions) {
    this.#o = o
    this.serviceAccountQueue = new WorkQueue({ clock: o.clock })
    this.secretQueue = new WorkQueue({ clock: o.clock })
  }

  enqueueServiceAccount(sa: Readonly<ServiceAccount>): void {
    const m = sa.metadata ?? {}
    this.serviceAccountQueue.add(JSON.stringify([m.namespace ?? '', m.name ?? '', m.uid ?? '']))
  }

  enqueueSecret(secret: Readonly<Secret>): void {
    if (secret.type !== serviceAccountTokenSecretType) return
    const m = secret.metadata ?? {}
    const key: SecretKey = {
      namespace: m.namespace ?? '',
      name: m.name ?? '',
      uid: m.uid ?? '',
      serviceAccountName: m.annotations?.[serviceAccountNameAnnotation] ?? '',
      serviceAccountUID: m.annotations?.[serviceAccountUIDAnnotation] ?? '',
    }
    if (key.serviceAccountName === '') return
    this.secretQueue.add(JSON.stringify(key))
  }

  /** Reconciles an account key: when the account is gone, its token Secrets go too. */
  readonly serviceAccounts: Reconciler = {
    reconcile: async (raw) => {
      const [namespace = '', name = '', uid = ''] = JSON.parse(raw) as string[]
      if (this.#cachedServiceAccount(namespace, name, uid)) return undefined
      for (const s of this.#o.secrets.list(namespace)) {
        if (!isTokenFor(s, name, uid)) continue
        await this.#o.control.deleteSecret(namespace, s.metadata?.name ?? '', s.metadata?.uid ?? '')
      }
      return undefined
    },
  }

  /** Reconciles a Secret key. */
  readonly tokenSecrets: Reconciler = {
    reconcile: async (raw): Promise<Requeue | undefined> => {
      const key = JSON.parse(raw) as SecretKey
      const { namespace, name, uid, serviceAccountName, serviceAccountUID } = key
      const cached = this.#o.secrets.get(namespace, name)
      const secret = cached && (uid === '' || cached.metadata?.uid === uid) ? cached : undefined
      if (!secret) {
        // Gone: the account no longer lists it.
        if (this.#cachedServiceAccount(namespace, serviceAccountName, serviceAccountUID))
          await this.#removeSecretReference(namespace, serviceAccountName, serviceAccountUID, name)
        return undefined
      }
      const sa = await this.#serviceAccount(namespace, serviceAccountName, serviceAccountUID)
      if (!sa) {
        await this.#o.control.deleteSecret(namespace, name, uid)
        return undefined
      }
      await this.#fillIn(sa, secret)
      return undefined
    },
  }

  #cachedServiceAccount(namespace: string, name: string, uid: string): Readonly<ServiceAccount> | undefined {
    const sa = this.#o.serviceAccounts.get(namespace, name)
    return sa && (uid === '' || sa.metadata?.uid === uid) ? sa : undefined
  }

  /** The account from the cache, or else from the apiserver (the cache may trail a new one). */
  async #serviceAccount(namespace: string, name: string, uid: string): Promise<ServiceAccount | undefined> {
    const cached = this.#cachedServiceAccount(namespace, name, uid)
    if (cached) return cached
    const live = await this.#o.control.getServiceAccount(namespace, name)
    return live && (uid === '' || live.metadata?.uid === uid) ? live : undefined
  }

  /** What the Secret lacks: the CA (when it differs), the namespace, the token. */
  #needs(secret: Readonly<Secret>): { ca: boolean; namespace: boolean; token: boolean } {
    const data = secret.data ?? {}
    const ca = this.#o.rootCA !== '' && decode(data[rootCAKey]) !== this.#o.rootCA
    return { ca, namespace: !data[namespaceKey], token: !data[tokenKey] }
  }

  async #fillIn(sa: Readonly<ServiceAccount>, cached: Readonly<Secret>): Promise<void> {
    const first = this.#needs(cached)
    if (!first.ca && !first.namespace && !first.token) return
    // Work on a fresh copy: the cache's may trail, and a write based on it would be refused anyway.
    const live = await this.#o.control.getSecret(
      cached.metadata?.namespace ?? '',
      cached.metadata?.name ?? '',
    )
    if (!live || live.metadata?.resourceVersion !== cached.metadata?.resourceVersion) return
    const needs = this.#needs(live)
    if (!needs.ca && !needs.namespace && !needs.token) return
    const data = (live.data ??= {})
    if (needs.ca) data[rootCAKey] = encode(this.#o.rootCA)
    if (needs.namespace) data[namespaceKey] = encode(live.metadata?.namespace ?? '')
    if (needs.token) {
      const token = await this.#o.generator.generate(
        legacyTokenClaims(
          {
            namespace: sa.metadata?.namespace ?? '',
            name: sa.metadata?.name ?? '',
            uid: sa.metadata?.uid ?? '',
          },
          live.metadata?.name ?? '',
        ),
      )
      data[tokenKey] = encode(token)
    }
    const meta = (live.metadata ??= {})
    meta.annotations = {
      ...meta.annotations,
      [serviceAccountNameAnnotation]: sa.metadata?.name ?? '',
      [serviceAccountUIDAnnotation]: sa.metadata?.uid ?? '',
    }
    try {
      await this.#o.control.updateSecret(live)
    } catch (err) {
      // Changed or gone meanwhile: the event of that change brings the Secret back here.
      if (isConflict(err) || isNotFound(err)) return
      throw err
    }
  }

  async #removeSecretReference(
    namespace: string,
    name: string,
    uid: string,
    secretName: string,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const sa = await this.#o.control.getServiceAccount(namespace, name)
      if (!sa || (uid !== '' && sa.metadata?.uid !== uid)) return
      if (!(sa.secrets ?? []).some((r) => r.name === secretName)) return
      sa.secrets = (sa.secrets ?? []).filter((r) => r.name !== secretName)
      try {
        await this.#o.control.updateServiceAccount(sa)
        return
      } catch (err) {
        if (isNotFound(err)) return
        if (!isConflict(err) || attempt >= 9) throw err
      }
    }
  }
}

/** Whether the Secret is a token of this account (its UID annotation, when set, must agree). */
export function isTokenFor(secret: Readonly<Secret>, name: string, uid: string): boolean {
  if (secret.type !== serviceAccountTokenSecretType) return false
  const ann = secret.metadata?.annotations ?? {}
  if (ann[serviceAccountNameAnnotation] !== name) return false
  const annUID = ann[serviceAccountUIDAnnotation] ?? ''
  return annUID === '' || annUID === uid
}

function encode(s: string): string {
  return Buffer.from(s).toString('base64')
}

function decode(b64: string | undefined): string {
  return b64 === undefined ? '' : Buffer.from(b64, 'base64').toString('utf8')
}

/** kube-controller-manager's serviceaccount-token controller; runs only with a signing key. */
export function serviceAccountTokensController(o: {
  /** --service-account-private-key-file, read. */
  privateKey?: string
  /** --root-ca-file, read. */
  rootCA?: string
}): ControllerDefinition {
  return {
    name: 'serviceaccount-token',
    eventSource: 'serviceaccount-token-controller',
    // No service account of its own: it runs as the controller-manager, as upstream's does (it
    // writes the Secrets the other controllers' identities might come from).
    setup(ctx) {
      if (!o.privateKey) {
        ctx.log.warn('no --service-account-private-key-file: legacy service account token Secrets stay empty')
        return async () => undefined
      }
      const accounts = ctx.informers.informer<ServiceAccount>(builtin('', 'v1', 'serviceaccounts'))
      const secrets = ctx.informers.informer<Secret>(builtin('', 'v1', 'secrets'))
      const saClient = ctx.client<ServiceAccount>(accounts.resource)
      const secretClient = ctx.client<Secret>(secrets.resource)
      const orUndefined = async <T>(p: Promise<T>): Promise<T | undefined> => {
        try {
          return await p
        } catch (err) {
          if (isNotFound(err)) return undefined
          throw err
        }
      }
      const controller = new TokensController({
        serviceAccounts: accounts.lister,
        secrets: secrets.lister,
        generator: new TokenGenerator(legacyTokenIssuer, signingKeyFromPem(o.privateKey)),
        rootCA: o.rootCA ?? '',
        clock: ctx.clock,
        control: {
          getSecret: (ns, name) => orUndefined(secretClient.get(ns, name)),
          updateSecret: async (s) => void (await secretClient.update(s)),
          deleteSecret: async (ns, name, uid) => {
            try {
              await secretClient.delete(ns, name, uid !== '' ? { preconditions: { uid } } : {})
            } catch (err) {
              // Gone already, or replaced by another Secret of that name: nothing to do.
              if (!isNotFound(err) && !isConflict(err)) throw err
            }
          },
          getServiceAccount: (ns, name) => orUndefined(saClient.get(ns, name)),
          updateServiceAccount: async (sa) => void (await saClient.update(sa)),
        },
      })
      const onAccount = (sa: Readonly<ServiceAccount>) => controller.enqueueServiceAccount(sa)
      accounts.addHandler({ add: onAccount, update: (_old, sa) => onAccount(sa), delete: onAccount })
      const onSecret = (s: Readonly<Secret>) => controller.enqueueSecret(s)
      secrets.addHandler({ add: onSecret, update: (_old, s) => onSecret(s), delete: onSecret })
      return async (signal) => {
        await Promise.all([
          runWorkers(controller.serviceAccountQueue, controller.serviceAccounts, {
            workers: 1,
            signal,
            log: ctx.log.child({ queue: 'serviceaccounts' }),
          }),
          runWorkers(controller.secretQueue, controller.tokenSecrets, {
            workers: 1,
            signal,
            log: ctx.log.child({ queue: 'secrets' }),
          }),
        ])
      }
    },
  }
}
