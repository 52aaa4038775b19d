import type {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from '../../../api/generated/types/rbac-v1.ts'
import { controllerRoleBindings, controllerRoles } from './controller-policy.ts'
import {
  clusterRole,
  clusterRoleBinding,
  eventsRule,
  group,
  read,
  readUpdate,
  readWrite,
  role,
  roleBinding,
  rule,
  serviceAccount,
  urls,
  user,
  write,
} from './policy-rules.ts'

/**
 * Kubernetes' default RBAC policy (bootstrappolicy), as kube-apiserver v1.35 creates it at start
 * with its default feature gates: the ClusterRoles and ClusterRoleBindings every cluster has, the
 * Roles and RoleBindings of kube-system and kube-public, and one ClusterRole and binding per
 * kube-controller-manager controller (controller-policy.ts). Each object is labelled
 * kubernetes.io/bootstrapping=rbac-defaults and annotated rbac.authorization.kubernetes.io/autoupdate=true.
 *
 * The user-facing roles admin, edit and view are aggregated: they gather the rules of every
 * ClusterRole labelled rbac.authorization.k8s.io/aggregate-to-<role>=true (the
 * clusterrole-aggregation controller fills them in); view aggregates into edit and edit into admin.
 */

const aggregateToAdmin = 'rbac.authorization.k8s.io/aggregate-to-admin'
const aggregateToEdit = 'rbac.authorization.k8s.io/aggregate-to-edit'
const aggregateToView = 'rbac.authorization.k8s.io/aggregate-to-view'

/**
 * What the kubelet's node identity may do: the rules of the system:node ClusterRole, which the
 * default policy binds to no one; the Node authorizer grants them to nodes, narrowed to each
 * node's own objects, and NodeRestriction narrows the writes further.
 */
export function nodeRules() {
  return [
    // Checks of API access; these creates change nothing.
    rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
    // Services, for the environment variables of pods.
    rule(read, [''], ['services']),
    // Registering its Node and reporting its status.
    rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
    rule(['update', 'patch'], [''], ['nodes/status']),
    rule(['update', 'patch'], [''], ['nodes']),
    rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
    rule(read, [''], ['pods']),
    // Mirror pods, pod status and evictions of its own pods.
    rule(['create', 'delete'], [''], ['pods']),
    rule(['update', 'patch'], [''], ['pods/status']),
    rule(['create'], [''], ['pods/eviction']),
    // Secrets and config maps its pods use (narrowed by the Node authorizer).
    rule(read, [''], ['secrets', 'configmaps']),
    rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
    rule(['get'], [''], ['endpoints']),
    // Its client certificate, rotated.
    rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
    rule(['get'], ['storage.k8s.io'], ['volumeattachments']),
    rule(['create'], [''], ['serviceaccounts/token']),
    rule(['get', 'update', 'patch'], [''], ['persistentvolumeclaims/status']),
    rule(read, ['storage.k8s.io'], ['csidrivers']),
    rule(['get', 'create', 'update', 'patch', 'delete'], ['storage.k8s.io'], ['csinodes']),
    rule(read, ['node.k8s.io'], ['runtimeclasses']),
    // Dynamic resource allocation.
    rule(['get'], ['resource.k8s.io'], ['resourceclaims']),
    rule(['deletecollection'], ['resource.k8s.io'], ['resourceslices']),
    rule(['get'], [''], ['serviceaccounts']),
  ]
}

/** The default ClusterRoles, by name. */
export function clusterRoles(): ClusterRole[] {
  return [
    // Namespace administrator: edit, plus roles and bindings in the namespace.
    clusterRole('admin', [], { aggregateFrom: aggregateToAdmin }),
    // Anything, anywhere.
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    // Namespace editor: everything a user does in a namespace, not its quota and limits nor roles.
    clusterRole('edit', [], { aggregateFrom: aggregateToEdit, labels: { [aggregateToAdmin]: 'true' } }),
    clusterRole(
      'system:aggregate-to-admin',
      [
        rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
        rule(readWrite, ['rbac.authorization.k8s.io'], ['roles', 'rolebindings']),
      ],
      { labels: { [aggregateToAdmin]: 'true' } },
    ),
    clusterRole(
      'system:aggregate-to-edit',
      [
        // Reading what can escalate.
        rule(
          read,
          [''],
          ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy'],
        ),
        rule(['impersonate'], [''], ['serviceaccounts']),
        rule(write, [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
        rule(['create'], [''], ['pods/eviction']),
        rule(
          write,
          [''],
          [
            'replicationcontrollers',
            'replicationcontrollers/scale',
            'serviceaccounts',
            'services',
            'services/proxy',
            'persistentvolumeclaims',
            'configmaps',
            'secrets',
          ],
        ),
        rule(['create'], [''], ['serviceaccounts/token']),
        rule(write, ['', 'events.k8s.io'], ['events']),
        rule(
          write,
          ['apps'],
          [
            'statefulsets',
            'statefulsets/scale',
            'daemonsets',
            'deployments',
            'deployments/scale',
            'deployments/rollback',
            'replicasets',
            'replicasets/scale',
          ],
        ),
        rule(write, ['autoscaling'], ['horizontalpodautoscalers']),
        rule(write, ['batch'], ['jobs', 'cronjobs']),
        rule(
          write,
          ['extensions'],
          [
            'daemonsets',
            'deployments',
            'deployments/scale',
            'deployments/rollback',
            'ingresses',
            'replicasets',
            'replicasets/scale',
            'replicationcontrollers/scale',
            'networkpolicies',
          ],
        ),
        rule(write, ['policy'], ['poddisruptionbudgets']),
        rule(write, ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
        rule(readWrite, ['coordination.k8s.io'], ['leases']),
        rule(write, ['resource.k8s.io'], ['resourceclaims', 'resourceclaimtemplates']),
      ],
      { labels: { [aggregateToEdit]: 'true' } },
    ),
    clusterRole(
      'system:aggregate-to-view',
      [
        rule(
          read,
          [''],
          [
            'pods',
            'replicationcontrollers',
            'replicationcontrollers/scale',
            'serviceaccounts',
            'services',
            'services/status',
            'endpoints',
            'persistentvolumeclaims',
            'persistentvolumeclaims/status',
            'configmaps',
          ],
        ),
        rule(
          read,
          [''],
          [
            'limitranges',
            'resourcequotas',
            'bindings',
            'pods/status',
            'resourcequotas/status',
            'namespaces/status',
            'replicationcontrollers/status',
            'pods/log',
          ],
        ),
        // Reading namespaces at namespace scope reads this one: which namespaces one can see.
        rule(read, [''], ['namespaces']),
        rule(read, ['', 'events.k8s.io'], ['events']),
        rule(read, ['discovery.k8s.io'], ['endpointslices']),
        rule(
          read,
          ['apps'],
          [
            'controllerrevisions',
            'statefulsets',
            'statefulsets/status',
            'statefulsets/scale',
            'daemonsets',
            'daemonsets/status',
            'deployments',
            'deployments/status',
            'deployments/scale',
            'replicasets',
            'replicasets/status',
            'replicasets/scale',
          ],
        ),
        rule(read, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
        rule(read, ['batch'], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
        rule(
          read,
          ['extensions'],
          [
            'daemonsets',
            'daemonsets/status',
            'deployments',
            'deployments/scale',
            'deployments/status',
            'ingresses',
            'ingresses/status',
            'replicasets',
            'replicasets/scale',
            'replicasets/status',
            'replicationcontrollers/scale',
            'networkpolicies',
          ],
        ),
        rule(read, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
        rule(read, ['networking.k8s.io'], ['networkpolicies', 'ingresses', 'ingresses/status']),
        rule(
          read,
          ['resource.k8s.io'],
          ['resourceclaims', 'resourceclaims/status', 'resourceclaimtemplates'],
        ),
      ],
      { labels: { [aggregateToView]: 'true' } },
    ),
    // Authentication and authorization delegation (aggregated apiservers, kubelets' webhooks).
    clusterRole('system:auth-delegator', [
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    ]),
    // What a signed-in user may learn of themselves.
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:certificates.k8s.io:certificatesigningrequests:nodeclient', [
      rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/nodeclient']),
    ]),
    clusterRole('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [
      rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/selfnodeclient']),
    ]),
    clusterRole('system:certificates.k8s.io:kube-apiserver-client-approver', [
      rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client']),
    ]),
    clusterRole('system:certificates.k8s.io:kube-apiserver-client-kubelet-approver', [
      rule(
        ['approve'],
        ['certificates.k8s.io'],
        ['signers'],
        ['kubernetes.io/kube-apiserver-client-kubelet'],
      ),
    ]),
    clusterRole('system:certificates.k8s.io:kubelet-serving-approver', [
      rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kubelet-serving']),
    ]),
    clusterRole('system:certificates.k8s.io:legacy-unknown-approver', [
      rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/legacy-unknown']),
    ]),
    // Enough to see that the server is ready and to negotiate API versions.
    clusterRole('system:discovery', [
      urls(
        ['get'],
        [
          '/livez',
          '/readyz',
          '/healthz',
          '/version',
          '/version/',
          '/openapi',
          '/openapi/*',
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
        ],
      ),
    ]),
    clusterRole('system:heapster', [
      rule(read, [''], ['events', 'pods', 'nodes', 'namespaces']),
      rule(read, ['extensions'], ['deployments']),
    ]),
    clusterRole('system:kube-aggregator', [rule(read, [''], ['services', 'endpoints'])]),
    // kube-controller-manager's own identity, enough to make the controllers' service accounts.
    clusterRole('system:kube-controller-manager', [
      eventsRule(),
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
      rule(['create'], [''], ['secrets', 'serviceaccounts']),
      rule(['delete'], [''], ['secrets']),
      rule(['get'], [''], ['namespaces', 'secrets', 'serviceaccounts', 'configmaps']),
      rule(['update'], [''], ['secrets', 'serviceaccounts']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      // Every controller's informers.
      rule(['list', 'watch'], ['*'], ['*']),
      rule(['create'], [''], ['serviceaccounts/token']),
    ]),
    clusterRole('system:kube-dns', [rule(['list', 'watch'], [''], ['endpoints', 'services'])]),
    clusterRole('system:kube-scheduler', [
      eventsRule(),
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'list', 'update', 'watch'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
      rule(readWrite, ['coordination.k8s.io'], ['leasecandidates']),
      rule(read, [''], ['nodes']),
      rule(['get', 'list', 'watch', 'delete'], [''], ['pods']),
      rule(['create'], [''], ['pods/binding', 'bindings']),
      rule(['patch', 'update'], [''], ['pods/status']),
      // Spreading over the pods of one owner.
      rule(read, [''], ['replicationcontrollers', 'services']),
      rule(read, ['apps', 'extensions'], ['replicasets']),
      rule(read, ['apps'], ['statefulsets']),
      rule(read, ['policy'], ['poddisruptionbudgets']),
      rule(read, [''], ['persistentvolumeclaims', 'persistentvolumes']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      rule(read, ['storage.k8s.io'], ['csinodes']),
      rule(read, ['storage.k8s.io'], ['volumeattachments']),
      rule(read, [''], ['namespaces']),
      rule(read, ['storage.k8s.io'], ['csidrivers']),
      rule(read, ['storage.k8s.io'], ['csistoragecapacities']),
      // Dynamic resource allocation.
      rule(read, ['resource.k8s.io'], ['deviceclasses']),
      rule(readUpdate, ['resource.k8s.io'], ['resourceclaims']),
      rule(readUpdate, ['resource.k8s.io'], ['resourceclaims/status']),
      rule(['update'], [''], ['pods/finalizers']),
      rule(read, ['resource.k8s.io'], ['resourceslices']),
      rule(['create', 'delete'], ['resource.k8s.io'], ['resourceclaims']),
    ]),
    // Full access to the kubelet's API.
    clusterRole('system:kubelet-api-admin', [
      rule(read, [''], ['nodes']),
      rule(['proxy'], [''], ['nodes']),
      rule(['*'], [''], ['nodes/proxy', 'nodes/metrics', 'nodes/stats', 'nodes/log']),
      rule(['*'], [''], ['nodes/pods', 'nodes/healthz', 'nodes/configz']),
    ]),
    // Health and metrics of the control plane.
    clusterRole('system:monitoring', [
      urls(
        ['get'],
        [
          '/metrics',
          '/metrics/slis',
          '/livez',
          '/readyz',
          '/healthz',
          '/livez/*',
          '/readyz/*',
          '/healthz/*',
          '/statusz',
        ],
      ),
      rule(['get'], [''], ['nodes/metrics']),
    ]),
    clusterRole('system:node', nodeRules()),
    // What a node needs to get its first client certificate (TLS bootstrapping).
    clusterRole('system:node-bootstrapper', [
      rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    ]),
    clusterRole('system:node-problem-detector', [
      rule(['get'], [''], ['nodes']),
      rule(['patch'], [''], ['nodes/status']),
      eventsRule(),
    ]),
    // kube-proxy.
    clusterRole('system:node-proxier', [
      rule(['list', 'watch'], [''], ['services', 'endpoints']),
      rule(read, [''], ['nodes']),
      eventsRule(),
      rule(['list', 'watch'], ['networking.k8s.io'], ['servicecidrs']),
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ]),
    clusterRole('system:persistent-volume-provisioner', [
      rule(['get', 'list', 'watch', 'create', 'delete'], [''], ['persistentvolumes']),
      rule(['get', 'list', 'watch', 'update'], [''], ['persistentvolumeclaims']),
      rule(read, ['storage.k8s.io'], ['storageclasses']),
      rule(['watch'], [''], ['events']),
      eventsRule(),
    ]),
    // What anyone may read, signed in or not.
    clusterRole('system:public-info-viewer', [
      urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/']),
    ]),
    clusterRole('system:service-account-issuer-discovery', [
      urls(
        ['get'],
        [
          '/.well-known/openid-configuration',
          '/.well-known/openid-configuration/',
          '/openid/v1/jwks',
          '/openid/v1/jwks/',
        ],
      ),
    ]),
    clusterRole('system:volume-scheduler', [
      rule(readUpdate, [''], ['persistentvolumes']),
      rule(read, ['storage.k8s.io'], ['storageclasses']),
      rule(readUpdate, [''], ['persistentvolumeclaims']),
    ]),
    // Namespace viewer: reads what does not escalate (no secrets).
    clusterRole('view', [], { aggregateFrom: aggregateToView, labels: { [aggregateToEdit]: 'true' } }),
    ...controllerRoles(),
  ]
}

/** The default ClusterRoleBindings, by name. */
export function clusterRoleBindings(): ClusterRoleBinding[] {
  return [
    clusterRoleBinding('cluster-admin', [group('system:masters')]),
    clusterRoleBinding('system:basic-user', [group('system:authenticated')]),
    clusterRoleBinding('system:discovery', [group('system:authenticated')]),
    clusterRoleBinding('system:kube-controller-manager', [user('system:kube-controller-manager')]),
    clusterRoleBinding('system:kube-dns', [serviceAccount('kube-system', 'kube-dns')]),
    clusterRoleBinding('system:kube-scheduler', [user('system:kube-scheduler')]),
    clusterRoleBinding('system:monitoring', [group('system:monitoring')]),
    // Bound to no one: nodes are authorized by the Node authorizer (kept for clusters that bind it).
    clusterRoleBinding('system:node', []),
    clusterRoleBinding('system:node-proxier', [user('system:kube-proxy')]),
    clusterRoleBinding('system:public-info-viewer', [
      group('system:authenticated'),
      group('system:unauthenticated'),
    ]),
    clusterRoleBinding('system:service-account-issuer-discovery', [group('system:serviceaccounts')]),
    clusterRoleBinding('system:volume-scheduler', [user('system:kube-scheduler')]),
    ...controllerRoleBindings(),
  ]
}

/** The default Roles of kube-system and kube-public. */
export function namespaceRoles(): Role[] {
  const leaderLocking = [
    rule(['watch', 'list', 'get', 'create', 'update'], ['coordination.k8s.io'], ['leases']),
    rule(['watch', 'list', 'get', 'create', 'update'], ['coordination.k8s.io'], ['leasecandidates']),
  ]
  return [
    role('kube-public', 'system:controller:bootstrap-signer', [
      rule(read, [''], ['configmaps']),
      rule(['update'], [''], ['configmaps'], ['cluster-info']),
      eventsRule(),
    ]),
    // Reads the configmap extension apiservers learn the front proxy's settings from.
    role('kube-system', 'extension-apiserver-authentication-reader', [
      rule(read, [''], ['configmaps'], ['extension-apiserver-authentication']),
    ]),
    role('kube-system', 'system::leader-locking-kube-controller-manager', leaderLocking),
    role('kube-system', 'system::leader-locking-kube-scheduler', leaderLocking),
    role('kube-system', 'system:controller:bootstrap-signer', [rule(read, [''], ['secrets'])]),
    role('kube-system', 'system:controller:cloud-provider', [
      rule(['create', 'get', 'list', 'watch'], [''], ['configmaps']),
    ]),
    role('kube-system', 'system:controller:token-cleaner', [
      rule(['delete', 'get', 'list', 'watch'], [''], ['secrets']),
      eventsRule(),
    ]),
  ]
}

/** The default RoleBindings of kube-system and kube-public. */
export function namespaceRoleBindings(): RoleBinding[] {
  return [
    roleBinding('kube-public', 'system:controller:bootstrap-signer', 'system:controller:bootstrap-signer', [
      serviceAccount('kube-system', 'bootstrap-signer'),
    ]),
    roleBinding(
      'kube-system',
      'system::extension-apiserver-authentication-reader',
      'extension-apiserver-authentication-reader',
      [user('system:kube-controller-manager'), user('system:kube-scheduler')],
    ),
    roleBinding(
      'kube-system',
      'system::leader-locking-kube-controller-manager',
      'system::leader-locking-kube-controller-manager',
      [
        user('system:kube-controller-manager'),
        serviceAccount('kube-system', 'kube-controller-manager'),
        serviceAccount('kube-system', 'leader-election-controller'),
      ],
    ),
    roleBinding(
      'kube-system',
      'system::leader-locking-kube-scheduler',
      'system::leader-locking-kube-scheduler',
      [user('system:kube-scheduler'), serviceAccount('kube-system', 'kube-scheduler')],
    ),
    roleBinding('kube-system', 'system:controller:bootstrap-signer', 'system:controller:bootstrap-signer', [
      serviceAccount('kube-system', 'bootstrap-signer'),
    ]),
    roleBinding('kube-system', 'system:controller:cloud-provider', 'system:controller:cloud-provider', [
      serviceAccount('kube-system', 'cloud-provider'),
    ]),
    roleBinding('kube-system', 'system:controller:token-cleaner', 'system:controller:token-cleaner', [
      serviceAccount('kube-system', 'token-cleaner'),
    ]),
  ]
}
