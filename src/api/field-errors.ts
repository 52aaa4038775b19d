/**
 * Field errors: what validation finds wrong with an object, one per field, with Kubernetes'
 * types, cause reasons and message wording (kubectl prints them, e.g.
 * `spec.containers[0].image: Required value`). The apiserver turns a list of them into a 422
 * Invalid Status whose details.causes carry one entry each.
 */
export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid'

export interface FieldError {
  readonly type: FieldErrorType
  /** The field's path, e.g. `spec.containers[0].image`, `metadata.labels[app]`. */
  readonly field: string
  /** The offending value; left out of the message for Required, Forbidden, TooLong and TooMany. */
  readonly value?: unknown
  readonly detail: string
}

/**
 * A field path under construction: `root('spec').child('containers').index(0).child('image')`.
 * Validation makes one for every field it looks at and needs the text of a few (those in
 * error): a path is its parent and its last step, written out on toString.
 */
export class FieldPath {
  readonly #parent: FieldPath | undefined
  /** A name ('.name'), or an index or key ('[k]'). */
  readonly #step: string | number
  readonly #bracketed: boolean
  #text: string | undefined

  private constructor(parent: FieldPath | undefined, step: string | number, bracketed: boolean) {
    this.#parent = parent
    this.#step = step
    this.#bracketed = bracketed
  }

  static root(name: string): FieldPath {
    return new FieldPath(undefined, name, false)
  }

  child(name: string, ...more: string[]): FieldPath {
    let p = new FieldPath(this, name, false)
    for (const m of more) p = new FieldPath(p, m, false)
    return p
  }

  index(i: number): FieldPath {
    return new FieldPath(this, i, true)
  }

  /** A map entry: `metadata.labels[app]`. */
  key(k: string): FieldPath {
    return new FieldPath(this, k, true)
  }

  toString(): string {
    if (this.#text !== undefined) return this.#text
    const above = this.#parent?.toString() ?? ''
    this.#text = this.#bracketed
      ? `${above}[${this.#step}]`
      : above === ''
        ? String(this.#step)
        : `${above}.${this.#step}`
    return this.#text
  }
}

type Path = FieldPath | string

export function required(field: Path, detail = ''): FieldError {
  return { type: 'FieldValueRequired', field: String(field), detail }
}

export function invalid(field: Path, value: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field: String(field), value, detail }
}

export function notSupported(field: Path, value: unknown, supported: readonly string[]): FieldError {
  const detail =
    supported.length > 0 ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` : ''
  return { type: 'FieldValueNotSupported', field: String(field), value, detail }
}

export function duplicate(field: Path, value: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field: String(field), value, detail: '' }
}

export function forbidden(field: Path, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field: String(field), detail }
}

export function notFound(field: Path, value: unknown): FieldError {
  return { type: 'FieldValueNotFound', field: String(field), value, detail: '' }
}

export function tooLong(field: Path, value: unknown, max: number): FieldError {
  return {
    type: 'FieldValueTooLong',
    field: String(field),
    value,
    detail: `may not be more than ${max} bytes`,
  }
}

export function tooMany(field: Path, actual: number, max: number): FieldError {
  return {
    type: 'FieldValueTooMany',
    field: String(field),
    value: actual,
    detail: `must have at most ${max} items`,
  }
}

export function internalError(field: Path, err: unknown): FieldError {
  return {
    type: 'InternalError',
    field: String(field),
    detail: err instanceof Error ? err.message : String(err),
  }
}

const typeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
}

/** Types whose message leaves the value out, as Kubernetes does. */
const omitsValue = new Set<FieldErrorType>([
  'FieldValueRequired',
  'FieldValueForbidden',
  'FieldValueTooLong',
  'InternalError',
])

/** The message after the field: `Required value`, `Invalid value: "x": must be ...`. */
export function errorBody(e: FieldError): string {
  let s = typeText[e.type]
  if (!omitsValue.has(e.type) && 'value' in e) s += `: ${formatValue(e.value)}`
  if (e.detail !== '') s += `: ${e.detail}`
  return s
}

/** `field: body`, as in an Invalid Status message and in kubectl's output. */
export function fieldErrorMessage(e: FieldError): string {
  return e.field === '' ? errorBody(e) : `${e.field}: ${errorBody(e)}`
}

/** The errors joined as Kubernetes aggregates them: one as is, several in brackets. */
export function aggregateMessage(errors: readonly FieldError[]): string {
  const messages = [...new Set(errors.map(fieldErrorMessage))]
  return messages.length === 1 ? (messages[0] ?? '') : `[${messages.join(', ')}]`
}

/**
 * A value for a field error that Go would print as a typed slice: `[]int32{1, 2}`, and
 * `[]int32(nil)` for an absent one (a podFailurePolicy rule's exit codes).
 */
export class GoSliceValue {
  readonly type: string
  readonly items: readonly (number | string)[] | undefined
  constructor(type: string, items: readonly (number | string)[] | undefined) {
    this.type = type
    this.items = items
  }
}

/** A value for a field error that Go would print as a map[string]string (labels, selectors). */
export class StringMapValue {
  readonly entries: Readonly<Record<string, string>>
  constructor(entries: Readonly<Record<string, string>>) {
    this.entries = entries
  }
}

/**
 * A value for a field error that Go prints in a %#v form of its own, given as `text` (a slice of
 * structs: `[]core.PodIP{core.PodIP{IP:"10.0.0.1"}}`); as JSON it is `json`.
 */
export class GoSyntaxValue {
  readonly text: string
  readonly json: unknown
  constructor(text: string, json: unknown) {
    this.text = text
    this.json = json
  }

  toJSON(): unknown {
    return this.json
  }
}

/**
 * Values as Go prints them in field errors: strings quoted, numbers and booleans bare, string
 * lists and maps in %#v form (`[]string{"a", "b"}`, `map[string]string{"app":"web"}`, keys
 * sorted); anything else, which Go would print as its struct, as JSON.
 */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) {
    return `[]string{${v.map((x) => JSON.stringify(x)).join(', ')}}`
  }
  if (v instanceof GoSliceValue) {
    if (v.items === undefined) return `[]${v.type}(nil)`
    return `[]${v.type}{${v.items.map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x))).join(', ')}}`
  }
  if (v instanceof GoSyntaxValue) return v.text
  if (v instanceof StringMapValue) {
    const entries = Object.entries(v.entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `map[string]string{${entries.map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`).join(', ')}}`
  }
  return JSON.stringify(v)
}
