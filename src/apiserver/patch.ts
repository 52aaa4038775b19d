import { parse as parseYaml } from 'yaml'
import { isKubeObject, apiVersionOf, type StoredObject } from '../api/object.ts'
import { applyConfiguration, ApplyConflictError } from '../api/patch/apply.ts'
import { applyJsonPatch, PatchError } from '../api/patch/json-patch.ts'
import { applyMergePatch } from '../api/patch/merge-patch.ts'
import { applyStrategicMergePatch } from '../api/patch/strategic-merge-patch.ts'
import { schemaForKind, type GroupVersionKind } from '../api/schema.ts'
import { convertMismatch, goValue, typedMismatches, typeMismatch } from '../api/type-mismatch.ts'
import { shallowEnough } from './codec.ts'
import { ApiError, badRequest, invalid, notFound } from './errors.ts'
import type { PatchType } from './handlers/resources.ts'
import { rfc3339 } from './registry/store.ts'
import type { ResourceDefinition } from './registry/store.ts'

/**
 * A PATCH request applied to the current object, with Kubernetes' answers for patches that do
 * not decode (400), do not fit (422) or conflict with other field managers (409). With `owned`,
 * the current object is the caller's own copy and JSON, merge and strategic merge patches change
 * it in place.
 */
export function applyPatch(
  def: ResourceDefinition,
  type: PatchType,
  current: Readonly<StoredObject> | undefined,
  body: Buffer,
  o: { fieldManager: string; force: boolean; subresource: string; owned?: boolean },
): StoredObject {
  const gvk = { group: def.group, version: def.version, kind: def.kind }
  const schema = schemaForKind(gvk)
  try {
    if (type === 'apply') {
      const applied = decodeApply(body)
      if (applied.apiVersion !== undefined && applied.apiVersion !== apiVersionOf(def.group, def.version)) {
        throw badRequest(
          `the API version in the data (${String(applied.apiVersion)}) does not match the expected API version (${apiVersionOf(def.group, def.version)})`,
        )
      }
      if (applied.kind !== undefined && applied.kind !== def.kind) {
        throw badRequest(
          `the kind in the data (${String(applied.kind)}) does not match the expected kind (${def.kind})`,
        )
      }
      typeCheckApplied(gvk, applied)
      const out = applyConfiguration(current, applied, o.force, {
        manager: o.fieldManager,
        apiVersion: apiVersionOf(def.group, def.version),
        subresource: o.subresource,
        time: rfc3339(Date.now()),
        schema,
      })
      return out
    }
    if (!current) throw notFound({ group: def.group, resource: def.resource }, '')
    // Decoded for this patch alone: its values may go into the result as they are.
    const patch = decodeJson(body)
    const target = { owned: o.owned === true, ownsPatch: true }
    let out: unknown
    switch (type) {
      case 'json':
        out = applyJsonPatch(current, patch, target)
        break
      case 'merge':
        out = applyMergePatch(current, patch, target)
        break
      case 'strategic':
        out = applyStrategicMergePatch(current, patch, schema, target)
        break
    }
    if (!isKubeObject(out)) throw new PatchError('apply', 'the patched object is not a JSON object')
    // Kubernetes makes a typed object of the result; a value of the wrong type cannot be one.
    // What a merge or strategic merge patch adds is its own values (the current object has the
    // right types), so the patch is what is checked, which costs far less than the whole object.
    const mismatch =
      type === 'json'
        ? typeMismatch(gvk, out)
        : type === 'merge'
          ? typeMismatch(gvk, patch as StoredObject)
          : convertMismatch(gvk, patch)
    if (mismatch !== undefined) throw invalidPatch(type, mismatch, out, body)
    out.metadata ??= {}
    return out as StoredObject
  } catch (err) {
    if (err instanceof ApiError) throw err
    if (err instanceof ApplyConflictError) {
      throw new ApiError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: err.message,
        reason: 'Conflict',
        details: {
          causes: err.conflicts.map((c) => ({
            reason: 'FieldManagerConflict',
            message: `conflict with ${c.managerDescription}`,
            field: c.field,
          })),
        },
        code: 409,
      })
    }
    if (err instanceof PatchError) {
      if (err.kind === 'decode') throw badRequest(err.message)
      throw new ApiError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: err.message,
        reason: 'Invalid',
        code: 422,
      })
    }
    throw err
  }
}

/**
 * A JSON, merge or strategic merge patch whose result Kubernetes cannot decode: 422 on the field
 * `patch`, for no kind or name, the bad value being the patched object's JSON (JSON and merge
 * patches) or the patch as Go prints a map (strategic merge patches), as patch.go words it.
 */
export function invalidPatch(type: PatchType, detail: string, patched: unknown, body: Buffer): ApiError {
  const value = type === 'strategic' ? goValue(JSON.parse(body.toString('utf8'))) : JSON.stringify(patched)
  return invalid({ group: '', kind: '' }, '', [{ type: 'FieldValueInvalid', field: 'patch', value, detail }])
}

/**
 * An apply configuration is made a typed value before it is merged (structured-merge-diff), and
 * every value of the wrong type is named: 400 (kube-apiserver 1.35 answers 500 for these; 400 is
 * what its pending fix returns, with the same words).
 */
function typeCheckApplied(gvk: GroupVersionKind, applied: StoredObject): void {
  const found = typedMismatches(gvk, applied)
  if (found.length === 0) return
  const errors = found.length === 1 ? found[0] : ['errors:', ...found.map((e) => `  ${e}`)].join('\n')
  throw badRequest(
    `failed to create typed patch object (${gvk.group}/${gvk.version}, Kind=${gvk.kind}): ${errors ?? ''}`,
  )
}

function decodeJson(body: Buffer): unknown {
  let v: unknown
  try {
    v = JSON.parse(body.toString('utf8')) as unknown
  } catch (err) {
    throw badRequest(`error decoding patch: ${(err as Error).message}`)
  }
  shallowEnough(v)
  return v
}

/** Apply patches are YAML (JSON is YAML too). */
function decodeApply(body: Buffer): StoredObject {
  let v: unknown
  try {
    v = parseYaml(body.toString('utf8'), { maxAliasCount: 100 })
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`)
  }
  if (!isKubeObject(v)) throw badRequest('the apply patch must be an object')
  shallowEnough(v)
  const obj = v as StoredObject
  obj.metadata ??= {}
  return obj
}
