import { createHash } from 'node:crypto'
import protobuf from 'protobufjs'

/**
 * The OpenAPI v2 document in the protobuf form kubectl asks for
 * (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, gnostic's openapi.v2.Document).
 * kubectl reads it for client-side validation of kinds the v3 documents give it no server-side
 * validation for (no PATCH operation: Binding, the reviews), and only its definitions; so the
 * definitions are encoded in full (types, formats, references, properties, items, required,
 * enums, defaults and the x-kubernetes-* extensions) and the paths are left empty.
 */

type Json = Record<string, unknown>

// Field numbers of gnostic's OpenAPIv2.proto.
const DOC = { swagger: 1, info: 2, paths: 8, definitions: 9 } as const
const INFO = { title: 1, version: 2 } as const
const SCHEMA = {
  ref: 1,
  format: 2,
  title: 3,
  description: 4,
  default: 5,
  maximum: 7,
  minimum: 9,
  maxLength: 11,
  minLength: 12,
  pattern: 13,
  maxItems: 14,
  minItems: 15,
  uniqueItems: 16,
  required: 19,
  enum: 20,
  additionalProperties: 21,
  type: 22,
  items: 23,
  allOf: 24,
  properties: 25,
  readOnly: 27,
  vendorExtension: 31,
} as const

type W = protobuf.Writer

function message(w: W, field: number, body: (w: W) => void): void {
  w.uint32((field << 3) | 2).fork()
  body(w)
  w.ldelim()
}

function string(w: W, field: number, v: unknown): void {
  if (typeof v === 'string' && v !== '') w.uint32((field << 3) | 2).string(v)
}

/** gnostic's Any: the value as YAML text (JSON is YAML). */
function any(w: W, field: number, v: unknown): void {
  message(w, field, (m) => string(m, 2, JSON.stringify(v)))
}

function namedSchema(w: W, field: number, name: string, s: Json): void {
  message(w, field, (m) => {
    string(m, 1, name)
    message(m, 2, (v) => schema(v, s))
  })
}

function schema(w: W, s: Json): void {
  string(w, SCHEMA.ref, s.$ref)
  string(w, SCHEMA.format, s.format)
  string(w, SCHEMA.title, s.title)
  string(w, SCHEMA.description, s.description)
  if (s.default !== undefined) any(w, SCHEMA.default, s.default)
  if (typeof s.maximum === 'number') w.uint32((SCHEMA.maximum << 3) | 1).double(s.maximum)
  if (typeof s.minimum === 'number') w.uint32((SCHEMA.minimum << 3) | 1).double(s.minimum)
  for (const [k, f] of [
    ['maxLength', SCHEMA.maxLength],
    ['minLength', SCHEMA.minLength],
    ['maxItems', SCHEMA.maxItems],
    ['minItems', SCHEMA.minItems],
  ] as const) {
    if (typeof s[k] === 'number') w.uint32(f << 3).int64(s[k])
  }
  string(w, SCHEMA.pattern, s.pattern)
  if (s.uniqueItems === true) w.uint32(SCHEMA.uniqueItems << 3).bool(true)
  for (const r of Array.isArray(s.required) ? s.required : []) string(w, SCHEMA.required, r)
  for (const e of Array.isArray(s.enum) ? s.enum : []) any(w, SCHEMA.enum, e)
  const ap = s.additionalProperties
  if (typeof ap === 'boolean') message(w, SCHEMA.additionalProperties, (m) => m.uint32(2 << 3).bool(ap))
  else if (ap !== null && typeof ap === 'object') {
    message(w, SCHEMA.additionalProperties, (m) => message(m, 1, (v) => schema(v, ap as Json)))
  }
  if (typeof s.type === 'string') message(w, SCHEMA.type, (m) => string(m, 1, s.type))
  const items = s.items
  if (items !== null && typeof items === 'object') {
    const list = (Array.isArray(items) ? items : [items]) as Json[]
    message(w, SCHEMA.items, (m) => {
      for (const i of list) message(m, 1, (v) => schema(v, i))
    })
  }
  for (const a of Array.isArray(s.allOf) ? (s.allOf as Json[]) : [])
    message(w, SCHEMA.allOf, (v) => schema(v, a))
  const props = s.properties
  if (props !== null && typeof props === 'object') {
    message(w, SCHEMA.properties, (m) => {
      for (const [name, p] of Object.entries(props as Record<string, Json>)) namedSchema(m, 1, name, p)
    })
  }
  if (s.readOnly === true) w.uint32(SCHEMA.readOnly << 3).bool(true)
  for (const [k, v] of Object.entries(s)) {
    if (!k.startsWith('x-')) continue
    message(w, SCHEMA.vendorExtension, (m) => {
      string(m, 1, k)
      any(m, 2, v)
    })
  }
}

/** Encodes a v2 (Swagger) JSON document. */
export function encodeOpenApiV2(doc: Json): { body: Buffer; hash: string } {
  const w = protobuf.Writer.create()
  string(w, DOC.swagger, doc.swagger ?? '2.0')
  const info = (doc.info ?? {}) as Json
  message(w, DOC.info, (m) => {
    string(m, INFO.title, info.title)
    string(m, INFO.version, info.version)
  })
  message(w, DOC.paths, () => undefined)
  const defs = (doc.definitions ?? {}) as Record<string, Json>
  message(w, DOC.definitions, (m) => {
    for (const [name, s] of Object.entries(defs)) namedSchema(m, 1, name, s)
  })
  const body = Buffer.from(w.finish())
  return { body, hash: createHash('sha512').update(body).digest('hex').toUpperCase() }
}
