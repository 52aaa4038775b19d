import { deepEqual } from '../object.ts'
import { volumeSourceFields } from '../volumes.ts'
import {
  duplicate,
  FieldPath,
  forbidden,
  invalid,
  notFound,
  notSupported,
  required,
  StringMapValue,
  type FieldError,
} from '../field-errors.ts'
import { quantityValue } from '../quantity.ts'
import { validateLabels } from './meta.ts'
import {
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isQualifiedName,
  isValidPortName,
  isValidPortNum,
} from './names.ts'
import {
  each,
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
  strMap,
  type Obj,
} from './util.ts'

/**
 * PodSpec validation, shared by Pods and every pod template (Deployments, Jobs, ...), with
 * Kubernetes' rules and messages for the mistakes people make: containers without a name or
 * image, bad ports, unknown volumes, requests above limits, unsupported policies.
 */

const protocols = ['SCTP', 'TCP', 'UDP']
const pullPolicies = ['Always', 'IfNotPresent', 'Never']
const restartPolicies = ['Always', 'OnFailure', 'Never']
const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']
const terminationMessagePolicies = ['File', 'FallbackToLogsOnError']
const tolerationOperators = ['Equal', 'Exists']
const taintEffects = ['NoExecute', 'NoSchedule', 'PreferNoSchedule']

export function validatePodSpec(spec: Obj, path: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const volumes = validateVolumes(objs(spec.volumes), path.child('volumes'), errs)
  const names = new Set<string>()
  const containers = objs(spec.containers)
  if (containers.length === 0) errs.push(required(path.child('containers')))
  objs(spec.initContainers).forEach((c, i) => {
    errs.push(...validateContainer(c, path.child('initContainers').index(i), volumes, names, true))
  })
  containers.forEach((c, i) => {
    errs.push(...validateContainer(c, path.child('containers').index(i), volumes, names, false))
  })
  objs(spec.ephemeralContainers).forEach((c, i) => {
    errs.push(...validateContainer(c, path.child('ephemeralContainers').index(i), volumes, names, false))
  })
  errs.push(...oneOf(path.child('restartPolicy'), spec.restartPolicy, restartPolicies))
  errs.push(...oneOf(path.child('dnsPolicy'), spec.dnsPolicy, dnsPolicies))
  if (spec.dnsPolicy === 'None' && obj(spec.dnsConfig) === undefined) {
    errs.push(required(path.child('dnsConfig'), 'must provide `dnsConfig` when `dnsPolicy` is None'))
  }
  errs.push(...validateLabels(strMap(spec.nodeSelector), path.child('nodeSelector')))
  if (spec.hostname !== undefined)
    errs.push(...each(path.child('hostname'), str(spec.hostname), isDNS1123Label(str(spec.hostname))))
  if (spec.subdomain !== undefined) {
    errs.push(...each(path.child('subdomain'), str(spec.subdomain), isDNS1123Label(str(spec.subdomain))))
  }
  errs.push(...nonNegative(path.child('terminationGracePeriodSeconds'), spec.terminationGracePeriodSeconds))
  errs.push(...positive(path.child('activeDeadlineSeconds'), spec.activeDeadlineSeconds))
  if (spec.serviceAccountName !== undefined && spec.serviceAccountName !== '') {
    const n = str(spec.serviceAccountName)
    errs.push(...each(path.child('serviceAccountName'), n, isDNS1123Subdomain(n)))
  }
  if (spec.nodeName !== undefined && spec.nodeName !== '') {
    const n = str(spec.nodeName)
    errs.push(...each(path.child('nodeName'), n, isDNS1123Subdomain(n)))
  }
  objs(spec.tolerations).forEach((t, i) =>
    errs.push(...validateToleration(t, path.child('tolerations').index(i))),
  )
  objs(spec.imagePullSecrets).forEach((s, i) => {
    if (str(s.name) === '') errs.push(required(path.child('imagePullSecrets').index(i).child('name')))
  })
  return errs
}

