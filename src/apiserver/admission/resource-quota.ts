import type { ResourceQuota } from '../../api/generated/types/core-v1.ts'
import type { StoredObject } from '../../api/object.ts'
import {
  evaluatorFor,
  isIgnoredByQuota,
  quotaMatches,
  type QuotaEvaluator,
} from '../../api/quota/evaluators.ts'
import {
  addLists,
  equalLists,
  exceeded,
  mask,
  negatives,
  printList,
  removeZeros,
  resourceListOf,
  subtractNonNegative,
  toWire,
  type ResourceList,
} from '../../api/quota/resource-list.ts'
import type { Clock } from '../../base/clock.ts'
import type { UserInfo } from '../authn/authenticator.ts'
import { serviceUnavailable } from '../errors.ts'
import type { RegistryStore } from '../registry/store.ts'
import { statusStrategyOf } from '../registry/strategy.ts'
import type { AdmissionAttributes, AdmissionPlugin } from './admission.ts'
import { admissionForbidden } from './namespace-objects.ts'

export const resourceQuotaPluginName = 'ResourceQuota'

/** How the plugin reads and writes ResourceQuotas. */
export interface QuotaAccess {
  /** The quotas of a namespace as the apiserver's cache holds them (may be a moment behind). */
  cached(namespace: string): readonly Readonly<ResourceQuota>[]
  /** The quotas of a namespace, read consistently (after a write lost to another writer). */
  fresh(namespace: string): Promise<readonly Readonly<ResourceQuota>[]>
  /**
   * Writes a quota's status if the quota is still at its resourceVersion; resolves to what was
   * stored, throws (409 Conflict) when someone wrote it first.
   */
  updateStatus(q: Readonly<ResourceQuota>): Promise<Readonly<ResourceQuota>>
}

/** How often a batch's status writes are tried again after losing to another writer. */
const statusRetries = 3

/**
 * ResourceQuota, as the Kubernetes admission plugin of that name, the last in the chain: a write
 * that would take a namespace past one of its quotas is refused,
 *
 *   pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2
 *
 * and one that fits is charged to the quota's status.used before it is stored, so that two
 * writes racing for the last unit cannot both have it: the status is written with the quota's
 * resourceVersion as precondition, and a lost race is checked again on a fresh read (up to three
 * times). Writes to one namespace are checked one batch at a time, each batch charging every
 * quota once (kube-apiserver's quota evaluator does the same with its work queue). Usage that is
 * given back (deletes, finished pods) is the resourcequota controller's to recount.
 *
 * A quota on cpu or memory makes every container say how much it needs (`must specify
 * limits.cpu for: c`); a quota the controller has not measured yet refuses what it limits
 * (`status unknown for quota: q`). Namespaces without quotas cost a lookup in memory.
 */
export function resourceQuotaPlugin(o: { quotas: QuotaAccess; clock: Clock }): AdmissionPlugin {
  const evaluator = new QuotaAdmission(o.quotas, o.clock)
  return {
    name: resourceQuotaPluginName,
    handles: (a) =>
      a.namespace !== '' &&
      !(a.operation === 'CREATE' && a.group === '' && a.resource === 'namespaces') &&
      !isIgnoredByQuota(a.group, a.resource) &&
      evaluatorFor(a.group, a.resource).handles(a),
    validate: (a) => evaluator.evaluate(a),
  }
}

/** One write waiting for its namespace's batch. */
interface Waiter {
  readonly attributes: AdmissionAttributes
  /** Undefined while the write still depends on status updates of this batch. */
  result?: { ok: true } | { ok: false; error: unknown }
  done(): void
}

export class QuotaAdmission {
  readonly #quotas: QuotaAccess
  readonly #clock: Clock
  /** Writes waiting per namespace; a namespace with an entry has a worker running. */
  readonly #queued = new Map<string, Waiter[]>()
  /** Quotas this front wrote, until its cache catches up with them (checkCache upstream). */
  readonly #written = new Map<string, Readonly<ResourceQuota>>()

  constructor(quotas: QuotaAccess, clock: Clock) {
    this.#quotas = quotas
    this.#clock = clock
  }

