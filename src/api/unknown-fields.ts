import { jsonStringEnd } from '../base/json-text.ts'
import type { KubeObject } from './object.ts'
import {
  fieldsOf,
  isOpen,
  items,
  mapValues,
  resolve,
  schemaForKind,
  type GroupVersionKind,
  type ResolvedField,
  type SchemaNode,
} from './schema.ts'

/**
 * Structural checks of a decoded object against the schema of its kind, for the three
 * fieldValidation modes: what is unknown (`unknown field "spec.foo"`) and, from the JSON text as
 * sent, what appears twice (`duplicate field "metadata.name"`). Fields below a node that keeps
 * unknown fields (x-kubernetes-preserve-unknown-fields, RawExtension, embedded objects) are not
 * checked, as in Kubernetes.
 */
export function unknownFields(gvk: GroupVersionKind, obj: KubeObject): string[] {
  const root = schemaForKind(gvk)
  if (!root || isOpen(root)) return []
  const out: string[] = []
  members(resolve(root), obj, [], out)
  return out
}

/** `path` holds the keys and indexes down to `value`; it is joined only for what is reported. */
function walk(f: ResolvedField, value: unknown, path: (string | number)[], out: string[]): void {
  const n = f.node
  if (value === null || value === undefined || n.preserveUnknownFields === true) return
  if (f.type === 'any' || n.embeddedResource) return
  if (Array.isArray(value)) {
    const item = items(n)
    if (!item) return
    for (let i = 0; i < value.length; i++) {
      path.push(i)
      walk(item, value[i], path, out)
      path.pop()
    }
  } else if (typeof value === 'object') {
    members(n, value as Record<string, unknown>, path, out)
  }
}

/** The members of an object: each known one walked, each unknown one reported. */
function members(
  n: SchemaNode,
  obj: Record<string, unknown>,
  path: (string | number)[],
  out: string[],
): void {
  const map = n.properties === undefined ? mapValues(n) : undefined
  const fields = map ? undefined : fieldsOf(n)
  for (const k in obj) {
    const f = map ?? fields?.get(k) ?? mapValues(n)
    path.push(k)
    if (f) walk(f, obj[k], path, out)
    else out.push(`unknown field ${JSON.stringify(joinPath(path))}`)
    path.pop()
  }
}

function joinPath(path: (string | number)[]): string {
  let p = ''
  for (const seg of path) p = typeof seg === 'number' ? `${p}[${seg}]` : p === '' ? seg : `${p}.${seg}`
  return p
}

/**
 * Keys that appear more than once in the same JSON object of `text`, as `duplicate field "path"`.
 * `members`, when known, is how many object members JSON.parse made of the text: it keeps one of
 * each duplicate, so a text with as many members as that has none, and its keys need no walk.
 */
export function duplicateFields(text: string, members?: number): string[] {
  if (members !== undefined && textMembers(text) === members) return []
  const out: string[] = []
  // The path to the current value, as segments; joined only when a duplicate is reported.
  // Array items are their index: formatted only when a duplicate is reported.
  const path: (string | number)[] = []
  const joined = (key: string): string => {
    let p = ''
    for (const seg of path) p = typeof seg === 'number' ? `${p}[${seg}]` : p === '' ? seg : `${p}.${seg}`
    return p === '' ? key : `${p}.${key}`
  }
  let i = 0
  const n = text.length
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i)
      if (c === 32 || c === 10 || c === 13 || c === 9) i++
      else return
    }
  }
  /** Skips a string at i (its opening quote); returns the index of its closing quote. */
  const skipStr = (): number => {
    const j = jsonStringEnd(text, i)
    if (j < 0) throw new Error('unterminated string')
    i = j + 1
    return j
  }
  /** Skips a string at i (its opening quote); returns its contents (a key). */
  const str = (): string => {
    const start = i + 1
    const raw = text.slice(start, skipStr())
    return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw
  }
  const value = (): void => {
    ws()
    const c = text.charCodeAt(i)
    if (c === 123) {
      // {
      i++
      ws()
      if (text.charCodeAt(i) === 125) {
        i++
        return
      }
      // Most objects have a few keys: a list is cheaper than a Set until it grows.
      const seen: string[] = []
      let many: Set<string> | undefined
      for (;;) {
        ws()
        const key = str()
        if (many ? many.has(key) : seen.includes(key)) {
          out.push(`duplicate field ${JSON.stringify(joined(key))}`)
        }
        if (many) many.add(key)
        else if (seen.push(key) > 16) many = new Set(seen)
        ws()
        i++ // ':'
        path.push(key)
        value()
        path.pop()
        ws()
        const sep = text.charCodeAt(i++)
        if (sep === 125) return
        if (sep !== 44) throw new Error('bad object')
      }
    }
    if (c === 91) {
      // [
      i++
      ws()
      if (text.charCodeAt(i) === 93) {
        i++
        return
      }
      for (let k = 0; ; k++) {
        path.push(k)
        value()
        path.pop()
        ws()
        const sep = text.charCodeAt(i++)
        if (sep === 93) return
        if (sep !== 44) throw new Error('bad array')
      }
    }
    if (c === 34) {
      skipStr()
      return
    }
    // A number, true, false or null: up to the next delimiter.
    while (i < n) {
      const d = text.charCodeAt(i)
      if (d === 44 || d === 93 || d === 125 || d === 32 || d === 10 || d === 13 || d === 9) return
      i++
    }
  }
  try {
    value()
  } catch {
    return [] // not well-formed JSON: the decoder reports that
  }
  return out
}

/** The object members of a JSON text: its colons outside strings (-1 for a string left open). */
function textMembers(text: string): number {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 34) {
      const end = jsonStringEnd(text, i)
      if (end < 0) return -1
      i = end
    } else if (c === 58) n++
  }
  return n
}

/**
 * How deep a request body may nest objects and lists. Go's JSON decoding (kube-apiserver's) allows
 * 10,000; here the walks of an object (and V8's own JSON.stringify and structuredClone) run out of
 * stack at about 5,000, so bodies are held to a depth no real object comes near.
 */
export const maxBodyDepth = 1000

/**
 * The object members of a decoded JSON value, nested ones included; -1 when it nests deeper than
 * maxBodyDepth (the walk stops there).
 */
export function memberCount(v: unknown, depth = 0): number {
  if (v === null || typeof v !== 'object') return 0
  if (depth >= maxBodyDepth) return -1
  let n = 0
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const m = memberCount(v[i], depth + 1)
      if (m < 0) return -1
      n += m
    }
    return n
  }
  const o = v as Record<string, unknown>
  for (const k in o) {
    const m = memberCount(o[k], depth + 1)
    if (m < 0) return -1
    n += 1 + m
  }
  return n
}
