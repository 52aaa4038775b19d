import type {
  MatchResources,
  ParamKind,
  ParamRef,
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from '../../api/generated/types/admissionregistration-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import type { Authorizer } from '../authz/authorizer.ts'
import { compileExpression, type Compilation } from '../cel/environment.ts'
import { toCel } from '../cel/values.ts'
import { ApiError, forbidden, notFound } from '../errors.ts'
import type { RegistryStore } from '../registry/store.ts'
import type { AdmissionAttributes, AdmissionPlugin } from './admission.ts'
import {
  celActivation,
  compileMatchConditions,
  evaluate,
  matchConditions,
  type CompiledCondition,
} from './cel-admission.ts'
import {
  convertBetweenVersions,
  isExemptAdmissionConfigurationResource,
  matchResource,
  namespaceSelectorMatches,
  objectSelectorMatches,
  parseSelector,
  requestNamespace,
  type NamespaceLabels,
  type ParsedSelector,
  type VersionedResource,
} from './matching.ts'

/**
 * The ValidatingAdmissionPolicy admission plugin: policies (CEL validations over `object`,
 * `oldObject`, `request`, `params`, `namespaceObject`, `authorizer` and `variables`) apply
 * through their bindings to the requests both select (matchConstraints, then the binding's
 * matchResources), once per parameter object the binding's paramRef names. A validation that is
 * false denies the request, warns, or (for the audit log, which this apiserver does not keep
 * yet) is recorded, as the binding's validationActions say; an expression that cannot be
 * evaluated counts as a denial under failurePolicy Fail and is ignored under Ignore.
 * Expressions compile once per policy generation.
 */
export interface PolicyPluginOptions {
  policies: () => readonly Readonly<ValidatingAdmissionPolicy>[]
  bindings: () => readonly Readonly<ValidatingAdmissionPolicyBinding>[]
  namespaceLabels: NamespaceLabels
  /** The Namespace object (for `namespaceObject`), undefined when there is none. */
  namespace: (name: string) => Promise<Readonly<KubeObject> | undefined>
  /** The store of a paramKind, undefined when no resource has that kind. */
  paramStore: (kind: ParamKind) => RegistryStore | undefined
  authorizer?: () => Authorizer
}

export const validatingAdmissionPolicyPluginName = 'ValidatingAdmissionPolicy'

const policyVariables = [
  'object',
  'oldObject',
  'request',
  'params',
  'namespaceObject',
  'authorizer',
  'variables',
] as const

interface CompiledValidation {
  readonly expression: string
  readonly compiled: Compilation
  readonly message: string | undefined
  readonly messageExpression: { expression: string; compiled: Compilation } | undefined
  readonly reason: string | undefined
}

interface CompiledPolicy {
  readonly namespaceSelector: ParsedSelector
  readonly objectSelector: ParsedSelector
  readonly conditions: readonly CompiledCondition[]
  readonly variables: readonly { name: string; expression: string; compiled: Compilation }[]
  readonly validations: readonly CompiledValidation[]
}

function compilePolicy(p: Readonly<ValidatingAdmissionPolicy>): CompiledPolicy {
  const spec = p.spec ?? {}
  const compile = (e: string) => compileExpression(e, policyVariables)
  return {
    namespaceSelector: parseSelector(spec.matchConstraints?.namespaceSelector),
    objectSelector: parseSelector(spec.matchConstraints?.objectSelector),
    conditions: compileMatchConditions(spec.matchConditions, policyVariables),
    variables: (spec.variables ?? []).map((v) => ({
      name: v.name,
      expression: v.expression,
      compiled: compile(v.expression),
    })),
    validations: (spec.validations ?? []).map((v) => ({
      expression: v.expression,
      compiled: compile(v.expression),
      message: v.message,
      messageExpression: v.messageExpression
        ? { expression: v.messageExpression, compiled: compile(v.messageExpression) }
        : undefined,
      reason: v.reason,
    })),
  }
}

type Match = { resource: VersionedResource } | { error: string } | undefined

/** matchConstraints or a binding's matchResources (upstream's policy matcher). */
async function matches(
  m: Readonly<MatchResources> | undefined,
  selectors: { namespaceSelector: ParsedSelector; objectSelector: ParsedSelector },
  a: AdmissionAttributes,
  labels: NamespaceLabels,
): Promise<Match> {
  let selectorError: string | undefined
  if ('error' in selectors.namespaceSelector) selectorError = selectors.namespaceSelector.error
  else {
    const ns = await namespaceSelectorMatches(selectors.namespaceSelector.selector, a, labels)
    if ('notFound' in ns) throw notFound({ group: '', resource: 'namespaces' }, ns.notFound)
    if (!ns.matches) return undefined
  }
  if ('error' in selectors.objectSelector) selectorError ??= selectors.objectSelector.error
  else if (!objectSelectorMatches(selectors.objectSelector.selector, a)) return undefined
  if (matchResource(m?.excludeResourceRules ?? [], m?.matchPolicy, a)) return undefined
  const rules = m?.resourceRules ?? []
  const resource =
    rules.length === 0
      ? { group: a.group, version: a.version, resource: a.resource, kind: a.kind }
      : matchResource(rules, m?.matchPolicy, a)
  if (!resource) return undefined
  if (selectorError) return { error: selectorError }
  return { resource }
}

/** The parameter objects a binding's paramRef names (upstream's CollectParams). */
async function collectParams(
  kind: ParamKind | undefined,
  ref: Readonly<ParamRef> | undefined,
  a: AdmissionAttributes,
  storeOf: (kind: ParamKind) => RegistryStore | undefined,
): Promise<(KubeObject | null)[]> {
  if (!kind || !ref) return [null]
  const store = storeOf(kind)
  if (!store)
    throw new Error(`paramKind kind \`${kind.apiVersion ?? ''}, Kind=${kind.kind ?? ''}\` not known`)
  let namespace = ''
  if (store.definition.namespaced) {
    namespace = ref.namespace || requestNamespace(a)
    if (namespace === '')
      throw new Error(
        'cannot use namespaced paramRef in policy binding that matches cluster-scoped resources',
      )
  } else if (ref.namespace) {
    throw new Error('paramRef.namespace must not be provided for a cluster-scoped `paramKind`')
  }
  let params: KubeObject[]
  if (ref.name) {
    try {
      params = [(await store.get(namespace, ref.name)).object]
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err
      params = []
    }
  } else {
    const sel = parseSelector(ref.selector)
    if ('error' in sel) throw new Error(sel.error)
    const all = store.cache.isCurrent()
      ? store.cache.list(namespace)
      : (await store.list(namespace, {})).items
    params = all.filter((c) => sel.selector.matches(c.object.metadata.labels ?? {})).map((c) => c.object)
  }
  if (params.length === 0 && ref.parameterNotFoundAction === 'Deny')
    throw new Error('no params found for policy binding with `Deny` parameterNotFoundAction')
  return params
}

/** The Namespace as policies see it (upstream's CreateNamespaceObject: no managedFields, no ownerReferences). */
function namespaceObject(ns: Readonly<KubeObject> | undefined): unknown {
  if (!ns) return null
  const m = ns.metadata ?? {}
  const keep = [
    'name',
    'generateName',
    'namespace',
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'labels',
    'annotations',
    'finalizers',
  ]
  const metadata = Object.fromEntries(Object.entries(m).filter(([k]) => keep.includes(k)))
  return toCel({
    metadata,
    ...(ns.spec !== undefined ? { spec: ns.spec } : {}),
    ...(ns.status !== undefined ? { status: ns.status } : {}),
  })
}

interface Decision {
  policy: string
  binding: string
  message: string
  reason: string
}

const reasonCodes: Record<string, number> = {
  Forbidden: 403,
  Unauthorized: 401,
  RequestEntityTooLarge: 413,
  Invalid: 422,
}

export function validatingAdmissionPolicyPlugin(o: PolicyPluginOptions): AdmissionPlugin {
  const compiled = new WeakMap<object, CompiledPolicy>()
  const bindingSelectors = new WeakMap<
    object,
    { namespaceSelector: ParsedSelector; objectSelector: ParsedSelector }
  >()
  return {
    name: validatingAdmissionPolicyPluginName,
    handles: (a) =>
      o.bindings().length > 0 && o.policies().length > 0 && !isExemptAdmissionConfigurationResource(a),
    async validate(a) {
      const bindings = o.bindings()
      if (bindings.length === 0) return
      const denied: Decision[] = []
      for (const policy of o.policies()) {
        const name = policy.metadata?.name ?? ''
        const mine = bindings.filter((b) => b.spec.policyName === name)
        if (mine.length === 0) continue
        let c = compiled.get(policy)
        if (!c) {
          c = compilePolicy(policy)
          compiled.set(policy, c)
        }
        const failClosed = policy.spec?.failurePolicy !== 'Ignore'
        const configError = (binding: string, message: string) => {
          if (failClosed) denied.push({ policy: name, binding, message, reason: 'Invalid' })
        }
        const m = await matches(policy.spec?.matchConstraints, c, a, o.namespaceLabels)
        if (!m) continue
        if ('error' in m) {
          configError('', `failed to configure policy: ${m.error}`)
          continue
        }
        for (const binding of mine) {
          const bname = binding.metadata?.name ?? ''
          let bm: Match = m
          if (binding.spec.matchResources) {
            let sel = bindingSelectors.get(binding)
            if (!sel) {
              sel = {
                namespaceSelector: parseSelector(binding.spec.matchResources.namespaceSelector),
                objectSelector: parseSelector(binding.spec.matchResources.objectSelector),
              }
              bindingSelectors.set(binding, sel)
            }
            bm = await matches(binding.spec.matchResources, sel, a, o.namespaceLabels)
            if (!bm) continue
            if ('error' in bm) {
              configError(bname, `failed to configure binding: ${bm.error}`)
              continue
            }
          }
          let params: (KubeObject | null)[]
          try {
            params = await collectParams(policy.spec?.paramKind, binding.spec.paramRef, a, o.paramStore)
          } catch (err) {
            configError(bname, `failed to configure binding: ${(err as Error).message}`)
            continue
          }
          if (params.length === 0) continue
          const resource = m.resource
          const ns = requestNamespace(a)
          const nsObject =
            ns !== '' && !(a.group === '' && a.kind === 'Namespace')
              ? namespaceObject(await o.namespace(ns))
              : null
          const same = resource.group === a.group && resource.version === a.version
          const convert = (x: KubeObject | undefined) =>
            x === undefined || same ? x : convertBetweenVersions(a, resource, x as never)
          const base = celActivation({
            attributes: a,
            matched: resource,
            object: convert(a.object),
            oldObject: convert(a.oldObject),
            authorizer: o.authorizer?.(),
          })
          for (const param of params) {
            const activation: Record<string, unknown> = {
              ...base,
              params: param === null ? null : toCel(param),
              namespaceObject: nsObject,
            }
            activation.variables = await evaluateVariables(c, activation)
            for (const d of await decide(c, activation, failClosed)) {
              for (const action of binding.spec.validationActions) {
                if (action === 'Deny') denied.push({ policy: name, binding: bname, ...d })
                else if (action === 'Warn')
                  a.warnings?.push(
                    `Validation failed for ValidatingAdmissionPolicy '${name}' with binding '${bname}': ${d.message}`,
                  )
                // Audit: goes to the audit log's annotations, which this apiserver does not write yet.
              }
            }
          }
        }
      }
      const first = denied[0]
      if (!first) return
      const message =
        first.binding === ''
          ? `ValidatingAdmissionPolicy '${first.policy}' denied request: ${first.message}`
          : `ValidatingAdmissionPolicy '${first.policy}' with binding '${first.binding}' denied request: ${first.message}`
      const err = forbidden({ group: a.group, resource: a.resource }, a.name || nameOf(a), message)
      err.status.reason = first.reason
      err.status.code = reasonCodes[first.reason] ?? 422
      err.status.details = { ...err.status.details, causes: [{ message }] }
      throw err
    },
  }
}

/** Admission names an object being created with generateName by its prefix, as upstream. */
function nameOf(a: AdmissionAttributes): string {
  return a.object?.metadata?.name || a.object?.metadata?.generateName || 'Unknown'
}

/**
 * `variables`: each evaluated in order (later ones may use earlier ones); one that fails makes
 * the expressions that read it fail with its error.
 */
async function evaluateVariables(
  c: CompiledPolicy,
  activation: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {}
  activation.variables = values
  for (const v of c.variables) {
    const r = await evaluate(v.expression, v.compiled, activation)
    if ('error' in r) {
      const message = r.error
      Object.defineProperty(values, v.name, {
        enumerable: true,
        get: () => {
          throw new Error(message)
        },
      })
    } else values[v.name] = r.value
  }
  return values
}

/** The denials of one evaluation of a policy (upstream's validator). */
async function decide(
  c: CompiledPolicy,
  activation: Record<string, unknown>,
  failClosed: boolean,
): Promise<{ message: string; reason: string }[]> {
  if (c.conditions.length > 0) {
    const m = await matchConditions(c.conditions, activation, failClosed ? 'Fail' : 'Ignore')
    if ('error' in m) return [{ message: m.error, reason: 'Invalid' }]
    if (!m.matches) return []
  }
  const out: { message: string; reason: string }[] = []
  for (const v of c.validations) {
    const r = await evaluate(v.expression, v.compiled, activation)
    if ('error' in r) {
      if (failClosed) out.push({ message: r.error, reason: 'Invalid' })
      continue
    }
    if (r.value === true) continue
    let message = ''
    if (v.messageExpression) {
      const m = await evaluate(v.messageExpression.expression, v.messageExpression.compiled, activation)
      if ('value' in m && typeof m.value === 'string') {
        message = m.value.trim()
        if (message.length > 5 * 1024 || message.includes('\n')) message = ''
      }
    }
    if (message === '' && v.message) message = v.message.trim()
    if (message === '') message = `failed expression: ${v.expression.trim()}`
    out.push({ message, reason: v.reason ?? 'Invalid' })
  }
  return out
}
