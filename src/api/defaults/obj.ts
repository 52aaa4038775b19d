/**
 * Small helpers for defaulting plain JSON objects in place. Go's defaulters test a pointer field
 * for nil and a plain string or number for its zero value; JSON has neither, so each field says
 * which rule it follows: {@link setIfAbsent} for pointers (`*int32`, `*string`, structs behind a
 * pointer), {@link setIfZero} for plain values (`string`, `int32`), where "" and 0 count as unset.
 * A JSON `null` is unset either way (it decodes to Go's nil or zero value).
 */

export type Obj = Record<string, unknown>

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The object at `o[key]`, created empty when absent (a Go struct field that is not a pointer). */
export function child(o: Obj, key: string): Obj {
  const v = o[key]
  if (isObj(v)) return v
  const created: Obj = {}
  o[key] = created
  return created
}

/** The object at `o[key]` when there is one (a Go pointer to a struct, which may be nil). */
export function sub(o: Obj | undefined, key: string): Obj | undefined {
  const v = o?.[key]
  return isObj(v) ? v : undefined
}

/** Calls `fn` on each object of a list; anything else is left alone. */
export function each(v: unknown, fn: (o: Obj) => void): void {
  if (Array.isArray(v)) for (const x of v) if (isObj(x)) fn(x)
}

/** Whether the field is unset: absent or null. */
export function absent(o: Obj, key: string): boolean {
  return o[key] === undefined || o[key] === null
}

/** Sets a pointer field that is unset (absent or null). */
export function setIfAbsent(o: Obj, key: string, value: unknown): void {
  if (absent(o, key)) o[key] = value
}

/** Sets a plain string or number field that has its zero value (absent, null, "" or 0). */
export function setIfZero(o: Obj, key: string, value: unknown): void {
  const v = o[key]
  if (v === undefined || v === null || v === '' || v === 0) o[key] = value
}

/** Whether a list or map field is empty (Go's `len(x) == 0`, true for nil as well). */
export function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0
  if (isObj(v)) return Object.keys(v).length === 0
  return true
}
