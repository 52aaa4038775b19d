/**
 * What a plugin says, and what the framework does next (Kubernetes' framework.Status):
 * - Success: go on;
 * - Unschedulable: not on this node now, but a change in the cluster (or preempting lower-priority
 *   pods) could make room;
 * - UnschedulableAndUnresolvable: not on this node, and preemption would not help (a taint, a
 *   node selector);
 * - Error: a bug or an outage; the pod is retried with back-off;
 * - Skip: the plugin has nothing to say for this pod (its later extension points are skipped);
 * - Wait: Permit holds the pod until allowed or rejected.
 */
export type Code = 'Success' | 'Error' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Wait' | 'Skip'

export class Status {
  readonly code: Code
  /** For people: the reasons that end up in FailedScheduling events, one per cause. */
  readonly reasons: readonly string[]
  /** The plugin that said it (set by the framework). */
  readonly plugin: string

  constructor(code: Code, reasons: readonly string[] = [], plugin = '') {
    this.code = code
    this.reasons = reasons
    this.plugin = plugin
  }

  get ok(): boolean {
    return this.code === 'Success'
  }

  /** Unschedulable or UnschedulableAndUnresolvable: the pod does not fit, and no error happened. */
  get rejected(): boolean {
    return this.code === 'Unschedulable' || this.code === 'UnschedulableAndUnresolvable'
  }

  withPlugin(plugin: string): Status {
    return new Status(this.code, this.reasons, plugin)
  }
}

export const success = new Status('Success')
export const skip = new Status('Skip')

export function unschedulable(...reasons: string[]): Status {
  return new Status('Unschedulable', reasons)
}

export function unresolvable(...reasons: string[]): Status {
  return new Status('UnschedulableAndUnresolvable', reasons)
}

export function error(message: string): Status {
  return new Status('Error', [message])
}
