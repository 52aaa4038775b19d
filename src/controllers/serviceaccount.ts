import type { Namespace, ServiceAccount } from '../api/generated/types/core-v1.ts'
import {
  builtin,
  isAlreadyExists,
  runWorkers,
  WorkQueue,
  type Lister,
  type Reconciler,
  type Requeue,
} from '../client/index.ts'
import type { Clock } from '../base/clock.ts'
import type { ControllerDefinition } from './controller.ts'

/** The account every namespace gets (Kubernetes' serviceaccounts-controller). */
export const defaultServiceAccountName = 'default'

export interface ServiceAccountControllerOptions {
  namespaces: Lister<Namespace>
  serviceAccounts: Lister<ServiceAccount>
  create(sa: ServiceAccount): Promise<unknown>
  clock: Clock
}

/**
 * Makes sure every namespace has a `default` ServiceAccount: when a namespace appears, and
 * again when someone deletes the account. Namespaces being deleted are left alone.
 */
export class ServiceAccountController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: ServiceAccountControllerOptions

  constructor(o: ServiceAccountControllerOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  async reconcile(namespace: string): Promise<Requeue | undefined> {
    const ns = this.#o.namespaces.get('', namespace)
    if (!ns || ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating') return undefined
    if (this.#o.serviceAccounts.get(namespace, defaultServiceAccountName)) return undefined
    try {
      await this.#o.create({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: defaultServiceAccountName, namespace },
      })
    } catch (err) {
      if (!isAlreadyExists(err)) throw err
    }
    return undefined
  }
}

export const serviceAccountController: ControllerDefinition = {
  name: 'serviceaccount',
  eventSource: 'serviceaccount-controller',
  serviceAccount: 'service-account-controller',
  setup(ctx) {
    const namespaces = ctx.informers.informer<Namespace>(builtin('', 'v1', 'namespaces'))
    const accounts = ctx.informers.informer<ServiceAccount>(builtin('', 'v1', 'serviceaccounts'))
    const sas = ctx.client<ServiceAccount>(accounts.resource)
    const controller = new ServiceAccountController({
      namespaces: namespaces.lister,
      serviceAccounts: accounts.lister,
      create: (sa) => sas.create(sa),
      clock: ctx.clock,
    })
    const enqueue = (ns: Readonly<Namespace>) => controller.queue.add(ns.metadata?.name ?? '')
    namespaces.addHandler({ add: enqueue, update: (_old, ns) => enqueue(ns) })
    accounts.addHandler({
      delete: (sa) => {
        if (sa.metadata?.name === defaultServiceAccountName) controller.queue.add(sa.metadata.namespace ?? '')
      },
    })
    return (signal) => runWorkers(controller.queue, controller, { workers: 1, signal, log: ctx.log })
  },
}
