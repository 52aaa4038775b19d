import { invalid, required, type FieldError } from '../field-errors.ts'
import type { LabelSelector as LabelSelectorObject } from '../generated/types/meta-v1.ts'
import { isQualifiedName, isValidLabelValue } from '../validation/names.ts'

/**
 * Label selectors, as Kubernetes parses and matches them:
 *
 *   app=web, tier!=db, env in (prod,staging), env notin (dev), partition, !canary, replicas>2
 *
 * Requirements are ANDed; `=` and `==` mean equality; `!=` and `notin` also match objects that do
 * not have the key; `>` and `<` compare integers. The empty selector matches everything.
 */
export type Operator = 'in' | 'notin' | 'exists' | '!' | '=' | '==' | '!=' | 'gt' | 'lt'

export interface Requirement {
  readonly key: string
  readonly operator: Operator
  readonly values: readonly string[]
}

export class LabelSelector {
  readonly requirements: readonly Requirement[]

  constructor(requirements: readonly Requirement[]) {
    this.requirements = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /** Matches everything. */
  static everything(): LabelSelector {
    return new LabelSelector([])
  }

  get empty(): boolean {
    return this.requirements.length === 0
  }

  matches(labels: Readonly<Record<string, string>>): boolean {
    return this.requirements.every((r) => matchesRequirement(r, labels))
  }

  /** The canonical string form, as Kubernetes prints a selector (requirements sorted by key). */
  toString(): string {
    return this.requirements.map(requirementString).join(',')
  }
}

/** The error of a selector that does not parse, worded as Kubernetes words it. */
export class SelectorError extends Error {
  override readonly name = 'SelectorError'
}

function matchesRequirement(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key)
  const v = labels[r.key]
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(v ?? '')
    case 'notin':
    case '!=':
      return !has || !r.values.includes(v ?? '')
    case 'exists':
      return has
    case '!':
      return !has
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(v ?? '')) return false
      const n = Number(v)
      const bound = Number(r.values[0])
      return r.operator === 'gt' ? n > bound : n < bound
    }
  }
}

function requirementString(r: Requirement): string {
  switch (r.operator) {
    case 'exists':
      return r.key
    case '!':
      return `!${r.key}`
    case 'in':
      return `${r.key} in (${[...r.values].sort().join(',')})`
    case 'notin':
      return `${r.key} notin (${[...r.values].sort().join(',')})`
    case 'gt':
      return `${r.key}>${r.values[0] ?? ''}`
    case 'lt':
      return `${r.key}<${r.values[0] ?? ''}`
    default:
      return `${r.key}${r.operator}${r.values[0] ?? ''}`
  }
}

// --- the string syntax -------------------------------------------------------------------------

type Token =
  | { kind: 'identifier'; text: string }
  | { kind: 'op'; text: string }
  | { kind: 'open' | 'close' | 'comma'; text: string }
  | { kind: 'end'; text: '' }

const specialChars = new Set(['=', '!', '(', ')', ',', '>', '<'])

function tokenize(s: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < s.length) {
    const ch = s.charAt(i)
    if (/\s/.test(ch)) {
      i++
      continue
    }
    if (ch === '(') out.push({ kind: 'open', text: ch })
    else if (ch === ')') out.push({ kind: 'close', text: ch })
    else if (ch === ',') out.push({ kind: 'comma', text: ch })
    else if (ch === '=' || ch === '!' || ch === '>' || ch === '<') {
      const two = s.slice(i, i + 2)
      if (two === '==' || two === '!=') {
        out.push({ kind: 'op', text: two })
        i += 2
        continue
      }
      out.push({ kind: 'op', text: ch })
    } else {
      let j = i
      while (j < s.length && !/\s/.test(s.charAt(j)) && !specialChars.has(s.charAt(j))) j++
      out.push({ kind: 'identifier', text: s.slice(i, j) })
      i = j
      continue
    }
    i++
  }
  out.push({ kind: 'end', text: '' })
  return out
}

/** Parses the string syntax; throws SelectorError with Kubernetes' wording. */
export function parseLabelSelector(selector: string): LabelSelector {
  const tokens = tokenize(selector)
  let pos = 0
  const peek = () => tokens[pos] ?? { kind: 'end' as const, text: '' as const }
  const next = () => tokens[pos++] ?? { kind: 'end' as const, text: '' as const }
  const fail = (found: Token, expected: string) =>
    new SelectorError(`unable to parse requirement: found '${found.text}', expected: ${expected}`)
  const requirements: Requirement[] = []
  if (peek().kind === 'end') return new LabelSelector([])
  for (;;) {
    let t = next()
    let negated = false
    if (t.kind === 'op' && t.text === '!') {
      negated = true
      t = next()
    }
    if (t.kind !== 'identifier')
      throw fail(t, negated ? 'identifier after !' : "!, identifier, or 'end of string'")
    const key = t.text
    if (negated) {
      requirements.push(checked({ key, operator: '!', values: [] }))
    } else {
      const op = peek()
      if (op.kind === 'comma' || op.kind === 'end') {
        requirements.push(checked({ key, operator: 'exists', values: [] }))
      } else if (op.kind === 'identifier' && (op.text === 'in' || op.text === 'notin')) {
        next()
        const open = next()
        if (open.kind !== 'open') throw fail(open, `'(' after '${op.text}'`)
        const values: string[] = []
        for (;;) {
          const v = next()
          if (v.kind === 'close' && values.length === 0) break
          if (v.kind === 'identifier') values.push(v.text)
          else if (v.kind === 'comma' || v.kind === 'close') {
            values.push('')
            if (v.kind === 'close') break
            continue
          } else throw fail(v, ', or )')
          const sep = next()
          if (sep.kind === 'close') break
          if (sep.kind !== 'comma') throw fail(sep, ', or )')
        }
        requirements.push(checked({ key, operator: op.text, values }))
      } else if (op.kind === 'op') {
        next()
        const operator: Operator =
          op.text === '>'
            ? 'gt'
            : op.text === '<'
              ? 'lt'
              : op.text === '='
                ? '='
                : op.text === '=='
                  ? '=='
                  : op.text === '!='
                    ? '!='
                    : 'in'
        if (op.text === '!') throw fail(op, '=, !=, ==, in, notin, >, <')
        const v = peek()
        let value = ''
        if (v.kind === 'identifier') {
          value = v.text
          next()
        } else if (v.kind !== 'comma' && v.kind !== 'end') throw fail(v, 'identifier')
        requirements.push(checked({ key, operator, values: [value] }))
      } else {
        throw fail(op, '=, !=, ==, in, notin')
      }
    }
    const sep = next()
    if (sep.kind === 'end') break
    if (sep.kind !== 'comma') throw fail(sep, "',' or 'end of string'")
  }
  return new LabelSelector(requirements)
}

