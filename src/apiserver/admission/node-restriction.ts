import type { TokenRequest } from '../../api/generated/types/authentication-v1.ts'
import type { CertificateSigningRequest } from '../../api/generated/types/certificates-v1.ts'
import type { Lease } from '../../api/generated/types/coordination-v1.ts'
import type {
  Node,
  PersistentVolumeClaim,
  Pod,
  PodResourceClaimStatus,
} from '../../api/generated/types/core-v1.ts'
import type { Eviction } from '../../api/generated/types/policy-v1.ts'
import type { ResourceSlice } from '../../api/generated/types/resource-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import { podConfigMapNames, podSecretNames } from '../../api/pod-references.ts'
import { nodeLeaseNamespace } from '../authz/node/authorizer.ts'
import { mirrorPodAnnotation } from '../authz/node/graph.ts'
import { nodeNameOf, nodeUserNamePrefix } from '../authz/node/identity.ts'
import { notFound } from '../errors.ts'
import type { AdmissionAttributes, AdmissionPlugin } from './admission.ts'
import { admissionForbidden } from './namespace-objects.ts'

/** The admission plugin's name, as --disable-admission-plugins knows it. */
export const nodeRestrictionPluginName = 'NodeRestriction'

/** Where the plugin reads what a request's object refers to: a lister's answer, undefined when absent. */
export interface NodeRestrictionOptions {
  pods(namespace: string, name: string): Promise<Readonly<Pod> | undefined>
  nodes(name: string): Promise<Readonly<Node> | undefined>
  /**
   * The subject common name of a PEM certificate request (spec.request of a CSR, base64 as on the
   * wire); throws when it does not parse. Defaults to a parse with @peculiar/x509.
   */
  certificateRequestCommonName?: (request: string) => Promise<string>
  /**
   * The AllowInsecureKubeletCertificateSigningRequests feature gate (default off): nodes may then
   * ask for kubelet certificates of any name.
   */
  allowInsecureKubeletCertificateSigningRequests?: boolean
}

/** Signers of the kubelet's serving and client certificates. */
const kubeletServingSigner = 'kubernetes.io/kubelet-serving'
const kubeletClientSigner = 'kubernetes.io/kube-apiserver-client-kubelet'

/**
 * NodeRestriction, as the Kubernetes admission plugin of that name: what the Node authorizer lets
 * every node write, this plugin keeps to the node's own objects. For a node (identity.ts):
 *
 * - pods: create only mirror pods bound to itself, owned by its Node (one controller reference
 *   with its uid), naming no service account, secret, config map, cluster trust bundle or
 *   claim; delete only pods bound to itself; pods/status only of its pods, and without changing
 *   labels or resource claim statuses; pods/eviction only of its pods; no other subresource;
 * - nodes: only its own, created without configSource, never changing its taints or
 *   configSource, and without labels outside the kubelet's set (no node-restriction.kubernetes.io
 *   labels; kubernetes.io and k8s.io ones only of kubelet.kubernetes.io, node.kubernetes.io and
 *   the well-known topology, os, arch, instance-type and hostname labels);
 * - persistentvolumeclaims: only status, and of that only capacity, conditions and allocations;
 * - serviceaccounts/token: only tokens bound to a pod of its own (by name and uid);
 * - leases: only its own, in kube-node-lease; csinodes: only its own;
 * - resourceslices: create and delete only its own;
 * - certificatesigningrequests for the kubelet signers: only with CN=system:node:<itself>.
 *
 * Refusals are 403 Forbidden with the upstream messages, e.g.
 * `nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"`.
 * It runs in the mutating phase, as upstream's (an Admit plugin), after ServiceAccount.
 */
