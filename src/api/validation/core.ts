import { deepEqual } from '../object.ts'
import {
  duplicate,
  FieldPath,
  forbidden,
  invalid,
  required,
  tooLong,
  type FieldError,
} from '../field-errors.ts'
import { validateLabels } from './meta.ts'
import {
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidIP,
  isValidLabelValue,
  isValidPortNum,
} from './names.ts'
import { validateHostIPs, validatePodIPs } from './pod-ips.ts'
import {
  port,
  selectorMismatch,
  templateRestartPolicy,
  validatePodSpec,
  validatePodSpecUpdate,
  validatePodTemplate,
  validateResources,
} from './pod.ts'
import {
  each,
  list,
  nonNegative,
  num,
  obj,
  objs,
  oneOf,
  quantity,
  requiredName,
  str,
  strMap,
  type Obj,
} from './util.ts'

/** Validation of the core/v1 kinds. */

const spec = FieldPath.root('spec')
const immutable = 'field is immutable'

export function validatePod(o: Obj): FieldError[] {
  return validatePodSpec(obj(o.spec) ?? {}, spec)
}

/**
 * An update of a pod (not through pods/status): the new spec is validated, then checked for what
 * may change. A spec left as stored is neither, as Kubernetes ratchets validation: what was
 * accepted once is not refused on a later write that does not touch it (and most writes of a pod
 * change only its metadata, where validating the whole spec again was a tenth of the update).
 */
export function validatePodUpdate(next: Obj, prev: Obj): FieldError[] {
  const nextSpec = obj(next.spec) ?? {}
  const prevSpec = obj(prev.spec) ?? {}
  if (deepEqual(nextSpec, prevSpec)) return []
  return [...validatePodSpec(nextSpec, spec), ...validatePodSpecUpdate(nextSpec, prevSpec)]
}

/**
 * An update of a pod's status (pods/status), as ValidatePodStatusUpdate checks it: the spec, kept
 * as stored by the status strategy, is not validated again. A nominated node must be a valid node
 * name, the QoS class cannot change, containers that have terminated for good (all of them
 * under restartPolicy Never, those that succeeded under OnFailure) cannot be running again, and
 * the pod's and node's IPs must be valid (see pod-ips.ts).
 */
export function validatePodStatusUpdate(next: Obj, prev: Obj): FieldError[] {
  const errs: FieldError[] = []
  const status = FieldPath.root('status')
  const now = obj(next.status) ?? {}
  const before = obj(prev.status) ?? {}
  const nextSpec = obj(next.spec) ?? {}
  errs.push(...podConditions(objs(now.conditions), status.child('conditions')))
  const nominated = str(now.nominatedNodeName)
  if (nominated !== '' && nominated !== str(before.nominatedNodeName)) {
    errs.push(...each(status.child('nominatedNodeName'), nominated, isDNS1123Subdomain(nominated)))
    // ClearingNominatedNodeNameAfterBinding (on by default since 1.35): a bound pod's nomination is moot.
    if (str(obj(prev.spec)?.nodeName) !== '') {
      errs.push(
        forbidden(
          status.child('nominatedNodeName'),
          'may not be set on pods that are already bound to a node',
        ),
      )
    }
  }
  const observed = num(now.observedGeneration)
  if (observed !== undefined && observed < 0) {
    errs.push(invalid(status.child('observedGeneration'), observed, 'must be a non-negative integer'))
  }
  if (str(now.qosClass) !== str(before.qosClass)) {
    errs.push(invalid(status.child('qosClass'), now.qosClass, immutable))
  }
  const spec = obj(prev.spec) ?? {}
  const restartPolicy = str(spec.restartPolicy)
  errs.push(
    ...containerStateTransitions(objs(now.containerStatuses), objs(before.containerStatuses), {
      path: status.child('containerStatuses'),
      restartPolicy,
    }),
  )
  // Sidecars (init containers that always restart) may run again whatever the pod's policy.
  const sidecars = new Set(
    objs(spec.initContainers)
      .filter((c) => c.restartPolicy === 'Always')
      .map((c) => str(c.name)),
  )
  errs.push(
    ...containerStateTransitions(objs(now.initContainerStatuses), objs(before.initContainerStatuses), {
      path: status.child('initContainerStatuses'),
      restartPolicy,
      restarts: sidecars,
    }),
  )
  // Ephemeral containers never run again once terminated.
  errs.push(
    ...containerStateTransitions(
      objs(now.ephemeralContainerStatuses),
      objs(before.ephemeralContainerStatuses),
      {
        path: status.child('ephemeralContainerStatuses'),
        restartPolicy: 'Never',
      },
    ),
  )
  errs.push(
    ...resourceClaimStatuses(
      objs(now.resourceClaimStatuses),
      objs(nextSpec.resourceClaims),
      status.child('resourceClaimStatuses'),
    ),
  )
  errs.push(...validatePodIPs(now, before), ...validateHostIPs(now, before))
  const os = str(obj(nextSpec.os)?.name) || 'linux'
  for (const kind of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']) {
    errs.push(...containerStatusUsers(objs(now[kind]), status.child(kind), os))
  }
  return errs
}

