import {
  duplicate,
  FieldPath,
  forbidden,
  invalid,
  notSupported,
  required,
  type FieldError,
} from '../field-errors.ts'
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  isPathSegmentName,
  isValidCIDR,
  isValidIP,
  isValidPortNum,
} from './names.ts'
import { port } from './pod.ts'
import { intOrPercent } from './workloads.ts'
import {
  each,
  labelSelector,
  list,
  nonNegative,
  num,
  obj,
  objs,
  oneOf,
  positive,
  quantity,
  requiredName,
  str,
  type Obj,
} from './util.ts'

/** Validation of the kinds of the other API groups: networking, RBAC, policy, autoscaling, ... */

const spec = FieldPath.root('spec')
const immutable = 'field is immutable'
const protocols = ['SCTP', 'TCP', 'UDP']

function changed(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) !== JSON.stringify(b)
}

// --- networking.k8s.io ---------------------------------------------------------------------------

function ingressBackend(b: Obj, p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const service = obj(b.service)
  const resource = obj(b.resource)
  if (service && resource) errs.push(invalid(p, '', 'cannot set both resource and service backends'))
  else if (!service && !resource) errs.push(invalid(p, '', 'resource or service backend is required'))
  if (service) {
    errs.push(...requiredName(p.child('service', 'name'), service.name, isDNS1123Label))
    const sp = obj(service.port)
    const hasName = sp?.name !== undefined && sp.name !== ''
    const hasNumber = sp?.number !== undefined && sp.number !== 0
    if (hasName && hasNumber)
      errs.push(invalid(p.child('service', 'port'), sp, 'cannot set both port name & port number'))
    else if (hasName) errs.push(...port(p.child('service', 'port', 'name'), sp.name))
    else if (hasNumber) errs.push(...port(p.child('service', 'port', 'number'), sp.number))
    else errs.push(required(p.child('service', 'port'), 'port name or number is required'))
  }
  if (resource) {
    if (str(resource.kind) === '') errs.push(required(p.child('resource', 'kind')))
    if (str(resource.name) === '') errs.push(required(p.child('resource', 'name')))
  }
  return errs
}

export function validateIngress(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  const def = obj(s.defaultBackend)
  if (def) errs.push(...ingressBackend(def, spec.child('defaultBackend')))
  const rules = objs(s.rules)
  if (!def && rules.length === 0)
    errs.push(invalid(spec, s, 'either `defaultBackend` or `rules` must be specified'))
  rules.forEach((r, i) => {
    const p = spec.child('rules').index(i)
    const host = str(r.host)
    if (host !== '') {
      if (isValidIP(host).length === 0)
        errs.push(invalid(p.child('host'), host, 'must be a DNS name, not an IP address'))
      else {
        const h = host.startsWith('*.') ? host.slice(2) : host
        errs.push(...each(p.child('host'), host, isDNS1123Subdomain(h)))
      }
    }
    const http = obj(r.http)
    if (!http) return
    const paths = objs(http.paths)
    if (paths.length === 0) errs.push(required(p.child('http', 'paths')))
    paths.forEach((hp, j) => {
      const pp = p.child('http', 'paths').index(j)
      const type = hp.pathType
      if (type === undefined || type === '')
        errs.push(required(pp.child('pathType'), 'pathType must be specified'))
      else errs.push(...oneOf(pp.child('pathType'), type, ['Exact', 'ImplementationSpecific', 'Prefix']))
      const path = str(hp.path)
      if ((type === 'Exact' || type === 'Prefix') && !path.startsWith('/')) {
        errs.push(invalid(pp.child('path'), path, 'must be an absolute path'))
      }
      errs.push(...ingressBackend(obj(hp.backend) ?? {}, pp.child('backend')))
    })
  })
  objs(s.tls).forEach((t, i) => {
    list(t.hosts).forEach((h, j) => {
      const host = str(h).startsWith('*.') ? str(h).slice(2) : str(h)
      errs.push(...each(spec.child('tls').index(i).child('hosts').index(j), str(h), isDNS1123Subdomain(host)))
    })
  })
  return errs
}

