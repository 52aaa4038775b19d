import type { KubeObject } from '../object.ts'
import { SelectorError } from './label-selector.ts'

/**
 * Field selectors: `status.phase=Running,spec.nodeName!=node-1`. Only equality (`=`, `==`) and
 * inequality (`!=`) exist; backslash escapes `,`, `=` and `\` inside values. Each resource
 * supports its own fields (fieldsOf); any other is refused with Kubernetes' message.
 */
export interface FieldRequirement {
  readonly field: string
  readonly operator: '=' | '!='
  readonly value: string
}

export class FieldSelector {
  readonly requirements: readonly FieldRequirement[]

  constructor(requirements: readonly FieldRequirement[]) {
    this.requirements = requirements
  }

  get empty(): boolean {
    return this.requirements.length === 0
  }

  matches(fields: Readonly<Record<string, string>>): boolean {
    return this.requirements.every((r) => ((fields[r.field] ?? '') === r.value) === (r.operator === '='))
  }

  toString(): string {
    return this.requirements.map((r) => `${r.field}${r.operator}${escapeValue(r.value)}`).join(',')
  }
}

export function parseFieldSelector(selector: string): FieldSelector {
  const reqs: FieldRequirement[] = []
  for (const part of splitUnescaped(selector.trim(), ',')) {
    if (part === '') continue
    const m = /^(.*?)(!=|==|=)(.*)$/s.exec(findOperator(part))
    if (!m) throw new SelectorError(`invalid selector: '${selector}'; can't understand '${part}'`)
    const op = m[2] === '!=' ? '!=' : '='
    const field = part.slice(0, (m[1] ?? '').length)
    const raw = part.slice((m[1] ?? '').length + (m[2] ?? '').length)
    if (field === '') throw new SelectorError(`invalid selector: '${selector}'; can't understand '${part}'`)
    reqs.push({ field, operator: op, value: unescapeValue(raw, selector) })
  }
  return new FieldSelector(reqs)
}

/** The part with escaped characters masked, so the operator search skips them. */
function findOperator(part: string): string {
  return part.replace(/\\./g, '__')
}

function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = []
  let cur = ''
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i)
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + s.charAt(i + 1)
      i++
    } else if (ch === sep) {
      out.push(cur)
      cur = ''
    } else cur += ch
  }
  out.push(cur)
  return out
}

function unescapeValue(v: string, selector: string): string {
  let out = ''
  for (let i = 0; i < v.length; i++) {
    const ch = v.charAt(i)
    if (ch === '\\') {
      const n = v.charAt(i + 1)
      if (n !== '\\' && n !== ',' && n !== '=')
        throw new SelectorError(`invalid field selector: '${selector}': invalid escape sequence`)
      out += n
      i++
    } else if (ch === '=' || ch === ',') {
      throw new SelectorError(`invalid field selector: '${selector}': unescaped ${ch} in value`)
    } else out += ch
  }
  return out
}

function escapeValue(v: string): string {
  return v.replace(/[\\,=]/g, (c) => `\\${c}`)
}

// --- the fields each resource supports ---------------------------------------------------------

type Fields = (o: Readonly<KubeObject>) => Record<string, string>

const str = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? String(v)
    : v
      ? JSON.stringify(v)
      : ''
const at = (o: unknown, ...path: string[]): unknown => {
  let v: unknown = o
  for (const p of path)
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined
  return v
}

function metadataFields(o: Readonly<KubeObject>, namespaced: boolean): Record<string, string> {
  const f: Record<string, string> = { 'metadata.name': str(o.metadata?.name) }
  if (namespaced) f['metadata.namespace'] = str(o.metadata?.namespace)
  return f
}

