import { readFileSync } from 'node:fs'
import protobuf from 'protobufjs'
import type { KubeObject } from '../object.ts'
import { parseApiVersion } from '../object.ts'
import { inlineFields, notOmitEmpty, pointerFields } from './go-fields.ts'

/**
 * Kubernetes' protobuf wire format (`application/vnd.kubernetes.protobuf`), as kubectl 1.32+
 * sends request bodies of typed clients: the 4 bytes `k8s\0`, then a runtime.Unknown message
 * whose typeMeta names apiVersion and kind and whose raw bytes are the object's message (from
 * the `generated.proto` files of k8s.io/api).
 *
 * decode() gives exactly the JSON object a JSON client would have sent for the same Go value:
 * omitted zero values (unless the field is a Go pointer or not omitempty), RFC 3339 times,
 * int-or-strings as numbers or strings, quantities as strings, bytes as base64, embedded raw
 * JSON as objects. encode() is the reverse, for clients that accept nothing but protobuf.
 */
export const protobufMagic = Buffer.from([0x6b, 0x38, 0x73, 0x00])

export class ProtobufError extends Error {
  override readonly name = 'ProtobufError'
}

let root: protobuf.Root | undefined

/** The message types, loaded on first use (most clients never send protobuf). */
function types(): protobuf.Root {
  if (!root) {
    const descriptor = JSON.parse(
      readFileSync(new URL('../generated/protobuf/descriptor.json', import.meta.url), 'utf8'),
    ) as protobuf.INamespace
    root = protobuf.Root.fromJSON(descriptor)
    root.resolveAll()
  }
  return root
}

const meta = 'k8s.io.apimachinery.pkg.apis.meta.v1'

/** The message type of an apiVersion and kind, or undefined. */
export function messageType(apiVersion: string, kind: string): protobuf.Type | undefined {
  const { group, version } = parseApiVersion(apiVersion)
  const candidates: string[] = []
  const pkg = group === '' ? 'core' : (group.split('.')[0] ?? group)
  candidates.push(`k8s.io.api.${pkg}.${version}.${kind}`)
  // Options and Status types live in meta/v1 whatever group they are sent to.
  candidates.push(`${meta}.${kind}`)
  for (const name of candidates) {
    try {
      const t = types().lookupType(name)
      if (t) return t
    } catch {
      // not this one
    }
  }
  return undefined
}

/** A protobuf body as the JSON object a JSON client would have sent. */
export function decodeProtobuf(body: Uint8Array): KubeObject {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (bytes.length < 4 || !bytes.subarray(0, 4).equals(protobufMagic)) {
    throw new ProtobufError(
      'the body is not a Kubernetes protobuf message (it does not start with the k8s\\0 magic)',
    )
  }
  const Unknown = types().lookupType('k8s.io.apimachinery.pkg.runtime.Unknown')
  let unknown: {
    typeMeta?: { apiVersion?: string; kind?: string }
    raw?: Uint8Array
    contentEncoding?: string
  }
  try {
    unknown = Unknown.decode(bytes.subarray(4)) as unknown as typeof unknown
  } catch (err) {
    throw new ProtobufError(`the protobuf envelope does not decode: ${(err as Error).message}`)
  }
  const apiVersion = unknown.typeMeta?.apiVersion ?? ''
  const kind = unknown.typeMeta?.kind ?? ''
  if (unknown.contentEncoding)
    throw new ProtobufError(`unsupported content encoding ${JSON.stringify(unknown.contentEncoding)}`)
  if (!kind) throw new ProtobufError('the protobuf envelope does not name a kind')
  const type = messageType(apiVersion, kind)
  if (!type) throw new ProtobufError(`no kind "${kind}" is registered for version "${apiVersion}"`)
  let message: protobuf.Message
  try {
    message = type.decode(unknown.raw ?? new Uint8Array(0))
  } catch (err) {
    throw new ProtobufError(`the ${kind} message does not decode: ${(err as Error).message}`)
  }
  const obj = messageToJson(type, message) as KubeObject
  return { apiVersion, kind, ...obj }
}