/** The user a container runs as: IDs in range on Linux, none for Windows (validateContainerStatusUsers). */
function containerStatusUsers(statuses: readonly Obj[], path: FieldPath, os: string): FieldError[] {
  const errs: FieldError[] = []
  statuses.forEach((st, i) => {
    const linux = obj(obj(st.user)?.linux)
    if (!linux) return
    const at = path.index(i).child('user').child('linux')
    if (os === 'windows') {
      errs.push(forbidden(at, 'cannot be set for a windows pod'))
      return
    }
    if (os !== 'linux') return
    const id = (field: FieldPath, v: unknown) => {
      const n = num(v) ?? 0
      if (n < 0 || n > 2147483647) errs.push(invalid(field, n, 'must be between 0 and 2147483647, inclusive'))
    }
    id(at.child('uid'), linux.uid)
    id(at.child('gid'), linux.gid)
    list(linux.supplementalGroups).forEach((g, j) => id(at.child('supplementalGroups').index(j), g))
  })
  return errs
}

/** Custom condition types are qualified names; no observedGeneration is negative (validatePodConditions). */
function podConditions(conditions: readonly Obj[], path: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  conditions.forEach((c, i) => {
    const observed = num(c.observedGeneration)
    if (observed !== undefined && observed < 0) {
      errs.push(
        invalid(path.index(i).child('observedGeneration'), observed, 'must be a non-negative integer'),
      )
    }
    const type = str(c.type)
    if (systemPodConditions.has(type)) return
    // Upstream names the field `Type`, as its Go struct does.
    errs.push(...each(path.index(i).child('Type'), type, isQualifiedName(type)))
  })
  return errs
}

const systemPodConditions = new Set(['PodScheduled', 'Ready', 'Initialized'])

/** Each status names a claim of the spec, once; a generated claim's name is a DNS subdomain (validatePodResourceClaimStatuses). */
function resourceClaimStatuses(
  statuses: readonly Obj[],
  claims: readonly Obj[],
  path: FieldPath,
): FieldError[] {
  const errs: FieldError[] = []
  const names = new Set(claims.map((c) => str(c.name)))
  const seen = new Set<string>()
  statuses.forEach((st, i) => {
    const name = str(st.name)
    const at = path.index(i).child('name')
    if (!names.has(name))
      errs.push(invalid(at, name, 'must match the name of an entry in `spec.resourceClaims`'))
    if (seen.has(name)) errs.push(duplicate(at, name))
    else seen.add(name)
    if (typeof st.resourceClaimName === 'string') {
      // (Upstream reports these on `name` too.)
      errs.push(...each(at, st.resourceClaimName, isDNS1123Subdomain(st.resourceClaimName)))
    }
  })
  return errs
}

/** Terminated containers that may not run again (ValidateContainerStateTransition). */
function containerStateTransitions(
  now: readonly Obj[],
  before: readonly Obj[],
  o: { path: FieldPath; restartPolicy: string; restarts?: ReadonlySet<string> },
): FieldError[] {
  const { path, restartPolicy } = o
  if (restartPolicy === 'Always') return []
  const errs: FieldError[] = []
  before.forEach((old, i) => {
    const terminated = obj(obj(old.state)?.terminated)
    if (!terminated || o.restarts?.has(str(old.name))) return
    if (restartPolicy === 'OnFailure' && (num(terminated.exitCode) ?? 0) !== 0) return
    for (const s of now) {
      if (str(s.name) === str(old.name) && !obj(obj(s.state)?.terminated)) {
        errs.push(forbidden(path.index(i).child('state'), 'may not be transitioned to non-terminated state'))
      }
    }
  })
  return errs
}