export function nodeRestrictionPlugin(o: NodeRestrictionOptions): AdmissionPlugin {
  const commonName = o.certificateRequestCommonName ?? certificateRequestCommonName
  const checks = new NodeChecks(o)
  return {
    name: nodeRestrictionPluginName,
    handles: (a) => a.operation !== 'CONNECT' && nodeNameOf(a.user) !== undefined,
    async admit(a) {
      const nodeName = nodeNameOf(a.user) ?? ''
      if (nodeName === '') throw admissionForbidden(a, `could not determine node from user ${q(a.user.name)}`)
      switch (`${a.group}/${a.resource}`) {
        case '/pods':
          switch (a.subresource) {
            case '':
              return checks.pod(nodeName, a)
            case 'status':
              return podStatus(nodeName, a)
            case 'eviction':
              return checks.eviction(nodeName, a)
            default:
              throw admissionForbidden(
                a,
                `unexpected pod subresource ${q(a.subresource)}, only 'status' and 'eviction' are allowed`,
              )
          }
        case '/nodes':
          return node(nodeName, a)
        case '/persistentvolumeclaims':
          if (a.subresource !== 'status') throw admissionForbidden(a, 'may only update PVC status')
          return claimStatus(nodeName, a)
        case '/serviceaccounts':
          return checks.token(nodeName, a)
        case 'coordination.k8s.io/leases':
          return lease(nodeName, a)
        case 'storage.k8s.io/csinodes':
          return csiNode(nodeName, a)
        case 'resource.k8s.io/resourceslices':
          return resourceSlice(nodeName, a)
        case 'certificates.k8s.io/certificatesigningrequests':
          if (o.allowInsecureKubeletCertificateSigningRequests) return
          return certificateRequest(nodeName, a, commonName)
      }
    },
  }
}

/** The checks that read other objects. */
class NodeChecks {
  readonly #o: NodeRestrictionOptions

  constructor(o: NodeRestrictionOptions) {
    this.#o = o
  }

  async pod(nodeName: string, a: AdmissionAttributes): Promise<void> {
    switch (a.operation) {
      case 'CREATE':
        return this.#mirrorPod(nodeName, a)
      case 'DELETE': {
        const existing = (a.oldObject as Pod | undefined) ?? (await this.#existingPod(a.namespace, a.name))
        if ((existing.spec?.nodeName ?? '') !== nodeName) {
          throw admissionForbidden(
            a,
            `node ${q(nodeName)} can only delete pods with spec.nodeName set to itself`,
          )
        }
        return
      }
      default:
        throw admissionForbidden(
          a,
          `unexpected operation ${q(a.operation)}, node ${q(nodeName)} can only create and delete mirror pods`,
        )
    }
  }

  async #mirrorPod(nodeName: string, a: AdmissionAttributes): Promise<void> {
    const pod = a.object as Pod | undefined
    if (!pod) throw admissionForbidden(a, 'unexpected type <nil>')
    const refuse = (why: string) => admissionForbidden(a, `node ${q(nodeName)} ${why}`)
    if (pod.metadata?.annotations?.[mirrorPodAnnotation] === undefined) {
      throw admissionForbidden(
        a,
        `pod does not have ${q(mirrorPodAnnotation)} annotation, node ${q(nodeName)} can only create mirror pods`,
      )
    }
    if ((pod.spec?.nodeName ?? '') !== nodeName)
      throw refuse('can only create pods with spec.nodeName set to itself')
    const owners = pod.metadata?.ownerReferences ?? []
    if (owners.length > 1) throw refuse('can only create pods with a single owner reference set to itself')
    const owner = owners[0]
    if (!owner) throw refuse('can only create pods with an owner reference set to itself')
    if (owner.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== nodeName) {
      throw refuse('can only create pods with an owner reference set to itself')
    }
    if (owner.controller !== true)
      throw refuse('can only create pods with a controller owner reference set to itself')
    if (owner.blockOwnerDeletion === true)
      throw refuse('must not set blockOwnerDeletion on an owner reference')
    const node = await this.#o.nodes(nodeName)
    if (!node) throw notFound({ group: '', resource: 'nodes' }, nodeName)
    if (owner.uid !== node.metadata?.uid) {
      throw admissionForbidden(
        a,
        `node ${nodeName} UID mismatch: expected ${owner.uid} got ${node.metadata?.uid ?? ''}`,
      )
    }
    if ((pod.spec?.serviceAccountName ?? '') !== '')
      throw refuse('can not create pods that reference a service account')
    if (!podSecretNames(pod).next().done) throw refuse('can not create pods that reference secrets')
    if (!podConfigMapNames(pod).next().done) throw refuse('can not create pods that reference configmaps')
    const volumes = pod.spec?.volumes ?? []
    if (volumes.some((v) => (v.projected?.sources ?? []).some((s) => s.clusterTrustBundle))) {
      throw refuse('can not create pods that reference clustertrustbundles')
    }
    if (volumes.some((v) => v.persistentVolumeClaim)) {
      throw refuse('can not create pods that reference persistentvolumeclaims')
    }
  }

