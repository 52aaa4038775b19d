import type { ConfigMap, Namespace } from '../api/generated/types/core-v1.ts'
import type { Clock } from '../base/clock.ts'
import {
  ApiStatusError,
  builtin,
  isAlreadyExists,
  isNotFound,
  runWorkers,
  WorkQueue,
  type Lister,
  type Reconciler,
  type Requeue,
} from '../client/index.ts'
import type { ControllerDefinition } from './controller.ts'

/** The ConfigMap every namespace gets, and its one key. */
export const rootCAConfigMapName = 'kube-root-ca.crt'
export const rootCAConfigMapKey = 'ca.crt'
export const descriptionAnnotation = 'kubernetes.io/description'
export const rootCADescription =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.'

export interface RootCAPublisherOptions {
  configMaps: Lister<ConfigMap>
  /** Creates or replaces the namespace's kube-root-ca.crt. */
  create(cm: ConfigMap): Promise<unknown>
  update(cm: ConfigMap): Promise<unknown>
  /** The CA bundle (PEM) that verifies the apiserver. */
  rootCA: string
  clock: Clock
}

/**
 * root-ca-cert-publisher (kube-controller-manager): every namespace has a ConfigMap
 * kube-root-ca.crt holding the CA that verifies the apiserver (ca.crt), which the
 * kube-api-access volume of every pod projects. A changed or deleted one is put back.
 */
export class RootCAPublisher implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: RootCAPublisherOptions

  constructor(o: RootCAPublisherOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  async reconcile(namespace: string): Promise<Requeue | undefined> {
    const cm = this.#o.configMaps.get(namespace, rootCAConfigMapName)
    const data = { [rootCAConfigMapKey]: this.#o.rootCA }
    if (!cm) {
      try {
        await this.#o.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: rootCAConfigMapName,
            namespace,
            annotations: { [descriptionAnnotation]: rootCADescription },
          },
          data,
        })
      } catch (err) {
        // A namespace that is gone or going gets none; one made meanwhile comes back as an event.
        if (isNotFound(err) || isAlreadyExists(err) || isNamespaceTerminating(err)) return undefined
        throw err
      }
      return undefined
    }
    const sameData =
      Object.keys(cm.data ?? {}).length === 1 &&
      cm.data?.[rootCAConfigMapKey] === this.#o.rootCA &&
      !cm.binaryData
    if (sameData && cm.metadata?.annotations?.[descriptionAnnotation]) return undefined
    const next = structuredClone(cm) as ConfigMap
    next.data = data
    delete next.binaryData
    next.metadata = {
      ...next.metadata,
      annotations: { ...next.metadata?.annotations, [descriptionAnnotation]: rootCADescription },
    }
    await this.#o.update(next)
    return undefined
  }
}

function isNamespaceTerminating(err: unknown): boolean {
  return (
    err instanceof ApiStatusError &&
    (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating')
  )
}

export function rootCACertPublisher(o: { rootCA?: string }): ControllerDefinition {
  return {
    name: 'root-ca-cert-publisher',
    eventSource: 'root-ca-cert-publisher',
    serviceAccount: 'root-ca-cert-publisher',
    setup(ctx) {
      if (!o.rootCA) {
        ctx.log.warn('no root CA (--root-ca-file, or the kubeconfig CA): kube-root-ca.crt is not published')
        return async () => undefined
      }
      const namespaces = ctx.informers.informer<Namespace>(builtin('', 'v1', 'namespaces'))
      const configMaps = ctx.informers.informer<ConfigMap>(builtin('', 'v1', 'configmaps'))
      const client = ctx.client<ConfigMap>(configMaps.resource)
      const publisher = new RootCAPublisher({
        configMaps: configMaps.lister,
        create: (cm) => client.create(cm),
        update: (cm) => client.update(cm),
        rootCA: o.rootCA,
        clock: ctx.clock,
      })
      namespaces.addHandler({
        add: (ns) => publisher.queue.add(ns.metadata?.name ?? ''),
        update: (_old, ns) => {
          if (ns.status?.phase === 'Active') publisher.queue.add(ns.metadata?.name ?? '')
        },
      })
      const onConfigMap = (cm: Readonly<ConfigMap>) => {
        if (cm.metadata?.name === rootCAConfigMapName) publisher.queue.add(cm.metadata.namespace ?? '')
      }
      configMaps.addHandler({ update: (_old, cm) => onConfigMap(cm), delete: onConfigMap })
      return (signal) =>
        runWorkers(publisher.queue, publisher, {
          workers: 1,
          signal,
          log: ctx.log,
        })
    },
  }
}
