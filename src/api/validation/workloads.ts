import { FieldPath, forbidden, invalid, notSupported, required, type FieldError } from '../field-errors.ts'
import { validateJobSpecFields } from './job.ts'
import { validateLabels } from './meta.ts'
import { validateClaimSpec } from './core.ts'
import { selectorMismatch, templateRestartPolicy, validatePodTemplate } from './pod.ts'
import {
  isEmptySelector,
  labelSelector,
  nonNegative,
  num,
  obj,
  objs,
  oneOf,
  positive,
  selectorMatches,
  str,
  strMap,
  type Obj,
} from './util.ts'
import { isDNS1123Subdomain } from './names.ts'

/** Validation of the apps/v1 and batch/v1 workloads. */

const spec = FieldPath.root('spec')
const immutable = 'field is immutable'

/** An int-or-string that is a count or a percentage ("25%"). */
export function intOrPercent(p: FieldPath, v: unknown): FieldError[] {
  if (v === undefined) return []
  if (typeof v === 'number') {
    return v < 0 ? [invalid(p, v, 'must be greater than or equal to 0')] : []
  }
  const s = str(v)
  if (!/^[0-9]+%$/.test(s)) {
    return [
      invalid(
        p,
        s,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ),
    ]
  }
  return Number(s.slice(0, -1)) > 100 ? [invalid(p, s, 'must not be greater than 100%')] : []
}

function isZero(v: unknown): boolean {
  return v === 0 || v === '0%'
}

/** The selector and pod template of a controller: a non-empty selector that selects the template. */
function selectorAndTemplate(s: Obj, kind: string, restart: readonly string[]): FieldError[] {
  const errs: FieldError[] = []
  const selector = obj(s.selector)
  if (!selector) errs.push(required(spec.child('selector')))
  else {
    errs.push(...labelSelector(spec.child('selector'), selector))
    if (isEmptySelector(selector))
      errs.push(invalid(spec.child('selector'), selector, `empty selector is invalid for ${kind}`))
  }
  const template = obj(s.template)
  if (!template) {
    errs.push(required(spec.child('template')))
    return errs
  }
  const labels = strMap(obj(template.metadata)?.labels)
  if (selector && !isEmptySelector(selector) && !selectorMatches(selector, labels)) {
    errs.push(selectorMismatch(spec.child('template'), labels))
  }
  errs.push(...validatePodTemplate(template, spec.child('template')))
  errs.push(...templateRestartPolicy(template, spec.child('template'), restart))
  return errs
}

function selectorUnchanged(next: Obj, prev: Obj): FieldError[] {
  const a = obj(next.spec)?.selector
  const b = obj(prev.spec)?.selector
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [invalid(spec.child('selector'), a, immutable)]
}