  async eviction(nodeName: string, a: AdmissionAttributes): Promise<void> {
    if (a.operation !== 'CREATE') throw admissionForbidden(a, `unexpected operation ${a.operation}`)
    const eviction = a.object as Eviction | undefined
    const podName = a.name || (eviction?.metadata?.name ?? '')
    if (podName === '') throw admissionForbidden(a, 'could not determine pod from request data')
    const pod = await this.#existingPod(a.namespace, podName)
    if ((pod.spec?.nodeName ?? '') !== nodeName) {
      throw admissionForbidden(a, `node ${nodeName} can only evict pods with spec.nodeName set to itself`)
    }
  }

  /** A node's TokenRequests must be bound to a pod on that node, named with its uid. */
  async token(nodeName: string, a: AdmissionAttributes): Promise<void> {
    if (a.operation !== 'CREATE' || a.subresource !== 'token') return
    const ref = (a.object as TokenRequest | undefined)?.spec?.boundObjectRef
    if (!ref || ref.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name) {
      throw admissionForbidden(a, 'node requested token not bound to a pod')
    }
    if (!ref.uid) throw admissionForbidden(a, 'node requested token with a pod binding without a uid')
    const pod = await this.#existingPod(a.namespace, ref.name)
    if (ref.uid !== pod.metadata?.uid) {
      throw admissionForbidden(
        a,
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      )
    }
    if ((pod.spec?.nodeName ?? '') !== nodeName) {
      throw admissionForbidden(a, 'node requested token bound to a pod scheduled on a different node')
    }
  }

  async #existingPod(namespace: string, name: string): Promise<Readonly<Pod>> {
    const pod = await this.#o.pods(namespace, name)
    if (!pod) throw notFound({ group: '', resource: 'pods' }, name)
    return pod
  }
}

function podStatus(nodeName: string, a: AdmissionAttributes): void {
  if (a.operation !== 'UPDATE') throw admissionForbidden(a, `unexpected operation ${q(a.operation)}`)
  const old = a.oldObject as Pod | undefined
  const pod = a.object as Pod | undefined
  if ((old?.spec?.nodeName ?? '') !== nodeName) {
    throw admissionForbidden(
      a,
      `node ${q(nodeName)} can only update pod status for pods with spec.nodeName set to itself`,
    )
  }
  if (!semanticEqual(old?.metadata?.labels, pod?.metadata?.labels)) {
    throw admissionForbidden(a, `node ${q(nodeName)} cannot update labels through pod status`)
  }
  if (!claimStatusesEqual(old?.status?.resourceClaimStatuses, pod?.status?.resourceClaimStatuses)) {
    throw admissionForbidden(a, `node ${q(nodeName)} cannot update resource claim statues`)
  }
}

function claimStatusesEqual(
  a: readonly PodResourceClaimStatus[] = [],
  b: readonly PodResourceClaimStatus[] = [],
): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => x.name === b[i]?.name && x.resourceClaimName === b[i]?.resourceClaimName)
  )
}

