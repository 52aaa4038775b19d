import type { KubeObject } from './object.ts'
import {
  field,
  isOpen,
  items,
  mapValues,
  resolve,
  schemaForKind,
  type GroupVersionKind,
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
  if (!root) return []
  const out: string[] = []
  walk(root, obj, '', out)
  return out
}

function walk(node: SchemaNode, value: unknown, path: string, out: string[]): void {
  if (value === null || value === undefined || isOpen(node)) return
  const n = resolve(node)
  if (n.embeddedResource) return
  if (Array.isArray(value)) {
    const item = items(node)
    if (!item) return
    value.forEach((v, i) => walk(item.node, v, `${path}[${i}]`, out))
    return
  }
  if (typeof value !== 'object') return
  const map = n.properties === undefined ? mapValues(node) : undefined
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const p = path === '' ? k : `${path}.${k}`
    if (map) {
      walk(map.node, v, p, out)
      continue
    }
    const f = field(node, k)
    if (!f) {
      out.push(`unknown field ${JSON.stringify(p)}`)
      continue
    }
    walk(f.node, v, p, out)
  }
}

/** Keys that appear more than once in the same JSON object of `text`, as `duplicate field "path"`. */
export function duplicateFields(text: string): string[] {
  const out: string[] = []
  let i = 0
  const ws = () => {
    while (i < text.length && /\s/.test(text.charAt(i))) i++
  }
  const str = (): string => {
    const start = i
    i++ // opening quote
    while (i < text.length) {
      const ch = text.charAt(i)
      if (ch === '\\') i += 2
      else if (ch === '"') {
        i++
        return JSON.parse(text.slice(start, i)) as string
      } else i++
    }
    throw new Error('unterminated string')
  }
  const value = (path: string): void => {
    ws()
    const ch = text.charAt(i)
    if (ch === '{') {
      i++
      const seen = new Set<string>()
      ws()
      if (text.charAt(i) === '}') {
        i++
        return
      }
      for (;;) {
        ws()
        const key = str()
        const p = path === '' ? key : `${path}.${key}`
        if (seen.has(key)) out.push(`duplicate field ${JSON.stringify(p)}`)
        seen.add(key)
        ws()
        i++ // ':'
        value(p)
        ws()
        const sep = text.charAt(i++)
        if (sep === '}') return
        if (sep !== ',') throw new Error('bad object')
      }
    }
    if (ch === '[') {
      i++
      ws()
      if (text.charAt(i) === ']') {
        i++
        return
      }
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`)
        ws()
        const sep = text.charAt(i++)
        if (sep === ']') return
        if (sep !== ',') throw new Error('bad array')
      }
    }
    if (ch === '"') {
      str()
      return
    }
    while (i < text.length && !/[\s,\]}]/.test(text.charAt(i))) i++
  }
  try {
    value('')
  } catch {
    return [] // not well-formed JSON: the decoder reports that
  }
  return out
}
