import type { ClusterRole } from '../../api/generated/types/rbac-v1.ts'

/**
 * What metrics-server's manifest adds to a cluster so that whoever may view a namespace may also
 * `kubectl top` it: read access to metrics.k8s.io, aggregated into view, edit and admin.
 */
export const aggregatedMetricsReader: ClusterRole = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: {
    name: 'system:aggregated-metrics-reader',
    labels: {
      'k8s-app': 'metrics-server',
      'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
      'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
      'rbac.authorization.k8s.io/aggregate-to-view': 'true',
    },
  },
  rules: [{ apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] }],
}
