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

/** Adds validation to a strategy. */
export function withValidation(
  base: ResourceStrategy,
  validate: NonNullable<ResourceStrategy['validate']>,
  validateUpdate?: ResourceStrategy['validateUpdate'],
): ResourceStrategy {
  return {
    ...base,
    validate: (obj, ctx) => [...(base.validate?.(obj, ctx) ?? []), ...validate(obj, ctx)],
    validateUpdate: (next, prev, ctx) => [
      ...(base.validateUpdate?.(next, prev, ctx) ?? []),
      ...(validateUpdate ? validateUpdate(next, prev, ctx) : validate(next, ctx)),
    ],
  }
}
