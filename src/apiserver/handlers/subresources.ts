import type { Binding, Pod } from '../../api/generated/types/core-v1.ts'
import type { PodDisruptionBudget, Eviction } from '../../api/generated/types/policy-v1.ts'
import type { Condition, DeleteOptions } from '../../api/generated/types/meta-v1.ts'
import type { KubeObject, StoredObject } from '../../api/object.ts'
import type { AdmissionAttributes, AdmissionChain } from '../admission/admission.ts'
import type { UserInfo } from '../authn/authenticator.ts'
import { readBody, writeJson, type RequestContext } from '../context.ts'
import type { ResourceEndpoint, Subresource } from '../endpoint.ts'
import {
  ApiError,
  badRequest,
  conflict,
  forbidden,
  invalid,
  methodNotSupported,
  notFound,
  tooManyRequests,
} from '../errors.ts'
import type { RegistryStore } from '../registry/store.ts'
import type { ResourceStrategy } from '../registry/strategy.ts'
import { setPodCondition } from '../registry/resources/pods.ts'
import { rfc3339 } from '../registry/store.ts'
import type { ResourceRequestInfo } from '../request-info.ts'
import {
  checkedDryRun,
  readObject,
  type PatchType,
  type ResourceHandlerDeps,
  patchTypeOf,
} from './resources.ts'

function success(ctx: RequestContext, code = 201): void {
  writeJson(ctx, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code })
}

function verbOf(ctx: RequestContext): string {
  return (ctx.info as ResourceRequestInfo).verb
}

/**
 * Admission's view of a create of a pods subresource with an object of its own kind (pods/binding
 * takes a Binding, pods/eviction an Eviction), as kube-apiserver's handler admits it.
 */
function podSubresourceCreate(
  ctx: RequestContext,
  o: { subresource: string; kind: string; name: string; object: KubeObject; dryRun: boolean },
): AdmissionAttributes {
  return {
    operation: 'CREATE',
    group: '',
    version: 'v1',
    resource: 'pods',
    subresource: o.subresource,
    kind: o.kind,
    namespace: (ctx.info as ResourceRequestInfo).namespace,
    name: o.name,
    object: o.object,
    oldObject: undefined,
    dryRun: o.dryRun,
    user: ctx.user,
    warnings: ctx.warnings,
  }
}

/**
 * pods/binding: the scheduler's way to put a pod on a node. The pod gets spec.nodeName and a
 * PodScheduled=True condition; a pod that already has a node refuses with 409. Admission sees the
 * Binding, as a create of pods/binding (a mutating webhook may change its target), not the pod.
 */