export function validateIngressClass(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const controller = str(s.controller)
  if (controller === '') return [required(spec.child('controller'))]
  if (controller.length > 250)
    return [invalid(spec.child('controller'), controller, 'must be no more than 250 characters')]
  return each(spec.child('controller'), controller, isDomainPrefixedPath(controller))
}

export function validateIngressClassUpdate(next: Obj, prev: Obj): FieldError[] {
  const a = obj(next.spec)?.controller
  const b = obj(prev.spec)?.controller
  return a !== b ? [invalid(spec.child('controller'), a, immutable)] : []
}

/** A domain-prefixed path such as `acme.io/foo` (an IngressClass controller, a Job's managedBy). */
export function isDomainPrefixedPath(v: string): string[] {
  const i = v.indexOf('/')
  if (i < 0) return ['must be a domain-prefixed path (such as "acme.io/foo")']
  return isDNS1123Subdomain(v.slice(0, i))
}

function networkPolicyPeer(peer: Obj, p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const kinds = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => peer[k] !== undefined)
  if (kinds.length === 0) errs.push(required(p, 'must specify a peer'))
  if (peer.ipBlock !== undefined && kinds.length > 1) {
    errs.push(forbidden(p, 'may not specify both ipBlock and another peer'))
  }
  errs.push(...labelSelector(p.child('podSelector'), peer.podSelector))
  errs.push(...labelSelector(p.child('namespaceSelector'), peer.namespaceSelector))
  const block = obj(peer.ipBlock)
  if (block) {
    const cidr = str(block.cidr)
    if (cidr === '') errs.push(required(p.child('ipBlock', 'cidr')))
    else errs.push(...each(p.child('ipBlock', 'cidr'), cidr, isValidCIDR(cidr)))
    list(block.except).forEach((e, i) => {
      errs.push(...each(p.child('ipBlock', 'except').index(i), str(e), isValidCIDR(str(e))))
    })
  }
  return errs
}

function networkPolicyPorts(ports: Obj[], p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  ports.forEach((pt, i) => {
    const pp = p.index(i)
    errs.push(...oneOf(pp.child('protocol'), pt.protocol, protocols))
    if (pt.port !== undefined) errs.push(...port(pp.child('port'), pt.port))
    if (pt.endPort !== undefined) {
      if (typeof pt.port !== 'number')
        errs.push(required(pp.child('port'), 'must be specified when endPort is specified'))
      else if ((num(pt.endPort) ?? 0) < pt.port) {
        errs.push(invalid(pp.child('endPort'), pt.endPort, 'must be greater than or equal to `port`'))
      }
    }
  })
  return errs
}

