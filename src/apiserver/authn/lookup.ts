import type { Secret } from '../../api/generated/types/core-v1.ts'
import type { StoredObject } from '../../api/object.ts'
import type { Logger } from 'pino'
import { apiserverUser } from '../bootstrap.ts'
import type { EndpointRegistry } from '../endpoint.ts'
import { ApiError } from '../errors.ts'
import { lastUsedLabel, type LookupResource, type ObjectLookup } from './service-account.ts'

/**
 * The objects token validators read, from the apiserver's own registry: its watch caches when
 * they are current (no promise, no store read), else a consistent read.
 */
export function registryLookup(endpoints: () => EndpointRegistry): ObjectLookup {
  const store = (resource: LookupResource) => endpoints().lookup('', 'v1', resource)?.store
  return {
    peek(resource, namespace, name) {
      const cached = store(resource)?.peek(namespace, name)
      return cached === undefined ? undefined : (cached?.object ?? null)
    },
    async get(resource, namespace, name) {
      const s = store(resource)
      if (!s) return undefined
      try {
        return (await s.get(namespace, name)).object
      } catch (err) {
        if (err instanceof ApiError && err.code === 404) return undefined
        throw err
      }
    },
  }
}

/**
 * Stamps a legacy token's Secret with the day it was used (kubernetes.io/legacy-token-last-used),
 * as the apiserver itself, in the background: the request does not wait, and a failure is only
 * logged.
 */
export function legacyTokenStamper(
  endpoints: () => EndpointRegistry,
  log: Logger,
): (secret: Readonly<Secret & StoredObject>, day: string) => void {
  return (secret, day) => {
    const store = endpoints().lookup('', 'v1', 'secrets')?.store
    if (!store) return
    const namespace = secret.metadata.namespace ?? ''
    const name = secret.metadata.name ?? ''
    store
      .update(
        namespace,
        name,
        (current) => {
          if (!current || current.metadata.uid !== secret.metadata.uid) {
            throw new ApiError({
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Failure',
              code: 409,
            })
          }
          const next = structuredClone(current) as StoredObject
          next.metadata.labels = { ...next.metadata.labels, [lastUsedLabel]: day }
          return next
        },
        { user: apiserverUser },
      )
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.code === 409) return
        log.warn(
          { err, namespace, name },
          'cannot label a legacy service account token with its last-used date',
        )
      })
  }
}
