import type { KubeObject } from '../object.ts'

/**
 * The defaulting function of a built-in kind, as kube-apiserver defaults objects when it decodes
 * them (it changes the object in place); undefined for kinds without defaults.
 */
export function defaulterFor(
  _group: string,
  _version: string,
  _kind: string,
): ((obj: KubeObject) => void) | undefined {
  return undefined
}
