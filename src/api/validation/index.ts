import type { FieldError } from '../field-errors.ts'
import type { StoredObject } from '../object.ts'

/** Validation of one kind: of a new object, and of an update against the stored one. */
export interface Validator {
  validate(obj: Readonly<StoredObject>): FieldError[]
  validateUpdate(next: Readonly<StoredObject>, prev: Readonly<StoredObject>): FieldError[]
}

/**
 * The validation of a built-in resource (by group and plural name), with Kubernetes' rules and
 * wording; undefined for resources without rules beyond the generic metadata checks.
 */
export function validatorFor(_group: string, _resource: string): Validator | undefined {
  return undefined
}
