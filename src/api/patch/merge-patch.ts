/**
 * RFC 7386 JSON merge patch: objects merge key by key, `null` deletes, everything else
 * (arrays included) replaces. Inputs are not changed.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch)
  const out: Record<string, unknown> = isObject(target) ? structuredClone(target) : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = applyMergePatch(out[k], v)
  }
  return out
}

/** The merge patch that turns `original` into `modified` (null for removed keys). */
export function createMergePatch(original: unknown, modified: unknown): unknown {
  if (!isObject(original) || !isObject(modified)) return structuredClone(modified)
  const patch: Record<string, unknown> = {}
  for (const k of Object.keys(original)) if (!(k in modified)) patch[k] = null
  for (const [k, v] of Object.entries(modified)) {
    const o = original[k]
    if (isObject(o) && isObject(v)) {
      const sub = createMergePatch(o, v)
      if (isObject(sub) && Object.keys(sub).length > 0) patch[k] = sub
    } else if (JSON.stringify(o) !== JSON.stringify(v)) {
      patch[k] = structuredClone(v)
    }
  }
  return patch
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