function validateVolumes(volumes: Obj[], path: FieldPath, errs: FieldError[]): Map<string, Obj> {
  const byName = new Map<string, Obj>()
  volumes.forEach((v, i) => {
    const p = path.index(i)
    const name = str(v.name)
    const nameErrs = requiredName(p.child('name'), v.name, isDNS1123Label)
    errs.push(...nameErrs)
    if (byName.has(name)) errs.push(duplicate(p.child('name'), name))
    else if (nameErrs.length === 0) byName.set(name, v)
    const sources = volumeSourceFields.filter((s) => v[s] !== undefined && v[s] !== null)
    if (sources.length === 0) errs.push(required(p, 'must specify a volume type'))
    else if (sources.length > 1) {
      errs.push(forbidden(p.child(sources[1] ?? ''), 'may not specify more than 1 volume type'))
    }
    errs.push(...validateVolumeSource(v, p))
  })
  return byName
}

function validateVolumeSource(v: Obj, p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const items = (src: Obj, sp: FieldPath): void => {
    objs(src.items).forEach((it, i) => {
      const ip = sp.child('items').index(i)
      errs.push(...requiredName(ip.child('key'), it.key, isConfigMapKey))
      const path = str(it.path)
      if (path === '') errs.push(required(ip.child('path')))
      else if (path.startsWith('/')) errs.push(invalid(ip.child('path'), path, 'must be a relative path'))
      else if (path.split('/').includes('..'))
        errs.push(invalid(ip.child('path'), path, "must not contain '..'"))
      errs.push(...mode(ip.child('mode'), it.mode))
    })
  }
  const mode = (mp: FieldPath, m: unknown): FieldError[] => {
    const n = num(m)
    return n !== undefined && (n < 0 || n > 0o777)
      ? [invalid(mp, n, 'must be a number between 0 and 0777 (octal), both inclusive')]
      : []
  }
  const hostPath = obj(v.hostPath)
  if (hostPath) {
    if (str(hostPath.path) === '') errs.push(required(p.child('hostPath', 'path')))
    errs.push(
      ...oneOf(p.child('hostPath', 'type'), hostPath.type, [
        '',
        'DirectoryOrCreate',
        'Directory',
        'FileOrCreate',
        'File',
        'Socket',
        'CharDevice',
        'BlockDevice',
      ]),
    )
  }
  const secret = obj(v.secret)
  if (secret) {
    if (secret.secretName !== undefined) {
      const n = str(secret.secretName)
      errs.push(...each(p.child('secret', 'secretName'), n, isDNS1123Subdomain(n)))
    }
    errs.push(...mode(p.child('secret', 'defaultMode'), secret.defaultMode))
    items(secret, p.child('secret'))
  }
  const cm = obj(v.configMap)
  if (cm) {
    errs.push(...requiredName(p.child('configMap', 'name'), cm.name, isDNS1123Subdomain))
    errs.push(...mode(p.child('configMap', 'defaultMode'), cm.defaultMode))
    items(cm, p.child('configMap'))
  }
  const pvc = obj(v.persistentVolumeClaim)
  if (pvc && str(pvc.claimName) === '') errs.push(required(p.child('persistentVolumeClaim', 'claimName')))
  const emptyDir = obj(v.emptyDir)
  if (emptyDir) {
    errs.push(...oneOf(p.child('emptyDir', 'medium'), emptyDir.medium, ['', 'Memory', 'HugePages']))
    if (emptyDir.sizeLimit !== undefined)
      errs.push(...quantity(p.child('emptyDir', 'sizeLimit'), emptyDir.sizeLimit))
  }
  const nfs = obj(v.nfs)
  if (nfs) {
    if (str(nfs.server) === '') errs.push(required(p.child('nfs', 'server')))
    if (str(nfs.path) === '') errs.push(required(p.child('nfs', 'path')))
    else if (!str(nfs.path).startsWith('/'))
      errs.push(invalid(p.child('nfs', 'path'), nfs.path, 'must be an absolute path'))
  }
  const csi = obj(v.csi)
  if (csi && str(csi.driver) === '') errs.push(required(p.child('csi', 'driver')))
  return errs
}

