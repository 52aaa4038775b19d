import type { ObjectMeta } from './generated/types/meta-v1.ts'

/**
 * Any Kubernetes object as it travels: plain JSON with apiVersion, kind and metadata. Code that
 * knows the kind narrows it to the generated type (Pod, Deployment, ...).
 */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata?: ObjectMeta
  [field: string]: unknown
}

/** A KubeObject whose metadata is there (every stored object's is). */
export interface StoredObject extends KubeObject {
  metadata: ObjectMeta
}

export function isKubeObject(v: unknown): v is KubeObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const m = (v as { metadata?: unknown }).metadata
  return m === undefined || m === null || (typeof m === 'object' && !Array.isArray(m))
}

/** The object's metadata, created empty when absent. */
export function metadataOf(obj: KubeObject): ObjectMeta {
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {}
  return obj.metadata
}

/** `apps/v1` from group and version; the core group is just `v1`. */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`
}

/** Group and version of an apiVersion string. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/')
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) }
}

/**
 * Freezes a value and everything in it: an object shared by many readers (a cached object, a
 * schema) then throws at once where code changes it by mistake. Returns the value.
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value
  Object.freeze(value)
  // Plain data: walked without an array of its values per object (a third of the time).
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) deepFreeze(value[i])
  else for (const k in value) deepFreeze((value as Record<string, unknown>)[k])
  return value
}

/**
 * A deep copy of JSON data: what JSON.parse of its text gives (members whose value is undefined
 * left out), several times faster than encoding and parsing it again.
 */
export function copyJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) {
      const v = value[i] as unknown
      out[i] = v === undefined ? null : copyJson(v)
    }
    return out as T
  }
  const out: Record<string, unknown> = {}
  const o = value as Record<string, unknown>
  for (const k in o) {
    const v = o[k]
    if (v !== undefined) out[k] = copyJson(v)
  }
  return out as T
}

/** Whether an object has no members, found without making a list of its keys. */
export function hasNoMembers(o: object): boolean {
  for (const _ in o) return false
  return true
}

/** Structural equality of JSON values; members whose value is undefined count as absent. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  const array = Array.isArray(a)
  if (array !== Array.isArray(b)) return false
  if (array) {
    const x = a as unknown[]
    const y = b as unknown[]
    if (x.length !== y.length) return false
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], y[i])) return false
    return true
  }
  // for...in and counts instead of key arrays: this runs over whole objects on every write.
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  let members = 0
  for (const k in x) {
    const v = x[k]
    if (v === undefined) continue
    if (!deepEqual(v, y[k])) return false
    members++
  }
  for (const k in y) if (y[k] !== undefined) members--
  return members === 0
}