export function validatePodTemplateObject(o: Obj): FieldError[] {
  return validatePodTemplate(obj(o.template), FieldPath.root('template'))
}

export function validateReplicationController(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs = nonNegative(spec.child('replicas'), s.replicas)
  errs.push(...nonNegative(spec.child('minReadySeconds'), s.minReadySeconds))
  const selector = strMap(s.selector)
  if (Object.keys(selector).length === 0) errs.push(required(spec.child('selector')))
  else errs.push(...validateLabels(selector, spec.child('selector')))
  const template = obj(s.template)
  if (!template) errs.push(required(spec.child('template')))
  else {
    const labels = strMap(obj(template.metadata)?.labels)
    if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) {
      errs.push(selectorMismatch(spec.child('template'), labels))
    }
    errs.push(...validatePodTemplate(template, spec.child('template')))
    errs.push(...templateRestartPolicy(template, spec.child('template'), ['Always']))
  }
  return errs
}

const serviceTypes = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort']
const protocols = ['SCTP', 'TCP', 'UDP']

export function validateService(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  const type = str(s.type) || 'ClusterIP'
  errs.push(...oneOf(spec.child('type'), s.type, serviceTypes))
  const headless = s.clusterIP === 'None'
  const ports = objs(s.ports)
  if (ports.length === 0 && type !== 'ExternalName' && !headless) errs.push(required(spec.child('ports')))
  if (type === 'ExternalName') {
    const name = str(s.externalName)
    if (name === '') errs.push(required(spec.child('externalName')))
    else errs.push(...each(spec.child('externalName'), name, isDNS1123Subdomain(name.replace(/\.$/, ''))))
    if (s.clusterIP !== undefined && s.clusterIP !== '') {
      errs.push(forbidden(spec.child('clusterIP'), 'may not be set for ExternalName services'))
    }
  }
  const names = new Set<string>()
  ports.forEach((p, i) => {
    const pp = spec.child('ports').index(i)
    const name = str(p.name)
    if (ports.length > 1 && name === '') errs.push(required(pp.child('name')))
    else if (name !== '') errs.push(...each(pp.child('name'), name, isDNS1123Label(name)))
    if (name !== '' && names.has(name)) errs.push(duplicate(pp.child('name'), name))
    names.add(name)
    const n = typeof p.port === 'number' ? p.port : 0
    for (const m of isValidPortNum(n)) errs.push(invalid(pp.child('port'), n, m))
    errs.push(...oneOf(pp.child('protocol'), p.protocol, protocols))
    if (p.targetPort !== undefined && p.targetPort !== 0)
      errs.push(...port(pp.child('targetPort'), p.targetPort))
    if (typeof p.nodePort === 'number' && p.nodePort !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') {
        errs.push(forbidden(pp.child('nodePort'), `may not be used when \`type\` is '${type}'`))
      } else
        for (const m of isValidPortNum(p.nodePort)) errs.push(invalid(pp.child('nodePort'), p.nodePort, m))
    }
  })
  errs.push(...validateLabels(strMap(s.selector), spec.child('selector')))
  errs.push(...oneOf(spec.child('sessionAffinity'), s.sessionAffinity, ['ClientIP', 'None']))
  if (s.clusterIP !== undefined && s.clusterIP !== '' && s.clusterIP !== 'None') {
    for (const m of isValidIP(str(s.clusterIP)))
      errs.push(invalid(spec.child('clusterIPs').index(0), s.clusterIP, m))
  }
  if (s.externalTrafficPolicy !== undefined && type !== 'NodePort' && type !== 'LoadBalancer') {
    errs.push(
      invalid(
        spec.child('externalTrafficPolicy'),
        s.externalTrafficPolicy,
        "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
      ),
    )
  } else
    errs.push(...oneOf(spec.child('externalTrafficPolicy'), s.externalTrafficPolicy, ['Cluster', 'Local']))
  errs.push(...oneOf(spec.child('internalTrafficPolicy'), s.internalTrafficPolicy, ['Cluster', 'Local']))
  errs.push(
    ...oneOf(spec.child('ipFamilyPolicy'), s.ipFamilyPolicy, [
      'PreferDualStack',
      'RequireDualStack',
      'SingleStack',
    ]),
  )
  list(s.externalIPs).forEach((ip, i) => {
    for (const m of isValidIP(str(ip))) errs.push(invalid(spec.child('externalIPs').index(i), ip, m))
  })
  return errs
}