  async evaluate(a: AdmissionAttributes): Promise<void> {
    if (this.#quotas.cached(a.namespace).length === 0) return
    const outcome = await new Promise<Waiter['result']>((resolve) => {
      const waiter: Waiter = { attributes: a, done: () => resolve(waiter.result) }
      const queue = this.#queued.get(a.namespace)
      if (queue) queue.push(waiter)
      else {
        this.#queued.set(a.namespace, [waiter])
        void this.#work(a.namespace)
      }
    })
    if (outcome && !outcome.ok) throw outcome.error
  }

  /** Works through a namespace's batches until none is left. */
  async #work(namespace: string): Promise<void> {
    for (;;) {
      const batch = this.#queued.get(namespace) ?? []
      if (batch.length === 0) {
        this.#queued.delete(namespace)
        return
      }
      this.#queued.set(namespace, [])
      try {
        await this.#checkBatch(namespace, batch)
      } catch (error) {
        for (const w of batch) w.result ??= { ok: false, error }
      }
      for (const w of batch) w.done()
    }
  }

  async #checkBatch(namespace: string, batch: Waiter[]): Promise<void> {
    const quotas = this.#current(namespace)
    if (quotas.length === 0) {
      for (const w of batch) w.result = { ok: true }
      return
    }
    await this.#checkQuotas(quotas, batch, statusRetries)
  }

  /** The cached quotas, with this front's own newer writes in place of what the cache has. */
  #current(namespace: string): Readonly<ResourceQuota>[] {
    const out: Readonly<ResourceQuota>[] = []
    for (const q of this.#quotas.cached(namespace)) {
      const key = `${namespace}/${q.metadata?.name ?? ''}`
      const mine = this.#written.get(key)
      if (mine && revisionOf(mine) > revisionOf(q)) out.push(mine)
      else {
        if (mine) this.#written.delete(key)
        out.push(q)
      }
    }
    return out
  }

  async #checkQuotas(quotas: Readonly<ResourceQuota>[], batch: Waiter[], retries: number): Promise<void> {
    const original = quotas
    let current = quotas
    let changed = false
    const pending = batch.filter((w) => w.result === undefined)
    for (const w of pending) {
      let next: Readonly<ResourceQuota>[]
      try {
        next = checkRequest(current, w.attributes, this.#clock.now())
      } catch (error) {
        w.result = { ok: false, error }
        continue
      }
      if (w.attributes.dryRun) {
        w.result = { ok: true }
        continue
      }
      const mine = next.some((q, i) => !equalLists(usedOf(q), usedOf(current[i])))
      if (mine) changed = true
      else w.result = { ok: true }
      current = next
    }
    if (!changed) return
    const failed: string[] = []
    let lastError: unknown
    for (let i = 0; i < current.length; i++) {
      const q = current[i]
      if (!q || equalLists(usedOf(q), usedOf(original[i]))) continue
      try {
        const stored = await this.#quotas.updateStatus(q)
        this.#written.set(`${stored.metadata?.namespace ?? ''}/${stored.metadata?.name ?? ''}`, stored)
      } catch (error) {
        failed.push(q.metadata?.name ?? '')
        lastError = error
      }
    }
    const stillPending = batch.filter((w) => w.result === undefined)
    if (failed.length === 0) {
      for (const w of stillPending) w.result = { ok: true }
      return
    }
    if (retries <= 0) {
      for (const w of stillPending) w.result = { ok: false, error: lastError }
      return
    }
    let fresh: readonly Readonly<ResourceQuota>[]
    try {
      fresh = await this.#quotas.fresh(current[0]?.metadata?.namespace ?? '')
    } catch {
      for (const w of stillPending) w.result = { ok: false, error: lastError }
      return
    }
    const again = fresh.filter((q) => failed.includes(q.metadata?.name ?? ''))
    await this.#checkQuotas(again, stillPending, retries - 1)
  }
}

/**
 * The quotas after charging one write, or a refusal (CheckRequest): the quotas whose resources
 * the write's evaluator charges and whose scopes the object is in must have a measured usage,
 * must not need anything the object leaves out, and must have room for what the write adds
 * (for an update: what it adds over the old object, or all of it when the old one was outside
 * the quota's scopes).
 */
