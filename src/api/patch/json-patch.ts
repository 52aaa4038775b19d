import fastJsonPatch, { type Operation } from 'fast-json-patch'

/** A patch that could not be applied, with a message for the client. */
export class PatchError extends Error {
  override readonly name = 'PatchError'
  /** 'decode': the patch is not well-formed (400); 'apply': it does not fit the object (422). */
  readonly kind: 'decode' | 'apply'

  constructor(kind: 'decode' | 'apply', message: string) {
    super(message)
    this.kind = kind
  }
}

/** The most operations a JSON patch may hold, as kube-apiserver limits it. */
export const maxJsonPatchOperations = 10000

/**
 * RFC 6902 JSON patch: an array of operations (add, remove, replace, move, copy, test) applied
 * in order; all or nothing. The input is not changed.
 */
export function applyJsonPatch<T>(doc: T, patch: unknown): T {
  if (!Array.isArray(patch))
    throw new PatchError('decode', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch')
  if (patch.length > maxJsonPatchOperations) {
    throw new PatchError(
      'apply',
      `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${patch.length}`,
    )
  }
  for (const [i, op] of patch.entries()) {
    if (op === null || typeof op !== 'object' || typeof (op as { op?: unknown }).op !== 'string') {
      throw new PatchError('decode', `invalid JSON patch operation at index ${i}: missing "op"`)
    }
  }
  try {
    return fastJsonPatch.applyPatch(structuredClone(doc), patch as Operation[], true, false).newDocument
  } catch (err) {
    const e = err as { name?: string; message?: string; operation?: Operation }
    const message = (e.message ?? String(err)).split('\n')[0] ?? ''
    if (e.name === 'TEST_OPERATION_FAILED')
      throw new PatchError('apply', `testing value ${e.operation?.path ?? ''} failed: test operation failed`)
    throw new PatchError('apply', message)
  }
}
