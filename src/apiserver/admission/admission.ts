import type { KubeObject } from '../../api/object.ts'
import type { UserInfo } from '../authn/authenticator.ts'

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'

/** What admission sees of a write: the object as it will be stored, and what it replaces. */
export interface AdmissionAttributes {
  readonly operation: Operation
  readonly group: string
  readonly version: string
  readonly resource: string
  readonly subresource: string
  readonly kind: string
  readonly namespace: string
  readonly name: string
  /** The incoming object; mutating plugins may change it in place. */
  readonly object: KubeObject | undefined
  readonly oldObject: KubeObject | undefined
  readonly dryRun: boolean
  readonly user: UserInfo
}

/**
 * An admission controller. `admit` (mutating) runs first, in order, for every plugin; then
 * `validate` for every plugin. Either refuses by throwing an ApiError (usually 403 Forbidden or
 * 422 Invalid), which ends the request.
 */
export interface AdmissionPlugin {
  readonly name: string
  handles(a: AdmissionAttributes): boolean
  admit?(a: AdmissionAttributes): void | Promise<void>
  validate?(a: AdmissionAttributes): void | Promise<void>
}

export class AdmissionChain {
  readonly #plugins: readonly AdmissionPlugin[]

  constructor(plugins: readonly AdmissionPlugin[] = []) {
    this.#plugins = plugins
  }

  async admit(a: AdmissionAttributes): Promise<void> {
    for (const p of this.#plugins) if (p.admit && p.handles(a)) await p.admit(a)
  }

  async validate(a: AdmissionAttributes): Promise<void> {
    for (const p of this.#plugins) if (p.validate && p.handles(a)) await p.validate(a)
  }
}
