import type { PolicyRule } from '../../../api/generated/types/rbac-v1.ts'
import type { UserInfo } from '../../authn/authenticator.ts'
import type {
  Attributes,
  Authorizer,
  Decision,
  ResourceAttributes,
  RuleResolver,
  SubjectRules,
} from '../authorizer.ts'
import { ruleAllows } from '../rbac/rules.ts'
import type { NodeGraph, VertexType } from './graph.ts'
import { nodeNameOf } from './identity.ts'

/** The namespace of the nodes' heartbeat Leases. */
export const nodeLeaseNamespace = 'kube-node-lease'

const allow: Decision = { decision: 'allow' }
const noOpinion: Decision = { decision: 'no-opinion' }
const because = (reason: string): Decision => ({ decision: 'no-opinion', reason })

/**
 * kube-apiserver's Node authorizer (--authorization-mode=Node): what a kubelet may do, narrowed
 * to its own node. A node is a user named system:node:<name> in the group system:nodes
 * (identity.ts); for anyone else it has no opinion.
 *
 * - secrets, configmaps (get, list, watch of one object), persistentvolumeclaims,
 *   persistentvolumes, resourceclaims, volumeattachments (get), serviceaccounts (get, and create
 *   of their token): only what the graph links to the node, i.e. what its pods use;
 * - persistentvolumeclaims/status (update, patch): claims its pods use;
 * - its own Node (get, list, watch by name); Nodes and nodes/status (create, update, patch: the
 *   NodeRestriction admission plugin keeps a node to its own);
 * - pods: get of its pods, list and watch with the field selector spec.nodeName=<node>, create
 *   and delete (mirror pods), pods/status and pods/eviction (NodeRestriction keeps these to its
 *   own pods);
 * - leases in kube-node-lease and csinodes named as the node; resourceslices of the node;
 * - everything else by the rules of the system:node ClusterRole (bootstrap-policy.ts), which the
 *   default policy binds to no one: nodes get them here.
 *
 * Refusals are "no opinion" with kube-apiserver's reasons, so RBAC may still allow the request.
 */
export class NodeAuthorizer implements Authorizer, RuleResolver {
  readonly #graph: NodeGraph
  readonly #rules: readonly Readonly<PolicyRule>[]

  constructor(graph: NodeGraph, rules: readonly Readonly<PolicyRule>[]) {
    this.#graph = graph
    this.#rules = rules
  }

  authorize(a: Attributes): Decision {
    const nodeName = nodeNameOf(a.user)
    if (nodeName === undefined) return noOpinion
    if (nodeName === '') return because(`unknown node for user "${a.user.name}"`)
    if (a.resourceRequest) {
      switch (`${a.apiGroup}/${a.resource}`) {
        case '/secrets':
          return this.#readNamespacedObject(nodeName, 'secret', a)
        case '/configmaps':
          return this.#readNamespacedObject(nodeName, 'configmap', a)
        case '/persistentvolumeclaims':
          return a.subresource === 'status'
            ? this.#statusUpdate(nodeName, 'pvc', a)
            : this.#get(nodeName, 'pvc', a)
        case '/persistentvolumes':
          return this.#get(nodeName, 'pv', a)
        case 'resource.k8s.io/resourceclaims':
          return this.#get(nodeName, 'resourceclaim', a)
        case 'storage.k8s.io/volumeattachments':
          return this.#get(nodeName, 'volumeattachment', a)
        case '/serviceaccounts':
          return this.#serviceAccount(nodeName, a)
        case 'coordination.k8s.io/leases':
          return lease(nodeName, a)
        case 'storage.k8s.io/csinodes':
          return csiNode(nodeName, a)
        case 'resource.k8s.io/resourceslices':
          return this.#resourceSlice(nodeName, a)
        case '/nodes':
          return node(nodeName, a)
        case '/pods':
          return this.#pod(nodeName, a)
      }
    }
    // Not divided per node: the static rules decide.
    for (const rule of this.#rules) if (ruleAllows(a, rule)) return allow
    return noOpinion
  }

  /** Nodes' rules cannot be listed: a rules review of a node is incomplete (as upstream's). */
  rulesFor(user: UserInfo): SubjectRules {
    if (nodeNameOf(user) === undefined) {
      return { resourceRules: [], nonResourceRules: [], incomplete: false, errors: [] }
    }
    return {
      resourceRules: [],
      nonResourceRules: [],
      incomplete: true,
      errors: ['node authorizer does not support user rule resolution'],
    }
  }

  /** get, list and watch of one namespaced object the node reaches. */
  #readNamespacedObject(nodeName: string, type: VertexType, a: ResourceAttributes): Decision {
    if (a.verb !== 'get' && a.verb !== 'list' && a.verb !== 'watch') {
      return because('can only read resources of this type')
    }
    if (a.subresource !== '') return because('cannot read subresource')
    if (a.namespace === '') return because('can only read namespaced object of this type')
    return this.#related(nodeName, type, a)
  }

