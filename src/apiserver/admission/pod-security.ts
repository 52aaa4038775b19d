import type { FieldError } from '../../api/field-errors.ts'
import type { Namespace, Pod, PodSpec, PodTemplateSpec } from '../../api/generated/types/core-v1.ts'
import type { ObjectMeta } from '../../api/generated/types/meta-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import { ApiError, internalError, invalid } from '../errors.ts'
import type { AdmissionAttributes, AdmissionPlugin } from './admission.ts'
import { admissionForbidden } from './namespace-objects.ts'
import {
  auditAnnotationPrefix,
  compareLevels,
  defaultPolicy,
  equivalentLevelVersion,
  forbiddenDetail,
  forbiddenReason,
  isFullyPrivileged,
  levelVersionString,
  parseVersion,
  policyToEvaluate,
  PodSecurityEvaluator,
  privilegedLatest,
  sameLevelVersion,
  versionString,
  enforceLevelLabel,
  enforceVersionLabel,
  auditLevelLabel,
  auditVersionLabel,
  warnLevelLabel,
  warnVersionLabel,
  type Evaluation,
  type Level,
  type LevelVersion,
  type Policy,
} from './pod-security/policy.ts'

export const podSecurityPluginName = 'PodSecurity'

/**
 * The PodSecurity plugin's configuration (PodSecurityConfiguration of the admission config file):
 * the policy of namespaces without labels, and who is exempt.
 */
export interface PodSecurityConfiguration {
  /** Levels and versions by the config file's keys: enforce, enforce-version, audit, ... */
  defaults?: Readonly<Partial<Record<DefaultsKey, string>>>
  exemptions?: {
    usernames?: readonly string[]
    runtimeClasses?: readonly string[]
    namespaces?: readonly string[]
  }
}

type DefaultsKey = 'enforce' | 'enforce-version' | 'audit' | 'audit-version' | 'warn' | 'warn-version'

export interface PodSecurityOptions {
  /** A namespace by name (the watch cache, or a read when it is not there yet). */
  namespace(name: string): Promise<Readonly<Namespace> | undefined>
  /** The pods of a namespace, for the check of a stricter enforce label. */
  pods(namespace: string): Promise<readonly Readonly<Pod>[]>
  configuration?: PodSecurityConfiguration
  clock: Clock
}

/** A namespace's policy, with the errors of its labels. */
type NamespacePolicy = ReturnType<typeof policyToEvaluate>

/** The outcome of evaluating one request, as upstream's AdmissionResponse carries it. */
export interface PodSecurityDecision {
  /** The refusal message, when refused. */
  denied?: string
  warnings: string[]
  /** Without the pod-security.kubernetes.io/ prefix (enforce-policy, audit-violations, exempt, error). */
  auditAnnotations: Record<string, string>
}

/** Resources that carry a pod template, and where (pod-security-admission's DefaultPodSpecExtractor). */
const templateOf: Record<string, (o: KubeObject) => PodTemplateSpec | undefined> = {
  '/replicationcontrollers': (o) => (o.spec as { template?: PodTemplateSpec } | undefined)?.template,
  '/podtemplates': (o) => (o as { template?: PodTemplateSpec }).template,
  'apps/replicasets': (o) => (o.spec as { template?: PodTemplateSpec } | undefined)?.template,
  'apps/deployments': (o) => (o.spec as { template?: PodTemplateSpec } | undefined)?.template,
  'apps/statefulsets': (o) => (o.spec as { template?: PodTemplateSpec } | undefined)?.template,
  'apps/daemonsets': (o) => (o.spec as { template?: PodTemplateSpec } | undefined)?.template,
  'batch/jobs': (o) => (o.spec as { template?: PodTemplateSpec } | undefined)?.template,
  'batch/cronjobs': (o) =>
    (o.spec as { jobTemplate?: { spec?: { template?: PodTemplateSpec } } } | undefined)?.jobTemplate?.spec
      ?.template,
}

/** Pod subresources that change nothing PodSecurity looks at. */
const ignoredPodSubresources = new Set([
  'exec',
  'attach',
  'binding',
  'eviction',
  'log',
  'portforward',
  'proxy',
  'status',
])