export function checkRequest(
  quotas: readonly Readonly<ResourceQuota>[],
  a: AdmissionAttributes,
  now: number,
): Readonly<ResourceQuota>[] {
  const e: QuotaEvaluator = evaluatorFor(a.group, a.resource)
  const input = a.object
  if (!e.handles(a) || !input) return [...quotas]
  const interesting: number[] = []
  for (let i = 0; i < quotas.length; i++) {
    const q = quotas[i]
    if (!q || !quotaMatches(e, q, input)) continue
    const name = q.metadata?.name ?? ''
    const restricted = e.matchingResources(Object.keys(q.status?.hard ?? {}))
    const missing = e.constraints(restricted, input)
    if (missing) throw admissionForbidden(a, `failed quota: ${name}: ${missing}`)
    const used = q.status?.used ?? {}
    if (restricted.some((r) => used[r] === undefined)) {
      throw admissionForbidden(
        a,
        `status unknown for quota: ${name}, resources: ${[...restricted].sort().join(',')}`,
      )
    }
    interesting.push(i)
  }
  const inputUsage = e.usage(input, now)
  const negative = negatives(inputUsage)
  if (negative.length > 0) {
    throw admissionForbidden(a, `quota usage is negative for resource(s): ${negative.sort().join(',')}`)
  }
  const delta = new Map<number, ResourceList>(interesting.map((i) => [i, inputUsage]))
  if (a.operation === 'UPDATE') {
    const prev = a.oldObject
    if (!prev) {
      throw admissionForbidden(a, 'unable to get previous usage since prior version of object was not found')
    }
    if (prev.metadata?.resourceVersion) {
      const changed = subtractNonNegative(inputUsage, e.usage(prev, now))
      for (const i of interesting) {
        const q = quotas[i]
        if (q && quotaMatches(e, q, prev)) delta.set(i, changed)
      }
    }
  }
  for (const [i, d] of delta) {
    const nonZero = removeZeros(d)
    if (nonZero.size === 0) delta.delete(i)
    else delta.set(i, nonZero)
  }
  if (interesting.length === 0 || delta.size === 0) return [...quotas]
  const out = [...quotas]
  for (const i of interesting) {
    const q = quotas[i]
    const d = delta.get(i)
    if (!q || !d) continue
    const hard = resourceListOf(q.status?.hard)
    const used = resourceListOf(q.status?.used)
    const requested = mask(d, hard.keys())
    const next = addLists(used, requested)
    if (a.subresource !== 'status') {
      const over = exceeded(mask(next, requested.keys()), hard)
      if (over.length > 0) {
        throw admissionForbidden(
          a,
          `exceeded quota: ${q.metadata?.name ?? ''}, requested: ${printList(mask(requested, over))}, used: ${printList(mask(used, over))}, limited: ${printList(mask(hard, over))}`,
        )
      }
    }
    out[i] = { ...q, status: { ...q.status, used: toWire(next) } }
  }
  return out
}

function usedOf(q: Readonly<ResourceQuota> | undefined): ResourceList {
  return resourceListOf(q?.status?.used)
}

function revisionOf(q: Readonly<ResourceQuota>): number {
  return Number(q.metadata?.resourceVersion ?? 0) || 0
}

/** The ResourceQuotas of the apiserver's own store, written as the apiserver itself. */
export function quotaAccessIn(store: () => RegistryStore | undefined, user: UserInfo): QuotaAccess {
  return {
    cached(namespace) {
      const s = store()
      if (!s || s.cache.size === 0) return []
      return s.cache.list(namespace).map((c) => c.object as Readonly<ResourceQuota>)
    },
    async fresh(namespace) {
      const s = store()
      if (!s) return []
      return (await s.list(namespace, {})).items.map((c) => c.object as Readonly<ResourceQuota>)
    },
    async updateStatus(q) {
      const s = store()
      if (!s) throw serviceUnavailable('resourcequotas are not served')
      const m = q.metadata ?? {}
      const { object } = await s.update(
        m.namespace ?? '',
        m.name ?? '',
        () => structuredClone(q) as StoredObject,
        {
          user,
          subresource: 'status',
          strategy: statusStrategyOf(s.strategy),
        },
      )
      return object
    },
  }
}
