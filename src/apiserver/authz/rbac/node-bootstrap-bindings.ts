import type { ClusterRoleBinding } from '../../../api/generated/types/rbac-v1.ts'
import { nodesGroup } from '../../../api/certificate-signing-request.ts'

/**
 * TLS bootstrapping of nodes, as kubeadm sets it up (its bootstrap-token phase): the group its
 * node tokens carry (auth-extra-groups of the token Secret), and the ClusterRoleBindings that
 * let such a token ask for a kubelet client certificate, have that request approved by the
 * controller-manager's csrapproving, and let nodes renew their certificates themselves:
 *
 *   kubeadm:kubelet-bootstrap                     system:node-bootstrapper → the token group
 *   kubeadm:node-autoapprove-bootstrap            ...:nodeclient            → the token group
 *   kubeadm:node-autoapprove-certificate-rotation ...:selfnodeclient        → system:nodes
 *
 * k8ts plays kubeadm's part: the apiserver creates them when missing. They are not reconciled
 * like the default policy; an administrator may change them.
 */
export const nodeBootstrapTokenGroup = 'system:bootstrappers:kubeadm:default-node-token'

export const nodeBootstrapBindings: readonly ClusterRoleBinding[] = [
  binding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', nodeBootstrapTokenGroup),
  binding(
    'kubeadm:node-autoapprove-bootstrap',
    'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
    nodeBootstrapTokenGroup,
  ),
  binding(
    'kubeadm:node-autoapprove-certificate-rotation',
    'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
    nodesGroup,
  ),
]

function binding(name: string, clusterRole: string, group: string): ClusterRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
  }
}
