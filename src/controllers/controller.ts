import type { Clock } from '../base/clock.ts'
import type { Logger } from '../base/log.ts'
import type {
  EventType,
  InformerFactory,
  ObjectLike,
  ResourceClient,
  ResourceRef,
  RestClient,
} from '../client/index.ts'

/** Where a controller's events go (the EventRecorder; a recording fake in tests). */
export interface Recorder {
  event(obj: ObjectLike, type: EventType, reason: string, message: string): void
}

/** What the controller-manager gives each controller it runs. */
export interface ControllerContext {
  /** The controller's own client: as its ServiceAccount under --use-service-account-credentials. */
  readonly rest: RestClient
  /** Shared by every controller of the process (as the controller-manager itself): one watch per resource. */
  readonly informers: Pick<InformerFactory, 'informer'>
  readonly recorder: Recorder
  readonly clock: Clock
  readonly log: Logger
  /** A typed client of `rest`. */
  client<T extends ObjectLike>(ref: ResourceRef): ResourceClient<T>
}

/**
 * A controller as the controller-manager runs it. `start` registers the informers and handlers it
 * needs and returns its run function; the manager then starts the informers, waits for their
 * caches, and runs every controller until the signal aborts (leadership lost, or stopping).
 */
export interface ControllerDefinition {
  /** The name kube-controller-manager's --controllers flag knows it by: replicaset, deployment, ... */
  readonly name: string
  /** The source.component of its events, as `kubectl describe` shows it (replicaset-controller). */
  readonly eventSource: string
  /**
   * Runs only when --controllers names it (kube-controller-manager's bootstrapsigner and
   * tokencleaner: `*` leaves them out).
   */
  readonly disabledByDefault?: boolean
  /**
   * The ServiceAccount in kube-system it runs as under --use-service-account-credentials, the
   * one upstream names and the default policy binds to system:controller:<name> (node-controller,
   * replicaset-controller, ...). Without one it runs as the controller-manager itself, as
   * upstream's tokens controller does.
   */
  readonly serviceAccount?: string
  setup(ctx: ControllerContext): (signal: AbortSignal) => Promise<void>
}
