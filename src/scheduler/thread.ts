import {
  startComponentThread,
  type ComponentThread,
  type ThreadSettings,
} from '../client/component-thread.ts'
import type { SchedulerOptions } from './index.ts'

export type { MetricsJSON } from '../client/component-thread.ts'

export interface SchedulerThreadOptions extends Omit<SchedulerOptions, 'clock' | 'log'>, ThreadSettings {}

/** What the thread starts the scheduler with (thread-worker.ts). */
export type SchedulerThreadData = Omit<SchedulerOptions, 'clock' | 'log'>

export type SchedulerThread = ComponentThread

/**
 * kube-scheduler in a worker thread of its own (thread-worker.ts), as `k8ts up` runs it: it is a
 * process of its own in Kubernetes, and here it gets an event loop of its own, so that scheduling
 * and the apiserver's serving use two cores (src/client/component-thread.ts).
 */
export function startSchedulerThread(o: SchedulerThreadOptions): SchedulerThread {
  return startComponentThread('scheduler', workerModule, o)
}

const workerModule = new URL(
  import.meta.url.endsWith('.ts') ? './thread-worker.ts' : './thread-worker.js',
  import.meta.url,
)