/** How many existing pods a stricter enforce label is checked against, and for how long. */
const namespaceMaxPodsToCheck = 3000
const namespacePodCheckTimeoutMs = 1000

/**
 * PodSecurity, as the Kubernetes admission plugin of that name (Pod Security Admission): the
 * labels of a namespace (`pod-security.kubernetes.io/enforce|audit|warn` and their `-version`)
 * choose a level of the Pod Security Standards (privileged, baseline, restricted) for each mode:
 *
 * - enforce: a pod that breaks the level is refused, 403 Forbidden, `pods "x" is forbidden:
 *   violates PodSecurity "restricted:latest": <every failed check with its details>`;
 * - warn: the client gets a Warning (`would violate PodSecurity "..."`), for pods and for the
 *   templates of workloads (Deployments, Jobs, ...), which are never refused;
 * - audit: an audit annotation (pod-security.kubernetes.io/audit-violations). This apiserver
 *   keeps no audit log yet, so the annotations go wherever the request collects them (nowhere,
 *   today).
 *
 * Namespaces with labels that do not parse are refused (422); making the enforce level stricter
 * answers with warnings naming the existing pods that break it. Pod updates are checked only
 * when they change an image (the only significant change a pod allows). Users, namespaces and
 * runtime classes listed as exempt are not checked.
 */
export function podSecurityPlugin(o: PodSecurityOptions): AdmissionPlugin {
  const engine = new PodSecurityEngine(o)
  return {
    name: podSecurityPluginName,
    handles: (a) =>
      (a.operation === 'CREATE' || a.operation === 'UPDATE') &&
      ((a.group === '' && (a.resource === 'pods' || a.resource === 'namespaces')) ||
        templateOf[`${a.group}/${a.resource}`] !== undefined),
    async validate(a) {
      const d = await engine.decide(a)
      if (a.warnings) a.warnings.push(...d.warnings)
      if (a.auditAnnotations) {
        for (const [k, v] of Object.entries(d.auditAnnotations))
          a.auditAnnotations.set(auditAnnotationPrefix + k, v)
      }
      if (d.denied !== undefined) throw admissionForbidden(a, d.denied)
    },
  }
}