/** An object as a protobuf body (envelope included); throws ProtobufError for kinds without a message type. */
export function encodeProtobuf(obj: KubeObject): Buffer {
  const apiVersion = obj.apiVersion ?? ''
  const kind = obj.kind ?? ''
  const type = messageType(apiVersion, kind)
  if (!type) throw new ProtobufError(`no protobuf message for ${apiVersion} ${kind}`)
  const raw = type.encode(type.fromObject(jsonToMessage(type, obj))).finish()
  const Unknown = types().lookupType('k8s.io.apimachinery.pkg.runtime.Unknown')
  const envelope = Unknown.encode(
    Unknown.fromObject({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' }),
  ).finish()
  return Buffer.concat([protobufMagic, envelope])
}

// --- protobuf -> JSON ----------------------------------------------------------------------------

type Converter = { toJson(v: unknown): unknown; fromJson(v: unknown): unknown; zero(v: unknown): boolean }

/** apimachinery types whose JSON form is not their message shape. */
const special: Record<string, Converter> = {
  [`${meta}.Time`]: {
    toJson: (v) => {
      const t = v as { seconds?: unknown; nanos?: number }
      const s = int(t.seconds)
      return new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    },
    fromJson: (v) => ({ seconds: Math.floor(Date.parse(String(v)) / 1000), nanos: 0 }),
    zero: (v) =>
      int((v as { seconds?: unknown }).seconds) === 0 && ((v as { nanos?: number }).nanos ?? 0) === 0,
  },
  [`${meta}.MicroTime`]: {
    toJson: (v) => {
      const t = v as { seconds?: unknown; nanos?: number }
      const iso = new Date(int(t.seconds) * 1000).toISOString().slice(0, 19)
      return `${iso}.${String(Math.floor((t.nanos ?? 0) / 1000)).padStart(6, '0')}Z`
    },
    fromJson: (v) => {
      const ms = Date.parse(String(v))
      const micros = /\.(\d+)Z$/.exec(String(v))?.[1]?.padEnd(6, '0').slice(0, 6) ?? '0'
      return { seconds: Math.floor(ms / 1000), nanos: Number(micros) * 1000 }
    },
    zero: (v) =>
      int((v as { seconds?: unknown }).seconds) === 0 && ((v as { nanos?: number }).nanos ?? 0) === 0,
  },
  ['k8s.io.apimachinery.pkg.util.intstr.IntOrString']: {
    toJson: (v) => {
      const x = v as { type?: unknown; intVal?: number; strVal?: string }
      return int(x.type) === 1 ? (x.strVal ?? '') : (x.intVal ?? 0)
    },
    fromJson: (v) => (typeof v === 'string' ? { type: 1, strVal: v } : { type: 0, intVal: Number(v) }),
    zero: () => false,
  },
  ['k8s.io.apimachinery.pkg.api.resource.Quantity']: {
    toJson: (v) => (v as { string?: string }).string ?? '0',
    fromJson: (v) => ({ string: String(v) }),
    zero: () => false,
  },
  [`${meta}.Duration`]: {
    toJson: (v) => goDuration(int((v as { duration?: unknown }).duration)),
    fromJson: (v) => ({ duration: parseGoDuration(String(v)) }),
    zero: () => false,
  },
  ['k8s.io.apimachinery.pkg.runtime.RawExtension']: {
    toJson: (v) => rawJson((v as { raw?: Uint8Array }).raw),
    fromJson: (v) => ({ raw: Buffer.from(JSON.stringify(v)) }),
    zero: () => false,
  },
  [`${meta}.FieldsV1`]: {
    toJson: (v) => rawJson((v as { Raw?: Uint8Array }).Raw),
    fromJson: (v) => ({ Raw: Buffer.from(JSON.stringify(v)) }),
    zero: () => false,
  },
}

/** Messages that are a list of strings on the wire and a plain array in JSON. */
function isStringListWrapper(t: protobuf.Type): boolean {
  const fields = t.fieldsArray
  return (
    fields.length === 1 && fields[0]?.name === 'items' && fields[0].repeated && fields[0].type === 'string'
  )
}

function messageToJson(type: protobuf.Type, msg: protobuf.Message): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const m = msg as unknown as Record<string, unknown>
  const pointers = pointerFields[type.fullName.slice(1)] ?? []
  const kept = notOmitEmpty[type.fullName.slice(1)] ?? []
  const inline = inlineFields[type.fullName.slice(1)] ?? []
  for (const f of type.fieldsArray) {
    if (!Object.hasOwn(m, f.name)) continue
    const v = m[f.name]
    if (inline.includes(f.name) && f.resolvedType instanceof protobuf.Type) {
      // An embedded Go struct: its fields are the parent's in JSON.
      Object.assign(out, messageToJson(f.resolvedType, v as protobuf.Message))
      continue
    }
    if (f.map) {
      const entries = Object.entries((v ?? {}) as Record<string, unknown>)
      if (entries.length === 0) continue
      out[f.name] = Object.fromEntries(entries.map(([k, x]) => [k, valueToJson(f, x)]))
      continue
    }
    if (f.repeated) {
      const list = (v ?? []) as unknown[]
      if (list.length === 0) continue
      out[f.name] = list.map((x) => valueToJson(f, x))
      continue
    }
    if (f.resolvedType instanceof protobuf.Type) {
      const conv = special[f.resolvedType.fullName.slice(1)]
      if (conv?.zero(v)) continue
      out[f.name] = valueToJson(f, v)
      continue
    }
    if (isZero(v) && !pointers.includes(f.name) && !kept.includes(f.name)) continue
    out[f.name] = valueToJson(f, v)
  }
  return out
}

function valueToJson(f: protobuf.Field, v: unknown): unknown {
  const t = f.resolvedType
  if (t instanceof protobuf.Type) {
    const conv = special[t.fullName.slice(1)]
    if (conv) return conv.toJson(v)
    if (isStringListWrapper(t)) return [...((v as { items?: string[] }).items ?? [])]
    return messageToJson(t, v as protobuf.Message)
  }
  if (t instanceof protobuf.Enum) return v
  switch (f.type) {
    case 'bytes':
      return Buffer.from(v as Uint8Array).toString('base64')
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return int(v)
    default:
      return v
  }
}

// --- JSON -> protobuf ----------------------------------------------------------------------------

function jsonToMessage(type: protobuf.Type, json: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (json === null || typeof json !== 'object') return out
  const obj = json as Record<string, unknown>
  const inline = inlineFields[type.fullName.slice(1)] ?? []
  for (const f of type.fieldsArray) {
    if (inline.includes(f.name) && f.resolvedType instanceof protobuf.Type) {
      out[f.name] = jsonToMessage(f.resolvedType, obj)
      continue
    }
    const v = obj[f.name]
    if (v === undefined || v === null) continue
    if (f.map) {
      out[f.name] = Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, valueFromJson(f, x)]),
      )
    } else if (f.repeated) {
      out[f.name] = (v as unknown[]).map((x) => valueFromJson(f, x))
    } else {
      out[f.name] = valueFromJson(f, v)
    }
  }
  return out
}

