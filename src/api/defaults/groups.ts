import { child, defaultClaimSpec, defaultPodTemplate, dflt, each, isObj, sub, type Obj } from './core.ts'

/**
 * Defaults of the kinds of the other API groups (apps, batch, networking, RBAC, autoscaling,
 * storage, admission, ...), as their defaults.go files in Kubernetes set them.
 */

export function defaultDeployment(d: Obj): void {
  const spec = child(d, 'spec')
  dflt(spec, 'replicas', 1)
  const strategy = child(spec, 'strategy')
  dflt(strategy, 'type', 'RollingUpdate')
  if (strategy.type === 'RollingUpdate') {
    const ru = child(strategy, 'rollingUpdate')
    dflt(ru, 'maxUnavailable', '25%')
    dflt(ru, 'maxSurge', '25%')
  }
  dflt(spec, 'revisionHistoryLimit', 10)
  dflt(spec, 'progressDeadlineSeconds', 600)
  defaultPodTemplate(spec.template)
}

export function defaultReplicaSet(rs: Obj): void {
  const spec = child(rs, 'spec')
  dflt(spec, 'replicas', 1)
  defaultPodTemplate(spec.template)
}

export function defaultDaemonSet(ds: Obj): void {
  const spec = child(ds, 'spec')
  const strategy = child(spec, 'updateStrategy')
  dflt(strategy, 'type', 'RollingUpdate')
  if (strategy.type === 'RollingUpdate') {
    const ru = child(strategy, 'rollingUpdate')
    dflt(ru, 'maxUnavailable', 1)
    dflt(ru, 'maxSurge', 0)
  }
  dflt(spec, 'revisionHistoryLimit', 10)
  defaultPodTemplate(spec.template)
}

export function defaultStatefulSet(ss: Obj): void {
  const spec = child(ss, 'spec')
  dflt(spec, 'podManagementPolicy', 'OrderedReady')
  const strategy = child(spec, 'updateStrategy')
  if (!strategy.type) {
    strategy.type = 'RollingUpdate'
    if (!isObj(strategy.rollingUpdate)) strategy.rollingUpdate = {}
  }
  const ru = sub(strategy, 'rollingUpdate')
  if (strategy.type === 'RollingUpdate' && ru) dflt(ru, 'partition', 0)
  const retention = child(spec, 'persistentVolumeClaimRetentionPolicy')
  dflt(retention, 'whenDeleted', 'Retain')
  dflt(retention, 'whenScaled', 'Retain')
  dflt(spec, 'replicas', 1)
  dflt(spec, 'revisionHistoryLimit', 10)
  defaultPodTemplate(spec.template)
  each(spec.volumeClaimTemplates, (t) => {
    defaultClaimSpec(child(t, 'spec'))
    dflt(child(t, 'status'), 'phase', 'Pending')
  })
}

export function defaultJob(job: Obj): void {
  const spec = child(job, 'spec')
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1
    spec.parallelism = 1
  }
  dflt(spec, 'parallelism', 1)
  if (spec.backoffLimit === undefined)
    spec.backoffLimit = spec.backoffLimitPerIndex === undefined ? 6 : 2147483647
  const templateLabels = sub(child(child(spec, 'template'), 'metadata'), 'labels')
  const meta = child(job, 'metadata')
  if (templateLabels && (!isObj(meta.labels) || Object.keys(meta.labels).length === 0)) {
    meta.labels = { ...templateLabels }
  }
  dflt(spec, 'completionMode', 'NonIndexed')
  dflt(spec, 'suspend', false)
  const pfp = sub(spec, 'podFailurePolicy')
  if (pfp) each(pfp.rules, (r) => each(r.onPodConditions, (c) => dflt(c, 'status', 'True')))
  dflt(spec, 'podReplacementPolicy', pfp ? 'Failed' : 'TerminatingOrFailed')
  defaultPodTemplate(spec.template)
}

export function defaultCronJob(cj: Obj): void {
  const spec = child(cj, 'spec')
  dflt(spec, 'concurrencyPolicy', 'Allow')
  dflt(spec, 'suspend', false)
  dflt(spec, 'successfulJobsHistoryLimit', 3)
  dflt(spec, 'failedJobsHistoryLimit', 1)
  const jobSpec = sub(sub(spec, 'jobTemplate') ?? {}, 'spec')
  if (jobSpec) defaultPodTemplate(jobSpec.template)
}

export function defaultNetworkPolicy(np: Obj): void {
  const spec = child(np, 'spec')
  for (const dir of ['ingress', 'egress'])
    each(spec[dir], (r) => each(r.ports, (p) => dflt(p, 'protocol', 'TCP')))
  if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
    spec.policyTypes =
      Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress']
  }
}

export function defaultIngressClass(ic: Obj): void {
  const params = sub(child(ic, 'spec'), 'parameters')
  if (params) dflt(params, 'scope', 'Cluster')
}

export function defaultBinding(b: Obj): void {
  dflt(child(b, 'roleRef'), 'apiGroup', 'rbac.authorization.k8s.io')
  each(b.subjects, (s) => {
    if (s.apiGroup !== undefined && s.apiGroup !== '') return
    if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = 'rbac.authorization.k8s.io'
    else if (s.kind === 'ServiceAccount') s.apiGroup = ''
  })
}

const scaleUpDefaults = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
}
const scaleDownDefaults = {
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
}

function scalingRules(given: unknown, defaults: Obj): Obj {
  const out: Obj = structuredClone(defaults)
  if (!isObj(given)) return out
  for (const k of ['selectPolicy', 'stabilizationWindowSeconds', 'policies', 'tolerance']) {
    if (given[k] !== undefined && given[k] !== null) out[k] = given[k]
  }
  return out
}

