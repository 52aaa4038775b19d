import { FieldPath, forbidden, invalid, required, tooLong, type FieldError } from '../field-errors.ts'
import type { ObjectMeta } from '../generated/types/meta-v1.ts'
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isPathSegmentName,
  isQualifiedName,
  isValidLabelValue,
} from './names.ts'

/**
 * ObjectMeta validation, as every built-in kind's validation starts: the name (by the kind's own
 * rule), generateName, namespace, labels, annotations, owner references and finalizers; and on
 * update, what may not change.
 */

/** A name rule: the problems of a name, or of a generateName prefix when `prefix` is true. */
export type NameRule = (name: string, prefix: boolean) => string[]

/** A prefix may end in '-' (the random suffix follows it); the rule checks it as if it did not. */
function maskTrailingDash(name: string, prefix: boolean): string {
  return prefix && name.length > 1 && name.endsWith('-') ? name.slice(0, -1) + 'a' : name
}

export const nameIsDNSSubdomain: NameRule = (n, prefix) => isDNS1123Subdomain(maskTrailingDash(n, prefix))
export const nameIsDNSLabel: NameRule = (n, prefix) => isDNS1123Label(maskTrailingDash(n, prefix))
export const nameIsDNS1035Label: NameRule = (n, prefix) => isDNS1035Label(maskTrailingDash(n, prefix))
export const nameIsPathSegment: NameRule = (n) => isPathSegmentName(n)

/** CronJob names leave room for the "-<minutes>" suffix of the Jobs they create. */
const cronJobName: NameRule = (n, prefix) => {
  const errs = nameIsDNSSubdomain(n, prefix)
  if (n.length > 52) errs.push('must be no more than 52 characters')
  return errs
}

const nameRules: Record<string, NameRule> = {
  '/namespaces': nameIsDNSLabel,
  '/services': nameIsDNS1035Label,
  'apps/statefulsets': nameIsDNSLabel,
  'batch/cronjobs': cronJobName,
  'policy/poddisruptionbudgets': nameIsPathSegment,
  'rbac.authorization.k8s.io/roles': nameIsPathSegment,
  'rbac.authorization.k8s.io/rolebindings': nameIsPathSegment,
  'rbac.authorization.k8s.io/clusterroles': nameIsPathSegment,
  'rbac.authorization.k8s.io/clusterrolebindings': nameIsPathSegment,
  'certificates.k8s.io/certificatesigningrequests': nameIsPathSegment,
  'flowcontrol.apiserver.k8s.io/flowschemas': nameIsPathSegment,
  'flowcontrol.apiserver.k8s.io/prioritylevelconfigurations': nameIsPathSegment,
  'networking.k8s.io/ipaddresses': nameIsPathSegment,
}

/** The name rule of a built-in resource; most names are DNS subdomains. */
export function nameRuleFor(group: string, resource: string): NameRule {
  return nameRules[`${group}/${resource}`] ?? nameIsDNSSubdomain
}

const standardFinalizers = new Set(['kubernetes', 'orphan', 'foregroundDeletion'])
const totalAnnotationSizeLimit = 256 * 1024

export interface MetaRules {
  readonly namespaced: boolean
  readonly name: NameRule
}

export function validateObjectMeta(m: ObjectMeta, rules: MetaRules): FieldError[] {
  const path = FieldPath.root('metadata')
  const errs: FieldError[] = []
  if (m.generateName) {
    for (const msg of rules.name(m.generateName, true))
      errs.push(invalid(path.child('generateName'), m.generateName, msg))
  }
  if (!m.name) errs.push(required(path.child('name'), 'name or generateName is required'))
  else for (const msg of rules.name(m.name, false)) errs.push(invalid(path.child('name'), m.name, msg))
  if (rules.namespaced) {
    if (!m.namespace) errs.push(required(path.child('namespace')))
    else
      for (const msg of isDNS1123Label(m.namespace))
        errs.push(invalid(path.child('namespace'), m.namespace, msg))
  } else if (m.namespace) {
    errs.push(forbidden(path.child('namespace'), 'not allowed on this type'))
  }
  if (m.generation !== undefined && m.generation < 0) {
    errs.push(invalid(path.child('generation'), m.generation, 'must be greater than or equal to 0'))
  }
  errs.push(...validateLabels(m.labels, path.child('labels')))
  errs.push(...validateAnnotations(m.annotations, path.child('annotations')))
  errs.push(...validateOwnerReferences(m.ownerReferences ?? [], path.child('ownerReferences')))
  errs.push(...validateFinalizers(m.finalizers ?? [], path.child('finalizers')))
  return errs
}