export function validateServiceUpdate(next: Obj, prev: Obj): FieldError[] {
  const a = obj(next.spec) ?? {}
  const b = obj(prev.spec) ?? {}
  const errs: FieldError[] = []
  // A ClusterIP cannot change, except by turning the Service into an ExternalName one.
  if (
    a.type !== 'ExternalName' &&
    b.clusterIP &&
    a.clusterIP !== undefined &&
    a.clusterIP !== '' &&
    a.clusterIP !== b.clusterIP
  ) {
    errs.push(
      invalid(
        spec.child('clusterIPs').index(0),
        list(a.clusterIPs).length ? a.clusterIPs : [a.clusterIP],
        'may not change once set',
      ),
    )
  }
  return errs
}

function validateDataKeys(o: Obj, fields: readonly string[]): FieldError[] {
  const errs: FieldError[] = []
  const seen = new Set<string>()
  let size = 0
  for (const f of fields) {
    for (const [k, v] of Object.entries(obj(o[f]) ?? {})) {
      errs.push(...each(FieldPath.root(f).key(k), k, isConfigMapKey(k)))
      if (seen.has(k))
        errs.push(
          invalid(
            FieldPath.root(f),
            k,
            'duplicate of key present in ' + fields.filter((x) => x !== f).join(', '),
          ),
        )
      seen.add(k)
      size += typeof v === 'string' ? Buffer.byteLength(v) : 0
    }
  }
  if (size > 1024 * 1024) errs.push(tooLong(FieldPath.root(fields[0] ?? 'data'), '', 1024 * 1024))
  return errs
}

export function validateConfigMap(o: Obj): FieldError[] {
  return validateDataKeys(o, ['data', 'binaryData'])
}

export function validateConfigMapUpdate(next: Obj, prev: Obj): FieldError[] {
  return immutableData(next, prev, ['data', 'binaryData'])
}

function immutableData(next: Obj, prev: Obj, fields: readonly string[]): FieldError[] {
  if (prev.immutable !== true) return []
  const errs: FieldError[] = []
  if (next.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'))
  for (const f of fields) {
    if (JSON.stringify(next[f] ?? {}) !== JSON.stringify(prev[f] ?? {})) {
      errs.push(forbidden(f, 'field is immutable when `immutable` is set'))
    }
  }
  return errs
}

const secretKeysRequired: Record<string, readonly string[]> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
}

export function validateSecret(o: Obj): FieldError[] {
  const errs = validateDataKeys(o, ['data', 'stringData'])
  const type = str(o.type)
  const data = obj(o.data) ?? {}
  for (const k of secretKeysRequired[type] ?? [])
    if (!(k in data)) errs.push(required(FieldPath.root('data').key(k)))
  if (type === 'kubernetes.io/service-account-token') {
    const ann = strMap(obj(o.metadata)?.annotations)
    if (!ann['kubernetes.io/service-account.name']) {
      errs.push(
        required(FieldPath.root('metadata').child('annotations').key('kubernetes.io/service-account.name')),
      )
    }
  }
  if (type === 'kubernetes.io/basic-auth' && !('username' in data) && !('password' in data)) {
    errs.push(required(FieldPath.root('data').key('username')))
  }
  if (type === 'kubernetes.io/ssh-auth' && !('ssh-privatekey' in data)) {
    errs.push(required(FieldPath.root('data').key('ssh-privatekey')))
  }
  return errs
}

export function validateSecretUpdate(next: Obj, prev: Obj): FieldError[] {
  const errs: FieldError[] = []
  if ((next.type ?? 'Opaque') !== (prev.type ?? 'Opaque')) errs.push(invalid('type', next.type, immutable))
  errs.push(...immutableData(next, prev, ['data']))
  return errs
}

