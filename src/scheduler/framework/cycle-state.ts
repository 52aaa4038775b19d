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
  /** Never set: it only carries T. */
  readonly _type?: T
}

export function stateKey<T>(name: string): StateKey<T> {
  return { name }
}

export class CycleState {
  readonly #data = new Map<string, unknown>()

  write<T>(key: StateKey<T>, value: T): void {
    this.#data.set(key.name, value)
  }

  /** The value written under the key; throws naming it when nothing was. */
  read<T>(key: StateKey<T>): T {
    if (!this.#data.has(key.name)) throw new Error(`cycle state has no ${key.name}`)
    return this.#data.get(key.name) as T
  }

  has(key: StateKey<unknown>): boolean {
    return this.#data.has(key.name)
  }
}
