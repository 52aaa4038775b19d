import { defaultPullPolicy } from './image.ts'
import { volumeSourceFields } from '../volumes.ts'
import { child, each, isEmpty, isObj, setIfAbsent, setIfZero, sub, type Obj } from './obj.ts'
import { defaultPodLevelResources } from './pod-resources.ts'
import { defaultResourceList } from './quantity.ts'

/**
 * Defaults of the core/v1 kinds and of the pod specs every workload embeds, as kube-apiserver
 * v1.35 applies them when it decodes a request (k8s.io/kubernetes/pkg/apis/core/v1/defaults.go,
 * the `+default` markers of k8s.io/api/core/v1 and the generated defaulters that walk every
 * nested type). A field that is set is never changed; resource quantities are only rewritten in
 * their canonical form, rounded up to the milli.
 */

// --- containers ----------------------------------------------------------------------------------

function defaultResources(resources: Obj | undefined): void {
  defaultResourceList(resources?.limits)
  defaultResourceList(resources?.requests)
}

function defaultHTTPGet(h: Obj | undefined): void {
  if (!h) return
  setIfZero(h, 'path', '/')
  setIfZero(h, 'scheme', 'HTTP')
}

function defaultProbe(p: Obj | undefined): void {
  if (!p) return
  setIfZero(p, 'timeoutSeconds', 1)
  setIfZero(p, 'periodSeconds', 10)
  setIfZero(p, 'successThreshold', 1)
  setIfZero(p, 'failureThreshold', 3)
  defaultHTTPGet(sub(p, 'httpGet'))
  const grpc = sub(p, 'grpc')
  if (grpc) setIfAbsent(grpc, 'service', '')
}

function defaultFieldRef(holder: Obj | undefined): void {
  const fieldRef = sub(holder, 'fieldRef')
  if (fieldRef) setIfZero(fieldRef, 'apiVersion', 'v1')
}

/** Containers, init containers and ephemeral containers alike. */
export function defaultContainer(c: Obj): void {
  setIfZero(c, 'imagePullPolicy', defaultPullPolicy(c.image))
  setIfZero(c, 'terminationMessagePath', '/dev/termination-log')
  setIfZero(c, 'terminationMessagePolicy', 'File')
  each(c.ports, (p) => setIfZero(p, 'protocol', 'TCP'))
  each(c.env, (e) => {
    const from = sub(e, 'valueFrom')
    defaultFieldRef(from)
    const fileKeyRef = sub(from, 'fileKeyRef')
    if (fileKeyRef) setIfAbsent(fileKeyRef, 'optional', false)
  })
  // A struct in Go, so JSON always has it, empty when nothing is asked for.
  setIfAbsent(c, 'resources', {})
  defaultResources(sub(c, 'resources'))
  defaultProbe(sub(c, 'livenessProbe'))
  defaultProbe(sub(c, 'readinessProbe'))
  defaultProbe(sub(c, 'startupProbe'))
  const lifecycle = sub(c, 'lifecycle')
  defaultHTTPGet(sub(sub(lifecycle, 'postStart'), 'httpGet'))
  defaultHTTPGet(sub(sub(lifecycle, 'preStop'), 'httpGet'))
}

// --- volumes -------------------------------------------------------------------------------------

/** The fields of a VolumeSource; a volume with none of them set is an empty directory. */

/** 0644, the mode of files projected into volumes. */
const defaultFileMode = 0o644

function defaultDownwardAPIItems(source: Obj | undefined): void {
  each(source?.items, defaultFieldRef)
}

/** Sources a Volume and a PersistentVolumeSpec share, with the same defaults. */
function defaultSharedSources(s: Obj): void {
  const hostPath = sub(s, 'hostPath')
  if (hostPath) setIfAbsent(hostPath, 'type', '')
  const iscsi = sub(s, 'iscsi')
  if (iscsi) setIfZero(iscsi, 'iscsiInterface', 'default')
  const rbd = sub(s, 'rbd')
  if (rbd) {
    setIfZero(rbd, 'pool', 'rbd')
    setIfZero(rbd, 'user', 'admin')
    setIfZero(rbd, 'keyring', '/etc/ceph/keyring')
  }
  const azureDisk = sub(s, 'azureDisk')
  if (azureDisk) {
    setIfAbsent(azureDisk, 'cachingMode', 'ReadWrite')
    setIfAbsent(azureDisk, 'fsType', 'ext4')
    setIfAbsent(azureDisk, 'readOnly', false)
    setIfAbsent(azureDisk, 'kind', 'Shared')
  }
  const scaleIO = sub(s, 'scaleIO')
  if (scaleIO) {
    setIfZero(scaleIO, 'storageMode', 'ThinProvisioned')
    setIfZero(scaleIO, 'fsType', 'xfs')
  }
}

