/**
 * Defaults of the core/v1 kinds and of the pod specs every workload embeds, as kube-apiserver
 * applies them when it decodes a request (k8s.io/kubernetes/pkg/apis/core/v1/defaults.go): a
 * field that is set is never changed.
 */

export type Obj = Record<string, unknown>

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The object at `o[key]`, created empty when absent. */
export function child(o: Obj, key: string): Obj {
  const v = o[key]
  if (isObj(v)) return v
  const created: Obj = {}
  o[key] = created
  return created
}

export function each(v: unknown, fn: (o: Obj) => void): void {
  if (Array.isArray(v)) for (const x of v) if (isObj(x)) fn(x)
}

/** Sets a field that is absent (undefined, null or the empty string). */
export function dflt(o: Obj, key: string, value: unknown): void {
  const v = o[key]
  if (v === undefined || v === null || v === '') o[key] = value
}

/** The field as an object when it is one. */
export function sub(o: Obj, key: string): Obj | undefined {
  const v = o[key]
  return isObj(v) ? v : undefined
}

// --- containers and pod specs --------------------------------------------------------------------

/** The tag of an image reference: "latest" when it has neither tag nor digest. */
export function imageTag(image: string): string {
  if (image.includes('@')) {
    const beforeDigest = image.slice(0, image.indexOf('@'))
    const slash = beforeDigest.lastIndexOf('/')
    const colon = beforeDigest.lastIndexOf(':')
    return colon > slash ? beforeDigest.slice(colon + 1) : ''
  }
  const slash = image.lastIndexOf('/')
  const colon = image.lastIndexOf(':')
  return colon > slash ? image.slice(colon + 1) : 'latest'
}

function defaultProbe(p: Obj | undefined): void {
  if (!p) return
  dflt(p, 'timeoutSeconds', 1)
  dflt(p, 'periodSeconds', 10)
  dflt(p, 'successThreshold', 1)
  dflt(p, 'failureThreshold', 3)
  defaultHandler(p)
}

function defaultHandler(h: Obj | undefined): void {
  if (!h) return
  const http = sub(h, 'httpGet')
  if (http) {
    dflt(http, 'path', '/')
    dflt(http, 'scheme', 'HTTP')
  }
  const grpc = sub(h, 'grpc')
  if (grpc && grpc.service === undefined) grpc.service = ''
}

export function defaultContainer(c: Obj): void {
  if (typeof c.image === 'string' && c.image !== '') {
    dflt(c, 'imagePullPolicy', imageTag(c.image) === 'latest' ? 'Always' : 'IfNotPresent')
  }
  dflt(c, 'terminationMessagePath', '/dev/termination-log')
  dflt(c, 'terminationMessagePolicy', 'File')
  each(c.ports, (p) => dflt(p, 'protocol', 'TCP'))
  each(c.env, (e) => {
    const fieldRef = sub(sub(e, 'valueFrom') ?? {}, 'fieldRef')
    if (fieldRef) dflt(fieldRef, 'apiVersion', 'v1')
  })
  defaultProbe(sub(c, 'livenessProbe'))
  defaultProbe(sub(c, 'readinessProbe'))
  defaultProbe(sub(c, 'startupProbe'))
  const lifecycle = sub(c, 'lifecycle')
  if (lifecycle) {
    defaultHandler(sub(lifecycle, 'postStart'))
    defaultHandler(sub(lifecycle, 'preStop'))
  }
}

const volumeSources = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
]

function defaultItemsFieldRefs(src: Obj): void {
  each(src.items, (i) => {
    const fieldRef = sub(i, 'fieldRef')
    if (fieldRef) dflt(fieldRef, 'apiVersion', 'v1')
  })
}

