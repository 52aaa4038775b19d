import { Environment } from '@marcbachmann/cel-js'
import { registerAuthz } from './authz.ts'
import { registerLists } from './lists.ts'
import { registerNet } from './net.ts'
import { registerQuantity } from './quantity.ts'
import { registerStrings } from './strings.ts'
import { registerURLs } from './urls.ts'

/**
 * Kubernetes' CEL environment (k8s.io/apiserver/pkg/cel/environment): the standard CEL
 * language with macros, optionals and cel.bind, plus Kubernetes' libraries (lists, regex,
 * strings, URLs, quantities, IPs and CIDRs, the authorizer). Variables are dynamically typed:
 * objects are checked against nothing but what the expression does with them, at evaluation.
 *
 * The evaluator is @marcbachmann/cel-js: pure JavaScript, no dependencies, a parser and checker
 * with the macros (has, all, exists, exists_one, map, filter), optionals, timestamps and
 * durations, and custom types and functions, which Kubernetes' libraries need.
 */

/** The variables admission expressions see (ValidatingAdmissionPolicy, match conditions). */
export const admissionVariables = [
  'object',
  'oldObject',
  'request',
  'params',
  'namespaceObject',
  'authorizer',
  'variables',
] as const

let base: Environment | undefined

function baseEnvironment(): Environment {
  if (!base) {
    base = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false })
    registerLists(base)
    registerStrings(base)
    registerURLs(base)
    registerQuantity(base)
    registerNet(base)
    registerAuthz(base)
  }
  return base
}

const environments = new Map<string, Environment>()

/** An environment with the given (dynamically typed) variables; made once per variable set. */
export function celEnvironment(variables: readonly string[]): Environment {
  const key = variables.join(',')
  let env = environments.get(key)
  if (!env) {
    env = baseEnvironment().clone()
    for (const v of variables) env.registerVariable(v, 'dyn')
    environments.set(key, env)
  }
  return env
}

/** A compiled expression: evaluates (possibly asynchronously, for the authorizer) or throws. */
export interface CompiledExpression {
  readonly expression: string
  evaluate(activation: Readonly<Record<string, unknown>>): unknown
}

export type Compilation = { program: CompiledExpression } | { error: string }

/** Parses and checks an expression once, so that each request only evaluates it. */
export function compileExpression(
  expression: string,
  variables: readonly string[] = admissionVariables,
): Compilation {
  const env = celEnvironment(variables)
  try {
    const parsed = env.parse(expression)
    const checked = parsed.check()
    if (!checked.valid) return { error: `compilation failed: ${errorText(checked.error)}` }
    return { program: { expression, evaluate: (activation): unknown => parsed(activation) as unknown } }
  } catch (err) {
    return { error: `compilation failed: ${errorText(err)}` }
  }
}

/** The first line of an error's message (cel-js adds the expression and a caret below). */
export function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n')[0] ?? message
}
