import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { PriorityClass } from '../../api/generated/types/scheduling-v1.ts'
import { forbidden } from '../errors.ts'
import type { RegistryStore } from '../registry/store.ts'
import type { AdmissionAttributes, AdmissionPlugin } from './admission.ts'
import { clusterObjectIn } from './webhooks.ts'

/**
 * The classes every cluster has, made by the apiserver at start (kube-apiserver's post-start hook
 * scheduling/bootstrap-system-priority-classes). Their values lie above the 1,000,000,000 that
 * user-defined classes may reach, so nothing a user defines can preempt them.
 */
export const systemPriorityClasses: readonly Readonly<PriorityClass>[] = [
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-node-critical' },
    value: 2_000_001_000,
    description: 'Used for system critical pods that must not be moved from their current node.',
  },
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-cluster-critical' },
    value: 2_000_000_000,
    description:
      'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  },
]

/** A pod's priority when no class names it and none is the global default. */
const defaultPriority = 0

/** Where the plugin reads PriorityClasses (Kubernetes reads them from an informer's lister). */
export interface PriorityClassReader {
  get(name: string): Promise<Readonly<PriorityClass> | undefined>
  list(): Promise<readonly Readonly<PriorityClass>[]>
}

/** PriorityClasses from the apiserver's own store: its watch cache when that is current, else a consistent read. */
export function priorityClassesOf(store: () => RegistryStore | undefined): PriorityClassReader {
  const byName = clusterObjectIn(store)
  return {
    get: async (name) => await byName(name),
    async list() {
      const s = store()
      if (!s) return []
      const items = s.cache.isCurrent() ? s.cache.list() : (await s.list('', {})).items
      return items.map((c) => c.object as PriorityClass)
    },
  }
}

const pods = { group: '', resource: 'pods' }
const priorityClasses = { group: 'scheduling.k8s.io', resource: 'priorityclasses' }

/**
 * Priority, as the Kubernetes admission plugin of that name:
 * - a new pod gets spec.priority and spec.preemptionPolicy from the PriorityClass its
 *   spec.priorityClassName names, or from the global default class when it names none (whose name
 *   it then gets too), or priority 0 and PreemptLowerPriority when there is no default; a class
 *   that does not exist, or a priority or policy in the pod that differs from the class's, is
 *   refused with 403 Forbidden;
 * - an update that leaves them out keeps the pod's priority and preemption policy;
 * - at most one PriorityClass may be the global default.
 * Deleting the two system classes is refused too (kube-apiserver does that in its PriorityClass
 * storage; here it is one place with the rest of the PriorityClass rules).
 */
export function priorityPlugin(classes: PriorityClassReader): AdmissionPlugin {
  const defaultClass = async (): Promise<Readonly<PriorityClass> | undefined> => {
    // Should two defaults exist after all (two creates racing), the lower value wins, as upstream.
    let found: Readonly<PriorityClass> | undefined
    for (const pc of await classes.list()) {
      if (pc.globalDefault && (!found || (pc.value ?? 0) < (found.value ?? 0))) found = pc
    }
    return found
  }
  return {
    name: 'Priority',
    handles: (a) =>
      a.subresource === '' &&
      ((a.group === '' && a.resource === 'pods' && (a.operation === 'CREATE' || a.operation === 'UPDATE')) ||
        (a.group === 'scheduling.k8s.io' && a.resource === 'priorityclasses')),
    async admit(a) {
      if (a.resource !== 'pods' || !a.object) return
      const pod = a.object as Pod
      const spec = (pod.spec ??= { containers: [] })
      if (a.operation === 'UPDATE') {
        // Validation forbids changing them; an update that leaves them out means "unchanged".
        const old = (a.oldObject as Pod | undefined)?.spec
        if (spec.priority === undefined && old?.priority !== undefined) spec.priority = old.priority
        if (spec.preemptionPolicy === undefined && old?.preemptionPolicy !== undefined)
          spec.preemptionPolicy = old.preemptionPolicy
        return
      }
      let priority = defaultPriority
      let policy: string | undefined = 'PreemptLowerPriority'
      if (!spec.priorityClassName) {
        const pc = await defaultClass()
        if (pc) {
          spec.priorityClassName = pc.metadata?.name ?? ''
          priority = pc.value ?? defaultPriority
          policy = pc.preemptionPolicy
        }
      } else {
        const pc = await classes.get(spec.priorityClassName)
        if (!pc) refuse(a, `no PriorityClass with name ${spec.priorityClassName} was found`)
        priority = pc.value ?? defaultPriority
        policy = pc.preemptionPolicy
      }
      if (spec.priority !== undefined && spec.priority !== priority) {
        refuse(
          a,
          `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
        )
      }
      spec.priority = priority
      if (policy === undefined) return
      if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== policy) {
        refuse(
          a,
          `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
        )
      }
      spec.preemptionPolicy = policy
    },
    async validate(a) {
      if (a.resource !== 'priorityclasses') return
      if (a.operation === 'DELETE') {
        if (systemPriorityClasses.some((s) => s.metadata?.name === a.name))
          refuse(a, 'this is a system priority class and cannot be deleted')
        return
      }
      if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return
      const pc = a.object as PriorityClass | undefined
      if (!pc?.globalDefault) return
      const current = await defaultClass()
      if (!current) return
      if (a.operation === 'CREATE' || current.metadata?.name !== pc.metadata?.name) {
        refuse(
          a,
          `PriorityClass ${current.metadata?.name ?? ''} is already marked as default. Only one default can exist`,
        )
      }
    },
  }
}

/** 403 Forbidden naming the object, as admission.NewForbidden words it. */
function refuse(a: AdmissionAttributes, why: string): never {
  throw forbidden(a.resource === 'pods' ? pods : priorityClasses, a.name, why)
}
