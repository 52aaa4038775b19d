import { refName, type OpenApiV2, type SchemaV2 } from './openapi-v2.ts'

/**
 * TypeScript types for every definition, one file per API group-version (core-v1.ts,
 * apps-v1.ts, meta-v1.ts, ...), without the description texts.
 */

/** The file (without .ts) and the type name of a definition. */
export function typeLocation(definition: string): { file: string; name: string } {
  const parts = definition.split('.')
  const name = parts.at(-1) ?? definition
  const pkg = parts.slice(0, -1).join('.')
  return { file: fileOfPackage(pkg), name }
}

function fileOfPackage(pkg: string): string {
  const known: [RegExp, (m: RegExpExecArray) => string][] = [
    [/^io\.k8s\.api\.([^.]+)\.([^.]+)$/, (m) => `${m[1]}-${m[2]}`],
    [/^io\.k8s\.apimachinery\.pkg\.apis\.meta\.(v1)$/, (m) => `meta-${m[1]}`],
    [/^io\.k8s\.apimachinery\.pkg\.api\.resource$/, () => 'resource'],
    [/^io\.k8s\.apimachinery\.pkg\.util\.intstr$/, () => 'intstr'],
    [/^io\.k8s\.apimachinery\.pkg\.runtime$/, () => 'runtime'],
    [/^io\.k8s\.apimachinery\.pkg\.version$/, () => 'version'],
    [/^io\.k8s\.apiextensions-apiserver\.pkg\.apis\.apiextensions\.([^.]+)$/, (m) => `apiextensions-${m[1]}`],
    [/^io\.k8s\.kube-aggregator\.pkg\.apis\.apiregistration\.([^.]+)$/, (m) => `apiregistration-${m[1]}`],
  ]
  for (const [re, f] of known) {
    const m = re.exec(pkg)
    if (m) return f(m)
  }
  throw new Error(`generate-api: no file for package ${pkg}`)
}

/** A TypeScript identifier for a file's namespace export: core-v1 -> coreV1. */
export function namespaceName(file: string): string {
  return file.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

export function generateTypes(doc: OpenApiV2, header: string): Map<string, string> {
  const byFile = new Map<string, string[]>()
  for (const name of Object.keys(doc.definitions).sort()) {
    const { file } = typeLocation(name)
    const list = byFile.get(file) ?? []
    list.push(name)
    byFile.set(file, list)
  }
  const files = new Map<string, string>()
  for (const [file, names] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
    const local = new Set(names.map((n) => typeLocation(n).name))
    const imports = new Map<string, Map<string, string>>() // file -> definition name -> alias
    const alias = (def: string): string => {
      const loc = typeLocation(def)
      if (loc.file === file) return loc.name
      let fromFile = imports.get(loc.file)
      if (!fromFile) imports.set(loc.file, (fromFile = new Map<string, string>()))
      let a = fromFile.get(def)
      if (!a) {
        const taken = new Set([...local, ...[...imports.values()].flatMap((m) => [...m.values()])])
        a = taken.has(loc.name) ? `${loc.name}_${namespaceName(loc.file)}` : loc.name
        fromFile.set(def, a)
      }
      return a
    }
    const body: string[] = []
    for (const def of names) {
      const s = doc.definitions[def] ?? {}
      const { name } = typeLocation(def)
      if (s.type === 'object' || s.properties) {
        if (s.properties && !s.additionalProperties) {
          body.push(`export interface ${name} ${objectType(s, alias, '')}\n`)
        } else {
          body.push(`export type ${name} = ${typeOf(s, alias, '')}\n`)
        }
      } else {
        body.push(`export type ${name} = ${typeOf(s, alias, '')}\n`)
      }
    }
    const importLines = [...imports]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([from, defs]) => {
        const specs = [...defs]
          .sort(([, a], [, b]) => a.localeCompare(b))
          .map(([def, a]) => {
            const n = typeLocation(def).name
            return n === a ? n : `${n} as ${a}`
          })
        return `import type { ${specs.join(', ')} } from './${from}.ts'`
      })
    files.set(
      `${file}.ts`,
      [header, ...importLines, importLines.length > 0 ? '' : undefined, ...body]
        .filter((l) => l !== undefined)
        .join('\n'),
    )
  }
  const index = [...files.keys()]
    .map((f) => f.replace(/\.ts$/, ''))
    .map((f) => `export * as ${namespaceName(f)} from './${f}.ts'`)
  files.set('index.ts', [header, ...index, ''].join('\n'))
  return files
}

function typeOf(s: SchemaV2, alias: (def: string) => string, indent: string): string {
  if (s.$ref) return alias(refName(s.$ref))
  if (s.format === 'int-or-string' || s['x-kubernetes-int-or-string']) return 'number | string'
  if (s.enum && s.enum.length > 0 && (s.type === 'string' || s.type === undefined)) {
    return s.enum.map((v) => JSON.stringify(v)).join(' | ')
  }
  switch (s.type) {
    case 'string':
      return 'string'
    case 'integer':
    case 'number':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'array': {
      const item = s.items ? typeOf(s.items, alias, indent) : 'unknown'
      return /[|&\s]/.test(item) && !item.startsWith('{') ? `(${item})[]` : `${item}[]`
    }
    case 'object':
    case undefined: {
      if (s.properties) {
        const obj = objectType(s, alias, indent)
        if (s.additionalProperties) return `${obj} & Record<string, ${additional(s, alias, indent)}>`
        return obj
      }
      if (s.additionalProperties) return `Record<string, ${additional(s, alias, indent)}>`
      return s.type === 'object' ? 'Record<string, unknown>' : 'unknown'
    }
    default:
      return 'unknown'
  }
}

function additional(s: SchemaV2, alias: (def: string) => string, indent: string): string {
  return typeof s.additionalProperties === 'object'
    ? typeOf(s.additionalProperties, alias, indent)
    : 'unknown'
}

function objectType(s: SchemaV2, alias: (def: string) => string, indent: string): string {
  const required = new Set(s.required ?? [])
  const inner = indent + '  '
  const lines = Object.keys(s.properties ?? {})
    .sort()
    .map((p) => {
      const key = identifier.test(p) ? p : JSON.stringify(p)
      const prop = s.properties?.[p] ?? {}
      return `${inner}${key}${required.has(p) ? '' : '?'}: ${typeOf(prop, alias, inner)}`
    })
  return lines.length === 0 ? '{}' : `{\n${lines.join('\n')}\n${indent}}`
}