function rollingUpdate(p: FieldPath, ru: Obj | undefined): FieldError[] {
  if (!ru) return []
  const errs = [
    ...intOrPercent(p.child('maxUnavailable'), ru.maxUnavailable),
    ...intOrPercent(p.child('maxSurge'), ru.maxSurge),
  ]
  if (
    ru.maxSurge !== undefined &&
    isZero(ru.maxSurge) &&
    ru.maxUnavailable !== undefined &&
    isZero(ru.maxUnavailable)
  ) {
    errs.push(invalid(p.child('maxUnavailable'), ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'))
  }
  return errs
}

export function validateDeployment(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs = selectorAndTemplate(s, 'deployment', ['Always'])
  errs.push(...nonNegative(spec.child('replicas'), s.replicas))
  errs.push(...nonNegative(spec.child('minReadySeconds'), s.minReadySeconds))
  errs.push(...nonNegative(spec.child('revisionHistoryLimit'), s.revisionHistoryLimit))
  const strategy = obj(s.strategy) ?? {}
  errs.push(...oneOf(spec.child('strategy', 'type'), strategy.type, ['Recreate', 'RollingUpdate']))
  if (strategy.type === 'Recreate' && strategy.rollingUpdate !== undefined) {
    errs.push(
      forbidden(
        spec.child('strategy', 'rollingUpdate'),
        "may not be specified when strategy `type` is 'Recreate'",
      ),
    )
  }
  errs.push(...rollingUpdate(spec.child('strategy', 'rollingUpdate'), obj(strategy.rollingUpdate)))
  const pds = num(s.progressDeadlineSeconds)
  if (pds !== undefined) {
    errs.push(...positive(spec.child('progressDeadlineSeconds'), pds))
    if (pds <= (num(s.minReadySeconds) ?? 0)) {
      errs.push(invalid(spec.child('progressDeadlineSeconds'), pds, 'must be greater than minReadySeconds'))
    }
  }
  return errs
}

export function validateDeploymentUpdate(next: Obj, prev: Obj): FieldError[] {
  return selectorUnchanged(next, prev)
}

export function validateReplicaSet(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs = selectorAndTemplate(s, 'deployment', ['Always'])
  errs.push(...nonNegative(spec.child('replicas'), s.replicas))
  errs.push(...nonNegative(spec.child('minReadySeconds'), s.minReadySeconds))
  return errs
}

export const validateReplicaSetUpdate = selectorUnchanged

export function validateDaemonSet(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs = selectorAndTemplate(s, 'daemonset', ['Always'])
  errs.push(...nonNegative(spec.child('minReadySeconds'), s.minReadySeconds))
  errs.push(...nonNegative(spec.child('revisionHistoryLimit'), s.revisionHistoryLimit))
  const strategy = obj(s.updateStrategy) ?? {}
  errs.push(...oneOf(spec.child('updateStrategy', 'type'), strategy.type, ['OnDelete', 'RollingUpdate']))
  const ru = obj(strategy.rollingUpdate)
  errs.push(...rollingUpdate(spec.child('updateStrategy', 'rollingUpdate'), ru))
  if (ru && ru.maxSurge === undefined && ru.maxUnavailable !== undefined && isZero(ru.maxUnavailable)) {
    errs.push(
      invalid(
        spec.child('updateStrategy', 'rollingUpdate', 'maxUnavailable'),
        ru.maxUnavailable,
        'may not be 0 when `maxSurge` is 0',
      ),
    )
  }
  return errs
}

export const validateDaemonSetUpdate = selectorUnchanged

export function validateStatefulSet(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs = selectorAndTemplate(s, 'statefulset', ['Always'])
  errs.push(...nonNegative(spec.child('replicas'), s.replicas))
  errs.push(...nonNegative(spec.child('minReadySeconds'), s.minReadySeconds))
  errs.push(...nonNegative(spec.child('revisionHistoryLimit'), s.revisionHistoryLimit))
  if (s.serviceName !== undefined && s.serviceName !== '') {
    for (const m of isDNS1123Subdomain(str(s.serviceName)))
      errs.push(invalid(spec.child('serviceName'), s.serviceName, m))
  }
  errs.push(...oneOf(spec.child('podManagementPolicy'), s.podManagementPolicy, ['OrderedReady', 'Parallel']))
  const strategy = obj(s.updateStrategy) ?? {}
  errs.push(...oneOf(spec.child('updateStrategy', 'type'), strategy.type, ['OnDelete', 'RollingUpdate']))
  const ru = obj(strategy.rollingUpdate)
  if (ru) {
    if (strategy.type === 'OnDelete') {
      errs.push(
        invalid(
          spec.child('updateStrategy', 'rollingUpdate'),
          ru,
          "only allowed for updateStrategy 'RollingUpdate'",
        ),
      )
    }
    errs.push(...nonNegative(spec.child('updateStrategy', 'rollingUpdate', 'partition'), ru.partition))
    if (ru.maxUnavailable !== undefined) {
      errs.push(
        ...intOrPercent(spec.child('updateStrategy', 'rollingUpdate', 'maxUnavailable'), ru.maxUnavailable),
      )
      if (isZero(ru.maxUnavailable)) {
        errs.push(
          invalid(
            spec.child('updateStrategy', 'rollingUpdate', 'maxUnavailable'),
            ru.maxUnavailable,
            'must be greater than 0',
          ),
        )
      }
    }
  }
  objs(s.volumeClaimTemplates).forEach((t, i) => {
    const p = spec.child('volumeClaimTemplates').index(i)
    const name = str(obj(t.metadata)?.name)
    if (name === '') errs.push(required(p.child('metadata', 'name')))
    errs.push(...validateLabels(strMap(obj(t.metadata)?.labels), p.child('metadata', 'labels')))
    errs.push(...validateClaimSpec(obj(t.spec) ?? {}, p.child('spec')))
  })
  const retention = obj(s.persistentVolumeClaimRetentionPolicy)
  if (retention) {
    const p = spec.child('persistentVolumeClaimRetentionPolicy')
    errs.push(...oneOf(p.child('whenDeleted'), retention.whenDeleted, ['Delete', 'Retain']))
    errs.push(...oneOf(p.child('whenScaled'), retention.whenScaled, ['Delete', 'Retain']))
  }
  return errs
}

const statefulSetMutable = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'revisionHistoryLimit',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
]

export function validateStatefulSetUpdate(next: Obj, prev: Obj): FieldError[] {
  const a = { ...(obj(next.spec) ?? {}) }
  const b = { ...(obj(prev.spec) ?? {}) }
  for (const f of statefulSetMutable) {
    a[f] = undefined
    b[f] = undefined
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return []
  return [
    forbidden(
      spec,
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ]
}

export function validateControllerRevision(o: Obj): FieldError[] {
  return nonNegative(FieldPath.root('revision'), o.revision)
}

export function validateControllerRevisionUpdate(next: Obj, prev: Obj): FieldError[] {
  return JSON.stringify(next.data) === JSON.stringify(prev.data)
    ? []
    : [invalid('data', next.data, immutable)]
}

const macros = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'])
const fieldRanges: readonly (readonly [number, number])[] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
]
const monthNames = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']

/** A standard cron schedule (five fields or a macro); the problem, or undefined when fine. */
export function cronScheduleError(schedule: string): string | undefined {
  let sched = schedule.trim()
  if (/^(CRON_)?TZ=/.test(sched)) return 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'
  if (sched.startsWith('@')) return macros.has(sched) ? undefined : `unrecognized descriptor: ${sched}`
  const fields = sched.split(/\s+/)
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: ${sched}`
  sched = ''
  for (let i = 0; i < 5; i++) {
    const [lo, hi] = fieldRanges[i] ?? [0, 0]
    const names = i === 3 ? monthNames : i === 4 ? dayNames : []
    for (const part of (fields[i] ?? '').split(',')) {
      const m = /^(\*|\?|([0-9a-zA-Z]+)(?:-([0-9a-zA-Z]+))?)(?:\/([0-9]+))?$/.exec(part)
      if (!m) return `failed to parse int from ${part}: strconv.Atoi: parsing "${part}": invalid syntax`
      for (const v of [m[2], m[3]]) {
        if (v === undefined) continue
        const named = names.indexOf(v.toLowerCase())
        const n = named >= 0 ? named + (i === 3 ? 1 : 0) : /^[0-9]+$/.test(v) ? Number(v) : NaN
        if (Number.isNaN(n))
          return `failed to parse int from ${v}: strconv.Atoi: parsing "${v}": invalid syntax`
        if (n < lo) return `beginning of range (${n}) below minimum (${lo}): ${part}`
        if (n > hi) return `end of range (${n}) above maximum (${hi}): ${part}`
      }
      if (m[4] !== undefined && Number(m[4]) === 0)
        return `step of range should be a positive number: ${part}`
    }
  }
  return undefined
}

export function validateCronJob(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  const schedule = str(s.schedule)
  if (schedule === '') errs.push(required(spec.child('schedule')))
  else {
    const e = cronScheduleError(schedule)
    if (e !== undefined) errs.push(invalid(spec.child('schedule'), schedule, e))
  }
  if (s.timeZone !== undefined && s.timeZone !== null) {
    const tz = str(s.timeZone)
    if (!validTimeZone(tz)) errs.push(invalid(spec.child('timeZone'), tz, 'unknown time zone ' + tz))
  }
  errs.push(...oneOf(spec.child('concurrencyPolicy'), s.concurrencyPolicy, ['Allow', 'Forbid', 'Replace']))
  for (const f of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) {
    errs.push(...nonNegative(spec.child(f), s[f]))
  }
  const jt = obj(s.jobTemplate)
  if (!jt) errs.push(required(spec.child('jobTemplate')))
  else {
    const jp = spec.child('jobTemplate')
    errs.push(...validateLabels(strMap(obj(jt.metadata)?.labels), jp.child('metadata', 'labels')))
    const js = obj(jt.spec) ?? {}
    errs.push(...validateJobSpecFields(js, jp.child('spec')))
    // The Job's selector is generated when the Job is made.
    if (js.selector !== undefined)
      errs.push(invalid(jp.child('spec', 'selector'), js.selector, '`selector` will be auto-generated'))
    if (js.manualSelector === true)
      errs.push(notSupported(jp.child('spec', 'manualSelector'), js.manualSelector, ['nil', 'false']))
  }
  return errs
}

function validTimeZone(tz: string): boolean {
  if (tz === '' || tz.toLowerCase() === 'local') return false
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return true
  } catch {
    return false
  }
}
