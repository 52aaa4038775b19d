import { defaultPersistentVolumeSpec } from './core.ts'
import { child, each, isEmpty, isObj, setIfAbsent, setIfZero, sub, type Obj } from './obj.ts'

/**
 * Defaults of the kinds of the other API groups (networking, RBAC, autoscaling, scheduling,
 * storage, admission, discovery, flow control, resource, apiextensions, apiregistration), as their
 * v1 (autoscaling: v1 and v2) defaults.go files set them in v1.35.
 */

// --- networking.k8s.io ---------------------------------------------------------------------------

export function defaultNetworkPolicy(np: Obj): void {
  const spec = child(np, 'spec')
  for (const direction of ['ingress', 'egress']) {
    each(spec[direction], (rule) => each(rule.ports, (p) => setIfAbsent(p, 'protocol', 'TCP')))
  }
  // A policy that names no types is an ingress policy, and an egress one if it has egress rules.
  if (isEmpty(spec.policyTypes)) {
    spec.policyTypes = isEmpty(spec.egress) ? ['Ingress'] : ['Ingress', 'Egress']
  }
}

export function defaultIngressClass(ic: Obj): void {
  const parameters = sub(sub(ic, 'spec'), 'parameters')
  if (parameters) setIfAbsent(parameters, 'scope', 'Cluster')
}

// --- rbac.authorization.k8s.io -------------------------------------------------------------------

/**
 * Role bindings refer to RBAC roles; users and groups are RBAC subjects. A service account's
 * group is "", which Go leaves out of the JSON, so it stays absent here too.
 */
export function defaultRoleBinding(b: Obj): void {
  setIfZero(child(b, 'roleRef'), 'apiGroup', 'rbac.authorization.k8s.io')
  each(b.subjects, (s) => {
    if (s.kind === 'User' || s.kind === 'Group') setIfZero(s, 'apiGroup', 'rbac.authorization.k8s.io')
  })
}

// --- autoscaling ---------------------------------------------------------------------------------

const scaleUpRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
}
/** Scaling down has no default window: the controller's --horizontal-pod-autoscaler-downscale-stabilization applies. */
const scaleDownRules = {
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
}

/** The given scaling rules over the defaults, field by field (the defaults when none are given). */
function scalingRules(given: unknown, defaults: Obj): Obj {
  const rules: Obj = structuredClone(defaults)
  if (!isObj(given)) return rules
  for (const k of ['selectPolicy', 'stabilizationWindowSeconds', 'policies', 'tolerance']) {
    if (given[k] !== undefined && given[k] !== null) rules[k] = given[k]
  }
  return rules
}

export function defaultHorizontalPodAutoscaler(hpa: Obj): void {
  const spec = child(hpa, 'spec')
  setIfAbsent(spec, 'minReplicas', 1)
  if (isEmpty(spec.metrics)) {
    spec.metrics = [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
      },
    ]
  }
  // Behavior, when given, is filled in completely, for both directions.
  const behavior = sub(spec, 'behavior')
  if (behavior) {
    behavior.scaleUp = scalingRules(behavior.scaleUp, scaleUpRules)
    behavior.scaleDown = scalingRules(behavior.scaleDown, scaleDownRules)
  }
}

export function defaultHorizontalPodAutoscalerV1(hpa: Obj): void {
  setIfAbsent(child(hpa, 'spec'), 'minReplicas', 1)
}

// --- scheduling.k8s.io, storage.k8s.io -----------------------------------------------------------

export function defaultPriorityClass(pc: Obj): void {
  setIfAbsent(pc, 'preemptionPolicy', 'PreemptLowerPriority')
}

export function defaultStorageClass(sc: Obj): void {
  setIfAbsent(sc, 'reclaimPolicy', 'Delete')
  setIfAbsent(sc, 'volumeBindingMode', 'Immediate')
}

export function defaultCSIDriver(d: Obj): void {
  const spec = child(d, 'spec')
  setIfAbsent(spec, 'attachRequired', true)
  setIfAbsent(spec, 'podInfoOnMount', false)
  setIfAbsent(spec, 'storageCapacity', false)
  setIfAbsent(spec, 'fsGroupPolicy', 'ReadWriteOnceWithFSType')
  if (isEmpty(spec.volumeLifecycleModes)) spec.volumeLifecycleModes = ['Persistent']
  setIfAbsent(spec, 'requiresRepublish', false)
  // SELinuxMountReadWriteOncePod is beta and on in v1.35.
  setIfAbsent(spec, 'seLinuxMount', false)
}

export function defaultVolumeAttachment(va: Obj): void {
  const inline = sub(sub(sub(va, 'spec'), 'source'), 'inlineVolumeSpec')
  if (inline) defaultPersistentVolumeSpec(inline)
}

// --- admissionregistration.k8s.io ----------------------------------------------------------------

function defaultRules(rules: unknown): void {
  each(rules, (r) => setIfAbsent(r, 'scope', '*'))
}