export function defaultVolume(v: Obj): void {
  if (volumeSourceFields.every((s) => v[s] === undefined || v[s] === null)) v.emptyDir = {}
  defaultSharedSources(v)
  const image = sub(v, 'image')
  // ImageVolume is beta and on in v1.35.
  if (image) setIfZero(image, 'pullPolicy', defaultPullPolicy(image.reference))
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    const s = sub(v, k)
    if (s) setIfAbsent(s, 'defaultMode', defaultFileMode)
  }
  defaultDownwardAPIItems(sub(v, 'downwardAPI'))
  each(sub(v, 'projected')?.sources, (s) => {
    defaultDownwardAPIItems(sub(s, 'downwardAPI'))
    const token = sub(s, 'serviceAccountToken')
    if (token) setIfAbsent(token, 'expirationSeconds', 3600)
  })
  const claimTemplate = sub(sub(v, 'ephemeral'), 'volumeClaimTemplate')
  if (claimTemplate) defaultClaimSpec(child(claimTemplate, 'spec'))
}

// --- pod specs and pods --------------------------------------------------------------------------

/** The defaults of a PodSpec wherever it appears: in pods and in every pod template. */
export function defaultPodSpec(spec: Obj): void {
  setIfZero(spec, 'dnsPolicy', 'ClusterFirst')
  setIfZero(spec, 'restartPolicy', 'Always')
  setIfAbsent(spec, 'securityContext', {})
  setIfAbsent(spec, 'terminationGracePeriodSeconds', 30)
  setIfZero(spec, 'schedulerName', 'default-scheduler')
  each(spec.volumes, defaultVolume)
  each(spec.initContainers, defaultContainer)
  each(spec.containers, defaultContainer)
  each(spec.ephemeralContainers, defaultContainer)
  defaultResourceList(spec.overhead)
  defaultResources(sub(spec, 'resources'))
}

/** A PodTemplateSpec: its spec is a struct, so it is defaulted even when left out. */
export function defaultPodTemplateSpec(template: Obj): void {
  defaultPodSpec(child(template, 'spec'))
}

/** A container's requests default to its limits; pods only, templates keep what they say. */
function requestsFromLimits(c: Obj): void {
  const resources = sub(c, 'resources')
  const limits = sub(resources, 'limits')
  if (!resources || !limits || Object.keys(limits).length === 0) return
  const requests = child(resources, 'requests')
  for (const [k, v] of Object.entries(limits)) if (requests[k] === undefined) requests[k] = v
}

/** Host-network pods publish each container port on the same host port. */
function hostNetworkPorts(containers: unknown): void {
  each(containers, (c) =>
    each(c.ports, (p) => {
      if (typeof p.containerPort === 'number') setIfZero(p, 'hostPort', p.containerPort)
    }),
  )
}

function defaultContainerStatuses(statuses: unknown): void {
  each(statuses, (s) => {
    defaultResourceList(s.allocatedResources)
    defaultResources(sub(s, 'resources'))
  })
}

export function defaultPod(pod: Obj): void {
  const spec = child(pod, 'spec')
  each(spec.containers, requestsFromLimits)
  each(spec.initContainers, requestsFromLimits)
  defaultPodLevelResources(spec)
  setIfAbsent(spec, 'enableServiceLinks', true)
  if (spec.hostNetwork === true) {
    hostNetworkPorts(spec.containers)
    hostNetworkPorts(spec.initContainers)
  }
  defaultPodSpec(spec)
  const status = sub(pod, 'status')
  if (status) {
    defaultContainerStatuses(status.initContainerStatuses)
    defaultContainerStatuses(status.containerStatuses)
    defaultContainerStatuses(status.ephemeralContainerStatuses)
    defaultResourceList(status.allocatedResources)
    defaultResources(sub(status, 'resources'))
  }
}

export function defaultPodTemplate(t: Obj): void {
  defaultPodTemplateSpec(child(t, 'template'))
}

export function defaultReplicationController(rc: Obj): void {
  const spec = child(rc, 'spec')
  const template = sub(spec, 'template')
  const labels = sub(sub(template, 'metadata'), 'labels')
  if (labels) {
    if (isEmpty(spec.selector)) spec.selector = { ...labels }
    const meta = child(rc, 'metadata')
    if (isEmpty(meta.labels)) meta.labels = { ...labels }
  }
  setIfAbsent(spec, 'replicas', 1)
  if (template) defaultPodTemplateSpec(template)
}

// --- services ------------------------------------------------------------------------------------

export function defaultService(svc: Obj): void {
  const spec = child(svc, 'spec')
  setIfZero(spec, 'sessionAffinity', 'None')
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig
  if (spec.sessionAffinity === 'ClientIP') {
    const timeout = sub(sub(spec, 'sessionAffinityConfig'), 'clientIP')?.timeoutSeconds
    if (timeout === undefined || timeout === null) {
      spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } }
    }
  }
  setIfZero(spec, 'type', 'ClusterIP')
  each(spec.ports, (p) => {
    setIfZero(p, 'protocol', 'TCP')
    setIfZero(p, 'targetPort', p.port ?? 0)
  })
  const type = spec.type
  // Externally accessible: node ports, load balancers, and cluster IPs with external IPs.
  const withExternalIPs = Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0
  if (type === 'NodePort' || type === 'LoadBalancer' || (type === 'ClusterIP' && withExternalIPs)) {
    setIfZero(spec, 'externalTrafficPolicy', 'Cluster')
  }
  if (type === 'ClusterIP' || type === 'NodePort' || type === 'LoadBalancer') {
    setIfAbsent(spec, 'internalTrafficPolicy', 'Cluster')
  }
  if (type === 'LoadBalancer') {
    setIfAbsent(spec, 'allocateLoadBalancerNodePorts', true)
    each(sub(sub(svc, 'status'), 'loadBalancer')?.ingress, (ing) => {
      if (typeof ing.ip === 'string' && ing.ip !== '') setIfAbsent(ing, 'ipMode', 'VIP')
    })
  }
  if (type !== 'ExternalName') defaultIPFamilies(spec)
}

