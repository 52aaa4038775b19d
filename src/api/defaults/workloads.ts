import { defaultClaimSpec, defaultPodTemplateSpec } from './core.ts'
import { child, each, isEmpty, setIfAbsent, setIfZero, sub, type Obj } from './obj.ts'
import { defaultResourceList } from './quantity.ts'

/**
 * Defaults of the apps/v1 and batch/v1 workloads (pkg/apis/apps/v1 and batch/v1 defaults.go),
 * with the pod spec defaults of their templates. Templates are structs in Go, so their specs are
 * defaulted even when a (then invalid) object leaves them out.
 */

export function defaultDeployment(d: Obj): void {
  const spec = child(d, 'spec')
  setIfAbsent(spec, 'replicas', 1)
  const strategy = child(spec, 'strategy')
  setIfZero(strategy, 'type', 'RollingUpdate')
  if (strategy.type === 'RollingUpdate') {
    const rollingUpdate = child(strategy, 'rollingUpdate')
    setIfAbsent(rollingUpdate, 'maxUnavailable', '25%')
    setIfAbsent(rollingUpdate, 'maxSurge', '25%')
  }
  setIfAbsent(spec, 'revisionHistoryLimit', 10)
  setIfAbsent(spec, 'progressDeadlineSeconds', 600)
  defaultPodTemplateSpec(child(spec, 'template'))
}

export function defaultReplicaSet(rs: Obj): void {
  const spec = child(rs, 'spec')
  setIfAbsent(spec, 'replicas', 1)
  defaultPodTemplateSpec(child(spec, 'template'))
}

export function defaultDaemonSet(ds: Obj): void {
  const spec = child(ds, 'spec')
  const strategy = child(spec, 'updateStrategy')
  setIfZero(strategy, 'type', 'RollingUpdate')
  if (strategy.type === 'RollingUpdate') {
    const rollingUpdate = child(strategy, 'rollingUpdate')
    setIfAbsent(rollingUpdate, 'maxUnavailable', 1)
    setIfAbsent(rollingUpdate, 'maxSurge', 0)
  }
  setIfAbsent(spec, 'revisionHistoryLimit', 10)
  defaultPodTemplateSpec(child(spec, 'template'))
}

export function defaultStatefulSet(ss: Obj): void {
  const spec = child(ss, 'spec')
  setIfZero(spec, 'podManagementPolicy', 'OrderedReady')
  const strategy = child(spec, 'updateStrategy')
  if (strategy.type === undefined || strategy.type === null || strategy.type === '') {
    strategy.type = 'RollingUpdate'
    setIfAbsent(strategy, 'rollingUpdate', {})
  }
  const rollingUpdate = sub(strategy, 'rollingUpdate')
  if (strategy.type === 'RollingUpdate' && rollingUpdate) {
    setIfAbsent(rollingUpdate, 'partition', 0)
    // MaxUnavailableStatefulSet is beta and on in v1.35.0 (turned off again in v1.35.4).
    setIfAbsent(rollingUpdate, 'maxUnavailable', 1)
  }
  const retention = child(spec, 'persistentVolumeClaimRetentionPolicy')
  setIfZero(retention, 'whenDeleted', 'Retain')
  setIfZero(retention, 'whenScaled', 'Retain')
  setIfAbsent(spec, 'replicas', 1)
  setIfAbsent(spec, 'revisionHistoryLimit', 10)
  defaultPodTemplateSpec(child(spec, 'template'))
  each(spec.volumeClaimTemplates, (claim) => {
    defaultClaimSpec(child(claim, 'spec'))
    const status = child(claim, 'status')
    setIfZero(status, 'phase', 'Pending')
    defaultResourceList(status.capacity)
    defaultResourceList(status.allocatedResources)
  })
}

/** A pod condition a failure policy rule matches is "True" unless it says otherwise. */
function defaultPodFailurePolicy(jobSpec: Obj): void {
  each(sub(jobSpec, 'podFailurePolicy')?.rules, (rule) =>
    each(rule.onPodConditions, (c) => setIfZero(c, 'status', 'True')),
  )
}

export function defaultJob(job: Obj): void {
  const spec = child(job, 'spec')
  // A job that says neither how many pods nor how many at once runs one pod.
  if (
    (spec.completions === undefined || spec.completions === null) &&
    (spec.parallelism === undefined || spec.parallelism === null)
  ) {
    spec.completions = 1
    spec.parallelism = 1
  }
  setIfAbsent(spec, 'parallelism', 1)
  const perIndex = spec.backoffLimitPerIndex !== undefined && spec.backoffLimitPerIndex !== null
  setIfAbsent(spec, 'backoffLimit', perIndex ? 2147483647 : 6)
  const template = child(spec, 'template')
  const templateLabels = sub(sub(template, 'metadata'), 'labels')
  const meta = child(job, 'metadata')
  if (templateLabels && isEmpty(meta.labels)) meta.labels = { ...templateLabels }
  setIfAbsent(spec, 'completionMode', 'NonIndexed')
  setIfAbsent(spec, 'suspend', false)
  defaultPodFailurePolicy(spec)
  setIfAbsent(spec, 'podReplacementPolicy', sub(spec, 'podFailurePolicy') ? 'Failed' : 'TerminatingOrFailed')
  setIfAbsent(spec, 'manualSelector', false)
  defaultPodTemplateSpec(template)
}

export function defaultCronJob(cj: Obj): void {
  const spec = child(cj, 'spec')
  setIfZero(spec, 'concurrencyPolicy', 'Allow')
  setIfAbsent(spec, 'suspend', false)
  setIfAbsent(spec, 'successfulJobsHistoryLimit', 3)
  setIfAbsent(spec, 'failedJobsHistoryLimit', 1)
  // The job template gets the defaults of the types it nests, not those of a Job.
  const jobSpec = child(child(spec, 'jobTemplate'), 'spec')
  defaultPodFailurePolicy(jobSpec)
  defaultPodTemplateSpec(child(jobSpec, 'template'))
}