function defaultWebhooks(config: Obj, mutating: boolean): void {
  each(config.webhooks, (w) => {
    setIfAbsent(w, 'failurePolicy', 'Fail')
    setIfAbsent(w, 'matchPolicy', 'Equivalent')
    setIfAbsent(w, 'namespaceSelector', {})
    setIfAbsent(w, 'objectSelector', {})
    setIfAbsent(w, 'timeoutSeconds', 10)
    if (mutating) setIfAbsent(w, 'reinvocationPolicy', 'Never')
    defaultRules(w.rules)
    const service = sub(sub(w, 'clientConfig'), 'service')
    if (service) setIfAbsent(service, 'port', 443)
  })
}

export function defaultValidatingWebhookConfiguration(c: Obj): void {
  defaultWebhooks(c, false)
}

export function defaultMutatingWebhookConfiguration(c: Obj): void {
  defaultWebhooks(c, true)
}

/** MatchResources of admission policies and their bindings. */
function defaultMatchResources(m: Obj | undefined): void {
  if (!m) return
  setIfAbsent(m, 'matchPolicy', 'Equivalent')
  setIfAbsent(m, 'namespaceSelector', {})
  setIfAbsent(m, 'objectSelector', {})
  defaultRules(m.resourceRules)
  defaultRules(m.excludeResourceRules)
}

/** ValidatingAdmissionPolicy and MutatingAdmissionPolicy (whose reinvocationPolicy is required). */
export function defaultAdmissionPolicy(p: Obj): void {
  const spec = child(p, 'spec')
  setIfAbsent(spec, 'failurePolicy', 'Fail')
  defaultMatchResources(sub(spec, 'matchConstraints'))
}

/** Bindings of either kind of policy (paramRef.parameterNotFoundAction is required in v1). */
export function defaultAdmissionPolicyBinding(b: Obj): void {
  defaultMatchResources(sub(sub(b, 'spec'), 'matchResources'))
}

// --- discovery.k8s.io, flowcontrol.apiserver.k8s.io ----------------------------------------------

export function defaultEndpointSlice(s: Obj): void {
  each(s.ports, (p) => {
    setIfAbsent(p, 'name', '')
    setIfAbsent(p, 'protocol', 'TCP')
  })
}

export function defaultFlowSchema(fs: Obj): void {
  setIfZero(child(fs, 'spec'), 'matchingPrecedence', 1000)
}

export function defaultPriorityLevelConfiguration(pl: Obj): void {
  const spec = child(pl, 'spec')
  const limited = sub(spec, 'limited')
  if (limited) {
    setIfAbsent(limited, 'nominalConcurrencyShares', 30)
    setIfAbsent(limited, 'lendablePercent', 0)
    const queuing = sub(child(limited, 'limitResponse'), 'queuing')
    if (queuing) {
      setIfZero(queuing, 'queues', 64)
      setIfZero(queuing, 'handSize', 8)
      setIfZero(queuing, 'queueLengthLimit', 50)
    }
  }
  const exempt = sub(spec, 'exempt')
  if (exempt) {
    setIfAbsent(exempt, 'nominalConcurrencyShares', 0)
    setIfAbsent(exempt, 'lendablePercent', 0)
  }
}

// --- resource.k8s.io -----------------------------------------------------------------------------

/** An exact request or a sub-request: ExactCount of one device, tolerations matching Equal. */
function defaultDeviceRequest(r: Obj | undefined): void {
  if (!r) return
  setIfZero(r, 'allocationMode', 'ExactCount')
  if (r.allocationMode === 'ExactCount') setIfZero(r, 'count', 1)
  each(r.tolerations, (t) => setIfZero(t, 'operator', 'Equal'))
}

function defaultResourceClaimSpec(spec: Obj): void {
  each(sub(spec, 'devices')?.requests, (r) => {
    defaultDeviceRequest(sub(r, 'exactly'))
    each(r.firstAvailable, defaultDeviceRequest)
  })
}

export function defaultResourceClaim(rc: Obj): void {
  defaultResourceClaimSpec(child(rc, 'spec'))
}

export function defaultResourceClaimTemplate(t: Obj): void {
  defaultResourceClaimSpec(child(child(t, 'spec'), 'spec'))
}

// --- apiextensions.k8s.io, apiregistration.k8s.io ------------------------------------------------

export function defaultCustomResourceDefinition(crd: Obj): void {
  const spec = child(crd, 'spec')
  const names = child(spec, 'names')
  const kind = typeof names.kind === 'string' ? names.kind : ''
  if (kind !== '') {
    setIfZero(names, 'singular', kind.toLowerCase())
    setIfZero(names, 'listKind', `${kind}List`)
  }
  setIfAbsent(spec, 'conversion', { strategy: 'None' })
  const service = sub(sub(sub(sub(spec, 'conversion'), 'webhook'), 'clientConfig'), 'service')
  if (service) setIfAbsent(service, 'port', 443)
  const status = sub(crd, 'status')
  if (!status || isEmpty(status.storedVersions)) {
    const storage = Array.isArray(spec.versions)
      ? spec.versions.find((v): v is Obj => isObj(v) && v.storage === true)
      : undefined
    if (typeof storage?.name === 'string') child(crd, 'status').storedVersions = [storage.name]
  }
}

export function defaultAPIService(s: Obj): void {
  const service = sub(sub(s, 'spec'), 'service')
  if (service) setIfAbsent(service, 'port', 443)
}
