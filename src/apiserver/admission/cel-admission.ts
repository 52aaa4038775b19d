import type { MatchCondition } from '../../api/generated/types/admissionregistration-v1.ts'
import type { Authorizer } from '../authz/authorizer.ts'
import { AuthorizerValue } from '../cel/authz.ts'
import { compileExpression, errorText, type Compilation } from '../cel/environment.ts'
import { toCel } from '../cel/values.ts'
import type { AdmissionAttributes } from './admission.ts'
import { admissionRequest } from './admission-review.ts'
import { requestNamespace, type VersionedResource } from './matching.ts'

/**
 * What CEL expressions in admission see of a request (k8s.io/apiserver's admission/plugin/cel):
 * `object` and `oldObject` (null when absent), `request` (the AdmissionRequest without the
 * objects), `authorizer` for the requesting user; policies add `params`, `namespaceObject` and
 * `variables`.
 */
export const matchConditionVariables = ['object', 'oldObject', 'request', 'authorizer'] as const

export interface CelActivationInput {
  attributes: AdmissionAttributes
  matched: VersionedResource
  object: unknown
  oldObject: unknown
  authorizer: Authorizer | undefined
}

/** The activation shared by every expression of one request (objects converted once). */
export function celActivation(i: CelActivationInput): Record<string, unknown> {
  const a = i.attributes
  const {
    uid: _uid,
    object: _o,
    oldObject: _old,
    ...request
  } = admissionRequest(a, i.matched, {
    object: undefined,
    oldObject: undefined,
  })
  return {
    object: i.object === undefined ? null : toCel(i.object),
    oldObject: i.oldObject === undefined ? null : toCel(i.oldObject),
    request: toCel(request),
    authorizer: i.authorizer
      ? new AuthorizerValue(a.user, i.authorizer, {
          group: i.matched.group,
          resource: i.matched.resource,
          subresource: a.subresource,
          namespace: requestNamespace(a),
          name: a.name,
        })
      : null,
  }
}

export interface CompiledCondition {
  readonly name: string
  readonly expression: string
  readonly compiled: Compilation
}

export function compileMatchConditions(
  conditions: readonly MatchCondition[] | undefined,
  variables: readonly string[] = matchConditionVariables,
): CompiledCondition[] {
  return (conditions ?? []).map((c) => ({
    name: c.name,
    expression: c.expression,
    compiled: compileExpression(c.expression, variables),
  }))
}

/** What an expression gave: its value, or the error (with upstream's wording). */
export type Evaluation = { value: unknown } | { error: string }

export async function evaluate(
  expression: string,
  compiled: Compilation,
  activation: Readonly<Record<string, unknown>>,
): Promise<Evaluation> {
  if ('error' in compiled) return { error: `compilation error: ${compiled.error}` }
  try {
    return { value: await compiled.program.evaluate(activation) }
  } catch (err) {
    return { error: `expression '${expression}' resulted in error: ${errorText(err)}` }
  }
}

export type MatchConditionsResult = { matches: boolean } | { error: string }

/**
 * Match conditions, as Kubernetes' matcher decides: any condition false means no match (errors
 * or not); otherwise errors fail the request under failurePolicy Fail and skip it under Ignore.
 */
export async function matchConditions(
  conditions: readonly CompiledCondition[],
  activation: Readonly<Record<string, unknown>>,
  failurePolicy: string | undefined,
): Promise<MatchConditionsResult> {
  const errors: string[] = []
  for (const c of conditions) {
    const r = await evaluate(c.expression, c.compiled, activation)
    if ('error' in r) errors.push(r.error)
    else if (r.value === false) return { matches: false }
    else if (r.value !== true)
      errors.push(`expression '${c.expression}' resulted in error: no such overload: the result must be bool`)
  }
  if (errors.length === 0) return { matches: true }
  if (failurePolicy === 'Ignore') return { matches: false }
  return { error: errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]` }
}
