import { conversionFor } from '../conversion.ts'
import type { StoredObject } from '../object.ts'
import {
  age,
  ageOf,
  col,
  humanDuration,
  int,
  labelSelector,
  formatLabels,
  byString,
  name,
  nameOf,
  obj,
  objs,
  optObj,
  orNone,
  present,
  since,
  str,
  strs,
  wide,
  type Obj,
} from './cells.ts'
import { quantity, quantityOrZero } from './quantity.ts'
import type { TableConvertor } from './table.ts'

/** Printers of services, networking, nodes, storage, configuration and the API's own kinds. */

// --- services and networking ---------------------------------------------------------------------

/**
 * The addresses of a load balancer status (a Service's or an Ingress's): each ingress point's IP,
 * or its hostname without one; sorted, without repeats. Not cut short: the server prints wide.
 */
function loadBalancerAddresses(status: unknown): string {
  const ingress = objs(obj(obj(status).loadBalancer).ingress)
  const addresses = new Set(ingress.map((i) => str(i.ip) || str(i.hostname)).filter((s) => s !== ''))
  return [...addresses].sort(byString).join(',')
}

export function serviceExternalIP(svc: Obj): string {
  const spec = obj(svc.spec)
  const external = strs(spec.externalIPs)
  switch (str(spec.type) || 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length > 0 ? external.join(',') : '<none>'
    case 'LoadBalancer': {
      const lb = loadBalancerAddresses(svc.status)
      if (external.length > 0) return [...(lb === '' ? [] : lb.split(',')), ...external].join(',')
      return lb === '' ? '<pending>' : lb
    }
    case 'ExternalName':
      return str(spec.externalName)
  }
  return '<unknown>'
}

export function servicePorts(svc: Obj): string {
  const ports = objs(obj(svc.spec).ports).map((p) => {
    const protocol = str(p.protocol) || 'TCP'
    return int(p.nodePort) > 0
      ? `${int(p.port)}:${int(p.nodePort)}/${protocol}`
      : `${int(p.port)}/${protocol}`
  })
  return ports.length === 0 ? '<none>' : ports.join(',')
}

const services: TableConvertor = {
  columns: [
    name,
    col('Type', 'How the service is exposed.'),
    col('Cluster-IP', 'The cluster IP of the service.'),
    col('External-IP', 'The addresses the service is reached at from outside the cluster.'),
    col('Port(s)', 'The ports of the service.'),
    age,
    wide('Selector', 'The labels of the pods the service routes to.'),
  ],
  row(o, now) {
    const svc = o as Obj
    const spec = obj(svc.spec)
    // spec.clusterIP wins over clusterIPs[0] when they differ, as in conversion to the internal
    // version, whose first cluster IP is printed.
    const clusterIP = str(spec.clusterIP) || (strs(spec.clusterIPs)[0] ?? '')
    return [
      nameOf(svc),
      str(spec.type) || 'ClusterIP',
      orNone(clusterIP),
      serviceExternalIP(svc),
      servicePorts(svc),
      ageOf(svc, now),
      formatLabels(spec.selector),
    ]
  },
}