function node(nodeName: string, a: AdmissionAttributes): void {
  if (a.name !== nodeName) {
    throw admissionForbidden(a, `node ${q(nodeName)} is not allowed to modify node ${q(a.name)}`)
  }
  const next = a.object as Node | undefined
  if (a.operation === 'CREATE' && next) {
    // What a node may reach is scoped by its spec: a config source would widen it.
    if (next.spec?.configSource) {
      throw admissionForbidden(
        a,
        `node ${q(nodeName)} is not allowed to create pods with a non-nil configSource`,
      )
    }
    const forbidden = forbiddenLabels(modifiedLabels(next.metadata?.labels, undefined))
    if (forbidden.length > 0) {
      throw admissionForbidden(
        a,
        `node ${q(nodeName)} is not allowed to set the following labels: ${forbidden.join(', ')}`,
      )
    }
  }
  const old = a.oldObject as Node | undefined
  if (a.operation === 'UPDATE' && next && old) {
    // An older kubelet may drop the field in a status update: only a new non-nil value counts.
    if (next.spec?.configSource && !semanticEqual(next.spec.configSource, old.spec?.configSource)) {
      throw admissionForbidden(
        a,
        `node ${q(nodeName)} is not allowed to update configSource to a new non-nil configSource`,
      )
    }
    // Taints and labels steer workloads: a node may not steer them to itself.
    if (!semanticEqual(next.spec?.taints, old.spec?.taints)) {
      throw admissionForbidden(a, `node ${q(nodeName)} is not allowed to modify taints`)
    }
    const forbidden = forbiddenLabels(modifiedLabels(next.metadata?.labels, old.metadata?.labels))
    if (forbidden.length > 0) {
      throw admissionForbidden(a, `is not allowed to modify labels: ${forbidden.join(', ')}`)
    }
  }
}

/** Label keys a kubelet sets on its Node (k8s.io/kubelet's well-known labels). */
const kubeletLabels = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
])

/** Label prefixes (and their subdomains) a kubelet may use freely. */
const kubeletLabelNamespaces = ['kubelet.kubernetes.io', 'node.kubernetes.io']

/** The label prefix reserved for what administrators set and nodes must not. */
export const nodeRestrictionLabelNamespace = 'node-restriction.kubernetes.io'

/** Keys whose value differs between the two label sets (added, removed or changed). */
function modifiedLabels(
  a: Readonly<Record<string, string>> = {},
  b: Readonly<Record<string, string>> = {},
): Set<string> {
  const modified = new Set<string>()
  for (const [k, v] of Object.entries(a)) if (b[k] !== v) modified.add(k)
  for (const [k, v] of Object.entries(b)) if (a[k] !== v) modified.add(k)
  return modified
}

/** The keys among these a node may not set, sorted. */
export function forbiddenLabels(keys: Iterable<string>): string[] {
  const out: string[] = []
  for (const key of keys) {
    const ns = labelNamespace(key)
    if (inDomain(ns, nodeRestrictionLabelNamespace) || (isKubernetesLabel(ns) && !isKubeletLabel(key, ns))) {
      out.push(key)
    }
  }
  return out.sort()
}

function labelNamespace(key: string): string {
  const slash = key.indexOf('/')
  return slash < 0 ? '' : key.slice(0, slash)
}

/** `domain` itself or a subdomain of it. */
function inDomain(ns: string, domain: string): boolean {
  return ns === domain || ns.endsWith(`.${domain}`)
}

function isKubernetesLabel(ns: string): boolean {
  return inDomain(ns, 'kubernetes.io') || inDomain(ns, 'k8s.io')
}

function isKubeletLabel(key: string, ns: string): boolean {
  return kubeletLabels.has(key) || kubeletLabelNamespaces.some((d) => inDomain(ns, d))
}

/** A node may change a claim's status capacity, conditions and allocations, nothing else. */
function claimStatus(nodeName: string, a: AdmissionAttributes): void {
  if (a.operation !== 'UPDATE') throw admissionForbidden(a, `unexpected operation ${q(a.operation)}`)
  const comparable = (c: PersistentVolumeClaim | undefined): KubeObject => {
    const copy = structuredClone<PersistentVolumeClaim>(c ?? {})
    if (copy.metadata) {
      delete copy.metadata.resourceVersion
      delete copy.metadata.managedFields
    }
    if (copy.status) {
      delete copy.status.capacity
      delete copy.status.conditions
      delete copy.status.allocatedResourceStatuses
      delete copy.status.allocatedResources
    }
    return copy as KubeObject
  }
  const differences = differingPaths(comparable(a.oldObject), comparable(a.object), '')
  if (differences.length > 0) {
    throw admissionForbidden(
      a,
      `node ${q(nodeName)} is not allowed to update fields other than status.quantity and status.conditions: ${differences.join(', ')}`,
    )
  }
}

