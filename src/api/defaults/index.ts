import type { KubeObject } from '../object.ts'
import * as core from './core.ts'
import * as groups from './groups.ts'

type Defaulter = (obj: Record<string, unknown>) => void

const defaulters: Record<string, Defaulter> = {
  'v1/Pod': core.defaultPod,
  'v1/PodTemplate': core.defaultPodTemplateObject,
  'v1/ReplicationController': core.defaultReplicationController,
  'v1/Service': core.defaultService,
  'v1/PersistentVolumeClaim': core.defaultPersistentVolumeClaim,
  'v1/PersistentVolume': core.defaultPersistentVolume,
  'v1/Endpoints': core.defaultEndpoints,
  'v1/Secret': core.defaultSecret,
  'v1/Namespace': core.defaultNamespace,
  'v1/Node': core.defaultNode,
  'v1/LimitRange': core.defaultLimitRange,
  'apps/v1/Deployment': groups.defaultDeployment,
  'apps/v1/ReplicaSet': groups.defaultReplicaSet,
  'apps/v1/DaemonSet': groups.defaultDaemonSet,
  'apps/v1/StatefulSet': groups.defaultStatefulSet,
  'batch/v1/Job': groups.defaultJob,
  'batch/v1/CronJob': groups.defaultCronJob,
  'networking.k8s.io/v1/NetworkPolicy': groups.defaultNetworkPolicy,
  'networking.k8s.io/v1/IngressClass': groups.defaultIngressClass,
  'rbac.authorization.k8s.io/v1/RoleBinding': groups.defaultBinding,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': groups.defaultBinding,
  'autoscaling/v2/HorizontalPodAutoscaler': groups.defaultHorizontalPodAutoscalerV2,
  'autoscaling/v1/HorizontalPodAutoscaler': groups.defaultHorizontalPodAutoscalerV1,
  'scheduling.k8s.io/v1/PriorityClass': groups.defaultPriorityClass,
  'storage.k8s.io/v1/StorageClass': groups.defaultStorageClass,
  'storage.k8s.io/v1/CSIDriver': groups.defaultCSIDriver,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration':
    groups.defaultValidatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': groups.defaultMutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': groups.defaultAdmissionPolicy,
  'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy': groups.defaultMutatingAdmissionPolicy,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': groups.defaultAdmissionPolicyBinding,
  'admissionregistration.k8s.io/v1/MutatingAdmissionPolicyBinding': groups.defaultAdmissionPolicyBinding,
  'discovery.k8s.io/v1/EndpointSlice': groups.defaultEndpointSlice,
  'flowcontrol.apiserver.k8s.io/v1/FlowSchema': groups.defaultFlowSchema,
  'flowcontrol.apiserver.k8s.io/v1/PriorityLevelConfiguration': groups.defaultPriorityLevelConfiguration,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': groups.defaultCustomResourceDefinition,
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
