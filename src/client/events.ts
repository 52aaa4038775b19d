import type { Event, ObjectReference } from '../api/generated/types/core-v1.ts'
import { realClock, type Clock } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import { ApiStatusError, isNotFound } from './errors.ts'
import type { ResourceClient, ObjectLike } from './resource.ts'
import { TokenBucket } from './token-bucket.ts'

export type EventType = 'Normal' | 'Warning'

export interface EventRecorderOptions {
  /** source.component and reportingComponent: kube-controller-manager, default-scheduler, kubelet. */
  component: string
  /** source.host and reportingInstance. */
  host: string
  clock?: Clock
  log?: Logger
}

/**
 * Records core/v1 Events about objects, as client-go's EventRecorder with its correlator does:
 *
 * - the same event again (same object, type, reason and message) within 10 minutes bumps the
 *   count and lastTimestamp of the Event already written, instead of writing another;
 * - more than 10 different messages with one reason for one object within 10 minutes are
 *   combined: later ones become one Event "(combined from similar events): <message>";
 * - each object may cause 25 writes in a burst, then one per 5 minutes (the spam filter); what
 *   the filter holds back is dropped, as upstream does;
 * - at most 1,000 events wait to be written; while that many do, new ones are dropped (client-go's
 *   broadcaster queue, maxQueuedEvents with DropIfChannelFull), so an apiserver slower than the
 *   events come does not make them pile up.
 *
 * Recording never blocks or throws: writes go out in order in the background; `flush()` waits
 * for them (tests), `close()` waits without retrying (shutdown).
 */
export class EventRecorder {
  readonly #events: ResourceClient<Event>
  readonly #o: EventRecorderOptions
  readonly #clock: Clock
  readonly #seen = new Map<
    string,
    { name: string; namespace: string; count: number; first: string; at: number }
  >()
  readonly #similar = new Map<string, { messages: Set<string>; at: number }>()
  readonly #spam = new Map<string, TokenBucket>()
  #queue: Promise<void> = Promise.resolve()
  /** Events queued and not yet written (or given up on). */
  #waiting = 0
  readonly #closing = new AbortController()

  constructor(events: ResourceClient<Event>, o: EventRecorderOptions) {
    this.#events = events
    this.#o = o
    this.#clock = o.clock ?? realClock
  }

  /** An event about `obj`: `reason` is UpperCamelCase (SuccessfulCreate), `message` a sentence for humans. */
  event(obj: ObjectLike, type: EventType, reason: string, message: string): void {
    const ref = referenceTo(obj)
    if (this.#waiting >= maxQueuedEvents) {
      // Dropped before the correlator sees it, as upstream's broadcaster drops it.
      this.#o.log?.debug(
        { reason, object: `${ref.namespace}/${ref.name}` },
        'event dropped: too many events wait to be written',
      )
      return
    }
    const now = this.#clock.now()
    const objectKey = [ref.kind, ref.namespace, ref.name, ref.uid, ref.apiVersion].join('\0')
    let bucket = this.#spam.get(objectKey)
    if (!bucket) {
      this.#spam.set(objectKey, (bucket = new TokenBucket(1 / 300, 25, this.#clock)))
      keepNewest(this.#spam)
    }
    if (bucket.reserve() > 0) {
      // Over the limit: the token is given back by not using it; the event is dropped.
      this.#o.log?.debug(
        { reason, object: `${ref.namespace}/${ref.name}` },
        'event dropped by the spam filter',
      )
      return
    }
    // Aggregation: many different messages for one reason become one combined event.
    const similarKey = `${objectKey}\0${type}\0${reason}`
    let similar = this.#similar.get(similarKey)
    if (!similar || now - similar.at > windowMs) {
      this.#similar.set(similarKey, (similar = { messages: new Set(), at: now }))
      keepNewest(this.#similar)
    }
    similar.messages.add(message)
    similar.at = now
    const combined = similar.messages.size > maxSimilar
    const text = combined ? `(combined from similar events): ${message}` : message
    const key = combined ? `${similarKey}\0(combined)` : `${similarKey}\0${message}`
    this.#waiting++
    this.#queue = this.#queue.then(async () => {
      try {
        await this.#write(key, ref, type, reason, text, now)
      } finally {
        this.#waiting--
      }
    })
  }

  /** Resolves when every event recorded so far has been written (or given up on). */
  flush(): Promise<void> {
    return this.#queue
  }

  /**
   * For shutdown: no more retries (a write waiting to retry gives up now, and each event still
   * queued gets one attempt), so that stopping against an apiserver that cannot be reached does
   * not wait seconds per event; resolves as flush() does.
   */
  close(): Promise<void> {
    this.#closing.abort()
    return this.#queue
  }

  async #write(
    key: string,
    ref: ObjectReference,
    type: string,
    reason: string,
    message: string,
    now: number,
  ): Promise<void> {
    const stamp = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z')
    const prior = this.#seen.get(key)
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (prior && now - prior.at <= windowMs) {
          try {
            await this.#events.patchUnread(prior.namespace, prior.name, 'strategic', {
              count: prior.count + 1,
              lastTimestamp: stamp,
              message,
            })
            prior.count++
            prior.at = now
            return
          } catch (err) {
            if (!isNotFound(err)) throw err
            // The Event is gone (expired): write it anew.
          }
        }
        const namespace = ref.namespace || 'default'
        const name = `${ref.name ?? ''}.${eventSuffix(now)}`
        await this.#events.createUnread({
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: ref,
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: stamp,
          lastTimestamp: stamp,
          source: { component: this.#o.component, host: this.#o.host },
          reportingComponent: this.#o.component,
          reportingInstance: this.#o.host,
        })
        this.#seen.set(key, { name, namespace, count: 1, first: stamp, at: now })
        keepNewest(this.#seen)
        return
      } catch (err) {
        // A refusal (invalid, forbidden) will not change on retry; an outage might.
        if (err instanceof ApiStatusError && err.code < 500 && err.code !== 429) {
          this.#o.log?.warn({ reason, err: err.message }, 'cannot write an event')
          return
        }
        const closing = this.#closing.signal
        if (attempt < 2 && !closing.aborted)
          await this.#clock.sleep(1000 * (attempt + 1), closing).catch(() => undefined)
        if (attempt === 2 || closing.aborted) {
          this.#o.log?.warn({ reason, err: (err as Error).message }, 'cannot write an event; giving up')
          return
        }
      }
    }
  }
}

const windowMs = 10 * 60 * 1000

/** client-go's maxQueuedEvents. */
const maxQueuedEvents = 1000

/** How many objects and events the correlator remembers (client-go's maxLruCacheEntries). */
const remembered = 4096

/** Keeps a map to the most recently added entries, dropping the oldest (maps keep insertion order). */
function keepNewest(map: Map<string, unknown>): void {
  for (const key of map.keys()) {
    if (map.size <= remembered) break
    map.delete(key)
  }
}
const maxSimilar = 10

/** The ObjectReference of an object, as events and owner lookups name it. */
export function referenceTo(obj: ObjectLike): ObjectReference {
  const m = obj.metadata ?? {}
  return {
    ...(obj.kind ? { kind: obj.kind } : {}),
    ...(m.namespace ? { namespace: m.namespace } : {}),
    ...(m.name ? { name: m.name } : {}),
    ...(m.uid ? { uid: m.uid } : {}),
    ...(obj.apiVersion ? { apiVersion: obj.apiVersion } : {}),
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
  }
}

/** The hex of the time in nanoseconds, as client-go names events (`<object>.<hex>`). */
function eventSuffix(ms: number): string {
  return (BigInt(ms) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))).toString(16)
}
