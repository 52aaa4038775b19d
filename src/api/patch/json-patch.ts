import fastJsonPatch, { type Operation } from 'fast-json-patch'
import type { PatchTarget } from './merge-patch.ts'

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
 * in order; all or nothing. The input is not changed unless it is owned.
 *
 * A patch that is not a list of operation objects is a 'decode' error (400); an operation that
 * does not fit the document (a failed test, a path that does not exist, an unknown op) an 'apply'
 * error (422) worded as kube-apiserver's JSON patch library words it.
 */
export function applyJsonPatch<T>(doc: T, patch: unknown, o: PatchTarget = {}): T {
  if (!Array.isArray(patch)) {
    throw new PatchError(
      'decode',
      `json: cannot unmarshal ${goJsonType(patch)} into Go value of type jsonpatch.Patch`,
    )
  }
  if (patch.length > maxJsonPatchOperations) {
    throw new PatchError(
      'apply',
      `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${patch.length}`,
    )
  }
  for (const [i, op] of patch.entries()) {
    if (op === null || typeof op !== 'object' || Array.isArray(op)) {
      throw new PatchError(
        'decode',
        `json: cannot unmarshal ${goJsonType(op)} into Go value of type jsonpatch.Operation (operation ${i})`,
      )
    }
    if (typeof (op as { op?: unknown }).op !== 'string')
      throw new PatchError('decode', `invalid JSON patch operation at index ${i}: missing "op"`)
  }
  try {
    const target = o.owned ? doc : structuredClone(doc)
    return fastJsonPatch.applyPatch(target, patch as Operation[], true, true).newDocument
  } catch (err) {
    throw new PatchError('apply', describeFailure(err))
  }
}

/** The failure of one operation, in the words of evanphx/json-patch where it has them. */
function describeFailure(err: unknown): string {
  const e = err as {
    name?: string
    message?: string
    operation?: Partial<Record<'op' | 'path' | 'from', unknown>>
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : '')
  const op = text(e.operation?.op)
  const path = text(e.operation?.path)
  const from = text(e.operation?.from)
  switch (e.name) {
    case 'TEST_OPERATION_FAILED':
      return `testing value ${path} failed: test failed`
    case 'OPERATION_PATH_UNRESOLVABLE':
    case 'OPERATION_PATH_CANNOT_ADD':
      if (op === 'move' && path.startsWith(`${from}/`))
        return `move operation does not apply: cannot move "${from}" into its own child "${path}"`
      return `${op} operation does not apply: doc is missing path: "${path}": missing value`
    case 'OPERATION_FROM_UNRESOLVABLE':
      return `${op} operation does not apply: doc is missing from path: "${from}": missing value`
    case 'OPERATION_VALUE_OUT_OF_BOUNDS':
      return `error in ${op} for path: '${path}': Unable to access invalid index: ${path.split('/').at(-1) ?? ''}: invalid index referenced`
    case 'OPERATION_OP_INVALID':
      return `Unexpected kind: ${op}`
    default: {
      const message = (e.message ?? String(err)).split('\n')[0] ?? ''
      return e.operation ? `${message}: ${JSON.stringify(e.operation)}` : message
    }
  }
}

function goJsonType(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'boolean') return 'bool'
  return typeof v
}