export function validateNamespace(o: Obj): FieldError[] {
  return validateFinalizerNames(list(obj(o.spec)?.finalizers), spec.child('finalizers'))
}

function validateFinalizerNames(finalizers: unknown[], p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  for (const f of finalizers) {
    const s = str(f)
    const msgs = isQualifiedName(s)
    errs.push(...each(p, s, msgs))
    if (msgs.length === 0 && !s.includes('/') && s !== 'kubernetes') {
      errs.push(invalid(p, s, 'name is neither a standard finalizer name nor is it fully qualified'))
    }
  }
  return errs
}

export function validateNode(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  objs(s.taints).forEach((t, i) => {
    const p = spec.child('taints').index(i)
    errs.push(...requiredName(p.child('key'), t.key, isQualifiedName))
    if (str(t.value) !== '')
      errs.push(...each(p.child('value'), str(t.value), isValidLabelValue(str(t.value))))
    errs.push(...oneOf(p.child('effect'), t.effect, ['NoExecute', 'NoSchedule', 'PreferNoSchedule'], true))
  })
  const cidr = str(s.podCIDR)
  if (cidr !== '' && !cidr.includes('/'))
    errs.push(invalid(spec.child('podCIDR'), cidr, 'must be a valid CIDR value'))
  return errs
}

export function validateNodeUpdate(next: Obj, prev: Obj): FieldError[] {
  const a = obj(next.spec) ?? {}
  const b = obj(prev.spec) ?? {}
  const errs: FieldError[] = []
  if (b.podCIDR && a.podCIDR !== b.podCIDR)
    errs.push(forbidden(spec.child('podCIDR'), 'node updates may not change podCIDR except from "" to valid'))
  if (b.providerID && a.providerID !== b.providerID)
    errs.push(
      forbidden(spec.child('providerID'), 'node updates may not change providerID except from "" to valid'),
    )
  return errs
}

export function validateServiceAccount(o: Obj): FieldError[] {
  const errs: FieldError[] = []
  objs(o.secrets).forEach((s, i) => {
    if (s.name !== undefined)
      errs.push(
        ...each(
          FieldPath.root('secrets').index(i).child('name'),
          str(s.name),
          isDNS1123Subdomain(str(s.name)),
        ),
      )
  })
  objs(o.imagePullSecrets).forEach((s, i) => {
    if (str(s.name) === '') errs.push(required(FieldPath.root('imagePullSecrets').index(i).child('name')))
  })
  return errs
}

export function validateEndpoints(o: Obj): FieldError[] {
  const errs: FieldError[] = []
  objs(o.subsets).forEach((ss, i) => {
    const p = FieldPath.root('subsets').index(i)
    for (const which of ['addresses', 'notReadyAddresses']) {
      objs(ss[which]).forEach((a, j) => {
        const ip = str(a.ip)
        if (ip === '') errs.push(required(p.child(which).index(j).child('ip')))
        else for (const m of isValidIP(ip)) errs.push(invalid(p.child(which).index(j).child('ip'), ip, m))
      })
    }
    const ports = objs(ss.ports)
    ports.forEach((pt, j) => {
      const pp = p.child('ports').index(j)
      if (ports.length > 1 && str(pt.name) === '') errs.push(required(pp.child('name')))
      for (const m of isValidPortNum(typeof pt.port === 'number' ? pt.port : 0))
        errs.push(invalid(pp.child('port'), pt.port ?? 0, m))
      errs.push(...oneOf(pp.child('protocol'), pt.protocol, protocols))
    })
  })
  return errs
}

const accessModes = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod']

export function validatePersistentVolumeClaim(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  return validateClaimSpec(s, spec)
}

export function validateClaimSpec(s: Obj, p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const modes = list(s.accessModes)
  if (modes.length === 0) errs.push(required(p.child('accessModes'), 'at least 1 access mode is required'))
  for (const m of modes) errs.push(...oneOf(p.child('accessModes'), m, accessModes))
  const storage = obj(obj(s.resources)?.requests)?.storage
  if (storage === undefined && s.dataSource === undefined && s.dataSourceRef === undefined) {
    errs.push(required(p.child('resources').key('storage')))
  }
  errs.push(...validateResources(obj(s.resources), p.child('resources')))
  errs.push(...oneOf(p.child('volumeMode'), s.volumeMode, ['Block', 'Filesystem']))
  return errs
}