function valueFromJson(f: protobuf.Field, v: unknown): unknown {
  const t = f.resolvedType
  if (t instanceof protobuf.Type) {
    const conv = special[t.fullName.slice(1)]
    if (conv) return conv.fromJson(v)
    if (isStringListWrapper(t)) return { items: v }
    return jsonToMessage(t, v)
  }
  if (f.type === 'bytes') return Buffer.from(String(v), 'base64')
  return v
}

// --- helpers -------------------------------------------------------------------------------------

function isZero(v: unknown): boolean {
  if (v === undefined || v === null) return true
  if (v === '' || v === false || v === 0) return true
  if (typeof v === 'object' && 'toNumber' in v) return int(v) === 0
  return false
}

function int(v: unknown): number {
  if (typeof v === 'number') return v
  if (v && typeof v === 'object' && 'toNumber' in v) return (v as { toNumber(): number }).toNumber()
  if (typeof v === 'string') return Number(v)
  return 0
}

function rawJson(raw: Uint8Array | undefined): unknown {
  if (!raw || raw.length === 0) return undefined
  const b = Buffer.from(raw)
  if (b.subarray(0, 4).equals(protobufMagic)) return decodeProtobuf(b)
  try {
    return JSON.parse(b.toString('utf8')) as unknown
  } catch {
    throw new ProtobufError('an embedded object is neither JSON nor Kubernetes protobuf')
  }
}

/** Nanoseconds in Go's time.Duration String() form: 1h2m3.5s, 150ms, 0s. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s'
  const neg = ns < 0
  let n = Math.abs(ns)
  const sign = neg ? '-' : ''
  if (n < 1e3) return `${sign}${n}ns`
  if (n < 1e6) return `${sign}${trim(n / 1e3)}µs`
  if (n < 1e9) return `${sign}${trim(n / 1e6)}ms`
  const h = Math.floor(n / 3.6e12)
  n -= h * 3.6e12
  const m = Math.floor(n / 6e10)
  n -= m * 6e10
  const s = trim(n / 1e9)
  if (h > 0) return `${sign}${h}h${m}m${s}s`
  if (m > 0) return `${sign}${m}m${s}s`
  return `${sign}${s}s`
}

function trim(x: number): string {
  return String(Number(x.toFixed(9)))
}

export function parseGoDuration(s: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 }
  let total = 0
  const re = /([0-9.]+)(ns|us|µs|ms|s|m|h)/g
  let m: RegExpExecArray | null
  while ((m = re.exec(s)) !== null) total += Number(m[1]) * (units[m[2] ?? 's'] ?? 0)
  return (s.startsWith('-') ? -1 : 1) * Math.round(total)
}