export function bindingSubresource(
  deps: Pick<ResourceHandlerDeps, 'decodeProtobuf' | 'now'>,
  admission?: AdmissionChain,
): Subresource {
  return {
    group: '',
    version: 'v1',
    kind: 'Binding',
    verbs: ['create'],
    handle: async (ctx, ep) => {
      if (verbOf(ctx) !== 'create')
        throw methodNotSupported({ group: '', resource: 'pods/binding' }, verbOf(ctx))
      const info = ctx.info as ResourceRequestInfo
      const { obj } = await readObject(ctx, deps, { group: '', version: 'v1', kind: 'Binding' })
      const binding = obj as Binding & StoredObject
      // POST .../bindings names the pod in the body; .../pods/{name}/binding in the path.
      const podName = info.name !== '' ? info.name : (binding.metadata.name ?? '')
      const dryRun = checkedDryRun(ctx.query.getAll('dryRun')).length > 0
      const attrs = podSubresourceCreate(ctx, {
        subresource: 'binding',
        kind: 'Binding',
        name: podName,
        object: binding,
        dryRun,
      })
      await admission?.admit(attrs)
      const node = binding.target?.name ?? ''
      if (
        binding.target?.kind !== undefined &&
        binding.target.kind !== '' &&
        binding.target.kind !== 'Node'
      ) {
        throw invalid({ group: '', kind: 'Binding' }, podName, [
          {
            type: 'FieldValueNotSupported',
            field: 'target.kind',
            value: binding.target.kind,
            detail: 'supported values: "Node", ""',
          },
        ])
      }
      if (node === '') {
        throw invalid({ group: '', kind: 'Binding' }, podName, [
          { type: 'FieldValueRequired', field: 'target.name', detail: '' },
        ])
      }
      await admission?.validate(attrs)
      const store = storeOf(ep)
      await store.update(
        info.namespace,
        podName,
        (current) => {
          const pod: Readonly<Pod & StoredObject> | undefined = current
          if (!pod)
            throw new ApiError({
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Failure',
              message: `pods "${podName}" not found`,
              reason: 'NotFound',
              details: { name: podName, kind: 'pods' },
              code: 404,
            })
          if (binding.metadata.uid && binding.metadata.uid !== pod.metadata.uid) {
            throw conflict(
              { group: '', resource: 'pods' },
              podName,
              `Precondition failed: UID in precondition: ${binding.metadata.uid}, UID in object meta: ${pod.metadata.uid ?? ''}`,
            )
          }
          if (pod.metadata.deletionTimestamp)
            throw badRequest(`pod ${podName} is being deleted, cannot be assigned to a host`)
          if (pod.spec?.nodeName) {
            throw conflict(
              { group: '', resource: 'pods' },
              podName,
              `pod ${podName} is already assigned to node "${pod.spec.nodeName}"`,
            )
          }
          if ((pod.spec?.schedulingGates?.length ?? 0) > 0)
            throw badRequest(`pod ${podName} has non-empty .spec.schedulingGates`)
          // Copy on write: the current pod is the watch cache's, shared; what changes is replaced.
          const { nominatedNodeName: _moot, ...status } = pod.status ?? {}
          const bound: Pod & StoredObject = {
            ...pod,
            metadata: { ...pod.metadata },
            spec: { ...pod.spec, containers: pod.spec?.containers ?? [], nodeName: node },
            // A nomination is moot once the pod is bound (ClearingNominatedNodeNameAfterBinding,
            // on by default since Kubernetes 1.35).
            status: { ...status, conditions: [...(status.conditions ?? [])] },
          }
          // The binding carries the annotations the scheduler wants on the pod.
          const annotations = binding.metadata.annotations ?? {}
          if (Object.keys(annotations).length > 0)
            bound.metadata.annotations = { ...pod.metadata.annotations, ...annotations }
          setPodCondition(bound, { type: 'PodScheduled', status: 'True' }, rfc3339(deps.now()))
          return bound
        },
        {
          user: ctx.user,
          subresource: 'binding',
          strategy: serverWrite,
          dryRun,
          admitted: true,
          copyOnWrite: true,
          // Upstream binds through the storage itself: the pod's managedFields stay as they were.
          fieldsManaged: true,
        },
      )
      success(ctx)
    },
  }
}

/**
 * pods/eviction: a delete that respects PodDisruptionBudgets (upstream's eviction REST storage).
 *
 * - A pod that is pending, finished or already being deleted goes without asking any budget
 *   (a pending one only if it has not changed since it was read: its resourceVersion is made a
 *   precondition).
 * - Otherwise the budgets whose selectors match it are asked: more than one is a 500; with one,
 *   a ready pod takes one of its disruptionsAllowed, and its name and time go into
 *   disruptedPods (the disruption controller stops counting it healthy), in one write that is
 *   retried on conflicts. A budget with none left answers 429 TooManyRequests with the
 *   DisruptionBudget cause "needs n healthy pods and has m currently" (kubectl drain waits and
 *   tries again); one its controller has not seen since its last change answers 429 too.
 * - An unready pod costs the budget nothing when its policy is AlwaysAllow, or (IfHealthyBudget,
 *   the default) when the budget has its desired healthy pods; it is then deleted only at the
 *   resourceVersion read, so a pod that became ready meanwhile is refused with 429.
 * - The pod gets DisruptionTarget=True (EvictionByEvictionAPI), then the delete with the
 *   Eviction's deleteOptions. dryRun (in the deleteOptions or the request) writes nothing.
 * - The Eviction itself passes admission first, as a create of pods/eviction (NodeRestriction
 *   keeps a node to evicting its own pods; webhooks may watch pods/eviction).
 */
