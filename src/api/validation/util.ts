import { FieldPath, invalid, notSupported, required, type FieldError } from '../field-errors.ts'
import { quantityPattern, quantityValue } from '../quantity.ts'
import { isValidLabelValue, isQualifiedName } from './names.ts'

/** Plain-JSON access for validators, which see objects before anything has checked their shape. */
export type Obj = Record<string, unknown>

export function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}

export function objs(v: unknown): Obj[] {
  return list(v).map((x) => obj(x) ?? {})
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined
}

export function strMap(v: unknown): Record<string, string> {
  const o = obj(v)
  if (!o) return {}
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(o)) out[k] = str(x)
  return out
}

/** Each message of a syntax check as an Invalid error of the field. */
export function each(path: FieldPath | string, value: string, msgs: readonly string[]): FieldError[] {
  return msgs.map((m) => invalid(path, value, m))
}

/** A required string field checked by a syntax rule. */
export function requiredName(path: FieldPath, value: unknown, rule: (s: string) => string[]): FieldError[] {
  const s = str(value)
  if (s === '') return [required(path)]
  return each(path, s, rule(s))
}

/** An optional enum field (defaulting fills the required ones before validation runs). */
export function oneOf(
  path: FieldPath,
  value: unknown,
  allowed: readonly string[],
  needed = false,
): FieldError[] {
  if (value === undefined || value === '') return needed ? [required(path)] : []
  return allowed.includes(str(value)) && typeof value === 'string' ? [] : [notSupported(path, value, allowed)]
}

export function nonNegative(path: FieldPath, value: unknown): FieldError[] {
  const n = num(value)
  return n !== undefined && n < 0 ? [invalid(path, n, 'must be greater than or equal to 0')] : []
}

export function positive(path: FieldPath, value: unknown): FieldError[] {
  const n = num(value)
  return n !== undefined && n <= 0 ? [invalid(path, n, 'must be greater than zero')] : []
}

/** A quantity field: the syntax, and not negative. */
export function quantity(path: FieldPath, value: unknown): FieldError[] {
  const q = quantityValue(value)
  if (q === undefined) {
    return [invalid(path, value, `quantities must match the regular expression '${quantityPattern}'`)]
  }
  return q < 0 ? [invalid(path, value, 'must be greater than or equal to 0')] : []
}

/** A metav1.LabelSelector: keys, values, operators. */
export function labelSelector(path: FieldPath, value: unknown): FieldError[] {
  const sel = obj(value)
  if (!sel) return []
  const errs: FieldError[] = []
  for (const [k, v] of Object.entries(strMap(sel.matchLabels))) {
    errs.push(...each(path.child('matchLabels'), k, isQualifiedName(k)))
    errs.push(...each(path.child('matchLabels'), v, isValidLabelValue(v)))
  }
  objs(sel.matchExpressions).forEach((e, i) => {
    const p = path.child('matchExpressions').index(i)
    errs.push(...requiredName(p.child('key'), e.key, isQualifiedName))
    const op = str(e.operator)
    const values = list(e.values)
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) {
        errs.push(required(p.child('values'), "must be specified when `operator` is 'In' or 'NotIn'"))
      }
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) {
        errs.push(
          invalid(
            p.child('values'),
            values,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        )
      }
    } else {
      errs.push(invalid(p.child('operator'), op, 'not a valid selector operator'))
    }
  })
  return errs
}

/** Whether a LabelSelector selects a set of labels. */
export function selectorMatches(selector: Obj, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(strMap(selector.matchLabels))) if (labels[k] !== v) return false
  for (const e of objs(selector.matchExpressions)) {
    const k = str(e.key)
    const values = list(e.values).map(str)
    const has = k in labels
    switch (str(e.operator)) {
      case 'In':
        if (!has || !values.includes(labels[k] ?? '')) return false
        break
      case 'NotIn':
        if (has && values.includes(labels[k] ?? '')) return false
        break
      case 'Exists':
        if (!has) return false
        break
      case 'DoesNotExist':
        if (has) return false
        break
      default:
        return false
    }
  }
  return true
}

export function isEmptySelector(selector: Obj): boolean {
  return (
    Object.keys(strMap(selector.matchLabels)).length === 0 && list(selector.matchExpressions).length === 0
  )
}

export { FieldPath }