/** Validates a requirement's key and values as Kubernetes' NewRequirement does. */
function checked(r: Requirement): Requirement {
  const keyErrors = isQualifiedName(r.key)
  if (keyErrors.length > 0) {
    throw new SelectorError(
      `unable to parse requirement: key: Invalid value: ${JSON.stringify(r.key)}: ${keyErrors.join('; ')}`,
    )
  }
  switch (r.operator) {
    case 'in':
    case 'notin':
      if (r.values.length === 0) {
        throw new SelectorError(
          "unable to parse requirement: values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty",
        )
      }
      break
    case '=':
    case '==':
    case '!=':
      if (r.values.length !== 1)
        throw new SelectorError(
          'unable to parse requirement: values: Invalid value: exact-match compatibility requires one single value',
        )
      break
    case 'gt':
    case 'lt': {
      const v = r.values[0] ?? ''
      if (!/^-?\d+$/.test(v)) {
        throw new SelectorError(
          `unable to parse requirement: values[0]: Invalid value: ${JSON.stringify(v)}: for 'Gt', 'Lt' operators, the value must be an integer`,
        )
      }
      return r
    }
    default:
      return r
  }
  for (const [i, v] of r.values.entries()) {
    const errs = isValidLabelValue(v)
    if (errs.length > 0) {
      throw new SelectorError(
        `unable to parse requirement: values[${i}][${r.key}]: Invalid value: ${JSON.stringify(v)}: ${errs.join('; ')}`,
      )
    }
  }
  return r
}

// --- metav1.LabelSelector objects ---------------------------------------------------------------

/**
 * A LabelSelector object (matchLabels and matchExpressions) as a selector. Validate it first
 * (validateLabelSelector); an invalid one throws SelectorError here.
 */
export function labelSelectorFromObject(obj: LabelSelectorObject | undefined | null): LabelSelector {
  if (!obj) return LabelSelector.everything()
  const reqs: Requirement[] = []
  for (const [k, v] of Object.entries(obj.matchLabels ?? {}))
    reqs.push(checked({ key: k, operator: '=', values: [v] }))
  for (const e of obj.matchExpressions ?? []) {
    const operator: Operator =
      e.operator === 'In'
        ? 'in'
        : e.operator === 'NotIn'
          ? 'notin'
          : e.operator === 'Exists'
            ? 'exists'
            : e.operator === 'DoesNotExist'
              ? '!'
              : ('' as Operator)
    if (!operator) throw new SelectorError(`"${e.operator}" is not a valid label selector operator`)
    reqs.push(checked({ key: e.key, operator, values: e.values ?? [] }))
  }
  return new LabelSelector(reqs)
}

/** A LabelSelector object's string form (what Scale.status.selector and kubectl show). */
export function labelSelectorString(obj: LabelSelectorObject | undefined | null): string {
  return labelSelectorFromObject(obj).toString()
}

/** Kubernetes' validation of a LabelSelector object, with field paths under `path`. */
export function validateLabelSelector(
  obj: LabelSelectorObject | undefined | null,
  path: string,
): FieldError[] {
  if (!obj) return []
  const errors: FieldError[] = []
  for (const [k, v] of Object.entries(obj.matchLabels ?? {})) {
    for (const m of isQualifiedName(k)) errors.push(invalid(`${path}.matchLabels`, k, m))
    for (const m of isValidLabelValue(v)) errors.push(invalid(`${path}.matchLabels`, v, m))
  }
  for (const [i, e] of (obj.matchExpressions ?? []).entries()) {
    const p = `${path}.matchExpressions[${i}]`
    const values = e.values ?? []
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          errors.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"))
        break
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          errors.push({
            type: 'FieldValueForbidden',
            field: `${p}.values`,
            detail: "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          })
        }
        break
      default:
        errors.push(invalid(`${p}.operator`, e.operator, 'not a valid selector operator'))
    }
    for (const m of isQualifiedName(e.key)) errors.push(invalid(`${p}.key`, e.key, m))
    for (const [j, v] of values.entries())
      for (const m of isValidLabelValue(v)) errors.push(invalid(`${p}.values[${j}]`, v, m))
  }
  return errors
}