/**
 * The IP families the service registry settles on when the user leaves them out, for this cluster,
 * which is IPv4 single-stack (kube-apiserver does this when it allocates cluster IPs, not in
 * defaults.go; k8ts does it here, before validation). A headless service without a selector asks
 * for every family the cluster has; any other service gets one, unless it lists two.
 */
function defaultIPFamilies(spec: Obj): void {
  const clusterIPs = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : []
  const families = Array.isArray(spec.ipFamilies) ? spec.ipFamilies : []
  const headless = spec.clusterIP === 'None' || clusterIPs[0] === 'None'
  if (spec.ipFamilyPolicy === undefined || spec.ipFamilyPolicy === null) {
    const dual = clusterIPs.length === 2 || families.length === 2 || (headless && isEmpty(spec.selector))
    spec.ipFamilyPolicy = dual ? 'RequireDualStack' : 'SingleStack'
  }
  if (families.length === 0) spec.ipFamilies = ['IPv4']
}

export function defaultEndpoints(ep: Obj): void {
  each(ep.subsets, (s) => each(s.ports, (p) => setIfZero(p, 'protocol', 'TCP')))
}

// --- storage -------------------------------------------------------------------------------------

/** A PersistentVolumeClaimSpec, in claims, claim templates and ephemeral volumes. */
export function defaultClaimSpec(spec: Obj): void {
  setIfAbsent(spec, 'volumeMode', 'Filesystem')
  defaultResources(sub(spec, 'resources'))
}

export function defaultPersistentVolumeClaim(pvc: Obj): void {
  defaultClaimSpec(child(pvc, 'spec'))
  const status = child(pvc, 'status')
  setIfZero(status, 'phase', 'Pending')
  defaultResourceList(status.capacity)
  defaultResourceList(status.allocatedResources)
}

/** A PersistentVolumeSpec's sources and capacity (in volumes and inline in volume attachments). */
export function defaultPersistentVolumeSpec(spec: Obj): void {
  defaultResourceList(spec.capacity)
  defaultSharedSources(spec)
}

export function defaultPersistentVolume(pv: Obj): void {
  const spec = child(pv, 'spec')
  setIfZero(child(pv, 'status'), 'phase', 'Pending')
  setIfZero(spec, 'persistentVolumeReclaimPolicy', 'Retain')
  setIfAbsent(spec, 'volumeMode', 'Filesystem')
  defaultPersistentVolumeSpec(spec)
}

// --- the other core kinds ------------------------------------------------------------------------

export function defaultSecret(s: Obj): void {
  setIfZero(s, 'type', 'Opaque')
}

/** Every named namespace carries its name as a label; the status starts Active. */
export function defaultNamespace(ns: Obj): void {
  const meta = child(ns, 'metadata')
  if (typeof meta.name === 'string' && meta.name !== '') {
    child(meta, 'labels')['kubernetes.io/metadata.name'] = meta.name
  }
  setIfZero(child(ns, 'status'), 'phase', 'Active')
}

export function defaultNode(node: Obj): void {
  const status = sub(node, 'status')
  if (!status) return
  if (isObj(status.capacity) && (status.allocatable === undefined || status.allocatable === null)) {
    status.allocatable = { ...status.capacity }
  }
  defaultResourceList(status.capacity)
  defaultResourceList(status.allocatable)
}

export function defaultLimitRange(lr: Obj): void {
  each(sub(lr, 'spec')?.limits, (item) => {
    if (item.type === 'Container') {
      const def = child(item, 'default')
      const defReq = child(item, 'defaultRequest')
      // No default limit: the max; no default request: the default limit, else the min.
      for (const [k, v] of Object.entries(sub(item, 'max') ?? {})) if (!(k in def)) def[k] = v
      for (const [k, v] of Object.entries(def)) if (!(k in defReq)) defReq[k] = v
      for (const [k, v] of Object.entries(sub(item, 'min') ?? {})) if (!(k in defReq)) defReq[k] = v
      if (Object.keys(def).length === 0) delete item.default
      if (Object.keys(defReq).length === 0) delete item.defaultRequest
    }
    for (const k of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) {
      defaultResourceList(item[k])
    }
  })
}

export function defaultResourceQuota(rq: Obj): void {
  defaultResourceList(sub(rq, 'spec')?.hard)
  const status = sub(rq, 'status')
  defaultResourceList(status?.hard)
  defaultResourceList(status?.used)
}