export function evictionSubresource(
  deps: Pick<ResourceHandlerDeps, 'decodeProtobuf' | 'labelSelector' | 'now'>,
  pdbs: () => RegistryStore | undefined,
  admission?: AdmissionChain,
): Subresource {
  return {
    group: 'policy',
    version: 'v1',
    kind: 'Eviction',
    verbs: ['create'],
    handle: async (ctx, ep) => {
      if (verbOf(ctx) !== 'create')
        throw methodNotSupported({ group: '', resource: 'pods/eviction' }, verbOf(ctx))
      const info = ctx.info as ResourceRequestInfo
      const { obj } = await readObject(ctx, deps, { group: 'policy', version: 'v1', kind: 'Eviction' })
      const eviction = obj as Eviction & StoredObject
      if (eviction.metadata.name && eviction.metadata.name !== info.name) {
        throw badRequest(`name in URL does not match name in Eviction object`)
      }
      const options = evictionDeleteOptions(eviction, ctx.query.getAll('dryRun'))
      const dryRun = (options.dryRun ?? []).length > 0
      if (admission) {
        const attrs = podSubresourceCreate(ctx, {
          subresource: 'eviction',
          kind: 'Eviction',
          name: info.name,
          object: eviction,
          dryRun,
        })
        await admission.admit(attrs)
        await admission.validate(attrs)
      }
      await new PodEviction({
        pods: storeOf(ep),
        pdbs: pdbs(),
        deps,
        user: ctx.user,
        namespace: info.namespace,
        name: info.name,
        options,
      }).run()
      success(ctx)
    },
  }
}

/** The DisruptionBudget cause of upstream's policy/v1 StatusCause. */
const DisruptionBudgetCause = 'DisruptionBudget'
/** Entries of disruptedPods beyond which a budget refuses evictions (upstream's MaxDisruptedPodSize). */
const maxDisruptedPods = 2000
/** How often a write that lost to another writer is tried again (upstream's EvictionsRetry steps). */
const evictionAttempts = 20

const violatesBudget = "Cannot evict pod as it would violate the pod's disruption budget."

/** The budget has changed since its controller last looked: 429, try again in 10 s. */
function budgetBeingProcessed(pdbName: string): ApiError {
  const err = tooManyRequests(violatesBudget, 10)
  err.status.details = {
    ...err.status.details,
    causes: [
      {
        reason: DisruptionBudgetCause,
        message: `The disruption budget ${pdbName} is still being processed by the server.`,
      },
    ],
  }
  return err
}

/**
 * The Eviction's deleteOptions with the request's dryRun (CreateOptions) when it names none;
 * different dryRun values in both are an error.
 */
function evictionDeleteOptions(
  eviction: Readonly<Eviction>,
  requestDryRun: readonly string[],
): DeleteOptions {
  checkedDryRun(requestDryRun)
  const options: DeleteOptions = structuredClone(eviction.deleteOptions ?? {})
  const own = options.dryRun ?? []
  if (own.length === 0) {
    if (requestDryRun.length > 0) options.dryRun = [...requestDryRun]
  } else if (requestDryRun.length > 0 && JSON.stringify(own) !== JSON.stringify(requestDryRun)) {
    throw badRequest(
      `Non-matching dry-run options in request and content: [${requestDryRun.join(' ')}] and [${own.join(' ')}]`,
    )
  }
  return options
}

function isConflictError(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409
}

interface PodEvictionOptions {
  pods: RegistryStore
  pdbs: RegistryStore | undefined
  deps: Pick<ResourceHandlerDeps, 'labelSelector' | 'now'>
  user: UserInfo
  namespace: string
  name: string
  /** The Eviction's deleteOptions, with the request's dryRun. */
  options: DeleteOptions
}

/** One eviction: the steps of evictionSubresource's contract, in order. */
class PodEviction {
  readonly #o: PodEvictionOptions

  constructor(o: PodEvictionOptions) {
    this.#o = o
  }

  get #dryRun(): boolean {
    return (this.#o.options.dryRun ?? []).length > 0
  }

