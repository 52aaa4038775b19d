import type { StoredObject } from '../../../api/object.ts'
import { bumpGenerationOnSpecChange, keepStatus, type ResourceStrategy } from '../strategy.ts'

/**
 * Kinds with a spec written by users and a status written by controllers (Deployment, Job,
 * ...): create starts with an empty status and generation 1; the main endpoint keeps the status;
 * generation counts spec changes.
 */
export const specStatusStrategy: ResourceStrategy = {
  prepareForCreate(obj) {
    if (obj.status !== undefined) obj.status = {}
    obj.metadata.generation = 1
  },
  prepareForUpdate(next, prev) {
    keepStatus(next, prev)
    bumpGenerationOnSpecChange(next, prev)
  },
}

/** Kinds without a status (ConfigMap, Secret, ServiceAccount, RBAC, ...): stored as sent. */
export const plainStrategy: ResourceStrategy = {}

/**
 * Secrets: stringData is a write-only convenience. Its values, as UTF-8, go into data (taking the
 * place of a key of the same name there) and it is never stored, as Kubernetes' conversion of a
 * v1 Secret does.
 */
export const secretStrategy: ResourceStrategy = {
  prepareForCreate: mergeStringData,
  prepareForUpdate: (next) => mergeStringData(next),
}

function mergeStringData(obj: StoredObject): void {
  const stringData = obj.stringData
  if (stringData === undefined) return
  delete obj.stringData
  if (stringData === null || typeof stringData !== 'object' || Array.isArray(stringData)) return
  const data: Record<string, unknown> =
    obj.data !== null && typeof obj.data === 'object' && !Array.isArray(obj.data)
      ? (obj.data as Record<string, unknown>)
      : {}
  for (const [k, v] of Object.entries(stringData as Record<string, unknown>))
    if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64')
  obj.data = data
}

/** Adds validation to a strategy (and to its status subresource's, when that has rules of its own). */
export function withValidation(
  base: ResourceStrategy,
  validate: NonNullable<ResourceStrategy['validate']>,
  validateUpdate?: ResourceStrategy['validateUpdate'],
  validateStatusUpdate?: ResourceStrategy['validateUpdate'],
): ResourceStrategy {
  return {
    ...base,
    validate: (obj, ctx) => [...(base.validate?.(obj, ctx) ?? []), ...validate(obj, ctx)],
    validateUpdate: (next, prev, ctx) => [
      ...(base.validateUpdate?.(next, prev, ctx) ?? []),
      ...(validateUpdate ? validateUpdate(next, prev, ctx) : validate(next, ctx)),
    ],
    ...(validateStatusUpdate
      ? {
          validateStatusUpdate: (next, prev, ctx) => [
            ...(base.validateUpdate?.(next, prev, ctx) ?? []),
            ...validateStatusUpdate(next, prev, ctx),
          ],
        }
      : {}),
  }
}