export function defaultHorizontalPodAutoscalerV2(hpa: Obj): void {
  const spec = child(hpa, 'spec')
  dflt(spec, 'minReplicas', 1)
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    spec.metrics = [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
      },
    ]
  }
  const behavior = sub(spec, 'behavior')
  if (behavior) {
    behavior.scaleUp = scalingRules(behavior.scaleUp, scaleUpDefaults)
    behavior.scaleDown = scalingRules(behavior.scaleDown, scaleDownDefaults)
  }
}

export function defaultHorizontalPodAutoscalerV1(hpa: Obj): void {
  dflt(child(hpa, 'spec'), 'minReplicas', 1)
}

export function defaultPriorityClass(pc: Obj): void {
  dflt(pc, 'preemptionPolicy', 'PreemptLowerPriority')
}

export function defaultStorageClass(sc: Obj): void {
  dflt(sc, 'reclaimPolicy', 'Delete')
  dflt(sc, 'volumeBindingMode', 'Immediate')
}

export function defaultCSIDriver(d: Obj): void {
  const spec = child(d, 'spec')
  dflt(spec, 'attachRequired', true)
  dflt(spec, 'podInfoOnMount', false)
  dflt(spec, 'storageCapacity', false)
  dflt(spec, 'fsGroupPolicy', 'ReadWriteOnceWithFSType')
  if (!Array.isArray(spec.volumeLifecycleModes) || spec.volumeLifecycleModes.length === 0) {
    spec.volumeLifecycleModes = ['Persistent']
  }
  dflt(spec, 'requiresRepublish', false)
}

function defaultRules(rules: unknown): void {
  each(rules, (r) => dflt(r, 'scope', '*'))
}

function defaultWebhooks(config: Obj, mutating: boolean): void {
  each(config.webhooks, (w) => {
    dflt(w, 'failurePolicy', 'Fail')
    dflt(w, 'matchPolicy', 'Equivalent')
    if (!isObj(w.namespaceSelector)) w.namespaceSelector = {}
    if (!isObj(w.objectSelector)) w.objectSelector = {}
    dflt(w, 'timeoutSeconds', 10)
    if (mutating) dflt(w, 'reinvocationPolicy', 'Never')
    defaultRules(w.rules)
    const service = sub(child(w, 'clientConfig'), 'service')
    if (service) dflt(service, 'port', 443)
  })
}

export const defaultValidatingWebhookConfiguration = (c: Obj): void => defaultWebhooks(c, false)
export const defaultMutatingWebhookConfiguration = (c: Obj): void => defaultWebhooks(c, true)

export function defaultAdmissionPolicy(p: Obj): void {
  const spec = child(p, 'spec')
  dflt(spec, 'failurePolicy', 'Fail')
  const mc = sub(spec, 'matchConstraints')
  if (mc) {
    dflt(mc, 'matchPolicy', 'Equivalent')
    if (!isObj(mc.namespaceSelector)) mc.namespaceSelector = {}
    if (!isObj(mc.objectSelector)) mc.objectSelector = {}
    defaultRules(mc.resourceRules)
    defaultRules(mc.excludeResourceRules)
  }
}

export function defaultMutatingAdmissionPolicy(p: Obj): void {
  defaultAdmissionPolicy(p)
  dflt(child(p, 'spec'), 'reinvocationPolicy', 'Never')
}

export function defaultAdmissionPolicyBinding(b: Obj): void {
  const spec = child(b, 'spec')
  const ref = sub(spec, 'paramRef')
  if (ref) dflt(ref, 'parameterNotFoundAction', 'Deny')
  const mr = sub(spec, 'matchResources')
  if (mr) {
    dflt(mr, 'matchPolicy', 'Equivalent')
    if (!isObj(mr.namespaceSelector)) mr.namespaceSelector = {}
    if (!isObj(mr.objectSelector)) mr.objectSelector = {}
    defaultRules(mr.resourceRules)
    defaultRules(mr.excludeResourceRules)
  }
}

export function defaultEndpointSlice(s: Obj): void {
  each(s.ports, (p) => {
    if (p.name === undefined) p.name = ''
    dflt(p, 'protocol', 'TCP')
  })
}

export function defaultFlowSchema(fs: Obj): void {
  const spec = child(fs, 'spec')
  if (spec.matchingPrecedence === undefined || spec.matchingPrecedence === 0) spec.matchingPrecedence = 1000
}

export function defaultPriorityLevelConfiguration(pl: Obj): void {
  const spec = child(pl, 'spec')
  const limited = sub(spec, 'limited')
  if (limited) {
    dflt(limited, 'nominalConcurrencyShares', 30)
    dflt(limited, 'lendablePercent', 0)
    const queuing = sub(child(limited, 'limitResponse'), 'queuing')
    if (queuing) {
      dflt(queuing, 'queues', 64)
      dflt(queuing, 'handSize', 8)
      dflt(queuing, 'queueLengthLimit', 50)
    }
  }
  const exempt = sub(spec, 'exempt')
  if (exempt) {
    dflt(exempt, 'nominalConcurrencyShares', 0)
    dflt(exempt, 'lendablePercent', 0)
  }
}

export function defaultCustomResourceDefinition(crd: Obj): void {
  const spec = child(crd, 'spec')
  const names = child(spec, 'names')
  if (typeof names.kind === 'string' && names.kind !== '') {
    dflt(names, 'singular', names.kind.toLowerCase())
    dflt(names, 'listKind', `${names.kind}List`)
  }
  dflt(child(spec, 'conversion'), 'strategy', 'None')
}
