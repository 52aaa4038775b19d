/**
 * The pod lifecycle event generator (pkg/kubelet/pleg/generic.go): containerd 1.6 sends no
 * container events, so every second the PLEG lists the runtime's sandboxes and containers,
 * compares their states with the previous listing, and tells the pod workers which pods changed.
 */
import type { Clock, Timer } from '../../base/clock.ts'
import type { Container, PodSandbox, RuntimeService } from '../runtime/runtime.ts'
import { podUIDLabel } from './runtime-config.ts'

export const relistPeriodMs = 1000

export type PodLifecycleEventType =
  'ContainerStarted' | 'ContainerDied' | 'ContainerRemoved' | 'ContainerChanged'

export interface PodLifecycleEvent {
  type: PodLifecycleEventType
  podUID: string
  /** A container or sandbox id. */
  id: string
}

type Seen = { podUID: string; state: 'running' | 'exited' | 'created' | 'unknown' }
type Listed = Seen & { id: string }

export interface PlegOptions {
  runtime: RuntimeService
  clock: Clock
  onEvent: (event: PodLifecycleEvent) => void
  onError?: (err: unknown) => void
  periodMs?: number
}

export class Pleg {
  readonly #o: PlegOptions
  #seen = new Map<string, Seen>()
  /** The last listing, sandboxes then containers, in the runtime's order. */
  #listed: Listed[] = []
  /** Sandbox ids by pod uid, as of the last relist. */
  #sandboxesByPod = new Map<string, string[]>()
  #timer: Timer | undefined
  #stopped = false
  #relisting: Promise<void> | undefined

  constructor(o: PlegOptions) {
    this.#o = o
  }

  start(): void {
    this.#schedule()
  }

  stop(): void {
    this.#stopped = true
    this.#timer?.cancel()
  }

  /** The pod's sandboxes as of the last relist (so a worker need not list the whole runtime to find them). */
  sandboxIdsOf(podUID: string): readonly string[] {
    return this.#sandboxesByPod.get(podUID) ?? []
  }

  /** One relist now; events for every change since the last one. */
  relist(): Promise<void> {
    this.#relisting ??= this.#relistOnce()
    return this.#relisting
  }

  async #relistOnce(): Promise<void> {
    try {
      await this.#relist()
    } finally {
      this.#relisting = undefined
    }
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = this.#o.clock.setTimer(this.#o.periodMs ?? relistPeriodMs, this.#tick)
  }

  /** The timer's callback, made once: thousands of simulated nodes relist every second. */
  readonly #tick = (): void => void this.#periodic()

  async #periodic(): Promise<void> {
    try {
      await this.relist()
    } catch (err) {
      this.#o.onError?.(err)
    } finally {
      // Even when onError throws: the PLEG relists on.
      this.#schedule()
    }
  }

  async #relist(): Promise<void> {
    const sandboxes = (await this.#o.runtime.listPodSandbox({})).items
    const containers = (await this.#o.runtime.listContainers({})).containers
    // Most relists find what the last one did: then there is nothing to report, nor to rebuild.
    if (this.#unchanged(sandboxes, containers)) return
    const listed: Listed[] = []
    for (const s of sandboxes) listed.push({ id: s.id, podUID: sandboxUID(s), state: sandboxState(s) })
    for (const c of containers) listed.push({ id: c.id, podUID: containerUID(c), state: containerState(c) })
    this.#listed = listed
    const now = new Map<string, Seen>()
    const byPod = new Map<string, string[]>()
    for (let i = 0; i < sandboxes.length; i++) {
      const s = listed[i] as Listed
      const ids = byPod.get(s.podUID)
      if (ids === undefined) byPod.set(s.podUID, [s.id])
      else ids.push(s.id)
    }
    for (const l of listed) now.set(l.id, l)
    const events: PodLifecycleEvent[] = []
    for (const [id, s] of now) {
      const before = this.#seen.get(id)
      if (before?.state === s.state) continue
      const type =
        s.state === 'running'
          ? 'ContainerStarted'
          : s.state === 'exited'
            ? 'ContainerDied'
            : 'ContainerChanged'
      events.push({ type, podUID: s.podUID, id })
    }
    for (const [id, s] of this.#seen) {
      if (!now.has(id)) events.push({ type: 'ContainerRemoved', podUID: s.podUID, id })
    }
    this.#seen = now
    this.#sandboxesByPod = byPod
    for (const e of events) if (e.podUID !== '') this.#o.onEvent(e)
  }

  /** Whether a listing is the last one, entry for entry and in order (read in place, nothing made). */
  #unchanged(sandboxes: readonly PodSandbox[], containers: readonly Container[]): boolean {
    const last = this.#listed
    if (sandboxes.length + containers.length !== last.length) return false
    for (let i = 0; i < sandboxes.length; i++) {
      const s = sandboxes[i] as PodSandbox
      const l = last[i] as Listed
      if (s.id !== l.id || sandboxState(s) !== l.state || sandboxUID(s) !== l.podUID) return false
    }
    for (let i = 0; i < containers.length; i++) {
      const c = containers[i] as Container
      const l = last[sandboxes.length + i] as Listed
      if (c.id !== l.id || containerState(c) !== l.state || containerUID(c) !== l.podUID) return false
    }
    return true
  }
}

function sandboxUID(s: PodSandbox): string {
  return s.labels[podUIDLabel] ?? s.metadata?.uid ?? ''
}

function sandboxState(s: PodSandbox): Seen['state'] {
  return s.state === 'SANDBOX_READY' ? 'running' : 'exited'
}

function containerUID(c: Container): string {
  return c.labels[podUIDLabel] ?? ''
}

function containerState(c: Container): Seen['state'] {
  return c.state === 'CONTAINER_RUNNING'
    ? 'running'
    : c.state === 'CONTAINER_EXITED'
      ? 'exited'
      : c.state === 'CONTAINER_CREATED'
        ? 'created'
        : 'unknown'
}