/** The endpoints of an Endpoints object as `ip:port` pairs, three at most then `+ N more...`. */
export function formatEndpoints(ep: Obj): string {
  const subsets = objs(ep.subsets)
  if (subsets.length === 0) return '<none>'
  const list: string[] = []
  const max = 3
  let more = false
  let count = 0
  const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`)
  for (const ss of subsets) {
    const addresses = objs(ss.addresses)
    const ports = objs(ss.ports)
    if (ports.length === 0) {
      count += addresses.length
      for (const a of addresses) {
        if (list.length === max) {
          more = true
          break
        }
        list.push(str(a.ip))
      }
      continue
    }
    for (const p of ports) {
      count += addresses.length
      for (const a of addresses) {
        if (list.length === max) {
          more = true
          break
        }
        list.push(hostPort(str(a.ip), int(p.port)))
      }
    }
  }
  const joined = list.join(',')
  return more ? `${joined} + ${count - max} more...` : joined
}

const endpoints: TableConvertor = {
  columns: [name, col('Endpoints', 'The addresses and ports of the endpoints.'), age],
  row: (o, now) => [nameOf(o), formatEndpoints(o), ageOf(o, now)],
}

function listWithMore(values: readonly string[], total: number): string {
  const max = 3
  if (total > max) return `${values.slice(0, max).join(',')} + ${total - max} more...`
  const s = values.join(',')
  return s === '' ? '<unset>' : s
}

const endpointSlices: TableConvertor = {
  columns: [
    name,
    col('AddressType', 'The type of the addresses.'),
    col('Ports', 'The ports of the endpoints.'),
    col('Endpoints', 'The addresses of the endpoints.'),
    age,
  ],
  row(o, now) {
    const s = o as Obj
    // A port's number, else its name (even an empty one), else `*`.
    const portText = (p: Obj) =>
      typeof p.port === 'number' ? String(p.port) : typeof p.name === 'string' ? p.name : '*'
    const ports = objs(s.ports).map(portText)
    const addresses = objs(s.endpoints).flatMap((e) => strs(e.addresses))
    return [
      nameOf(s),
      str(s.addressType),
      listWithMore(ports, ports.length),
      listWithMore(addresses, addresses.length),
      ageOf(s, now),
    ]
  },
}

const ingresses: TableConvertor = {
  columns: [
    name,
    col('Class', 'The name of the IngressClass that configures the ingress.'),
    col('Hosts', 'The hosts of the ingress rules.'),
    col('Address', 'The addresses the load balancer serves the ingress at.'),
    col('Ports', 'The ports the ingress serves: 80, and 443 with TLS.'),
    age,
  ],
  row(o, now) {
    const ing = o as Obj
    const spec = obj(ing.spec)
    const rules = objs(spec.rules)
    const hosts: string[] = []
    let more = false
    for (const r of rules) {
      if (hosts.length === 3) more = true
      if (!more && str(r.host) !== '') hosts.push(str(r.host))
    }
    let hostText = hosts.length === 0 ? '*' : hosts.join(',')
    if (more && hosts.length > 0) hostText = `${hostText} + ${rules.length - 3} more...`
    return [
      nameOf(ing),
      typeof spec.ingressClassName === 'string' ? spec.ingressClassName : '<none>',
      hostText,
      loadBalancerAddresses(ing.status),
      objs(spec.tls).length > 0 ? '80, 443' : '80',
      ageOf(ing, now),
    ]
  },
}

const ingressClasses: TableConvertor = {
  columns: [
    name,
    col('Controller', 'The controller that implements the class.'),
    col('Parameters', 'The resource holding the parameters of the class.'),
    age,
  ],
  row(o, now) {
    const c = o as Obj
    const spec = obj(c.spec)
    let parameters = '<none>'
    if (present(spec.parameters)) {
      const p = obj(spec.parameters)
      parameters = str(p.kind)
      if (typeof p.apiGroup === 'string') parameters += `.${p.apiGroup}`
      parameters += `/${str(p.name)}`
    }
    return [nameOf(c), str(spec.controller), parameters, ageOf(c, now)]
  },
}

const networkPolicies: TableConvertor = {
  columns: [name, col('Pod-Selector', 'The pods the policy applies to.'), age],
  row: (o, now) => [nameOf(o), labelSelector(obj(obj((o as Obj).spec).podSelector)), ageOf(o, now)],
}

const serviceCIDRs: TableConvertor = {
  columns: [name, col('CIDRs', 'The ranges of the cluster IPs.'), age],
  row: (o, now) => [nameOf(o), strs(obj((o as Obj).spec).cidrs).join(','), ageOf(o, now)],
}

const ipAddresses: TableConvertor = {
  columns: [name, col('ParentRef', 'The object the address is allocated to.')],
  row(o) {
    const ref = obj((o as Obj).spec).parentRef
    let parent = '<none>'
    if (present(ref)) {
      const r = obj(ref)
      parent = (str(r.group) === '' ? str(r.resource) : `${str(r.resource)}.${str(r.group)}`).toLowerCase()
      if (str(r.namespace) !== '') parent += `/${str(r.namespace)}`
      parent += `/${str(r.name)}`
    }
    return [nameOf(o), parent]
  },
}

// --- nodes, namespaces, events -------------------------------------------------------------------

export function nodeStatus(node: Obj): string {
  const status: string[] = []
  // The last Ready condition counts, should there be more than one.
  const ready = objs(obj(node.status).conditions).findLast((c) => c.type === 'Ready')
  if (ready) status.push(ready.status === 'True' ? 'Ready' : 'NotReady')
  if (status.length === 0) status.push('Unknown')
  if (obj(node.spec).unschedulable === true) status.push('SchedulingDisabled')
  return status.join(',')
}

export function nodeRoles(node: Obj): string {
  const roles = new Set<string>()
  for (const [k, v] of Object.entries(obj(obj(node.metadata).labels))) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length)
      if (role !== '') roles.add(role)
    } else if (k === 'kubernetes.io/role' && str(v) !== '') roles.add(str(v))
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',')
}

const nodes: TableConvertor = {
  columns: [
    name,
    col('Status', 'Whether the node is ready, and whether it takes new pods.'),
    col('Roles', 'The roles the node labels name.'),
    age,
    col('Version', 'The kubelet version of the node.'),
    wide('Internal-IP', 'The internal address of the node.'),
    wide('External-IP', 'The external address of the node.'),
    wide('OS-Image', 'The operating system of the node.'),
    wide('Kernel-Version', 'The kernel version of the node.'),
    wide('Container-Runtime', 'The container runtime of the node and its version.'),
  ],
  row(o, now) {
    const node = o as Obj
    const status = obj(node.status)
    const info = obj(status.nodeInfo)
    const address = (type: string) =>
      orNone(str(objs(status.addresses).find((a) => a.type === type)?.address))
    const unknown = (s: unknown) => (str(s) === '' ? '<unknown>' : str(s))
    return [
      nameOf(node),
      nodeStatus(node),
      nodeRoles(node),
      ageOf(node, now),
      str(info.kubeletVersion),
      address('InternalIP'),
      address('ExternalIP'),
      unknown(info.osImage),
      unknown(info.kernelVersion),
      unknown(info.containerRuntimeVersion),
    ]
  },
}

const namespaces: TableConvertor = {
  columns: [name, col('Status', 'The phase of the namespace.'), age],
  row: (o, now) => [nameOf(o), str(obj((o as Obj).status).phase), ageOf(o, now)],
}

const eventsConversion = conversionFor(
  { group: 'events.k8s.io', version: 'v1', resource: 'events' },
  { group: '', version: 'v1' },
)

const events: TableConvertor = {
  columns: [
    col('Last Seen', 'When the event was last seen.'),
    col('Type', 'The type of the event (Normal, Warning).'),
    col('Reason', 'Why the event happened, in a word.'),
    col('Object', 'The object the event is about.'),
    wide('Subobject', 'The part of the object the event is about.'),
    wide('Source', 'The component that reported the event.'),
    col('Message', 'What happened.'),
    wide('First Seen', 'When the event was first seen.'),
    wide('Count', 'How often the event happened.'),
    { name: 'Name', type: 'string', format: 'name', description: 'The name of the event.', priority: 1 },
  ],
  row(o, now) {
    let e = o as Obj
    if (e.apiVersion === 'events.k8s.io/v1' && eventsConversion)
      e = eventsConversion.toStored(o as StoredObject)
    const first = e.firstTimestamp ? since(e.firstTimestamp, now) : since(e.eventTime, now)
    let last = e.lastTimestamp ? since(e.lastTimestamp, now) : first
    let count = int(e.count)
    const series = optObj(e.series)
    if (series) {
      last = since(series.lastObservedTime, now)
      count = int(series.count)
    } else if (count === 0) count = 1
    const involved = obj(e.involvedObject)
    const kind = str(involved.kind).toLowerCase()
    const target = str(involved.name) !== '' ? `${kind}/${str(involved.name)}` : kind
    const source = obj(e.source)
    const component = str(source.component) || str(e.reportingComponent)
    const instance = str(source.host) || str(e.reportingInstance)
    const from =
      component === '' && instance === '' ? '' : instance === '' ? component : `${component}, ${instance}`
    return [
      last,
      str(e.type),
      str(e.reason),
      target,
      str(involved.fieldPath),
      from,
      str(e.message).trim(),
      first,
      count,
      nameOf(e),
    ]
  },
}

const componentStatuses: TableConvertor = {
  columns: [
    name,
    col('Status', 'Whether the component is healthy.'),
    col('Message', 'What the health check said.'),
    col('Error', 'The error of the health check.'),
  ],
  row(o) {
    const cs = o as Obj
    const healthy = objs(cs.conditions).find((c) => c.type === 'Healthy')
    const status = healthy ? (healthy.status === 'True' ? 'Healthy' : 'Unhealthy') : 'Unknown'
    return [nameOf(cs), status, str(healthy?.message), str(healthy?.error)]
  },
}

// --- configuration and access --------------------------------------------------------------------

const configMaps: TableConvertor = {
  columns: [name, col('Data', 'Number of entries in the config map.'), age],
  row(o, now) {
    const cm = o as Obj
    return [
      nameOf(cm),
      Object.keys(obj(cm.data)).length + Object.keys(obj(cm.binaryData)).length,
      ageOf(cm, now),
    ]
  },
}

const secrets: TableConvertor = {
  columns: [
    name,
    col('Type', 'The type of the secret.'),
    col('Data', 'Number of entries in the secret.'),
    age,
  ],
  row: (o, now) => [nameOf(o), str((o as Obj).type), Object.keys(obj((o as Obj).data)).length, ageOf(o, now)],
}

const serviceAccounts: TableConvertor = {
  columns: [name, col('Secrets', 'Number of secrets of the service account.'), age],
  row: (o, now) => [nameOf(o), objs((o as Obj).secrets).length, ageOf(o, now)],
}

const resourceQuotas: TableConvertor = {
  columns: [
    name,
    col('Request', 'Requests counted against the quota: used/hard.'),
    col('Limit', 'Limits counted against the quota: used/hard.'),
    age,
  ],
  row(o, now) {
    const q = o as Obj
    const status = obj(q.status)
    const hard = obj(status.hard)
    const used = obj(status.used)
    const requests: string[] = []
    const limits: string[] = []
    for (const r of Object.keys(hard).sort()) {
      const text = `${r}: ${quantityOrZero(used[r])}/${quantityOrZero(hard[r])}`
      if (r.split('.')[0] === 'limits' && r.includes('.')) limits.push(text)
      else requests.push(text)
    }
    return [nameOf(q), requests.join(', '), limits.join(', '), ageOf(q, now)]
  },
}

const bindingColumns = (what: string) => [
  name,
  col('Role', 'The role the binding grants.'),
  age,
  wide('Users', `Users in the ${what}`),
  wide('Groups', `Groups in the ${what}`),
  wide('ServiceAccounts', `ServiceAccounts in the ${what}`),
]

function bindingRow(o: Obj, now: number): unknown[] {
  const ref = obj(o.roleRef)
  const subjects = objs(o.subjects)
  const of = (kind: string) =>
    subjects
      .filter((s) => s.kind === kind)
      .map((s) => (kind === 'ServiceAccount' ? `${str(s.namespace)}/${str(s.name)}` : str(s.name)))
      .join(', ')
  return [
    nameOf(o),
    `${str(ref.kind)}/${str(ref.name)}`,
    ageOf(o, now),
    of('User'),
    of('Group'),
    of('ServiceAccount'),
  ]
}

const roleBindings: TableConvertor = {
  columns: bindingColumns('roleBinding'),
  row: (o, now) => bindingRow(o, now),
}
const clusterRoleBindings: TableConvertor = {
  columns: bindingColumns('clusterRoleBinding'),
  row: (o, now) => bindingRow(o, now),
}

function csrCondition(csr: Obj): string {
  const status = obj(csr.status)
  const types = new Set(objs(status.conditions).map((c) => str(c.type)))
  let s = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending'
  if (types.has('Failed')) s += ',Failed'
  if (str(status.certificate) !== '') s += ',Issued'
  return s
}

const certificateSigningRequests: TableConvertor = {
  columns: [
    name,
    age,
    col('SignerName', 'The signer asked to sign the certificate.'),
    col('Requestor', 'The user who asked for the certificate.'),
    col('RequestedDuration', 'The validity period asked for.'),
    col('Condition', 'Where the request stands.'),
  ],
  row(o, now) {
    const csr = o as Obj
    const spec = obj(csr.spec)
    const exp = spec.expirationSeconds
    return [
      nameOf(csr),
      ageOf(csr, now),
      orNone(str(spec.signerName)),
      str(spec.username),
      typeof exp === 'number' ? humanDuration(exp * 1000) : '<none>',
      csrCondition(csr),
    ]
  },
}

const leases: TableConvertor = {
  columns: [name, col('Holder', 'Who holds the lease.'), age],
  row: (o, now) => [nameOf(o), str(obj((o as Obj).spec).holderIdentity), ageOf(o, now)],
}

const priorityClasses: TableConvertor = {
  columns: [
    name,
    col('Value', 'The priority of pods of this class.', { type: 'integer' }),
    col('Global-Default', 'Whether pods without a class get this one.', { type: 'boolean' }),
    age,
    col('PreemptionPolicy', 'Whether pods of this class may preempt others.'),
  ],
  row(o, now) {
    const pc = o as Obj
    return [nameOf(pc), int(pc.value), pc.globalDefault === true, ageOf(pc, now), str(pc.preemptionPolicy)]
  },
}

const runtimeClasses: TableConvertor = {
  columns: [name, col('Handler', 'The runtime handler of the class.'), age],
  row: (o, now) => [nameOf(o), str((o as Obj).handler), ageOf(o, now)],
}

const webhookConfigurations: TableConvertor = {
  columns: [
    name,
    col('Webhooks', 'The number of webhooks of the configuration.', {
      type: 'integer',
    }),
    age,
  ],
  row: (o, now) => [nameOf(o), objs((o as Obj).webhooks).length, ageOf(o, now)],
}

function paramKind(spec: Obj): string {
  const pk = spec.paramKind
  if (!present(pk)) return '<unset>'
  return `${str(obj(pk).apiVersion)}/${str(obj(pk).kind)}`
}

/**
 * The parameters of a policy binding: `namespace/name`, `*` for the namespace when it is not
 * given; else the selector, in the form Go's generated String() of a LabelSelector takes.
 */
function paramRef(spec: Obj): string {
  if (!present(spec.paramRef)) return '<unset>'
  const r = obj(spec.paramRef)
  if (str(r.name) !== '') return `${str(r.namespace) || '*'}/${str(r.name)}`
  if (present(r.selector)) return goLabelSelector(obj(r.selector))
  return '<unset>'
}

/** `&LabelSelector{MatchLabels:map[string]string{a: b,},MatchExpressions:[]LabelSelectorRequirement{...},}` */
function goLabelSelector(sel: Obj): string {
  const labels = Object.entries(obj(sel.matchLabels))
    .sort(([a], [b]) => byString(a, b))
    .map(([k, v]) => `${k}: ${str(v)},`)
    .join('')
  const expressions = objs(sel.matchExpressions)
    .map(
      (e) =>
        `LabelSelectorRequirement{Key:${str(e.key)},Operator:${str(e.operator)},Values:[${strs(e.values).join(' ')}],},`,
    )
    .join('')
  return `&LabelSelector{MatchLabels:map[string]string{${labels}},MatchExpressions:[]LabelSelectorRequirement{${expressions}},}`
}

const admissionPolicies = (what: 'validations' | 'mutations'): TableConvertor => ({
  columns: [
    name,
    col(what === 'validations' ? 'Validations' : 'Mutations', `The number of ${what} of the policy.`, {
      type: 'integer',
    }),
    col('ParamKind', 'The kind of the parameter resources of the policy.'),
    age,
  ],
  row(o, now) {
    const spec = obj((o as Obj).spec)
    return [nameOf(o), objs(spec[what]).length, paramKind(spec), ageOf(o, now)]
  },
})

const admissionPolicyBindings: TableConvertor = {
  columns: [
    name,
    col('PolicyName', 'The policy the binding binds.'),
    col('ParamRef', 'The parameter resource of the binding.'),
    age,
  ],
  row(o, now) {
    const spec = obj((o as Obj).spec)
    return [nameOf(o), str(spec.policyName), paramRef(spec), ageOf(o, now)]
  },
}

const flowSchemas: TableConvertor = {
  columns: [
    name,
    col('PriorityLevel', 'The priority level of the requests the schema matches.'),
    col('MatchingPrecedence', 'The order in which schemas are matched.'),
    col('DistinguisherMethod', 'How flows are told apart.'),
    age,
    col('MissingPL', 'Whether the priority level the schema names is missing.'),
  ],
  row(o, now) {
    const fs = o as Obj
    const spec = obj(fs.spec)
    const dm = !present(spec.distinguisherMethod) ? '<none>' : str(obj(spec.distinguisherMethod).type)
    const dangling = objs(obj(fs.status).conditions).find((c) => c.type === 'Dangling')
    return [
      nameOf(fs),
      str(obj(spec.priorityLevelConfiguration).name),
      int(spec.matchingPrecedence),
      dm,
      ageOf(fs, now),
      dangling ? str(dangling.status) : '?',
    ]
  },
}

const priorityLevels: TableConvertor = {
  columns: [
    name,
    col('Type', 'Exempt or Limited.'),
    col('NominalConcurrencyShares', 'The share of the server concurrency of the level.'),
    col('Queues', 'The number of queues.'),
    col('HandSize', 'Queues each flow is shuffled among.'),
    col('QueueLengthLimit', 'Requests each queue holds at most.'),
    age,
  ],
  row(o, now) {
    const pl = o as Obj
    const spec = obj(pl.spec)
    const limited = present(spec.limited) ? obj(spec.limited) : undefined
    const queuingValue = limited ? obj(limited.limitResponse).queuing : undefined
    const queuing = present(queuingValue) ? obj(queuingValue) : undefined
    // Numbers where the level is limited (and queues), `<none>` where it is not.
    const none = '<none>'
    return [
      nameOf(pl),
      str(spec.type),
      limited ? int(limited.nominalConcurrencyShares) : none,
      queuing ? int(queuing.queues) : none,
      queuing ? int(queuing.handSize) : none,
      queuing ? int(queuing.queueLengthLimit) : none,
      ageOf(pl, now),
    ]
  },
}

const apiServices: TableConvertor = {
  columns: [
    name,
    col('Service', 'The service that serves the API, or Local.'),
    col('Available', 'Whether the API is available.'),
    age,
  ],
  row(o, now) {
    const a = o as Obj
    const svc = obj(a.spec).service
    const service = !present(svc) ? 'Local' : `${str(obj(svc).namespace)}/${str(obj(svc).name)}`
    const cond = objs(obj(a.status).conditions).find((c) => c.type === 'Available')
    let available = 'Unknown'
    if (cond) {
      const status = str(cond.status)
      available = status === 'True' || str(cond.reason) === '' ? status : `${status} (${str(cond.reason)})`
    }
    return [nameOf(a), service, available, ageOf(a, now)]
  },
}

// --- autoscaling ---------------------------------------------------------------------------------

const hpaConversion = conversionFor(
  { group: 'autoscaling', version: 'v1', resource: 'horizontalpodautoscalers' },
  { group: 'autoscaling', version: 'v2' },
)

/**
 * One metric of an autoscaler's TARGETS, current over target. Its status is the current metric at
 * the same index, if it is of the same source; `<unknown>` stands for a current value not known.
 */
function hpaTarget(m: Obj, st: Obj): string {
  const unknown = '<unknown>'
  switch (m.type) {
    case 'External':
    case 'Object': {
      const key = m.type === 'External' ? 'external' : 'object'
      const target = obj(obj(m[key]).target)
      const cur = present(st[key]) ? obj(obj(st[key]).current) : undefined
      if (present(target.averageValue)) {
        const current = cur && present(cur.averageValue) ? quantity(cur.averageValue) : unknown
        return `${current}/${quantity(target.averageValue)} (avg)`
      }
      return `${cur ? quantity(cur.value) : unknown}/${quantity(target.value)}`
    }
    case 'Pods': {
      const cur = present(st.pods) ? quantity(obj(obj(st.pods).current).averageValue) : unknown
      return `${cur}/${quantity(obj(obj(m.pods).target).averageValue)}`
    }
    case 'Resource':
    case 'ContainerResource': {
      const key = m.type === 'Resource' ? 'resource' : 'containerResource'
      const spec = obj(m[key])
      const target = obj(spec.target)
      const cur = present(st[key]) ? obj(obj(st[key]).current) : undefined
      if (present(target.averageValue)) {
        const current = cur ? quantity(cur.averageValue) : unknown
        return `${str(spec.name)}: ${current}/${quantity(target.averageValue)}`
      }
      const percent = (v: unknown) => (typeof v === 'number' ? `${v}%` : undefined)
      const current = (cur && percent(cur.averageUtilization)) ?? unknown
      return `${str(spec.name)}: ${current}/${percent(target.averageUtilization) ?? '<auto>'}`
    }
    default:
      return '<unknown type>'
  }
}

/** TARGETS of an autoscaler: `cpu: 45%/80%`, one entry per metric, two at most. */
export function hpaTargets(specs: Obj[], statuses: Obj[]): string {
  if (specs.length === 0) return '<none>'
  const list = specs.map((m, i) => hpaTarget(m, statuses[i] ?? {}))
  if (list.length > 2) return `${list.slice(0, 2).join(', ')} + ${list.length - 2} more...`
  return list.join(', ')
}

const horizontalPodAutoscalers: TableConvertor = {
  columns: [
    name,
    col('Reference', 'The workload the autoscaler scales.'),
    col('Targets', 'Current and target values of the metrics.'),
    col('MinPods', 'The fewest replicas the autoscaler keeps.'),
    col('MaxPods', 'The most replicas the autoscaler makes.'),
    col('Replicas', 'The replicas the workload has now.'),
    age,
  ],
  row(o, now) {
    let hpa = o as Obj
    if (hpa.apiVersion === 'autoscaling/v1' && hpaConversion) hpa = hpaConversion.toStored(o as StoredObject)
    const spec = obj(hpa.spec)
    const ref = obj(spec.scaleTargetRef)
    return [
      nameOf(hpa),
      `${str(ref.kind)}/${str(ref.name)}`,
      hpaTargets(objs(spec.metrics), objs(obj(hpa.status).currentMetrics)),
      typeof spec.minReplicas === 'number' ? String(spec.minReplicas) : '<unset>',
      int(spec.maxReplicas),
      int(obj(hpa.status).currentReplicas),
      ageOf(hpa, now),
    ]
  },
}

// --- storage -------------------------------------------------------------------------------------

const accessModeNames: [string, string][] = [
  ['ReadWriteOnce', 'RWO'],
  ['ReadOnlyMany', 'ROX'],
  ['ReadWriteMany', 'RWX'],
  ['ReadWriteOncePod', 'RWOP'],
]

function accessModes(modes: unknown): string {
  const have = new Set(strs(modes))
  return accessModeNames
    .filter(([m]) => have.has(m))
    .map(([, short]) => short)
    .join(',')
}

/** The class of a volume or claim: the beta annotation first, then spec.storageClassName. */
function storageClassOf(spec: Obj, meta: Obj): string {
  const annotations = obj(meta.annotations)
  const beta = 'volume.beta.kubernetes.io/storage-class'
  if (typeof annotations[beta] === 'string') return annotations[beta]
  return str(spec.storageClassName)
}

const persistentVolumes: TableConvertor = {
  columns: [
    name,
    col('Capacity', 'The size of the volume.'),
    col('Access Modes', 'How the volume can be mounted.'),
    col('Reclaim Policy', 'What happens to the volume when its claim goes.'),
    col('Status', 'The phase of the volume.'),
    col('Claim', 'The claim bound to the volume.'),
    col('StorageClass', 'The storage class of the volume.'),
    col('VolumeAttributesClass', 'The volume attributes class of the volume.'),
    col('Reason', 'Why the volume is in its phase.'),
    age,
    wide('VolumeMode', 'Filesystem or Block.'),
  ],
  row(o, now) {
    const pv = o as Obj
    const spec = obj(pv.spec)
    const meta = obj(pv.metadata)
    const status = obj(pv.status)
    const claim = !present(spec.claimRef)
      ? ''
      : `${str(obj(spec.claimRef).namespace)}/${str(obj(spec.claimRef).name)}`
    return [
      nameOf(pv),
      quantityOrZero(obj(spec.capacity).storage),
      accessModes(spec.accessModes),
      str(spec.persistentVolumeReclaimPolicy),
      meta.deletionTimestamp ? 'Terminating' : str(status.phase),
      claim,
      storageClassOf(spec, meta),
      typeof spec.volumeAttributesClassName === 'string' ? spec.volumeAttributesClassName : '<unset>',
      str(status.reason),
      ageOf(pv, now),
      typeof spec.volumeMode === 'string' ? spec.volumeMode : '<unset>',
    ]
  },
}

const persistentVolumeClaims: TableConvertor = {
  columns: [
    name,
    col('Status', 'The phase of the claim.'),
    col('Volume', 'The volume bound to the claim.'),
    col('Capacity', 'The size of the bound volume.'),
    col('Access Modes', 'How the bound volume can be mounted.'),
    col('StorageClass', 'The storage class of the claim.'),
    col('VolumeAttributesClass', 'The volume attributes class of the claim.'),
    age,
    wide('VolumeMode', 'Filesystem or Block.'),
  ],
  row(o, now) {
    const pvc = o as Obj
    const spec = obj(pvc.spec)
    const meta = obj(pvc.metadata)
    const status = obj(pvc.status)
    const bound = str(spec.volumeName) !== ''
    return [
      nameOf(pvc),
      meta.deletionTimestamp ? 'Terminating' : str(status.phase),
      str(spec.volumeName),
      bound ? quantityOrZero(obj(status.capacity).storage) : '',
      bound ? accessModes(status.accessModes) : '',
      storageClassOf(spec, meta),
      typeof spec.volumeAttributesClassName === 'string' ? spec.volumeAttributesClassName : '<unset>',
      ageOf(pvc, now),
      typeof spec.volumeMode === 'string' ? spec.volumeMode : '<unset>',
    ]
  },
}

const storageClasses: TableConvertor = {
  columns: [
    name,
    col('Provisioner', 'The volume plugin that provisions volumes of the class.'),
    col('ReclaimPolicy', 'What happens to volumes of the class when their claims go.'),
    col('VolumeBindingMode', 'When volumes are bound and provisioned.'),
    col('AllowVolumeExpansion', 'Whether volumes of the class can grow.'),
    age,
  ],
  row(o, now) {
    const sc = o as Obj
    const ann = obj(obj(sc.metadata).annotations)
    const isDefault =
      ann['storageclass.kubernetes.io/is-default-class'] === 'true' ||
      ann['storageclass.beta.kubernetes.io/is-default-class'] === 'true'
    return [
      isDefault ? `${nameOf(sc)} (default)` : nameOf(sc),
      str(sc.provisioner),
      str(sc.reclaimPolicy) || 'Delete',
      str(sc.volumeBindingMode) || 'Immediate',
      sc.allowVolumeExpansion === true,
      ageOf(sc, now),
    ]
  },
}

const volumeAttributesClasses: TableConvertor = {
  columns: [name, col('DriverName', 'The CSI driver of the class.'), age],
  row(o, now) {
    const annotations = obj(obj((o as Obj).metadata).annotations)
    const isDefault = annotations['volumeattributesclass.alpha.kubernetes.io/is-default-class'] === 'true'
    return [isDefault ? `${nameOf(o)} (default)` : nameOf(o), str((o as Obj).driverName), ageOf(o, now)]
  },
}

const csiDrivers: TableConvertor = {
  columns: [
    name,
    col('AttachRequired', 'Whether volumes need an attach step.', { type: 'boolean' }),
    col('PodInfoOnMount', 'Whether mounts get the pod information.', { type: 'boolean' }),
    col('StorageCapacity', 'Whether the driver reports storage capacity.', { type: 'boolean' }),
    col('TokenRequests', 'Audiences of the service account tokens the driver gets.'),
    col('RequiresRepublish', 'Whether volumes are published again periodically.', { type: 'boolean' }),
    col('Modes', 'The volume lifecycle modes of the driver.'),
    age,
  ],
  row(o, now) {
    const d = o as Obj
    const spec = obj(d.spec)
    // Audiences of the token requests; `<unset>` only when there is no list at all.
    const audiences = Array.isArray(spec.tokenRequests)
      ? objs(spec.tokenRequests)
          .map((t) => str(t.audience))
          .join(',')
      : '<unset>'
    const modes = strs(spec.volumeLifecycleModes).join(',')
    return [
      nameOf(d),
      spec.attachRequired !== false,
      spec.podInfoOnMount === true,
      spec.storageCapacity === true,
      audiences,
      spec.requiresRepublish === true,
      modes === '' ? '<none>' : modes,
      ageOf(d, now),
    ]
  },
}

const csiNodes: TableConvertor = {
  columns: [name, col('Drivers', 'The number of CSI drivers on the node.', { type: 'integer' }), age],
  row: (o, now) => [nameOf(o), objs(obj((o as Obj).spec).drivers).length, ageOf(o, now)],
}

const csiStorageCapacities: TableConvertor = {
  columns: [
    name,
    col('StorageClassName', 'The storage class the capacity is for.'),
    col('Capacity', 'The capacity.'),
  ],
  row(o) {
    const c = o as Obj
    return [nameOf(c), str(c.storageClassName), present(c.capacity) ? quantity(c.capacity) : '<unset>']
  },
}

const volumeAttachments: TableConvertor = {
  columns: [
    name,
    {
      name: 'Attacher',
      type: 'string',
      format: 'name',
      description: 'The driver that attaches the volume.',
      priority: 0,
    },
    col('PV', 'The persistent volume attached.'),
    col('Node', 'The node the volume is attached to.'),
    col('Attached', 'Whether the volume is attached.', { type: 'boolean' }),
    age,
  ],
  row(o, now) {
    const va = o as Obj
    const spec = obj(va.spec)
    return [
      nameOf(va),
      str(spec.attacher),
      str(obj(spec.source).persistentVolumeName),
      str(spec.nodeName),
      obj(va.status).attached === true,
      ageOf(va, now),
    ]
  },
}

const deviceClasses: TableConvertor = {
  columns: [name, age],
  row: (o, now) => [nameOf(o), ageOf(o, now)],
}

const resourceSlices: TableConvertor = {
  columns: [
    name,
    col('Node', 'The node the devices are on.'),
    col('Driver', 'The driver of the devices.'),
    col('Pool', 'The pool of the devices.'),
    age,
  ],
  row(o, now) {
    const spec = obj((o as Obj).spec)
    return [nameOf(o), str(spec.nodeName), str(spec.driver), str(obj(spec.pool).name), ageOf(o, now)]
  },
}

const resourceClaims: TableConvertor = {
  columns: [name, col('State', 'Where the claim stands: pending, allocated, reserved, deleted.'), age],
  row(o, now) {
    const status = obj((o as Obj).status)
    const deleted = present(obj((o as Obj).metadata).deletionTimestamp)
    const states: string[] = deleted ? ['deleted'] : []
    if (!present(status.allocation)) {
      if (!deleted) states.push('pending')
    } else {
      states.push('allocated')
      if (objs(status.reservedFor).length > 0) states.push('reserved')
    }
    return [nameOf(o), states.join(','), ageOf(o, now)]
  },
}

export const clusterPrinters: Record<string, TableConvertor> = {
  '/services': services,
  '/endpoints': endpoints,
  '/nodes': nodes,
  '/namespaces': namespaces,
  '/events': events,
  'events.k8s.io/events': events,
  '/componentstatuses': componentStatuses,
  '/configmaps': configMaps,
  '/secrets': secrets,
  '/serviceaccounts': serviceAccounts,
  '/resourcequotas': resourceQuotas,
  '/persistentvolumes': persistentVolumes,
  '/persistentvolumeclaims': persistentVolumeClaims,
  'discovery.k8s.io/endpointslices': endpointSlices,
  'networking.k8s.io/ingresses': ingresses,
  'networking.k8s.io/ingressclasses': ingressClasses,
  'networking.k8s.io/networkpolicies': networkPolicies,
  'networking.k8s.io/servicecidrs': serviceCIDRs,
  'networking.k8s.io/ipaddresses': ipAddresses,
  'rbac.authorization.k8s.io/rolebindings': roleBindings,
  'rbac.authorization.k8s.io/clusterrolebindings': clusterRoleBindings,
  'certificates.k8s.io/certificatesigningrequests': certificateSigningRequests,
  'coordination.k8s.io/leases': leases,
  'scheduling.k8s.io/priorityclasses': priorityClasses,
  'node.k8s.io/runtimeclasses': runtimeClasses,
  'admissionregistration.k8s.io/validatingwebhookconfigurations': webhookConfigurations,
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': webhookConfigurations,
  'admissionregistration.k8s.io/validatingadmissionpolicies': admissionPolicies('validations'),
  'admissionregistration.k8s.io/mutatingadmissionpolicies': admissionPolicies('mutations'),
  'admissionregistration.k8s.io/validatingadmissionpolicybindings': admissionPolicyBindings,
  'admissionregistration.k8s.io/mutatingadmissionpolicybindings': admissionPolicyBindings,
  'flowcontrol.apiserver.k8s.io/flowschemas': flowSchemas,
  'flowcontrol.apiserver.k8s.io/prioritylevelconfigurations': priorityLevels,
  'apiregistration.k8s.io/apiservices': apiServices,
  'autoscaling/horizontalpodautoscalers': horizontalPodAutoscalers,
  'storage.k8s.io/storageclasses': storageClasses,
  'storage.k8s.io/volumeattributesclasses': volumeAttributesClasses,
  'storage.k8s.io/csidrivers': csiDrivers,
  'storage.k8s.io/csinodes': csiNodes,
  'storage.k8s.io/csistoragecapacities': csiStorageCapacities,
  'storage.k8s.io/volumeattachments': volumeAttachments,
  'resource.k8s.io/deviceclasses': deviceClasses,
  'resource.k8s.io/resourceclaimtemplates': deviceClasses,
  'resource.k8s.io/resourceslices': resourceSlices,
  'resource.k8s.io/resourceclaims': resourceClaims,
}