function validateContainer(
  c: Obj,
  p: FieldPath,
  volumes: Map<string, Obj>,
  names: Set<string>,
  init: boolean,
): FieldError[] {
  const errs: FieldError[] = []
  const name = str(c.name)
  errs.push(...requiredName(p.child('name'), c.name, isDNS1123Label))
  if (name !== '') {
    if (names.has(name)) errs.push(duplicate(p.child('name'), name))
    names.add(name)
  }
  if (str(c.image) === '') errs.push(required(p.child('image')))
  else if (str(c.image).trim() !== c.image) {
    errs.push(invalid(p.child('image'), c.image, 'must not have leading or trailing whitespace'))
  }
  errs.push(...oneOf(p.child('imagePullPolicy'), c.imagePullPolicy, pullPolicies))
  errs.push(
    ...oneOf(p.child('terminationMessagePolicy'), c.terminationMessagePolicy, terminationMessagePolicies),
  )
  if (init) {
    errs.push(...oneOf(p.child('restartPolicy'), c.restartPolicy, ['Always']))
    const sidecar = c.restartPolicy === 'Always'
    if (!sidecar) {
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (c[probe] !== undefined)
          errs.push(
            forbidden(p.child(probe), 'may not be set for init containers without restartPolicy=Always'),
          )
      }
      if (c.lifecycle !== undefined) {
        errs.push(
          forbidden(p.child('lifecycle'), 'may not be set for init containers without restartPolicy=Always'),
        )
      }
    }
  }
  const portNames = new Set<string>()
  objs(c.ports).forEach((port, i) => {
    const pp = p.child('ports').index(i)
    if (port.name !== undefined && port.name !== '') {
      const n = str(port.name)
      errs.push(...each(pp.child('name'), n, isValidPortName(n)))
      if (portNames.has(n)) errs.push(duplicate(pp.child('name'), n))
      portNames.add(n)
    }
    const cp = num(port.containerPort)
    if (cp === undefined || cp === 0) errs.push(required(pp.child('containerPort')))
    else for (const m of isValidPortNum(cp)) errs.push(invalid(pp.child('containerPort'), cp, m))
    const hp = num(port.hostPort)
    if (hp !== undefined && hp !== 0)
      for (const m of isValidPortNum(hp)) errs.push(invalid(pp.child('hostPort'), hp, m))
    errs.push(...oneOf(pp.child('protocol'), port.protocol, protocols))
  })
  objs(c.env).forEach((e, i) => {
    const ep = p.child('env').index(i)
    errs.push(...requiredName(ep.child('name'), e.name, isEnvVarName))
    const from = obj(e.valueFrom)
    if (from) {
      if (str(e.value) !== '') {
        errs.push(invalid(ep.child('valueFrom'), '', 'may not be specified when `value` is not empty'))
      }
      const kinds = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'].filter(
        (k) => from[k] !== undefined,
      )
      if (kinds.length === 0)
        errs.push(
          invalid(
            ep.child('valueFrom'),
            '',
            'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
          ),
        )
      else if (kinds.length > 1) {
        errs.push(invalid(ep.child('valueFrom'), '', 'may not have more than one field specified at a time'))
      }
      for (const k of ['configMapKeyRef', 'secretKeyRef']) {
        const ref = obj(from[k])
        if (ref) errs.push(...requiredName(ep.child('valueFrom', k, 'key'), ref.key, isConfigMapKey))
      }
      const fieldRef = obj(from.fieldRef)
      if (fieldRef && str(fieldRef.fieldPath) === '')
        errs.push(required(ep.child('valueFrom', 'fieldRef', 'fieldPath')))
    }
  })
  const mountPaths = new Set<string>()
  objs(c.volumeMounts).forEach((m, i) => {
    const mp = p.child('volumeMounts').index(i)
    const n = str(m.name)
    if (n === '') errs.push(required(mp.child('name')))
    else if (!volumes.has(n)) errs.push(notFound(mp.child('name'), n))
    const path = str(m.mountPath)
    if (path === '') errs.push(required(mp.child('mountPath')))
    else {
      if (mountPaths.has(path)) errs.push(invalid(mp.child('mountPath'), path, 'must be unique'))
      mountPaths.add(path)
    }
    if (str(m.subPath).startsWith('/'))
      errs.push(invalid(mp.child('subPath'), m.subPath, 'must be a relative path'))
  })
  errs.push(...validateResources(obj(c.resources), p.child('resources')))
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const pr = obj(c[probe])
    if (pr) errs.push(...validateProbe(pr, p.child(probe), probe))
  }
  return errs
}

