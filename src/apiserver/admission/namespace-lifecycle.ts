import type { Namespace } from '../../api/generated/types/core-v1.ts'
import { ApiError, forbidden, notFound } from '../errors.ts'
import type { RegistryStore } from '../registry/store.ts'
import type { AdmissionPlugin } from './admission.ts'

/** Namespaces that may never be deleted. */
const immortal = new Set(['default', 'kube-system', 'kube-public'])

/**
 * NamespaceLifecycle, as the Kubernetes admission plugin of that name: nothing is created in a
 * namespace that does not exist or is being deleted, and the system namespaces cannot be deleted.
 */
export function namespaceLifecycle(namespaces: () => RegistryStore | undefined): AdmissionPlugin {
  return {
    name: 'NamespaceLifecycle',
    handles: (a) => a.operation === 'CREATE' || a.operation === 'DELETE',
    async validate(a) {
      if (a.operation === 'DELETE') {
        if (a.resource === 'namespaces' && a.group === '' && immortal.has(a.name)) {
          throw forbidden({ group: '', resource: 'namespaces' }, a.name, 'this namespace may not be deleted')
        }
        return
      }
      if (a.namespace === '' || (a.group === '' && a.resource === 'namespaces')) return
      const store = namespaces()
      if (!store) return
      let ns: Namespace
      try {
        ns = (await store.get('', a.namespace, '0')).object
      } catch (err) {
        if (err instanceof ApiError && err.code === 404)
          throw notFound({ group: '', resource: 'namespaces' }, a.namespace)
        throw err
      }
      if (ns.status?.phase === 'Terminating' || ns.metadata?.deletionTimestamp) {
        const err = forbidden(
          { group: a.group, resource: a.resource },
          a.name,
          `unable to create new content in namespace ${a.namespace} because it is being terminated`,
        )
        err.status.details = {
          ...err.status.details,
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${a.namespace} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        }
        throw err
      }
    },
  }
}
