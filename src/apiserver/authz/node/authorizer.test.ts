import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Pod } from '../../../api/generated/types/core-v1.ts'
import { parseFieldSelector } from '../../../api/selectors/field-selector.ts'
import type { UserInfo } from '../../authn/authenticator.ts'
import type { Attributes, Decision } from '../authorizer.ts'
import { nodeRules } from '../rbac/bootstrap-policy.ts'
import { NodeAuthorizer } from './authorizer.ts'
import { NodeGraph } from './graph.ts'

const n1: UserInfo = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] }

function pod(name: string, nodeName: string, spec: Partial<Pod['spec']> = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}` },
    spec: { containers: [{ name: 'c' }], nodeName, ...spec },
  }
}

const graph = new NodeGraph()
graph.addPod(
  pod('mine', 'n1', {
    serviceAccountName: 'runner',
    volumes: [
      { name: 's', secret: { secretName: 'mine-secret' } },
      { name: 'c', configMap: { name: 'mine-cm' } },
      { name: 'v', persistentVolumeClaim: { claimName: 'mine-claim' } },
    ],
    resourceClaims: [{ name: 'gpu', resourceClaimName: 'mine-gpu' }],
  }),
)
graph.addPod(pod('theirs', 'n2', { volumes: [{ name: 's', secret: { secretName: 'their-secret' } }] }))
graph.addPersistentVolume({
  metadata: { name: 'mine-pv' },
  spec: { claimRef: { namespace: 'ns', name: 'mine-claim' } },
})
graph.addNodeObject('volumeattachment', 'mine-va', 'n1')
graph.addNodeObject('resourceslice', 'mine-slice', 'n1')
graph.addNodeObject('resourceslice', 'their-slice', 'n2')
const authorizer = new NodeAuthorizer(graph, nodeRules())

interface Request {
  verb: string
  resource: string
  group?: string
  namespace?: string
  name?: string
  subresource?: string
  fieldSelector?: string
  user?: UserInfo
}

function attributes(r: Request): Attributes {
  return {
    user: r.user ?? n1,
    resourceRequest: true,
    verb: r.verb,
    apiGroup: r.group ?? '',
    apiVersion: '*',
    resource: r.resource,
    subresource: r.subresource ?? '',
    namespace: r.namespace ?? '',
    name: r.name ?? '',
    ...(r.fieldSelector ? { fieldSelector: parseFieldSelector(r.fieldSelector).requirements } : {}),
  }
}

const allowed: Decision = { decision: 'allow' }
const noOpinion: Decision = { decision: 'no-opinion' }
const because = (reason: string): Decision => ({ decision: 'no-opinion', reason })
const unrelated = because("no relationship found between node 'n1' and this object")

const cases: { name: string; request: Request; want: Decision }[] = [
  // Who is a node.
  {
    name: 'a user outside system:nodes is not the authorizer’s business',
    request: {
      verb: 'get',
      resource: 'secrets',
      namespace: 'ns',
      name: 'mine-secret',
      user: { name: 'system:node:n1', groups: [] },
    },
    want: noOpinion,
  },
  {
    name: 'a member of system:nodes without a node name is refused with the reason',
    request: {
      verb: 'get',
      resource: 'nodes',
      name: 'n1',
      user: { name: 'system:node:', groups: ['system:nodes'] },
    },
    want: because('unknown node for user "system:node:"'),
  },
  // Secrets and config maps.
  {
    name: 'a node reads a secret its pod mounts',
    request: { verb: 'get', resource: 'secrets', namespace: 'ns', name: 'mine-secret' },
    want: allowed,
  },
  {
    name: 'a node watches a config map its pod mounts, by name',
    request: { verb: 'watch', resource: 'configmaps', namespace: 'ns', name: 'mine-cm' },
    want: allowed,
  },
  {
    name: 'a node may not read a secret only another node’s pod mounts',
    request: { verb: 'get', resource: 'secrets', namespace: 'ns', name: 'their-secret' },
    want: unrelated,
  },
  {
    name: 'a node may not read a secret no pod mounts',
    request: { verb: 'get', resource: 'secrets', namespace: 'ns', name: 'nobody' },
    want: unrelated,
  },
  {
    name: 'a node may not list secrets',
    request: { verb: 'list', resource: 'secrets', namespace: 'ns' },
    want: because('No Object name found'),
  },
  {
    name: 'a node may not write secrets',
    request: { verb: 'update', resource: 'secrets', namespace: 'ns', name: 'mine-secret' },
    want: because('can only read resources of this type'),
  },
  {
    name: 'secrets of every namespace are not readable',
    request: { verb: 'get', resource: 'secrets', name: 'mine-secret' },
    want: because('can only read namespaced object of this type'),
  },
  // Volumes and claims.
  {
    name: 'a node gets a claim its pod uses',
    request: { verb: 'get', resource: 'persistentvolumeclaims', namespace: 'ns', name: 'mine-claim' },
    want: allowed,
  },
  {
    name: 'a node gets the volume bound to that claim',
    request: { verb: 'get', resource: 'persistentvolumes', name: 'mine-pv' },
    want: allowed,
  },
  {
    name: 'a node may not list volumes',
    request: { verb: 'list', resource: 'persistentvolumes' },
    want: because('can only get individual resources of this type'),
  },
  {
    name: 'a node updates the status of a claim its pod uses',
    request: {
      verb: 'patch',
      resource: 'persistentvolumeclaims',
      subresource: 'status',
      namespace: 'ns',
      name: 'mine-claim',
    },
    want: allowed,
  },
  {
    name: 'a node may not read claim status',
    request: {
      verb: 'get',
      resource: 'persistentvolumeclaims',
      subresource: 'status',
      namespace: 'ns',
      name: 'mine-claim',
    },
    want: because('can only get/update/patch this type'),
  },
  {
    name: 'a node gets a resource claim its pod uses',
    request: {
      verb: 'get',
      group: 'resource.k8s.io',
      resource: 'resourceclaims',
      namespace: 'ns',
      name: 'mine-gpu',
    },
    want: allowed,
  },
  {
    name: 'a node gets its volume attachment',
    request: { verb: 'get', group: 'storage.k8s.io', resource: 'volumeattachments', name: 'mine-va' },
    want: allowed,
  },
  // Service accounts.
  {
    name: 'a node creates a token for the account of its pod',
    request: {
      verb: 'create',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: 'ns',
      name: 'runner',
    },
    want: allowed,
  },
  {
    name: 'a node gets the account of its pod',
    request: { verb: 'get', resource: 'serviceaccounts', namespace: 'ns', name: 'runner' },
    want: allowed,
  },
  {
    name: 'a node may not make tokens of other accounts',
    request: {
      verb: 'create',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: 'ns',
      name: 'default',
    },
    want: unrelated,
  },
  {
    name: 'a node may not create service accounts',
    request: { verb: 'create', resource: 'serviceaccounts', namespace: 'ns' },
    want: because('can only create tokens for individual service accounts'),
  },
  // Nodes.
  {
    name: 'a node gets its own Node',
    request: { verb: 'get', resource: 'nodes', name: 'n1' },
    want: allowed,
  },
  {
    name: 'a node watches its own Node (metadata.name field selector)',
    request: { verb: 'watch', resource: 'nodes', name: 'n1' },
    want: allowed,
  },
  {
    name: 'a node may not list every Node',
    request: { verb: 'list', resource: 'nodes' },
    want: because("node 'n1' cannot read all nodes, only its own Node object"),
  },
  {
    name: 'a node may not get another Node',
    request: { verb: 'get', resource: 'nodes', name: 'n2' },
    want: because("node 'n1' cannot read 'n2', only its own Node object"),
  },
  {
    name: 'a node may create and update Nodes (NodeRestriction keeps it to its own)',
    request: { verb: 'update', resource: 'nodes', name: 'n2' },
    want: allowed,
  },
  {
    name: 'a node may patch Node status',
    request: { verb: 'patch', resource: 'nodes', subresource: 'status', name: 'n1' },
    want: allowed,
  },
  {
    name: 'a node may not delete Nodes',
    request: { verb: 'delete', resource: 'nodes', name: 'n1' },
    want: noOpinion,
  },
  // Pods.
  {
    name: 'a node gets its pod',
    request: { verb: 'get', resource: 'pods', namespace: 'ns', name: 'mine' },
    want: allowed,
  },
  {
    name: 'a node may not get another node’s pod',
    request: { verb: 'get', resource: 'pods', namespace: 'ns', name: 'theirs' },
    want: unrelated,
  },
  {
    name: 'a node lists the pods bound to it',
    request: { verb: 'list', resource: 'pods', fieldSelector: 'spec.nodeName=n1' },
    want: allowed,
  },
  {
    name: 'a node watches the pods bound to it',
    request: { verb: 'watch', resource: 'pods', fieldSelector: 'status.phase!=Failed,spec.nodeName=n1' },
    want: allowed,
  },
  {
    name: 'a node may not list the pods of another node',
    request: { verb: 'list', resource: 'pods', fieldSelector: 'spec.nodeName=n2' },
    want: because('can only list/watch pods with spec.nodeName field selector'),
  },
  {
    name: 'a node may not list every pod',
    request: { verb: 'list', resource: 'pods' },
    want: because('can only list/watch pods with spec.nodeName field selector'),
  },
  {
    name: 'a node may not list pods bound elsewhere (!=)',
    request: { verb: 'list', resource: 'pods', fieldSelector: 'spec.nodeName!=n1' },
    want: because('can only list/watch pods with spec.nodeName field selector'),
  },
  {
    name: 'a node creates mirror pods (NodeRestriction checks them)',
    request: { verb: 'create', resource: 'pods', namespace: 'ns' },
    want: allowed,
  },
  {
    name: 'a node updates pod status (NodeRestriction keeps it to its pods)',
    request: { verb: 'update', resource: 'pods', subresource: 'status', namespace: 'ns', name: 'theirs' },
    want: allowed,
  },
  {
    name: 'a node evicts pods (NodeRestriction keeps it to its pods)',
    request: { verb: 'create', resource: 'pods', subresource: 'eviction', namespace: 'ns', name: 'mine' },
    want: allowed,
  },
  {
    name: 'a node may not update pods',
    request: { verb: 'update', resource: 'pods', namespace: 'ns', name: 'mine' },
    want: noOpinion,
  },
  {
    name: 'a node may not exec into pods',
    request: { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'ns', name: 'mine' },
    want: noOpinion,
  },
  // Leases and CSINodes.
  {
    name: 'a node updates its lease',
    request: {
      verb: 'update',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'kube-node-lease',
      name: 'n1',
    },
    want: allowed,
  },
  {
    name: 'a node creates a lease (NodeRestriction checks the name)',
    request: {
      verb: 'create',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'kube-node-lease',
    },
    want: allowed,
  },
  {
    name: 'a node may not update another node’s lease',
    request: {
      verb: 'update',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'kube-node-lease',
      name: 'n2',
    },
    want: because('can only access node lease with the same name as the requesting node'),
  },
  {
    name: 'a node may not touch leases elsewhere',
    request: {
      verb: 'get',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'kube-system',
      name: 'n1',
    },
    want: because('can only access leases in the "kube-node-lease" system namespace'),
  },
  {
    name: 'a node may not list leases',
    request: { verb: 'list', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease' },
    want: because('can only get, create, update, patch, or delete a node lease'),
  },
  {
    name: 'a node updates its CSINode',
    request: { verb: 'update', group: 'storage.k8s.io', resource: 'csinodes', name: 'n1' },
    want: allowed,
  },
  {
    name: 'a node may not update another CSINode',
    request: { verb: 'update', group: 'storage.k8s.io', resource: 'csinodes', name: 'n2' },
    want: because('can only access CSINode with the same name as the requesting node'),
  },
  // Resource slices.
  {
    name: 'a node deletes its resource slice',
    request: { verb: 'delete', group: 'resource.k8s.io', resource: 'resourceslices', name: 'mine-slice' },
    want: allowed,
  },
  {
    name: 'a node may not update another node’s slice',
    request: { verb: 'update', group: 'resource.k8s.io', resource: 'resourceslices', name: 'their-slice' },
    want: unrelated,
  },
  {
    name: 'a node watches its slices',
    request: {
      verb: 'watch',
      group: 'resource.k8s.io',
      resource: 'resourceslices',
      fieldSelector: 'spec.nodeName=n1',
    },
    want: allowed,
  },
  {
    name: 'a node may not watch every slice',
    request: { verb: 'watch', group: 'resource.k8s.io', resource: 'resourceslices' },
    want: because('can only list/watch/deletecollection resourceslices with nodeName field selector'),
  },
  // The static rules of system:node.
  {
    name: 'a node lists services (the system:node rules)',
    request: { verb: 'list', resource: 'services' },
    want: allowed,
  },
  {
    name: 'a node watches services in all namespaces (its service links)',
    request: { verb: 'watch', resource: 'services' },
    want: allowed,
  },
  {
    name: 'a node creates events',
    request: { verb: 'create', group: 'events.k8s.io', resource: 'events', namespace: 'ns' },
    want: allowed,
  },
  {
    name: 'a node creates certificate signing requests',
    request: { verb: 'create', group: 'certificates.k8s.io', resource: 'certificatesigningrequests' },
    want: allowed,
  },
  {
    name: 'a node gets endpoints',
    request: { verb: 'get', resource: 'endpoints', namespace: 'ns', name: 'e' },
    want: allowed,
  },
  {
    name: 'a node may not create deployments',
    request: { verb: 'create', group: 'apps', resource: 'deployments', namespace: 'ns' },
    want: noOpinion,
  },
]

for (const c of cases) {
  test(c.name, () => assert.deepEqual(authorizer.authorize(attributes(c.request)), c.want))
}

test('a node’s rules cannot be listed, so a rules review of a node is incomplete', () => {
  assert.deepEqual(authorizer.rulesFor(n1), {
    resourceRules: [],
    nonResourceRules: [],
    incomplete: true,
    errors: ['node authorizer does not support user rule resolution'],
  })
  assert.equal(authorizer.rulesFor({ name: 'alice', groups: [] }).incomplete, false)
})

test('non-resource requests of a node go by the static rules (none name URLs)', () => {
  assert.deepEqual(
    authorizer.authorize({ user: n1, resourceRequest: false, verb: 'get', path: '/healthz' }),
    noOpinion,
  )
})
