import { refName, type OpenApiV2, type SchemaV2 } from './input.ts'

/**
 * TypeScript types for every definition of the data, one file per API group-version
 * (core-v1.ts, apps-v1.ts, meta-v1.ts, ...), plus index.ts exporting each file as a namespace
 * (coreV1, autoscalingV2, ...) so names that several versions share stay apart.
 *
 * - An object definition is an interface; its optional fields are those not in `required`.
 *   Kinds keep the apiVersion and kind fields the data gives them (both optional strings).
 * - A map (`additionalProperties`) is Record<string, T>; a free-form object Record<string, unknown>;
 *   a definition with no type at all (apiextensions' JSON) is unknown.
 * - IntOrString is number | string; Quantity, Time and MicroTime are strings (as on the wire).
 * - Types of other files come in through `import type`; a name clash is resolved with an alias.
 * - Descriptions are left out (the OpenAPI documents carry them).
 */
export function generateTypes(doc: OpenApiV2, header: string): Map<string, string> {
  const byFile = new Map<string, string[]>()
  for (const name of Object.keys(doc.definitions).sort()) {
    const { file } = typeLocation(name)
    byFile.set(file, [...(byFile.get(file) ?? []), name])
  }
  const files = new Map<string, string>()
  for (const file of [...byFile.keys()].sort()) {
    files.set(`${file}.ts`, typesFile(doc, file, byFile.get(file) ?? [], header))
  }
  const index = [...byFile.keys()].sort().map((f) => `export * as ${namespaceName(f)} from './${f}.ts'`)
  files.set('index.ts', [header, ...index, ''].join('\n'))
  return files
}

/** The file (without .ts) and the type name of a definition. */
export function typeLocation(definition: string): { file: string; name: string } {
  const dot = definition.lastIndexOf('.')
  const pkg = definition.slice(0, dot)
  const name = definition.slice(dot + 1)
  for (const [pattern, file] of packageFiles) {
    const m = pattern.exec(pkg)
    if (m) return { file: file(m), name }
  }
  throw new Error(`generate-api: no types file for the package of ${definition}`)
}

const packageFiles: readonly (readonly [RegExp, (m: RegExpExecArray) => string])[] = [
  [/^io\.k8s\.api\.([a-z0-9]+)\.(v[a-z0-9]+)$/, (m) => `${m[1]}-${m[2]}`],
  [/^io\.k8s\.apimachinery\.pkg\.apis\.meta\.(v[a-z0-9]+)$/, (m) => `meta-${m[1]}`],
  [/^io\.k8s\.apimachinery\.pkg\.api\.resource$/, () => 'resource'],
  [/^io\.k8s\.apimachinery\.pkg\.util\.intstr$/, () => 'intstr'],
  [/^io\.k8s\.apimachinery\.pkg\.runtime$/, () => 'runtime'],
  [/^io\.k8s\.apimachinery\.pkg\.version$/, () => 'version'],
  [
    /^io\.k8s\.apiextensions-apiserver\.pkg\.apis\.apiextensions\.(v[a-z0-9]+)$/,
    (m) => `apiextensions-${m[1]}`,
  ],
  [/^io\.k8s\.kube-aggregator\.pkg\.apis\.apiregistration\.(v[a-z0-9]+)$/, (m) => `apiregistration-${m[1]}`],
]

/** The namespace a file is exported as from index.ts: core-v1 -> coreV1. */
export function namespaceName(file: string): string {
  return file.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

type Alias = (definition: string) => string

function typesFile(doc: OpenApiV2, file: string, names: readonly string[], header: string): string {
  const local = new Set(names.map((n) => typeLocation(n).name))
  const imports = new Map<string, Map<string, string>>() // file -> definition -> local alias
  const taken = new Set(local)
  const alias: Alias = (def) => {
    const loc = typeLocation(def)
    if (loc.file === file) return loc.name
    const fromFile = imports.get(loc.file) ?? new Map<string, string>()
    imports.set(loc.file, fromFile)
    let a = fromFile.get(def)
    if (a === undefined) {
      a = taken.has(loc.name) ? `${loc.name}_${namespaceName(loc.file)}` : loc.name
      taken.add(a)
      fromFile.set(def, a)
    }
    return a
  }

  const body = names.map((def) => {
    const s = doc.definitions[def] ?? {}
    const { name } = typeLocation(def)
    const isInterface = s.properties !== undefined && s.additionalProperties === undefined
    return isInterface
      ? `export interface ${name} ${objectType(s, alias, '')}\n`
      : `export type ${name} = ${typeOf(s, alias, '')}\n`
  })
  const importLines = [...imports.keys()].sort().map((from) => {
    const specs = [...(imports.get(from) ?? [])]
      .map(([def, a]) => {
        const n = typeLocation(def).name
        return n === a ? n : `${n} as ${a}`
      })
      .sort()
    return `import type { ${specs.join(', ')} } from './${from}.ts'`
  })
  return [header, ...importLines, ...(importLines.length > 0 ? [''] : []), ...body].join('\n')
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

function typeOf(s: SchemaV2, alias: Alias, indent: string): string {
  if (s.$ref !== undefined) return alias(refName(s.$ref))
  if (s.format === 'int-or-string' || s['x-kubernetes-int-or-string'] === true) return 'number | string'
  if (s.enum !== undefined && s.enum.length > 0) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
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
      return item.includes(' ') && !item.startsWith('{') ? `(${item})[]` : `${item}[]`
    }
    case 'object':
    case undefined: {
      const values =
        typeof s.additionalProperties === 'object' ? typeOf(s.additionalProperties, alias, indent) : 'unknown'
      if (s.properties !== undefined) {
        const obj = objectType(s, alias, indent)
        return s.additionalProperties ? `${obj} & Record<string, ${values}>` : obj
      }
      if (s.additionalProperties) return `Record<string, ${values}>`
      return s.type === 'object' ? 'Record<string, unknown>' : 'unknown'
    }
    default:
      throw new Error(`generate-api: no TypeScript type for schema type ${s.type}`)
  }
}

function objectType(s: SchemaV2, alias: Alias, indent: string): string {
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