export function validateObjectMetaUpdate(next: ObjectMeta, prev: ObjectMeta): FieldError[] {
  const path = FieldPath.root('metadata')
  const errs: FieldError[] = []
  const immutable = 'field is immutable'
  if (next.name !== prev.name) errs.push(invalid(path.child('name'), next.name, immutable))
  if ((next.namespace ?? '') !== (prev.namespace ?? '')) {
    errs.push(invalid(path.child('namespace'), next.namespace ?? '', immutable))
  }
  if (next.uid !== prev.uid) errs.push(invalid(path.child('uid'), next.uid, immutable))
  if (next.creationTimestamp !== prev.creationTimestamp) {
    errs.push(invalid(path.child('creationTimestamp'), next.creationTimestamp, immutable))
  }
  if ((next.generation ?? 0) < (prev.generation ?? 0)) {
    errs.push(invalid(path.child('generation'), next.generation, 'must not be decremented'))
  }
  if (prev.deletionTimestamp) {
    const old = new Set(prev.finalizers ?? [])
    const added = (next.finalizers ?? []).filter((f) => !old.has(f))
    if (added.length > 0) {
      errs.push(
        forbidden(
          path.child('finalizers'),
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
        ),
      )
    }
  }
  return errs
}

export function validateLabels(labels: Record<string, string> | undefined, path: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const msg of isQualifiedName(k)) errs.push(invalid(path, k, msg))
    for (const msg of isValidLabelValue(v)) errs.push(invalid(path, v, msg))
  }
  return errs
}

export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  path: FieldPath,
): FieldError[] {
  const errs: FieldError[] = []
  let size = 0
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const msg of isQualifiedName(k.toLowerCase())) errs.push(invalid(path, k, msg))
    size += Buffer.byteLength(k) + Buffer.byteLength(v)
  }
  if (size > totalAnnotationSizeLimit) errs.push(tooLong(path, '', totalAnnotationSizeLimit))
  return errs
}

interface OwnerRef {
  apiVersion?: string
  kind?: string
  name?: string
  uid?: string
  controller?: boolean
}

function validateOwnerReferences(refs: readonly OwnerRef[], path: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const controllers: string[] = []
  for (const r of refs) {
    if (!r.apiVersion)
      errs.push(invalid(path.child('apiVersion'), r.apiVersion ?? '', 'version must not be empty'))
    if (!r.kind) errs.push(invalid(path.child('kind'), r.kind ?? '', 'kind must not be empty'))
    if (!r.name) errs.push(invalid(path.child('name'), r.name ?? '', 'name must not be empty'))
    if (!r.uid) errs.push(invalid(path.child('uid'), r.uid ?? '', 'uid must not be empty'))
    if (r.controller === true) controllers.push(`${r.kind ?? ''}/${r.name ?? ''}`)
  }
  if (controllers.length > 1) {
    errs.push(
      invalid(
        path,
        refs,
        `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`,
      ),
    )
  }
  return errs
}

function validateFinalizers(finalizers: readonly string[], path: FieldPath): FieldError[] {
  const errs: FieldError[] = []
  const seen = new Set<string>()
  for (const f of finalizers) {
    seen.add(f)
    const msgs = isQualifiedName(f)
    for (const msg of msgs) errs.push(invalid(path, f, msg))
    if (msgs.length === 0 && !f.includes('/') && !standardFinalizers.has(f)) {
      errs.push(invalid(path, f, 'name is neither a standard finalizer name nor is it fully qualified'))
    }
  }
  if (seen.has('orphan') && seen.has('foregroundDeletion')) {
    errs.push(invalid(path, finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'))
  }
  return errs
}
