import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Node, Pod } from '../../api/generated/types/core-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import type { UserInfo } from '../authn/authenticator.ts'
import { ApiError } from '../errors.ts'
import type { AdmissionAttributes, Operation } from './admission.ts'
import { forbiddenLabels, nodeRestrictionPlugin } from './node-restriction.ts'

const n1: UserInfo = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] }

const pods: Pod[] = [
  { metadata: { name: 'mine', namespace: 'ns', uid: 'uid-mine' }, spec: { containers: [], nodeName: 'n1' } },
  {
    metadata: { name: 'theirs', namespace: 'ns', uid: 'uid-theirs' },
    spec: { containers: [], nodeName: 'n2' },
  },
]
const nodes: Node[] = [{ metadata: { name: 'n1', uid: 'uid-n1' } }]

const plugin = nodeRestrictionPlugin({
  pods: async (namespace, name) =>
    pods.find((p) => p.metadata?.namespace === namespace && p.metadata.name === name),
  nodes: async (name) => nodes.find((n) => n.metadata?.name === name),
  // The tests' "requests" carry their common name in base64.
  certificateRequestCommonName: async (request) => {
    const cn = Buffer.from(request, 'base64').toString()
    if (cn === 'garbage') throw new Error('PEM block type must be CERTIFICATE REQUEST')
    return cn
  },
})

interface Request {
  operation: Operation
  resource: string
  group?: string
  subresource?: string
  namespace?: string
  name?: string
  object?: unknown
  oldObject?: unknown
  user?: UserInfo
}

function attributes(r: Request): AdmissionAttributes {
  const object = r.object as KubeObject | undefined
  return {
    operation: r.operation,
    group: r.group ?? '',
    version: 'v1',
    resource: r.resource,
    subresource: r.subresource ?? '',
    kind: '',
    namespace: r.namespace ?? '',
    name: r.name ?? object?.metadata?.name ?? '',
    object,
    oldObject: r.oldObject as KubeObject | undefined,
    dryRun: false,
    user: r.user ?? n1,
  }
}

/** undefined when admitted; else the refusal's code and message. */
async function admit(r: Request): Promise<string | undefined> {
  const a = attributes(r)
  if (!plugin.handles(a)) return undefined
  try {
    await plugin.admit?.(a)
    return undefined
  } catch (err) {
    if (err instanceof ApiError) return `${err.code} ${err.message}`
    throw err
  }
}

const mirror = (spec: Partial<Pod['spec']> = {}, meta: Partial<Pod['metadata']> = {}): Pod => ({
  metadata: {
    name: 'static-web-n1',
    namespace: 'ns',
    annotations: { 'kubernetes.io/config.mirror': 'hash' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-n1', controller: true }],
    ...meta,
  },
  spec: { containers: [{ name: 'web', image: 'nginx' }], nodeName: 'n1', ...spec },
})

const node = (labels: Record<string, string> = {}, spec: Node['spec'] = {}): Node => ({
  metadata: { name: 'n1', labels },
  spec,
})

const status = (nodeName: string, labels: Record<string, string> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'ns', labels },
  spec: { containers: [], nodeName },
})

const claim = (labels: Record<string, string>, capacity: string) => ({
  metadata: { name: 'c', namespace: 'ns', resourceVersion: '7', labels },
  spec: { resources: { requests: { storage: '1Gi' } } },
  status: { phase: 'Bound', capacity: { storage: capacity } },
})

const tokenRequest = (ref: Record<string, string> | undefined) => ({
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'TokenRequest',
  spec: { audiences: [], ...(ref ? { boundObjectRef: ref } : {}) },
})

const csr = (cn: string, signerName = 'kubernetes.io/kube-apiserver-client-kubelet') => ({
  metadata: { name: 'csr-1' },
  spec: { request: Buffer.from(cn).toString('base64'), signerName, usages: ['client auth'] },
})

