import type { FieldError } from '../field-errors.ts'
import type { StoredObject } from '../object.ts'
import * as core from './core.ts'
import * as groups from './groups.ts'
import * as job from './job.ts'
import type { Obj } from './util.ts'
import * as workloads from './workloads.ts'

/** Validation of one kind: of a new object, and of an update against the stored one. */
export interface Validator {
  validate(obj: Readonly<StoredObject>): FieldError[]
  validateUpdate(next: Readonly<StoredObject>, prev: Readonly<StoredObject>): FieldError[]
  /** An update through the status subresource, where it has rules of its own (else validateUpdate). */
  validateStatusUpdate?(next: Readonly<StoredObject>, prev: Readonly<StoredObject>): FieldError[]
}

type Check = (o: Obj) => FieldError[]
type UpdateCheck = (next: Obj, prev: Obj) => FieldError[]

/** An update is validated as a new object, then for what may not change. */
function rules(validate: Check, update?: UpdateCheck, statusUpdate?: UpdateCheck): Validator {
  return {
    validate: (o) => validate(o),
    validateUpdate: (next, prev) => [...validate(next), ...(update ? update(next, prev) : [])],
    ...(statusUpdate ? { validateStatusUpdate: (next, prev) => statusUpdate(next, prev) } : {}),
  }
}

const none: Check = () => []

const validators: Record<string, Validator> = {
  '/pods': {
    validate: (o) => core.validatePod(o),
    // validatePodUpdate validates the new spec itself, when it changed (see there).
    validateUpdate: (next, prev) => core.validatePodUpdate(next, prev),
    validateStatusUpdate: (next, prev) => core.validatePodStatusUpdate(next, prev),
  },
  '/podtemplates': rules(core.validatePodTemplateObject),
  '/replicationcontrollers': rules(core.validateReplicationController),
  '/services': rules(core.validateService, core.validateServiceUpdate),
  '/configmaps': rules(core.validateConfigMap, core.validateConfigMapUpdate),
  '/secrets': rules(core.validateSecret, core.validateSecretUpdate),
  '/namespaces': rules(core.validateNamespace),
  '/nodes': rules(core.validateNode, core.validateNodeUpdate),
  '/serviceaccounts': rules(core.validateServiceAccount),
  '/endpoints': rules(core.validateEndpoints),
  '/persistentvolumeclaims': rules(
    core.validatePersistentVolumeClaim,
    core.validatePersistentVolumeClaimUpdate,
  ),
  '/persistentvolumes': rules(core.validatePersistentVolume),
  '/limitranges': rules(core.validateLimitRange),
  '/resourcequotas': rules(core.validateResourceQuota),
  '/events': rules(core.validateEvent),
  'events.k8s.io/events': rules(core.validateEvent),
  'apps/deployments': rules(workloads.validateDeployment, workloads.validateDeploymentUpdate),
  'apps/replicasets': rules(workloads.validateReplicaSet, workloads.validateReplicaSetUpdate),
  'apps/daemonsets': rules(workloads.validateDaemonSet, workloads.validateDaemonSetUpdate),
  'apps/statefulsets': rules(workloads.validateStatefulSet, workloads.validateStatefulSetUpdate),
  'apps/controllerrevisions': rules(
    workloads.validateControllerRevision,
    workloads.validateControllerRevisionUpdate,
  ),
  'batch/jobs': rules(job.validateJob, job.validateJobUpdate),
  'batch/cronjobs': rules(workloads.validateCronJob),
  'networking.k8s.io/ingresses': rules(groups.validateIngress),
  'networking.k8s.io/ingressclasses': rules(groups.validateIngressClass, groups.validateIngressClassUpdate),
  'networking.k8s.io/networkpolicies': rules(groups.validateNetworkPolicy),
  'networking.k8s.io/servicecidrs': rules(groups.validateServiceCIDR, groups.validateSpecUnchanged),
  'networking.k8s.io/ipaddresses': rules(groups.validateIPAddress, groups.validateSpecUnchanged),
  'rbac.authorization.k8s.io/roles': rules(groups.validateRole),
  'rbac.authorization.k8s.io/clusterroles': rules(groups.validateClusterRole),
  'rbac.authorization.k8s.io/rolebindings': rules(groups.validateRoleBinding, groups.validateBindingUpdate),
  'rbac.authorization.k8s.io/clusterrolebindings': rules(
    groups.validateClusterRoleBinding,
    groups.validateBindingUpdate,
  ),
  'policy/poddisruptionbudgets': rules(groups.validatePodDisruptionBudget),
  'autoscaling/horizontalpodautoscalers': rules(groups.validateHorizontalPodAutoscaler),
  'scheduling.k8s.io/priorityclasses': rules(
    groups.validatePriorityClass,
    groups.validatePriorityClassUpdate,
  ),
  'coordination.k8s.io/leases': rules(groups.validateLease),
  'storage.k8s.io/storageclasses': rules(groups.validateStorageClass, groups.validateStorageClassUpdate),
  'storage.k8s.io/csidrivers': rules(none, groups.validateCSIDriverUpdate),
  'storage.k8s.io/csinodes': rules(groups.validateCSINode),
  'storage.k8s.io/csistoragecapacities': rules(groups.validateCSIStorageCapacity),
  'storage.k8s.io/volumeattributesclasses': rules(
    groups.validateVolumeAttributesClass,
    groups.validateVolumeAttributesClassUpdate,
  ),
  'storage.k8s.io/volumeattachments': rules(groups.validateVolumeAttachment, groups.validateSpecUnchanged),
  'node.k8s.io/runtimeclasses': rules(groups.validateRuntimeClass, groups.validateRuntimeClassUpdate),
  'discovery.k8s.io/endpointslices': rules(groups.validateEndpointSlice, groups.validateEndpointSliceUpdate),
  // certificates.k8s.io/certificatesigningrequests: validated per endpoint (main, /status,
  // /approval) by its registry strategy, with validation/certificates.ts.
  'admissionregistration.k8s.io/validatingwebhookconfigurations': rules(
    groups.validateValidatingWebhookConfiguration,
  ),
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': rules(
    groups.validateMutatingWebhookConfiguration,
  ),
  'admissionregistration.k8s.io/validatingadmissionpolicies': rules(groups.validateAdmissionPolicy),
  'admissionregistration.k8s.io/mutatingadmissionpolicies': rules(groups.validateAdmissionPolicy),
  'admissionregistration.k8s.io/validatingadmissionpolicybindings': rules(
    groups.validateAdmissionPolicyBinding,
  ),
  'admissionregistration.k8s.io/mutatingadmissionpolicybindings': rules(
    groups.validateAdmissionPolicyBinding,
  ),
  'flowcontrol.apiserver.k8s.io/flowschemas': rules(groups.validateFlowSchema),
  'flowcontrol.apiserver.k8s.io/prioritylevelconfigurations': rules(
    groups.validatePriorityLevelConfiguration,
  ),
  'apiregistration.k8s.io/apiservices': rules(groups.validateAPIService),
  'apiextensions.k8s.io/customresourcedefinitions': rules(groups.validateCustomResourceDefinition),
}

/**
 * The validation of a built-in resource (by group and plural name), with Kubernetes' rules and
 * wording; undefined for resources without rules beyond the generic metadata checks.
 */
export function validatorFor(group: string, resource: string): Validator | undefined {
  return validators[`${group}/${resource}`]
}