function lease(nodeName: string, a: AdmissionAttributes): void {
  if (a.namespace !== nodeLeaseNamespace) {
    throw admissionForbidden(a, `can only access leases in the ${q(nodeLeaseNamespace)} system namespace`)
  }
  const name = a.operation === 'CREATE' ? ((a.object as Lease | undefined)?.metadata?.name ?? '') : a.name
  if (name !== nodeName) {
    throw admissionForbidden(a, 'can only access node lease with the same name as the requesting node')
  }
}

function csiNode(nodeName: string, a: AdmissionAttributes): void {
  const name = a.operation === 'CREATE' ? (a.object?.metadata?.name ?? '') : a.name
  if (name !== nodeName) {
    throw admissionForbidden(a, 'can only access CSINode with the same name as the requesting node')
  }
}

function resourceSlice(nodeName: string, a: AdmissionAttributes): void {
  if (a.operation === 'CREATE') {
    if (((a.object as ResourceSlice | undefined)?.spec?.nodeName ?? '') !== nodeName) {
      throw admissionForbidden(
        a,
        'can only create ResourceSlice with the same NodeName as the requesting node',
      )
    }
  } else if (a.operation === 'DELETE') {
    if (((a.oldObject as ResourceSlice | undefined)?.spec?.nodeName ?? '') !== nodeName) {
      throw admissionForbidden(
        a,
        'can only delete ResourceSlice with the same NodeName as the requesting node',
      )
    }
  }
}

/** A node asks the kubelet signers only for certificates in its own name. */
async function certificateRequest(
  nodeName: string,
  a: AdmissionAttributes,
  commonName: (request: string) => Promise<string>,
): Promise<void> {
  if (a.operation !== 'CREATE') return
  const spec = (a.object as CertificateSigningRequest | undefined)?.spec
  if (spec?.signerName !== kubeletServingSigner && spec?.signerName !== kubeletClientSigner) return
  let cn: string
  try {
    cn = await commonName(spec.request)
  } catch (err) {
    throw admissionForbidden(a, `unable to parse csr: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (cn !== `${nodeUserNamePrefix}${nodeName}`) {
    throw admissionForbidden(a, `can only create a node CSR with CN=${nodeUserNamePrefix}${nodeName}`)
  }
}

/** The subject CN of a base64 PEM certificate request, parsed with @peculiar/x509. */
async function certificateRequestCommonName(request: string): Promise<string> {
  const pem = Buffer.from(request, 'base64').toString('latin1')
  const block = /-----BEGIN CERTIFICATE REQUEST-----([^-]*)-----END CERTIFICATE REQUEST-----/.exec(pem)
  if (!block) throw new Error('PEM block type must be CERTIFICATE REQUEST')
  await import('reflect-metadata')
  const x509 = await import('@peculiar/x509')
  const csr = new x509.Pkcs10CertificateRequest(Buffer.from((block[1] ?? '').replace(/\s+/g, ''), 'base64'))
  return csr.subjectName.getField('CN')[0] ?? ''
}

/** A string as Go's %q writes it (for the names in these messages, JSON's quoting is the same). */
function q(s: string): string {
  return JSON.stringify(s)
}

/**
 * Equality as Kubernetes' semantic DeepEqual sees decoded objects: an absent field equals its
 * zero value (empty string, zero, false, empty list or map).
 */
function semanticEqual(a: unknown, b: unknown): boolean {
  return differingPaths(a, b, '').length === 0
}

/** The paths at which two JSON values differ (zero values equal absent ones). */
function differingPaths(a: unknown, b: unknown, path: string): string[] {
  if (a === b || (isZero(a) && isZero(b))) return []
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [path || '.']
    return a.flatMap((x, i) => differingPaths(x, b[i], `${path}[${i}]`))
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    return [...keys].flatMap((k) => differingPaths(a[k], b[k], path ? `${path}.${k}` : k))
  }
  if (isObject(a) && isZero(b)) return differingPaths(a, {}, path)
  if (isZero(a) && isObject(b)) return differingPaths({}, b, path)
  return [path || '.']
}

function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true
  if (Array.isArray(v)) return v.length === 0
  return isObject(v) && Object.keys(v).length === 0
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