const cases: { name: string; request: Request; want: string | undefined }[] = [
  // Who the plugin restricts.
  {
    name: 'users that are not nodes pass',
    request: {
      operation: 'UPDATE',
      resource: 'nodes',
      name: 'n2',
      object: node(),
      user: { name: 'alice', groups: [] },
    },
    want: undefined,
  },
  {
    name: 'a node user without a node name is refused',
    request: {
      operation: 'CREATE',
      resource: 'configmaps',
      namespace: 'ns',
      name: 'x',
      user: { name: 'system:node:', groups: ['system:nodes'] },
    },
    want: '403 configmaps "x" is forbidden: could not determine node from user "system:node:"',
  },
  {
    name: 'what the plugin does not restrict passes',
    request: { operation: 'CREATE', resource: 'events', namespace: 'ns', name: 'e' },
    want: undefined,
  },
  // Mirror pods.
  {
    name: 'a node creates a mirror pod bound to itself and owned by its Node',
    request: { operation: 'CREATE', resource: 'pods', namespace: 'ns', object: mirror() },
    want: undefined,
  },
  {
    name: 'a pod without the mirror annotation is refused',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      namespace: 'ns',
      object: mirror({}, { annotations: {} }),
    },
    want: '403 pods "static-web-n1" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods',
  },
  {
    name: 'a mirror pod bound to another node is refused',
    request: { operation: 'CREATE', resource: 'pods', namespace: 'ns', object: mirror({ nodeName: 'n2' }) },
    want: '403 pods "static-web-n1" is forbidden: node "n1" can only create pods with spec.nodeName set to itself',
  },
  {
    name: 'a mirror pod without an owner is refused',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      namespace: 'ns',
      object: mirror({}, { ownerReferences: [] }),
    },
    want: '403 pods "static-web-n1" is forbidden: node "n1" can only create pods with an owner reference set to itself',
  },
  {
    name: 'a mirror pod whose owner is not its controller is refused',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      namespace: 'ns',
      object: mirror(
        {},
        { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-n1' }] },
      ),
    },
    want: '403 pods "static-web-n1" is forbidden: node "n1" can only create pods with a controller owner reference set to itself',
  },
  {
    name: 'a mirror pod owned by an older Node of the same name is refused',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      namespace: 'ns',
      object: mirror(
        {},
        { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'old', controller: true }] },
      ),
    },
    want: '403 pods "static-web-n1" is forbidden: node n1 UID mismatch: expected old got uid-n1',
  },
  {
    name: 'a mirror pod with a service account is refused',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      namespace: 'ns',
      object: mirror({ serviceAccountName: 'default' }),
    },
    want: '403 pods "static-web-n1" is forbidden: node "n1" can not create pods that reference a service account',
  },
  {
    name: 'a mirror pod reading a secret into its environment is refused',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      namespace: 'ns',
      object: mirror({
        containers: [
          { name: 'c', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] },
        ],
      }),
    },
    want: '403 pods "static-web-n1" is forbidden: node "n1" can not create pods that reference secrets',
  },
  {
    name: 'a mirror pod mounting a config map is refused',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      namespace: 'ns',
      object: mirror({ volumes: [{ name: 'v', configMap: { name: 'cm' } }] }),
    },
    want: '403 pods "static-web-n1" is forbidden: node "n1" can not create pods that reference configmaps',
  },
  {
    name: 'a mirror pod projecting a cluster trust bundle is refused',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      namespace: 'ns',
      object: mirror({
        volumes: [
          { name: 'v', projected: { sources: [{ clusterTrustBundle: { path: 'ca.pem', name: 'b' } }] } },
        ],
      }),
    },
    want: '403 pods "static-web-n1" is forbidden: node "n1" can not create pods that reference clustertrustbundles',
  },
  {
    name: 'a mirror pod using a claim is refused',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      namespace: 'ns',
      object: mirror({ volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c' } }] }),
    },
    want: '403 pods "static-web-n1" is forbidden: node "n1" can not create pods that reference persistentvolumeclaims',
  },
  // Deleting and evicting pods.
  {
    name: 'a node deletes a pod bound to itself',
    request: { operation: 'DELETE', resource: 'pods', namespace: 'ns', name: 'mine', oldObject: pods[0] },
    want: undefined,
  },
  {
    name: 'a node may not delete another node’s pod',
    request: { operation: 'DELETE', resource: 'pods', namespace: 'ns', name: 'theirs', oldObject: pods[1] },
    want: '403 pods "theirs" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself',
  },
  {
    name: 'a node may not update pods',
    request: {
      operation: 'UPDATE',
      resource: 'pods',
      namespace: 'ns',
      name: 'mine',
      object: pods[0],
      oldObject: pods[0],
    },
    want: '403 pods "mine" is forbidden: unexpected operation "UPDATE", node "n1" can only create and delete mirror pods',
  },
  {
    name: 'a node evicts a pod bound to itself',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      subresource: 'eviction',
      namespace: 'ns',
      name: 'mine',
      object: { metadata: {} },
    },
    want: undefined,
  },
  {
    name: 'a node may not evict another node’s pod',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      subresource: 'eviction',
      namespace: 'ns',
      name: 'theirs',
      object: { metadata: {} },
    },
    want: '403 pods "theirs" is forbidden: node n1 can only evict pods with spec.nodeName set to itself',
  },
  {
    name: 'evicting a pod that does not exist is 404',
    request: {
      operation: 'CREATE',
      resource: 'pods',
      subresource: 'eviction',
      namespace: 'ns',
      name: 'gone',
      object: { metadata: {} },
    },
    want: '404 pods "gone" not found',
  },
  {
    name: 'a node may not bind pods',
    request: {
      operation: 'UPDATE',
      resource: 'pods',
      subresource: 'binding',
      namespace: 'ns',
      name: 'mine',
      object: pods[0],
      oldObject: pods[0],
    },
    want: `403 pods "mine" is forbidden: unexpected pod subresource "binding", only 'status' and 'eviction' are allowed`,
  },
  // Pod status.
  {
    name: 'a node updates the status of its pod',
    request: {
      operation: 'UPDATE',
      resource: 'pods',
      subresource: 'status',
      namespace: 'ns',
      name: 'p',
      object: status('n1'),
      oldObject: status('n1'),
    },
    want: undefined,
  },
  {
    name: 'a node may not update the status of another node’s pod',
    request: {
      operation: 'UPDATE',
      resource: 'pods',
      subresource: 'status',
      namespace: 'ns',
      name: 'p',
      object: status('n2'),
      oldObject: status('n2'),
    },
    want: '403 pods "p" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself',
  },
  {
    name: 'a node may not relabel a pod through its status',
    request: {
      operation: 'UPDATE',
      resource: 'pods',
      subresource: 'status',
      namespace: 'ns',
      name: 'p',
      object: status('n1', { app: 'x' }),
      oldObject: status('n1'),
    },
    want: '403 pods "p" is forbidden: node "n1" cannot update labels through pod status',
  },
  // Its Node.
  {
    name: 'a node registers itself with kubelet labels',
    request: {
      operation: 'CREATE',
      resource: 'nodes',
      object: node({
        'kubernetes.io/hostname': 'n1',
        'node.kubernetes.io/exclude-from-external-load-balancers': '',
        'team.example.com/x': 'y',
      }),
    },
    want: undefined,
  },
  {
    name: 'a node may not modify another node',
    request: {
      operation: 'UPDATE',
      resource: 'nodes',
      name: 'n2',
      object: { metadata: { name: 'n2' } },
      oldObject: { metadata: { name: 'n2' } },
    },
    want: '403 nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"',
  },
  {
    name: 'a node may not register with node-restriction labels',
    request: {
      operation: 'CREATE',
      resource: 'nodes',
      object: node({ 'node-restriction.kubernetes.io/pci': 'true', 'kubernetes.io/role': 'master' }),
    },
    want: '403 nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: kubernetes.io/role, node-restriction.kubernetes.io/pci',
  },
  {
    name: 'a node may not register with a config source',
    request: {
      operation: 'CREATE',
      resource: 'nodes',
      object: node(
        {},
        { configSource: { configMap: { name: 'c', namespace: 'kube-system', kubeletConfigKey: 'k' } } },
      ),
    },
    want: '403 nodes "n1" is forbidden: node "n1" is not allowed to create pods with a non-nil configSource',
  },
  {
    name: 'a node may not label itself with node-restriction labels later',
    request: {
      operation: 'UPDATE',
      resource: 'nodes',
      object: node({ 'node-restriction.kubernetes.io/x': 'y' }),
      oldObject: node(),
    },
    want: '403 nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/x',
  },
  {
    name: 'a node may not remove a node-restriction label an administrator set',
    request: {
      operation: 'UPDATE',
      resource: 'nodes',
      subresource: 'status',
      object: node(),
      oldObject: node({ 'sub.node-restriction.kubernetes.io/x': 'y' }),
    },
    want: '403 nodes "n1" is forbidden: is not allowed to modify labels: sub.node-restriction.kubernetes.io/x',
  },
  {
    name: 'a node keeps labels it did not change',
    request: {
      operation: 'UPDATE',
      resource: 'nodes',
      object: node({ 'node-role.kubernetes.io/control-plane': '' }),
      oldObject: node({ 'node-role.kubernetes.io/control-plane': '' }),
    },
    want: undefined,
  },
  {
    name: 'a node changes its zone label',
    request: {
      operation: 'UPDATE',
      resource: 'nodes',
      object: node({ 'topology.kubernetes.io/zone': 'b' }),
      oldObject: node({ 'topology.kubernetes.io/zone': 'a' }),
    },
    want: undefined,
  },
  {
    name: 'a node may not remove its taints',
    request: {
      operation: 'UPDATE',
      resource: 'nodes',
      object: node(),
      oldObject: node({}, { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
    },
    want: '403 nodes "n1" is forbidden: node "n1" is not allowed to modify taints',
  },
  {
    name: 'a node reports status with its taints unchanged',
    request: {
      operation: 'UPDATE',
      resource: 'nodes',
      subresource: 'status',
      object: node({}, { taints: [{ key: 'k', effect: 'NoSchedule' }] }),
      oldObject: node({}, { taints: [{ key: 'k', value: '', effect: 'NoSchedule' }] }),
    },
    want: undefined,
  },
  {
    name: 'a node may not set a new config source',
    request: {
      operation: 'UPDATE',
      resource: 'nodes',
      object: node(
        {},
        { configSource: { configMap: { name: 'c', namespace: 'kube-system', kubeletConfigKey: 'k' } } },
      ),
      oldObject: node(),
    },
    want: '403 nodes "n1" is forbidden: node "n1" is not allowed to update configSource to a new non-nil configSource',
  },
  // Claims.
  {
    name: 'a node updates a claim’s status capacity',
    request: {
      operation: 'UPDATE',
      resource: 'persistentvolumeclaims',
      subresource: 'status',
      namespace: 'ns',
      name: 'c',
      object: claim({}, '2Gi'),
      oldObject: claim({}, '1Gi'),
    },
    want: undefined,
  },
  {
    name: 'a node may not relabel a claim through its status',
    request: {
      operation: 'UPDATE',
      resource: 'persistentvolumeclaims',
      subresource: 'status',
      namespace: 'ns',
      name: 'c',
      object: claim({ a: 'b' }, '1Gi'),
      oldObject: claim({}, '1Gi'),
    },
    want: '403 persistentvolumeclaims "c" is forbidden: node "n1" is not allowed to update fields other than status.quantity and status.conditions: metadata.labels.a',
  },
  {
    name: 'a node may not write claims',
    request: {
      operation: 'UPDATE',
      resource: 'persistentvolumeclaims',
      namespace: 'ns',
      name: 'c',
      object: claim({}, '1Gi'),
      oldObject: claim({}, '1Gi'),
    },
    want: '403 persistentvolumeclaims "c" is forbidden: may only update PVC status',
  },
  // Tokens.
  {
    name: 'a node gets a token bound to its pod',
    request: {
      operation: 'CREATE',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: 'ns',
      name: 'default',
      object: tokenRequest({ apiVersion: 'v1', kind: 'Pod', name: 'mine', uid: 'uid-mine' }),
    },
    want: undefined,
  },
  {
    name: 'a node may not get a token bound to nothing',
    request: {
      operation: 'CREATE',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: 'ns',
      name: 'default',
      object: tokenRequest(undefined),
    },
    want: '403 serviceaccounts "default" is forbidden: node requested token not bound to a pod',
  },
  {
    name: 'a node may not get a token bound to a pod without its uid',
    request: {
      operation: 'CREATE',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: 'ns',
      name: 'default',
      object: tokenRequest({ apiVersion: 'v1', kind: 'Pod', name: 'mine' }),
    },
    want: '403 serviceaccounts "default" is forbidden: node requested token with a pod binding without a uid',
  },
  {
    name: 'a node may not get a token bound to a pod of the same name that was replaced',
    request: {
      operation: 'CREATE',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: 'ns',
      name: 'default',
      object: tokenRequest({ apiVersion: 'v1', kind: 'Pod', name: 'mine', uid: 'old' }),
    },
    want: '403 serviceaccounts "default" is forbidden: the UID in the bound object reference (old) does not match the UID in record. The object might have been deleted and then recreated',
  },
  {
    name: 'a node may not get a token bound to another node’s pod',
    request: {
      operation: 'CREATE',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: 'ns',
      name: 'default',
      object: tokenRequest({ apiVersion: 'v1', kind: 'Pod', name: 'theirs', uid: 'uid-theirs' }),
    },
    want: '403 serviceaccounts "default" is forbidden: node requested token bound to a pod scheduled on a different node',
  },
  // Leases, CSINodes, slices.
  {
    name: 'a node creates its lease',
    request: {
      operation: 'CREATE',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'kube-node-lease',
      object: { metadata: { name: 'n1' } },
    },
    want: undefined,
  },
  {
    name: 'a node may not create another node’s lease',
    request: {
      operation: 'CREATE',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'kube-node-lease',
      object: { metadata: { name: 'n2' } },
    },
    want: '403 leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node',
  },
  {
    name: 'a node may not write leases outside kube-node-lease',
    request: {
      operation: 'UPDATE',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'kube-system',
      name: 'n1',
      object: { metadata: { name: 'n1' } },
    },
    want: '403 leases.coordination.k8s.io "n1" is forbidden: can only access leases in the "kube-node-lease" system namespace',
  },
  {
    name: 'a node may not create another CSINode',
    request: {
      operation: 'CREATE',
      group: 'storage.k8s.io',
      resource: 'csinodes',
      object: { metadata: { name: 'n2' } },
    },
    want: '403 csinodes.storage.k8s.io "n2" is forbidden: can only access CSINode with the same name as the requesting node',
  },
  {
    name: 'a node may not publish a slice of another node',
    request: {
      operation: 'CREATE',
      group: 'resource.k8s.io',
      resource: 'resourceslices',
      object: {
        metadata: { name: 's' },
        spec: { nodeName: 'n2', driver: 'd', pool: { name: 'p', generation: 1, resourceSliceCount: 1 } },
      },
    },
    want: '403 resourceslices.resource.k8s.io "s" is forbidden: can only create ResourceSlice with the same NodeName as the requesting node',
  },
  // Certificates.
  {
    name: 'a node asks for a client certificate in its own name',
    request: {
      operation: 'CREATE',
      group: 'certificates.k8s.io',
      resource: 'certificatesigningrequests',
      object: csr('system:node:n1'),
    },
    want: undefined,
  },
  {
    name: 'a node may not ask for a client certificate in another node’s name',
    request: {
      operation: 'CREATE',
      group: 'certificates.k8s.io',
      resource: 'certificatesigningrequests',
      object: csr('system:node:n2'),
    },
    want: '403 certificatesigningrequests.certificates.k8s.io "csr-1" is forbidden: can only create a node CSR with CN=system:node:n1',
  },
  {
    name: 'a node may not ask for a serving certificate in another node’s name',
    request: {
      operation: 'CREATE',
      group: 'certificates.k8s.io',
      resource: 'certificatesigningrequests',
      object: csr('system:node:n2', 'kubernetes.io/kubelet-serving'),
    },
    want: '403 certificatesigningrequests.certificates.k8s.io "csr-1" is forbidden: can only create a node CSR with CN=system:node:n1',
  },
  {
    name: 'requests to other signers are not the plugin’s business',
    request: {
      operation: 'CREATE',
      group: 'certificates.k8s.io',
      resource: 'certificatesigningrequests',
      object: csr('anything', 'example.com/signer'),
    },
    want: undefined,
  },
  {
    name: 'a request that does not parse is refused',
    request: {
      operation: 'CREATE',
      group: 'certificates.k8s.io',
      resource: 'certificatesigningrequests',
      object: csr('garbage'),
    },
    want: '403 certificatesigningrequests.certificates.k8s.io "csr-1" is forbidden: unable to parse csr: PEM block type must be CERTIFICATE REQUEST',
  },
]

for (const c of cases) {
  test(c.name, async () => assert.equal(await admit(c.request), c.want))
}

test('the kubelet’s label set: kubelet and node namespaces, the well-known labels, nothing else of kubernetes.io or k8s.io', () => {
  assert.deepEqual(
    forbiddenLabels([
      'kubernetes.io/hostname',
      'kubernetes.io/os',
      'beta.kubernetes.io/arch',
      'failure-domain.beta.kubernetes.io/zone',
      'node.kubernetes.io/instance-type',
      'kubelet.kubernetes.io/anything',
      'x.kubelet.kubernetes.io/anything',
      'example.com/mine',
      'plain',
      'node-role.kubernetes.io/worker',
      'kubernetes.io/role',
      'k8s.io/x',
      'sig.k8s.io/x',
      'node-restriction.kubernetes.io/a',
    ]),
    [
      'k8s.io/x',
      'kubernetes.io/role',
      'node-restriction.kubernetes.io/a',
      'node-role.kubernetes.io/worker',
      'sig.k8s.io/x',
    ],
  )
})

test('the default request parser reads the common name of a real PEM request', async () => {
  await import('reflect-metadata')
  const x509 = await import('@peculiar/x509')
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])
  const request = async (cn: string) => {
    const req = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${cn}, O=system:nodes`,
      keys,
      signingAlgorithm: alg,
    })
    return Buffer.from(req.toString('pem')).toString('base64')
  }
  const real = nodeRestrictionPlugin({ pods: async () => undefined, nodes: async () => undefined })
  const attrs = async (cn: string) =>
    attributes({
      operation: 'CREATE',
      group: 'certificates.k8s.io',
      resource: 'certificatesigningrequests',
      object: {
        metadata: { name: 'csr-1' },
        spec: {
          request: await request(cn),
          signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
          usages: [],
        },
      },
    })
  await real.admit?.(await attrs('system:node:n1'))
  await assert.rejects(
    async () => real.admit?.(await attrs('system:node:n2')),
    /can only create a node CSR with CN=system:node:n1/,
  )
})