/** Extra selectable fields per `<group>/<resource>`, beyond metadata.name and metadata.namespace. */
const extraFields: Record<string, Fields> = {
  '/pods': (o) => ({
    'spec.nodeName': str(at(o, 'spec', 'nodeName')),
    'spec.restartPolicy': str(at(o, 'spec', 'restartPolicy')),
    'spec.schedulerName': str(at(o, 'spec', 'schedulerName')),
    'spec.serviceAccountName': str(at(o, 'spec', 'serviceAccountName')),
    'spec.hostNetwork': String(at(o, 'spec', 'hostNetwork') === true),
    'status.phase': str(at(o, 'status', 'phase')),
    'status.podIP': str(at(o, 'status', 'podIP')),
    'status.nominatedNodeName': str(at(o, 'status', 'nominatedNodeName')),
  }),
  '/events': (o) => ({
    'involvedObject.kind': str(at(o, 'involvedObject', 'kind')),
    'involvedObject.namespace': str(at(o, 'involvedObject', 'namespace')),
    'involvedObject.name': str(at(o, 'involvedObject', 'name')),
    'involvedObject.uid': str(at(o, 'involvedObject', 'uid')),
    'involvedObject.apiVersion': str(at(o, 'involvedObject', 'apiVersion')),
    'involvedObject.resourceVersion': str(at(o, 'involvedObject', 'resourceVersion')),
    'involvedObject.fieldPath': str(at(o, 'involvedObject', 'fieldPath')),
    reason: str(at(o, 'reason')),
    reportingComponent: str(at(o, 'reportingComponent')),
    source: str(at(o, 'source', 'component')) || str(at(o, 'reportingComponent')),
    type: str(at(o, 'type')),
  }),
  'events.k8s.io/events': (o) => ({
    'regarding.kind': str(at(o, 'regarding', 'kind')),
    'regarding.namespace': str(at(o, 'regarding', 'namespace')),
    'regarding.name': str(at(o, 'regarding', 'name')),
    'regarding.uid': str(at(o, 'regarding', 'uid')),
    'regarding.apiVersion': str(at(o, 'regarding', 'apiVersion')),
    'regarding.resourceVersion': str(at(o, 'regarding', 'resourceVersion')),
    'regarding.fieldPath': str(at(o, 'regarding', 'fieldPath')),
    reason: str(at(o, 'reason')),
    reportingController: str(at(o, 'reportingController')),
    type: str(at(o, 'type')),
  }),
  '/nodes': (o) => ({ 'spec.unschedulable': String(at(o, 'spec', 'unschedulable') === true) }),
  '/namespaces': (o) => ({ 'status.phase': str(at(o, 'status', 'phase')) }),
  '/secrets': (o) => ({ type: str(at(o, 'type')) }),
  '/replicationcontrollers': (o) => ({ 'status.replicas': str(at(o, 'status', 'replicas') ?? 0) }),
  'apps/replicasets': (o) => ({ 'status.replicas': str(at(o, 'status', 'replicas') ?? 0) }),
  'batch/jobs': (o) => ({ 'status.successful': str(at(o, 'status', 'succeeded') ?? 0) }),
  '/services': (o) => ({
    'spec.clusterIP': str(at(o, 'spec', 'clusterIP')),
    'spec.type': str(at(o, 'spec', 'type')),
  }),
  'certificates.k8s.io/certificatesigningrequests': (o) => ({
    'spec.signerName': str(at(o, 'spec', 'signerName')),
  }),
  '/persistentvolumeclaims': () => ({}),
}

/** The fields a resource's field selectors can use, for an object of it. */
export function fieldsOf(group: string, resource: string, namespaced: boolean): Fields {
  const extra = extraFields[`${group}/${resource}`]
  return (o) => ({ ...metadataFields(o, namespaced), ...(extra ? extra(o) : {}) })
}

/** The field names a resource supports (for the error on any other). */
export function supportedFields(group: string, resource: string, namespaced: boolean): Set<string> {
  return new Set(Object.keys(fieldsOf(group, resource, namespaced)({ metadata: {} })))
}