export function validatePersistentVolumeClaimUpdate(next: Obj, prev: Obj): FieldError[] {
  const a = structuredClone(obj(next.spec) ?? {})
  const b = obj(prev.spec) ?? {}
  // Only the requested size (growing), the volume attributes class and a first binding may change.
  a.resources = b.resources
  const ar = obj(obj(next.spec)?.resources)
  a.volumeAttributesClassName = b.volumeAttributesClassName
  if (!b.volumeName) a.volumeName = b.volumeName
  const errs: FieldError[] = []
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    errs.push(
      forbidden(
        spec,
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    )
  }
  errs.push(...validateResources(ar, spec.child('resources')))
  return errs
}

export function validatePersistentVolume(o: Obj): FieldError[] {
  const s = obj(o.spec) ?? {}
  const errs: FieldError[] = []
  const capacity = obj(s.capacity) ?? {}
  if (capacity.storage === undefined) errs.push(required(spec.child('capacity').key('storage')))
  else errs.push(...quantity(spec.child('capacity').key('storage'), capacity.storage))
  const modes = list(s.accessModes)
  if (modes.length === 0) errs.push(required(spec.child('accessModes')))
  for (const m of modes) errs.push(...oneOf(spec.child('accessModes'), m, accessModes))
  errs.push(
    ...oneOf(spec.child('persistentVolumeReclaimPolicy'), s.persistentVolumeReclaimPolicy, [
      'Delete',
      'Recycle',
      'Retain',
    ]),
  )
  const sources = [
    'hostPath',
    'local',
    'nfs',
    'csi',
    'iscsi',
    'fc',
    'rbd',
    'cephfs',
    'glusterfs',
    'azureFile',
    'azureDisk',
    'gcePersistentDisk',
    'awsElasticBlockStore',
    'cinder',
    'flexVolume',
    'vsphereVolume',
    'portworxVolume',
    'scaleIO',
    'storageos',
    'quobyte',
    'photonPersistentDisk',
    'flocker',
  ].filter((k) => s[k] !== undefined)
  if (sources.length === 0) errs.push(required(spec, 'must specify a volume type'))
  else if (sources.length > 1)
    errs.push(forbidden(spec.child(sources[1] ?? ''), 'may not specify more than 1 volume type'))
  return errs
}

const resourceKinds = ['Pod', 'Container', 'PersistentVolumeClaim']

export function validateLimitRange(o: Obj): FieldError[] {
  const errs: FieldError[] = []
  objs(obj(o.spec)?.limits).forEach((l, i) => {
    const p = spec.child('limits').index(i)
    errs.push(...oneOf(p.child('type'), l.type, resourceKinds, true))
    for (const f of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) {
      for (const [k, q] of Object.entries(obj(l[f]) ?? {})) errs.push(...quantity(p.child(f).key(k), q))
    }
  })
  return errs
}

export function validateResourceQuota(o: Obj): FieldError[] {
  const errs: FieldError[] = []
  for (const [k, q] of Object.entries(obj(obj(o.spec)?.hard) ?? {}))
    errs.push(...quantity(spec.child('hard').key(k), q))
  for (const sc of list(obj(o.spec)?.scopes)) {
    errs.push(
      ...oneOf(spec.child('scopes'), sc, [
        'BestEffort',
        'CrossNamespacePodAffinity',
        'NotBestEffort',
        'NotTerminating',
        'PriorityClass',
        'Terminating',
        'VolumeAttributesClass',
      ]),
    )
  }
  return errs
}

export function validateEvent(o: Obj): FieldError[] {
  const errs: FieldError[] = []
  const ns = str(obj(o.metadata)?.namespace)
  const involved = obj(o.involvedObject) ?? obj(o.regarding) ?? {}
  const field = o.involvedObject !== undefined ? 'involvedObject' : 'regarding'
  const ins = str(involved.namespace)
  if (ins !== '' && ins !== ns) {
    errs.push(invalid(FieldPath.root(field).child('namespace'), ins, 'does not match event.namespace'))
  }
  return errs
}
