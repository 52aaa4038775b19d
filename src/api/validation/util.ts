import { FieldPath, invalid, notSupported, required, type FieldError } from '../field-errors.ts'
import { quantityPattern, quantityValue } from '../quantity.ts'
import { labelSelectorFromObject, SelectorError, validateLabelSelector } from '../selectors/label-selector.ts'

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

/** A metav1.LabelSelector: keys, values, operators (the selectors module's rules). */
export function labelSelector(path: FieldPath, value: unknown): FieldError[] {
  const sel = obj(value)
  return sel ? validateLabelSelector(sel, String(path)) : []
}

/** Whether a LabelSelector selects a set of labels (false for one that is not valid). */
export function selectorMatches(selector: Obj, labels: Record<string, string>): boolean {
  try {
    return labelSelectorFromObject(selector).matches(labels)
  } catch (err) {
    if (err instanceof SelectorError) return false
    throw err
  }
}

export function isEmptySelector(selector: Obj): boolean {
  return (
    Object.keys(strMap(selector.matchLabels)).length === 0 && list(selector.matchExpressions).length === 0
  )
}

export { FieldPath }
