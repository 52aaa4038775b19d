import type { ClusterRole, PolicyRule } from '../api/generated/types/rbac-v1.ts'
import { deepEqual } from '../api/object.ts'
import { labelSelectorFromObject } from '../api/selectors/label-selector.ts'
import type { Clock } from '../base/clock.ts'
import {
  builtin,
  runWorkers,
  WorkQueue,
  type Lister,
  type Reconciler,
  type Requeue,
} from '../client/index.ts'
import type { ControllerDefinition } from './controller.ts'

/** The field manager of the rules it writes (server-side apply), as upstream names it. */
export const aggregationFieldManager = 'clusterrole-aggregation-controller'

export interface ClusterRoleAggregationOptions {
  clusterRoles: Lister<ClusterRole>
  /** Sets a ClusterRole's rules (server-side apply, forced, as the field manager above). */
  applyRules(name: string, rules: PolicyRule[]): Promise<void>
  clock: Clock
}

/**
 * The clusterrole-aggregation controller: a ClusterRole with an aggregationRule gets, as its
 * rules, the rules of every other ClusterRole one of its selectors matches: selector by
 * selector, matching roles by name, each rule once. This is how admin, edit and view gather
 * the rules labelled rbac.authorization.k8s.io/aggregate-to-{admin,edit,view}, and how a user's
 * own ClusterRole can add to them.
 *
 * Which roles feed which is not tracked: any ClusterRole change requeues every aggregated role
 * (there are few ClusterRoles), and a role whose rules are already right is left alone.
 */
export class ClusterRoleAggregationController implements Reconciler {
  readonly queue: WorkQueue
  readonly #o: ClusterRoleAggregationOptions

  constructor(o: ClusterRoleAggregationOptions) {
    this.#o = o
    this.queue = new WorkQueue({ clock: o.clock })
  }

  /** Every aggregated role, again. */
  enqueueAll(): void {
    for (const r of this.#o.clusterRoles.list()) {
      if (r.aggregationRule && r.metadata?.name) this.queue.add(r.metadata.name)
    }
  }

  async reconcile(name: string): Promise<Requeue | undefined> {
    const role = this.#o.clusterRoles.get('', name)
    if (!role?.aggregationRule) return undefined
    const rules = aggregatedRules(role, this.#o.clusterRoles.list())
    if (deepEqual(rules, role.rules ?? [])) return undefined
    await this.#o.applyRules(name, rules)
    return undefined
  }
}

/** The rules an aggregated role should have, given every ClusterRole. */
export function aggregatedRules(
  role: Readonly<ClusterRole>,
  all: readonly Readonly<ClusterRole>[],
): PolicyRule[] {
  const rules: PolicyRule[] = []
  const name = role.metadata?.name
  for (const s of role.aggregationRule?.clusterRoleSelectors ?? []) {
    const selector = labelSelectorFromObject(s)
    const matching = all
      .filter((r) => r.metadata?.name !== name && selector.matches(r.metadata?.labels ?? {}))
      .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1))
    for (const r of matching) {
      for (const rule of r.rules ?? []) {
        if (!rules.some((x) => sameRule(x, rule))) rules.push(structuredClone<PolicyRule>(rule))
      }
    }
  }
  return rules
}

/** Equal rules, an empty list and an absent one counting the same. */
function sameRule(a: Readonly<PolicyRule>, b: Readonly<PolicyRule>): boolean {
  const list = (x: readonly string[] | undefined) => x ?? []
  return (
    deepEqual(list(a.verbs), list(b.verbs)) &&
    deepEqual(list(a.apiGroups), list(b.apiGroups)) &&
    deepEqual(list(a.resources), list(b.resources)) &&
    deepEqual(list(a.resourceNames), list(b.resourceNames)) &&
    deepEqual(list(a.nonResourceURLs), list(b.nonResourceURLs))
  )
}

export const clusterRoleAggregationController: ControllerDefinition = {
  name: 'clusterrole-aggregation',
  eventSource: 'clusterrole-aggregation-controller',
  serviceAccount: 'clusterrole-aggregation-controller',
  setup(ctx) {
    const roles = ctx.informers.informer<ClusterRole>(
      builtin('rbac.authorization.k8s.io', 'v1', 'clusterroles'),
    )
    const client = ctx.client<ClusterRole>(roles.resource)
    const controller = new ClusterRoleAggregationController({
      clusterRoles: roles.lister,
      applyRules: async (name, rules) => {
        await client.patch(
          '',
          name,
          'apply',
          { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
          { fieldManager: aggregationFieldManager, force: true },
        )
      },
      clock: ctx.clock,
    })
    const enqueue = () => controller.enqueueAll()
    roles.addHandler({ add: enqueue, update: enqueue, delete: enqueue })
    return (signal) =>
      runWorkers(controller.queue, controller, {
        workers: 5,
        signal,
        log: ctx.log,
      })
  },
}
