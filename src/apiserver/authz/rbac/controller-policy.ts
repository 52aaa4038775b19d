import type { ClusterRole, ClusterRoleBinding, PolicyRule } from '../../../api/generated/types/rbac-v1.ts'
import { clusterRole, clusterRoleBinding, eventsRule, read, rule, serviceAccount } from './policy-rules.ts'

/**
 * The roles of kube-controller-manager's controllers (bootstrappolicy's controller policy): each
 * controller that runs with its own service account (--use-service-account-credentials) is the
 * ServiceAccount kube-system/<name>, bound to ClusterRole system:controller:<name>.
 */

export const controllerRolePrefix = 'system:controller:'

function controllers(): Record<string, PolicyRule[]> {
  return {
    'attachdetach-controller': [
      rule(['list', 'watch'], [''], ['persistentvolumes', 'persistentvolumeclaims']),
      rule(read, [''], ['nodes']),
      rule(['patch', 'update'], [''], ['nodes/status']),
      rule(['list', 'watch'], [''], ['pods']),
      eventsRule(),
      rule(['get', 'create', 'delete', 'list', 'watch'], ['storage.k8s.io'], ['volumeattachments']),
      rule(read, ['storage.k8s.io'], ['csidrivers']),
      rule(read, ['storage.k8s.io'], ['csinodes']),
    ],
    'certificate-controller': [
      rule(['get', 'list', 'watch', 'delete'], ['certificates.k8s.io'], ['certificatesigningrequests']),
      rule(
        ['update'],
        ['certificates.k8s.io'],
        ['certificatesigningrequests/status', 'certificatesigningrequests/approval'],
      ),
      rule(
        ['approve'],
        ['certificates.k8s.io'],
        ['signers'],
        ['kubernetes.io/kube-apiserver-client-kubelet'],
      ),
      rule(
        ['sign'],
        ['certificates.k8s.io'],
        ['signers'],
        [
          'kubernetes.io/kube-apiserver-client',
          'kubernetes.io/kube-apiserver-client-kubelet',
          'kubernetes.io/kubelet-serving',
          'kubernetes.io/legacy-unknown',
        ],
      ),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      eventsRule(),
    ],
    'clusterrole-aggregation-controller': [
      // It writes roles with rules it does not hold itself: escalate.
      rule(
        ['escalate', 'get', 'list', 'watch', 'update', 'patch'],
        ['rbac.authorization.k8s.io'],
        ['clusterroles'],
      ),
    ],
    'cronjob-controller': [
      rule(['get', 'list', 'watch', 'update'], ['batch'], ['cronjobs']),
      rule(['get', 'list', 'watch', 'create', 'update', 'delete', 'patch'], ['batch'], ['jobs']),
      rule(['update'], ['batch'], ['cronjobs/status']),
      rule(['update'], ['batch'], ['cronjobs/finalizers']),
      rule(['list', 'watch', 'delete'], [''], ['pods']),
      eventsRule(),
    ],
    'daemon-set-controller': [
      rule(read, ['extensions', 'apps'], ['daemonsets']),
      rule(['update'], ['extensions', 'apps'], ['daemonsets/status']),
      rule(['update'], ['extensions', 'apps'], ['daemonsets/finalizers']),
      rule(['list', 'watch'], [''], ['nodes']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [''], ['pods']),
      rule(['create'], [''], ['pods/binding']),
      rule(
        ['get', 'list', 'watch', 'create', 'delete', 'update', 'patch'],
        ['apps'],
        ['controllerrevisions'],
      ),
      eventsRule(),
    ],
    'deployment-controller': [
      rule(['get', 'list', 'watch', 'update'], ['extensions', 'apps'], ['deployments']),
      rule(['update'], ['extensions', 'apps'], ['deployments/status']),
      rule(['update'], ['extensions', 'apps'], ['deployments/finalizers']),
      rule(
        ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
        ['apps', 'extensions'],
        ['replicasets'],
      ),
      // Recreate deployments list pods, and the rollout pauses update them.
      rule(['get', 'list', 'watch', 'update'], [''], ['pods']),
      eventsRule(),
    ],
    'disruption-controller': [
      rule(read, ['extensions', 'apps'], ['deployments']),
      rule(read, ['apps', 'extensions'], ['replicasets']),
      rule(read, [''], ['replicationcontrollers']),
      rule(read, ['policy'], ['poddisruptionbudgets']),
      rule(read, ['apps'], ['statefulsets']),
      rule(['update'], ['policy'], ['poddisruptionbudgets/status']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(['get'], ['*'], ['*/scale']),
      eventsRule(),
    ],
    'endpoint-controller': [
      rule(read, [''], ['services', 'pods']),
      rule(['get', 'list', 'create', 'update', 'delete', 'watch'], [''], ['endpoints']),
      rule(['create'], [''], ['endpoints/restricted']),
      eventsRule(),
    ],
    'endpointslice-controller': [
      rule(read, [''], ['services', 'pods', 'nodes']),
      // Owner references on endpoint slices point at their Service.
      rule(['update'], [''], ['services/finalizers']),
      rule(['get', 'list', 'create', 'update', 'delete', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
      eventsRule(),
    ],
    'endpointslicemirroring-controller': [
      rule(read, [''], ['services', 'endpoints']),
      rule(['update'], [''], ['services/finalizers']),
      rule(['update'], [''], ['endpoints/finalizers']),
      rule(['get', 'list', 'create', 'update', 'delete', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
      eventsRule(),
    ],
    'ephemeral-volume-controller': [
      rule(read, [''], ['pods']),
      rule(['update'], [''], ['pods/finalizers']),
      rule(['get', 'list', 'watch', 'create'], [''], ['persistentvolumeclaims']),
      eventsRule(),
    ],
    'expand-controller': [
      rule(['get', 'list', 'watch', 'update', 'patch'], [''], ['persistentvolumes']),
      rule(['update', 'patch'], [''], ['persistentvolumeclaims/status']),
      rule(read, [''], ['persistentvolumeclaims']),
      eventsRule(),
      rule(['get'], [''], ['services']),
    ],
    'generic-garbage-collector': [
      // It reads and deletes whatever has owners, and orphans by patching.
      rule(['get', 'list', 'watch', 'patch', 'update', 'delete'], ['*'], ['*']),
      eventsRule(),
    ],
    'horizontal-pod-autoscaler': [
      rule(read, ['autoscaling'], ['horizontalpodautoscalers']),
      rule(['update'], ['autoscaling'], ['horizontalpodautoscalers/status']),
      rule(['get', 'update'], ['*'], ['*/scale']),
      rule(['list', 'watch'], [''], ['pods']),
      // Any scale target's label selector.
      rule(read, ['*'], ['*']),
      rule(['list', 'watch'], ['metrics.k8s.io'], ['pods']),
      rule(read, ['custom.metrics.k8s.io'], ['*']),
      rule(read, ['external.metrics.k8s.io'], ['*']),
      eventsRule(),
    ],
    'job-controller': [
      rule(['get', 'list', 'watch', 'update', 'patch'], ['batch'], ['jobs']),
      rule(['update'], ['batch'], ['jobs/status']),
      rule(['update'], ['batch'], ['jobs/finalizers']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [''], ['pods']),
      eventsRule(),
    ],
    'legacy-service-account-token-cleaner': [
      rule(['get'], [''], ['configmaps'], ['kube-apiserver-legacy-service-account-token-tracking']),
      rule(['delete', 'patch'], [''], ['secrets']),
    ],
    'namespace-controller': [
      rule(['get', 'list', 'watch', 'delete'], [''], ['namespaces']),
      rule(['update'], [''], ['namespaces/finalize', 'namespaces/status']),
      rule(['get', 'list', 'watch', 'delete', 'deletecollection'], ['*'], ['*']),
    ],
    'node-controller': [
      rule(['get', 'list', 'update', 'delete', 'patch', 'watch'], [''], ['nodes']),
      rule(['patch', 'update'], [''], ['nodes/status']),
      // Marking pods not ready on lost nodes, and evicting them.
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(['list', 'watch', 'delete', 'get'], [''], ['pods']),
      eventsRule(),
    ],
    'persistent-volume-binder': [
      rule(['get', 'list', 'watch', 'update', 'create', 'delete'], [''], ['persistentvolumes']),
      rule(['update'], [''], ['persistentvolumes/status']),
      rule(['get', 'list', 'watch', 'update'], [''], ['persistentvolumeclaims']),
      rule(['update'], [''], ['persistentvolumeclaims/status']),
      rule(['list', 'watch', 'get', 'create', 'delete'], [''], ['pods']),
      rule(read, ['storage.k8s.io'], ['storageclasses']),
      rule(['list', 'watch'], [''], ['nodes']),
      eventsRule(),
      rule(['watch'], [''], ['events']),
      rule(['get'], [''], ['services']),
    ],
    'pod-garbage-collector': [
      rule(['list', 'watch', 'delete'], [''], ['pods']),
      rule(read, [''], ['nodes']),
      rule(['patch'], [''], ['pods/status']),
    ],
    podcertificaterequestcleaner: [
      rule(['get', 'list', 'watch', 'delete'], ['certificates.k8s.io'], ['podcertificaterequests']),
    ],
    'pv-protection-controller': [
      rule(['get', 'list', 'watch', 'update'], [''], ['persistentvolumes']),
      eventsRule(),
    ],
    'pvc-protection-controller': [
      rule(['get', 'list', 'watch', 'update'], [''], ['persistentvolumeclaims']),
      rule(read, [''], ['pods']),
      eventsRule(),
    ],
    'replicaset-controller': [
      rule(['get', 'list', 'watch', 'update'], ['apps', 'extensions'], ['replicasets']),
      rule(['update'], ['apps', 'extensions'], ['replicasets/status']),
      rule(['update'], ['apps', 'extensions'], ['replicasets/finalizers']),
      rule(['list', 'watch', 'patch', 'create', 'delete'], [''], ['pods']),
      eventsRule(),
    ],
    'replication-controller': [
      rule(['get', 'list', 'watch', 'update'], [''], ['replicationcontrollers']),
      rule(['update'], [''], ['replicationcontrollers/status']),
      rule(['update'], [''], ['replicationcontrollers/finalizers']),
      rule(['list', 'watch', 'patch', 'create', 'delete'], [''], ['pods']),
      eventsRule(),
    ],
    'resource-claim-controller': [
      rule(read, [''], ['pods']),
      rule(['update'], [''], ['pods/finalizers']),
      rule(['get', 'list', 'watch', 'create', 'delete'], ['resource.k8s.io'], ['resourceclaims']),
      rule(['update', 'patch'], ['resource.k8s.io'], ['resourceclaims', 'resourceclaims/status']),
      rule(['update', 'patch'], [''], ['pods/status']),
      eventsRule(),
    ],
    'resourcequota-controller': [
      // Counts every quota-able resource.
      rule(['list', 'watch'], ['*'], ['*']),
      rule(['update'], [''], ['resourcequotas/status']),
      eventsRule(),
    ],
    'root-ca-cert-publisher': [rule(['create', 'update'], [''], ['configmaps']), eventsRule()],
    'route-controller': [
      rule(['list', 'watch'], [''], ['nodes']),
      rule(['patch'], [''], ['nodes/status']),
      eventsRule(),
    ],
    'selinux-warning-controller': [
      eventsRule(),
      rule(read, [''], ['persistentvolumes']),
      rule(read, [''], ['persistentvolumeclaims']),
      rule(read, [''], ['pods']),
      rule(read, ['storage.k8s.io'], ['csidrivers']),
    ],
    'service-account-controller': [rule(['create'], [''], ['serviceaccounts']), eventsRule()],
    'service-cidrs-controller': [
      rule(['get', 'list', 'watch', 'patch', 'update'], ['networking.k8s.io'], ['servicecidrs']),
      rule(['patch', 'update'], ['networking.k8s.io'], ['servicecidrs/finalizers']),
      rule(['patch', 'update'], ['networking.k8s.io'], ['servicecidrs/status']),
      rule(read, ['networking.k8s.io'], ['ipaddresses']),
      eventsRule(),
    ],
    'service-controller': [
      rule(read, [''], ['services']),
      rule(['patch', 'update'], [''], ['services/status']),
      rule(['list', 'watch'], [''], ['nodes']),
      eventsRule(),
    ],
    'statefulset-controller': [
      rule(['list', 'watch'], [''], ['pods']),
      rule(read, ['apps'], ['statefulsets']),
      rule(['update'], ['apps'], ['statefulsets/status']),
      rule(['update'], ['apps'], ['statefulsets/finalizers']),
      rule(['get', 'create', 'delete', 'update', 'patch'], [''], ['pods']),
      rule(
        ['get', 'list', 'watch', 'create', 'delete', 'update', 'patch'],
        ['apps'],
        ['controllerrevisions'],
      ),
      rule(['get', 'create', 'list', 'watch'], [''], ['persistentvolumeclaims']),
      eventsRule(),
      // persistentVolumeClaimRetentionPolicy: claims are deleted or orphaned.
      rule(['update', 'delete'], [''], ['persistentvolumeclaims']),
      rule(['update'], [''], ['pods/finalizers']),
    ],
    'ttl-after-finished-controller': [
      rule(['delete', 'get', 'list', 'watch'], ['batch'], ['jobs']),
      eventsRule(),
    ],
    'ttl-controller': [rule(['update', 'patch', 'list', 'watch'], [''], ['nodes']), eventsRule()],
    'validatingadmissionpolicy-status-controller': [
      rule(read, ['admissionregistration.k8s.io'], ['validatingadmissionpolicies']),
      rule(
        ['get', 'patch', 'update'],
        ['admissionregistration.k8s.io'],
        ['validatingadmissionpolicies/status'],
      ),
      eventsRule(),
    ],
  }
}

/** system:controller:<name> for every controller, by name. */
export function controllerRoles(): ClusterRole[] {
  return Object.entries(controllers()).map(([name, rules]) => clusterRole(controllerRolePrefix + name, rules))
}

/** Each controller role bound to the controller's ServiceAccount in kube-system. */
export function controllerRoleBindings(): ClusterRoleBinding[] {
  return Object.keys(controllers()).map((name) =>
    clusterRoleBinding(controllerRolePrefix + name, [serviceAccount('kube-system', name)]),
  )
}
