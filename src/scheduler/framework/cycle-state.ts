/**
 * Data one plugin computes in one extension point of a scheduling cycle for itself or others to
 * read later in the same cycle (PreFilter → Filter, PreScore → Score), typed by its key:
 *
 *   const tolerationsKey = stateKey<readonly Toleration[]>('TaintToleration/PreScore')
 *   state.write(tolerationsKey, preferNoSchedule(pod))   // in preScore
 *   const tolerations = state.read(tolerationsKey)       // in score: throws if preScore did not run
 */
export interface StateKey<T> {
  readonly name: string
  /**
   * Copies a value for a cloned CycleState. Values that PreFilterExtensions change (addPod,
   * removePod) need one; values never changed after they are written are shared.
   */
  readonly clone?: (value: T) => T
  /** Never set: it only carries T. */
  readonly _type?: T
}

export function stateKey<T>(name: string, clone?: (value: T) => T): StateKey<T> {
  return clone ? { name, clone } : { name }
}

export class CycleState {
  readonly #data = new Map<string, unknown>()
  readonly #clones = new Map<string, (value: never) => unknown>()
  /** Plugins whose PreFilter said Skip: their Filter and PreFilterExtensions do not run this cycle. */
  readonly skipFilterPlugins = new Set<string>()
  /** Plugins whose PreScore said Skip: their Score does not run this cycle. */
  readonly skipScorePlugins = new Set<string>()

  write<T>(key: StateKey<T>, value: T): void {
    this.#data.set(key.name, value)
    if (key.clone) this.#clones.set(key.name, key.clone)
  }

  /** A copy whose values can be changed without touching this one (preemption's "what if"). */
  clone(): CycleState {
    const c = new CycleState()
    for (const [name, value] of this.#data) {
      const copy = this.#clones.get(name)
      c.#data.set(name, copy ? copy(value as never) : value)
    }
    for (const [name, copy] of this.#clones) c.#clones.set(name, copy)
    for (const name of this.skipFilterPlugins) c.skipFilterPlugins.add(name)
    for (const name of this.skipScorePlugins) c.skipScorePlugins.add(name)
    return c
  }

  /** The value written under the key; throws naming it when nothing was. */
  read<T>(key: StateKey<T>): T {
    // One lookup in the common case: filters and scores read their state once per node.
    const value = this.#data.get(key.name)
    if (value === undefined && !this.#data.has(key.name)) throw new Error(`cycle state has no ${key.name}`)
    return value as T
  }

  /** The value written under the key, undefined when nothing was. */
  find<T>(key: StateKey<T>): T | undefined {
    return this.#data.get(key.name) as T | undefined
  }

  has<T>(key: StateKey<T>): boolean {
    return this.#data.has(key.name)
  }
}
