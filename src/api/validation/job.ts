import {
  duplicate,
  FieldPath,
  GoSliceValue,
  invalid,
  notSupported,
  required,
  tooLong,
  tooMany,
  type FieldError,
} from '../field-errors.ts'
import { deepEqual } from '../object.ts'
import { isDomainPrefixedPath } from './groups.ts'
import { isDNS1123Label, isQualifiedName } from './names.ts'
import { selectorMismatch, validatePodTemplate } from './pod.ts'
import {
  each,
  labelSelector,
  list,
  nonNegative,
  num,
  obj,
  objs,
  oneOf,
  selectorMatches,
  str,
  strMap,
  type Obj,
} from './util.ts'

/**
 * Validation of batch/v1 Jobs (and the Job spec of a CronJob's jobTemplate), as Kubernetes'
 * pkg/apis/batch/validation: the counts, the Indexed-only fields (backoffLimitPerIndex,
 * maxFailedIndexes, successPolicy) and their size limits, podFailurePolicy rules,
 * podReplacementPolicy, and on update the fields that may not change. Field paths and messages
 * are Kubernetes' own, because kubectl prints them.
 */

const spec = FieldPath.root('spec')
const immutable = 'field is immutable'

/** Indexed Jobs: at most this parallelism (it bounds the length of status.completedIndexes). */
const maxIndexedParallelism = 100_000
const maxFailedIndexesLimit = 100_000
/** Above this many completions, backoffLimitPerIndex needs maxFailedIndexes and smaller limits. */
const completionsSoftLimit = 100_000
const parallelismLimitForHighCompletions = 10_000
const maxFailedIndexesLimitForHighCompletions = 10_000
const maxPodFailurePolicyRules = 20
const maxOnExitCodesValues = 255
const maxOnPodConditionsPatterns = 20
const maxManagedByLength = 63
const maxSucceededIndexesLength = 64 * 1024
const maxSuccessPolicyRules = 20

const failurePolicyActions = ['Count', 'FailIndex', 'FailJob', 'Ignore']
const exitCodeOperators = ['In', 'NotIn']
const conditionStatuses = ['False', 'True', 'Unknown']
const replacementPolicies = ['Failed', 'TerminatingOrFailed']

