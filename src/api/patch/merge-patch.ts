/**
 * RFC 7386 JSON merge patch: objects merge key by key, `null` deletes, everything else
 * (arrays included) replaces. Inputs are not changed, unless the target is owned.
 */
export function applyMergePatch(target: unknown, patch: unknown, o: PatchTarget = {}): unknown {
  const ownsPatch = o.ownsPatch === true
  if (!isObject(patch)) return ownsPatch ? patch : structuredClone(patch)
  return mergeInto(isObject(target) ? (o.owned ? target : structuredClone(target)) : {}, patch, ownsPatch)
}

export interface PatchTarget {
  /**
   * The target is the caller's own copy, which the patch may change in place and return (the
   * store decodes one for each attempt); a patch that fails may leave it half changed. Otherwise
   * the target is left as it was.
   */
  owned?: boolean
  /**
   * The patch is the caller's own as well (decoded for this one merge): its values become part of
   * the result as they are, not copied.
   */
  ownsPatch?: boolean
}

/** Merges the patch into `out`, which belongs to this merge (a copy of the target): changed in place. */
function mergeInto(
  out: Record<string, unknown>,
  patch: Readonly<Record<string, unknown>>,
  ownsPatch: boolean,
): Record<string, unknown> {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else if (isObject(v)) {
      const current = ownValue(out, k)
      setOwn(out, k, mergeInto(isObject(current) ? current : {}, v, ownsPatch))
    } else setOwn(out, k, typeof v === 'object' && !ownsPatch ? structuredClone(v) : v)
  }
  return out
}

/** The value of an object's own key (never one it inherits, such as `__proto__`). */
export function ownValue(m: Readonly<Record<string, unknown>>, k: string): unknown {
  return Object.hasOwn(m, k) ? m[k] : undefined
}

/**
 * Sets an own key. A key named `__proto__` (a valid ConfigMap key) becomes a field like any
 * other instead of replacing the object's prototype.
 */
export function setOwn(m: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(m, k, { value: v, writable: true, enumerable: true, configurable: true })
  else m[k] = v
}

/** The merge patch that turns `original` into `modified` (null for removed keys). */
export function createMergePatch(original: unknown, modified: unknown): unknown {
  if (!isObject(original) || !isObject(modified)) return structuredClone(modified)
  const patch: Record<string, unknown> = {}
  for (const k of Object.keys(original)) if (!Object.hasOwn(modified, k)) setOwn(patch, k, null)
  for (const [k, v] of Object.entries(modified)) {
    const o = ownValue(original, k)
    if (isObject(o) && isObject(v)) {
      const sub = createMergePatch(o, v)
      if (isObject(sub) && Object.keys(sub).length > 0) setOwn(patch, k, sub)
    } else if (JSON.stringify(o) !== JSON.stringify(v)) {
      setOwn(patch, k, structuredClone(v))
    }
  }
  return patch
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