export function defaultVolume(v: Obj): void {
  // A volume without a source is an empty directory.
  if (!volumeSources.some((s) => v[s] !== undefined && v[s] !== null)) v.emptyDir = {}
  const hostPath = sub(v, 'hostPath')
  if (hostPath) dflt(hostPath, 'type', '')
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    const s = sub(v, k)
    if (s && s.defaultMode === undefined) s.defaultMode = 0o644
  }
  const downward = sub(v, 'downwardAPI')
  if (downward) defaultItemsFieldRefs(downward)
  const projected = sub(v, 'projected')
  if (projected) {
    each(projected.sources, (s) => {
      const token = sub(s, 'serviceAccountToken')
      if (token) dflt(token, 'expirationSeconds', 3600)
      const d = sub(s, 'downwardAPI')
      if (d) defaultItemsFieldRefs(d)
    })
  }
  const iscsi = sub(v, 'iscsi')
  if (iscsi) dflt(iscsi, 'iscsiInterface', 'default')
  const rbd = sub(v, 'rbd')
  if (rbd) {
    dflt(rbd, 'pool', 'rbd')
    dflt(rbd, 'user', 'admin')
    dflt(rbd, 'keyring', '/etc/ceph/keyring')
  }
  const azureDisk = sub(v, 'azureDisk')
  if (azureDisk) {
    dflt(azureDisk, 'cachingMode', 'ReadWrite')
    dflt(azureDisk, 'fsType', 'ext4')
    dflt(azureDisk, 'readOnly', false)
    dflt(azureDisk, 'kind', 'Shared')
  }
  const scaleIO = sub(v, 'scaleIO')
  if (scaleIO) {
    dflt(scaleIO, 'storageMode', 'ThinProvisioned')
    dflt(scaleIO, 'fsType', 'xfs')
  }
  const ephemeral = sub(sub(v, 'ephemeral') ?? {}, 'volumeClaimTemplate')
  if (ephemeral) defaultClaimSpec(child(ephemeral, 'spec'))
}

/** The defaults of a PodSpec wherever it appears (pods and every pod template). */
export function defaultPodSpec(spec: Obj): void {
  dflt(spec, 'dnsPolicy', 'ClusterFirst')
  dflt(spec, 'restartPolicy', 'Always')
  if (!isObj(spec.securityContext)) spec.securityContext = {}
  dflt(spec, 'terminationGracePeriodSeconds', 30)
  dflt(spec, 'schedulerName', 'default-scheduler')
  each(spec.initContainers, defaultContainer)
  each(spec.containers, defaultContainer)
  each(spec.ephemeralContainers, defaultContainer)
  each(spec.volumes, defaultVolume)
}

export function defaultPodTemplate(template: unknown): void {
  if (isObj(template)) defaultPodSpec(child(template, 'spec'))
}

/** Requests default to the limits of the same resources (pods only, not templates). */
function requestsFromLimits(c: Obj): void {
  const resources = sub(c, 'resources')
  const limits = resources && sub(resources, 'limits')
  if (!resources || !limits || Object.keys(limits).length === 0) return
  const requests = child(resources, 'requests')
  for (const [k, v] of Object.entries(limits)) if (requests[k] === undefined) requests[k] = v
}

/** Host-network pods publish each container port on the same host port. */
function hostNetworkPorts(containers: unknown): void {
  each(containers, (c) =>
    each(c.ports, (p) => {
      if (p.hostPort === undefined || p.hostPort === 0) p.hostPort = p.containerPort
    }),
  )
}

export function defaultPod(pod: Obj): void {
  const spec = child(pod, 'spec')
  defaultPodSpec(spec)
  each(spec.containers, requestsFromLimits)
  each(spec.initContainers, requestsFromLimits)
  dflt(spec, 'enableServiceLinks', true)
  if (spec.hostNetwork === true) {
    hostNetworkPorts(spec.containers)
    hostNetworkPorts(spec.initContainers)
  }
}

// --- the other core kinds ------------------------------------------------------------------------

