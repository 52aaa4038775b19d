import type { KubeObject } from '../object.ts'
import * as core from './core.ts'
import * as groups from './groups.ts'
import * as workloads from './workloads.ts'

type Defaulter = (obj: Record<string, unknown>) => void

/**
 * The kinds whose v1.35 defaulting changes something, by `group/version/kind` (`v1/Kind` for the
 * core group). Kinds left out have nothing to default that shows in their JSON: ConfigMap (an
 * empty data map), ServiceAccount, Event, Lease, RuntimeClass, PodDisruptionBudget, Ingress,
 * CertificateSigningRequest, the RBAC roles, ...
 */
const defaulters: Record<string, Defaulter> = {
  'v1/Pod': core.defaultPod,
  'v1/PodTemplate': core.defaultPodTemplate,
  'v1/ReplicationController': core.defaultReplicationController,
  'v1/Service': core.defaultService,
  'v1/Endpoints': core.defaultEndpoints,
  'v1/PersistentVolumeClaim': core.defaultPersistentVolumeClaim,
  'v1/PersistentVolume': core.defaultPersistentVolume,
  'v1/Secret': core.defaultSecret,
  'v1/Namespace': core.defaultNamespace,
  'v1/Node': core.defaultNode,
  'v1/LimitRange': core.defaultLimitRange,
  'v1/ResourceQuota': core.defaultResourceQuota,
  'apps/v1/Deployment': workloads.defaultDeployment,
  'apps/v1/ReplicaSet': workloads.defaultReplicaSet,
  'apps/v1/DaemonSet': workloads.defaultDaemonSet,
  'apps/v1/StatefulSet': workloads.defaultStatefulSet,
  'batch/v1/Job': workloads.defaultJob,
  'batch/v1/CronJob': workloads.defaultCronJob,
  'networking.k8s.io/v1/NetworkPolicy': groups.defaultNetworkPolicy,
  'networking.k8s.io/v1/IngressClass': groups.defaultIngressClass,
  'rbac.authorization.k8s.io/v1/RoleBinding': groups.defaultRoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': groups.defaultRoleBinding,
  'autoscaling/v2/HorizontalPodAutoscaler': groups.defaultHorizontalPodAutoscaler,
  'autoscaling/v1/HorizontalPodAutoscaler': groups.defaultHorizontalPodAutoscalerV1,
  'scheduling.k8s.io/v1/PriorityClass': groups.defaultPriorityClass,
  'storage.k8s.io/v1/StorageClass': groups.defaultStorageClass,
  'storage.k8s.io/v1/CSIDriver': groups.defaultCSIDriver,
  'storage.k8s.io/v1/VolumeAttachment': groups.defaultVolumeAttachment,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration':
    groups.defaultValidatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': groups.defaultMutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': groups.defaultAdmissionPolicy,
  'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy': groups.defaultAdmissionPolicy,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': groups.defaultAdmissionPolicyBinding,
  'admissionregistration.k8s.io/v1/MutatingAdmissionPolicyBinding': groups.defaultAdmissionPolicyBinding,
  'discovery.k8s.io/v1/EndpointSlice': groups.defaultEndpointSlice,
  'flowcontrol.apiserver.k8s.io/v1/FlowSchema': groups.defaultFlowSchema,
  'flowcontrol.apiserver.k8s.io/v1/PriorityLevelConfiguration': groups.defaultPriorityLevelConfiguration,
  'resource.k8s.io/v1/ResourceClaim': groups.defaultResourceClaim,
  'resource.k8s.io/v1/ResourceClaimTemplate': groups.defaultResourceClaimTemplate,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': groups.defaultCustomResourceDefinition,
  'apiregistration.k8s.io/v1/APIService': groups.defaultAPIService,
}

/**
 * The defaulting function of a built-in kind, as kube-apiserver defaults objects when it decodes
 * them (it changes the object in place); undefined for kinds without defaults.
 */
export function defaulterFor(
  group: string,
  version: string,
  kind: string,
): ((obj: KubeObject) => void) | undefined {
  return defaulters[`${group === '' ? '' : `${group}/`}${version}/${kind}`]
}