/** The decisions of the plugin, apart from how they reach the request. */
export class PodSecurityEngine {
  readonly #o: PodSecurityOptions
  readonly #evaluator = new PodSecurityEvaluator()
  readonly #defaults: Policy
  readonly #exempt: {
    usernames: ReadonlySet<string>
    runtimeClasses: ReadonlySet<string>
    namespaces: ReadonlySet<string>
  }

  constructor(o: PodSecurityOptions) {
    this.#o = o
    this.#defaults = policyOfDefaults(o.configuration?.defaults)
    const e = o.configuration?.exemptions
    this.#exempt = {
      usernames: new Set(e?.usernames ?? []),
      runtimeClasses: new Set(e?.runtimeClasses ?? []),
      namespaces: new Set(e?.namespaces ?? []),
    }
  }

  async decide(a: AdmissionAttributes): Promise<PodSecurityDecision> {
    if (a.group === '' && a.resource === 'namespaces') return this.#namespace(a)
    if (a.group === '' && a.resource === 'pods') return this.#pod(a)
    return this.#podController(a)
  }

  async #namespace(a: AdmissionAttributes): Promise<PodSecurityDecision> {
    const allowed = allow()
    if (a.subresource !== '' || !a.object) return allowed
    const ns = a.object as Namespace
    const name = ns.metadata?.name ?? a.name
    const next = policyToEvaluate(ns.metadata?.labels, this.#defaults)
    const refuse = () => {
      throw invalid({ group: '', kind: 'Namespace' }, name, next.errors)
    }
    if (a.operation === 'CREATE') {
      if (next.errors.length > 0) refuse()
      return this.#exemptNamespaceWarning(name, next.policy, ns.metadata?.labels ?? {}, allowed)
    }
    const old = policyToEvaluate((a.oldObject as Namespace | undefined)?.metadata?.labels, this.#defaults)
    if (next.errors.length > 0 && (old.errors.length === 0 || !sameErrors(next.errors, old.errors))) refuse()
    const before = old.policy.enforce
    const after = next.policy.enforce
    if (sameLevelVersion(after, before) || after.level === 'privileged') return allowed
    if (
      versionString(after.version) === versionString(before.version) &&
      compareLevels(after.level, before.level) < 1
    )
      return allowed
    if (this.#exempt.namespaces.has(name))
      return this.#exemptNamespaceWarning(name, next.policy, ns.metadata?.labels ?? {}, allowed)
    allowed.warnings.push(...(await this.#evaluatePodsInNamespace(name, after)))
    return allowed
  }

  async #pod(a: AdmissionAttributes): Promise<PodSecurityDecision> {
    if (ignoredPodSubresources.has(a.subresource)) return allow()
    const exempt = this.#exemption(a)
    if (exempt) return exempt
    const nsPolicy = await this.#policyOf(a.namespace, true)
    if (!nsPolicy) return allow()
    if (nsPolicy.errors.length === 0 && isFullyPrivileged(nsPolicy.policy)) {
      return allow({ 'enforce-policy': levelVersionString(privilegedLatest) })
    }
    const pod = a.object as Pod | undefined
    if (!pod) return allow()
    if (a.operation === 'UPDATE' && !isSignificantPodUpdate(pod, a.oldObject)) return allow()
    return this.#evaluate(nsPolicy, pod.metadata ?? {}, pod.spec ?? { containers: [] }, true)
  }

  async #podController(a: AdmissionAttributes): Promise<PodSecurityDecision> {
    if (a.subresource !== '') return allow()
    const exempt = this.#exemption(a)
    if (exempt) return exempt
    let nsPolicy: NamespacePolicy | undefined
    try {
      nsPolicy = await this.#policyOf(a.namespace, false)
    } catch (err) {
      return allow({ error: `failed to lookup namespace "${a.namespace}": ${String(err)}` })
    }
    if (!nsPolicy) return allow()
    const p = nsPolicy.policy
    if (nsPolicy.errors.length === 0 && p.warn.level === 'privileged' && p.audit.level === 'privileged')
      return allow()
    const template = a.object ? templateOf[`${a.group}/${a.resource}`]?.(a.object) : undefined
    if (!template) return allow()
    return this.#evaluate(nsPolicy, template.metadata ?? {}, template.spec ?? { containers: [] }, false)
  }

  /** The exemption of the request's user or namespace, as an allowed decision. */
  #exemption(a: AdmissionAttributes): PodSecurityDecision | undefined {
    if (a.namespace !== '' && this.#exempt.namespaces.has(a.namespace)) return allow({ exempt: 'namespace' })
    if (a.user.name !== '' && this.#exempt.usernames.has(a.user.name)) return allow({ exempt: 'user' })
    return undefined
  }

  async #policyOf(namespace: string, failClosed: boolean): Promise<NamespacePolicy | undefined> {
    let ns: Readonly<Namespace> | undefined
    try {
      ns = await this.#o.namespace(namespace)
    } catch (err) {
      if (!failClosed) throw err
      throw new ApiError(internalError(new Error(`failed to lookup namespace "${namespace}"`)).status, {
        cause: err,
      })
    }
    // A namespace that is not there was refused by NamespaceLifecycle already.
    if (!ns) return undefined
    return policyToEvaluate(ns.metadata?.labels, this.#defaults)
  }

  #evaluate(
    nsPolicy: NamespacePolicy,
    meta: Readonly<ObjectMeta>,
    spec: Readonly<PodSpec>,
    enforce: boolean,
  ): PodSecurityDecision {
    if (spec.runtimeClassName && this.#exempt.runtimeClasses.has(spec.runtimeClassName)) {
      return allow({ exempt: 'runtimeClass' })
    }
    const { policy, errors } = nsPolicy
    const d = allow()
    if (errors.length > 0) {
      d.auditAnnotations.error = `Failed to parse policy: ${aggregateFieldErrors(errors)}`
    }
    const results = new Map<string, Evaluation>()
    const evaluate = (lv: LevelVersion) => {
      const key = levelVersionString(lv)
      let r = results.get(key)
      if (!r) {
        r = this.#evaluator.evaluate(lv, meta, spec)
        results.set(key, r)
      }
      return r
    }
    if (enforce) {
      d.auditAnnotations['enforce-policy'] = levelVersionString(policy.enforce)
      const r = evaluate(policy.enforce)
      if (!r.allowed)
        d.denied = `violates PodSecurity "${levelVersionString(policy.enforce)}": ${forbiddenDetail(r)}`
    }
    const audit = evaluate(policy.audit)
    if (!audit.allowed) {
      d.auditAnnotations['audit-violations'] =
        `would violate PodSecurity "${levelVersionString(policy.audit)}": ${forbiddenDetail(audit)}`
    }
    if (d.denied === undefined) {
      const warn = evaluate(policy.warn)
      if (!warn.allowed) {
        d.warnings.push(
          `would violate PodSecurity "${levelVersionString(policy.warn)}": ${forbiddenDetail(warn)}`,
        )
      }
    }
    return d
  }

  /**
   * What a stricter enforce level would say of the pods already in the namespace: one warning per
   * distinct set of reasons, naming the first pod (by name) and how many others. Pods of one
   * controller count once until every controller's first pod has been checked.
   */
  async #evaluatePodsInNamespace(namespace: string, enforce: LevelVersion): Promise<string[]> {
    const deadline = this.#o.clock.now() + namespacePodCheckTimeoutMs
    let pods: readonly Readonly<Pod>[]
    try {
      pods = await this.#o.pods(namespace)
    } catch {
      return ['failed to list pods while checking new PodSecurity enforce level']
    }
    const ordered = this.#prioritize(pods)
    const total = ordered.length
    const candidates = ordered.slice(0, namespaceMaxPodsToCheck)
    let checked = candidates.length
    const byReason = new Map<string, { first: string; count: number }>()
    const reasons: string[] = []
    for (let i = 0; i < candidates.length; i++) {
      const pod = candidates[i]
      if (!pod) continue
      const r = this.#evaluator.evaluate(enforce, pod.metadata ?? {}, pod.spec ?? { containers: [] })
      if (!r.allowed) {
        const reason = forbiddenReason(r)
        const name = pod.metadata?.name ?? ''
        const seen = byReason.get(reason)
        if (!seen) {
          byReason.set(reason, { first: name, count: 1 })
          reasons.push(reason)
        } else {
          seen.count++
          if (name < seen.first) seen.first = name
        }
      }
      if (this.#o.clock.now() > deadline) {
        checked = i + 1
        break
      }
    }
    const warnings: string[] = []
    if (checked < total)
      warnings.push(
        `new PodSecurity enforce level only checked against the first ${checked} of ${total} existing pods`,
      )
    if (reasons.length > 0)
      warnings.push(
        `existing pods in namespace "${namespace}" violate the new PodSecurity enforce level "${levelVersionString(enforce)}"`,
      )
    const perPod = reasons.map((reason) => {
      const c = byReason.get(reason) ?? { first: '', count: 0 }
      if (c.count === 1) return `${c.first}: ${reason}`
      if (c.count === 2) return `${c.first} (and 1 other pod): ${reason}`
      return `${c.first} (and ${c.count - 1} other pods): ${reason}`
    })
    return [...warnings, ...perPod.sort()]
  }

  /** Pods without a controller and each controller's first pod, then the rest; exempt runtime classes left out. */
  #prioritize(pods: readonly Readonly<Pod>[]): Readonly<Pod>[] {
    const first: Readonly<Pod>[] = []
    const rest: Readonly<Pod>[] = []
    const controllers = new Set<string>()
    for (const pod of pods) {
      const rc = pod.spec?.runtimeClassName
      if (rc && this.#exempt.runtimeClasses.has(rc)) continue
      const owner = pod.metadata?.ownerReferences?.find((r) => r.controller === true)
      if (!owner) first.push(pod)
      else if (controllers.has(owner.uid)) rest.push(pod)
      else {
        controllers.add(owner.uid)
        first.push(pod)
      }
    }
    return [...first, ...rest]
  }

  #exemptNamespaceWarning(
    name: string,
    policy: Policy,
    labels: Readonly<Record<string, string>>,
    d: PodSecurityDecision,
  ): PodSecurityDecision {
    if (!this.#exempt.namespaces.has(name)) return d
    if (isFullyPrivileged(policy) || equivalentPolicy(policy, this.#defaults)) return d
    const parts: string[] = []
    const mode = (key: 'enforce' | 'audit' | 'warn', levelLabel: string, versionLabel: string) => {
      const lv = policy[key]
      if (lv.level !== 'privileged' && (levelLabel in labels || versionLabel in labels))
        parts.push(`${key}=${levelVersionString(lv)}`)
    }
    mode('enforce', enforceLevelLabel, enforceVersionLabel)
    mode('audit', auditLevelLabel, auditVersionLabel)
    mode('warn', warnLevelLabel, warnVersionLabel)
    d.warnings.push(
      `namespace "${name}" is exempt from Pod Security, and the policy (${parts.join(', ')}) will be ignored`,
    )
    return d
  }
}

function allow(auditAnnotations: Record<string, string> = {}): PodSecurityDecision {
  return { warnings: [], auditAnnotations }
}

/** An update matters only when a container's image changes (or containers come and go). */
export function isSignificantPodUpdate(pod: Readonly<Pod>, old: Readonly<Pod> | undefined): boolean {
  if (!old) return true
  const a = pod.spec
  const b = old.spec
  const containers = a?.containers ?? []
  const oldContainers = b?.containers ?? []
  const init = a?.initContainers ?? []
  const oldInit = b?.initContainers ?? []
  if (containers.length !== oldContainers.length || init.length !== oldInit.length) return true
  if (containers.some((c, i) => c.image !== oldContainers[i]?.image)) return true
  if (init.some((c, i) => c.image !== oldInit[i]?.image)) return true
  for (const c of a?.ephemeralContainers ?? []) {
    const before = (b?.ephemeralContainers ?? []).find((x) => x.name === c.name)
    if (!before || before.image !== c.image) return true
  }
  return false
}

function equivalentPolicy(a: Policy, b: Policy): boolean {
  return (
    equivalentLevelVersion(a.enforce, b.enforce) &&
    equivalentLevelVersion(a.audit, b.audit) &&
    equivalentLevelVersion(a.warn, b.warn)
  )
}

function sameErrors(a: readonly FieldError[], b: readonly FieldError[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Field errors as one line, as an aggregate of them prints. */
function aggregateFieldErrors(errors: readonly FieldError[]): string {
  const lines = errors.map((e) => `${e.field}: Invalid value: ${JSON.stringify(e.value)}: ${e.detail}`)
  return lines.length === 1 ? (lines[0] ?? '') : `[${lines.join(', ')}]`
}

/** The configured defaults as a policy (privileged:latest for what they leave out). */
function policyOfDefaults(d: PodSecurityConfiguration['defaults']): Policy {
  if (!d) return defaultPolicy
  const level = (v: string | undefined): Level => {
    if (v === undefined) return 'privileged'
    if (v === 'privileged' || v === 'baseline' || v === 'restricted') return v
    throw new Error(
      `PodSecurity configuration: level must be one of privileged, baseline, restricted, not "${v}"`,
    )
  }
  const version = (v: string | undefined) => {
    if (v === undefined) return 'latest' as const
    const parsed = parseVersion(v)
    if (!parsed) throw new Error(`PodSecurity configuration: version must be "latest" or "v1.x", not "${v}"`)
    return parsed
  }
  return {
    enforce: { level: level(d.enforce), version: version(d['enforce-version']) },
    audit: { level: level(d.audit), version: version(d['audit-version']) },
    warn: { level: level(d.warn), version: version(d['warn-version']) },
  }
}