  get #preconditionRV(): string | undefined {
    return this.#o.options.preconditions?.resourceVersion
  }

  async run(): Promise<void> {
    const { namespace, name } = this.#o
    // Pods that need no budget: deleted at once (retried while the pod changes under us, unless
    // the caller pinned a resourceVersion).
    let pod: Pod & StoredObject
    for (let attempt = 1; ; attempt++) {
      pod = (await this.#o.pods.get(namespace, name)).object
      if (!canIgnoreBudget(pod)) break
      const rv =
        enforcesResourceVersion(pod) && this.#preconditionRV === undefined
          ? pod.metadata.resourceVersion
          : undefined
      try {
        await this.#markAndDelete(rv)
        return
      } catch (err) {
        if (!isConflictError(err) || this.#preconditionRV !== undefined || attempt >= evictionAttempts)
          throw err
      }
    }

    const budgets = await this.#budgetsOf(pod)
    if (budgets.length > 1) {
      // As upstream: a Status with code 500 and no reason.
      throw new ApiError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
        code: 500,
      })
    }
    const budget = budgets[0]
    let pinned: string | undefined
    if (budget) {
      if (!isReady(pod) && unhealthyMayGo(budget)) {
        // Costs the budget nothing, but only if the pod is still unready when deleted.
        pinned = pod.metadata.resourceVersion
      } else {
        await this.#takeFromBudget(budget.metadata.name ?? '')
      }
    }
    try {
      await this.#markAndDelete(pinned)
    } catch (err) {
      if (isConflictError(err) && pinned !== undefined && this.#preconditionRV === undefined)
        throw budgetBeingProcessed(budget?.metadata.name ?? '')
      throw err
    }
  }

  /** The budgets of the pod's namespace whose selectors match it (no selector: none; empty: all). */
  async #budgetsOf(pod: Readonly<Pod & StoredObject>): Promise<(PodDisruptionBudget & StoredObject)[]> {
    const store = this.#o.pdbs
    if (!store) return []
    const labels = pod.metadata.labels ?? {}
    const all = (await store.list(this.#o.namespace, {})).items.map(
      (b) => b.object as PodDisruptionBudget & StoredObject,
    )
    return all.filter((b) => {
      const sel = b.spec?.selector
      if (!sel) return false
      try {
        return this.#o.deps.labelSelector(selectorString(sel))(labels)
      } catch {
        return false // a selector that does not parse matches nothing
      }
    })
  }

  /**
   * Verify-and-decrement on the budget, as one write retried on conflicts: refuses (429, 403)
   * when the budget allows no disruption; under dryRun only checks.
   */
  async #takeFromBudget(pdbName: string): Promise<void> {
    const store = this.#o.pdbs
    if (!store) return
    const now = rfc3339(this.#o.deps.now())
    const check = (current: Readonly<StoredObject> | undefined): PodDisruptionBudget & StoredObject => {
      if (!current) throw budgetBeingProcessed(pdbName)
      const b = structuredClone(current) as PodDisruptionBudget & StoredObject
      const st = (b.status ??= {})
      if ((st.observedGeneration ?? 0) < (b.metadata.generation ?? 0)) throw budgetBeingProcessed(pdbName)
      const allowed = st.disruptionsAllowed ?? 0
      if (allowed < 0)
        throw forbidden(
          { group: 'policy', resource: 'poddisruptionbudget' },
          pdbName,
          'pdb disruptions allowed is negative',
        )
      if (Object.keys(st.disruptedPods ?? {}).length > maxDisruptedPods) {
        throw forbidden(
          { group: 'policy', resource: 'poddisruptionbudget' },
          pdbName,
          'DisruptedPods map too big - too many evictions not confirmed by PDB controller',
        )
      }
      if (allowed === 0) {
        const err = tooManyRequests(violatesBudget, 0)
        err.status.details = {
          ...err.status.details,
          causes: [
            {
              reason: DisruptionBudgetCause,
              message: `The disruption budget ${pdbName} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`,
            },
          ],
        }
        throw err
      }
      st.disruptionsAllowed = allowed - 1
      if (st.disruptionsAllowed === 0) {
        st.conditions = setDisruptionAllowedFalse(st.conditions ?? [], st.observedGeneration ?? 0, now)
      }
      st.disruptedPods = { ...st.disruptedPods, [this.#o.name]: now }
      return b
    }
    if (this.#dryRun) {
      check((await store.get(this.#o.namespace, pdbName)).object)
      return
    }
    await store.update(this.#o.namespace, pdbName, check, {
      user: this.#o.user,
      subresource: 'status',
      strategy: serverWrite,
    })
  }

  /**
   * Adds DisruptionTarget=True to the pod (not under dryRun), then deletes it with the
   * Eviction's options; `resourceVersion`, when given, is a precondition of both.
   */
  async #markAndDelete(resourceVersion: string | undefined): Promise<void> {
    const { namespace, name, options } = this.#o
    const preconditions = {
      ...options.preconditions,
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    }
    if (!this.#dryRun) {
      const { object } = await this.#o.pods.update(
        namespace,
        name,
        (current) => {
          if (!current) throw notFound({ group: '', resource: 'pods' }, name)
          if (preconditions.uid && preconditions.uid !== current.metadata.uid) {
            throw conflict(
              { group: '', resource: 'Pod' },
              name,
              `the UID in the precondition (${preconditions.uid}) does not match the UID in record (${current.metadata.uid ?? ''}). The object might have been deleted and then recreated`,
            )
          }
          if (
            preconditions.resourceVersion &&
            preconditions.resourceVersion !== current.metadata.resourceVersion
          ) {
            throw conflict(
              { group: '', resource: 'Pod' },
              name,
              `the ResourceVersion in the precondition (${preconditions.resourceVersion}) does not match the ResourceVersion in record (${current.metadata.resourceVersion ?? ''}). The object might have been modified`,
            )
          }
          const pod = structuredClone(current) as Pod & StoredObject
          setPodCondition(
            pod,
            {
              type: 'DisruptionTarget',
              status: 'True',
              reason: 'EvictionByEvictionAPI',
              message: 'Eviction API: evicting',
            },
            rfc3339(this.#o.deps.now()),
          )
          return pod
        },
        { user: this.#o.user, subresource: 'status', strategy: serverWrite },
      )
      // Our own write moved the pod on: a pinned version follows it.
      if (preconditions.resourceVersion) preconditions.resourceVersion = object.metadata.resourceVersion ?? ''
    }
    await this.#o.pods.delete(namespace, name, {
      user: this.#o.user,
      ...(options.gracePeriodSeconds !== undefined && options.gracePeriodSeconds !== null
        ? { gracePeriodSeconds: options.gracePeriodSeconds }
        : {}),
      ...(options.propagationPolicy
        ? { propagationPolicy: options.propagationPolicy as 'Orphan' | 'Background' | 'Foreground' }
        : {}),
      ...(preconditions.uid || preconditions.resourceVersion ? { preconditions } : {}),
      dryRun: this.#dryRun,
    })
  }
}

/** Finished, pending or already being deleted: evicting it disrupts nothing more (upstream's canIgnorePDB). */
function canIgnoreBudget(pod: Readonly<Pod & StoredObject>): boolean {
  const phase = pod.status?.phase
  return (
    phase === 'Succeeded' ||
    phase === 'Failed' ||
    phase === 'Pending' ||
    Boolean(pod.metadata.deletionTimestamp)
  )
}

/** Whether a budget-free delete is pinned to the version read: not for finished or terminating pods. */
function enforcesResourceVersion(pod: Readonly<Pod & StoredObject>): boolean {
  const phase = pod.status?.phase
  return !(phase === 'Succeeded' || phase === 'Failed' || pod.metadata.deletionTimestamp)
}

function isReady(pod: Readonly<Pod>): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
}

/**
 * unhealthyPodEvictionPolicy: AlwaysAllow lets unready pods go; IfHealthyBudget (the default)
 * only while the budget has the healthy pods it wants.
 */
function unhealthyMayGo(b: Readonly<PodDisruptionBudget>): boolean {
  if (b.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow') return true
  const st = b.status ?? {}
  return (st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0
}

/** DisruptionAllowed False/InsufficientPods, as the eviction leaves a budget it used up. */
function setDisruptionAllowedFalse(
  conditions: readonly Condition[],
  observedGeneration: number,
  now: string,
): Condition[] {
  const old = conditions.find((c) => c.type === 'DisruptionAllowed')
  const next: Condition = {
    type: 'DisruptionAllowed',
    status: 'False',
    reason: 'InsufficientPods',
    message: '',
    observedGeneration,
    lastTransitionTime: old?.status === 'False' ? old.lastTransitionTime : now,
  }
  return old ? conditions.map((c) => (c === old ? next : c)) : [...conditions, next]
}

/**
 * `<workload>/scale`: the replica count of a Deployment, ReplicaSet, StatefulSet or
 * ReplicationController as an autoscaling/v1 Scale. Writes change spec.replicas only; a Scale's
 * resourceVersion is its workload's, so a stale one is a 409.
 */
export function scaleSubresource(
  deps: Pick<ResourceHandlerDeps, 'decodeProtobuf' | 'patch' | 'endpoints'>,
  selectorOf: (workload: StoredObject) => string,
): Subresource {
  const toScale = (w: Readonly<StoredObject>): StoredObject => {
    const spec = w.spec as { replicas?: number } | undefined
    const status = w.status as { replicas?: number } | undefined
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: w.metadata.name ?? '',
        ...(w.metadata.namespace ? { namespace: w.metadata.namespace } : {}),
        uid: w.metadata.uid ?? '',
        resourceVersion: w.metadata.resourceVersion ?? '',
        creationTimestamp: w.metadata.creationTimestamp ?? '',
      },
      spec: { replicas: spec?.replicas ?? 0 },
      status: { replicas: status?.replicas ?? 0, selector: selectorOf(w) },
    }
  }
  return {
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
    verbs: ['get', 'patch', 'update'],
    handle: async (ctx, ep) => {
      const info = ctx.info as ResourceRequestInfo
      const store = storeOf(ep)
      const verb = verbOf(ctx)
      if (verb === 'get') {
        writeJson(ctx, 200, toScale((await store.get(info.namespace, info.name)).object))
        return
      }
      let scaleOf: (current: Readonly<StoredObject>) => StoredObject
      if (verb === 'update') {
        const { obj } = await readObject(ctx, deps, { group: 'autoscaling', version: 'v1', kind: 'Scale' })
        scaleOf = () => obj
      } else if (verb === 'patch') {
        const type: PatchType = patchTypeOf(ctx.req.headers['content-type'])
        const raw = await readBody(ctx.req)
        const scaleEp = deps.endpoints.lookup('autoscaling', 'v1', 'horizontalpodautoscalers') ?? ep
        scaleOf = (current) =>
          deps.patch(scaleEp, type === 'apply' ? 'merge' : type, toScale(current), raw, {
            fieldManager: '',
            force: false,
            subresource: 'scale',
          })
      } else {
        throw methodNotSupported(
          { group: ep.definition.group, resource: `${ep.definition.resource}/scale` },
          verb,
        )
      }
      const { object } = await store.update(
        info.namespace,
        info.name,
        (current) => {
          if (!current)
            throw conflict(
              { group: ep.definition.group, resource: ep.definition.resource },
              info.name,
              'the object has been deleted',
            )
          const scale = scaleOf(current)
          const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas
          if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
            throw invalid({ group: 'autoscaling', kind: 'Scale' }, info.name, [
              {
                type: 'FieldValueInvalid',
                field: 'spec.replicas',
                value: replicas,
                detail: 'must be greater than or equal to 0',
              },
            ])
          }
          const next = structuredClone(current) as StoredObject
          const rv = scale.metadata.resourceVersion
          next.metadata.resourceVersion = rv && rv !== '' ? rv : current.metadata.resourceVersion
          next.spec = { ...(next.spec as object), replicas }
          return next
        },
        { user: ctx.user, subresource: 'scale', fieldManager: ctx.query.get('fieldManager') ?? '' },
      )
      writeJson(ctx, 200, toScale(object))
    },
  }
}

/** Writes the apiserver makes itself: stored as built, without the endpoint's user-facing rules. */
const serverWrite: ResourceStrategy = {}

function storeOf(ep: ResourceEndpoint): RegistryStore {
  if (!ep.store) throw new Error(`${ep.definition.resource} has no store`)
  return ep.store
}

/** A metav1.LabelSelector in the string syntax. */
export function selectorString(sel: {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: string; values?: string[] }[]
}): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`)
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',')
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${values})`)
        break
      case 'NotIn':
        parts.push(`${e.key} notin (${values})`)
        break
      case 'Exists':
        parts.push(e.key)
        break
      case 'DoesNotExist':
        parts.push(`!${e.key}`)
        break
    }
  }
  return parts.sort().join(',')
}