export function validateNetworkPolicy(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs = labelSelector(spec.child('podSelector'), s.podSelector)
  for (const [dir, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    objs(s[dir]).forEach((r, i) => {
      const p = spec.child(dir).index(i)
      errs.push(...networkPolicyPorts(objs(r.ports), p.child('ports')))
      objs(r[peers]).forEach((peer, j) => errs.push(...networkPolicyPeer(peer, p.child(peers).index(j))))
    })
  }
  const types = list(s.policyTypes)
  if (types.length > 2)
    errs.push(invalid(spec.child('policyTypes'), types, 'may not specify more than two policyTypes'))
  types.forEach((t, i) => errs.push(...oneOf(spec.child('policyTypes').index(i), t, ['Egress', 'Ingress'])))
  return errs
}

export function validateServiceCIDR(o: Obj): FieldError[] {
  const cidrs = list(obj(o.spec)?.cidrs)
  if (cidrs.length === 0) return [required(spec.child('cidrs'))]
  const errs: FieldError[] = []
  if (cidrs.length > 2) errs.push(invalid(spec.child('cidrs'), cidrs, 'may only hold up to 2 values'))
  cidrs.forEach((c, i) => errs.push(...each(spec.child('cidrs').index(i), str(c), isValidCIDR(str(c)))))
  return errs
}

export function validateIPAddress(o: Obj): FieldError[] {
  const errs: FieldError[] = []
  const ref = obj(obj(o.spec)?.parentRef)
  if (!ref) return [required(spec.child('parentRef'))]
  if (str(ref.resource) === '') errs.push(required(spec.child('parentRef', 'resource')))
  if (str(ref.name) === '') errs.push(required(spec.child('parentRef', 'name')))
  return errs
}

export function validateSpecUnchanged(next: Obj, prev: Obj): FieldError[] {
  return changed(next.spec, prev.spec) ? [invalid(spec, next.spec, immutable)] : []
}

// --- rbac.authorization.k8s.io -------------------------------------------------------------------

function policyRules(rules: Obj[], namespaced: boolean): FieldError[] {
  const errs: FieldError[] = []
  rules.forEach((r, i) => {
    const p = FieldPath.root('rules').index(i)
    if (list(r.verbs).length === 0)
      errs.push(required(p.child('verbs'), 'verbs must contain at least one value'))
    const urls = list(r.nonResourceURLs)
    if (urls.length > 0) {
      if (namespaced)
        errs.push(
          invalid(p.child('nonResourceURLs'), urls, 'namespaced rules cannot apply to non-resource URLs'),
        )
      if (list(r.apiGroups).length > 0 || list(r.resources).length > 0 || list(r.resourceNames).length > 0) {
        errs.push(
          invalid(
            p.child('nonResourceURLs'),
            urls,
            'rules cannot apply to both regular resources and non-resource URLs',
          ),
        )
      }
      return
    }
    if (list(r.apiGroups).length === 0)
      errs.push(required(p.child('apiGroups'), 'resource rules must supply at least one api group'))
    if (list(r.resources).length === 0)
      errs.push(required(p.child('resources'), 'resource rules must supply at least one resource'))
  })
  return errs
}

export function validateRole(o: Obj): FieldError[] {
  return policyRules(objs(o.rules), true)
}

export function validateClusterRole(o: Obj): FieldError[] {
  const errs = policyRules(objs(o.rules), false)
  const agg = obj(o.aggregationRule)
  if (agg) {
    const sels = objs(agg.clusterRoleSelectors)
    if (sels.length === 0)
      errs.push(
        required(
          FieldPath.root('aggregationRule').child('clusterRoleSelectors'),
          'at least one clusterRoleSelector required if aggregationRule is non-nil',
        ),
      )
    sels.forEach((s, i) =>
      errs.push(
        ...labelSelector(FieldPath.root('aggregationRule').child('clusterRoleSelectors').index(i), s),
      ),
    )
  }
  return errs
}

function binding(o: Obj, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = []
  const ref = obj(o.roleRef) ?? {}
  const rp = FieldPath.root('roleRef')
  if (ref.apiGroup !== 'rbac.authorization.k8s.io')
    errs.push(notSupported(rp.child('apiGroup'), ref.apiGroup ?? '', ['rbac.authorization.k8s.io']))
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole']
  if (!kinds.includes(str(ref.kind))) errs.push(notSupported(rp.child('kind'), ref.kind ?? '', kinds))
  if (str(ref.name) === '') errs.push(required(rp.child('name')))
  objs(o.subjects).forEach((s, i) => {
    const p = FieldPath.root('subjects').index(i)
    const name = str(s.name)
    if (name === '') errs.push(required(p.child('name')))
    switch (s.kind) {
      case 'ServiceAccount':
        if (name !== '') errs.push(...each(p.child('name'), name, isDNS1123Subdomain(name)))
        if (s.apiGroup !== undefined && s.apiGroup !== '')
          errs.push(notSupported(p.child('apiGroup'), s.apiGroup, ['']))
        if (!namespaced && str(s.namespace) === '') errs.push(required(p.child('namespace')))
        break
      case 'User':
      case 'Group':
        if (s.apiGroup !== 'rbac.authorization.k8s.io')
          errs.push(notSupported(p.child('apiGroup'), s.apiGroup ?? '', ['rbac.authorization.k8s.io']))
        break
      default:
        errs.push(notSupported(p.child('kind'), s.kind ?? '', ['ServiceAccount', 'User', 'Group']))
    }
  })
  return errs
}

export const validateRoleBinding = (o: Obj): FieldError[] => binding(o, true)
export const validateClusterRoleBinding = (o: Obj): FieldError[] => binding(o, false)

export function validateBindingUpdate(next: Obj, prev: Obj): FieldError[] {
  return changed(next.roleRef, prev.roleRef)
    ? [invalid('roleRef', next.roleRef, 'cannot change roleRef')]
    : []
}

// --- policy, autoscaling, scheduling, coordination ------------------------------------------------

export function validatePodDisruptionBudget(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  if (s.minAvailable !== undefined && s.maxUnavailable !== undefined) {
    errs.push(invalid(spec, s, 'minAvailable and maxUnavailable cannot be both set'))
  }
  errs.push(...intOrPercent(spec.child('minAvailable'), s.minAvailable))
  errs.push(...intOrPercent(spec.child('maxUnavailable'), s.maxUnavailable))
  errs.push(...labelSelector(spec.child('selector'), s.selector))
  errs.push(
    ...oneOf(spec.child('unhealthyPodEvictionPolicy'), s.unhealthyPodEvictionPolicy, [
      'AlwaysAllow',
      'IfHealthyBudget',
    ]),
  )
  // The counts of the status (written by the disruption controller and the eviction subresource).
  const st = obj(o.status) ?? {}
  const status = FieldPath.root('status')
  for (const f of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'])
    errs.push(...nonNegative(status.child(f), st[f]))
  return errs
}

export function validateHorizontalPodAutoscaler(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  const ref = obj(s.scaleTargetRef) ?? {}
  const rp = spec.child('scaleTargetRef')
  if (str(ref.kind) === '') errs.push(required(rp.child('kind')))
  if (str(ref.name) === '') errs.push(required(rp.child('name')))
  else errs.push(...each(rp.child('name'), str(ref.name), isPathSegmentName(str(ref.name))))
  const min = num(s.minReplicas)
  const max = num(s.maxReplicas) ?? 0
  if (min !== undefined && min < 1)
    errs.push(invalid(spec.child('minReplicas'), min, 'must be greater than or equal to 1'))
  if (max < 1) errs.push(invalid(spec.child('maxReplicas'), max, 'must be greater than 0'))
  if (min !== undefined && max < min)
    errs.push(invalid(spec.child('maxReplicas'), max, 'must be greater than or equal to `minReplicas`'))
  objs(s.metrics).forEach((m, i) => {
    const p = spec.child('metrics').index(i)
    const type = str(m.type)
    const types = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource']
    if (type === '') errs.push(required(p.child('type'), 'must specify a metric source type'))
    else if (!types.includes(type)) errs.push(notSupported(p.child('type'), type, types))
    const r = obj(m.resource)
    if (type === 'Resource' && !r)
      errs.push(required(p.child('resource'), 'must populate information for the given metric source'))
    if (r) {
      if (str(r.name) === '') errs.push(required(p.child('resource', 'name')))
      const target = obj(r.target) ?? {}
      errs.push(
        ...oneOf(
          p.child('resource', 'target', 'type'),
          target.type,
          ['AverageValue', 'Utilization', 'Value'],
          true,
        ),
      )
      if (target.averageUtilization !== undefined)
        errs.push(...positive(p.child('resource', 'target', 'averageUtilization'), target.averageUtilization))
    }
  })
  return errs
}

const highestUserPriority = 1_000_000_000

/** The classes the apiserver creates; their names, values and globalDefault are fixed. */
const systemPriorityClassValues: Readonly<Record<string, number>> = {
  'system-node-critical': 2_000_001_000,
  'system-cluster-critical': 2_000_000_000,
}

/** Why a system- name is not one of the system classes as they must be; undefined when it is. */
function unknownSystemPriorityClass(name: string, value: number | undefined, globalDefault: boolean) {
  const want = systemPriorityClassValues[name]
  if (want === undefined) return `${name} is not a known system priority class`
  if (value !== want) return `value of ${name} PriorityClass must be ${want}`
  if (globalDefault) return `globalDefault of ${name} PriorityClass must be false`
  return undefined
}

export function validatePriorityClass(o: Obj): FieldError[] {
  const errs: FieldError[] = []
  const name = str(obj(o.metadata)?.name)
  const value = num(o.value)
  const system = name.startsWith('system-')
  const why = system ? unknownSystemPriorityClass(name, value, o.globalDefault === true) : undefined
  if (why) {
    errs.push(
      forbidden(
        FieldPath.root('metadata').child('name'),
        `priority class names with 'system-' prefix are reserved for system use only. error: ${why}`,
      ),
    )
  }
  if (value === undefined) errs.push(required('value'))
  else if (!system && value > highestUserPriority) {
    errs.push(
      forbidden('value', `maximum allowed value of a user defined priority is ${highestUserPriority}`),
    )
  }
  errs.push(
    ...oneOf(FieldPath.root('preemptionPolicy'), o.preemptionPolicy, ['Never', 'PreemptLowerPriority']),
  )
  return errs
}

export function validatePriorityClassUpdate(next: Obj, prev: Obj): FieldError[] {
  const errs: FieldError[] = []
  if (next.value !== prev.value) errs.push(forbidden('value', 'may not be changed in an update.'))
  if (changed(next.preemptionPolicy, prev.preemptionPolicy))
    errs.push(invalid('preemptionPolicy', next.preemptionPolicy, immutable))
  return errs
}

export function validateLease(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  return [
    ...positive(spec.child('leaseDurationSeconds'), s.leaseDurationSeconds),
    ...nonNegative(spec.child('leaseTransitions'), s.leaseTransitions),
  ]
}

// --- storage.k8s.io, node.k8s.io -----------------------------------------------------------------

export function validateStorageClass(o: Obj): FieldError[] {
  const errs: FieldError[] = []
  const prov = str(o.provisioner)
  if (prov === '') errs.push(required('provisioner'))
  else if (prov.length > 63 || !/^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/.test(prov)) {
    errs.push(invalid('provisioner', prov, 'must be a valid provisioner name'))
  }
  errs.push(...oneOf(FieldPath.root('reclaimPolicy'), o.reclaimPolicy, ['Delete', 'Retain']))
  errs.push(
    ...oneOf(
      FieldPath.root('volumeBindingMode'),
      o.volumeBindingMode,
      ['Immediate', 'WaitForFirstConsumer'],
      true,
    ),
  )
  return errs
}

export function validateStorageClassUpdate(next: Obj, prev: Obj): FieldError[] {
  const errs: FieldError[] = []
  if (changed(next.parameters, prev.parameters))
    errs.push(forbidden('parameters', 'updates to parameters are forbidden.'))
  if (next.provisioner !== prev.provisioner)
    errs.push(forbidden('provisioner', 'updates to provisioner are forbidden.'))
  if (changed(next.reclaimPolicy, prev.reclaimPolicy))
    errs.push(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'))
  if (changed(next.volumeBindingMode, prev.volumeBindingMode))
    errs.push(forbidden('volumeBindingMode', 'field is immutable'))
  return errs
}

export function validateCSIDriverUpdate(next: Obj, prev: Obj): FieldError[] {
  const a = obj(next.spec) ?? {}
  const b = obj(prev.spec) ?? {}
  const errs: FieldError[] = []
  for (const f of ['attachRequired', 'podInfoOnMount', 'volumeLifecycleModes', 'fsGroupPolicy']) {
    if (changed(a[f], b[f])) errs.push(invalid(spec.child(f), a[f], immutable))
  }
  return errs
}

export function validateCSIStorageCapacity(o: Obj): FieldError[] {
  const errs = requiredName(FieldPath.root('storageClassName'), o.storageClassName, isDNS1123Subdomain)
  errs.push(...labelSelector(FieldPath.root('nodeTopology'), o.nodeTopology))
  if (o.capacity !== undefined) errs.push(...quantity(FieldPath.root('capacity'), o.capacity))
  if (o.maximumVolumeSize !== undefined)
    errs.push(...quantity(FieldPath.root('maximumVolumeSize'), o.maximumVolumeSize))
  return errs
}

export function validateVolumeAttributesClass(o: Obj): FieldError[] {
  const driver = str(o.driverName)
  if (driver === '') return [required('driverName')]
  return each(FieldPath.root('driverName'), driver, isDNS1123Subdomain(driver.toLowerCase()))
}

export function validateVolumeAttributesClassUpdate(next: Obj, prev: Obj): FieldError[] {
  const errs: FieldError[] = []
  if (next.driverName !== prev.driverName) errs.push(invalid('driverName', next.driverName, immutable))
  if (changed(next.parameters, prev.parameters))
    errs.push(forbidden('parameters', 'updates to parameters are forbidden.'))
  return errs
}

export function validateVolumeAttachment(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  if (str(s.attacher) === '') errs.push(required(spec.child('attacher')))
  if (str(s.nodeName) === '') errs.push(required(spec.child('nodeName')))
  const src = obj(s.source) ?? {}
  const n = ['persistentVolumeName', 'inlineVolumeSpec'].filter((k) => src[k] !== undefined).length
  if (n !== 1)
    errs.push(
      required(spec.child('source'), 'must specify exactly one of inlineVolumeSpec and persistentVolumeName'),
    )
  return errs
}

export function validateCSINode(o: Obj): FieldError[] {
  const errs: FieldError[] = []
  const seen = new Set<string>()
  objs(obj(o.spec)?.drivers).forEach((d, i) => {
    const p = spec.child('drivers').index(i)
    const name = str(d.name)
    if (name === '') errs.push(required(p.child('name')))
    if (seen.has(name)) errs.push(duplicate(p.child('name'), name))
    seen.add(name)
    if (str(d.nodeID) === '') errs.push(required(p.child('nodeID')))
  })
  return errs
}

export function validateRuntimeClass(o: Obj): FieldError[] {
  return requiredName(FieldPath.root('handler'), o.handler, isDNS1123Label)
}

export function validateRuntimeClassUpdate(next: Obj, prev: Obj): FieldError[] {
  return next.handler !== prev.handler ? [invalid('handler', next.handler, immutable)] : []
}

// --- discovery.k8s.io ----------------------------------------------------------------------------

export function validateEndpointSlice(o: Obj): FieldError[] {
  const errs: FieldError[] = []
  const type = str(o.addressType)
  errs.push(...oneOf(FieldPath.root('addressType'), o.addressType, ['FQDN', 'IPv4', 'IPv6'], true))
  const endpoints = objs(o.endpoints)
  if (endpoints.length > 1000)
    errs.push(invalid('endpoints', endpoints.length, 'must have at most 1000 items'))
  endpoints.forEach((e, i) => {
    const p = FieldPath.root('endpoints').index(i)
    const addrs = list(e.addresses)
    if (addrs.length === 0 || addrs.length > 100) {
      errs.push(
        invalid(
          p.child('addresses'),
          addrs.length,
          'must contain at least 1 address but no more than 100 addresses',
        ),
      )
    }
    addrs.forEach((a, j) => {
      const ap = p.child('addresses').index(j)
      const s = str(a)
      if (type === 'IPv4' && !/^[0-9.]+$/.test(s)) errs.push(invalid(ap, s, 'must be a valid IPv4 address'))
      else if (type === 'IPv6' && !s.includes(':')) errs.push(invalid(ap, s, 'must be a valid IPv6 address'))
      else if (type !== 'FQDN') errs.push(...each(ap, s, isValidIP(s)))
      else errs.push(...each(ap, s, isDNS1123Subdomain(s)))
    })
    if (e.nodeName !== undefined)
      errs.push(...each(p.child('nodeName'), str(e.nodeName), isDNS1123Subdomain(str(e.nodeName))))
  })
  const names = new Set<string>()
  objs(o.ports).forEach((pt, i) => {
    const p = FieldPath.root('ports').index(i)
    const name = str(pt.name)
    if (name !== '') errs.push(...each(p.child('name'), name, isDNS1123Label(name)))
    if (names.has(name)) errs.push(duplicate(p.child('name'), name))
    names.add(name)
    if (pt.port !== undefined) {
      for (const m of isValidPortNum(num(pt.port) ?? 0)) errs.push(invalid(p.child('port'), pt.port, m))
    }
    errs.push(...oneOf(p.child('protocol'), pt.protocol, protocols))
  })
  return errs
}

export function validateEndpointSliceUpdate(next: Obj, prev: Obj): FieldError[] {
  return next.addressType !== prev.addressType ? [invalid('addressType', next.addressType, immutable)] : []
}

// --- admissionregistration.k8s.io ----------------------------------------------------------------

const operations = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE']

function webhookConfiguration(o: Obj, mutating: boolean): FieldError[] {
  const errs: FieldError[] = []
  const names = new Set<string>()
  objs(o.webhooks).forEach((w, i) => {
    const p = FieldPath.root('webhooks').index(i)
    const name = str(w.name)
    if (name === '') errs.push(required(p.child('name')))
    else {
      errs.push(...each(p.child('name'), name, isDNS1123Subdomain(name)))
      if (name.split('.').length < 3)
        errs.push(
          invalid(p.child('name'), name, 'should be a domain with at least three segments separated by dots'),
        )
    }
    if (names.has(name)) errs.push(duplicate(p.child('name'), name))
    names.add(name)
    const versions = list(w.admissionReviewVersions)
    if (versions.length === 0)
      errs.push(required(p.child('admissionReviewVersions'), 'must specify one of v1, v1beta1'))
    else if (!versions.some((v) => v === 'v1' || v === 'v1beta1')) {
      errs.push(
        invalid(p.child('admissionReviewVersions'), versions, 'must include at least one of v1, v1beta1'),
      )
    }
    errs.push(...oneOf(p.child('sideEffects'), w.sideEffects, ['None', 'NoneOnDryRun'], true))
    errs.push(...oneOf(p.child('failurePolicy'), w.failurePolicy, ['Fail', 'Ignore']))
    errs.push(...oneOf(p.child('matchPolicy'), w.matchPolicy, ['Equivalent', 'Exact']))
    if (mutating)
      errs.push(...oneOf(p.child('reinvocationPolicy'), w.reinvocationPolicy, ['IfNeeded', 'Never']))
    const t = num(w.timeoutSeconds)
    if (t !== undefined && (t < 1 || t > 30))
      errs.push(invalid(p.child('timeoutSeconds'), t, 'the timeout value must be between 1 and 30 seconds'))
    const cc = obj(w.clientConfig) ?? {}
    const hasUrl = cc.url !== undefined
    const svc = obj(cc.service)
    if (hasUrl === (svc !== undefined))
      errs.push(required(p.child('clientConfig'), 'exactly one of url or service is required'))
    if (hasUrl) {
      const url = str(cc.url)
      if (!url.startsWith('https://'))
        errs.push(invalid(p.child('clientConfig', 'url'), url, "'https' is the only allowed URL scheme"))
    }
    if (svc) {
      if (str(svc.name) === '') errs.push(required(p.child('clientConfig', 'service', 'name')))
      if (str(svc.namespace) === '') errs.push(required(p.child('clientConfig', 'service', 'namespace')))
      if (svc.port !== undefined)
        for (const m of isValidPortNum(num(svc.port) ?? 0))
          errs.push(invalid(p.child('clientConfig', 'service', 'port'), svc.port, m))
    }
    objs(w.rules).forEach((r, j) => {
      const rp = p.child('rules').index(j)
      const ops = list(r.operations)
      if (ops.length === 0) errs.push(required(rp.child('operations')))
      ops.forEach((op, k) => errs.push(...oneOf(rp.child('operations').index(k), op, operations)))
      if (list(r.apiGroups).length === 0) errs.push(required(rp.child('apiGroups')))
      if (list(r.apiVersions).length === 0) errs.push(required(rp.child('apiVersions')))
      if (list(r.resources).length === 0) errs.push(required(rp.child('resources')))
      errs.push(...oneOf(rp.child('scope'), r.scope, ['*', 'Cluster', 'Namespaced']))
    })
    errs.push(...labelSelector(p.child('namespaceSelector'), w.namespaceSelector))
    errs.push(...labelSelector(p.child('objectSelector'), w.objectSelector))
  })
  return errs
}

export const validateValidatingWebhookConfiguration = (o: Obj): FieldError[] => webhookConfiguration(o, false)
export const validateMutatingWebhookConfiguration = (o: Obj): FieldError[] => webhookConfiguration(o, true)

export function validateAdmissionPolicy(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  errs.push(...oneOf(spec.child('failurePolicy'), s.failurePolicy, ['Fail', 'Ignore']))
  objs(s.validations).forEach((v, i) => {
    if (str(v.expression) === '') errs.push(required(spec.child('validations').index(i).child('expression')))
  })
  objs(s.variables).forEach((v, i) => {
    const p = spec.child('variables').index(i)
    if (str(v.name) === '') errs.push(required(p.child('name')))
    if (str(v.expression) === '') errs.push(required(p.child('expression')))
  })
  return errs
}

export function validateAdmissionPolicyBinding(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  if (str(s.policyName) === '') errs.push(required(spec.child('policyName')))
  const actions = list(s.validationActions)
  actions.forEach((a, i) =>
    errs.push(...oneOf(spec.child('validationActions').index(i), a, ['Audit', 'Deny', 'Warn'])),
  )
  return errs
}

// --- flowcontrol, apiregistration, apiextensions -------------------------------------------------

export function validateFlowSchema(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  const plc = obj(s.priorityLevelConfiguration)
  if (!plc || str(plc.name) === '') errs.push(required(spec.child('priorityLevelConfiguration', 'name')))
  const mp = num(s.matchingPrecedence)
  if (mp !== undefined && (mp < 1 || mp > 10000))
    errs.push(invalid(spec.child('matchingPrecedence'), mp, 'must be between 1 and 10000, inclusive'))
  return errs
}

export function validatePriorityLevelConfiguration(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  return oneOf(spec.child('type'), s.type, ['Exempt', 'Limited'], true)
}

export function validateAPIService(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  const name = str(obj(o.metadata)?.name)
  const version = str(s.version)
  const group = str(s.group)
  if (version === '') errs.push(required(spec.child('version')))
  if (name !== `${version}.${group}`) {
    errs.push(
      invalid(
        FieldPath.root('metadata').child('name'),
        name,
        `must be \`spec.version+"."+spec.group\`: "${version}.${group}"`,
      ),
    )
  }
  const gpm = num(s.groupPriorityMinimum) ?? 0
  if (gpm <= 0 || gpm > 20000)
    errs.push(invalid(spec.child('groupPriorityMinimum'), gpm, 'must be positive and less than 20000'))
  const vp = num(s.versionPriority) ?? 0
  if (vp <= 0 || vp > 1000)
    errs.push(invalid(spec.child('versionPriority'), vp, 'must be positive and less than 1000'))
  return errs
}

export function validateCustomResourceDefinition(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  const names = obj(s.names) ?? {}
  const group = str(s.group)
  const plural = str(names.plural)
  const name = str(obj(o.metadata)?.name)
  if (name !== `${plural}.${group}`) {
    errs.push(
      invalid(FieldPath.root('metadata').child('name'), name, 'must be spec.names.plural+"."+spec.group'),
    )
  }
  if (group === '') errs.push(required(spec.child('group')))
  else {
    errs.push(...each(spec.child('group'), group, isDNS1123Subdomain(group)))
    if (group.split('.').length < 2)
      errs.push(invalid(spec.child('group'), group, 'should be a domain with at least one dot'))
  }
  errs.push(...requiredName(spec.child('names', 'plural'), names.plural, isDNS1123Label))
  errs.push(...requiredName(spec.child('names', 'kind'), names.kind, () => []))
  errs.push(...oneOf(spec.child('scope'), s.scope, ['Cluster', 'Namespaced'], true))
  const versions = objs(s.versions)
  if (versions.length === 0)
    errs.push(required(spec.child('versions'), 'must have exactly one version marked as storage version'))
  else if (versions.filter((v) => v.storage === true).length !== 1) {
    errs.push(
      invalid(
        spec.child('versions'),
        versions.map((v) => v.name),
        'must have exactly one version marked as storage version',
      ),
    )
  }
  versions.forEach((v, i) =>
    errs.push(...requiredName(spec.child('versions').index(i).child('name'), v.name, isDNS1123Label)),
  )
  return errs
}
