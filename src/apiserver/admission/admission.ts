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
  /**
   * The request's options as webhooks see them: a CreateOptions, UpdateOptions or DeleteOptions
   * object (meta.k8s.io/v1).
   */
  readonly options?: Readonly<Record<string, unknown>>
  /** Warnings for the client (sent as Warning headers); plugins may add to it. */
  readonly warnings?: string[]
  /**
   * Annotations for the request's audit event (pod-security.kubernetes.io/audit-violations, ...);
   * plugins add to it when it is there. This apiserver writes no audit log yet, so nothing sets it.
   */
  readonly auditAnnotations?: Map<string, string>
  /**
   * Fills in the defaults of the resource's kind (what decoding does in Kubernetes): a webhook's
   * patched object gets them again, as upstream's dispatcher defaults it.
   */
  readonly defaulter?: (obj: KubeObject) => void
  /** The mutating phase's state for reinvocation; the chain sets it. */
  readonly reinvocation?: ReinvocationContext
}

/**
 * Kubernetes' reinvocation of the mutating phase: when a plugin (a mutating webhook) changes the
 * object after another one that asked to be called again (reinvocationPolicy IfNeeded) had seen
 * it, the whole mutating phase runs once more, in-tree plugins included. Plugins keep their
 * own state of a request under their name in `values`.
 */
export class ReinvocationContext {
  /** This is the second and last round. */
  isReinvoke = false
  /** A plugin asks for the second round. */
  shouldReinvoke = false
  readonly values = new Map<string, unknown>()
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
    const attrs = a.reinvocation ? a : { ...a, reinvocation: new ReinvocationContext() }
    await this.#admitOnce(attrs)
    if (attrs.reinvocation?.shouldReinvoke && !attrs.reinvocation.isReinvoke) {
      attrs.reinvocation.isReinvoke = true
      await this.#admitOnce(attrs)
    }
  }

  async #admitOnce(a: AdmissionAttributes): Promise<void> {
    await this.#run(a, 'admit')
  }

  async validate(a: AdmissionAttributes): Promise<void> {
    await this.#run(a, 'validate')
  }

  /**
   * One phase over the plugins in order. The loop indexes the list and waits only for the plugins
   * that answer with a promise: most answer at once, and every request passes the whole chain
   * twice (an iterator kept across awaits, and an await for each plugin, were garbage and a
   * microtask per plugin).
   */
  async #run(a: AdmissionAttributes, phase: 'admit' | 'validate'): Promise<void> {
    const plugins = this.#plugins
    for (let i = 0; i < plugins.length; i++) {
      const p = plugins[i] as AdmissionPlugin
      if (!p[phase] || !p.handles(a)) continue
      const pending = phase === 'admit' ? p.admit?.(a) : p.validate?.(a)
      if (pending) await pending
    }
  }
}
