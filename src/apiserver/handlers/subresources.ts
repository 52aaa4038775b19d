import type { Binding, Pod } from '../../api/generated/types/core-v1.ts'
import type { PodDisruptionBudget, Eviction } from '../../api/generated/types/policy-v1.ts'
import type { StoredObject } from '../../api/object.ts'
import type { AdmissionChain } from '../admission/admission.ts'
import { readBody, writeJson, type RequestContext } from '../context.ts'
import type { ResourceEndpoint, Subresource } from '../endpoint.ts'
import { ApiError, badRequest, conflict, invalid, methodNotSupported, tooManyRequests } from '../errors.ts'
import type { RegistryStore } from '../registry/store.ts'
import type { ResourceStrategy } from '../registry/strategy.ts'
import { setPodCondition } from '../registry/resources/pods.ts'
import { rfc3339 } from '../registry/store.ts'
import type { ResourceRequestInfo } from '../request-info.ts'
import { readObject, type PatchType, type ResourceHandlerDeps, patchTypeOf } from './resources.ts'

function success(ctx: RequestContext, code = 201): void {
  writeJson(ctx, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code })
}

function verbOf(ctx: RequestContext): string {
  return (ctx.info as ResourceRequestInfo).verb
}

/**
 * pods/binding: the scheduler's way to put a pod on a node. The pod gets spec.nodeName and a
 * PodScheduled=True condition; a pod that already has a node refuses with 409.
 */
export function bindingSubresource(deps: Pick<ResourceHandlerDeps, 'decodeProtobuf' | 'now'>): Subresource {
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
      const store = storeOf(ep)
      await store.update(
        info.namespace,
        podName,
        (current) => {
          const pod: (Pod & StoredObject) | undefined = current ? structuredClone(current) : undefined
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
          pod.spec = { ...pod.spec, containers: pod.spec?.containers ?? [], nodeName: node }
          // A nomination is moot once the pod is bound (ClearingNominatedNodeNameAfterBinding, on
          // by default since Kubernetes 1.35).
          if (pod.status?.nominatedNodeName) pod.status = { ...pod.status, nominatedNodeName: undefined }
          // The binding carries the annotations the scheduler wants on the pod.
          for (const [k, v] of Object.entries(binding.metadata.annotations ?? {})) {
            pod.metadata.annotations = { ...pod.metadata.annotations, [k]: v }
          }
          setPodCondition(pod, { type: 'PodScheduled', status: 'True' }, rfc3339(deps.now()))
          return pod
        },
        { user: ctx.user, subresource: 'binding', strategy: serverWrite },
      )
      success(ctx)
    },
  }
}

/**
 * pods/eviction: a delete that respects PodDisruptionBudgets. A pod covered by a budget that
 * allows no disruption is refused with 429 (kubectl drain waits and retries); otherwise the
 * budget's disruptionsAllowed goes down by one and the pod is deleted gracefully. Pods that are
 * not running (pending, finished) are deleted without asking the budget, as Kubernetes does.
 * The Eviction itself passes admission first, as a create of pods/eviction (NodeRestriction
 * keeps a node to evicting its own pods; webhooks may watch pods/eviction).
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
      if (admission) {
        const attrs = {
          operation: 'CREATE' as const,
          group: '',
          version: 'v1',
          resource: 'pods',
          subresource: 'eviction',
          kind: 'Eviction',
          namespace: info.namespace,
          name: info.name,
          object: eviction,
          oldObject: undefined,
          dryRun: (eviction.deleteOptions?.dryRun ?? []).length > 0,
          user: ctx.user,
          warnings: ctx.warnings,
        }
        await admission.admit(attrs)
        await admission.validate(attrs)
      }
      const pods = storeOf(ep)
      const pod = (await pods.get(info.namespace, info.name)).object as Pod & StoredObject
      const options = eviction.deleteOptions ?? {}
      const running = pod.status?.phase === 'Running' && !pod.metadata.deletionTimestamp
      if (running) {
        const budgets = pdbs()
        if (budgets) {
          const matching = (await budgets.list(info.namespace, {})).items.filter((b) => {
            const sel = (b.object as PodDisruptionBudget).spec?.selector
            if (!sel) return false
            return deps.labelSelector(selectorString(sel))(pod.metadata.labels ?? {})
          })
          if (matching.length > 1) {
            throw new ApiError({
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Failure',
              message:
                'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
              reason: 'InternalError',
              code: 500,
            })
          }
          const budget = matching[0]
          if (budget) {
            await budgets.update(
              info.namespace,
              budget.name,
              (current) => {
                const b: (PodDisruptionBudget & StoredObject) | undefined = current
                  ? structuredClone(current)
                  : undefined
                if (!b)
                  throw tooManyRequests(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    10,
                  )
                const st = b.status
                if (!st || (st.observedGeneration ?? 0) < (b.metadata.generation ?? 0)) {
                  throw tooManyRequests(
                    "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget " +
                      budget.name +
                      ' is still being processed by the server.',
                    10,
                  )
                }
                if ((st.disruptionsAllowed ?? 0) <= 0) {
                  const err = tooManyRequests(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    10,
                  )
                  err.status.details = {
                    ...err.status.details,
                    causes: [
                      {
                        reason: 'DisruptionBudget',
                        message: `The disruption budget ${budget.name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`,
                      },
                    ],
                  }
                  throw err
                }
                st.disruptionsAllowed = (st.disruptionsAllowed ?? 0) - 1
                st.disruptedPods = { ...st.disruptedPods, [info.name]: rfc3339(deps.now()) }
                return b
              },
              { user: ctx.user, subresource: 'status', strategy: serverWrite },
            )
          }
        }
      }
      await pods.delete(info.namespace, info.name, {
        user: ctx.user,
        ...(options.gracePeriodSeconds !== undefined
          ? { gracePeriodSeconds: options.gracePeriodSeconds }
          : {}),
        ...(options.preconditions ? { preconditions: options.preconditions } : {}),
        dryRun: (options.dryRun ?? []).length > 0,
      })
      success(ctx)
    },
  }
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