  /** get of one object the node reaches. */
  #get(nodeName: string, type: VertexType, a: ResourceAttributes): Decision {
    if (a.verb !== 'get') return because('can only get individual resources of this type')
    if (a.subresource !== '') return because('cannot get subresource')
    return this.#related(nodeName, type, a)
  }

  /** update and patch of the status of an object the node reaches. */
  #statusUpdate(nodeName: string, type: VertexType, a: ResourceAttributes): Decision {
    if (a.verb !== 'update' && a.verb !== 'patch') return because('can only get/update/patch this type')
    if (a.subresource !== 'status') return because('can only update status subresource')
    return this.#related(nodeName, type, a)
  }

  #related(nodeName: string, type: VertexType, a: ResourceAttributes): Decision {
    if (a.name === '') return because('No Object name found')
    if (this.#graph.hasPathFrom(nodeName, type, a.namespace, a.name)) return allow
    return because(`no relationship found between node '${nodeName}' and this object`)
  }

  /** get of the accounts of its pods (image credential providers), create of their tokens. */
  #serviceAccount(nodeName: string, a: ResourceAttributes): Decision {
    if (a.verb === 'get' && a.subresource === '') {
      return this.#readNamespacedObject(nodeName, 'serviceaccount', a)
    }
    if (a.verb !== 'create' || a.name === '') {
      return because('can only create tokens for individual service accounts')
    }
    if (a.subresource !== 'token') return because('can only create token subresource of serviceaccount')
    return this.#related(nodeName, 'serviceaccount', a)
  }

  #resourceSlice(nodeName: string, a: ResourceAttributes): Decision {
    if (a.subresource !== '') return because('cannot authorize ResourceSlice subresources')
    switch (a.verb) {
      case 'create':
        // The object's spec.nodeName is NodeRestriction's to check.
        return allow
      case 'get':
      case 'update':
      case 'patch':
      case 'delete':
        return this.#related(nodeName, 'resourceslice', a)
      case 'watch':
      case 'list':
      case 'deletecollection':
        if (selects(a, 'spec.nodeName', nodeName)) return allow
        return because('can only list/watch/deletecollection resourceslices with nodeName field selector')
      default:
        return because(
          'only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection',
        )
    }
  }

  #pod(nodeName: string, a: ResourceAttributes): Decision {
    switch (a.subresource) {
      case '':
        switch (a.verb) {
          case 'get':
            return this.#get(nodeName, 'pod', a)
          case 'list':
          case 'watch':
            if (selects(a, 'spec.nodeName', nodeName)) return allow
            // One pod, named by a metadata.name field selector.
            if (a.name !== '') return this.#related(nodeName, 'pod', a)
            return because('can only list/watch pods with spec.nodeName field selector')
          case 'create':
          case 'delete':
            // Mirror pods; NodeRestriction keeps them to pods bound to this node.
            return allow
        }
        break
      case 'status':
        if (a.verb === 'update' || a.verb === 'patch') return allow
        break
      case 'eviction':
        if (a.verb === 'create') return allow
        break
    }
    return noOpinion
  }
}

/** Leases in kube-node-lease named as the node (create is checked by NodeRestriction). */
function lease(nodeName: string, a: ResourceAttributes): Decision {
  switch (a.verb) {
    case 'get':
    case 'create':
    case 'update':
    case 'patch':
    case 'delete':
      break
    default:
      return because('can only get, create, update, patch, or delete a node lease')
  }
  if (a.namespace !== nodeLeaseNamespace) {
    return because(`can only access leases in the "${nodeLeaseNamespace}" system namespace`)
  }
  if (a.verb !== 'create' && a.name !== nodeName) {
    return because('can only access node lease with the same name as the requesting node')
  }
  return allow
}

/** The CSINode named as the node (create is checked by NodeRestriction). */
function csiNode(nodeName: string, a: ResourceAttributes): Decision {
  switch (a.verb) {
    case 'get':
    case 'create':
    case 'update':
    case 'patch':
    case 'delete':
      break
    default:
      return because('can only get, create, update, patch, or delete a CSINode')
  }
  if (a.subresource !== '') return because('cannot authorize CSINode subresources')
  if (a.verb !== 'create' && a.name !== nodeName) {
    return because('can only access CSINode with the same name as the requesting node')
  }
  return allow
}

/** Its own Node: read by name (even before it exists); create and writes for NodeRestriction. */
function node(nodeName: string, a: ResourceAttributes): Decision {
  switch (a.subresource) {
    case '':
      switch (a.verb) {
        case 'create':
        case 'update':
        case 'patch':
          return allow
        case 'get':
        case 'list':
        case 'watch':
          if (a.name === nodeName) return allow
          if (a.name === '')
            return because(`node '${nodeName}' cannot read all nodes, only its own Node object`)
          return because(`node '${nodeName}' cannot read '${a.name}', only its own Node object`)
      }
      break
    case 'status':
      if (a.verb === 'update' || a.verb === 'patch') return allow
      break
  }
  return noOpinion
}

/** Whether the request's field selector requires `field` to equal `value`. */
function selects(a: ResourceAttributes, field: string, value: string): boolean {
  for (const r of a.fieldSelector ?? [])
    if (r.field === field && r.operator === '=' && r.value === value) return true
  return false
}
