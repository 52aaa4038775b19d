import {
  bootstrapTokenExpiry,
  bootstrapTokenNamespace,
  bootstrapTokenSecretType,
} from '../api/bootstrap-token.ts'
import type { Secret } from '../api/generated/types/core-v1.ts'
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
import type { ControllerDefinition } from './controller.ts'

export interface TokenCleanerOptions {
  secrets: Lister<Secret>
  /** Deletes the Secret if it still has this UID. */
  deleteSecret(namespace: string, name: string, uid: string): Promise<void>
  clock: Clock
}

/**
 * The token cleaner (kube-controller-manager's tokencleaner): a bootstrap token Secret in
 * kube-system is deleted once its expiration has passed (or cannot be read), and looked at again
 * when it will have.
 */
export class TokenCleaner implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: TokenCleanerOptions

  constructor(o: TokenCleanerOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  /** Whether the cleaner looks after this Secret. */
  interesting(secret: Readonly<Secret>): boolean {
    return secret.type === bootstrapTokenSecretType && secret.metadata?.namespace === bootstrapTokenNamespace
  }

  async reconcile(key: string): Promise<Requeue | undefined> {
    const [namespace = '', name = ''] = key.split('/')
    const secret = this.#o.secrets.get(namespace, name)
    if (!secret || !this.interesting(secret)) return undefined
    const expiry = bootstrapTokenExpiry(secret)
    if (expiry === undefined) return undefined
    const left = expiry - this.#o.clock.now()
    if (Number.isNaN(expiry) || left < 0) {
      await this.#o.deleteSecret(namespace, name, secret.metadata?.uid ?? '')
      return undefined
    }
    return { afterMs: left + 1 }
  }
}

export const tokenCleanerController: ControllerDefinition = {
  name: 'tokencleaner',
  eventSource: 'tokencleaner',
  serviceAccount: 'token-cleaner',
  disabledByDefault: true,
  setup(ctx) {
    const secrets = ctx.informers.informer<Secret>(builtin('', 'v1', 'secrets'))
    const client = ctx.client<Secret>(secrets.resource)
    const cleaner = new TokenCleaner({
      secrets: secrets.lister,
      deleteSecret: async (ns, name, uid) => {
        try {
          await client.delete(ns, name, uid !== '' ? { preconditions: { uid } } : {})
        } catch (err) {
          if (!isNotFound(err) && !isConflict(err)) throw err
        }
      },
      clock: ctx.clock,
    })
    const enqueue = (s: Readonly<Secret>) => {
      if (cleaner.interesting(s))
        cleaner.queue.add(`${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`)
    }
    secrets.addHandler({ add: enqueue, update: (_old, s) => enqueue(s) })
    return (signal) => runWorkers(cleaner.queue, cleaner, { workers: 1, signal, log: ctx.log })
  },
}