export function defaultReplicationController(rc: Obj): void {
  const spec = child(rc, 'spec')
  const template = sub(spec, 'template')
  const labels = template && sub(child(template, 'metadata'), 'labels')
  if (labels && Object.keys(labels).length > 0) {
    if (!isObj(spec.selector) || Object.keys(spec.selector).length === 0) spec.selector = { ...labels }
    const meta = child(rc, 'metadata')
    if (!isObj(meta.labels) || Object.keys(meta.labels).length === 0) meta.labels = { ...labels }
  }
  dflt(spec, 'replicas', 1)
  defaultPodTemplate(template)
}

export function defaultService(svc: Obj): void {
  const spec = child(svc, 'spec')
  dflt(spec, 'sessionAffinity', 'None')
  dflt(spec, 'type', 'ClusterIP')
  if (spec.sessionAffinity === 'ClientIP') {
    const config = child(spec, 'sessionAffinityConfig')
    const clientIP = child(config, 'clientIP')
    dflt(clientIP, 'timeoutSeconds', 10800)
  }
  each(spec.ports, (p) => {
    dflt(p, 'protocol', 'TCP')
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port
  })
  const type = spec.type
  if ((type === 'NodePort' || type === 'LoadBalancer') && !spec.externalTrafficPolicy) {
    spec.externalTrafficPolicy = 'Cluster'
  }
  if (type !== 'ExternalName') {
    dflt(spec, 'internalTrafficPolicy', 'Cluster')
    // This cluster is IPv4 single-stack: the families the registry would settle on.
    dflt(spec, 'ipFamilyPolicy', 'SingleStack')
    if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) spec.ipFamilies = ['IPv4']
  }
  if (type === 'LoadBalancer') dflt(spec, 'allocateLoadBalancerNodePorts', true)
}

export function defaultClaimSpec(spec: Obj): void {
  dflt(spec, 'volumeMode', 'Filesystem')
}

export function defaultPersistentVolumeClaim(pvc: Obj): void {
  defaultClaimSpec(child(pvc, 'spec'))
  dflt(child(pvc, 'status'), 'phase', 'Pending')
}

export function defaultPersistentVolume(pv: Obj): void {
  const spec = child(pv, 'spec')
  dflt(spec, 'persistentVolumeReclaimPolicy', 'Retain')
  dflt(spec, 'volumeMode', 'Filesystem')
  dflt(child(pv, 'status'), 'phase', 'Pending')
  const hostPath = sub(spec, 'hostPath')
  if (hostPath) dflt(hostPath, 'type', '')
}

export function defaultEndpoints(ep: Obj): void {
  each(ep.subsets, (s) => each(s.ports, (p) => dflt(p, 'protocol', 'TCP')))
}

export function defaultSecret(s: Obj): void {
  dflt(s, 'type', 'Opaque')
}

export function defaultNamespace(ns: Obj): void {
  dflt(child(ns, 'status'), 'phase', 'Active')
}

export function defaultNode(node: Obj): void {
  const status = sub(node, 'status')
  if (status && isObj(status.capacity) && !isObj(status.allocatable))
    status.allocatable = { ...status.capacity }
}

export function defaultLimitRange(lr: Obj): void {
  each(sub(lr, 'spec')?.limits, (item) => {
    if (item.type !== 'Container') return
    const max = sub(item, 'max') ?? {}
    const min = sub(item, 'min') ?? {}
    const def: Obj = { ...(sub(item, 'default') ?? {}) }
    const defReq: Obj = { ...(sub(item, 'defaultRequest') ?? {}) }
    for (const [k, v] of Object.entries(max)) if (def[k] === undefined) def[k] = v
    for (const [k, v] of Object.entries(def)) if (defReq[k] === undefined) defReq[k] = v
    for (const [k, v] of Object.entries(min)) if (defReq[k] === undefined) defReq[k] = v
    if (Object.keys(def).length > 0) item.default = def
    if (Object.keys(defReq).length > 0) item.defaultRequest = defReq
  })
}

export function defaultPodTemplateObject(t: Obj): void {
  defaultPodTemplate(t.template)
}