function validateProbe(pr: Obj, p: FieldPath, which: string): FieldError[] {
  const errs: FieldError[] = []
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => pr[h] !== undefined)
  if (handlers.length === 0) errs.push(required(p, 'must specify a handler type'))
  else if (handlers.length > 1)
    errs.push(forbidden(p.child(handlers[1] ?? ''), 'may not specify more than 1 handler type'))
  for (const f of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
  ]) {
    errs.push(...nonNegative(p.child(f), pr[f]))
  }
  if (
    (which === 'livenessProbe' || which === 'startupProbe') &&
    num(pr.successThreshold) !== undefined &&
    pr.successThreshold !== 1
  ) {
    errs.push(invalid(p.child('successThreshold'), pr.successThreshold, 'must be 1'))
  }
  const http = obj(pr.httpGet)
  if (http) {
    errs.push(...port(p.child('httpGet', 'port'), http.port))
    errs.push(...oneOf(p.child('httpGet', 'scheme'), http.scheme, ['HTTP', 'HTTPS']))
  }
  const tcp = obj(pr.tcpSocket)
  if (tcp) errs.push(...port(p.child('tcpSocket', 'port'), tcp.port))
  const exec = obj(pr.exec)
  if (exec && list(exec.command).length === 0) errs.push(required(p.child('exec', 'command')))
  return errs
}

/** An int-or-string port: a number in range, or a valid port name. */
export function port(p: FieldPath, v: unknown): FieldError[] {
  if (typeof v === 'number') return isValidPortNum(v).map((m) => invalid(p, v, m))
  if (typeof v === 'string' && v !== '') return isValidPortName(v).map((m) => invalid(p, v, m))
  return [required(p)]
}

const standardResources = new Set(['cpu', 'memory', 'ephemeral-storage', 'storage', 'pods'])

export function validateResources(res: Obj | undefined, p: FieldPath): FieldError[] {
  if (!res) return []
  const errs: FieldError[] = []
  const limits = obj(res.limits) ?? {}
  const requests = obj(res.requests) ?? {}
  for (const [which, m] of [
    ['limits', limits],
    ['requests', requests],
  ] as const) {
    for (const [name, q] of Object.entries(m)) {
      const qp = p.child(which).key(name)
      if (!standardResources.has(name) && !name.includes('/') && !name.startsWith('hugepages-')) {
        errs.push(invalid(qp, name, 'must be a standard resource type or fully qualified'))
      }
      errs.push(...quantity(qp, q))
    }
  }
  for (const [name, q] of Object.entries(requests)) {
    if (!(name in limits)) continue
    const r = quantityValue(q)
    const l = quantityValue(limits[name])
    if (r !== undefined && l !== undefined && r > l) {
      errs.push(
        invalid(
          p.child('requests').key(name),
          q,
          `must be less than or equal to ${name} limit of ${String(limits[name])}`,
        ),
      )
    }
  }
  return errs
}