/** Go's %q of a string list: `["In" "NotIn"]`. */
function quotedList(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`
}

/** An Invalid error whose message leaves the value out (Go's field.OmitValueType). */
function invalidNoValue(path: FieldPath, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field: String(path), detail }
}

/** The rules a Job's spec (or a jobTemplate's) follows on its own, without its selector. */
export function validateJobSpecFields(s: Obj, p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  // activeDeadlineSeconds 0 is accepted, as upstream's validation does (the Job then fails at once).
  for (const f of [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'backoffLimit',
    'ttlSecondsAfterFinished',
    'backoffLimitPerIndex',
  ])
    errs.push(...nonNegative(p.child(f), s[f]))
  const completions = num(s.completions)
  const parallelism = num(s.parallelism)
  const perIndex = num(s.backoffLimitPerIndex)
  const maxFailed = num(s.maxFailedIndexes)
  if (s.maxFailedIndexes !== undefined) {
    errs.push(...nonNegative(p.child('maxFailedIndexes'), s.maxFailedIndexes))
    if (s.backoffLimitPerIndex === undefined)
      errs.push(required(p.child('backoffLimitPerIndex'), 'when maxFailedIndexes is specified'))
  }
  if (s.managedBy !== undefined) {
    const managedBy = str(s.managedBy)
    errs.push(...each(p.child('managedBy'), managedBy, isDomainPrefixedPath(managedBy)))
    if (managedBy.length > maxManagedByLength)
      errs.push(tooLong(p.child('managedBy'), '', maxManagedByLength))
  }
  const indexed = s.completionMode === 'Indexed'
  errs.push(...oneOf(p.child('completionMode'), s.completionMode, ['NonIndexed', 'Indexed']))
  if (indexed) {
    if (s.completions === undefined)
      errs.push(required(p.child('completions'), 'when completion mode is Indexed'))
    if (parallelism !== undefined && parallelism > maxIndexedParallelism)
      errs.push(
        invalid(
          p.child('parallelism'),
          parallelism,
          `must be less than or equal to ${maxIndexedParallelism} when completion mode is Indexed`,
        ),
      )
    if (completions !== undefined && maxFailed !== undefined && maxFailed > completions)
      errs.push(invalid(p.child('maxFailedIndexes'), maxFailed, 'must be less than or equal to completions'))
    if (maxFailed !== undefined && maxFailed > maxFailedIndexesLimit)
      errs.push(
        invalid(
          p.child('maxFailedIndexes'),
          maxFailed,
          `must be less than or equal to ${maxFailedIndexesLimit}`,
        ),
      )
    if (completions !== undefined && completions > completionsSoftLimit && perIndex !== undefined) {
      const tail = `when completions are above ${completionsSoftLimit} and used with backoff limit per index`
      if (maxFailed === undefined)
        errs.push(
          required(
            p.child('maxFailedIndexes'),
            `must be specified when completions is above ${completionsSoftLimit}`,
          ),
        )
      if (parallelism !== undefined && parallelism > parallelismLimitForHighCompletions)
        errs.push(
          invalid(
            p.child('parallelism'),
            parallelism,
            `must be less than or equal to ${parallelismLimitForHighCompletions} ${tail}`,
          ),
        )
      if (maxFailed !== undefined && maxFailed > maxFailedIndexesLimitForHighCompletions)
        errs.push(
          invalid(
            p.child('maxFailedIndexes'),
            maxFailed,
            `must be less than or equal to ${maxFailedIndexesLimitForHighCompletions} ${tail}`,
          ),
        )
    }
  } else if (s.completionMode === undefined || s.completionMode === 'NonIndexed') {
    if (s.backoffLimitPerIndex !== undefined)
      errs.push(
        invalid(p.child('backoffLimitPerIndex'), s.backoffLimitPerIndex, 'requires indexed completion mode'),
      )
    if (s.maxFailedIndexes !== undefined)
      errs.push(invalid(p.child('maxFailedIndexes'), s.maxFailedIndexes, 'requires indexed completion mode'))
  }
  const template = obj(s.template)
  const failurePolicy = obj(s.podFailurePolicy)
  if (failurePolicy) errs.push(...podFailurePolicy(s, failurePolicy, template, p.child('podFailurePolicy')))
  const successPolicy = obj(s.successPolicy)
  if (successPolicy) {
    if (!indexed)
      errs.push(invalid(p.child('successPolicy'), successPolicy, 'requires indexed completion mode'))
    else errs.push(...successPolicyRules(successPolicy, completions, p.child('successPolicy')))
  }
  if (s.podReplacementPolicy !== undefined) {
    const path = p.child('podReplacementPolicy')
    if (failurePolicy) {
      if (s.podReplacementPolicy !== 'Failed')
        errs.push(notSupported(path, s.podReplacementPolicy, ['Failed']))
    } else errs.push(...oneOf(path, s.podReplacementPolicy, replacementPolicies))
  }
  if (!template) errs.push(required(p.child('template')))
  else {
    errs.push(...validatePodTemplate(template, p.child('template')))
    errs.push(
      ...restartPolicy(template, failurePolicy !== undefined, p.child('template', 'spec', 'restartPolicy')),
    )
  }
  return errs
}

/**
 * Job pods never restart Always; the apiserver defaults an absent restartPolicy to Always, so
 * both read as "required". A podFailurePolicy looks at failed pods, so it needs Never.
 */
function restartPolicy(template: Obj, withFailurePolicy: boolean, path: FieldPath): FieldError[] {
  const policy = obj(template.spec)?.restartPolicy
  if (policy === undefined || policy === '' || policy === 'Always')
    return [required(path, 'valid values: "OnFailure", "Never"')]
  if (policy !== 'OnFailure' && policy !== 'Never')
    return [notSupported(path, policy, ['OnFailure', 'Never'])]
  if (withFailurePolicy && policy !== 'Never')
    return [invalid(path, policy, 'only "Never" is supported when podFailurePolicy is specified')]
  return []
}

function podFailurePolicy(s: Obj, policy: Obj, template: Obj | undefined, p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const rulesPath = p.child('rules')
  const rules = objs(policy.rules)
  if (rules.length > maxPodFailurePolicyRules)
    errs.push(tooMany(rulesPath, rules.length, maxPodFailurePolicyRules))
  const podSpec = obj(template?.spec) ?? {}
  const containerNames = new Set(
    [...objs(podSpec.containers), ...objs(podSpec.initContainers)].map((c) => str(c.name)),
  )
  for (const [i, rule] of rules.entries()) {
    const rp = rulesPath.index(i)
    const actionPath = rp.child('action')
    if (rule.action === undefined || rule.action === '')
      errs.push(required(actionPath, `valid values: ${quotedList(failurePolicyActions)}`))
    else if (rule.action === 'FailIndex') {
      if (s.backoffLimitPerIndex === undefined)
        errs.push(invalid(actionPath, rule.action, 'requires the backoffLimitPerIndex to be set'))
    } else if (!failurePolicyActions.includes(str(rule.action)))
      errs.push(notSupported(actionPath, rule.action, failurePolicyActions))
    const onExitCodes = obj(rule.onExitCodes)
    const onPodConditions = objs(rule.onPodConditions)
    if (onExitCodes) errs.push(...exitCodeRequirement(onExitCodes, containerNames, rp.child('onExitCodes')))
    if (onPodConditions.length > 0)
      errs.push(...podConditionPatterns(onPodConditions, rp.child('onPodConditions')))
    if (onExitCodes && onPodConditions.length > 0)
      errs.push(invalidNoValue(rp, 'specifying both OnExitCodes and OnPodConditions is not supported'))
    if (!onExitCodes && onPodConditions.length === 0)
      errs.push(invalidNoValue(rp, 'specifying one of OnExitCodes and OnPodConditions is required'))
  }
  return errs
}

function exitCodeRequirement(req: Obj, containerNames: ReadonlySet<string>, p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const operatorPath = p.child('operator')
  if (req.operator === undefined || req.operator === '')
    errs.push(required(operatorPath, `valid values: ${quotedList(exitCodeOperators)}`))
  else if (!exitCodeOperators.includes(str(req.operator)))
    errs.push(notSupported(operatorPath, req.operator, exitCodeOperators))
  if (
    req.containerName !== undefined &&
    req.containerName !== null &&
    !containerNames.has(str(req.containerName))
  )
    errs.push(
      invalid(
        p.child('containerName'),
        req.containerName,
        'must be one of the container or initContainer names in the pod template',
      ),
    )
  const valuesPath = p.child('values')
  const values = Array.isArray(req.values) ? list(req.values).map((v) => num(v) ?? 0) : undefined
  if (!values || values.length === 0)
    errs.push(invalid(valuesPath, new GoSliceValue('int32', values), 'at least one value is required'))
  else if (values.length > maxOnExitCodesValues)
    errs.push(tooMany(valuesPath, values.length, maxOnExitCodesValues))
  const seen = new Set<number>()
  let ordered = true
  for (const [j, v] of (values ?? []).entries()) {
    if (req.operator === 'In' && v === 0)
      errs.push(invalid(valuesPath.index(j), v, 'must not be 0 for the In operator'))
    if (seen.has(v)) errs.push(duplicate(valuesPath.index(j), v))
    else seen.add(v)
    if (j > 0 && (values?.[j - 1] ?? 0) > v) ordered = false
  }
  if (!ordered) errs.push(invalid(valuesPath, new GoSliceValue('int32', values), 'must be ordered'))
  return errs
}

function podConditionPatterns(patterns: readonly Obj[], p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  if (patterns.length > maxOnPodConditionsPatterns)
    errs.push(tooMany(p, patterns.length, maxOnPodConditionsPatterns))
  for (const [j, pattern] of patterns.entries()) {
    const type = str(pattern.type)
    errs.push(...each(p.index(j).child('type'), type, isQualifiedName(type)))
    const statusPath = p.index(j).child('status')
    if (pattern.status === undefined || pattern.status === '')
      errs.push(required(statusPath, `valid values: ${quotedList(conditionStatuses)}`))
    else if (!conditionStatuses.includes(str(pattern.status)))
      errs.push(notSupported(statusPath, pattern.status, conditionStatuses))
  }
  return errs
}

function successPolicyRules(policy: Obj, completions: number | undefined, p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const rulesPath = p.child('rules')
  const rules = objs(policy.rules)
  if (rules.length === 0)
    errs.push(required(rulesPath, 'at least one rules must be specified when the successPolicy is specified'))
  if (rules.length > maxSuccessPolicyRules) errs.push(tooMany(rulesPath, rules.length, maxSuccessPolicyRules))
  for (const [i, rule] of rules.entries()) {
    const rp = rulesPath.index(i)
    if (rule.succeededCount === undefined && rule.succeededIndexes === undefined)
      errs.push(required(rp, 'at least one of succeededCount or succeededIndexes must be specified'))
    let total = 0
    if (rule.succeededIndexes !== undefined) {
      const indexesPath = rp.child('succeededIndexes')
      const indexes = str(rule.succeededIndexes)
      if (indexes.length > maxSucceededIndexesLength)
        errs.push(tooLong(indexesPath, '', maxSucceededIndexesLength))
      const parsed = indexesFormat(indexes, completions ?? 0)
      if (typeof parsed === 'string')
        errs.push(invalid(indexesPath, indexes, `error parsing succeededIndexes: ${parsed}`))
      else total = parsed
    }
    if (rule.succeededCount !== undefined) {
      const countPath = rp.child('succeededCount')
      const count = num(rule.succeededCount) ?? 0
      errs.push(...nonNegative(countPath, count))
      if (completions !== undefined && count > completions)
        errs.push(
          invalid(
            countPath,
            count,
            `must be less than or equal to ${completions} (the number of specified completions)`,
          ),
        )
      if (rule.succeededIndexes !== undefined && count > total)
        errs.push(
          invalid(
            countPath,
            count,
            `must be less than or equal to ${total} (the number of indexes in the specified succeededIndexes field)`,
          ),
        )
    }
  }
  return errs
}

/**
 * An index interval list ("1,3-5,7") below `completions`, strictly ascending: how many indexes it
 * names, or what is wrong with it (Kubernetes' wording).
 */
export function indexesFormat(text: string, completions: number): number | string {
  if (text === '') return 0
  let last: number | undefined
  let total = 0
  for (const interval of text.split(',')) {
    const parsed = indexInterval(interval, completions)
    if (typeof parsed === 'string') return parsed
    const [x, y] = parsed
    if (last !== undefined && last >= x) return `non-increasing order, previous: ${last}, current: ${x}`
    total += y - x + 1
    last = y
  }
  return total
}

function indexInterval(interval: string, completions: number): [number, number] | string {
  const limits = interval.split('-')
  if (limits.length > 2)
    return `the fragment ${JSON.stringify(interval)} violates the requirement that an index interval can have at most two parts separated by '-'`
  const parse = (s: string): number | string => {
    // Go's strconv.Atoi: an optional sign, then decimal digits.
    if (!/^[+-]?\d+$/.test(s)) return `cannot convert string to integer for index: ${JSON.stringify(s)}`
    const n = Number(s)
    return n >= completions ? `too large index: ${JSON.stringify(s)}` : n
  }
  const x = parse(limits[0] ?? '')
  if (typeof x === 'string') return x
  if (limits.length === 1) return [x, x]
  const y = parse(limits[1] ?? '')
  if (typeof y === 'string') return y
  if (x >= y) return `non-increasing order, previous: ${x}, current: ${y}`
  return [x, y]
}

export function validateJob(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs = validateJobSpecFields(s, spec)
  const selector = obj(s.selector)
  if (!selector) {
    // The apiserver generates the selector unless manualSelector is set.
    if (s.manualSelector !== true) errs.push(required(spec.child('selector')))
  } else {
    errs.push(...labelSelector(spec.child('selector'), selector))
    const labels = strMap(obj(obj(s.template)?.metadata)?.labels)
    if (!selectorMatches(selector, labels)) errs.push(selectorMismatch(spec.child('template'), labels))
  }
  // Pods of an Indexed Job are named after their index: the last one's hostname must be a label.
  const completions = num(s.completions)
  if (s.completionMode === 'Indexed' && completions !== undefined && completions > 0) {
    const name = str(obj(o.metadata)?.name)
    const hostname = `${name}-${completions - 1}`
    if (isDNS1123Label(hostname).length > 0)
      errs.push(
        invalid(
          FieldPath.root('metadata').child('name'),
          name,
          `will not able to create pod with invalid DNS label: ${hostname}`,
        ),
      )
  }
  return errs
}

/**
 * What may change in a Job: completions only of an Indexed Job and together with parallelism;
 * the pod template only while the Job is suspended and never started, and then only its
 * scheduling directives (node affinity and selector, tolerations, scheduling gates, labels and
 * annotations); never the selector, completionMode, podFailurePolicy, backoffLimitPerIndex,
 * managedBy or successPolicy.
 */
export function validateJobUpdate(next: Obj, prev: Obj): FieldError[] {
  const a = obj(next.spec) ?? {}
  const b = obj(prev.spec) ?? {}
  const errs: FieldError[] = []
  if (!deepEqual(a.completions, b.completions)) {
    if (a.completionMode !== 'Indexed')
      errs.push(invalid(spec.child('completions'), a.completions ?? null, immutable))
    else if (a.completions !== undefined && a.completions !== a.parallelism)
      errs.push(
        invalid(
          spec.child('completions'),
          a.completions,
          'can only be modified in tandem with spec.parallelism',
        ),
      )
  }
  if (!deepEqual(a.selector, b.selector))
    errs.push(invalid(spec.child('selector'), a.selector ?? null, immutable))
  const suspended = b.suspend === true
  const neverStarted = obj(prev.status)?.startTime === undefined
  let oldTemplate = obj(b.template) ?? {}
  const newTemplate = obj(a.template) ?? {}
  if (suspended && neverStarted) oldTemplate = withSchedulingDirectivesOf(oldTemplate, newTemplate)
  if (!deepEqual(newTemplate, oldTemplate))
    errs.push(invalid(spec.child('template'), a.template ?? null, immutable))
  for (const f of [
    'completionMode',
    'podFailurePolicy',
    'backoffLimitPerIndex',
    'managedBy',
    'successPolicy',
  ])
    if (!deepEqual(a[f], b[f])) errs.push(invalid(spec.child(f), a[f] ?? null, immutable))
  return errs
}

/** `old` with the scheduling directives of `next`, which a suspended, never started Job may change. */
function withSchedulingDirectivesOf(old: Obj, next: Obj): Obj {
  const t = structuredClone(old)
  const tSpec = obj(t.spec) ?? {}
  t.spec = tSpec
  const nSpec = obj(next.spec) ?? {}
  const set = (o: Obj, key: string, v: unknown) => {
    if (v === undefined) delete o[key]
    else o[key] = structuredClone(v)
  }
  const newAffinity = obj(nSpec.affinity)
  const oldAffinity = obj(tSpec.affinity)
  if (!newAffinity && oldAffinity) {
    // Clearing the affinity is allowed when node affinity was all it had.
    delete oldAffinity.nodeAffinity
    if (Object.keys(oldAffinity).length === 0) delete tSpec.affinity
  } else if (newAffinity && !oldAffinity) {
    tSpec.affinity =
      newAffinity.nodeAffinity !== undefined
        ? { nodeAffinity: structuredClone(newAffinity.nodeAffinity) }
        : {}
  } else if (newAffinity && oldAffinity) set(oldAffinity, 'nodeAffinity', newAffinity.nodeAffinity)
  for (const f of ['nodeSelector', 'tolerations', 'schedulingGates']) set(tSpec, f, nSpec[f])
  const tMeta = obj(t.metadata) ?? {}
  const nMeta = obj(next.metadata) ?? {}
  for (const f of ['annotations', 'labels']) set(tMeta, f, nMeta[f])
  if (Object.keys(tMeta).length === 0 && next.metadata === undefined) delete t.metadata
  else t.metadata = tMeta
  return t
}