function validateToleration(t: Obj, p: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const key = str(t.key)
  if (key !== '') errs.push(...each(p.child('key'), key, isQualifiedName(key)))
  const op = t.operator ?? 'Equal'
  if (key === '' && op !== 'Exists') {
    errs.push(
      invalid(
        p.child('operator'),
        op,
        'operator must be Exists when `key` is empty, which means "match all values and all keys"',
      ),
    )
  }
  if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
    errs.push(
      invalid(
        p.child('effect'),
        t.effect ?? '',
        "effect must be 'NoExecute' when `tolerationSeconds` is set",
      ),
    )
  }
  if (op === 'Exists' && str(t.value) !== '') {
    errs.push(invalid(p.child('operator'), t.value, "value must be empty when `operator` is 'Exists'"))
  } else if (op !== 'Exists' && op !== 'Equal') {
    errs.push(notSupported(p.child('operator'), op, tolerationOperators))
  }
  errs.push(...oneOf(p.child('effect'), t.effect, taintEffects))
  return errs
}

/** The error of a controller whose selector does not select its own pod template. */
export function selectorMismatch(template: FieldPath, labels: Record<string, string>): FieldError {
  return invalid(
    template.child('metadata', 'labels'),
    new StringMapValue(labels),
    '`selector` does not match template `labels`',
  )
}

/** A pod template's restartPolicy must be one the controller runs pods with. */
export function templateRestartPolicy(
  template: Obj,
  path: FieldPath,
  allowed: readonly string[],
): FieldError[] {
  const policy = obj(template.spec)?.restartPolicy
  return policy !== undefined && !allowed.includes(str(policy))
    ? [notSupported(path.child('spec', 'restartPolicy'), policy, allowed)]
    : []
}

/** A PodTemplateSpec: labels, and the spec. */
export function validatePodTemplate(template: Obj | undefined, p: FieldPath): FieldError[] {
  if (!template) return [required(p)]
  const meta = obj(template.metadata) ?? {}
  const errs = validateLabels(strMap(meta.labels), p.child('metadata', 'labels'))
  errs.push(...validatePodSpec(obj(template.spec) ?? {}, p.child('spec')))
  return errs
}

/**
 * What an update may change in a running pod's spec: container images, activeDeadlineSeconds,
 * added tolerations, a terminationGracePeriodSeconds, scheduling gates being removed.
 */
export function validatePodSpecUpdate(next: Obj, prev: Obj): FieldError[] {
  // The new spec with what may change taken from the old one must equal the old spec. Shallow
  // copies: nothing here writes into the objects themselves.
  const a: Obj = { ...next }
  const b = prev
  for (const key of ['containers', 'initContainers'] as const) {
    const bs = objs(b[key])
    if (Array.isArray(a[key])) {
      a[key] = objs(a[key]).map((c, i) => {
        const old = bs[i]
        return old ? { ...c, image: old.image } : c
      })
    }
  }
  a.activeDeadlineSeconds = b.activeDeadlineSeconds
  a.terminationGracePeriodSeconds = b.terminationGracePeriodSeconds
  const oldTolerations = list(b.tolerations)
  const newTolerations = list(a.tolerations)
  const tolerationsOk = oldTolerations.every((t) => newTolerations.some((n) => deepEqual(n, t)))
  if (tolerationsOk) a.tolerations = b.tolerations
  const oldGates = list(b.schedulingGates)
  if (list(a.schedulingGates).every((g) => oldGates.some((o) => deepEqual(o, g))))
    a.schedulingGates = b.schedulingGates
  if (!a.nodeName && b.nodeName) a.nodeName = b.nodeName
  if (deepEqual(a, b)) return []
  return [
    forbidden(
      'spec',
      'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    ),
  ]
}

export { FieldPath }
